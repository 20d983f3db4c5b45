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
// from the same pool; n and the random draws are host state. The reference's
// pool is a list, so at batch 1 it holds images of any size (data.preprocess
// none or scale_width); here each slot holds its image in its top left
// corner, and a second tensor, checkpointed beside it, its height and width.
type imagePool struct {
	size   int
	n      int           // images stored so far
	images *torch.Tensor // [size, C, H, W]; nil when size is 0
	// sizes is each slot's image height and width ([size, 2], int64, on
	// the images' device, so that data-parallel ranks gather it as the
	// images); hw mirrors it on the host. 0 x 0 is the whole slot (a
	// checkpoint of a gogan before sizes).
	sizes *torch.Tensor
	hw    [][2]int64
	stale bool // hw is to be read from sizes (restored)
}

// newImagePool makes a pool of size images of shape (C, H, W), the largest
// the data gives.
func newImagePool(size int, shape []int64, dev torch.Device) *imagePool {
	p := &imagePool{size: size}
	if size > 0 {
		p.images = torch.Zeros(torch.Float32, dev, append([]int64{int64(size)}, shape...)...).Persist()
		p.sizes = torch.Zeros(torch.Int64, dev, int64(size), 2).Persist()
		p.hw = make([][2]int64, size)
	}
	return p
}

// query returns the images D is shown for fakes (a batch): with pool size 0
// the fakes themselves, otherwise each image or an older one, detached, as
// the reference's query. The random draws come from r in the reference's
// order: one uniform per image once the pool is full, and the slot when it
// is above 0.5. A batch's images have one size (the loader's); the images
// that come back must too, as the reference's torch.cat needs: with images
// of several sizes, batches of 1.
func (p *imagePool) query(fakes *torch.Tensor, r poolRand) *torch.Tensor {
	if p.size == 0 {
		return fakes
	}
	x := fakes.Detach()
	p.readSizes()
	p.fit(x.Shape())
	var out []*torch.Tensor
	for i := int64(0); i < x.Shape()[0]; i++ {
		img := x.Narrow(0, i, 1)
		if p.n < p.size {
			p.put(p.n, img)
			p.n++
			out = append(out, img)
			continue
		}
		if r.Float64() > 0.5 {
			id := r.IntN(p.size)
			old := p.slot(id).Clone()
			p.put(id, img)
			out = append(out, old)
		} else {
			out = append(out, img)
		}
	}
	return torch.Cat(out, 0)
}

// fit grows the buffer when images larger than it come (data the open did
// not measure), keeping what it holds in the same corners.
func (p *imagePool) fit(shape []int64) {
	have := p.images.Shape()
	h, w := max(have[2], shape[2]), max(have[3], shape[3])
	if h == have[2] && w == have[3] {
		return
	}
	grown := torch.Zeros(torch.Float32, p.images.Device(), have[0], have[1], h, w).Persist()
	grown.Narrow(2, 0, have[2]).Narrow(3, 0, have[3]).CopyFrom(p.images)
	for i := range p.hw {
		if p.hw[i] == [2]int64{} { // the whole old slot
			p.setHW(i, have[2], have[3])
		}
	}
	p.images.Free()
	p.images = grown
}

// slot is image i as stored: its corner of the buffer.
func (p *imagePool) slot(i int) *torch.Tensor {
	s := p.images.Narrow(0, int64(i), 1)
	if hw := p.hw[i]; hw != [2]int64{} {
		s = s.Narrow(2, 0, hw[0]).Narrow(3, 0, hw[1])
	}
	return s
}

// put stores img ([1, C, h, w]) in slot i.
func (p *imagePool) put(i int, img *torch.Tensor) {
	sh := img.Shape()
	p.setHW(i, sh[2], sh[3])
	p.slot(i).CopyFrom(img)
}

func (p *imagePool) setHW(i int, h, w int64) {
	if p.hw[i] == [2]int64{h, w} {
		return
	}
	p.hw[i] = [2]int64{h, w}
	p.sizes.Narrow(0, int64(i), 1).CopyFrom(torch.FromInt64([]int64{h, w}, 1, 2).To(p.sizes.Device()))
}

func (p *imagePool) free() {
	if p.images != nil {
		p.images.Free()
		p.sizes.Free()
	}
}

// restore takes a checkpoint's count of stored images; lost says that the
// trainer could not copy the checkpoint's buffer in (another image size:
// the pool then starts empty, and empty reports that it held images). A
// pool made smaller since (train.pool_size) keeps as many as it holds, the
// first ones (the trainer copies those). The slots' sizes are read from
// their tensor at the next query: under data parallelism a rank's arrive
// after its host state.
func (p *imagePool) restore(n int, lost bool) (empty bool, err error) {
	if n < 0 {
		return false, fmt.Errorf("the image pool count %d is negative", n)
	}
	if p.size == 0 {
		return false, nil
	}
	if lost {
		p.n = 0
		clear(p.hw)
		p.sizes.Fill(0) // held the checkpoint's, of other images
		return n > 0, nil
	}
	p.n = min(n, p.size)
	p.stale = true
	return false, nil
}

// readSizes takes the slots' sizes from their tensor, after a restore.
func (p *imagePool) readSizes() {
	if !p.stale {
		return
	}
	hw := p.sizes.Int64s()
	for i := range p.hw {
		p.hw[i] = [2]int64{hw[2*i], hw[2*i+1]}
	}
	p.stale = false
}
