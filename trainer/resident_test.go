package trainer

import (
	"context"
	"errors"
	"io"
	"testing"

	torch "gogan/cgo"
	"gogan/data"
)

// residentMatchesLoader: every batch that data.on_device builds on dev over
// two epochs is the host loader's, value for value: pix2pix pairs, CycleGAN
// streams in both directions and pix2pixHD label maps with instance
// boundaries and ids, each with random crops and flips, and CIFAR-10 and
// LSUN resized for DCGAN, at 4 samples a batch.
func residentMatchesLoader(t *testing.T, dev torch.Device) {
	facades := facadesDir(t)
	aligned := data.DefaultConfig(data.Aligned)
	aligned.Root, aligned.MaxSamples, aligned.LoadSize, aligned.CropSize = facades, 12, 72, 64
	unaligned := data.DefaultConfig(data.Unaligned)
	unaligned.Root, unaligned.MaxSamples, unaligned.LoadSize, unaligned.CropSize = facades, 12, 40, 32
	btoa := unaligned
	btoa.Direction = "BtoA"
	hd := data.DefaultConfig(data.Aligned)
	hd.Root, hd.LabelNC, hd.Instance, hd.LoadSize, hd.CropSize = hdFacades(t, facades), 4, true, 40, 32
	hd.InstanceIDs = true                     // the instance ids too (the feature encoder's)
	cifar := data.DefaultConfig(data.CIFAR10) // DCGAN's resize 32 -> 64 and center crop
	cifar.Root = smallCIFAR10(t)
	lsun := data.DefaultConfig(data.LSUN) // WebP photos of two categories, shorter side to 64
	lsun.Root, lsun.Classes = smallLSUN(t), "tower,bridge"
	for _, c := range []struct {
		name string
		cfg  data.Config
	}{{"pix2pix pairs", aligned}, {"cyclegan streams", unaligned}, {"cyclegan BtoA", btoa}, {"pix2pixhd maps", hd}, {"dcgan cifar10", cifar}, {"dcgan lsun", lsun}} {
		c.cfg.BatchSize, c.cfg.Workers = 4, 0
		ds, err := data.Open(context.Background(), c.cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		const seed = 11
		lo, err := data.NewLoader(ds, c.cfg.LoaderOptions(seed))
		if err != nil {
			t.Fatal(err)
		}
		r, err := loadResident(context.Background(), ds, dev)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		batches := 0
		for epoch := 0; epoch < 2; {
			b, err := lo.Next(context.Background())
			if errors.Is(err, io.EOF) {
				epoch++
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			var got map[string][]float32
			if err := torch.Try(func() {
				inputs, owned := r.batch(b.Indices, b.Draws)
				got = map[string][]float32{}
				for name, x := range inputs {
					got[name] = x.To(torch.CPUDevice).Float32s()
				}
				for _, o := range owned {
					o.Free()
				}
			}); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if len(got) != len(b.Tensors) {
				t.Fatalf("%s: %d tensors on the device, %d from the loader", c.name, len(got), len(b.Tensors))
			}
			for _, ht := range b.Tensors {
				g := got[ht.Name]
				if len(g) != len(ht.F32) {
					t.Fatalf("%s: epoch %d batch %d: %s has %d values, the loader's %d", c.name, b.Epoch, b.Index, ht.Name, len(g), len(ht.F32))
				}
				for k := range g {
					if g[k] != ht.F32[k] {
						t.Fatalf("%s: epoch %d batch %d: %s differs at %d: %v, the loader's %v", c.name, b.Epoch, b.Index, ht.Name, k, g[k], ht.F32[k])
					}
				}
			}
			b.Release()
			batches++
		}
		r.free()
		if want := 2 * ((ds.Len() + 3) / 4); batches != want {
			t.Errorf("%s: %d batches in two epochs, want %d", c.name, batches, want)
		}
	}
}

func TestResidentBatchesAreTheLoaders(t *testing.T) { residentMatchesLoader(t, torch.CPUDevice) }

// TestCUDAResidentBatchesAreTheLoaders: the same gathers, cuts, flips and
// conversions by CUDA kernels.
func TestCUDAResidentBatchesAreTheLoaders(t *testing.T) {
	requireCUDA(t)
	residentMatchesLoader(t, torch.CUDADevice(0))
}
