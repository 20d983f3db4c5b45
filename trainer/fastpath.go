package trainer

import (
	"fmt"
	"slices"

	torch "gogan/cgo"
)

// precision is a step's mixed precision (cuda.amp): the networks' forward
// passes run under autocast and hand float32 outputs to the losses, which
// stay in float32 (BCE is unsafe to autocast); fp16 adds a gradient scaler.
type precision struct {
	dev    torch.Device
	on     bool
	dtype  torch.DType
	scaler *gradScaler // fp16 only
}

func newPrecision(cfg *Config, dev torch.Device) *precision {
	p := &precision{dev: dev}
	switch cfg.CUDA.AMP {
	case "bf16":
		p.on, p.dtype = true, torch.BFloat16
	case "fp16":
		p.on, p.dtype = true, torch.Float16
		p.scaler = newGradScaler()
	}
	return p
}

// run runs f under autocast when mixed precision is on.
func (p *precision) run(f func()) {
	if !p.on {
		f()
		return
	}
	torch.Autocast(p.dev, p.dtype, f)
}

// float is t in float32 (a network output handed to a loss).
func (p *precision) float(t *torch.Tensor) *torch.Tensor {
	if !p.on || t.DType() == torch.Float32 {
		return t
	}
	return t.ToDType(torch.Float32)
}

// forward runs a network's forward pass f under autocast and returns its
// output in float32.
func (p *precision) forward(f func() *torch.Tensor) *torch.Tensor {
	var y *torch.Tensor
	p.run(func() { y = f() })
	return p.float(y)
}

// backward is loss.Backward(), of the scaled loss under fp16.
func (p *precision) backward(loss *torch.Tensor) {
	if p.scaler == nil {
		loss.Backward()
		return
	}
	loss.MulScalar(p.scaler.Scale).Backward()
}

// step is opt.Step(), or under fp16 GradScaler.step: the gradients are
// unscaled first and the update is skipped when any of them overflowed.
func (p *precision) step(opt *torch.Adam) {
	if p.scaler == nil {
		opt.Step()
		return
	}
	if torch.UnscaleGrads(opt.Params, 1/p.scaler.Scale) {
		p.scaler.foundInf = true
		return
	}
	opt.Step()
}

// update ends a step: GradScaler.update, once after all optimizers stepped.
func (p *precision) update() {
	if p.scaler != nil {
		p.scaler.update()
	}
}

// gradScaler is torch.cuda.amp.GradScaler's dynamic loss scale with its
// defaults: start at 2^16, halve on an overflow (that step is skipped), double
// after 2000 steps in a row without one.
type gradScaler struct {
	Scale         float64 `json:"scale"`
	GrowthTracker int     `json:"growth_tracker"`
	foundInf      bool
}

const (
	scalerInit     = 65536.0
	scalerGrowth   = 2.0
	scalerBackoff  = 0.5
	scalerInterval = 2000
)

func newGradScaler() *gradScaler { return &gradScaler{Scale: scalerInit} }

func (s *gradScaler) update() {
	if s.foundInf {
		s.Scale *= scalerBackoff
		s.GrowthTracker = 0
	} else if s.GrowthTracker++; s.GrowthTracker == scalerInterval {
		s.Scale *= scalerGrowth
		s.GrowthTracker = 0
	}
	s.foundInf = false
}

// stepGraph is a training step captured as a CUDA graph (cuda.cuda_graph):
// the inputs are copied into a, b (and the recipe's drawn inputs) and one
// replay runs the D and G updates; losses is what the replay writes.
type stepGraph struct {
	graph  *torch.Graph
	a, b   *torch.Tensor
	losses *torch.Tensor
}

func (g *stepGraph) free() {
	g.graph.Free()
	g.a.Free()
	g.b.Free()
	g.losses.Free()
}

// graphWarmup is how many eager steps run on the side stream before the
// capture (cuDNN's algorithm choices, autograd's first-use set-up); their
// updates are undone.
const graphWarmup = 3

// runStep runs one training step on a device batch and returns the losses.
func (s *session) runStep(a, b *torch.Tensor) map[string]float64 {
	return s.readLosses(s.launchStep(a, b))
}

// launchStep queues one training step on a device batch, eagerly or as a
// replay of the captured graph, and returns the losses on the device.
func (s *session) launchStep(a, b *torch.Tensor) *torch.Tensor {
	if s.cfg.CUDA.ChannelsLast {
		a = a.ChannelsLast()
		if b != nil {
			b = b.ChannelsLast()
		}
	}
	s.rec.draw(a.Shape()[0])
	var out *torch.Tensor
	if s.cfg.CUDA.CUDAGraph {
		if s.graph == nil {
			s.captureStep(a, b)
		}
		g := s.graph
		if !sameShape(g.a, a) || (b != nil && !sameShape(g.b, b)) {
			panic(&torch.Error{Op: "cuda_graph", Msg: fmt.Sprintf("batch of shape %v, the captured step has %v: cuda.cuda_graph needs every batch the same size (data.drop_last)", a.Shape(), g.a.Shape())})
		}
		torch.NoGrad(func() {
			g.a.CopyFrom(a)
			if b != nil {
				g.b.CopyFrom(b)
			}
		})
		g.graph.Replay()
		for _, o := range s.rec.optimizers() {
			o.opt.CountReplayedStep()
		}
		out = g.losses
	} else {
		out = stackLosses(s.rec.step(a, b))
	}
	return out
}

// readLosses copies the step's losses to the host (waiting for the step).
func (s *session) readLosses(out *torch.Tensor) map[string]float64 {
	vals := out.Float32s()
	names := s.rec.lossNames()
	losses := make(map[string]float64, len(names))
	for i, n := range names {
		losses[n] = float64(vals[i])
	}
	return losses
}

func sameShape(t, u *torch.Tensor) bool { return slices.Equal(t.Shape(), u.Shape()) }

// stackLosses puts the step's one-element losses into one tensor, so that a
// single copy to the host reads them all.
func stackLosses(ls []*torch.Tensor) *torch.Tensor {
	flat := make([]*torch.Tensor, len(ls))
	for i, l := range ls {
		flat[i] = l.Reshape(1)
	}
	return torch.Cat(flat, 0)
}

// captureStep captures the recipe's step on batches shaped like a and b.
// The warm-up steps before the capture change the weights, the optimizers'
// moments and the random state; all of it is put back, so the first replay
// is the run's next step, exactly as an eager step would be.
func (s *session) captureStep(a, b *torch.Tensor) {
	// Everything a training step changes.
	var state []*torch.Tensor
	for _, n := range s.rec.nets() {
		for _, nt := range n.net.StateDict() {
			state = append(state, nt.Tensor)
		}
	}
	var steps []int64
	for _, o := range s.rec.optimizers() {
		o.opt.MakeCapturable()
		state = append(append(state, o.opt.ExpAvg...), o.opt.ExpAvgSq...)
		steps = append(steps, o.opt.StepCount)
	}
	snap := takeSnapshot(s.dev, state)
	defer snap.free()
	g := &stepGraph{graph: torch.NewGraph(s.dev), a: a.Clone().Persist()}
	if b != nil {
		g.b = b.Clone().Persist()
	}
	ok := false
	defer func() {
		if !ok {
			g.free()
		}
	}()
	// Cast weights cached by autocast would outlive the capture's pool.
	prevCache := torch.SetAutocastCache(false)
	defer torch.SetAutocastCache(prevCache)
	g.graph.OnSideStream(func() {
		for i := 0; i < graphWarmup; i++ {
			sc := torch.NewScope()
			s.rec.step(g.a, g.b)
			sc.Close()
		}
		snap.restore()
		for i, o := range s.rec.optimizers() {
			o.opt.StepCount = steps[i]
			o.opt.SyncDevice()
		}
		sc := torch.NewScope()
		defer sc.Close()
		g.graph.Capture(func() { g.losses = stackLosses(s.rec.step(g.a, g.b)).Persist() })
	})
	// Capturing ran Step once on the host side: the replays count their own.
	for i, o := range s.rec.optimizers() {
		o.opt.StepCount = steps[i]
	}
	ok = true
	s.graph = g
}
