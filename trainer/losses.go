package trainer

import (
	"fmt"
	"time"

	torch "gogan/cgo"
	"gogan/report"
	"gogan/runfolder"
)

// trainedStep is a step whose losses may still be on the device.
type trainedStep struct {
	step, epoch int
	lr          float64
	images      int                // this step's, every rank's
	seen        int64              // the run's, through this step
	at          time.Time          // when the step ended
	onDevice    *torch.Tensor      // the losses, until read; nil when read already (several ranks)
	losses      map[string]float64 // read
}

// lossReader keeps the steps whose losses are still on the device and reads
// them in one copy every train.losses_every steps, and whenever the loop
// needs them (a checkpoint, a sample, an epoch's end, the last step): a GPU
// then runs step after step without the host waiting for each. Each step
// read is then handled as the loop would have right after it: the NaN
// guard, the epoch mean, the progress line, metrics.csv and TensorBoard.
type lossReader struct {
	s       *session
	every   int
	max     int
	metrics *runfolder.MetricsWriter // nil on ranks other than 0
	pb      *report.Progress
	onStep  func(int, map[string]float64)
	pending []trainedStep
	since   time.Time // images/s covers the steps read together, from here
	// last is the last step read and its images/s; logged the step of
	// metrics.csv's last row this session (rowOfStop).
	last    trainedStep
	lastIPS float64
	logged  int
}

// lossesEvery is train.losses_every, its default resolved.
func (s *session) lossesEvery() int {
	switch n := s.cfg.Train.LossesEvery; {
	case s.job != nil:
		return 1 // the ranks agree after every step anyway
	case n > 0:
		return n
	case s.dev.IsCUDA():
		return s.cfg.Train.LogEvery
	default:
		return 1
	}
}

// restartClock starts images/s's count afresh (after work that is not
// training: checkpoints, samples).
func (r *lossReader) restartClock() { r.since = time.Now() }

// add records a trained step and reads the pending ones when they are
// train.losses_every or the caller needs them now.
func (r *lossReader) add(st trainedStep, now bool) error {
	r.pending = append(r.pending, st)
	if now || len(r.pending) >= r.every || st.step == r.max {
		return r.read()
	}
	return nil
}

// read copies the pending steps' losses to the host (one copy) and handles
// them in order. A non-finite loss stops at its step with a *NonFiniteError.
func (r *lossReader) read() error {
	if len(r.pending) == 0 {
		return nil
	}
	s := r.s
	names := s.rec.LossNames()
	var onDevice []*torch.Tensor
	for _, p := range r.pending {
		if p.onDevice != nil {
			onDevice = append(onDevice, p.onDevice)
		}
	}
	var vals []float32
	if len(onDevice) > 0 {
		if err := torch.Try(func() {
			sc := torch.NewScope()
			defer sc.Close()
			vals = torch.Cat(onDevice, 0).Float32s()
		}); err != nil {
			r.discard()
			return fmt.Errorf("reading the losses of steps %d-%d: %w", r.pending[0].step, r.pending[len(r.pending)-1].step, err)
		}
	}
	images := 0
	for _, p := range r.pending {
		images += p.images
	}
	ips := float64(images) / time.Since(r.since).Seconds()
	r.since = time.Now()
	pending := r.pending
	r.discard()
	for _, p := range pending {
		losses := p.losses
		if p.onDevice != nil {
			losses = s.lossMap(vals)
			vals = vals[len(names):]
		}
		if err := CheckFinite(losses, p.step); err != nil {
			return err
		}
		s.last = losses
		s.sum += losses[s.plateauLoss()]
		s.n++
		r.pb.Update(p.step, p.epoch+1, ips, losses)
		if r.onStep != nil {
			r.onStep(p.step, losses)
		}
		p.losses = losses
		r.last, r.lastIPS = p, ips
		if p.step%s.cfg.Train.LogEvery == 0 || p.step == r.max {
			if err := r.row(p, ips); err != nil {
				return err
			}
		}
	}
	return nil
}

// row writes a step's metrics.csv row and TensorBoard scalars (rank 0).
func (r *lossReader) row(p trainedStep, ips float64) error {
	if r.metrics == nil {
		return nil
	}
	if err := r.metrics.Write(p.step, p.epoch, p.seen, p.at, p.losses, p.lr, ips); err != nil {
		return err
	}
	r.s.logScalars(p.step, p.lr, p.losses, ips)
	r.logged = p.step
	return nil
}

// rowOfStop writes the row of the step a stop (a signal) came after where
// train.log_every gave it none, so that metrics.csv ends at the step its
// checkpoint holds (a resume keeps the rows up to its checkpoint's step
// and goes on after it). Call it after read.
func (r *lossReader) rowOfStop() error {
	if r.last.losses == nil || r.logged == r.last.step {
		return nil // no step this session, or its row is written
	}
	return r.row(r.last, r.lastIPS)
}

// discard frees the pending steps' device tensors, unread.
func (r *lossReader) discard() {
	for _, p := range r.pending {
		p.onDevice.Free()
	}
	r.pending = nil
}
