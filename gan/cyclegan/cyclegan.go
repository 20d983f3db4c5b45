// Package cyclegan is pytorch-CycleGAN-and-pix2pix's CycleGANModel (Zhu et
// al. 2017): translation learned from two unpaired collections. G_A maps A
// to B and G_B maps B to A; D_A tells real B images from G_A's, D_B real A
// images from G_B's. Besides fooling its D, each generator must give back
// what it was given after the round trip (cycle loss, lambda_A and
// lambda_B) and leave images of its target domain alone (identity loss,
// lambda_identity). D sees fakes through a pool of earlier ones.
package cyclegan

import (
	"encoding/json"
	"fmt"
	"image"
	"log/slog"
	"math/rand/v2"
	"strings"

	torch "gogan/cgo"
	"gogan/config"
	"gogan/data"
	"gogan/gan"
	"gogan/gan/imagepool"
	"gogan/gan/losses"
	"gogan/mtrand"
	"gogan/nets"
	"gogan/report"
)

func init() {
	defer config.RegisterReferenceNames("pytorch-CycleGAN-and-pix2pix", map[string]string{
		"lambda_A": "train.lambda_A", "lambda_B": "train.lambda_B", "lambda_identity": "train.lambda_identity"})
	gan.Register(gan.Definition{
		Schema: config.RecipeSchema{
			Name: "cyclegan",
			// PatchGANs only (no multiscale discriminator).
			Ignores: []string{"data.image_size", "model.num_D", "train.lambda_gp"}, // lambda_gp: wgangp is refused
			Doc:     "unpaired image-to-image translation (pytorch-CycleGAN-and-pix2pix's cycle_gan model).",
			Keys: []config.Key{
				{Name: "train.lambda_A", Type: config.TypeFloat, Default: 10.0, Range: config.AtLeast(0), Doc: "cyclegan: weight of the cycle loss A -> B -> A."},
				{Name: "train.lambda_B", Type: config.TypeFloat, Default: 10.0, Range: config.AtLeast(0), Doc: "cyclegan: weight of the cycle loss B -> A -> B."},
				{Name: "train.lambda_identity", Type: config.TypeFloat, Default: 0.5, Range: config.AtLeast(0),
					Doc: "cyclegan: weight of the identity loss as a fraction of the cycle weights (G_A(B) vs B weighs lambda_B * lambda_identity); 0 = off. Needs model.input_nc = model.output_nc."},
			},
			// The train options plus the cycle_gan model's set_defaults.
			Defaults: map[string]any{
				"data.root": "datasets/horse2zebra", "data.dataset": "unaligned", "data.batch_size": 1, "data.no_flip": false,
				"model.netG": "resnet_9blocks", "model.netD": "basic", "model.norm": "instance", "model.no_dropout": true,
				"train.gan_mode": "lsgan", "train.pool_size": 50, "train.epochs": 100, "train.epochs_decay": 100, "train.sample_every": 400,
			},
			Validate: validate,
		},
		Data: func(c *config.Config, dc *data.Config) {
			dc.InputNC, dc.OutputNC = c.Model.InputNC, c.Model.OutputNC
		},
		Nets:     netSpecs,
		Describe: describe,
		Inputs: func(c *config.Config) []gan.Input {
			s := int64(c.Data.CropSize)
			return []gan.Input{{Name: "A", Shape: []int64{int64(c.Model.InputNC), s, s}}, {Name: "B", Shape: []int64{int64(c.Model.OutputNC), s, s}}}
		},
		New: New,
		Translate: func(c *config.Config) []gan.Translation {
			// Domain A is the A side of the data after data.direction.
			in, out := c.Model.InputNC, c.Model.OutputNC
			fwd, back := "AtoB", "BtoA"
			if c.Data.Direction == "BtoA" {
				fwd, back = back, fwd
			}
			return []gan.Translation{{Direction: "AtoB", Role: "G_A", InputNC: in, OutputNC: out, PairDirection: fwd},
				{Direction: "BtoA", Role: "G_B", InputNC: out, OutputNC: in, PairDirection: back}}
		},
		BenchParams: func(c *config.Config) map[string]any {
			return map[string]any{"logits": true, "lambda_A": c.Float("train.lambda_A"), "lambda_B": c.Float("train.lambda_B"),
				"lambda_identity": c.Float("train.lambda_identity"), "pool_size": c.Train.PoolSize}
		},
		Export: func(c *config.Config, o gan.ExportOptions) gan.Export {
			// Domains from labelled data (data.classes_A) are gogan's.
			folders := c.Data.ClassesA == "" && c.Data.ClassesB == ""
			return gan.CycleGANAndPix2PixExport(c, o, "cycle_gan", []string{"G_A", "G_B", "D_A", "D_B"}, folders)
		},
		ReferenceModel: "cycle_gan",
		FromReference: func(opts map[string]string) ([]string, error) {
			return gan.CycleGANAndPix2PixConfig("cycle_gan", opts)
		},
	})
}

// fixedSizePreprocess are the data.preprocess modes whose images all have
// the crop size.
var fixedSizePreprocess = map[string]bool{data.ResizeAndCrop: true, data.Crop: true, data.ScaleWidthAndCrop: true}

func validate(c *config.Config, bad func(string, ...any)) {
	d, m := &c.Data, &c.Model
	if m.NetG == "dcgan" || m.NetD == "dcgan" || m.NetD == "multiscale" {
		bad("recipe cyclegan needs an image-to-image model.netG (resnet_*, unet_*) and a PatchGAN model.netD (basic, n_layers, pixel); got netG=%s, netD=%s", m.NetG, m.NetD)
	}
	if d.Dataset != data.Unaligned {
		bad("recipe cyclegan learns from two unpaired collections: data.dataset must be unaligned (trainA/ and trainB/ folders, A|B images with the pairing dropped, or data.classes_A/classes_B of an IDX dataset), not %s", d.Dataset)
	}
	if g := c.Train.GANMode; g != "lsgan" && g != "vanilla" {
		bad("recipe cyclegan trains with train.gan_mode lsgan (the reference's default) or vanilla, not %s", g)
	}
	if c.Float("train.lambda_identity") > 0 && m.InputNC != m.OutputNC {
		bad("train.lambda_identity=%g compares G_A(B) with B, which needs model.input_nc = model.output_nc (got %d and %d); set train.lambda_identity=0",
			c.Float("train.lambda_identity"), m.InputNC, m.OutputNC)
	}
	if fixedSizePreprocess[d.Preprocess] {
		gan.CheckCrop(d.CropSize, netSpecs(c), bad)
	}
}

// netSpecs: G_A, G_B, D_A, D_B, in the order CycleGANModel defines (and,
// through define_G/define_D, initialises) them.
func netSpecs(c *config.Config) []gan.NetSpec {
	m := c.Model
	s := int64(c.Data.CropSize)
	a, b := int64(m.InputNC), int64(m.OutputNC)
	g := func(in, out int) nets.Options {
		return nets.Options{Kind: m.NetG, InputNC: in, OutputNC: out, NGF: m.NGF, Norm: m.Norm, Dropout: !m.NoDropout}
	}
	d := func(in int) nets.Options {
		return nets.Options{Kind: m.NetD, InputNC: in, NDF: m.NDF, NLayers: m.NLayersD, Norm: m.Norm}
	}
	return []gan.NetSpec{
		{Role: "G_A", Build: nets.NewGenerator, Input: []int64{a, s, s}, Options: g(m.InputNC, m.OutputNC)},
		{Role: "G_B", Build: nets.NewGenerator, Input: []int64{b, s, s}, Options: g(m.OutputNC, m.InputNC)},
		{Role: "D_A", Build: nets.NewDiscriminator, Input: []int64{b, s, s}, Options: d(m.OutputNC)},
		{Role: "D_B", Build: nets.NewDiscriminator, Input: []int64{a, s, s}, Options: d(m.InputNC)},
	}
}

// describe says what a state dict that does not load into a role's
// network holds (gogan import of the reference's latest_net_G_A.pth of
// other options): G_A maps input_nc to output_nc, G_B back, D_A judges
// output_nc's images and D_B input_nc's, as netSpecs builds them.
func describe(c *config.Config, role string, shapes map[string][]int64) string {
	keys := map[string]gan.NetKeys{
		"G_A": {Generator: true, InputNC: "model.input_nc", OutputNC: "model.output_nc", Others: []string{"D_A", "D_B"}},
		"G_B": {Generator: true, InputNC: "model.output_nc", OutputNC: "model.input_nc", Others: []string{"D_A", "D_B"}},
		"D_A": {InputNC: "model.output_nc", Others: []string{"G_A", "G_B"}},
		"D_B": {InputNC: "model.input_nc", Others: []string{"G_A", "G_B"}},
	}
	k, ok := keys[role]
	if !ok {
		return ""
	}
	return gan.DescribeNet(c, k, shapes)
}

// CycleGAN is the recipe's state.
type CycleGAN struct {
	dev                   torch.Device
	gA, gB, dA, dB        *nets.Net
	optG, optD            *torch.Adam
	loss                  losses.GAN
	lambdaA, lambdaB, idt float64
	poolA, poolB          *imagepool.Pool // fakes of A (for D_B) and of B (for D_A)
	// The pools' draws: Python's random seeded with the run's seed, or
	// (resumed from a checkpoint of an older gogan) the PCG it drew from.
	draw imagepool.Rand
	// sizesNote says why the step cannot be captured in a CUDA graph
	// (pools of images of several sizes), or is empty.
	sizesNote      string
	prec           *gan.Precision
	fixedA, fixedB *torch.Tensor   // the sample grid's inputs
	lost           map[string]bool // fixed tensors a resume could not fill
}

// New builds the four networks (G_A, G_B, D_A, D_B, each initialised before
// the next), one Adam over both generators and one over both
// discriminators, and the two image pools.
func New(env gan.Env) (gan.Recipe, error) {
	c := env.Config
	ns, err := gan.BuildNets(c, netSpecs(c), env.Device)
	if err != nil {
		return nil, err
	}
	a, b := int64(c.Model.InputNC), int64(c.Model.OutputNC)
	// The pools draw from Python's random as the reference's ImagePool
	// does, seeded with the run's seed as gogan's seed seeds both of
	// dcgan/main.py's generators (the reference's train.py seeds none).
	r := &CycleGAN{dev: env.Device, gA: ns[0], gB: ns[1], dA: ns[2], dB: ns[3], prec: env.Precision,
		lambdaA: c.Float("train.lambda_A"), lambdaB: c.Float("train.lambda_B"), idt: c.Float("train.lambda_identity"),
		draw: imagepool.PythonRand{Python: mtrand.NewPython(c.Seed)}}
	if r.loss, err = losses.NewGAN(c.Train.GANMode, losses.Logits); err != nil {
		gan.Free(r)
		return nil, err
	}
	size := c.Train.PoolSize
	hA, wA, hB, wB, uniform := poolSizes(c, env.Data)
	if !uniform {
		r.sizesNote = fmt.Sprintf("data.preprocess=%s keeps the images' own sizes, of which the data has several: its image pools take images of several sizes, which their queries cut on the host; a cropping data.preprocess (resize_and_crop, crop, scale_width_and_crop) or train.pool_size=0 makes the step capturable", c.Data.Preprocess)
	}
	if err := torch.Try(func() {
		r.poolA = imagepool.New(size, []int64{a, hA, wA}, env.Device, uniform)
		r.poolB = imagepool.New(size, []int64{b, hB, wB}, env.Device, uniform)
		r.poolA.Name, r.poolB.Name = "fake A", "fake B"
	}); err != nil {
		gan.Free(r)
		gib := float64(size) * float64(a*hA*wA+b*hB*wB) * 4 / (1 << 30)
		sizes := fmt.Sprintf("%dx%d", wA, hA)
		if wA != wB || hA != hB {
			sizes += fmt.Sprintf(" and %dx%d", wB, hB)
		}
		return nil, fmt.Errorf("train.pool_size=%d: the two image pools of %d images of %s take %.3g GiB on %s (the reference's default is 50): %w",
			size, size, sizes, gib, env.Device, err)
	}
	r.optG = torch.NewAdam(append(r.gA.Parameters(), r.gB.Parameters()...), c.Train.LR, c.Train.Beta1, c.Train.Beta2)
	r.optD = torch.NewAdam(append(r.dA.Parameters(), r.dB.Parameters()...), c.Train.LR, c.Train.Beta1, c.Train.Beta2)
	return r, nil
}

// poolSizes are the heights and widths of the pools' buffers: fakes of A
// (G_B of B images) and of B (G_A of A images), and whether each fake has
// its pool's size. A cropping preprocess gives crop-size images; otherwise
// the data's sizes (when every image has one size, that; else the largest
// height and width), or the crop size where no data is open (bench,
// import).
func poolSizes(c *config.Config, ds *data.Dataset) (hA, wA, hB, wB int64, uniform bool) {
	s := int64(c.Data.CropSize)
	if fixedSizePreprocess[c.Data.Preprocess] || ds == nil {
		return s, s, s, s, true
	}
	a, b, uniform := ds.Shape()
	if uniform {
		return int64(b[1]), int64(b[2]), int64(a[1]), int64(a[2]), true
	}
	var h, w int64
	for wh := range ds.OutputSizes() {
		h, w = max(h, int64(wh[1])), max(w, int64(wh[0]))
	}
	if h == 0 { // no sizes read: the pools grow as images come
		h, w = s, s
	}
	return h, w, h, w, false
}

// LossNames are the reference's loss_names, in its order.
func (r *CycleGAN) LossNames() []string {
	return []string{"D_A", "G_A", "cycle_A", "idt_A", "D_B", "G_B", "cycle_B", "idt_B"}
}

// LossGroups: each term's A and B share the loss plot's panel (of one
// weight: the cycle terms' lambda_A and lambda_B, the identity terms'
// lambda_identity times them).
func (r *CycleGAN) LossGroups() [][]string {
	return [][]string{{"D_A", "D_B"}, {"G_A", "G_B"}, {"cycle_A", "cycle_B"}, {"idt_A", "idt_B"}}
}

func (r *CycleGAN) Nets() []gan.Net {
	return []gan.Net{{Role: "G_A", Net: r.gA}, {Role: "G_B", Net: r.gB}, {Role: "D_A", Net: r.dA}, {Role: "D_B", Net: r.dB}}
}

func (r *CycleGAN) Optimizers() []gan.Optimizer {
	return []gan.Optimizer{{Name: "G", Adam: r.optG}, {Name: "D", Adam: r.optD}}
}

// PlateauLoss is the forward cycle loss: it falls as the translation keeps
// more of its input, while the GAN losses hover.
func (r *CycleGAN) PlateauLoss() string { return "cycle_A" }

// GraphUnsafe: pools of images of several sizes cut them on the host.
func (r *CycleGAN) GraphUnsafe() string {
	if r.poolA.Size() == 0 {
		return ""
	}
	return r.sizesNote
}

// DrawStep draws the pools' picks for the step (the batch size n): the
// reference's backward_D_A queries the pool of fake B images first, then
// backward_D_B the pool of fake A images, both drawing from one random.
func (r *CycleGAN) DrawStep(n int64) {
	r.poolB.Draw(int(n), r.draw)
	r.poolA.Draw(int(n), r.draw)
}

// Step is optimize_parameters: the four translations, then G_A and G_B
// with the discriminators frozen, then D_A and D_B on pooled fakes.
func (r *CycleGAN) Step(b gan.Batch) []*torch.Tensor {
	realA, realB := b["A"], b["B"]
	var fakeB, recA, fakeA, recB *torch.Tensor
	r.prec.Autocast(func() {
		fakeB = r.gA.Forward(realA)
		recA = r.gB.Forward(fakeB)
		fakeA = r.gB.Forward(realB)
		recB = r.gA.Forward(fakeA)
	})
	fakeB, recA, fakeA, recB = r.prec.Float(fakeB), r.prec.Float(recA), r.prec.Float(fakeA), r.prec.Float(recB)

	gan.SetRequiresGrad(r.dA, false)
	gan.SetRequiresGrad(r.dB, false)
	r.optG.ZeroGrad()
	lossGA, lossGB, lossCycleA, lossCycleB, lossIdtA, lossIdtB := r.backwardG(realA, realB, fakeA, fakeB, recA, recB)
	r.prec.Step(r.optG)

	gan.SetRequiresGrad(r.dA, true)
	gan.SetRequiresGrad(r.dB, true)
	r.optD.ZeroGrad()
	lossDA := r.backwardD(r.dA, realB, r.poolB.Query(fakeB))
	lossDB := r.backwardD(r.dB, realA, r.poolA.Query(fakeA))
	r.prec.Step(r.optD)
	r.prec.Update()
	return []*torch.Tensor{lossDA, lossGA, lossCycleA, lossIdtA, lossDB, lossGB, lossCycleB, lossIdtB}
}

// backwardG: identity, GAN and cycle losses of both generators, summed in
// the reference's order and back-propagated once.
func (r *CycleGAN) backwardG(realA, realB, fakeA, fakeB, recA, recB *torch.Tensor) (lossGA, lossGB, lossCycleA, lossCycleB, lossIdtA, lossIdtB *torch.Tensor) {
	if r.idt > 0 {
		var idtA, idtB *torch.Tensor
		r.prec.Autocast(func() {
			idtA = r.gA.Forward(realB) // G_A should leave B images alone
			idtB = r.gB.Forward(realA)
		})
		lossIdtA = torch.L1Loss(r.prec.Float(idtA), realB, torch.ReduceMean).MulScalar(r.lambdaB * r.idt)
		lossIdtB = torch.L1Loss(r.prec.Float(idtB), realA, torch.ReduceMean).MulScalar(r.lambdaA * r.idt)
	} else {
		lossIdtA = torch.Zeros(torch.Float32, r.dev)
		lossIdtB = torch.Zeros(torch.Float32, r.dev)
	}
	var predA, predB *torch.Tensor
	r.prec.Autocast(func() {
		predA = r.dA.Forward(fakeB)
		predB = r.dB.Forward(fakeA)
	})
	lossGA = r.loss.ForG(r.prec.Float(predA), losses.Real)
	lossGB = r.loss.ForG(r.prec.Float(predB), losses.Real)
	lossCycleA = torch.L1Loss(recA, realA, torch.ReduceMean).MulScalar(r.lambdaA)
	lossCycleB = torch.L1Loss(recB, realB, torch.ReduceMean).MulScalar(r.lambdaB)
	lossG := lossGA.Add(lossGB).Add(lossCycleA).Add(lossCycleB)
	if r.idt > 0 {
		lossG = lossG.Add(lossIdtA).Add(lossIdtB)
	}
	r.prec.Backward(lossG)
	return
}

// backwardD is backward_D_basic: D on real images, then on the (pooled,
// detached) fakes; loss (real + fake) / 2.
func (r *CycleGAN) backwardD(d *nets.Net, real, fake *torch.Tensor) *torch.Tensor {
	var predReal, predFake *torch.Tensor
	r.prec.Autocast(func() {
		predReal = d.Forward(real)
		predFake = d.Forward(fake.Detach())
	})
	lossReal := r.loss.ForD(r.prec.Float(predReal), losses.Real)
	lossFake := r.loss.ForD(r.prec.Float(predFake), losses.Fake)
	lossD := lossReal.Add(lossFake).MulScalar(0.5)
	r.prec.Backward(lossD)
	return lossD
}

// Fixed are the sample grid's inputs and the two pools' images.
func (r *CycleGAN) Fixed() []torch.Named {
	var out []torch.Named
	if r.fixedA != nil {
		out = append(out, torch.Named{Name: "fixed_A", Tensor: r.fixedA}, torch.Named{Name: "fixed_B", Tensor: r.fixedB})
	}
	out = append(out, r.poolA.Tensors("pool.fake_A")...)
	return append(out, r.poolB.Tensors("pool.fake_B")...)
}

// RankTensors are the pools: under data parallelism each rank's holds its
// own fakes.
func (r *CycleGAN) RankTensors() []torch.Named {
	var out []torch.Named
	for _, nt := range r.Fixed() {
		if strings.HasPrefix(nt.Name, "pool.") {
			out = append(out, nt)
		}
	}
	return out
}

// hostState is what state.json keeps of the pools: how full they are and
// their generator's state: Python's random, or in the checkpoints of gogan
// before it, a PCG.
type hostState struct {
	PoolA  int    `json:"pool_A"`
	PoolB  int    `json:"pool_B"`
	Python []byte `json:"python_random,omitempty"`
	RNG    []byte `json:"rng,omitempty"`
}

// LostFixed: a pool whose images the checkpoint could not fill (they have
// another size: another crop size, other data) starts empty.
func (r *CycleGAN) LostFixed(names []string) {
	r.lost = map[string]bool{}
	for _, n := range names {
		r.lost[n] = true
	}
}

func (r *CycleGAN) SaveHostState() (json.RawMessage, error) {
	st := hostState{PoolA: r.poolA.Len(), PoolB: r.poolB.Len()}
	var err error
	switch d := r.draw.(type) {
	case imagepool.PythonRand:
		st.Python, err = d.MarshalBinary()
	case imagepool.PCGRand:
		st.RNG, err = d.PCG.MarshalBinary()
	}
	if err != nil {
		return nil, err
	}
	return json.Marshal(st)
}

func (r *CycleGAN) LoadHostState(raw json.RawMessage) error {
	var st hostState
	if err := json.Unmarshal(raw, &st); err != nil {
		return fmt.Errorf("image pools: %w", err)
	}
	switch {
	case st.Python != nil:
		py := &mtrand.Python{}
		if err := py.UnmarshalBinary(st.Python); err != nil {
			return fmt.Errorf("image pools' generator: %w", err)
		}
		r.draw = imagepool.PythonRand{Python: py}
	case st.RNG != nil: // an older gogan's: its run goes on with its draws
		pcg := &rand.PCG{}
		if err := pcg.UnmarshalBinary(st.RNG); err != nil {
			return fmt.Errorf("image pools' generator: %w", err)
		}
		r.draw = imagepool.NewPCGRand(pcg)
	default:
		return fmt.Errorf("image pools: no generator state")
	}
	for _, p := range []struct {
		name, tensor string
		pool         *imagepool.Pool
		n            int
	}{{"fake A", "pool.fake_A", r.poolA, st.PoolA}, {"fake B", "pool.fake_B", r.poolB, st.PoolB}} {
		var empty bool
		var err error
		if terr := torch.Try(func() { empty, err = p.pool.Restore(p.n, r.lost[p.tensor]) }); terr != nil {
			err = terr
		}
		if err != nil {
			return fmt.Errorf("pool of %s images: %w", p.name, err)
		}
		if empty {
			slog.Warn("resume: the checkpoint's image pool holds images of another size; the pool starts empty", "pool", p.name,
				"images", p.n)
		}
	}
	return nil
}

// sampleCount is how many (A, B) samples the grid shows.
const sampleCount = 4

// TakeSamples takes the first samples of the dataset (epoch 0's
// augmentation) as the grid's fixed inputs.
func (r *CycleGAN) TakeSamples(ds *data.Dataset, seed uint64) error {
	var err error
	r.fixedA, r.fixedB, err = gan.SamplePairs(ds, seed, sampleCount, r.dev)
	return err
}

// VisualsLayout names Visuals' columns, row by row.
func (r *CycleGAN) VisualsLayout() string {
	if r.idt > 0 {
		return "rows in pairs: real_A | fake_B | rec_A | idt_B, then real_B | fake_A | rec_B | idt_A"
	}
	return "rows in pairs: real_A | fake_B | rec_A, then real_B | fake_A | rec_B"
}

// Visuals shows, per sample, the reference's visuals in two rows:
// real_A | fake_B | rec_A | idt_B and real_B | fake_A | rec_B | idt_A (the
// identity columns when lambda_identity > 0), the generators in train mode
// as the reference shows them.
func (r *CycleGAN) Visuals() (*image.NRGBA, error) {
	if r.fixedA == nil {
		return nil, fmt.Errorf("cyclegan: no sample inputs")
	}
	var cols []report.Images
	err := torch.Try(func() {
		gan.WithFrozenState(r.dev, []*nets.Net{r.gA, r.gB}, func() {
			torch.NoGrad(func() {
				realA, realB := r.fixedA, r.fixedB
				fakeB, fakeA := r.gA.Forward(realA), r.gB.Forward(realB)
				rowA := []*torch.Tensor{realA, fakeB, r.gB.Forward(fakeB)}
				rowB := []*torch.Tensor{realB, fakeA, r.gA.Forward(fakeA)}
				if r.idt > 0 {
					rowA = append(rowA, r.gB.Forward(realA))
					rowB = append(rowB, r.gA.Forward(realB))
				}
				for j := range rowA {
					cols = append(cols, interleave(report.ToImages(rowA[j]), report.ToImages(rowB[j])))
				}
			})
		})
	})
	if err != nil {
		return nil, err
	}
	return report.ColumnsGrid(cols, 2)
}

// interleave puts a's and b's images in turns (a0 b0 a1 b1 ...), as
// 3-channel images when their channel counts differ, each centred on a
// black ground of the larger height and width when their sizes differ (a
// preprocess that keeps the images' own sizes: the A and B samples of
// unaligned data need not match).
func interleave(a, b report.Images) report.Images {
	if a.C != b.C {
		a, b = rgb(a), rgb(b)
	}
	h, w := max(a.H, b.H), max(a.W, b.W)
	a, b = letterbox(a, h, w), letterbox(b, h, w)
	plane := a.C * a.H * a.W
	out := report.Images{N: a.N + b.N, C: a.C, H: a.H, W: a.W}
	for i := 0; i < a.N; i++ {
		out.Data = append(out.Data, a.Data[i*plane:(i+1)*plane]...)
		out.Data = append(out.Data, b.Data[i*plane:(i+1)*plane]...)
	}
	return out
}

// letterbox centres im's images on h x w planes of -1 (black).
func letterbox(im report.Images, h, w int) report.Images {
	if im.H == h && im.W == w {
		return im
	}
	out := report.Images{N: im.N, C: im.C, H: h, W: w, Data: make([]float32, im.N*im.C*h*w)}
	for i := range out.Data {
		out.Data[i] = -1
	}
	y0, x0 := (h-im.H)/2, (w-im.W)/2
	for p := 0; p < im.N*im.C; p++ {
		for y := 0; y < im.H; y++ {
			src := im.Data[(p*im.H+y)*im.W:][:im.W]
			copy(out.Data[(p*h+y0+y)*w+x0:], src)
		}
	}
	return out
}

// rgb repeats a gray image's channel three times.
func rgb(im report.Images) report.Images {
	if im.C == 3 {
		return im
	}
	plane := im.H * im.W
	out := report.Images{N: im.N, C: 3, H: im.H, W: im.W}
	for i := 0; i < im.N; i++ {
		p := im.Data[i*plane : (i+1)*plane]
		out.Data = append(out.Data, p...)
		out.Data = append(out.Data, p...)
		out.Data = append(out.Data, p...)
	}
	return out
}
