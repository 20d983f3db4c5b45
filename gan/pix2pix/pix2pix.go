// Package pix2pix is pytorch-CycleGAN-and-pix2pix's Pix2PixModel (Isola et
// al. 2017): a generator from A to B and a conditional discriminator on
// cat(A, B); loss_D = 0.5 (real + fake), loss_G = GAN + lambda_L1 * L1.
package pix2pix

import (
	"fmt"
	"image"
	"log/slog"
	"maps"

	torch "gogan/cgo"
	"gogan/config"
	"gogan/data"
	"gogan/gan"
	"gogan/gan/losses"
	"gogan/nets"
	"gogan/report"
)

func init() {
	defer config.RegisterReferenceNames("pytorch-CycleGAN-and-pix2pix", map[string]string{"lambda_L1": "train.lambda_L1"})
	gan.Register(gan.Definition{
		Schema: config.RecipeSchema{
			Name: "pix2pix",
			// data.load_size and data.crop_size size its images; its D sees
			// the newest fakes (today's Pix2PixModel has no fake_AB_pool).
			Ignores: []string{"data.image_size", "train.pool_size"},
			Doc:     "paired image-to-image translation (pytorch-CycleGAN-and-pix2pix's pix2pix model).",
			Keys: []config.Key{
				{Name: "train.lambda_L1", Type: config.TypeFloat, Default: 100.0, Range: config.AtLeast(0), Doc: "pix2pix, colorization: weight of the L1 loss."},
			},
			Defaults: defaults(nil),
			Validate: validate,
		},
		Data:   dataConfig,
		Nets:   netSpecs,
		Inputs: inputs,
		New:    New,
		Translate: func(c *config.Config) []gan.Translation {
			return []gan.Translation{{Direction: c.Data.Direction, Role: "G", InputNC: c.Model.InputNC, OutputNC: c.Model.OutputNC, PairDirection: c.Data.Direction}}
		},
		BenchParams: benchParams,
		Describe:    describe,
		Export: func(c *config.Config, o gan.ExportOptions) gan.Export {
			return gan.CycleGANAndPix2PixExport(c, o, "pix2pix", []string{"G", "D"}, c.Data.Dataset == "aligned")
		},
		ReferenceModel: "pix2pix",
		FromReference: func(opts map[string]string) ([]string, error) {
			return gan.CycleGANAndPix2PixConfig("pix2pix", opts)
		},
	})
}

// defaults are the train options plus the pix2pix model's set_defaults,
// then more.
func defaults(more map[string]any) map[string]any {
	d := map[string]any{
		"data.root": "datasets/facades", "data.dataset": "aligned", "data.batch_size": 1, "data.no_flip": false,
		"model.netG": "unet_256", "model.netD": "basic",
		"train.epochs": 100, "train.epochs_decay": 100, "train.sample_every": 400,
	}
	maps.Copy(d, more)
	return d
}

func dataConfig(c *config.Config, dc *data.Config) {
	dc.InputNC, dc.OutputNC = c.Model.InputNC, c.Model.OutputNC
}

func inputs(c *config.Config) []gan.Input {
	s := int64(c.Data.CropSize)
	return []gan.Input{{Name: "A", Shape: []int64{int64(c.Model.InputNC), s, s}}, {Name: "B", Shape: []int64{int64(c.Model.OutputNC), s, s}}}
}

func benchParams(c *config.Config) map[string]any {
	return map[string]any{"logits": true, "lambda_L1": c.Float("train.lambda_L1")}
}

func validate(c *config.Config, bad func(string, ...any)) {
	d, m := &c.Data, &c.Model
	switch d.Dataset {
	case "aligned", "edges", "gray2color":
	case "colorization":
		bad("data.dataset=colorization gives pairs in CIE Lab, which recipe pix2pix would show as if they were RGB: use recipe colorization")
	default:
		bad("recipe pix2pix needs paired data: data.dataset must be aligned, edges or gray2color, not %s", d.Dataset)
	}
	// The edge map or gray image is the input AtoB; BtoA the photo is (of
	// model.input_nc's channels, as the reference's AlignedDataset swaps
	// input_nc and output_nc under BtoA) and the map the target.
	if (d.Dataset == "edges" || d.Dataset == "gray2color") && d.Direction != "BtoA" && m.InputNC != 1 {
		bad("data.dataset=%s makes 1-channel inputs: model.input_nc must be 1 (got %d); to translate its photos into them, set data.direction=BtoA (model.output_nc=1)", d.Dataset, m.InputNC)
	}
	// Known from the config alone; the data would say so only once read.
	if d.OnDevice && d.Dataset == "edges" && (data.CropsAtRandom(d.Preprocess) || !d.NoFlip) {
		bad("data.on_device with data.dataset=edges (data.preprocess=%s, data.no_flip=%t): edge maps are detected on each cropped and flipped photo, so they cannot be kept on the device once for every epoch: set data.preprocess to scale_width or none and data.no_flip=true, or data.on_device=false",
			d.Preprocess, d.NoFlip)
	}
	validateNets(c, bad)
}

// validateNets checks the networks both recipes of this package build.
func validateNets(c *config.Config, bad func(string, ...any)) {
	d, m := &c.Data, &c.Model
	if m.NetG == "dcgan" || m.NetD == "dcgan" {
		bad("recipe %s needs an image-to-image model.netG (unet_*, resnet_*) and a PatchGAN model.netD (basic, n_layers, pixel, multiscale); got netG=%s, netD=%s", c.Recipe, m.NetG, m.NetD)
	}
	if data.CropsAtRandom(d.Preprocess) {
		gan.CheckCrop(d.CropSize, netSpecs(c), bad)
	}
}

// netSpecs: G then D, as the reference's Pix2PixModel builds them.
func netSpecs(c *config.Config) []gan.NetSpec {
	m := c.Model
	s := int64(c.Data.CropSize)
	in := int64(m.InputNC)
	return []gan.NetSpec{
		{Role: "G", Build: nets.NewGenerator, Input: []int64{in, s, s},
			Options: nets.Options{Kind: m.NetG, InputNC: m.InputNC, OutputNC: m.OutputNC, NGF: m.NGF, Norm: m.Norm, Dropout: !m.NoDropout}},
		{Role: "D", Build: nets.NewDiscriminator, Input: []int64{in + int64(m.OutputNC), s, s},
			Options: nets.Options{Kind: m.NetD, InputNC: m.InputNC + m.OutputNC, NDF: m.NDF, NLayers: m.NLayersD, Norm: m.Norm, NumD: m.NumD}},
	}
}

// describe says what a state dict that does not load into G or D holds
// (gogan import of the reference's latest_net_G.pth of other options).
func describe(c *config.Config, role string, shapes map[string][]int64) string {
	if role == "G" {
		return gan.DescribeNet(c, gan.NetKeys{Generator: true, InputNC: "model.input_nc", OutputNC: "model.output_nc", Others: []string{"D"}}, shapes)
	}
	return gan.DescribeNet(c, gan.NetKeys{Others: []string{"G"}}, shapes)
}

// Pix2Pix is the recipe's state.
type Pix2Pix struct {
	dev        torch.Device
	g, d       *nets.Net
	optG, optD *torch.Adam
	loss       losses.GAN
	lambdaL1   float64
	lambdaGP   float64
	multiscale bool
	rank       int // data parallelism: this rank of ranks (1 alone)
	ranks      int
	prec       *gan.Precision
	fixedA     *torch.Tensor // the sample grid's inputs and targets
	fixedB     *torch.Tensor
	// lab: A is CIE Lab's L and B its ab (colorization), shown as RGB.
	lab bool
}

// New builds G and D (G initialised first) and their optimizers.
func New(env gan.Env) (gan.Recipe, error) {
	c := env.Config
	ns, err := gan.BuildNets(c, netSpecs(c), env.Device)
	if err != nil {
		return nil, err
	}
	r := &Pix2Pix{dev: env.Device, g: ns[0], d: ns[1], lambdaL1: c.Float("train.lambda_L1"), lambdaGP: c.Train.LambdaGP,
		multiscale: c.Model.NetD == "multiscale", rank: env.Rank, ranks: env.Ranks(), prec: env.Precision}
	if r.loss, err = losses.NewGAN(c.Train.GANMode, losses.Logits); err != nil {
		gan.Free(r)
		return nil, err
	}
	if r.loss.Mode == "wgangp" && c.Model.Norm == "batch" { // every netD kind puts it after a conv
		// The reference accepts it too; the WGAN-GP paper drops batch norm
		// from the critic, whose per-sample gradient the penalty constrains.
		slog.Warn("train.gan_mode=wgangp with model.norm=batch: the critic's BatchNorm mixes the samples the gradient penalty treats one by one (the WGAN-GP paper uses none); consider model.norm=instance or none")
	}
	r.optG, r.optD = gan.NewAdam(r.g, c), gan.NewAdam(r.d, c)
	return r, nil
}

func (r *Pix2Pix) LossNames() []string { return []string{"G_GAN", "G_L1", "D_real", "D_fake"} }

// LossGroups: D's terms share the loss plot's panel.
func (r *Pix2Pix) LossGroups() [][]string { return [][]string{{"D_real", "D_fake"}} }

func (r *Pix2Pix) Nets() []gan.Net { return []gan.Net{{Role: "G", Net: r.g}, {Role: "D", Net: r.d}} }
func (r *Pix2Pix) Optimizers() []gan.Optimizer {
	return []gan.Optimizer{{Name: "G", Adam: r.optG}, {Name: "D", Adam: r.optD}}
}

// PlateauLoss is the L1 distance to the targets: the one loss of the four
// that falls as the translation gets better.
func (r *Pix2Pix) PlateauLoss() string { return "G_L1" }

// Step is optimize_parameters: forward, update D, update G.
func (r *Pix2Pix) Step(b gan.Batch) []*torch.Tensor {
	realA, realB := b["A"], b["B"]
	var fakeB *torch.Tensor
	r.prec.Autocast(func() { fakeB = r.g.Forward(realA) })
	fakeB = r.prec.Float(fakeB)
	lossDReal, lossDFake := r.backwardD(realA, realB, fakeB)
	r.prec.Step(r.optD)
	lossGGAN, lossGL1 := r.backwardG(realA, realB, fakeB)
	r.prec.Step(r.optG)
	r.prec.Update()
	return []*torch.Tensor{lossGGAN, lossGL1, lossDReal, lossDFake}
}

// backwardD: D on the detached fake pair and on the real pair, the mean of
// the two losses (plus WGAN-GP's penalty under wgangp).
func (r *Pix2Pix) backwardD(realA, realB, fakeB *torch.Tensor) (lossDReal, lossDFake *torch.Tensor) {
	gan.SetRequiresGrad(r.d, true)
	r.optD.ZeroGrad()
	fakeAB := torch.Cat([]*torch.Tensor{realA, fakeB}, 1)
	realAB := torch.Cat([]*torch.Tensor{realA, realB}, 1)
	var predFake, predReal []*torch.Tensor
	r.prec.Autocast(func() {
		predFake = r.discriminate(fakeAB.Detach())
		predReal = r.discriminate(realAB)
	})
	lossDFake = r.sumScales(predFake, func(p *torch.Tensor) *torch.Tensor { return r.loss.ForD(p, losses.Fake) })
	lossDReal = r.sumScales(predReal, func(p *torch.Tensor) *torch.Tensor { return r.loss.ForD(p, losses.Real) })
	lossD := lossDFake.Add(lossDReal).MulScalar(0.5)
	if r.loss.Mode == "wgangp" {
		lossD = lossD.Add(losses.GradientPenalty(r.predict, realAB, fakeAB, r.lambdaGP, r.rank, r.ranks))
	}
	r.prec.Backward(lossD)
	// The pairs are backward_D's locals in the reference, gone when it
	// returns: not held through G's update (autograd has let them go).
	fakeAB.Free()
	realAB.Free()
	return lossDReal, lossDFake
}

// backwardG: fool D with the fake pair, and stay close to B in L1.
func (r *Pix2Pix) backwardG(realA, realB, fakeB *torch.Tensor) (lossGGAN, lossGL1 *torch.Tensor) {
	gan.SetRequiresGrad(r.d, false)
	r.optG.ZeroGrad()
	fakeAB := torch.Cat([]*torch.Tensor{realA, fakeB}, 1)
	var predFake []*torch.Tensor
	r.prec.Autocast(func() { predFake = r.discriminate(fakeAB) })
	lossGGAN = r.sumScales(predFake, func(p *torch.Tensor) *torch.Tensor { return r.loss.ForG(p, losses.Real) })
	lossGL1 = torch.L1Loss(fakeB, realB, torch.ReduceMean).MulScalar(r.lambdaL1)
	r.prec.Backward(lossGGAN.Add(lossGL1))
	return lossGGAN, lossGL1
}

// discriminate is D's output on x, one tensor per scale (one for a single
// PatchGAN).
func (r *Pix2Pix) discriminate(x *torch.Tensor) []*torch.Tensor {
	if !r.multiscale {
		return []*torch.Tensor{r.d.Forward(x)}
	}
	var out []*torch.Tensor
	for _, feats := range r.d.ForwardMultiScale(x) {
		out = append(out, feats[len(feats)-1])
	}
	return out
}

// predict is discriminate in its own mixed-precision region, in float32
// (the gradient penalty's D).
func (r *Pix2Pix) predict(x *torch.Tensor) []*torch.Tensor {
	var out []*torch.Tensor
	r.prec.Autocast(func() { out = r.discriminate(x) })
	return out
}

// sumScales sums a loss over D's scales (pix2pixHD's GANLoss does the same),
// each prediction in float32.
func (r *Pix2Pix) sumScales(preds []*torch.Tensor, loss func(*torch.Tensor) *torch.Tensor) *torch.Tensor {
	var total *torch.Tensor
	for _, p := range preds {
		if l := loss(r.prec.Float(p)); total == nil {
			total = l
		} else {
			total = total.Add(l)
		}
	}
	return total
}

func (r *Pix2Pix) Fixed() []torch.Named {
	if r.fixedA == nil {
		return nil
	}
	return []torch.Named{{Name: "fixed_A", Tensor: r.fixedA}, {Name: "fixed_B", Tensor: r.fixedB}}
}

// sampleCount is how many pairs the grid shows.
const sampleCount = 4

// TakeSamples takes the first pairs of the dataset (epoch 0's augmentation)
// as the grid's fixed inputs and targets, as the batches hold them.
func (r *Pix2Pix) TakeSamples(ds *data.Dataset, seed uint64) error {
	b, err := gan.SampleBatch(ds, seed, sampleCount, r.dev)
	if err != nil {
		return err
	}
	r.fixedA, r.fixedB = b["A"], b["B"]
	return nil
}

// VisualsLayout names Visuals' columns.
func (r *Pix2Pix) VisualsLayout() string {
	if r.lab {
		return "each row: real_A | fake_B_rgb | real_B_rgb (real_A's L with the ab of G's output and of the target)"
	}
	return "each row: real_A | fake_B | real_B"
}

// Visuals runs G on the fixed pairs in train mode, as the reference's
// visuals (BatchNorm batch statistics, dropout on): real_A | fake_B | real_B
// (colorization: real_A | fake_B_rgb | real_B_rgb, the ab with real_A's L).
func (r *Pix2Pix) Visuals() (*image.NRGBA, error) {
	if r.fixedA == nil {
		return nil, fmt.Errorf("pix2pix: no sample inputs")
	}
	// as translate shows them: colorization's ab with the input's L
	show := func(b *torch.Tensor) report.Images { return gan.Translation{Lab: r.lab}.Output(r.fixedA, b) }
	var in, out, target report.Images
	err := torch.Try(func() {
		gan.WithFrozenState(r.dev, []*nets.Net{r.g}, func() {
			torch.NoGrad(func() {
				in, out, target = report.ToImages(r.fixedA), show(r.g.Forward(r.fixedA)), show(r.fixedB)
			})
		})
	})
	if err != nil {
		return nil, err
	}
	return report.Pix2PixGrid(in, out, target, 2)
}
