package data

import (
	"context"
	"errors"
	"fmt"
	"image/color"
	"maps"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// fileCheck is the outcome of validating one file.
type fileCheck struct {
	w, h int
	img  *Image
	err  *FileError
	gray bool // colorization: a colourless photo (warnGrayPhotos)
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
					r.gray = d.cfg.Dataset == Colorization && colourless(im)
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
					if r.err == nil && kind == labelMap && rgbPNG(files[i], c.ColorModel) {
						if _, err := dec(files[i]); err != nil { // its channels decide
							r.err = asFileErr(files[i], err)
						}
					}
				}
				if r.err == nil {
					r.w, r.h = c.Width, c.Height
					r.gray = d.cfg.Dataset == Colorization && (c.ColorModel == color.GrayModel || c.ColorModel == color.Gray16Model)
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
		ie := &InvalidFilesError{Root: d.root, Files: invalid, SkipWith: d.cfg.SkipFlag, Trained: d.cfg.Trained,
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
		d.log.Warn("data: skipping invalid files ("+d.skipFlag()+")", "root", d.root, "count", len(invalid), "files", strings.Join(list, "; "))
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
	if d.cfg.Dataset == Colorization && d.cfg.Trained == "" { // training, not scoring
		var gray []string
		for i, f := range d.files {
			if keepA[i] && resA[i].gray {
				gray = append(gray, f)
			}
		}
		d.warnGrayPhotos(gray, len(files))
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
	for i, sw := range []int{wa, wb} {
		if _, _, err := d.tf.OutputSize(sw, h); err != nil {
			if ce, ok := err.(*CropError); ok && d.splitsAB() {
				ce.Side, ce.FileW = "AB"[i:i+1], w
			}
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

// colourless reports whether every pixel of an RGB image is gray (R = G =
// B): a black-and-white photo, whatever the file stored it as.
func colourless(im *Image) bool {
	if im.C != 3 {
		return im.C == 1
	}
	for p := 0; p+2 < len(im.Pix); p += 3 {
		if im.Pix[p] != im.Pix[p+1] || im.Pix[p] != im.Pix[p+2] {
			return false
		}
	}
	return true
}

// warnGrayPhotos says which of a colorization run's n photos are gray: their
// ab targets are 0, so they teach the generator to leave photos gray (the
// reference's ColorizationDataset trains on them alike, silently).
func (d *Dataset) warnGrayPhotos(gray []string, n int) {
	if len(gray) == 0 {
		return
	}
	files := strings.Join(gray[:min(5, len(gray))], ", ")
	if len(gray) > 5 {
		files += ", ..."
	}
	d.log.Warn(fmt.Sprintf("data: %d of %d photos under %s are gray (a = b = 0 in CIE Lab): they teach the generator to leave photos gray; move them out of %s to train on colour photos alone",
		len(gray), n, d.root, d.root), "files", files)
}
