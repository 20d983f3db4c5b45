package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gogan/config"
	"gogan/data"
	"gogan/gan/gantest"
	"gogan/serve"
	"gogan/trainer"
)

// TestServePageOfAClassConditionalGenerator: the sample page of a
// class-conditional generator (the test recipe condprobe, so served in this
// process: the gogan binary has no test recipes) offers its classes. By
// default each sample is of its seed's class, as its title says (with its
// Fashion-MNIST name, as the picker's entries); picking
// class 3 draws the 16 again, all of class 3, and the interpolation between
// two of them too.
func TestServePageOfAClassConditionalGenerator(t *testing.T) {
	cfg, err := config.LoadConfig("", []string{"recipe=condprobe", "model.ngf=8", "model.ndf=8", "data.image_size=32", "data.channels=1",
		"out=" + filepath.Join(t.TempDir(), "run"), "device=cpu"})
	if err != nil {
		t.Fatal(err)
	}
	ck, _, err := trainer.Import(cfg, nil, trainer.ImportedAt{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := serve.New(context.Background(), serve.Options{Checkpoint: ck, Device: "cpu", Threads: 1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	gantest.Seen()

	br := startBrowser(t, ts.URL+"/")
	loaded := `document.body.dataset.state === "ready" && document.getElementById("grid").dataset.loaded === "16"`
	br.waitFor(t, loaded, time.Minute)
	if n := br.evalString(t, `String(document.getElementById("class").options.length)`); n != "11" || br.evalString(t, `String(document.getElementById("class-box").hidden)`) != "false" {
		t.Fatalf("class picker: %s options (want 11: each seed's own and 0 to 9)", n)
	}
	if o := br.evalString(t, `document.getElementById("class").options[4].text`); o != "3 dress" {
		t.Errorf("class picker's class 3 reads %q, want its number and Fashion-MNIST name", o)
	}
	if m := br.evalString(t, `document.getElementById("model").textContent`); !strings.Contains(m, "32×32 · 10 classes · eval mode") {
		t.Errorf("model line %q does not give the classes", m)
	}
	var want []float32
	for i := range 16 {
		seed, err := strconv.Atoi(br.evalString(t, `document.querySelectorAll("#grid img")[`+strconv.Itoa(i)+`].dataset.seed`))
		if err != nil {
			t.Fatal(err)
		}
		title := br.evalString(t, `document.querySelectorAll("#grid img")[`+strconv.Itoa(i)+`].title`)
		if c := seed % gantest.Classes; !strings.Contains(title, fmt.Sprintf("class %d (%s):", c, data.FashionMNISTClasses[c])) {
			t.Errorf("sample of seed %d titled %q, want its class %d and its name", seed, title, c)
		}
		want = append(want, float32(seed%gantest.Classes))
	}
	seen := gantest.Seen()
	slices.Sort(seen)
	slices.Sort(want)
	if !slices.Equal(seen, want) {
		t.Errorf("the 16 samples were drawn of classes %v, want their seeds' %v", seen, want)
	}

	// Class 3 picked twice over (the second grid replaces the first while
	// its samples load): the grid says all 16 are in when its own are,
	// whatever the replaced one's do meanwhile.
	br.evalString(t, `(() => { const c = document.getElementById("class"); c.value = "3"; c.dispatchEvent(new Event("change")); c.dispatchEvent(new Event("change")); return ""; })()`)
	br.waitFor(t, loaded, time.Minute)
	if got := br.evalString(t, `String([...document.querySelectorAll("#grid img")].filter((i) => i.dataset.state === "ok" && i.src.endsWith("&class=3")).length)`); got != "16" {
		t.Fatalf("the grid says its 16 samples are in when %s of them are", got)
	}
	if seen := gantest.Seen(); len(seen) < 16 || slices.ContainsFunc(seen, func(c float32) bool { return c != 3 }) {
		t.Errorf("class 3 picked: the samples were drawn of classes %v", seen)
	}
	for _, i := range []int{0, 5} {
		r := br.rectOf(t, `document.querySelectorAll("#grid img")[`+strconv.Itoa(i)+`]`)
		x, y := r.X+r.Width/2, r.Y+r.Height/2
		br.mouse(t, "mousePressed", x, y, 1)
		br.mouse(t, "mouseReleased", x, y, 0)
	}
	br.waitFor(t, `document.getElementById("interp").dataset.state === "ok"`, time.Minute)
	if seen := gantest.Seen(); len(seen) != 8 || slices.ContainsFunc(seen, func(c float32) bool { return c != 3 }) {
		t.Errorf("interpolation with class 3 picked: drawn of classes %v", seen)
	}
	if l := br.evalString(t, `document.getElementById("interp-label").textContent`); !strings.Contains(l, "class 3 (dress)") {
		t.Errorf("interpolation label %q does not name class 3", l)
	}
	br.screenshot(t, "serve-conditional.png")
}
