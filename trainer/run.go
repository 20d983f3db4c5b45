package trainer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"io/fs"
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

// StepText says where a run stands: "step 101, 16 epochs done" (the
// epochs it completed, where a progress line names the one under way).
func StepText(step, epochs int) string {
	if epochs == 1 {
		return fmt.Sprintf("step %d, 1 epoch done", step)
	}
	return fmt.Sprintf("step %d, %d epochs done", step, epochs)
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
	machineSets = nil // config.yaml keeps a train's device and threads
	var made []string // the folders this run made, outermost first
	// A run that fails before it starts (its data, its networks' weights)
	// leaves no folder of its own; one that started keeps it, with a
	// status.json saying how it failed, for gogan runs.
	opt.discardFailedStart = func() { removeMade(cfg.Out, made) }
	return run(ctx, cfg, opt, func(lead bool, job *dist.Job) (runfolder.RunDir, bool, error) {
		if !lead {
			return runfolder.RunDir{Path: cfg.Out}, false, nil
		}
		if err := outInData(cfg, cfg.Out, "set out to a folder outside it"); err != nil {
			return runfolder.RunDir{}, false, err
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
			if err := rd.HeldNow(); err != nil {
				return rd, false, err // in training: resuming it would be refused as this is
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

// killedImport refuses to resume a folder that a gogan import killed
// before its checkpoint left (no checkpoint, no status.json; its .lock
// still names it): the import, not a train, makes that run again.
func killedImport(dir string) error {
	rd := runfolder.RunDir{Path: dir}
	who := rd.LeftBy()
	if !strings.HasPrefix(who, "gogan import ") {
		return nil
	}
	if _, err := os.Stat(rd.StatusPath()); err == nil {
		return nil
	}
	if cks, _ := runfolder.ListCheckpoints(dir); len(cks) > 0 {
		return nil
	}
	return fmt.Errorf("resume %s: %s made this folder and was killed before it wrote its checkpoint (there is none, and no status.json): there is nothing to go on from; run that gogan import again with --out %s (it imports into the folder as it is), or import into a new folder",
		dir, who, dir)
}

// Resume continues the run in dir from its newest valid checkpoint, with the
// run's config.yaml plus sets (key=value; e.g. a larger train.max_steps).
func Resume(ctx context.Context, dir string, sets []string, opt RunOptions) (*Result, error) {
	machineSets = nil // set below from this call's config; none from an earlier call's
	for _, kv := range sets {
		if k, _, _ := strings.Cut(kv, "="); strings.EqualFold(strings.TrimSpace(k), "out") {
			return nil, fmt.Errorf("resume %s: --set %s: a resumed run goes on in its own folder (to train elsewhere, copy the folder and resume the copy)", dir, kv)
		}
	}
	if err := killedImport(dir); err != nil {
		return nil, err
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
			return nil, fmt.Errorf("resume %s: a checkpoint folder; resume takes the run folder it is in (%s), and goes on from its newest valid checkpoint: "+
				"to go on from this one, move the checkpoints after it out of %s first", dir, ResumeCommand(run), filepath.Dir(filepath.Clean(dir)))
		}
		if what, imp := runfolder.ImportHint(dir); what != "" {
			// main.py's --netG/--netD, the references' --continue_train
			them := "them"
			if strings.HasPrefix(what, "is ") {
				them = "it"
			}
			return nil, fmt.Errorf("resume %s: %s %s, not a gogan run folder: import %s first (%s), then gogan resume RUN trains on",
				dir, dir, what, them, imp)
		}
		return nil, fmt.Errorf("resume %s: not a gogan run folder (no config.yaml): %w", dir, err)
	}
	cfg, err := config.LoadConfig(path, sets)
	if err != nil {
		return nil, unreadableConfig(dir, err)
	}
	takeOlderConfig(cfg, dir)
	if src := cfg.Sources["out"]; strings.HasPrefix(src, "env ") && !samePath(cfg.Out, dir) {
		// left exported from a train: said, not refused as --set out= is
		slog.Warn(strings.TrimPrefix(src, "env ")+" is not used: a resumed run goes on in its own folder", "ignored", cfg.Out, "run", dir)
	}
	cfg.Out = dir
	for _, k := range []string{"device", "threads"} {
		if cfg.Sources[k] == "--set" {
			v, _ := cfg.Get(k)
			machineSets = append(machineSets, fmt.Sprintf("%s=%v", k, v))
		}
	}
	if !cfg.GivenNow("device") {
		if _, err := DeviceFor(cfg); err != nil {
			if fix := deviceFix(cfg); len(fix) > 0 {
				// a run trained on a GPU machine, copied to one without
				return nil, fmt.Errorf("resume %s: %w\nthe run's config.yaml names the device it trained on (device: %s); to go on on this machine: %s (device is the machine's: config.yaml keeps its own)",
					dir, err, cfg.Device, gan.Command(append(append([]string{"gogan", "resume", gan.PathArg(dir)}, setFlags(sets)...), fix...)...))
			}
		}
	}
	if cfg.GivenNow("data.root") {
		// given now (the images moved): saved into config.yaml absolute,
		// as train saves it
		absRoot(cfg)
	} else if !filepath.IsAbs(cfg.Data.Root) {
		// a run from before absRoot
		abs, _ := filepath.Abs(cfg.Data.Root)
		slog.Warn("data.root is relative in the run's config: read from this working folder", "data.root", cfg.Data.Root, "folder", abs)
	}
	if err := outInData(cfg, dir, "move the run folder out of it and resume it there"); err != nil {
		return nil, fmt.Errorf("resume %s: %w", dir, err)
	}
	opt.resumeFile = true
	return run(ctx, cfg, opt, func(lead bool, _ *dist.Job) (runfolder.RunDir, bool, error) {
		if !lead {
			return runfolder.RunDir{Path: dir}, true, nil
		}
		if p, err := (runfolder.RunDir{Path: dir}).Unwritable(); p != "" {
			// before anything is written: status.json, config.yaml
			return runfolder.RunDir{Path: dir}, true, fmt.Errorf("resume %s: %s: this user may not write it (%w), and a resumed run writes its checkpoints, metrics.csv and grids into the run folder: "+
				"give this user write access to the folder (chmod -R u+w or chown -R, as its owner), or copy the folder (cp -r %s NEW) and resume the copy",
				dir, p, err, gan.PathArg(dir))
		}
		// NewRunDir also brings back a samples folder someone deleted.
		rd, err := runfolder.NewRunDir(dir)
		return rd, true, err
	})
}

// gone says whether path no longer exists.
func gone(path string) bool {
	_, err := os.Stat(path)
	return errors.Is(err, fs.ErrNotExist)
}

// setFlags is sets (KEY=VALUE) as the --set flags that gave them.
func setFlags(sets []string) []string {
	var flags []string
	for _, kv := range sets {
		flags = append(flags, "--set", kv)
	}
	return flags
}

// deviceFix is the --set flags that resume a run whose config names a
// device this machine lacks (cuda on a machine without CUDA, cuda:3 on one
// of two GPUs), with the cuda.* settings that need a GPU turned off where
// there is none.
func deviceFix(cfg *config.Config) []string {
	var fix []string
	if _, err := torch.ParseDevice(cfg.Device); err != nil {
		fix = append(fix, "--set", "device=auto")
	}
	if !torch.CUDAIsAvailable() {
		if cfg.CUDA.AMP != "off" {
			fix = append(fix, "--set", "cuda.amp=off")
		}
		if cfg.CUDA.CUDAGraph {
			fix = append(fix, "--set", "cuda.cuda_graph=false")
		}
	}
	return fix
}

// outInData refuses a run folder out inside a folder whose images the
// config's data reads: the run's grids and loss plot would become training
// images (and the dataset, grown, no longer the one its checkpoints were
// trained on). fix says what to do.
func outInData(cfg *config.Config, out, fix string) error {
	for _, dir := range imageFolders(cfg) {
		if runfolder.Within(out, dir) {
			return fmt.Errorf("out %s is inside %s, whose images are read as training data: the run's samples and loss plot would be too; %s", out, dir, fix)
		}
	}
	if cfg.Data.Dataset == data.Folder { // its walk follows links
		for _, l := range data.LinkedFolders(cfg.Data.Root) {
			if runfolder.Within(out, l.Target) {
				return fmt.Errorf("out %s is inside %s, which %s links to: its images are read as training data, and the run's samples and loss plot would be too; %s", out, l.Target, l.Path, fix)
			}
		}
	}
	return nil
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
	lock       *runfolder.Held // the run folder's (rank 0)
	// threads: libtorch's intra-op thread count this process runs with
	// (threads: 0 resolved), recorded in a CPU run's checkpoints
	threads int
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
	// resumedRanks: the number of ranks that wrote the checkpoint resumed
	// from (0: an import's)
	resumedRanks int
	// endedHere: the session before this one ended at the checkpoint this
	// one resumes from (status.json: stopped, not by a second signal, or
	// finished at its step), so the folder holds nothing of later steps
	// (dropAbandonedGrids)
	endedHere bool
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
	if errors.Is(err, torch.ErrNoCUDA) {
		return dev, fmt.Errorf("%w: set device=cpu or device=auto", err)
	}
	if err != nil {
		return dev, err // it names the device key and its value
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

	s := &session{cfg: cfg, dev: dev, job: job, lead: job.Lead(), resumeFile: opt.resumeFile, threads: threads}
	defer s.close()
	// SIGINT and SIGTERM are the run's from here: one while it starts (its
	// data decoded, its networks built) ends the start, which a new run
	// undoes as any failed start.
	s.shutdown = NotifyShutdown(ctx)
	defer s.shutdown.Stop()
	s.shutdown.TakeCheckpointRequests() // SIGUSR1: a checkpoint at the next step, and on
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
		command := "train"
		if resume {
			command = "resume"
		}
		s.lock, err = rd.LockAs(command)
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
			if s.lock != nil && opt.discardFailedStart != nil {
				opt.discardFailedStart()
			}
			return nil, err
		}
	} else {
		if err != nil {
			if s.shutdown.Signal() == nil {
				job.CannotStart(err) // rank 0's error says why
			}
			return nil, startErr(err)
		}
		if err := s.takeStart(); err != nil {
			if peer := (*dist.PeerError)(nil); !errors.As(err, &peer) {
				job.CannotStart(err) // its config or data are not rank 0's
			}
			return nil, err
		}
	}
	if job != nil {
		if err := s.joinRanks(); err != nil {
			if s.lead && s.lock != nil && opt.discardFailedStart != nil {
				opt.discardFailedStart() // a new run that never stepped
			}
			return nil, err
		}
	}
	if s.lead {
		s.startWatch()
	}
	res, err = s.loop(ctx, opt)
	if err != nil && s.lead {
		err = s.folderMoved(err) // before the messages that name the folder
		rd = s.rd
	}
	if err != nil && job != nil && dist.IsCollective(err) {
		err = job.Explain(err) // before status.json records it
	}
	if peer := (*dist.PeerError)(nil); err != nil && job != nil && errors.As(err, &peer) && peer.Rank >= 0 && s.step > 0 &&
		(s.lead || job.Rank == 1 && slices.Equal(peer.Silent, []int{0})) && (s.ckpt != "" || s.ckptAt > 0) {
		// A rank that died leaves the run at its newest checkpoint: say how
		// it goes on, as a signal's stop does (a plain gogan resume would
		// go on in one process, at another global batch). Rank 0 says it,
		// or rank 1 where rank 0 alone is gone, not every survivor (a rank 0
		// still stuck in the collective another rank's death broke is
		// silent a moment with it, and says it itself).
		// Under torchrun with restarts left, the agent does it.
		how := "once every rank can run again, the job goes on from the newest good checkpoint with " + ResumeCommand(rd.Path)
		if max, _ := strconv.Atoi(os.Getenv("TORCHELASTIC_MAX_RESTARTS")); job.Restart < max {
			how = fmt.Sprintf("torchrun restarts the job (restart %d of --max-restarts %d), which goes on from the newest good checkpoint", job.Restart+1, max)
		}
		err = fmt.Errorf("%w\n%s", err, how)
	}
	if err != nil && torch.IsOutOfMemory(err) {
		err = fmt.Errorf("%w\nthe step needs more memory than the device (%s%s) has: lower data.batch_size, the image size or the networks' widths (model.ngf, model.ndf); the newest good checkpoint is %s",
			err, s.dev, addressSpaceLimit(s.dev), s.lastCheckpointText())
	}
	var bad *data.FileError
	if err != nil && errors.As(err, &bad) && errors.Is(err, fs.ErrNotExist) && s.lead && gone(filepath.Dir(bad.Path)) {
		// not the file's fault: its folder went (data.root renamed or
		// moved while the run trained)
		where := "data.root " + s.cfg.Data.Root
		if !gone(s.cfg.Data.Root) {
			where = "the folder " + filepath.Dir(bad.Path)
		}
		how := s.continueText(rd.Path)
		if s.ckpt != "" {
			how += ", or where it is elsewhere now, " + ResumeCommand(rd.Path) + " --set data.root=DIR (saved into config.yaml)"
		}
		err = fmt.Errorf("%w\n%s is gone (moved or renamed while the run trained): put it back, %s", err, where, how)
	} else if err != nil && errors.As(err, &bad) && !errors.Is(err, syscall.ENOSPC) {
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
	return fmt.Sprintf("stopped by %s before the first step, nothing trained (%v)", SignalName(e.Signal), e.Err)
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
		var ce *data.ConfigError
		if s.resumeFile && !s.cfg.GivenNow("data.root") &&
			errors.As(err, &ce) && ce.Key == "data.root" && ce.Value == s.cfg.Data.Root && strings.HasPrefix(ce.Msg, "no such folder") {
			// the run's own config.yaml names it: the images moved, or an
			// import was given none
			return fmt.Errorf("%w\nthe run's config.yaml (%s) names it: resume with --set data.root=DIR, the folder the images are in now (saved into config.yaml)",
				err, filepath.Join(s.rd.Path, "config.yaml"))
		}
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
	if s.lock != nil {
		s.lock.Unlock()
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
	if s.lead {
		sd.Stepping()
		sd.OnQuit(s.quitStatus)
	} else {
		sd.SteppingThrough("finishing the current step, with the job's checkpoint, which rank 0 writes", "without a checkpoint")
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
		attrs := []any{"run", s.rd.Path, "recipe", s.cfg.Recipe, "device", s.dev.String()}
		if t := s.cpuThreads(); t > 0 {
			attrs = append(attrs, "threads", t)
		}
		slog.Info("training", append(attrs, "samples", s.ds.Len(),
			"batch", s.cfg.Data.BatchSize*s.ranks(), "steps_per_epoch", s.loader.BatchesPerEpoch(), "epochs", s.totalEpochs(),
			"from_step", s.step, "to_step", max)...)
	}
	if err := s.dropAbandonedGrids(); err != nil {
		return nil, err
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
	seen := s.position().SamplesBefore() // metrics.csv's images: the samples of the steps before this one
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
	closedAt := -1         // the step whose checkpoint closed its epoch
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
			s.report(fmt.Sprintf("stopped by %s at step %d", SignalName(sig), s.step), finalPage)
			r := res()
			r.Signal = sig
			return r, nil
		}
		b := s.nextBatch(stepCtx)
		if err := b.err; errors.Is(err, io.EOF) {
			if err := reader.read(); err != nil {
				return stopped(err)
			}
			if closedAt != s.step { // not closed by its last step's checkpoint
				if err := endEpoch(); err != nil {
					return nil, err
				}
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
		// The real batch's grid goes with the next sample grid: this step's
		// batch where a train.sample_every grid follows it, and each epoch's
		// first (main.py's real_samples.png at i = 0), drawn with the
		// epoch's grid where no train.sample_every grid comes first.
		if err := s.takeRealGrid(b, t.SampleEvery > 0 && (s.step+1)%t.SampleEvery == 0 || b.from.Batch == 0); err != nil {
			b.release()
			return nil, fmt.Errorf("step %d: %w", s.step+1, err)
		}
		// Asked after the step: a signal, train.checkpoint_every_minutes
		// passed since the last checkpoint (the step's own time included),
		// and a SIGUSR1's checkpoint, which every rank writes at the step
		// any rank was asked at.
		flags := func() []bool {
			byTime := s.lead && t.CheckpointEveryMinutes > 0 && time.Since(s.ckptT).Minutes() >= t.CheckpointEveryMinutes
			sig := sd.Signal()
			return []bool{sig == syscall.SIGTERM, sig != nil && sig != syscall.SIGTERM, byTime, sd.CheckpointAsked()}
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
		byTime, asked := agreed[2], agreed[3]
		s.step++
		sample := t.SampleEvery > 0 && s.step%t.SampleEvery == 0
		byStep := t.CheckpointEvery > 0 && s.step%t.CheckpointEvery == 0
		// The losses are read before anything that records them or the
		// weights: a checkpoint, a sample's report.
		seen += int64(n)
		if err := reader.add(trainedStep{step: s.step, epoch: s.epoch, lr: s.sched.LR, images: n, seen: seen, at: time.Now(), onDevice: onDevice, losses: losses},
			sample || byStep || byTime || asked); err != nil {
			return stopped(err)
		}
		// The checkpoint first: a grid that cannot be written (a folder in
		// its way, samples/ read-only) then costs no training. On an
		// epoch's last step it is the epoch's end's, closed now rather
		// than when the loader says so, next: the step's checkpoint and
		// then the epoch's wrote the step twice.
		if byStep || byTime || asked {
			if s.position().Epoch > s.epoch {
				if err := endEpoch(); err != nil {
					return nil, err
				}
				closedAt = s.step
			} else if err := s.checkpoint(); err != nil {
				return nil, err
			}
			sd.Answered(asked)
			if asked && s.lead {
				if s.step < max && !stop() {
					slog.Info(fmt.Sprintf("SIGUSR1: checkpoint at step %d, training goes on", s.step), "checkpoint", s.ckpt)
				} else {
					slog.Info(fmt.Sprintf("SIGUSR1: checkpoint at step %d", s.step), "checkpoint", s.ckpt)
				}
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
		if sample || byStep || byTime || asked || firstPage {
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
	} else if closedAt != s.step {
		if !s.atCheckpoint() {
			if err := s.checkpoint(); err != nil {
				return nil, err
			}
		}
		if err := s.writeSample(); err != nil {
			return nil, err
		}
	}
	s.report("finished: "+StepText(s.step, s.epoch), finalPage)
	s.logCommunication()
	return res(), nil
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
	s.reportProgress(s.maxSteps())
	return nil
}
