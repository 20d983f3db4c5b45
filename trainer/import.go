package trainer

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	torch "gogan/cgo"
	"gogan/config"
	"gogan/gan"
	"gogan/runfolder"
)

// ImportedAt is how far the imported weights had trained: Epochs whole
// epochs, and Samples images of the next one (pix2pixHD's iter.txt). A run
// resumed from the import goes on from there, its learning rate where the
// schedule has it then, as the references' --continue_train does with
// --epoch_count Epochs+1 (their optimizers too start afresh).
type ImportedAt struct {
	Epochs  int
	Samples int
}

// Import builds cfg's networks, loads PyTorch state_dicts saved with
// torch.save (.pth) into the networks of the given roles (at least the
// generator, "G"), and writes a step-0 checkpoint into cfg.Out that sample,
// translate and resume can use. notes say, per file, what was adapted from
// a state dict saved before PyTorch 0.4 (nets.Net.LoadPyTorchStateDict).
func Import(cfg *config.Config, pths map[string]string, at ImportedAt) (ck string, notes []string, err error) {
	return ImportUntil(nil, cfg, pths, at)
}

// ErrImportStopped is an import ended by ImportUntil's stop: the run
// folder it made is removed.
var ErrImportStopped = errors.New("import: stopped before its checkpoint was written; nothing was written")

// ImportUntil is Import that stop (closed by SIGINT or SIGTERM) ends before
// the run's files are written, with ErrImportStopped and no folder of its
// own left behind (a half-made run: a lock, samples/, a checkpoint's temp).
// A checkpoint being written by then is finished: the import is complete.
func ImportUntil(stop <-chan struct{}, cfg *config.Config, pths map[string]string, at ImportedAt) (ck string, notes []string, err error) {
	stopped := func() bool {
		select {
		case <-stop:
			return true
		default:
			return false
		}
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	dev, err := DeviceFor(cfg)
	if err != nil {
		return "", nil, err
	}
	if err := at.check(cfg); err != nil {
		return "", nil, err
	}
	absRoot(cfg)
	if err := outInData(cfg, cfg.Out, "gogan resume refuses it there: for a run to train on, import into a folder outside it"); err != nil {
		// translate, sample and serve read it well; resume would not
		notes = append(notes, err.Error())
	}
	if f := runfolder.Foreign(cfg.Out); len(f) > 0 {
		return "", nil, fmt.Errorf("import: %w", foreignErr(cfg.Out, f))
	}
	made, err := mkdirAll(cfg.Out)
	if err != nil {
		return "", nil, fmt.Errorf("import: run folder: %w", err)
	}
	rd, err := runfolder.NewRunDir(cfg.Out)
	if err != nil {
		return "", nil, err
	}
	lock, err := rd.LockAs("import")
	if err != nil {
		return "", nil, fmt.Errorf("import: %w", err)
	}
	defer lock.Unlock()
	defer func() {
		// A failed import leaves no folder of its own behind (removed
		// while it holds the folder's lock, before unlock).
		if err != nil {
			removeMade(cfg.Out, made)
		}
	}()
	if cks, _ := runfolder.ListCheckpoints(rd.Path); len(cks) > 0 {
		return "", nil, fmt.Errorf("import: %s already holds checkpoints; choose a new --out", rd.Path)
	}
	torch.ManualSeed(uint64(cfg.Seed))
	s := &session{cfg: cfg, rd: rd, dev: dev, lead: true}
	defer s.close()
	if err := s.newRecipe(); err != nil {
		return "", nil, err
	}
	roles := make([]string, 0, len(pths))
	for r := range pths {
		roles = append(roles, r)
	}
	// the recipe's order (G before D), so that of two files that do not
	// load the generator's is named first; roles it lacks last, sorted
	order := func(r string) int {
		if i := slices.IndexFunc(s.rec.Nets(), func(n gan.Net) bool { return n.Role == r }); i >= 0 {
			return i
		}
		return len(s.rec.Nets())
	}
	sort.Slice(roles, func(i, j int) bool {
		if oi, oj := order(roles[i]), order(roles[j]); oi != oj {
			return oi < oj
		}
		return roles[i] < roles[j]
	})
	// files whose shapes say the settings they were saved with: each is
	// checked, so that one error names every --set (main.py's netG of
	// another --ngf and netD of another --ndf), not one a try
	var described []describedFile
	for _, n := range s.rec.Nets() {
		if _, named := pths[n.Role]; !named {
			notes = append(notes, fmt.Sprintf("network %s starts from its initial weights: no file was given for it", n.Role))
			s.initialNets = append(s.initialNets, n.Role)
		}
	}
	for _, role := range roles {
		file := pths[role]
		if file == "" {
			continue
		}
		i := slices.IndexFunc(s.rec.Nets(), func(n gan.Net) bool { return n.Role == role })
		if i < 0 {
			var roles []string
			for _, n := range s.rec.Nets() {
				roles = append(roles, n.Role)
			}
			return "", nil, fmt.Errorf("import %s: recipe %s has no network %s (its networks: %s): name the file's network with --net ROLE=FILE (CycleGAN's latest_net_G_A.pth is --net G_A=...; a one-direction test model's latest_net_G.pth is G_A's or G_B's)",
				file, cfg.Recipe, role, strings.Join(roles, ", "))
		}
		n := s.rec.Nets()[i]
		if stopped() {
			return "", nil, ErrImportStopped
		}
		sd, err := torch.LoadPTH(file)
		if err != nil {
			return "", nil, fmt.Errorf("import: %w", err)
		}
		if name := nonFinite(sd); name != "" {
			torch.FreeNamed(sd)
			return "", nil, fmt.Errorf("import %s: tensor %s holds inf or nan values: these weights draw nothing (saved from a run that diverged?); import a checkpoint from before", file, name)
		}
		shapes := make(map[string][]int64, len(sd))
		for _, t := range sd {
			shapes[t.Name] = t.Tensor.Shape()
		}
		adapted, err := n.Net.LoadPyTorchStateDict(sd)
		torch.FreeNamed(sd)
		for _, a := range adapted {
			notes = append(notes, fmt.Sprintf("%s (%s): %s", file, role, a))
		}
		if err != nil {
			spec, _ := gan.NetSpecOf(cfg, role)
			if def, _ := gan.Lookup(cfg.Recipe); def != nil && def.Describe != nil {
				if d := def.Describe(cfg, role, shapes); d != "" {
					described = append(described, describedFile{fmt.Sprintf("%s into network %s (%s): %s", file, role, spec.Options.Kind, d), d, err})
					continue
				}
			}
			var own map[string][]int64 // where no Describe said what the file is not
			if def, _ := gan.Lookup(cfg.Recipe); def == nil || def.Describe == nil {
				own = map[string][]int64{}
				for _, t := range n.Net.StateDict() {
					own[t.Name] = t.Tensor.Shape()
				}
			}
			if others := gan.OtherRecipes(cfg.Recipe, shapes, own); len(others) > 0 {
				which := "recipe " + others[0] + " (recipe: " + others[0] + ")"
				if len(others) > 1 {
					which = "one of them"
				}
				return "", nil, fmt.Errorf("import %s into network %s (%s): it holds a network of recipe %s, none of recipe %s's: import it with a --config of %s; %w",
					file, role, spec.Options.Kind, wordList(others, "or"), cfg.Recipe, which, err)
			}
			return "", nil, fmt.Errorf("import %s into network %s (%s): %w", file, role, spec.Options.Kind, err)
		}
	}
	if err := describedErr(described); err != nil {
		return "", nil, err
	}
	t := cfg.Train
	if s.sched, err = NewSchedule(t.LRPolicy, t.LR, t.Epochs, t.EpochsDecay, t.LRDecayIters); err != nil {
		return "", nil, err
	}
	if t.LRPolicy == "plateau" {
		// Its state follows losses the reference does not save: it starts
		// afresh at the base rate, as the reference's scheduler does.
		s.sched.Epoch = at.Epochs
	} else {
		for range at.Epochs {
			s.sched.EndEpoch(0)
		}
	}
	s.epoch, s.importedSamples = at.Epochs, at.Samples
	// The optimizers saved are those of that epoch (pix2pixHD's Adam over
	// the whole G past train.niter_fix_global), as resume rebuilds them
	// before it loads their moments.
	if r, ok := s.rec.(gan.Resumer); ok {
		if err := r.Resume(at.Epochs); err != nil {
			return "", nil, fmt.Errorf("import: recipe %s: %w", cfg.Recipe, err)
		}
	}
	if stopped() {
		return "", nil, ErrImportStopped
	}
	if err := rd.WriteConfig(cfg); err != nil {
		return "", nil, err
	}
	if err := s.checkpoint(); err != nil {
		return "", nil, err
	}
	host, _ := os.Hostname()
	detail := "imported: resume trains it"
	if at.Epochs > 0 || at.Samples > 0 {
		detail = fmt.Sprintf("imported after %d epochs (and %d images): resume goes on from there", at.Epochs, at.Samples)
	}
	now := time.Now().UTC()
	if err := rd.WriteStatus(runfolder.Status{State: runfolder.StateImported, Detail: detail, Recipe: cfg.Recipe, PID: os.Getpid(), Host: host, Started: now}); err != nil {
		return "", nil, err
	}
	return s.ckpt, notes, nil
}

// describedFile is a file that did not load into its network, with what
// the recipe's Describe read of its shapes.
type describedFile struct {
	what, desc string // "FILE into network ROLE (KIND): DESC", DESC
	err        error  // the load's
}

// setFlag is one setting a description asks for.
var setFlag = regexp.MustCompile(`--set \S+`)

// describedErr is the import's error for the files that did not load: one
// as it is; several named together, with every --set they ask for.
func describedErr(fs []describedFile) error {
	switch len(fs) {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("import %s; %w", fs[0].what, fs[0].err)
	}
	var whats, sets []string
	for _, f := range fs {
		whats = append(whats, f.what)
		for _, set := range setFlag.FindAllString(f.desc, -1) {
			if !slices.Contains(sets, set) {
				sets = append(sets, set)
			}
		}
	}
	all := ""
	if len(sets) > 0 {
		all = "; import them with " + strings.Join(sets, " ")
	}
	return fmt.Errorf("import: %d files do not load: %s%s; %w", len(fs), strings.Join(whats, "; "), all, fs[0].err)
}

// maxImportedEpochs bounds ImportedAt.Epochs: far more than any run trains.
const maxImportedEpochs = 1_000_000

// check refuses a position past the run's end or negative counts.
func (at ImportedAt) check(cfg *config.Config) error {
	total := totalEpochs(cfg)
	switch {
	case at.Epochs < 0 || at.Samples < 0:
		return fmt.Errorf("import: epoch %d, samples %d: want counts of 0 or more", at.Epochs, at.Samples)
	case at.Epochs > maxImportedEpochs:
		return fmt.Errorf("import: epoch %d: more than the %d epochs gogan takes a position of (the schedule is stepped epoch by epoch)", at.Epochs, maxImportedEpochs)
	case at.Epochs > total || at.Epochs == total && at.Samples > 0:
		return fmt.Errorf("import: the weights trained %d epochs, but the config trains %d (train.epochs %d + train.epochs_decay %d): nothing is left to train; give the run's train.epochs and train.epochs_decay (--set), or a smaller --epoch",
			at.Epochs, total, cfg.Train.Epochs, cfg.Train.EpochsDecay)
	}
	return nil
}

// ReferenceRun is a reference implementation's checkpoint folder read for
// gogan import --from: its options as a config, its networks' files.
type ReferenceRun struct {
	Config  *config.Config
	Options string            // the options file read
	Files   map[string]string // .pth by role, those present
	// At: how far the networks had trained, when the folder says (a
	// numbered label, pix2pixHD's iter.txt); else 0 epochs. AtNote says
	// which (not printed when --epoch says instead).
	At     ImportedAt
	AtNote string
	Notes  []string
}

// ReadReferenceRun reads the checkpoint folder dir (checkpoints_dir/name)
// of a pytorch-CycleGAN-and-pix2pix or pix2pixHD run: the options file it
// wrote (train_opt.txt, or opt.txt, or test_opt.txt) becomes the config,
// over configPath's keys (optional: the settings the options do not carry)
// and under sets, and the networks' files are found under the names the
// reference saves them with, epoch label label ("" is latest). A relative
// dataroot is taken from the folder train.py ran in, which a relative
// checkpoints_dir locates, when the dataset is there.
func ReadReferenceRun(dir, label, configPath string, sets []string) (*ReferenceRun, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := checkLabel(label); err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	if fi, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("import --from: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("import --from %s: not a folder: give the reference's checkpoint folder (checkpoints/NAME), or import a .pth file with --pth", dir)
	}
	// pytorch-CycleGAN-and-pix2pix names the file by --phase
	// ([phase]_opt.txt): a run trained on another split leaves val_opt.txt
	// or such, read before a test run's test_opt.txt.
	names := []string{"train_opt.txt", "opt.txt"}
	phased, _ := filepath.Glob(filepath.Join(abs, "*_opt.txt"))
	for _, p := range phased {
		if n := filepath.Base(p); n != "train_opt.txt" && n != "test_opt.txt" {
			names = append(names, n)
		}
	}
	names = append(names, "test_opt.txt")
	var file string
	var opts map[string]string
	for _, name := range names {
		p := filepath.Join(abs, name)
		text, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return nil, fmt.Errorf("import --from: %w", err)
		}
		o := gan.ReadReferenceOptions(string(text))
		if file == "" || opts["isTrain"] == "False" && o["isTrain"] != "False" {
			file, opts = p, o // the first, or the first of a training run
		}
	}
	if what, imp := runfolder.ImportHint(dir); file == "" && strings.HasPrefix(what, "holds pytorch/examples dcgan's") {
		// main.py's --outf: no options file, its settings in the shapes
		return nil, fmt.Errorf("import --from %s: it %s and no options file: main.py writes none; import them with --pth and --pth-d instead (%s)", dir, what, imp)
	}
	if file == "" {
		return nil, fmt.Errorf("import --from %s: no train_opt.txt (or [phase]_opt.txt) or opt.txt, the options file pytorch-CycleGAN-and-pix2pix and pix2pixHD write in their checkpoint folder; import the .pth files with --config and --net ROLE=FILE instead", dir)
	}
	model := opts["model"]
	if model == "" {
		return nil, fmt.Errorf("%s: no model in it: not the options file train.py writes (its lines read \"model: pix2pix\" and so on, between \"Options\" lines); import the .pth files with --config and --net ROLE=FILE instead", file)
	}
	def, models := gan.ForReferenceModel(model)
	if def == nil {
		return nil, fmt.Errorf("%s: model %q: gogan imports the %s models (a test model's options do not say how it was trained: import its train_opt.txt's folder, or use --config with --net)", file, model, wordList(models, "and"))
	}
	recipe := def.Schema.Name
	testRun := opts["isTrain"] == "False" || filepath.Base(file) == "test_opt.txt"
	if testRun {
		delete(opts, "phase") // the split test.py read, not the one trained on
	}
	ref, err := def.FromReference(opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	run := &ReferenceRun{Options: file}
	if testRun {
		// test.py's options (the repository of 2017 wrote them to opt.txt
		// too) hold the networks but not how they were trained.
		run.Notes = append(run.Notes, fmt.Sprintf("%s holds a test run's options: the networks' settings are read, the training ones (epochs, lr, loss weights, load_size) are gogan's defaults", filepath.Base(file)))
	}
	relRoot := ""
	for i, s := range ref {
		k, v, _ := strings.Cut(s, "=")
		if k != "data.root" || filepath.IsAbs(v) {
			continue
		}
		relRoot = v
		if ran, ok := trainedIn(abs, opts["checkpoints_dir"]); ok {
			if _, err := os.Stat(filepath.Join(ran, v)); err == nil {
				ref[i], relRoot = "data.root="+filepath.Join(ran, v), ""
			}
		}
	}
	all := append(append([]string{"recipe=" + recipe}, ref...), sets...)
	if run.Config, err = config.LoadConfig(configPath, all); err != nil {
		return nil, fmt.Errorf("%s as a gogan config: %w", file, err)
	}
	if recipe == "pix2pixhd" && run.Config.Int("data.label_nc") == 0 && strings.HasPrefix(run.Config.Sources["data.direction"], "default") {
		// pix2pixHD's options have no direction: its data go from the
		// first folder to the second, which gogan's A|B datasets may hold
		// the other way round (label maps on the right, as facades).
		run.Notes = append(run.Notes, fmt.Sprintf("pix2pixHD's options carry no direction: data.direction is %s; if the run's data.root holds A|B images with the input on the right, give data.direction=BtoA (--set, or in --config)", run.Config.Data.Direction))
	}
	if recipe == "pix2pixhd" && opts["fp16"] == "True" && run.Config.CUDA.AMP == "off" {
		// train.py's --fp16 (apex AMP): not a setting of the networks,
		// but of how the run went on
		run.Notes = append(run.Notes, "the reference trained with --fp16 (mixed precision): cuda.amp is off; to go on so on a GPU, resume with --set cuda.amp=fp16")
	}
	if recipe == "pix2pixhd" {
		run.Notes = append(run.Notes, pix2pixHDNotes(opts, run.Config)...)
	}
	if relRoot == "DATAROOT" && run.Config.Data.Root == relRoot {
		// gogan export's, for data it made (edges, gray2color), which no
		// folder of the reference's holds
		run.Notes = append(run.Notes, fmt.Sprintf("dataroot DATAROOT is what gogan export writes for a run on data it makes (data.dataset=edges or gray2color, from data.source), which the reference's folders cannot hold: data.root is DATAROOT and data.dataset %s; give the run's data back with --set data.dataset=... data.source=... data.root=... (--config the run's config.yaml gives data.source)", run.Config.Data.Dataset))
	} else if relRoot != "" && run.Config.Data.Root == relRoot {
		run.Notes = append(run.Notes, fmt.Sprintf("data.root is the reference's relative dataroot %s, not found from the folder train.py ran in: set data.root to the dataset's folder", relRoot))
	}
	run.Files = map[string]string{}
	for _, f := range def.Export(run.Config, gan.ExportOptions{Dir: abs, Label: label}).Files {
		p := filepath.Join(abs, f.Name)
		if _, err := os.Stat(p); err != nil {
			if strings.HasPrefix(f.Role, "G") {
				return nil, fmt.Errorf("import --from %s: no %s, network %s's file (--label picks another epoch's%s)", dir, f.Name, f.Role, savedLabels(abs))
			}
			run.Notes = append(run.Notes, fmt.Sprintf("no %s: network %s starts from its initial weights", f.Name, f.Role))
			run.Files[f.Role] = "" // noted here: Import does not note it again
			continue
		}
		run.Files[f.Role] = p
	}
	if err := run.readPosition(abs, label); err != nil {
		return nil, err
	}
	return run, nil
}

// pix2pixHDNotes say the options of pix2pixHD's opt.txt that no config key
// holds, where they are not its defaults: what they did there and what
// gogan does instead.
func pix2pixHDNotes(opts map[string]string, c *config.Config) []string {
	var notes []string
	switch v := opts["data_type"]; v {
	case "", "32":
	case "16":
		// encode_input and get_edges hand G half inputs (which only
		// --fp16's autocasting trains), test.py runs model.half()
		if c.CUDA.AMP == "off" && opts["fp16"] != "True" {
			notes = append(notes, "the reference ran with --data_type 16 (half-precision inputs, and test.py's networks in half): cuda.amp is off and the networks are float32; to go on in mixed precision on a GPU, resume with --set cuda.amp=fp16")
		}
	default:
		notes = append(notes, fmt.Sprintf("the reference ran with --data_type %s, which only its test.py reads (it casts the networks to that type; training ran in float32): the networks are float32 here, nothing to do", v))
	}
	if opts["use_dropout"] == "True" {
		notes = append(notes, "the reference's options say --use_dropout, but pix2pixHD's define_G builds no dropout whatever it says (its ResnetBlocks are built without it): the networks are read as they are, without dropout, nothing to do")
	}
	if v := opts["n_clusters"]; v != "" && v != "10" && (c.Bool("model.instance_feat") || c.Bool("model.label_feat")) {
		notes = append(notes, fmt.Sprintf("the reference's --n_clusters %s is its encode_features.py's clusters per class, not a setting of the run: cluster this run's features with gogan features --n-clusters %s", v, v))
	}
	return notes
}

// savedLabels lists the labels of the .pth files dir holds (15 of
// 15_net_G.pth), for a message.
func savedLabels(dir string) string {
	files, _ := filepath.Glob(filepath.Join(dir, "*_net_*.pth"))
	seen := map[string]bool{}
	var labels []string
	for _, f := range files {
		if l, _, ok := strings.Cut(filepath.Base(f), "_net_"); ok && !seen[l] {
			seen[l] = true
			labels = append(labels, l)
		}
	}
	if len(labels) == 0 {
		return "; the folder holds no *_net_*.pth"
	}
	slices.Sort(labels)
	return "; the folder has " + strings.Join(labels, ", ")
}

// readPosition finds how far the networks had trained: a numbered label is
// the epoch at whose end the references save N_net_*.pth; pix2pixHD's
// iter.txt, beside its latest files, holds the epoch under way and the
// images of it trained on (train.py's np.savetxt of (epoch, epoch_iter)).
func (run *ReferenceRun) readPosition(dir, label string) error {
	if n, err := strconv.Atoi(label); err == nil && n >= 0 {
		run.At = ImportedAt{Epochs: n}
		run.AtNote = fmt.Sprintf("the %s_net files were saved at the end of epoch %d: a resumed run goes on at epoch %d, its learning rate where the schedule has it then (--epoch changes that)", label, n, n+1)
		return nil
	}
	if it, ok := strings.CutPrefix(label, "iter_"); ok {
		// pytorch-CycleGAN-and-pix2pix's --save_by_iter: total_iters, the
		// images trained on
		run.AtNote = fmt.Sprintf("the %s_net files were saved after %s images of training (--save_by_iter), which does not say the epoch: a resumed run starts at epoch 1 with the whole learning rate schedule; give --epoch N to go on after the N epochs those images make", label, it)
		return nil
	}
	if label != "" && label != "latest" {
		run.AtNote = fmt.Sprintf("the label %s does not say how many epochs its networks trained: a resumed run starts at epoch 1 with the whole learning rate schedule; give --epoch N to go on after epoch N", label)
		return nil
	}
	p := filepath.Join(dir, "iter.txt")
	b, err := os.ReadFile(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		run.AtNote = "the folder does not say how many epochs the latest networks trained: a resumed run starts at epoch 1 with the whole learning rate schedule; give --epoch N to go on after epoch N, as the reference's --continue_train --epoch_count N+1"
		return nil
	case err != nil:
		return fmt.Errorf("import --from: %w", err)
	}
	f := strings.FieldsFunc(string(b), func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
	var e, it int
	if len(f) == 2 {
		e, err = strconv.Atoi(f[0])
		if err == nil {
			it, err = strconv.Atoi(f[1])
		}
	}
	if len(f) != 2 || err != nil || e < 1 || it < 0 {
		return fmt.Errorf("import --from: %s: %q is not pix2pixHD's (epoch, images into it); give --epoch N instead, or remove the file", p, strings.TrimSpace(string(b)))
	}
	run.At = ImportedAt{Epochs: e - 1, Samples: it}
	run.AtNote = fmt.Sprintf("iter.txt: the latest networks trained %d epochs and %d images of epoch %d: a resumed run goes on from there, its learning rate where the schedule has it (--epoch changes that)", e-1, it, e)
	return nil
}

// trainedIn is the folder train.py ran in, found from the checkpoint folder
// dir (checkpoints_dir/name) and a relative checkpoints_dir without "..".
func trainedIn(dir, checkpointsDir string) (string, bool) {
	if checkpointsDir == "" || filepath.IsAbs(checkpointsDir) {
		return "", false
	}
	ran := filepath.Dir(dir)
	for _, part := range strings.Split(filepath.Clean(checkpointsDir), string(filepath.Separator)) {
		switch part {
		case ".":
		case "..":
			return "", false
		default:
			ran = filepath.Dir(ran)
		}
	}
	return ran, true
}

// nonFinite is the name of the first floating-point tensor of sd that holds
// an inf or a nan, or "".
func nonFinite(sd []torch.Named) string {
	for _, n := range sd {
		if !n.Tensor.DType().IsFloat() {
			continue
		}
		// x * 0 is 0 for every finite x, nan for inf and nan
		var bad bool
		torch.Try(func() {
			sc := torch.NewScope()
			defer sc.Close()
			bad = math.IsNaN(n.Tensor.MulScalar(0).Sum().Item())
		})
		if bad {
			return n.Name
		}
	}
	return ""
}
