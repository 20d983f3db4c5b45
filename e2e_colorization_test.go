package main

import (
	"encoding/json"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"gogan/data"
)

// colourFolder copies the first n facades files (photo and label map side by
// side: colour images) into root/train/.
func colourFolder(t *testing.T, n int) string {
	t.Helper()
	src := filepath.Join("..", "shared", "data", "facades", "train")
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "train"), 0o755); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		name := strconv.Itoa(i) + ".jpg"
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatalf("the colorization test reads the CMP facades pairs (the shared data folder beside the clone): %v", err)
		}
		if err := os.WriteFile(filepath.Join(root, "train", name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// TestColorizationTrainsTranslatesAndScores: the colorization recipe trains
// from colour photos, colourises gray photos with their lightness kept (gogan
// translate and gogan serve alike), scores itself on photos, and what it
// cannot do is refused with the reason.
func TestColorizationTrainsTranslatesAndScores(t *testing.T) {
	root := colourFolder(t, 8)
	base := t.TempDir()
	run := filepath.Join(base, "run")
	small := []string{"--config", "configs/colorization.yaml", "--quiet", "--set", "out=" + run, "--set", "data.root=" + root,
		"--set", "data.load_size=136", "--set", "data.crop_size=128", "--set", "model.netG=unet_128",
		"--set", "model.ngf=8", "--set", "model.ndf=8", "--set", "train.log_every=1", "--set", "train.sample_every=3",
		"--set", "threads=2", "--set", "data.workers=1"}
	mustTrain(t, append(small, "--set", "train.max_steps=6")...)
	if rows := lossRows(t, run); len(rows) != 7 || strings.Join(rows[0], ",") != "step,epoch,G_GAN,G_L1,D_real,D_fake,lr" {
		t.Errorf("metrics.csv: %d rows, header %v", len(rows), rows[0])
	}
	// The grid is real_A | fake_B_rgb | real_B_rgb: the target column is the
	// photos themselves (through Lab and back), in colour.
	if b, _ := os.ReadFile(filepath.Join(run, "index.html")); !strings.Contains(string(b), "each row: real_A | fake_B_rgb | real_B_rgb") {
		t.Errorf("the report does not name the grid's columns")
	}
	grid := readPNG(t, filepath.Join(run, "samples", "latest.png"))
	if b := grid.Bounds(); b.Dx() < 3*128 || b.Dy() < 128 {
		t.Fatalf("sample grid %v, want rows of L | colourised | photo at 128x128", b)
	}
	if s := saturation(grid, image.Rect(grid.Bounds().Dx()-128, 0, grid.Bounds().Dx(), 128)); s < 10 {
		t.Errorf("the grid's target column has a mean saturation of %.1f: not the colour photos", s)
	}

	// Colourise: a gray drawing of another size and a colour photo.
	in := filepath.Join(base, "in")
	os.MkdirAll(in, 0o755)
	writeTestPNG(t, filepath.Join(in, "gray.png"), 90, 70)
	photo, err := os.ReadFile(filepath.Join(root, "train", "3.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(in, "photo.jpg"), photo, 0o644)
	outDir := filepath.Join(base, "out")
	// A load size of gigapixels is refused before anything is made.
	for _, mode := range []string{"resize_and_crop", "scale_width"} {
		load := map[string]string{"resize_and_crop": "100000", "scale_width": "100000000"}[mode]
		out, err := gogan(t, "translate", "--checkpoint", run, "--input", in, "--out", outDir, "--preprocess", mode, "--load-size", load)
		if err == nil || !strings.Contains(out, "--load-size "+load+": images of that size hold more than the 89478485 pixels") {
			t.Errorf("translate --preprocess %s --load-size %s: %v\n%s", mode, load, err, out)
		}
	}
	// One that fits the limit only for some: the first image past it
	// stops the translation, which leaves no folder behind.
	out, err := gogan(t, "translate", "--checkpoint", run, "--input", in, "--out", filepath.Join(outDir, "sub"), "--preprocess", "scale_width", "--load-size", "20000")
	if err == nil || !strings.Contains(out, "resizes to 20000x15555 with data.preprocess scale_width: more than the 89478485 pixels gogan makes of an image (lower data.load_size)") {
		t.Errorf("translate --preprocess scale_width --load-size 20000: %v\n%s", err, out)
	}
	if _, err := os.Stat(outDir); !os.IsNotExist(err) {
		t.Errorf("a translation that failed left its --out: %v", err)
	}
	if out, err := gogan(t, "translate", "--checkpoint", run, "--input", in, "--out", outDir, "--device", "cpu", "--eval"); err != nil || !strings.Contains(out, "translated 2 images") {
		t.Fatalf("translate: %v\n%s", err, out)
	}
	for _, name := range []string{"gray", "photo"} {
		got := readPNG(t, filepath.Join(outDir, name+".png"))
		if b := got.Bounds(); b.Dx() != 128 || b.Dy() != 128 {
			t.Fatalf("%s: %v, want the training crop 128x128", name, b)
		}
		// The output is the input's L with the generator's ab: its
		// lightness is the input's (resized as translate resizes), up to
		// the 8-bit rounding and the gamut's clipping.
		inIm, err := data.LoadImage(filepath.Join(in, map[string]string{"gray": "gray.png", "photo": "photo.jpg"}[name]), 3)
		if err != nil {
			t.Fatal(err)
		}
		want := data.Resize(inIm, 128, 128, data.Bicubic)
		var diff float64
		for p := 0; p < 128*128; p++ {
			x, y := p%128, p/128
			c := got.At(x, y).(color.NRGBA)
			lg, _, _ := data.RGBToLab(c.R, c.G, c.B)
			lw, _, _ := data.RGBToLab(want.Pix[3*p], want.Pix[3*p+1], want.Pix[3*p+2])
			diff += math.Abs(float64(lg - lw))
		}
		t.Logf("%s: mean |L(out) - L(in)| = %.2f (L in 0..100)", name, diff/(128*128))
		if diff/(128*128) > 3 {
			t.Errorf("%s: the colourised image's lightness differs from the input's by %.2f on average", name, diff/(128*128))
		}
	}

	// gogan serve colourises an uploaded photo as translate --eval does,
	// pixel for pixel.
	s := startServe(t, "--checkpoint", run, "--eval")
	gray, err := os.ReadFile(filepath.Join(in, "gray.png"))
	if err != nil {
		t.Fatal(err)
	}
	resp, got := do(t, "POST", s.url+"/translate", "image/png", gray)
	if resp.StatusCode != 200 {
		t.Fatalf("serve: %d %s", resp.StatusCode, got)
	}
	want, _ := os.ReadFile(filepath.Join(outDir, "gray.png"))
	if d := maxDiff(decodePNG(t, want), decodePNG(t, got)); d != 0 {
		t.Errorf("serve and translate --eval differ by %d levels on the same photo", d)
	}
	var info struct {
		Recipe   string `json:"recipe"`
		OutputNC int    `json:"output_nc"`
		Input    string `json:"input"`
	}
	if _, b := do(t, "GET", s.url+"/info", "", nil); json.Unmarshal(b, &info) != nil || info.Recipe != "colorization" || info.OutputNC != 3 || info.Input != "image" {
		t.Errorf("serve /info: %+v, want recipe colorization, RGB output and an image to upload or paint:\n%s", info, b)
	}
	s.stop(t, syscall.SIGTERM)

	out, err = gogan(t, "eval", "pix2pix", "--checkpoint", run, "--data-root", root, "--phase", "train", "--limit", "3", "--device", "cpu", "--threads", "2")
	if err != nil || !strings.Contains(out, "colorization") || !strings.Contains(out, "PSNR") {
		t.Fatalf("eval pix2pix: %v\n%s", err, out)
	}
	t.Logf("%s", out)
	// a results folder named at the length limit: its temp's name is cut
	// short ("file name too long" before)
	long := filepath.Join(base, strings.Repeat("r", 250))
	if out, err := gogan(t, "eval", "pix2pix", "--checkpoint", run, "--data-root", root, "--phase", "train", "--limit", "1", "--device", "cpu",
		"--threads", "2", "--out", long); err != nil {
		t.Errorf("eval pix2pix --out of a 250-byte name: %v\n%s", err, out)
	} else if _, err := os.Stat(filepath.Join(long, "index.html")); err != nil {
		t.Errorf("eval pix2pix --out of a 250-byte name: %v", err)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{append([]string{"train"}, append(small, "--set", "out="+filepath.Join(base, "x"), "--set", "model.input_nc=3")...), "model.input_nc must be 1"},
		{append([]string{"train"}, append(small, "--set", "out="+filepath.Join(base, "y"), "--set", "data.on_device=true")...), "data.on_device=false"},
		{append([]string{"train"}, append(small, "--set", "out="+filepath.Join(base, "z"), "--set", "data.phase=val")...), "no folder"},
		{append([]string{"train"}, append(small, "--set", "out="+filepath.Join(base, "w"), "--set", "recipe=pix2pix")...), "use recipe colorization"},
	} {
		if out, err := gogan(t, c.args...); err == nil || !strings.Contains(out, c.want) {
			t.Errorf("gogan %s: %v, want an error saying %q:\n%s", strings.Join(c.args[:1], " "), err, c.want, out)
		}
	}
}

// saturation is the mean of max(R, G, B) - min(R, G, B) over r.
func saturation(im *image.NRGBA, r image.Rectangle) float64 {
	var sum float64
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := im.NRGBAAt(x, y)
			sum += float64(max(c.R, c.G, c.B) - min(c.R, c.G, c.B))
		}
	}
	return sum / float64(r.Dx()*r.Dy())
}
