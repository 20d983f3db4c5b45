package trainer

import (
	"errors"
	"fmt"
	"image"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"time"

	torch "gogan/cgo"
	"gogan/gan"
	"gogan/report"
)

// writeSample renders the recipe's visuals to latest.png and to the other
// paths given (the epoch's file).
func (s *session) writeSample(also ...string) error {
	if _, ok := s.rec.(gan.Visualizer); !ok {
		return nil
	}
	if err := s.syncBuffers(); err != nil {
		return fmt.Errorf("sample grid: %w", err)
	}
	if !s.lead {
		return nil
	}
	return s.drawSample(also...)
}

// drawMissedEpochGrid draws the grid of the epoch whose end the run resumes
// from, where the folder lacks it: an epoch's end writes its checkpoint
// first, so a run killed (SIGKILL) before the grid that follows goes on
// from a closed epoch without it. The weights are the checkpoint's, the
// ones the grid is drawn from, and drawing changes nothing of the run, so
// the grid is the one a run that never stopped draws. Rank 0 alone, as it
// draws every grid (writeSample's syncBuffers sends rank 0's buffers to the
// others; a resumed rank 0's are the checkpoint's).
func (s *session) drawMissedEpochGrid() error {
	if !s.lead || !s.resumed || s.resumedImport || s.epoch == 0 || !s.atCheckpoint() {
		return nil // an import's epochs were trained elsewhere
	}
	if p := s.position(); p.Epoch != s.epoch || p.Batch != 0 {
		return nil
	}
	path := s.rd.EpochSamplePath(s.epoch)
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if _, ok := s.rec.(gan.Visualizer); !ok {
		return nil
	}
	slog.Info("resume: drawing the grid of the epoch the checkpoint ends, which the stopped run had not written", "grid", path)
	return s.drawSample(path)
}

// dropAbandonedGrids keeps a resumed run's grids to the steps it goes on
// from, as OpenMetrics keeps metrics.csv's rows and TensorBoard drops the
// events of later steps (startWatch): the epochs' grids past the epochs
// the checkpoint completed go (a resume from an older checkpoint, or
// after a damaged newest one), and where the session before may have
// drawn grids after the checkpoint (killed, or stopped at a later one),
// latest.png is drawn again from the checkpoint's weights (the grid a run
// at that step shows) and real_samples.png, the batch of a step that
// cannot be told, goes until the next grid. Rank 0 alone, as it draws.
func (s *session) dropAbandonedGrids() error {
	if !s.lead || !s.resumed {
		return nil
	}
	eps, err := s.rd.EpochSamples()
	if err != nil {
		slog.Warn("resume: the samples folder could not be read", "err", err)
	}
	for _, e := range eps {
		if e.Epoch <= s.epoch {
			continue
		}
		if err := os.Remove(e.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
			slog.Warn("resume: the grid of an epoch the run trains again stays until that epoch ends", "grid", e.Path, "err", err)
		}
	}
	if s.endedHere {
		return nil
	}
	if err := os.Remove(s.rd.RealSamplePath()); err != nil && !errors.Is(err, os.ErrNotExist) {
		slog.Warn("resume: real_samples.png, of a step the run may train again, stays until the next grid", "err", err)
	}
	if _, err := os.Stat(s.rd.LatestSamplePath()); err != nil {
		return nil // none drawn yet: the first grid comes as in a run that never stopped
	}
	if _, ok := s.rec.(gan.Visualizer); !ok {
		return nil
	}
	img, err := s.renderSample()
	if err != nil {
		return err
	}
	// Not to TensorBoard: its grid of this step, where the stopped run
	// drew one, stands (TensorBoard drops the later steps' alone).
	return s.saveLatest(img)
}

// renderSample draws the recipe's grid on rank 0 once the buffers agree.
func (s *session) renderSample() (*image.NRGBA, error) {
	v := s.rec.(gan.Visualizer)
	// Rank 0 draws the grid alone: its BatchNorm uses the grid's statistics,
	// as one process's would.
	s.syncBN(false)
	var img *image.NRGBA
	var err error
	// A torch op the recipe's Visuals get refused (out of memory, a bug)
	// panics with *torch.Error, as in Step: it is the grid's error, not a
	// crash of the run (as RealVisuals' below).
	if terr := torch.Try(func() { img, err = v.Visuals() }); terr != nil {
		err = terr
	}
	s.syncBN(true)
	if err != nil {
		return nil, s.gridErr(err, false)
	}
	return img, nil
}

// saveLatest writes img to latest.png, in the run's own folder only.
func (s *session) saveLatest(img *image.NRGBA) error {
	if err := s.folderReplaced(); err != nil {
		return err
	}
	if err := report.SavePNG(s.rd.LatestSamplePath(), img); err != nil {
		return s.gridErr(err, true)
	}
	return nil
}

// drawSample is writeSample's drawing, on rank 0 once the buffers agree.
func (s *session) drawSample(also ...string) error {
	img, err := s.renderSample()
	if err != nil {
		return err
	}
	if err := s.saveLatest(img); err != nil {
		return err
	}
	if s.realGrid != nil {
		if err := report.SavePNG(s.rd.RealSamplePath(), s.realGrid); err != nil {
			return s.gridErr(err, true)
		}
		s.realGrid = nil
	}
	s.logImage(img)
	for _, p := range also {
		if err := report.SavePNG(p, img); err != nil {
			return s.gridErr(err, true)
		}
	}
	return nil
}

// takeRealGrid keeps the grid of the batch the step about to run trains
// on, where the sample grid is drawn after that step (sample) and the
// recipe's reference saves one (rank 0; main.py writes its real_samples.png
// with each fake_samples grid).
func (s *session) takeRealGrid(b *stagedBatch, sample bool) error {
	rv, ok := s.rec.(gan.RealVisualizer)
	if !ok || !sample || !s.lead {
		return nil
	}
	var err error
	if terr := torch.Try(func() {
		b.wait() // the batch's copies to the device
		s.realGrid, err = rv.RealVisuals(b.inputs)
	}); terr != nil {
		err = terr
	}
	if err != nil {
		return fmt.Errorf("the real batch's grid: %w", err)
	}
	return nil
}

// gridErr says how to go on after a grid that could not be drawn, or
// written (writing). The step's training is kept first (drawing changes no
// weight): its checkpoint is written already where it has one, and written
// now where it has none (train.sample_every apart from checkpoint_every). A
// full disk, or a file past the file-size limit, is said by run, as for any
// write.
func (s *session) gridErr(err error, writing bool) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) || errors.Is(err, syscall.EFBIG) {
		return err
	}
	if s.unsaved() {
		if err := s.checkpointBefore(fmt.Errorf("sample grid: %w", err)); err != nil {
			return err
		}
	}
	fix := "fix that"
	if writing {
		fix = fmt.Sprintf("fix that (the run's grids go into %s)", s.rd.SamplesDir())
	}
	if s.ckpt == "" {
		return fmt.Errorf("sample grid: %w\n%s, then run the same gogan train command again (no checkpoint was written yet)", err, fix)
	}
	return fmt.Errorf("sample grid: %w\nthe newest good checkpoint is %s: %s, then continue with %s",
		err, s.ckpt, fix, ResumeCommand(s.rd.Path))
}

// page says whether the report page keeps refreshing (a run in progress).
type page bool

const (
	livePage  page = true
	finalPage page = false
)

// reportProgress writes the live page of a run at s.step of max steps:
// every rewrite (a sample grid's, an epoch's end) says the step and the
// epochs done alike.
func (s *session) reportProgress(max int) {
	s.report(fmt.Sprintf("training: step %d of %d, %d of %d epochs done", s.step, max, s.epoch, s.totalEpochs()), livePage)
}

func (s *session) report(status string, p page) {
	if !s.lead || s.folderReplaced() != nil {
		return // the next checkpoint or grid stops the run
	}
	if s.lossPlot == nil {
		s.lossPlot = report.NewLossPlotter(s.rd.MetricsPath(), s.rd.LossPlotPath(), s.cfg.Recipe+" losses")
		if g, ok := s.rec.(gan.LossGrouper); ok {
			s.lossPlot.SetGroups(g.LossGroups())
		}
	}
	if err := s.lossPlot.Write(); err != nil {
		slog.Debug("loss plot", "err", err) // no rows yet
	}
	if n := s.ranks(); n > 1 {
		// config.yaml's data.batch_size is per rank: the page says the
		// step's batch, which nothing else in the run folder shows.
		status += fmt.Sprintf(" · data-parallel job of %d ranks: global batch %d (data.batch_size %d per rank)", n, n*s.cfg.Data.BatchSize, s.cfg.Data.BatchSize)
	}
	info := report.ReportInfo{Title: filepath.Base(s.rd.Path) + " (" + s.cfg.Recipe + ")", Status: status, Live: bool(p), EpochsDone: s.epoch}
	if l, ok := s.rec.(gan.VisualsLayout); ok {
		info.Layout = l.VisualsLayout()
	}
	if p == livePage {
		info.DueBy = s.reportDue()
		run, _ := filepath.Abs(s.rd.Path) // the page is read elsewhere than the trainer's folder
		info.RunsCommand, info.ResumeCommand = gan.Command("gogan", "runs", gan.PathArg(filepath.Dir(run))), ResumeCommand(run)
	}
	if err := report.WriteReport(s.rd, info); err != nil {
		slog.Warn("report", "err", err)
	}
}

// reportDue is when the live page is rewritten next at the latest: at the
// next sample grid or epoch end, at three times the pace of the steps since
// the last rewrite (a slower stretch), twice the last checkpoint's time (an
// epoch's end writes one before its page), and two minutes more for what
// neither shows. Zero before the pace is known, or past a century (a pace
// taken across a suspend).
func (s *session) reportDue() time.Time {
	now := time.Now()
	if steps := s.step - s.reportStep; steps > 0 {
		s.pace = now.Sub(s.reportAt) / time.Duration(steps)
	}
	s.reportAt, s.reportStep = now, s.step
	if s.pace <= 0 {
		return time.Time{}
	}
	next := s.loader.BatchesPerEpoch()
	if p := s.position(); p.Epoch == s.epoch {
		next -= p.Batch
	}
	if se := s.cfg.Train.SampleEvery; se > 0 {
		next = min(next, se-s.step%se)
	}
	wait := 3*s.pace.Seconds()*float64(max(next, 1)) + 2*s.ckptTook.Seconds() + 120
	if wait > 100*365*24*3600 {
		return time.Time{}
	}
	return now.Add(time.Duration(wait * float64(time.Second)))
}
