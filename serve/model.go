package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	torch "gogan/cgo"
	"gogan/config"
	"gogan/data"
	"gogan/gan"
	"gogan/infer"
	"gogan/runfolder"
)

// Kinds of model the server runs.
const (
	KindTranslate = "translate" // image to image: pix2pix, CycleGAN (one direction)
	KindGenerate  = "generate"  // noise to image: DCGAN
)

// Model is the generator a server runs and what the page needs to know of it.
type Model struct {
	Checkpoint runfolder.Checkpoint
	Config     *config.Config
	Recipe     string
	Kind       string // KindTranslate or KindGenerate
	Role       string // the generator's network role (G, G_A, G_B)
	Direction  string // translate: AtoB or BtoA
	// PairDirection is the data.direction under which a training pair's A
	// is this generator's input.
	PairDirection string
	NetG          string
	Norm          string // the generator's normalisation (batch, instance, none)
	// Size is the side of the square images the generator takes (translate:
	// the training crop size) or makes (generate: data.image_size).
	Size int
	// InputNC is the channels input images are decoded to (translate: the
	// generator's, or RGB for colorization, whose generator takes their L).
	InputNC  int
	OutputNC int // output channels
	// Translation is the recipe's translation (translate): how images become
	// the generator's input and its output images.
	Translation gan.Translation
	// Gen is how the generator draws (generate): one sample's noise shape
	// (nz, 1, 1) and the classes it takes (a class-conditional recipe).
	Gen infer.Generator
	// Eval runs the generator in eval mode (BatchNorm running statistics, no
	// dropout); DCGAN always is, as gogan sample.
	Eval bool
}

// NZ is the length of one latent vector.
func (m *Model) NZ() int {
	n := 1
	for _, d := range m.Gen.Noise {
		n *= int(d)
	}
	return n
}

// Batchable reports whether several requests may share a forward pass
// without changing each other's results: not in train mode with BatchNorm,
// whose batch statistics would mix the requests' images.
func (m *Model) Batchable() bool { return m.Eval || m.Norm != "batch" }

// OpenModel opens a checkpoint (or run folder) for serving: its recipe must
// have a generator that translates images (direction picks CycleGAN's) or
// draws them from noise, and its weights must hold that generator.
func OpenModel(path, direction string, eval bool) (*Model, error) {
	ck, _, cfg, err := runfolder.OpenCheckpoint(path)
	if err != nil {
		return nil, err
	}
	def, err := gan.For(cfg)
	if err != nil {
		return nil, err
	}
	m := &Model{Checkpoint: ck, Config: cfg, Recipe: cfg.Recipe, NetG: cfg.Model.NetG}
	switch {
	case def.Translate != nil:
		tr, err := infer.Translation(ck, cfg, direction, "gogan serve")
		if err != nil {
			return nil, err
		}
		if tr.Encode != nil {
			return nil, fmt.Errorf("gogan serve draws images, but the generator of %s takes %s; a pix2pixhd run with data.label_nc=0 and data.no_instance=true, without model.instance_feat or label_feat, can be served", ck.Dir, encodedInputs(cfg, tr))
		}
		m.Kind, m.Role, m.Direction, m.PairDirection = KindTranslate, tr.Role, tr.Direction, tr.PairDirection
		if m.Size, err = infer.SquareSide(cfg, tr.Role); err != nil {
			return nil, fmt.Errorf("checkpoint %s: %w", ck.Dir, err)
		}
		m.InputNC, m.OutputNC, m.Translation = tr.InputChannels(), tr.OutputNC, tr
		if tr.Lab {
			m.OutputNC = 3 // L with the generator's ab, as RGB
		}
		m.Eval = eval
	case def.Generate != nil:
		if direction != "" {
			return nil, fmt.Errorf("checkpoint %s is a %s run: it draws images from noise, so --direction %s means nothing to it", ck.Dir, cfg.Recipe, direction)
		}
		gen, err := infer.Generation(ck, cfg, "gogan serve")
		if err != nil {
			return nil, err
		}
		m.Kind, m.Role, m.Gen = KindGenerate, gen.Role, gen
		m.Size = cfg.Data.ImageSize
		m.Eval = true
	default:
		return nil, fmt.Errorf("checkpoint %s is a %s run: recipe %s has no generator that gogan serve can run (neither image-to-image nor noise-to-image)", ck.Dir, cfg.Recipe, cfg.Recipe)
	}
	spec, err := gan.NetSpecOf(cfg, m.Role)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", ck.Dir, err)
	}
	m.Norm = spec.Options.Norm
	if m.Norm == "" {
		m.Norm = "batch" // nets.Options' default
	}
	if m.Kind == KindGenerate {
		m.OutputNC = spec.Options.OutputNC
		if m.OutputNC == 0 {
			m.OutputNC = 3
		}
	}
	var roles []string
	for _, sp := range def.Nets(cfg) {
		roles = append(roles, sp.Role)
	}
	if err := hasWeights(ck, m.Role, roles); err != nil {
		return nil, err
	}
	return m, nil
}

// hasWeights checks that the checkpoint's weights hold tensors of the
// generator role (role.*), reading only the safetensors header: a checkpoint
// of something else is refused, naming the recipe's networks it does hold.
func hasWeights(ck runfolder.Checkpoint, role string, roles []string) error {
	names, _, err := torch.SafetensorsHeader(ck.WeightsPath())
	if err != nil {
		// Removed reads a missing file as pruned since it was validated
		// and passes other errors through.
		return ck.Removed(fmt.Errorf("checkpoint %s: %w", ck.Dir, err))
	}
	has := map[string]bool{}
	for _, k := range names {
		if r, _, ok := strings.Cut(k, "."); ok {
			has[r] = true
		}
	}
	if has[role] {
		return nil
	}
	var held []string
	for _, r := range roles {
		if has[r] {
			held = append(held, r)
		}
	}
	what := "none of its recipe's networks"
	if len(held) > 0 {
		what = "only " + strings.Join(held, ", ")
	}
	return fmt.Errorf("checkpoint %s is not a generator checkpoint: its weights hold no %s.* tensors (the generator %s that gogan serve runs), %s", ck.Dir, role, role, what)
}

// Inputs is what the training data's inputs look like, for the page.
type Inputs struct {
	Analysis
	// Source says where the palette came from, in words for the page.
	Source string
	// Examples are a few training inputs at the model's size (resized as
	// translate resizes), for the page's "example" button.
	Examples []*data.Image
}

// maxAnalysed is how many training inputs FindPalette looks at.
const maxAnalysed = 64

// ReadInputs reads up to maxAnalysed of the generator's training inputs (the
// input side of pairs after data.direction, under root, or the config's
// data.root when root is empty) and analyses their colours. An error says why
// the data could not be read; the caller falls back to defaults.
func ReadInputs(ctx context.Context, m *Model, root string) (*Inputs, error) {
	if m.Kind != KindTranslate {
		return nil, errors.New("not an image-to-image model")
	}
	dc, err := gan.DataConfig(m.Config)
	if err != nil {
		return nil, err
	}
	if root != "" {
		dc.Root = root
	}
	dc.Direction = m.PairDirection // then Sample.A is this generator's input
	// The images as stored (no random crop or flip; "none" only rounds odd
	// sizes to a multiple of 4), few of them, headers checked only.
	dc.Preprocess, dc.NoFlip, dc.MaxSamples = data.PreprocessNone, true, maxAnalysed
	dc.Workers, dc.InMemory, dc.SkipInvalid, dc.Validate, dc.Shuffle = 0, false, true, "header", false
	dc.BatchSize = 1
	// Unaligned data (CycleGAN) has as many samples as its larger domain,
	// each pairing A[i mod |A|] with a random B: the input domain's images,
	// each once, are the first |input| samples with B[i] for B.
	dc.SerialBatches = dc.Dataset == data.Unaligned
	ds, err := data.Open(ctx, dc, &data.OpenOptions{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, err
	}
	n := ds.Len()
	if dc.Dataset == data.Unaligned {
		na, nb := ds.Streams()
		if n = na; dc.Direction == "BtoA" {
			n = nb
		}
	}
	n = min(n, maxAnalysed)
	var ims []*data.Image
	for i := 0; i < n; i++ {
		im, err := ds.Input(i, 0, 0) // the input side's files alone
		if err != nil {
			continue
		}
		ims = append(ims, im)
	}
	if len(ims) == 0 {
		return nil, fmt.Errorf("%s: no readable training inputs", dc.Root)
	}
	in := &Inputs{Analysis: FindPalette(ims)}
	in.Source = fmt.Sprintf("from %d training inputs in %s", len(ims), dc.Root)
	for _, im := range ims[:min(len(ims), 8)] {
		in.Examples = append(in.Examples, fitInput(im, m.Size, m.InputNC))
	}
	return in, nil
}

// fitInput converts an image to the generator's channels and resizes it to
// size x size as gogan translate does (bicubic, the whole image, aspect
// ratio not kept, like the reference's test.py with load = crop size).
func fitInput(im *data.Image, size, channels int) *data.Image {
	if im.C != channels {
		im = convertChannels(im, channels)
	}
	if im.W == size && im.H == size {
		return im
	}
	return data.Resize(im, size, size, data.Bicubic)
}

// convertChannels converts between gray and RGB as PIL's convert does
// (the data package's decoders do it when they load a file).
func convertChannels(im *data.Image, c int) *data.Image {
	out := data.NewImage(im.W, im.H, c)
	for p := 0; p < im.W*im.H; p++ {
		if c == 1 { // ITU-R 601-2 luma, PIL's L
			r, g, b := uint32(im.Pix[p*3]), uint32(im.Pix[p*3+1]), uint32(im.Pix[p*3+2])
			out.Pix[p] = uint8((r*19595 + g*38470 + b*7471 + 0x8000) >> 16)
		} else {
			v := im.Pix[p]
			out.Pix[p*3], out.Pix[p*3+1], out.Pix[p*3+2] = v, v, v
		}
	}
	return out
}

// defaultInputs is what the page offers when the training data cannot be
// read: a 1-channel input is taken for a sketch (black strokes on white, as
// gogan's edges datasets and edges2shoes draw them), a 3-channel one for a
// label map with the facades palette plus black and white.
func defaultInputs(m *Model, why error) *Inputs {
	in := &Inputs{Source: fmt.Sprintf("default palette: the training data could not be read (%v)", why)}
	if m.InputNC == 1 {
		in.Kind = InputSketch
		in.Colours = []Colour{{R: 255, G: 255, B: 255}, {R: 0, G: 0, B: 0}}
		in.Background, in.Pen = in.Colours[0], in.Colours[1]
		return in
	}
	in.Kind = InputLabels
	in.Colours = append(append([]Colour{}, DefaultLabelPalette...), Colour{}, Colour{R: 255, G: 255, B: 255})
	in.Background, in.Pen = DefaultLabelPalette[0], DefaultLabelPalette[1]
	return in
}

// encodedInputs says what a generator takes besides an image (pix2pixHD's
// encoded inputs), with the keys that made it so.
func encodedInputs(cfg *config.Config, tr gan.Translation) string {
	dc, err := gan.DataConfig(cfg)
	if err != nil {
		return "label maps or instance boundaries (data.label_nc, data.no_instance)"
	}
	var what []string
	if dc.LabelNC > 0 {
		what = append(what, fmt.Sprintf("label maps (data.label_nc %d)", dc.LabelNC))
	}
	if dc.Instance {
		what = append(what, "instance boundaries (data.no_instance false)")
	}
	if tr.Photos {
		what = append(what, "features of each region (model.instance_feat or label_feat)")
	}
	return strings.Join(what, " and ")
}
