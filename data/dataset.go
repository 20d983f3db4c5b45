package data

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
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

func (d *Dataset) openIDX(kind string) error {
	s, _, err := loadLabelled(d.cfg.Root, kind, d.cfg.Phase, false)
	if err != nil {
		return err
	}
	d.kind, d.idx, d.n, d.root = "idx", s, s.n, d.cfg.Root
	if d.cfg.MaxSamples > 0 && d.cfg.MaxSamples < d.n {
		d.n = d.cfg.MaxSamples
	}
	return nil
}

func (d *Dataset) checkIDXSize() {
	w, h, err := d.tf.OutputSize(d.idx.w, d.idx.h)
	if err != nil {
		// Every image has the same size: a config problem, reported at
		// checkUniform through d.uniformExample.
		d.uniformExample = err.Error()
		return
	}
	d.outA, d.outB, d.uniform = [2]int{w, h}, [2]int{w, h}, true
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// openAligned finds pairs. With data.label_nc > 0, pix2pixHD's
// root/{phase}_label (class-id maps) and root/{phase}_img (photos). Otherwise
// pix2pixHD's root/{phase}_A and root/{phase}_B, or pix2pix's layouts:
// root/{phase}/*.jpg (A|B side by side), the folders A/ and B/ (optionally
// A/{phase}, B/{phase}) with matching names, or A|B images directly under
// root. With data.instance, root/{phase}_inst holds the instance maps of the
// pix2pixHD layouts; the others have none.
func (d *Dataset) openAligned() error {
	root, phase := d.cfg.Root, d.cfg.Phase
	if !isDir(root) {
		return missingRoot(root, d.cfg.LabelNC > 0)
	}
	if d.cfg.LabelNC > 0 {
		lab, img := filepath.Join(root, phase+"_label"), filepath.Join(root, phase+"_img")
		var missing []string
		for _, p := range []string{lab, img} {
			if !isDir(p) {
				missing = append(missing, p)
			}
		}
		if len(missing) > 0 {
			return &ConfigError{Key: "data.root", Value: root, Msg: fmt.Sprintf(
				"data.label_nc=%d reads pix2pixHD's layout: %[2]s_label/ (class-id maps) and %[2]s_img/ (photos)%[3]s under data.root, paired by sorted position; no folder %[4]s (for input images instead of label maps set data.label_nc=0)",
				d.cfg.LabelNC, phase, instHint(d.cfg.Instance, phase), strings.Join(missing, ", "))}
		}
		return d.sortedFolders(lab, img)
	}
	if a, b := filepath.Join(root, phase+"_A"), filepath.Join(root, phase+"_B"); isDir(a) || isDir(b) {
		if d.btoa {
			d.log.Warn(fmt.Sprintf("data.direction=BtoA: the input is %s and the target %s; pix2pixHD, which has no direction, always goes from %s_A/ to %s_B/ (set data.direction=AtoB to train as it does)", b, a, phase, phase))
		}
		return d.sortedFolders(a, b)
	}
	if err := labelLayout(root, phase); err != nil {
		return err
	}
	if d.cfg.Instance {
		return &ConfigError{Key: "data.instance", Value: true, Msg: fmt.Sprintf(
			"instance maps are read from %[1]s_inst/ beside pix2pixHD's %[1]s_label/ and %[1]s_img/ (data.label_nc>0) or %[1]s_A/ and %[1]s_B/ folders; %[2]s has neither, and its pix2pix layouts (A|B images, A/ and B/ folders) have no instance maps: turn instance maps off (data.no_instance=true in the pix2pixhd recipe, data.instance=false in data.Config; pix2pixHD's --no_instance)",
			phase, root)}
	}
	if err := missingSplit(root, phase, "_A"); err != nil { // train_A/ and train_B/ but no test_A/
		return err
	}
	a, b := filepath.Join(root, "A"), filepath.Join(root, "B")
	if isDir(a) && isDir(b) {
		a, b, err := phaseDirs(a, b, phase)
		if err != nil {
			return err
		}
		return d.pairFolders(a, b)
	}
	if err := unalignedLayout(root, phase); err != nil {
		return err
	}
	dir, files, err := abImages(root, phase, false)
	if err != nil {
		return err
	}
	if dir == root {
		// the references would find no {phase}/ folder here
		if base := filepath.Base(filepath.Clean(root)); base != phase && slices.Contains([]string{"train", "val", "test"}, base) {
			d.log.Warn(fmt.Sprintf("data.root %s is the %s split itself, read as data.phase %s: every A|B image under it (to read another split, set data.root to its parent)", root, base, phase))
		} else if sub := foldersOf(root, files); len(sub) > 0 {
			d.log.Warn(fmt.Sprintf("data: no %[1]s/ folder in data.root: every image under %[2]s, in its folders %[3]s included, is read as an A|B image (left half A, right half B); paired images kept in two folders go in %[2]s/A/%[1]s/ and %[2]s/B/%[1]s/, unpaired domains (recipe cyclegan) in %[2]s/%[1]sA/ and %[2]s/%[1]sB/",
				phase, filepath.Clean(root), strings.Join(sub, ", ")))
		} else {
			d.log.Info(fmt.Sprintf("data: no %s/ folder in data.root: reading the A|B images directly under %s", phase, root))
		}
	}
	d.kind, d.files, d.root = "ab", files, dir
	return nil
}

// labelLayout refuses, with data.label_nc 0, a root holding pix2pixHD's
// layout of label maps ({phase}_label/) and none of pix2pix's ({phase}/, A/
// and B/): the reference, given --label_nc 0, reads {phase}_A/ and fails
// without it, where gogan would read every image under root, maps, photos
// and instance maps, as A|B images cut in halves.
func labelLayout(root, phase string) error {
	lab := filepath.Join(root, phase+"_label")
	if !isDir(lab) || isDir(filepath.Join(root, phase)) || (isDir(filepath.Join(root, "A")) && isDir(filepath.Join(root, "B"))) {
		return nil
	}
	return &ConfigError{Key: "data.label_nc", Value: 0, Msg: fmt.Sprintf(
		"the input is an image (pix2pixHD's --label_nc 0), read from %[1]s_A/ (inputs) and %[1]s_B/ (targets), but %[2]s holds %[3]s, pix2pixHD's layout of class-id label maps (%[1]s_label/, %[1]s_img/, %[1]s_inst/): set data.label_nc to the number of classes of its maps (recipe pix2pixhd); or, if its maps are colour images, rename %[1]s_label/ to %[1]s_A/ and %[1]s_img/ to %[1]s_B/",
		phase, filepath.Clean(root), lab)}
}

// abImages finds the A|B images of phase as aligned data and unaligned data
// from A|B images both read them: under root/{phase}/, or under root itself
// where it has no such folder, refusing a folder that holds A/ and B/
// folders (abFoldersInside: unaligned says where CycleGAN's domains go).
// Where scanImages fails, dir comes back with its error, which names it.
func abImages(root, phase string, unaligned bool) (dir string, files []string, err error) {
	dir, err = phaseDir(root, phase)
	if err != nil {
		return "", nil, err
	}
	if err := abFoldersInside(root, dir, unaligned); err != nil {
		return "", nil, err
	}
	if dir == root {
		if err := domainFolderAsRoot(root); err != nil {
			return "", nil, err
		}
	}
	files, err = scanImages(dir, "data.root")
	return dir, files, err
}

// domainFolderAsRoot refuses a data.root that is one of two domain folders
// side by side (datasets/NAME/trainA beside trainB, or A beside B): read as
// A|B images, each of its images would be cut in halves, one domain's
// halves trained as the two domains. The references, joining
// {phase}A to it, find no such folder and fail.
func domainFolderAsRoot(root string) error {
	clean := filepath.Clean(root)
	base := filepath.Base(clean)
	if !strings.HasSuffix(base, "A") && !strings.HasSuffix(base, "B") {
		return nil
	}
	parent, stem := filepath.Dir(clean), base[:len(base)-1]
	if !isDir(filepath.Join(parent, stem+"A")) || !isDir(filepath.Join(parent, stem+"B")) {
		return nil
	}
	other := stem + "A"
	if base == other {
		other = stem + "B"
	}
	if abs, err := filepath.Abs(parent); err == nil {
		parent = abs
	}
	return &ConfigError{Key: "data.root", Value: root, Msg: fmt.Sprintf(
		"is the domain folder %s/ of %s, beside %s/: read as A|B images side by side, each of its images would be cut in halves, left half domain A and right half domain B; set data.root to %s, the folder that holds the domains (unpaired: recipe cyclegan, data.dataset unaligned)",
		base, parent, other, parent)}
}

// abFoldersInside refuses a split folder (data.root/{phase}) holding folders
// A/ and B/: read as A|B images (what the reference's make_dataset would
// do too, walking it), each of their images would be cut in halves, A's
// photos paired with themselves. The layouts gogan pairs or keeps apart
// put the split inside A/ and B/, or CycleGAN's domains beside it.
func abFoldersInside(root, dir string, unaligned bool) error {
	if dir == root || !isDir(filepath.Join(dir, "A")) || !isDir(filepath.Join(dir, "B")) {
		return nil
	}
	phase := filepath.Base(dir)
	if unaligned {
		return &ConfigError{Key: "data.root", Value: root, Msg: fmt.Sprintf(
			"%[1]s holds folders A/ and B/, whose images would be read as A|B images, each cut in halves: CycleGAN's domains are %[2]s and %[3]s (the reference's layout), or %[4]s and %[5]s; move them there",
			dir, filepath.Join(root, phase+"A")+"/", filepath.Join(root, phase+"B")+"/", filepath.Join(root, "A", phase)+"/", filepath.Join(root, "B", phase)+"/")}
	}
	return &ConfigError{Key: "data.root", Value: root, Msg: fmt.Sprintf(
		"%[1]s holds folders A/ and B/, whose images would be read as A|B images, each cut in halves: pairs in two folders go in %[2]s and %[3]s (files of the same names pair up; move them there), or combine them into A|B images side by side (the reference's datasets/combine_A_and_B.py)",
		dir, filepath.Join(root, "A", phase)+"/", filepath.Join(root, "B", phase)+"/")}
}

// unalignedLayout refuses to read CycleGAN's layout (trainA/, trainB/,
// testA/, ...: two unpaired domains) as A|B pairs: without a {phase}/
// folder every image under the root, of both domains and every split,
// would be cut in halves.
func unalignedLayout(root, phase string) error {
	if isDir(filepath.Join(root, phase)) {
		return nil
	}
	// In any case (TrainA/ too): renamed, they would still be unpaired.
	entries, _ := os.ReadDir(root)
	var found []string
	for _, e := range entries {
		for _, split := range []string{"train", "val", "test"} {
			for _, side := range []string{"A", "B"} {
				if strings.EqualFold(e.Name(), split+side) && isDir(filepath.Join(root, e.Name())) {
					found = append(found, e.Name()+"/")
				}
			}
		}
	}
	if len(found) == 0 {
		return nil
	}
	return &ConfigError{Key: "data.root", Value: root, Msg: fmt.Sprintf(
		"has %s, CycleGAN's unpaired domains, but no %s/ of A|B pairs: aligned data (pix2pix, and eval pix2pix's scores) needs pairs; train unpaired data with recipe cyclegan (data.dataset=unaligned), or make pairs (the reference's datasets/combine_A_and_B.py)",
		strings.Join(found, ", "), phase), Err: ErrUnpairedDomains}
}

// splitsInAnotherCase refuses a dir holding split folders named in another
// case ({split}{suffix}, and its B side: Train/, TrainA/, traina/): the
// references join the exact names (os.path.join(dataroot, phase + 'A'),
// then fail: not a valid directory), and so does gogan, which without a
// split folder would read every image under dir as A|B images, mixing the
// splits and both domains.
func splitsInAnotherCase(dir, suffix string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil // said where dir is read
	}
	names := []string{suffix}
	if b := strings.Replace(suffix, "A", "B", 1); b != suffix {
		names = append(names, b)
	}
	var renames []string
	for _, e := range entries {
		for _, split := range []string{"train", "val", "test"} {
			for _, n := range names {
				if want := split + n; e.Name() != want && strings.EqualFold(e.Name(), want) && isDir(filepath.Join(dir, e.Name())) {
					renames = append(renames, e.Name()+"/ to "+want+"/")
				}
			}
		}
	}
	if len(renames) == 0 {
		return nil
	}
	return &ConfigError{Key: "data.root", Value: dir, Msg: fmt.Sprintf(
		"split folders are named in lower case, A and B in upper case, as the references name them (they join the names exactly); rename %s (read as they are, every image under %s would be taken as an A|B image, of every split)",
		strings.Join(renames, ", "), dir)}
}

// phaseDir is the folder of split phase in dir: dir/{phase} when it
// exists, else dir itself (its images are the data), unless missingSplit
// refuses it.
func phaseDir(dir, phase string) (string, error) {
	if p := filepath.Join(dir, phase); isDir(p) {
		return p, nil
	}
	return dir, missingSplit(dir, phase, "")
}

// missingSplit refuses a dir that holds folders of other splits
// ({split}{suffix}: train/, trainA/, train_A/) but none of phase: reading all
// of dir would mix the splits.
func missingSplit(dir, phase, suffix string) error {
	if isDir(filepath.Join(dir, phase+suffix)) {
		return nil
	}
	if err := splitsInAnotherCase(dir, suffix); err != nil {
		return err
	}
	var others []string
	for _, split := range []string{"train", "val", "test"} {
		if split != phase && isDir(filepath.Join(dir, split+suffix)) {
			others = append(others, split+suffix+"/")
		}
	}
	if len(others) == 0 {
		return nil
	}
	return &ConfigError{Key: "data.phase", Value: phase, Msg: fmt.Sprintf(
		"%s has %s but no %s/: set data.phase (gogan eval and features: --phase) to a split it has (reading all of it would mix the splits)",
		dir, strings.Join(others, " and "), phase+suffix)}
}

// phaseDirs is phaseDir of the A/ and B/ folders, which must agree: A/train
// paired with every image under a B/ without split folders would mix them.
func phaseDirs(a, b, phase string) (string, string, error) {
	pa, err := phaseDir(a, phase)
	if err != nil {
		return "", "", err
	}
	pb, err := phaseDir(b, phase)
	if err != nil {
		return "", "", err
	}
	if (pa == a) != (pb == b) {
		split, whole := pa, b
		if pa == a {
			split, whole = pb, a
		}
		return "", "", &ConfigError{Key: "data.phase", Value: phase, Msg: fmt.Sprintf(
			"%s is a split folder but %s has none: give both A/ and B/ a %s/ folder, or neither", split, whole, phase)}
	}
	return pa, pb, nil
}

func instHint(instance bool, phase string) string {
	if instance {
		return fmt.Sprintf(" and %s_inst/ (instance maps)", phase)
	}
	return ""
}

// sortedFolders pairs the files of folders a and b (and, with
// data.instance, root/{phase}_inst) by their position in sorted order, as
// pix2pixHD's AlignedDataset does: their names may differ (Cityscapes'
// *_gtFine_labelIds.png and *_leftImg8bit.png), their counts may not.
func (d *Dataset) sortedFolders(a, b string) error {
	root := d.cfg.Root
	fa, err := scanImages(a, "data.root")
	if err != nil {
		return err
	}
	fb, err := scanImages(b, "data.root")
	if err != nil {
		return err
	}
	var fi []string
	inst := filepath.Join(root, d.cfg.Phase+"_inst")
	if d.cfg.Instance {
		if !isDir(inst) {
			return &ConfigError{Key: "data.instance", Value: true, Msg: fmt.Sprintf(
				"no folder %s of instance maps beside %s and %s: add it, or turn instance maps off (data.no_instance=true in the pix2pixhd recipe, data.instance=false in data.Config; pix2pixHD's --no_instance)", inst, a, b)}
		}
		if fi, err = scanImages(inst, "data.root"); err != nil {
			return err
		}
	}
	if err := sameCounts(a, fa, b, fb); err != nil {
		return err
	}
	if fi != nil {
		if err := sameCounts(a, fa, inst, fi); err != nil {
			return err
		}
	}
	d.kind, d.root = "sorted", root
	d.files, d.filesB, d.filesInst = fa, fb, fi
	return nil
}

// sameCounts reports folders whose files cannot be paired by sorted position
// because their numbers differ; when the two name their files alike (the
// same base names without extension), it lists some that have no partner.
func sameCounts(a string, fa []string, b string, fb []string) error {
	if len(fa) == len(fb) {
		return nil
	}
	stems := func(root string, files []string) map[string]bool {
		m := make(map[string]bool, len(files))
		for _, f := range files {
			r, _ := filepath.Rel(root, f)
			m[strings.TrimSuffix(r, filepath.Ext(r))] = true
		}
		return m
	}
	sa, sb := stems(a, fa), stems(b, fb)
	shared := false
	for s := range sa {
		if sb[s] {
			shared = true
			break
		}
	}
	hint := ""
	if shared {
		var lone []string
		for _, side := range []struct {
			dir       string
			own, othr map[string]bool
		}{{a, sa, sb}, {b, sb, sa}} {
			for s := range side.own {
				if !side.othr[s] {
					lone = append(lone, filepath.Join(side.dir, s)+".*")
				}
			}
		}
		sort.Strings(lone)
		if len(lone) > 5 {
			lone = append(lone[:5], fmt.Sprintf("and %d more", len(lone)-5))
		}
		hint = "; without a partner of the same name: " + strings.Join(lone, ", ")
	}
	return fmt.Errorf("data: %s has %d images but %s has %d: pix2pixHD's layout pairs the files of its folders by sorted position, so each folder must hold one file per sample%s",
		a, len(fa), b, len(fb), hint)
}

// pairFolders matches A and B files by their path relative to the folder; a
// file without a partner is an invalid file, reported with the others.
func (d *Dataset) pairFolders(a, b string) error {
	fa, err := scanImages(a, "data.root")
	if err != nil {
		return err
	}
	fb, err := scanImages(b, "data.root")
	if err != nil {
		return err
	}
	rel := func(root string, files []string) map[string]string {
		m := make(map[string]string, len(files))
		for _, f := range files {
			r, _ := filepath.Rel(root, f)
			m[r] = f
		}
		return m
	}
	mb := rel(b, fb)
	ma := rel(a, fa)
	var unmatched []*FileError
	for _, f := range fa {
		r, _ := filepath.Rel(a, f)
		if g, ok := mb[r]; ok {
			d.files = append(d.files, f)
			d.filesB = append(d.filesB, g)
		} else {
			unmatched = append(unmatched, fileErr(f, "no matching file %s in %s", r, b))
		}
	}
	for _, f := range fb {
		r, _ := filepath.Rel(b, f)
		if _, ok := ma[r]; !ok {
			unmatched = append(unmatched, fileErr(f, "no matching file %s in %s", r, a))
		}
	}
	d.kind, d.root = "pair", filepath.Dir(a)
	d.skipped = unmatched // merged with the validation errors
	return nil
}

// openUnaligned finds CycleGAN's root/{phase}A and root/{phase}B, or root/A
// and root/B, or else A|B images (pix2pix's layout) in root/{phase} or root,
// whose left halves are the A stream and right halves the B stream. With
// data.max_samples each stream keeps only its first N files.
func (d *Dataset) openUnaligned() error {
	root, phase := d.cfg.Root, d.cfg.Phase
	if !isDir(root) {
		return missingRoot(root, false)
	}
	var a, b string
	switch {
	case isDir(filepath.Join(root, phase+"A")) || isDir(filepath.Join(root, phase+"B")):
		a, b = filepath.Join(root, phase+"A"), filepath.Join(root, phase+"B")
	case isDir(filepath.Join(root, "A")) || isDir(filepath.Join(root, "B")):
		var err error
		if a, b, err = phaseDirs(filepath.Join(root, "A"), filepath.Join(root, "B"), phase); err != nil {
			return err
		}
	default:
		if err := missingSplit(root, phase, "A"); err != nil { // trainA/ and trainB/ but no testA/
			return err
		}
		return d.openUnalignedAB()
	}
	var err error
	if d.files, err = scanImages(a, "data.root"); err != nil {
		return err
	}
	if d.filesB, err = scanImages(b, "data.root"); err != nil {
		return err
	}
	d.files, d.filesB = firstN(d, d.files), firstN(d, d.filesB)
	d.kind, d.root = "unaligned", root
	return nil
}

// openUnalignedAB takes unaligned data from A|B images side by side.
func (d *Dataset) openUnalignedAB() error {
	root, phase := d.cfg.Root, d.cfg.Phase
	dir, files, err := abImages(root, phase, true)
	if err != nil {
		var fe *FileError
		if errors.As(err, &fe) && fe.Path == dir {
			return &ConfigError{Key: "data.root", Value: root, Msg: fmt.Sprintf(
				"holds no unaligned data: want %[1]sA/ and %[1]sB/ folders, or A/ and B/ folders, or A|B images side by side (left half A, right half B) in %[1]s/ or in data.root itself; %[2]s has no images",
				phase, dir)}
		}
		return err
	}
	if dir == root {
		// where the reference fails (no trainA/): say what is read
		what := fmt.Sprintf("data: no %[1]sA/ and %[1]sB/ (or A/ and B/) in data.root: every image under %[2]s is read as an A|B image, its left half domain A, its right half domain B", phase, filepath.Clean(root))
		if sub := foldersOf(root, files); len(sub) > 0 {
			d.log.Warn(fmt.Sprintf("%s (the images in its folders %s included); to train two folders of images as the domains, name them %s/%sA/ and %[3]s/%[4]sB/ (the reference's layout)",
				what, strings.Join(sub, ", "), filepath.Clean(root), phase))
		} else {
			d.log.Info(what)
		}
	}
	d.kind, d.files, d.root = "unaligned-ab", firstN(d, files), dir
	return nil
}

// foldersOf lists the folders directly under root that hold some of files
// (sorted paths under root), each once, as "name/".
func foldersOf(root string, files []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, f := range files {
		rel, err := filepath.Rel(root, f)
		if err != nil {
			continue
		}
		if first, _, nested := strings.Cut(rel, string(filepath.Separator)); nested && !seen[first] {
			seen[first] = true
			out = append(out, first+"/")
		}
	}
	return out
}

// firstN keeps the first data.max_samples entries of an unaligned stream.
func firstN[T any](d *Dataset, s []T) []T {
	if n := d.cfg.MaxSamples; n > 0 && n < len(s) {
		return s[:n:n]
	}
	return s
}

// loadLabelled reads an in-memory set: IDX files (fashion-mnist, mnist) or
// CIFAR-10's batches; images names them for messages. needLabels refuses
// IDX images without their labels file.
func loadLabelled(root, kind, phase string, needLabels bool) (s *idxSet, images string, err error) {
	if kind == CIFAR10 {
		s, err := loadCIFAR10(root, phase)
		return s, "CIFAR-10's " + phase + " batches in " + root, err
	}
	images, labels, err := findIDX(root, kind, phase)
	if err != nil {
		return nil, "", err
	}
	if labels == "" && needLabels {
		return nil, "", &ConfigError{Key: "data.root", Value: root, Msg: fmt.Sprintf(
			"has %s but no %s-labels-idx1-ubyte[.gz]: data.classes_A and data.classes_B pick images by label", images, idxNames[phase])}
	}
	s, err = loadIDXSet(images, labels, needLabels)
	return s, images, err
}

// openIDXDomains makes the A and B streams from the images of a labelled
// dataset (IDX or CIFAR-10) whose labels are in data.classes_A and
// data.classes_B.
func (d *Dataset) openIDXDomains() error {
	src, root := d.cfg.Source, d.cfg.Root
	s, images, err := loadLabelled(root, src, d.cfg.Phase, true)
	if err != nil {
		return err
	}
	ca, err := parseClasses("data.classes_A", d.cfg.ClassesA, src)
	if err != nil {
		return err
	}
	cb, err := parseClasses("data.classes_B", d.cfg.ClassesB, src)
	if err != nil {
		return err
	}
	var ia, ib []int
	for j, l := range s.labels {
		if ca[int(l)] {
			ia = append(ia, j)
		}
		if cb[int(l)] {
			ib = append(ib, j)
		}
	}
	for _, e := range []struct {
		key, v string
		n      int
	}{{"data.classes_A", d.cfg.ClassesA, len(ia)}, {"data.classes_B", d.cfg.ClassesB, len(ib)}} {
		if e.n == 0 {
			return &ConfigError{Key: e.key, Value: e.v, Msg: fmt.Sprintf("no image of %s has one of these labels", images)}
		}
	}
	d.kind, d.idx, d.root = "unaligned-idx", s, root
	d.idxA, d.idxB = firstN(d, ia), firstN(d, ib)
	d.n = max(len(d.idxA), len(d.idxB))
	return nil
}

// scanImages lists the image files under dir, recursively, sorted, as the
// references' make_dataset walks (os.walk without following links below dir).
func scanImages(dir, key string) ([]string, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, &ConfigError{Key: key, Value: dir, Msg: "no such folder"}
	}
	if !st.IsDir() {
		return nil, &ConfigError{Key: key, Value: dir, Msg: "is not a folder"}
	}
	files, err := ImagesUnder(dir)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		exts := make([]string, 0, len(imageExts))
		for e := range imageExts {
			exts = append(exts, e)
		}
		sort.Strings(exts)
		return nil, fileErr(dir, "folder holds no images (%s)", strings.Join(exts, " "))
	}
	return files, nil
}

// ImagesUnder lists the image files under the folder dir, recursively,
// sorted by path (none: no error), as the references' sorted(make_dataset)
// lists a folder (os.walk without following links below dir).
func ImagesUnder(dir string) ([]string, error) {
	// dir itself may be a link to a folder (os.walk follows that one, not
	// links below it); the files are named under dir as given.
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	var files []string
	err = filepath.WalkDir(real, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.IsDir() && IsImageFile(p) {
			rel, err := filepath.Rel(real, p)
			if err != nil {
				return err
			}
			files = append(files, filepath.Join(dir, rel))
		}
		return nil
	})
	if err != nil {
		if le := asLimit(dir, err); le != nil {
			return nil, le
		}
		return nil, fmt.Errorf("data: scanning %s: %w", dir, err)
	}
	sort.Strings(files)
	return files, nil
}

// fileCheck is the outcome of validating one file.
type fileCheck struct {
	w, h int
	img  *Image
	err  *FileError
}

// validateFiles checks every file (decoding it fully, or reading only its
// header on large folders), computes the output sizes, and with in_memory
// keeps the decoded pixels.
func (d *Dataset) validateFiles(ctx context.Context, opts *OpenOptions) error {
	full := d.cfg.Validate == "full" || d.cfg.InMemory ||
		(d.cfg.Validate == "auto" && len(d.files)+len(d.filesB)+len(d.filesInst) <= 20000)
	if d.lsun != nil && !full && d.cfg.Validate == "auto" && d.cfg.Preprocess == ResizeCenterCrop {
		return d.trustLSUN()
	}
	decA, decB := d.decoders()
	var limitOnce sync.Once
	var limit *LimitError // the first file the open-file limit kept shut
	check := func(files []string, dec decoder, kind mapKind, stage string) []fileCheck {
		res := make([]fileCheck, len(files))
		var done atomic.Int64
		var mu sync.Mutex
		parallelFor(ctx, len(files), openWorkers(d.cfg.Workers), func(i int) {
			r := &res[i]
			defer func() {
				if r.err != nil {
					if le := asLimit(files[i], r.err); le != nil {
						limitOnce.Do(func() { limit = le })
					}
				}
			}()
			if full {
				im, err := dec(files[i])
				if err != nil {
					r.err = asFileErr(files[i], err)
				} else {
					r.w, r.h = im.W, im.H
					if d.cfg.InMemory {
						r.img = im
					}
				}
			} else {
				c, err := d.header(files[i])
				if err != nil {
					r.err = asFileErr(files[i], err)
				} else if kind != plainImage {
					r.err = wrongMapModel(files[i], c.ColorModel, kind)
				}
				if r.err == nil {
					r.w, r.h = c.Width, c.Height
				}
			}
			if opts.Progress != nil {
				k := int(done.Add(1))
				mu.Lock()
				opts.Progress(stage, k, len(files))
				mu.Unlock()
			}
		})
		return res
	}
	kindA := plainImage
	if d.cfg.LabelNC > 0 {
		kindA = labelMap
	}
	resA := check(d.files, decA, kindA, "validate "+d.root)
	var resB, resI []fileCheck
	if d.filesB != nil {
		resB = check(d.filesB, decB, plainImage, "validate "+d.root+" (B)")
	}
	if d.filesInst != nil {
		resI = check(d.filesInst, LoadInstanceMap, instanceMap, "validate "+d.root+" (instance maps)")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if limit != nil {
		return limit // not the files' fault: none is invalid
	}
	invalid := d.skipped
	d.skipped = nil
	sizesA, sizesB := map[[2]int]string{}, map[[2]int]string{}
	// Per-file checks that need the size: odd A|B width, crop too large,
	// A and B (and the instance map) of a pair differing.
	paired := d.kind == "pair" || d.kind == "sorted"
	keepA := make([]bool, len(d.files))
	for i := range d.files {
		r := &resA[i]
		if r.err == nil {
			r.err = d.checkSize(d.files[i], r.w, r.h)
		}
		ok := r.err == nil
		if !ok {
			invalid = append(invalid, r.err)
		}
		if paired {
			for _, o := range []struct {
				res   []fileCheck
				files []string
				ids   bool
			}{{resB, d.filesB, false}, {resI, d.filesInst, true}} {
				if o.res == nil {
					continue
				}
				rb := &o.res[i]
				if rb.err == nil && ok && (rb.w != r.w || rb.h != r.h) {
					rb.err = fileErr(o.files[i], "%s", SizeMismatch(rb.w, rb.h, d.sideA(), d.files[i], r.w, r.h, o.ids))
				}
				if rb.err != nil {
					invalid = append(invalid, rb.err)
					ok = false
				}
			}
		}
		keepA[i] = ok
	}
	keepB := make([]bool, len(d.filesB))
	if d.kind == "unaligned" {
		for i := range d.filesB {
			r := &resB[i]
			if r.err == nil {
				r.err = d.checkSize(d.filesB[i], r.w, r.h)
			}
			if r.err != nil {
				invalid = append(invalid, r.err)
				continue
			}
			keepB[i] = true
		}
	}
	if len(invalid) > 0 {
		slices.SortFunc(invalid, func(a, b *FileError) int { return strings.Compare(a.Path, b.Path) })
		ie := &InvalidFilesError{Root: d.root, Files: invalid,
			None: !slices.Contains(keepA, true) || d.kind == "unaligned" && !slices.Contains(keepB, true)}
		if d.cfg.Trained != "" {
			ie.SkipWith = NoSkip // scoring or encoding every sample
		}
		if !d.cfg.SkipInvalid {
			return ie
		}
		d.skipped = invalid
		list := make([]string, len(invalid))
		for i, f := range invalid {
			list[i] = f.Path + ": " + f.Err.Error()
		}
		d.log.Warn("data: skipping invalid files (data.skip_invalid)", "root", d.root, "count", len(invalid), "files", strings.Join(list, "; "))
	}
	// Keep the valid files (and their pixels).
	var files, filesB, filesInst []string
	var cache, cacheB, cacheInst []*Image
	var dims, dimsB [][2]int
	var labels []int
	for i, f := range d.files {
		if !keepA[i] {
			continue
		}
		files = append(files, f)
		dims = append(dims, [2]int{resA[i].w, resA[i].h})
		if d.labels != nil {
			labels = append(labels, d.labels[i])
		}
		cache = append(cache, resA[i].img)
		sizesA[d.outSize(resA[i].w, resA[i].h, false)] = f
		if paired {
			filesB = append(filesB, d.filesB[i])
			cacheB = append(cacheB, resB[i].img)
		}
		if resI != nil {
			filesInst = append(filesInst, d.filesInst[i])
			cacheInst = append(cacheInst, resI[i].img)
		}
	}
	if d.kind == "unaligned" {
		for i, f := range d.filesB {
			if keepB[i] {
				filesB = append(filesB, f)
				dimsB = append(dimsB, [2]int{resB[i].w, resB[i].h})
				cacheB = append(cacheB, resB[i].img)
				sizesB[d.outSize(resB[i].w, resB[i].h, false)] = f
			}
		}
	}
	if len(files) == 0 || (d.kind == "unaligned" && len(filesB) == 0) {
		return fmt.Errorf("data: %s: no valid images left after skipping %d invalid files", d.root, len(invalid))
	}
	if d.kind == "unaligned-ab" { // the B stream is the right halves of the same files
		filesB, cacheB = files, cache
	}
	d.files, d.filesB, d.filesInst = files, filesB, filesInst
	d.dims, d.dimsB = dims, dimsB
	if d.labels != nil {
		d.labels = labels
	}
	if d.cfg.InMemory {
		d.cache, d.cacheB, d.cacheInst = cache, cacheB, cacheInst
	}
	d.n = len(files)
	if d.kind == "unaligned" {
		d.n = max(len(files), len(filesB))
	}
	// Unaligned streams were cut to max_samples each when found.
	if d.cfg.Dataset != Unaligned && d.cfg.MaxSamples > 0 && d.cfg.MaxSamples < d.n {
		d.n = d.cfg.MaxSamples
	}
	switch d.kind {
	case "unaligned-ab": // the right halves, one column wider where the width is odd
		for i, f := range d.files {
			sizesB[d.outSize(d.dims[i][0], d.dims[i][1], true)] = f
		}
	case "unaligned":
	default:
		sizesB = sizesA // the same transform on images of the same size
	}
	d.setUniform(sizesA, sizesB)
	return nil
}

func (d *Dataset) setUniform(as, bs map[[2]int]string) {
	d.sizes = maps.Clone(as)
	for k, f := range bs {
		d.sizes[k] = f
	}
	d.uniform = len(as) == 1 && len(bs) == 1
	for k := range as {
		d.outA = k
	}
	for k := range bs {
		d.outB = k
	}
	if !d.uniform {
		var ex []string
		for _, m := range []map[[2]int]string{as, bs} {
			for k, f := range m {
				ex = append(ex, fmt.Sprintf("%dx%d from %s", k[0], k[1], f))
			}
		}
		sort.Strings(ex)
		ex = slices.Compact(ex) // aligned data: the A and B maps are one
		d.uniformExample = strings.Join(ex[:min(3, len(ex))], ", ")
	}
}

// splitsAB reports whether each file is an A|B pair to cut at w/2.
func (d *Dataset) splitsAB() bool { return d.kind == "ab" || d.kind == "unaligned-ab" }

// abWidths are the widths of an A|B image's A and B sides: the reference's
// AlignedDataset cuts at int(w / 2), so an odd width's B is one column wider.
func abWidths(w int) (a, b int) { return w / 2, w - w/2 }

// sideWidth is the width of a file w wide as its A side (or its B side when
// bSide): an A|B image's half, the whole file otherwise.
func (d *Dataset) sideWidth(w int, bSide bool) int {
	if !d.splitsAB() {
		return w
	}
	a, b := abWidths(w)
	if bSide {
		return b
	}
	return a
}

// outSize is the output size of a file of w x h as its A side (or its B
// side when bSide).
func (d *Dataset) outSize(w, h int, bSide bool) [2]int {
	ow, oh, _ := d.tf.OutputSize(d.sideWidth(w, bSide), h)
	return [2]int{ow, oh}
}

// checkSize reports a crop that does not fit, and an A|B pair of odd width
// whose halves the preprocess would not line up.
func (d *Dataset) checkSize(path string, w, h int) *FileError {
	wa, wb := d.sideWidth(w, false), d.sideWidth(w, true)
	if wa == 0 && d.splitsAB() {
		return fileErr(path, "A|B image is %dx%d: too narrow to hold two images side by side (A is its left half, B its right half)", w, h)
	}
	for _, sw := range []int{wa, wb} {
		if _, _, err := d.tf.OutputSize(sw, h); err != nil {
			return &FileError{Path: path, Err: err}
		}
	}
	if wa == wb || d.kind != "ab" {
		return nil
	}
	// A pair's halves take one crop and flip, placed in A (get_params takes
	// A's size). The reference's run goes on when both come out one size
	// and B is cut where A is: both resize alike; or a random crop lies in
	// B, which is at least A's size (crop: one column wider), or which is
	// crop-sized already (its __crop leaves it whole). Otherwise its L1
	// fails on two sizes, or its crop runs past B and pads it with black.
	raw, rah := d.tf.resized(wa, h)
	rbw, rbh := d.tf.resized(wb, h)
	cw := d.tf.CropSize
	switch {
	case raw == rbw && rah == rbh:
		return nil
	case d.tf.randomCrop() && rbw >= raw && rbh >= rah:
		return nil
	case d.tf.randomCrop() && rbw == cw && rbh == cw:
		return nil
	}
	return fileErr(path, "A|B image is %dx%d: its halves, %d and %d wide (cut at int(w/2) as the reference cuts), resize to %dx%d and %dx%d with data.preprocess %s, where the reference's run fails (two sizes) or pads B with black (a crop past its edge); give the image an even width, or use resize_and_crop or crop",
		w, h, wa, wb, raw, rah, rbw, rbh, d.tf.Mode)
}

func (d *Dataset) checkUniform() error {
	if d.idx != nil && !d.uniform {
		name := d.cfg.Dataset
		if d.kind == "unaligned-idx" {
			name = d.cfg.Source
		}
		return &ConfigError{Key: "data.preprocess", Value: d.cfg.Preprocess, Msg: fmt.Sprintf("%s images: %s", name, d.uniformExample)}
	}
	return nil
}

func asFileErr(path string, err error) *FileError {
	var fe *FileError
	if errors.As(err, &fe) {
		return fe
	}
	return &FileError{Path: path, Err: err}
}

// openWorkers is the parallelism of validation and in-memory loading: the
// loader's workers, or every core when the loader runs in the caller.
func openWorkers(w int) int {
	if w <= 0 {
		return runtime.GOMAXPROCS(0)
	}
	return w
}

// parallelFor runs f(0..n-1) on up to workers goroutines.
func parallelFor(ctx context.Context, n, workers int, f func(i int)) {
	workers = max(1, min(workers, n))
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				f(i)
			}
		}()
	}
	wg.Wait()
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

// unalignedA is the A stream's position sample i uses: A[i mod |A|], as
// the reference's UnalignedDataset.
func (d *Dataset) unalignedA(i int) int {
	na, _ := d.Streams()
	return i % na
}

// unalignedPick is the A and B positions sample i uses: unalignedA, and
// B[i mod |B|] with serial_batches, else a random B. The random B is the
// first draw of the sample's rng, so the crop and flip draws come after it
// either way.
func (d *Dataset) unalignedPick(i int, r *rng) (ia, ib int) {
	_, nb := d.Streams()
	ia = d.unalignedA(i)
	if d.cfg.SerialBatches {
		return ia, i % nb
	}
	return ia, r.Intn(nb)
}

// decodeChannels is the channel count files are decoded to, for the A files
// and the B files: an A|B image is decoded as RGB unless both sides are gray,
// and the source of a derived pair as its photo side.
func (d *Dataset) decodeChannels() (int, int) {
	switch {
	case d.splitsAB():
		if d.chA == 1 && d.chB == 1 {
			return 1, 1
		}
		return 3, 3
	case d.cfg.Dataset == Edges || d.cfg.Dataset == Gray2Color:
		return d.chB, d.chB
	case d.cfg.Dataset == Colorization:
		return 3, 3
	case d.kind == "folder" || d.kind == "idx":
		return d.cfg.InputNC, d.cfg.InputNC
	}
	return d.chA, d.chB
}

// Sample is one transformed example as 8-bit images: A is the generator's
// input (after data.direction), B the target (nil for single-image datasets).
type Sample struct {
	Index int
	A, B  *Image
	// LabelMap says that A is a map of class ids (data.label_nc > 0), whose
	// values the batch holds as they are, not normalised.
	LabelMap bool
	// Inst is the instance boundary map (data.instance): 1 where the
	// transformed instance map changes id between 4-neighbours, else 0.
	Inst *Image
	// InstIDs is the transformed instance map itself (data.instance_ids), as
	// LoadInstanceMap holds it: 2 channels, each id's high and low byte.
	InstIDs *Image
	// Lab says that A and B are one RGB photo, batched as the L and the ab
	// channels of its CIE Lab (colorization).
	Lab   bool
	Label int // class label, or -1
}

// NamedImage is one of a sample's images and the name its batch tensor has.
// Raw images are batched as their values (a class id 3 as 3.0, a boundary
// as 1.0); the others are normalised to [-1, 1] (float32 batches).
type NamedImage struct {
	Name  string
	Image *Image
	Raw   bool
	Lab   LabPart // the channels of the (RGB) image's CIE Lab batched instead
}

// Channels is how many channels the image has in a batch.
func (ni NamedImage) Channels() int {
	if ni.Lab != NotLab {
		return ni.Lab.Channels()
	}
	return ni.Image.C
}

// PutCHW writes the image as its batch tensor holds it, C x H x W floats:
// raw values, CIE Lab channels or pixels normalised to [-1, 1].
func (ni NamedImage) PutCHW(dst []float32) {
	switch {
	case ni.Lab != NotLab:
		putLab(ni.Image, ni.Lab, dst)
	case ni.Raw:
		putCHWRaw(ni.Image, dst)
	default:
		putCHW(ni.Image, dst)
	}
}

// Images lists the sample's images by the names a batch gives them: "A",
// "B" for pairs, and "inst" (InstTensor) with instance maps. A recipe reads
// its batch by these names.
func (s Sample) Images() []NamedImage {
	out := []NamedImage{{Name: "A", Image: s.A, Raw: s.LabelMap}}
	if s.B != nil {
		out = append(out, NamedImage{Name: "B", Image: s.B})
	}
	if s.Lab {
		out[0].Lab, out[1].Lab = LabL, LabAB
	}
	if s.Inst != nil {
		out = append(out, NamedImage{Name: InstTensor, Image: s.Inst, Raw: true})
	}
	if s.InstIDs != nil {
		out = append(out, NamedImage{Name: InstIDTensor, Image: s.InstIDs, Raw: true})
	}
	return out
}

// Sample returns sample i of the given epoch with gogan's own draws: its
// random choices come from (seed, epoch, i) alone, so it does not matter
// which worker builds it.
func (d *Dataset) Sample(i int, seed, epoch uint64) (Sample, error) {
	if i < 0 || i >= d.n {
		return Sample{}, fmt.Errorf("data: sample %d out of range [0, %d)", i, d.n)
	}
	return d.SampleWith(i, d.ownDraws(i, seed, epoch))
}

// SampleWith returns sample i made with the given draws.
func (d *Dataset) SampleWith(i int, dr Draws) (Sample, error) {
	if i < 0 || i >= d.n {
		return Sample{}, fmt.Errorf("data: sample %d out of range [0, %d)", i, d.n)
	}
	s := Sample{Index: i, Label: -1}
	var err error
	switch d.cfg.Dataset {
	case FashionMNIST, MNIST, CIFAR10, Folder, LSUN:
		var im *Image
		im, s.Label, err = d.source(i, d.cfg.InputNC)
		if err == nil {
			s.A, err = d.tf.Apply(im, dr.P[0])
		}
	case Aligned:
		if d.kind == "sorted" {
			s.LabelMap = d.cfg.LabelNC > 0
			s.A, s.B, s.Inst, s.InstIDs, err = d.sortedSample(i, dr.P[0])
		} else {
			s.A, s.B, err = d.alignedSample(i, dr.P[0])
		}
	case Unaligned:
		s.A, s.B, s.Label, err = d.unalignedSample(i, dr)
	case Edges, Gray2Color:
		s.A, s.B, s.Label, err = d.derivedSample(i, dr.P[0])
	case Colorization:
		var photo *Image
		if photo, err = d.loadFile(d.files, d.cache, i, 3); err == nil {
			photo, err = d.tf.Apply(photo, dr.P[0])
		}
		s.A, s.B, s.Lab = photo, photo, true
	}
	if err != nil {
		return Sample{}, err
	}
	return s, nil
}

// source returns image i of a single-image source (IDX or folder) in c channels.
func (d *Dataset) source(i, c int) (*Image, int, error) {
	if d.kind == "idx" {
		g, label := d.idx.image(i)
		return toChannels(g, c), label, nil
	}
	im, j, err := d.loadFileAt(d.files, d.cache, i, c)
	if d.labels != nil {
		return im, d.labels[j], err // the image read's label, should i have been skipped
	}
	return im, -1, err
}

// loadFile decodes files[i] (or takes it from the cache). A file that fails
// here passed only a header check; with skip_invalid it is replaced by the
// next good file, so that the batch still fills.
func (d *Dataset) loadFile(files []string, cache []*Image, i, c int) (*Image, error) {
	im, _, err := d.loadFileAt(files, cache, i, c)
	return im, err
}

// loadFileAt is loadFile, also saying which file it read.
func (d *Dataset) loadFileAt(files []string, cache []*Image, i, c int) (*Image, int, error) {
	for j, cached := range d.readableFrom(files, cache, i) {
		if cached {
			return toChannels(cache[j], c), j, nil
		}
		im, err := d.load(files[j], c)
		if err == nil {
			return im, j, nil
		}
		if le := asLimit(files[j], err); le != nil {
			return nil, j, le // a good file: not skipped
		}
		if !d.cfg.SkipInvalid {
			return nil, j, err
		}
		if _, seen := d.bad.LoadOrStore(files[j], err); !seen {
			d.log.Warn("data: skipping invalid file (data.skip_invalid)", "error", err.Error())
		}
	}
	return nil, i, fmt.Errorf("data: %s: no readable images left", d.root)
}

// readableFrom yields the files loadFileAt tries for sample i, in order:
// from i on, round the list, but those found invalid (by the time each is
// reached); cached says its image is in cache.
func (d *Dataset) readableFrom(files []string, cache []*Image, i int) iter.Seq2[int, bool] {
	return func(yield func(int, bool) bool) {
		for tries := range len(files) {
			j := (i + tries) % len(files)
			if cache != nil && cache[j] != nil {
				if !yield(j, true) {
					return
				}
				continue
			}
			if _, bad := d.bad.Load(files[j]); bad {
				continue
			}
			if !yield(j, false) {
				return
			}
		}
	}
}

// splitAB cuts an A|B image at int(w/2) into its A and B halves.
func splitAB(ab *Image) (*Image, *Image) {
	wa, wb := abWidths(ab.W)
	return CropImage(ab, 0, 0, wa, ab.H), CropImage(ab, wa, 0, wb, ab.H)
}

func (d *Dataset) orient(a, b *Image) (*Image, *Image) {
	if d.btoa {
		return b, a
	}
	return a, b
}

func (d *Dataset) alignedSample(i int, p Params) (*Image, *Image, error) {
	a, b, err := d.alignedPair(i)
	if err != nil {
		return nil, nil, err
	}
	// One draw for both sides: the same crop, the same flip. The crop is
	// placed in A (get_params takes A's size); B, one column wider for an
	// A|B image of odd width, is cut at the same place.
	rw, rh := d.tf.resized(a.W, a.H)
	x, y, _, _ := d.tf.place(rw, rh, p)
	p.RX, p.RY = uint64(x), uint64(y)
	ta, err := d.tf.Apply(a, p)
	if err != nil {
		return nil, nil, &FileError{Path: d.files[i], Err: err}
	}
	tb, err := d.tf.Apply(b, p)
	if err != nil {
		return nil, nil, &FileError{Path: d.files[i], Err: err}
	}
	ta, tb = d.orient(ta, tb)
	return ta, tb, nil
}

// alignedPair is pair i's A and B images as decoded, before the transform.
func (d *Dataset) alignedPair(i int) (a, b *Image, err error) {
	if d.kind == "ab" {
		c, _ := d.decodeChannels()
		ab, err := d.loadFile(d.files, d.cache, i, c)
		if err != nil {
			return nil, nil, err
		}
		if err := d.checkSize(d.files[i], ab.W, ab.H); err != nil { // a file changed since the open
			return nil, nil, err
		}
		a, b = splitAB(ab)
		a, b = toChannels(a, d.chA), toChannels(b, d.chB)
	} else {
		if a, err = d.loadFile(d.files, d.cache, i, d.chA); err != nil {
			return nil, nil, err
		}
		if b, err = d.loadFile(d.filesB, d.cacheB, i, d.chB); err != nil {
			return nil, nil, err
		}
		if a.W != b.W || a.H != b.H {
			return nil, nil, fileErr(d.filesB[i], "%s", SizeMismatch(b.W, b.H, "A image", d.files[i], a.W, a.H, false))
		}
	}
	return a, b, nil
}

// decoder reads one file of a stream.
type decoder func(path string) (*Image, error)

// decoders read the files of the A and B streams: images in the channels of
// decodeChannels, or, with data.label_nc, the A files as label maps.
func (d *Dataset) decoders() (a, b decoder) {
	chA, chB := d.decodeChannels()
	a = func(p string) (*Image, error) { return d.load(p, chA) }
	b = func(p string) (*Image, error) { return d.load(p, chB) }
	if n := d.cfg.LabelNC; n > 0 {
		a = func(p string) (*Image, error) { return LoadLabelMapFor(p, n, d.cfg.Trained) }
	}
	return a, b
}

// sideA names a pair's A file in messages.
func (d *Dataset) sideA() string {
	if d.cfg.LabelNC > 0 {
		return "label map"
	}
	return "A image"
}

// SizeMismatch says that a file is w x h where its pair's first file (side,
// path) is pw x ph, and what to do: gogan crops, flips and resizes a pair's
// files together, where the references' resizing modes scale each alone.
// ids: the file holds ids (an instance map), resized nearest.
func SizeMismatch(w, h int, side, path string, pw, ph int, ids bool) string {
	how := ""
	if ids {
		how = " with nearest-neighbour sampling (its ids must stay ids)"
	}
	return fmt.Sprintf("is %dx%d but its %s %s is %dx%d: the files of a pair are read at one size (gogan crops and resizes them together), so resize it to %dx%d%s",
		w, h, side, path, pw, ph, pw, ph, how)
}

// sortedSample is sample i of pix2pixHD's folders: the label map (or A
// image), the photo and the instance map get the same crop and flip; the
// maps are resized with nearest neighbours, and the instance map becomes its
// boundary map (and is kept as ids with data.instance_ids).
func (d *Dataset) sortedSample(i int, p Params) (a, b, inst, ids *Image, err error) {
	j, a, b, im, err := d.sortedImages(i)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	// one draw for all: the same crop, the same flip
	tfA := d.tf
	if d.cfg.LabelNC > 0 {
		tfA = d.tfMap
	}
	if a, err = tfA.Apply(a, p); err != nil {
		return nil, nil, nil, nil, &FileError{Path: d.files[j], Err: err}
	}
	if b, err = d.tf.Apply(b, p); err != nil {
		return nil, nil, nil, nil, &FileError{Path: d.filesB[j], Err: err}
	}
	if im != nil {
		t, err := d.tfMap.Apply(im, p)
		if err != nil {
			return nil, nil, nil, nil, &FileError{Path: d.filesInst[j], Err: err}
		}
		inst = InstanceEdges(t)
		if d.cfg.InstanceIDs {
			ids = t
		}
	}
	if d.cfg.LabelNC == 0 {
		a, b = d.orient(a, b)
	}
	return a, b, inst, ids, nil
}

// sortedImages decodes the files of sample i of sorted pairs (position j =
// i); with skip_invalid a sample with a file that fails to decode (after a
// header-only validation) is replaced by the next readable one, all of its
// files together.
func (d *Dataset) sortedImages(i int) (j int, a, b, inst *Image, err error) {
	n := len(d.files)
	for tries := 0; tries < n; tries++ {
		j = (i + tries) % n
		a, b, inst, err = d.sortedAt(j)
		if err == nil || !d.cfg.SkipInvalid {
			return j, a, b, inst, err
		}
	}
	return 0, nil, nil, nil, fmt.Errorf("data: %s: no readable samples left", d.root)
}

// sortedAt decodes (or takes from memory) the files at position j.
func (d *Dataset) sortedAt(j int) (a, b, inst *Image, err error) {
	decA, decB := d.decoders()
	if a, err = d.cachedOrDecode(d.files, d.cache, j, decA); err != nil {
		return nil, nil, nil, err
	}
	if b, err = d.cachedOrDecode(d.filesB, d.cacheB, j, decB); err != nil {
		return nil, nil, nil, err
	}
	if b.W != a.W || b.H != a.H {
		return nil, nil, nil, fileErr(d.filesB[j], "%s", SizeMismatch(b.W, b.H, d.sideA(), d.files[j], a.W, a.H, false))
	}
	if d.filesInst != nil {
		if inst, err = d.cachedOrDecode(d.filesInst, d.cacheInst, j, LoadInstanceMap); err != nil {
			return nil, nil, nil, err
		}
		if inst.W != a.W || inst.H != a.H {
			return nil, nil, nil, fileErr(d.filesInst[j], "%s", SizeMismatch(inst.W, inst.H, d.sideA(), d.files[j], a.W, a.H, true))
		}
	}
	return a, b, inst, nil
}

// cachedOrDecode returns files[j] from memory (data.in_memory) or decodes it.
// A file that fails is remembered and, with skip_invalid, reported once.
func (d *Dataset) cachedOrDecode(files []string, cache []*Image, j int, dec decoder) (*Image, error) {
	if cache != nil && cache[j] != nil {
		return cache[j], nil
	}
	if e, bad := d.bad.Load(files[j]); bad {
		return nil, e.(error)
	}
	im, err := dec(files[j])
	if le := asLimit(files[j], err); le != nil {
		return nil, le // a good file: not skipped, nor remembered as bad
	}
	if err != nil && d.cfg.SkipInvalid {
		if _, seen := d.bad.LoadOrStore(files[j], err); !seen {
			d.log.Warn("data: skipping invalid file (data.skip_invalid)", "error", err.Error())
		}
	}
	return im, err
}

// unalignedSample pairs A[i] with a random B (or B[i] with serial_batches),
// as CycleGAN's UnalignedDataset does, each side with its own crop and flip.
// The label is that of the image that becomes Sample.A (IDX classes only).
func (d *Dataset) unalignedSample(i int, dr Draws) (*Image, *Image, int, error) {
	ia, ib := d.unalignedA(i), dr.B
	a, b, la, lb, err := d.unalignedImages(ia, ib)
	if err != nil {
		return nil, nil, -1, err
	}
	if a, err = d.tf.Apply(a, dr.P[0]); err != nil {
		return nil, nil, -1, d.streamErr(false, ia, err)
	}
	if b, err = d.tf.Apply(b, dr.P[1]); err != nil {
		return nil, nil, -1, d.streamErr(true, ib, err)
	}
	a, b = d.orient(a, b)
	if d.btoa {
		la = lb
	}
	return a, b, la, nil
}

// unalignedImages returns image ia of the A stream and image ib of the B
// stream, decoded and converted to their channels, and their labels (-1
// without).
func (d *Dataset) unalignedImages(ia, ib int) (a, b *Image, la, lb int, err error) {
	if a, la, err = d.streamImage(false, ia); err != nil {
		return nil, nil, -1, -1, err
	}
	if b, lb, err = d.streamImage(true, ib); err != nil {
		return nil, nil, -1, -1, err
	}
	return a, b, la, lb, nil
}

// streamImage is image k of unaligned data's A stream (or B stream when
// bSide), decoded and converted to its channels, and its label (-1
// without). An A|B file is cut at w/2: A is its left half, B its right half.
func (d *Dataset) streamImage(bSide bool, k int) (*Image, int, error) {
	ch := d.chA
	if bSide {
		ch = d.chB
	}
	switch d.kind {
	case "unaligned-idx":
		idx := d.idxA
		if bSide {
			idx = d.idxB
		}
		im, label := d.idx.image(idx[k])
		return toChannels(im, ch), label, nil
	case "unaligned-ab":
		c, _ := d.decodeChannels()
		ab, err := d.loadFile(d.files, d.cache, k, c)
		if err != nil {
			return nil, -1, err
		}
		l, r := splitAB(ab)
		if bSide {
			return toChannels(r, ch), -1, nil
		}
		return toChannels(l, ch), -1, nil
	}
	files, cache := d.files, d.cache
	if bSide {
		files, cache = d.filesB, d.cacheB
	}
	im, err := d.loadFile(files, cache, k, ch)
	return im, -1, err
}

// streamErr names the file (or IDX image) of an unaligned stream in err.
func (d *Dataset) streamErr(bSide bool, i int, err error) error {
	if d.kind == "unaligned-idx" {
		idx, cls := d.idxA, "data.classes_A"
		if bSide {
			idx, cls = d.idxB, "data.classes_B"
		}
		return fmt.Errorf("data: %s image %d (%s): %w", d.cfg.Source, idx[i], cls, err)
	}
	files := d.files
	if bSide {
		files = d.filesB
	}
	return &FileError{Path: files[i], Err: err}
}

// derivedSample builds an (edges or gray, photo) pair from one source image:
// the photo is transformed first and the input derived from it, so the two
// line up exactly whatever the crop and flip.
func (d *Dataset) derivedSample(i int, p Params) (*Image, *Image, int, error) {
	src, label, err := d.source(i, d.chB)
	if err != nil {
		return nil, nil, -1, err
	}
	photo, err := d.tf.Apply(src, p)
	if err != nil {
		return nil, nil, -1, err
	}
	var in *Image
	if d.cfg.Dataset == Edges {
		if d.cfg.EdgeDetector == "sobel" {
			in = SobelEdges(photo)
		} else {
			in = CannyEdges(photo)
		}
	} else {
		in = toGray(photo)
	}
	a, b := d.orient(toChannels(in, d.chA), photo)
	return a, b, label, nil
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
