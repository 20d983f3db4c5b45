// Package pix2pixhd is NVIDIA pix2pixHD's Pix2PixHDModel (Wang et al.
// 2018): image synthesis from label maps at high resolution. A coarse
// GlobalGenerator is trained first; a LocalEnhancer then wraps it to double
// the resolution. Three discriminators of the same design look at three
// scales; besides fooling them the generator matches their intermediate
// features on real images (feature matching) and VGG19's (perceptual
// loss). Label maps come one-hot encoded, with the boundaries of the
// instance map as one more channel.
package pix2pixhd

import (
	"cmp"
	"fmt"
	"image"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	torch "gogan/cgo"
	"gogan/config"
	"gogan/data"
	"gogan/gan"
	"gogan/gan/imagepool"
	"gogan/gan/losses"
	"gogan/nets"
	"gogan/report"
	"gogan/runfolder"
)

// maxBlocks bounds the residual block counts (the reference's are 9 and
// 3): a network is built block by block, so a count no GPU holds
// (n_blocks_global=1e9) would allocate for minutes until the machine ran
// out of memory, instead of failing at once.
const maxBlocks = 100

func init() {
	gan.Register(gan.Definition{
		Schema: config.RecipeSchema{
			Name: "pix2pixhd",
			// pix2pixHD's generators have no dropout.
			Ignores: []string{"data.image_size", "model.no_dropout", "train.lambda_gp"}, // lambda_gp: wgangp is refused
			Doc:     "high-resolution image synthesis from label maps (NVIDIA pix2pixHD's Pix2PixHDModel).",
			Keys: append([]config.Key{
				{Name: "data.label_nc", Type: config.TypeInt, Default: 35, Range: config.Between(0, 256),
					Doc: "pix2pixhd: classes of the label maps (one-hot encoded); 0 = the input is an ordinary image of model.input_nc channels."},
				{Name: "data.no_instance", Type: config.TypeBool, Default: false,
					Doc: "pix2pixhd: do not read instance maps ({phase}_inst/); with them their boundaries are one more input channel."},
				{Name: "model.n_downsample_global", Type: config.TypeInt, Default: 4, Range: config.Between(1, 8), Doc: "pix2pixhd: downsamplings of the global generator."},
				{Name: "model.n_blocks_global", Type: config.TypeInt, Default: 9, Range: config.AtLeast(1), Limit: config.Between(1, maxBlocks), Doc: "pix2pixhd: residual blocks of the global generator."},
				{Name: "model.n_local_enhancers", Type: config.TypeInt, Default: 1, Range: config.Between(1, 3), Doc: "pix2pixhd: local enhancers of model.netG=local (each doubles the resolution)."},
				{Name: "model.n_blocks_local", Type: config.TypeInt, Default: 3, Range: config.AtLeast(1), Limit: config.Between(1, maxBlocks), Doc: "pix2pixhd: residual blocks of each local enhancer."},
				{Name: "model.vgg_weights", Type: config.TypeString, Default: "",
					Doc: "pix2pixhd: torchvision's ImageNet VGG19 weights for the perceptual loss (vgg19-dcbb9e9d.pth: torchvision.models.vgg19(weights=\"IMAGENET1K_V1\") saves it in torch.hub's cache, $TORCH_HOME/hub/checkpoints/, by default ~/.cache/torch/hub/checkpoints/). Empty, or a file name not in the working folder: that file in torch.hub's cache, where pix2pixHD's Vgg19 finds it. Needed unless train.no_vgg_loss."},
				{Name: "model.load_pretrain", Type: config.TypeString, Default: "",
					Doc: "pix2pixhd: a run folder (or checkpoint folder) whose newest checkpoint starts G and D, the tensors whose names and shapes match: the global stage's run, when training model.netG=local. It must have been trained in this run's data.direction."},
				{Name: "train.niter_fix_global", Type: config.TypeInt, Default: 0, Range: config.AtLeast(0),
					Doc: "pix2pixhd: train only the local enhancer for this many epochs, then the whole generator (a new Adam over all of it, as the reference)."},
				{Name: "train.lambda_feat", Type: config.TypeFloat, Default: 10.0, Range: config.AtLeast(0), Doc: "pix2pixhd: weight of the feature matching and VGG losses."},
				{Name: "train.no_ganFeat_loss", Type: config.TypeBool, Default: false, Doc: "pix2pixhd: no discriminator feature matching loss."},
				{Name: "train.no_vgg_loss", Type: config.TypeBool, Default: false, Doc: "pix2pixhd: no VGG19 perceptual loss."},
			}, featureKeys...),
			// pix2pixHD's base and train options.
			Defaults: map[string]any{
				"data.root": "datasets/cityscapes", "data.dataset": "aligned", "data.batch_size": 1, "data.no_flip": false, "data.reference_workers": 2,
				"data.preprocess": "scale_width", "data.load_size": 1024, "data.crop_size": 512,
				"model.netG": "global", "model.netD": "multiscale", "model.norm": "instance", "model.no_dropout": true,
				"model.ngf": 64, "model.ndf": 64, "model.n_layers_D": 3, "model.num_D": 2, "model.init_type": "pix2pixhd", "model.init_gain": 0.02,
				"train.gan_mode": "lsgan", "train.epochs": 100, "train.epochs_decay": 100, "train.lr_policy": "pix2pixhd",
				"train.lr": 0.0002, "train.beta1": 0.5, "train.sample_every": 400,
			},
			Validate: validate,
		},
		Files: checkFiles,
		Data: func(c *config.Config, dc *data.Config) {
			dc.LabelNC, dc.Instance = c.Int("data.label_nc"), !c.Bool("data.no_instance")
			dc.InstanceIDs = dc.Instance && c.Bool("model.instance_feat")
			dc.InputNC, dc.OutputNC = c.Model.InputNC, c.Model.OutputNC
			if dc.LabelNC > 0 {
				dc.InputNC = 1
			}
			// pix2pixHD's get_transform: __scale_width keeps the aspect
			// ratio, and none rounds the sides to what G's downsamplings take.
			dc.ScaleWidthAspect = true
			// Its AlignedDataset's length: len(A_paths) // batchSize * batchSize.
			dc.WholeBatches = true
			dc.NoneMultiple = 1 << c.Int("model.n_downsample_global")
			if c.Model.NetG == "local" {
				dc.NoneMultiple <<= c.Int("model.n_local_enhancers")
			}
		},
		Nets: netSpecs,
		Inputs: func(c *config.Config) []gan.Input {
			h, w := inputSize(c)
			// A: the label map's class ids (label_nc > 0) or an image; inst:
			// the instance boundaries, 0 or 1.
			a := gan.Input{Name: "A", Shape: []int64{int64(c.Model.InputNC), h, w}}
			if n := c.Int("data.label_nc"); n > 0 {
				a = gan.Input{Name: "A", Shape: []int64{1, h, w}, Classes: n}
			}
			in := []gan.Input{a, {Name: "B", Shape: []int64{int64(c.Model.OutputNC), h, w}}}
			if !c.Bool("data.no_instance") {
				in = append(in, gan.Input{Name: "inst", Shape: []int64{1, h, w}, Classes: 2})
				if c.Bool("model.instance_feat") {
					// the instance ids' high and low bytes
					in = append(in, gan.Input{Name: data.InstIDTensor, Shape: []int64{2, h, w}, Classes: 256})
				}
			}
			return in
		},
		New: New,
		Translate: func(c *config.Config) []gan.Translation {
			tr := gan.Translation{Direction: c.Data.Direction, Role: "G", InputNC: c.Model.InputNC, OutputNC: c.Model.OutputNC,
				PairDirection: c.Data.Direction, Visuals: visuals}
			enc, f := newEncoding(c), newFeatures(c)
			if enc.labelNC > 0 || enc.instance {
				tr.Encode = func(b gan.Batch, _ gan.Encoders) *torch.Tensor { return enc.input(b) }
			}
			if f != nil {
				tr.Nets, tr.Photos = []string{"E"}, true
				tr.Encode = func(b gan.Batch, e gan.Encoders) *torch.Tensor {
					var feats *torch.Tensor
					if e.Features != nil {
						feats = e.Features.Sample(b)
					} else {
						feats = f.encode(e.Nets["E"], b)
					}
					return torch.Cat([]*torch.Tensor{enc.input(b), feats}, 1)
				}
				tr.LoadFeatures = func(path string, seed uint64, ck runfolder.Checkpoint, ns map[string]*nets.Net) (gan.FeatureSampler, error) {
					cl, err := loadClusters(path, f, ns["E"], ck)
					if err != nil {
						return nil, err
					}
					return &clusterSampler{cl: cl, rng: rand.New(rand.NewPCG(seed, 0))}, nil
				}
			}
			return []gan.Translation{tr}
		},
		BenchParams: func(c *config.Config) map[string]any {
			return map[string]any{"label_nc": c.Int("data.label_nc"), "no_instance": c.Bool("data.no_instance"),
				"instance_feat": c.Bool("model.instance_feat"), "label_feat": c.Bool("model.label_feat"),
				"lambda_feat": c.Float("train.lambda_feat"), "no_ganFeat_loss": c.Bool("train.no_ganFeat_loss"),
				"no_vgg_loss": c.Bool("train.no_vgg_loss"), "vgg_weights": c.String("model.vgg_weights"),
				// optimizer_G's parameters: the local enhancer's alone while the global generator is fixed
				"niter_fix_global": c.Int("train.niter_fix_global")}
		},
		Export:         export,
		ReferenceModel: "pix2pixHD",
		FromReference:  fromReference,
		Describe:       describe,
		OlderConfig:    olderPoolSize,
	})
	gan.RegisterReferenceOptions("pix2pixHD", options)
	// its logging (total_steps += batchSize: its frequencies count images)
	config.RegisterReferenceNames("pix2pixHD", map[string]string{"tf_log": "logging.tensorboard", "model": "recipe",
		"print_freq": "train.log_every", "display_freq": "train.sample_every", "save_latest_freq": "train.checkpoint_every",
		"fp16": "cuda.amp"}) // its README's AMP training (apex)
	config.RegisterReferenceAdvice("pix2pixHD", map[string]string{"fp16": "as cuda.amp=fp16 (on a GPU; bf16 where it has bfloat16)"})
}

// inputSize is a batch's height and width for synthetic batches (gogan
// bench): the crop, or with scale_width / none an image load_size wide at
// Cityscapes' 2:1.
func inputSize(c *config.Config) (h, w int64) {
	d := c.Data
	switch d.Preprocess {
	case data.ScaleWidth, data.PreprocessNone:
		return int64(d.LoadSize / 2), int64(d.LoadSize)
	}
	return int64(d.CropSize), int64(d.CropSize)
}

func validate(c *config.Config, bad func(string, ...any)) {
	d, m := &c.Data, &c.Model
	if m.NetG != "global" && m.NetG != "local" {
		bad("recipe pix2pixhd needs model.netG global (GlobalGenerator) or local (LocalEnhancer), not %s", m.NetG)
	}
	if m.NetD != "multiscale" {
		bad("recipe pix2pixhd needs model.netD=multiscale (pix2pixHD's MultiscaleDiscriminator), not %s", m.NetD)
	}
	if d.Dataset != data.Aligned {
		bad("recipe pix2pixhd trains on paired data: data.dataset must be aligned ({phase}_label/, {phase}_img/, {phase}_inst/ folders, {phase}_A/ and {phase}_B/, or A|B images), not %s", d.Dataset)
	}
	if g := c.Train.GANMode; g != "lsgan" && g != "vanilla" {
		bad("recipe pix2pixhd trains with train.gan_mode lsgan (the reference's default) or vanilla (its --no_lsgan), not %s", g)
	}
	if n := c.Int("train.niter_fix_global"); n > 0 && m.NetG != "local" {
		bad("train.niter_fix_global=%d trains the local enhancer alone first: it needs model.netG=local", n)
	}
	validateFeatures(c, bad)
	crops := d.Preprocess == data.ResizeAndCrop || d.Preprocess == data.Crop || d.Preprocess == data.ScaleWidthAndCrop
	if mult := nets.InputMultiple(netSpecs(c)[0].Options); crops && d.CropSize%mult != 0 {
		bad("model.netG=%s with model.n_downsample_global=%d needs images whose sides are multiples of %d, but data.crop_size=%d",
			m.NetG, c.Int("model.n_downsample_global"), mult, d.CropSize)
	} else if min := nets.MinInput(netSpecs(c)[0].Options); crops && d.CropSize < min {
		bad("model.netG=%s with model.n_downsample_global=%d takes images of at least %dx%d pixels, but data.crop_size=%d: raise data.crop_size or lower model.n_downsample_global",
			m.NetG, c.Int("model.n_downsample_global"), min, min, d.CropSize)
	}
}

// inputChannels is the generator's input: the one-hot label map (or the
// input image) and the instance boundaries.
func inputChannels(c *config.Config) int {
	n := c.Int("data.label_nc")
	if n == 0 {
		n = c.Model.InputNC
	}
	if !c.Bool("data.no_instance") {
		n++
	}
	return n
}

// netSpecs: G, D and with features E, as Pix2PixHDModel.initialize
// defines them. G's input is D's label part and the features.
func netSpecs(c *config.Config) []gan.NetSpec {
	m := c.Model
	h, w := inputSize(c)
	in := int64(inputChannels(c))
	gIn := in + int64(featureChannels(c))
	specs := []gan.NetSpec{
		{Role: "G", Build: nets.NewGenerator, Input: []int64{gIn, h, w},
			Options: nets.Options{Kind: m.NetG, InputNC: int(gIn), OutputNC: m.OutputNC, NGF: m.NGF, Norm: m.Norm, PadType: "reflect",
				NDownsampleGlobal: c.Int("model.n_downsample_global"), NBlocksGlobal: c.Int("model.n_blocks_global"),
				NLocalEnhancers: c.Int("model.n_local_enhancers"), NBlocksLocal: c.Int("model.n_blocks_local")}},
		{Role: "D", Build: nets.NewDiscriminator, Input: []int64{in + int64(m.OutputNC), h, w},
			Options: nets.Options{Kind: "multiscale", InputNC: int(in) + m.OutputNC, NDF: m.NDF, NLayers: m.NLayersD, NumD: m.NumD,
				Norm: m.Norm, GetIntermFeat: !c.Bool("train.no_ganFeat_loss")}},
	}
	if f := newFeatures(c); f != nil {
		specs = append(specs, gan.NetSpec{Role: "E", Build: nets.NewGenerator, Input: []int64{int64(m.OutputNC), h, w},
			Options: nets.Options{Kind: "encoder", InputNC: m.OutputNC, OutputNC: f.num, NGF: c.Int("model.nef"), Norm: m.Norm,
				PadType: "reflect", NDownsampleGlobal: c.Int("model.n_downsample_E")}})
	}
	return specs
}

// Pix2PixHD is the recipe's state.
type Pix2PixHD struct {
	cfg        *config.Config
	dev        torch.Device
	g, d       *nets.Net
	e          *nets.Net // the feature encoder; nil without features
	feat       *features
	vgg        *nets.VGG19 // nil without the perceptual loss
	optG, optD *torch.Adam
	loss       losses.GAN
	enc        *encoding
	lambdaFeat float64
	ganFeat    bool
	nLayersD   int
	fixGlobal  int  // train.niter_fix_global
	globalOn   bool // the whole generator trains (not only the local enhancer)
	prec       *gan.Precision
	fixed      gan.Batch // the sample grid's label maps, boundaries and photos
	// pool is fake_pool (train.pool_size; size 0 passes D's fake inputs
	// through); its draws and checkpointed state are pooled's.
	pool *imagepool.Pool
}

// New builds G and D (G initialised first), the VGG19 of the perceptual
// loss and the optimizers.
func New(env gan.Env) (gan.Recipe, error) {
	c := env.Config
	ns, err := gan.BuildNets(c, netSpecs(c), env.Device)
	if err != nil {
		return nil, err
	}
	r := &Pix2PixHD{cfg: c, dev: env.Device, g: ns[0], d: ns[1], feat: newFeatures(c), prec: env.Precision,
		lambdaFeat: c.Float("train.lambda_feat"), ganFeat: !c.Bool("train.no_ganFeat_loss"), nLayersD: c.Model.NLayersD,
		fixGlobal: c.Int("train.niter_fix_global")}
	r.globalOn = r.fixGlobal == 0
	if len(ns) > 2 {
		r.e = ns[2]
	}
	fail := func(err error) (gan.Recipe, error) {
		gan.Free(r)
		return nil, err
	}
	// --no_lsgan sets define_D's use_sigmoid: D ends in nn.Sigmoid, and
	// GANLoss is BCELoss. The getIntermFeat discriminator drops that layer
	// (and BCELoss then refuses its logits); gogan keeps it there too.
	if r.loss, err = losses.NewGAN(c.Train.GANMode, losses.SigmoidLogits); err != nil {
		return fail(err)
	}
	r.enc = newEncoding(c)
	if !c.Bool("train.no_vgg_loss") {
		path, err := vggWeights(c.String("model.vgg_weights"))
		if err != nil {
			return fail(err)
		}
		if r.vgg, err = nets.LoadVGG19(path, env.Device); err != nil {
			return fail(fmt.Errorf("model.vgg_weights: %w", err))
		}
	}
	r.optG = r.newOptG(c.Train.LR)
	r.optD = gan.NewAdam(r.d, c)
	if err := r.newPool(c, env.Data); err != nil {
		return fail(err)
	}
	return withPool(r, env), nil
}

// newOptG is optimizer_G: over the local enhancer's parameters alone while
// the global generator is fixed, else over all of G; and over E's.
func (r *Pix2PixHD) newOptG(lr float64) *torch.Adam {
	params := r.g.Parameters()
	if !r.globalOn {
		prefix := nets.LocalPrefix(r.g.Options)
		params = params[:0:0]
		var fixed []*torch.Tensor
		for _, nt := range r.g.StateDict() {
			if !r.g.IsParameter(nt.Name) {
				continue
			}
			if strings.HasPrefix(nt.Name, prefix) {
				params = append(params, nt.Tensor)
			} else {
				fixed = append(fixed, nt.Tensor)
			}
		}
		// The reference lets the fixed layers' gradients pile up unused;
		// not computing them changes no result.
		torch.SetRequiresGradAll(fixed, false)
	} else {
		torch.SetRequiresGradAll(params, true)
	}
	if r.e != nil {
		params = append(params, r.e.Parameters()...)
	}
	t := r.cfg.Train
	return torch.NewAdam(params, lr, t.Beta1, t.Beta2)
}

// LossNames are the reference's loss_filter names, in its order.
func (r *Pix2PixHD) LossNames() []string {
	names := []string{"G_GAN"}
	if r.ganFeat {
		names = append(names, "G_GAN_Feat")
	}
	if r.vgg != nil {
		names = append(names, "G_VGG")
	}
	return append(names, "D_real", "D_fake")
}

// LossGroups: D's terms share the loss plot's panel.
func (r *Pix2PixHD) LossGroups() [][]string { return [][]string{{"D_real", "D_fake"}} }

func (r *Pix2PixHD) Nets() []gan.Net {
	ns := []gan.Net{{Role: "G", Net: r.g}, {Role: "D", Net: r.d}}
	if r.feat != nil {
		ns = append(ns, gan.Net{Role: "E", Net: r.e})
	}
	return ns
}
func (r *Pix2PixHD) Optimizers() []gan.Optimizer {
	return []gan.Optimizer{{Name: "G", Adam: r.optG}, {Name: "D", Adam: r.optD}}
}

// PlateauLoss: the feature matching loss falls as the images get closer to
// the real ones' look (the GAN losses hover).
func (r *Pix2PixHD) PlateauLoss() string {
	if r.ganFeat {
		return "G_GAN_Feat"
	}
	return r.LossNames()[0]
}

// Step is Pix2PixHDModel.forward and train.py's updates: every loss from
// one forward pass, then G's update, then D's.
func (r *Pix2PixHD) Step(b gan.Batch) []*torch.Tensor {
	label, real := r.enc.input(b), b["B"]
	var fake *torch.Tensor
	gIn := r.withFeatures(label, b)
	r.prec.Autocast(func() { fake = r.g.Forward(gIn) })
	fake = r.prec.Float(fake)

	// Fake and real detection: D's fake input through the pool
	// (discriminate(..., use_pool=True); pool_size 0: itself), detached.
	gan.SetRequiresGrad(r.d, true)
	fakeQuery := r.pool.Query(torch.Cat([]*torch.Tensor{label, fake.Detach()}, 1))
	var predFakePool, predReal [][]*torch.Tensor
	r.prec.Autocast(func() {
		predFakePool = r.d.ForwardMultiScale(fakeQuery)
		predReal = r.d.ForwardMultiScale(torch.Cat([]*torch.Tensor{label, real}, 1))
	})
	lossDFake := r.ganLoss(predFakePool, losses.Fake)
	lossDReal := r.ganLoss(predReal, losses.Real)

	// The generator's losses, D frozen.
	gan.SetRequiresGrad(r.d, false)
	var predFake [][]*torch.Tensor
	r.prec.Autocast(func() { predFake = r.d.ForwardMultiScale(torch.Cat([]*torch.Tensor{label, fake}, 1)) })
	lossGGAN := r.ganLoss(predFake, losses.Real)
	out := []*torch.Tensor{lossGGAN}
	lossG := lossGGAN
	if r.ganFeat {
		feat := losses.FeatureMatching(r.floats(predFake), r.floats(predReal), r.nLayersD, r.lambdaFeat)
		out, lossG = append(out, feat), lossG.Add(feat)
	}
	if r.vgg != nil {
		vgg := losses.Perceptual(r.vgg, fake, real, r.prec.Autocast).MulScalar(r.lambdaFeat)
		out, lossG = append(out, vgg), lossG.Add(vgg)
	}
	r.optG.ZeroGrad()
	r.prec.Backward(lossG)
	r.prec.Step(r.optG)

	gan.SetRequiresGrad(r.d, true)
	r.optD.ZeroGrad()
	r.prec.Backward(lossDFake.Add(lossDReal).MulScalar(0.5))
	r.prec.Step(r.optD)
	r.prec.Update()
	return append(out, lossDReal, lossDFake)
}

// LossWeights is the perceptual loss's VGG19, which each rank reads from
// its own model.vgg_weights: the ranks take rank 0's.
func (r *Pix2PixHD) LossWeights() []*torch.Tensor {
	if r.vgg == nil {
		return nil
	}
	var ts []*torch.Tensor
	for _, nt := range r.vgg.StateDict() {
		ts = append(ts, nt.Tensor)
	}
	return ts
}

// withFeatures is G's input: the encoded label and, with features, E's
// output on the batch's photos, averaged over each region.
func (r *Pix2PixHD) withFeatures(label *torch.Tensor, b gan.Batch) *torch.Tensor {
	if r.feat == nil {
		return label
	}
	var out *torch.Tensor
	r.prec.Autocast(func() { out = r.e.Forward(b["B"]) })
	feats := r.feat.regionMeans(r.prec.Float(out), r.feat.regionIDs(b))
	return torch.Cat([]*torch.Tensor{label, feats}, 1)
}

// ganLoss is pix2pixHD's GANLoss on a multiscale prediction: the loss of
// each scale's last output, summed.
func (r *Pix2PixHD) ganLoss(preds [][]*torch.Tensor, target losses.Target) *torch.Tensor {
	var total *torch.Tensor
	for _, p := range preds {
		l := r.loss.ForD(r.prec.Float(p[len(p)-1]), target)
		if total == nil {
			total = l
		} else {
			total = total.Add(l)
		}
	}
	return total
}

// floats is every scale's features in float32.
func (r *Pix2PixHD) floats(preds [][]*torch.Tensor) [][]*torch.Tensor {
	out := make([][]*torch.Tensor, len(preds))
	for i, p := range preds {
		for _, f := range p {
			out[i] = append(out[i], r.prec.Float(f))
		}
	}
	return out
}

// EndEpoch: after niter_fix_global epochs the global generator trains too,
// with a new Adam over all of G (update_fixed_params) at the current rate.
func (r *Pix2PixHD) EndEpoch(epoch int) error {
	if r.globalOn || epoch != r.fixGlobal {
		return nil
	}
	slog.Info("pix2pixhd: now also training the global generator", "epoch", epoch)
	return r.swapOptG()
}

func (r *Pix2PixHD) swapOptG() error {
	return torch.Try(func() {
		lr := r.optG.LR()
		r.optG.Free()
		r.globalOn = true
		r.optG = r.newOptG(lr)
	})
}

// Resume rebuilds optimizer_G as it was after the checkpoint's epochs.
func (r *Pix2PixHD) Resume(epoch int) error {
	if !r.globalOn && epoch >= r.fixGlobal {
		return r.swapOptG()
	}
	return nil
}

// StartFresh loads model.load_pretrain's checkpoint (the global stage's
// run's), as checkFiles found it, into G and D.
func (r *Pix2PixHD) StartFresh(from runfolder.Checkpoint) error {
	return loadPretrainOrNewest(from, r.cfg.String("model.load_pretrain"), r.cfg.Data.Direction, r.Nets())
}

// sampleCount is how many examples the grid shows.
const sampleCount = 4

// TakeSamples keeps the dataset's first examples (epoch 0's augmentation)
// for the grid, and checks that the images fit the generator.
func (r *Pix2PixHD) TakeSamples(ds *data.Dataset, seed uint64) error {
	b, err := gan.SampleBatch(ds, seed, sampleCount, r.dev)
	if err != nil {
		return err
	}
	r.fixed = b
	s := b["A"].Shape()
	if mult := int64(nets.InputMultiple(r.g.Options)); s[2]%mult != 0 || s[3]%mult != 0 {
		return fmt.Errorf("model.netG=%s needs images whose sides are multiples of %d, but data.preprocess=%s gives %dx%d (data.load_size=%d): choose a data.load_size or data.crop_size that gives such sides",
			r.g.Options.Kind, mult, r.cfg.Data.Preprocess, s[3], s[2], r.cfg.Data.LoadSize)
	}
	if r.e != nil {
		if mult := int64(nets.InputMultiple(r.e.Options)); s[2]%mult != 0 || s[3]%mult != 0 {
			return fmt.Errorf("the feature encoder (model.n_downsample_E=%d) needs images whose sides are multiples of %d, but data.preprocess=%s gives %dx%d (data.load_size=%d): choose a data.load_size or data.crop_size that gives such sides, or a smaller model.n_downsample_E",
				r.cfg.Int("model.n_downsample_E"), mult, r.cfg.Data.Preprocess, s[3], s[2], r.cfg.Data.LoadSize)
		}
	}
	return nil
}

func (r *Pix2PixHD) Fixed() []torch.Named {
	var out []torch.Named
	for _, name := range []string{"A", "B", "inst", data.InstIDTensor} {
		if t := r.fixed[name]; t != nil {
			out = append(out, torch.Named{Name: "fixed_" + name, Tensor: t})
		}
	}
	return out
}

// visuals are the names of pix2pixHD's visuals (train.py's; test.py
// saves the first two).
var visuals = [3]string{"input_label", "synthesized_image", "real_image"}

// VisualsLayout names Visuals' columns.
func (r *Pix2PixHD) VisualsLayout() string {
	return "each row: " + strings.Join(visuals[:], " | ")
}

// Visuals runs G on the fixed examples in train mode, as the reference's
// visuals: input_label | synthesized_image | real_image.
func (r *Pix2PixHD) Visuals() (*image.NRGBA, error) {
	if r.fixed == nil {
		return nil, fmt.Errorf("pix2pixhd: no sample inputs")
	}
	var in, out, target report.Images
	err := torch.Try(func() {
		gan.WithFrozenState(r.dev, r.generators(), func() {
			torch.NoGrad(func() {
				in = r.enc.show(r.fixed["A"])
				out, target = report.ToImages(r.g.Forward(r.withFeatures(r.enc.input(r.fixed), r.fixed))), report.ToImages(r.fixed["B"])
			})
		})
	})
	if err != nil {
		return nil, err
	}
	return report.Pix2PixGrid(in, out, target, 2)
}

// Release frees the VGG19.
func (r *Pix2PixHD) Release() {
	if r.vgg != nil {
		r.vgg.Free()
	}
}

// generators are the networks that make the picture: G, and E with
// features.
func (r *Pix2PixHD) generators() []*nets.Net {
	if r.e != nil {
		return []*nets.Net{r.g, r.e}
	}
	return []*nets.Net{r.g}
}

// checkFiles finds the VGG19 weights (unless train.no_vgg_loss) and, for a
// new run, model.load_pretrain's checkpoint, before the data are read:
// Cityscapes' 2975 pairs take minutes to open, and a path mistyped in
// either would otherwise be named only after them. The checkpoint it
// returns is the one StartFresh loads, so that it is validated once.
func checkFiles(c *config.Config, fresh bool) (*runfolder.Checkpoint, error) {
	if !c.Bool("train.no_vgg_loss") {
		path, err := vggWeights(c.String("model.vgg_weights"))
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("model.vgg_weights: %w: give the path of torchvision's %s, or set train.no_vgg_loss=true", err, vggFile)
		}
	}
	p := c.String("model.load_pretrain")
	if !fresh || p == "" {
		return nil, nil
	}
	ck, err := openPretrain(p, c.Data.Direction)
	if err != nil {
		return nil, err
	}
	return &ck, nil
}

// vggFile is torchvision's ImageNet VGG19, as torch.hub caches it.
const vggFile = "vgg19-dcbb9e9d.pth"

// vggWeights is the file model.vgg_weights names: the path as given, or,
// for "" or a bare file name not in the working folder, that file (default
// vgg19-dcbb9e9d.pth) in torch.hub's cache, where torchvision.models.vgg19
// keeps it, as pix2pixHD's Vgg19 finds it there.
func vggWeights(v string) (string, error) {
	if v != "" {
		if _, err := os.Stat(v); err == nil || strings.ContainsRune(v, os.PathSeparator) {
			return v, nil // a missing path is LoadVGG19's error, naming it
		}
	}
	name := cmp.Or(v, vggFile)
	hub := torch.HubCheckpoints()
	if hub != "" {
		if _, err := os.Stat(filepath.Join(hub, name)); err == nil {
			return filepath.Join(hub, name), nil
		}
	}
	if v != "" {
		return "", fmt.Errorf("model.vgg_weights %s: no such file here nor in torch.hub's cache %s: give its path, or train.no_vgg_loss=true", v, torch.HubCheckpointsName())
	}
	return "", fmt.Errorf("the VGG19 perceptual loss needs torchvision's ImageNet weights, %s, which torch.hub's cache %s does not hold: set model.vgg_weights to the file (torchvision.models.vgg19(weights=\"IMAGENET1K_V1\") saves it in that cache), or train.no_vgg_loss=true", vggFile, torch.HubCheckpointsName())
}
