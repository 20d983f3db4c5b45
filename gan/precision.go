package gan

import (
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
		p.Scaler = NewGradScaler(dev)
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
	loss.Mul(p.Scaler.scale).Backward()
}

// Step is opt.Step(), or under fp16 GradScaler.step: the gradients are
// unscaled first and the update is skipped when any of them overflowed,
// decided on the device (the fused Adam's found_inf), so that no step
// waits for it and a CUDA graph can replay it.
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
	p.Scaler.step(opt)
}

// Update ends a step: GradScaler.update, once after all optimizers stepped.
func (p *Precision) Update() {
	if p.Scaler != nil {
		p.Scaler.update()
	}
}

// State is the tensors a step changes besides the networks and optimizers
// (the grad scaler's), for a warm-up that is undone.
func (p *Precision) State() []*torch.Tensor {
	if p.Scaler == nil {
		return nil
	}
	return []*torch.Tensor{p.Scaler.scale, p.Scaler.tracker}
}

// GradScaler is torch.cuda.amp.GradScaler's dynamic loss scale with its
// defaults: start at 2^16, halve on an overflow (that step is skipped), double
// after 2000 steps in a row without one. Its scale and count live on the
// device, as GradScaler's do.
type GradScaler struct {
	scale   *torch.Tensor // float32 [1]
	tracker *torch.Tensor // int32 [1]: clean steps in a row
	found   *torch.Tensor // float32 [1]: this step's overflows, over the optimizers
}

// ScalerState is a GradScaler's state as checkpoints keep it.
type ScalerState struct {
	Scale         float64 `json:"scale"`
	GrowthTracker int     `json:"growth_tracker"`
}

const (
	scalerInit     = 65536.0
	scalerGrowth   = 2.0
	scalerBackoff  = 0.5
	scalerInterval = 2000
)

// NewGradScaler is a scaler with GradScaler's defaults on dev.
func NewGradScaler(dev torch.Device) *GradScaler {
	return &GradScaler{scale: torch.Full(scalerInit, torch.Float32, dev, 1).Persist(),
		tracker: torch.Zeros(torch.Int32, dev, 1).Persist(), found: torch.Zeros(torch.Float32, dev, 1).Persist()}
}

// step unscales opt's gradients and steps it unless they overflowed.
func (s *GradScaler) step(opt *torch.Adam) {
	// As GradScaler: the inverse in double, then float32; a power of two
	// here, so the unscaled gradients are exact.
	dev := s.scale.Device()
	inv := torch.Ones(torch.Float64, dev, 1).Div(s.scale.ToDType(torch.Float64)).ToDType(torch.Float32)
	found := torch.Zeros(torch.Float32, dev, 1)
	torch.UnscaleGrads(opt.Params, inv, found)
	opt.StepUnlessInf(found)
	s.found.CopyFrom(s.found.Add(found))
}

func (s *GradScaler) update() {
	torch.UpdateScale(s.scale, s.tracker, s.found, scalerGrowth, scalerBackoff, scalerInterval)
	s.found.Fill(0)
}

// State reads the scaler's state from the device.
func (s *GradScaler) State() ScalerState {
	return ScalerState{Scale: s.scale.Item(), GrowthTracker: int(s.tracker.Item())}
}

// SetState puts a checkpoint's state back.
func (s *GradScaler) SetState(st ScalerState) {
	s.scale.Fill(st.Scale)
	s.tracker.Fill(float64(st.GrowthTracker))
}
