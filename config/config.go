// Package config is gogan's configuration: the schema of every key (shared
// keys here, each recipe's own keys registered by its package), loading from
// YAML, GOGAN_* environment variables and --set, and validation.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"
)

// EnvPrefix starts every environment variable that sets a config key:
// GOGAN_DATA_BATCH_SIZE sets data.batch_size. Every variable with this
// prefix must name a key, so a typo is an error instead of a silent no-op.
const EnvPrefix = "GOGAN_"

// NonConfigEnv are GOGAN_* variables that tools and tests use for other
// things (cgo/reference_test.go, scripts/gpu-check); LoadConfig ignores
// them. Add any new one here, or it is refused as an unknown config key
// (TestToolVariablesAreNotKeys finds those the sources read or export).
var NonConfigEnv = map[string]bool{
	"GOGAN_PYTHON":      true,
	"GOGAN_REF_THREADS": true,
	"GOGAN_SOAK_STEPS":  true, // trainer's BenchmarkSoak
	"GOGAN_FACADES":     true, // torchtest.Facades, set by scripts/gpu-check
	"GOGAN_LSUN":        true, // trainer's smallLSUN, set by scripts/gpu-check
	"GOGAN_NETS_KEEP":   true, // nets' interop test keeps its files there
	"GOGAN_BENCH_LSUN":  true, // data's LSUN benchmark
	// --nproc's ranks leave their errors there (dist.ErrorsEnv)
	"GOGAN_LAUNCH_ERRORS": true,
}

// DefaultConfigPath is the config `gogan train` uses without -c: DCGAN on
// Fashion-MNIST, sized for a CPU.
const DefaultConfigPath = "configs/dcgan-fashion-mnist.yaml"

// DefaultRecipe is the recipe of DefaultConfigPath, and of a config that
// names none.
const DefaultRecipe = "dcgan"

// GivenRecipe is the recipe that sets (--set key=value, the last one
// winning) or else environ's GOGAN_RECIPE name, "" where neither does: in
// the key's own spelling (DCGAN is dcgan), or as given where the key
// refuses it.
func GivenRecipe(sets, environ []string) string {
	canonical := func(v string) string {
		if r, err := fromString(schemaByLower["recipe"], v); err == nil {
			return r.(string)
		}
		return strings.TrimSpace(v)
	}
	for _, kv := range slices.Backward(sets) {
		if name, v, ok := strings.Cut(kv, "="); ok && strings.EqualFold(strings.TrimSpace(name), "recipe") {
			return canonical(v)
		}
	}
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, EnvPrefix+"RECIPE="); ok {
			return canonical(v)
		}
	}
	return ""
}

// MaxThreads bounds threads: libgomp sizes its thread table before it
// starts a thread, and aborts the process when that allocation fails.
const MaxThreads = 1024

// MaxInFlight bounds the batches a loader builds ahead, data.workers ×
// data.prefetch: the run allocates a buffer for each before its first step.
const MaxInFlight = 4096

// KeyType is the type of a config key's value.
type KeyType int

const (
	TypeString KeyType = iota
	TypeInt
	TypeFloat
	TypeBool
)

func (t KeyType) String() string {
	switch t {
	case TypeInt:
		return "int"
	case TypeFloat:
		return "float"
	case TypeBool:
		return "bool"
	default:
		return "string"
	}
}

// Bounds is an inclusive (or, with LoOpen/HiOpen, exclusive) numeric range.
type Bounds struct {
	Lo, Hi         float64
	LoOpen, HiOpen bool
}

// AtLeast, Between and Above are the usual ranges of numeric keys.
func AtLeast(lo float64) *Bounds     { return &Bounds{Lo: lo, Hi: math.Inf(1)} }
func Between(lo, hi float64) *Bounds { return &Bounds{Lo: lo, Hi: hi} }
func Above(lo float64) *Bounds       { return &Bounds{Lo: lo, Hi: math.Inf(1), LoOpen: true} }

func (b *Bounds) contains(x float64) bool {
	if b.LoOpen && x <= b.Lo || !b.LoOpen && x < b.Lo {
		return false
	}
	if b.HiOpen && x >= b.Hi || !b.HiOpen && x > b.Hi {
		return false
	}
	return true
}

func (b *Bounds) String() string {
	lo, hi := "≥", "≤"
	if b.LoOpen {
		lo = ">"
	}
	if b.HiOpen {
		hi = "<"
	}
	if math.IsInf(b.Hi, 1) {
		return lo + " " + fmtNum(b.Lo)
	}
	return fmt.Sprintf("%s %s and %s %s", lo, fmtNum(b.Lo), hi, fmtNum(b.Hi))
}

func fmtNum(x float64) string {
	if x == math.Trunc(x) && math.Abs(x) < 1e15 {
		return strconv.FormatFloat(x, 'f', -1, 64) // 1000000, not 1e+06
	}
	return strconv.FormatFloat(x, 'g', -1, 64)
}

// Key describes one config key. Schema is the single source of truth for
// names, types, defaults, valid values and documentation.
type Key struct {
	Name string // dotted path as written in YAML; matched case-insensitively
	Type KeyType
	// Default applies to every recipe unless RecipeDefault overrides it.
	Default       any
	RecipeDefault map[string]any
	Enum          []string // allowed values of a string key
	// Hints answer a value the references take that gogan spells another
	// way (or has no use for), by its lower case, instead of "did you mean".
	Hints map[string]string
	Ints  []int64 // allowed values of an int key
	Range *Bounds // allowed values of a numeric key
	// Limit narrows Range for new runs and resumes only: a bound added
	// after runs were saved with values past it, which a checkpoint's
	// stored config (ParseYAML) may still hold and stays readable with.
	Limit *Bounds
	// Check validates what Enum and Range cannot express; Valid documents it.
	Check func(s string) error
	Valid string
	Doc   string
	// Unit is what a number of a float key counts, "seconds" or
	// "minutes": a duration given instead (40s, 2h) is answered with its
	// number.
	Unit string
}

// numberWanted is the refusal of a float key's value that is no number,
// for one of a Unit the value as that number where it reads as a duration.
func (k *Key) numberWanted(v any) string {
	if k.Unit == "" {
		return "want a number"
	}
	s, _ := v.(string)
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return "want a number of " + k.Unit
	}
	n := d.Seconds()
	if k.Unit == "minutes" {
		n = d.Minutes()
	}
	return fmt.Sprintf("want a number of %s: %s is %s", k.Unit, strings.TrimSpace(s), strconv.FormatFloat(math.Round(n*1000)/1000, 'f', -1, 64))
}

// EnvName is the environment variable that sets k.
func (k *Key) EnvName() string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(k.Name, ".", "_"))
}

// FromYAML converts a value as a YAML config holds it to k's type, or says
// why this gogan refuses it.
func (k *Key) FromYAML(raw any) (any, error) { return fromYAML(k, raw) }

// DefaultFor is k's default under the given recipe.
func (k *Key) DefaultFor(recipe string) any {
	if d, ok := k.RecipeDefault[recipe]; ok {
		return d
	}
	return k.Default
}

// ValidText describes the valid values for humans (errors and the table).
func (k *Key) ValidText() string {
	switch {
	case k.Valid != "":
		return k.Valid
	case len(k.Enum) > 0:
		return strings.Join(k.Enum, ", ")
	case k.Limit != nil:
		return k.Limit.String()
	case len(k.Ints) > 0:
		s := make([]string, len(k.Ints))
		for i, n := range k.Ints {
			s[i] = strconv.FormatInt(n, 10)
		}
		return strings.Join(s, ", ")
	case k.Range != nil:
		return k.Range.String()
	case k.Type == TypeBool:
		return "true, false"
	}
	return "any"
}

func checkDevice(s string) error { return deviceError(s, false) }

// CheckDeviceFlag checks a command's --device (sample, translate, eval,
// serve, ...) as checkDevice the device key, answering the references'
// --gpu_ids values (test.py's too) in the flag's words.
func CheckDeviceFlag(s string) error { return deviceError(s, true) }

func deviceError(s string, flag bool) error {
	switch s {
	case "auto", "cpu", "cuda":
		return nil
	}
	if n, ok := strings.CutPrefix(s, "cuda:"); ok {
		if i, err := strconv.Atoi(n); err == nil && i >= 0 && strconv.Itoa(i) == n {
			return nil
		}
	}
	return errors.New("must be auto, cpu, cuda or cuda:N with N a GPU index" + gpuIDsHint(s, flag))
}

// gpuIDsHint answers a value of the references' --gpu_ids (-1, 0, 0,1),
// which their option answer (--gpu_ids is device here) leads to: as the
// device key (device=cpu), or as a command's --device (flag), which runs
// on one device. Their parse keeps the ids of 0 and more, so -1 is the CPU
// where no other id is given, and -1,0 is GPU 0.
func gpuIDsHint(s string, flag bool) string {
	var gpus []string
	ids := strings.Split(s, ",")
	for _, id := range ids {
		n, err := strconv.Atoi(strings.TrimSpace(id))
		if err != nil {
			return ""
		}
		if n >= 0 {
			gpus = append(gpus, strconv.Itoa(n))
		}
	}
	is := "device="
	if flag {
		is = "--device "
	}
	dropped := ""
	if len(gpus) > 0 && len(gpus) < len(ids) {
		dropped = ", the negative ids dropped as they drop them"
	}
	switch {
	case len(gpus) > 1 && flag:
		return fmt.Sprintf("; the references' --gpu_ids %s names %d GPUs%s, and this command runs on one: --device cuda:%s", s, len(gpus), dropped, gpus[0])
	case len(gpus) > 1:
		return fmt.Sprintf("; the references' --gpu_ids %s (%d GPUs sharing its batch%s) is CUDA_VISIBLE_DEVICES=%s gogan train --nproc %d (one process a GPU), "+
			"whose data.batch_size is each process's: the reference's --batch_size divided by %d", s, len(gpus), dropped, strings.Join(gpus, ","), len(gpus), len(gpus))
	case len(gpus) == 0:
		return fmt.Sprintf("; the references' --gpu_ids %s (the CPU) is %scpu", s, is)
	case dropped != "":
		return fmt.Sprintf("; the references' --gpu_ids %s (GPU %s%s) is %scuda:%s", s, gpus[0], dropped, is, gpus[0])
	}
	return fmt.Sprintf("; the references' --gpu_ids %s is %scuda:%s", s, is, gpus[0])
}

func checkNonEmpty(s string) error {
	if strings.TrimSpace(s) == "" {
		return errors.New("must not be empty")
	}
	return nil
}

// sharedKeys are the keys every recipe reads (a recipe's own keys come with
// its registration). Defaults follow pytorch/examples dcgan, the default
// recipe; a recipe registers its own defaults for the keys where its
// reference differs, so a config only states what differs.
// datasetHints: the references' dataset names that data.dataset spells
// another way.
var datasetHints = map[string]string{
	"imagenet": `pytorch/examples dcgan reads --dataset imagenet as an image folder (torchvision's ImageFolder): data.dataset=folder`,
	"lfw":      `pytorch/examples dcgan reads --dataset lfw as an image folder (torchvision's ImageFolder): data.dataset=folder`,
	"fake":     "gogan has no random-image dataset (pytorch/examples dcgan's --dataset fake): `gogan bench` times training steps on synthetic batches, and fashion-mnist (make setup installs it) is a real dataset to try a run on",
	"single":   "single images (test.py's --dataset_mode single) are translated with `gogan translate --input`, not trained on",
	"template": "template is pytorch-CycleGAN-and-pix2pix's skeleton for writing a dataset class: use one of the kinds above",
}

// normHints: the norms of pytorch-CycleGAN-and-pix2pix's DDP training
// (its README's `torchrun ... --norm sync_batch`, the code's syncbatch).
var normHints = map[string]string{
	"syncbatch":     syncBatchHint,
	"sync_batch":    syncBatchHint,
	"sync_instance": "instance normalisation takes each image's own statistics, so there is nothing to synchronise over the ranks: model.norm=instance",
}

const syncBatchHint = "pytorch-CycleGAN-and-pix2pix's SyncBatchNorm over the ranks (torchrun, gogan train --nproc N) is model.norm=batch with train.sync_bn=true"

var sharedKeys = []Key{
	{Name: "recipe", Type: TypeString, Default: DefaultRecipe, Hints: map[string]string{
		"test": "test.py's --model test (one generator run on single images) is gogan translate --checkpoint RUN --input DIR, not a recipe to train"}, Doc: "What to train (the registered recipes; see Recipes below)."},
	{Name: "seed", Type: TypeInt, Default: 999, Range: AtLeast(0), Doc: "Seed for weights init, noise, shuffling and augmentation (same seed + same device, and on the CPU the same threads, = same run)."},
	{Name: "device", Type: TypeString, Default: "auto", Check: checkDevice, Valid: "auto, cpu, cuda, cuda:N", Doc: "Where libtorch computes; auto picks cuda:0 when a GPU is visible, else cpu."},
	{Name: "threads", Type: TypeInt, Default: 0, Range: AtLeast(0), Limit: Between(0, MaxThreads), Doc: "libtorch intra-op CPU threads; 0 = every core the process may use (its CPU affinity and a container's CPU limit, as Go's GOMAXPROCS). On the CPU the count is part of the run: libtorch's sums round otherwise with another, so a run repeats, and resumes exactly, at the same count."},
	{Name: "out", Type: TypeString, Default: "runs/gogan", Check: checkNonEmpty, Valid: "a folder path", Doc: "Run folder: config, checkpoints, samples, metrics.csv, index.html."},

	{Name: "data.root", Type: TypeString, Default: "/usr/share/datasets/fashion-mnist", Check: checkNonEmpty, Valid: "a folder path", Doc: "Dataset folder (IDX files for (fashion-)mnist; torchvision's CIFAR-10 root for cifar10; the folder holding LSUN's {category}_{phase}_lmdb databases for lsun; image folders otherwise)."},
	{Name: "data.dataset", Type: TypeString, Default: "fashion-mnist", Enum: []string{"fashion-mnist", "mnist", "cifar10", "lsun", "folder", "aligned", "unaligned", "edges", "gray2color", "colorization"}, Hints: datasetHints, Doc: "Dataset kind: IDX digits/garments, CIFAR-10's python batches (data.root/cifar-10-batches-py/, or cifar-10-python.tar.gz in data.root, as torchvision keeps them), LSUN scene categories (data.classes) in their LMDB databases as LSUN distributes them, image folder (class folders are listed and labelled as torchvision's ImageFolder, the DCGAN example's --dataset folder, does; otherwise every image under data.root), A|B pairs side by side, separate A/B folders, edges or gray input computed from images, or colour images under data.root/data.phase as CIE Lab's L (input) and ab (target)."},
	{Name: "data.phase", Type: TypeString, Default: "train", Enum: []string{"train", "val", "test"}, Doc: "Split to read (subfolder of data.root for image datasets)."},
	{Name: "data.batch_size", Type: TypeInt, Default: 64, Range: AtLeast(1), Doc: "Images per training step."},
	{Name: "data.workers", Type: TypeInt, Default: 2, Range: AtLeast(0), Limit: Between(0, MaxInFlight), Doc: "Loader goroutines decoding and augmenting images; 0 = load in the training goroutine. Each holds data.prefetch batches: data.workers × data.prefetch at most 4096."},
	{Name: "data.reference_workers", Type: TypeInt, Default: 4, Range: AtLeast(0), Doc: "The references' DataLoader workers (pytorch-CycleGAN-and-pix2pix's --num_threads, default 4; pix2pixHD's --nThreads, default 2, the pix2pixhd recipe's default) as whose draws each epoch's random crops, flips and CycleGAN's random B picks are made: worker k of N, seeded with the DataLoader's base seed (drawn from the CPU generator as the epoch starts) + k as torch seeds Python's random and its own generator in a worker, draws for the batches k, k+N, k+2N ... in order, as the reference's get_params, UnalignedDataset and torchvision's RandomCrop and RandomHorizontalFlip draw. With the reference's value and seed a run's augmentations are the reference's, sample for sample (0: one stream, as worker 0; the reference's main process draws from an unseeded random there). It changes what is drawn, not the speed: data.workers are gogan's own loader goroutines."},
	{Name: "data.prefetch", Type: TypeInt, Default: 2, Range: AtLeast(0), Limit: Between(0, MaxInFlight), Doc: "Batches each worker prepares ahead (0 counts as 1); the run keeps buffers for data.workers × data.prefetch batches, at most 4096."},
	{Name: "data.shuffle", Type: TypeBool, Default: true, Doc: "Reshuffle every epoch (pix2pix: the opposite of --serial_batches). The order is torch's RandomSampler's (a randperm seeded from the CPU generator as the epoch starts, after the DataLoader's base seed, both drawn as the references' DataLoader draws them), so DCGAN's batches and noise are main.py's step for step; the ranks of a job split each global batch of that order (rank 0's)."},
	{Name: "data.drop_last", Type: TypeBool, Default: false, Doc: "Drop the last incomplete batch of an epoch."},
	{Name: "data.in_memory", Type: TypeBool, Default: false, Doc: "Decode the whole dataset into memory once instead of per epoch."},
	{Name: "data.on_device", Type: TypeBool, Default: false, Doc: "Hold the whole dataset on the training device as uint8, resized once when the run opens, and build each batch there (gather, crop, flip, convert, normalise): no host work per step but the batch's sample indices and their crop and flip draws, the host loader's. Random crops and flips are cut there from the resized images, for every dataset but edge maps (detected on each cropped photo: they need a preprocess without a random crop and data.no_flip); unaligned data keeps each stream's images once and pairs them as the loader does; instance boundaries are cut as the cropped map's. Images of one size after resizing; Fashion-MNIST at 32x32 takes 61 MB, facades at 286x286 (A and B) 196 MB. The batches are the host loader's, value for value."},
	{Name: "data.skip_invalid", Type: TypeBool, Default: false, Doc: "Skip unreadable images with a warning instead of stopping."},
	{Name: "data.image_size", Type: TypeInt, Default: 64, Range: AtLeast(1), Doc: "DCGAN: images are resized (and center-cropped) to this square size; one of 32, 64, 128, 256."},
	{Name: "data.load_size", Type: TypeInt, Default: 286, Range: AtLeast(1), Doc: "pix2pix: scale images to this size before cropping."},
	{Name: "data.crop_size", Type: TypeInt, Default: 256, Range: AtLeast(1), Doc: "pix2pix: random crop size (the network's input size)."},
	{Name: "data.preprocess", Type: TypeString, Default: "resize_and_crop", Enum: []string{"resize_and_crop", "crop", "scale_width", "scale_width_and_crop", "none"}, Doc: "pix2pix: resize/crop policy, as the reference's --preprocess. With none (sides rounded to multiples of 4, as pytorch-CycleGAN-and-pix2pix; pix2pixhd: of 2^n_downsample_global, as pix2pixHD, whose scale_width also keeps the aspect ratio where pix2pix raises the height to data.crop_size) and scale_width the images keep sizes of their own: one the networks cannot take (too small, or not a multiple of the U-Net's size) is refused before training starts (found when the data open; else before its batch's step), naming its file."},
	{Name: "data.no_flip", Type: TypeBool, Default: true, Doc: "Disable random horizontal flips (the DCGAN example does not flip; pix2pix does)."},
	{Name: "data.direction", Type: TypeString, Default: "AtoB", Enum: []string{"AtoB", "BtoA"}, Doc: "pix2pix: translate A to B or B to A. cyclegan: BtoA swaps the domains, as the reference's --direction (G_A then maps the B folder's images to the A folder's)."},
	{Name: "data.source", Type: TypeString, Default: "fashion-mnist", Enum: []string{"fashion-mnist", "mnist", "cifar10", "folder"}, Doc: "edges and gray2color: the image dataset the pairs are derived from (folder: images under data.root); unaligned with data.classes_A/classes_B: the labelled dataset (fashion-mnist, mnist or cifar10) the two domains come from."},
	{Name: "data.edges", Type: TypeString, Default: "canny", Enum: []string{"canny", "sobel"}, Doc: "edges: the edge detector that makes the input image from each cropped photo: dark lines on a white background, as edges2shoes' sketches (canny: black one-pixel lines; sobel: shades of gray). gogan translate of such a run takes sketches of that kind."},
	{Name: "data.max_samples", Type: TypeInt, Default: 0, Range: AtLeast(0), Doc: "Use only the first N samples of the dataset; 0 = all. unaligned: the A list and the B list each keep their first N images (sorted files, or IDX images of the chosen classes), so images N.. are never read (held out for evaluation)."},
	{Name: "data.channels", Type: TypeInt, Default: 0, Ints: []int64{0, 1, 3}, Doc: "DCGAN image channels; 0 = auto (1 for mnist/fashion-mnist, 3 otherwise)."},
	{Name: "data.serial_batches", Type: TypeBool, Default: false, Doc: "unaligned: sample i pairs A[i mod |A|] with B[i mod |B|] instead of a random B (CycleGAN's --serial_batches in UnalignedDataset). Unlike the reference's flag it does not stop shuffling: set data.shuffle=false for that. An error with other data.dataset kinds."},
	{Name: "data.classes", Type: TypeString, Default: "", Valid: "LSUN categories, comma-separated", Doc: "lsun: the scene categories to train on, read from data.root/{category}_{data.phase}_lmdb one after another (data.phase test: test_lmdb, all categories): bedroom, bridge, church_outdoor, classroom, conference_room, dining_room, kitchen, living_room, restaurant, tower (the DCGAN example's --classes); empty = bedroom. Splits of more than 20000 images are not read whole on open (unless data.in_memory): a bad image stops the run when it is read, or is skipped with data.skip_invalid."},
	{Name: "data.classes_A", Type: TypeString, Default: "", Valid: "class numbers 0..9 or fashion-mnist or cifar10 names, comma-separated", Doc: "unaligned: take the A domain from the labelled dataset data.source (fashion-mnist, mnist or cifar10, under data.root; data.phase train or test) instead of image folders: its images whose label is in this list, e.g. 7, sneaker,sandal or cat. fashion-mnist names: t-shirt/top (tshirt), trouser, pullover, dress, coat, sandal, shirt, sneaker, bag, ankle-boot; cifar10: airplane, automobile, bird, cat, deer, dog, frog, horse, ship, truck (any case). Set with data.classes_B; empty = folders."},
	{Name: "data.classes_B", Type: TypeString, Default: "", Valid: "class numbers 0..9 or fashion-mnist or cifar10 names, comma-separated", Doc: "unaligned: the B domain's classes of data.source, as data.classes_A (no class in both). Epoch length max(|A|, |B|); images have 1 channel unless model.input_nc/output_nc ask for 3."},

	{Name: "model.ngf", Type: TypeInt, Default: 64, Range: AtLeast(1), Doc: "Generator filters in the last conv layer."},
	{Name: "model.ndf", Type: TypeInt, Default: 64, Range: AtLeast(1), Doc: "Discriminator filters in the first conv layer."},
	{Name: "model.netG", Type: TypeString, Default: "dcgan", Enum: []string{"dcgan", "unet_128", "unet_256", "resnet_6blocks", "resnet_9blocks", "global", "local"}, Doc: "Generator architecture (global, local: pix2pixHD's GlobalGenerator and LocalEnhancer)."},
	{Name: "model.netD", Type: TypeString, Default: "dcgan", Enum: []string{"dcgan", "basic", "n_layers", "pixel", "multiscale"}, Doc: "Discriminator: DCGAN, 70x70 PatchGAN (basic), PatchGAN with model.n_layers_D, 1x1 PixelGAN, or pix2pixHD multi-scale."},
	{Name: "model.n_layers_D", Type: TypeInt, Default: 3, Range: Between(1, 8), Doc: "PatchGAN conv layers (n_layers and multiscale; basic is 3)."},
	{Name: "model.num_D", Type: TypeInt, Default: 2, Range: Between(1, 4), Doc: "Discriminators at different scales (multiscale only)."},
	{Name: "model.norm", Type: TypeString, Default: "batch", Enum: []string{"batch", "instance", "none"}, Hints: normHints, Doc: "Normalization layers in G and D."},
	{Name: "model.no_dropout", Type: TypeBool, Default: false, Doc: "Disable dropout in the generator (pix2pix U-Net uses dropout 0.5)."},
	{Name: "model.init_type", Type: TypeString, Default: "normal", Enum: []string{"normal", "xavier", "kaiming", "orthogonal", "pix2pixhd"}, Doc: "Weight initialization (pix2pixhd: N(0, init_gain) conv weights with PyTorch's default biases, as pix2pixHD's weights_init)."},
	{Name: "model.init_gain", Type: TypeFloat, Default: 0.02, Range: Above(0), Doc: "Scale of normal/xavier/orthogonal init."},
	{Name: "model.input_nc", Type: TypeInt, Default: 3, Range: Between(1, 4), Valid: "1 or 3 (gray or RGB)", Doc: "pix2pix: channels of the input image."},
	{Name: "model.output_nc", Type: TypeInt, Default: 3, Range: Between(1, 4), Valid: "1 or 3 (gray or RGB; colorization's ab: 2)", Doc: "pix2pix: channels of the output image."},

	{Name: "train.epochs", Type: TypeInt, Default: 25, Range: AtLeast(1), Doc: "Epochs at the initial learning rate (dcgan --niter, pix2pix --n_epochs)."},
	{Name: "train.epochs_decay", Type: TypeInt, Default: 0, Range: AtLeast(0), Doc: "Epochs over which the learning rate decays (pix2pix --n_epochs_decay)."},
	{Name: "train.max_steps", Type: TypeInt, Default: 0, Range: AtLeast(0), Doc: "Stop after this many steps; 0 = no limit."},
	{Name: "train.checkpoint_every", Type: TypeInt, Default: 0, Range: AtLeast(0), Doc: "Checkpoint every N steps; 0 = only at the end of each epoch (and on stop)."},
	{Name: "train.checkpoint_every_minutes", Type: TypeFloat, Default: 0.0, Range: AtLeast(0), Unit: "minutes", Doc: "Also checkpoint when this many minutes have passed since the last checkpoint (a spot instance gives about two minutes of notice); 0 = off."},
	{Name: "train.keep_checkpoints", Type: TypeInt, Default: 3, Range: AtLeast(0), Doc: "Keep the newest K checkpoints; 0 = keep all."},
	{Name: "train.keep_every_epochs", Type: TypeInt, Default: 0, Range: AtLeast(0), Doc: "Also keep, whatever train.keep_checkpoints prunes, the checkpoint written at the end of every N-th epoch (the references' --save_epoch_freq, whose <epoch>_net_G.pth files stay; gogan export --label N writes them so); 0 = none."},
	{Name: "train.sample_every", Type: TypeInt, Default: 100, Range: AtLeast(0), Doc: "Write a sample grid every N steps (and each epoch); 0 = only each epoch."},
	{Name: "train.log_every", Type: TypeInt, Default: 100, Range: AtLeast(1), Doc: "Append a metrics.csv row every N steps."},
	{Name: "train.losses_every", Type: TypeInt, Default: 0, Range: AtLeast(0), Doc: "Read the steps' losses back from the device every N steps, in one copy, so that a GPU step does not wait for the host (pytorch-CycleGAN-and-pix2pix reads them at its print_freq). 0 = train.log_every on a GPU, every step on the CPU (where a read costs nothing); with several ranks, every step. metrics.csv, TensorBoard, the epoch means and the NaN guard still see every step; a NaN is found at the next read and reported with its step."},
	// Above 1e30 Adam's step size overflows float32 (libtorch refuses it).
	{Name: "train.lr", Type: TypeFloat, Default: 0.0002, Range: &Bounds{Lo: 0, LoOpen: true, Hi: 1e30}, Doc: "Adam learning rate for G and D."},
	{Name: "train.beta1", Type: TypeFloat, Default: 0.5, Range: &Bounds{Lo: 0, Hi: 1, HiOpen: true}, Doc: "Adam beta1."},
	{Name: "train.beta2", Type: TypeFloat, Default: 0.999, Range: &Bounds{Lo: 0, Hi: 1, HiOpen: true}, Doc: "Adam beta2."},
	{Name: "train.gan_mode", Type: TypeString, Default: "vanilla", Enum: []string{"vanilla", "lsgan", "wgangp", "hinge"}, Doc: "GAN loss: BCE with logits, least squares, WGAN-GP or hinge."},
	{Name: "train.lambda_gp", Type: TypeFloat, Default: 10.0, Range: AtLeast(0), Doc: "Gradient penalty weight (wgangp)."},
	{Name: "train.pool_size", Type: TypeInt, Default: 0, Range: AtLeast(0), Doc: "cyclegan, pix2pixhd: generated images kept to show D older fakes (util/image_pool.py's ImagePool, --pool_size): cyclegan one pool per discriminator, pix2pixhd one of D's label-and-fake inputs; 0 = no pool."},
	{Name: "train.lr_policy", Type: TypeString, Default: "linear", Enum: []string{"linear", "step", "cosine", "plateau", "pix2pixhd"}, Hints: map[string]string{"lambda": "pytorch-CycleGAN-and-pix2pix's --lr_policy lambda (its earlier name of linear) is linear"}, Doc: "LR schedule: linear = constant for train.epochs then linear to 0 over train.epochs_decay (pytorch-CycleGAN-and-pix2pix's lambda rule); pix2pixhd = pix2pixHD's: after each epoch past train.epochs the rate drops by lr/train.epochs_decay, reaching 0 at the end."},
	{Name: "train.sync_bn", Type: TypeBool, Default: false, Doc: "With several ranks (torchrun, gogan train --nproc): BatchNorm layers normalise with the statistics of the whole global batch, as torch.nn.SyncBatchNorm (one more allreduce per layer, forward and backward); without it each rank's BatchNorm sees only its own samples. pix2pix at small per-GPU batches needs it. No effect in one process."},
	// The bucket's bytes are an int64: 1 TiB keeps them far from overflowing.
	{Name: "train.dist_bucket_mb", Type: TypeFloat, Default: 25.0, Range: Above(0), Limit: &Bounds{Lo: 0, LoOpen: true, Hi: 1 << 20}, Doc: "With several ranks: the gradients are averaged in buckets of this many MiB, in reverse layer order (DistributedDataParallel's bucket_cap_mb); with train.dist_overlap the first bucket holds at most 1 MiB (its first_bucket_bytes)."},
	{Name: "train.dist_overlap", Type: TypeBool, Default: true, Doc: "With several ranks: send each bucket of gradients (train.dist_bucket_mb; reverse layer order) while backward still computes the earlier layers' gradients, as DistributedDataParallel does; false: all buckets after backward. From each optimizer's second step. An optimizer whose parameters get two backward passes in a step (DCGAN's D) reduces after backward either way."},
	// A time.Duration holds 292 years; past it the timeout would wrap to a
	// negative one. Below a millisecond c10d's timeout (in ms) would be 0.
	{Name: "train.dist_timeout", Type: TypeFloat, Default: 1800.0, Range: Above(0), Limit: Between(0.001, 1e9), Unit: "seconds", Doc: "Seconds the ranks wait for each other (rendezvous, every collective) before a rank stops with an error naming the ranks that did not answer (torch.distributed's timeout, 30 min)."},
	{Name: "train.lr_decay_iters", Type: TypeInt, Default: 50, Range: AtLeast(1), Doc: "step policy: multiply the LR by 0.1 every N epochs."},

	{Name: "logging.tensorboard", Type: TypeBool, Default: true, Doc: "Write TensorBoard events to RUN/tb: losses, learning rates and images/s every train.log_every steps, the sample grids, the config as text (tensorboard --logdir runs/)."},

	{Name: "cuda.cudnn_benchmark", Type: TypeBool, Default: true, Doc: "Let cuDNN pick the fastest conv algorithms (pytorch/examples dcgan sets it)."},
	{Name: "cuda.channels_last", Type: TypeBool, Default: false, Doc: "Lay the networks' weights and inputs out as NHWC (channels_last): faster convolutions on tensor cores. Same results up to rounding; also works on the CPU."},
	{Name: "cuda.amp", Type: TypeString, Default: "off", Enum: []string{"off", "bf16", "fp16"}, Doc: "Mixed precision on CUDA: bf16 runs the forward passes under autocast in bfloat16; fp16 in float16 with a dynamic grad scaler (skipped steps on overflow, its state in checkpoints). Losses and weights stay float32. Not with train.gan_mode=wgangp."},
	{Name: "cuda.cuda_graph", Type: TypeBool, Default: false, Doc: "Capture the whole training step (D and G updates, Adam with its step count on the GPU) as a CUDA graph once and replay it every step; a batch of another shape (an epoch's last, without data.drop_last) runs eagerly."},
}

// RecipeSchema is what a recipe adds to the schema: its own keys, its
// defaults for shared keys, and the rules its keys must follow together.
type RecipeSchema struct {
	Name     string
	Doc      string         // one line for the recipe key's documentation
	Keys     []Key          // keys only this recipe reads
	Defaults map[string]any // its reference's defaults for shared keys
	// Reads names the recipes whose own keys this one reads too (a
	// recipe built on another's code: colorization reads pix2pix's).
	Reads []string
	// Ignores names the shared keys this recipe never reads (DCGAN's
	// data.crop_size, pix2pix's data.image_size), so that a value set for
	// them is reported as one that changes nothing (ForeignKeys). List only
	// keys whose every value leaves the recipe's data and networks as they
	// are: gan's TestIgnoredKeysChangeNothing checks each.
	Ignores []string
	// Validate adds the recipe's errors (several keys together) to bad.
	Validate func(c *Config, bad func(format string, args ...any))
}

var (
	schema        []Key // shared keys, then each recipe's, in registration order
	recipes       []RecipeSchema
	schemaByLower = map[string]*Key{}
	schemaByEnv   = map[string]*Key{}
	sections      = map[string]bool{}
)

func init() { rebuildSchema() }

// RegisterRecipe adds a recipe's keys and defaults to the schema; the gan
// registry calls it from each recipe package's init. A key may belong to one
// recipe only: keys several recipes read are shared keys.
func RegisterRecipe(r RecipeSchema) {
	for _, have := range recipes {
		if have.Name == r.Name {
			panic("config: recipe " + r.Name + " registered twice")
		}
	}
	for _, name := range r.Ignores {
		if !slices.ContainsFunc(sharedKeys, func(k Key) bool { return k.Name == name }) {
			panic("config: recipe " + r.Name + " ignores " + name + ", which is not a shared key")
		}
	}
	recipes = append(recipes, r)
	rebuildSchema()
}

// rebuildSchema lays out the shared keys, then the recipes' own keys grouped
// by section, and applies the recipes' defaults. A registration mistake (a
// key twice, a default of the wrong type) is a programming error: it panics
// at start-up, before any config is read.
func rebuildSchema() {
	var keys []Key
	for _, k := range sharedKeys {
		k.RecipeDefault = nil
		keys = append(keys, k)
	}
	for _, r := range recipes {
		for _, k := range r.Keys {
			k.RecipeDefault = nil
			// After the last key of the same section, so the README table and
			// the YAML keep sections together.
			at := len(keys)
			sec, _, _ := strings.Cut(k.Name, ".")
			for i := range keys {
				if s, _, _ := strings.Cut(keys[i].Name, "."); s == sec {
					at = i + 1
				}
			}
			keys = slices.Insert(keys, at, k)
		}
	}
	byLower := map[string]*Key{}
	for i := range keys {
		l := strings.ToLower(keys[i].Name)
		if _, dup := byLower[l]; dup {
			panic("config: key " + keys[i].Name + " defined twice")
		}
		byLower[l] = &keys[i]
	}
	names := make([]string, len(recipes))
	for i, r := range recipes {
		names[i] = r.Name
		for name, v := range r.Defaults {
			k, ok := byLower[strings.ToLower(name)]
			if !ok {
				panic(fmt.Sprintf("config: recipe %s sets a default for unknown key %s", r.Name, name))
			}
			if k.RecipeDefault == nil {
				k.RecipeDefault = map[string]any{}
			}
			k.RecipeDefault[r.Name] = v
		}
	}
	slices.Sort(names)
	byLower["recipe"].Enum = names
	schema = keys
	schemaByLower, schemaByEnv, sections = byLower, map[string]*Key{}, map[string]bool{}
	for i := range schema {
		k := &schema[i]
		schemaByEnv[k.EnvName()] = k
		if s, _, ok := strings.Cut(k.Name, "."); ok {
			sections[strings.ToLower(s)] = true
		}
		for r, v := range k.RecipeDefault {
			if err := checkDefault(k, v); err != nil {
				panic(fmt.Sprintf("config: recipe %s: %v", r, err))
			}
		}
	}
}

// checkDefault checks a registered default the way a value read from a file is.
func checkDefault(k *Key, v any) error {
	switch x := v.(type) {
	case int:
		v = int64(x)
	}
	_, err := fromYAML(k, v)
	return err
}

// Schema lists every config key: the shared ones and every registered
// recipe's.
func Schema() []Key { return schema }

// Recipes lists the registered recipes' schemas in registration order.
func Recipes() []RecipeSchema { return recipes }

// recipeSchema finds a registered recipe.
func recipeSchema(name string) (RecipeSchema, bool) {
	for _, r := range recipes {
		if r.Name == name {
			return r, true
		}
	}
	return RecipeSchema{}, false
}

// LookupKey finds a schema key, ignoring case.
func LookupKey(name string) (*Key, bool) {
	k, ok := schemaByLower[strings.ToLower(strings.TrimSpace(name))]
	return k, ok
}

// Config is the typed, validated configuration of a run.
type Config struct {
	Recipe  string        `yaml:"recipe"`
	Seed    int64         `yaml:"seed"`
	Device  string        `yaml:"device"`
	Threads int           `yaml:"threads"`
	Out     string        `yaml:"out"`
	Data    DataConfig    `yaml:"data"`
	Model   ModelConfig   `yaml:"model"`
	Train   TrainConfig   `yaml:"train"`
	Logging LoggingConfig `yaml:"logging"`
	CUDA    CUDAConfig    `yaml:"cuda"`

	// Sources says where each key's value came from: "default",
	// "default for pix2pix", a file path, "env GOGAN_...", or "--set".
	Sources map[string]string `yaml:"-"`

	// stored: read from a checkpoint's copy (ParseYAML), whose run exists:
	// checks that only keep a new run from a mistake (a key its recipe
	// ignores) pass it, or its weights could not be read any more.
	stored bool

	// recipeValues holds the values of the keys recipes register (they have
	// no field here), by key name.
	recipeValues map[string]any
}

// DataConfig is the data.* section.
type DataConfig struct {
	Root      string `yaml:"root"`
	Dataset   string `yaml:"dataset"`
	Phase     string `yaml:"phase"`
	BatchSize int    `yaml:"batch_size"`
	Workers   int    `yaml:"workers"`
	// ReferenceWorkers: the references' DataLoader workers whose draws the
	// crops, flips and random B picks are.
	ReferenceWorkers int    `yaml:"reference_workers"`
	Prefetch         int    `yaml:"prefetch"`
	Shuffle          bool   `yaml:"shuffle"`
	DropLast         bool   `yaml:"drop_last"`
	InMemory         bool   `yaml:"in_memory"`
	OnDevice         bool   `yaml:"on_device"`
	SkipInvalid      bool   `yaml:"skip_invalid"`
	ImageSize        int    `yaml:"image_size"`
	LoadSize         int    `yaml:"load_size"`
	CropSize         int    `yaml:"crop_size"`
	Preprocess       string `yaml:"preprocess"`
	NoFlip           bool   `yaml:"no_flip"`
	Direction        string `yaml:"direction"`
	Channels         int    `yaml:"channels"`
	Source           string `yaml:"source"`
	Edges            string `yaml:"edges"`
	MaxSamples       int    `yaml:"max_samples"`

	SerialBatches bool   `yaml:"serial_batches"`
	ClassesA      string `yaml:"classes_A"`
	ClassesB      string `yaml:"classes_B"`
	Classes       string `yaml:"classes"`
}

// ModelConfig is the model.* section.
type ModelConfig struct {
	NGF       int     `yaml:"ngf"`
	NDF       int     `yaml:"ndf"`
	NetG      string  `yaml:"netG"`
	NetD      string  `yaml:"netD"`
	NLayersD  int     `yaml:"n_layers_D"`
	NumD      int     `yaml:"num_D"`
	Norm      string  `yaml:"norm"`
	NoDropout bool    `yaml:"no_dropout"`
	InitType  string  `yaml:"init_type"`
	InitGain  float64 `yaml:"init_gain"`
	InputNC   int     `yaml:"input_nc"`
	OutputNC  int     `yaml:"output_nc"`
}

// TrainConfig is the train.* section.
type TrainConfig struct {
	Epochs                 int     `yaml:"epochs"`
	EpochsDecay            int     `yaml:"epochs_decay"`
	MaxSteps               int     `yaml:"max_steps"`
	CheckpointEvery        int     `yaml:"checkpoint_every"`
	CheckpointEveryMinutes float64 `yaml:"checkpoint_every_minutes"`
	KeepCheckpoints        int     `yaml:"keep_checkpoints"`
	KeepEveryEpochs        int     `yaml:"keep_every_epochs"`
	SampleEvery            int     `yaml:"sample_every"`
	LogEvery               int     `yaml:"log_every"`
	LossesEvery            int     `yaml:"losses_every"`
	LR                     float64 `yaml:"lr"`
	Beta1                  float64 `yaml:"beta1"`
	Beta2                  float64 `yaml:"beta2"`
	GANMode                string  `yaml:"gan_mode"`
	LambdaGP               float64 `yaml:"lambda_gp"`
	PoolSize               int     `yaml:"pool_size"`
	LRPolicy               string  `yaml:"lr_policy"`
	LRDecayIters           int     `yaml:"lr_decay_iters"`
	SyncBN                 bool    `yaml:"sync_bn"`
	DistBucketMB           float64 `yaml:"dist_bucket_mb"`
	DistOverlap            bool    `yaml:"dist_overlap"`
	DistTimeout            float64 `yaml:"dist_timeout"`
}

// DistBucketBytes is train.dist_bucket_mb in bytes, rounded up: a bucket
// of less than a byte holds one gradient, as DistributedDataParallel's
// bucket_cap_mb of 0 makes each its own bucket (a 0 here would mean the
// default size, 25 MiB).
func (t *TrainConfig) DistBucketBytes() int64 {
	return max(1, int64(math.Ceil(t.DistBucketMB*(1<<20))))
}

// LoggingConfig is the logging.* section.
type LoggingConfig struct {
	TensorBoard bool `yaml:"tensorboard"`
}

// CUDAConfig is the cuda.* section; ignored on the CPU.
type CUDAConfig struct {
	CuDNNBenchmark bool   `yaml:"cudnn_benchmark"`
	ChannelsLast   bool   `yaml:"channels_last"`
	AMP            string `yaml:"amp"`
	CUDAGraph      bool   `yaml:"cuda_graph"`
}

// EffectiveHeader is the first line of the effective config a run keeps
// (RUN/config.yaml): what marks a folder as a gogan run's.
const EffectiveHeader = "# effective gogan config: defaults, then the config file, GOGAN_* environment, --set\n"

// LoadConfig builds the effective config. Layers, lowest precedence first:
// schema defaults (per recipe), the YAML file at path (skipped when path is
// ""), GOGAN_* environment variables, then --set key=value overrides. The
// command line wins over the environment because it is the more deliberate
// of the two. Unknown keys and invalid values anywhere are errors; all
// problems are reported together.
func LoadConfig(path string, sets []string) (*Config, error) {
	return loadConfig(path, nil, sets, os.Environ())
}

// ParseYAML reads a config from YAML bytes alone (no environment, no
// --set), e.g. the copy a checkpoint keeps; name stands for the bytes in
// errors and Sources.
func ParseYAML(name string, yml []byte) (*Config, error) {
	return loadConfig(name, yml, nil, nil)
}

// loadConfig reads the file at path, or yml when it is not nil (path then
// only names it).
func loadConfig(path string, yml []byte, sets []string, environ []string) (*Config, error) {
	v := viper.New()
	sources := map[string]string{}
	var errs []error
	var fileErrs map[string]error // a file's value refused, by key: a later layer's value replaces it
	// unknown counts the errs that are unknown keys (or sections): they set
	// nothing, so where they are all, the rules across keys are checked
	// too, and a user meets both in one message rather than one at a time.
	// Not in a stored config (a checkpoint's): a newer gogan's keys there
	// are what its rules miss (runfolder.UnreadableConfig).
	unknown := 0

	if path != "" {
		fv := viper.New()
		fv.SetConfigType("yaml")
		var err error
		if yml != nil {
			err = fv.ReadConfig(bytes.NewReader(yml))
		} else {
			fv.SetConfigFile(path)
			err = fv.ReadInConfig()
		}
		if err != nil {
			return nil, fmt.Errorf("read config %s: %w", path, err)
		}
		if err := checkYAMLKeys(path, yml); err != nil {
			return nil, err
		}
		keys := fv.AllKeys()
		sort.Strings(keys)
		fileErrs = map[string]error{}
		for _, name := range keys {
			raw := fv.Get(name)
			k, ok := LookupKey(name)
			if !ok && raw == nil && sections[name] {
				continue // "data:" with nothing under it
			}
			if !ok {
				if sections[name] {
					errs = append(errs, fmt.Errorf("%s: %s is a section, not a key; set its keys (for example %s)", path, name, firstKeyOf(name)))
				} else {
					errs = append(errs, fmt.Errorf("%s: %w", path, unknownKey(name)))
				}
				unknown++
				continue
			}
			val, err := fromYAML(k, raw)
			if err != nil {
				fileErrs[k.Name] = fmt.Errorf("%s: %w", path, err)
				continue
			}
			v.Set(k.Name, val)
			sources[k.Name] = path
		}
	}

	env := append([]string(nil), environ...)
	sort.Strings(env)
	for _, kv := range env {
		name, s, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, EnvPrefix) || NonConfigEnv[name] {
			continue
		}
		k, ok := schemaByEnv[name]
		if !ok {
			errs = append(errs, unknownEnv(name))
			unknown++
			continue
		}
		val, err := fromString(k, s)
		if err != nil {
			errs = append(errs, fmt.Errorf("environment %s: %w", name, err))
			continue
		}
		v.Set(k.Name, val)
		sources[k.Name] = "env " + name
	}

	for _, kv := range sets {
		name, s, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(name) == "" {
			errs = append(errs, fmt.Errorf("--set %q: want key=value, as in --set train.max_steps=200", kv))
			continue
		}
		k, ok := LookupKey(name)
		if !ok {
			errs = append(errs, fmt.Errorf("--set: %w", unknownKey(strings.TrimSpace(name))))
			unknown++
			continue
		}
		val, err := fromString(k, s)
		if err != nil {
			errs = append(errs, fmt.Errorf("--set: %w", err))
			continue
		}
		v.Set(k.Name, val)
		sources[k.Name] = "--set"
	}
	var refused []error
	for _, name := range slices.Sorted(maps.Keys(fileErrs)) {
		if _, set := sources[name]; !set {
			refused = append(refused, fileErrs[name])
		}
	}
	errs = append(refused, errs...)
	if len(errs) > unknown || (yml != nil && len(errs) > 0) {
		return nil, errors.Join(errs...)
	}

	// Defaults depend on the recipe, which is only known once every layer
	// has been read.
	recipe := v.GetString("recipe")
	if recipe == "" {
		recipe = schemaByLower["recipe"].Default.(string)
	}
	cfg := &Config{Sources: sources, stored: yml != nil}
	for i := range schema {
		k := &schema[i]
		val := v.Get(k.Name)
		if _, set := sources[k.Name]; !set {
			val = k.DefaultFor(recipe)
			if _, ok := k.RecipeDefault[recipe]; ok {
				sources[k.Name] = "default for " + recipe
			} else {
				sources[k.Name] = "default"
			}
		}
		if err := cfg.set(k.Name, val); err != nil {
			return nil, errors.Join(append(errs, err)...)
		}
	}
	if err := cfg.Validate(); err != nil {
		return nil, errors.Join(append(errs, err)...)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	cfg.resolveAuto()
	return cfg, nil
}

// checkYAMLKeys refuses what viper would read without a word: a second
// YAML document (dropped), and a key given twice in ways YAML allows but
// viper merges, keeping one: in two cases (Batch_Size and batch_size), or
// dotted beside its section (data.batch_size and data: {batch_size}).
func checkYAMLKeys(path string, yml []byte) error {
	if yml == nil {
		var err error
		if yml, err = os.ReadFile(path); err != nil {
			return fmt.Errorf("read config %s: %w", path, err)
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(yml))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		return nil // empty, or an error viper has already reported
	}
	var next yaml.Node
	if err := dec.Decode(&next); err == nil {
		return fmt.Errorf("%s: line %d: a second YAML document (after ---): put every key in one document", path, next.Line)
	}
	seen := map[string]int{}
	var walk func(n *yaml.Node, prefix string) error
	walk = func(n *yaml.Node, prefix string) error {
		for n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
			n = n.Content[0]
		}
		if n.Kind != yaml.MappingNode {
			return nil
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			full := prefix + strings.ToLower(k.Value)
			if line, ok := seen[full]; ok {
				return fmt.Errorf("%s: line %d: %s is set twice (also on line %d; keys are not case-sensitive, and a.b is a's b): keep one", path, k.Line, full, line)
			}
			seen[full] = k.Line
			if err := walk(v, full+"."); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(&doc, "")
}

func firstKeyOf(section string) string {
	for i := range schema {
		if strings.HasPrefix(strings.ToLower(schema[i].Name), section+".") {
			return schema[i].Name
		}
	}
	return section
}

// referenceNames are the references' option names, by refName, with
// the key that is theirs here and the reference's name for it, one entry
// a reference that has it: an unknown key that is one of them is answered
// with that key rather than the nearest by spelling (max_dataset_size is
// not data.image_size), naming every reference that has it (main.py's
// --niter and pytorch-CycleGAN-and-pix2pix's).
var referenceNames = map[string][]referenceName{}

type referenceName struct {
	key, reference, text string // text: "REFERENCE's --NAME"
}

// addReferenceName records a reference's name for key, once a reference.
func addReferenceName(reference, name, key, text string) {
	if _, ok := LookupKey(key); !ok {
		panic("config: reference option " + name + " names no key " + key)
	}
	n := refName(name)
	for _, r := range referenceNames[n] {
		if r.reference == reference {
			return
		}
	}
	referenceNames[n] = append(referenceNames[n], referenceName{key: key, reference: reference, text: text})
}

// referenceNameText says what the references' options of one name are
// here: "pytorch-CycleGAN-and-pix2pix's --niter, pytorch/examples dcgan's
// --niter and pix2pixHD's --niter are train.epochs here", the references
// of each key together.
func referenceNameText(rs []referenceName) string {
	var parts []string
	for i, r := range rs {
		if slices.ContainsFunc(rs[:i], func(o referenceName) bool { return o.key == r.key }) {
			continue
		}
		var texts []string
		for _, o := range rs[i:] {
			if o.key == r.key {
				texts = append(texts, o.text)
			}
		}
		verb := "is"
		if len(texts) > 1 {
			verb = "are"
		}
		list := texts[len(texts)-1]
		if len(texts) > 1 {
			list = strings.Join(texts[:len(texts)-1], ", ") + " and " + list
		}
		parts = append(parts, fmt.Sprintf("%s %s %s here", list, verb, r.key))
	}
	return strings.Join(parts, "; ")
}

// refName is how the references' names are looked up: in lower case, a
// hyphen read as an underscore, as argparse reads --dry-run into dry_run
// (so that dry_run and max-dataset-size are answered too).
func refName(name string) string { return strings.ReplaceAll(strings.ToLower(name), "-", "_") }

// RegisterReferenceNames records a reference's option names (as its
// command line spells them) and the keys they are here; each reference's
// first registration of a name stays, and an unknown key of that name
// names every reference that has it.
func RegisterReferenceNames(reference string, keys map[string]string) {
	for _, name := range slices.Sorted(maps.Keys(keys)) {
		addReferenceName(reference, name, keys[name], reference+"'s --"+name)
	}
}

// RegisterReferenceVariables records settings a reference's code fixes in
// a variable rather than an option (main.py's nc: 1 for --dataset mnist,
// else 3), so that `--set nc=1` is answered with the key, not the key
// nearest by spelling (model.nz).
func RegisterReferenceVariables(reference string, keys map[string]string) {
	for _, name := range slices.Sorted(maps.Keys(keys)) {
		addReferenceName(reference, name, keys[name], reference+"'s "+name+" (a variable there, not an option)")
	}
}

// ErrUnknownKey is in the error of a key this gogan does not know.
var ErrUnknownKey = errors.New("unknown key")

type unknownKeyError struct{ error }

func (unknownKeyError) Is(target error) bool { return target == ErrUnknownKey }

// OnlyUnknownKeys says whether every error joined in err is of a key this
// gogan does not know (a newer gogan's), none of a value it refuses.
func OnlyUnknownKeys(err error) bool {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			if !OnlyUnknownKeys(e) {
				return false
			}
		}
		return len(j.Unwrap()) > 0
	}
	return errors.Is(err, ErrUnknownKey)
}

// unknownKey is the error of a key this gogan does not know (ErrUnknownKey):
// unknownKeyText's.
func unknownKey(name string) error {
	return unknownKeyError{unknownKeyText(name)}
}

// unknownKeyText names the key a reference's option of that name is here,
// or the nearest valid key by edit distance.
func unknownKeyText(name string) error {
	last := strings.ToLower(name[strings.LastIndex(name, ".")+1:])
	ref := refName(last)
	if text, ok := referenceOption(ref, !strings.Contains(name, ".")); ok {
		return fmt.Errorf("unknown key %s; %s", name, text)
	}
	keys := SchemaKeys()
	if !strings.Contains(name, ".") {
		// a key without its section: compare with the keys' last parts
		lasts := make([]string, len(keys))
		for i, k := range keys {
			lasts[i] = k[strings.LastIndex(k, ".")+1:]
		}
		if i, ok := suggest(last, lasts); ok {
			return fmt.Errorf("unknown key %s; did you mean %s?", name, keys[i])
		}
	}
	if i, ok := suggest(strings.ToLower(name), keys); ok {
		return fmt.Errorf("unknown key %s; did you mean %s?", name, keys[i])
	}
	if r, ok := referenceAdvice[ref]; ok {
		// under a section (train.continue_train), once no key is near:
		// train.epoch is a slip of train.epochs first
		return fmt.Errorf("unknown key %s; %s has no key here: %s", name, r[1], r[0])
	}
	return fmt.Errorf("unknown key %s: gogan config --keys lists every key", name)
}

// referenceOption says what the references' options of the refName ref
// are here, and with advice, what to do for one that no key stands for.
func referenceOption(ref string, advice bool) (string, bool) {
	a, advised := referenceAdvice[ref]
	if rs, ok := referenceNames[ref]; ok {
		// one reference's option of that name may be another's file
		// (pix2pix's --netG names a network, main.py's a weights file)
		if advised && !slices.ContainsFunc(rs, func(r referenceName) bool { return r.text == a[1] }) {
			return fmt.Sprintf("%s; %s has no key here: %s", referenceNameText(rs), a[1], a[0]), true
		}
		if advised { // advice of the option a key stands for: how it differs
			return referenceNameText(rs) + ", " + a[0], true
		}
		return referenceNameText(rs), true
	}
	if advised && advice {
		return fmt.Sprintf("%s has no key here: %s", a[1], a[0]), true
	}
	return "", false
}

// ReferenceFlag says what a reference's command-line option (its name
// without the dashes: dataroot, dry-run) is here, for a gogan flag of that
// name, which gogan has not: false where no reference has it.
func ReferenceFlag(name string) (string, bool) {
	return referenceOption(refName(name), true)
}

// ReferenceKeys lists the keys that the references' options of that name
// (without the dashes) are here, none where no reference has one.
func ReferenceKeys(name string) []string {
	var keys []string
	for _, r := range referenceNames[refName(name)] {
		if !slices.Contains(keys, r.key) {
			keys = append(keys, r.key)
		}
	}
	return keys
}

// referenceAdvice answers a reference's option that has no key here
// (RegisterReferenceAdvice): by refName, the advice and the option.
var referenceAdvice = map[string][2]string{}

// RegisterReferenceAdvice tells config what to say of a reference's
// options that no key stands for (--continue_train: gogan resume), or, of
// one that a key stands for (RegisterReferenceNames), how the key differs
// (said after the key: --print_freq counts images, train.log_every steps).
func RegisterReferenceAdvice(reference string, advice map[string]string) {
	for name, a := range advice {
		if _, taken := referenceAdvice[refName(name)]; !taken {
			referenceAdvice[refName(name)] = [2]string{a, reference + "'s --" + name}
		}
	}
}

// suggest picks the candidate s most likely meant (lower case both): the
// nearest by edit distance if near enough to be a slip (at most a third of
// s, or 2), else the nearest of those s begins with or that begin with s
// (validation: val; batch: batch_size); none otherwise, rather than a
// guess that misleads.
func suggest(s string, candidates []string) (int, bool) {
	near, nearD, pre, preD := -1, math.MaxInt, -1, math.MaxInt
	for i, c := range candidates {
		c = strings.ToLower(c)
		d := editDistance(s, c)
		if d < nearD {
			near, nearD = i, d
		}
		if len(c) >= 2 && len(s) >= 2 && (strings.HasPrefix(s, c) || strings.HasPrefix(c, s)) && d < preD {
			pre, preD = i, d
		}
	}
	if near >= 0 && nearD <= max(2, len(s)/3) {
		return near, true
	}
	return pre, pre >= 0
}

func unknownEnv(name string) error {
	envs := make([]string, 0, len(schema))
	for i := range schema {
		envs = append(envs, schema[i].EnvName())
	}
	best, _ := nearest(name, envs, func(s string) string { return s })
	k := schemaByEnv[best]
	return fmt.Errorf("unknown environment variable %s (every %s* variable must set a config key); did you mean %s (%s)?", name, EnvPrefix, best, k.Name)
}

// nearest returns the candidate with the smallest edit distance to s.
func nearest(s string, candidates []string, norm func(string) string) (string, int) {
	best, bestD := "", math.MaxInt
	for _, c := range candidates {
		if d := editDistance(s, norm(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best, bestD
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// SchemaKeys lists every key name in schema order.
func SchemaKeys() []string {
	out := make([]string, len(schema))
	for i := range schema {
		out[i] = schema[i].Name
	}
	return out
}

func invalid(k *Key, shown any, why string) error {
	return fmt.Errorf("invalid value for %s: %v: %s (valid: %s)", k.Name, shown, why, k.ValidText())
}

// fromYAML converts a value decoded from YAML into k's Go type.
func fromYAML(k *Key, raw any) (any, error) {
	switch x := raw.(type) {
	case nil:
		return nil, fmt.Errorf("%s has no value (valid: %s)", k.Name, k.ValidText())
	case string:
		return fromString(k, x)
	case map[string]any, []any:
		return nil, invalid(k, fmt.Sprintf("%v", x), "want a single "+k.Type.String())
	}
	switch k.Type {
	case TypeString:
		switch raw.(type) {
		case bool:
			return nil, invalid(k, raw, "want a string")
		}
		return fromString(k, fmt.Sprint(raw))
	case TypeInt:
		var n int64
		switch x := raw.(type) {
		case int:
			n = int64(x)
		case int64:
			n = x
		case uint64:
			if x > math.MaxInt64 {
				return nil, invalid(k, raw, "out of range")
			}
			n = int64(x)
		case float64:
			// YAML's reader gives an integer past int64 as the nearest
			// float: out of range, as --set says. Between 2^53 and 2^63 a
			// float may not be the integer written.
			if x == math.Trunc(x) && math.Abs(x) >= 1<<63 {
				return nil, invalid(k, raw, "out of range")
			}
			if x != math.Trunc(x) || math.Abs(x) > 1<<53 {
				return nil, invalid(k, raw, "want an integer")
			}
			n = int64(x)
		default:
			return nil, invalid(k, raw, "want an integer")
		}
		return checkInt(k, n, raw)
	case TypeFloat:
		var f float64
		switch x := raw.(type) {
		case int:
			f = float64(x)
		case int64:
			f = float64(x)
		case uint64:
			f = float64(x)
		case float64:
			f = x
		default:
			return nil, invalid(k, raw, k.numberWanted(raw))
		}
		return checkFloat(k, f, raw)
	case TypeBool:
		b, ok := raw.(bool)
		if !ok {
			return nil, invalid(k, raw, "want true or false")
		}
		return b, nil
	}
	return nil, fmt.Errorf("%s: unhandled type %v", k.Name, k.Type)
}

// fromString parses a value given as text (--set, environment, quoted YAML).
func fromString(k *Key, s string) (any, error) {
	s = strings.TrimSpace(s)
	shown := strconv.Quote(s)
	switch k.Type {
	case TypeInt:
		n, err := strconv.ParseInt(s, 10, 64)
		if errors.Is(err, strconv.ErrRange) {
			return nil, invalid(k, shown, "out of range")
		}
		if err != nil {
			return nil, invalid(k, shown, "want an integer")
		}
		return checkInt(k, n, shown)
	case TypeFloat:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, invalid(k, shown, k.numberWanted(s))
		}
		return checkFloat(k, f, shown)
	case TypeBool:
		switch strings.ToLower(s) {
		case "true", "t", "1", "yes", "on":
			return true, nil
		case "false", "f", "0", "no", "off":
			return false, nil
		}
		return nil, invalid(k, shown, "want true or false")
	}
	if len(k.Enum) > 0 {
		for _, e := range k.Enum {
			if strings.EqualFold(s, e) {
				return e, nil // canonical spelling, e.g. atob -> AtoB
			}
		}
		if h, ok := k.Hints[strings.ToLower(s)]; ok {
			return nil, fmt.Errorf("invalid value for %s: %s: must be one of %s; %s", k.Name, shown, strings.Join(k.Enum, ", "), h)
		}
		if i, ok := suggest(strings.ToLower(s), k.Enum); ok {
			return nil, fmt.Errorf("invalid value for %s: %s: must be one of %s; did you mean %s?", k.Name, shown, strings.Join(k.Enum, ", "), k.Enum[i])
		}
		return nil, fmt.Errorf("invalid value for %s: %s: must be one of %s", k.Name, shown, strings.Join(k.Enum, ", "))
	}
	if k.Check != nil {
		if err := k.Check(s); err != nil {
			return nil, invalid(k, shown, err.Error())
		}
	}
	return s, nil
}

func checkInt(k *Key, n int64, shown any) (any, error) {
	if k.Range != nil && !k.Range.contains(float64(n)) {
		return nil, invalid(k, shown, "out of range")
	}
	if len(k.Ints) > 0 && !slices.Contains(k.Ints, n) {
		return nil, invalid(k, shown, "not allowed")
	}
	return n, nil
}

func checkFloat(k *Key, f float64, shown any) (any, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, invalid(k, shown, "must be finite")
	}
	if k.Range != nil && !k.Range.contains(f) {
		return nil, invalid(k, shown, "out of range")
	}
	return f, nil
}

// field finds the struct field of a dotted key through the yaml tags.
func (c *Config) field(name string) (reflect.Value, error) {
	v := reflect.ValueOf(c).Elem()
	for _, part := range strings.Split(name, ".") {
		t := v.Type()
		found := false
		for i := 0; i < t.NumField(); i++ {
			tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
			if strings.EqualFold(tag, part) {
				v = v.Field(i)
				found = true
				break
			}
		}
		if !found {
			return reflect.Value{}, fmt.Errorf("config key %s has no Config field", name)
		}
	}
	return v, nil
}

func (c *Config) set(name string, val any) error {
	f, err := c.field(name)
	if err != nil {
		k, ok := LookupKey(name)
		if !ok {
			return err
		}
		// A recipe's key: kept by name in the canonical Go type.
		return c.setRecipeValue(k, val)
	}
	switch f.Kind() {
	case reflect.String:
		s, ok := val.(string)
		if !ok {
			return fmt.Errorf("config key %s: internal: %T is not a string", name, val)
		}
		f.SetString(s)
	case reflect.Int, reflect.Int64:
		n, ok := asInt(val)
		if !ok {
			return fmt.Errorf("config key %s: internal: %T is not an int", name, val)
		}
		f.SetInt(n)
	case reflect.Float64:
		x, ok := asFloat(val)
		if !ok {
			return fmt.Errorf("config key %s: internal: %T is not a float", name, val)
		}
		f.SetFloat(x)
	case reflect.Bool:
		b, ok := val.(bool)
		if !ok {
			return fmt.Errorf("config key %s: internal: %T is not a bool", name, val)
		}
		f.SetBool(b)
	default:
		return fmt.Errorf("config key %s: unsupported field kind %v", name, f.Kind())
	}
	return nil
}

func asInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int64:
		return x, true
	}
	return 0, false
}

func asFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	}
	return 0, false
}

// setRecipeValue stores a recipe key's value as string, int, float64 or bool.
func (c *Config) setRecipeValue(k *Key, val any) error {
	var v any
	ok := false
	switch k.Type {
	case TypeString:
		v, ok = val.(string)
	case TypeInt:
		var n int64
		n, ok = asInt(val)
		v = int(n)
	case TypeFloat:
		v, ok = asFloat(val)
	case TypeBool:
		v, ok = val.(bool)
	}
	if !ok {
		return fmt.Errorf("config key %s: internal: %T is not a %s", k.Name, val, k.Type)
	}
	if c.recipeValues == nil {
		c.recipeValues = map[string]any{}
	}
	c.recipeValues[k.Name] = v
	return nil
}

// recipeValue is a recipe key's value, or its default when none was set
// (a Config made in code).
func (c *Config) recipeValue(name string) any {
	k, ok := LookupKey(name)
	if !ok {
		panic("config: no key " + name + " is registered: a recipe's own key exists only where its package is linked in " +
			"(a recipe that reads another's keys names it in RecipeSchema.Reads and imports its package, as gogan/gan/all does)")
	}
	if v, ok := c.recipeValues[k.Name]; ok {
		return v
	}
	v := k.DefaultFor(c.Recipe)
	if n, ok := v.(int64); ok {
		return int(n)
	}
	return v
}

// Int, Float, String and Bool read a recipe's own key (shared keys are
// fields); asking for a key no recipe registered is a programming error.
func (c *Config) Int(name string) int       { return c.recipeValue(name).(int) }
func (c *Config) Float(name string) float64 { return c.recipeValue(name).(float64) }
func (c *Config) String(name string) string { return c.recipeValue(name).(string) }
func (c *Config) Bool(name string) bool     { return c.recipeValue(name).(bool) }

// ForeignKeys lists the keys, as key=value (the recipes that read them),
// that only other recipes read and that the file, the environment or --set
// gave a value other than their default: c's recipe ignores them (a config
// written for another recipe, a key set on the wrong run). Those are other
// recipes' own keys, then the shared keys c's recipe declares it ignores.
func (c *Config) ForeignKeys() []string {
	var out []string
	set := func(name string) bool {
		return c.Sources[name] != "" && !strings.HasPrefix(c.Sources[name], "default")
	}
	own, _ := recipeSchema(c.Recipe)
	for _, r := range recipes {
		if r.Name == c.Recipe || slices.Contains(own.Reads, r.Name) {
			continue
		}
		for _, k := range r.Keys {
			if !set(k.Name) {
				continue
			}
			if v := c.recipeValue(k.Name); fmt.Sprint(v) != fmt.Sprint(k.DefaultFor(c.Recipe)) {
				out = append(out, fmt.Sprintf("%s=%v (%s)", k.Name, v, r.Name))
			}
		}
	}
	for _, name := range own.Ignores {
		k, _ := LookupKey(name)
		if !set(k.Name) {
			continue
		}
		if v, err := c.Get(k.Name); err == nil && fmt.Sprint(v) != fmt.Sprint(k.DefaultFor(c.Recipe)) {
			var readers []string // in name order
			for _, r := range recipes {
				if !slices.Contains(r.Ignores, k.Name) {
					readers = append(readers, r.Name)
				}
			}
			slices.Sort(readers)
			out = append(out, fmt.Sprintf("%s=%v (%s)", k.Name, v, strings.Join(readers, ", ")))
		}
	}
	return out
}

// Stored says whether the config is a checkpoint's copy (ParseYAML) rather
// than one a new run or a resume is about to use.
func (c *Config) Stored() bool { return c.stored }

// GivenNow says whether the key's value was given to this command (--set,
// a GOGAN_ variable) rather than read from a file or a default.
func (c *Config) GivenNow(key string) bool {
	src := c.Sources[key]
	return src == "--set" || strings.HasPrefix(src, "env ")
}

// Get returns the value of a dotted key (for reports and tests).
func (c *Config) Get(name string) (any, error) {
	k, ok := LookupKey(name)
	if !ok {
		return nil, unknownKey(name)
	}
	f, err := c.field(k.Name)
	if err != nil {
		return c.recipeValue(k.Name), nil
	}
	return f.Interface(), nil
}

func (c *Config) resolveAuto() {
	if c.Data.Channels == 0 {
		c.Data.Channels = 3
		if c.Data.Dataset == "mnist" || c.Data.Dataset == "fashion-mnist" {
			c.Data.Channels = 1
		}
	}
}

// Validate checks every key's value and the rules that span several keys.
// LoadConfig calls it; call it again after changing a Config in code.
func (c *Config) Validate() error {
	var errs []error
	for i := range schema {
		k := &schema[i]
		var v any
		if f, err := c.field(k.Name); err == nil {
			v = f.Interface()
		} else {
			v = c.recipeValue(k.Name)
		}
		var verr error
		switch x := v.(type) {
		case string:
			_, verr = fromString(k, x)
		case int:
			_, verr = checkInt(k, int64(x), x)
		case int64:
			_, verr = checkInt(k, x, x)
		case float64:
			_, verr = checkFloat(k, x, x)
		}
		if f, ok := asFloat(v); verr == nil && ok && k.Limit != nil && !c.stored && !k.Limit.contains(f) {
			verr = invalid(k, v, "out of range")
			if src := c.Sources[k.Name]; src != "" { // as the layers' own checks name theirs
				verr = fmt.Errorf("%s: %w", strings.Replace(src, "env ", "environment ", 1), verr)
			}
		}
		if verr != nil {
			errs = append(errs, verr)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}

	d := &c.Data
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	r, ok := recipeSchema(c.Recipe)
	if !ok {
		names := make([]string, len(recipes))
		for i, r := range recipes {
			names[i] = r.Name
		}
		return fmt.Errorf("recipe %q: not a registered recipe (registered: %s)", c.Recipe, strings.Join(names, ", "))
	}
	if r.Validate != nil {
		r.Validate(c, bad)
	}
	if (d.Preprocess == "resize_and_crop" || d.Preprocess == "scale_width_and_crop") && d.CropSize > d.LoadSize {
		bad("data.crop_size (%d) must be ≤ data.load_size (%d) with data.preprocess=%s", d.CropSize, d.LoadSize, d.Preprocess)
	}
	if w, p := max(1, d.Workers), max(1, d.Prefetch); w*p > MaxInFlight && !c.stored {
		bad("data.workers (%d) × data.prefetch (%d) = %d batches built ahead, more than %d: the run allocates a buffer for each before its first step; lower data.prefetch (PyTorch's prefetch_factor is 2) or data.workers", d.Workers, d.Prefetch, w*p, MaxInFlight)
	}
	if c.Device == "cpu" && c.CUDA.AMP != "off" {
		bad("cuda.amp=%s needs a CUDA device, but device=cpu; set cuda.amp=off", c.CUDA.AMP)
	}
	if c.Device == "cpu" && c.CUDA.CUDAGraph {
		bad("cuda.cuda_graph needs a CUDA device, but device=cpu; set cuda.cuda_graph=false")
	}
	if c.CUDA.AMP != "off" && c.Train.GANMode == "wgangp" {
		bad("cuda.amp=%s with train.gan_mode=wgangp: the gradient penalty is not supported under mixed precision; set cuda.amp=off", c.CUDA.AMP)
	}
	return errors.Join(errs...)
}

// YAML renders the effective config; LoadConfig reads it back unchanged, so
// the copy in the run folder reproduces the run.
func (c *Config) YAML() ([]byte, error) {
	var root yaml.Node
	if err := root.Encode(c); err != nil {
		return nil, fmt.Errorf("marshal config: %w", err)
	}
	// The recipes' keys have no field: put each in its section.
	for i := range schema {
		k := &schema[i]
		if _, err := c.field(k.Name); err == nil {
			continue
		}
		var val yaml.Node
		if err := val.Encode(c.recipeValue(k.Name)); err != nil {
			return nil, fmt.Errorf("marshal config: %s: %w", k.Name, err)
		}
		m := &root
		sec, leaf, ok := strings.Cut(k.Name, ".")
		if ok {
			m = mappingValue(&root, sec)
		} else {
			leaf = sec
		}
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: leaf}, &val)
	}
	var b bytes.Buffer
	b.WriteString(EffectiveHeader)
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&root); err != nil {
		return nil, fmt.Errorf("marshal config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("marshal config: %w", err)
	}
	return b.Bytes(), nil
}

// mappingValue is the mapping under key in mapping node m, added when absent.
func mappingValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	v := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v)
	return v
}

// SchemaMarkdown renders the schema as a Markdown table for the README.
func SchemaMarkdown() string {
	var b strings.Builder
	b.WriteString("| Key | Type | Default | Valid values | Description |\n")
	b.WriteString("|---|---|---|---|---|\n")
	for i := range schema {
		k := &schema[i]
		def := "`" + fmtDefault(k.Default) + "`"
		if len(k.RecipeDefault) > 0 {
			rs := make([]string, 0, len(k.RecipeDefault))
			for r := range k.RecipeDefault {
				rs = append(rs, r)
			}
			sort.Strings(rs)
			for _, r := range rs {
				// a recipe that restates the key's default (pix2pixHD's
				// ngf 64) is shown none: "(pix2pixhd: `64`)" reads as another value
				if v := fmtDefault(k.RecipeDefault[r]); v != fmtDefault(k.Default) {
					def += fmt.Sprintf(" (%s: `%s`)", r, v)
				}
			}
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", k.Name, k.Type, mdEscape(def), mdEscape(k.ValidText()), mdEscape(k.Doc))
	}
	b.WriteString("\nRecipes (`recipe`):\n\n")
	for _, r := range recipes {
		fmt.Fprintf(&b, "- `%s`: %s\n", r.Name, r.Doc)
	}
	fmt.Fprintf(&b, "\nEvery key can also be set with `--set key=value` or an environment variable: `%s` + the key in upper case with `.` replaced by `_` (`data.batch_size` is `GOGAN_DATA_BATCH_SIZE`). Precedence: defaults < config file < environment < `--set`.\n", EnvPrefix)
	return b.String()
}

func fmtDefault(v any) string {
	switch x := v.(type) {
	case float64:
		return fmtNum(x)
	case string:
		if x == "" {
			return `""`
		}
	}
	return fmt.Sprint(v)
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
