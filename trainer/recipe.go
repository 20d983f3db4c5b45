package trainer

import (
	"fmt"
	"image"
	"log/slog"

	torch "gogan/cgo"
	"gogan/data"
	"gogan/nets"
)

// recipe is one GAN training algorithm: its networks, optimizers and step.
// Step runs one iteration (discriminator then generator update) on a batch
// already on the device and returns the losses as one-element device
// tensors in lossNames order, without waiting for the device (so that a CUDA
// graph can capture it); like every torch op it panics with *torch.Error,
// which the loop turns into an error.
type recipe interface {
	lossNames() []string
	nets() []namedNet
	optimizers() []namedOpt
	// draw puts the next step's random inputs (DCGAN's noise) into fixed
	// tensors: it runs before step, outside any CUDA graph.
	draw(n int64)
	step(a, b *torch.Tensor) []*torch.Tensor
	// precision is the step's mixed-precision state (cuda.amp).
	precision() *precision
	// sample renders the generator's current output as the sample grid.
	sample() (*image.NRGBA, error)
	// fixed lists the recipe's fixed inputs (sample noise, sample pairs),
	// which checkpoints store so a resumed run draws the same grids.
	fixed() []torch.Named
	// plateauLoss names the loss whose epoch mean drives lr_policy plateau
	// (the reference's BaseModel.metric, which its models never set).
	plateauLoss() string
}

type namedNet struct {
	name string
	net  *nets.Net
}

type namedOpt struct {
	name string
	opt  *torch.Adam
}

// toImages copies an NCHW tensor to the host for a grid.
func toImages(t *torch.Tensor) Images {
	s := t.Shape()
	return Images{Data: t.Float32s(), N: int(s[0]), C: int(s[1]), H: int(s[2]), W: int(s[3])}
}

// setRequiresGrad turns a network's parameter gradients on or off (the
// reference's set_requires_grad): off while the generator trains, so the
// discriminator's weights get no gradient computed.
func setRequiresGrad(n *nets.Net, on bool) { torch.SetRequiresGradAll(n.Parameters(), on) }

func newAdam(n *nets.Net, t TrainConfig) *torch.Adam {
	return torch.NewAdam(n.Parameters(), t.LR, t.Beta1, t.Beta2)
}

// withFrozenState runs f (a sampling forward pass) and then restores the
// networks' buffers (BatchNorm running statistics) and the random state of
// dev, so that drawing samples never changes the training run: a resumed run
// and an uninterrupted one stay identical whenever they sample.
func withFrozenState(dev torch.Device, ns []*nets.Net, f func()) {
	var buffers []*torch.Tensor
	for _, n := range ns {
		for _, nt := range n.StateDict() {
			if !n.IsParameter(nt.Name) { // a forward pass changes only buffers
				buffers = append(buffers, nt.Tensor)
			}
		}
	}
	snap := takeSnapshot(dev, buffers)
	defer func() {
		snap.restore()
		snap.free()
	}()
	f()
}

// snapshot is a copy of some tensors and of the random generators (the
// CPU's and dev's), to put back later.
type snapshot struct {
	dev            torch.Device
	live, saved    []*torch.Tensor
	cpuRNG, devRNG *torch.Tensor
}

func takeSnapshot(dev torch.Device, ts []*torch.Tensor) *snapshot {
	snap := &snapshot{dev: dev, live: ts}
	for _, t := range ts {
		snap.saved = append(snap.saved, t.Detach().Clone().Persist())
	}
	snap.cpuRNG = torch.RNGState(torch.CPUDevice).Persist()
	if dev.IsCUDA() {
		snap.devRNG = torch.RNGState(dev).Persist()
	}
	return snap
}

// restore copies the saved values back and resets the generators.
func (snap *snapshot) restore() {
	torch.NoGrad(func() {
		for i, t := range snap.live {
			t.CopyFrom(snap.saved[i])
		}
	})
	torch.SetRNGState(torch.CPUDevice, snap.cpuRNG)
	if snap.devRNG != nil {
		torch.SetRNGState(snap.dev, snap.devRNG)
	}
}

func (snap *snapshot) free() {
	for _, t := range snap.saved {
		t.Free()
	}
	snap.cpuRNG.Free()
	snap.devRNG.Free()
}

// buildNets makes cfg's generator and discriminator on dev, initialised as
// model.init_type and model.init_gain say. G is built and initialised before
// D is built, as both references do, so that one seed gives their weights.
func buildNets(cfg *Config, dev torch.Device) (g, d *nets.Net, err error) {
	if g, err = nets.NewGenerator(generatorOptions(cfg), dev); err != nil {
		return nil, nil, err
	}
	if err = initNet(g, cfg); err != nil {
		g.Free()
		return nil, nil, err
	}
	if d, err = nets.NewDiscriminator(discriminatorOptions(cfg), dev); err != nil {
		g.Free()
		return nil, nil, err
	}
	if err = initNet(d, cfg); err != nil {
		g.Free()
		d.Free()
		return nil, nil, err
	}
	return g, d, nil
}

// initNet draws n's initial weights and lays them out as cuda.channels_last asks.
func initNet(n *nets.Net, cfg *Config) error {
	if err := n.Init(cfg.Model.InitType, cfg.Model.InitGain); err != nil {
		return err
	}
	if cfg.CUDA.ChannelsLast {
		return torch.Try(func() { torch.ToChannelsLast(n.Parameters()) })
	}
	return nil
}

// dcgan is pytorch/examples dcgan: D on real and on detached fake, G with the
// non-saturating loss, BCE on D's sigmoid output, fixed noise for samples.
type dcgan struct {
	dev        torch.Device
	g, d       *nets.Net
	optG, optD *torch.Adam
	nz         int64
	loss       ganLoss
	fixedNoise *torch.Tensor
	noise      *torch.Tensor // the step's input noise, drawn by draw
	prec       *precision
}

func newDCGAN(cfg *Config, dev torch.Device) (*dcgan, error) {
	if cfg.Train.GANMode != "vanilla" && cfg.Train.GANMode != "lsgan" {
		return nil, fmt.Errorf("train.gan_mode %s: recipe dcgan's discriminator ends in a Sigmoid, so it trains with vanilla or lsgan; use recipe pix2pix for wgangp and hinge", cfg.Train.GANMode)
	}
	g, d, err := buildNets(cfg, dev)
	if err != nil {
		return nil, err
	}
	r := &dcgan{dev: dev, g: g, d: d, nz: int64(cfg.Model.NZ), prec: newPrecision(cfg, dev)}
	r.loss, _ = newGANLoss(cfg.Train.GANMode, false)
	// Drawn after the weights, batch_size rows, as pytorch/examples does
	// (torch.randn(opt.batchSize, nz, 1, 1)): the training noise that follows
	// is then the reference's too.
	rows := int64(cfg.Data.BatchSize)
	if err := torch.Try(func() { r.fixedNoise = torch.Randn(torch.Float32, dev, rows, r.nz, 1, 1).Persist() }); err != nil {
		return nil, err
	}
	r.optG, r.optD = newAdam(g, cfg.Train), newAdam(d, cfg.Train)
	return r, nil
}

func (r *dcgan) lossNames() []string { return []string{"Loss_D", "Loss_G", "D_x", "D_G_z1", "D_G_z2"} }
func (r *dcgan) nets() []namedNet    { return []namedNet{{"G", r.g}, {"D", r.d}} }
func (r *dcgan) optimizers() []namedOpt {
	return []namedOpt{{"G", r.optG}, {"D", r.optD}}
}

func (r *dcgan) plateauLoss() string { return "Loss_G" }

func (r *dcgan) fixed() []torch.Named {
	return []torch.Named{{Name: "fixed_noise", Tensor: r.fixedNoise}}
}

func (r *dcgan) precision() *precision { return r.prec }

// draw fills the noise for the next step: the draw pytorch/examples makes
// after D's real pass (D draws no random numbers, so the stream is the same).
func (r *dcgan) draw(n int64) {
	if r.noise == nil || r.noise.Shape()[0] != n {
		r.noise.Free()
		r.noise = torch.Empty(torch.Float32, r.dev, false, n, r.nz, 1, 1).Persist()
	}
	r.noise.FillNormal(0, 1)
}

func (r *dcgan) step(real, _ *torch.Tensor) []*torch.Tensor {
	p := r.prec
	// (1) Update D: maximize log(D(x)) + log(1 - D(G(z)))
	setRequiresGrad(r.d, true)
	r.optD.ZeroGrad()
	out := p.forward(func() *torch.Tensor { return r.d.Forward(real) }).Reshape(-1)
	errDReal := r.loss.forD(out, true)
	p.backward(errDReal)
	dx := out.Mean()
	fake := p.forward(func() *torch.Tensor { return r.g.Forward(r.noise) })
	outFake := p.forward(func() *torch.Tensor { return r.d.Forward(fake.Detach()) }).Reshape(-1)
	errDFake := r.loss.forD(outFake, false)
	p.backward(errDFake)
	dgz1 := outFake.Mean()
	errD := errDReal.Add(errDFake)
	p.step(r.optD)
	// (2) Update G: maximize log(D(G(z)))
	setRequiresGrad(r.d, false)
	r.optG.ZeroGrad()
	outG := p.forward(func() *torch.Tensor { return r.d.Forward(fake) }).Reshape(-1)
	errG := r.loss.forG(outG, true)
	p.backward(errG)
	dgz2 := outG.Mean()
	p.step(r.optG)
	p.update()
	return []*torch.Tensor{errD, errG, dx, dgz1, dgz2}
}

func (r *dcgan) sample() (*image.NRGBA, error) {
	var im Images
	err := torch.Try(func() {
		withFrozenState(r.dev, []*nets.Net{r.g}, func() {
			torch.NoGrad(func() { im = toImages(r.g.Forward(r.fixedNoise)) })
		})
	})
	if err != nil {
		return nil, err
	}
	return MakeGrid(im, DCGANGrid)
}

// pix2pix is pytorch-CycleGAN-and-pix2pix's Pix2PixModel: a conditional D on
// cat(A, B), loss_D = 0.5 (real + fake), loss_G = GAN + lambda_L1 * L1.
type pix2pix struct {
	dev        torch.Device
	g, d       *nets.Net
	optG, optD *torch.Adam
	loss       ganLoss
	lambdaL1   float64
	lambdaGP   float64
	multiscale bool
	fixedA     *torch.Tensor // the sample grid's inputs and targets
	fixedB     *torch.Tensor
	prec       *precision
}

func newPix2Pix(cfg *Config, dev torch.Device) (*pix2pix, error) {
	m := cfg.Model
	g, d, err := buildNets(cfg, dev)
	if err != nil {
		return nil, err
	}
	r := &pix2pix{dev: dev, g: g, d: d, lambdaL1: cfg.Train.LambdaL1, lambdaGP: cfg.Train.LambdaGP, multiscale: m.NetD == "multiscale",
		prec: newPrecision(cfg, dev)}
	if r.loss, err = newGANLoss(cfg.Train.GANMode, true); err != nil {
		return nil, err
	}
	if r.loss.mode == "wgangp" && m.Norm == "batch" { // every netD kind puts it after a conv
		// The reference accepts it too; the WGAN-GP paper drops batch norm
		// from the critic, whose per-sample gradient the penalty constrains.
		slog.Warn("train.gan_mode=wgangp with model.norm=batch: the critic's BatchNorm mixes the samples the gradient penalty treats one by one (the WGAN-GP paper uses none); consider model.norm=instance or none")
	}
	r.optG, r.optD = newAdam(g, cfg.Train), newAdam(d, cfg.Train)
	return r, nil
}

func (r *pix2pix) lossNames() []string { return []string{"G_GAN", "G_L1", "D_real", "D_fake"} }
func (r *pix2pix) nets() []namedNet    { return []namedNet{{"G", r.g}, {"D", r.d}} }
func (r *pix2pix) optimizers() []namedOpt {
	return []namedOpt{{"G", r.optG}, {"D", r.optD}}
}

func (r *pix2pix) precision() *precision { return r.prec }
func (r *pix2pix) draw(int64)            {}

// predictions is D's output, one tensor per scale.
func (r *pix2pix) predictions(x *torch.Tensor) []*torch.Tensor {
	if !r.multiscale {
		return []*torch.Tensor{r.prec.forward(func() *torch.Tensor { return r.d.Forward(x) })}
	}
	var out []*torch.Tensor
	r.prec.run(func() {
		for _, feats := range r.d.ForwardMultiScale(x) {
			out = append(out, feats[len(feats)-1])
		}
	})
	for i := range out {
		out[i] = r.prec.float(out[i])
	}
	return out
}

// dLoss sums the loss over D's scales (pix2pixHD's GANLoss does the same).
func (r *pix2pix) dLoss(x *torch.Tensor, real, forG bool) *torch.Tensor {
	var total *torch.Tensor
	for _, p := range r.predictions(x) {
		var l *torch.Tensor
		if forG {
			l = r.loss.forG(p, real)
		} else {
			l = r.loss.forD(p, real)
		}
		if total == nil {
			total = l
		} else {
			total = total.Add(l)
		}
	}
	return total
}

// plateauLoss is the L1 distance to the targets: the one loss of the four
// that falls as the translation gets better.
func (r *pix2pix) plateauLoss() string { return "G_L1" }

func (r *pix2pix) fixed() []torch.Named {
	if r.fixedA == nil {
		return nil
	}
	return []torch.Named{{Name: "fixed_A", Tensor: r.fixedA}, {Name: "fixed_B", Tensor: r.fixedB}}
}

// sampleCount is how many pairs the pix2pix grid shows.
const sampleCount = 4

// setSamples takes the first pairs of the dataset (epoch 0's augmentation)
// as the grid's fixed inputs and targets.
func (r *pix2pix) setSamples(ds *data.Dataset, seed uint64, dev torch.Device) error {
	n := min(sampleCount, ds.Len())
	var as, bs []*data.Image
	for i := 0; i < n; i++ {
		smp, err := ds.Sample(i, seed, 0)
		if err != nil {
			return err
		}
		as, bs = append(as, smp.A), append(bs, smp.B)
	}
	return torch.Try(func() {
		r.fixedA = imagesTensor(as).To(dev).Persist()
		r.fixedB = imagesTensor(bs).To(dev).Persist()
	})
}

// imagesTensor is same-sized 8-bit HWC images as an NCHW float32 tensor in
// [-1, 1], normalised as the loader's batches are.
func imagesTensor(ims []*data.Image) *torch.Tensor {
	im0 := ims[0]
	plane := im0.H * im0.W
	out := make([]float32, len(ims)*im0.C*plane)
	for i, im := range ims {
		for p := 0; p < plane; p++ {
			for c := 0; c < im.C; c++ {
				out[(i*im.C+c)*plane+p] = data.Normalize(im.Pix[p*im.C+c])
			}
		}
	}
	return torch.FromFloat32(out, int64(len(ims)), int64(im0.C), int64(im0.H), int64(im0.W))
}

func (r *pix2pix) step(realA, realB *torch.Tensor) []*torch.Tensor {
	p := r.prec
	fakeB := p.forward(func() *torch.Tensor { return r.g.Forward(realA) })
	// Update D
	setRequiresGrad(r.d, true)
	r.optD.ZeroGrad()
	fakeAB := torch.Cat([]*torch.Tensor{realA, fakeB}, 1)
	lossDFake := r.dLoss(fakeAB.Detach(), false, false)
	realAB := torch.Cat([]*torch.Tensor{realA, realB}, 1)
	lossDReal := r.dLoss(realAB, true, false)
	lossD := lossDFake.Add(lossDReal).MulScalar(0.5)
	if r.loss.mode == "wgangp" {
		lossD = lossD.Add(gradientPenalty(r.predictions, realAB, fakeAB, r.lambdaGP))
	}
	p.backward(lossD)
	p.step(r.optD)
	// Update G
	setRequiresGrad(r.d, false)
	r.optG.ZeroGrad()
	lossGGAN := r.dLoss(fakeAB, true, true)
	lossGL1 := torch.L1Loss(fakeB, realB, torch.ReduceMean).MulScalar(r.lambdaL1)
	lossG := lossGGAN.Add(lossGL1)
	p.backward(lossG)
	p.step(r.optG)
	p.update()
	return []*torch.Tensor{lossGGAN, lossGL1, lossDReal, lossDFake}
}

// sample runs G on the fixed pairs in train mode, as the reference's
// visuals (BatchNorm batch statistics, dropout on), without changing state.
func (r *pix2pix) sample() (*image.NRGBA, error) {
	if r.fixedA == nil {
		return nil, fmt.Errorf("pix2pix: no sample inputs")
	}
	var in, out, target Images
	err := torch.Try(func() {
		withFrozenState(r.dev, []*nets.Net{r.g}, func() {
			torch.NoGrad(func() {
				in, out, target = toImages(r.fixedA), toImages(r.g.Forward(r.fixedA)), toImages(r.fixedB)
			})
		})
	})
	if err != nil {
		return nil, err
	}
	return Pix2PixGrid(in, out, target, 2)
}
