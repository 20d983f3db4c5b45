package data

import (
	"fmt"

	"gogan/mtrand"
)

// Draws are one sample's random choices: the B image an unaligned sample
// pairs (UnalignedDataset's index_B; -1 for other datasets) and the crop and
// flip of its A side and of an unaligned pair's B side (the sides of other
// samples share P[0]: the same crop and flip for a pair).
type Draws struct {
	B int
	P [2]Params
}

// ownDraws are sample i's draws from gogan's own stream of (seed, epoch, i):
// the same whichever worker builds it.
func (d *Dataset) ownDraws(i int, seed, epoch uint64) Draws {
	r := newRNG(seed, epoch, uint64(i))
	dr := Draws{B: -1}
	if d.cfg.Dataset == Unaligned {
		_, dr.B = d.unalignedPick(i, r) // the pick first, then the sides'
		dr.P[0] = drawParams(r)
		dr.P[1] = drawParams(r)
		return dr
	}
	dr.P[0] = drawParams(r)
	dr.P[1] = dr.P[0]
	return dr
}

// referenceDrawn says whether the references' draws would change this
// dataset's samples: a random crop or flip, or a random B. Datasets of
// single images are DCGAN's, whose reference draws nothing per sample
// (Resize and CenterCrop): a flip asked of them is gogan's own.
func (d *Dataset) referenceDrawn() bool {
	switch d.cfg.Dataset {
	case FashionMNIST, MNIST, CIFAR10, Folder, LSUN:
		return false
	}
	return d.tf.Random() || (d.cfg.Dataset == Unaligned && !d.cfg.SerialBatches)
}

// ReferenceDraws are the draws of an epoch's samples (order: the sample at
// each position of the epoch) as the references' torch DataLoader makes
// them with `workers` worker processes: batch k (of batch positions) is
// built by worker k mod workers, which torch seeds with baseSeed + its id
// (Python's random and torch's generator) as each epoch's workers start,
// and draws in its batches' order. Per sample, as the references'
// datasets draw:
//
//   - aligned, and the pairs without a reference (edges, gray2color):
//     get_params (pytorch-CycleGAN-and-pix2pix's and
//     pix2pixHD's alike): x and y with random.randint over the room the
//     crop has in the image as get_params sizes it, then random.random() >
//     0.5 for the flip, whatever the preprocess.
//   - unaligned: index_B = random.randint(0, |B|-1) unless serial_batches,
//     then for A and then B torchvision's RandomCrop (torch.randint for the
//     row, then the column, only when the resized image is not already
//     crop size) and RandomHorizontalFlip (torch.rand(1) < 0.5, unless
//     no_flip).
//   - colorization: RandomCrop and RandomHorizontalFlip as an unaligned
//     side.
//
// With 0 workers the references draw in their main process from Python's
// random as nobody seeded it; gogan draws those as worker 0 would.
// Nil when no draw changes a sample (ownDraws are as good).
func (d *Dataset) ReferenceDraws(order []int, batch, workers int, baseSeed int64) ([]Draws, error) {
	if !d.referenceDrawn() {
		return nil, nil
	}
	if batch <= 0 {
		return nil, fmt.Errorf("data: reference draws for batches of %d", batch)
	}
	_, nb := d.Streams()   // unaligned: the random B's range
	needA, needB := d.n, 0 // the sizes needed: the samples', or each stream's
	if d.kind == "unaligned" {
		needA, needB = d.Streams()
	}
	if d.idx == nil && (len(d.dims) < needA || len(d.dimsB) < needB) {
		return nil, fmt.Errorf("data: %s: the references' draws need the images' sizes, which opening did not read", d.root)
	}
	// Batch k is drawn by worker k mod workers: workers past the epoch's
	// batch count draw nothing (and data.reference_workers=1e9 would
	// allocate a billion generators' slots each epoch).
	workers = max(1, min(workers, (len(order)+batch-1)/batch))
	py := make([]*mtrand.Python, workers)
	tg := make([]*mtrand.Torch, workers)
	out := make([]Draws, len(order))
	for pos, i := range order {
		if i < 0 || i >= d.n {
			return nil, fmt.Errorf("data: sample %d out of range [0, %d)", i, d.n)
		}
		w := pos / batch % workers
		if py[w] == nil {
			py[w], tg[w] = mtrand.NewPython(baseSeed+int64(w)), mtrand.NewTorch(baseSeed+int64(w))
		}
		dr := Draws{B: -1}
		switch d.cfg.Dataset {
		case Unaligned:
			dr.B = i % nb
			if !d.cfg.SerialBatches {
				dr.B = py[w].Randint(0, nb-1)
			}
			dr.P[0] = d.torchTransformDraws(tg[w], d.streamDims(false, d.unalignedA(i)))
			dr.P[1] = d.torchTransformDraws(tg[w], d.streamDims(true, dr.B))
		case Colorization:
			dr.P[0] = d.torchTransformDraws(tg[w], d.streamDims(false, i))
			dr.P[1] = dr.P[0]
		default:
			dr.P[0] = d.getParams(py[w], d.streamDims(false, i))
			dr.P[1] = dr.P[0]
		}
		out[pos] = dr
	}
	return out, nil
}

// getParams is the references' get_params for an image (the A side) of
// size wh: the crop's corner drawn over the room it has in the image as
// resized by the preprocess (for scale_width_and_crop the height is
// load_size * h // w there), and the flip.
func (d *Dataset) getParams(r *mtrand.Python, wh [2]int) Params {
	w, h := wh[0], wh[1]
	switch d.tf.Mode {
	case ResizeAndCrop:
		w, h = d.tf.LoadSize, d.tf.LoadSize
	case ScaleWidthAndCrop:
		w, h = d.tf.LoadSize, d.tf.LoadSize*h/w
	}
	x := r.Randint(0, max(0, w-d.tf.CropSize))
	y := r.Randint(0, max(0, h-d.tf.CropSize))
	return Params{RX: uint64(x), RY: uint64(y), Flip: r.Random() > 0.5}
}

// torchTransformDraws are the draws of get_transform without params on an
// image of size wh: RandomCrop after the resize (row, then column; nothing
// when the image is already crop size), then RandomHorizontalFlip.
func (d *Dataset) torchTransformDraws(g *mtrand.Torch, wh [2]int) Params {
	var p Params
	if d.tf.randomCrop() {
		w, h := d.tf.resized(wh[0], wh[1])
		if c := d.tf.CropSize; w != c || h != c {
			p.RY = uint64(g.Randint(h - c + 1))
			p.RX = uint64(g.Randint(w - c + 1))
		}
	}
	if d.tf.Flip {
		p.Flip = g.Rand() < 0.5
	}
	return p
}

// streamDims is the size (w, h) of image k of the A stream (the sample's A
// side: an A|B image's left half) or of the unaligned B stream (an A|B
// image's right half).
func (d *Dataset) streamDims(bSide bool, k int) [2]int {
	switch {
	case d.idx != nil:
		return [2]int{d.idx.w, d.idx.h}
	case bSide && d.kind == "unaligned":
		return d.dimsB[k]
	}
	wh := d.dims[k]
	wh[0] = d.sideWidth(wh[0], bSide)
	return wh
}
