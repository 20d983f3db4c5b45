package gan

import (
	torch "gogan/cgo"
	"gogan/nets"
)

// WithFrozenState runs f (a sampling forward pass) and then restores the
// networks' buffers (BatchNorm running statistics) and the random state of
// dev, so that drawing samples never changes the training run: a resumed run
// and an uninterrupted one stay identical whenever they sample.
func WithFrozenState(dev torch.Device, ns []*nets.Net, f func()) {
	var buffers []*torch.Tensor
	for _, n := range ns {
		for _, nt := range n.StateDict() {
			if !n.IsParameter(nt.Name) { // a forward pass changes only buffers
				buffers = append(buffers, nt.Tensor)
			}
		}
	}
	snap := TakeSnapshot(dev, buffers)
	defer func() {
		snap.Restore()
		snap.Free()
	}()
	f()
}

// Snapshot is a copy of some tensors and of the random generators (the
// CPU's and dev's), to put back later.
type Snapshot struct {
	dev            torch.Device
	live, saved    []*torch.Tensor
	cpuRNG, devRNG *torch.Tensor
}

// TakeSnapshot copies ts and the random state of the CPU and dev.
func TakeSnapshot(dev torch.Device, ts []*torch.Tensor) *Snapshot {
	snap := &Snapshot{dev: dev, live: ts}
	for _, t := range ts {
		snap.saved = append(snap.saved, t.Detach().Clone().Persist())
	}
	snap.cpuRNG = torch.RNGState(torch.CPUDevice).Persist()
	if dev.IsCUDA() {
		snap.devRNG = torch.RNGState(dev).Persist()
	}
	return snap
}

// Restore copies the saved values back and resets the generators.
func (snap *Snapshot) Restore() {
	torch.NoGrad(func() {
		for i, t := range snap.live {
			t.CopyFrom(snap.saved[i])
		}
	})
	torch.SetRNGState(torch.CPUDevice, snap.cpuRNG)
	if snap.devRNG != nil {
		torch.SetRNGState(snap.dev, snap.devRNG)
	}
}

func (snap *Snapshot) Free() {
	for _, t := range snap.saved {
		t.Free()
	}
	snap.cpuRNG.Free()
	snap.devRNG.Free()
}
