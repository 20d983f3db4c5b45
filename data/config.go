package data

import (
	"cmp"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
)

// Dataset kinds (data.dataset).
const (
	FashionMNIST = "fashion-mnist"
	MNIST        = "mnist"
	Folder       = "folder"
	Aligned      = "aligned"
	Unaligned    = "unaligned"
	Edges        = "edges"
	Gray2Color   = "gray2color"
	// Colorization is pytorch-CycleGAN-and-pix2pix's colorization dataset:
	// colour images under root/{phase}, each the pair (L, ab) of its CIE Lab.
	Colorization = "colorization"
	// CIFAR10 is CIFAR-10's python version, as torchvision's CIFAR10 reads
	// it (pytorch/examples dcgan's --dataset cifar10).
	CIFAR10 = "cifar10"
	// LSUN is LSUN's scene categories in their LMDB databases, as
	// torchvision's LSUN reads them (pytorch/examples dcgan's --dataset lsun).
	LSUN = "lsun"
)

// Preprocess modes (data.preprocess). The first five are pytorch-CycleGAN-and-pix2pix's;
// resize_center_crop is pytorch/examples dcgan's Resize(image_size) + CenterCrop(image_size).
const (
	ResizeAndCrop      = "resize_and_crop"
	Crop               = "crop"
	ScaleWidth         = "scale_width"
	ScaleWidthAndCrop  = "scale_width_and_crop"
	PreprocessNone     = "none"
	ResizeCenterCrop   = "resize_center_crop"
	DefaultFashionRoot = "/usr/share/datasets/fashion-mnist"
)

var (
	datasetKinds   = []string{FashionMNIST, MNIST, CIFAR10, LSUN, Folder, Aligned, Unaligned, Edges, Gray2Color, Colorization}
	preprocessKind = []string{ResizeAndCrop, Crop, ScaleWidth, ScaleWidthAndCrop, PreprocessNone, ResizeCenterCrop}
	interpKinds    = []string{"", "bicubic", "bilinear", "nearest"}
	directionKinds = []string{"AtoB", "BtoA"}
	phaseKinds     = []string{"train", "val", "test"}
	edgeKinds      = []string{"canny", "sobel"}
	validateKinds  = []string{"auto", "full", "header"}
	dtypeKinds     = []string{"float32", "uint8"}
	sourceKinds    = []string{FashionMNIST, MNIST, CIFAR10, Folder}
)

// Config holds the data options. Field tags are the config keys under "data."
// that the trainer exposes (data.root, data.batch_size, ...).
type Config struct {
	// Root is the dataset folder. For fashion-mnist it defaults to Debian's
	// dataset-fashion-mnist; for aligned it may be the parent of train/val/test.
	Root string `mapstructure:"root" json:"root" yaml:"root"`
	// Dataset is fashion-mnist | mnist | cifar10 | lsun | folder | aligned | unaligned | edges | gray2color | colorization.
	Dataset string `mapstructure:"dataset" json:"dataset" yaml:"dataset"`
	// Phase picks root/{train,val,test} (aligned), root/{phase}A (unaligned), and
	// train or t10k files (IDX; val reads the test files).
	Phase string `mapstructure:"phase" json:"phase" yaml:"phase"`
	// Source is the image dataset that edges and gray2color derive pairs from:
	// fashion-mnist | mnist | folder (a folder under Root).
	Source string `mapstructure:"source" json:"source" yaml:"source"`
	// EdgeDetector is canny | sobel, for the edges dataset.
	EdgeDetector string `mapstructure:"edges" json:"edges" yaml:"edges"`

	BatchSize int `mapstructure:"batch_size" json:"batch_size" yaml:"batch_size"`
	// Workers are goroutines that decode and augment in parallel; 0 builds
	// each batch in the caller of Next, as PyTorch's num_workers=0.
	Workers int `mapstructure:"workers" json:"workers" yaml:"workers"`
	// WholeBatches: the dataset's length is rounded down to a multiple of
	// BatchSize (pix2pixHD's AlignedDataset); the files past it are not read.
	WholeBatches bool `mapstructure:"-" json:"-" yaml:"-"`
	// Ranks of a data-parallel job (0 or 1: one process): WholeBatches
	// rounds to whole global batches of BatchSize x Ranks, the batch of the
	// one process the ranks train as.
	Ranks int `mapstructure:"-" json:"-" yaml:"-"`
	// ReferenceWorkers are the references' DataLoader workers whose draws
	// (ReferenceDraws) the trainer's epochs take: data.reference_workers.
	ReferenceWorkers int `mapstructure:"reference_workers" json:"reference_workers" yaml:"reference_workers"`
	// Prefetch is how many batches each worker builds ahead (PyTorch's
	// prefetch_factor); 0 counts as 1.
	Prefetch int  `mapstructure:"prefetch" json:"prefetch" yaml:"prefetch"`
	Shuffle  bool `mapstructure:"shuffle" json:"shuffle" yaml:"shuffle"`
	DropLast bool `mapstructure:"drop_last" json:"drop_last" yaml:"drop_last"`
	// DType of the batches: float32 (normalised to [-1, 1]) or uint8 (0..255,
	// for a trainer that normalises on the device and copies a quarter of the bytes).
	DType string `mapstructure:"dtype" json:"dtype" yaml:"dtype"`

	Preprocess string `mapstructure:"preprocess" json:"preprocess" yaml:"preprocess"`
	LoadSize   int    `mapstructure:"load_size" json:"load_size" yaml:"load_size"`
	CropSize   int    `mapstructure:"crop_size" json:"crop_size" yaml:"crop_size"`
	// NoneMultiple is what preprocess none rounds the sides to multiples
	// of: 0 means 4, pytorch-CycleGAN-and-pix2pix's __make_power_2;
	// pix2pixHD's is 2^n_downsample_global (times 2^n_local_enhancers for
	// its local generator).
	NoneMultiple int `mapstructure:"-" json:"-" yaml:"-"`
	// ScaleWidthAspect: scale_width keeps the aspect ratio whatever the
	// height comes to (pix2pixHD's __scale_width); otherwise the height is
	// at least CropSize (pytorch-CycleGAN-and-pix2pix's).
	ScaleWidthAspect bool `mapstructure:"-" json:"-" yaml:"-"`
	// ImageSize is DCGAN's: resize the shorter side to it, then center-crop a square.
	ImageSize int `mapstructure:"image_size" json:"image_size" yaml:"image_size"`
	// Interp is bicubic | bilinear | nearest; empty picks bicubic for the pix2pix
	// modes and bilinear for resize_center_crop, as the references do.
	Interp string `mapstructure:"interp" json:"interp" yaml:"interp"`
	NoFlip bool   `mapstructure:"no_flip" json:"no_flip" yaml:"no_flip"`
	// Direction AtoB or BtoA: which side of a pair is the generator's input (Batch.A).
	Direction string `mapstructure:"direction" json:"direction" yaml:"direction"`

	// Channels (1 or 3) that images are converted to, 0 meaning 1 for
	// fashion-mnist and mnist (also as a source) and 3 otherwise; InputNC and
	// OutputNC override it for the input (Batch.A) and target (Batch.B) of pairs.
	Channels int `mapstructure:"channels" json:"channels" yaml:"channels"`
	InputNC  int `mapstructure:"input_nc" json:"input_nc" yaml:"input_nc"`
	OutputNC int `mapstructure:"output_nc" json:"output_nc" yaml:"output_nc"`

	// SkipInvalid skips invalid files with one warning listing them, instead of
	// failing on open.
	SkipInvalid bool `mapstructure:"skip_invalid" json:"skip_invalid" yaml:"skip_invalid"`
	// SkipFlag is how the user sets SkipInvalid, for the messages that
	// offer or report it: "" is data.skip_invalid (training); a command
	// names its own flag (translate's --skip-invalid).
	SkipFlag string `mapstructure:"-" json:"-" yaml:"-"`
	// InMemory decodes every image once on open and keeps the uint8 pixels.
	InMemory bool `mapstructure:"in_memory" json:"in_memory" yaml:"in_memory"`
	// Validate is full (decode every file on open: finds truncated files),
	// header (read headers only: fast on large folders; an LSUN image's
	// header is read with its whole value) or auto (full up to 20000 files;
	// larger LSUN splits are checked as they are read). IDX files are always
	// read whole.
	Validate string `mapstructure:"validate" json:"validate" yaml:"validate"`
	// MaxSamples limits the dataset to its first N samples (0: all). For
	// unaligned data it limits the A list and the B list each to their first N
	// images (files in sorted order, or images of the chosen classes in IDX
	// order) before anything is read, so that images N.. are never seen (they
	// can be held out for evaluation).
	MaxSamples int `mapstructure:"max_samples" json:"max_samples" yaml:"max_samples"`

	// SerialBatches (unaligned only) gives sample i the B image B[i mod |B|]
	// instead of a random one, as --serial_batches does in the reference's
	// UnalignedDataset. Unlike the reference's flag it does not turn off
	// shuffling: the sample order is Shuffle's.
	SerialBatches bool `mapstructure:"serial_batches" json:"serial_batches" yaml:"serial_batches"`
	// ClassesA and ClassesB (unaligned only, both or neither) make the two
	// domains from a labelled dataset, Source (fashion-mnist, mnist or
	// cifar10) under Root: the A stream is its images whose label is in
	// ClassesA, the B stream those in ClassesB. Each is a comma-separated list
	// of class numbers 0..9 or, for fashion-mnist and cifar10, class names
	// (FashionMNISTClasses, CIFAR10Classes; any case); the two
	// lists may not share a class.
	ClassesA string `mapstructure:"classes_A" json:"classes_A" yaml:"classes_A"`
	ClassesB string `mapstructure:"classes_B" json:"classes_B" yaml:"classes_B"`
	// ImageFolder (folder only) lists a root of class folders as
	// torchvision's ImageFolder does (the DCGAN example's --dataset folder:
	// its order, extensions and labels); unset, or for a root with images of
	// its own, every image under Root is read in sorted path order, as the
	// pix2pix references' make_dataset (translate's inputs).
	ImageFolder bool `mapstructure:"-" json:"-" yaml:"-"`
	// Classes (lsun only) are the LSUN categories to read, comma-separated
	// (LSUNCategories; default DefaultLSUNClasses), as the DCGAN example's
	// --classes.
	Classes string `mapstructure:"classes" json:"classes" yaml:"classes"`

	// LabelNC (aligned only) is pix2pixHD's label_nc. 0: the input (Batch
	// "A") is an image, normalised as usual. >0: the input is a map of class
	// ids 0..LabelNC-1 from root/{phase}_label/ (photos in root/{phase}_img/),
	// single-channel images whose pixel values are the ids (8-bit gray, or the
	// palette index of a paletted PNG), resized with nearest neighbours
	// whatever Interp says and emitted as the ids themselves (0.0, 1.0, ...):
	// an [N,1,H,W] tensor marked Raw. InputNC is then not used. At most 256.
	LabelNC int `mapstructure:"label_nc" json:"label_nc" yaml:"label_nc"`
	// Instance (aligned only; pix2pixHD's not no_instance) also reads an
	// instance map per sample from root/{phase}_inst/ (8- or 16-bit gray, as
	// Cityscapes' *_instanceIds.png) and emits its boundary map as the batch
	// tensor "inst" (InstTensor): 1 where a pixel's instance id differs from
	// a 4-neighbour's, else 0, [N,1,H,W], Raw.
	Instance bool `mapstructure:"instance" json:"instance" yaml:"instance"`
	// InstanceIDs (with Instance) also emits the transformed instance map
	// itself as the batch tensor "inst_id" (InstIDTensor), for pix2pixHD's
	// instance-wise feature encoder: [N,2,H,W], Raw, each 16-bit id as its
	// high and low byte (id = 256*high + low).
	InstanceIDs bool `mapstructure:"instance_ids" json:"instance_ids" yaml:"instance_ids"`

	// Trained, when the data feed a trained generator (eval, features),
	// names its checkpoint: a class id past LabelNC is then said to be one
	// that generator never learnt (no data.label_nc to raise).
	Trained string `mapstructure:"-" json:"-" yaml:"-"`
}

// Whole is c for reading a split sample by sample to score or encode it
// (gogan eval pix2pix, gogan features): no flips, every sample, decoded as
// read rather than held in memory, a bad file an error, and the crop modes
// resized to the crop size instead of cropped.
func (c Config) Whole() Config {
	c.NoFlip, c.MaxSamples, c.InMemory, c.SkipInvalid, c.WholeBatches = true, 0, false, false, false
	if c.Preprocess == ResizeAndCrop || c.Preprocess == ScaleWidthAndCrop {
		c.LoadSize = c.CropSize
	}
	return c
}

// SameSplit reports whether phases p and q read the same images of c's
// dataset: IDX files (fashion-mnist, mnist, also as a source) and CIFAR-10
// have a train and a test split only, which val reads too.
func (c Config) SameSplit(p, q string) bool {
	src := c.Dataset
	if c.Dataset == Edges || c.Dataset == Gray2Color || c.idxDomains() {
		src = c.Source
	}
	if src == FashionMNIST || src == MNIST || src == CIFAR10 {
		return (p == "train") == (q == "train")
	}
	return p == q
}

// idxDomains reports whether unaligned data comes from the classes of an IDX
// dataset rather than from image folders.
func (c Config) idxDomains() bool {
	return c.Dataset == Unaligned && (c.ClassesA != "" || c.ClassesB != "")
}

// FashionMNISTClasses are the names of Fashion-MNIST's labels 0..9.
var FashionMNISTClasses = []string{"t-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle-boot"}

// classAliases are the other spellings data.classes_A and data.classes_B accept.
var classAliases = map[string]int{"tshirt": 0, "t-shirt": 0, "ankle boot": 9, "ankle_boot": 9, "ankleboot": 9}

// ParseClasses reads a data.classes_A or data.classes_B value: a
// comma-separated list of class numbers 0..9 or, for fashion-mnist, class
// names (FashionMNISTClasses, tshirt, "ankle boot"; any case). It returns the
// set of labels it names.
func ParseClasses(value, source string) (map[int]bool, error) {
	set, msg := parseClassList(value, source)
	if msg != "" {
		return nil, fmt.Errorf("data: classes %q: %s", value, msg)
	}
	return set, nil
}

// parseClasses is ParseClasses with the error naming the config key.
func parseClasses(key, value, source string) (map[int]bool, error) {
	set, msg := parseClassList(value, source)
	if msg != "" {
		return nil, &ConfigError{Key: key, Value: value, Msg: msg}
	}
	return set, nil
}

// parseClassList is ParseClasses's work; msg says what is wrong.
func parseClassList(value, source string) (set map[int]bool, msg string) {
	set = map[int]bool{}
	for _, part := range strings.Split(value, ",") {
		name := strings.ToLower(strings.TrimSpace(part))
		if name == "" {
			return nil, "empty class in the comma-separated list"
		}
		if n, err := strconv.Atoi(name); err == nil {
			if n < 0 || n > 9 {
				return nil, fmt.Sprintf("class %d is out of range: %s classes are 0..9", n, source)
			}
			set[n] = true
			continue
		}
		names := classNames[source]
		if names == nil {
			return nil, fmt.Sprintf("%q is not a class number: %s classes are the numbers 0..9", strings.TrimSpace(part), source)
		}
		n := ClassOf(source, name)
		if n < 0 {
			return nil, fmt.Sprintf("unknown %s class %q: want numbers 0..9 or the names %s", source, strings.TrimSpace(part), strings.Join(names, ", "))
		}
		set[n] = true
	}
	return set, ""
}

// classNames are the label names of the labelled datasets that have them.
var classNames = map[string][]string{FashionMNIST: FashionMNISTClasses, CIFAR10: CIFAR10Classes}

// ClassOf is the label that name (any case, or an alias: "ankle boot")
// names among source's classes, or -1.
func ClassOf(source, name string) int {
	name = strings.ToLower(strings.TrimSpace(name))
	if a, ok := classAliases[name]; ok && source == FashionMNIST {
		return a
	}
	return slices.Index(classNames[source], name)
}

// ClassName is the name of label n of source: fashion-mnist's garment names
// ("sneaker"), CIFAR-10's ("cat"), the number otherwise.
func ClassName(source string, n int) string {
	if names := classNames[source]; n >= 0 && n < len(names) {
		return names[n]
	}
	return strconv.Itoa(n)
}

// classLabel names label n for messages: "7 (sneaker)", or "7".
func classLabel(source string, n int) string {
	if name := ClassName(source, n); name != strconv.Itoa(n) {
		return fmt.Sprintf("%d (%s)", n, name)
	}
	return strconv.Itoa(n)
}

// DefaultConfig returns the references' defaults for a dataset kind:
// pytorch/examples dcgan for fashion-mnist, mnist and folder, and
// pytorch-CycleGAN-and-pix2pix for the paired and unpaired kinds.
func DefaultConfig(dataset string) Config {
	c := Config{
		Dataset:          dataset,
		Workers:          min(runtime.GOMAXPROCS(0), 8),
		ReferenceWorkers: 4, // pytorch-CycleGAN-and-pix2pix's --num_threads
		Prefetch:         2,
		Phase:            "train",
		Shuffle:          true,
		DType:            "float32",
		Validate:         "auto",
		Direction:        "AtoB",
		EdgeDetector:     "canny",
	}
	switch dataset {
	case FashionMNIST, MNIST, CIFAR10, LSUN, Folder:
		c.BatchSize, c.Preprocess, c.ImageSize, c.NoFlip = 64, ResizeCenterCrop, 64, true
		if dataset == FashionMNIST {
			c.Root = DefaultFashionRoot
		}
		if dataset == LSUN {
			c.Classes = DefaultLSUNClasses
		}
	default:
		c.BatchSize, c.Preprocess, c.LoadSize, c.CropSize = 1, ResizeAndCrop, 286, 256
		if dataset == Edges || dataset == Gray2Color {
			// the map's channel count, 1, follows data.direction (withDefaults)
			c.Source, c.Root = FashionMNIST, DefaultFashionRoot
		}
		if dataset == Colorization {
			c.InputNC, c.OutputNC = 1, 2 // L -> ab
		}
	}
	return c
}

// withDefaults fills the zero values that have an obvious default.
func (c Config) withDefaults() Config {
	d := DefaultConfig(c.Dataset)
	if c.Dataset == "" {
		c.Dataset = FashionMNIST
		d = DefaultConfig(FashionMNIST)
	}
	if c.idxDomains() && c.Source == "" {
		c.Source = FashionMNIST
	}
	if c.Root == "" {
		src := c.Dataset
		if c.Dataset == Edges || c.Dataset == Gray2Color || c.idxDomains() {
			src = c.Source
			if src == "" {
				src = d.Source
			}
		}
		if src == FashionMNIST {
			c.Root = DefaultFashionRoot
		}
	}
	// a field left unset ("" or 0) takes d's: cmp.Or, the first that is
	// set, does it for strings and ints alike
	c.Phase = cmp.Or(c.Phase, d.Phase)
	c.Classes = cmp.Or(c.Classes, d.Classes)
	c.Source = cmp.Or(c.Source, d.Source)
	c.EdgeDetector = cmp.Or(c.EdgeDetector, d.EdgeDetector)
	c.DType = cmp.Or(c.DType, d.DType)
	c.Preprocess = cmp.Or(c.Preprocess, d.Preprocess)
	c.Direction = cmp.Or(c.Direction, d.Direction)
	c.Validate = cmp.Or(c.Validate, d.Validate)
	c.BatchSize = cmp.Or(c.BatchSize, d.BatchSize)
	c.LoadSize = cmp.Or(c.LoadSize, d.LoadSize)
	c.CropSize = cmp.Or(c.CropSize, d.CropSize)
	c.ImageSize = cmp.Or(c.ImageSize, d.ImageSize)
	if c.Channels == 0 { // by source: gray for MNIST-style data, RGB for images
		src := c.Dataset
		if c.Dataset == Edges || c.Dataset == Gray2Color || c.idxDomains() {
			src = c.Source
		}
		c.Channels = 3
		if src == FashionMNIST || src == MNIST {
			c.Channels = 1
		}
	}
	if c.Dataset == Edges || c.Dataset == Gray2Color {
		// The edge map or gray image, the A side of the pair, has one
		// channel: the input AtoB, the target BtoA (the photo the input).
		if c.Direction == "BtoA" {
			c.OutputNC = cmp.Or(c.OutputNC, 1)
		} else {
			c.InputNC = cmp.Or(c.InputNC, 1)
		}
	}
	c.InputNC = cmp.Or(c.InputNC, d.InputNC, c.Channels)
	c.OutputNC = cmp.Or(c.OutputNC, d.OutputNC, c.Channels)
	if c.Interp == "" {
		c.Interp = "bicubic"
		if c.Preprocess == ResizeCenterCrop {
			c.Interp = "bilinear"
		}
	}
	return c
}

// Check reports every invalid option at once, each naming its key and value,
// after filling in the defaults of zero fields as Open does.
func (c Config) Check() error {
	c = c.withDefaults()
	var errs []error
	bad := func(key string, v any, format string, args ...any) {
		errs = append(errs, &ConfigError{Key: key, Value: v, Msg: fmt.Sprintf(format, args...)})
	}
	oneOf := func(key, v string, allowed []string) {
		if !slices.Contains(allowed, v) {
			bad(key, v, "must be one of %s", strings.Join(nonEmpty(allowed), ", "))
		}
	}
	oneOf("data.dataset", c.Dataset, datasetKinds)
	oneOf("data.phase", c.Phase, phaseKinds)
	oneOf("data.preprocess", c.Preprocess, preprocessKind)
	oneOf("data.interp", c.Interp, interpKinds)
	oneOf("data.direction", c.Direction, directionKinds)
	oneOf("data.edges", c.EdgeDetector, edgeKinds)
	oneOf("data.validate", c.Validate, validateKinds)
	oneOf("data.dtype", c.DType, dtypeKinds)
	if c.Dataset == Edges || c.Dataset == Gray2Color {
		oneOf("data.source", c.Source, sourceKinds)
	}
	positive := func(key string, v int) {
		if v <= 0 {
			bad(key, v, "must be positive")
		}
	}
	positive("data.batch_size", c.BatchSize)
	if c.Workers < 0 {
		bad("data.workers", c.Workers, "must be 0 (load in the caller) or more")
	}
	if c.ReferenceWorkers < 0 {
		bad("data.reference_workers", c.ReferenceWorkers, "must be 0 (one stream) or more")
	}
	if c.Prefetch < 0 {
		bad("data.prefetch", c.Prefetch, "must be 0 or more")
	}
	if c.MaxSamples < 0 {
		bad("data.max_samples", c.MaxSamples, "must be 0 (all) or positive")
	}
	for _, k := range []struct {
		key string
		v   int
	}{{"data.channels", c.Channels}, {"model.input_nc", c.InputNC}, {"model.output_nc", c.OutputNC}} {
		if k.key == "model.input_nc" && c.LabelNC > 0 {
			continue // the input is a 1-channel map of class ids
		}
		if k.key != "data.channels" && c.Dataset == Colorization {
			continue // checked below
		}
		if k.v != 1 && k.v != 3 {
			bad(k.key, k.v, "must be 1 or 3")
		}
	}
	switch c.Preprocess {
	case ResizeCenterCrop:
		positive("data.image_size", c.ImageSize)
	case ResizeAndCrop, ScaleWidthAndCrop:
		positive("data.load_size", c.LoadSize)
		positive("data.crop_size", c.CropSize)
		if c.CropSize > c.LoadSize && c.LoadSize > 0 {
			bad("data.crop_size", c.CropSize, "is larger than data.load_size %d", c.LoadSize)
		}
		// resize_and_crop resizes every image to load_size squared: one too
		// large would be refused file by file once the data are read.
		if n := int64(c.LoadSize); c.Preprocess == ResizeAndCrop && n*n > MaxImagePixels {
			bad("data.load_size", c.LoadSize, "resizes every image to %dx%d with data.preprocess resize_and_crop, more than the %d pixels gogan makes of an image (PIL's MAX_IMAGE_PIXELS): at most %d",
				n, n, MaxImagePixels, maxSquareSide)
		}
	case ScaleWidth:
		positive("data.load_size", c.LoadSize)
	case Crop:
		positive("data.crop_size", c.CropSize)
	}
	if c.Root == "" {
		bad("data.root", c.Root, "must name the dataset folder")
	}
	if c.Dataset == Colorization {
		// The reference's ColorizationDataset asserts the same.
		if c.InputNC != 1 {
			bad("model.input_nc", c.InputNC, "colorization's input is the L channel of CIE Lab: it must be 1")
		}
		if c.OutputNC != 2 {
			bad("model.output_nc", c.OutputNC, "colorization's target is the a and b channels of CIE Lab: it must be 2")
		}
		if c.Direction != "AtoB" {
			bad("data.direction", c.Direction, "colorization translates L to ab: use AtoB")
		}
	}
	if c.SerialBatches && c.Dataset != Unaligned {
		bad("data.serial_batches", true, "only applies to data.dataset=unaligned (it picks B[i mod |B|] for sample i), not %s; for a fixed sample order set data.shuffle=false", c.Dataset)
	}
	if c.Dataset == LSUN {
		if _, msg := lsunCategories(c.Classes); msg != "" {
			bad("data.classes", c.Classes, "%s", msg)
		}
	} else if c.Classes != "" {
		bad("data.classes", c.Classes, "only applies to data.dataset=lsun (its scene categories), not %s; unaligned domains take data.classes_A and data.classes_B", c.Dataset)
	}
	errs = append(errs, c.checkClasses()...)
	errs = append(errs, c.checkLabels()...)
	return errors.Join(errs...)
}

// checkLabels checks data.label_nc and data.instance: aligned data only, an
// id range that 8-bit label maps can hold, and the label map as the input.
func (c Config) checkLabels() []error {
	var errs []error
	bad := func(key string, v any, format string, args ...any) {
		errs = append(errs, &ConfigError{Key: key, Value: v, Msg: fmt.Sprintf(format, args...)})
	}
	if c.LabelNC < 0 || c.LabelNC > 256 {
		bad("data.label_nc", c.LabelNC, "must be 0 (the input is an image) or the number of classes 1..256 of the 8-bit label maps")
	}
	if c.Dataset != Aligned {
		if c.LabelNC != 0 {
			bad("data.label_nc", c.LabelNC, "only applies to data.dataset=aligned (pix2pixHD's label maps -> photos), not %s", c.Dataset)
		}
		if c.Instance {
			bad("data.instance", true, "only applies to data.dataset=aligned (pix2pixHD's instance maps), not %s", c.Dataset)
		}
		if c.InstanceIDs {
			bad("data.instance_ids", true, "only applies to data.dataset=aligned (pix2pixHD's instance maps), not %s", c.Dataset)
		}
		return errs
	}
	if c.InstanceIDs && !c.Instance {
		bad("data.instance_ids", true, "needs the instance maps (data.instance)")
	}
	if c.LabelNC > 0 && c.Direction == "BtoA" {
		bad("data.direction", c.Direction, "with data.label_nc=%d the label map is always the input (Batch A) and the photo the target: use AtoB", c.LabelNC)
	}
	return errs
}

// checkClasses checks data.classes_A and data.classes_B: both or neither, only
// for unaligned data from fashion-mnist, mnist or cifar10, valid and disjoint.
func (c Config) checkClasses() []error {
	if c.ClassesA == "" && c.ClassesB == "" {
		return nil
	}
	bad := func(key string, v any, format string, args ...any) []error {
		return []error{&ConfigError{Key: key, Value: v, Msg: fmt.Sprintf(format, args...)}}
	}
	switch {
	case c.Dataset != Unaligned:
		key, v := "data.classes_A", c.ClassesA
		if v == "" {
			key, v = "data.classes_B", c.ClassesB
		}
		return bad(key, v, "only applies to data.dataset=unaligned (two domains picked by class), not %s", c.Dataset)
	case c.ClassesA == "":
		return bad("data.classes_A", "", "must be set together with data.classes_B %q: the A domain is picked by class too", c.ClassesB)
	case c.ClassesB == "":
		return bad("data.classes_B", "", "must be set together with data.classes_A %q: the B domain is picked by class too", c.ClassesA)
	case c.Source != FashionMNIST && c.Source != MNIST && c.Source != CIFAR10:
		return bad("data.source", c.Source, "data.classes_A and data.classes_B pick classes of a labelled dataset: must be fashion-mnist, mnist or cifar10")
	}
	var errs []error
	a, err := parseClasses("data.classes_A", c.ClassesA, c.Source)
	if err != nil {
		errs = append(errs, err)
	}
	b, err := parseClasses("data.classes_B", c.ClassesB, c.Source)
	if err != nil {
		errs = append(errs, err)
	}
	if a != nil && b != nil {
		var both []string
		for n := range 10 {
			if a[n] && b[n] {
				both = append(both, classLabel(c.Source, n))
			}
		}
		if len(both) > 0 {
			errs = append(errs, bad("data.classes_B", c.ClassesB, "shares class %s with data.classes_A %q: the two domains must not overlap", strings.Join(both, ", "), c.ClassesA)...)
		}
	}
	return errs
}

func nonEmpty(s []string) []string {
	var out []string
	for _, v := range s {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}
