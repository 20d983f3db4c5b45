package cyclegan_test

import (
	"context"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	torch "gogan/cgo"
	"gogan/config"
	"gogan/gan"
)

// TestPoolsTakeTheFakesSizes: with data.preprocess none the images keep
// their sizes, and where every A image has one size and every B image
// another, each pool is sized for the fakes it holds: fake A = G_B(B) has
// the B images' size, fake B = G_A(A) the A images'. Three steps with
// pools of 2 (filled, then drawn from) train with A 32x24 and B 24x32.
func TestPoolsTakeTheFakesSizes(t *testing.T) {
	torch.LockThread()
	sc := torch.NewScope()
	defer sc.Close()
	root := t.TempDir()
	for dir, wh := range map[string][2]int{"trainA": {32, 24}, "trainB": {24, 32}} {
		os.MkdirAll(filepath.Join(root, dir), 0o755)
		for _, name := range []string{"a.png", "b.png"} {
			f, err := os.Create(filepath.Join(root, dir, name))
			if err != nil {
				t.Fatal(err)
			}
			png.Encode(f, image.NewNRGBA(image.Rect(0, 0, wh[0], wh[1])))
			f.Close()
		}
	}
	cfg, err := config.LoadConfig("", []string{"recipe=cyclegan", "data.root=" + root, "data.preprocess=none", "data.batch_size=1",
		"model.ngf=4", "model.ndf=4", "model.netG=resnet_6blocks", "model.netD=pixel", "train.pool_size=2", "device=cpu",
		"out=" + filepath.Join(t.TempDir(), "run")})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := gan.OpenData(context.Background(), cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	rec, err := gan.New(gan.Env{Config: cfg, Device: torch.CPUDevice, Precision: gan.NewPrecision("", torch.CPUDevice), Data: ds})
	if err != nil {
		t.Fatal(err)
	}
	defer gan.Free(rec)
	b := gan.Batch{"A": torch.Rand(torch.Float32, torch.CPUDevice, 1, 3, 24, 32), "B": torch.Rand(torch.Float32, torch.CPUDevice, 1, 3, 32, 24)}
	for step := 1; step <= 3; step++ {
		rec.(gan.StepDrawer).DrawStep(1)
		if err := torch.Try(func() { rec.Step(b) }); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
	}
}
