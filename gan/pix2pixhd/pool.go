package pix2pixhd

import (
	"encoding/json"
	"fmt"
	"log/slog"

	torch "gogan/cgo"
	"gogan/config"
	"gogan/data"
	"gogan/gan"
	"gogan/gan/imagepool"
	"gogan/mtrand"
)

// poolTensor is the checkpoint's name of the pool's buffer (and, with
// "_sizes", of its slots' sizes): the reference's fake_pool.
const poolTensor = "pool.fake"

// pooled is a pix2pixHD run with train.pool_size > 0 (--pool_size): D's
// fake pass (discriminate(..., use_pool=True)) sees the pool's answer to
// the label-and-fake concatenation, which Step asks of r.pool. What the
// pool adds to a run (its draws before each step, its buffer and host
// state in checkpoints, one pool a rank) it says by these methods, which a
// run without a pool does not have.
type pooled struct {
	*Pix2PixHD
	// draw is Python's random, as the reference's ImagePool draws, seeded
	// with the run's seed (train.py seeds none), as CycleGAN's pools.
	draw imagepool.Rand
	lost bool // the checkpoint's buffer did not fit (LostFixed)
	// note says why the step cannot be captured in a CUDA graph (images of
	// several sizes), or is empty.
	note string
}

// newPool makes the pool of D's fake inputs (label channels and the
// fake's), with the data's image size; a pool of size 0 passes them
// through.
func (r *Pix2PixHD) newPool(c *config.Config, ds *data.Dataset) error {
	size := c.Train.PoolSize
	h, w, uniform := poolImageSize(c, ds)
	ch := int64(inputChannels(c) + c.Model.OutputNC)
	if err := torch.Try(func() { r.pool = imagepool.New(size, []int64{ch, h, w}, r.dev, uniform) }); err != nil {
		gib := float64(size) * float64(ch*h*w) * 4 / (1 << 30)
		return fmt.Errorf("train.pool_size=%d: the image pool of %d label-and-fake images of %dx%d (%d channels) takes %.3g GiB on %s (the reference's default is 0): %w",
			size, size, w, h, ch, gib, r.dev, err)
	}
	r.pool.Name = "fake"
	return nil
}

// poolImageSize is the pool's image height and width, and whether every
// image has it: the crop with a cropping preprocess; otherwise the data's
// size (the largest, where it has several), or inputSize where no data is
// open (bench, import).
func poolImageSize(c *config.Config, ds *data.Dataset) (h, w int64, uniform bool) {
	switch p := c.Data.Preprocess; {
	case p == data.ResizeAndCrop || p == data.Crop || p == data.ScaleWidthAndCrop:
		return int64(c.Data.CropSize), int64(c.Data.CropSize), true
	case ds == nil:
		h, w = inputSize(c)
		return h, w, true
	}
	_, b, uniform := ds.Shape()
	if uniform {
		return int64(b[1]), int64(b[2]), true
	}
	for wh := range ds.OutputSizes() {
		h, w = max(h, int64(wh[1])), max(w, int64(wh[0]))
	}
	if h == 0 { // no sizes read: the pool grows as images come
		h, w = inputSize(c)
	}
	return h, w, false
}

// withPool is r with its pool's capabilities, where it has one.
func withPool(r *Pix2PixHD, env gan.Env) gan.Recipe {
	if r.pool.Size() == 0 {
		return r
	}
	c := env.Config
	p := &pooled{Pix2PixHD: r, draw: imagepool.PythonRand{Python: mtrand.NewPython(c.Seed)}}
	if _, _, uniform := poolImageSize(c, env.Data); !uniform {
		p.note = fmt.Sprintf("data.preprocess=%s keeps the images' own sizes, of which the data has several: the image pool (train.pool_size) takes images of several sizes, which its query cuts on the host; a cropping data.preprocess (resize_and_crop, crop, scale_width_and_crop) or train.pool_size=0 makes the step capturable", c.Data.Preprocess)
	}
	return p
}

// DrawStep draws the pool's picks for the step's n images, as the
// reference's query draws them, image by image.
func (p *pooled) DrawStep(n int64) { p.pool.Draw(int(n), p.draw) }

// GraphUnsafe: a pool of images of several sizes cuts them on the host.
func (p *pooled) GraphUnsafe() string { return p.note }

// Fixed adds the pool's buffer and its slots' sizes.
func (p *pooled) Fixed() []torch.Named {
	return append(p.Pix2PixHD.Fixed(), p.pool.Tensors(poolTensor)...)
}

// RankTensors: under data parallelism each rank's pool holds its own fakes.
func (p *pooled) RankTensors() []torch.Named { return p.pool.Tensors(poolTensor) }

// LostFixed: a pool whose buffer the checkpoint could not fill (another
// image size, or a checkpoint of a run without a pool) starts empty.
func (p *pooled) LostFixed(names []string) {
	for _, n := range names {
		p.lost = p.lost || n == poolTensor
	}
}

// poolState is what state.json keeps of the pool: how full it is, and its
// generator.
type poolState struct {
	Pool   int    `json:"pool"`
	Python []byte `json:"python_random"`
}

func (p *pooled) SaveHostState() (json.RawMessage, error) {
	py, err := p.draw.(imagepool.PythonRand).MarshalBinary()
	if err != nil {
		return nil, err
	}
	return json.Marshal(poolState{Pool: p.pool.Len(), Python: py})
}

// LoadHostState restores the pool's count and generator. A checkpoint
// without them (of a run without a pool, pool_size raised on resume)
// starts the pool empty, drawing from the run's seed.
func (p *pooled) LoadHostState(raw json.RawMessage) error {
	var st poolState
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &st); err != nil {
			return fmt.Errorf("image pool: %w", err)
		}
	}
	if st.Python == nil {
		slog.Warn("resume: the checkpoint holds no image pool; the pool starts empty", "pool_size", p.pool.Size())
		_, err := p.pool.Restore(0, true)
		return err
	}
	py := &mtrand.Python{}
	if err := py.UnmarshalBinary(st.Python); err != nil {
		return fmt.Errorf("image pool's generator: %w", err)
	}
	p.draw = imagepool.PythonRand{Python: py}
	var empty bool
	var err error
	if terr := torch.Try(func() { empty, err = p.pool.Restore(st.Pool, p.lost) }); terr != nil {
		err = terr
	}
	if err != nil {
		return fmt.Errorf("image pool: %w", err)
	}
	if empty {
		slog.Warn("resume: the checkpoint's image pool holds images of another size; the pool starts empty", "images", st.Pool)
	}
	return nil
}

// Release frees the pool's picks besides what Pix2PixHD holds.
func (p *pooled) Release() {
	p.Pix2PixHD.Release()
	p.pool.Free()
}
