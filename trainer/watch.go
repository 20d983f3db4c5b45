package trainer

import (
	"fmt"
	"image"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gogan/runfolder"
	"gogan/tensorboard"
)

// What a person watching the run sees besides the progress bar and the
// report: RUN/status.json (gogan runs) and TensorBoard events in RUN/tb.
// Neither may stop training: a failed write is logged and, for TensorBoard,
// ends the event file; checkpoints carry the run.

// startWatch marks the run as running and opens a new event file (a
// resumed run gets its own, whose steps continue the earlier ones).
func (s *session) startWatch() {
	host, _ := os.Hostname()
	s.status = runfolder.Status{State: runfolder.StateRunning, Recipe: s.cfg.Recipe, Step: s.step, Total: s.maxSteps(),
		PID: os.Getpid(), Host: host, Started: time.Now().UTC()}
	if s.job != nil {
		s.status.Job = s.job.ID()
	}
	if old, err := s.rd.ReadStatus(); err == nil && s.resumed {
		// A second signal's "stopped" gives the newest checkpoint's step,
		// though the session trained, and drew grids, past it.
		quit := strings.HasPrefix(old.Detail, quitDetail)
		s.endedHere = (old.State == runfolder.StateStopped && !quit || old.State == runfolder.StateFinished) && old.Step == s.step
	}
	s.writeStatus()
	if !s.resumed {
		s.dropStaleEvents() // also without events of its own: they are not this run's
	}
	if !s.cfg.Logging.TensorBoard {
		return
	}
	if s.step > 0 && s.step >= s.maxSteps() {
		// a resume of a run that has trained its steps logs nothing: no
		// file of its own beside the run's
		return
	}
	tb, err := tensorboard.Create(s.rd.TensorBoardDir())
	if err != nil {
		slog.Warn("logging.tensorboard: no event file; training goes on without it", "err", err)
		return
	}
	s.tb, s.tbImageStep = tb, -1
	// Every session marks its start at the first step it logs: TensorBoard
	// takes the first mark as the run's start and each later one as a
	// restart, dropping what an earlier session logged from that step on
	// (a session killed after its newest checkpoint logged steps this one
	// trains again).
	s.tbWrite(func() error { return s.tb.SessionStart(int64(s.step) + 1) })
	if y, err := s.cfg.YAML(); err == nil {
		s.tbWrite(func() error { return s.tb.Text(int64(s.step), "config", "```yaml\n"+string(y)+"```") })
	}
}

// dropStaleEvents removes the event files a fresh run finds in its folder:
// those of an earlier attempt that never wrote a checkpoint (train refuses
// a folder with one), whose metrics.csv the new run replaces too. Left,
// TensorBoard would draw the dead attempt's steps over the new run's.
func (s *session) dropStaleEvents() {
	old, _ := filepath.Glob(filepath.Join(s.rd.TensorBoardDir(), "events.out.tfevents.*"))
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			slog.Warn("logging.tensorboard: an earlier attempt's event file stays", "file", f, "err", err)
		}
	}
	if len(old) > 0 {
		slog.Info("logging.tensorboard: removed the event files of an earlier attempt without a checkpoint", "files", len(old))
	}
}

func (s *session) writeStatus() {
	s.statusMu.Lock()
	defer s.statusMu.Unlock()
	if s.quit {
		return // a second signal's status stands
	}
	s.status.Step = s.step
	s.written = s.status
	if s.folderReplaced() != nil {
		return // the next checkpoint or grid stops the run
	}
	if err := s.rd.WriteStatus(s.status); err != nil {
		slog.Warn("run status", "err", err)
	}
}

// quitDetail begins the status detail of a second signal's exit, which
// stopped the run without a checkpoint of its last step.
const quitDetail = "quit by a second "

// quitStatus records a second signal's exit (Shutdown.OnQuit, on the
// signal's goroutine: it reads the status last written, whose step is the
// newest checkpoint's, and no status is written after it).
func (s *session) quitStatus(sig os.Signal) {
	s.statusMu.Lock()
	defer s.statusMu.Unlock()
	s.quit = true
	if s.written.State == "" {
		return
	}
	st := s.written
	st.State = runfolder.StateStopped
	st.Detail = fmt.Sprintf(quitDetail+"%s (resume goes on from the newest checkpoint, step %d)", SignalName(sig), st.Step)
	if cks, err := runfolder.ListCheckpoints(s.rd.Path); err == nil && len(cks) == 0 {
		// No checkpoint yet (a new run stopped before its first): resume has
		// nothing to go on from; train with the same out starts it again.
		st.Detail = fmt.Sprintf(quitDetail+"%s before the run's first checkpoint (nothing to resume: gogan train with its config and out starts it again)", SignalName(sig))
	}
	s.rd.WriteStatus(st)
}

// tbWrite runs one TensorBoard write; after a failure the run stops writing
// events rather than failing on every step.
func (s *session) tbWrite(f func() error) {
	if s.tb == nil {
		return
	}
	if err := f(); err != nil {
		slog.Warn("logging.tensorboard: stopped writing events", "file", s.tb.Path(), "err", err)
		s.tb.Close()
		s.tb = nil
	}
}

// logScalars writes a metrics row's values as scalars: each loss, each
// optimizer's learning rate and the throughput.
func (s *session) logScalars(step int, lr float64, losses map[string]float64, ips float64) {
	if s.tb == nil {
		return
	}
	var vs []tensorboard.Scalar
	for _, name := range s.rec.LossNames() {
		vs = append(vs, tensorboard.Scalar{Tag: "loss/" + name, Value: losses[name]})
	}
	for _, o := range s.rec.Optimizers() {
		vs = append(vs, tensorboard.Scalar{Tag: "lr/" + o.Name, Value: lr})
	}
	vs = append(vs, tensorboard.Scalar{Tag: "speed/images_per_s", Value: ips})
	s.tbWrite(func() error { return s.tb.Scalars(int64(step), vs) })
}

// logImage writes a sample grid, once a step: a sample step that is also
// an epoch's end or the run's last draws the grid again for the epoch's
// file, and TensorBoard's Python loader would list both.
func (s *session) logImage(img image.Image) {
	if s.tb == nil || s.tbImageStep == s.step {
		return
	}
	s.tbImageStep = s.step
	s.tbWrite(func() error { return s.tb.Image(int64(s.step), "samples", img) })
}

// checkpointed records a checkpoint in the status and makes the events so
// far durable with it.
func (s *session) checkpointed() {
	s.writeStatus()
	s.tbWrite(func() error { return s.tb.Flush() })
}

// endWatch records how the run ended.
func (s *session) endWatch(res *Result, err error) {
	switch {
	case err != nil:
		s.status.State = runfolder.StateFailed
		s.status.Detail, _, _ = strings.Cut("failed: "+err.Error(), "\n")
	case res.Signal != nil:
		s.status.State = runfolder.StateStopped
		s.status.Detail = fmt.Sprintf("stopped by %s at step %d", SignalName(res.Signal), s.step)
	default:
		s.status.State, s.status.Detail = runfolder.StateFinished, ""
	}
	s.writeStatus()
	if err != nil {
		// The page said "training" and kept reloading; it says what
		// status.json says (a stop or the end wrote its own already).
		s.report("failed: "+err.Error(), finalPage)
	}
	if s.tb != nil {
		s.tbWrite(func() error { return s.tb.Close() })
		s.tb = nil
	}
}
