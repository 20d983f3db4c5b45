package torch

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"gogan/cgo/torchtest"
)

// runReference writes inputs and cases, runs scripts/torch_reference.py in
// mode, and returns what it computed, as float32 values with shapes.
func runReference(t *testing.T, mode string, cases any, inputs []Named) map[string]refValue {
	t.Helper()
	torchtest.Python(t) // fail early, before the gogan side runs
	dir := t.TempDir()
	casesPath := torchtest.WriteCases(t, dir, cases)
	in := filepath.Join(dir, "in.safetensors")
	if err := SaveSafetensors(in, inputs, nil); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.safetensors")
	torchtest.RunScript(t, "../scripts/torch_reference.py", mode, casesPath, in, out)
	ts, _, err := LoadSafetensors(out)
	if err != nil {
		t.Fatal(err)
	}
	res := make(map[string]refValue, len(ts))
	for _, nt := range ts {
		res[nt.Name] = refValue{nt.Tensor.Shape(), nt.Tensor.Float32s()}
		nt.Tensor.Free()
	}
	return res
}

type refValue struct {
	shape []int64
	data  []float32
}

// assertClose fails unless got matches want in shape and, elementwise,
// |got-want| <= atol + rtol*|want|.
func assertClose(t *testing.T, name string, got *Tensor, want refValue, rtol, atol float64) {
	t.Helper()
	gs := got.Shape()
	if len(gs) != len(want.shape) {
		t.Errorf("%s: shape %v, PyTorch %v", name, gs, want.shape)
		return
	}
	for i := range gs {
		if gs[i] != want.shape[i] {
			t.Errorf("%s: shape %v, PyTorch %v", name, gs, want.shape)
			return
		}
	}
	g := got.Float32s()
	worst, at := 0.0, -1
	for i := range g {
		d := math.Abs(float64(g[i]) - float64(want.data[i]))
		lim := atol + rtol*math.Abs(float64(want.data[i]))
		if d > lim || math.IsNaN(float64(g[i])) != math.IsNaN(float64(want.data[i])) {
			if d-lim > worst || at < 0 {
				worst, at = d-lim, i
			}
		}
	}
	if at >= 0 {
		t.Errorf("%s: element %d is %g, PyTorch %g (rtol %g, atol %g)", name, at, g[at], want.data[at], rtol, atol)
	}
}

// randTensor is a float32 tensor of deterministic samples: normal, or uniform in [lo, hi).
func randTensor(r *rand.Rand, normal bool, lo, hi float64, shape ...int64) *Tensor {
	n := numel(shape)
	v := make([]float32, n)
	for i := range v {
		if normal {
			v[i] = float32(r.NormFloat64())
		} else {
			v[i] = float32(lo + (hi-lo)*r.Float64())
		}
	}
	return FromFloat32(v, shape...)
}
