package eval

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	torch "gogan/cgo"
	"gogan/data"
	"gogan/infer"
	"gogan/runfolder"
)

// InceptionFIDOptions configure FID as pytorch-fid computes it: the
// Fréchet distance between Gaussians fitted to the FID Inception's features
// of two sets of images, each a folder of images, a statistics file, or a
// DCGAN checkpoint's samples.
type InceptionFIDOptions struct {
	Weights    string   // pytorch-fid's FID Inception weights; default DefaultInceptionWeights()
	Paths      []string // folders of images, or .npz statistics files
	Checkpoint string   // a DCGAN checkpoint or run folder: its samples are the first set
	SaveStats  string   // write the one set's statistics to this .npz instead of computing an FID
	Dims       int      // 64, 192, 768 or 2048; default 2048
	BatchSize  int      // images per Inception batch; default 50
	Sampling            // how Checkpoint's images are drawn
	Device     string   // default auto
	Threads    int      // libtorch threads; 0: all cores
	Progress   io.Writer
}

// InceptionFIDResult is the FID (or the saved statistics) and what it was
// computed from.
type InceptionFIDResult struct {
	FID        float64 // NaN when statistics were saved instead
	Sets       []FIDSet
	Dims       int
	Weights    string // the weights file ("" when both sets were statistics files)
	Published  bool   // the weights are pytorch-fid's released file (its SHA-256)
	SavedStats string
	// Warnings say why the FID is not one to compare: a set of no more
	// images than features.
	Warnings []string
}

// FIDSet is one side of an FID.
type FIDSet struct {
	Source string
	N      int // images (0 for a statistics file)
}

func (r *InceptionFIDResult) String() string {
	var sets []string
	for _, s := range r.Sets {
		if s.N > 0 {
			sets = append(sets, fmt.Sprintf("%d images from %s", s.N, s.Source))
		} else {
			sets = append(sets, "statistics "+s.Source)
		}
	}
	weights := "pytorch-fid's FID Inception"
	switch {
	case r.Weights == "":
		weights = "statistics only"
	case !r.Published:
		weights = "Inception weights " + r.Weights + ", not pytorch-fid's released file: not comparable with published FIDs"
	}
	if r.SavedStats != "" {
		return fmt.Sprintf("wrote %s: mean and covariance of %d Inception features of %s (%s)", r.SavedStats, r.Dims, sets[0], weights)
	}
	return fmt.Sprintf("FID %.6f  (%s vs %s; %d features; %s)", r.FID, sets[0], sets[1], r.Dims, weights)
}

// fidSet computes (or reads) one side's Gaussian.
type fidSet struct {
	FIDSet
	stats string // .npz path
	// unread says which files of the folder pytorch-fid would pass by
	// though they are images ("" when none).
	unread string
	// images calls yield on each image of a set of images, 8-bit RGB, in order.
	images func(yield func(*data.Image) error) error
}

// inceptionImageExts are pytorch-fid's IMAGE_EXTENSIONS
// (it matches them in lower case only, as its glob does on Linux).
var inceptionImageExts = []string{"bmp", "jpg", "jpeg", "pgm", "png", "ppm", "tif", "tiff", "webp"}

func openFIDPath(p string) (fidSet, error) {
	st, err := os.Stat(p)
	if err != nil {
		return fidSet{}, fmt.Errorf("eval fid: %w", err)
	}
	if !st.IsDir() {
		if !strings.HasSuffix(p, ".npz") {
			return fidSet{}, fmt.Errorf("eval fid: %s is neither a folder of images nor a .npz statistics file", p)
		}
		return fidSet{FIDSet: FIDSet{Source: p}, stats: p}, nil
	}
	entries, err := os.ReadDir(p)
	if err != nil {
		return fidSet{}, fmt.Errorf("eval fid: %w", err)
	}
	var files, upper []string
	for _, e := range entries {
		ext := strings.TrimPrefix(filepath.Ext(e.Name()), ".")
		switch {
		case e.IsDir():
		case slices.Contains(inceptionImageExts, ext):
			files = append(files, filepath.Join(p, e.Name()))
		case slices.Contains(inceptionImageExts, strings.ToLower(ext)):
			upper = append(upper, e.Name())
		}
	}
	var unread string // a camera's IMG_0001.JPG: pytorch-fid's glob passes it by
	if len(upper) > 0 {
		slices.Sort(upper)
		n := len(upper)
		if n > 3 {
			upper = append(upper[:3], "...")
		}
		unread = fmt.Sprintf("%s: %d files of upper-case extensions (%s) are not read, as pytorch-fid's glob does not read them: give them lower-case extensions to count them",
			p, n, strings.Join(upper, ", "))
	}
	if len(files) < 2 {
		if unread != "" {
			unread = "; " + unread
		}
		return fidSet{}, fmt.Errorf("eval fid: %s holds %s (*.%s): need at least 2 for a covariance%s%s",
			p, data.Count(len(files), "image"), strings.Join(inceptionImageExts, ", *."), unread, imagesBelow(p, entries))
	}
	slices.Sort(files)
	return fidSet{FIDSet: FIDSet{Source: p, N: len(files)}, unread: unread, images: func(yield func(*data.Image) error) error {
		for _, f := range files {
			im, err := data.LoadImage(f, 3) // PIL's convert('RGB')
			if err != nil {
				return fmt.Errorf("eval fid: %w", err)
			}
			if err := yield(im); err != nil {
				return err
			}
		}
		return nil
	}}, nil
}

// imagesBelow says which subfolders of p hold images: pytorch-fid reads a
// folder's own files alone, so a DCGAN's data.root of class folders
// (ImageFolder's layout) is empty to it. "" when none do.
func imagesBelow(p string, entries []os.DirEntry) string {
	var with []string
	for _, e := range entries {
		sub := filepath.Join(p, e.Name())
		if st, err := os.Stat(sub); err != nil || !st.IsDir() { // links to folders too
			continue
		}
		if n := countImages(sub); n > 0 {
			with = append(with, fmt.Sprintf("%s/ (%d)", e.Name(), n))
		}
	}
	if len(with) == 0 {
		return ""
	}
	return fmt.Sprintf("; its subfolders hold images (%s), which pytorch-fid does not read (it takes a folder's own files): give one of them, or a folder holding all the images to compare with", strings.Join(with, ", "))
}

// countImages counts the images pytorch-fid would read given dir: its own
// files (a subfolder's are not read, so only folders that hold some are
// worth naming).
func countImages(dir string) int {
	n := 0
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if st, err := os.Stat(filepath.Join(dir, e.Name())); err == nil && !st.IsDir() &&
			slices.Contains(inceptionImageExts, strings.TrimPrefix(filepath.Ext(e.Name()), ".")) {
			n++
		}
	}
	return n
}

// InceptionFID computes pytorch-fid's FID (or, with SaveStats, its
// statistics of one set).
func InceptionFID(o InceptionFIDOptions) (*InceptionFIDResult, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if o.Dims == 0 {
		o.Dims = 2048
	}
	if o.BatchSize == 0 {
		o.BatchSize = 50
	}
	if o.Device == "" {
		o.Device = "auto"
	}
	if o.Weights == "" {
		o.Weights = DefaultInceptionWeights()
	}
	if !slices.Contains(InceptionDims, o.Dims) {
		return nil, fmt.Errorf("eval fid: --dims %d: pytorch-fid offers %v", o.Dims, InceptionDims)
	}
	if o.BatchSize < 1 {
		return nil, fmt.Errorf("eval fid: --batch-size %d: must be at least 1", o.BatchSize)
	}
	if o.SaveStats != "" && !strings.HasSuffix(o.SaveStats, ".npz") {
		return nil, fmt.Errorf("eval fid: --save-stats %s: name it *.npz (pytorch-fid reads a path as statistics only when it ends in .npz)", o.SaveStats)
	}
	if o.SaveStats != "" {
		if err := newFileHere(o.SaveStats); err != nil {
			return nil, fmt.Errorf("eval fid: --save-stats %w", err)
		}
	}
	if err := o.Sampling.fill(); err != nil {
		return nil, err
	}
	want := 2
	if o.SaveStats != "" {
		want = 1
	}
	if o.Checkpoint != "" {
		want--
	}
	if len(o.Paths) != want {
		got := fmt.Sprintf(" (got %d: %q)", len(o.Paths), o.Paths)
		if len(o.Paths) == 0 {
			got = ""
		}
		switch {
		case o.SaveStats != "":
			return nil, errors.New("eval fid: --save-stats writes the statistics of one set: give one folder of images, or --checkpoint alone" + got)
		case o.Checkpoint != "":
			return nil, errors.New("eval fid: --checkpoint's samples are one set: give one other, a folder of real images or their .npz statistics" + got)
		default:
			return nil, errors.New("eval fid: give two sets, each a folder of images or a .npz of statistics (pytorch-fid's), or --checkpoint and one set" + got)
		}
	}
	dev, err := torch.UseDevice(o.Device)
	if err != nil {
		return nil, err
	}
	if err := torch.SetThreads(o.Threads); err != nil {
		return nil, err
	}
	var sets []fidSet
	if o.Checkpoint != "" {
		ck, _, cfg, err := runfolder.OpenCheckpoint(o.Checkpoint)
		if err != nil {
			return nil, err
		}
		gen, err := infer.Generation(ck, cfg, "eval fid")
		if err != nil {
			return nil, fmt.Errorf("eval fid: --checkpoint needs a DCGAN checkpoint (a recipe that draws from noise); for image-to-image runs, translate the test images and give the output folder: %w", err)
		}
		sets = append(sets, fidSet{FIDSet: FIDSet{Source: fmt.Sprintf("%s (G in %s mode, seed %d%s)", ck.Dir, o.GMode, o.Seed, gen.InTurn()), N: o.Samples},
			images: func(yield func(*data.Image) error) error {
				return generateBatches(ck, cfg, gen, dev, o.Samples, o.Seed, o.GMode == "train", func(x []float32, shape []int64) error {
					c, h, w := int(shape[1]), int(shape[2]), int(shape[3])
					for i := 0; i < int(shape[0]); i++ {
						if err := yield(pngImage(x[i*c*h*w:(i+1)*c*h*w], c, h, w)); err != nil {
							return err
						}
					}
					return nil
				})
			}})
	}
	for _, p := range o.Paths {
		s, err := openFIDPath(p)
		if err != nil {
			return nil, err
		}
		sets = append(sets, s)
	}
	if o.SaveStats != "" && sets[0].stats != "" {
		return nil, fmt.Errorf("eval fid: --save-stats: %s already is a statistics file", sets[0].stats)
	}
	res := &InceptionFIDResult{FID: math.NaN(), Dims: o.Dims}
	var model *Inception
	defer func() {
		if model != nil {
			model.Free()
		}
	}()
	// With statistics files only, no network runs: their dimensions rule
	// (pytorch-fid's --dims only picks the network's block).
	statsOnly := !slices.ContainsFunc(sets, func(s fidSet) bool { return s.stats == "" })
	var gs []Gaussian
	for _, s := range sets {
		var g Gaussian
		if s.stats != "" {
			if g, err = ReadStats(s.stats); err != nil {
				return nil, fmt.Errorf("eval fid: %w", err)
			}
			if statsOnly {
				if len(gs) == 1 && len(gs[0].Mu) != len(g.Mu) {
					return nil, fmt.Errorf("eval fid: %s holds statistics of %d features, %s of %d: compute both with the same --dims", sets[0].stats, len(gs[0].Mu), s.stats, len(g.Mu))
				}
				res.Dims = len(g.Mu)
			} else if len(g.Mu) != o.Dims {
				if !slices.Contains(InceptionDims, len(g.Mu)) {
					return nil, fmt.Errorf("eval fid: %s holds statistics of %d features, which the FID Inception does not give (--dims %v): not pytorch-fid's; compute them anew with gogan eval fid --save-stats",
						s.stats, len(g.Mu), InceptionDims)
				}
				return nil, fmt.Errorf("eval fid: %s holds statistics of %d features; pass --dims %d, or compute them anew", s.stats, len(g.Mu), len(g.Mu))
			}
		} else {
			if model == nil {
				if model, err = LoadInception(o.Weights, dev); err != nil {
					return nil, fmt.Errorf("eval fid: %w", err)
				}
				res.Weights, res.Published = model.Path, model.Published()
			}
			if g, err = inceptionGaussian(model, s, o); err != nil {
				return nil, err
			}
		}
		res.Sets = append(res.Sets, s.FIDSet)
		gs = append(gs, g)
	}
	for _, s := range sets {
		if s.unread != "" {
			res.Warnings = append(res.Warnings, s.unread)
		}
	}
	for _, s := range res.Sets {
		if s.N > 0 && s.N <= res.Dims {
			// pytorch-fid's sqrtm of the singular product then adds 1e-6
			// to the diagonals, or fails ("Imaginary component").
			res.Warnings = append(res.Warnings, fmt.Sprintf("%s: %d images for %d features: the covariance is singular, so this FID is not comparable with others (pytorch-fid's gives another value or refuses); use more images than features (pytorch-fid asks for at least 2048), or a smaller --dims", s.Source, s.N, res.Dims))
		}
	}
	if o.SaveStats != "" {
		if err := WriteStats(o.SaveStats, gs[0]); err != nil {
			return nil, fmt.Errorf("eval fid: %w", err)
		}
		res.SavedStats = o.SaveStats
		return res, nil
	}
	if res.FID, err = FrechetDistance(gs[0], gs[1]); err != nil {
		return nil, fmt.Errorf("eval fid: %s and %s: %w", res.Sets[0].Source, res.Sets[1].Source, err)
	}
	return res, nil
}

// inceptionGaussian fits a Gaussian to the Inception features of a set.
func inceptionGaussian(m *Inception, s fidSet, o InceptionFIDOptions) (Gaussian, error) {
	feats, err := inceptionFeatures(m, s, o)
	if err != nil {
		return Gaussian{}, err
	}
	g, err := FitGaussian(feats, o.Dims)
	if err != nil {
		return Gaussian{}, fmt.Errorf("eval fid: %s: %w", s.Source, err)
	}
	return g, nil
}

// inceptionFeatures runs the images of a set through the Inception in
// batches: [N Dims] row after row.
func inceptionFeatures(m *Inception, s fidSet, o InceptionFIDOptions) ([]float32, error) {
	feats := make([]float32, 0, s.N*o.Dims)
	// pytorch-fid stacks a batch's images, so they must share a size; here
	// a batch ends early where the size changes instead.
	var batch []float32
	var bw, bh, n, done int
	flush := func() error {
		if n == 0 {
			return nil
		}
		err := torch.Try(func() {
			sc := torch.NewScope()
			defer sc.Close()
			torch.NoGrad(func() {
				x := torch.FromFloat32(batch, int64(n), 3, int64(bh), int64(bw)).To(m.dev)
				feats = append(feats, m.Features(x, o.Dims).Float32s()...)
			})
		})
		if err != nil {
			return fmt.Errorf("eval fid: Inception features of %s: %w", s.Source, err)
		}
		done += n
		if o.Progress != nil && (done/500 != (done-n)/500 || done == s.N) { // every 500 images
			fmt.Fprintf(o.Progress, "inception: %d/%d images of %s\n", done, s.N, s.Source)
		}
		batch, n = batch[:0], 0
		return nil
	}
	err := s.images(func(im *data.Image) error {
		if n > 0 && (im.W != bw || im.H != bh) {
			if err := flush(); err != nil {
				return err
			}
		}
		bw, bh = im.W, im.H
		batch = appendCHW(batch, im)
		if n++; n == o.BatchSize {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return nil, err
	}
	return feats, nil
}

// appendCHW appends an 8-bit HWC RGB image as torchvision's ToTensor gives
// it: CHW, float32 value / 255.
func appendCHW(dst []float32, im *data.Image) []float32 {
	hw := im.W * im.H
	n := len(dst)
	dst = slices.Grow(dst, 3*hw)[:n+3*hw]
	for i := 0; i < hw; i++ {
		for c := 0; c < 3; c++ {
			dst[n+c*hw+i] = float32(im.Pix[3*i+c]) / 255
		}
	}
	return dst
}

// pngImage is one generated image, CHW in [-1, 1] already quantised to 8
// bits, as PIL reads its PNG back: its 8-bit levels, a gray image's channel
// repeated three times (convert('RGB')).
func pngImage(x []float32, c, h, w int) *data.Image {
	im := data.NewImage(w, h, 3)
	hw := h * w
	for i := 0; i < hw; i++ {
		for k := 0; k < 3; k++ {
			v := x[min(k, c-1)*hw+i]
			im.Pix[3*i+k] = uint8(math.Round((float64(v) + 1) / 2 * 255)) // the level quantize8 chose
		}
	}
	return im
}

// newFileHere checks, before hours of work, that path can be written as a
// new file: it does not exist (pytorch-fid refuses to overwrite statistics
// too) and its folder does and takes files.
func newFileHere(path string) error {
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("%s exists: remove it or name another file (statistics are not overwritten, as pytorch-fid's)", path)
	}
	dir := filepath.Dir(path)
	switch fi, err := os.Stat(dir); {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s: the folder %s does not exist: make it first", path, dir)
	case err != nil:
		return fmt.Errorf("%s: %w", path, err)
	case !fi.IsDir():
		return fmt.Errorf("%s: %s is a file, not a folder", path, dir)
	}
	f, err := os.CreateTemp(dir, ".gogan-check-*")
	if err != nil {
		return fmt.Errorf("%s: cannot write in %s: %w", path, dir, err)
	}
	f.Close()
	return os.Remove(f.Name())
}
