package gan

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gogan/config"
	"gogan/data"
)

// Export is a recipe's networks as its reference implementation saves them
// (gogan export): each network's file, named as the reference names it,
// and the reference's command lines that load them.
type Export struct {
	Reference string       // the implementation whose files these are
	Files     []ExportFile // in the recipe's network order
	// Commands are the reference's command lines (run in its folder) that
	// build these networks and load the files: inference first, then
	// continued training.
	Commands []string
	// Notes say what the reference cannot repeat from its flags.
	Notes []string
	// Texts are small files the reference reads beside the networks
	// (pix2pixHD's iter.txt, where its training resumes).
	Texts []ExportText
}

// ExportText is one such file; What says what it is, for export's list.
type ExportText struct{ Name, Text, What string }

// ExportFile is one network's file.
type ExportFile struct {
	Role string
	Name string // the file name in ExportOptions.Dir
}

// ExportOptions are where and under which label the files go.
type ExportOptions struct {
	Dir string // absolute
	// Label is the reference's epoch label in the file names ("latest",
	// "5"); empty: the reference's own choice (latest, or DCGAN's epoch).
	Label string
	// Epoch is the 0-based epoch the weights were trained in, which names
	// DCGAN's files as main.py's checkpoints.
	Epoch int
	// Completed is how many epochs the run finished; EpochImages how many
	// images of the next one it trained on (where training continued in the
	// reference resumes).
	Completed, EpochImages int
	// CUDA: the machine that exports has a CUDA GPU. The printed commands
	// run there: main.py with --accel, pytorch-CycleGAN-and-pix2pix with
	// --gpu_ids -1 without one (its default, GPU 0, fails on a CPU-only
	// PyTorch).
	CUDA bool
}

// Command joins a command line's words, quoting those a POSIX shell would
// split or expand.
func Command(words ...string) string {
	out := make([]string, len(words))
	for i, w := range words {
		out[i] = shellQuote(w)
	}
	return strings.Join(out, " ")
}

// PathArg is path as a command's argument where a flag parser reads it:
// one beginning with '-' (a run folder named -x, given relative) is
// written ./-x, which gogan resume, as any cobra command, takes for a
// folder, not for flags.
func PathArg(path string) string {
	if strings.HasPrefix(path, "-") {
		return "./" + path
	}
	return path
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// FloatArg is a float as a command-line value: the shortest text that
// reads back as the same float64 (0.0002, 10).
func FloatArg(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// SavedNetworks is the layout both pytorch-CycleGAN-and-pix2pix's
// save_networks and pix2pixHD's save_network write: '%s_net_%s.pth' %
// (epoch, name) for each role, with "latest" for an empty label. It
// returns the label used.
func SavedNetworks(label string, roles []string) (string, []ExportFile) {
	if label == "" {
		label = "latest"
	}
	files := make([]ExportFile, len(roles))
	for i, r := range roles {
		files[i] = ExportFile{Role: r, Name: label + "_net_" + r + ".pth"}
	}
	return label, files
}

// Beta2Note says that the references' Adam has beta2 0.999 when the
// config's does not.
func Beta2Note(c *config.Config) []string {
	if c.Train.Beta2 != 0.999 {
		return []string{fmt.Sprintf("train.beta2=%g: the reference's Adam has betas (beta1, 0.999)", c.Train.Beta2)}
	}
	return nil
}

// DataRoot is the config's data.root as an absolute path (the reference
// runs in its own folder).
func DataRoot(c *config.Config) string {
	if abs, err := filepath.Abs(c.Data.Root); err == nil {
		return abs
	}
	return c.Data.Root
}

// CycleGANAndPix2PixExport is pytorch-CycleGAN-and-pix2pix's layout for
// its model `model` (pix2pix, colorization, cycle_gan): save_networks'
// <epoch>_net_<name>.pth for each role, and the options of today's
// repository (2019 on) that make define_G and define_D build the networks
// the config trained.
func CycleGANAndPix2PixExport(c *config.Config, o ExportOptions, model string, roles []string, folderData bool) Export {
	m, d := c.Model, c.Data
	e := Export{Reference: "pytorch-CycleGAN-and-pix2pix"}
	label, files := SavedNetworks(o.Label, roles)
	e.Files = files
	root := DataRoot(c)
	if !folderData {
		root = "DATAROOT"
	}
	if !folderData && model != "pix2pix" { // else the test model's note below
		e.Notes = append(e.Notes, fmt.Sprintf("data.dataset=%s here is made by gogan from data.source=%s; the reference reads image folders: give test.py and train.py a --dataroot of them", d.Dataset, d.Source))
	} else if folderData && model == "cycle_gan" {
		// gogan's unaligned data also read A|B images and A/, B/ folders;
		// the reference's UnalignedDataset reads {phase}A/ and {phase}B/.
		// Only where the data are: a run folder exported on another
		// machine says nothing of their layout.
		if _, err := os.Stat(filepath.Join(root, d.Phase+"A")); err != nil && dirExists(root) {
			e.Notes = append(e.Notes, fmt.Sprintf("the reference's cycle_gan reads --dataroot/%sA and %sB (and testA, testB), which %s lacks: this run read another layout (A|B images, or A/ and B/ folders); give the reference the two domains' images in such folders", d.Phase, d.Phase, root))
		}
	}
	if model == "pix2pix" && folderData && dirExists(filepath.Join(root, "A")) && dirExists(filepath.Join(root, "B")) {
		// pairs kept in two folders: the reference's AlignedDataset reads
		// A|B images alone, made by its combine script (same names pair)
		ab := filepath.Clean(root) + "_AB"
		e.Notes = append(e.Notes, fmt.Sprintf("the reference's pix2pix reads A|B images side by side, and this run read pairs kept in two folders (%s, %s): combine them first with its %s, then give test.py and train.py --dataroot %s (the commands below do)",
			filepath.Join(root, "A"), filepath.Join(root, "B"),
			Command("python", "datasets/combine_A_and_B.py", "--fold_A", filepath.Join(root, "A"), "--fold_B", filepath.Join(root, "B"), "--fold_AB", ab), ab))
		root = ab
	}
	// Not of a combined folder not made yet, nor of data not on this machine.
	if root == DataRoot(c) && dirExists(root) {
		if n := splitNote(model, root, d.Phase); n != "" {
			e.Notes = append(e.Notes, n)
		}
	}
	where := []string{"--checkpoints_dir", filepath.Dir(o.Dir), "--name", filepath.Base(o.Dir), "--epoch", label}
	if !o.CUDA {
		where = append(where, "--gpu_ids", "-1")
	}
	nets := append([]string{"--dataroot", root}, where...)
	nets = append(nets, "--model", model,
		"--input_nc", strconv.Itoa(m.InputNC), "--output_nc", strconv.Itoa(m.OutputNC), "--ngf", strconv.Itoa(m.NGF),
		"--ndf", strconv.Itoa(m.NDF), "--netG", m.NetG, "--netD", m.NetD, "--n_layers_D", strconv.Itoa(m.NLayersD),
		"--norm", m.Norm, "--direction", d.Direction)
	if m.NoDropout {
		nets = append(nets, "--no_dropout")
	}
	// test.py sized as gogan translate sizes by default
	testMode := data.TestPreprocess(d.Preprocess)
	testSize := []string{"--load_size", strconv.Itoa(data.TestLoad(testMode, d.LoadSize, d.CropSize)), "--crop_size", strconv.Itoa(d.CropSize), "--preprocess", testMode}
	test := append(append([]string{"python", "test.py"}, nets...), testSize...)
	if model == "pix2pix" && !folderData {
		// the reference has no pairs of gogan's making (edge maps, gray
		// photos) to test on; its test model translates a folder of
		// inputs alone, as gogan translate does. Without --direction: its
		// single dataset reads the inputs with output_nc's channels where
		// that says BtoA, and G takes input_nc's.
		test = append([]string{"python", "test.py", "--dataroot", "INPUTS"}, where...)
		test = append(test, "--model", "test", "--dataset_mode", "single", "--input_nc", strconv.Itoa(m.InputNC), "--output_nc", strconv.Itoa(m.OutputNC),
			"--ngf", strconv.Itoa(m.NGF), "--netG", m.NetG, "--norm", m.Norm)
		if m.NoDropout {
			test = append(test, "--no_dropout")
		}
		test = append(test, testSize...)
		inputs := map[string]string{data.Edges: "edge maps (dark lines on white)", data.Gray2Color: "gray photos"}[d.Dataset]
		if d.Direction == "BtoA" {
			inputs = "photos (as data.source's images)"
		}
		e.Notes = append(e.Notes, fmt.Sprintf("data.dataset=%s here is made by gogan from data.source=%s, which the reference cannot make: its test model (test.py above) translates the inputs in a folder INPUTS, %s, as gogan translate does; its train.py needs A|B images under DATAROOT/train",
			d.Dataset, d.Source, inputs))
	}
	t, f := c.Train, FloatArg
	train := append([]string{"python", "train.py", "--continue_train"}, nets...)
	train = append(train, "--load_size", strconv.Itoa(d.LoadSize), "--crop_size", strconv.Itoa(d.CropSize), "--preprocess", d.Preprocess,
		"--batch_size", strconv.Itoa(d.BatchSize), "--num_threads", strconv.Itoa(d.ReferenceWorkers), // its workers draw the crops and flips
		"--lr", f(t.LR), "--beta1", f(t.Beta1), "--gan_mode", t.GANMode,
		// the run's schedule (train.py's epochs run to n_epochs +
		// n_epochs_decay), going on from the next epoch
		"--n_epochs", strconv.Itoa(t.Epochs), "--n_epochs_decay", strconv.Itoa(t.EpochsDecay),
		"--epoch_count", strconv.Itoa(o.Completed+1))
	if t.LRPolicy != "linear" { // today's default
		train = append(train, "--lr_policy", t.LRPolicy)
	}
	if t.LRPolicy == "step" {
		train = append(train, "--lr_decay_iters", strconv.Itoa(t.LRDecayIters))
	}
	switch model {
	case "pix2pix", "colorization":
		train = append(train, "--lambda_L1", f(c.Float("train.lambda_L1")))
		if !d.Shuffle {
			train = append(train, "--serial_batches")
		}
	case "cycle_gan":
		train = append(train, "--lambda_A", f(c.Float("train.lambda_A")), "--lambda_B", f(c.Float("train.lambda_B")),
			"--lambda_identity", f(c.Float("train.lambda_identity")), "--pool_size", strconv.Itoa(c.Train.PoolSize))
		// Its --serial_batches is both of gogan's keys: unshuffled, and A[i]
		// with B[i]. It follows the data order, which the options file
		// then carries back to gogan import --from.
		if !d.Shuffle {
			train = append(train, "--serial_batches")
		}
		switch {
		case d.SerialBatches && d.Shuffle:
			e.Notes = append(e.Notes, "data.serial_batches with data.shuffle: the reference's --serial_batches would also take the images in order, so train.py runs without it, shuffled as this run but pairing each A with a random B, and gogan import --from reads the folder back with data.serial_batches=false: give it --set data.serial_batches=true")
		case !d.SerialBatches && !d.Shuffle:
			e.Notes = append(e.Notes, "data.shuffle=false: the reference's --serial_batches, which takes the images in order, also pairs A[i] with B[i] where this run paired each A with a random B, and gogan import --from reads the folder back with data.serial_batches=true: give it --set data.serial_batches=false")
		}
	}
	if d.NoFlip {
		train = append(train, "--no_flip")
	}
	if d.Phase != "train" {
		train = append(train, "--phase", d.Phase)
	}
	if d.MaxSamples > 0 {
		train = append(train, "--max_dataset_size", strconv.Itoa(d.MaxSamples))
		e.Notes = append(e.Notes, fmt.Sprintf("data.max_samples=%d: the reference's --max_dataset_size keeps the first %d files in the order os.walk lists them (the file system's), gogan the first %d by name: the same files where the folder lists them sorted", d.MaxSamples, d.MaxSamples, d.MaxSamples))
	}
	e.Notes = append(e.Notes, Beta2Note(c)...)
	switch {
	case t.GANMode == "hinge":
		e.Notes = append(e.Notes, "train.gan_mode=hinge is gogan's: the reference's --gan_mode is vanilla, lsgan or wgangp")
	case t.GANMode == "wgangp" && t.LambdaGP != 10:
		e.Notes = append(e.Notes, fmt.Sprintf("train.lambda_gp=%g: the reference's gradient penalty weighs 10", t.LambdaGP))
	}
	switch {
	case t.LRPolicy == "pix2pixhd":
		e.Notes = append(e.Notes, "train.lr_policy=pix2pixhd is pix2pixHD's: the reference's --lr_policy is linear, step, plateau or cosine")
	case t.LRPolicy != "linear" && o.Completed > 0:
		// get_scheduler counts only the linear rule from --epoch_count
		e.Notes = append(e.Notes, fmt.Sprintf("train.lr_policy=%s: the reference's continued train.py starts that schedule again at its first epoch (only its linear rule counts from --epoch_count), where this run is %s into it", t.LRPolicy, data.Count(o.Completed, "epoch")))
	}
	switch m.NetG {
	case "global", "local":
		e.Notes = append(e.Notes, fmt.Sprintf("model.netG=%s is pix2pixHD's generator, which pytorch-CycleGAN-and-pix2pix's --netG does not offer", m.NetG))
	}
	if m.NetD == "multiscale" {
		e.Notes = append(e.Notes, "model.netD=multiscale is pix2pixHD's discriminator, which pytorch-CycleGAN-and-pix2pix's --netD does not offer")
	}
	// The options file the reference's train.py of these settings writes
	// beside the files (gogan import --from reads it back), as the run
	// that trained them from the start printed it.
	opts := ReferenceValues(c, cycleGANAndPix2PixTable(model, false))
	opts["dataroot"], opts["checkpoints_dir"], opts["name"] = root, filepath.Dir(o.Dir), filepath.Base(o.Dir)
	opts["model"], opts["isTrain"] = model, "True"
	if !o.CUDA {
		opts["gpu_ids"] = "-1"
	}
	e.Texts = append(e.Texts, ExportText{Name: d.Phase + "_opt.txt", Text: PrintOptions(cycleGANAndPix2PixParser(model), opts), What: "options file, as train.py writes it"})
	if model != "cycle_gan" || m.NoDropout {
		e.Commands = []string{Command(test...), Command(train...)}
		return e
	}
	// The cycle_gan model sets no_dropout, which its store_true flag cannot
	// unset, so it builds other generators (a resnet's keys shift past the
	// dropout); the test model builds define_G with dropout unless told not
	// to, one generator at a time.
	e.Notes = append(e.Notes, "the reference's cycle_gan model always builds its generators without dropout, so these generators, trained with dropout, load into its test model one direction at a time (--model_suffix _A, _B); its train.py cannot continue them")
	// G_A translates the data's A folder, or its B folder with
	// --direction BtoA (cycle_gan's set_input takes real_A from input['B']).
	folderOf := map[string]string{"A": "A", "B": "B"}
	if d.Direction == "BtoA" {
		folderOf = map[string]string{"A": "B", "B": "A"}
	}
	for _, dir := range []struct{ suffix, in, out string }{{"A", strconv.Itoa(m.InputNC), strconv.Itoa(m.OutputNC)}, {"B", strconv.Itoa(m.OutputNC), strconv.Itoa(m.InputNC)}} {
		single := root // the single dataset: a folder of the domain's images
		if folderData {
			single = filepath.Join(root, "test"+folderOf[dir.suffix])
		}
		cmd := append([]string{"python", "test.py", "--dataroot", single}, where...)
		cmd = append(cmd, "--model", "test", "--model_suffix", "_"+dir.suffix, "--dataset_mode", "single",
			"--input_nc", dir.in, "--output_nc", dir.out, "--ngf", strconv.Itoa(m.NGF), "--netG", m.NetG, "--norm", m.Norm)
		e.Commands = append(e.Commands, Command(append(cmd, testSize...)...))
	}
	return e
}

// ReferenceOption maps a reference's option onto a gogan config key: Names
// are the option's names, newest first (the references renamed some:
// which_model_netG became netG, niter n_epochs); Value turns the option's
// printed value (Python's str) into the key's, nil: as it is.
type ReferenceOption struct {
	Names []string
	Key   string
	Value func(string) (string, error)
	// Print is Value's inverse, for the options file gogan export writes:
	// the key's value (as ConfigText gives it) as the reference prints
	// the option; nil: as it is.
	Print func(string) string
}

// ReferenceSets turns a reference run's options (its options file, read by
// ReadReferenceOptions) into config --set pairs, through table.
func ReferenceSets(opts map[string]string, table []ReferenceOption) ([]string, error) {
	var sets []string
	for _, o := range table {
		for _, name := range o.Names {
			v, ok := opts[name]
			if !ok {
				continue
			}
			if o.Value != nil {
				var err error
				if v, err = o.Value(v); err != nil {
					return nil, fmt.Errorf("option %s: %w", name, err)
				}
			}
			sets = append(sets, o.Key+"="+v)
			break
		}
	}
	return sets, nil
}

// ReadReferenceOptions reads the options file a reference writes in its
// checkpoint folder: pytorch-CycleGAN-and-pix2pix's train_opt.txt
// ("{:>25}: {:<30}" and a tab and "[default: ...]" where the value is not
// the default) and pix2pixHD's (and the older repository's) opt.txt
// ("key: value"), between their dashed header and footer lines.
func ReadReferenceOptions(text string) map[string]string {
	opts := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		line, _, _ = strings.Cut(line, "\t[default: ")
		k, v, ok := strings.Cut(line, ": ")
		k = strings.TrimSpace(k)
		if !ok || k == "" || strings.HasPrefix(k, "-") || strings.ContainsAny(k, " \t") {
			continue
		}
		opts[k] = strings.TrimSpace(v)
	}
	return opts
}

// PyBool reads a Python bool as printed (True, False).
func PyBool(v string) (string, error) {
	switch v {
	case "True":
		return "true", nil
	case "False":
		return "false", nil
	}
	return "", fmt.Errorf("%q is not True or False", v)
}

// PrintPyBool is PyBool's inverse: a config bool as Python prints it.
func PrintPyBool(v string) string {
	if v == "true" {
		return "True"
	}
	return "False"
}

// NotBool is the negation of a Python bool (serial_batches: shuffle).
func NotBool(v string) (string, error) {
	b, err := PyBool(v)
	if b == "true" {
		return "false", err
	}
	return "true", err
}

// PrintNotBool is NotBool's inverse (shuffle: serial_batches).
func PrintNotBool(v string) string {
	if v == "true" {
		return "False"
	}
	return "True"
}

// maxSamples reads max_dataset_size: inf (all) is gogan's 0.
func maxSamples(v string) (string, error) {
	if v == "inf" {
		return "0", nil
	}
	return v, nil
}

// printMaxSamples is maxSamples' inverse: gogan's 0 is float("inf").
func printMaxSamples(v string) string {
	if v == "0" {
		return "inf"
	}
	return v
}

// GANModeFromNoLSGAN reads the option the references had before gan_mode:
// no_lsgan (vanilla) or not (lsgan).
func GANModeFromNoLSGAN(v string) (string, error) {
	b, err := PyBool(v)
	if b == "true" {
		return "vanilla", err
	}
	return "lsgan", err
}

// NoLSGANFromGANMode is GANModeFromNoLSGAN's inverse: vanilla is
// --no_lsgan (the export's notes say what the other modes are there).
func NoLSGANFromGANMode(v string) string {
	return PrintPyBool(strconv.FormatBool(v == "vanilla"))
}

// PyFloat is a float as Python's str prints it: the shortest digits that
// read back as it, in positional notation from 1e-4 up to 1e16 and with at
// least one decimal (0.0002, 100.0), else in exponent notation (1e-05,
// 1.5e+16).
func PyFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±XX
	mant, exp, _ := strings.Cut(e, "e")
	x, _ := strconv.Atoi(exp)
	if x < -4 || x >= 16 {
		sign := "+"
		if x < 0 {
			sign, x = "-", -x
		}
		return fmt.Sprintf("%se%s%02d", mant, sign, x)
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// ConfigText is a config key's value as the Value functions of a
// ReferenceOption give it: bools true or false, floats as Python prints
// them (the references' float options: 100.0, 0.0002).
func ConfigText(c *config.Config, key string) string {
	v, err := c.Get(key)
	if err != nil {
		panic(fmt.Sprintf("gan: a reference's option table names %s: %v", key, err))
	}
	switch x := v.(type) {
	case float64:
		return PyFloat(x)
	case bool:
		return strconv.FormatBool(x)
	}
	return fmt.Sprint(v)
}

// ReferenceValues are c's values of table's options as the reference
// prints them, by the option's name of today (its first); the first row of
// a name gives it (CycleGAN's serial_batches is data.shuffle's opposite).
func ReferenceValues(c *config.Config, table []ReferenceOption) map[string]string {
	vals := map[string]string{}
	for _, o := range table {
		if _, done := vals[o.Names[0]]; done {
			continue
		}
		v := ConfigText(c, o.Key)
		if o.Print != nil {
			v = o.Print(v)
		}
		vals[o.Names[0]] = v
	}
	return vals
}

// ParserOption is an option of a reference's argparse parser as its
// options file prints it: its name and default as Python's str prints
// them.
type ParserOption struct {
	Name, Default string
	// TextDefault: a type=int option with a text default (load_iter's
	// '0'): argparse converts the value parsed, not get_default's, so
	// print_options finds every value unlike its default.
	TextDefault bool
}

// valueIn is o's value in values, else its default.
func (o ParserOption) valueIn(values map[string]string) string {
	if v, ok := values[o.Name]; ok {
		return v
	}
	return o.Default
}

// ParserOf is the parser of these options, each its name and default.
func ParserOf(defaults [][2]string) []ParserOption {
	p := make([]ParserOption, len(defaults))
	for i, d := range defaults {
		p[i] = ParserOption{Name: d[0], Default: d[1]}
	}
	return p
}

// PrintOptions is the options file pytorch-CycleGAN-and-pix2pix's
// BaseOptions.print_options writes ([checkpoints_dir]/[name]/[phase]_opt.txt):
// each of parser's options, sorted by name, as "{:>25}: {:<30}{}" with its
// value (values', else its default) and "\t[default: X]" where the value
// is not the default, between its dashed lines.
func PrintOptions(parser []ParserOption, values map[string]string) string {
	var b strings.Builder
	b.WriteString("----------------- Options ---------------\n")
	for _, o := range sortedOptions(parser) {
		v := o.valueIn(values)
		comment := ""
		if v != o.Default || o.TextDefault {
			comment = "\t[default: " + o.Default + "]"
		}
		fmt.Fprintf(&b, "%25s: %-30s%s\n", o.Name, v, comment)
	}
	b.WriteString("----------------- End -------------------\n")
	return b.String()
}

// PrintOptTxt is the opt.txt pix2pixHD's BaseOptions.parse writes
// ([checkpoints_dir]/[name]/opt.txt): "%s: %s" of each option, sorted by
// name, between its dashed lines.
func PrintOptTxt(parser []ParserOption, values map[string]string) string {
	var b strings.Builder
	b.WriteString("------------ Options -------------\n")
	for _, o := range sortedOptions(parser) {
		v := o.valueIn(values)
		fmt.Fprintf(&b, "%s: %s\n", o.Name, v)
	}
	b.WriteString("-------------- End ----------------\n")
	return b.String()
}

// sortedOptions is parser sorted by name, as Python's sorted(vars(opt).items()).
func sortedOptions(parser []ParserOption) []ParserOption {
	s := slices.Clone(parser)
	slices.SortFunc(s, func(a, b ParserOption) int { return strings.Compare(a.Name, b.Name) })
	return s
}

// RegisterReferenceOptions tells config the keys a reference's options
// are here, so that `--set max_dataset_size=100` is answered with
// data.max_samples.
func RegisterReferenceOptions(reference string, opts []ReferenceOption) {
	keys := map[string]string{}
	for _, o := range opts {
		for _, n := range o.Names {
			keys[n] = o.Key
		}
	}
	config.RegisterReferenceNames(reference, keys)
}

func init() {
	RegisterReferenceOptions("pytorch-CycleGAN-and-pix2pix", cycleGANAndPix2PixOptions)
	// (its frequencies count images; gogan's keys count steps)
	config.RegisterReferenceNames("pytorch-CycleGAN-and-pix2pix", map[string]string{"gpu_ids": "device", "save_epoch_freq": "train.keep_every_epochs",
		"print_freq": "train.log_every", "display_freq": "train.sample_every", "save_latest_freq": "train.checkpoint_every",
		"name": "out", "checkpoints_dir": "out", "suffix": "out",
		// the model and dataset mode themselves, and options of its models
		// (CycleGANAndPix2PixConfig's per model) of shared keys; the
		// recipes register those of their own keys
		"model": "recipe", "dataset_mode": "data.dataset", "pool_size": "train.pool_size", "serial_batches": "data.shuffle"})
	config.RegisterReferenceAdvice("pytorch-CycleGAN-and-pix2pix", map[string]string{
		"continue_train": "gogan resume RUN continues a run from its newest checkpoint",
		"epoch_count":    "a gogan run counts its own epochs; gogan import --epoch N says how many an imported run had done (--epoch_count N+1 is import --epoch N)",
		"epoch":          pickCheckpoint,
		"which_epoch":    pickCheckpoint, // its name before 2019, and pix2pixHD's
		"load_iter":      pickCheckpoint,
		"display_id":     "gogan shows a run in TensorBoard (logging.tensorboard) and in RUN/index.html, not visdom",
		"use_wandb":      "gogan shows a run in TensorBoard (logging.tensorboard) and in RUN/index.html",
		// total_iters += batch_size: its frequencies count images
		"print_freq":       "in steps where the references count images (--print_freq 100 with batches of 4, --batch_size or pix2pixHD's --batchSize, is train.log_every 25)",
		"display_freq":     "in steps where the references count images",
		"model":            "which takes pix2pix, colorization, cyclegan (--model cycle_gan) and pix2pixhd; test.py's --model test is gogan translate",
		"serial_batches":   "its opposite: --serial_batches is data.shuffle=false, and for CycleGAN, whose --serial_batches also pairs A[i] with B[i], data.serial_batches=true with it",
		"save_latest_freq": "in steps where the references count images",
		// test.py's and options of its HTML pages and printing
		"eval":            "test.py's --eval runs the generator in eval mode (BatchNorm's running statistics, no dropout): gogan translate --eval, serve --eval and eval pix2pix --mode eval do; training has no such mode",
		"suffix":          "the folder --name names, there extended with _SUFFIX: give the whole folder, --set out=checkpoints/NAME_SUFFIX",
		"no_html":         "gogan always writes a run's page, RUN/index.html, with its sample grids in RUN/samples/ (train.sample_every steps apart)",
		"display_winsize": "a run's page, RUN/index.html, shows each grid at its own size (a small one scaled up by a whole factor)",
		"verbose":         "it prints each network's layers; gogan nets -c CONFIG prints them, with output shapes and parameter counts",
	})
}

// pickCheckpoint answers the references' options that pick the saved
// networks to load (--epoch, --which_epoch, --load_iter).
const pickCheckpoint = "gogan sample, translate, serve and export take --checkpoint RUN (its newest checkpoint) or RUN/checkpoints/step-N; " +
	"gogan resume RUN goes on from the run's newest valid checkpoint (to go on from an older one, as --continue_train --epoch N does, move the newer RUN/checkpoints/step-* folders out of RUN/checkpoints first)"

// Options of pytorch-CycleGAN-and-pix2pix's models: its BaseOptions and
// TrainOptions, under their current and earlier names.
var cycleGANAndPix2PixOptions = []ReferenceOption{
	{Names: []string{"dataroot"}, Key: "data.root"},
	{Names: []string{"phase"}, Key: "data.phase"},
	{Names: []string{"direction", "which_direction"}, Key: "data.direction"},
	{Names: []string{"batch_size", "batchSize"}, Key: "data.batch_size"},
	{Names: []string{"num_threads", "nThreads"}, Key: "data.reference_workers"},
	{Names: []string{"load_size", "loadSize"}, Key: "data.load_size"},
	{Names: []string{"crop_size", "fineSize"}, Key: "data.crop_size"},
	{Names: []string{"preprocess", "resize_or_crop"}, Key: "data.preprocess"},
	{Names: []string{"no_flip"}, Key: "data.no_flip", Value: PyBool, Print: PrintPyBool},
	{Names: []string{"max_dataset_size"}, Key: "data.max_samples", Value: maxSamples, Print: printMaxSamples},
	{Names: []string{"input_nc"}, Key: "model.input_nc"},
	{Names: []string{"output_nc"}, Key: "model.output_nc"},
	{Names: []string{"ngf"}, Key: "model.ngf"},
	{Names: []string{"ndf"}, Key: "model.ndf"},
	{Names: []string{"netG", "which_model_netG"}, Key: "model.netG"},
	{Names: []string{"netD", "which_model_netD"}, Key: "model.netD"},
	{Names: []string{"n_layers_D"}, Key: "model.n_layers_D"},
	{Names: []string{"norm"}, Key: "model.norm"},
	{Names: []string{"init_type"}, Key: "model.init_type"},
	{Names: []string{"init_gain"}, Key: "model.init_gain"},
	{Names: []string{"no_dropout"}, Key: "model.no_dropout", Value: PyBool, Print: PrintPyBool},
	{Names: []string{"n_epochs", "niter"}, Key: "train.epochs"},
	{Names: []string{"n_epochs_decay", "niter_decay"}, Key: "train.epochs_decay"},
	{Names: []string{"lr"}, Key: "train.lr"},
	{Names: []string{"beta1"}, Key: "train.beta1"},
	{Names: []string{"lr_policy"}, Key: "train.lr_policy", Value: func(v string) (string, error) {
		if v == "lambda" { // its name before linear
			return "linear", nil
		}
		return v, nil
	}}, // (printed as it is: linear is today's name)
	{Names: []string{"lr_decay_iters"}, Key: "train.lr_decay_iters"},
	{Names: []string{"gan_mode"}, Key: "train.gan_mode"},
}

// cycleGANAndPix2PixTable is the option table of model `model`: the shared
// options, then the model's own; noLSGAN: gan_mode from the no_lsgan of
// options older than gan_mode.
func cycleGANAndPix2PixTable(model string, noLSGAN bool) []ReferenceOption {
	table := slices.Clone(cycleGANAndPix2PixOptions)
	if noLSGAN {
		table = append(table, ReferenceOption{Names: []string{"no_lsgan"}, Key: "train.gan_mode", Value: GANModeFromNoLSGAN, Print: NoLSGANFromGANMode})
	}
	switch model {
	case "pix2pix", "colorization":
		table = append(table, ReferenceOption{Names: []string{"lambda_L1", "lambda_A"}, Key: "train.lambda_L1"},
			ReferenceOption{Names: []string{"serial_batches"}, Key: "data.shuffle", Value: NotBool, Print: PrintNotBool})
	case "cycle_gan":
		table = append(table, ReferenceOption{Names: []string{"lambda_A"}, Key: "train.lambda_A"},
			ReferenceOption{Names: []string{"lambda_B"}, Key: "train.lambda_B"},
			ReferenceOption{Names: []string{"lambda_identity", "identity"}, Key: "train.lambda_identity"},
			ReferenceOption{Names: []string{"pool_size"}, Key: "train.pool_size"},
			// (both read; the first printed: the data order, as the
			// export's train.py command gives it)
			ReferenceOption{Names: []string{"serial_batches"}, Key: "data.shuffle", Value: NotBool, Print: PrintNotBool},
			ReferenceOption{Names: []string{"serial_batches"}, Key: "data.serial_batches", Value: PyBool, Print: PrintPyBool})
	}
	return table
}

// cycleGANAndPix2PixParser is the parser train.py's options of model
// `model` are printed from, as today's repository's gather_options builds
// it: BaseOptions (with the wandb options of 2021 on) and TrainOptions
// (n_epochs and lr_policy linear of 2020 on), the defaults the model's
// modify_commandline_options sets and the options it adds, then the
// dataset mode's defaults (colorization's channels). isTrain is set after
// parsing: print_options prints it with get_default's None. Checked option
// by option against upstream's options/, models/ and data/ at c3268ed
// (2024-03-22, junyanz's, read from a fork's mirror).
func cycleGANAndPix2PixParser(model string) []ParserOption {
	defaults := [][2]string{
		// BaseOptions.initialize
		{"dataroot", "None"}, {"name", "experiment_name"}, {"use_wandb", "False"}, {"wandb_project_name", "CycleGAN-and-pix2pix"},
		{"gpu_ids", "0"}, {"checkpoints_dir", "./checkpoints"}, {"model", "cycle_gan"}, {"input_nc", "3"}, {"output_nc", "3"},
		{"ngf", "64"}, {"ndf", "64"}, {"netD", "basic"}, {"netG", "resnet_9blocks"}, {"n_layers_D", "3"}, {"norm", "instance"},
		{"init_type", "normal"}, {"init_gain", "0.02"}, {"no_dropout", "False"}, {"dataset_mode", "unaligned"},
		{"direction", "AtoB"}, {"serial_batches", "False"}, {"num_threads", "4"}, {"batch_size", "1"}, {"load_size", "286"},
		{"crop_size", "256"}, {"max_dataset_size", "inf"}, {"preprocess", "resize_and_crop"}, {"no_flip", "False"},
		{"display_winsize", "256"}, {"epoch", "latest"}, {"load_iter", "0"}, {"verbose", "False"}, {"suffix", ""},
		// TrainOptions.initialize
		{"display_freq", "400"}, {"display_ncols", "4"}, {"display_id", "1"}, {"display_server", "http://localhost"},
		{"display_env", "main"}, {"display_port", "8097"}, {"update_html_freq", "1000"}, {"print_freq", "100"},
		{"no_html", "False"}, {"save_latest_freq", "5000"}, {"save_epoch_freq", "5"}, {"save_by_iter", "False"},
		{"continue_train", "False"}, {"epoch_count", "1"}, {"phase", "train"}, {"n_epochs", "100"}, {"n_epochs_decay", "100"},
		{"beta1", "0.5"}, {"lr", "0.0002"}, {"gan_mode", "lsgan"}, {"pool_size", "50"}, {"lr_policy", "linear"},
		{"lr_decay_iters", "50"},
		{"isTrain", "None"},
	}
	set := map[string]string{}
	switch model {
	case "pix2pix", "colorization":
		// Pix2PixModel's (ColorizationModel's calls it first)
		set = map[string]string{"norm": "batch", "netG": "unet_256", "dataset_mode": "aligned", "pool_size": "0", "gan_mode": "vanilla"}
		defaults = append(defaults, [2]string{"lambda_L1", "100.0"})
		if model == "colorization" {
			// and ColorizationDataset's
			set["dataset_mode"], set["input_nc"], set["output_nc"] = "colorization", "1", "2"
		}
	case "cycle_gan":
		set = map[string]string{"no_dropout": "True"}
		defaults = append(defaults, [2]string{"lambda_A", "10.0"}, [2]string{"lambda_B", "10.0"}, [2]string{"lambda_identity", "0.5"})
	}
	parser := ParserOf(defaults)
	for i, o := range parser {
		parser[i].TextDefault = o.Name == "load_iter" // default='0'
		if v, ok := set[o.Name]; ok {
			parser[i].Default = v
		}
	}
	return parser
}

// CycleGANAndPix2PixConfig is the config --set pairs of a
// pytorch-CycleGAN-and-pix2pix run of model `model` from its options:
// the shared ones, then the model's own.
func CycleGANAndPix2PixConfig(model string, opts map[string]string) ([]string, error) {
	_, gm := opts["gan_mode"]
	table := cycleGANAndPix2PixTable(model, !gm)
	sets, err := ReferenceSets(opts, table)
	if err != nil {
		return nil, err
	}
	switch mode := opts["dataset_mode"]; mode {
	case "aligned", "unaligned", "colorization":
		sets = append(sets, "data.dataset="+mode)
	case "":
	default:
		return nil, fmt.Errorf("dataset_mode %s: gogan reads aligned, unaligned and colorization data", mode)
	}
	return sets, nil
}

// splitNote says which split folder under root the commands of a pix2pix
// or colorization export read and root lacks: train.py reads
// --dataroot/<phase>, test.py --dataroot/test (its --phase default), and
// make_dataset stops on a missing folder ("is not a valid directory").
// gogan also reads A|B images directly under data.root, and a
// colorization run trains without a test/ folder; a cycle_gan run trains
// on {phase}A/ and {phase}B/ without testA/ and testB/ (or with one
// holding no images), which its test.py reads both of.
func splitNote(model, root, phase string) string {
	if model == "cycle_gan" {
		if !dirExists(filepath.Join(root, phase+"A")) {
			return "" // another layout: the note on trainA and trainB says it
		}
		// An empty one (a testA/ made for later) is no better: its
		// dataset of 0 images fails at the first index (index % 0).
		var missing, empty []string
		for _, d := range []string{"testA", "testB"} {
			p := filepath.Join(root, d)
			if !dirExists(p) {
				missing = append(missing, p)
			} else if files, err := data.ImagesUnder(p); err == nil && len(files) == 0 {
				empty = append(empty, p)
			}
		}
		var lacks []string
		if len(missing) > 0 {
			lacks = append(lacks, "there is no "+strings.Join(missing, " nor "))
		}
		switch len(empty) {
		case 1:
			lacks = append(lacks, empty[0]+" holds no images")
		case 2:
			lacks = append(lacks, "neither "+strings.Join(empty, " nor ")+" holds images")
		}
		if len(lacks) == 0 {
			return ""
		}
		return fmt.Sprintf("test.py reads the images to translate from --dataroot/testA and --dataroot/testB (its --phase test; the cycle_gan model needs both), and %s: put them there, or add --phase %s to its command to run it on the training images",
			strings.Join(lacks, ", and "), phase)
	}
	what := map[string]string{"pix2pix": "A|B images", "colorization": "photos"}[model]
	if what == "" {
		return ""
	}
	train, test := filepath.Join(root, phase), filepath.Join(root, "test")
	if !dirExists(train) {
		return fmt.Sprintf("the reference reads its training %s from --dataroot/%s and test.py's from --dataroot/test, and this run read them directly under %s: move them into %s/ (and the images to translate into %s/) for the commands below",
			what, phase, root, train, test)
	}
	if !dirExists(test) {
		return fmt.Sprintf("test.py reads the %s to translate from --dataroot/test (its --phase test), and there is no %s: put them there, or add --phase %s to its command to run it on the training images",
			what, test, phase)
	}
	return ""
}

func dirExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}
