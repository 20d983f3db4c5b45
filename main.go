// Command gogan trains GANs (the recipes of gan/all) on libtorch: see README.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"gogan/bench"
	torch "gogan/cgo"
	"gogan/config"
	"gogan/dist"
	"gogan/gan"
	_ "gogan/gan/all" // every recipe registers
	"gogan/infer"
	"gogan/report"
	"gogan/runfolder"
	"gogan/serve"
	"gogan/trainer"
)

func main() {
	trainer.ListenSIGUSR1() // before anything slow: Slurm's save-before-the-limit signal
	level := slog.LevelInfo
	if r := os.Getenv("RANK"); r != "" && r != "0" {
		level = slog.LevelWarn // rank 0 tells how the job goes
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(report.LogOutput, &slog.HandlerOptions{Level: level})))
	if err := rootCmd().Execute(); err != nil {
		if msg := fmt.Sprintln("gogan:", err); dist.LeaveError(msg) {
			fmt.Fprint(os.Stderr, msg)
		}
		var stopped *trainer.StoppedBeforeStart
		var peer *dist.PeerError
		switch {
		case errors.As(err, &stopped):
			os.Exit(trainer.ExitCode(stopped.Signal))
		case errors.As(err, &peer) && peer.Rank >= 0:
			os.Exit(dist.ExitPeer) // another rank's failure: the launcher names that one
		}
		os.Exit(1)
	}
}

// computing are the commands whose work runs on libtorch's CPU threads: they
// start again with libgomp's idle threads spinning briefly
// (torch.SpinBriefly), which costs the others' quick answers nothing.
var computing = map[string]bool{"train": true, "resume": true, "sample": true, "translate": true, "features": true,
	"serve": true, "eval": true, "bench": true}

func rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "gogan",
		Short:         "Train GANs in Go on libtorch",
		Long:          recipesHelp(),
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       fmt.Sprintf("%s (libtorch %s, %s)", runfolder.Version, torch.Version(), runtime.Version()),
		PersistentPreRun: func(c *cobra.Command, _ []string) {
			if c.HasSubCommands() {
				return // eval alone, or a word that is none of its commands: no work
			}
			for ; c.HasParent() && c.Parent().HasParent(); c = c.Parent() {
			}
			if computing[c.Name()] {
				if err := torch.SpinBriefly(); err != nil { // returns only where it did not execute gogan again
					slog.Warn(err.Error())
				}
			}
		},
	}
	root.SetFlagErrorFunc(torchrunFlag)
	root.AddCommand(trainCmd(), resumeCmd(), runsCmd(), sampleCmd(), translateCmd(), featuresCmd(), importCmd(), exportCmd(), netsCmd(), configCmd(), benchCmd(), evalCmd(), serveCmd())
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "completion" {
			onlySubcommands(c)
		}
	}
	var folders func(c *cobra.Command)
	folders = func(c *cobra.Command) {
		for _, n := range []string{"checkpoint", "data-root"} { // a folder on every command that has it
			if c.Flags().Lookup(n) != nil {
				folderFlag(c, n)
			}
		}
		for _, s := range c.Commands() {
			folders(s)
		}
	}
	folders(root)
	return root
}

// recipesHelp is gogan --help's text: the registered recipes, each with
// its Doc line, so that a new recipe's package shows up there.
func recipesHelp() string {
	names := gan.Names()
	width := 0
	for _, n := range names {
		width = max(width, len(n))
	}
	var b strings.Builder
	b.WriteString("Train GANs in Go on libtorch. Recipes (a config's recipe:, or --set recipe=NAME):\n")
	for _, n := range names {
		d, _ := gan.Lookup(n)
		fmt.Fprintf(&b, "  %-*s  %s\n", width, n, d.Schema.Doc)
	}
	return b.String()
}

type configFlags struct {
	path string
	sets []string
	cmd  *cobra.Command
}

func (f *configFlags) add(c *cobra.Command) {
	f.cmd = c
	c.Flags().StringVarP(&f.path, "config", "c", config.DefaultConfigPath, "YAML config file (configs/*.yaml); without it the default, or the recipe's own defaults where --set recipe= (GOGAN_RECIPE) names another recipe")
	c.Flags().StringArrayVar(&f.sets, "set", nil, "override a config key: --set train.max_steps=200 (repeatable; GOGAN_* environment variables work too)")
	c.MarkFlagFilename("config", "yaml", "yml")
	c.RegisterFlagCompletionFunc("set", setKeys)
}

func (f *configFlags) load() (*config.Config, error) {
	if !f.cmd.Flags().Changed("config") {
		// The default config is a DCGAN's on Fashion-MNIST: its values
		// are no defaults of another recipe's (a CycleGAN took its batch
		// of 64 and data.dataset fashion-mnist, and was refused for it).
		// That recipe starts from its own, as import --from does.
		if r := config.GivenRecipe(f.sets, os.Environ()); r != "" && r != config.DefaultRecipe {
			cfg, err := config.LoadConfig("", f.sets)
			if err != nil {
				return nil, err // a recipe that does not exist: the key's refusal says so
			}
			fmt.Fprintf(os.Stderr, "note: no --config: recipe %s starts from its own defaults (gogan config --set recipe=%s prints them), not %s's%s\n",
				r, r, config.DefaultConfigPath, recipeConfigs(r))
			return cfg, nil
		}
	}
	if f.path == config.DefaultConfigPath {
		if _, err := os.Stat(f.path); err != nil {
			wd, _ := os.Getwd()
			return nil, fmt.Errorf("--config %s (the default) is not in %s: it is the clone's, so run gogan from the clone, or give --config PATH", f.path, wd)
		}
	}
	cfg, err := config.LoadConfig(f.path, f.sets)
	if err != nil {
		return nil, err
	}
	if dir := filepath.Dir(f.path); filepath.Base(f.path) == "config.yaml" && runfolder.IsRun(dir) {
		// a run's config (train -c OLD_RUN/config.yaml), taken as resume
		// takes it: values an older gogan wrote that the run never read
		// (train.pool_size 50 in a DCGAN's) are no user's settings
		if why := gan.TakeOlderConfig(cfg, func() *runfolder.CheckpointState { return runfolder.NewestState(dir) }); why != "" {
			fmt.Fprintf(os.Stderr, "note: %s: %s\n", f.path, why)
		}
	}
	return cfg, nil
}

// recipeConfigs names the clone's ready-made configs of a recipe
// (configs/<recipe>.yaml, configs/<recipe>-*.yaml) for a note: "" where
// there are none here.
func recipeConfigs(recipe string) string {
	dir := filepath.Dir(config.DefaultConfigPath)
	names, _ := filepath.Glob(filepath.Join(dir, recipe+"-*.yaml"))
	if _, err := os.Stat(filepath.Join(dir, recipe+".yaml")); err == nil {
		names = append([]string{filepath.Join(dir, recipe+".yaml")}, names...)
	}
	if len(names) == 0 {
		return ""
	}
	return "; its ready-made configs: -c " + strings.Join(names, ", -c ")
}

// deviceFlag and threadsFlag are --device and --threads of the commands
// that run networks outside a training run, in the same words on each.
func deviceFlag(c *cobra.Command, p *string) {
	*p = "auto"
	c.Flags().Var(deviceValue{p}, "device", "auto, cpu, cuda or cuda:N")
	flagValues(c, "device", "auto", "cpu", "cuda")
}

func threadsFlag(c *cobra.Command, p *int) {
	c.Flags().IntVar(p, "threads", 0, "libtorch CPU threads (0: all cores)")
}

type runFlags struct {
	quiet bool
	nproc int
	cmd   *cobra.Command
}

func (f *runFlags) add(c *cobra.Command) {
	f.cmd = c
	c.Flags().BoolVar(&f.quiet, "quiet", false, "log lines instead of a progress bar")
	c.Flags().IntVar(&f.nproc, "nproc", 0, "train with N processes on this machine (data parallelism on c10d, as torchrun --nproc-per-node N; one GPU each on CUDA); data.batch_size is per process")
}

// launched runs the command as f.nproc ranks when --nproc asks for it and
// says whether it did (or refused: --nproc in a process that is a rank
// already).
func (f *runFlags) launched() (bool, error) {
	if f.nproc == 0 && !f.cmd.Flags().Changed("nproc") {
		return false, nil
	}
	if r := os.Getenv("RANK"); r != "" {
		// a rank of torchrun's (or of a launcher's), which says how many
		return true, fmt.Errorf("--nproc %d, but this process is already rank %s of a job (RANK is set: torchrun's --nproc-per-node says how many processes); drop --nproc, or unset RANK to launch the ranks with it", f.nproc, r)
	}
	if f.nproc < 1 {
		return true, fmt.Errorf("--nproc %d: give the number of processes, 1 or more (without --nproc, one process)", f.nproc)
	}
	// Each rank is a process with its own libtorch and copy of the
	// networks: far more of them than cores only exhausts the memory.
	if cores := torch.CPUs(); f.nproc > 4*cores {
		return true, fmt.Errorf("--nproc %d: more than 4 processes per core this process may use (%d cores); give one per GPU (on CUDA) or at most one per core", f.nproc, cores)
	} else if f.nproc > cores {
		slog.Warn("--nproc is more than the cores this process may use: on the CPU the ranks take turns for them", "nproc", f.nproc, "cores", cores)
	}
	// The ranks' stops outlive a reader of their lines that ends; Launch
	// passes SIGUSR1 on to the ranks.
	trainer.SurviveBrokenPipes()
	defer trainer.OnSIGUSR1(func() {})()
	code, err := dist.Launch(dist.LaunchOptions{NProc: f.nproc, Grace: time.Minute, SignalGrace: 5 * time.Minute}, withoutFlag(os.Args[1:], "--nproc"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "gogan:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
	return true, nil
}

// withoutFlag drops a flag and its value (--flag V or --flag=V) from args.
func withoutFlag(args []string, flag string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == flag:
			i++
		case strings.HasPrefix(a, flag+"="):
		default:
			out = append(out, a)
		}
	}
	return out
}

// finish prints where the results are and maps a signal stop to its exit code.
func finish(res *trainer.Result) error {
	r := res.Run
	if rank := os.Getenv("RANK"); rank != "" && rank != "0" {
		// rank 0 reports the run
		if res.Signal != nil {
			os.Exit(trainer.ExitCode(res.Signal))
		}
		return nil
	}
	fmt.Printf("%s\nsamples:    %s\nreport:     %s\ncheckpoint: %s\n", trainer.StepText(res.Step, res.Epoch), r.LatestSamplePath(), r.ReportPath(), res.Checkpoint)
	if res.Signal != nil {
		// the program as started, so that the command runs as printed
		fmt.Printf("stopped by %s; continue with:\n  %s\n", trainer.SignalName(res.Signal), trainer.ResumeCommandOf(os.Args[0], r.Path))
		os.Exit(trainer.ExitCode(res.Signal))
	}
	return nil
}

func trainCmd() *cobra.Command {
	var cf configFlags
	var rf runFlags
	c := &cobra.Command{
		Use:   "train",
		Short: "Train a new run (writes checkpoints, samples, metrics and a report to the run folder)",
		Long: "Train a new run. The run folder is the config's out (--set out=DIR): config.yaml, checkpoints/,\n" +
			"samples/, metrics.csv, loss.png, tb/ (logging.tensorboard), status.json and the report, index.html\n" +
			"(README, The run folder). It ends printing where the grid, the report and the newest checkpoint\n" +
			"are; gogan resume RUN_DIR continues a stopped run.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if ok, err := rf.launched(); ok {
				return err
			}
			cfg, err := cf.load()
			if err != nil {
				return err
			}
			res, err := trainer.Train(context.Background(), cfg, trainer.RunOptions{Quiet: rf.quiet})
			if err != nil {
				return err
			}
			return finish(res)
		},
	}
	cf.add(c)
	rf.add(c)
	return c
}

func resumeCmd() *cobra.Command {
	var sets []string
	var rf runFlags
	c := &cobra.Command{
		Use:   "resume RUN_DIR",
		Short: "Continue a run from its newest valid checkpoint",
		Long: "Continue a run from its newest valid checkpoint. It writes into RUN_DIR, wherever the folder\n" +
			"was moved or copied (not into the out its config.yaml names); --set values, but device and\n" +
			"threads, are saved into RUN_DIR/config.yaml.",
		Args:              runDirArg,
		ValidArgsFunction: folderArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			if ok, err := rf.launched(); ok {
				return err
			}
			res, err := trainer.Resume(context.Background(), args[0], sets, trainer.RunOptions{Quiet: rf.quiet})
			if err != nil {
				return err
			}
			return finish(res)
		},
	}
	c.Flags().StringArrayVar(&sets, "set", nil, "override a key of the run's config, e.g. --set train.max_steps=5000")
	c.RegisterFlagCompletionFunc("set", setKeys)
	rf.add(c)
	return c
}

func sampleCmd() *cobra.Command {
	var o infer.SampleOptions
	var gMode string
	c := &cobra.Command{
		Use:   "sample",
		Short: "Draw a grid of DCGAN samples (or a class-conditional recipe's) from a checkpoint",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if gMode != "eval" && gMode != "train" {
				return fmt.Errorf("--g-mode %q: must be eval (BatchNorm's running statistics) or train (each pass's batch statistics, as pytorch/examples dcgan draws its grids)", gMode)
			}
			if err := outFile(o.Out, ".png", "grid"); err != nil {
				return err
			}
			o.TrainMode = gMode == "train"
			if err := torch.SetThreads(0); err != nil {
				return err
			}
			if err := infer.Sample(o); err != nil {
				return err
			}
			fmt.Println("wrote", o.Out)
			return nil
		},
	}
	c.Flags().StringVar(&o.Checkpoint, "checkpoint", "", "checkpoint folder, or a run folder (its newest valid checkpoint)")
	c.Flags().IntVar(&o.N, "n", 64, "number of samples")
	c.Flags().Int64Var(&o.Seed, "seed", 1, "noise seed")
	c.Flags().StringVar(&o.Class, "class", "", "a class-conditional recipe's: every sample's class, its number or (Fashion-MNIST, CIFAR-10) name (left out: sample i of class i mod the classes, a column a class up to 32)")
	deviceFlag(c, &o.Device)
	c.Flags().StringVar(&o.Out, "out", "samples.png", "output PNG")
	c.Flags().StringVar(&gMode, "g-mode", "eval", "generator mode: eval (BatchNorm running statistics) or train (batch statistics over passes of the run's data.batch_size, as pytorch/examples dcgan draws its fake_samples grids and gogan its samples/)")
	flagValues(c, "g-mode", "eval", "train")
	c.MarkFlagRequired("checkpoint")
	return c
}

func translateCmd() *cobra.Command {
	var o infer.TranslateOptions
	c := &cobra.Command{
		Use:   "translate",
		Short: "Run a pix2pix, colorization, CycleGAN or pix2pixHD generator on an image or a folder of images or label maps",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// SIGINT or SIGTERM stops between images, so that none is left
			// half written; a second one quits at once.
			sd := trainer.NotifyShutdown(context.Background())
			defer sd.Stop()
			sd.SteppingThrough("finishing the current image",
				"at once: the translations written stay; the one being written may leave a hidden .tmp- file beside it, which the next translate of it removes")
			o.Stop = sd.Context().Done()
			o.Seeded = cmd.Flags().Changed("seed")
			if o.Seeded && o.Eval && o.Features == "" {
				// eval mode draws nothing: no dropout, no clusters
				return fmt.Errorf("--seed %d seeds train mode's dropout and the cluster draws of --features; with --eval and no --features it would change nothing: leave it out", o.Seed)
			}
			if err := torch.SetThreads(0); err != nil {
				return err
			}
			n, err := infer.Translate(o)
			if stopped := (*infer.Stopped)(nil); errors.As(err, &stopped) {
				where := fmt.Sprintf("the %d translations written are in %s: the same command again writes them all", n, o.Out)
				if n == 0 {
					where = "nothing was written"
				}
				fmt.Fprintf(os.Stderr, "gogan: translate: stopped by %s after %d of %d inputs; %s\n", trainer.SignalName(sd.Signal()), stopped.Done, stopped.Total, where)
				os.Exit(sd.ExitCode())
			}
			if err != nil {
				return err
			}
			images := "images"
			if n == 1 {
				images = "image"
			}
			fmt.Printf("translated %d %s into %s\n", n, images, o.Out)
			return nil
		},
	}
	c.Flags().StringVar(&o.Checkpoint, "checkpoint", "", "checkpoint folder, or a run folder (its newest valid checkpoint)")
	c.Flags().StringVar(&o.Direction, "direction", "", "CycleGAN: AtoB (G_A) or BtoA (G_B); default AtoB (pix2pix has one direction, the one it trained)")
	c.Flags().StringVar(&o.Input, "input", "", "folder of input images, or one image file (pix2pixHD with data.label_nc: label maps, with --instances and --photos files for one file)")
	c.Flags().StringVar(&o.Instances, "instances", "", "pix2pixHD with instance maps: their folder, paired with --input by sorted position (the one file's, for an --input file)")
	c.Flags().StringVar(&o.Features, "features", "", "pix2pixHD with features (model.instance_feat, label_feat): the file of clustered features gogan features wrote; each region gets a random cluster of its class (test.py)")
	c.Flags().Uint64Var(&o.Seed, "seed", 0, "seed of train mode's dropout (the same --seed, the same outputs; left out, each call draws anew, as test.py) and of --features' cluster draws (which draw from seed 0 where it is left out)")
	c.Flags().StringVar(&o.Photos, "photos", "", "pix2pixHD with features: instead of --features, the photos they are encoded from, paired with --input by sorted position (the one file's, for an --input file) (test.py --use_encoded_image)")
	c.Flags().StringVar(&o.Out, "out", "translated", "output folder (PNG files, same base names; not inside a folder read)")
	deviceFlag(c, &o.Device)
	c.Flags().BoolVar(&o.Eval, "eval", false, "eval mode (BatchNorm running stats, no dropout), as the reference's test.py --eval; default is train mode, as its default")
	c.Flags().BoolVar(&o.SkipInvalid, "skip-invalid", false, "skip unreadable inputs with a warning instead of stopping")
	c.Flags().StringVar(&o.Preprocess, "preprocess", "", "how inputs are sized, as test.py's --preprocess: resize_and_crop (to --load-size square), scale_width (width --load-size, the aspect kept) or none (each image's own size); default: resize_and_crop to the crop size for a resize_and_crop run, scale_width at its load_size for scale_width runs, none for crop and none runs. Sides are then rounded to what the generator takes")
	c.Flags().IntVar(&o.Limit, "limit", 0, "translate only the first N inputs in sorted order (test.py --num_test, pix2pixHD's --how_many); 0 = all")
	c.Flags().IntVar(&o.LoadSize, "load-size", 0, "with --preprocess resize_and_crop or scale_width: the size (default: the run's crop_size, or its load_size for scale_width)")
	c.MarkFlagRequired("checkpoint")
	c.MarkFlagRequired("input")
	folderOrFileFlag(c, "input")
	flagValues(c, "direction", "AtoB", "BtoA")
	flagValues(c, "preprocess", "resize_and_crop", "scale_width", "none")
	folderFlag(c, "out")
	return c
}

func serveCmd() *cobra.Command {
	var o serve.Options
	var addr string
	c := &cobra.Command{
		Use:   "serve",
		Short: "Serve a generator over HTTP: a drawing page (pix2pix, colorization, CycleGAN, pix2pixHD) or a sample page (DCGAN), and POST /translate",
		Long: `Serve a checkpoint's generator over HTTP until SIGINT or SIGTERM.

GET / is a web page: for image-to-image models a canvas to draw the input on
(pen and eraser for sketches, the label colours of the training data for label
maps, upload for photos) with the output beside it, updated as you draw; for
DCGAN a grid of samples and latent interpolation. The API:

  POST /translate             PNG or JPEG in (body or multipart file), PNG out
  GET  /sample?seed=S&n=K     DCGAN: K samples from seeds S, S+1, ... (PNG;
                              &class=C for a class-conditional generator)
  GET  /interpolate?a=S&b=T&steps=N   DCGAN: N images from seed S to seed T
                              (&class=C as /sample's)
  GET  /example?i=N           image to image: training input N at the model's size (PNG)
  GET  /info                  the model and the page's palette (JSON)
  GET  /healthz               {"status": "ok", ...}

Prints "serving on http://ADDR" once it listens (--addr 127.0.0.1:0 picks a
free port).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			trainer.SurviveBrokenPipes() // its stop outlives a reader of its lines that ends (| tee, and Ctrl-C)
			return serve.Main(addr, o, os.Stdout)
		},
	}
	f := c.Flags()
	f.StringVar(&o.Checkpoint, "checkpoint", "", "checkpoint folder, or a run folder (its newest valid checkpoint)")
	f.StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on (host:port; port 0 picks a free one)")
	f.StringVar(&o.Direction, "direction", "", "CycleGAN: AtoB (G_A) or BtoA (G_B); default AtoB (pix2pix has one direction, the one it trained)")
	deviceFlag(c, &o.Device)
	threadsFlag(c, &o.Threads)
	f.BoolVar(&o.Eval, "eval", false, "eval mode (BatchNorm running stats, no dropout), as translate --eval; default is train mode, as translate's (DCGAN always runs in eval mode, as sample)")
	f.StringVar(&o.DataRoot, "data-root", "", "read the palette and examples from this dataset folder instead of the config's data.root")
	f.StringVar(&o.Palette, "palette", "", "the page's colours instead of the training data's: #rrggbb,#rrggbb,... (the first is the background)")
	f.StringVar(&o.Input, "input", "auto", "what the page draws: auto (from the training data), labels, sketch or image")
	f.Int64Var(&o.MaxUpload, "max-upload", serve.DefaultMaxUpload, "largest upload in bytes (413 above)")
	f.Int64Var(&o.MaxPixels, "max-pixels", serve.DefaultMaxPixels, "largest decoded upload in pixels (413 above)")
	f.IntVar(&o.MaxBatch, "max-batch", serve.DefaultMaxBatch, "most images in one forward pass when requests arrive together")
	f.IntVar(&o.Queue, "queue", serve.DefaultQueue, "requests that may wait for the generator (503 above)")
	f.IntVar(&o.MaxConns, "max-conns", serve.DefaultMaxConns, "most connections held at once (more wait until one closes)")
	f.Int64Var(&o.MinUploadRate, "min-upload-rate", serve.DefaultMinUploadRate, "bytes per second an upload must average after its first 10 s (408 below; 0 = no floor, for slow links)")
	c.MarkFlagRequired("checkpoint")
	flagValues(c, "direction", "AtoB", "BtoA")
	flagValues(c, "input", "auto", "labels", "sketch", "image")
	return c
}

func runsCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "runs [DIR]",
		Short: "One line per run folder in DIR (default runs): recipe, step, newest valid checkpoint, last losses, running or how it stopped",
		Long: `One line per run folder in DIR (default runs), or for DIR itself: recipe, step, newest valid
checkpoint, last losses, and whether it is running or how it stopped.

--json prints one JSON object a line for scripts: path, recipe, step, total_steps, checkpoint
(the table's cell), losses (name: value), state (one word: running, starting, finished, stopped,
failed, killed, imported or unknown) and detail (the table's STATE text). A DIR that holds no
run folder prints nothing there, where the table is refused.`,
		ValidArgsFunction: folderArg,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return fmt.Errorf("runs takes one folder, DIR (default runs), got %d arguments %q: run it once per folder", len(args), args)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "runs"
			if len(args) == 1 {
				dir = args[0]
			}
			paths, err := runfolder.FindRuns(dir)
			if err != nil {
				return err
			}
			var ss []runfolder.Summary
			for _, p := range paths {
				ss = append(ss, runfolder.Summarize(p))
			}
			if asJSON {
				// no runs yet is a state a script asks about (a cron job's
				// first call), not a mistake
				for _, s := range ss {
					if err := printJSONLine(s.JSON()); err != nil {
						return err
					}
				}
				return nil
			}
			if len(paths) == 0 {
				return fmt.Errorf("runs: no run folders (folders with the config.yaml a gogan run writes) in %s", dir)
			}
			return runfolder.WriteSummaries(os.Stdout, ss)
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print one JSON object a line (path, recipe, step, total_steps, checkpoint, losses, state, detail) for scripts")
	return c
}

// dcganEpochFile is pytorch/examples dcgan's name for its generator's file.
var dcganEpochFile = regexp.MustCompile(`^netG_epoch_([0-9]{1,9})\.pth$`)

func importCmd() *cobra.Command {
	var cf configFlags
	var pthG, pthD, out, from, label string
	var nets []string
	var epoch int
	c := &cobra.Command{
		Use:   "import",
		Short: "Turn PyTorch state_dicts (torch.save .pth) into a gogan checkpoint",
		Long: "Builds the networks of --config, loads the generator's (and optionally the discriminator's)\n" +
			"state_dict from .pth files saved by torch.save (pytorch/examples dcgan netG_epoch_*.pth,\n" +
			"pytorch-CycleGAN-and-pix2pix latest_net_G.pth; --net G_A=latest_net_G_A.pth and so on for a\n" +
			"CycleGAN's four networks, --net E=latest_net_E.pth for pix2pixHD's feature encoder), and writes a step-0 checkpoint in --out that gogan sample,\n" +
			"translate and resume use.\n\n" +
			"--from DIR takes a pytorch-CycleGAN-and-pix2pix or pix2pixHD checkpoint folder (checkpoints/NAME) as it is:\n" +
			"the options file the reference wrote there (train_opt.txt, opt.txt) becomes the config (over --config's\n" +
			"keys, which give what the options do not carry; --set overrides both) and every network's\n" +
			"<label>_net_<role>.pth is loaded (--label, default latest).",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var cfg *config.Config
			pths := map[string]string{} // by role; a role without a file starts from its initial weights
			for role, f := range map[string]string{"G": pthG, "D": pthD} {
				if f != "" {
					pths[role] = f
				}
			}
			var at trainer.ImportedAt
			hint := ""
			if from != "" {
				if pthG != "" || pthD != "" || len(nets) > 0 {
					return fmt.Errorf("import: --from finds the networks' files itself; drop --pth, --pth-d and --net")
				}
				path := ""
				if cmd.Flags().Changed("config") {
					path = cf.path
				}
				run, err := trainer.ReadReferenceRun(from, label, path, cf.sets)
				if err != nil {
					return err
				}
				cfg, pths, at = run.Config, run.Files, run.At
				if strings.HasPrefix(cfg.Sources["out"], "default") { // "default", "default for <recipe>"
					cfg.Out = filepath.Join("runs", filepath.Base(filepath.Clean(from)))
				}
				fmt.Printf("config from %s: recipe %s\n", run.Options, cfg.Recipe)
				if !cmd.Flags().Changed("epoch") && run.AtNote != "" {
					run.Notes = append(run.Notes, run.AtNote)
				}
				for _, n := range run.Notes {
					fmt.Println("note:", n)
				}
			} else {
				if label != "" {
					return fmt.Errorf("import: --label picks the files of --from; with --pth and --net name the files")
				}
				var err error
				if cfg, err = cf.load(); err != nil {
					return err
				}
				for _, n := range nets {
					role, file, ok := strings.Cut(n, "=")
					if !ok || role == "" || file == "" {
						return fmt.Errorf("--net %q: want ROLE=FILE, e.g. --net G_A=latest_net_G_A.pth", n)
					}
					if prev, dup := pths[role]; dup {
						return fmt.Errorf("import: network %s is given twice (%s and %s): name each role's file once", role, prev, file)
					}
					pths[role] = file
				}
				if pths["G"] == "" && len(nets) == 0 {
					return fmt.Errorf("import: name the generator's .pth with --pth (or --net ROLE=FILE for each network, e.g. CycleGAN's G_A and G_B), or a reference's checkpoint folder with --from")
				}
			}
			if out != "" {
				cfg.Out = out
			}
			if cmd.Flags().Changed("epoch") {
				at = trainer.ImportedAt{Epochs: epoch}
			} else if m := dcganEpochFile.FindStringSubmatch(filepath.Base(pths["G"])); m != nil {
				n, _ := strconv.Atoi(m[1])
				hint = fmt.Sprintf("main.py saves %s after its epoch %s (from 0): give --epoch %d for resume to go on after it", filepath.Base(pths["G"]), m[1], n+1)
			}
			// SIGINT or SIGTERM stops the import before it writes the run
			// (without a handler the process died leaving a half-made run
			// folder); a checkpoint being written is finished.
			sd := trainer.NotifyShutdown(context.Background())
			defer sd.Stop()
			sd.SteppingThrough("stopping before the run's files are written (a checkpoint being written is finished)",
				"at once: the run folder may be left half made; remove it ("+cfg.Out+") before importing again")
			ck, notes, err := trainer.ImportUntil(sd.Context().Done(), cfg, pths, at)
			if errors.Is(err, trainer.ErrImportStopped) {
				fmt.Fprintf(os.Stderr, "gogan: import: stopped by %s; nothing was written in %s\n", trainer.SignalName(sd.Signal()), cfg.Out)
				os.Exit(sd.ExitCode())
			}
			if err != nil {
				return err
			}
			if hint != "" {
				notes = append(notes, hint)
			}
			for _, n := range notes {
				fmt.Println("note:", n)
			}
			fmt.Println("wrote", ck)
			return nil
		},
	}
	cf.add(c)
	c.Flags().StringVar(&pthG, "pth", "", "the generator's state_dict (.pth)")
	c.Flags().StringVar(&pthD, "pth-d", "", "the discriminator's state_dict (.pth), optional")
	c.Flags().StringArrayVar(&nets, "net", nil, "ROLE=FILE: the state_dict of the network with that role (repeatable), e.g. --net G_A=latest_net_G_A.pth --net G_B=latest_net_G_B.pth for CycleGAN")
	c.Flags().StringVar(&from, "from", "", "a pytorch-CycleGAN-and-pix2pix or pix2pixHD checkpoint folder (checkpoints/NAME): its options file and networks")
	c.Flags().StringVar(&label, "label", "", "with --from: the epoch label of the files (<label>_net_G.pth; default latest)")
	c.Flags().StringVar(&out, "out", "", "run folder to create (default: the config's out; with --from runs/NAME)")
	folderFlag(c, "from", "out")
	c.Flags().IntVar(&epoch, "epoch", 0, "the epochs the weights trained: resume goes on at the next one, with the learning rate the schedule has there, as the reference's --continue_train --epoch_count N+1 (default: with --from, a numbered --label or pix2pixHD's iter.txt; otherwise 0)")
	return c
}

func netsCmd() *cobra.Command {
	var cf configFlags
	c := &cobra.Command{
		Use:   "nets",
		Short: "Print the networks of a config: layers, output shapes, parameter counts",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := cf.load()
			if err != nil {
				return err
			}
			s, err := infer.DescribeNets(cfg)
			if err != nil {
				return err
			}
			fmt.Print(s)
			return nil
		},
	}
	cf.add(c)
	return c
}

func configCmd() *cobra.Command {
	var cf configFlags
	var keys bool
	c := &cobra.Command{
		Use:   "config",
		Short: "Print the effective config (after the file, GOGAN_* variables and --set), or every key",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if keys {
				fmt.Print(config.SchemaMarkdown())
				return nil
			}
			cfg, err := cf.load()
			if err != nil {
				return err
			}
			// the data rules train applies when it opens the data
			// (data.serial_batches with aligned data, ...)
			dc, err := gan.DataConfig(cfg)
			if err == nil {
				err = dc.Check()
			}
			if err != nil {
				return err
			}
			y, err := cfg.YAML()
			if err != nil {
				return err
			}
			os.Stdout.Write(y)
			if fk := cfg.ForeignKeys(); len(fk) > 0 {
				fmt.Fprintf(os.Stderr, "warning: recipe %s does not read %s, which other recipes do: their values change nothing\n", cfg.Recipe, strings.Join(fk, ", "))
			}
			return nil
		},
	}
	cf.add(c)
	c.Flags().BoolVar(&keys, "keys", false, "print the table of every config key")
	return c
}

func benchCmd() *cobra.Command {
	var cf configFlags
	var warmup, steps int
	var asJSON, specOnly bool
	c := &cobra.Command{
		Use:   "bench",
		Short: "Time training steps on synthetic batches: images/s, ms per step, peak memory",
		Long: `Time training steps on synthetic batches: images/s, ms per step, peak memory.

--json prints the result as one JSON object, with the step's spec (networks,
input shapes, losses, Adam) that scripts/bench_pytorch.py repeats in PyTorch;
--spec prints only the spec, without running anything.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := cf.load()
			if err != nil {
				return err
			}
			if specOnly {
				spec, err := bench.NewSpec(cfg)
				if err != nil {
					return err
				}
				return printJSONLine(spec)
			}
			if steps < 1 || warmup < 0 {
				return fmt.Errorf("bench: --steps %d, --warmup %d: need at least one timed step and no negative warmup", steps, warmup)
			}
			res, err := bench.Run(cfg, warmup, steps)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSONLine(res)
			}
			fmt.Println(res)
			return nil
		},
	}
	cf.add(c)
	c.Flags().IntVar(&warmup, "warmup", 3, "untimed steps first")
	c.Flags().IntVar(&steps, "steps", 20, "timed steps")
	c.Flags().BoolVar(&asJSON, "json", false, "print the result (and the step's spec) as JSON")
	c.Flags().BoolVar(&specOnly, "spec", false, "print only the step's spec as JSON (for scripts/bench_pytorch.py)")
	return c
}

func printJSONLine(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	fmt.Println(string(b))
	return nil
}
