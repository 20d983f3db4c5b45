package trainer

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	torch "gogan/cgo"
	"gogan/config"
	"gogan/gan"
)

// fastpathConfigs are small DCGAN and pix2pix steps (pix2pix without dropout,
// whose random masks a CUDA graph draws differently from eager steps),
// pix2pixHD with instance-wise features (synthetic instance ids: thousands
// of regions), and pix2pixHD's --no_lsgan (D's Sigmoid and BCELoss, which
// must run in float32 under autocast), pix2pixHD's local enhancer whose
// global generator joins training after an epoch (niter_fix_global: a new
// optimizer, so a new capture), pix2pixHD with its pool, and CycleGAN with
// image pools (full from the third step on: a capture then finds them full,
// as a resumed run's does).
var fastpathConfigs = map[string][]string{
	"dcgan":   {"recipe=dcgan", "model.ngf=16", "model.ndf=16", "data.image_size=32", "data.batch_size=8"},
	"pix2pix": {"recipe=pix2pix", "model.netG=unet_128", "model.no_dropout=true", "model.ngf=8", "model.ndf=8", "data.crop_size=256", "data.load_size=286", "data.batch_size=2"},
	"pix2pixhd-features": {"recipe=pix2pixhd", "data.label_nc=4", "data.preprocess=resize_and_crop", "data.load_size=64", "data.crop_size=64",
		"model.ngf=8", "model.ndf=8", "model.n_downsample_global=2", "model.n_blocks_global=1", "model.n_layers_D=2", "train.no_vgg_loss=true",
		"model.instance_feat=true", "model.nef=4", "model.n_downsample_E=2", "data.batch_size=2"},
	"pix2pixhd-vanilla": {"recipe=pix2pixhd", "data.label_nc=4", "data.preprocess=resize_and_crop", "data.load_size=64", "data.crop_size=64",
		"model.ngf=8", "model.ndf=8", "model.n_downsample_global=2", "model.n_blocks_global=1", "model.n_layers_D=2", "train.no_vgg_loss=true",
		"train.gan_mode=vanilla", "data.batch_size=2"},
	"pix2pixhd-local": {"recipe=pix2pixhd", "data.label_nc=4", "data.preprocess=resize_and_crop", "data.load_size=64", "data.crop_size=64",
		"model.netG=local", "model.ngf=4", "model.ndf=8", "model.n_downsample_global=2", "model.n_blocks_global=1", "model.n_blocks_local=1",
		"model.n_layers_D=2", "train.no_vgg_loss=true", "train.niter_fix_global=1", "data.batch_size=2"},
	// pix2pixHD's image pool (train.pool_size): picks drawn on the host
	// into a tensor the captured query reads, as CycleGAN's.
	"pix2pixhd-pool": {"recipe=pix2pixhd", "data.label_nc=4", "data.preprocess=resize_and_crop", "data.load_size=64", "data.crop_size=64",
		"model.ngf=8", "model.ndf=8", "model.n_downsample_global=2", "model.n_blocks_global=1", "model.n_layers_D=2", "train.no_vgg_loss=true",
		"train.pool_size=3", "data.batch_size=2"},
	"cyclegan": {"recipe=cyclegan", "model.netG=resnet_6blocks", "model.ngf=8", "model.ndf=8", "data.preprocess=resize_and_crop",
		"data.load_size=32", "data.crop_size=32", "train.pool_size=3", "data.batch_size=2"},
}

// fastpathRun trains steps steps of the config on synthetic batches (the same
// for every variant) and returns the losses of each step and every tensor of
// the networks' state dicts at the end. It builds the session itself, so
// that o.edit can change the loaded config (the CPU can then run variants
// that LoadConfig and deviceFor keep to CUDA: autocast in bfloat16).
func fastpathRun(t *testing.T, recipe, device string, o runOpts) (losses []map[string]float64, state map[string][]float32) {
	t.Helper()
	extra, steps := o.sets, o.steps
	sets := append(append([]string{}, fastpathConfigs[recipe]...), "device="+device, "threads=2",
		"out="+filepath.Join(t.TempDir(), "run"))
	cfg, err := config.LoadConfig("", append(sets, extra...))
	if err != nil {
		t.Fatal(err)
	}
	if o.edit != nil {
		o.edit(cfg)
	}
	dev, err := torch.ParseDevice(cfg.Device)
	if err != nil {
		t.Fatal(err)
	}
	var inputs []gan.Batch
	sc := torch.NewScope()
	defer sc.Close()
	torch.ManualSeed(1234)
	for i := 0; i < steps; i++ {
		// Drawn on the CPU, so every device and variant trains on the same batches.
		b, err := gan.RandomBatch(cfg, torch.CPUDevice)
		if err != nil {
			t.Fatal(err)
		}
		on := gan.Batch{}
		for name, x := range b {
			if i == o.smallAt && i > 0 { // an epoch's last batch, of half the samples
				x = x.Narrow(0, 0, max(1, x.Shape()[0]/2))
			}
			on[name] = x.To(dev)
		}
		inputs = append(inputs, on)
		gan.FreeBatch(b)
	}
	torch.ManualSeed(uint64(cfg.Seed))
	s := &session{cfg: cfg, dev: dev}
	defer s.close()
	if err := s.newRecipe(); err != nil {
		t.Fatal(err)
	}
	rec := s.rec
	if o.scaler {
		// fp16's grad scaler without its autocast (the CPU's has no
		// float16), at a scale that makes some steps overflow
		s.prec.Scaler = gan.NewGradScaler(dev)
		s.prec.Scaler.SetState(gan.ScalerState{Scale: math.Ldexp(1, 126)})
	}
	err = torch.Try(func() {
		if o.capturable {
			for _, opt := range rec.Optimizers() {
				opt.Adam.MakeCapturable()
			}
		}
		for i, in := range inputs {
			if i == o.epochEndsAfter && i > 0 {
				if h, ok := rec.(gan.EpochHook); ok {
					if err := h.EndEpoch(1); err != nil {
						t.Fatal(err)
					}
				}
				if o.capturable { // a new optimizer (pix2pixHD's), as a capture makes it
					for _, opt := range rec.Optimizers() {
						opt.Adam.MakeCapturable()
					}
				}
			}
			step := torch.NewScope()
			if slices.Contains(o.warmUpBefore, i) {
				// What launchStep does before it captures: the step's
				// draws, then the graph's warm-up steps, undone.
				if d, ok := rec.(gan.StepDrawer); ok {
					d.DrawStep(batchSize(in))
				}
				s.warmUp(in)
				losses = append(losses, s.readLosses(stackLosses(rec.Step(in))))
			} else {
				losses = append(losses, s.runStep(in))
			}
			step.Close()
		}
		state = map[string][]float32{}
		for _, n := range rec.Nets() {
			for _, nt := range n.Net.StateDict() {
				state[n.Role+"."+nt.Name] = nt.Tensor.ToDType(torch.Float32).Float32s()
			}
		}
	})
	if err != nil {
		t.Fatalf("%s %v: %v", recipe, extra, err)
	}
	for i, ls := range losses {
		for k, v := range ls {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("%s %v: step %d: %s = %g", recipe, extra, i, k, v)
			}
		}
	}
	return losses, state
}

type runOpts struct {
	sets       []string // config settings beyond fastpathConfigs
	steps      int
	edit       func(*config.Config)
	capturable bool // eager steps with Adam's step count and LR on the device
	// warmUpBefore: before these steps, the steps a graph capture runs to
	// warm up, undone (on the CPU too)
	warmUpBefore []int
	// epochEndsAfter > 0: after that many steps the recipe's epoch ends
	// (pix2pixHD's niter_fix_global of 1 then trains the global G too)
	epochEndsAfter int
	// smallAt > 0: that step's batch has half the samples (an epoch's last
	// without data.drop_last)
	smallAt int
	// scaler: fp16's grad scaler, starting at 2^126 (skipped steps)
	scaler bool
}

// lossDiff is the largest relative difference between two runs' losses.
func lossDiff(a, b []map[string]float64) (worst float64, where string) {
	for i := range a {
		for k, v := range a[i] {
			d := math.Abs(v-b[i][k]) / math.Max(math.Abs(b[i][k]), 1e-3)
			if d > worst {
				worst, where = d, fmt.Sprintf("step %d %s: %g vs %g", i+1, k, v, b[i][k])
			}
		}
	}
	return worst, where
}

// stateDiff is the largest relative L2 distance ||a-b||/||b|| between the
// same tensor of two runs. It is a norm, not an element-wise bound, because
// Adam's first updates are lr*sign(g): an element whose gradient is rounding
// noise (a ReLU at zero, a weight before a batch norm of few values) moves by
// the full learning rate one way or the other on rounding alone.
func stateDiff(a, b map[string][]float32) (worst float64, where string) {
	for name, va := range a {
		vb := b[name]
		var d, n float64
		for i := range va {
			x := float64(va[i]) - float64(vb[i])
			d += x * x
			n += float64(vb[i]) * float64(vb[i])
		}
		if r := math.Sqrt(d / math.Max(n, 1e-30)); r > worst {
			worst, where = r, name
		}
	}
	return worst, where
}

// netStateDiff is stateDiff over each network's whole state (the tensors
// named "<net>.*" together). DCGAN's BatchNorm biases start at zero, so after
// 3 steps one element moved by ±lr on rounding (channels_last sums in
// another order) is a large part of its own small tensor, but not of the
// network's.
func netStateDiff(a, b map[string][]float32) (worst float64, where string) {
	join := func(m map[string][]float32) map[string][]float32 {
		out := map[string][]float32{}
		names := slices.Sorted(maps.Keys(m))
		for _, name := range names {
			net, _, _ := strings.Cut(name, ".")
			out[net] = append(out[net], m[name]...)
		}
		return out
	}
	return stateDiff(join(a), join(b))
}

// TestChannelsLastSameTraining: NHWC weights and inputs give the NCHW
// training run: the same losses, and for DCGAN the same weights (pix2pix's
// U-Net has weights whose gradients are rounding noise, see stateDiff).
func TestChannelsLastSameTraining(t *testing.T) {
	torch.LockThread()
	for _, recipe := range []string{"dcgan", "pix2pix"} {
		want, wantState := fastpathRun(t, recipe, "cpu", runOpts{steps: 3})
		got, gotState := fastpathRun(t, recipe, "cpu", runOpts{sets: []string{"cuda.channels_last=true"}, steps: 3})
		if d, where := lossDiff(got, want); d > 1e-4 {
			t.Errorf("%s: channels_last losses differ by %.3g (%s)", recipe, d, where)
		}
		if d, where := netStateDiff(gotState, wantState); recipe == "dcgan" && d > 1e-4 {
			t.Errorf("%s: channels_last weights differ by %.3g (%s)", recipe, d, where)
		}
	}
}

// TestCapturableAdamSameTraining: Adam with its step count and learning
// rate on the device (what a CUDA graph replays) trains as the host-side one.
// Its bias corrections are float32 tensor arithmetic, the host's are float64
// (as torch.optim.Adam's capturable and plain paths): the updates differ by
// rounding, which a GAN's steps amplify, so the run is held to the standard
// of TestChannelsLastSameTraining; the arithmetic itself is checked against
// PyTorch's Adam in cgo (adam_capturable cases).
func TestCapturableAdamSameTraining(t *testing.T) {
	torch.LockThread()
	want, wantState := fastpathRun(t, "dcgan", "cpu", runOpts{steps: 3})
	got, gotState := fastpathRun(t, "dcgan", "cpu", runOpts{steps: 3, capturable: true})
	if d, where := lossDiff(got, want); d > 1e-4 {
		t.Errorf("capturable Adam: losses differ by %.3g (%s)", d, where)
	}
	if d, where := netStateDiff(gotState, wantState); d > 1e-4 {
		t.Errorf("capturable Adam: weights differ by %.3g (%s)", d, where)
	}
	l, _ := lossDiff(got, want)
	w, _ := netStateDiff(gotState, wantState)
	t.Logf("3 steps: losses within %.3g, network states within %.3g (relative)", l, w)
}

// TestGraphWarmUpIsUndone: the steps a CUDA graph's capture runs first
// (cuDNN's choices, autograd's set-up) leave no trace: with them undone
// before the first step (a run's capture, its pools filling) and before
// the fourth (a resumed run's, or pix2pixHD's second), the run is the one
// without them, bit for bit. Run on the CPU, where the capture itself
// cannot: the weights, optimizer moments, step counts, random generators
// and CycleGAN's pools (full by step 4, so that the warm-up's swaps would
// change what D sees later) come back, and the pools' picks, drawn before
// the warm-up, are the step's; and, with fp16's grad scaler, its scale.
func TestGraphWarmUpIsUndone(t *testing.T) {
	torch.LockThread()
	for _, recipe := range slices.Sorted(maps.Keys(fastpathConfigs)) {
		want, wantState := fastpathRun(t, recipe, "cpu", runOpts{steps: 6, capturable: true, epochEndsAfter: 2, smallAt: 4})
		got, gotState := fastpathRun(t, recipe, "cpu", runOpts{steps: 6, capturable: true, epochEndsAfter: 2, smallAt: 4, warmUpBefore: []int{0, 3}})
		if d, where := lossDiff(got, want); d != 0 {
			t.Errorf("%s: losses after an undone warm-up differ by %.3g (%s)", recipe, d, where)
		}
		if d, where := stateDiff(gotState, wantState); d != 0 {
			t.Errorf("%s: weights after an undone warm-up differ by %.3g (%s)", recipe, d, where)
		}
	}
	// fp16's grad scaler: its scale and count come back too
	for _, recipe := range []string{"dcgan", "cyclegan"} {
		want, wantState := fastpathRun(t, recipe, "cpu", runOpts{steps: 6, scaler: true, smallAt: 4})
		got, gotState := fastpathRun(t, recipe, "cpu", runOpts{steps: 6, scaler: true, smallAt: 4, warmUpBefore: []int{0, 3}})
		dl, wl := lossDiff(got, want)
		ds, ws := stateDiff(gotState, wantState)
		if dl != 0 || ds != 0 {
			t.Errorf("%s with the grad scaler: an undone warm-up changes the losses by %.3g (%s), the weights by %.3g (%s)", recipe, dl, wl, ds, ws)
		}
	}
}

// TestGraphOfReplacedOptimizer: a captured step updates the optimizers it
// was captured with; once the recipe replaces one (pix2pixHD's new Adam
// over the whole generator after niter_fix_global epochs) the graph no
// longer steps the recipe's, and launchStep captures the step anew.
func TestGraphOfReplacedOptimizer(t *testing.T) {
	torch.LockThread()
	cfg, err := config.LoadConfig("", append(slices.Clone(fastpathConfigs["pix2pixhd-local"]), "device=cpu",
		"out="+filepath.Join(t.TempDir(), "run")))
	if err != nil {
		t.Fatal(err)
	}
	s := &session{cfg: cfg, dev: torch.CPUDevice}
	defer s.close()
	if err := s.newRecipe(); err != nil {
		t.Fatal(err)
	}
	g := &stepGraph{}
	for _, o := range s.rec.Optimizers() {
		g.adams = append(g.adams, o.Adam)
	}
	if !g.steps(s.rec.Optimizers()) {
		t.Fatal("a graph of the recipe's optimizers does not step them")
	}
	if err := s.rec.(gan.EpochHook).EndEpoch(1); err != nil {
		t.Fatal(err)
	}
	if g.steps(s.rec.Optimizers()) {
		t.Error("after niter_fix_global's epoch the graph still steps the recipe's optimizers: it would update the local enhancer alone")
	}
}

// TestBF16AutocastOnCPU runs the mixed-precision step with CPU autocast:
// the first step's losses (same weights, same batch) agree with float32's
// within bfloat16's precision, and training stays finite.
func TestBF16AutocastOnCPU(t *testing.T) {
	torch.LockThread()
	for _, recipe := range []string{"dcgan", "pix2pix", "pix2pixhd-vanilla"} {
		want, _ := fastpathRun(t, recipe, "cpu", runOpts{steps: 3})
		// LoadConfig refuses cuda.amp on device=cpu: set it after loading.
		got, _ := fastpathRun(t, recipe, "cpu", runOpts{steps: 3, edit: func(c *config.Config) { c.CUDA.AMP = "bf16" }})
		if d, where := lossDiff(got[:1], want[:1]); d > ampTolerance {
			t.Errorf("%s: bf16 first-step losses differ from float32 by %.3g (%s)", recipe, d, where)
		}
	}
}

// ampTolerance bounds the relative difference between a mixed-precision
// step's losses and float32's on the same weights and batch.
const ampTolerance = 0.03

func TestFastPathConfigErrors(t *testing.T) {
	for _, c := range []struct {
		sets []string
		want string
	}{
		{[]string{"device=cpu", "cuda.amp=bf16"}, "cuda.amp=bf16 needs a CUDA device"},
		{[]string{"device=cpu", "cuda.cuda_graph=true"}, "cuda.cuda_graph needs a CUDA device"},
		{[]string{"recipe=pix2pix", "train.gan_mode=wgangp", "cuda.amp=bf16"}, "gan_mode=wgangp"},
	} {
		_, err := config.LoadConfig("", append(c.sets, "out="+filepath.Join(t.TempDir(), "run")))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got %v, want an error containing %q", c.sets, err, c.want)
		}
	}
	if !torch.CUDAIsAvailable() {
		// device=auto resolves to the CPU here: deviceFor says what is missing.
		cfg, err := config.LoadConfig("", []string{"cuda.amp=bf16", "out=" + filepath.Join(t.TempDir(), "run")})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := DeviceFor(cfg); err == nil || !strings.Contains(err.Error(), "needs a CUDA device") {
			t.Errorf("device=auto on a CPU machine with cuda.amp=bf16: got %v", err)
		}
	}
}

// requireCUDA skips a test on machines without a CUDA device, saying so.
func requireCUDA(t *testing.T) {
	t.Helper()
	if !torch.CUDAIsAvailable() {
		t.Skipf("no CUDA device (libtorch %s sees none): this test runs in scripts/gpu-check on a GPU machine", torch.Version())
	}
}

// exactCUDA turns TF32 off and cuDNN deterministic for the rest of the
// test: float32 arithmetic that runs can be compared on.
func exactCUDA(t *testing.T) {
	torch.SetAllowTF32(false)
	torch.SetCuDNNDeterministic(true)
	t.Cleanup(func() {
		torch.SetAllowTF32(true)
		torch.SetCuDNNDeterministic(false)
	})
}

// TestCUDAGraphTrainingMatchesEager: 10 steps with the training step
// captured (D and G updates, capturable Adam) give the weights and losses
// of 10 eager steps with the same arithmetic (capturable Adam,
// deterministic cuDNN, TF32 off), and the losses of the ordinary eager
// step within rounding, for DCGAN, pix2pix, CycleGAN with its pools,
// pix2pixHD's local stage and pix2pixHD with its pool; among them a smaller batch that runs eagerly
// between replays and, for pix2pixHD, a second capture after its new
// optimizer.
func TestCUDAGraphTrainingMatchesEager(t *testing.T) {
	requireCUDA(t)
	torch.LockThread()
	exactCUDA(t)
	base := []string{"cuda.cudnn_benchmark=false"}
	for _, recipe := range []string{"dcgan", "pix2pix", "cyclegan", "pix2pixhd-local", "pix2pixhd-pool"} {
		// pix2pixhd-local's new optimizer after step 5: a second capture;
		// step 3 a batch of half the samples, eager between replays
		o := runOpts{sets: base, steps: 10, capturable: true, epochEndsAfter: 5, smallAt: 3}
		eager, eagerState := fastpathRun(t, recipe, "cuda", o)
		o.capturable = false
		plain, _ := fastpathRun(t, recipe, "cuda", o)
		o.sets = append(slices.Clone(base), "cuda.cuda_graph=true")
		got, gotState := fastpathRun(t, recipe, "cuda", o)
		dl, wl := lossDiff(got, eager)
		ds, ws := stateDiff(gotState, eagerState)
		dp, wp := lossDiff(got, plain)
		t.Logf("%s, 10 steps: graph vs eager: losses %.3g (%s), weights %.3g (%s); vs eager with host-side Adam: losses %.3g (%s)",
			recipe, dl, wl, ds, ws, dp, wp)
		if dl > 1e-5 || ds > 1e-5 {
			t.Errorf("%s: CUDA graph replays differ from the eager steps beyond 1e-5", recipe)
		}
		// Against host-side Adam (bias corrections in double rather than
		// float32) the runs drift apart, Adam's sign-like updates of
		// gradients at rounding level feeding the GAN's feedback: on the H200
		// 3.7e-6 (pix2pix) and 4.6e-3 (DCGAN) after 10 steps. The exact
		// checks are the one above and capturable Adam against PyTorch (cgo).
		if dp > 1e-2 {
			t.Errorf("%s: CUDA graph losses differ from the ordinary eager step's by %.3g (%s)", recipe, dp, wp)
		}
		// And every fast-path setting at once trains (finite losses).
		fastpathRun(t, recipe, "cuda", runOpts{sets: []string{"cuda.cuda_graph=true", "cuda.channels_last=true", "cuda.amp=bf16"}, steps: 10})
	}
}

// TestCUDAFeatureEncoder: pix2pixHD with instance-wise features, whose
// averaging adds on the GPU with atomics (index_add): the first step's
// losses agree with the CPU's, and the step captured as a CUDA graph trains
// as the eager one does, within what the order of those additions changes.
func TestCUDAFeatureEncoder(t *testing.T) {
	requireCUDA(t)
	torch.LockThread()
	exactCUDA(t)
	const recipe = "pix2pixhd-features"
	base := []string{"cuda.cudnn_benchmark=false"}
	cpu, _ := fastpathRun(t, recipe, "cpu", runOpts{steps: 1})
	gpu, _ := fastpathRun(t, recipe, "cuda", runOpts{sets: base, steps: 1})
	if d, where := lossDiff(gpu, cpu); d > 1e-4 {
		t.Errorf("first step on CUDA vs the CPU: %.3g (%s)", d, where)
	}
	eager, _ := fastpathRun(t, recipe, "cuda", runOpts{sets: base, steps: 5, capturable: true})
	graph, _ := fastpathRun(t, recipe, "cuda", runOpts{sets: append(base, "cuda.cuda_graph=true"), steps: 5})
	d, where := lossDiff(graph, eager)
	t.Logf("5 steps, graph vs eager: losses within %.3g (%s)", d, where)
	if d > 1e-2 {
		t.Errorf("CUDA graph of the feature encoder's step differs from the eager step by %.3g (%s)", d, where)
	}
}

// beforeUpdates keeps the losses a step computes before its first optimizer
// update: what mixed precision can be compared on, since fp16's grad scaler
// skips the first updates (its initial scale overflows), as GradScaler does.
func beforeUpdates(recipe string, losses []map[string]float64) []map[string]float64 {
	keep := map[string][]string{"dcgan": {"Loss_D", "D_x", "D_G_z1"}, "pix2pix": {"D_real", "D_fake", "G_L1"},
		// one forward pass gives all of pix2pixHD's losses, then G and D step
		"pix2pixhd-vanilla": {"G_GAN", "G_GAN_Feat", "D_real", "D_fake"}}[recipe]
	var out []map[string]float64
	for _, ls := range losses {
		m := map[string]float64{}
		for _, k := range keep {
			m[k] = ls[k]
		}
		out = append(out, m)
	}
	return out
}

// TestCUDAMixedPrecision: bf16 and fp16 (with the grad scaler) losses of the
// first step, before any update, agree with float32's within ampTolerance;
// 10 steps stay finite; channels_last changes the losses by rounding only.
func TestCUDAMixedPrecision(t *testing.T) {
	requireCUDA(t)
	torch.LockThread()
	torch.SetAllowTF32(false)
	defer torch.SetAllowTF32(true)
	for _, recipe := range []string{"dcgan", "pix2pix", "pix2pixhd-vanilla"} {
		want, wantState := fastpathRun(t, recipe, "cuda", runOpts{steps: 10})
		for _, amp := range []string{"bf16", "fp16"} {
			got, _ := fastpathRun(t, recipe, "cuda", runOpts{sets: []string{"cuda.amp=" + amp}, steps: 10})
			d, where := lossDiff(beforeUpdates(recipe, got[:1]), beforeUpdates(recipe, want[:1]))
			t.Logf("%s %s: first-step losses within %.3g of float32 (%s)", recipe, amp, d, where)
			if d > ampTolerance {
				t.Errorf("%s: cuda.amp=%s first-step losses differ from float32 by %.3g > %g", recipe, amp, d, ampTolerance)
			}
		}
		got, gotState := fastpathRun(t, recipe, "cuda", runOpts{sets: []string{"cuda.channels_last=true"}, steps: 10})
		dl, wl := lossDiff(got, want)
		ds, ws := stateDiff(gotState, wantState)
		t.Logf("%s channels_last: losses within %.3g (%s), weights %.3g (%s)", recipe, dl, wl, ds, ws)
		if dl > 1e-3 {
			t.Errorf("%s: channels_last losses differ by %.3g (%s)", recipe, dl, wl)
		}
	}
}

// TestCUDAGraphFP16MatchesEager: fp16 with its grad scaler in a CUDA
// graph: the scaler's skips (its first steps overflow at 2^16) and its
// scale are decided on the device, so 10 replays train as 10 eager steps
// (deterministic cuDNN, TF32 off).
func TestCUDAGraphFP16MatchesEager(t *testing.T) {
	requireCUDA(t)
	torch.LockThread()
	exactCUDA(t)
	for _, recipe := range []string{"dcgan", "pix2pix"} {
		base := []string{"cuda.cudnn_benchmark=false", "cuda.amp=fp16"}
		eager, eagerState := fastpathRun(t, recipe, "cuda", runOpts{sets: base, steps: 10, smallAt: 6})
		got, gotState := fastpathRun(t, recipe, "cuda", runOpts{sets: append(base, "cuda.cuda_graph=true"), steps: 10, smallAt: 6})
		dl, wl := lossDiff(got, eager)
		ds, ws := stateDiff(gotState, eagerState)
		t.Logf("%s fp16, 10 steps: graph vs eager: losses %.3g (%s), weights %.3g (%s)", recipe, dl, wl, ds, ws)
		if dl > 1e-5 || ds > 1e-5 {
			t.Errorf("%s: fp16 CUDA graph replays differ from the eager steps beyond 1e-5", recipe)
		}
	}
}

// TestScalerInCheckpointState: the fp16 grad scaler's state goes into
// state.json's schedule record and comes back (runs without it omit it).
func TestScalerInCheckpointState(t *testing.T) {
	b, err := json.Marshal(loopState{Schedule: &Schedule{}, AMPScaler: &gan.ScalerState{Scale: 1024, GrowthTracker: 7}})
	if err != nil {
		t.Fatal(err)
	}
	var back loopState
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.AMPScaler == nil || back.AMPScaler.Scale != 1024 || back.AMPScaler.GrowthTracker != 7 {
		t.Fatalf("scaler state after a round trip: %+v (JSON %s)", back.AMPScaler, b)
	}
	b, err = json.Marshal(loopState{Schedule: &Schedule{}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "amp_scaler") {
		t.Errorf("a run without fp16 writes a scaler: %s", b)
	}
}
