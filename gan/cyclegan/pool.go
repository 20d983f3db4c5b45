package cyclegan

import (
	"fmt"
	"math/rand/v2"

	torch "gogan/cgo"
	"gogan/mtrand"
)

// poolRand is what a pool draws: the reference's random.uniform(0, 1) and
// random.randint(0, n - 1).
type poolRand interface {
	Float64() float64
	IntN(n int) int
}

// pythonPoolRand draws them from Python's random.
type pythonPoolRand struct{ *mtrand.Python }

func (p pythonPoolRand) Float64() float64 { return p.Random() }
func (p pythonPoolRand) IntN(n int) int   { return p.Randint(0, n-1) }

// pcgPoolRand draws them from the PCG that checkpoints of gogan before
// pythonPoolRand hold, for their runs to go on as they drew.
type pcgPoolRand struct {
	pcg *rand.PCG
	*rand.Rand
}

func newPCGPoolRand(pcg *rand.PCG) pcgPoolRand { return pcgPoolRand{pcg, rand.New(pcg)} }

// imagePool is util/image_pool.py's ImagePool (Shrivastava et al. 2017): a
// buffer of earlier generated images that D sometimes sees instead of the
// newest ones, so that it does not chase the generators' latest move. Until
// it is full every image goes in and comes straight back; then each image
// comes back with probability 1/2, or else a random older one does and the
// new image takes its place.
//
// The buffer is one device tensor of size images, allocated up front, so
// that checkpoints store it as any other tensor and a resumed run draws
// from the same pool; n and the random draws are host state.
type imagePool struct {
	size   int
	n      int           // images stored so far
	images *torch.Tensor // [size, C, H, W]; nil when size is 0
}

func newImagePool(size int, shape []int64, dev torch.Device) *imagePool {
	p := &imagePool{size: size}
	if size > 0 {
		p.images = torch.Zeros(torch.Float32, dev, append([]int64{int64(size)}, shape...)...).Persist()
	}
	return p
}

// query returns the images D is shown for fakes (a batch): with pool size 0
// the fakes themselves, otherwise each image or an older one, detached, as
// the reference's query. The random draws come from r in the reference's
// order: one uniform per image once the pool is full, and the slot when it
// is above 0.5.
func (p *imagePool) query(fakes *torch.Tensor, r poolRand) *torch.Tensor {
	if p.size == 0 {
		return fakes
	}
	x := fakes.Detach()
	var out []*torch.Tensor
	for i := int64(0); i < x.Shape()[0]; i++ {
		img := x.Narrow(0, i, 1)
		if p.n < p.size {
			p.slot(p.n).CopyFrom(img)
			p.n++
			out = append(out, img)
			continue
		}
		if r.Float64() > 0.5 {
			id := r.IntN(p.size)
			old := p.slot(id).Clone()
			p.slot(id).CopyFrom(img)
			out = append(out, old)
		} else {
			out = append(out, img)
		}
	}
	return torch.Cat(out, 0)
}

func (p *imagePool) slot(i int) *torch.Tensor { return p.images.Narrow(0, int64(i), 1) }

func (p *imagePool) free() {
	if p.images != nil {
		p.images.Free()
	}
}

// setCount restores the number of stored images from a checkpoint; a
// pool made smaller since (train.pool_size) keeps as many as it holds, the
// first ones (the resume copies those).
func (p *imagePool) setCount(n int) error {
	if n < 0 {
		return fmt.Errorf("the image pool count %d is negative", n)
	}
	p.n = min(n, p.size)
	return nil
}
