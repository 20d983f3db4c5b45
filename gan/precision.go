package gan

import (
	"math"
	"time"

	torch "gogan/cgo"
)

// Precision is a step's mixed precision (cuda.amp). A step runs its block of
// forward passes in one Autocast region and hands the outputs to the losses
// in float32 (Float): the losses stay in float32 (BCE is unsafe to
// autocast), as do the backward passes. fp16 adds a gradient scaler.
type Precision struct {
	dev    torch.Device
	on     bool
	dtype  torch.DType
	Scaler *GradScaler // fp16 only
	// DataParallel: Step first averages the gradients over the ranks
	// (DistributedDataParallel's allreduce), so every rank takes the step
	// of the global batch.
	DataParallel bool
	// Overlap (with DataParallel) gives each optimizer a gradient reducer
	// after its first step, so that from the next step on the gradients
	// are sent while backward still runs, as DistributedDataParallel's.
	Overlap bool
	// BucketBytes is the gradient buckets' size (0: torch.BucketBytes).
	BucketBytes int64
	// ReduceTime is the time spent averaging gradients (host time: on CUDA
	// the collectives queue on NCCL's stream).
	ReduceTime time.Duration
}

// NewPrecision is the precision cuda.amp names: off, bf16 or fp16.
func NewPrecision(amp string, dev torch.Device) *Precision {
	p := &Precision{dev: dev}
	switch amp {
	case "bf16":
		p.on, p.dtype = true, torch.BFloat16
	case "fp16":
		p.on, p.dtype = true, torch.Float16
		p.Scaler = newGradScaler()
	}
	return p
}

// Autocast runs f, a block of forward passes, under autocast when mixed
// precision is on. Autocast's cache of cast weights stays off: with it, a
// network run twice in one region (D on the fake and the real pair) would
// share one cast of each weight and sum its two gradients in the lower
// precision; without it each pass casts its own and the gradients add up in
// float32, as when every forward pass had a region of its own.
func (p *Precision) Autocast(f func()) {
	if !p.on {
		f()
		return
	}
	prev := torch.SetAutocastCache(false)
	defer torch.SetAutocastCache(prev)
	torch.Autocast(p.dev, p.dtype, f)
}

// Float is t in float32 (a network output handed to a loss).
func (p *Precision) Float(t *torch.Tensor) *torch.Tensor {
	if !p.on || t.DType() == torch.Float32 {
		return t
	}
	return t.ToDType(torch.Float32)
}

// Backward is loss.Backward(), of the scaled loss under fp16.
func (p *Precision) Backward(loss *torch.Tensor) {
	if p.Scaler == nil {
		loss.Backward()
		return
	}
	loss.MulScalar(p.Scaler.Scale).Backward()
}

// Step is opt.Step(), or under fp16 GradScaler.step: the gradients are
// unscaled first and the update is skipped when any of them overflowed.
func (p *Precision) Step(opt *torch.Adam) {
	if p.DataParallel {
		// Before unscaling: an overflow on one rank reaches every rank's
		// sum, so all of them skip the step together.
		start := time.Now()
		if opt.Reducer != nil {
			opt.Reducer.Finish()
		} else {
			torch.AllReduceGrads(opt.Params, p.BucketBytes)
			if p.Overlap {
				opt.Reducer = torch.NewGradReducer(opt.Params, p.BucketBytes)
			}
		}
		p.ReduceTime += time.Since(start)
	}
	if p.Scaler == nil {
		opt.Step()
		return
	}
	if torch.UnscaleGrads(opt.Params, 1/p.Scaler.Scale) {
		p.Scaler.foundInf = true
		return
	}
	opt.Step()
}

// Update ends a step: GradScaler.update, once after all optimizers stepped.
func (p *Precision) Update() {
	if p.Scaler != nil {
		p.Scaler.update()
	}
}

// GradScaler is torch.cuda.amp.GradScaler's dynamic loss scale with its
// defaults: start at 2^16, halve on an overflow (that step is skipped), double
// after 2000 steps in a row without one.
type GradScaler struct {
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

func newGradScaler() *GradScaler { return &GradScaler{Scale: scalerInit} }

func (s *GradScaler) update() {
	if s.foundInf {
		s.Scale *= scalerBackoff
		s.GrowthTracker = 0
	} else if s.GrowthTracker++; s.GrowthTracker == scalerInterval {
		// As _amp_update_scale_: the scale (a float32 there) grows only
		// while it stays finite.
		if grown := s.Scale * scalerGrowth; !math.IsInf(float64(float32(grown)), 0) {
			s.Scale = grown
		}
		s.GrowthTracker = 0
	}
	s.foundInf = false
}
