package eval

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	torch "gogan/cgo"
	"gogan/config"
	"gogan/data"
	"gogan/gan"
	"gogan/infer"
	"gogan/nets"
	"gogan/report"
	"gogan/runfolder"
)

// FIDOptions configure FID: the generated images come from exactly one of
// Checkpoint, SamplesFile or RealTrain.
type FIDOptions struct {
	Classifier  string // safetensors file from gogan eval classifier
	Checkpoint  string // a DCGAN checkpoint or run folder (1x32x32 images)
	SamplesFile string // or: safetensors with one [N 1 32 32] tensor (float32 in [-1, 1] or uint8)
	RealTrain   bool   // or: the first Samples Fashion-MNIST training images (the real-vs-real floor)
	Sampling           // how many images to generate (or take), and how
	Root        string // Fashion-MNIST IDX folder; default data.DefaultFashionRoot
	Device      string // default auto
	Threads     int    // libtorch threads; 0: all cores
}

// Sampling is how FID draws a DCGAN checkpoint's images.
type Sampling struct {
	Samples int    // how many images; default 10000
	Seed    int64  // noise seed; default 1
	GMode   string // generator mode: eval (BatchNorm running statistics, as gogan sample) or train (batch statistics over batches of 64, as pytorch/examples draws its samples); default eval
}

// fill sets the defaults and checks the values.
func (s *Sampling) fill() error {
	if s.Samples == 0 {
		s.Samples = 10000
	}
	if s.Seed == 0 {
		s.Seed = 1
	}
	if s.GMode == "" {
		s.GMode = "eval"
	}
	if s.Samples < 2 {
		return fmt.Errorf("eval fid: --samples %d: need at least 2 images for a covariance", s.Samples)
	}
	if s.GMode != "eval" && s.GMode != "train" {
		return fmt.Errorf("eval fid: --g-mode %q: must be eval or train", s.GMode)
	}
	return nil
}

// FIDResult is a Fréchet distance between the classifier's features of the
// generated images and of the Fashion-MNIST test images.
type FIDResult struct {
	FID        float64
	Generated  int    // images on the generated side
	Reference  int    // Fashion-MNIST test images
	Source     string // where the generated images came from
	Classifier string
	// ClassifierAccuracy is the classifier's test accuracy as its file records it.
	ClassifierAccuracy string
}

func (r *FIDResult) String() string {
	return fmt.Sprintf("FID %.4f  (%d images from %s vs %d Fashion-MNIST test images; features of %s, test accuracy %s)",
		r.FID, r.Generated, r.Source, r.Reference, r.Classifier, r.ClassifierAccuracy)
}

// FID computes the Fréchet distance between Gaussians fitted to the
// classifier's 128 features of the generated images and of the 10000
// Fashion-MNIST test images. Generated images are quantised to 8 bits first,
// as saving them to PNG would, so they pass through exactly the pipeline the
// real ones do.
func FID(ctx context.Context, o FIDOptions) (*FIDResult, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	where := "--data-root"
	if o.Root == "" {
		o.Root, where = data.DefaultFashionRoot, "--data-root's default"
	}
	if o.Device == "" {
		o.Device = "auto"
	}
	sources := 0
	for _, set := range []bool{o.Checkpoint != "", o.SamplesFile != "", o.RealTrain} {
		if set {
			sources++
		}
	}
	if sources != 1 {
		return nil, errors.New("eval fid: give exactly one of --checkpoint (a DCGAN run), --samples-file (images made elsewhere) or --real-train")
	}
	if err := o.Sampling.fill(); err != nil {
		return nil, err
	}
	if o.Classifier == "" {
		return nil, errors.New("eval fid: --classifier: name the classifier file (make one with gogan eval classifier --out FILE)")
	}
	dev, err := torch.UseDevice(o.Device)
	if err != nil {
		return nil, err
	}
	if err := torch.SetThreads(o.Threads); err != nil {
		return nil, err
	}
	// Check the generated side's source before the slower work.
	var generate func() ([]float32, error)
	var source string
	switch {
	case o.Checkpoint != "":
		ck, _, cfg, err := runfolder.OpenCheckpoint(o.Checkpoint)
		if err != nil {
			return nil, err
		}
		gen, err := infer.Generation(ck, cfg, "eval fid")
		if err != nil {
			if dc, err2 := gan.DataConfig(cfg); err2 == nil && dc.Dataset == data.Unaligned && dc.ClassesA != "" && dc.ClassesB != "" {
				return nil, fmt.Errorf("eval fid: FID needs a DCGAN checkpoint (a recipe that draws from noise); checkpoint %s is a %s between classes of %s: gogan eval classes --classifier %s --checkpoint %s gives its translations' FID to the target class",
					ck.Dir, cfg.Recipe, dc.Source, o.Classifier, o.Checkpoint)
			}
			return nil, fmt.Errorf("eval fid: FID needs a DCGAN checkpoint (a recipe that draws from noise); for image-to-image checkpoints use gogan eval pix2pix: %w", err)
		}
		if cfg.Data.Channels != 1 || cfg.Data.ImageSize != ClassifierSize {
			return nil, fmt.Errorf("eval fid: checkpoint %s makes %dx%dx%d images (data.channels %d, data.image_size %d): the classifier takes 1x%dx%d Fashion-MNIST images; train with data.channels=1 data.image_size=%d",
				ck.Dir, cfg.Data.Channels, cfg.Data.ImageSize, cfg.Data.ImageSize, cfg.Data.Channels, cfg.Data.ImageSize, ClassifierSize, ClassifierSize, ClassifierSize)
		}
		source = fmt.Sprintf("%s (G in %s mode%s)", ck.Dir, o.GMode, gen.InTurn())
		generate = func() ([]float32, error) {
			return generateImages(ck, cfg, gen, dev, o.Samples, o.Seed, o.GMode == "train")
		}
	case o.SamplesFile != "":
		source = o.SamplesFile
		imgs, err := loadSamplesFile(o.SamplesFile)
		if err != nil {
			return nil, err
		}
		if n := len(imgs) / (ClassifierSize * ClassifierSize); n < o.Samples {
			if n < 2 {
				return nil, fmt.Errorf("eval fid: %s holds %s: need at least 2", o.SamplesFile, data.Count(n, "image"))
			}
			o.Samples = n
		}
		generate = func() ([]float32, error) { return imgs[:o.Samples*ClassifierSize*ClassifierSize], nil }
	default:
		source = fmt.Sprintf("Fashion-MNIST train (first %d)", o.Samples)
		generate = func() ([]float32, error) { return fashionImages(ctx, o.Root, "train", o.Samples) }
	}
	c, err := LoadClassifier(o.Classifier, dev)
	if err != nil {
		return nil, err
	}
	defer c.Free()
	c.checkData(o.Classifier, o.Root, data.FashionMNIST, where)
	real, err := fashionImages(ctx, o.Root, "test", 0)
	if err != nil {
		return nil, fmt.Errorf("eval fid: Fashion-MNIST test images: %w", err)
	}
	fake, err := generate()
	if err != nil {
		return nil, err
	}
	g1, err := featureGaussian(c, real)
	if err != nil {
		return nil, err
	}
	g2, err := featureGaussian(c, fake)
	if err != nil {
		return nil, err
	}
	fd, err := FrechetDistance(g2, g1)
	if err != nil {
		return nil, err
	}
	return &FIDResult{FID: fd, Generated: g2.N, Reference: g1.N, Source: source, Classifier: o.Classifier,
		ClassifierAccuracy: accuracyText(c.Meta)}, nil
}

func featureGaussian(c *Classifier, images []float32) (Gaussian, error) {
	f, err := c.Features(images)
	if err != nil {
		return Gaussian{}, err
	}
	return FitGaussian(f, ClassifierFeatures)
}

// fashionImages are the first limit (0: all) images of a Fashion-MNIST split at 32x32 in [-1, 1].
func fashionImages(ctx context.Context, root, phase string, limit int) ([]float32, error) {
	var out []float32
	err := fashionBatches(ctx, root, phase, limit, func(x []float32, _ []int64) error {
		out = append(out, x...)
		return nil
	})
	return out, err
}

// quantize8 maps values in [-1, 1] to the 8-bit levels that torchvision's
// save_image(x, normalize=True, value_range=(-1, 1)) writes to a PNG, and
// back to [-1, 1] as the data pipeline normalises 8-bit pixels. As torch,
// in float32: clamp to [-1, 1], add 1, halve (make_grid's norm_range), then
// mul(255).add_(0.5), clamped to [0, 255] and truncated; in float64 the
// values halfway between two levels could round the other way.
func quantize8(x []float32) {
	for i, v := range x {
		v = (min(max(v, -1), 1) + 1) / 2
		q := float32(v*255) + 0.5
		q = min(max(q, 0), 255)
		x[i] = data.Normalize(uint8(q))
	}
}

// generateImages draws n images from a checkpoint's generator, with noise
// from seed, in batches of 64, quantised to 8 bits.
func generateImages(ck runfolder.Checkpoint, cfg *config.Config, gen infer.Generator, dev torch.Device, n int, seed int64, trainMode bool) ([]float32, error) {
	var out []float32
	err := generateBatches(ck, cfg, gen, dev, n, seed, trainMode, func(x []float32, _ []int64) error {
		out = append(out, x...)
		return nil
	})
	return out, err
}

// generateBatches draws n images from a checkpoint's generator, with noise
// from seed (image i of class i mod its classes, where it takes a class: as
// many of each), in batches of 64, and calls f on each batch, [k C H W] in
// [-1, 1] quantised to 8 bits.
func generateBatches(ck runfolder.Checkpoint, cfg *config.Config, gen infer.Generator, dev torch.Device, n int, seed int64, trainMode bool, f func(x []float32, shape []int64) error) error {
	g, err := infer.LoadNet(ck, cfg, gen.Role, dev)
	if err != nil {
		return err
	}
	defer g.Free()
	g.SetTraining(trainMode)
	torch.ManualSeed(uint64(seed))
	const batch = 64
	for i := 0; i < n; i += batch {
		k := min(batch, n-i)
		if trainMode && k < batch {
			k = batch // full batches for the batch statistics; the extra images are dropped
		}
		var x []float32
		var shape []int64
		err := torch.Try(func() {
			sc := torch.NewScope()
			defer sc.Close()
			torch.NoGrad(func() {
				noise := torch.Randn(torch.Float32, dev, append([]int64{int64(k)}, gen.Noise...)...)
				y := g.Forward(gen.Input(noise, gen.ClassesOf(i, k, infer.EachClass)))
				x, shape = y.Float32s(), y.Shape()
			})
		})
		if err != nil {
			return fmt.Errorf("eval fid: generate: %w", err)
		}
		if keep := min(k, n-i); keep < k {
			x, shape[0] = x[:len(x)/k*keep], int64(keep)
		}
		quantize8(x)
		if err := f(x, shape); err != nil {
			return err
		}
	}
	return nil
}

// loadSamplesFile reads images made elsewhere (scripts/eval_pytorch_dcgan.py):
// a safetensors file whose tensor "images" (or only tensor) is [N 1 32 32],
// float32 in [-1, 1] (quantised here to 8 bits) or uint8 0..255.
func loadSamplesFile(path string) ([]float32, error) {
	ts, _, err := torch.LoadSafetensors(path)
	if err != nil {
		return nil, fmt.Errorf("eval fid: --samples-file: %w", err)
	}
	defer torch.FreeNamed(ts)
	var t *torch.Tensor
	var names []string
	for _, nt := range ts {
		names = append(names, nt.Name)
		if nt.Name == "images" {
			t = nt.Tensor
		}
	}
	if t == nil && len(ts) == 1 {
		t = ts[0].Tensor
	}
	if t == nil {
		return nil, fmt.Errorf("eval fid: --samples-file %s: no tensor named \"images\" (it has %s)", path, strings.Join(names, ", "))
	}
	s := t.Shape()
	if len(s) != 4 || s[1] != 1 || s[2] != ClassifierSize || s[3] != ClassifierSize {
		return nil, fmt.Errorf("eval fid: --samples-file %s: images are %v: need [N 1 %d %d]", path, s, ClassifierSize, ClassifierSize)
	}
	var x []float32
	switch dt := t.DType(); dt {
	case torch.Uint8:
		u := t.Uint8s()
		x = make([]float32, len(u))
		for i, v := range u {
			x[i] = data.Normalize(v)
		}
	case torch.Float32, torch.Float64, torch.Float16, torch.BFloat16:
		x = t.Float32s()
		for i, v := range x {
			if !(v >= -1.001 && v <= 1.001) {
				return nil, fmt.Errorf("eval fid: --samples-file %s: value %g at %d is outside [-1, 1]: write images as the generator's tanh outputs", path, v, i)
			}
		}
		quantize8(x)
	default:
		return nil, fmt.Errorf("eval fid: --samples-file %s: dtype %s: need float32 in [-1, 1] or uint8", path, dt)
	}
	return x, nil
}

// Pix2PixEvalOptions configure EvalPix2Pix.
type Pix2PixEvalOptions struct {
	Checkpoint string // a pix2pix or CycleGAN checkpoint or run folder
	Direction  string // CycleGAN: AtoB (G_A), BtoA (G_B) or both; "" = both
	Root       string // dataset folder; default the checkpoint's data.root
	Phase      string // split; default test
	Skip       int    // start at this pair (to hold out the tail of a split)
	Limit      int    // evaluate at most this many pairs (0: all from Skip on)
	Mode       string // train (as test.py's default: BatchNorm batch statistics, dropout on, batch 1), eval (test.py --eval) or both; default both
	Seed       int64  // dropout seed in train mode; default 1
	Device     string // default auto
	Threads    int    // libtorch threads; 0: all cores
	// Out: a folder for the results page (resultsPage): every pair's
	// input, outputs and target, and index.html with each output's scores.
	Out string
}

// Pix2PixScores are the mean scores of one generator mode over the pairs.
type Pix2PixScores struct {
	Mode string
	N    int
	L1   float64 // mean |G(A) - B| on [-1, 1]
	PSNR float64 // dB, mean over images, on 8-bit images
	SSIM float64 // mean over images (and channels), on 8-bit images
}

// Pix2PixEval is EvalPix2Pix's result.
type Pix2PixEval struct {
	Checkpoint string
	Data       string // the dataset and the pairs evaluated
	Generators []Pix2PixGenerator
	Out        string // the results page's folder, when one was written
	// Warnings say why the scores are not held-out ones (logged too); the
	// results page keeps them beside the figures.
	Warnings []string
}

// Pix2PixGenerator is one generator's scores, a row per generator mode.
type Pix2PixGenerator struct {
	// Heading names the direction and generator where the recipe has more
	// than one (CycleGAN's G_A and G_B), and which side of each pair it
	// translates; "" for pix2pix's one.
	Heading string
	Scores  []Pix2PixScores
}

func (e *Pix2PixEval) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "checkpoint %s\ndata: %s\n", e.Checkpoint, e.Data)
	for i, g := range e.Generators {
		if i > 0 {
			b.WriteString("\n")
		}
		if g.Heading != "" {
			fmt.Fprintf(&b, "%s\n", g.Heading)
		}
		fmt.Fprintf(&b, "%-6s %7s %9s %9s %8s\n", "G mode", "pairs", "L1", "PSNR dB", "SSIM")
		for _, s := range g.Scores {
			fmt.Fprintf(&b, "%-6s %7d %9.4f %9.3f %8.4f\n", s.Mode, s.N, s.L1, s.PSNR, s.SSIM)
		}
	}
	if e.Out != "" {
		fmt.Fprintf(&b, "results: %s\n", filepath.Join(e.Out, "index.html"))
	}
	return b.String()
}

// pix2pixDirections are what Pix2PixEvalOptions.Direction may say: "" and
// "both" score each of the recipe's generators (CycleGAN's G_A and then
// G_B; pix2pix's one).
var pix2pixDirections = []string{"AtoB", "BtoA", "both"}

// EvalPix2Pix runs a pix2pix checkpoint's generator on held-out pairs and
// scores its outputs against the targets: L1 on [-1, 1] (the training L1),
// and PSNR and SSIM on 8-bit images (outputs rounded as torchvision's
// save_image; targets as loaded). Colorization scores L1 on ab and PSNR and
// SSIM on the RGB of L with the output's ab (the model's lab2rgb) against
// the photo. Pairs are loaded as in training without
// flips, resized straight to the crop size (as gogan translate does) instead
// of resized and randomly cropped. A CycleGAN's two generators are both
// scored unless o.Direction picks one: G_A on each pair's A side against its
// B side, G_B on the B side against the A side.
func EvalPix2Pix(ctx context.Context, o Pix2PixEvalOptions) (*Pix2PixEval, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if o.Phase == "" {
		o.Phase = "test"
	}
	if o.Mode == "" {
		o.Mode = "both"
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Device == "" {
		o.Device = "auto"
	}
	var modes []bool // train mode?
	switch o.Mode {
	case "train":
		modes = []bool{true}
	case "eval":
		modes = []bool{false}
	case "both":
		modes = []bool{true, false}
	default:
		return nil, fmt.Errorf("eval pix2pix: --mode %q: must be train, eval or both", o.Mode)
	}
	if o.Skip < 0 || o.Limit < 0 {
		return nil, fmt.Errorf("eval pix2pix: --skip %d, --limit %d: must not be negative", o.Skip, o.Limit)
	}
	switch o.Direction {
	case "", "both", "AtoB", "BtoA":
	default:
		return nil, fmt.Errorf("eval pix2pix: --direction %s: want %s (a CycleGAN's G_A, its G_B, or both; a pix2pix has one generator)", o.Direction, strings.Join(pix2pixDirections, ", "))
	}
	ck, _, cfg, err := runfolder.OpenCheckpoint(o.Checkpoint)
	if err != nil {
		return nil, err
	}
	trs, all, err := pix2pixTranslations(ck, cfg, o.Direction)
	if err != nil {
		return nil, err
	}
	dev, err := torch.UseDevice(o.Device)
	if err != nil {
		return nil, err
	}
	if err := torch.SetThreads(o.Threads); err != nil {
		return nil, err
	}
	dc, err := gan.DataConfig(cfg)
	if err != nil {
		return nil, err
	}
	trained := dc
	if o.Root != "" {
		dc.Root = o.Root
	}
	dc = dc.Whole()
	dc.Trained = ck.Dir
	dc.Phase = o.Phase
	unpaired := dc.Dataset == data.Unaligned
	if unpaired {
		// Trained without pairs, scored on pairs: A|B images or A/ and B/
		// folders of matching files.
		if dc.ClassesA != "" {
			return nil, fmt.Errorf("eval pix2pix: checkpoint %s learned from classes of %s (data.classes_A/classes_B), which have no pairs to score against; use gogan eval classes", ck.Dir, dc.Source)
		}
		dc.Dataset = data.Aligned
	}
	// Every generator's pairs before any is scored: data that will not
	// do is said at once.
	dss := make([]*data.Dataset, len(trs))
	for k, tr := range trs {
		dc := dc
		dc.Direction, dc.InputNC, dc.OutputNC = tr.PairDirection, tr.InputNC, tr.OutputNC
		ds, err := data.Open(ctx, dc, nil)
		if err != nil {
			if unpaired && errors.Is(err, data.ErrUnpairedDomains) {
				return nil, unpairedDomainsError(ck.Dir, o.Checkpoint, cfg.Recipe, dc.Root, dc.Phase, trained)
			}
			return nil, fmt.Errorf("eval pix2pix: data (data.root %s, --phase %s): %w", dc.Root, dc.Phase, err)
		}
		if !ds.Paired() {
			return nil, fmt.Errorf("eval pix2pix: %s gives no pairs", ds)
		}
		dss[k] = ds
	}
	ds := dss[0]
	end := ds.Len()
	if o.Limit > 0 {
		end = min(end, o.Skip+o.Limit)
	}
	if o.Skip >= end {
		return nil, fmt.Errorf("eval pix2pix: --skip %d leaves no pairs: the %s split of %s has %d", o.Skip, dc.Phase, dc.Root, ds.Len())
	}
	var warnings []string
	if what := trainedOn(trained, dc.Root, dc.Phase, o.Skip); what != "" {
		fix := "score another --phase"
		if trained.MaxSamples > 0 {
			fix = fmt.Sprintf("--skip %d scores the pairs past them", trained.MaxSamples)
		}
		w := fmt.Sprintf("eval pix2pix: pairs %d..%d of the %s split of %s include those checkpoint %s trained on (%s): these figures are on its training images, not held-out ones; %s",
			o.Skip, end-1, dc.Phase, dc.Root, ck.Dir, what, fix)
		slog.Warn(w)
		warnings = append(warnings, w)
	}
	var page *resultsPage
	if o.Out != "" {
		var gens [][4]string
		for _, tr := range trs {
			gens = append(gens, visualNames(tr.Visuals, tr.Lab, tr.Role == "G_B", cycleRole(all, tr) != ""))
		}
		var names []string
		for _, train := range modes {
			names = append(names, modeName(train))
		}
		if page, err = newResultsPage(o.Out, gens, names); err != nil {
			return nil, err
		}
		defer page.abort()
	}
	res := &Pix2PixEval{Checkpoint: ck.Dir, Warnings: warnings,
		Data: fmt.Sprintf("%s %s, phase %s, pairs %d..%d of %d (%s, no flip)", dc.Dataset, dc.Root, dc.Phase, o.Skip, end-1, ds.Len(),
			describeEvalPreprocess(dc))}
	// pix2pixHD's features are encoded from each pair's photo (test.py
	// --use_encoded_image), by E in G's mode: the target itself.
	if trs[0].Photos {
		res.Data += "; features encoded from each target photo"
	}
	for k, tr := range trs {
		var gen Pix2PixGenerator
		if len(all) > 1 {
			gen.Heading = generatorHeading(tr)
		}
		scores, err := scoreGenerator(ctx, ck, cfg, tr, cycleRole(all, tr), dss[k], o, end, modes, dev, page, k)
		if err != nil {
			return nil, err
		}
		gen.Scores = scores
		res.Generators = append(res.Generators, gen)
	}
	if page != nil {
		if err := page.finish(res); err != nil {
			return nil, err
		}
		res.Out = o.Out
	}
	return res, nil
}

// unpairedDomainsError is eval pix2pix's answer for a run trained on
// unpaired domains (CycleGAN's trainA/, trainB/) scored on a data.root that
// holds such domains and no pairs: the data's own refusal, written for
// aligned data, told the user to train with recipe cyclegan, which they had.
// It says what the scores need and how to look at the translations: of
// phase's domains, or where the root lacks one or both (trainA/ and trainB/
// alone) or holds no images in one (an empty testA/), another split's, named as the images the checkpoint trained on
// where it did (trained, its data config).
func unpairedDomainsError(dir, checkpoint, recipe, root, phase string, trained data.Config) error {
	var look string
	for _, split := range []string{phase, "test", "val", "train"} {
		a, b := filepath.Join(root, split+"A"), filepath.Join(root, split+"B")
		if domainHolds(a) != domainImages || domainHolds(b) != domainImages {
			continue
		}
		look = fmt.Sprintf("; to look at its translations instead: %s (G_A), and %s (G_B); %s compares G_A's with domain B",
			gan.Command("gogan", "translate", "--checkpoint", checkpoint, "--input", a, "--out", "DIR"),
			gan.Command("--direction", "BtoA", "--input", b), gan.Command("gogan", "eval", "fid", gan.PathArg(b), "DIR"))
		if split != phase {
			which := fmt.Sprintf("the %s split's", split)
			if trainedOn(trained, root, split, 0) != "" {
				which += ", the images it trained on"
			}
			look += fmt.Sprintf(" (%s: %s %s)", which, root, phaseDomains(root, phase))
		}
		break
	}
	return fmt.Errorf("eval pix2pix: checkpoint %[1]s (%[2]s) learned from unpaired domains, and data.root %[3]s holds such domains ({split}A/, {split}B/) but no pairs for --phase %[4]s: L1, PSNR and SSIM score each output against its input's true partner; give pairs with --data-root (A|B images side by side in %[4]s/, or files of the same names in A/%[4]s/ and B/%[4]s/)%[5]s",
		dir, recipe, root, phase, look)
}

// phaseDomains says which of phase's domain folders root lacks, or holds
// no images in (an empty testA/, which translate refuses): one, named
// beside the other, or both.
func phaseDomains(root, phase string) string {
	a, b := phase+"A/", phase+"B/"
	ha, hb := domainHolds(filepath.Join(root, a)), domainHolds(filepath.Join(root, b))
	switch {
	case ha == domainMissing && hb == domainMissing:
		return "has neither " + a + " nor " + b
	case ha == domainEmpty && hb == domainEmpty:
		return "has " + a + " and " + b + ", but neither holds images"
	case ha == domainImages && hb == domainMissing:
		return "has " + a + " but no " + b
	case hb == domainImages && ha == domainMissing:
		return "has " + b + " but no " + a
	case ha == domainImages:
		return "has " + a + ", but " + b + " holds no images"
	case hb == domainImages:
		return "has " + b + ", but " + a + " holds no images"
	case ha == domainEmpty:
		return "has no " + b + ", and " + a + " holds no images"
	}
	return "has no " + a + ", and " + b + " holds no images"
}

// What a domain folder holds, for the translate commands: a folder
// without images is no more use to them than none.
const (
	domainMissing = iota
	domainEmpty
	domainImages
)

func domainHolds(dir string) int {
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return domainMissing
	}
	if files, err := data.ImagesUnder(dir); err != nil || len(files) == 0 {
		return domainEmpty
	}
	return domainImages
}

// trainedOn says what a checkpoint whose data config was tc trained on
// (its data.root, data.phase and data.max_samples) when an evaluation's
// images, those of phase under root from index from on, include them; ""
// when they are held out: another folder or split, or past data.max_samples.
func trainedOn(tc data.Config, root, phase string, from int) string {
	if !tc.SameSplit(tc.Phase, phase) || !sameFolder(tc.Root, root) || (tc.MaxSamples > 0 && from >= tc.MaxSamples) {
		return ""
	}
	what := fmt.Sprintf("data.root %s, data.phase %s", tc.Root, tc.Phase)
	if tc.MaxSamples > 0 {
		what += fmt.Sprintf(", the first %d: data.max_samples", tc.MaxSamples)
	}
	return what
}

// sameFolder reports whether paths a and b name the same folder.
func sameFolder(a, b string) bool {
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	if errA != nil || errB != nil {
		return filepath.Clean(a) == filepath.Clean(b)
	}
	return os.SameFile(fa, fb)
}

// pix2pixTranslations are the generators that direction asks EvalPix2Pix
// to score: "" and "both" all of the recipe's, AtoB or BtoA the one; and
// all of the recipe's.
func pix2pixTranslations(ck runfolder.Checkpoint, cfg *config.Config, direction string) (trs, all []gan.Translation, err error) {
	one := direction
	if one == "both" {
		one = ""
	}
	tr, err := infer.Translation(ck, cfg, one, "eval pix2pix")
	if err != nil {
		return nil, nil, fmt.Errorf("eval pix2pix: %w", err)
	}
	def, err := gan.For(cfg)
	if err != nil {
		return nil, nil, err
	}
	all = def.Translate(cfg)
	if one != "" {
		return []gan.Translation{tr}, all, nil
	}
	return all, all, nil
}

// scoreGenerator scores tr's generator on pairs [o.Skip, end) of ds in
// each mode, adding its images to page (as page's generator gen) when there
// is one.
func scoreGenerator(ctx context.Context, ck runfolder.Checkpoint, cfg *config.Config, tr gan.Translation, backRole string, ds *data.Dataset, o Pix2PixEvalOptions, end int, modes []bool, dev torch.Device, page *resultsPage, gen int) ([]Pix2PixScores, error) {
	dc := ds.Config()
	var scores []Pix2PixScores
	for _, train := range modes {
		// The checkpoint's networks afresh for each mode: a train-mode pass
		// moves BatchNorm's running statistics, which eval mode then reads
		// (test.py --eval is a process of its own).
		g, err := infer.LoadNet(ck, cfg, tr.Role, dev)
		if err != nil {
			return nil, err
		}
		extra, release, err := infer.LoadNets(ck, cfg, tr.Nets, dev, false)
		if err != nil {
			g.Free()
			return nil, err
		}
		var encode func(gan.Batch) *torch.Tensor
		if tr.Encode != nil {
			encode = func(b gan.Batch) *torch.Tensor { return tr.Encode(b, gan.Encoders{Nets: extra}) }
		}
		for _, n := range extra {
			n.SetTraining(train)
		}
		var keep keepFunc
		var back *nets.Net // a CycleGAN's other generator, for the page's rec images
		if page != nil {
			show := func(a *torch.Tensor) report.Images { return report.ToImages(a) }
			if dc.LabelNC > 0 {
				show = func(a *torch.Tensor) report.Images { return report.LabelColors(report.ToImages(a), dc.LabelNC) }
			}
			keep = keepFunc{show: show, add: func(i int, mode string, im pairImages) error {
				name := ""
				if files := ds.Files(); i < len(files) {
					name = filepath.Base(files[i])
				}
				return page.add(gen, i, name, mode, im)
			}}
			if backRole != "" {
				if back, err = infer.LoadNet(ck, cfg, backRole, dev); err != nil {
					release()
					g.Free()
					return nil, err
				}
				back.SetTraining(train) // in fake's mode, as test.py's forward
				keep.back = back.Forward
			}
		}
		sc, err := scorePix2Pix(ctx, g, encode, tr.Output, ds, o.Skip, end, train, o.Seed, dev, keep)
		release()
		g.Free()
		if back != nil {
			back.Free()
		}
		if err != nil {
			return nil, err
		}
		scores = append(scores, sc)
	}
	return scores, nil
}

// keepFunc hands scorePix2Pix's images to the results page: show makes the
// input's picture from the batch's "A" (label maps in colours), add takes
// each pair's pictures and scores; back, where not nil, is a CycleGAN's
// other generator, which takes G's outputs back to its inputs (rec).
type keepFunc struct {
	show func(a *torch.Tensor) report.Images
	add  func(i int, mode string, im pairImages) error
	back func(y *torch.Tensor) *torch.Tensor
}

func describeEvalPreprocess(dc data.Config) string {
	switch dc.Preprocess {
	case data.ResizeAndCrop:
		return fmt.Sprintf("resized to %d", dc.CropSize)
	case data.ScaleWidthAndCrop:
		return fmt.Sprintf("width scaled to %d", dc.CropSize)
	}
	return "preprocess " + dc.Preprocess
}

// scorePix2Pix scores G on pairs [from, to) in one mode: train mode runs one
// pair at a time (batch statistics of that pair, as test.py with batch 1).
// encode makes G's input from a batch (nil: its "A"); show makes images of
// G's output (gan.Translation.Output), scored against each pair's B image
// (colorization: the photo). L1 is between G's output and the batch's B, the
// values the training's L1 loss compares.
func scorePix2Pix(ctx context.Context, g interface {
	SetTraining(bool)
	Forward(*torch.Tensor) *torch.Tensor
}, encode func(gan.Batch) *torch.Tensor, show func(x, y *torch.Tensor) report.Images, ds *data.Dataset, from, to int, train bool, seed int64, dev torch.Device, keep keepFunc) (Pix2PixScores, error) {
	mode, batch := modeName(train), 16
	if train {
		batch = 1
	}
	g.SetTraining(train)
	torch.ManualSeed(uint64(seed))
	sc := Pix2PixScores{Mode: mode}
	var l1Sum float64
	var l1N int
	for i := from; i < to; i += batch {
		if err := ctx.Err(); err != nil {
			return sc, err
		}
		k := min(batch, to-i)
		smps := make([]data.Sample, k)
		bs := make([]*data.Image, k)
		for j := range k {
			s, err := ds.Sample(i+j, 0, 0)
			if err != nil {
				return sc, fmt.Errorf("eval pix2pix: %w", err)
			}
			smps[j], bs[j] = s, s.B
		}
		var out, target, input, rec []float32
		var im, ins, recs report.Images
		err := torch.Try(func() {
			s := torch.NewScope()
			defer s.Close()
			torch.NoGrad(func() {
				b := gan.BatchOf(smps)
				for name, t := range b {
					b[name] = t.To(dev)
				}
				x := b["A"]
				if encode != nil {
					x = encode(b)
				}
				y := g.Forward(x)
				if !slices.Equal(y.Shape(), b["B"].Shape()) {
					panic(&torch.Error{Op: "eval pix2pix", Msg: fmt.Sprintf("G makes %v, the targets are %v", y.Shape(), b["B"].Shape())})
				}
				out, target = y.Float32s(), b["B"].Float32s()
				im = show(b["A"], y)
				if keep.add != nil {
					ins = keep.show(b["A"])
				}
				if keep.back != nil {
					// Its dropout's draws are put back: the scores of G
					// do not depend on whether a page is written.
					st := torch.RNGState(dev)
					r := keep.back(y)
					torch.SetRNGState(dev, st)
					input, rec, recs = x.Float32s(), r.Float32s(), report.ToImages(r)
				}
			})
		})
		if err != nil {
			return sc, fmt.Errorf("eval pix2pix: pair %d: %w", i, err)
		}
		for j := range out {
			l1Sum += math.Abs(float64(out[j]) - float64(target[j]))
		}
		l1N += len(out)
		c, h, w := im.C, im.H, im.W
		if b := bs[0]; c != b.C || h != b.H || w != b.W {
			return sc, fmt.Errorf("eval pix2pix: G makes %dx%dx%d images, the targets are %dx%dx%d", c, h, w, b.C, b.H, b.W)
		}
		per := len(out) / k // one output's values
		for j := range k {
			fake := image8(im, j)
			fs, err := scoreImages(fake, bs[j])
			if err != nil {
				return sc, err
			}
			sc.PSNR += fs.PSNR
			sc.SSIM += fs.SSIM
			sc.N++
			if keep.add != nil {
				fs.L1 = meanAbsDiff(out, target, j, per)
				pi := pairImages{in: image8(ins, j), fake: fake, target: bs[j], fakeScores: fs}
				if keep.back != nil {
					// rec against the input it reconstructs
					pi.rec = image8(recs, j)
					if pi.recScores, err = scoreImages(pi.rec, smps[j].A); err != nil {
						return sc, err
					}
					pi.recScores.L1 = meanAbsDiff(rec, input, j, len(input)/k)
				}
				if err := keep.add(i+j, mode, pi); err != nil {
					return sc, err
				}
			}
		}
	}
	sc.L1 = l1Sum / float64(l1N)
	sc.PSNR /= float64(sc.N)
	sc.SSIM /= float64(sc.N)
	return sc, nil
}

// meanAbsDiff is the mean |x - y| over item j of batches of per values.
func meanAbsDiff(x, y []float32, j, per int) float64 {
	var l1 float64
	for q := j * per; q < (j+1)*per; q++ {
		l1 += math.Abs(float64(x[q]) - float64(y[q]))
	}
	return l1 / float64(per)
}

// scoreImages are an 8-bit image's PSNR and SSIM against target.
func scoreImages(im, target *data.Image) (resultScores, error) {
	p, err := PSNR(im, target)
	if err != nil {
		return resultScores{}, err
	}
	s, err := SSIM(im, target)
	if err != nil {
		return resultScores{}, err
	}
	return resultScores{PSNR: p, SSIM: s}, nil
}

// cycleRole is the generator of all (the recipe's translations) that takes
// tr's outputs back to its inputs where the recipe translates both ways
// (CycleGAN: G_B for G_A, G_A for G_B); "" where tr is its only generator.
func cycleRole(all []gan.Translation, tr gan.Translation) string {
	if len(all) == 2 {
		for _, o := range all {
			if o.Role != tr.Role {
				return o.Role
			}
		}
	}
	return ""
}

// generatorHeading names tr's direction and generator, and the side of
// each pair it translates, for a recipe that translates in more than one
// direction (CycleGAN): "AtoB (G_A): each pair's A side translated, scored
// against its B side", as gogan eval classes heads its tables.
func generatorHeading(tr gan.Translation) string {
	from, to := "A", "B"
	if tr.PairDirection == "BtoA" {
		from, to = to, from
	}
	return fmt.Sprintf("%s (%s): each pair's %s side translated, scored against its %s side", tr.Direction, tr.Role, from, to)
}

// modeName is a generator mode's name in scores and file names: train or
// eval (BatchNorm's batch statistics, or its running ones).
func modeName(train bool) string {
	if train {
		return "train"
	}
	return "eval"
}
