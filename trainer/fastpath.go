package trainer

import (
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"

	torch "gogan/cgo"
	"gogan/gan"
)

// stepGraph is a training step captured as a CUDA graph (cuda.cuda_graph):
// each step's inputs are copied into the graph's own named tensors and one
// replay runs the whole step; losses is what the replay writes.
type stepGraph struct {
	graph  *torch.Graph
	inputs gan.Batch
	losses *torch.Tensor
	adams  []*torch.Adam // the optimizers the replays step
}

// steps says whether the graph steps the recipe's optimizers: a recipe that
// replaced one (pix2pixHD's update_fixed_params after niter_fix_global
// epochs, a new Adam over more parameters) needs its step captured anew.
func (g *stepGraph) steps(opts []gan.Optimizer) bool {
	if len(opts) != len(g.adams) {
		return false
	}
	for i, o := range opts {
		if o.Adam != g.adams[i] {
			return false
		}
	}
	return true
}

func (g *stepGraph) free() {
	g.graph.Free()
	for _, t := range g.inputs {
		t.Free()
	}
	g.losses.Free()
}

// graphWarmup is how many eager steps run on the side stream before the
// capture (cuDNN's algorithm choices, autograd's first-use set-up); their
// updates are undone.
const graphWarmup = 3

// runStep runs one training step on a device batch and returns the losses.
func (s *session) runStep(b gan.Batch) map[string]float64 {
	return s.readLosses(s.launchStep(b))
}

// launchStep queues one training step on a device batch, eagerly or as a
// replay of the captured graph, and returns the losses on the device.
func (s *session) launchStep(b gan.Batch) *torch.Tensor {
	if s.cfg.CUDA.ChannelsLast {
		nb := gan.Batch{}
		for name, t := range b {
			if t.Dim() == 4 { // not the class labels, [N]
				t = t.ChannelsLast()
			}
			nb[name] = t
		}
		b = nb
	}
	if g := s.graph; g != nil && !g.steps(s.rec.Optimizers()) {
		s.dropGraph()
	}
	// A batch the graph was not captured for (an epoch's last, smaller,
	// without data.drop_last) runs eagerly, on the same tensors; after a
	// larger one the step is captured anew, since the recipe's per-step
	// tensors (DCGAN's noise, CycleGAN's picks) grew for it.
	eager, larger := !s.cfg.CUDA.CUDAGraph, false
	if g := s.graph; g != nil && !g.takes(b) {
		eager, larger = true, batchSize(b) > batchSize(g.inputs)
		if !s.eagerNoted {
			slog.Info("cuda.cuda_graph: a batch of another shape than the captured step's runs eagerly", "shape", batchShape(b), "captured", batchShape(g.inputs))
			s.eagerNoted = true
		}
	}
	if d, ok := s.rec.(gan.StepDrawer); ok {
		d.DrawStep(batchSize(b))
	}
	if eager {
		out := stackLosses(s.rec.Step(b))
		if larger {
			s.dropGraph()
		}
		return out
	}
	if s.graph == nil {
		s.captureStep(b)
	}
	g := s.graph
	torch.NoGrad(func() {
		for name, t := range b {
			g.inputs[name].CopyFrom(t)
		}
	})
	g.graph.Replay()
	return g.losses
}

// dropGraph frees the captured step, once the device has finished its
// last replay (the graph's memory goes with it); the next step captures
// anew.
func (s *session) dropGraph() {
	if err := torch.CUDASynchronize(s.dev.Index); err != nil {
		panic(err)
	}
	s.graph.free()
	s.graph = nil
}

// takes says whether b has the shapes the graph was captured with.
func (g *stepGraph) takes(b gan.Batch) bool {
	if len(b) != len(g.inputs) {
		return false
	}
	for name, t := range b {
		if gt, ok := g.inputs[name]; !ok || !sameShape(gt, t) {
			return false
		}
	}
	return true
}

// batchShape describes a batch's tensors for a message.
func batchShape(b gan.Batch) string {
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(b)) {
		parts = append(parts, fmt.Sprintf("%s %v", name, b[name].Shape()))
	}
	return strings.Join(parts, ", ")
}

// batchSize is the number of samples in a batch (every tensor has it first).
func batchSize(b gan.Batch) int64 {
	for _, t := range b {
		return t.Shape()[0]
	}
	return 0
}

// readLosses copies the step's losses to the host (waiting for the step).
func (s *session) readLosses(out *torch.Tensor) map[string]float64 { return s.lossMap(out.Float32s()) }

// lossMap names a step's loss values (the recipe's LossNames order; values
// past them are ignored).
func (s *session) lossMap(vals []float32) map[string]float64 {
	names := s.rec.LossNames()
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

// captureStep captures the recipe's step on batches shaped like b.
// The warm-up steps before the capture change the weights, the optimizers'
// moments, the recipe's fixed tensors (CycleGAN's pools) and the random
// state; all of it is put back, so the first replay is the run's next step,
// exactly as an eager step would be.
func (s *session) captureStep(b gan.Batch) {
	// Capturable optimizers count their steps on the device, replays too.
	g := &stepGraph{graph: torch.NewGraph(s.dev), inputs: gan.Batch{}}
	for _, o := range s.rec.Optimizers() {
		o.Adam.MakeCapturable()
		g.adams = append(g.adams, o.Adam)
	}
	for name, t := range b {
		g.inputs[name] = t.Clone().Persist()
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
		s.warmUp(g.inputs)
		sc := torch.NewScope()
		defer sc.Close()
		g.graph.Capture(func() { g.losses = stackLosses(s.rec.Step(g.inputs)).Persist() })
	})
	ok = true
	s.graph = g
}

// warmUp runs the steps a capture runs first (cuDNN's choices, autograd's
// set-up) on b, undone.
func (s *session) warmUp(b gan.Batch) {
	s.undone(func() {
		for range graphWarmup {
			sc := torch.NewScope()
			s.rec.Step(b)
			sc.Close()
		}
	})
}

// undone runs training steps (f) and puts back everything a step changes:
// every tensor a checkpoint holds (the weights, the optimizers' moments,
// the recipe's fixed tensors), the grad scaler's state, the optimizers'
// step counts and the random generators. The host state a step's draws
// change is drawn before the step (DrawStep), so that it stays as the next
// step needs it.
func (s *session) undone(f func()) {
	state := s.prec.State()
	for _, w := range s.weights() {
		state = append(state, w.Tensor)
	}
	var steps []int64
	for _, o := range s.rec.Optimizers() {
		steps = append(steps, o.Adam.Steps())
	}
	snap := gan.TakeSnapshot(s.dev, state)
	defer snap.Free()
	f()
	snap.Restore()
	for i, o := range s.rec.Optimizers() {
		o.Adam.SetSteps(steps[i])
	}
}
