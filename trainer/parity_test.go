package trainer

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	torch "gogan/cgo"
	"gogan/cgo/torchtest"
	"gogan/config"
	"gogan/data"
	"gogan/gan"
)

// Step-for-step parity with the references. gogan and an independent
// PyTorch transcription of each reference's training code
// (scripts/parity_reference.py: pytorch/examples dcgan/main.py,
// pytorch-CycleGAN-and-pix2pix's Pix2PixModel, CycleGANModel, GANLoss and
// cal_gradient_penalty, pix2pixHD's Pix2PixHDModel and train.py's update
// order with its AlignedDataset, VGGLoss and optimizer swap) start from the same
// weights and the same files, draw their random numbers from libtorch's
// generator in the same order after the same seed (DCGAN's noise, dropout
// masks, the penalty's alpha), and take 3 steps. Compared: the input batches
// (bit for bit: the decoders and transforms are the reference's), each
// step's losses, and every parameter, buffer and Adam moment at the end. Both
// sides also initialise their networks from one seed, the references' way (G
// built and initialised, then D), and those weights must be equal too. Both
// run on one thread, OpenBLAS's included (torchtest.RunScript): with that,
// every case agrees bit for bit, under libtorch 1.13, 2.6 and 2.14 alike.

const (
	paritySeed     = 7
	parityStepSeed = 11
	paritySteps    = 3
	parityRTol     = 1e-5
	// The first step starts from equal weights and inputs: its losses agree
	// to float32 rounding in every case.
	firstStepRTol = 1e-6
)

type parityCase struct {
	name string
	sets []string
	// epochEndAfter > 0 ends epoch 1 after that step (pix2pixHD's optimizer
	// swap after niter_fix_global epochs).
	epochEndAfter int
	// lossesOnly compares the inputs, initial weights and losses only.
	lossesOnly bool
	// seed is the run's seed, paritySeed unless set.
	seed uint64
}

// parityData are the folders the cases read besides facades' A|B pairs.
type parityData struct {
	unaligned string // trainA/, trainB/
	colour    string // train/: colour images
	hd        string // pix2pixHD's train_label/, train_inst/, train_img/, train_A/, train_B/
	hdInst8   string // train_A/, train_B/ and 8-bit train_inst/ (label_nc 0 with instance maps)
	vgg       string // a torchvision VGG19 state dict with random weights
	cifar     string // torchvision's CIFAR-10 root (scripts/make_cifar10.py)
	lsun      string // LSUN databases of facades photos (scripts/make_lsun.py)
	classes   string // class folders of facades files, for ImageFolder
}

func parityCases(t *testing.T, pd parityData) []parityCase {
	facades := facadesDir(t)
	dcgan := []string{"recipe=dcgan", "data.root=" + data.DefaultFashionRoot, "data.image_size=32", "data.channels=1",
		"data.batch_size=4", "model.nz=16", "model.ngf=8", "model.ndf=8"}
	// facades at 128x128 (the reference's Resize to load_size, bicubic),
	// batch 2 so that BatchNorm's batch statistics matter.
	p2p := func(mode, norm, netD, netG string, extra ...string) parityCase {
		sets := []string{"recipe=pix2pix", "data.root=" + facades, "data.direction=BtoA", "data.batch_size=2",
			"data.load_size=128", "data.crop_size=128", "model.ngf=8", "model.ndf=8",
			"train.gan_mode=" + mode, "model.norm=" + norm, "model.netD=" + netD, "model.netG=" + netG}
		name := strings.Join([]string{"pix2pix", mode, norm, netD, netG}, "-")
		for _, e := range extra {
			name += "-" + e[strings.LastIndex(e, ".")+1:]
		}
		return parityCase{name: name, sets: append(sets, extra...)}
	}
	cases := []parityCase{
		{name: "dcgan-vanilla", sets: append(dcgan, "train.gan_mode=vanilla")},
		{name: "dcgan-lsgan", sets: append(dcgan, "train.gan_mode=lsgan")},
		// main.py --dataset cifar10: colour, 32 -> 64 by Resize.
		{name: "dcgan-cifar10", sets: []string{"recipe=dcgan", "data.dataset=cifar10", "data.root=" + pd.cifar, "data.image_size=64",
			"data.batch_size=4", "model.nz=16", "model.ngf=8", "model.ndf=8"}},
		// main.py --dataset folder: torchvision's ImageFolder over class folders.
		{name: "dcgan-imagefolder", sets: []string{"recipe=dcgan", "data.dataset=folder", "data.root=" + pd.classes, "data.image_size=32",
			"data.batch_size=3", "model.nz=16", "model.ngf=8", "model.ndf=8"}},
		// main.py --dataset lsun --classes tower,bridge: two categories' LMDB databases of WebP photos.
		{name: "dcgan-lsun", sets: []string{"recipe=dcgan", "data.dataset=lsun", "data.classes=tower,bridge", "data.root=" + pd.lsun, "data.image_size=32",
			"data.batch_size=6", "model.nz=16", "model.ngf=8", "model.ndf=8"}},
	}
	// Every combination of the losses, BatchNorm and InstanceNorm, the four
	// discriminators and both generators.
	extraD := map[string][]string{"n_layers": {"model.n_layers_D=2"}, "multiscale": {"model.num_D=2", "model.n_layers_D=2"}}
	for _, mode := range []string{"vanilla", "lsgan", "wgangp", "hinge"} {
		for _, norm := range []string{"batch", "instance"} {
			for _, netD := range []string{"basic", "n_layers", "pixel", "multiscale"} {
				for _, netG := range []string{"unet_128", "resnet_6blocks"} {
					cases = append(cases, p2p(mode, norm, netD, netG, extraD[netD]...))
				}
			}
		}
	}
	// No norm at all, and ResNet G without dropout. The loss weights
	// other than their defaults (L1 and the gradient penalty's), which
	// would let a weight left at its default pass.
	cases = append(cases,
		p2p("vanilla", "none", "basic", "unet_128"),
		p2p("wgangp", "none", "n_layers", "unet_128", "model.n_layers_D=2", "train.lambda_L1=40", "train.lambda_gp=3"),
		p2p("vanilla", "batch", "basic", "resnet_6blocks", "model.no_dropout=true"),
		// An init other than normal 0.02 (init_weights' orthogonal, gain 1):
		// the initial weights are compared too.
		p2p("lsgan", "instance", "basic", "unet_128", "model.init_type=orthogonal", "model.init_gain=1"))
	// colorization: pix2pix from L to ab of whole facades files (photo and
	// label map side by side, resized square), the reference's defaults
	// (vanilla, batch norm, U-Net, 70x70 PatchGAN) at batch 2, and lsgan
	// with instance norm.
	col := func(name string, extra ...string) parityCase {
		sets := []string{"recipe=colorization", "data.root=" + pd.colour, "data.batch_size=2", "data.load_size=128",
			"data.crop_size=128", "model.ngf=8", "model.ndf=8", "model.netG=unet_128"}
		return parityCase{name: "colorization-" + name, sets: append(sets, extra...)}
	}
	cases = append(cases, col("vanilla-batch2"), col("lsgan-instance", "train.gan_mode=lsgan", "model.norm=instance", "data.batch_size=1"))
	// CycleGAN at 64x64 on trainA/ and trainB/ folders of facades files,
	// without the image pools but in one case: their draws are Python's
	// random, which both sides seed with the run's seed (pool_seed).
	cg := func(name string, extra ...string) parityCase {
		sets := []string{"recipe=cyclegan", "data.root=" + pd.unaligned, "data.load_size=64", "data.crop_size=64",
			"model.netG=resnet_6blocks", "model.ngf=8", "model.ndf=8", "train.pool_size=0"}
		return parityCase{name: "cyclegan-" + name, sets: append(sets, extra...)}
	}
	// pix2pixHD at 64x64 on label maps made from facades' (4 classes) with
	// instance maps, or on its photos and colour label maps (label_nc 0).
	hd := func(name string, extra ...string) parityCase {
		sets := []string{"recipe=pix2pixhd", "data.root=" + pd.hd, "data.load_size=64", "data.crop_size=64",
			"model.ngf=8", "model.ndf=8", "model.n_downsample_global=2", "model.n_blocks_global=2", "model.n_layers_D=2",
			"data.label_nc=4", "model.vgg_weights=" + pd.vgg}
		return parityCase{name: "pix2pixhd-" + name, sets: append(sets, extra...)}
	}
	cases = append(cases,
		hd("global-labels-instances-vgg"), // lsgan, feature matching, VGG, instance norm, batch 1
		// lambda_feat other than its default weighs feature matching here
		hd("batch-norm-batch2", "model.norm=batch", "data.batch_size=2", "train.no_vgg_loss=true", "model.n_layers_D=3", "train.lambda_feat=4"),
		hd("local-rgb-labels-fix-global", "model.netG=local", "model.ngf=4", "model.n_blocks_local=1", "data.label_nc=0",
			"data.no_instance=true", "train.no_vgg_loss=true", "train.niter_fix_global=1", "model.num_D=3"),
		hd("no-feature-matching", "train.no_ganFeat_loss=true", "train.lambda_feat=5"))
	cases[len(cases)-2].epochEndAfter = 2
	// The feature encoder: instance-wise features (ids above 255), label-wise
	// ones at batch 2 (each sample's own means), and beside a local G whose
	// global part is fixed for the first epoch (E trains throughout). The
	// reference averages each instance with torch.mean in a Python loop,
	// gogan by sums indexed by (sample, id) in one pass: equal to rounding
	// (gan/pix2pixhd's TestRegionMeansAreTheEncoders), which Adam turns
	// into full steps of the biases before the norms, as in the vanilla
	// case below; the losses are compared.
	features := []string{"model.nef=4", "model.n_downsample_E=2", "train.no_vgg_loss=true"}
	for _, c := range []parityCase{
		hd("instance-features", append(features, "model.instance_feat=true")...),
		hd("label-features-batch2", append(features, "model.label_feat=true", "model.feat_num=2", "data.batch_size=2")...),
		hd("local-instance-features-fix-global", append(features, "model.instance_feat=true", "model.netG=local", "model.ngf=4",
			"model.n_blocks_local=1", "train.niter_fix_global=1")...),
	} {
		c.lossesOnly = true
		cases = append(cases, c)
	}
	cases[len(cases)-1].epochEndAfter = 2
	// --no_lsgan: D's Sigmoid (use_sigmoid) and BCELoss, with feature
	// matching (where the reference drops the Sigmoid and the transcription
	// puts it back) and without (where the reference keeps it).
	cases = append(cases, hd("vanilla", "train.gan_mode=vanilla", "train.no_vgg_loss=true"),
		hd("vanilla-no-feature-matching", "train.gan_mode=vanilla", "train.no_vgg_loss=true", "train.no_ganFeat_loss=true"),
		// --no_instance with label maps: the one-hot labels alone.
		hd("labels-no-instance", "data.no_instance=true", "train.no_vgg_loss=true"),
		// label_nc 0 with 8-bit instance maps at the images' own size: the
		// reference's transform_A (bicubic, normalised) only rescales the
		// ids, whose boundaries are gogan's.
		hd("rgb-labels-instances", "data.root="+pd.hdInst8, "data.label_nc=0", "data.load_size=256", "data.crop_size=256",
			"model.n_downsample_global=3", "train.no_vgg_loss=true"),
		// Two local enhancers over the optimizer swap: optimizer_G takes
		// "model2*" alone (the outer enhancer), so model1_* stays fixed with
		// the global part until niter_fix_global's end.
		hd("local2-enhancers-fix-global", "model.netG=local", "model.n_local_enhancers=2", "model.ngf=4", "model.n_blocks_local=2",
			"train.no_vgg_loss=true", "train.niter_fix_global=1"))
	cases[len(cases)-1].epochEndAfter = 2
	// --pool_size 3 at batch 2: D's fake pass sees fake_pool's answer to
	// the label-and-fake concatenation. Step 1 fills 2 slots; step 2
	// fills the third, then draws for its second image; step 3 draws for
	// both. Seed 5 swaps that second image with slot 2, which its first
	// took in the same query, keeps step 3's first, and swaps its second
	// with slot 2 again.
	hdPool := hd("pool3-batch2", "train.pool_size=3", "data.batch_size=2", "train.no_vgg_loss=true")
	hdPool.seed = 5
	cases = append(cases, hdPool)
	// Pools of 2 at batch 2: step 1 fills them, steps 2 and 3 draw
	// (random.uniform, then random.randint(0, 1)), D_A's pool first. Seed 3
	// swaps with either slot (seed 7 with the first alone).
	pools := cg("pools-batch2", "train.pool_size=2", "data.batch_size=2")
	pools.seed = 3
	return append(cases,
		cg("lsgan"), // the reference's defaults: instance norm, identity 0.5, batch 1
		cg("vanilla-batch-norm-batch2", "train.gan_mode=vanilla", "model.norm=batch", "data.batch_size=2"),
		// Gray B images (no identity loss then), BtoA, a 2-layer PatchGAN,
		// other cycle weights.
		cg("gray-BtoA", "model.output_nc=1", "train.lambda_identity=0", "data.direction=BtoA",
			"model.netD=n_layers", "model.n_layers_D=2", "train.lambda_A=5", "train.lambda_B=2"),
		// Unequal cycle weights with the identity loss on: the reference
		// weighs idt_A (G_A(B) vs B) by lambda_B * lambda_identity and idt_B
		// by lambda_A * lambda_identity, which equal weights cannot tell apart.
		cg("identity-unequal-weights", "train.lambda_A=5", "train.lambda_B=2", "train.lambda_identity=0.3"),
		// Dropout (--no_dropout false): six G passes a step draw their
		// masks in the reference's order (forward's four, then the identity
		// passes in backward_G), in ResNet blocks with kaiming init, and in
		// a U-Net.
		cg("dropout-kaiming", "model.no_dropout=false", "model.init_type=kaiming"),
		cg("dropout-unet", "model.no_dropout=false", "model.netG=unet_128", "data.load_size=128", "data.crop_size=128"),
		pools)
}

// facadesDir is the CMP facades training pairs (scripts/gpu-check carries
// the first 12 to the GPU machine in $GOGAN_FACADES).
func facadesDir(t *testing.T) string { return torchtest.Facades(t) }

// unalignedFacades makes trainA/ and trainB/ folders holding copies of
// different facades files (each A|B file is one image here).
func unalignedFacades(t *testing.T) string {
	return torchtest.CopyFacades(t, map[string][]string{"trainA": {"1.jpg", "2.jpg", "3.jpg", "4.jpg", "5.jpg"}, "trainB": {"10.jpg", "11.jpg", "12.jpg", "13.jpg"}})
}

// colourFacades makes a train/ folder of colour images: copies of facades
// files (each A|B file is one image here).
func colourFacades(t *testing.T) string {
	return torchtest.CopyFacades(t, map[string][]string{"train": {"1.jpg", "2.jpg", "3.jpg", "4.jpg", "5.jpg", "6.jpg"}})
}

// paritySide is one side's record of a run.
type paritySide struct {
	inputs map[string][]float32 // "<batch>.A", "<batch>.B"
	losses []map[string]float64 // per step
	init   map[string][]float32 // "G.<key>", "D.<key>" before training
	final  map[string][]float32 // "G.<key>", "optG.exp_avg.<i>", ...
}

func TestStepParityWithReferences(t *testing.T) {
	torchtest.Python(t) // fail early, before the gogan side runs
	torch.LockThread()
	if _, err := torch.SetNumThreads(1); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pd := parityData{unaligned: unalignedFacades(t), colour: colourFacades(t), hd: hdFacades(t, facadesDir(t)), hdInst8: hdInst8Facades(t, facadesDir(t)), vgg: randomVGG19(t),
		cifar: smallCIFAR10(t), lsun: smallLSUN(t), classes: classFolders(t)}
	// PARITY_ONLY=text runs the cases whose names contain it (while
	// working on one recipe); make test runs them all.
	var cases []parityCase
	for _, c := range parityCases(t, pd) {
		if strings.Contains(c.name, os.Getenv("PARITY_ONLY")) {
			cases = append(cases, c)
		}
	}
	var specs []map[string]any
	gogan := map[string]*paritySide{}
	for _, c := range cases {
		spec, side := goganParityRun(t, c, filepath.Join(dir, c.name))
		specs = append(specs, spec)
		gogan[c.name] = side
	}
	torchtest.RunScript(t, "../scripts/parity_reference.py", torchtest.WriteCases(t, dir, specs))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			compareParity(t, gogan[c.name], readReference(t, filepath.Join(dir, c.name, "ref.safetensors")), c.lossesOnly)
		})
	}
}

// goganParityRun builds the case's recipe, writes its weights and the
// reference's case spec, and trains paritySteps steps on the first batches.
func goganParityRun(t *testing.T, c parityCase, dir string) (map[string]any, *paritySide) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	seed := cmp.Or(c.seed, paritySeed)
	cfg, err := config.LoadConfig("", append(slices.Clone(c.sets), "out="+filepath.Join(dir, "run"), "device=cpu", "threads=1",
		"seed="+fmt.Sprint(seed), "data.shuffle=false", "data.no_flip=true", "data.workers=0", "data.preprocess=resize_and_crop"))
	if err != nil {
		t.Fatal(err)
	}
	side := &paritySide{inputs: map[string][]float32{}, init: map[string][]float32{}, final: map[string][]float32{}}
	sc := torch.NewScope()
	defer sc.Close()

	// The run's own start: the seed, then the recipe builds its networks.
	torch.ManualSeed(seed)
	rec, err := gan.New(gan.Env{Config: cfg, Device: torch.CPUDevice})
	if err != nil {
		t.Fatal(err)
	}
	defer gan.Free(rec)
	var weights []torch.Named
	for _, n := range rec.Nets() {
		for _, nt := range n.Net.StateDict() {
			name := n.Role + "." + nt.Name
			weights = append(weights, torch.Named{Name: name, Tensor: nt.Tensor})
			side.init[name] = floats(nt.Tensor)
		}
	}
	weightsPath := filepath.Join(dir, "weights.safetensors")
	if err := torch.SaveSafetensors(weightsPath, weights, nil); err != nil {
		t.Fatal(err)
	}

	// The first batches, in dataset order.
	ds, err := gan.OpenData(context.Background(), cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	lo, err := data.NewLoader(ds, ds.Config().LoaderOptions(seed))
	if err != nil {
		t.Fatal(err)
	}
	defer lo.Close()
	var batches []gan.Batch
	var indices [][]int
	for b := range paritySteps {
		bt, err := lo.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		batch := gan.Batch{}
		for _, x := range bt.Tensors {
			batch[x.Name] = batchTensor(x)
			side.inputs[fmt.Sprintf("%d.%s", b, x.Name)] = floats(batch[x.Name])
		}
		batches = append(batches, batch)
		indices = append(indices, slices.Clone(bt.Indices))
		bt.Release()
	}

	torch.ManualSeed(parityStepSeed)
	for i, bt := range batches {
		if d, ok := rec.(gan.StepDrawer); ok {
			d.DrawStep(bt["A"].Shape()[0])
		}
		outs := rec.Step(bt)
		l := map[string]float64{}
		for i, name := range rec.LossNames() {
			l[name] = outs[i].Item()
		}
		side.losses = append(side.losses, l)
		if i+1 == c.epochEndAfter {
			if err := rec.(gan.EpochHook).EndEpoch(1); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, n := range rec.Nets() {
		for _, nt := range n.Net.StateDict() {
			side.final[n.Role+"."+nt.Name] = floats(nt.Tensor)
		}
	}
	for _, o := range rec.Optimizers() {
		for i := range o.Adam.Params {
			side.final[fmt.Sprintf("opt%s.exp_avg.%d", o.Name, i)] = floats(o.Adam.ExpAvg[i])
			side.final[fmt.Sprintf("opt%s.exp_avg_sq.%d", o.Name, i)] = floats(o.Adam.ExpAvgSq[i])
		}
	}
	def, err := gan.For(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t0 := cfg.Train
	spec := map[string]any{
		"name": c.name, "recipe": cfg.Recipe,
		"init_type": cfg.Model.InitType, "init_gain": cfg.Model.InitGain, "seed": seed,
		"gan_mode": t0.GANMode, "lr": t0.LR, "beta1": t0.Beta1, "beta2": t0.Beta2, "lambda_gp": t0.LambdaGP,
		"weights": weightsPath, "step_seed": parityStepSeed, "steps": paritySteps,
		"out": filepath.Join(dir, "ref.safetensors"),
	}
	// The user's model options, from which the reference builds its own
	// networks; gogan's nets.Options, derived from them by the recipe, must
	// agree (the reference checks).
	m := cfg.Model
	spec["model"] = map[string]any{"netG": m.NetG, "netD": m.NetD, "norm": m.Norm, "no_dropout": m.NoDropout, "ngf": m.NGF,
		"ndf": m.NDF, "n_layers_D": m.NLayersD, "num_D": m.NumD, "input_nc": m.InputNC, "output_nc": m.OutputNC}
	for _, ns := range def.Nets(cfg) { // "G", "D"; "G_A", "G_B", "D_A", "D_B"
		spec[ns.Role] = ns.Options.WithDefaults()
	}
	// The recipe's own keys (model.nz, train.lambda_L1, train.lambda_A, ...)
	// under their last part.
	for _, k := range def.Schema.Keys {
		name := k.Name[strings.LastIndex(k.Name, ".")+1:]
		switch k.Type {
		case config.TypeInt:
			spec[name] = cfg.Int(k.Name)
		case config.TypeFloat:
			spec[name] = cfg.Float(k.Name)
		case config.TypeBool:
			spec[name] = cfg.Bool(k.Name)
		case config.TypeString:
			spec[name] = cfg.String(k.Name)
		}
	}
	if c.epochEndAfter > 0 {
		spec["epoch_end_after"] = c.epochEndAfter
	}
	if cfg.Recipe == "cyclegan" || cfg.Recipe == "pix2pixhd" {
		spec["pool_size"] = t0.PoolSize
		spec["pool_seed"] = cfg.Seed // the pools' Python random, which gogan seeds with the run's seed
	}
	batchFiles := func(files []string) [][]string {
		if files == nil {
			return nil
		}
		var out [][]string
		for _, idx := range indices {
			var fs []string
			for _, i := range idx {
				fs = append(fs, files[i])
			}
			out = append(out, fs)
		}
		return out
	}
	switch {
	case cfg.Recipe == "pix2pixhd":
		spec["data"] = map[string]any{"kind": "pix2pixhd", "label": batchFiles(ds.Files()), "image": batchFiles(ds.FilesB()),
			"inst": batchFiles(ds.FilesInst()), "label_nc": cfg.Int("data.label_nc"), "no_instance": cfg.Bool("data.no_instance"),
			"resize_or_crop": cfg.Data.Preprocess, "loadSize": cfg.Data.LoadSize, "fineSize": cfg.Data.CropSize, "no_flip": true,
			"input_nc": cfg.Model.InputNC, "output_nc": cfg.Model.OutputNC}
	case cfg.Recipe == "colorization":
		spec["lambda_L1"] = cfg.Float("train.lambda_L1") // pix2pix's key, which colorization reads
		spec["data"] = map[string]any{"kind": "colorization", "files": batchFiles(ds.Files()), "direction": cfg.Data.Direction,
			"load_size": cfg.Data.LoadSize, "crop_size": cfg.Data.CropSize, "preprocess": cfg.Data.Preprocess,
			"no_flip": true, "input_nc": cfg.Model.InputNC, "output_nc": cfg.Model.OutputNC}
	case cfg.Data.Dataset == data.CIFAR10:
		spec["data"] = map[string]any{"kind": "cifar10", "root": cfg.Data.Root, "indices": indices, "image_size": cfg.Data.ImageSize}
	case cfg.Data.Dataset == data.Folder:
		spec["data"] = map[string]any{"kind": "imagefolder", "root": cfg.Data.Root, "indices": indices, "image_size": cfg.Data.ImageSize}
	case cfg.Data.Dataset == data.LSUN:
		spec["data"] = map[string]any{"kind": "lsun", "root": cfg.Data.Root, "classes": cfg.Data.Classes, "indices": indices, "image_size": cfg.Data.ImageSize}
	case cfg.Data.Dataset == data.FashionMNIST:
		spec["data"] = map[string]any{"kind": "mnist", "images": filepath.Join(cfg.Data.Root, "train-images-idx3-ubyte.gz"),
			"indices": indices, "image_size": cfg.Data.ImageSize}
	case cfg.Data.Dataset == data.Unaligned:
		// The B image of each sample is gogan's random pick; the reference
		// is given it (random.randint in unaligned_dataset.py).
		var filesA, filesB [][]string
		for _, idx := range indices {
			var fa, fb []string
			for _, i := range idx {
				ia, ib, err := ds.UnalignedIndex(i, seed, 0)
				if err != nil {
					t.Fatal(err)
				}
				fa, fb = append(fa, ds.Files()[ia]), append(fb, ds.FilesB()[ib])
			}
			filesA, filesB = append(filesA, fa), append(filesB, fb)
		}
		spec["data"] = map[string]any{"kind": "unaligned", "files_A": filesA, "files_B": filesB, "direction": cfg.Data.Direction,
			"load_size": cfg.Data.LoadSize, "crop_size": cfg.Data.CropSize, "preprocess": cfg.Data.Preprocess,
			"no_flip": true, "input_nc": cfg.Model.InputNC, "output_nc": cfg.Model.OutputNC}
	default:
		spec["data"] = map[string]any{"kind": "aligned", "files": batchFiles(ds.Files()), "direction": cfg.Data.Direction,
			"load_size": cfg.Data.LoadSize, "crop_size": cfg.Data.CropSize, "preprocess": cfg.Data.Preprocess,
			"no_flip": true, "input_nc": cfg.Model.InputNC, "output_nc": cfg.Model.OutputNC}
	}
	return spec, side
}

// batchTensor is a host batch tensor as a tensor.
func batchTensor(bt data.Tensor) *torch.Tensor {
	s := bt.Shape
	return torch.FromFloat32(slices.Clone(bt.F32), int64(s[0]), int64(s[1]), int64(s[2]), int64(s[3]))
}

// floats is a tensor's values as float32 (num_batches_tracked's int64
// counts convert exactly).
func floats(t *torch.Tensor) []float32 { return t.ToDType(torch.Float32).Float32s() }

// readReference reads parity_reference.py's output into the same record.
func readReference(t *testing.T, path string) *paritySide {
	t.Helper()
	ts, _, err := torch.LoadSafetensors(path)
	if err != nil {
		t.Fatal(err)
	}
	side := &paritySide{inputs: map[string][]float32{}, init: map[string][]float32{}, final: map[string][]float32{}}
	for _, nt := range ts {
		v := floats(nt.Tensor)
		switch {
		case strings.HasPrefix(nt.Name, "init."):
			side.init[strings.TrimPrefix(nt.Name, "init.")] = v
		case strings.HasPrefix(nt.Name, "input."):
			k := strings.TrimPrefix(nt.Name, "input.")
			side.inputs[strings.Replace(k, ".real", ".A", 1)] = v
		case strings.HasPrefix(nt.Name, "loss."):
			n, name, _ := strings.Cut(strings.TrimPrefix(nt.Name, "loss."), ".")
			step, err := strconv.Atoi(n)
			if err != nil || step < 1 {
				t.Fatalf("%s: loss %s has no step number", path, nt.Name)
			}
			for len(side.losses) < step {
				side.losses = append(side.losses, map[string]float64{})
			}
			side.losses[step-1][name] = float64(v[0])
		case strings.HasPrefix(nt.Name, "final."):
			side.final[strings.TrimPrefix(nt.Name, "final.")] = v
		}
		nt.Tensor.Free()
	}
	return side
}

// closeTo returns the worst |got - want| / (|want| + max|want|) and where:
// under rtol it is allclose with rtol and an atol of rtol times the tensor's
// largest magnitude (so elements near zero in a large tensor do not demand
// more than float32 rounding gives).
func closeTo(got, want []float32) (worst float64, at int) {
	scale := 0.0
	for _, w := range want {
		scale = math.Max(scale, math.Abs(float64(w)))
	}
	at = -1
	for i := range want {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if math.IsNaN(d) {
			return math.Inf(1), i
		}
		r := d / (math.Abs(float64(want[i])) + scale + 1e-30)
		if r > worst {
			worst, at = r, i
		}
	}
	return worst, at
}

// firstDiff is the index of the first element that differs, or -1.
func firstDiff(got, want []float32) int {
	for i := range want {
		if got[i] != want[i] {
			return i
		}
	}
	return -1
}

func compareParity(t *testing.T, g, ref *paritySide, lossesOnly bool) {
	t.Helper()
	// Inputs: the same files through the reference's decoders and transforms.
	if len(ref.inputs) != len(g.inputs) {
		t.Fatalf("batches: gogan has %d tensors, the reference %d", len(g.inputs), len(ref.inputs))
	}
	for k, want := range ref.inputs {
		got := g.inputs[k]
		if len(got) != len(want) {
			t.Fatalf("batch %s: gogan has %d values, the reference %d", k, len(got), len(want))
		}
		if i := firstDiff(got, want); i >= 0 {
			t.Errorf("batch %s differs from the reference's pipeline: element %d is %g, want %g", k, i, got[i], want[i])
		}
	}
	// Initial weights from the same seed.
	for k, want := range ref.init {
		got, ok := g.init[k]
		if !ok || len(got) != len(want) {
			t.Fatalf("initial %s: missing or of another size in gogan", k)
		}
		if i := firstDiff(got, want); i >= 0 {
			t.Errorf("initial %s differs from the reference's seeded initialisation (element %d: %g, want %g)", k, i, got[i], want[i])
			break
		}
	}
	if len(ref.losses) != paritySteps || len(g.losses) != paritySteps {
		t.Fatalf("steps: gogan %d, reference %d, want %d", len(g.losses), len(ref.losses), paritySteps)
	}
	for s := range paritySteps {
		for name, want := range ref.losses[s] {
			got, ok := g.losses[s][name]
			if !ok {
				t.Fatalf("step %d: gogan has no loss %s (it has %v)", s+1, name, g.losses[s])
			}
			tol := parityRTol
			if s == 0 {
				tol = firstStepRTol
			}
			if d := math.Abs(got-want) / math.Max(math.Abs(want), 1e-6); d > tol {
				t.Errorf("step %d %s: gogan %.9g, reference %.9g (relative %.2g)", s+1, name, got, want, d)
			}
		}
		if len(g.losses[s]) != len(ref.losses[s]) {
			t.Errorf("step %d: gogan reports %d losses, the reference %d", s+1, len(g.losses[s]), len(ref.losses[s]))
		}
	}
	if lossesOnly {
		t.Logf("%d losses over %d steps agree (the final weights are not compared)", len(ref.losses[0]), paritySteps)
		return
	}
	if len(ref.final) != len(g.final) {
		t.Errorf("final state: gogan has %d tensors, the reference %d", len(g.final), len(ref.final))
	}
	worst, where := 0.0, ""
	for k, want := range ref.final {
		got, ok := g.final[k]
		if !ok || len(got) != len(want) {
			t.Errorf("final %s: missing or of another size in gogan", k)
			continue
		}
		w, i := closeTo(got, want)
		if w > worst {
			worst, where = w, k
		}
		if w > parityRTol {
			t.Errorf("final %s: element %d is %.9g, reference %.9g (relative %.2g)", k, i, got[i], want[i], w)
		}
	}
	if worst == 0 {
		t.Logf("%d losses over %d steps and %d final tensors agree bit for bit", len(ref.losses[0]), paritySteps, len(ref.final))
		return
	}
	t.Logf("%d losses over %d steps and %d final tensors agree; worst final tensor %s at %.2g relative", len(ref.losses[0]), paritySteps, len(ref.final), where, worst)
}

// hdFacades lays out pix2pixHD's folders from the first facades pairs:
// train_img/ (the photos), train_label/ (4 classes from the label maps'
// gray levels, 8-bit), train_inst/ (16-bit instance ids: the class times
// 1000 plus a 16x16 block number) and, for label_nc 0, train_A/ (the
// colour label maps) and train_B/ (the photos). PNG, so that both sides
// read the same pixels.
func hdFacades(t *testing.T, facades string) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"train_img", "train_label", "train_inst", "train_A", "train_B"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= 6; i++ {
		f, err := os.Open(filepath.Join(facades, fmt.Sprintf("%d.jpg", i)))
		if err != nil {
			t.Fatal(err)
		}
		ab, err := jpeg.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		w, h := ab.Bounds().Dx()/2, ab.Bounds().Dy()
		photo, labels := image.NewRGBA(image.Rect(0, 0, w, h)), image.NewRGBA(image.Rect(0, 0, w, h))
		ids, inst := image.NewGray(image.Rect(0, 0, w, h)), image.NewGray16(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				photo.Set(x, y, ab.At(x, y))
				labels.Set(x, y, ab.At(x+w, y))
				g := color.GrayModel.Convert(ab.At(x+w, y)).(color.Gray).Y
				ids.SetGray(x, y, color.Gray{Y: g / 64})
				inst.SetGray16(x, y, color.Gray16{Y: uint16(g/64)*1000 + uint16(x/16+y/16*16)})
			}
		}
		name := fmt.Sprintf("%03d.png", i)
		for dir, im := range map[string]image.Image{"train_img": photo, "train_B": photo, "train_A": labels, "train_label": ids, "train_inst": inst} {
			writePNG(t, filepath.Join(root, dir, name), im)
		}
	}
	return root
}

// hdInst8Facades is hdFacades with 8-bit instance maps (the class times
// 64 plus the 16x16 block number mod 64), whose ids ToTensor divides by 255
// as the reference's label_nc 0 transform_A reads them (a 16-bit map stays
// integer there, and Normalize refuses it).
func hdInst8Facades(t *testing.T, facades string) string {
	t.Helper()
	root := hdFacades(t, facades)
	files, err := filepath.Glob(filepath.Join(root, "train_inst", "*.png"))
	if err != nil || len(files) == 0 {
		t.Fatalf("instance maps: %v %v", files, err)
	}
	for _, path := range files {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		im, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		g16 := im.(*image.Gray16)
		g8 := image.NewGray(g16.Rect)
		for i := 0; i < len(g8.Pix); i++ {
			id := uint16(g16.Pix[2*i])<<8 | uint16(g16.Pix[2*i+1])
			g8.Pix[i] = uint8(id/1000*64 + id%1000%64)
		}
		writePNG(t, path, g8)
	}
	return root
}

func writePNG(t *testing.T, path string, im image.Image) {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, im); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// smallCIFAR10 is a torchvision CIFAR-10 root of 40 random training images
// (scripts/make_cifar10.py), pickled as the published batches.
func smallCIFAR10(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "cifar10")
	if b, err := exec.Command(torchtest.Python(t), "../scripts/make_cifar10.py", root).CombinedOutput(); err != nil {
		t.Fatalf("make_cifar10.py: %v\n%s", err, b)
	}
	return root
}

// classFolders is a root of class folders whose ImageFolder order is not
// the sorted paths': "cat-x" sorts before "cat/z", cat/z's file comes after
// cat's own, and "dog" is a link to a folder elsewhere.
func classFolders(t *testing.T) string {
	t.Helper()
	root := torchtest.CopyFacades(t, map[string][]string{"cat": {"1.jpg", "2.jpg"}, "cat/z": {"3.jpg"}, "cat-x": {"4.jpg", "5.jpg"}})
	elsewhere := torchtest.CopyFacades(t, map[string][]string{"dogs": {"6.jpg", "7.jpg"}})
	if err := os.Symlink(filepath.Join(elsewhere, "dogs"), filepath.Join(root, "dog")); err != nil {
		t.Fatal(err)
	}
	return root
}

// smallLSUN is an LSUN root with tower and bridge training databases of
// 10 and 8 WebP photos (scripts/make_lsun.py, from the facades photos), or
// $GOGAN_LSUN, which scripts/gpu-check makes so here: the GPU machine's
// Python has no py-lmdb to write them with.
func smallLSUN(t *testing.T) string {
	t.Helper()
	if root := os.Getenv("GOGAN_LSUN"); root != "" {
		return root
	}
	root := filepath.Join(t.TempDir(), "lsun")
	for _, c := range []struct{ class, count, seed string }{{"tower", "10", "1"}, {"bridge", "8", "2"}} {
		if b, err := exec.Command(torchtest.Python(t), "../scripts/make_lsun.py", root, "--classes", c.class, "--count", c.count,
			"--seed", c.seed, "--photos", facadesDir(t)).CombinedOutput(); err != nil {
			t.Fatalf("make_lsun.py: %v\n%s", err, b)
		}
	}
	return root
}

// randomVGG19 is a torchvision VGG19 state dict (features only) with
// random weights, standing in for the ImageNet weights these machines
// cannot download.
func randomVGG19(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "vgg19-random.pth")
	if b, err := exec.Command(torchtest.Python(t), "../scripts/make_vgg19_pth.py", out, "--seed", "5").CombinedOutput(); err != nil {
		t.Fatalf("make_vgg19_pth.py: %v\n%s", err, b)
	}
	return out
}
