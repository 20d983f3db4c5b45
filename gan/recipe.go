// Package gan is the contract between the training session and a recipe
// (DCGAN, pix2pix, ...), and the registry where recipes plug in.
//
// A recipe is one package that calls Register from its init, as a
// database/sql driver does; gogan/gan/all imports every recipe. What a
// recipe declares is junyanz's BaseModel without its string-keyed getattr:
// loss names, networks by role, optimizers, visuals, its own config keys.
// What it can do beyond a training step it says by the small interfaces it
// implements (StepDrawer, Visualizer, HostState, ...), as http.Flusher.
package gan

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"sort"
	"strings"

	torch "gogan/cgo"
	"gogan/config"
	"gogan/data"
	"gogan/nets"
	"gogan/runfolder"
)

// Batch is a training step's inputs by name, on the device: "A" (DCGAN's
// images, pix2pix's inputs, CycleGAN's domain A) and "B" (pix2pix's
// targets, CycleGAN's domain B), the names the data package gives its batch
// tensors (with instance maps also data.InstTensor and data.InstIDTensor),
// and for a recipe whose Inputs list LabelInput its images' class labels.
type Batch map[string]*torch.Tensor

// LabelInput is the batch tensor of the images' class labels, float32 [N]
// holding class ids (as Input.Classes' values), for a class-conditional
// recipe that lists it among its Inputs (Shape nil, Classes the number of
// classes). The session then trains only on data whose samples have class
// labels (data.Dataset.ClassLabels: Fashion-MNIST, MNIST, CIFAR-10, LSUN's
// categories, or class folders, where the recipe's Data sets
// data.Config.ImageFolder as DCGAN's does).
const LabelInput = "label"

// TakesLabels says whether c's recipe lists LabelInput among its inputs,
// and how many classes it takes there (its Classes; 0: not said).
func TakesLabels(c *config.Config) (classes int, takes bool) {
	def, err := For(c)
	if err != nil {
		return 0, false
	}
	for _, in := range def.Inputs(c) {
		if in.Name == LabelInput {
			return in.Classes, true
		}
	}
	return 0, false
}

// Recipe is one GAN training algorithm: its networks, optimizers and step.
type Recipe interface {
	// LossNames names Step's losses in order: metrics.csv's columns.
	LossNames() []string
	// Nets are the networks by role ("G", "D"; "G_A", "D_B"). Checkpoints
	// store each one's state dict under "role.".
	Nets() []Net
	// Optimizers by name; checkpoints store their moments.
	Optimizers() []Optimizer
	// Step runs one iteration (the discriminators' and generators' updates)
	// on a batch already on the device and returns the losses as
	// one-element device tensors in LossNames order, without waiting for the
	// device, so that a CUDA graph can capture it. Like every torch op it
	// panics with *torch.Error, which the session turns into an error.
	Step(b Batch) []*torch.Tensor
}

// Net is a network and its role in a recipe.
type Net struct {
	Role string
	Net  *nets.Net
}

// Optimizer is an optimizer and the name its state is saved under.
type Optimizer struct {
	Name string
	Adam *torch.Adam
}

// StepDrawer is a recipe that draws random inputs for each step (DCGAN's
// noise, CycleGAN's pool picks) into tensors of its own: the session calls
// DrawStep before Step, outside any CUDA graph, with the batch size, so
// that each replay of a captured step takes the step's own draws.
type StepDrawer interface {
	DrawStep(n int64)
}

// Visualizer renders the recipe's visuals (the sample grid) from the
// current weights without changing the training run (WithFrozenState).
// The session calls it between steps, on the training goroutine, with no
// Scope open; a torch op it gets refused is the grid's error, as in Step.
type Visualizer interface {
	Visuals() (*image.NRGBA, error)
}

// VisualsLayout is a Visualizer that names what its grid shows, in its
// reference's names, for the report page's caption: "each row: real_A |
// fake_B | real_B" (pix2pix). A grid of samples alone need not say.
type VisualsLayout interface {
	VisualsLayout() string
}

// RealVisualizer is a recipe whose reference saves a grid of the real
// batch beside its samples (pytorch/examples dcgan's real_samples.png):
// the session asks it for the grid of the batch of each step it draws the
// sample grid after (train.sample_every), and of each epoch's first step
// (main.py's i = 0), drawn with the epoch's grid where no other comes.
type RealVisualizer interface {
	RealVisuals(b Batch) (*image.NRGBA, error)
}

// FixedInputs are tensors a recipe keeps across the run (sample noise,
// sample pairs): checkpoints store them so a resumed run draws the same
// grids.
type FixedInputs interface {
	Fixed() []torch.Named
}

// LossWeights are weights a recipe's losses use that it neither trains nor
// checkpoints (pix2pixHD's VGG19, read from a file on each machine): the
// ranks of a data-parallel run take rank 0's, so that their losses agree.
type LossWeights interface {
	LossWeights() []*torch.Tensor
}

// LossGrouper is a recipe some of whose losses are of one scale and read
// together (pix2pix's D_real and D_fake, DCGAN's D(x) and D(G(z))): the
// run's loss plot draws each group in one panel, every other loss in a
// panel of its own (a loss's own range: pix2pix's G_L1, x100, beside
// G_GAN).
type LossGrouper interface {
	LossGroups() [][]string
}

// SampleSource is a recipe whose visuals show samples of the training data
// (pix2pix's input | output | target pairs): the session hands it the
// dataset once, before training.
type SampleSource interface {
	TakeSamples(ds *data.Dataset, seed uint64) error
}

// HostState is state a recipe keeps on the host (an image pool's random
// draws): saved in the checkpoint's state.json, so a resumed run continues
// it exactly.
type HostState interface {
	SaveHostState() (json.RawMessage, error)
	LoadHostState(json.RawMessage) error
}

// FixedLoss is a recipe told, on resume and before LoadHostState, which of
// its fixed tensors the checkpoint could not fill (absent, or of another
// shape): what its host state says of them (how full a pool is) no longer
// holds.
type FixedLoss interface {
	LostFixed(names []string)
}

// RankState is a recipe whose tensors differ from rank to rank under data
// parallelism (CycleGAN's image pools, filled with each rank's own fakes):
// RankTensors names them, a subset of its FixedInputs. A checkpoint keeps
// every rank's, and each rank resumes from its own.
type RankState interface {
	RankTensors() []torch.Named
}

// EpochHook is called after every epoch, after the LR schedule stepped.
type EpochHook interface {
	EndEpoch(epoch int) error
}

// Resumer is a recipe whose optimizers depend on how far a run got
// (pix2pixHD's swap after niter_fix_global epochs): the session calls
// Resume with the checkpoint's completed epochs before it loads the
// optimizers' moments.
type Resumer interface {
	Resume(epoch int) error
}

// FreshStarter is a recipe that starts a new run from weights elsewhere
// (pix2pixHD's load_pretrain): the session calls StartFresh once, at step
// 0, never on resume, with the checkpoint Definition.Files found and
// validated (and not when it found none).
type FreshStarter interface {
	StartFresh(from runfolder.Checkpoint) error
}

// Releaser is a recipe that holds tensors beyond its networks, optimizers
// and fixed inputs (pix2pixHD's VGG19): gan.Free calls Release.
type Releaser interface {
	Release()
}

// GraphUnsafe is a recipe whose step may not be capturable in a CUDA graph
// (host-side decisions inside it): GraphUnsafe says why, shown when a config
// asks for cuda.cuda_graph, or is empty when this configuration can be.
type GraphUnsafe interface {
	GraphUnsafe() string
}

// PlateauMetric names the loss whose epoch mean drives lr_policy plateau
// (the reference's BaseModel.metric, which its models never set). Without
// it the first loss is used.
type PlateauMetric interface {
	PlateauLoss() string
}

// Env is what a recipe is built with.
type Env struct {
	Config    *config.Config
	Device    torch.Device
	Precision *Precision // the step's mixed precision (cuda.amp)
	// Data parallelism: this process is rank Rank of World (0 or 1: alone).
	// A batch is the rank's share of a global batch World times as large.
	Rank, World int
	// Data is the training data, opened (nil where none is: bench, import,
	// translate): buffers of generated images (CycleGAN's pools) take the
	// sizes it gives.
	Data *data.Dataset
}

// Ranks is World, at least 1.
func (e Env) Ranks() int { return max(1, e.World) }

// NetSpec is one network a recipe builds: its role, options, constructor
// (nets.NewGenerator or nets.NewDiscriminator) and the shape of one input
// sample (noise or an image, without the batch dimension).
type NetSpec struct {
	Role    string
	Options nets.Options
	Build   func(nets.Options, torch.Device) (*nets.Net, error)
	Input   []int64
}

// Input is one named tensor of a batch: its channels, height and width.
type Input struct {
	Name  string
	Shape []int64
	// Classes > 0 says the tensor holds integer values in [0, Classes) as
	// floats (pix2pixHD's label maps: class ids; Classes 2: a 0/1 map such
	// as its instance boundaries); 0 is an image in [-1, 1]. RandomBatch
	// draws each kind.
	Classes int
}

// Generation is how `gogan sample`, `gogan eval fid` and `gogan serve` use
// a recipe that maps noise to images: the generator's role and one sample's
// noise shape, filled with standard normal noise. A class-conditional
// recipe (one that lists LabelInput, with its Classes) also sets Condition,
// which makes the generator's input from the noise ([N, Noise...]) and the
// samples' class ids (float32 [N] on the noise's device, as its batches hold
// them): the noise with a one-hot class in more channels, say. The commands
// then draw sample i of class i mod Classes unless told one class.
type Generation struct {
	Role      string
	Noise     []int64
	Condition func(noise, classes *torch.Tensor) *torch.Tensor
}

// Input is the generator's input for noise and, where it takes a class, the
// samples' classes (one per sample).
func (g Generation) Input(noise *torch.Tensor, classes []float32) *torch.Tensor {
	if g.Condition == nil {
		return noise
	}
	return g.Condition(noise, torch.FromFloat32(classes, int64(len(classes))).To(noise.Device()))
}

// Translation is one direction a recipe translates images in (gogan
// translate, gogan eval pix2pix): the generator's role and its channels.
type Translation struct {
	Direction string // "AtoB" (pix2pix: the config's data.direction; CycleGAN: G_A), "BtoA"
	Role      string
	InputNC   int
	OutputNC  int
	// PairDirection is the data.direction under which a pair's A is this
	// generator's input and its B the target (gogan eval pix2pix).
	PairDirection string
	// Encode makes the generator's input from a batch of the recipe's data
	// (pix2pixHD: one-hot label maps and instance boundaries, features);
	// nil: the batch's "A" as it is. gogan serve feeds images, so it
	// refuses a translation with Encode.
	Encode func(Batch, Encoders) *torch.Tensor
	// Nets are the checkpoint's other networks that Encode runs
	// (pix2pixHD's feature encoder "E"), in the generator's mode.
	Nets []string
	// Photos says that Encode reads the batch's photos "B" too (pix2pixHD's
	// features, encoded from a photo as its test.py --use_encoded_image),
	// unless Encoders.Features draws them instead.
	Photos bool
	// LoadFeatures reads a file of features clustered over the training set
	// (gogan features) into what Encoders.Features draws from, with draws
	// seeded by seed, for translating with checkpoint ck, whose Nets are
	// loaded in ns; nil when the recipe has none.
	LoadFeatures func(path string, seed uint64, ck runfolder.Checkpoint, ns map[string]*nets.Net) (FeatureSampler, error)
	// Lab says that the generator maps the L channel of CIE Lab to its a and
	// b channels (colorization): Input makes its input from colour (or gray)
	// images, and Output shows its output with the input's L as RGB.
	Lab bool
	// Visuals are the reference's names of the input, the output and the
	// target in the images its test.py saves (pix2pixHD's input_label,
	// synthesized_image, real_image); empty: pytorch-CycleGAN-and-pix2pix's.
	Visuals [3]string
}

// Encoders is what a translation's Encode may use besides the batch.
type Encoders struct {
	Nets     map[string]*nets.Net // Translation.Nets, loaded
	Features FeatureSampler       // nil: features encoded from the photos
}

// FeatureSampler makes a batch's feature input from clustered features
// (pix2pixHD's sample_features: a random cluster for each region).
type FeatureSampler interface {
	Sample(Batch) *torch.Tensor
}

// Definition is a recipe as it registers.
type Definition struct {
	// Schema is its name, documentation, own config keys, defaults for the
	// shared keys and validation.
	Schema config.RecipeSchema
	// Data adapts the data.* settings to what the recipe trains on
	// (required, as are Nets, Inputs and New). DataConfig leaves
	// data.image_size out: a recipe that resizes to it sets dc.ImageSize and
	// dc.Preprocess (data.ResizeCenterCrop) here, as DCGAN does.
	Data func(c *config.Config, dc *data.Config)
	// Nets lists the networks it builds, by role, in build order.
	Nets func(c *config.Config) []NetSpec
	// Inputs lists its batch's tensors (synthetic batches for gogan bench).
	// Training batches hold what the data package gives (Batch), and the
	// class labels where it lists LabelInput: an input of another name is
	// not filled.
	Inputs func(c *config.Config) []Input
	// New builds the recipe: networks initialised from the seeded generator
	// in the reference's order, optimizers, fixed inputs.
	New func(env Env) (Recipe, error)
	// Generate is set by recipes that map noise (and a class) to images
	// (see Generation).
	Generate func(c *config.Config) Generation
	// Translate is set by recipes that translate images.
	Translate func(c *config.Config) []Translation
	// BenchParams are the loss settings scripts/bench_pytorch.py needs to
	// repeat the step (added to gogan bench --spec).
	BenchParams func(c *config.Config) map[string]any
	// Export names the networks' files as the recipe's reference saves them,
	// with the reference's commands that load them (gogan export).
	Export func(c *config.Config, o ExportOptions) Export
	// FromReference reads a reference run's options (its checkpoint
	// folder's options file, ReadReferenceOptions) as config --set pairs
	// (gogan import --from), for a run of ReferenceModel.
	FromReference func(opts map[string]string) ([]string, error)
	// ReferenceModel is the reference's --model of the runs FromReference
	// reads (its options file's "model:" line: "pix2pix", "cycle_gan",
	// "pix2pixHD"); set with FromReference.
	ReferenceModel string
	// Describe says, where it can, what a state dict that does not load
	// into role's network holds, in the config's keys (gogan import of a
	// file saved with other settings, or given for another role); "" when
	// it cannot tell.
	Describe func(c *config.Config, role string, shapes map[string][]int64) string
	// Files checks the files the recipe reads besides its data (pix2pixHD's
	// model.vgg_weights, and model.load_pretrain when fresh: a new run), so
	// that train and resume name a missing one before the data are opened;
	// nil: none. It returns the validated checkpoint a new run starts from
	// (model.load_pretrain), which the session hands to StartFresh, or nil.
	Files func(c *config.Config, fresh bool) (*runfolder.Checkpoint, error)
	// OlderConfig corrects c, a config stored for one of the recipe's runs,
	// for a value an older gogan wrote there that the run never read, as
	// TakeOlderConfig describes (st is read only when called), and says why
	// for resume's log; nil: none.
	OlderConfig func(c *config.Config, st func() *runfolder.CheckpointState) string
}

var registry = map[string]*Definition{}

// Register adds a recipe; call it from the recipe package's init.
func Register(d Definition) {
	name := d.Schema.Name
	var missing []string
	for field, absent := range map[string]bool{"Schema.Name": name == "", "New": d.New == nil, "Nets": d.Nets == nil, "Inputs": d.Inputs == nil, "Data": d.Data == nil} {
		if absent {
			missing = append(missing, field)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		panic(fmt.Sprintf("gan: recipe %q registers without %s: a Definition needs a name, New, Nets, Inputs and Data", name, strings.Join(missing, ", ")))
	}
	if _, dup := registry[name]; dup {
		panic("gan: recipe " + name + " registered twice")
	}
	if (d.FromReference == nil) != (d.ReferenceModel == "") || d.FromReference != nil && d.Export == nil {
		panic(fmt.Sprintf("gan: recipe %q: FromReference needs ReferenceModel (gogan import --from finds the recipe by the reference's --model) and Export (the files' names), and ReferenceModel needs FromReference", name))
	}
	if have, _ := ForReferenceModel(d.ReferenceModel); d.ReferenceModel != "" && have != nil {
		panic(fmt.Sprintf("gan: recipes %q and %q both import the reference's --model %s", have.Schema.Name, name, d.ReferenceModel))
	}
	registry[name] = &d
	config.RegisterRecipe(d.Schema)
}

// Lookup finds a registered recipe.
func Lookup(name string) (*Definition, error) {
	if d, ok := registry[name]; ok {
		return d, nil
	}
	return nil, fmt.Errorf("recipe %q: not a registered recipe (registered: %s)", name, strings.Join(Names(), ", "))
}

// ForReferenceModel is the recipe that imports a reference's run of
// --model model (Definition.ReferenceModel), nil where none does, and the
// models some recipe imports, in the recipes' order.
func ForReferenceModel(model string) (*Definition, []string) {
	var found *Definition
	var models []string
	for _, n := range Names() {
		d := registry[n]
		if d.ReferenceModel == "" {
			continue
		}
		models = append(models, d.ReferenceModel)
		if d.ReferenceModel == model {
			found = d
		}
	}
	return found, models
}

// Names lists the registered recipes, sorted.
func Names() []string {
	var ns []string
	for n := range registry {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	return ns
}

// For is the registered definition of c's recipe (LoadConfig has checked
// that it is registered).
func For(c *config.Config) (*Definition, error) { return Lookup(c.Recipe) }

// New builds env.Config's recipe on env.Device; a nil env.Precision is the
// one the config's cuda.amp names.
func New(env Env) (Recipe, error) {
	d, err := For(env.Config)
	if err != nil {
		return nil, err
	}
	if env.Precision == nil {
		env.Precision = NewPrecision(env.Config.CUDA.AMP, env.Device)
	}
	return d.New(env)
}

// CheckFiles checks the files c's recipe reads besides its data
// (Definition.Files), for a new run (fresh) or a resumed one, and returns
// the checkpoint a new run starts from (nil: none).
func CheckFiles(c *config.Config, fresh bool) (*runfolder.Checkpoint, error) {
	d, err := For(c)
	if err != nil || d.Files == nil {
		return nil, err
	}
	return d.Files(c, fresh)
}

// DataConfig maps c's data.* keys onto the data package's options, adapted
// by the recipe.
func DataConfig(c *config.Config) (data.Config, error) {
	d := c.Data
	dc := data.Config{Root: d.Root, Dataset: d.Dataset, Phase: d.Phase, Source: d.Source, EdgeDetector: d.Edges,
		BatchSize: d.BatchSize, Workers: d.Workers, ReferenceWorkers: d.ReferenceWorkers, Prefetch: d.Prefetch, Shuffle: d.Shuffle, DropLast: d.DropLast,
		Preprocess: d.Preprocess, LoadSize: d.LoadSize, CropSize: d.CropSize, NoFlip: d.NoFlip, Direction: d.Direction,
		Channels: d.Channels, SkipInvalid: d.SkipInvalid, InMemory: d.InMemory, MaxSamples: d.MaxSamples, DType: "float32",
		SerialBatches: d.SerialBatches, ClassesA: d.ClassesA, ClassesB: d.ClassesB, Classes: d.Classes}
	def, err := For(c)
	if err != nil {
		return dc, err
	}
	def.Data(c, &dc)
	return dc, nil
}

// OpenData opens c's training data as the recipe reads it, for a job of
// ranks processes (data.Config.Ranks).
func OpenData(ctx context.Context, c *config.Config, ranks int) (*data.Dataset, error) {
	dc, err := DataConfig(c)
	if err != nil {
		return nil, err
	}
	dc.Ranks = ranks
	return data.Open(ctx, dc, nil)
}

// NetSpecOf is the spec of c's network with the given role.
func NetSpecOf(c *config.Config, role string) (NetSpec, error) {
	def, err := For(c)
	if err != nil {
		return NetSpec{}, err
	}
	specs := def.Nets(c)
	for _, s := range specs {
		if s.Role == role {
			return s, nil
		}
	}
	roles := make([]string, len(specs))
	for i, s := range specs {
		roles[i] = s.Role
	}
	return NetSpec{}, fmt.Errorf("recipe %s has no network %q (its networks: %s)", c.Recipe, role, strings.Join(roles, ", "))
}

// buildNet makes the network of spec on dev, initialised as model.init_type
// and model.init_gain say and laid out as cuda.channels_last asks.
func buildNet(c *config.Config, spec NetSpec, dev torch.Device) (*nets.Net, error) {
	n, err := spec.Build(spec.Options, dev)
	if err != nil {
		return nil, fmt.Errorf("network %s: %w", spec.Role, err)
	}
	if err := n.Init(c.Model.InitType, c.Model.InitGain); err != nil {
		n.Free()
		return nil, err
	}
	if c.CUDA.ChannelsLast {
		if err := torch.Try(func() { torch.ToChannelsLast(n.Parameters()) }); err != nil {
			n.Free()
			return nil, err
		}
	}
	return n, nil
}

// BuildNets builds every network of c's recipe in order, each initialised
// before the next is built (both references build and initialise G before
// D, so one seed gives their weights).
func BuildNets(c *config.Config, specs []NetSpec, dev torch.Device) ([]*nets.Net, error) {
	var out []*nets.Net
	for _, s := range specs {
		n, err := buildNet(c, s, dev)
		if err != nil {
			for _, b := range out {
				b.Free()
			}
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// NewAdam is the optimizer of n with train.lr and train.beta1/beta2.
func NewAdam(n *nets.Net, c *config.Config) *torch.Adam {
	return torch.NewAdam(n.Parameters(), c.Train.LR, c.Train.Beta1, c.Train.Beta2)
}

// SetRequiresGrad turns a network's parameter gradients on or off (the
// reference's set_requires_grad): off while the generator trains, so the
// discriminator's weights get no gradient computed.
func SetRequiresGrad(n *nets.Net, on bool) { torch.SetRequiresGradAll(n.Parameters(), on) }

// Free releases a recipe's networks, optimizers and fixed inputs (also
// when New fails halfway and some are not made yet).
func Free(r Recipe) {
	for _, n := range r.Nets() {
		if n.Net != nil {
			n.Net.Free()
		}
	}
	for _, o := range r.Optimizers() {
		if o.Adam != nil {
			o.Adam.Free()
		}
	}
	if f, ok := r.(FixedInputs); ok {
		for _, nt := range f.Fixed() {
			nt.Tensor.Free()
		}
	}
	if rl, ok := r.(Releaser); ok {
		rl.Release()
	}
}

// BatchShapes are c's batch tensors with the batch dimension, in the
// recipe's Inputs order.
func BatchShapes(c *config.Config) ([]Input, error) {
	def, err := For(c)
	if err != nil {
		return nil, err
	}
	var out []Input
	for _, in := range def.Inputs(c) {
		out = append(out, Input{Name: in.Name, Shape: append([]int64{int64(c.Data.BatchSize)}, in.Shape...), Classes: in.Classes})
	}
	return out, nil
}

// RandomBatch is a synthetic batch of c's shapes on dev, drawn in Inputs
// order (gogan bench; tests): images uniform in [-1, 1], inputs with
// Classes uniform integers in [0, Classes) as float32. The tensors are
// persistent: the caller frees them. The draws' intermediates are freed
// before it returns (left to the garbage collector, they held twice the
// batch's memory through gogan bench's timed steps and its memory figures).
func RandomBatch(c *config.Config, dev torch.Device) (Batch, error) {
	shapes, err := BatchShapes(c)
	if err != nil {
		return nil, err
	}
	b := Batch{}
	err = torch.Try(func() {
		sc := torch.NewScope()
		defer sc.Close()
		for _, in := range shapes {
			u := torch.Rand(torch.Float32, dev, in.Shape...)
			if in.Classes > 0 {
				// floor(u * Classes): the cast to int64 truncates; the clamp
				// keeps a u that rounds up to Classes in float32 in range.
				k := float64(in.Classes)
				b[in.Name] = u.MulScalar(k).ToDType(torch.Int64).ToDType(torch.Float32).ClampMax(k - 1).Persist()
			} else {
				b[in.Name] = u.MulScalar(2).SubScalar(1).Persist()
			}
		}
	})
	return b, err
}

// FreeBatch frees a batch's tensors.
func FreeBatch(b Batch) {
	for _, t := range b {
		t.Free()
	}
}

// CheckCrop adds to bad what a crop of size side cannot give the networks
// of specs (the generator first): a side its generator cannot halve down
// to its bottleneck, or smaller than a network takes (nets.MinInput). The
// image-to-image recipes call it when data.preprocess crops.
func CheckCrop(side int, specs []NetSpec, bad func(string, ...any)) {
	g := specs[0].Options
	if mult := nets.InputMultiple(g); mult > 1 && side%mult != 0 {
		bad("model.netG=%s needs a network input that is a multiple of %d, but data.crop_size=%d", g.Kind, mult, side)
		return // a U-Net's least input is that multiple: one message is enough
	}
	for _, spec := range specs {
		min := nets.MinInput(spec.Options)
		if side >= min {
			continue
		}
		hint := "raise data.crop_size"
		if strings.HasPrefix(spec.Role, "D") {
			hint += " or lower model.n_layers_D (model.netD=n_layers)"
		}
		bad("model.net%s=%s takes inputs of at least %dx%d pixels, but data.crop_size=%d: %s",
			spec.Role[:1], nets.KindText(spec.Options), min, min, side, hint)
		return
	}
}
