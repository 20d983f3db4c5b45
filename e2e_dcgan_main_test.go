package main

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"gogan/cgo/torchtest"
	"gogan/runfolder"
)

// TestDCGANIsMainPyStepForStep: gogan train with configs/dcgan-folder.yaml's
// settings (pytorch/examples dcgan on an image folder) gives, step after
// step over three epochs, the losses and D outputs of main.py itself
// (scripts/dcgan_main_reference.py, its training run written out) from
// the same seed: the same initial weights and fixed noise, the same
// shuffled batches (RandomSampler's randperm, its seed drawn from the CPU
// generator as each epoch starts, as the DataLoader's base seed is), the
// same noise after them, a last batch of its own size. Its grid of the
// real batch, samples/real_samples.png (drawn with the sample grid of step
// 7, the first of the third epoch), is main.py's last real_samples.png
// (vutils.save_image(real_cpu, normalize=True) at i = 0 of that epoch),
// pixel for pixel.
func TestDCGANIsMainPyStepForStep(t *testing.T) {
	py := torchtest.Python(t)
	root := filepath.Join(t.TempDir(), "images")
	for i := range 10 { // two classes, images of other sizes than 64
		im := image.NewNRGBA(image.Rect(0, 0, 70+i, 64+2*i))
		for y := range im.Rect.Dy() {
			for x := range im.Rect.Dx() {
				im.Set(x, y, color.NRGBA{uint8(x*3 + i*20), uint8(y*4 + x), uint8(200 - 9*i + y), 255})
			}
		}
		dir := filepath.Join(root, fmt.Sprintf("class%d", i%2))
		os.MkdirAll(dir, 0o755)
		writePNG(t, filepath.Join(dir, fmt.Sprintf("im%02d.png", i)), im)
	}
	const seed, batch, epochs = 7, 4, 3
	run := filepath.Join(t.TempDir(), "run")
	out, err := gogan(t, "train", "--config", "configs/dcgan-folder.yaml", "--quiet", "--set", "data.root="+root, "--set", "out="+run,
		"--set", fmt.Sprint("seed=", seed), "--set", fmt.Sprint("data.batch_size=", batch), "--set", "data.image_size=64",
		"--set", "model.ngf=8", "--set", "model.ndf=8", "--set", fmt.Sprint("train.epochs=", epochs), "--set", "train.log_every=1", "--set", "train.sample_every=7",
		"--set", "threads=1", "--set", "data.workers=2", "--set", "device=cpu")
	if err != nil {
		t.Fatalf("gogan train: %v\n%s", err, out)
	}
	got, err := runfolder.ReadMetrics(filepath.Join(run, "metrics.csv"))
	if err != nil {
		t.Fatal(err)
	}
	outf := t.TempDir()
	ref, err := exec.Command(py, "scripts/dcgan_main_reference.py", root, fmt.Sprint(seed), fmt.Sprint(batch), "64", "8", "8", fmt.Sprint(epochs), "2", outf).Output()
	if err != nil {
		t.Fatalf("main.py's run: %v", err)
	}
	worst := sameLosses(t, got, ref, "main.py", 9) // 3 epochs of 3 batches
	t.Logf("9 steps over 3 epochs: largest relative difference %.2g", worst)
	mine, theirs := readPNG(t, filepath.Join(run, "samples", "real_samples.png")), readPNG(t, filepath.Join(outf, "real_samples.png"))
	if mine.Rect != theirs.Rect || !bytes.Equal(mine.Pix, theirs.Pix) {
		t.Errorf("samples/real_samples.png (%v) is not main.py's real_samples.png (%v) of the same batch", mine.Rect, theirs.Rect)
	}
}
