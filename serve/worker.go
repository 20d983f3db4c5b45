package serve

import (
	"context"
	"errors"
	"fmt"
	"image"
	"runtime"
	"sync"
	"time"

	torch "gogan/cgo"
	"gogan/data"
	"gogan/infer"
	"gogan/nets"
	"gogan/report"
)

// engine runs a generator. Its methods are called on one goroutine, locked
// to its OS thread, that also made it (libtorch keeps grad mode and the
// current stream per thread).
type engine interface {
	// translate runs the generator on same-sized images, one forward pass.
	translate(ims []*data.Image) ([]*image.NRGBA, error)
	// generate runs the generator on latents, one forward pass.
	generate(ls []latent) ([]*image.NRGBA, error)
	close()
}

// job is one request's work: images to translate or latents to generate.
type job struct {
	ctx   context.Context
	ims   []*data.Image
	zs    []latent
	enq   time.Time
	reply chan result // buffered: the worker never blocks on a gone client
}

func (j *job) items() int { return len(j.ims) + len(j.zs) }

// result is a job's outcome and how long it took.
type result struct {
	out   []*image.NRGBA
	batch int           // items in the largest forward pass the job was part of
	queue time.Duration // from submission to the start of its forward pass
	infer time.Duration // the forward pass (with the copies to and from the device)
	err   error
}

// Errors of submit.
var (
	errBusy    = errors.New("the queue is full")
	errStopped = errors.New("the server is stopping")
)

// worker owns one device: one goroutine, locked to its thread, takes jobs
// from a channel and runs them, putting jobs that are waiting together into
// one forward pass (up to maxBatch items) when the model allows it.
type worker struct {
	jobs     chan *job
	maxBatch int
	batch    bool // may jobs share a forward pass
	done     chan struct{}
	mu       sync.Mutex // guards closed and the sends on jobs
	closed   bool
}

// startWorker starts the device goroutine: it builds the engine with
// newEngine on its own locked thread and returns once that has succeeded or
// failed.
func startWorker(newEngine func() (engine, error), queue, maxBatch int, batch bool) (*worker, error) {
	w := &worker{jobs: make(chan *job, queue), maxBatch: max(maxBatch, 1), batch: batch, done: make(chan struct{})}
	ready := make(chan error, 1)
	go func() {
		defer close(w.done)
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		e, err := newEngine()
		ready <- err
		if err != nil {
			return
		}
		defer e.close()
		w.loop(e)
	}()
	if err := <-ready; err != nil {
		return nil, err
	}
	return w, nil
}

// submit queues a job, or says why it cannot.
func (w *worker) submit(j *job) error {
	j.enq = time.Now()
	j.reply = make(chan result, 1)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return errStopped
	}
	select {
	case w.jobs <- j:
		return nil
	default:
		return errBusy
	}
}

// queued is how many jobs wait.
func (w *worker) queued() int { return len(w.jobs) }

// stop lets the worker finish the queued jobs and free the generator; call
// it when nothing submits any more.
func (w *worker) stop() {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.jobs)
	}
	w.mu.Unlock()
	<-w.done
}

func (w *worker) loop(e engine) {
	var next *job
	for {
		j := next
		next = nil
		if j == nil {
			var ok bool
			if j, ok = <-w.jobs; !ok {
				return
			}
		}
		group := []*job{j}
		n := j.items()
		// Take what is already waiting (requests that came in while the
		// previous pass ran), up to maxBatch items: no waiting for more.
	gather:
		for w.batch && n < w.maxBatch {
			select {
			case k, ok := <-w.jobs:
				if !ok {
					break gather
				}
				if n+k.items() > w.maxBatch || (len(k.ims) > 0) != (len(j.ims) > 0) {
					next = k
					break gather
				}
				group = append(group, k)
				n += k.items()
			default:
				break gather
			}
		}
		w.run(e, group)
	}
}

// run does a group of jobs: skips those whose client has gone, then runs the
// others' items in passes of at most maxBatch (1 when batching is off).
func (w *worker) run(e engine, group []*job) {
	var live []*job
	for _, j := range group {
		if err := j.ctx.Err(); err != nil {
			j.reply <- result{err: err}
			continue
		}
		live = append(live, j)
	}
	if len(live) == 0 {
		return
	}
	var ims []*data.Image
	var zs []latent
	for _, j := range live {
		ims = append(ims, j.ims...)
		zs = append(zs, j.zs...)
	}
	per := w.maxBatch
	if !w.batch {
		per = 1
	}
	start := time.Now()
	var outs []*image.NRGBA
	var err error
	largest := 0
	for lo := 0; lo < len(ims)+len(zs) && err == nil; lo += per {
		var o []*image.NRGBA
		if len(ims) > 0 {
			hi := min(lo+per, len(ims))
			largest = max(largest, hi-lo)
			o, err = safely(func() ([]*image.NRGBA, error) { return e.translate(ims[lo:hi]) })
		} else {
			hi := min(lo+per, len(zs))
			largest = max(largest, hi-lo)
			o, err = safely(func() ([]*image.NRGBA, error) { return e.generate(zs[lo:hi]) })
		}
		outs = append(outs, o...)
	}
	took := time.Since(start)
	if err == nil && len(outs) != len(ims)+len(zs) {
		err = fmt.Errorf("generator made %d images for %d inputs", len(outs), len(ims)+len(zs))
	}
	for _, j := range live {
		r := result{batch: largest, queue: start.Sub(j.enq), infer: took, err: err}
		if err == nil {
			r.out, outs = outs[:j.items()], outs[j.items():]
		}
		j.reply <- r
	}
}

// safely turns a panic of the engine into an error, so that a request
// never takes the server down.
func safely(f func() ([]*image.NRGBA, error)) (out []*image.NRGBA, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("generator failed: %v", r)
		}
	}()
	return f()
}

// torchEngine runs a checkpoint's generator with libtorch on one device.
type torchEngine struct {
	m   *Model
	dev torch.Device
	g   *nets.Net
}

// newTorchEngine loads the model's generator on device (auto, cpu, cuda:N)
// and runs one pass on zeros, so that a generator that cannot run at the
// model's size fails here rather than on the first request. Call it on the
// worker's locked thread.
func newTorchEngine(m *Model, device string, threads int) (engine, error) {
	torch.KeepHostMemory()
	dev, err := torch.UseDevice(device)
	if err != nil {
		return nil, err
	}
	if err := torch.SetThreads(threads); err != nil {
		return nil, err
	}
	g, err := infer.LoadNet(m.Checkpoint, m.Config, m.Role, dev)
	if err != nil {
		return nil, fmt.Errorf("load generator %s: %w", m.Role, err)
	}
	g.SetTraining(!m.Eval)
	e := &torchEngine{m: m, dev: dev, g: g}
	if m.Kind == KindTranslate {
		_, err = e.translate([]*data.Image{data.NewImage(m.Size, m.Size, m.InputNC)})
	} else {
		_, err = e.generate([]latent{{z: make([]float32, m.NZ())}})
	}
	if err != nil {
		g.Free()
		return nil, fmt.Errorf("checkpoint %s: generator %s (%s) does not run on a %dx%d input on %s: %w", m.Checkpoint.Dir, m.Role, m.NetG, m.Size, m.Size, dev, err)
	}
	return e, nil
}

// Device is where the generator runs.
func (e *torchEngine) Device() torch.Device { return e.dev }

func (e *torchEngine) translate(ims []*data.Image) ([]*image.NRGBA, error) {
	return e.forward(func() *torch.Tensor { return e.m.Translation.Input(ims) }, e.m.Translation.Output, e.m.Translation.PNG())
}

func (e *torchEngine) generate(ls []latent) ([]*image.NRGBA, error) {
	return e.forward(func() *torch.Tensor {
		nz := e.m.NZ()
		flat := make([]float32, 0, len(ls)*nz)
		var classes []float32
		for _, l := range ls {
			flat = append(flat, l.z...)
			classes = append(classes, float32(l.class))
		}
		noise := torch.FromFloat32(flat, append([]int64{int64(len(ls))}, e.m.Gen.Noise...)...)
		return e.m.Gen.Input(noise, classes)
	}, func(_, y *torch.Tensor) report.Images { return report.ToImages(y) }, report.GridOptions{NRow: 1, FixedRange: true, Lo: -1, Hi: 1})
}

// forward runs the generator on the input that in makes (on the host) and
// turns each output into an image (show: the generator's input and output
// as images in [-1, 1]), mapping [-1, 1] to 0..255 as png says (a
// translation's as translate writes them).
func (e *torchEngine) forward(in func() *torch.Tensor, show func(x, y *torch.Tensor) report.Images, png report.GridOptions) ([]*image.NRGBA, error) {
	var out report.Images
	err := torch.Try(func() {
		s := torch.NewScope()
		defer s.Close()
		x := in().To(e.dev)
		torch.NoGrad(func() { out = show(x, e.g.Forward(x)) })
	})
	if err != nil {
		return nil, err
	}
	plane := out.C * out.H * out.W
	ims := make([]*image.NRGBA, out.N)
	for i := range ims {
		one := report.Images{Data: out.Data[i*plane : (i+1)*plane], N: 1, C: out.C, H: out.H, W: out.W}
		if ims[i], err = report.MakeGrid(one, png); err != nil {
			return nil, err
		}
	}
	return ims, nil
}

func (e *torchEngine) close() { e.g.Free() }
