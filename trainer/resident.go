package trainer

import (
	"context"
	"fmt"
	"log/slog"

	torch "gogan/cgo"
	"gogan/data"
	"gogan/gan"
)

// residentData is the dataset held on the training device (data.on_device):
// every image transformed once (resized only, when the transform crops or
// flips at random), kept as uint8, each batch gathered, cut, converted and
// normalised there, so that a step costs the host nothing but its samples'
// places (data.Dataset.Locate: rows, crops and flips, drawn as the host
// loader draws them).
type residentData struct {
	dev     torch.Device
	set     *data.U8Set // its shapes and streams; the pixels are on the device
	tensors []*torch.Tensor
	// sideMasks are data.SideMask's for each crop size of a Sides tensor.
	sideMasks map[[2]int]*torch.Tensor
	ds        *data.Dataset
	seed      uint64
}

// loadResident transforms ds once (Dataset.ExportU8: images of one size) and
// puts it on dev. seed is the loader's.
func loadResident(ctx context.Context, ds *data.Dataset, seed uint64, dev torch.Device) (*residentData, error) {
	set, err := ds.ExportU8(ctx)
	if err != nil {
		return nil, fmt.Errorf("data.on_device: %w", err)
	}
	r := &residentData{dev: dev, set: set, ds: ds, seed: seed, sideMasks: map[[2]int]*torch.Tensor{}}
	bytes := 0
	err = torch.Try(func() {
		for k := range set.Tensors {
			t := &set.Tensors[k]
			sh := t.Shape
			r.tensors = append(r.tensors, torch.FromBytes(t.Pix, torch.Uint8, dev, int64(sh[0]), int64(sh[1]), int64(sh[2]), int64(sh[3])).Persist())
			bytes += len(t.Pix)
			t.Pix = nil // on the device now
		}
	})
	if err != nil {
		r.free()
		return nil, fmt.Errorf("data.on_device: the dataset (%d MB) to %s: %w", bytes>>20, dev, err)
	}
	slog.Info("data.on_device: the dataset is on the device", "samples", ds.Len(), "MB", bytes>>20, "device", dev)
	return r, nil
}

// batch gathers the samples idx of epoch as the loader's float32 batch
// would hold them: cut and mirrored where Locate says, normalised as
// torchvision's ToTensor and Normalize(0.5, 0.5) compute it in float32, raw
// tensors as their values. The tensors are the caller's.
func (r *residentData) batch(idx []int, epoch int) (gan.Batch, []*torch.Tensor) {
	places := make([][]data.Place, len(idx))
	for k, i := range idx {
		p, err := r.ds.Locate(r.set, i, r.seed, uint64(epoch))
		if err != nil {
			panic(&torch.Error{Op: "data.on_device", Msg: err.Error()})
		}
		places[k] = p
	}
	sc := torch.NewScope()
	defer sc.Close()
	b := gan.Batch{}
	var owned []*torch.Tensor
	for j, all := range r.tensors {
		t := r.set.Tensors[j]
		at := make([]data.Place, len(idx))
		for k := range idx {
			at[k] = places[k][j]
		}
		x := r.gather(all, t, at).ToDType(torch.Float32)
		if !t.Raw {
			x = x.DivScalar(255).SubScalar(0.5).DivScalar(0.5)
		}
		b[t.Name] = x.Persist()
		owned = append(owned, b[t.Name])
	}
	return b, owned
}

// gather takes one batch tensor's images out of all: by index when the set
// is not Placed, else each sample's region, a Sides tensor reduced to its
// boundary map, mirrored where the place says.
func (r *residentData) gather(all *torch.Tensor, t data.U8Tensor, at []data.Place) *torch.Tensor {
	if !r.set.Placed {
		rows := make([]int64, len(at))
		for k, p := range at {
			rows[k] = int64(p.Row)
		}
		return all.IndexSelect(0, torch.FromInt64(rows, int64(len(rows))).To(r.dev))
	}
	parts := make([]*torch.Tensor, len(at))
	for k, p := range at {
		x := all.Narrow(0, int64(p.Row), 1).Narrow(2, int64(p.Y), int64(p.H)).Narrow(3, int64(p.X), int64(p.W))
		if t.Sides {
			x = r.boundaries(x, p.W, p.H)
		}
		if p.Flip {
			x = x.Flip(3)
		}
		parts[k] = x
	}
	return torch.Cat(parts, 0)
}

// boundaries is the boundary map of a crop of a Sides tensor ([1, 4, h, w]):
// each plane masked where its neighbour lies outside the crop, then their
// maximum, [1, 1, h, w].
func (r *residentData) boundaries(sides *torch.Tensor, w, h int) *torch.Tensor {
	mask, ok := r.sideMasks[[2]int{w, h}]
	if !ok {
		mask = torch.FromBytes(data.SideMask(w, h), torch.Uint8, r.dev, 1, 4, int64(h), int64(w)).Persist()
		r.sideMasks[[2]int{w, h}] = mask
	}
	m := sides.Mul(mask)
	plane := func(c int64) *torch.Tensor { return m.Narrow(1, c, 1) }
	return plane(0).Maximum(plane(1)).Maximum(plane(2).Maximum(plane(3)))
}

func (r *residentData) free() {
	if r == nil {
		return
	}
	for _, t := range r.tensors {
		t.Free()
	}
	for _, m := range r.sideMasks {
		m.Free()
	}
	r.tensors, r.sideMasks = nil, nil
}
