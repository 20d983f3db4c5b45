package main

import (
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gogan/data"
	"gogan/report"
)

// TestTranslateSaysWhatAnEdgesRunTakes: an edges run (data.dataset=edges,
// AtoB) translates edge maps as data.edges draws them, dark lines on white,
// into photos. translate takes such a map without a word, and warns, naming
// the file, of a photo (which a user who trained from photos may give) and
// of a map of the other polarity (white lines on black, as HED's raw output
// or an inverted scan), each of which gives nothing like the run's outputs.
func TestTranslateSaysWhatAnEdgesRunTakes(t *testing.T) {
	base := t.TempDir()
	run := filepath.Join(base, "run")
	mustTrain(t, smallPix2Pix(run, "train.max_steps=1")...)
	photo := filepath.Join("..", "shared", "data", "facades", "train", "1.jpg")
	g, err := data.LoadImage(photo, 1)
	if err != nil {
		t.Fatalf("the test draws edge maps from a CMP facades photo (the shared data folder beside the clone): %v", err)
	}
	edges := data.CannyEdges(data.Resize(g, 256, 128, data.Bicubic))
	gray := func(im *data.Image, invert bool) *image.Gray {
		out := image.NewGray(image.Rect(0, 0, im.W, im.H))
		for i, v := range im.Pix {
			out.Pix[i] = map[bool]uint8{false: v, true: 255 - v}[invert]
		}
		return out
	}
	in := filepath.Join(base, "in")
	os.MkdirAll(in, 0o755)
	for name, im := range map[string]image.Image{"edges.png": gray(edges, false), "inverted.png": gray(edges, true)} {
		if err := report.SavePNG(filepath.Join(in, name), im); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(photo)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(in, "photo.jpg"), b, 0o644)
	out, err := gogan(t, "translate", "--checkpoint", run, "--input", in, "--out", filepath.Join(base, "out"), "--device", "cpu")
	if err != nil || !strings.Contains(out, "translated 3 images") {
		t.Fatalf("translate: %v\n%s", err, out)
	}
	for _, want := range []string{
		"takes edge maps as data.edges=canny drew them from its photos, dark lines on a white background",
		"a photo (or a sketch on gray paper) rather than black lines on white", "input=" + filepath.Join(in, "photo.jpg"),
		"dark, light lines on black perhaps: invert it", "input=" + filepath.Join(in, "inverted.png"),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("translate: no warning saying %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "input="+filepath.Join(in, "edges.png")) {
		t.Errorf("translate warns of an edge map as data.edges draws it:\n%s", out)
	}
}

// TestEdgesBtoATranslatesPhotosToSketches: an edges run trained BtoA takes
// the photos in (model.input_nc 3 for colour ones) and gives 1-channel edge
// maps (model.output_nc 1), as the reference's AlignedDataset swaps input_nc
// and output_nc under BtoA; it trains, translates a colour photo into a
// gray sketch and exports. It was refused for want of model.input_nc=1,
// which under BtoA is the photo's channels.
func TestEdgesBtoATranslatesPhotosToSketches(t *testing.T) {
	photos := filepath.Join(colourFolder(t, 4), "train")
	base := t.TempDir()
	run := filepath.Join(base, "run")
	if out, err := gogan(t, append([]string{"train"}, smallPix2Pix(run, "train.max_steps=1", "data.direction=BtoA", "data.source=folder", "data.root="+photos,
		"data.batch_size=2", "model.input_nc=3", "model.output_nc=1")...)...); err != nil {
		t.Fatalf("train: %v\n%s", err, out)
	}
	if out, err := gogan(t, "translate", "--checkpoint", run, "--input", filepath.Join(photos, "1.jpg"), "--out", filepath.Join(base, "out"), "--device", "cpu"); err != nil {
		t.Fatalf("translate: %v\n%s", err, out)
	}
	im := readPNG(t, filepath.Join(base, "out", "1.png"))
	for p := 0; p < len(im.Pix); p += 4 {
		if r, g, b := im.Pix[p], im.Pix[p+1], im.Pix[p+2]; r != g || g != b {
			t.Fatalf("translate wrote colour (%d, %d, %d) at byte %d: not a 1-channel sketch", r, g, b, p)
		}
	}
	if o, loaded := exportAndLoad(t, run, filepath.Join(base, "exported", "x")); loaded != "G G D" || !strings.Contains(o, "--model test --dataset_mode single --input_nc 3 --output_nc 1") {
		t.Errorf("export loaded %q:\n%s", loaded, o)
	}
}
