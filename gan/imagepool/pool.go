// Package imagepool is the image pool of pytorch-CycleGAN-and-pix2pix's and
// pix2pixHD's util/image_pool.py (the two files are one algorithm): CycleGAN
// keeps one per discriminator, pix2pixHD one of its (label, fake) inputs to
// D.
package imagepool

import (
	"fmt"
	"log/slog"
	"math/rand/v2"

	torch "gogan/cgo"
	"gogan/mtrand"
)

// Rand is what a pool draws: the reference's random.uniform(0, 1) and
// random.randint(0, n - 1).
type Rand interface {
	Float64() float64
	IntN(n int) int
}

// PythonRand draws them from Python's random.
type PythonRand struct{ *mtrand.Python }

func (p PythonRand) Float64() float64 { return p.Random() }
func (p PythonRand) IntN(n int) int   { return p.Randint(0, n-1) }

// PCGRand draws them from the PCG that checkpoints of gogan before
// PythonRand hold, for their runs to go on as they drew.
type PCGRand struct {
	PCG *rand.PCG
	*rand.Rand
}

func NewPCGRand(pcg *rand.PCG) PCGRand { return PCGRand{pcg, rand.New(pcg)} }

// Pool is util/image_pool.py's ImagePool (Shrivastava et al. 2017): a
// buffer of earlier generated images that D sometimes sees instead of the
// newest ones, so that it does not chase the generators' latest move. Until
// it is full every image goes in and comes straight back; then each image
// comes back with probability 1/2, or else a random older one does and the
// new image takes its place.
//
// The buffer is one device tensor of size images, allocated up front, so
// that checkpoints store it as any other tensor and a resumed run draws
// from the same pool; n and the random draws are host state. The draws for
// a step are made before it (Draw), and where every image has the buffer's
// size (a cropping preprocess, or data of one size) the query reads them
// from a device tensor: the step then runs in a CUDA graph, each replay
// taking its own picks. The reference's pool is a list, so at batch 1 it
// holds images of any size (data.preprocess none or scale_width); then each
// slot holds its image in its top left corner, and a second tensor,
// checkpointed beside it, its height and width, and the query cuts them on
// the host.
type Pool struct {
	Name   string // for messages
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
	// uniform: every image has the buffer's size, and the query reads its
	// picks from picked ([3, largest batch] int64 on the device: each image's slot,
	// which image D sees (0 the new one, 1 the slot's), which one the slot
	// keeps (0 the new one, 1 its own)).
	uniform bool
	picks   []pick // the next query's, from draw
	picked  *torch.Tensor
}

// pick is what a query does with one image, one of the reference's three
// branches: filling, the image goes into the next empty slot and comes
// back; once full, the slot's older image comes back and the new one takes
// its place (old), or the new one comes back and the pool stays (neither).
type pick struct {
	slot       int
	old, store bool
}

// New makes a pool of size images of shape (C, H, W), the largest
// the data gives; uniform says that every image has that shape.
func New(size int, shape []int64, dev torch.Device, uniform bool) *Pool {
	p := &Pool{size: size, uniform: uniform}
	if size > 0 {
		p.images = torch.Zeros(torch.Float32, dev, append([]int64{int64(size)}, shape...)...).Persist()
		p.sizes = torch.Zeros(torch.Int64, dev, int64(size), 2).Persist()
		p.hw = make([][2]int64, size)
	}
	return p
}

// Draw makes the picks of the next query, of n images, drawing from r in
// the reference's order: one uniform per image once the pool is full, and
// the slot when it is above 0.5.
func (p *Pool) Draw(n int, r Rand) {
	if p.size == 0 {
		return
	}
	p.readSizes()
	p.picks = p.picks[:0]
	for range n {
		var k pick
		switch {
		case p.n < p.size:
			k = pick{slot: p.n, store: true}
			p.n++
		case r.Float64() > 0.5:
			k = pick{slot: r.IntN(p.size), old: true, store: true}
		}
		p.picks = append(p.picks, k)
	}
	if !p.uniform {
		return
	}
	vals := make([]int64, 3*n)
	sh := p.images.Shape()
	for i, k := range p.picks {
		vals[i] = int64(k.slot)
		if k.old {
			vals[n+i] = 1
		}
		if k.store {
			p.setHW(k.slot, sh[2], sh[3])
		} else {
			vals[2*n+i] = 1
		}
	}
	// Its first columns for a smaller batch (an epoch's last): a CUDA graph
	// captured on full batches reads the picks from where they always were.
	if p.picked == nil || p.picked.Shape()[1] < int64(n) {
		p.picked.Free()
		p.picked = torch.Empty(torch.Int64, p.images.Device(), false, 3, int64(n)).Persist()
	}
	p.picked.Narrow(1, 0, int64(n)).CopyFrom(torch.FromInt64(vals, 3, int64(n)).Upload(p.images.Device()))
}

// Query returns the images D is shown for fakes (a batch), as the picks
// drawn for it say: with pool size 0 the fakes themselves, otherwise each
// image or an older one, detached, as the reference's query. A batch's
// images have one size (the loader's); the images that come back must too,
// as the reference's torch.cat needs: with images of several sizes,
// batches of 1.
func (p *Pool) Query(fakes *torch.Tensor) *torch.Tensor {
	if p.size == 0 {
		return fakes
	}
	x := fakes.Detach()
	n := x.Shape()[0]
	if int64(len(p.picks)) != n {
		panic(&torch.Error{Op: "image pool", Msg: fmt.Sprintf("a query of %d images, picks drawn for %d (DrawStep comes before each Step)", n, len(p.picks))})
	}
	if !p.uniform {
		return p.cutOnHost(x)
	}
	row := func(r int64) *torch.Tensor { return p.picked.Narrow(0, r, 1).Reshape(-1).Narrow(0, 0, n) }
	slots, seen, kept := row(0), row(1), row(2)
	out := make([]*torch.Tensor, n)
	for i := range n {
		slot := slots.Narrow(0, i, 1)
		pair := torch.Cat([]*torch.Tensor{x.Narrow(0, i, 1), p.images.IndexSelect(0, slot)}, 0)
		out[i] = pair.IndexSelect(0, seen.Narrow(0, i, 1))
		p.images.IndexCopy_(0, slot, pair.IndexSelect(0, kept.Narrow(0, i, 1)))
	}
	return torch.Cat(out, 0)
}

// cutOnHost is the query of images of several sizes: each slot's image is
// its corner of the buffer.
func (p *Pool) cutOnHost(x *torch.Tensor) *torch.Tensor {
	p.fit(x.Shape())
	out := make([]*torch.Tensor, len(p.picks))
	for i, k := range p.picks {
		img := x.Narrow(0, int64(i), 1)
		out[i] = img
		if k.old {
			out[i] = p.slot(k.slot).Clone()
		}
		if k.store {
			p.put(k.slot, img)
		}
	}
	return torch.Cat(out, 0)
}

// fit grows the buffer when images larger than it come (data the open did
// not measure), keeping what it holds in the same corners.
func (p *Pool) fit(shape []int64) {
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
func (p *Pool) slot(i int) *torch.Tensor {
	s := p.images.Narrow(0, int64(i), 1)
	if hw := p.hw[i]; hw != [2]int64{} {
		s = s.Narrow(2, 0, hw[0]).Narrow(3, 0, hw[1])
	}
	return s
}

// put stores img ([1, C, h, w]) in slot i.
func (p *Pool) put(i int, img *torch.Tensor) {
	sh := img.Shape()
	p.setHW(i, sh[2], sh[3])
	p.slot(i).CopyFrom(img)
}

func (p *Pool) setHW(i int, h, w int64) {
	if p.hw[i] == [2]int64{h, w} {
		return
	}
	p.hw[i] = [2]int64{h, w}
	p.sizes.Narrow(0, int64(i), 1).CopyFrom(torch.FromInt64([]int64{h, w}, 1, 2).To(p.sizes.Device()))
}

// Size is the pool's capacity (train.pool_size); Len the images it holds.
func (p *Pool) Size() int { return p.size }
func (p *Pool) Len() int  { return p.n }

// Tensors are what checkpoints keep of the pool, under prefix: its images,
// and as prefix_sizes each slot's height and width; none when size is 0.
func (p *Pool) Tensors(prefix string) []torch.Named {
	if p == nil || p.images == nil {
		return nil
	}
	return []torch.Named{{Name: prefix, Tensor: p.images}, {Name: prefix + "_sizes", Tensor: p.sizes}}
}

func (p *Pool) Free() {
	if p.images != nil {
		p.images.Free()
		p.sizes.Free()
		p.picked.Free()
	}
}

// Restore takes a checkpoint's count of stored images; lost says that the
// trainer could not copy the checkpoint's buffer in (another image size:
// the pool then starts empty, and empty reports that it held images). A
// pool made smaller since (train.pool_size) keeps as many as it holds, the
// first ones (the trainer copies those). The slots' sizes are read from
// their tensor at the next draw: under data parallelism a rank's arrive
// after its host state.
func (p *Pool) Restore(n int, lost bool) (empty bool, err error) {
	if n < 0 {
		return false, fmt.Errorf("the image pool count %d is negative", n)
	}
	if p.size == 0 {
		return false, nil
	}
	if lost {
		p.empty()
		return n > 0, nil
	}
	if n > p.size {
		slog.Warn("resume: the checkpoint's image pool holds more images than train.pool_size; the pool keeps the first ones",
			"pool", p.Name, "images", n, "kept", p.size)
	}
	p.n = min(n, p.size)
	p.stale = true
	return false, nil
}

// readSizes takes the slots' sizes from their tensor, after a restore. A
// pool whose images all have the buffer's size, resumed from a checkpoint
// whose pool held smaller ones (of a run with data.preprocess none, say, in
// a buffer of the same size), starts empty: its query shows whole slots.
func (p *Pool) readSizes() {
	if !p.stale {
		return
	}
	p.stale = false
	hw := p.sizes.Int64s()
	sh := p.images.Shape()
	for i := range p.hw {
		p.hw[i] = [2]int64{hw[2*i], hw[2*i+1]}
		if p.uniform && i < p.n && p.hw[i] != [2]int64{} && p.hw[i] != [2]int64{sh[2], sh[3]} {
			slog.Warn("resume: the checkpoint's image pool holds images of other sizes than this run's; the pool starts empty",
				"pool", p.Name, "images", p.n, "slot", i, "height", p.hw[i][0], "width", p.hw[i][1])
			p.empty()
			return
		}
	}
}

// empty starts the pool afresh: its sizes tensor held the checkpoint's, of
// other images.
func (p *Pool) empty() {
	p.n = 0
	clear(p.hw)
	p.sizes.Fill(0)
}
