package trainer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"gogan/tensorboard"

	torch "gogan/cgo"
	"gogan/config"
	"gogan/data"
	"gogan/dist"
	"gogan/gan"
	"gogan/report"
	"gogan/runfolder"
)

// RunOptions are how a run talks to the person watching it.
type RunOptions struct {
	Quiet  bool      // log lines instead of a progress bar
	Writer io.Writer // progress bar output (default stderr)
	// OnStep, when set, is called after every step on the training
	// goroutine with the step's losses (a soak test watches memory with it).
	OnStep func(step int, losses map[string]float64)

	// resumeFile: the config was read from the run folder's config.yaml
	// (Resume), which restore then compares with the checkpoint's and
	// brings up to date.
	resumeFile bool
	// discardFailedStart removes what a new run made of its folder when it
	// fails before its first step (Train); run calls it holding the lock.
	discardFailedStart func()
}

// Result is where a run ended.
type Result struct {
	Run        runfolder.RunDir
	Step       int
	Epoch      int
	Losses     map[string]float64
	Checkpoint string    // the newest checkpoint written
	Signal     os.Signal // non-nil when SIGINT/SIGTERM stopped the run
}

// Train starts a new run in cfg.Out. A folder that already holds
// checkpoints is refused (resume it, or pick another out), except after
// torchrun restarted the data-parallel job that started the run: then it
// resumes.
func Train(ctx context.Context, cfg *config.Config, opt RunOptions) (*Result, error) {
	absRoot(cfg)
	var made []string // the folders this run made, outermost first
	// A run that fails before it starts (its data, its networks' weights)
	// leaves no folder of its own; one that started keeps it, with a
	// status.json saying how it failed, for gogan runs.
	opt.discardFailedStart = func() { removeMade(cfg.Out, made) }
	return run(ctx, cfg, opt, func(lead bool, job *dist.Job) (runfolder.RunDir, bool, error) {
		if !lead {
			return runfolder.RunDir{Path: cfg.Out}, false, nil
		}
		for _, dir := range imageFolders(cfg) {
			if runfolder.Within(cfg.Out, dir) {
				return runfolder.RunDir{}, false, fmt.Errorf("out %s is inside %s, whose images are read as training data: the run's samples and loss plot would be too; set out to a folder outside it", cfg.Out, dir)
			}
		}
		if f := runfolder.Foreign(cfg.Out); len(f) > 0 {
			return runfolder.RunDir{}, false, foreignErr(cfg.Out, f)
		}
		made = runfolder.MissingDirs(cfg.Out)
		rd, err := runfolder.NewRunDir(cfg.Out)
		if err != nil {
			return rd, false, fmt.Errorf("out: %w", err)
		}
		if cks, _ := runfolder.ListCheckpoints(rd.Path); len(cks) > 0 {
			if job != nil && job.Restart > 0 {
				// Only a run this job started: one its first attempt
				// refused (another run's folder) stays refused.
				refused, _ := os.ReadFile(rd.RefusedJobPath())
				if st, err := rd.ReadStatus(); err == nil && st.Job == job.ID() && string(refused) != job.ID() {
					slog.Info("torchrun restarted the job: resuming from the newest checkpoint", "restart", job.Restart, "run", rd.Path, "step", cks[0].Step)
					return rd, true, nil
				}
			}
			if job != nil && job.Restart == 0 {
				if err := runfolder.AtomicWriteBytes(rd.RefusedJobPath(), []byte(job.ID())); err != nil {
					slog.Warn("could not record the refusal for torchrun's restarts", "file", rd.RefusedJobPath(), "err", err)
				}
			}
			if _, _, err := runfolder.LatestValid(rd.Path); errors.Is(err, runfolder.ErrNoCheckpoint) {
				return rd, false, fmt.Errorf("run folder %s holds checkpoints, none of them valid (%v): move %s aside to train it again from the start, or set out to a new folder",
					rd.Path, err, rd.CheckpointsPath())
			}
			return rd, false, fmt.Errorf("run folder %s already holds checkpoints (newest: step %d): continue it with `%s`, or set out to a new folder", rd.Path, cks[0].Step, ResumeCommand(rd.Path))
		}
		os.Remove(rd.RefusedJobPath()) // a new run: whatever was refused here is gone
		return rd, false, nil
	})
}

// absRoot makes a relative data.root absolute in a new run's config, so
// that a resume from another working folder reads the same data (not some
// other folder of that name there).
func absRoot(cfg *config.Config) {
	if abs, err := filepath.Abs(cfg.Data.Root); err == nil && !filepath.IsAbs(cfg.Data.Root) {
		cfg.Data.Root = abs
	}
}

// foreignErr refuses a new run in a folder of other files of the names a
// run writes.
func foreignErr(out string, names []string) error {
	return fmt.Errorf("out %s is not a gogan run folder, and a run would write over its %s: set out to a new folder (a run keeps its config as config.yaml there; the file you pass with --config may stay where it is)",
		out, strings.Join(names, ", "))
}

// samePath says whether a and b name one folder: the same path, or, spelled
// otherwise (relative and absolute, through a link), the same file.
func samePath(a, b string) bool {
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	sa, erra := os.Stat(a)
	sb, errb := os.Stat(b)
	return erra == nil && errb == nil && os.SameFile(sa, sb)
}

// Resume continues the run in dir from its newest valid checkpoint, with the
// run's config.yaml plus sets (key=value; e.g. a larger train.max_steps).
func Resume(ctx context.Context, dir string, sets []string, opt RunOptions) (*Result, error) {
	for _, kv := range sets {
		if k, _, _ := strings.Cut(kv, "="); strings.EqualFold(strings.TrimSpace(k), "out") {
			return nil, fmt.Errorf("resume %s: --set %s: a resumed run goes on in its own folder (to train elsewhere, copy the folder and resume the copy)", dir, kv)
		}
	}
	path := filepath.Join(dir, "config.yaml")
	if _, err := os.Stat(path); err != nil {
		if cks, _ := runfolder.ListCheckpoints(dir); len(cks) > 0 {
			// a run folder whose config.yaml went: its checkpoints keep it
			return nil, unreadableConfig(dir, fmt.Errorf("no config.yaml: %w", err))
		}
		if _, serr := os.Stat(filepath.Join(dir, runfolder.StateFile)); serr == nil {
			run, ok := runfolder.RunOf(dir)
			if !ok {
				run = "RUN"
			}
			return nil, fmt.Errorf("resume %s: a checkpoint folder; resume takes the run folder it is in (%s), and goes on from its newest valid checkpoint", dir, ResumeCommand(run))
		}
		return nil, fmt.Errorf("resume %s: not a gogan run folder (no config.yaml): %w", dir, err)
	}
	cfg, err := config.LoadConfig(path, sets)
	if err != nil {
		return nil, unreadableConfig(dir, err)
	}
	if src := cfg.Sources["out"]; strings.HasPrefix(src, "env ") && !samePath(cfg.Out, dir) {
		// left exported from a train: said, not refused as --set out= is
		slog.Warn(strings.TrimPrefix(src, "env ")+" is not used: a resumed run goes on in its own folder", "ignored", cfg.Out, "run", dir)
	}
	cfg.Out = dir
	if !filepath.IsAbs(cfg.Data.Root) {
		// a run from before absRoot
		abs, _ := filepath.Abs(cfg.Data.Root)
		slog.Warn("data.root is relative in the run's config: read from this working folder", "data.root", cfg.Data.Root, "folder", abs)
	}
	opt.resumeFile = true
	return run(ctx, cfg, opt, func(lead bool, _ *dist.Job) (runfolder.RunDir, bool, error) {
		if !lead {
			return runfolder.RunDir{Path: dir}, true, nil
		}
		// NewRunDir also brings back a samples folder someone deleted.
		rd, err := runfolder.NewRunDir(dir)
		return rd, true, err
	})
}

// imageFolders are the folders whose images the config's data reads (none
// for IDX, CIFAR-10 and LSUN files): the split's folders under data.root
// that exist (test/, trainA/, train_label/, A/, ...), else data.root.
func imageFolders(cfg *config.Config) []string {
	d := cfg.Data
	switch d.Dataset {
	case "folder", "aligned", "colorization":
	case "unaligned":
		if d.ClassesA != "" {
			return nil
		}
	case "edges", "gray2color":
		if d.Source != "folder" {
			return nil
		}
	default:
		return nil
	}
	if d.Dataset == "folder" || d.Dataset == "edges" || d.Dataset == "gray2color" {
		return []string{d.Root} // every image under data.root
	}
	var dirs []string
	for _, sub := range []string{d.Phase, d.Phase + "A", d.Phase + "B", d.Phase + "_A", d.Phase + "_B", d.Phase + "_label", d.Phase + "_img", d.Phase + "_inst", "A", "B"} {
		if fi, err := os.Stat(filepath.Join(d.Root, sub)); err == nil && fi.IsDir() {
			dirs = append(dirs, filepath.Join(d.Root, sub))
		}
	}
	if len(dirs) == 0 {
		return []string{d.Root}
	}
	return dirs
}

// starter finds the run folder and whether the run resumes; only rank 0
// (lead) may create anything.
type starter func(lead bool, job *dist.Job) (rd runfolder.RunDir, resume bool, err error)

// loopState is the loop's own part of state.json's schedule field.
type loopState struct {
	Schedule  *Schedule        `json:"schedule"`
	OptSteps  map[string]int64 `json:"optimizer_steps"`
	EpochSum  float64          `json:"epoch_loss_sum"` // for the plateau policy
	EpochN    int              `json:"epoch_loss_n"`
	LastImgPS float64          `json:"images_per_s"`
	// The fp16 grad scaler's state (cuda.amp=fp16), so a resumed run scales
	// its losses as the uninterrupted one would.
	AMPScaler *gan.ScalerState `json:"amp_scaler,omitempty"`
	// The recipe's host-side state (gan.HostState).
	Recipe json.RawMessage `json:"recipe,omitempty"`
	// An imported checkpoint has no loader position: the samples of epoch
	// Epoch+1 its weights had trained on (pix2pixHD's iter.txt).
	ImportedSamples int `json:"imported_samples,omitempty"`
}

// session holds one run's objects while it trains.
type session struct {
	cfg      *config.Config
	rd       runfolder.RunDir
	dev      torch.Device
	job      *dist.Job // nil: a process of its own
	lead     bool      // rank 0 (or alone): writes the run folder
	shutdown *Shutdown // SIGINT and SIGTERM, from the start of the run
	rec      gan.Recipe
	prec     *gan.Precision
	ds       *data.Dataset
	loader   *data.Loader
	pool     *hostPool
	sched    *Schedule
	step     int
	epoch    int // epochs completed
	sum      float64
	n        int
	last     map[string]float64
	ckpt     string
	ckptAt   int // the step of ckpt
	// stepShift is the steps done less those this job's batches give the
	// loader's position: nonzero after a resume on another global batch
	// (the epochs before were of other lengths).
	stepShift  int
	graph      *stepGraph // the captured step (cuda.cuda_graph), after the first step
	eagerNoted bool       // a batch the graph does not take was logged
	status     runfolder.Status
	// statusMu guards written and quit: the status last written, for the
	// signal goroutine, and whether a second signal's status was written.
	statusMu sync.Mutex
	written  runfolder.Status
	quit     bool
	tb       *tensorboard.Writer // nil with logging.tensorboard off
	// spared: the checkpoint folders train.keep_every_epochs keeps, as
	// read from their state.json (spareEpochEnd)
	spared map[string]bool
	// lossPlot draws loss.png for the report, from the rows metrics.csv
	// gained since it last did.
	lossPlot *report.LossPlotter
	// reportAt and reportStep are when and at which step the live report
	// was last written (the first as training begins), pace the mean time
	// of a step between the last two, ckptTook the last checkpoint's: when
	// the next is due (reportDue).
	reportAt   time.Time
	reportStep int
	pace       time.Duration
	ckptTook   time.Duration
	ckptT      time.Time // when the last checkpoint was written (or the run started)
	// tbImageStep: the step whose sample grid went to TensorBoard last (-1
	// from the event file's opening: none yet; a step that is also an
	// epoch's end or the last draws its grid twice)
	tbImageStep int
	// resumeFile: cfg came from the run folder's config.yaml (RunOptions)
	resumeFile bool
	unlock     func() // releases the run folder (rank 0)
	// pretrained is the checkpoint a new run starts from, as the recipe's
	// file check found it (gan.CheckFiles; nil: none)
	pretrained *runfolder.Checkpoint
	// importedSamples: Import's ImportedAt.Samples, kept in the checkpoint
	importedSamples int
	// drawnFor is the epoch (plus one) whose DataLoader draws epochStart
	// took.
	drawnFor int
	// initialNets are the networks an import gave no file: their
	// checkpoint's weights are the initial random ones (InitialNetsKey).
	initialNets []string

	// data parallelism's figures: time in steps and in agreeing after them
	stepT, agreeT time.Duration
	steps         int
	// per-rank tensors of the checkpoint rank 0 resumed from (gan.RankState),
	// and the names of rank 0's own it holds
	rankSaved map[string]*torch.Tensor
	ownSaved  map[string]bool
	resumed   bool
	// the checkpoint resumed from is an import's (no loader position)
	resumedImport bool
	// renumbered: the checkpoint resumed from is numbered above the step
	// this run goes on from (an older gogan's pix2pixHD run over all
	// samples, counted anew at whole batches): its folder, and any other
	// numbered above this run's steps, would outrank the checkpoints this
	// run writes, so the first of them sets those aside
	renumbered bool
	// the recipe's fixed tensors the checkpoint resumed from could not fill
	// (gan.FixedLoss); rank 0 tells the other ranks
	lostFixed []string
	// what a resumed run's LR schedule took from a changed config (Retarget)
	schedChanged string

	ahead    *stagedBatch // the next batch, taken while the last step ran
	slot     int          // the staging buffers the next batch goes to
	staging  map[string]*torch.Tensor
	consumed [2]*torch.Event // per slot: the end of the last step that read its buffers
	resident *residentData   // data.on_device: the dataset on the device
	// takesLabels: the recipe's batches hold the class labels (gan.LabelInput)
	takesLabels bool
	sizes       *sizeRule // the image sides the networks take, when the data do not fix them
	// realGrid is the grid of the real batch of the step the sample grid
	// is drawn after (gan.RealVisualizer), until writeSample writes it.
	realGrid *image.NRGBA
}

// DeviceFor is the device cfg trains on, checked against its cuda.* settings.
func DeviceFor(cfg *config.Config) (torch.Device, error) {
	dev, err := torch.ParseDevice(cfg.Device)
	if err != nil {
		return dev, fmt.Errorf("device: %w", err)
	}
	if !dev.IsCUDA() {
		// device=auto found no GPU: say so rather than train without the
		// settings asked for.
		if cfg.CUDA.AMP != "off" {
			return dev, fmt.Errorf("cuda.amp=%s needs a CUDA device, but device=%s runs on %s; set cuda.amp=off", cfg.CUDA.AMP, cfg.Device, dev)
		}
		if cfg.CUDA.CUDAGraph {
			return dev, fmt.Errorf("cuda.cuda_graph needs a CUDA device, but device=%s runs on %s; set cuda.cuda_graph=false", cfg.Device, dev)
		}
	}
	if cfg.CUDA.CUDAGraph && !torch.CUDAGraphsAvailable() {
		return dev, fmt.Errorf("cuda.cuda_graph: this libgotorch was built without the CUDA headers (scripts/libtorch-env found no cuda_runtime_api.h; set CUDA_HOME and rebuild with make lib), or set cuda.cuda_graph=false")
	}
	return dev, nil
}

func run(ctx context.Context, cfg *config.Config, opt RunOptions, start starter) (res *Result, err error) {
	// Every libtorch call of the run happens on this goroutine's thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	torch.KeepHostMemory()
	job, err := dist.FromEnv()
	if err != nil {
		return nil, err
	}
	dev, err := DeviceFor(cfg)
	if err != nil {
		return nil, err
	}
	threads := cfg.Threads
	if job != nil {
		if dev, err = rankDevice(dev, job); err != nil {
			return nil, err
		}
		if cfg.CUDA.CUDAGraph {
			return nil, fmt.Errorf("cuda.cuda_graph with data parallelism (%d ranks): the step's collectives are not captured; set cuda.cuda_graph=false", job.World)
		}
		if threads == 0 { // the cores shared by the machine's ranks
			threads = max(1, torch.CPUs()/max(1, job.LocalWorld))
		}
	}
	if threads == 0 {
		threads = torch.CPUs()
	}
	if dev.IsCUDA() {
		// Before any CUDA work: this thread's current device is the run's
		// (a rank's own GPU), not cuda:0, which would otherwise get a CUDA
		// context of this process for the loader's pinned buffers.
		if _, err := torch.SetCUDADevice(dev); err != nil {
			return nil, err
		}
	}
	if fk := cfg.ForeignKeys(); len(fk) > 0 && (job == nil || job.Lead()) {
		slog.Warn("recipe "+cfg.Recipe+" does not read these keys, which other recipes do: their values change nothing", "keys", strings.Join(fk, ", "))
	}
	if threads > torch.CPUs() {
		slog.Warn("threads is more than the cores this process may use (its CPU affinity, a container's CPU limit): the threads take turns, and each step is slower", "threads", threads, "cores", torch.CPUs())
	}
	if _, err := torch.SetNumThreads(threads); err != nil {
		return nil, err
	}
	if dev.IsCUDA() {
		torch.SetCuDNNBenchmark(cfg.CUDA.CuDNNBenchmark)
	}
	torch.ManualSeed(uint64(cfg.Seed))
	if job != nil {
		if err := job.Join(dev, time.Duration(cfg.Train.DistTimeout*float64(time.Second))); err != nil {
			return nil, err
		}
		defer func() {
			if err != nil && dist.IsCollective(err) {
				err = job.Explain(err)
			}
			job.Leave(err == nil)
		}()
	}

	s := &session{cfg: cfg, dev: dev, job: job, lead: job.Lead(), resumeFile: opt.resumeFile}
	defer s.close()
	// SIGINT and SIGTERM are the run's from here: one while it starts (its
	// data decoded, its networks built) ends the start, which a new run
	// undoes as any failed start.
	s.shutdown = NotifyShutdown(ctx)
	defer s.shutdown.Stop()
	if job != nil {
		s.shutdown.CoalesceRepeats(launcherRepeat)
	}
	startErr := func(err error) error {
		if sig := s.shutdown.Signal(); sig != nil && err != nil {
			return &StoppedBeforeStart{Signal: sig, Err: err}
		}
		return err
	}
	rd, resume, err := start(s.lead, job)
	s.rd = rd
	if err == nil && s.lead {
		s.unlock, err = rd.Lock()
		if err == nil {
			runfolder.LogRemovedTemps(runfolder.RemoveStaleTemps(rd.Path, runfolder.ProcessStart))
		}
	}
	if err == nil && s.lead { // a weights file the recipe reads, before its data
		s.pretrained, err = gan.CheckFiles(s.cfg, !resume)
	}
	if err == nil {
		err = s.open(s.shutdown.Context())
	}
	if s.lead {
		var st *runfolder.CheckpointState
		if err == nil {
			st, err = s.begin(resume)
		}
		if err == nil && !resume && s.shutdown.Signal() != nil {
			// past the data (building the networks, loading weights): a
			// new run still ends here, with nothing to keep
			err = errors.New("the signal came while the run started")
		}
		err = startErr(err)
		if job != nil {
			if perr := s.publishStart(st, err); err == nil {
				err = perr
			}
		}
		if err != nil {
			if s.unlock != nil && opt.discardFailedStart != nil {
				opt.discardFailedStart()
			}
			return nil, err
		}
	} else {
		if err != nil {
			return nil, startErr(err)
		}
		if err := s.takeStart(); err != nil {
			return nil, err
		}
	}
	if job != nil {
		if err := s.joinRanks(); err != nil {
			if s.lead && s.unlock != nil && opt.discardFailedStart != nil {
				opt.discardFailedStart() // a new run that never stepped
			}
			return nil, err
		}
	}
	if s.lead {
		s.startWatch()
	}
	res, err = s.loop(ctx, opt)
	if err != nil && job != nil && dist.IsCollective(err) {
		err = job.Explain(err) // before status.json records it
	}
	if err != nil && torch.IsOutOfMemory(err) {
		err = fmt.Errorf("%w\nthe step needs more memory than the device (%s%s) has: lower data.batch_size, the image size or the networks' widths (model.ngf, model.ndf); the newest good checkpoint is %s",
			err, s.dev, addressSpaceLimit(s.dev), s.lastCheckpointText())
	}
	var bad *data.FileError
	if err != nil && errors.As(err, &bad) && !errors.Is(err, syscall.ENOSPC) {
		// A file the open did not read whole (large folders, LSUN) failed
		// when its batch came.
		err = fmt.Errorf("%w\nfix or replace %s, %s; where the open reads headers only (over 20000 images, LSUN), "+
			"--set data.skip_invalid=true skips such images as they are read", err, bad.Path, s.continueText(rd.Path))
	}
	if lim := (*data.LimitError)(nil); err != nil && errors.As(err, &lim) {
		// Not the file's fault: the same run goes on once the limit is raised.
		err = fmt.Errorf("%w\n%s", err, s.continueText(rd.Path))
	}
	if size := (*sizeError)(nil); err != nil && errors.As(err, &size) && s.step > 0 && s.ckpt != "" {
		// Removed, the dataset lacks a sample the checkpoint's loader
		// position counts: resume refuses it (Loader.Restore).
		err = fmt.Errorf("%w\nto go on with this run, resize the image to a size the networks take, %s", err, s.continueText(rd.Path))
	}
	if err != nil && errors.Is(err, syscall.EFBIG) {
		err = s.writeStopped(err, rd.Path, "a file of "+rd.Path+" grew past the largest file the process's file-size limit"+fileSizeLimit()+
			" or the file system (FAT32's 4 GiB) allows", "raise the limit (ulimit -f unlimited) or put the run folder on another file system")
	}
	if err != nil && (errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)) {
		err = s.writeStopped(err, rd.Path, "the disk of "+rd.Path+" is full", "free space")
	}
	if s.lead {
		s.endWatch(res, err)
	}
	return res, err
}

// addressSpaceLimit is, for a CPU run under an address-space limit
// (ulimit -v), that limit for the out-of-memory message, which otherwise
// blames the machine's memory: ", or this process's address-space limit,
// ulimit -v: 6000 MiB".
func addressSpaceLimit(dev torch.Device) string {
	var lim syscall.Rlimit
	if dev.IsCUDA() || syscall.Getrlimit(syscall.RLIMIT_AS, &lim) != nil || lim.Cur == ^uint64(0) { // RLIM_INFINITY
		return ""
	}
	return fmt.Sprintf(", or this process's address-space limit, ulimit -v: %d MiB", lim.Cur>>20)
}

// writeStopped is err, a write of run's files that the storage refused,
// with why (the disk is full, a file passed a size limit) and what to do
// (fix), then how the run goes on: the same gogan train again where it
// wrote no checkpoint yet, else a resume from the newest good one.
func (s *session) writeStopped(err error, run, why, fix string) error {
	if s.ckpt == "" { // a new run, none written yet
		return fmt.Errorf("%w\n%s, before the run wrote a checkpoint: %s, then run the same gogan train command again (there is nothing to resume)", err, why, fix)
	}
	return fmt.Errorf("%w\n%s; the newest good checkpoint is %s: %s, then continue with %s", err, why, s.lastCheckpointText(), fix, ResumeCommand(run))
}

// fileSizeLimit is the process's file-size limit for a message, " (ulimit
// -f: 500 KiB)", or "" where there is none.
func fileSizeLimit() string {
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_FSIZE, &lim) != nil || lim.Cur == ^uint64(0) { // RLIM_INFINITY
		return ""
	}
	return fmt.Sprintf(" (ulimit -f: %d KiB)", lim.Cur/1024)
}

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

// launcherRepeat is how soon after a signal a rank takes the same signal
// as its launcher's copy of it (Shutdown.CoalesceRepeats).
const launcherRepeat = 2 * time.Second

// StoppedBeforeStart is a run stopped by a signal before its first step:
// nothing was trained (a new run's folder is removed).
type StoppedBeforeStart struct {
	Signal os.Signal
	Err    error // what the start was doing
}

func (e *StoppedBeforeStart) Error() string {
	return fmt.Sprintf("stopped by %v before the first step, nothing trained (%v)", e.Signal, e.Err)
}

func (e *StoppedBeforeStart) Unwrap() error { return e.Err }

// begin starts the run on rank 0 (or alone): from the newest checkpoint, or
// fresh (a recipe's weights from elsewhere, the run's config.yaml).
func (s *session) begin(resume bool) (*runfolder.CheckpointState, error) {
	if resume {
		return s.restore()
	}
	if f, ok := s.rec.(gan.FreshStarter); ok && s.pretrained != nil {
		if err := f.StartFresh(*s.pretrained); err != nil {
			return nil, err
		}
	}
	return nil, s.rd.WriteConfig(s.cfg)
}

// open builds the data pipeline and the recipe.
func (s *session) open(ctx context.Context) error {
	ds, err := gan.OpenData(ctx, s.cfg, s.ranks())
	if err != nil {
		return err
	}
	s.ds = ds
	if classes, takes := gan.TakesLabels(s.cfg); takes {
		if !ds.ClassLabels() {
			return fmt.Errorf("recipe %s trains on its images' class labels (its input %q), and data.dataset=%s gives none: train it on images with class labels (fashion-mnist or mnist with their labels files, cifar10, lsun, or a folder of class folders read as torchvision's ImageFolder)",
				s.cfg.Recipe, gan.LabelInput, s.cfg.Data.Dataset)
		}
		// A label past the recipe's classes would fail inside a step
		// (a one-hot or an embedding out of range), far from its cause.
		if n := ds.Classes(); classes > 0 && n > classes {
			return fmt.Errorf("recipe %s takes %d classes (its input %q), and the data under %s have %d (labels 0 to %d): give it data of at most %d classes",
				s.cfg.Recipe, classes, gan.LabelInput, s.cfg.Data.Root, n, n-1, classes)
		}
		s.takesLabels = true
	}
	if s.sizes, err = sizeRuleFor(s.cfg); err != nil {
		return err
	}
	if err := s.sizes.checkAll(s.cfg, ds.OutputSizes()); err != nil {
		return err
	}
	if len(ds.Skipped()) > 0 {
		slog.Warn("data.skip_invalid: skipped invalid files", "count", len(ds.Skipped()))
	}
	lo := ds.Config().LoaderOptions(uint64(s.cfg.Seed))
	if s.job != nil { // this rank's share of each global batch
		lo.Rank, lo.World = s.job.Rank, s.job.World
	}
	// Each epoch's order (torch's RandomSampler) and draws come from what
	// the references' DataLoader draws as it starts (epochStart); ranks
	// split each global batch of the one order, so a job's batches are one
	// process's.
	lo.TorchDraws = true
	if s.cfg.Data.OnDevice {
		if s.resident, err = loadResident(ctx, ds, s.dev); err != nil {
			return err
		}
		lo.IndicesOnly = true // the batches are gathered on the device
	} else if sizes := ds.BatchBytes(lo); sizes != nil {
		if err := torch.Try(func() { s.pool = newHostPool(sizes, lo.InFlight()+3, s.dev.IsCUDA()) }); err != nil {
			return fmt.Errorf("batch buffers: %w", err)
		}
		lo.Allocator = s.pool
	}
	if s.loader, err = data.NewLoader(ds, lo); err != nil {
		return err
	}
	if err := s.newRecipe(); err != nil {
		return err
	}
	if src, ok := s.rec.(gan.SampleSource); ok {
		if err := src.TakeSamples(ds, uint64(s.cfg.Seed)); err != nil {
			var bad *data.FileError
			if errors.As(err, &bad) {
				// An image the open read only the header of (over 20000
				// files, LSUN) failed as the sample grid's inputs were read.
				return fmt.Errorf("%w\nfix or replace %s, or --set data.skip_invalid=true to skip such images; then run the command again", err, bad.Path)
			}
			return err
		}
	}
	t := s.cfg.Train
	s.sched, err = NewSchedule(t.LRPolicy, t.LR, t.Epochs, t.EpochsDecay, t.LRDecayIters)
	return err
}

func (s *session) close() {
	if s.tb != nil {
		s.tb.Close()
	}
	s.freeInput()
	if s.graph != nil {
		s.graph.free()
	}
	if s.loader != nil {
		s.loader.Close()
	}
	if s.ds != nil {
		s.ds.Close()
	}
	if s.pool != nil {
		s.pool.Free()
	}
	s.resident.free()
	if s.rec != nil {
		gan.Free(s.rec)
	}
	if s.unlock != nil {
		s.unlock()
	}
}

// newRecipe builds the config's recipe on the session's device.
func (s *session) newRecipe() error {
	s.prec = gan.NewPrecision(s.cfg.CUDA.AMP, s.dev)
	var err error
	if s.rec, err = gan.New(gan.Env{Config: s.cfg, Device: s.dev, Precision: s.prec, Rank: s.job.RankOf(), World: s.ranks(), Data: s.ds}); err != nil {
		return err
	}
	if u, ok := s.rec.(gan.GraphUnsafe); ok && s.cfg.CUDA.CUDAGraph && u.GraphUnsafe() != "" {
		return fmt.Errorf("cuda.cuda_graph: recipe %s cannot be captured in a CUDA graph (%s); set cuda.cuda_graph=false", s.cfg.Recipe, u.GraphUnsafe())
	}
	return nil
}

// plateauLoss is the loss whose epoch mean drives lr_policy plateau.
func (s *session) plateauLoss() string {
	if p, ok := s.rec.(gan.PlateauMetric); ok {
		return p.PlateauLoss()
	}
	return s.rec.LossNames()[0]
}

// totalEpochs and maxSteps saturate: epochs of 2^62 with train.max_steps
// (training by steps) would overflow into a negative total.
func (s *session) totalEpochs() int { return totalEpochs(s.cfg) }

func totalEpochs(cfg *config.Config) int {
	if e, d := cfg.Train.Epochs, cfg.Train.EpochsDecay; e <= math.MaxInt-d {
		return e + d
	}
	return math.MaxInt
}

func (s *session) maxSteps() int {
	total := math.MaxInt
	if e, b := s.totalEpochs(), s.loader.BatchesPerEpoch(); b == 0 || e <= (math.MaxInt-max(0, s.stepShift))/b {
		total = e*b + s.stepShift
	}
	if m := s.cfg.Train.MaxSteps; m > 0 && m < total {
		return m
	}
	return total
}

func (s *session) setLR(lr float64) {
	for _, o := range s.rec.Optimizers() {
		o.Adam.SetLR(lr)
	}
}

// trainStep runs one step on a staged batch inside its own scope. Unless it
// is the last step it takes the next batch while the step runs on the
// device, so that batch's copy overlaps this step. Alone, it returns the
// losses still on the device (a tensor of its own, to Free), for the loop to
// read with others (train.losses_every); with several ranks, the ranks' mean
// losses read to the host. flags are asked once the step is queued (so a
// time limit counts the step), and come back ORed over the ranks.
func (s *session) trainStep(ctx context.Context, st *stagedBatch, last bool, flags func() []bool) (onDevice *torch.Tensor, losses map[string]float64, agreed []bool, err error) {
	defer st.release() // after the step: on the CPU the batch tensor is the buffer itself
	err = torch.Try(func() {
		sc := torch.NewScope()
		defer sc.Close()
		st.wait()
		out := s.launchStep(st.inputs)
		s.markConsumed(st)
		if !last {
			s.prefetch(ctx)
		}
		if s.job == nil {
			// A copy: a CUDA graph's replays all write the same tensor.
			onDevice, agreed = out.Detach().Clone().Persist(), flags()
			return
		}
		start := time.Now()
		all := s.agree(out, flags())
		s.agreeT += time.Since(start)
		vals := all.Float32s() // the mean losses, then the ORed flags
		losses = s.lossMap(vals)
		agreed = make([]bool, len(vals)-len(s.rec.LossNames()))
		for i := range agreed {
			agreed[i] = vals[len(s.rec.LossNames())+i] > 0
		}
	})
	return onDevice, losses, agreed, err
}

// weights lists every tensor a checkpoint stores: the nets' state dicts,
// the optimizers' moments and the recipe's fixed inputs.
func (s *session) weights() []torch.Named {
	var ws []torch.Named
	for _, n := range s.rec.Nets() {
		ws = append(ws, n.Weights()...)
	}
	for _, o := range s.rec.Optimizers() {
		o.Adam.State("") // allocate the moments if no step ran yet
		for i := range o.Adam.Params {
			ws = append(ws,
				torch.Named{Name: fmt.Sprintf("optimizer.%s.exp_avg.%d", o.Name, i), Tensor: o.Adam.ExpAvg[i]},
				torch.Named{Name: fmt.Sprintf("optimizer.%s.exp_avg_sq.%d", o.Name, i), Tensor: o.Adam.ExpAvgSq[i]})
		}
	}
	return append(ws, s.fixed()...)
}

// fixed lists the recipe's fixed inputs, if it has any.
func (s *session) fixed() []torch.Named {
	if f, ok := s.rec.(gan.FixedInputs); ok {
		return f.Fixed()
	}
	return nil
}

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
		Config: string(cfgYAML), Metrics: runfolder.CheckpointMetrics{Last: s.last}}
	meta := map[string]string{"gogan": runfolder.Version, "recipe": s.cfg.Recipe, "step": fmt.Sprint(s.step)}
	if len(s.initialNets) > 0 {
		meta[runfolder.InitialNetsKey] = strings.Join(s.initialNets, ",")
	}
	ck, err := runfolder.WriteCheckpoint(s.rd.Path, st, func(w io.Writer) error { return torch.WriteSafetensors(w, ws, meta) })
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
		for _, f := range s.fixed() {
			src, ok := saved[f.Name]
			if !ok { // an imported pix2pix checkpoint has no sample pairs
				s.lostFixed = append(s.lostFixed, f.Name)
				continue
			}
			ss, ds := src.Shape(), f.Tensor.Shape()
			if otherCount(ss, ds) {
				warns = append(warns, []any{"resume: the checkpoint holds another number of these images; the first ones are kept", "tensor", f.Name,
					"checkpoint", ss[0], "run", ds[0], "kept", min(ss[0], ds[0])})
				copyLeading(f.Tensor, src)
				continue
			}
			if !slices.Equal(ss, ds) {
				// Saved with another number of ranks, or another image
				// size: the grid's inputs are drawn anew.
				warns = append(warns, []any{"resume: the checkpoint's sample inputs have another shape; new ones are used", "tensor", f.Name,
					"checkpoint", ss, "run", ds})
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
		if was, now := max(1, lst.World), s.ranks(); was != now && s.lead {
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
			// that epoch taken ahead but not yet acted on (a stop, a
			// checkpoint by steps or minutes): the epoch's end comes first.
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

// drawSample is writeSample's drawing, on rank 0 once the buffers agree.
func (s *session) drawSample(also ...string) error {
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
		return s.gridErr(err, false)
	}
	if err := report.SavePNG(s.rd.LatestSamplePath(), img); err != nil {
		return s.gridErr(err, true)
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

// reportProgress writes the live page of a run at s.step of max steps.
func (s *session) reportProgress(max int) {
	s.report(fmt.Sprintf("training: step %d of %d", s.step, max), livePage)
}

func (s *session) report(status string, p page) {
	if !s.lead {
		return
	}
	if s.lossPlot == nil {
		s.lossPlot = report.NewLossPlotter(s.rd.MetricsPath(), s.rd.LossPlotPath(), s.cfg.Recipe+" losses")
	}
	if err := s.lossPlot.Write(); err != nil {
		slog.Debug("loss plot", "err", err) // no rows yet
	}
	info := report.ReportInfo{Title: filepath.Base(s.rd.Path) + " (" + s.cfg.Recipe + ")", Status: status, Live: bool(p)}
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

func (s *session) loop(ctx context.Context, opt RunOptions) (*Result, error) {
	t := s.cfg.Train
	var metrics *runfolder.MetricsWriter
	if s.lead {
		var err error
		if metrics, err = runfolder.OpenMetrics(s.rd.MetricsPath(), s.rec.LossNames(), s.step); err != nil {
			return nil, err
		}
		defer metrics.Close()
	}
	sd := s.shutdown
	sd.Stepping()
	if s.lead {
		sd.OnQuit(s.quitStatus)
	}
	max := s.maxSteps()
	if s.step >= max && s.step > 0 && s.lead {
		how := "raise train.max_steps"
		if m := s.cfg.Train.MaxSteps; m <= 0 || m > max {
			how = fmt.Sprintf("raise train.epochs + train.epochs_decay (%d epochs now; the learning-rate schedule follows them)", s.totalEpochs())
		}
		slog.Warn(fmt.Sprintf("the run has already trained its %d steps: to train on, %s with --set", max, how))
	}
	s.setLR(s.sched.LR)
	if s.lead {
		// What the run trains, before its first progress line, which a
		// job's log gets only after train.log_every steps (minutes where a
		// step takes seconds); the references print their data's size too.
		slog.Info("training", "run", s.rd.Path, "recipe", s.cfg.Recipe, "device", s.dev.String(), "samples", s.ds.Len(),
			"batch", s.cfg.Data.BatchSize*s.ranks(), "steps_per_epoch", s.loader.BatchesPerEpoch(), "epochs", s.totalEpochs(),
			"from_step", s.step, "to_step", max)
	}
	if err := s.drawMissedEpochGrid(); err != nil {
		return nil, err
	}
	// A live page from the start: a resumed run's replaces the one its
	// killed session left, which says that run may have stopped. Its
	// next, after the first step, dates the one after by that step's pace.
	s.reportProgress(max)
	startStep := s.step
	// Rank 0 tells how the job goes: under torchrun the ranks share its
	// terminal, where another rank's bar would overwrite rank 0's (the
	// others log at warnings only).
	pb := report.NewProgress(report.ProgressOptions{Total: max, Start: s.step, Epochs: s.totalEpochs(), Quiet: opt.Quiet || !s.lead, Writer: opt.Writer, LogEvery: t.LogEvery, Label: s.cfg.Recipe, Order: s.rec.LossNames()})
	defer pb.Finish()
	// endEpoch closes the epoch and logs its end, with the time since it
	// began (this session's part of it, for the epoch a resume goes on in).
	epochT := time.Now()
	endEpoch := func() error {
		if err := s.endEpoch(); err != nil {
			return err
		}
		if s.lead {
			pb.EndEpoch(s.epoch, s.step, time.Since(epochT))
		}
		epochT = time.Now()
		return nil
	}
	res := func() *Result {
		return &Result{Run: s.rd, Step: s.step, Epoch: s.epoch, Losses: s.last, Checkpoint: s.ckpt}
	}
	s.ckptT = time.Now() // train.checkpoint_every_minutes counts from the start
	reader := &lossReader{s: s, every: s.lossesEvery(), max: max, metrics: metrics, pb: pb, onStep: opt.OnStep}
	defer reader.discard()
	reader.restartClock()
	// stopped is the run's end at a non-finite loss (the NaN guard); the
	// report says so with every other failure's (endWatch).
	stopped := func(err error) (*Result, error) {
		if nf := (*NonFiniteError)(nil); errors.As(err, &nf) {
			nf.Weights = lossWeightsSet(s.cfg)
			return nil, fmt.Errorf("%w; the last good checkpoint is %s", err, s.lastCheckpointText())
		}
		return nil, err
	}
	// dataStop ends the run at a batch the data could not give, after a
	// checkpoint of the steps since the last where that keeps them.
	dataStop := func(err error) (*Result, error) {
		if s.keepsStepsAt(err) {
			if rerr := reader.read(); rerr != nil {
				return stopped(rerr)
			}
			if err := s.checkpointBefore(err); err != nil {
				return nil, err
			}
		}
		return nil, err
	}
	// Alone, a signal stops the run before the next step, and cancels a
	// wait for data. With several ranks, the ranks agree after each step
	// (stop), so that all of them stop after the same one.
	stepCtx, stop := sd.Context(), sd.Requested
	var stopping os.Signal // the ranks agreed to stop: the signal one of them got
	if s.job != nil {
		stepCtx = ctx
		stop = func() bool { return stopping != nil }
	}
	for s.step < max && s.epoch < s.totalEpochs() {
		if stop() {
			if err := reader.read(); err != nil {
				return stopped(err)
			}
			// The checkpoint first: a metrics.csv that cannot take the
			// stop's row must not cost the steps since the last one. A stop
			// right after a checkpoint has nothing new to write.
			if !s.atCheckpoint() {
				if err := s.checkpoint(); err != nil {
					return nil, err
				}
			}
			if err := reader.rowOfStop(); err != nil {
				return nil, err
			}
			sig := stopping // what the ranks agreed on, so that all exit alike
			if sig == nil { // alone
				sig = sd.Signal()
			}
			s.report(fmt.Sprintf("stopped by %v at step %d", sig, s.step), finalPage)
			r := res()
			r.Signal = sig
			return r, nil
		}
		b := s.nextBatch(stepCtx)
		if err := b.err; errors.Is(err, io.EOF) {
			if err := reader.read(); err != nil {
				return stopped(err)
			}
			if err := endEpoch(); err != nil {
				return nil, err
			}
			reader.restartClock()
			continue
		} else if err != nil {
			if stop() {
				continue // the signal cancelled the wait: checkpoint above
			}
			return dataStop(err)
		}
		if err := s.sizes.check(s.cfg, s.ds.Files(), b.batch); err != nil {
			s.putBack(b)
			return dataStop(fmt.Errorf("step %d: %w", s.step+1, err))
		}
		n := b.batch.N() * s.ranks()
		if err := s.takeRealGrid(b, t.SampleEvery > 0 && (s.step+1)%t.SampleEvery == 0); err != nil {
			b.release()
			return nil, fmt.Errorf("step %d: %w", s.step+1, err)
		}
		// Asked after the step: a signal, and train.checkpoint_every_minutes
		// passed since the last checkpoint (the step's own time included).
		flags := func() []bool {
			byTime := s.lead && t.CheckpointEveryMinutes > 0 && time.Since(s.ckptT).Minutes() >= t.CheckpointEveryMinutes
			sig := sd.Signal()
			return []bool{sig == syscall.SIGTERM, sig != nil && sig != syscall.SIGTERM, byTime}
		}
		stepStart := time.Now()
		onDevice, losses, agreed, err := s.trainStep(stepCtx, b, s.step+1 == max, flags)
		s.stepT += time.Since(stepStart)
		s.steps++
		if err != nil {
			if bceRefusedNaN(err) {
				return stopped(&NonFiniteError{Step: s.step + 1, Name: "D's output", Value: math.NaN(), Cause: err})
			}
			return nil, fmt.Errorf("step %d: %w", s.step+1, err)
		}
		switch { // SIGTERM where ranks got both
		case agreed[0]:
			stopping = syscall.SIGTERM
		case agreed[1]:
			stopping = syscall.SIGINT
		}
		byTime := agreed[2]
		s.step++
		sample := t.SampleEvery > 0 && s.step%t.SampleEvery == 0
		byStep := t.CheckpointEvery > 0 && s.step%t.CheckpointEvery == 0
		// The losses are read before anything that records them or the
		// weights: a checkpoint, a sample's report.
		if err := reader.add(trainedStep{step: s.step, epoch: s.epoch, lr: s.sched.LR, images: n, onDevice: onDevice, losses: losses},
			sample || byStep || byTime); err != nil {
			return stopped(err)
		}
		// The checkpoint first: a grid that cannot be written (a folder in
		// its way, samples/ read-only) then costs no training.
		if byStep || byTime {
			if err := s.checkpoint(); err != nil {
				return nil, err
			}
		}
		if sample {
			if err := s.writeSample(); err != nil {
				return nil, err
			}
		}
		firstPage := s.step == startStep+1
		if sample || firstPage {
			s.reportProgress(max)
		}
		if sample || byStep || byTime || firstPage {
			reader.restartClock() // the time between steps (samples, checkpoints) is not the steps'
		}
	}
	// Finished. A run that stops on the last batch of an epoch has not seen
	// that epoch's end from the loader yet: close it as every other epoch.
	if err := reader.read(); err != nil {
		return stopped(err)
	}
	if s.position().Epoch > s.epoch {
		if err := endEpoch(); err != nil {
			return nil, err
		}
	} else {
		if !s.atCheckpoint() {
			if err := s.checkpoint(); err != nil {
				return nil, err
			}
		}
		if err := s.writeSample(); err != nil {
			return nil, err
		}
	}
	s.report(fmt.Sprintf("finished: step %d, epoch %d", s.step, s.epoch), finalPage)
	s.logCommunication()
	return res(), nil
}

func (s *session) lastCheckpointText() string {
	if s.ckpt == "" {
		return "none (no checkpoint was written yet)"
	}
	return s.ckpt
}

// continueText says how a run its data stopped goes on from its newest
// checkpoint, once the data are fixed, or starts again where it wrote none.
func (s *session) continueText(run string) string {
	if s.ckpt == "" {
		return "then run the same gogan train command again"
	}
	return fmt.Sprintf("then continue with %s (the newest good checkpoint is %s)", ResumeCommand(run), s.lastCheckpointText())
}

// ResumeCommand is the command that continues the run in folder run, as a
// shell reads it (a folder named -x given as ./-x, one with spaces quoted),
// and as the run ran: a data-parallel job of one machine with as many
// processes (a resume on another number of ranks is no longer the run an
// uninterrupted job makes); one of several machines with torchrun's command
// again on each.
func ResumeCommand(run string) string {
	run = gan.PathArg(run)
	if w, _ := strconv.Atoi(os.Getenv("WORLD_SIZE")); w > 1 {
		if lw, _ := strconv.Atoi(os.Getenv("LOCAL_WORLD_SIZE")); lw == w {
			return gan.Command("gogan", "resume", run, "--nproc", strconv.Itoa(w))
		}
		return gan.Command("gogan", "resume", run) + "   (under torchrun on every machine, as this job was started)"
	}
	return gan.Command("gogan", "resume", run)
}

// endEpoch steps the LR schedule and writes the epoch's grid and checkpoint.
func (s *session) endEpoch() error {
	mean := math.NaN() // no step this epoch (an import at an epoch's end): nothing for plateau to compare
	if s.n > 0 {
		mean = s.sum / float64(s.n)
	}
	s.epoch++
	s.sum, s.n = 0, 0
	s.setLR(s.sched.EndEpoch(mean))
	if h, ok := s.rec.(gan.EpochHook); ok {
		if err := h.EndEpoch(s.epoch); err != nil {
			return fmt.Errorf("epoch %d: %w", s.epoch, err)
		}
	}
	if err := s.checkpoint(); err != nil {
		return err
	}
	if err := s.writeSample(s.rd.EpochSamplePath(s.epoch)); err != nil {
		return err
	}
	s.report(fmt.Sprintf("training: epoch %d of %d, step %d", s.epoch, s.totalEpochs(), s.step), livePage)
	return nil
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
