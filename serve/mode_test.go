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
	"os"
	"path/filepath"
	"testing"

	"gogan/config"
	"gogan/infer"
	"gogan/trainer"
)

// TestServeRunsTheModeAsked: a pix2pix with BatchNorm (and no dropout, so
// that train mode draws nothing) served with and without --eval answers
// with what gogan translate writes with and without --eval for the same
// drawing, the two modes giving different pictures; a DCGAN is served in
// eval mode even without --eval (as gogan sample): a seed's sample is the
// same drawn alone or with others, which batch statistics would change.
func TestServeRunsTheModeAsked(t *testing.T) {
	run := trainTinyEdges(t, "model.no_dropout=true")
	in := filepath.Join(t.TempDir(), "in")
	if err := os.MkdirAll(in, 0o755); err != nil {
		t.Fatal(err)
	}
	drawing := image.NewGray(image.Rect(0, 0, 32, 32))
	for i := range drawing.Pix {
		drawing.Pix[i] = 255
	}
	for x := 5; x < 27; x++ {
		drawing.Pix[6*32+x], drawing.Pix[25*32+x], drawing.Pix[x*32+5] = 0, 0, 0
	}
	var body bytes.Buffer
	if err := png.Encode(&body, drawing); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(in, "d.png"), body.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	served := map[bool]image.Image{}
	for _, eval := range []bool{false, true} {
		out := filepath.Join(t.TempDir(), "out")
		if _, err := infer.Translate(infer.TranslateOptions{Checkpoint: run, Input: in, Out: out, Device: "cpu", Eval: eval}); err != nil {
			t.Fatal(err)
		}
		want := readPNGFile(t, filepath.Join(out, "d.png"))
		s, err := New(context.Background(), Options{Checkpoint: run, Eval: eval, Device: "cpu", Threads: 1, Logger: quiet()})
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(s.Handler())
		resp, b := post(t, ts.URL+"/translate", "image/png", body.Bytes())
		ts.Close()
		s.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("eval %v: %d %s", eval, resp.StatusCode, b)
		}
		got, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if d := maxLevelDiff(got, want); d != 0 {
			t.Errorf("eval %v: the served picture is %d levels from translate's", eval, d)
		}
		served[eval] = got
	}
	if maxLevelDiff(served[false], served[true]) < 10 {
		t.Fatalf("train and eval mode give the same picture: the test cannot tell the modes apart")
	}

	cfg, err := config.LoadConfig("", []string{"recipe=dcgan", "model.ngf=8", "model.ndf=8", "data.image_size=32", "data.channels=1",
		"out=" + filepath.Join(t.TempDir(), "dcgan"), "device=cpu"})
	if err != nil {
		t.Fatal(err)
	}
	ck, _, err := trainer.Import(cfg, nil, trainer.ImportedAt{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(context.Background(), Options{Checkpoint: ck, Device: "cpu", Threads: 1, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	get := func(path string) []byte {
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, b)
		}
		return b
	}
	var info Info
	if err := json.Unmarshal(get("/info"), &info); err != nil || info.Mode != "eval" {
		t.Errorf("a DCGAN served without --eval: /info mode %q (%v), want eval", info.Mode, err)
	}
	alone, err := png.Decode(bytes.NewReader(get("/sample?seed=3")))
	if err != nil {
		t.Fatal(err)
	}
	strip, err := png.Decode(bytes.NewReader(get("/sample?seed=3&n=4")))
	if err != nil {
		t.Fatal(err)
	}
	first := image.NewNRGBA(image.Rect(0, 0, 32, 32)) // the strip's first tile, past its 2-pixel padding
	draw.Draw(first, first.Rect, strip, image.Pt(2, 2), draw.Src)
	if d := maxLevelDiff(alone, first); d > 1 {
		t.Errorf("seed 3's sample drawn alone and with 3 others differs by %d levels", d)
	}
}

func readPNGFile(t *testing.T, path string) image.Image {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	im, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return im
}
