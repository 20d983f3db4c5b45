package data

import (
	"cmp"
	"context"
	"fmt"
	"sync"
)

// U8Set is a dataset as uint8 NCHW arrays, for a trainer that keeps it on
// its device (data.on_device) and builds each batch there: one U8Tensor per
// batch tensor, and Locate says which row of each a sample uses and where its
// crop lies.
type U8Set struct {
	Tensors []U8Tensor
	// Placed: the transform crops or flips at random, so the rows are only
	// resized, and each sample's crop and flip are cut on the device where
	// Locate says, with the draws Sample makes.
	Placed bool
}

// U8Tensor is the images of one batch tensor as uint8 [rows, C, H, W]: a
// row per sample, or for unaligned data a row per image of its stream.
type U8Tensor struct {
	Name string // the batch's name for it: "A", "B" or InstTensor
	// Raw: class ids or boundaries, batched as their values; the others are
	// normalised as torchvision does ((x/255 - 0.5) / 0.5).
	Raw   bool
	Pix   []uint8
	Shape [4]int
	// Sides: instance boundaries that a random crop cuts, as InstanceSides'
	// bits: whether each pixel's id differs from its left, right, upper and
	// lower neighbour's. The crop's boundary map (InstanceEdges of the
	// cropped map) is 1 where a bit is set whose neighbour lies inside the
	// crop (SideMask).
	Sides bool
	// stream is the index the rows follow: 0 the samples (or unaligned
	// data's A stream), 1 unaligned data's B stream.
	stream int
}

// Place is where a sample's image lies in one U8Tensor: its row, the W x H
// region at (X, Y) (for a Placed set, its crop; otherwise the whole image)
// and whether it is mirrored.
type Place struct {
	Row, X, Y, W, H int
	Flip            bool
}

// ExportU8 transforms every image once and returns them as uint8 arrays,
// for images of one size; Fashion-MNIST at DCGAN's 64x64 is 60000x1x64x64
// = 246 MB. A transform that crops or flips at random is left half done
// (Placed): the images are resized only, and each epoch's crops and flips
// are cut where Locate says. Unaligned data keeps its two streams, each
// image once; Locate pairs them as Sample does. Edge maps, drawn from the
// cropped photo, need a deterministic transform.
func (d *Dataset) ExportU8(ctx context.Context) (*U8Set, error) {
	if d.cfg.Dataset == Colorization {
		return nil, &ConfigError{Key: "data.dataset", Value: d.cfg.Dataset,
			Msg: "colorization's batches are CIE Lab values that the host computes from each cropped photo, not 8-bit pixels kept on the device: set data.on_device=false"}
	}
	placed := d.tf.Random()
	if placed && d.cfg.Dataset == Edges {
		if !d.tf.randomCrop() {
			return nil, &ConfigError{Key: "data.no_flip", Value: d.cfg.NoFlip,
				Msg: "edge maps are detected on each flipped photo, so they cannot be exported once for every epoch: set data.no_flip=true"}
		}
		return nil, &ConfigError{Key: "data.preprocess", Value: d.cfg.Preprocess,
			Msg: "edge maps are detected on each cropped photo, so they cannot be exported once for every epoch: use a preprocess without a random crop (scale_width, none) and data.no_flip=true"}
	}
	if !d.uniform {
		return nil, &ConfigError{Key: "data.preprocess", Value: d.cfg.Preprocess,
			Msg: fmt.Sprintf("a dataset kept on the device needs samples of one size, and these differ (%s): use a preprocess that gives every image one size (resize_and_crop)", d.uniformExample)}
	}
	set := &U8Set{Placed: placed}
	var groups []exportGroup
	if d.cfg.Dataset == Unaligned {
		na, nb := d.Streams()
		side := func(bSide bool) func(int) ([]NamedImage, error) {
			name := "A"
			if bSide != d.btoa {
				name = "B"
			}
			return func(k int) ([]NamedImage, error) {
				im, _, err := d.streamImage(bSide, k) // its errors name the file
				if err != nil {
					return nil, err
				}
				return []NamedImage{{Name: name, Image: d.tf.resizeOnly(im)}}, nil
			}
		}
		groups = []exportGroup{{rows: na, images: side(false)}, {rows: nb, images: side(true), stream: 1}}
	} else {
		images := func(i int) ([]NamedImage, error) {
			s, err := d.Sample(i, 0, 0)
			return s.Images(), err
		}
		if placed {
			images = d.resizedImages
		}
		groups = []exportGroup{{rows: d.n, images: images}}
	}
	for _, g := range groups {
		if err := d.export(ctx, set, g); err != nil {
			return nil, err
		}
	}
	return set, nil
}

// exportGroup is images that share their rows: a sample's A, B and
// boundaries, or one stream of unaligned data.
type exportGroup struct {
	rows   int
	images func(row int) ([]NamedImage, error)
	stream int
}

// export adds g's tensors to set, each image of row k at row k; every
// row's images must have row 0's sizes.
func (d *Dataset) export(ctx context.Context, set *U8Set, g exportGroup) error {
	first, err := g.images(0)
	if err != nil {
		return err
	}
	at := len(set.Tensors)
	for _, im := range first {
		sh := [4]int{g.rows, im.Image.C, im.Image.H, im.Image.W}
		set.Tensors = append(set.Tensors, U8Tensor{Name: im.Name, Raw: im.Raw, Shape: sh, stream: g.stream,
			Pix: make([]uint8, sh[0]*sh[1]*sh[2]*sh[3]), Sides: im.Name == InstTensor && d.tf.randomCrop()})
	}
	var mu sync.Mutex
	var firstErr error
	parallelFor(ctx, g.rows, openWorkers(d.cfg.Workers), func(k int) {
		ims, err := g.images(k)
		for j := 0; err == nil && j < len(ims); j++ {
			t := &set.Tensors[at+j]
			im := ims[j].Image
			if im.C != t.Shape[1] || im.H != t.Shape[2] || im.W != t.Shape[3] {
				err = &ConfigError{Key: "data.preprocess", Value: d.cfg.Preprocess, Msg: fmt.Sprintf(
					"%s is %dx%d (%d channels) after resizing but %s is %dx%d: a dataset kept on the device (data.on_device) needs images of one size before the random crop (resize_and_crop resizes every image to load_size square)",
					d.rowName(g.stream, k), im.W, im.H, im.C, d.rowName(g.stream, 0), t.Shape[3], t.Shape[2])}
				break
			}
			n := im.C * im.H * im.W
			putCHWU8(im, t.Pix[k*n:(k+1)*n])
		}
		if err != nil {
			mu.Lock()
			firstErr = cmpOr(firstErr, err)
			mu.Unlock()
		}
	})
	if err := ctx.Err(); err != nil {
		return err
	}
	return firstErr
}

// rowName names the source of row k of an export's stream: its file, or
// its image in an IDX file.
func (d *Dataset) rowName(stream, k int) string {
	switch {
	case d.kind == "unaligned-idx":
		idx, cls := d.idxA, "data.classes_A"
		if stream == 1 {
			idx, cls = d.idxB, "data.classes_B"
		}
		return fmt.Sprintf("%s image %d (%s)", d.cfg.Source, idx[k], cls)
	case d.kind == "idx":
		return fmt.Sprintf("%s image %d", cmp.Or(d.cfg.Source, d.cfg.Dataset), k)
	case stream == 1:
		return d.filesB[k]
	}
	return d.files[k]
}

// resizedImages is sample i through the transforms' resize (and center
// crop) only, for a Placed export: the crop and flip are cut from it where
// Locate says. Per-pixel derivations (gray) commute with the crop and flip
// and are made here; instance boundaries are made here too, as Sides when a
// random crop will cut them.
func (d *Dataset) resizedImages(i int) ([]NamedImage, error) {
	s := Sample{Index: i, Label: -1}
	switch {
	case d.kind == "sorted":
		_, a, b, inst, err := d.sortedImages(i)
		if err != nil {
			return nil, err
		}
		s.LabelMap = d.cfg.LabelNC > 0
		tfA := d.tf
		if s.LabelMap {
			tfA = d.tfMap
		}
		s.A, s.B = tfA.resizeOnly(a), d.tf.resizeOnly(b)
		if inst != nil {
			m := d.tfMap.resizeOnly(inst)
			if d.tf.randomCrop() {
				s.Inst = InstanceSides(m)
			} else {
				s.Inst = InstanceEdges(m)
			}
			if d.cfg.InstanceIDs {
				s.InstIDs = m
			}
		}
		if !s.LabelMap {
			s.A, s.B = d.orient(s.A, s.B)
		}
	case d.cfg.Dataset == Aligned:
		a, b, err := d.alignedPair(i)
		if err != nil {
			return nil, err
		}
		s.A, s.B = d.orient(d.tf.resizeOnly(a), d.tf.resizeOnly(b))
	case d.cfg.Dataset == Gray2Color:
		src, _, err := d.source(i, d.chB)
		if err != nil {
			return nil, err
		}
		photo := d.tf.resizeOnly(src)
		s.A, s.B = d.orient(toChannels(toGray(photo), d.chA), photo)
	default:
		im, _, err := d.source(i, d.cfg.InputNC)
		if err != nil {
			return nil, err
		}
		s.A = d.tf.resizeOnly(im)
	}
	return s.Images(), nil
}

// Locate returns where sample i of the given epoch lies in each of set's
// tensors (in set.Tensors' order), with the draws Sample(i, seed, epoch)
// makes: see LocateWith.
func (d *Dataset) Locate(set *U8Set, i int, seed, epoch uint64) ([]Place, error) {
	if i < 0 || i >= d.n {
		return nil, fmt.Errorf("data: sample %d out of range [0, %d)", i, d.n)
	}
	return d.LocateWith(set, i, d.ownDraws(i, seed, epoch))
}

// LocateWith returns where sample i made with the draws dr lies in each of
// set's tensors: the rows (for unaligned data, the A and B images it pairs)
// and, for a Placed set, its crops and flips: one for all of an aligned
// sample's images, one for each side of an unaligned pair.
func (d *Dataset) LocateWith(set *U8Set, i int, dr Draws) ([]Place, error) {
	if i < 0 || i >= d.n {
		return nil, fmt.Errorf("data: sample %d out of range [0, %d)", i, d.n)
	}
	rows := [2]int{i, i}
	if d.cfg.Dataset == Unaligned {
		rows = [2]int{d.unalignedA(i), dr.B}
	}
	draws := dr.P
	if set.Placed && d.kind == "ab" {
		// A pair's images take one crop, placed in the file's A half (of
		// odd width, B is one column wider, or crop-sized), as Sample.
		name := "A"
		if d.btoa {
			name = "B"
		}
		for _, t := range set.Tensors {
			if t.Name == name {
				x, y, _, _ := d.tf.place(t.Shape[3], t.Shape[2], draws[0])
				draws[0].RX, draws[0].RY = uint64(x), uint64(y)
				break
			}
		}
	}
	out := make([]Place, len(set.Tensors))
	for k, t := range set.Tensors {
		p := Place{Row: rows[t.stream], W: t.Shape[3], H: t.Shape[2]}
		if set.Placed {
			draw := draws[t.stream]
			p.X, p.Y, p.W, p.H = d.tf.place(p.W, p.H, draw)
			p.Flip = d.tf.Flip && draw.Flip
		}
		out[k] = p
	}
	return out, nil
}

// SideMask is the h x w mask of a Sides tensor's bits for an h x w crop:
// at each pixel, the bits whose neighbour lies inside the crop (all but
// SideLeft in the first column, SideRight in the last, SideUp in the first
// row, SideDown in the last).
func SideMask(w, h int) []uint8 {
	m := make([]uint8, h*w)
	for y := range h {
		for x := range w {
			v := AllSides
			if x == 0 {
				v &^= SideLeft
			}
			if x == w-1 {
				v &^= SideRight
			}
			if y == 0 {
				v &^= SideUp
			}
			if y == h-1 {
				v &^= SideDown
			}
			m[y*w+x] = v
		}
	}
	return m
}
