package data

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"unsafe"
)

// Allocator supplies the memory batches are written into. The default hands
// out Go slices from a free list; the trainer passes one backed by pinned
// (page-locked) libtorch memory so that its host-to-device copies can be
// non-blocking. Buffers come back through Release when the trainer releases a
// batch, so a steady-state epoch allocates nothing. Alloc must return memory
// aligned to 4 bytes; it may be called from several goroutines at once.
type Allocator interface {
	Alloc(nbytes int) ([]byte, error)
	Release(buf []byte)
}

// goAllocator keeps released buffers for reuse, by size.
type goAllocator struct {
	mu   sync.Mutex
	free map[int][][]byte
	keep int
}

func newGoAllocator(keep int) *goAllocator {
	return &goAllocator{free: map[int][][]byte{}, keep: keep}
}

func (a *goAllocator) Alloc(n int) ([]byte, error) {
	a.mu.Lock()
	if l := a.free[n]; len(l) > 0 {
		b := l[len(l)-1]
		a.free[n] = l[:len(l)-1]
		a.mu.Unlock()
		return b, nil
	}
	a.mu.Unlock()
	// Allocated as float32 so that the bytes are 4-byte aligned.
	f := make([]float32, (n+3)/4)
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(f))), len(f)*4)[:n], nil
}

func (a *goAllocator) Release(b []byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.free[len(b)]) < a.keep {
		a.free[len(b)] = append(a.free[len(b)], b)
	}
}

// Tensor is a host batch of N x C x H x W values: F32 holds them normalised to
// [-1, 1] (dtype float32), or U8 holds the raw 0..255 values (dtype uint8).
// Both view Buf, the allocator's buffer. Name is the sample image's name.
// A Raw tensor (class ids of label maps, instance boundaries) holds the
// values themselves in F32 too (id 3 as 3.0): never normalise it.
type Tensor struct {
	Name  string
	Shape [4]int
	F32   []float32
	U8    []uint8
	Buf   []byte
	Raw   bool
}

// Numel is N*C*H*W.
func (t Tensor) Numel() int { return t.Shape[0] * t.Shape[1] * t.Shape[2] * t.Shape[3] }

// Batch is one batch: a tensor for each of the samples' named images ("A":
// the images, or the generator's input of pairs; "B": the targets of pairs;
// "inst": instance boundary maps, with data.instance).
// Release it when its memory is no longer read (for pinned memory, after the
// copy that reads it has completed).
type Batch struct {
	Epoch, Index int      // position: batch Index of Epoch
	Draws        []Draws  // each sample's random choices (LocateWith's)
	Tensors      []Tensor // in the order of Sample.Images
	Labels       []int64  // class labels, nil when the dataset has none
	Indices      []int    // dataset indices of the samples
	alloc        Allocator
	released     bool
}

// N is the number of samples in the batch.
func (b *Batch) N() int { return len(b.Indices) }

// Tensor is the batch tensor of the named image, or nil.
func (b *Batch) Tensor(name string) *Tensor {
	for i := range b.Tensors {
		if b.Tensors[i].Name == name {
			return &b.Tensors[i]
		}
	}
	return nil
}

// Release hands the batch's buffers back to the allocator. It is idempotent.
func (b *Batch) Release() {
	if b == nil || b.released {
		return
	}
	b.released = true
	for _, t := range b.Tensors {
		if t.Buf != nil {
			b.alloc.Release(t.Buf)
		}
	}
	b.Tensors = nil
}

// LoaderOptions are the loader's settings; Config.LoaderOptions fills them
// from the data.* keys.
type LoaderOptions struct {
	BatchSize int
	Workers   int // goroutines building batches; 0: Next builds them itself
	Prefetch  int // batches each worker builds ahead; 0 counts as 1
	Shuffle   bool
	DropLast  bool
	Seed      uint64
	DType     string    // float32 or uint8
	Allocator Allocator // nil: Go memory
	// Data parallelism: World ranks (0 or 1: one process) each take Rank's
	// share of every global batch of BatchSize*World samples, a contiguous
	// slice, so that the ranks' batches together are the batch one process
	// with BatchSize*World would draw. Without DropLast an epoch is padded
	// with its first samples to a multiple of World (as DistributedSampler),
	// so every rank's batches have the same size.
	Rank, World int
	// IndicesOnly: batches carry their samples' indices and nothing else
	// (but class labels, where Dataset.ClassLabels), for a trainer that holds the transformed dataset on its device
	// (Dataset.ExportU8) and gathers each batch there.
	IndicesOnly bool
	// TorchDraws: each epoch waits for the EpochStart the trainer gives
	// (SetEpochStart: what torch's DataLoader draws from the CPU generator
	// as an epoch starts), whose order a shuffled epoch takes (otherwise
	// Permutation's) and whose base seed its samples' draws come from as
	// the references' DataLoader with ReferenceWorkers workers draws them
	// (ReferenceDraws; otherwise each sample's own, from Seed).
	TorchDraws       bool
	ReferenceWorkers int
}

func (o LoaderOptions) world() int { return max(1, o.World) }

// LoaderOptions returns the loader settings of c with the given seed.
func (c Config) LoaderOptions(seed uint64) LoaderOptions {
	c = c.withDefaults()
	return LoaderOptions{
		BatchSize: c.BatchSize, Workers: c.Workers, Prefetch: c.Prefetch,
		Shuffle: c.Shuffle, DropLast: c.DropLast, Seed: seed, DType: c.DType,
		ReferenceWorkers: c.ReferenceWorkers,
	}
}

// LoaderState is the loader's position, saved in a checkpoint: the next batch
// to be returned is batch Batch of epoch Epoch. Samples and BatchSize guard
// against resuming on a different dataset.
type LoaderState struct {
	Epoch     int    `json:"epoch"`
	Batch     int    `json:"batch"`
	Seed      uint64 `json:"seed"`
	Samples   int    `json:"samples"`
	BatchSize int    `json:"batch_size"`
	DropLast  bool   `json:"drop_last"`
	Shuffle   bool   `json:"shuffle"`
	World     int    `json:"world,omitempty"` // ranks (data parallelism); 0: one
	// OrderSeed is the seed of the epoch's order and BaseSeed its draws'
	// (TorchDraws: EpochStart's), from which the trainer makes them again
	// on resume.
	OrderSeed *int64 `json:"order_seed,omitempty"`
	BaseSeed  *int64 `json:"base_seed,omitempty"`
	// Started (the trainer's to set, at Batch 0): the epoch's start took
	// its draws from the generator already, before a checkpoint cut the
	// wait for its first batch.
	Started bool `json:"started,omitempty"`
}

// SamplesBefore is the samples the batches before this position held, every
// rank's: the epochs done, each whole (its last short batch as it is, or
// without it where drop_last drops it), then Batch full batches.
func (st LoaderState) SamplesBefore() int64 {
	o := LoaderOptions{BatchSize: st.BatchSize, DropLast: st.DropLast, World: st.World}
	gb := int64(st.BatchSize * o.world())
	perEpoch := int64(o.epochLen(st.Samples))
	if st.DropLast && gb > 0 {
		perEpoch -= perEpoch % gb
	}
	return int64(st.Epoch)*perEpoch + int64(st.Batch)*gb
}

// Loader builds batches with N workers and hands them out in order. Batch k
// of epoch e holds the same samples with the same augmentation for a given
// seed, whatever the number of workers or prefetch depth.
type Loader struct {
	d     *Dataset
	owned bool // d was opened by OpenLoader: Close closes it
	o     LoaderOptions
	nb    int // batches per epoch
	alloc Allocator

	epoch, batch int // position of the next batch returned
	run          *run

	permMu sync.Mutex
	plans  map[int]plan
	starts map[int]EpochStart    // SetEpochStart's, by epoch
	given  map[int]chan struct{} // closed when an epoch's start is given
}

// EpochStart is what torch's DataLoader draws from the CPU generator as an
// epoch's iterator starts: its workers' base seed, and shuffling,
// RandomSampler's seed and the order (its randperm). A nil seed is one not
// recorded (a checkpoint of an older gogan): that epoch's samples then
// take their own draws.
type EpochStart struct {
	BaseSeed  *int64
	Order     []int // nil: not shuffled
	OrderSeed *int64
}

// plan is an epoch's sample order (padded for the ranks) and each
// position's draws (nil: the samples' own).
type plan struct {
	order []int
	draws []Draws
}

// run is the workers' pipeline from one starting position onwards.
type run struct {
	cancel context.CancelFunc
	ctx    context.Context
	epoch0 int
	batch0 int
	next   int // sequence number of the next batch to consume
	slots  []chan result
	tokens chan struct{}
	wg     sync.WaitGroup
}

type result struct {
	b   *Batch
	err error
}

// NewLoader checks the options against the dataset and returns a loader at
// epoch 0, batch 0. Its workers start on the first Next.
func NewLoader(d *Dataset, o LoaderOptions) (*Loader, error) {
	if o.BatchSize <= 0 {
		return nil, &ConfigError{Key: "data.batch_size", Value: o.BatchSize, Msg: "must be positive"}
	}
	if o.Workers < 0 {
		return nil, &ConfigError{Key: "data.workers", Value: o.Workers, Msg: "must be 0 (load in the caller) or more"}
	}
	if o.Prefetch < 0 {
		return nil, &ConfigError{Key: "data.prefetch", Value: o.Prefetch, Msg: "must be 0 or more"}
	}
	if o.DType == "" {
		o.DType = "float32"
	}
	if o.DType != "float32" && o.DType != "uint8" {
		return nil, &ConfigError{Key: "data.dtype", Value: o.DType, Msg: "must be float32 or uint8"}
	}
	if o.BatchSize > 1 && !d.uniform {
		return nil, &ConfigError{Key: "data.batch_size", Value: o.BatchSize,
			Msg: fmt.Sprintf("images come out in different sizes with data.preprocess %s (%s): use batch_size 1 or a preprocess that crops", d.cfg.Preprocess, d.uniformExample)}
	}
	if o.World > 1 && (o.Rank < 0 || o.Rank >= o.World) {
		return nil, fmt.Errorf("data: rank %d outside a world of %d", o.Rank, o.World)
	}
	gb := o.BatchSize * o.world()
	nb := o.epochLen(d.Len()) / gb
	if !o.DropLast && o.epochLen(d.Len())%gb != 0 {
		nb++
	}
	if nb == 0 {
		msg := fmt.Sprintf("is larger than the dataset (%d samples) with data.drop_last", d.Len())
		if o.World > 1 {
			msg = fmt.Sprintf("times %d ranks (a global batch of %d) is larger than the dataset (%d samples) with data.drop_last", o.World, gb, d.Len())
		}
		return nil, &ConfigError{Key: "data.batch_size", Value: o.BatchSize, Msg: msg}
	}
	l := &Loader{d: d, o: o, nb: nb, alloc: o.Allocator, plans: map[int]plan{}, starts: map[int]EpochStart{}, given: map[int]chan struct{}{}}
	if l.alloc == nil {
		l.alloc = newGoAllocator(l.inFlight() + 2)
	}
	return l, nil
}

// OpenLoader opens the dataset of cfg and a loader over it.
func OpenLoader(ctx context.Context, cfg Config, seed uint64, alloc Allocator, opts *OpenOptions) (*Loader, error) {
	d, err := Open(ctx, cfg, opts)
	if err != nil {
		return nil, err
	}
	o := d.Config().LoaderOptions(seed)
	o.Allocator = alloc
	l, err := NewLoader(d, o)
	if err != nil {
		d.Close()
		return nil, err
	}
	l.owned = true
	return l, nil
}

// epochLen is the samples an epoch goes through: n, padded to a multiple
// of the ranks without DropLast.
func (o LoaderOptions) epochLen(n int) int {
	w := o.world()
	if o.DropLast || n%w == 0 {
		return n
	}
	return n + w - n%w
}

// rankBatch is the range of the padded epoch that batch b gives this rank.
func (o LoaderOptions) rankBatch(b, epochLen int) (lo, hi int) {
	gb := o.BatchSize * o.world()
	start := b * gb
	per := (min(start+gb, epochLen) - start) / o.world()
	lo = start + o.Rank*per
	return lo, lo + per
}

// inFlight is the most batches built but not yet returned by Next.
func (l *Loader) inFlight() int { return l.o.InFlight() }

// InFlight is the most batches the loader holds at once (built and not yet
// returned by Next): an Allocator needs that many buffers of each size, plus
// one for each batch the caller holds unreleased.
func (o LoaderOptions) InFlight() int { return max(1, o.Workers) * max(1, o.Prefetch) }

// BatchBytes lists the buffer sizes, in bytes, that a loader with options o
// asks its Allocator for: each named image (TensorShapes: A, B for pairs,
// inst with instance maps) of a full batch, and of the short last batch when
// drop_last is off. Only known when every sample has the same size;
// otherwise nil.
func (d *Dataset) BatchBytes(o LoaderOptions) []int {
	ts, uniform := d.TensorShapes()
	if !uniform || o.BatchSize <= 0 {
		return nil
	}
	elem := 4
	if o.DType == "uint8" {
		elem = 1
	}
	n := o.epochLen(d.Len())
	gb := o.BatchSize * o.world()
	ns := []int{min(gb, n) / o.world()}
	if r := n % gb; r != 0 && !o.DropLast && n > gb {
		ns = append(ns, r/o.world())
	}
	var sizes []int
	for _, n := range ns {
		for _, t := range ts {
			sizes = append(sizes, n*t.Shape[0]*t.Shape[1]*t.Shape[2]*elem)
		}
	}
	return sizes
}

// Dataset returns the loader's dataset.
func (l *Loader) Dataset() *Dataset { return l.d }

// BatchesPerEpoch is the number of batches Next returns before io.EOF.
func (l *Loader) BatchesPerEpoch() int { return l.nb }

// State returns the position of the next batch Next will return.
func (l *Loader) State() LoaderState {
	e, b := l.epoch, l.batch
	if b == l.nb {
		e, b = e+1, 0
	}
	st := LoaderState{Epoch: e, Batch: b, Seed: l.o.Seed, Samples: l.d.Len(),
		BatchSize: l.o.BatchSize, DropLast: l.o.DropLast, Shuffle: l.o.Shuffle}
	if l.o.World > 1 {
		st.World = l.o.World
	}
	l.permMu.Lock()
	st.OrderSeed, st.BaseSeed = l.starts[e].OrderSeed, l.starts[e].BaseSeed
	l.permMu.Unlock()
	return st
}

// NeedsEpochStart says whether the next Next starts an epoch whose
// EpochStart SetEpochStart has to give first (TorchDraws), and which.
func (l *Loader) NeedsEpochStart() (epoch int, needed bool) {
	if !l.o.TorchDraws || l.batch != 0 {
		return 0, false
	}
	l.permMu.Lock()
	defer l.permMu.Unlock()
	_, set := l.starts[l.epoch]
	return l.epoch, !set
}

// AtEpochStart says whether the next Next returns an epoch's first batch.
func (l *Loader) AtEpochStart() bool { return l.batch == 0 }

// SetEpochStart gives epoch's start (TorchDraws). A shuffled loader needs
// its Order, a permutation of the dataset's indices.
func (l *Loader) SetEpochStart(epoch int, st EpochStart) error {
	if st.Order != nil && len(st.Order) != l.d.Len() {
		return fmt.Errorf("data: an order of %d samples for a dataset of %d", len(st.Order), l.d.Len())
	}
	if l.o.Shuffle && st.Order == nil {
		return fmt.Errorf("data: epoch %d of a shuffled loader started without its order", epoch)
	}
	if !l.o.Shuffle && st.Order != nil {
		return fmt.Errorf("data: epoch %d of a loader in order (data.shuffle false) started with a shuffled order", epoch)
	}
	st.Order = slices.Clone(st.Order)
	l.permMu.Lock()
	defer l.permMu.Unlock()
	l.starts[epoch] = st
	delete(l.plans, epoch)
	if ch, ok := l.given[epoch]; ok {
		close(ch)
		delete(l.given, epoch)
	}
	for e := range l.starts { // the workers are at most a few epochs apart
		if e < epoch-2 {
			delete(l.starts, e)
		}
	}
	return nil
}

// Restore moves the loader to a saved position (and seed): the batches that
// follow are those an uninterrupted loader would have returned.
func (l *Loader) Restore(s LoaderState) error {
	// A checkpoint over another count of samples than this dataset's, of
	// the same files:
	raw := max(l.d.n, l.d.beforeWholeBatches)
	if s.Samples != l.d.Len() {
		switch {
		case l.d.cfg.WholeBatches && s.Samples == raw-raw%(s.BatchSize*max(1, s.World)):
			// of another global batch (another number of ranks) over whole
			// batches: the whole global batches of its job, another count
			l.d.log.Warn(fmt.Sprintf("data: the checkpoint's epochs went through the first %d of the %d samples (whole global batches of %d), this job's go through the first %d (whole global batches of %d): the epoch in progress goes on in another order",
				s.Samples, raw, s.BatchSize*max(1, s.World), l.d.Len(), l.o.BatchSize*l.o.world()))
			s.Samples = l.d.Len()
		case l.d.cfg.WholeBatches && max(1, s.World) > 1 && s.Samples == raw-raw%s.BatchSize:
			// data-parallel, of a gogan that cut the dataset to whole
			// batches of data.batch_size per rank, not whole global batches
			l.d.log.Warn(fmt.Sprintf("data: the checkpoint's epochs went through the first %d of the %d samples (whole batches of %d per rank, as an older gogan cut them); pix2pixHD, and gogan now, train on whole global batches of %d, the first %d: the epoch in progress goes on in another order",
				s.Samples, raw, s.BatchSize, l.o.BatchSize*l.o.world(), l.d.Len()))
			s.Samples = l.d.Len()
			if max(1, s.World) == l.o.world() {
				s.Batch = min(s.Batch, l.nb)
			}
		case s.Samples == l.d.beforeWholeBatches:
			// of a gogan that trained pix2pixHD on every sample, not whole
			// batches only (Config.WholeBatches): it goes on without the last ones
			l.d.log.Warn(fmt.Sprintf("data: the checkpoint's loader went through all %d samples; pix2pixHD, and gogan now, train on whole batches of %d only, the first %d: the epoch in progress goes on in another order, the next ones leave the last samples out",
				s.Samples, l.o.BatchSize*l.o.world(), l.d.Len()))
			s.Samples, s.Batch = l.d.Len(), min(s.Batch, l.nb)
		}
	}
	// Another number of ranks with the same global batch (8 ranks of 4 for
	// one process of 32) keeps the run's batches: the ranks' shares of a
	// global batch are one process's batch.
	sameGlobal := s.BatchSize*max(1, s.World) == l.o.BatchSize*l.o.world()
	if s.Samples != l.d.Len() || (s.BatchSize != l.o.BatchSize && !sameGlobal) || s.DropLast != l.o.DropLast || s.Shuffle != l.o.Shuffle {
		return fmt.Errorf("data: cannot resume: the checkpoint's loader had %d samples, batch_size %d, drop_last %v, shuffle %v; this one has %d, %d, %v, %v "+
			"(a run's epochs are made of its batches: resume with the run's data and data.batch_size (or, on another number of ranks, the same global batch), data.drop_last, data.serial_batches; "+
			"to train these weights on other batches, gogan export the checkpoint and gogan import the files into a new run)",
			s.Samples, s.BatchSize, s.DropLast, s.Shuffle, l.d.Len(), l.o.BatchSize, l.o.DropLast, l.o.Shuffle)
	}
	if w := max(1, s.World); w != l.o.world() {
		// Another number of ranks: continue after the samples the saved
		// position had gone through (rounded up to a whole global batch).
		seen := s.Batch * s.BatchSize * w
		gb := l.o.BatchSize * l.o.world()
		s.Batch = min((seen+gb-1)/gb, l.nb)
	}
	if s.Epoch < 0 || s.Batch < 0 || s.Batch > l.nb {
		return fmt.Errorf("data: cannot resume at epoch %d batch %d (%d batches per epoch)", s.Epoch, s.Batch, l.nb)
	}
	l.stop()
	l.permMu.Lock()
	l.plans = map[int]plan{} // they were drawn with the old seed
	l.starts = map[int]EpochStart{}
	l.given = map[int]chan struct{}{}
	l.permMu.Unlock()
	l.o.Seed = s.Seed
	l.epoch, l.batch = s.Epoch, s.Batch
	return nil
}

// Close stops the workers and releases the batches they had built, and
// closes the dataset OpenLoader opened.
func (l *Loader) Close() {
	l.stop()
	if l.owned {
		l.d.Close()
	}
}

// Next returns the next batch of the current epoch, or io.EOF once the epoch
// is over; the call after io.EOF starts the next epoch (its first batches are
// already being built). The caller releases each batch.
func (l *Loader) Next(ctx context.Context) (*Batch, error) {
	if l.batch == l.nb {
		l.epoch, l.batch = l.epoch+1, 0
		return nil, io.EOF
	}
	if e, needed := l.NeedsEpochStart(); needed {
		return nil, fmt.Errorf("data: epoch %d's start was not given (Loader.SetEpochStart)", e)
	}
	if l.o.Workers == 0 { // no goroutines: build it here
		b, err := l.build(ctx, l.epoch, l.batch)
		if err != nil {
			return nil, err
		}
		l.batch++
		return b, nil
	}
	if l.run == nil {
		l.start()
	}
	r := l.run
	var res result
	select {
	case res = <-r.slots[r.next%len(r.slots)]:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	<-r.tokens
	r.next++
	if res.err != nil {
		// The pipeline is past a batch it could not build: restart from here
		// on the next call.
		l.stop()
		return nil, res.err
	}
	l.batch++
	return res.b, nil
}

// pos maps a run's sequence number to (epoch, batch).
func (l *Loader) pos(r *run, seq int) (int, int) {
	b := r.batch0 + seq
	return r.epoch0 + b/l.nb, b % l.nb
}

func (l *Loader) start() {
	ctx, cancel := context.WithCancel(context.Background())
	k := l.inFlight()
	r := &run{ctx: ctx, cancel: cancel, epoch0: l.epoch, batch0: l.batch,
		slots: make([]chan result, k), tokens: make(chan struct{}, k)}
	for i := range r.slots {
		r.slots[i] = make(chan result, 1)
	}
	jobs := make(chan int)
	r.wg.Add(1 + l.o.Workers)
	go func() { // dispatcher: at most Prefetch batches ahead of the consumer
		defer r.wg.Done()
		defer close(jobs)
		for seq := 0; ; seq++ {
			select {
			case r.tokens <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- seq:
			case <-ctx.Done():
				return
			}
		}
	}()
	for w := 0; w < l.o.Workers; w++ {
		go func() {
			defer r.wg.Done()
			for seq := range jobs {
				e, b := l.pos(r, seq)
				bt, err := l.build(ctx, e, b)
				r.slots[seq%k] <- result{bt, err}
			}
		}()
	}
	l.run = r
}

// stop cancels the run, waits for its goroutines and releases the batches
// built but not consumed.
func (l *Loader) stop() {
	r := l.run
	if r == nil {
		return
	}
	l.run = nil
	r.cancel()
	r.wg.Wait()
	for _, s := range r.slots {
		select {
		case res := <-s:
			res.b.Release()
		default:
		}
	}
}

// plan returns (and caches) an epoch's order and draws; with TorchDraws it
// waits for SetEpochStart's.
func (l *Loader) plan(ctx context.Context, epoch int) (plan, error) {
	l.permMu.Lock()
	defer l.permMu.Unlock()
	if p, ok := l.plans[epoch]; ok {
		return p, nil
	}
	st, set := l.starts[epoch]
	for l.o.TorchDraws && !set {
		ch, ok := l.given[epoch]
		if !ok {
			ch = make(chan struct{})
			l.given[epoch] = ch
		}
		l.permMu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			l.permMu.Lock()
			return plan{}, ctx.Err()
		}
		l.permMu.Lock()
		st, set = l.starts[epoch]
	}
	var p []int
	switch {
	case st.Order != nil:
		p = slices.Clone(st.Order)
	case l.o.Shuffle:
		p = Permutation(l.d.Len(), l.o.Seed, uint64(epoch))
	default:
		p = make([]int, l.d.Len())
		for i := range p {
			p[i] = i
		}
	}
	if n, have := l.o.epochLen(len(p)), len(p); n > have && have > 0 {
		// DistributedSampler's padding: the order again from its start,
		// as many times as it takes
		for i := have; i < n; i++ {
			p = append(p, p[i-have])
		}
	}
	pl := plan{order: p}
	if st.BaseSeed != nil {
		// one process's batches: the ranks' global batch
		dr, err := l.d.ReferenceDraws(p, l.o.BatchSize*l.o.world(), l.o.ReferenceWorkers, *st.BaseSeed)
		if err != nil {
			return plan{}, err
		}
		pl.draws = dr
	}
	for e := range l.plans { // workers are at most a few epochs apart
		if e < epoch-2 {
			delete(l.plans, e)
		}
	}
	l.plans[epoch] = pl
	return pl, nil
}

// build makes batch b of epoch e.
func (l *Loader) build(ctx context.Context, e, b int) (*Batch, error) {
	pl, err := l.plan(ctx, e)
	if err != nil {
		return nil, err
	}
	lo, hi := l.o.rankBatch(b, len(pl.order))
	idx := pl.order[lo:hi]
	bt := &Batch{Epoch: e, Index: b, Indices: append([]int(nil), idx...), Draws: make([]Draws, len(idx)), alloc: l.alloc}
	for k, i := range idx {
		if pl.draws != nil {
			bt.Draws[k] = pl.draws[lo+k]
		} else {
			bt.Draws[k] = l.d.ownDraws(i, l.o.Seed, uint64(e))
		}
	}
	if l.o.IndicesOnly {
		if l.d.ClassLabels() { // a conditional recipe's, read without decoding
			bt.Labels = make([]int64, len(idx))
			for k, i := range idx {
				bt.Labels[k] = int64(l.d.LabelOf(i))
			}
		}
		return bt, nil
	}
	if l.d.HasLabels() {
		bt.Labels = make([]int64, len(idx))
	}
	for k, i := range idx {
		if ctx.Err() != nil {
			bt.Release()
			return nil, ctx.Err()
		}
		s, err := l.d.SampleWith(i, bt.Draws[k])
		if err == nil && k == 0 {
			err = l.allocate(bt, s, len(idx))
		}
		if err == nil {
			err = l.put(bt, s, k)
		}
		if err != nil {
			bt.Release()
			return nil, fmt.Errorf("data: epoch %d batch %d: %w", e, b, err)
		}
		if bt.Labels != nil {
			bt.Labels[k] = int64(s.Label)
		}
	}
	return bt, nil
}

func (l *Loader) allocate(bt *Batch, s Sample, n int) error {
	mk := func(ni NamedImage) error {
		if ni.Lab != NotLab && l.o.DType != "float32" {
			return fmt.Errorf("%s holds CIE Lab values, which a %s batch cannot: use float32", ni.Name, l.o.DType)
		}
		im := ni.Image
		bt.Tensors = append(bt.Tensors, Tensor{Name: ni.Name, Shape: [4]int{n, ni.Channels(), im.H, im.W}, Raw: ni.Raw})
		t := &bt.Tensors[len(bt.Tensors)-1]
		size := t.Numel()
		if l.o.DType == "float32" {
			size *= 4
		}
		buf, err := l.alloc.Alloc(size)
		if err != nil {
			return fmt.Errorf("allocating a %v batch: %w", t.Shape, err)
		}
		if len(buf) < size {
			return fmt.Errorf("allocator returned %d bytes, want %d", len(buf), size)
		}
		t.Buf = buf[:size]
		if l.o.DType == "float32" {
			if uintptr(unsafe.Pointer(unsafe.SliceData(buf)))%4 != 0 {
				return errors.New("allocator returned memory not aligned to 4 bytes")
			}
			t.F32 = unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(buf))), size/4)
		} else {
			t.U8 = t.Buf
		}
		return nil
	}
	for _, im := range s.Images() {
		if err := mk(im); err != nil {
			return err
		}
	}
	return nil
}

func (l *Loader) put(bt *Batch, s Sample, k int) error {
	for _, im := range s.Images() {
		t := bt.Tensor(im.Name)
		if t == nil {
			return fmt.Errorf("sample %d has an image %s, the batch's first sample has none", s.Index, im.Name)
		}
		sh := t.Shape
		if im.Channels() != sh[1] || im.Image.H != sh[2] || im.Image.W != sh[3] {
			return fmt.Errorf("sample %d's %s is %dx%dx%d, the batch's first is %dx%dx%d", s.Index, im.Name, im.Channels(), im.Image.H, im.Image.W, sh[1], sh[2], sh[3])
		}
		if im.Raw != t.Raw {
			return fmt.Errorf("sample %d's %s is raw %v, the batch's first is raw %v", s.Index, im.Name, im.Raw, t.Raw)
		}
		n := sh[1] * sh[2] * sh[3]
		switch {
		case t.F32 != nil:
			im.PutCHW(t.F32[k*n : (k+1)*n])
		default:
			putCHWU8(im.Image, t.U8[k*n:(k+1)*n])
		}
	}
	return nil
}
