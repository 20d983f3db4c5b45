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
// loader draws them, with the batch's seed: a resumed run's is the
// checkpoint's).
type residentData struct {
	dev     torch.Device
	set     *data.U8Set // its shapes and streams; the pixels are on the device
	tensors []*torch.Tensor
	// grids are the crops' constant offsets, by tensor and crop shape.
	grids map[gridKey]cropGrid
	// sideTable says which pairs of side bits and allowed bits share one.
	sideTable *torch.Tensor
	ds        *data.Dataset
}

// loadResident transforms ds once (Dataset.ExportU8: images of one size) and
// puts it on dev.
func loadResident(ctx context.Context, ds *data.Dataset, dev torch.Device) (*residentData, error) {
	set, err := ds.ExportU8(ctx)
	if err != nil {
		return nil, fmt.Errorf("data.on_device: %w", err)
	}
	r := &residentData{dev: dev, set: set, ds: ds, grids: map[gridKey]cropGrid{}}
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

// batch gathers the samples idx, made with the draws dr, as the loader's
// float32 batch would hold them: cut and mirrored where LocateWith says,
// normalised as torchvision's ToTensor and Normalize(0.5, 0.5) compute it in
// float32, raw tensors as their values. The tensors are the caller's.
func (r *residentData) batch(idx []int, dr []data.Draws) (gan.Batch, []*torch.Tensor) {
	places := make([][]data.Place, len(idx))
	for k, i := range idx {
		p, err := r.ds.LocateWith(r.set, i, dr[k])
		if err != nil {
			panic(&torch.Error{Op: "data.on_device", Msg: err.Error()})
		}
		places[k] = p
	}
	sc := torch.NewScope()
	defer sc.Close()
	b := gan.Batch{}
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
		b[t.Name] = x
	}
	// Kept only once all are built: a failure on the way frees them all
	// with the scope.
	var owned []*torch.Tensor
	for _, x := range b {
		owned = append(owned, x.Persist())
	}
	return b, owned
}

// gather takes one batch tensor's images out of all: by row when the set is
// not Placed, else each sample's region, mirrored where its place says, in
// one index_select of the flat tensor whose index is a few broadcast ops on
// the device (the same handful of kernels for any batch size, not a few per
// sample), a Sides tensor reduced to its boundary map.
func (r *residentData) gather(all *torch.Tensor, t data.U8Tensor, at []data.Place) *torch.Tensor {
	if !r.set.Placed {
		rows := make([]int64, len(at))
		for k, p := range at {
			rows[k] = int64(p.Row)
		}
		return all.IndexSelect(0, r.upload(rows, int64(len(rows))))
	}
	// Element (b, c, i, j) of the batch is all's flat element
	// start[b] + c*H*W + i*W + dir[b]*j: start is the crop's top-left
	// corner, or its top-right one for a mirrored crop (dir -1).
	n, c, h, w := int64(len(at)), int64(t.Shape[1]), int64(t.Shape[2]), int64(t.Shape[3])
	cw, ch := int64(at[0].W), int64(at[0].H)
	startDir := make([]int64, 2*n)
	flips := make([]int64, n)
	for k, p := range at {
		k := int64(k)
		if int64(p.W) != cw || int64(p.H) != ch {
			panic(&torch.Error{Op: "data.on_device", Msg: fmt.Sprintf("%s: crops of one batch differ in size (%dx%d, %dx%d)", t.Name, cw, ch, p.W, p.H)})
		}
		startDir[k], startDir[n+k] = int64(p.Row)*c*h*w+int64(p.Y)*w+int64(p.X), 1
		if p.Flip {
			startDir[k], startDir[n+k], flips[k] = startDir[k]+cw-1, -1, 1
		}
	}
	sd := r.upload(startDir, 2*n)
	g := r.grid(c, ch, cw, h, w, t.Sides)
	start, dir := sd.Narrow(0, 0, n).View(n, 1, 1, 1), sd.Narrow(0, n, n).View(n, 1, 1, 1)
	idx := start.Add(g.planesRows).Add(dir.Mul(g.cols))
	x := all.View(-1).IndexSelect(0, idx.View(-1)).View(n, c, ch, cw)
	if t.Sides {
		return r.sideBoundaries(x, g.sideMasks.IndexSelect(0, r.upload(flips, n)))
	}
	return x
}

// cropGrid is a crop size's constant offsets in a flat [.., C, H, W]
// tensor: planesRows (c*H*W + i*W, [1, C, ch, 1]) and cols (j, [1, 1, 1,
// cw]), on the device; and, for a Sides tensor's crops, data.SideMask and
// its mirror image ([2, 1, ch, cw], int64, times 16), for unmirrored and
// mirrored crops.
type gridKey struct {
	c, ch, cw, h, w int64
	sides           bool
}

type cropGrid struct {
	planesRows, cols, sideMasks *torch.Tensor
}

func (r *residentData) grid(c, ch, cw, h, w int64, sides bool) cropGrid {
	key := gridKey{c, ch, cw, h, w, sides}
	if g, ok := r.grids[key]; ok {
		return g
	}
	pr := make([]int64, c*ch)
	for p := range c {
		for i := range ch {
			pr[p*ch+i] = p*h*w + i*w
		}
	}
	cols := make([]int64, cw)
	for j := range cw {
		cols[j] = j
	}
	g := cropGrid{planesRows: r.upload(pr, 1, c, ch, 1).Persist(), cols: r.upload(cols, 1, 1, 1, cw).Persist()}
	if sides {
		mask := data.SideMask(int(cw), int(ch))
		m16 := make([]int64, len(mask))
		for i, v := range mask {
			m16[i] = 16 * int64(v)
		}
		m := r.upload(m16, 1, 1, ch, cw)
		g.sideMasks = torch.Cat([]*torch.Tensor{m, m.Flip(3)}, 0).Persist()
	}
	r.grids[key] = g
	return g
}

// upload is int64 values on the device, in the given shape, queued without
// a host wait (each batch's indices and draws: the step's stream orders them).
func (r *residentData) upload(v []int64, shape ...int64) *torch.Tensor {
	return torch.FromInt64(v, shape...).Upload(r.dev)
}

// sideBoundaries is the boundary map of crops of a Sides tensor (sides,
// [B, 1, h, w] uint8 of data.InstanceSides' bits) under their masks (16
// times data.SideMask's allowed bits, int64): 1 where a bit both hold is
// set, looked up in a table of the 16x16 pairs (libtorch 1.13's binding has
// no bitwise and).
func (r *residentData) sideBoundaries(sides, masks16 *torch.Tensor) *torch.Tensor {
	if r.sideTable == nil {
		t := make([]uint8, 256)
		for i := range t {
			if uint8(i>>4)&uint8(i&15) != 0 {
				t[i] = 1
			}
		}
		r.sideTable = torch.FromBytes(t, torch.Uint8, r.dev, 256).Persist()
	}
	idx := sides.ToDType(torch.Int64).Add(masks16)
	return r.sideTable.IndexSelect(0, idx.View(-1)).View(sides.Shape()...)
}

func (r *residentData) free() {
	if r == nil {
		return
	}
	for _, t := range r.tensors {
		t.Free()
	}
	for _, g := range r.grids {
		g.planesRows.Free()
		g.cols.Free()
		if g.sideMasks != nil {
			g.sideMasks.Free()
		}
	}
	r.sideTable.Free()
	r.tensors, r.grids, r.sideTable = nil, nil, nil
}
