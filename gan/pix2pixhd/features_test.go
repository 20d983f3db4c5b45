package pix2pixhd

import (
	"math"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	torch "gogan/cgo"
	"gogan/cgo/torchtest"
	"gogan/data"
	"gogan/gan"
)

// encoderPooling runs the reference Encoder's forward (scripts/
// reference_nets.py, from pix2pixHD's networks.py) with its convolutions
// replaced by the identity, so that only its instance-wise average pooling
// acts: on x and the id map inst, then the gradient of sum(y * w).
const encoderPooling = `
import sys
sys.path.insert(0, sys.argv[1])
import torch, reference_nets, safetensors_torch
t, _ = safetensors_torch.load(sys.argv[2])
enc = reference_nets.Encoder(3, t["x"].shape[1], ngf=4, n_downsampling=1)
enc.model = torch.nn.Identity()
x = t["x"].clone().requires_grad_(True)
y = enc(x, t["ids"].to(torch.int32))  # ToTensor's type for a 16-bit map
(y * t["w"]).sum().backward()
safetensors_torch.save(sys.argv[3], {"y": y.detach(), "grad": x.grad})
`

// TestRegionMeansAreTheEncoders: the features averaged by sums and counts
// indexed by (sample, id) are the reference's per-instance loop, values and
// gradients, for instance ids above 255 (held as two bytes) and for class
// ids, at batch 2 with regions in one sample only.
func TestRegionMeansAreTheEncoders(t *testing.T) {
	torchtest.Python(t)
	torch.LockThread()
	sc := torch.NewScope()
	defer sc.Close()
	const n, c, h, w = 2, 3, 9, 11
	for _, f := range []*features{{num: c, regions: 1 << 16}, {num: c, byLabel: true, regions: 5}} {
		ids := make([]float32, n*h*w)
		for i := range ids {
			b, y, x := i/(h*w), i/w%h, i%w
			switch {
			case f.byLabel:
				ids[i] = float32((x/3 + y/4 + b) % 5)
			case b == 1 && y > 6:
				ids[i] = 26007 // only in sample 1
			default:
				ids[i] = float32((x/4)*1000 + (y/3)*256 + b) // 0..2000 + 0..512: equal low bytes
			}
		}
		idT := torch.FromFloat32(ids, n, 1, h, w)
		batch := gan.Batch{"A": idT}
		if !f.byLabel {
			batch[data.InstIDTensor] = instIDs(ids, n, h, w)
		}
		torch.ManualSeed(3)
		x := torch.Randn(torch.Float32, torch.CPUDevice, n, c, h, w)
		wt := torch.Randn(torch.Float32, torch.CPUDevice, n, c, h, w)
		xg := x.Clone()
		xg.SetRequiresGrad(true)
		y := f.regionMeans(xg, f.regionIDs(batch))
		y.Mul(wt).Sum().Backward()

		dir := t.TempDir()
		in, out := filepath.Join(dir, "in.safetensors"), filepath.Join(dir, "out.safetensors")
		if err := torch.SaveSafetensors(in, []torch.Named{{Name: "x", Tensor: x}, {Name: "ids", Tensor: idT}, {Name: "w", Tensor: wt}}, nil); err != nil {
			t.Fatal(err)
		}
		scripts, _ := filepath.Abs(filepath.Join("..", "..", "scripts"))
		if b, err := exec.Command(torchtest.Python(t), "-c", encoderPooling, scripts, in, out).CombinedOutput(); err != nil {
			t.Fatalf("reference pooling: %v\n%s", err, b)
		}
		ref, _, err := torch.LoadSafetensors(out)
		if err != nil {
			t.Fatal(err)
		}
		for _, nt := range ref {
			got := y
			if nt.Name == "grad" {
				got = xg.Grad()
			}
			if worst := maxRelDiff(got.Float32s(), nt.Tensor.Float32s()); worst > 1e-6 {
				t.Errorf("label %v: %s differs from the reference Encoder's by %.2g relative", f.byLabel, nt.Name, worst)
			}
		}
	}
}

// instIDs is the "inst_id" batch tensor of n id maps of h x w: each id's
// high and low byte, as the data package emits it.
func instIDs(ids []float32, n, h, w int64) *torch.Tensor {
	hi, lo := make([]float32, len(ids)), make([]float32, len(ids))
	for i, v := range ids {
		hi[i], lo[i] = float32(int(v)>>8), float32(int(v)&255)
	}
	return torch.Cat([]*torch.Tensor{torch.FromFloat32(hi, n, 1, h, w), torch.FromFloat32(lo, n, 1, h, w)}, 1)
}

// maxRelDiff is the largest |a - b| over the largest |b|.
func maxRelDiff(a, b []float32) float64 {
	var d, m float64
	for i := range b {
		d = max(d, math.Abs(float64(a[i])-float64(b[i])))
		m = max(m, math.Abs(float64(b[i])))
	}
	return d / max(m, 1e-30)
}

// TestRegionMeansNamesTheEncodersMultiple: features of another size than
// the id map (a photo E cannot halve evenly) are an error naming the key.
func TestRegionMeansNamesTheEncodersMultiple(t *testing.T) {
	torch.LockThread()
	sc := torch.NewScope()
	defer sc.Close()
	f := &features{num: 3, byLabel: true, regions: 4, multiple: 16}
	err := torch.Try(func() {
		f.regionMeans(torch.Zeros(torch.Float32, torch.CPUDevice, 1, 3, 32, 32), torch.Zeros(torch.Int64, torch.CPUDevice, 1, 1, 36, 36))
	})
	if err == nil || !strings.Contains(err.Error(), "multiples of 16 (2^model.n_downsample_E)") {
		t.Errorf("got %v", err)
	}
}

// benchRegions is the id map of scripts/bench_features_reference.py: a
// 1024x512 picture (Cityscapes at pix2pixHD's global stage) of 8x4 blocks,
// each an instance class*1000 + k.
func benchRegions(w, h int) []float32 {
	ids := make([]float32, w*h)
	for y := range h {
		for x := range w {
			bx, by := x*8/w, y*4/h
			ids[y*w+x] = float32(((bx+by)%5)*1000 + bx*4 + by)
		}
	}
	return ids
}

// BenchmarkRegionMeans: the encoder's instance-wise averaging of 3
// channels over a 1024x512 map of 32 instances, forward and backward
// (scripts/bench-features sets it beside the reference's loop), on every
// core.
func BenchmarkRegionMeans(b *testing.B) {
	torch.LockThread()
	if _, err := torch.SetNumThreads(runtime.NumCPU()); err != nil {
		b.Fatal(err)
	}
	const w, h = 1024, 512
	f := &features{num: 3, regions: 1 << 16, multiple: 16}
	sc := torch.NewScope()
	defer sc.Close()
	batch := gan.Batch{data.InstIDTensor: instIDs(benchRegions(w, h), 1, h, w)}
	torch.ManualSeed(1)
	x := torch.Randn(torch.Float32, torch.CPUDevice, 1, 3, h, w)
	x.SetRequiresGrad(true)
	b.ResetTimer()
	for range b.N {
		s := torch.NewScope()
		f.regionMeans(x, f.regionIDs(batch)).Sum().Backward()
		x.ZeroGrad()
		s.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/op")
}
