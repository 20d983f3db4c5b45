package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/draw"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gogan/config"
	"gogan/gan/gantest"
	"gogan/trainer"
)

// TestServeAClassConditionalGenerator: a class-conditional generator is
// served with its classes in /info; /sample draws each seed of its seed's
// class (seed mod the classes: the same sample alone as in a grid) or of
// class=C (a number, or a name of the run's dataset's classes, which /info
// lists), /interpolate all of seed a's class or of class=C; a class out of
// range or not a name is refused, as is a class for a generator of noise
// alone.
func TestServeAClassConditionalGenerator(t *testing.T) {
	serveRun := func(recipe string) *httptest.Server {
		cfg, err := config.LoadConfig("", []string{"recipe=" + recipe, "model.ngf=8", "model.ndf=8", "data.image_size=32", "data.channels=1",
			"out=" + filepath.Join(t.TempDir(), recipe), "device=cpu"})
		if err != nil {
			t.Fatal(err)
		}
		ck, _, err := trainer.Import(cfg, nil, trainer.ImportedAt{})
		if err != nil {
			t.Fatal(err)
		}
		s, err := New(context.Background(), Options{Checkpoint: ck, Device: "cpu", Threads: 1, MaxBatch: 1, Logger: quiet()})
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(s.Handler())
		t.Cleanup(func() { ts.Close(); s.Close() })
		return ts
	}
	get := func(ts *httptest.Server, path string) (int, []byte) {
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	ts := serveRun("condprobe")
	gantest.Seen() // the engine's first pass on loading
	var info Info
	if code, b := get(ts, "/info"); code != 200 || json.Unmarshal(b, &info) != nil || info.Classes != gantest.Classes || info.NZ != 90 || len(info.ClassNames) != 10 || info.ClassNames[7] != "sneaker" {
		t.Errorf("/info of a class-conditional generator: %d %s", code, b)
	}
	for _, c := range []struct {
		path string
		want []float32
	}{
		{"/sample?seed=13&n=3", []float32{3, 4, 5}},
		{"/sample?seed=-3", []float32{7}},
		{"/sample?seed=13&n=2&class=8", []float32{8, 8}},
		{"/interpolate?a=4&b=9&steps=3", []float32{4, 4, 4}},
		{"/interpolate?a=4&b=9&steps=2&class=0", []float32{0, 0}},
		{"/sample?seed=13&class=Sneaker", []float32{7}},
	} {
		if code, b := get(ts, c.path); code != 200 {
			t.Fatalf("%s: %d %s", c.path, code, b)
		}
		if got := gantest.Seen(); !slices.Equal(got, c.want) {
			t.Errorf("%s: classes %v, want %v", c.path, got, c.want)
		}
	}
	_, alone := get(ts, "/sample?seed=14")
	_, grid := get(ts, "/sample?seed=13&n=3")
	a, err := png.Decode(bytes.NewReader(alone))
	if err != nil {
		t.Fatal(err)
	}
	g, err := png.Decode(bytes.NewReader(grid))
	if err != nil {
		t.Fatal(err)
	}
	second := image.NewNRGBA(image.Rect(0, 0, 32, 32)) // the grid's second tile
	draw.Draw(second, second.Rect, g, image.Pt(2+34, 2), draw.Src)
	if d := maxLevelDiff(a, second); d > 1 {
		t.Errorf("seed 14's sample alone and second in a grid from seed 13 differ by %d levels", d)
	}
	_, other := get(ts, "/sample?seed=14&class=5")
	if bytes.Equal(alone, other) {
		t.Error("seed 14 of its own class 4 and of class 5 are the same picture: the class does not reach the generator")
	}

	for _, c := range []struct{ path, want string }{
		{"/sample?seed=1&class=10", "class=10: this generator takes classes 0 to 9"},
		{"/sample?seed=1&class=-1", "class=-1: this generator takes classes 0 to 9"},
		{"/interpolate?a=1&b=2&class=x", "class=x: this generator takes classes 0 to 9, or their names: t-shirt/top, trouser, pullover"},
	} {
		if code, b := get(ts, c.path); code != 400 || !strings.Contains(string(b), c.want) {
			t.Errorf("%s: %d %s, want 400 %q", c.path, code, b, c.want)
		}
	}
	plain := serveRun("dcgan")
	if code, b := get(plain, "/sample?seed=1&class=3"); code != 400 || !strings.Contains(string(b), "class=3: this generator draws from noise alone: it takes no class") {
		t.Errorf("class=3 of a DCGAN: %d %s", code, b)
	}
	if code, b := get(plain, "/info"); code != 200 || strings.Contains(string(b), "classes") {
		t.Errorf("/info of a DCGAN: %d %s", code, b)
	}
}
