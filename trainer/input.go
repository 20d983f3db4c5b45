package trainer

import (
	"cmp"
	"context"
	"fmt"

	torch "gogan/cgo"
	"gogan/data"
	"gogan/gan"
)

// stagedBatch is a batch taken from the loader with its tensors on the way
// to the device. On CUDA its pinned host buffers are copied on a copy stream
// into one of two device buffers while the previous step still runs; the
// step waits for the copies on the device, not on the host.
type stagedBatch struct {
	batch  *data.Batch
	err    error            // io.EOF at an epoch's end, or the loader's error
	from   data.LoaderState // the loader's position before it was taken
	inputs gan.Batch        // the batch's named tensors on the device
	slot   int              // the staging buffers its copies went to; -1: none
	events []*torch.Event
	owned  []*torch.Tensor // tensors made for this batch alone, freed with it
}

// wait orders the current stream after the batch's copies.
func (st *stagedBatch) wait() {
	for _, ev := range st.events {
		ev.Wait()
	}
}

// release frees the batch's tensors and gives its host buffers back to the
// loader once the copies out of them are done (the host waits for those,
// not for the step: the loader may refill a buffer while the step runs).
// On the CPU the batch tensors are the host buffers themselves: the step
// that used them must have finished.
func (st *stagedBatch) release() {
	for _, ev := range st.events {
		if err := torch.Try(ev.Synchronize); err != nil && st.batch != nil {
			st.batch = nil // a buffer whose copy may still run is never reused
		}
		ev.Free()
	}
	st.events = nil
	for _, t := range st.owned {
		t.Free()
	}
	st.owned = nil
	if st.batch != nil {
		st.batch.Release()
		st.batch = nil
	}
}

// markConsumed records, on the device, the end of the step just queued on
// st's staging buffers: the next copy into them waits for it.
func (s *session) markConsumed(st *stagedBatch) {
	if st.slot < 0 {
		return
	}
	for _, t := range st.inputs {
		s.consumed[st.slot].Free()
		s.consumed[st.slot] = torch.RecordEvent(t)
		return
	}
}

// nextBatch returns the batch taken ahead by prefetch, or takes one now.
func (s *session) nextBatch(ctx context.Context) *stagedBatch {
	if st := s.ahead; st != nil {
		s.ahead = nil
		return st
	}
	return s.take(ctx)
}

// prefetch takes the next batch and starts its copy to the device, so that
// the copy overlaps the step just launched. The loader's position before it
// is what checkpoints record until that batch is trained on.
func (s *session) prefetch(ctx context.Context) {
	if s.ahead != nil {
		return
	}
	s.ahead = s.take(ctx)
}

// putBack returns a batch that will not be trained on (released), so that
// checkpoints record the loader's position before it: a resumed run takes
// it again.
func (s *session) putBack(st *stagedBatch) {
	st.release()
	s.ahead = st
}

// position is the loader's position after the last batch trained on.
func (s *session) position() data.LoaderState {
	if s.ahead != nil {
		return s.ahead.from
	}
	return s.loader.State()
}

// take takes the next batch from the loader, noting where the loader stood:
// after an epoch's start drew, so that the position holds its seeds.
func (s *session) take(ctx context.Context) *stagedBatch {
	if s.loader.AtEpochStart() {
		var err error
		if terr := torch.Try(func() { err = s.epochStart() }); terr != nil || err != nil {
			return &stagedBatch{err: fmt.Errorf("epoch start: %w", cmp.Or(terr, err))}
		}
	}
	from := s.loader.State()
	st := s.takeNext(ctx)
	st.from = from
	return st
}

func (s *session) takeNext(ctx context.Context) *stagedBatch {
	b, err := s.loader.Next(ctx)
	if err != nil {
		return &stagedBatch{err: err}
	}
	st := &stagedBatch{batch: b, inputs: gan.Batch{}, slot: -1}
	if s.resident != nil {
		if err := torch.Try(func() {
			st.inputs, st.owned = s.resident.batch(b.Indices, b.Draws)
			s.putLabels(st, b.Labels)
		}); err != nil {
			st.release()
			return &stagedBatch{err: fmt.Errorf("batch on %s: %w", s.dev, err)}
		}
		return st
	}
	slot := s.slot
	s.slot ^= 1
	if err := torch.Try(func() {
		for _, t := range b.Tensors {
			st.inputs[t.Name] = s.upload(st, t, slot)
		}
		s.putLabels(st, b.Labels)
	}); err != nil {
		st.release()
		return &stagedBatch{err: fmt.Errorf("batch to %s: %w", s.dev, err)}
	}
	return st
}

// putLabels gives a recipe that takes them the batch's class labels
// (gan.LabelInput: float32 class ids, N values). On CUDA they go through a
// pinned copy on the current stream (Upload): a pageable one (To) would make
// the host wait there for the step just queued, which prefetch overlaps.
func (s *session) putLabels(st *stagedBatch, labels []int64) {
	if !s.takesLabels {
		return
	}
	ids := make([]float32, len(labels))
	for i, l := range labels {
		ids[i] = float32(l)
	}
	d := torch.FromFloat32(ids, int64(len(ids))).Upload(s.dev).Persist()
	st.owned = append(st.owned, d)
	st.inputs[gan.LabelInput] = d
}

// upload puts one input of a host batch on the device: the pool's tensor
// itself (no copy) on the CPU; on CUDA, a copy-stream copy from the pinned
// buffer into staging buffer slot; a copy of Go memory when the pool had no
// buffer free.
func (s *session) upload(st *stagedBatch, t data.Tensor, slot int) *torch.Tensor {
	shape := []int64{int64(t.Shape[0]), int64(t.Shape[1]), int64(t.Shape[2]), int64(t.Shape[3])}
	var host *torch.Tensor
	if s.pool != nil {
		host = s.pool.tensorOf(t.Buf)
	}
	if host == nil {
		d := torch.FromFloat32(t.F32, shape...).To(s.dev).Persist()
		st.owned = append(st.owned, d)
		return d
	}
	host = host.View(shape...).Persist()
	st.owned = append(st.owned, host)
	if !s.dev.IsCUDA() {
		return host
	}
	dst := s.stagingBuffer(t.Name, slot, shape)
	st.events = append(st.events, torch.CopyOnSideStream(dst, host, s.consumed[slot]))
	st.slot = slot
	return dst
}

// stagingBuffer is the device buffer for input name in slot (0 or 1) and
// the given shape; two slots let one batch's copy overlap the step on the
// other. A new buffer waits for the device once, so that its memory is not
// still in use by work queued on the default stream when the copy stream
// writes it.
func (s *session) stagingBuffer(name string, slot int, shape []int64) *torch.Tensor {
	key := fmt.Sprintf("%s%d%v", name, slot, shape)
	if t, ok := s.staging[key]; ok {
		return t
	}
	t := torch.Empty(torch.Float32, s.dev, false, shape...).Persist()
	if err := torch.CUDASynchronize(s.dev.Index); err != nil {
		panic(&torch.Error{Op: "staging", Msg: err.Error()})
	}
	if s.staging == nil {
		s.staging = map[string]*torch.Tensor{}
	}
	s.staging[key] = t
	return t
}

func (s *session) freeInput() {
	if s.ahead != nil {
		s.ahead.release()
		s.ahead = nil
	}
	for _, t := range s.staging {
		t.Free() // record_stream keeps the memory until its copies are done
	}
	s.staging = nil
	for i, ev := range s.consumed {
		ev.Free()
		s.consumed[i] = nil
	}
}

// epochStart takes from the CPU generator what the references' torch
// DataLoader takes as an epoch's iterator starts: its workers' base seed,
// from which the epoch's crops, flips and random B picks are drawn as its
// workers draw them (data.reference_workers), and, shuffling,
// RandomSampler's seed, whose randperm is the epoch's order. The batches,
// and the noise drawn after them (on the CPU also the dropout masks), are
// then the references' step for step. Every rank of a job draws the same
// and takes rank 0's seeds, so that all split one order with one set of
// draws (as one process with the global batch has them). Once per epoch:
// a take that waited in vain (a signal) does not draw again, and a
// checkpoint taken then records that the draws are taken
// (LoaderState.Started).
func (s *session) epochStart() error {
	st := s.loader.State()
	if s.drawnFor == st.Epoch+1 {
		return nil
	}
	s.drawnFor = st.Epoch + 1
	seeds := []int64{torch.DrawCPUSeed()}
	if st.Shuffle {
		seeds = append(seeds, torch.DrawCPUSeed())
	}
	if s.job != nil {
		sc := torch.NewScope()
		defer sc.Close()
		t := torch.FromInt64(seeds, int64(len(seeds))).To(s.dev)
		torch.Broadcast([]*torch.Tensor{t}, 0)
		seeds = t.To(torch.CPUDevice).Int64s()
	}
	e, needed := s.loader.NeedsEpochStart()
	if !needed {
		return nil
	}
	es := data.EpochStart{BaseSeed: &seeds[0]}
	if st.Shuffle {
		es.OrderSeed = &seeds[1]
		es.Order = torch.RandpermSeeded(s.loader.Dataset().Len(), uint64(seeds[1]))
	}
	return s.loader.SetEpochStart(e, es)
}

// loaderState is the loader's position as a checkpoint records it: an
// epoch whose start drew but whose first batch was not trained on is
// marked Started.
func (s *session) loaderState() data.LoaderState {
	pos := s.position()
	pos.Started = pos.Batch == 0 && s.drawnFor == pos.Epoch+1
	return pos
}

// restoreEpochStart gives a resumed loader the start of the epoch in
// progress: torch's randperm of the order seed the checkpoint recorded and
// its base seed; from a checkpoint without them (an older gogan's, an
// import's), the loader's own Permutation and the samples' own draws.
// started: the checkpoint's epoch start drew already (LoaderState.Started).
func (s *session) restoreEpochStart(lst data.LoaderState) error {
	st := s.loader.State()
	if st.Batch == 0 && !lst.Started {
		return nil // the epoch's start draws when it comes
	}
	s.drawnFor = st.Epoch + 1 // the epoch's draws are in the restored generator
	es := data.EpochStart{BaseSeed: lst.BaseSeed, OrderSeed: lst.OrderSeed}
	if st.Shuffle {
		n := s.loader.Dataset().Len()
		if lst.OrderSeed == nil {
			es.Order = data.Permutation(n, st.Seed, uint64(st.Epoch))
		} else if err := torch.Try(func() { es.Order = torch.RandpermSeeded(n, uint64(*lst.OrderSeed)) }); err != nil {
			return err
		}
	}
	return s.loader.SetEpochStart(st.Epoch, es)
}
