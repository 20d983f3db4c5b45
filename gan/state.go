package gan

import (
	"fmt"
	"strings"

	torch "gogan/cgo"
	"gogan/config"
	"gogan/nets"
)

// Checkpoint weights name each network's state dict "<role>.<key>" (G.,
// D., CycleGAN's G_A. ...), beside the optimizers' and recipes' tensors.

// Weights is n's state dict as a checkpoint names it.
func (n Net) Weights() []torch.Named {
	var ws []torch.Named
	for _, nt := range n.Net.StateDict() {
		ws = append(ws, torch.Named{Name: n.Role + "." + nt.Name, Tensor: nt.Tensor})
	}
	return ws
}

// RoleStateDict is network role's state dict among a checkpoint's weights:
// its "<role>." tensors, with the prefix cut (the tensors are ws's).
func RoleStateDict(ws []torch.Named, role string) []torch.Named {
	var sd []torch.Named
	for _, nt := range ws {
		if k, ok := strings.CutPrefix(nt.Name, role+"."); ok {
			sd = append(sd, torch.Named{Name: k, Tensor: nt.Tensor})
		}
	}
	return sd
}

// NetFromWeights builds c's network of the given role on dev and loads it
// strictly from ws, a checkpoint's tensors (its "role." keys).
func NetFromWeights(c *config.Config, ws []torch.Named, role string, dev torch.Device) (*nets.Net, error) {
	spec, err := NetSpecOf(c, role)
	if err != nil {
		return nil, err
	}
	n, err := spec.Build(spec.Options, dev)
	if err != nil {
		return nil, fmt.Errorf("network %s: %w", role, err)
	}
	if err := n.LoadStateDict(RoleStateDict(ws, role)); err != nil {
		n.Free()
		return nil, fmt.Errorf("network %s: %w", role, err)
	}
	return n, nil
}

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
