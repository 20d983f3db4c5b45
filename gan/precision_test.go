package gan

import (
	"math"
	"testing"

	torch "gogan/cgo"
)

// update runs n GradScaler.update steps, with an overflow (found) or not.
func (s *GradScaler) updates(n int, found bool) {
	for range n {
		if found {
			s.found.Fill(1)
		}
		s.update()
	}
}

// TestGradScaler: on the device as PyTorch's _amp_update_scale_, from
// GradScaler's defaults (init_scale 65536, growth_interval 2000): an
// overflow halves the scale and restarts the count; 2000 clean steps in a
// row double it, unless the doubled scale would overflow float32 (the count
// starts over all the same). The numbers are PyTorch's, not the constants'.
func TestGradScaler(t *testing.T) {
	torch.LockThread()
	sc := torch.NewScope()
	defer sc.Close()
	s := NewGradScaler(torch.CPUDevice)
	check := func(when string, scale float64, tracker int) {
		t.Helper()
		if st := s.State(); st.Scale != scale || st.GrowthTracker != tracker {
			t.Fatalf("%s: scale %g tracker %d, want %g and %d", when, st.Scale, st.GrowthTracker, scale, tracker)
		}
		if f := s.found.Item(); f != 0 {
			t.Fatalf("%s: found_inf %g left for the next step", when, f)
		}
	}
	s.updates(1, true)
	check("after an overflow", 32768, 0)
	s.updates(1999, false)
	check("after 1999 clean steps", 32768, 1999)
	s.updates(1, false)
	check("after 2000 clean steps", 65536, 0)

	near := float64(float32(math.MaxFloat32 / 1.5))
	s.SetState(ScalerState{Scale: near, GrowthTracker: 1999})
	s.updates(1, false)
	check("2000 clean steps near float32's max", near, 0)
	s.SetState(ScalerState{Scale: 1024})
	s.updates(2000, false)
	check("2000 clean steps from 1024", 2048, 0)
	s.updates(1, true)
	check("an overflow at 2048", 1024, 0)
}

// TestScaledStepIsAdamsOrNone: under fp16's scaler a step of finite
// gradients is the optimizer's step on the gradients unscaled, bit for bit
// (the scale is a power of two), counted; a step whose gradients overflowed
// (inf, or nan) leaves the weights, moments and count as they were, decided
// on the device, while the other optimizer of the step still steps; the
// scale then halves; and the steps after it are again Adam's, as if the
// overflowed one had not been. The first step may overflow too (fp16 runs
// start at a scale of 2^16): nothing is counted yet. Adam, Adam with weight
// decay and AdamW, with a 0-dim parameter beside a vector.
func TestScaledStepIsAdamsOrNone(t *testing.T) {
	torch.LockThread()
	sc := torch.NewScope()
	defer sc.Close()
	dev := torch.CPUDevice
	x := torch.FromFloat32([]float32{0.5, -1.25, 3}, 3)
	nan := torch.FromFloat32([]float32{1, float32(math.NaN()), 1}, 3)
	inf := torch.FromFloat32([]float32{1, float32(math.Inf(1)), 1}, 3)
	for _, c := range []struct {
		name        string
		weightDecay float64
		decoupled   bool
	}{{"adam", 0, false}, {"adam weight decay", 0.01, false}, {"adamw", 0.05, true}} {
		params := func() []*torch.Tensor {
			return []*torch.Tensor{torch.FromFloat32([]float32{0.1, 0.2, -0.3}, 3).SetRequiresGrad(true).Persist(),
				torch.Full(0.7, torch.Float32, dev).SetRequiresGrad(true).Persist()}
		}
		adam := func(ps []*torch.Tensor) *torch.Adam {
			o := torch.NewAdam(ps, 0.01, 0.5, 0.999)
			o.WeightDecay, o.Decoupled = c.weightDecay, c.decoupled
			return o
		}
		loss := func(ps []*torch.Tensor, x *torch.Tensor) *torch.Tensor {
			return ps[0].Mul(x).Square().Sum().Add(ps[1].Mul(ps[1]).MulScalar(3))
		}
		// scaled: p under the scaler; plain: q, capturable Adam on the same
		// loss, without the overflowed steps
		p, q, other := params(), params(), params()
		scaled, plain, second := adam(p), adam(q), adam(other)
		plain.MakeCapturable()
		prec := &Precision{dev: dev, Scaler: NewGradScaler(dev)}
		scale := scalerInit
		// overflow steps p on x (inf or nan) and second on finite gradients
		overflow := func(when string, x *torch.Tensor) {
			t.Helper()
			// before the first step the moments are zeros (made on the step)
			m, v := make([]float32, 3), make([]float32, 3)
			if len(scaled.ExpAvg) > 0 {
				m, v = scaled.ExpAvg[0].Float32s(), scaled.ExpAvgSq[0].Float32s()
			}
			before := p[0].Float32s()
			before0, steps := p[1].Float32s(), scaled.Steps()
			otherBefore, otherSteps := other[0].Float32s(), second.Steps()
			scaled.ZeroGrad()
			second.ZeroGrad()
			prec.Backward(loss(p, x))
			prec.Backward(loss(other, torch.FromFloat32([]float32{0.5, -1.25, 3}, 3)))
			prec.Step(scaled)
			prec.Step(second)
			prec.Update()
			if !equal(p[0].Float32s(), before) || !equal(p[1].Float32s(), before0) || !equal(scaled.ExpAvg[0].Float32s(), m) ||
				!equal(scaled.ExpAvgSq[0].Float32s(), v) || scaled.Steps() != steps {
				t.Errorf("%s, %s: an overflowed step changed the optimizer: weights %v %v (were %v %v), moments %v %v (were %v %v), step count %d (was %d)",
					c.name, when, p[0].Float32s(), p[1].Float32s(), before, before0, scaled.ExpAvg[0].Float32s(),
					scaled.ExpAvgSq[0].Float32s(), m, v, scaled.Steps(), steps)
			}
			if equal(other[0].Float32s(), otherBefore) || second.Steps() != otherSteps+1 {
				t.Errorf("%s, %s: the other optimizer of the step, whose gradients are finite, did not step (count %d)", c.name, when, second.Steps())
			}
			scale /= 2
			if st := prec.Scaler.State(); st.Scale != scale || st.GrowthTracker != 0 {
				t.Errorf("%s, %s: after the overflow: scale %g, tracker %d; want %g, 0", c.name, when, st.Scale, st.GrowthTracker, scale)
			}
		}
		clean := func(steps int) {
			t.Helper()
			for range steps {
				scaled.ZeroGrad()
				plain.ZeroGrad()
				prec.Backward(loss(p, x))
				loss(q, x).Backward()
				prec.Step(scaled)
				plain.Step()
				prec.Update()
				for i := range p {
					if got, want := p[i].Float32s(), q[i].Float32s(); !equal(got, want) {
						t.Fatalf("%s, step %d: scaled %v, plain %v", c.name, plain.Steps(), got, want)
					}
				}
				if scaled.Steps() != plain.Steps() {
					t.Fatalf("%s: %d clean steps counted as %d", c.name, plain.Steps(), scaled.Steps())
				}
			}
		}
		overflow("the first step, nan", nan)
		clean(3)
		overflow("the fifth step, inf", inf)
		clean(2)
	}
}

func equal(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// TestSkippedStepAtRateZero: an overflowed step at a learning rate of 0 (a
// cosine or linear schedule's end) keeps the weights too, where the second
// moment is 0 (a first step): the skip does not divide by the rate.
func TestSkippedStepAtRateZero(t *testing.T) {
	torch.LockThread()
	sc := torch.NewScope()
	defer sc.Close()
	p := torch.FromFloat32([]float32{0.5, -1, 2}, 3).SetRequiresGrad(true).Persist()
	o := torch.NewAdam([]*torch.Tensor{p}, 0, 0.5, 0.999)
	p.Mul(torch.FromFloat32([]float32{1, float32(math.Inf(1)), 1}, 3)).Sum().Backward()
	o.StepUnlessInf(torch.Full(1, torch.Float32, torch.CPUDevice, 1))
	if got := p.Float32s(); !equal(got, []float32{0.5, -1, 2}) || o.Steps() != 0 {
		t.Errorf("an overflowed first step at lr 0: weights %v (were [0.5 -1 2]), count %d", got, o.Steps())
	}
}
