package pix2pixhd

import (
	"bytes"
	"path/filepath"
	"testing"

	torch "gogan/cgo"
	"gogan/config"
	"gogan/gan"
	"gogan/report"
)

// TestVisualsAreTheReferencesColumns: the grid shows, per example, the
// reference's visuals in its order, input_label (the label map in
// util.tensor2label's colours) | synthesized_image = G(one-hot label) |
// real_image, one row per example. Instance norm: the generator's
// train-mode forward here is the recipe's.
func TestVisualsAreTheReferencesColumns(t *testing.T) {
	torch.LockThread()
	sc := torch.NewScope()
	defer sc.Close()
	cfg, err := config.LoadConfig("", []string{"recipe=pix2pixhd", "data.label_nc=4", "data.no_instance=true", "train.no_vgg_loss=true",
		"data.preprocess=resize_and_crop", "data.load_size=32", "data.crop_size=32", "model.ngf=4", "model.ndf=4",
		"model.n_downsample_global=2", "model.n_blocks_global=1", "device=cpu", "out=" + filepath.Join(t.TempDir(), "run")})
	if err != nil {
		t.Fatal(err)
	}
	torch.ManualSeed(3)
	rec, err := New(gan.Env{Config: cfg, Device: torch.CPUDevice, Precision: gan.NewPrecision("", torch.CPUDevice)})
	if err != nil {
		t.Fatal(err)
	}
	defer gan.Free(rec)
	r := rec.(*Pix2PixHD)
	ids := make([]float32, 2*32*32)
	for i := range ids {
		ids[i] = float32((i/5 + i/96) % 4) // class ids 0..3 in stripes
	}
	label := torch.FromFloat32(ids, 2, 1, 32, 32).Persist()
	r.fixed = gan.Batch{"A": label, "B": torch.Rand(torch.Float32, torch.CPUDevice, 2, 3, 32, 32).MulScalar(2).SubScalar(1).Persist()}
	got, err := r.Visuals()
	if err != nil {
		t.Fatal(err)
	}
	var cols []report.Images
	torch.NoGrad(func() {
		classes := torch.Arange(0, 4, 1, torch.Float32, torch.CPUDevice).View(1, 4, 1, 1)
		oneHot := label.Eq(classes)
		cols = []report.Images{report.LabelColors(report.ToImages(label), 4), report.ToImages(r.g.Forward(oneHot)), report.ToImages(r.fixed["B"])}
	})
	want, err := report.ColumnsGrid(cols, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got.Rect != want.Rect {
		t.Fatalf("grid of %v, want %v (3 columns of 2 rows)", got.Rect, want.Rect)
	}
	if !bytes.Equal(got.Pix, want.Pix) {
		t.Error("the grid's columns are not input_label, synthesized_image, real_image, the reference's visuals")
	}
}
