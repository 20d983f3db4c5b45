package serve

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"gogan/data"
)

// Input kinds: what the page offers for drawing the generator's input.
const (
	// InputLabels is a label map (facades, cityscapes): a palette of the
	// label colours, filled rectangles and a square brush without
	// anti-aliasing, so that every pixel keeps a label's colour.
	InputLabels = "labels"
	// InputSketch is an edge map or sketch: a pen in the foreground colour
	// and an eraser in the background colour.
	InputSketch = "sketch"
	// InputImage is a photo-like input (gray2color, a CycleGAN's photo
	// side): uploading an image is the main way in; a pen with the data's
	// common colours is there to retouch it.
	InputImage = "image"
)

// Colour is one palette entry: an RGB colour and the share of the input
// pixels it covered in the training data (0 for a given palette).
type Colour struct {
	R, G, B uint8
	Share   float64
	Exact   float64
}

// Hex is the colour as #rrggbb.
func (c Colour) Hex() string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

// isGray reports whether the colour has (nearly) no hue.
func (c Colour) isGray() bool {
	lo := min(c.R, c.G, c.B)
	hi := max(c.R, c.G, c.B)
	return hi-lo < 24
}

func (c Colour) dist2(d Colour) float64 {
	dr, dg, db := float64(c.R)-float64(d.R), float64(c.G)-float64(d.G), float64(c.B)-float64(d.B)
	return dr*dr + dg*dg + db*db
}

// ParsePalette reads a comma-separated list of #rrggbb (or rrggbb) colours.
func ParsePalette(s string) ([]Colour, error) {
	var out []Colour
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimPrefix(strings.TrimSpace(f), "#")
		if f == "" {
			continue
		}
		v, err := strconv.ParseUint(f, 16, 32)
		if err != nil || len(f) != 6 {
			return nil, fmt.Errorf("palette colour %q: want #rrggbb (six hex digits)", f)
		}
		out = append(out, Colour{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v)})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("palette %q: no colours", s)
	}
	return out, nil
}

// DefaultLabelPalette is the palette of the CMP facades label maps (the
// pix2pix facades set's right halves): FindPalette's result on its first 64
// training pairs, one colour for each of the 12 labels, largest share first
// (facade wall, background, window, ...). The page falls back to it for a
// 3-channel model whose training data cannot be read.
var DefaultLabelPalette = []Colour{
	{R: 0x00, G: 0x30, B: 0xff}, {R: 0x00, G: 0x00, B: 0xde}, {R: 0x02, G: 0x7f, B: 0xff}, {R: 0xff, G: 0x50, B: 0x00},
	{R: 0xc0, G: 0xff, B: 0x3f}, {R: 0x20, G: 0xff, B: 0xe0}, {R: 0xae, G: 0x00, B: 0x01}, {R: 0x70, G: 0xfe, B: 0x90},
	{R: 0x01, G: 0xcf, B: 0xff}, {R: 0xff, G: 0x9f, B: 0x00}, {R: 0xff, G: 0xf0, B: 0x01}, {R: 0x07, G: 0x08, B: 0xa1},
}

// Palette analysis settings (see FindPalette).
const (
	// seedShare is the share of all pixels a bin needs to start a palette
	// colour.
	seedShare = 0.001
	// mergeDist is how far (Euclidean, 0..255 per channel) a pixel may lie
	// from a palette colour to count as that colour: JPEG noise and
	// chroma subsampling shift label colours by less; the label colours of
	// the datasets we know lie at least ~50 apart.
	mergeDist = 40
	// tightDist is how close a pixel must be to count as exactly that
	// colour (JPEG noise in flat areas).
	tightDist = 12
	// minShare is the share of all pixels a palette colour must cover.
	minShare = 0.001
	// minLabelExact is the share of a label colour's pixels that must be
	// within tightDist of it: a label fills flat areas, a blend at the
	// border of two labels has few exact pixels (facades: labels 0.5 to
	// 0.93, blends 0.18 to 0.29).
	minLabelExact = 0.4
	// maxColours caps the palette.
	maxColours = 32
)

// Analysis is what the training data's inputs look like.
type Analysis struct {
	Kind       string   // InputLabels, InputSketch or InputImage
	Colours    []Colour // by share, largest first
	Coverage   float64  // share of the pixels within mergeDist of a colour
	Exact      float64  // share of the pixels within tightDist of a colour
	Background Colour   // the colour to clear the canvas with
	Pen        Colour   // the first drawing colour
	Images     int      // how many images were analysed
}

// FindPalette finds the colours an input image set is drawn with. It counts
// the pixels' exact colours and puts them in bins of 8 levels per channel,
// then goes through the bins, fullest first: the most frequent exact colour
// of a bin with at least seedShare of the pixels becomes a palette colour
// unless it lies within mergeDist of one already (so a palette colour is a
// label map's true colour, not one shifted by JPEG noise). Each pixel then
// counts for its nearest palette colour within mergeDist; colours with at
// least minShare of the pixels stay. What kind of input this is:
//
//   - sketch: the two largest colours cover at least 90% of the pixels
//     (strokes on a background): background the largest, pen the other;
//   - labels: at least three colours, two of them not gray, and at least
//     60% of the pixels within tightDist of one (flat areas of exact
//     colours: a label map; JPEG ringing at borders is most of the rest);
//   - image: anything else (photos: smooth colours, few exact repeats).
func FindPalette(ims []*data.Image) Analysis {
	counts := map[uint32]int{}
	total := 0
	for _, im := range ims {
		for p := 0; p < im.W*im.H; p++ {
			var k uint32
			if im.C == 1 {
				v := uint32(im.Pix[p])
				k = v<<16 | v<<8 | v
			} else {
				k = uint32(im.Pix[p*im.C])<<16 | uint32(im.Pix[p*im.C+1])<<8 | uint32(im.Pix[p*im.C+2])
			}
			counts[k]++
		}
		total += im.W * im.H
	}
	an := Analysis{Kind: InputImage, Images: len(ims)}
	if total == 0 {
		return an
	}
	type exact struct {
		c Colour
		n int
	}
	cs := make([]exact, 0, len(counts))
	for k, n := range counts {
		cs = append(cs, exact{Colour{R: uint8(k >> 16), G: uint8(k >> 8), B: uint8(k)}, n})
	}
	// Bins of 8 levels per channel, each with its count and its most
	// frequent exact colour.
	type bin struct {
		mode exact
		n    int
	}
	bins := map[uint32]*bin{}
	for _, e := range cs {
		k := uint32(e.c.R>>3)<<10 | uint32(e.c.G>>3)<<5 | uint32(e.c.B>>3)
		b := bins[k]
		if b == nil {
			b = &bin{}
			bins[k] = b
		}
		b.n += e.n
		if e.n > b.mode.n || (e.n == b.mode.n && key(e.c) < key(b.mode.c)) {
			b.mode = e
		}
	}
	bs := make([]*bin, 0, len(bins))
	for _, b := range bins {
		bs = append(bs, b)
	}
	slices.SortFunc(bs, func(a, b *bin) int {
		if a.n != b.n {
			return b.n - a.n
		}
		return int(key(a.mode.c)) - int(key(b.mode.c))
	})
	var centres []Colour
	for _, b := range bs {
		if float64(b.n)/float64(total) < seedShare || len(centres) == 4*maxColours {
			break
		}
		if nearest(centres, b.mode.c, mergeDist) < 0 {
			centres = append(centres, b.mode.c)
		}
	}
	near := make([]int, len(centres))
	tight := make([]int, len(centres))
	for _, e := range cs {
		i := nearest(centres, e.c, mergeDist)
		if i < 0 {
			continue
		}
		near[i] += e.n
		if centres[i].dist2(e.c) <= tightDist*tightDist {
			tight[i] += e.n
		}
	}
	exactN := 0
	for i, c := range centres {
		if s := float64(near[i]) / float64(total); s >= minShare {
			c.Share = s
			c.Exact = float64(tight[i]) / float64(near[i])
			an.Colours = append(an.Colours, c)
			exactN += tight[i]
		}
	}
	slices.SortStableFunc(an.Colours, func(a, b Colour) int {
		switch {
		case a.Share > b.Share:
			return -1
		case a.Share < b.Share:
			return 1
		}
		return 0
	})
	an.Colours = an.Colours[:min(len(an.Colours), maxColours)]
	for _, c := range an.Colours {
		an.Coverage += c.Share
	}
	an.Exact = float64(exactN) / float64(total)
	if len(an.Colours) == 0 {
		return an
	}
	an.Background = an.Colours[0]
	an.Pen = farthest(an.Colours, an.Background)
	top2 := an.Colours[0].Share
	if len(an.Colours) > 1 {
		top2 += an.Colours[1].Share
	}
	coloured := 0
	for _, c := range an.Colours {
		if !c.isGray() {
			coloured++
		}
	}
	switch {
	case len(an.Colours) >= 2 && top2 >= 0.9:
		an.Kind = InputSketch
		an.Pen = an.Colours[1]
	case len(an.Colours) >= 3 && coloured >= 2 && an.Exact >= 0.6:
		an.Kind = InputLabels
		// Colours with few exact pixels are blends at the borders of two
		// labels (JPEG chroma subsampling), not labels.
		an.Colours = slices.DeleteFunc(an.Colours, func(c Colour) bool { return c.Exact < minLabelExact })
		an.Background, an.Pen = an.Colours[0], an.Colours[min(1, len(an.Colours)-1)]
	}
	return an
}

func key(c Colour) uint32 { return uint32(c.R)<<16 | uint32(c.G)<<8 | uint32(c.B) }

// nearest is the index of the colour of cs nearest to c within dist, or -1.
func nearest(cs []Colour, c Colour, dist float64) int {
	best, bd := -1, dist*dist
	for i, d := range cs {
		if x := d.dist2(c); x <= bd {
			best, bd = i, x
		}
	}
	return best
}

// farthest is the colour of cs farthest from c (c itself when alone).
func farthest(cs []Colour, c Colour) Colour {
	best, bd := c, -1.0
	for _, d := range cs {
		if x := d.dist2(c); x > bd {
			best, bd = d, x
		}
	}
	return best
}
