package data

import (
	"fmt"
	"iter"
)

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

// Input is Sample(i, seed, epoch).A, the generator's input, decoding only
// the files it comes from: one domain's of unaligned data, one folder's of
// pairs kept in two (an A|B image, or the photo an input is derived from,
// is read whole, as Sample reads it). For a caller that needs no target
// (gogan serve's palette): reading it doubled the files decoded, and a
// target file that failed to decode failed its input too.
func (d *Dataset) Input(i int, seed, epoch uint64) (*Image, error) {
	if i < 0 || i >= d.n {
		return nil, fmt.Errorf("data: sample %d out of range [0, %d)", i, d.n)
	}
	dr := d.ownDraws(i, seed, epoch)
	switch {
	case d.cfg.Dataset == Unaligned:
		// unalignedSample's side that orient makes A
		k, p := d.unalignedA(i), dr.P[0]
		if d.btoa {
			k, p = dr.B, dr.P[1]
		}
		im, _, err := d.streamImage(d.btoa, k)
		if err != nil {
			return nil, err
		}
		if im, err = d.tf.Apply(im, p); err != nil {
			return nil, d.streamErr(d.btoa, k, err)
		}
		return im, nil
	case d.kind == "pair" || d.kind == "sorted" && d.cfg.LabelNC == 0 && d.filesInst == nil:
		// A pair's files are of one size, so the crop placed in A (as
		// alignedSample and sortedSample place it) is the same in B.
		files, cache, c := d.files, d.cache, d.chA
		if d.btoa {
			files, cache, c = d.filesB, d.cacheB, d.chB
		}
		im, j, err := d.loadFileAt(files, cache, i, c)
		if err != nil {
			return nil, err
		}
		if im, err = d.tf.Apply(im, dr.P[0]); err != nil {
			return nil, &FileError{Path: files[j], Err: err}
		}
		return im, nil
	}
	s, err := d.SampleWith(i, dr)
	return s.A, err
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
			d.log.Warn("data: skipping invalid file ("+d.skipFlag()+")", "error", err.Error())
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
			d.log.Warn("data: skipping invalid file ("+d.skipFlag()+")", "error", err.Error())
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
