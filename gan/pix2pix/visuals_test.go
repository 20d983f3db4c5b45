package pix2pix

import (
	"bytes"
	"path/filepath"
	"testing"

	torch "gogan/cgo"
	"gogan/config"
	"gogan/gan"
	"gogan/report"
)

// TestVisualsAreTheReferencesColumns: the grid shows, per pair, the
// reference's visual_names in its order, real_A | fake_B = G(A) | real_B,
// one row per pair. Instance norm and no dropout: the generator's
// train-mode forward here is the recipe's.
func TestVisualsAreTheReferencesColumns(t *testing.T) {
	torch.LockThread()
	sc := torch.NewScope()
	defer sc.Close()
	cfg, err := config.LoadConfig("", []string{"recipe=pix2pix", "data.load_size=32", "data.crop_size=32", "model.ngf=4", "model.ndf=4",
		"model.netG=resnet_6blocks", "model.norm=instance", "model.no_dropout=true", "device=cpu", "out=" + filepath.Join(t.TempDir(), "run")})
	if err != nil {
		t.Fatal(err)
	}
	torch.ManualSeed(3)
	rec, err := New(gan.Env{Config: cfg, Device: torch.CPUDevice, Precision: gan.NewPrecision("", torch.CPUDevice)})
	if err != nil {
		t.Fatal(err)
	}
	defer gan.Free(rec)
	r := rec.(*Pix2Pix)
	r.fixedA = torch.Rand(torch.Float32, torch.CPUDevice, 2, 3, 32, 32).MulScalar(2).SubScalar(1).Persist()
	r.fixedB = torch.Rand(torch.Float32, torch.CPUDevice, 2, 3, 32, 32).MulScalar(2).SubScalar(1).Persist()
	got, err := r.Visuals()
	if err != nil {
		t.Fatal(err)
	}
	var cols []report.Images
	torch.NoGrad(func() {
		cols = []report.Images{report.ToImages(r.fixedA), report.ToImages(r.g.Forward(r.fixedA)), report.ToImages(r.fixedB)}
	})
	want, err := report.ColumnsGrid(cols, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got.Rect != want.Rect {
		t.Fatalf("grid of %v, want %v (3 columns of 2 rows)", got.Rect, want.Rect)
	}
	if !bytes.Equal(got.Pix, want.Pix) {
		t.Error("the grid's columns are not real_A, fake_B, real_B, the reference's visual_names")
	}
}
