package cyclegan

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	torch "gogan/cgo"
	"gogan/config"
	"gogan/gan"
	"gogan/report"
)

// TestVisualsAreTheReferencesColumns: the grid shows, per sample, the
// reference's visual_names_A (real_A, fake_B = G_A(A), rec_A = G_B(fake_B),
// idt_B = G_B(A)) over visual_names_B (real_B, fake_A = G_B(B), rec_B =
// G_A(fake_A), idt_A = G_A(B)), column by column (CycleGANModel.__init__:
// idt_B joins the A row and idt_A the B row when lambda_identity > 0).
// Instance norm and no dropout: the generators' train-mode forwards here
// are the recipe's.
func TestVisualsAreTheReferencesColumns(t *testing.T) {
	torch.LockThread()
	sc := torch.NewScope()
	defer sc.Close()
	cfg, err := config.LoadConfig("", []string{"recipe=cyclegan", "data.load_size=32", "data.crop_size=32", "model.ngf=4", "model.ndf=4",
		"model.netG=resnet_6blocks", "train.pool_size=0", "device=cpu", "out=" + filepath.Join(t.TempDir(), "run")})
	if err != nil {
		t.Fatal(err)
	}
	torch.ManualSeed(3)
	rec, err := New(gan.Env{Config: cfg, Device: torch.CPUDevice, Precision: gan.NewPrecision("", torch.CPUDevice)})
	if err != nil {
		t.Fatal(err)
	}
	defer gan.Free(rec)
	r := rec.(*CycleGAN)
	r.fixedA = torch.Rand(torch.Float32, torch.CPUDevice, 2, 3, 32, 32).MulScalar(2).SubScalar(1).Persist()
	r.fixedB = torch.Rand(torch.Float32, torch.CPUDevice, 2, 3, 32, 32).MulScalar(2).SubScalar(1).Persist()
	got, err := r.Visuals()
	if err != nil {
		t.Fatal(err)
	}
	var cols []report.Images
	torch.NoGrad(func() {
		realA, realB := r.fixedA, r.fixedB
		fakeB, fakeA := r.gA.Forward(realA), r.gB.Forward(realB)
		a := []*torch.Tensor{realA, fakeB, r.gB.Forward(fakeB), r.gB.Forward(realA)}
		b := []*torch.Tensor{realB, fakeA, r.gA.Forward(fakeA), r.gA.Forward(realB)}
		for j := range a {
			cols = append(cols, interleave(report.ToImages(a[j]), report.ToImages(b[j])))
		}
	})
	want, err := report.ColumnsGrid(cols, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got.Rect != want.Rect {
		t.Fatalf("grid of %v, want %v (4 columns of 2 x 2 rows)", got.Rect, want.Rect)
	}
	if !bytes.Equal(got.Pix, want.Pix) {
		t.Error("the grid's columns are not real, fake, rec, idt of the reference's visual_names_A over visual_names_B")
	}
}

// TestVisualsLayoutNamesTheColumns: the report's caption names as many
// columns as the grid has, with the identity columns and without them
// (lambda_identity 0).
func TestVisualsLayoutNamesTheColumns(t *testing.T) {
	torch.LockThread()
	sc := torch.NewScope()
	defer sc.Close()
	for _, idt := range []string{"0.5", "0"} {
		cfg, err := config.LoadConfig("", []string{"recipe=cyclegan", "data.load_size=32", "data.crop_size=32", "model.ngf=4", "model.ndf=4",
			"model.netG=resnet_6blocks", "train.pool_size=0", "train.lambda_identity=" + idt, "device=cpu", "out=" + filepath.Join(t.TempDir(), "run")})
		if err != nil {
			t.Fatal(err)
		}
		rec, err := New(gan.Env{Config: cfg, Device: torch.CPUDevice, Precision: gan.NewPrecision("", torch.CPUDevice)})
		if err != nil {
			t.Fatal(err)
		}
		defer gan.Free(rec)
		r := rec.(*CycleGAN)
		r.fixedA = torch.Rand(torch.Float32, torch.CPUDevice, 2, 3, 32, 32).Persist()
		r.fixedB = torch.Rand(torch.Float32, torch.CPUDevice, 2, 3, 32, 32).Persist()
		got, err := r.Visuals()
		if err != nil {
			t.Fatal(err)
		}
		layout := r.VisualsLayout()
		row, _, _ := strings.Cut(strings.TrimPrefix(layout, "rows in pairs: "), ", then ")
		names := strings.Split(row, " | ")
		cols := make([]report.Images, len(names))
		for i := range cols {
			cols[i] = report.ToImages(torch.Zeros(torch.Float32, torch.CPUDevice, 4, 3, 32, 32))
		}
		want, err := report.ColumnsGrid(cols, 2)
		if err != nil {
			t.Fatal(err)
		}
		if got.Rect != want.Rect {
			t.Errorf("lambda_identity %s: the layout %q names %d columns, but the grid is %v (%d columns: %v)", idt, layout, len(names), got.Rect, len(names), want.Rect)
		}
	}
}
