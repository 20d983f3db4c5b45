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
// every sample transformed once, kept as uint8, each batch gathered, converted
// and normalised there, so that a step costs the host nothing but its
// samples' indices (and, for a transform that crops or flips at random, each
// sample's crop position and flip, drawn as the host loader draws them).
type residentData struct {
	dev     torch.Device
	tensors []residentTensor
	// With random crops or flips (data.U8Set.Placed): the samples are resized
	// only, and each batch is cut and flipped as ds.Placement says.
	placed       bool
	ds           *data.Dataset
	seed         uint64
	cropW, cropH int64
}

type residentTensor struct {
	name string
	all  *torch.Tensor // [samples, C, H, W] uint8 on the device
	raw  bool          // class ids or boundaries: the values themselves, not normalised
}

// loadResident transforms ds once (Dataset.ExportU8: samples of one size;
// random crops and flips left to each batch) and puts it on dev. seed is the
// loader's.
func loadResident(ctx context.Context, ds *data.Dataset, seed uint64, dev torch.Device) (*residentData, error) {
	set, err := ds.ExportU8(ctx)
	if err != nil {
		return nil, fmt.Errorf("data.on_device: %w", err)
	}
	r := &residentData{dev: dev, placed: set.Placed, ds: ds, seed: seed, cropW: int64(set.CropW), cropH: int64(set.CropH)}
	bytes := 0
	err = torch.Try(func() {
		add := func(name string, b []uint8, shape [4]int, raw bool) {
			if b == nil {
				return
			}
			t := torch.FromBytes(b, torch.Uint8, dev, int64(shape[0]), int64(shape[1]), int64(shape[2]), int64(shape[3])).Persist()
			r.tensors = append(r.tensors, residentTensor{name: name, all: t, raw: raw})
			bytes += len(b)
		}
		add("A", set.A, set.ShapeA, set.LabelMap)
		add("B", set.B, set.ShapeB, false)
		add(data.InstTensor, set.Inst, set.ShapeInst, true)
	})
	if err != nil {
		r.free()
		return nil, fmt.Errorf("data.on_device: the dataset (%d MB) to %s: %w", bytes>>20, dev, err)
	}
	slog.Info("data.on_device: the dataset is on the device", "samples", set.ShapeA[0], "MB", bytes>>20, "device", dev)
	return r, nil
}

// batch gathers the samples idx of epoch as the loader's float32 batch
// would hold them: cropped and flipped as the loader's draws say, normalised
// as torchvision's ToTensor and Normalize(0.5, 0.5) compute it in float32,
// raw tensors as their values. The tensors are the caller's.
func (r *residentData) batch(idx []int, epoch int) (gan.Batch, []*torch.Tensor) {
	sc := torch.NewScope()
	defer sc.Close()
	pick := r.picker(idx, epoch)
	b := gan.Batch{}
	var owned []*torch.Tensor
	for _, t := range r.tensors {
		x := pick(t.all).ToDType(torch.Float32)
		if !t.raw {
			x = x.DivScalar(255).SubScalar(0.5).DivScalar(0.5)
		}
		b[t.name] = x.Persist()
		owned = append(owned, b[t.name])
	}
	return b, owned
}

// picker takes the uint8 samples idx out of a resident tensor: the index
// tensor, or with placed each sample's crop and flip, made once for all the
// batch's tensors (a pair's A and B share them, as the loader's do).
func (r *residentData) picker(idx []int, epoch int) func(all *torch.Tensor) *torch.Tensor {
	if !r.placed {
		ix := make([]int64, len(idx))
		for i, v := range idx {
			ix[i] = int64(v)
		}
		at := torch.FromInt64(ix, int64(len(ix))).To(r.dev)
		return func(all *torch.Tensor) *torch.Tensor { return all.IndexSelect(0, at) }
	}
	type cut struct {
		x, y int64
		flip bool
	}
	sh := r.tensors[0].all.Shape() // [samples, C, H, W], resized only; the same H and W for all
	cuts := make([]cut, len(idx))
	for k, i := range idx {
		x, y, flip := r.ds.Placement(i, r.seed, uint64(epoch), int(sh[3]), int(sh[2]))
		cuts[k] = cut{int64(x), int64(y), flip}
	}
	return func(all *torch.Tensor) *torch.Tensor {
		parts := make([]*torch.Tensor, len(idx))
		for k, i := range idx {
			p := all.Narrow(0, int64(i), 1).Narrow(2, cuts[k].y, r.cropH).Narrow(3, cuts[k].x, r.cropW)
			if cuts[k].flip {
				p = p.Flip(3)
			}
			parts[k] = p
		}
		return torch.Cat(parts, 0)
	}
}

func (r *residentData) free() {
	if r == nil {
		return
	}
	for _, t := range r.tensors {
		t.all.Free()
	}
	r.tensors = nil
}
