// Package dcgan is pytorch/examples dcgan (Radford et al. 2015): an
// all-convolutional generator from noise and discriminator, D trained on real
// and on detached fake images, G with the non-saturating loss, BCE on D's
// sigmoid output, a fixed noise batch for the sample grid.
package dcgan

import (
	"fmt"
	"image"

	torch "gogan/cgo"
	"gogan/config"
	"gogan/data"
	"gogan/gan"
	"gogan/gan/losses"
	"gogan/nets"
	"gogan/report"
)

func init() {
	gan.Register(gan.Definition{
		Schema: config.RecipeSchema{
			Name: "dcgan",
			Doc:  "unconditional DCGAN (pytorch/examples dcgan): images from noise.",
			Keys: []config.Key{
				{Name: "model.nz", Type: config.TypeInt, Default: 100, Range: config.AtLeast(1), Doc: "Latent vector size: the DCGAN generator's input channels (main.py's --nz), for recipe dcgan and the recipes built on its networks."},
			},
			// The shared keys' defaults are pytorch/examples dcgan's already.
			// Images are resized and centre-cropped to data.image_size (no
			// random crops or flips for the reference's workers to draw), the
			// nets have data.channels in and out, no dropout, no choice of
			// layers, no image pool; wgangp is refused.
			Ignores: []string{"data.load_size", "data.crop_size", "data.preprocess", "data.direction", "data.reference_workers",
				"model.input_nc", "model.output_nc", "model.n_layers_D", "model.num_D", "model.no_dropout", "train.lambda_gp", "train.pool_size"},
			Validate: Validate,
		},
		Data: func(c *config.Config, dc *data.Config) {
			dc.ImageSize = c.Data.ImageSize
			dc.Preprocess = data.ResizeCenterCrop
			dc.ImageFolder = true // --dataset folder is torchvision's ImageFolder
		},
		Nets:     netSpecs,
		Inputs:   func(c *config.Config) []gan.Input { return []gan.Input{{Name: "A", Shape: imageShape(c)}} },
		New:      New,
		Generate: func(c *config.Config) gan.Generation { return gan.Generation{Role: "G", Noise: noiseShape(c)} },
		BenchParams: func(c *config.Config) map[string]any {
			return map[string]any{"nz": c.Int("model.nz"), "logits": false}
		},
		Export:   export,
		Describe: describe,
	})
	// pytorch/examples dcgan/main.py's flags (its --netG is a file: gogan import --pth)
	config.RegisterReferenceNames("pytorch/examples dcgan", map[string]string{"dataset": "data.dataset", "workers": "data.workers",
		"imageSize": "data.image_size", "nz": "model.nz", "manualSeed": "seed", "outf": "out", "cuda": "device", "classes": "data.classes", "mps": "device", "accel": "device",
		"dataroot": "data.root", "batchSize": "data.batch_size", "ngf": "model.ngf", "ndf": "model.ndf", "niter": "train.epochs", "lr": "train.lr", "beta1": "train.beta1"})
	config.RegisterReferenceVariables("pytorch/examples dcgan", map[string]string{"nc": "data.channels"})
	config.RegisterReferenceAdvice("pytorch/examples dcgan", map[string]string{
		"ngpu":    "device picks the GPU; gogan train --nproc N trains on N of them (data parallelism)",
		"dry-run": "train.max_steps=1 trains one step",
		"netG":    "gogan import --pth FILE (--pth-d for its --netD) makes a run of its weights, then gogan resume RUN trains on",
		"netD":    "gogan import --pth-d FILE (--pth for its --netG) makes a run of its weights, then gogan resume RUN trains on",
	})
}

var imageSizes = map[int]bool{32: true, 64: true, 128: true, 256: true}

// Validate is the rules across keys of DCGAN's networks and data: the
// dcgan recipe's, and the one a recipe built on them (their Nets and Data,
// reading model.nz) sets as its Schema.Validate or calls from its own, so
// that it refuses what they cannot train. Its messages name c.Recipe.
func Validate(c *config.Config, bad func(string, ...any)) {
	d, m := &c.Data, &c.Model
	r := "recipe " + c.Recipe
	if c.Recipe != "dcgan" {
		r += " (DCGAN's networks)"
	}
	if !imageSizes[d.ImageSize] {
		bad("%s: data.image_size must be 32, 64, 128 or 256 (got %d): the DCGAN nets double the size per layer from 4x4", r, d.ImageSize)
	}
	if m.NetG != "dcgan" || m.NetD != "dcgan" {
		bad("%s needs model.netG=dcgan and model.netD=dcgan (got netG=%s, netD=%s)", r, m.NetG, m.NetD)
	}
	if m.Norm != "batch" && !c.Stored() { // runs from before this check trained BatchNorm nets all the same
		bad("%s: model.norm=%s, but the DCGAN nets have BatchNorm layers, as pytorch/examples dcgan's: remove model.norm (or set batch)", r, m.Norm)
	}
	switch d.Dataset {
	case "fashion-mnist", "mnist", "cifar10", "lsun", "folder":
	default:
		bad("%s reads fashion-mnist, mnist, cifar10, lsun or folder datasets, not data.dataset=%s", r, d.Dataset)
	}
	if (d.Dataset == "mnist" || d.Dataset == "fashion-mnist") && d.Channels == 3 {
		bad("data.dataset=%s is grayscale: data.channels must be 1 (or 0 for auto), not 3", d.Dataset)
	}
	if c.Train.GANMode != "vanilla" && c.Train.GANMode != "lsgan" {
		bad("train.gan_mode %s: %s's discriminator ends in a Sigmoid, so it trains with vanilla or lsgan; use recipe pix2pix for wgangp and hinge", c.Train.GANMode, r)
	}
}

func imageShape(c *config.Config) []int64 {
	s := int64(c.Data.ImageSize)
	return []int64{int64(c.Data.Channels), s, s}
}

func noiseShape(c *config.Config) []int64 { return []int64{int64(c.Int("model.nz")), 1, 1} }

// netSpecs: G then D, as main.py builds and initialises them.
func netSpecs(c *config.Config) []gan.NetSpec {
	m := c.Model
	o := nets.Options{Kind: "dcgan", InputNC: c.Data.Channels, OutputNC: c.Data.Channels, NZ: c.Int("model.nz"),
		NGF: m.NGF, NDF: m.NDF, ImageSize: c.Data.ImageSize}
	return []gan.NetSpec{
		{Role: "G", Options: o, Build: nets.NewGenerator, Input: noiseShape(c)},
		{Role: "D", Options: o, Build: nets.NewDiscriminator, Input: imageShape(c)},
	}
}

// DCGAN is the recipe's state: the two networks, their Adams, the noise.
type DCGAN struct {
	dev        torch.Device
	g, d       *nets.Net
	optG, optD *torch.Adam
	nz         int64
	loss       losses.GAN
	prec       *gan.Precision
	fixedNoise *torch.Tensor // the sample grid's noise
	noiseBuf   *torch.Tensor // the largest global batch's noise so far
	noise      *torch.Tensor // the global batch's noise (its first rows), drawn by DrawStep
	mine       *torch.Tensor // this rank's rows of it (all of it in one process)
	rank       int64
	world      int64
}

// New builds the networks and optimizers and draws the fixed noise.
func New(env gan.Env) (gan.Recipe, error) {
	c := env.Config
	ns, err := gan.BuildNets(c, netSpecs(c), env.Device)
	if err != nil {
		return nil, err
	}
	r := &DCGAN{dev: env.Device, g: ns[0], d: ns[1], nz: int64(c.Int("model.nz")), prec: env.Precision, rank: int64(env.Rank), world: int64(env.Ranks())}
	if r.loss, err = losses.NewGAN(c.Train.GANMode, losses.Probabilities); err != nil {
		return nil, err
	}
	// Drawn after the weights, batch_size rows, as pytorch/examples does
	// (torch.randn(opt.batchSize, nz, 1, 1)): the training noise that follows
	// is then the reference's too. With several ranks, the global batch's.
	rows := int64(c.Data.BatchSize) * r.world
	if err := torch.Try(func() { r.fixedNoise = torch.Randn(torch.Float32, r.dev, rows, r.nz, 1, 1).Persist() }); err != nil {
		r.g.Free()
		r.d.Free()
		size := fmt.Sprintf("data.batch_size × model.nz = %d × %d values", c.Data.BatchSize, r.nz)
		if r.world > 1 {
			size = fmt.Sprintf("the global batch's: data.batch_size × %d ranks × model.nz = %d × %d × %d values", r.world, c.Data.BatchSize, r.world, r.nz)
		}
		return nil, fmt.Errorf("the fixed noise, %s (main.py's torch.randn(batchSize, nz, 1, 1)): %w\nlower data.batch_size", size, err)
	}
	r.optG, r.optD = gan.NewAdam(r.g, c), gan.NewAdam(r.d, c)
	return r, nil
}

func (r *DCGAN) LossNames() []string { return []string{"Loss_D", "Loss_G", "D_x", "D_G_z1", "D_G_z2"} }

// LossGroups: D's outputs, probabilities, share the loss plot's panel
// (main.py prints D(x) and D(G(z)) side by side).
func (r *DCGAN) LossGroups() [][]string { return [][]string{{"D_x", "D_G_z1", "D_G_z2"}} }

func (r *DCGAN) Nets() []gan.Net { return []gan.Net{{Role: "G", Net: r.g}, {Role: "D", Net: r.d}} }
func (r *DCGAN) Optimizers() []gan.Optimizer {
	return []gan.Optimizer{{Name: "G", Adam: r.optG}, {Name: "D", Adam: r.optD}}
}

// PlateauLoss: main.py has no plateau policy; G's loss is the one to watch.
func (r *DCGAN) PlateauLoss() string { return "Loss_G" }

func (r *DCGAN) Fixed() []torch.Named {
	return []torch.Named{{Name: "fixed_noise", Tensor: r.fixedNoise}}
}

// DrawStep fills the noise for the next step: the draw main.py makes after
// D's real pass (D draws no random numbers, so the stream is the same).
// With several ranks each draws the global batch's noise and keeps its own
// rows, so the job sees the noise of one process with the global batch. A
// smaller batch (an epoch's last) takes the first rows of the same memory,
// so that a CUDA graph captured on full batches reads its noise from where
// it always was.
func (r *DCGAN) DrawStep(n int64) {
	rows := n * r.world
	if r.noiseBuf == nil || r.noiseBuf.Shape()[0] < rows {
		r.noiseBuf.Free()
		r.noiseBuf = torch.Empty(torch.Float32, r.dev, false, rows, r.nz, 1, 1).Persist()
		r.noise.Free()
		r.noise = nil
	}
	if r.noise == nil || r.noise.Shape()[0] != rows {
		r.noise.Free()
		r.noise = r.noiseBuf.Narrow(0, 0, rows).Persist()
		r.mine.Free()
		r.mine = r.noise.Narrow(0, r.rank*n, n).Persist()
	}
	r.noise.FillNormal(0, 1)
}

// Step is main.py's iteration: (1) update D, (2) update G.
func (r *DCGAN) Step(b gan.Batch) []*torch.Tensor {
	real := b["A"]
	errD, dx, dgz1, fake := r.backwardD(real)
	r.prec.Step(r.optD)
	errG, dgz2 := r.backwardG(fake)
	r.prec.Step(r.optG)
	r.prec.Update()
	return []*torch.Tensor{errD, errG, dx, dgz1, dgz2}
}

// backwardD: maximize log(D(x)) + log(1 - D(G(z))), the real and the fake
// half backpropagated one after the other as main.py does: D(x)'s graph is
// gone before G runs, which keeps the step's peak memory main.py's. It
// returns G(z) for G's update.
func (r *DCGAN) backwardD(real *torch.Tensor) (errD, dx, dgz1, fake *torch.Tensor) {
	gan.SetRequiresGrad(r.d, true)
	r.optD.ZeroGrad()
	var outReal, outFake *torch.Tensor
	r.prec.Autocast(func() { outReal = r.d.Forward(real) })
	outReal = r.prec.Float(outReal).Reshape(-1)
	errDReal := r.loss.ForD(outReal, losses.Real)
	r.prec.Backward(errDReal)
	r.prec.Autocast(func() {
		fake = r.g.Forward(r.mine)
		outFake = r.d.Forward(fake.Detach())
	})
	outFake, fake = r.prec.Float(outFake).Reshape(-1), r.prec.Float(fake)
	errDFake := r.loss.ForD(outFake, losses.Fake)
	r.prec.Backward(errDFake)
	return errDReal.Add(errDFake), outReal.Mean(), outFake.Mean(), fake
}

// backwardG: maximize log(D(G(z))), with D's weights frozen.
func (r *DCGAN) backwardG(fake *torch.Tensor) (errG, dgz2 *torch.Tensor) {
	gan.SetRequiresGrad(r.d, false)
	r.optG.ZeroGrad()
	var out *torch.Tensor
	r.prec.Autocast(func() { out = r.d.Forward(fake) })
	out = r.prec.Float(out).Reshape(-1)
	errG = r.loss.ForG(out, losses.Real)
	r.prec.Backward(errG)
	return errG, out.Mean()
}

// RealVisuals is the real batch's grid, as main.py's
// vutils.save_image(real_cpu, 'real_samples.png', normalize=True).
func (r *DCGAN) RealVisuals(b gan.Batch) (*image.NRGBA, error) {
	var im report.Images
	if err := torch.Try(func() { im = report.ToImages(b["A"]) }); err != nil {
		return nil, err
	}
	return report.MakeGrid(im, report.DCGANGrid)
}

// Visuals is G on the fixed noise, as main.py's fake_samples grid.
func (r *DCGAN) Visuals() (*image.NRGBA, error) {
	var im report.Images
	err := torch.Try(func() {
		gan.WithFrozenState(r.dev, []*nets.Net{r.g}, func() {
			torch.NoGrad(func() { im = report.ToImages(r.g.Forward(r.fixedNoise)) })
		})
	})
	if err != nil {
		return nil, err
	}
	return report.MakeGrid(im, report.DCGANGrid)
}
