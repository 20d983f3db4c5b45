package trainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"time"

	torch "gogan/cgo"
	"gogan/config"
	"gogan/data"
	"gogan/gan"
	"gogan/runfolder"
)

// keepsStepsAt says whether a run stopping at err checkpoints the steps it
// trained since its last checkpoint: err is a file the open did not read
// whole (large folders, LSUN) failing as its batch came, or an image of a
// size the networks cannot take (sizeError; its batch put back). The
// networks are as the last step left them and the loader stands at that
// batch, so once the file is fixed, resume goes on as an uninterrupted run
// would; without it an epoch of 20000 steps could be lost. With several
// ranks the others are not at a checkpoint together: they stop as before.
func (s *session) keepsStepsAt(err error) bool {
	var bad *data.FileError
	var size *sizeError
	var lim *data.LimitError
	return (errors.As(err, &bad) || errors.As(err, &size) || errors.As(err, &lim)) && s.unsaved()
}

// checkpointBefore writes the checkpoint of a run stopping at stop, so that
// its steps are kept; nil when it is written, else stop joined with the
// checkpoint's failure (both kept for errors.Is: a full disk is said as
// such).
func (s *session) checkpointBefore(stop error) error {
	if err := s.checkpoint(); err != nil {
		return errors.Join(stop, fmt.Errorf("and the checkpoint of step %d failed: %w", s.step, err))
	}
	return nil
}

// unsaved says whether a run alone has trained steps since its last
// checkpoint (with several ranks, a checkpoint needs them all: a rank's
// own failure cannot call one).
func (s *session) unsaved() bool {
	return s.job == nil && s.lead && s.step > 0 && !s.atCheckpoint()
}

// atCheckpoint says whether the last checkpoint holds the current step
// (every rank knows: they write it together).
func (s *session) atCheckpoint() bool { return s.ckpt != "" && s.ckptAt == s.step }

// checkpoint writes the complete state after the current step (rank 0; the
// other ranks hand it their buffers first).
func (s *session) checkpoint() error {
	defer func(start time.Time) { s.ckptTook = time.Since(start) }(time.Now())
	if err := s.syncBuffers(); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	outer := torch.NewScope()
	defer outer.Close()
	var perRank []torch.Named
	if err := torch.Try(func() { perRank = s.gatherRankState() }); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if !s.lead {
		s.ckpt, s.ckptAt = "(on rank 0)", s.step
		return nil
	}
	if err := s.folderReplaced(); err != nil {
		return err
	}
	var ws []torch.Named
	rng := map[string][]byte{}
	if err := torch.Try(func() {
		sc := torch.NewScope()
		defer sc.Close()
		ws = append(s.weights(), perRank...)
		rng["cpu"] = torch.RNGState(torch.CPUDevice).Bytes()
		if s.dev.IsCUDA() {
			rng[s.dev.String()] = torch.RNGState(s.dev).Bytes()
		}
	}); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	ls := loopState{Schedule: s.sched, OptSteps: map[string]int64{}, EpochSum: s.sum, EpochN: s.n, ImportedSamples: s.importedSamples}
	if sc := s.prec.Scaler; sc != nil {
		st := sc.State()
		ls.AMPScaler = &st
	}
	for _, o := range s.rec.Optimizers() {
		ls.OptSteps[o.Name] = o.Adam.Steps()
	}
	if h, ok := s.rec.(gan.HostState); ok {
		var err error
		if ls.Recipe, err = h.SaveHostState(); err != nil {
			return fmt.Errorf("checkpoint: recipe %s state: %w", s.cfg.Recipe, err)
		}
	}
	sched, err := json.Marshal(ls)
	if err != nil {
		return fmt.Errorf("checkpoint: schedule state: %w", err)
	}
	var loader json.RawMessage
	if s.loader != nil {
		if loader, err = json.Marshal(s.loaderState()); err != nil {
			return fmt.Errorf("checkpoint: loader state: %w", err)
		}
	}
	cfgYAML, err := s.cfg.YAML()
	if err != nil {
		return fmt.Errorf("checkpoint: config: %w", err)
	}
	st := runfolder.CheckpointState{Epoch: s.epoch, Step: s.step, Seed: s.cfg.Seed, RNG: rng, Schedule: sched, Loader: loader,
		Config: string(cfgYAML), Metrics: runfolder.CheckpointMetrics{Last: s.last}, Threads: s.cpuThreads()}
	meta := map[string]string{"gogan": runfolder.Version, "recipe": s.cfg.Recipe, "step": fmt.Sprint(s.step)}
	if len(s.initialNets) > 0 {
		meta[runfolder.InitialNetsKey] = strings.Join(s.initialNets, ",")
	}
	ck, err := writeCheckpoint(s.rd.Path, st, func(w io.Writer) error { return torch.WriteSafetensors(w, ws, meta) })
	if err != nil {
		return fmt.Errorf("checkpoint into %s: %w", filepath.Join(s.rd.Path, runfolder.CheckpointsDir), err)
	}
	s.ckpt, s.ckptAt, s.ckptT = ck.Dir, s.step, time.Now()
	if s.renumbered {
		// Until now the one resumed from was the run's newest; from here
		// on this one is, and those numbered after it are of the old count.
		moved, err := runfolder.SetAsideNewer(s.rd.Path, s.step)
		for _, m := range moved {
			slog.Warn(fmt.Sprintf("resume: a checkpoint numbered by the steps of the gogan that wrote it, which this run counts anew (ahead of its step %d), is kept aside so that it does not outrank this run's checkpoints", s.step), "moved_to", m)
		}
		if err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
		s.renumbered = false
	}
	if s.status.State != "" { // a training run, not an import
		s.checkpointed()
	}
	var spare func(runfolder.Checkpoint) bool
	if n := s.cfg.Train.KeepEveryEpochs; n > 0 {
		spare = s.spareEpochEnd(n)
	}
	return runfolder.PruneCheckpoints(s.rd.Path, s.cfg.Train.KeepCheckpoints, s.step, spare)
}

// writeCheckpoint is runfolder.WriteCheckpoint (a test counts its writes).
var writeCheckpoint = runfolder.WriteCheckpoint

// endOfEpoch is runfolder.EndOfEpoch (a test counts its reads).
var endOfEpoch = runfolder.EndOfEpoch

// spareEpochEnd says which checkpoints train.keep_every_epochs (n) keeps
// past train.keep_checkpoints: those of every n-th epoch's end. It reads a
// checkpoint's state.json once a session: the kept ones stay, and pruning
// asks of all of them at every checkpoint (read each time, a run's
// thousandth epoch read a thousand files a checkpoint). The answer of a
// folder is its step's, which does not change: a checkpoint written
// again at its step is of the same epoch and loader position.
func (s *session) spareEpochEnd(n int) func(runfolder.Checkpoint) bool {
	if s.spared == nil {
		s.spared = map[string]bool{}
	}
	return func(c runfolder.Checkpoint) bool {
		if s.spared[c.Dir] {
			return true
		}
		if e, end := endOfEpoch(c); end && e%n == 0 {
			s.spared[c.Dir] = true // only the kept are remembered: the others are pruned now
			return true
		}
		return false
	}
}

// restore loads the newest valid checkpoint into the session (rank 0 of a
// data-parallel job; the others take its state.json through the store and
// its tensors by broadcast).
func (s *session) restore() (*runfolder.CheckpointState, error) {
	back, err := runfolder.RestoreSetAside(s.rd.Path)
	for _, b := range back {
		slog.Warn("resume: a checkpoint that a rewrite had moved aside when the run was stopped is put back", "checkpoint", b)
	}
	if err != nil {
		return nil, fmt.Errorf("resume: %w", err)
	}
	ck, st, err := runfolder.LatestValid(s.rd.Path)
	if errors.Is(err, runfolder.ErrNoCheckpoint) {
		if cks, _ := runfolder.ListCheckpoints(s.rd.Path); len(cks) == 0 {
			// A run stopped (or killed) before its first checkpoint: there is
			// nothing to move aside, and train takes the folder as it is.
			return nil, fmt.Errorf("resume: %w: the run wrote none before it stopped, so there is nothing to go on from; to train it from the start, run gogan train with its config and out again, or train into a new folder",
				err)
		}
		return nil, fmt.Errorf("resume: %w: nothing to go on from; to train this run again from the start, move %s aside (the warnings above say what is wrong with each) and run gogan train with its config and out again, or train into a new folder",
			err, s.rd.CheckpointsPath())
	}
	if err != nil {
		return nil, fmt.Errorf("resume: %w", err)
	}
	if s.resumeFile {
		if err := checkConfigFile(s.cfg, s.rd, ck, st); err != nil {
			return nil, err
		}
	}
	// The invalid checkpoints skipped above would otherwise be replaced by
	// (or, numbered ahead, outrank) the ones this run writes.
	moved, err := runfolder.SetAsideNewer(s.rd.Path, ck.Step)
	for _, m := range moved {
		slog.Warn("resume: an invalid checkpoint after the one resumed from is kept aside", "moved_to", m)
	}
	if err != nil {
		return nil, fmt.Errorf("resume: %w", err)
	}
	ts, _, err := torch.LoadSafetensors(ck.WeightsPath())
	if err != nil {
		return nil, fmt.Errorf("resume: %w", err)
	}
	s.rankSaved, s.ownSaved = map[string]*torch.Tensor{}, map[string]bool{}
	defer func() {
		for _, nt := range ts {
			if s.rankSaved[nt.Name] != nt.Tensor {
				nt.Tensor.Free()
			}
		}
	}()
	saved := map[string]*torch.Tensor{}
	for _, nt := range ts {
		saved[nt.Name] = nt.Tensor
		if strings.HasPrefix(nt.Name, "rank") && s.ranks() > 1 { // other ranks' tensors (data parallelism)
			s.rankSaved[nt.Name] = nt.Tensor
		} else {
			s.ownSaved[nt.Name] = true
		}
	}
	s.resumed = true
	for _, n := range s.rec.Nets() {
		if err := n.Net.LoadStateDict(gan.RoleStateDict(ts, n.Role)); err != nil {
			if given := givenNetChanges(s.cfg, st); len(given) > 0 {
				return nil, fmt.Errorf("resume %s: network %s: %w\nthis resume builds the networks with %s: resume with the checkpoint's values (without those --set or GOGAN_ variables), or train a new run with the new ones",
					ck.Dir, n.Role, err, strings.Join(given, ", "))
			}
			return nil, fmt.Errorf("resume %s: network %s: %w", ck.Dir, n.Role, err)
		}
	}
	ls, err := s.resumeRecipe(ck.Dir, st)
	if err != nil {
		return nil, err
	}
	// Warnings about what the checkpoint gives are for a resume that goes
	// on: logged once applyState and the totals have accepted it.
	var warns [][]any
	err = torch.Try(func() {
		copyInto := func(name string, dst *torch.Tensor) {
			src, ok := saved[name]
			if !ok {
				panic(&torch.Error{Op: "resume", Msg: "checkpoint lacks " + name})
			}
			torch.NoGrad(func() { dst.CopyFrom(src.To(dst.Device())) })
		}
		for _, o := range s.rec.Optimizers() {
			o.Adam.State("")
			for i := range o.Adam.Params {
				copyInto(fmt.Sprintf("optimizer.%s.exp_avg.%d", o.Name, i), o.Adam.ExpAvg[i])
				copyInto(fmt.Sprintf("optimizer.%s.exp_avg_sq.%d", o.Name, i), o.Adam.ExpAvgSq[i])
			}
		}
		// The image pools (the recipe's rank tensors) say themselves what
		// they keep of the checkpoint's, as their host state loads: these
		// warnings, of sample inputs, misnamed them, and said of a pool
		// emptied that its first images were kept.
		pools := map[string]bool{}
		if rs, ok := s.rec.(gan.RankState); ok {
			for _, nt := range rs.RankTensors() {
				pools[nt.Name] = true
			}
		}
		for _, f := range s.fixed() {
			src, ok := saved[f.Name]
			if !ok { // an imported pix2pix checkpoint has no sample pairs
				s.lostFixed = append(s.lostFixed, f.Name)
				continue
			}
			ss, ds := src.Shape(), f.Tensor.Shape()
			if otherCount(ss, ds) {
				if !pools[f.Name] {
					warns = append(warns, []any{"resume: the checkpoint holds another number of these images; the first ones are kept", "tensor", f.Name,
						"checkpoint", ss[0], "run", ds[0], "kept", min(ss[0], ds[0])})
				}
				copyLeading(f.Tensor, src)
				continue
			}
			if !slices.Equal(ss, ds) {
				// Saved with another number of ranks, or another image
				// size: the grid's inputs are drawn anew.
				if !pools[f.Name] {
					warns = append(warns, []any{"resume: the checkpoint's sample inputs have another shape; new ones are used", "tensor", f.Name,
						"checkpoint", ss, "run", ds})
				}
				s.lostFixed = append(s.lostFixed, f.Name)
				continue
			}
			copyInto(f.Name, f.Tensor)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("resume %s: %w", ck.Dir, err)
	}
	if err := s.applyState(ck.Dir, st, ls); err != nil {
		return nil, err
	}
	s.renumbered = s.step < ck.Step
	if s.step > s.maxSteps() || s.epoch > s.totalEpochs() {
		// Past the end (an import at a later epoch, or --set lowering the
		// totals): there is nothing to train, and "finished" would hide it.
		return nil, fmt.Errorf("resume %s: %s is at step %d, epoch %d, past this run's end (train.max_steps %d, train.epochs %d + train.epochs_decay %d, %d steps an epoch): raise them (--set) to train on",
			s.rd.Path, filepath.Base(ck.Dir), s.step, s.epoch, s.cfg.Train.MaxSteps, s.cfg.Train.Epochs, s.cfg.Train.EpochsDecay, s.loader.BatchesPerEpoch())
	}
	for _, w := range warns {
		slog.Warn(w[0].(string), w[1:]...)
	}
	// A rank's count, which makes the run again at the same number of
	// ranks alone: on another, the world size's warning says the run is no
	// longer the uninterrupted one, which no thread count makes it.
	if t := s.cpuThreads(); st.Threads > 0 && t > 0 && t != st.Threads && s.resumedRanks == s.ranks() {
		how := fmt.Sprintf("threads: %d", s.cfg.Threads)
		switch {
		case s.cfg.Threads == 0 && s.job != nil && s.job.LocalWorld > 1:
			how += fmt.Sprintf(", the cores this process may use here shared by this machine's %d ranks", s.job.LocalWorld)
		case s.cfg.Threads == 0:
			how += ", one a core this process may use here"
		}
		slog.Warn(fmt.Sprintf("resume: the run trained with %d libtorch threads and resumes with %d (%s); on the CPU the thread count changes how libtorch rounds its sums (Conv2d's weight gradients), so from here the run drifts from the one it would have been: to resume it exactly, give --set threads=%d",
			st.Threads, t, how, st.Threads), "checkpoint", ck.Dir)
	}
	if s.schedChanged != "" {
		slog.Info("resume: the learning-rate schedule follows the config: "+s.schedChanged, "lr", s.sched.LR)
	}
	if s.resumeFile {
		if err := saveResumedConfig(s.cfg, s.rd); err != nil {
			return nil, fmt.Errorf("resume: %w", err)
		}
	}
	s.ckpt = ck.Dir
	slog.Info("resuming", "run", s.rd.Path, "checkpoint", ck.Dir, "step", s.step, "epoch", s.epoch)
	return st, nil
}

// cpuThreads is the intra-op thread count of a CPU run (0 on a GPU, where
// the steps' arithmetic does not depend on it): with the seed and the
// device, what makes the run.
func (s *session) cpuThreads() int {
	if s.dev.IsCUDA() {
		return 0
	}
	return s.threads
}

// resumeRecipe reads the loop's state of a checkpoint and lets a recipe
// whose optimizers depend on the epoch rebuild them, before any moments
// are loaded.
func (s *session) resumeRecipe(where string, st *runfolder.CheckpointState) (*loopState, error) {
	var ls loopState
	if err := json.Unmarshal(st.Schedule, &ls); err != nil || ls.Schedule == nil {
		return nil, fmt.Errorf("resume %s: state.json schedule: %v", where, err)
	}
	if r, ok := s.rec.(gan.Resumer); ok {
		if err := r.Resume(st.Epoch); err != nil {
			return nil, fmt.Errorf("resume %s: recipe %s: %w", where, s.cfg.Recipe, err)
		}
	}
	return &ls, nil
}

// applyState puts a checkpoint's host-side state into the session: step
// counts, random generators, the loader's position, the recipe's host
// state, the schedule.
func (s *session) applyState(where string, st *runfolder.CheckpointState, ls *loopState) error {
	for _, o := range s.rec.Optimizers() {
		o.Adam.SetSteps(ls.OptSteps[o.Name])
	}
	err := torch.Try(func() {
		torch.SetRNGState(torch.CPUDevice, torch.FromUint8(st.RNG["cpu"], int64(len(st.RNG["cpu"]))))
		if s.dev.IsCUDA() {
			if b, ok := st.RNG[s.dev.String()]; ok {
				torch.SetRNGState(s.dev, torch.FromUint8(b, int64(len(b))))
			} else if b, ok := st.RNG[cudaRNGKey(st.RNG)]; ok { // another rank's device (data parallelism)
				torch.SetRNGState(s.dev, torch.FromUint8(b, int64(len(b))))
			}
		}
	})
	if err != nil {
		return fmt.Errorf("resume %s: %w", where, err)
	}
	// An imported checkpoint has no loader position: it starts at the
	// epoch Import was told the weights had reached.
	imported := len(st.Loader) == 0 || string(st.Loader) == "null"
	s.resumedImport = imported
	var seeds data.LoaderState // the start of the epoch in progress (TorchDraws)
	if imported && (st.Epoch > 0 || ls.ImportedSamples > 0) {
		pos := s.loader.State()
		gb := s.cfg.Data.BatchSize * s.ranks()
		if n := s.loader.BatchesPerEpoch() * gb; ls.ImportedSamples > n && s.lead {
			slog.Warn(fmt.Sprintf("resume: the import says %d images of epoch %d were trained, more than an epoch of these data holds (%d): are they the data the weights trained on? The run goes on at the next epoch", ls.ImportedSamples, st.Epoch+1, n))
		}
		pos.Epoch, pos.Batch = st.Epoch, min((ls.ImportedSamples+gb-1)/gb, s.loader.BatchesPerEpoch())
		if err := s.loader.Restore(pos); err != nil {
			return fmt.Errorf("resume %s: %w", where, err)
		}
		st.Step = s.stepAt(pos)
	}
	if !imported {
		var lst data.LoaderState
		if err := json.Unmarshal(st.Loader, &lst); err != nil {
			return fmt.Errorf("resume %s: state.json loader: %w", where, err)
		}
		s.resumedRanks = max(1, lst.World)
		if was, now := s.resumedRanks, s.ranks(); was != now && s.lead {
			wasSyncBN := false // a checkpoint config this gogan cannot read: checkConfigFile has said so
			if saved, err := config.ParseYAML("checkpoint config", []byte(st.Config)); err == nil {
				wasSyncBN = saved.Train.SyncBN
			}
			if wasGB, nowGB := was*lst.BatchSize, now*s.cfg.Data.BatchSize; wasGB == nowGB {
				but := ""
				if d := s.rankCountDiffers(true, was, wasSyncBN); len(d) > 0 {
					but = ", but for " + andList(d)
				}
				slog.Info(fmt.Sprintf("resume: the checkpoint was written by %d rank(s), this job has %d, with the same global batch of %d samples (data.batch_size %d per rank): the run goes on as one uninterrupted job would%s",
					was, now, nowGB, s.cfg.Data.BatchSize, but))
			} else {
				keep := ""
				if wasGB%now == 0 {
					keep = fmt.Sprintf("; --set data.batch_size=%d keeps it", wasGB/now)
				} else {
					keep = fmt.Sprintf("; no data.batch_size keeps %d on %d ranks, a number of ranks that divides it does (%s)", wasGB, now, divisorsText(wasGB))
				}
				slog.Warn(fmt.Sprintf("resume: the checkpoint was written by %d rank(s), this job has %d: the global batch goes from %d to %d samples (data.batch_size %d per rank%s), the learning rate stays; the epoch continues after the samples already seen (rounded up to a whole global batch), %s differ, so the run is no longer the one an uninterrupted job would have made",
					was, now, wasGB, nowGB, s.cfg.Data.BatchSize, keep, andList(s.rankCountDiffers(false, was, wasSyncBN))))
			}
		}
		if err := s.loader.Restore(lst); err != nil {
			return fmt.Errorf("resume %s: %w", where, err)
		}
		if lst.Epoch == st.Epoch+1 && lst.Batch == 0 && !lst.Started {
			// Saved after an epoch's last step with the loader's end of
			// that epoch taken ahead but not yet acted on (a stop; an older
			// gogan's checkpoint by steps or minutes, which now closes the
			// epoch at its step): the epoch's end comes first.
			// Restore has checked the checkpoint's batches (its batch
			// size and ranks) against this job's; the end of the epoch is
			// then in this job's batches.
			pos := s.loader.State()
			pos.Epoch, pos.Batch = st.Epoch, s.loader.BatchesPerEpoch()
			if err := s.loader.Restore(pos); err != nil {
				return fmt.Errorf("resume %s: %w", where, err)
			}
		}
		seeds = lst
		if lst.Samples != s.loader.Dataset().Len() {
			// A checkpoint over more samples than the dataset now has (an
			// older gogan's pix2pixHD run over all of them, where it now
			// trains on whole batches: Restore took it): the step goes on
			// from the position at these batches per epoch, the epoch in
			// progress in the loader's own order and draws. (Over the
			// whole global batches of another number of ranks: the step
			// total counts the steps done as they were, stepShift.)
			if max(1, lst.World) == s.ranks() {
				st.Step = s.stepAt(s.loader.State())
			}
			seeds.OrderSeed, seeds.BaseSeed = nil, nil
		}
	}
	if err := s.restoreEpochStart(seeds); err != nil {
		return fmt.Errorf("resume %s: %w", where, err)
	}
	if l, ok := s.rec.(gan.FixedLoss); ok {
		l.LostFixed(s.lostFixed)
	}
	if h, ok := s.rec.(gan.HostState); ok {
		if err := h.LoadHostState(ls.Recipe); err != nil {
			return fmt.Errorf("resume %s: recipe %s state: %w", where, s.cfg.Recipe, err)
		}
	}
	s.sched, s.sum, s.n = ls.Schedule, ls.EpochSum, ls.EpochN
	t := s.cfg.Train
	changed, err := s.sched.Retarget(t.LRPolicy, t.LR, t.Epochs, t.EpochsDecay, t.LRDecayIters)
	if err != nil {
		return fmt.Errorf("resume %s: %w", where, err)
	}
	s.schedChanged = changed // said once the resume is accepted (restore)
	if sc := s.prec.Scaler; sc != nil && ls.AMPScaler != nil {
		sc.SetState(*ls.AMPScaler)
	}
	s.step, s.epoch, s.last, s.ckptAt = st.Step, st.Epoch, st.Metrics.Last, st.Step
	s.stepShift = st.Step - s.stepAt(s.loader.State())
	return nil
}

// otherCount says whether a checkpoint's tensor of shape saved holds
// another number of the images a run's of shape run holds (a CycleGAN pool
// resized by train.pool_size, a grid of another size): copyLeading keeps
// the leading ones, as many as both hold.
func otherCount(saved, run []int64) bool {
	return len(saved) > 0 && len(saved) == len(run) && slices.Equal(saved[1:], run[1:]) && saved[0] != run[0]
}

func copyLeading(dst, src *torch.Tensor) {
	n := min(src.Shape()[0], dst.Shape()[0])
	torch.NoGrad(func() { dst.Narrow(0, 0, n).CopyFrom(src.Narrow(0, 0, n).To(dst.Device())) })
}

// stepAt is the steps a run has taken at a loader position: the loader's
// batches per epoch for each epoch before it, and its batches into this one.
func (s *session) stepAt(pos data.LoaderState) int {
	return pos.Epoch*s.loader.BatchesPerEpoch() + pos.Batch
}

// cudaRNGKey is the first CUDA generator a checkpoint holds ("" if none).
func cudaRNGKey(rng map[string][]byte) string {
	var keys []string
	for k := range rng {
		if strings.HasPrefix(k, "cuda") {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	if len(keys) == 0 {
		return ""
	}
	return keys[0]
}

// divisorsText lists n's divisors, the first few: the numbers of ranks
// that can share a global batch of n.
func divisorsText(n int) string {
	var ds []string
	for d := 1; d <= n && len(ds) < 8; d++ {
		if n%d == 0 {
			ds = append(ds, fmt.Sprint(d))
		}
	}
	return strings.Join(ds, ", ")
}
