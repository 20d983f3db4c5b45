package data

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
)

// OpenOptions are the optional hooks of Open.
type OpenOptions struct {
	// Progress, when set, is told how far validation or in-memory loading is
	// (it may be called from several goroutines, never concurrently).
	Progress func(stage string, done, total int)
	// Logger gets the skip_invalid warning; nil means slog.Default().
	Logger *slog.Logger
}

// Dataset is an opened, validated dataset: it turns an index into a
// transformed sample. It is safe for concurrent use by the loader's workers.
type Dataset struct {
	cfg Config
	tf  Transform
	// tfMap is tf with nearest neighbours, for label and instance maps.
	tfMap Transform
	// kind is what supplies images: idx, folder, ab, pair, sorted
	// (pix2pixHD's {phase}_label/{phase}_img or {phase}_A/{phase}_B folders,
	// paired by sorted position), unaligned (two folders), unaligned-ab
	// (halves of A|B files), unaligned-idx (IDX classes).
	kind string
	n    int
	// beforeWholeBatches is n before WholeBatches rounded it down (0: not
	// rounded), which a checkpoint of an older gogan recorded.
	beforeWholeBatches int
	// chA, chB are the channels of the file's A and B sides (before Direction).
	chA, chB int
	btoa     bool

	idx  *idxSet
	lsun *lsunSet
	// labels are the files' labels where a folder kind has them (LSUN's
	// categories), kept beside files when invalid ones are dropped.
	labels []int
	files  []string // images, AB images, or the A side
	filesB []string // B side of two-folder pairs or the unaligned B stream (for unaligned-ab, the same A|B files)
	// filesInst are the instance maps of sorted pairs (data.instance).
	filesInst []string
	root      string
	// idxA, idxB are the IDX image indices of the A and B streams (unaligned-idx).
	idxA, idxB []int

	cache, cacheB, cacheInst []*Image // decoded images when in_memory
	// dims, dimsB are the sizes (w, h) of files and filesB as opening read
	// them, for the references' draws (ReferenceDraws).
	dims, dimsB [][2]int

	// Output sizes (W, H) of the A and B streams, and whether every sample has
	// the same ones, for the loader's batch check.
	outA, outB     [2]int
	sizes          map[[2]int]string // the output sizes found on open, each with a file of it
	uniform        bool
	uniformExample string

	skipped []*FileError
	bad     sync.Map // files that failed to decode after a header-only validation
	log     *slog.Logger
}

// Open validates cfg, finds the files, validates them (all invalid files are
// reported at once in an *InvalidFilesError) and, with data.in_memory,
// decodes them all.
func Open(ctx context.Context, cfg Config, opts *OpenOptions) (*Dataset, error) {
	if opts == nil {
		opts = &OpenOptions{}
	}
	cfg = cfg.withDefaults()
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	d := &Dataset{cfg: cfg, tf: newTransform(cfg), log: opts.Logger, btoa: cfg.Direction == "BtoA"}
	d.tfMap = d.tf
	d.tfMap.Filter = Nearest
	if d.log == nil {
		d.log = slog.Default()
	}
	d.chA, d.chB = cfg.InputNC, cfg.OutputNC
	if d.btoa {
		d.chA, d.chB = d.chB, d.chA
	}
	src := cfg.Dataset
	if src == Edges || src == Gray2Color {
		src = cfg.Source
	}
	var err error
	switch src {
	case FashionMNIST, MNIST, CIFAR10:
		err = d.openIDX(src)
	case Folder:
		if cfg.Dataset == Folder && cfg.ImageFolder {
			err = d.openImageFolder()
			break
		}
		d.kind = "folder"
		d.root = cfg.Root
		d.files, err = scanImages(cfg.Root, "data.root")
	case LSUN:
		err = d.openLSUN()
	case Colorization:
		d.kind = "folder"
		d.root = filepath.Join(cfg.Root, cfg.Phase)
		if !isDir(d.root) {
			return nil, &ConfigError{Key: "data.root", Value: cfg.Root, Msg: fmt.Sprintf(
				"colorization reads the colour images under data.root/data.phase (pytorch-CycleGAN-and-pix2pix's colorization dataset); there is no folder %s", d.root)}
		}
		d.files, err = scanImages(d.root, "data.root")
	case Aligned:
		err = d.openAligned()
	case Unaligned:
		if cfg.idxDomains() {
			err = d.openIDXDomains()
		} else {
			err = d.openUnaligned()
		}
	}
	if err != nil {
		return nil, err
	}
	d.warnUnlistedExts()
	if d.idx == nil {
		err = d.validateFiles(ctx, opts)
	} else {
		d.checkIDXSize()
	}
	if err == nil {
		err = d.checkUniform()
	}
	if err == nil && cfg.WholeBatches {
		err = d.wholeBatches()
	}
	if err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// wholeBatches drops the samples past the last whole batch, as pix2pixHD's
// AlignedDataset, whose length is len(A_paths) // batchSize * batchSize:
// its shuffle never draws the last files. With several ranks the batch is
// the global one (pix2pixHD's batchSize under its DataParallel).
func (d *Dataset) wholeBatches() error {
	n := d.n - d.n%(d.cfg.BatchSize*max(1, d.cfg.Ranks))
	if n == 0 {
		what := "is larger than the dataset"
		if d.cfg.Ranks > 1 {
			what = fmt.Sprintf("times the %d ranks (a global batch of %d) is larger than the dataset", d.cfg.Ranks, d.cfg.BatchSize*d.cfg.Ranks)
		}
		return &ConfigError{Key: "data.batch_size", Value: d.cfg.BatchSize, Msg: fmt.Sprintf(
			"%s (%d samples), and pix2pixHD trains on whole batches only (its dataset's length is a multiple of the batch size)", what, d.n)}
	}
	if n != d.n {
		d.beforeWholeBatches = d.n
	}
	d.n = n
	return nil
}

// Close closes the files a dataset keeps open (LSUN's databases); call it
// when no loader reads the dataset any more.
func (d *Dataset) Close() {
	if d.lsun != nil {
		d.lsun.close()
	}
}

// Len is the number of samples in an epoch.
func (d *Dataset) Len() int { return d.n }

// Config returns the config with defaults filled in.
func (d *Dataset) Config() Config { return d.cfg }

// Transform returns the preprocessing the dataset applies.
func (d *Dataset) Transform() Transform { return d.tf }

// Paired reports whether samples have a B side (aligned, unaligned, edges,
// gray2color, colorization).
func (d *Dataset) Paired() bool {
	switch d.cfg.Dataset {
	case Aligned, Unaligned, Edges, Gray2Color, Colorization:
		return true
	}
	return false
}

// HasLabels reports whether samples carry class labels (IDX datasets with
// a labels file, CIFAR-10, class folders, LSUN's categories).
func (d *Dataset) HasLabels() bool { return (d.idx != nil && d.idx.labels != nil) || d.labels != nil }

// ClassLabels reports whether the samples are single images, each with its
// class label (Fashion-MNIST and MNIST with their labels files, CIFAR-10,
// an image folder's class folders, LSUN's categories): what a
// class-conditional recipe trains on.
func (d *Dataset) ClassLabels() bool {
	switch d.cfg.Dataset {
	case FashionMNIST, MNIST, CIFAR10, Folder, LSUN:
		return d.HasLabels()
	}
	return false
}

// Classes is the number of classes where ClassLabels (the largest label
// plus one), else 0.
func (d *Dataset) Classes() int {
	n := 0
	for i := range d.n {
		n = max(n, d.LabelOf(i)+1)
	}
	return n
}

// LabelOf is sample i's class label where ClassLabels, read without
// decoding the image (the batches of a dataset kept on the device); -1
// elsewhere. With data.skip_invalid it is the label of the file that
// loadFileAt reads for i: a file that failed to decode after a header-only
// validation (ExportU8 has read every sample) is replaced by the next one.
func (d *Dataset) LabelOf(i int) int {
	switch {
	case !d.ClassLabels():
		return -1
	case d.kind == "idx":
		return int(d.idx.labels[i])
	}
	for j := range d.readableFrom(d.files, d.cache, i) {
		return d.labels[j] // the first: the file loadFileAt reads
	}
	return d.labels[i]
}

// Skipped lists the invalid files that data.skip_invalid skipped.
func (d *Dataset) Skipped() []*FileError { return d.skipped }

// skipFlag names the setting that skips invalid files, as the user gave it.
func (d *Dataset) skipFlag() string { return cmp.Or(d.cfg.SkipFlag, "data.skip_invalid") }

// Shape returns the (C, H, W) of the A and B streams (Sample.A and
// Sample.B, after data.direction) when every sample has the same size
// (uniform is false otherwise). Unaligned A and B may differ in both.
func (d *Dataset) Shape() (a, b [3]int, uniform bool) {
	outA, outB := d.outA, d.outB // sizes of the files' A and B sides
	if d.btoa {
		outA, outB = outB, outA
	}
	a = [3]int{d.cfg.InputNC, outA[1], outA[0]}
	if d.cfg.LabelNC > 0 {
		a[0] = 1 // class ids
	}
	if d.Paired() {
		b = [3]int{d.cfg.OutputNC, outB[1], outB[0]}
	}
	return a, b, d.uniform
}

// TensorShape is one batch tensor of a dataset: its name, (C, H, W), and
// whether it holds raw values (class ids, boundaries) rather than normalised
// pixels.
type TensorShape struct {
	Name  string
	Shape [3]int
	Raw   bool
}

// TensorShapes lists the batch tensors of the dataset's samples in the
// order of Sample.Images: "A", "B" for pairs, "inst" with instance maps
// ("inst_id" too with data.instance_ids). The
// shapes are those of Shape, known when uniform is true.
func (d *Dataset) TensorShapes() (ts []TensorShape, uniform bool) {
	a, b, u := d.Shape()
	ts = []TensorShape{{Name: "A", Shape: a, Raw: d.cfg.LabelNC > 0}}
	if d.Paired() {
		ts = append(ts, TensorShape{Name: "B", Shape: b})
	}
	if d.Instance() {
		ts = append(ts, TensorShape{Name: InstTensor, Shape: [3]int{1, a[1], a[2]}, Raw: true})
		if d.cfg.InstanceIDs {
			ts = append(ts, TensorShape{Name: InstIDTensor, Shape: [3]int{2, a[1], a[2]}, Raw: true})
		}
	}
	return ts, u
}

// Instance reports whether samples carry an instance boundary map ("inst").
func (d *Dataset) Instance() bool { return d.filesInst != nil }

// FilesInst lists the instance maps in sample order (data.instance), nil
// without.
func (d *Dataset) FilesInst() []string { return d.filesInst }

// Files lists the image files in sample order (the A side for pairs, the
// label maps with data.label_nc); nil for IDX. For unaligned data it is the A
// stream (the A|B files whose left halves it is), which sample i reads at
// i mod len.
func (d *Dataset) Files() []string { return d.files }

// OutputSizes are the image sizes (width, height) after preprocessing that
// opening found, each with a file of that size; nil where it read no sizes.
func (d *Dataset) OutputSizes() map[[2]int]string { return d.sizes }

// FilesB lists the B stream of unaligned data (for A|B images, the same files
// as Files: their right halves) and the B files of A/ and B/ pairs and of
// pix2pixHD's folders (the photos of {phase}_img or {phase}_B); nil
// otherwise, and for unaligned data made from IDX classes. UnalignedIndex
// says which entry a sample uses.
func (d *Dataset) FilesB() []string { return d.filesB }

// UnalignedIndex returns the positions in the A and B streams (Files and
// FilesB, or the IDX images of data.classes_A and data.classes_B) that sample
// i of the given epoch pairs, as Sample computes them: ia = i mod |A|, and
// ib = i mod |B| with data.serial_batches, otherwise a random B drawn from
// (seed, epoch, i).
func (d *Dataset) UnalignedIndex(i int, seed, epoch uint64) (ia, ib int, err error) {
	if d.cfg.Dataset != Unaligned {
		return 0, 0, fmt.Errorf("data: UnalignedIndex on a %s dataset (want unaligned)", d.cfg.Dataset)
	}
	if i < 0 || i >= d.n {
		return 0, 0, fmt.Errorf("data: sample %d out of range [0, %d)", i, d.n)
	}
	ia, ib = d.unalignedPick(i, newRNG(seed, epoch, uint64(i)))
	return ia, ib, nil
}

// Streams returns the lengths of the A and B streams of unaligned data (the
// files' or the classes' sides, before data.direction; after
// data.max_samples): sample i reads A at i mod na. For other datasets both
// are Len() (nb is 0 without a B side).
func (d *Dataset) Streams() (na, nb int) {
	switch {
	case d.kind == "unaligned-idx":
		return len(d.idxA), len(d.idxB)
	case d.cfg.Dataset == Unaligned:
		return len(d.files), len(d.filesB)
	case d.Paired():
		return d.n, d.n
	}
	return d.n, 0
}

// Channels is how many channels the image has in a batch.
func (ni NamedImage) Channels() int {
	if ni.Lab != NotLab {
		return ni.Lab.Channels()
	}
	return ni.Image.C
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// String describes the dataset in one line for logs.
func (d *Dataset) String() string {
	a, b, u := d.Shape()
	s := fmt.Sprintf("%s %s: %d samples", d.cfg.Dataset, d.root, d.n)
	if u {
		s += fmt.Sprintf(", A %dx%dx%d", a[0], a[1], a[2])
		if d.cfg.LabelNC > 0 {
			s += fmt.Sprintf(" (class ids 0..%d)", d.cfg.LabelNC-1)
		}
		if d.Paired() {
			s += fmt.Sprintf(", B %dx%dx%d", b[0], b[1], b[2])
		}
		if d.Instance() {
			s += fmt.Sprintf(", inst 1x%dx%d", a[1], a[2])
		}
	}
	if len(d.skipped) > 0 {
		s += fmt.Sprintf(", %d invalid files skipped", len(d.skipped))
	}
	return s
}
