package eval

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	torch "gogan/cgo"
	"gogan/cgo/torchtest"
	"gogan/config"
	"gogan/data"
	_ "gogan/gan/all"
	"gogan/runfolder"
	"gogan/trainer"

	"gonum.org/v1/gonum/mat"
)

// evalReference runs scripts/eval_reference.py MODE on tensors saved to a
// safetensors file and decodes its JSON answer into out.
func evalReference(t *testing.T, mode string, tensors []torch.Named, out any) {
	t.Helper()
	py := torchtest.Python(t)
	if msg, err := exec.Command(py, "-c", "import scipy").CombinedOutput(); err != nil {
		t.Fatalf("%s has no scipy (Debian python3-scipy: run make setup): %s", py, msg)
	}
	in := filepath.Join(t.TempDir(), "in.safetensors")
	if err := torch.SaveSafetensors(in, tensors, nil); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "../scripts/eval_reference.py", mode, in)
	b, err := cmd.Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("eval_reference.py %s: %v\n%s", mode, err, msg)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("eval_reference.py %s: %v: %s", mode, err, b)
	}
}

// correlatedFeatures are n d-dimensional vectors x = A z + mu with z standard
// normal: a full, non-diagonal covariance.
func correlatedFeatures(r *rand.Rand, n, d int, shift float64) []float64 {
	a := make([]float64, d*d)
	for i := range a {
		a[i] = r.NormFloat64() / math.Sqrt(float64(d))
	}
	out := make([]float64, n*d)
	z := make([]float64, d)
	for i := 0; i < n; i++ {
		for j := range z {
			z[j] = r.NormFloat64()
		}
		for j := 0; j < d; j++ {
			s := shift * float64(j%3)
			for k := 0; k < d; k++ {
				s += a[j*d+k] * z[k]
			}
			out[i*d+j] = s
		}
	}
	return out
}

func float64Tensor(v []float64, shape ...int64) *torch.Tensor {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		u := math.Float64bits(x)
		for k := 0; k < 8; k++ {
			b[8*i+k] = byte(u >> (8 * k))
		}
	}
	return torch.FromBytes(b, torch.Float64, torch.CPUDevice, shape...)
}

func toFloat32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// TestFrechetDistanceMatchesScipy: the same features (rounded to float32, as
// the classifier's are) give the Fréchet distance of pytorch-fid's formula
// with scipy.linalg.sqrtm.
func TestFrechetDistanceMatchesScipy(t *testing.T) {
	torch.LockThread()
	r := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct{ n1, n2, d int }{{500, 400, 16}, {600, 700, 64}, {1000, 900, 128}} {
		a := toFloat32(correlatedFeatures(r, c.n1, c.d, 0))
		b := toFloat32(correlatedFeatures(r, c.n2, c.d, 0.3))
		ga, err := FitGaussian(a, c.d)
		if err != nil {
			t.Fatal(err)
		}
		gb, err := FitGaussian(b, c.d)
		if err != nil {
			t.Fatal(err)
		}
		got, err := FrechetDistance(ga, gb)
		if err != nil {
			t.Fatal(err)
		}
		a64, b64 := make([]float64, len(a)), make([]float64, len(b))
		for i, v := range a {
			a64[i] = float64(v)
		}
		for i, v := range b {
			b64[i] = float64(v)
		}
		var ref struct {
			FD float64 `json:"fd"`
		}
		s := torch.NewScope()
		evalReference(t, "fd", []torch.Named{{Name: "a", Tensor: float64Tensor(a64, int64(c.n1), int64(c.d))},
			{Name: "b", Tensor: float64Tensor(b64, int64(c.n2), int64(c.d))}}, &ref)
		s.Close()
		if math.Abs(got-ref.FD) > 1e-7*math.Abs(ref.FD)+1e-9 {
			t.Errorf("n %d/%d, d %d: FD %.12g, scipy %.12g", c.n1, c.n2, c.d, got, ref.FD)
		} else {
			t.Logf("n %d/%d, d %d: FD %.10g, scipy %.10g", c.n1, c.n2, c.d, got, ref.FD)
		}
	}
}

// TestFrechetDistanceClosedForm: for diagonal covariances FD is
// sum (mu1-mu2)^2 + sum (s1-s2)^2 (s the standard deviations); a set against
// itself gives 0; rank-deficient covariances (fewer vectors than dimensions)
// work.
func TestFrechetDistanceClosedForm(t *testing.T) {
	diag := func(mu, sd []float64) Gaussian {
		g := Gaussian{Mu: mu, N: 100}
		d := len(mu)
		g.Sigma = mat.NewSymDense(d, nil)
		for i, s := range sd {
			g.Sigma.SetSym(i, i, s*s)
		}
		return g
	}
	a := diag([]float64{0, 1, 2}, []float64{1, 2, 3})
	b := diag([]float64{1, 1, 0}, []float64{2, 2, 0.5})
	got, err := FrechetDistance(a, b)
	if err != nil {
		t.Fatal(err)
	}
	want := 1.0 + 0 + 4 + 1 + 0 + 2.5*2.5
	if math.Abs(got-want) > 1e-9 {
		t.Errorf("diagonal: FD %g, want %g", got, want)
	}
	r := rand.New(rand.NewPCG(3, 4))
	x := toFloat32(correlatedFeatures(r, 40, 64, 0)) // rank 39 < 64
	g, err := FitGaussian(x, 64)
	if err != nil {
		t.Fatal(err)
	}
	// The zero eigenvalues come out of the eigendecomposition as about +-1e-15,
	// whose square roots add up to about 1e-6 here: 0 to 1e-7 of the trace.
	if d, err := FrechetDistance(g, g); err != nil || math.Abs(d) > 1e-7*mat.Trace(g.Sigma) {
		t.Errorf("a rank-deficient set against itself: FD %g, %v; want 0 (trace %g)", d, err, mat.Trace(g.Sigma))
	}
	if _, err := FitGaussian(x[:64], 64); err == nil || !strings.Contains(err.Error(), "at least 2") {
		t.Errorf("one vector: %v; want an error asking for 2", err)
	}
}

// TestPSNRAndSSIMMatchReference compares PSNR and SSIM on 8-bit images, gray
// and colour, square and not, with scipy's Gaussian filter implementation of
// Wang et al.'s SSIM (and skimage's, where installed).
func TestPSNRAndSSIMMatchReference(t *testing.T) {
	torch.LockThread()
	r := rand.New(rand.NewPCG(5, 6))
	type pair struct{ x, y *data.Image }
	smooth := func(w, h, c int) *data.Image {
		im := data.NewImage(w, h, c)
		fx, fy := 0.1+0.3*r.Float64(), 0.1+0.3*r.Float64()
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				for k := 0; k < c; k++ {
					v := 128 + 100*math.Sin(fx*float64(x)+float64(k))*math.Cos(fy*float64(y))
					im.Pix[(y*w+x)*c+k] = uint8(v)
				}
			}
		}
		return im
	}
	noisy := func(im *data.Image, sd float64) *data.Image {
		out := data.NewImage(im.W, im.H, im.C)
		for i, v := range im.Pix {
			out.Pix[i] = uint8(max(0, min(255, math.Round(float64(v)+sd*r.NormFloat64()))))
		}
		return out
	}
	for _, g := range []struct{ w, h, c, k int }{{32, 32, 1, 4}, {40, 27, 3, 3}} {
		var ps []pair
		for i := 0; i < g.k; i++ {
			x := smooth(g.w, g.h, g.c)
			ps = append(ps, pair{x, noisy(x, []float64{2, 10, 40, 90}[i%4])})
		}
		n := int64(len(ps))
		xs, ys := make([]uint8, 0, int(n)*g.w*g.h*g.c), make([]uint8, 0, int(n)*g.w*g.h*g.c)
		for _, p := range ps {
			xs, ys = append(xs, p.x.Pix...), append(ys, p.y.Pix...)
		}
		var ref struct {
			PSNR        []float64 `json:"psnr"`
			SSIM        []float64 `json:"ssim"`
			SkimagePSNR []float64 `json:"skimage_psnr"`
			SkimageSSIM []float64 `json:"skimage_ssim"`
		}
		s := torch.NewScope()
		shape := []int64{n, int64(g.h), int64(g.w), int64(g.c)}
		evalReference(t, "images", []torch.Named{{Name: "x", Tensor: torch.FromUint8(xs, shape...)},
			{Name: "y", Tensor: torch.FromUint8(ys, shape...)}}, &ref)
		s.Close()
		for i, p := range ps {
			psnr, err := PSNR(p.x, p.y)
			if err != nil {
				t.Fatal(err)
			}
			ssim, err := SSIM(p.x, p.y)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(psnr-ref.PSNR[i]) > 1e-9 {
				t.Errorf("%dx%dx%d pair %d: PSNR %.12g, reference %.12g", g.w, g.h, g.c, i, psnr, ref.PSNR[i])
			}
			if math.Abs(ssim-ref.SSIM[i]) > 1e-9 {
				t.Errorf("%dx%dx%d pair %d: SSIM %.12g, reference %.12g", g.w, g.h, g.c, i, ssim, ref.SSIM[i])
			}
			if ref.SkimageSSIM != nil && (math.Abs(ssim-ref.SkimageSSIM[i]) > 1e-9 || math.Abs(psnr-ref.SkimagePSNR[i]) > 1e-9) {
				t.Errorf("%dx%dx%d pair %d: SSIM %.12g PSNR %.12g, skimage %.12g %.12g", g.w, g.h, g.c, i, ssim, psnr,
					ref.SkimageSSIM[i], ref.SkimagePSNR[i])
			}
			t.Logf("%dx%dx%d pair %d: PSNR %.6f SSIM %.6f (skimage checked: %v)", g.w, g.h, g.c, i, psnr, ssim, ref.SkimageSSIM != nil)
		}
	}
	x := smooth(16, 16, 1)
	if p, _ := PSNR(x, x); p != maxPSNR {
		t.Errorf("identical images: PSNR %g, want %g", p, maxPSNR)
	}
	if s, _ := SSIM(x, x); math.Abs(s-1) > 1e-12 {
		t.Errorf("identical images: SSIM %g, want 1", s)
	}
	if _, err := SSIM(x, smooth(16, 15, 1)); err == nil || !strings.Contains(err.Error(), "differ in size") {
		t.Errorf("different sizes: %v", err)
	}
	if _, err := SSIM(smooth(10, 16, 1), smooth(10, 16, 1)); err == nil || !strings.Contains(err.Error(), "smaller than the 11x11 window") {
		t.Errorf("10 pixels wide: %v", err)
	}
}

// evalCheckpoint writes a step-0 checkpoint (gogan-initialised, untrained
// networks) of a config and returns its folder.
func evalCheckpoint(t *testing.T, sets ...string) string {
	t.Helper()
	cfg, err := config.LoadConfig("", append(sets, "out="+filepath.Join(t.TempDir(), "run"), "device=cpu"))
	if err != nil {
		t.Fatal(err)
	}
	ck, _, err := trainer.Import(cfg, nil, trainer.ImportedAt{})
	if err != nil {
		t.Fatal(err)
	}
	return ck
}

var (
	dcgan32Sets  = []string{"recipe=dcgan", "model.ngf=8", "model.ndf=8", "data.image_size=32", "data.channels=1"}
	pix2pixSets  = []string{"recipe=pix2pix", "data.dataset=edges", "data.root=" + data.DefaultFashionRoot, "model.input_nc=1", "model.output_nc=1", "model.netG=resnet_6blocks", "model.ngf=8", "model.netD=n_layers", "model.n_layers_D=2", "model.ndf=8", "data.load_size=32", "data.crop_size=32"}
	cycleganSets = []string{"recipe=cyclegan", "data.root=" + data.DefaultFashionRoot, "data.classes_A=sneaker", "data.classes_B=ankle-boot",
		"model.input_nc=1", "model.output_nc=1", "model.netG=resnet_6blocks", "model.ngf=8", "model.netD=n_layers", "model.n_layers_D=2", "model.ndf=8",
		"data.load_size=32", "data.crop_size=32"}
	classifierOK = ClassifierOptions{MaxSamples: 3000, Epochs: 2, BatchSize: 64, TestLimit: 1000, Device: "cpu", Threads: 1, Quiet: true}
)

// TestClassifierIsReplacedOnlyWithForce: a second gogan eval classifier
// onto the same --out is refused before it trains, the first classifier's
// bytes kept (FIDs measured on it compare only with FIDs on it); --force
// replaces it.
func TestClassifierIsReplacedOnlyWithForce(t *testing.T) {
	ctx := context.Background()
	clf := filepath.Join(t.TempDir(), "clf.safetensors")
	o := ClassifierOptions{MaxSteps: 2, MaxSamples: 256, BatchSize: 64, TestLimit: 64, Device: "cpu", Threads: 1, Quiet: true}
	if _, err := TrainClassifier(ctx, o, clf); err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(clf)
	o.Seed = 2
	res, err := TrainClassifier(ctx, o, clf)
	if err == nil || !strings.Contains(err.Error(), "--out "+clf+" exists") || !strings.Contains(err.Error(), "--force") || res != nil {
		t.Errorf("a second classifier onto %s: %v, want a refusal naming --force", clf, err)
	}
	if b, _ := os.ReadFile(clf); !bytes.Equal(b, first) {
		t.Errorf("the refused run changed %s", clf)
	}
	o.Force = true
	if _, err := TrainClassifier(ctx, o, clf); err != nil {
		t.Fatalf("--force: %v", err)
	}
	if b, _ := os.ReadFile(clf); bytes.Equal(b, first) {
		t.Errorf("--force left %s as it was (seed 2 trains other weights)", clf)
	}
}

// TestClassifierAndEvalCommands trains the classifier briefly on a subset
// (it must beat chance by far), round-trips it through its file, and runs
// FID and the pix2pix scores end to end on untrained checkpoints, including
// the errors a user meets.
func TestClassifierAndEvalCommands(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clf := filepath.Join(dir, "clf.safetensors")
	res, err := TrainClassifier(ctx, classifierOK, clf)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("classifier on 3000 images, %d steps: test accuracy %.3f on %d images, %s", res.Steps, res.TestAccuracy, res.TestImages, res.TrainDuration)
	if res.TestAccuracy < 0.6 {
		t.Errorf("classifier test accuracy %.3f after %d steps on 3000 images: want at least 0.6", res.TestAccuracy, res.Steps)
	}

	torch.LockThread()
	c, err := LoadClassifier(clf, torch.CPUDevice)
	if err != nil {
		t.Fatal(err)
	}
	acc, n, err := c.Accuracy(ctx, data.DefaultFashionRoot, 1000)
	c.Free()
	if err != nil || n != 1000 || acc != res.TestAccuracy {
		t.Errorf("reloaded classifier: accuracy %v on %d images (%v); saved %v", acc, n, err, res.TestAccuracy)
	}

	dc32 := evalCheckpoint(t, dcgan32Sets...)
	p2p := evalCheckpoint(t, pix2pixSets...)
	r, err := FID(ctx, FIDOptions{Classifier: clf, Checkpoint: dc32, Sampling: Sampling{Samples: 256}, Device: "cpu", Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !(r.FID > 0) || r.Generated != 256 || r.Reference != 10000 {
		t.Errorf("FID of an untrained DCGAN: %+v", r)
	}
	if want := fmt.Sprintf("%.2f %%", 100*res.TestAccuracy); r.ClassifierAccuracy != want {
		t.Errorf("FID's classifier accuracy %q, want %q as eval classifier printed it", r.ClassifierAccuracy, want)
	}
	floor, err := FID(ctx, FIDOptions{Classifier: clf, RealTrain: true, Sampling: Sampling{Samples: 2000}, Device: "cpu", Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !(floor.FID < r.FID) {
		t.Errorf("FID of real training images %g is not below an untrained DCGAN's %g", floor.FID, r.FID)
	}
	t.Logf("FID: untrained DCGAN %.3f, real train images %.3f", r.FID, floor.FID)

	results := filepath.Join(t.TempDir(), "results")
	ev, err := EvalPix2Pix(ctx, Pix2PixEvalOptions{Checkpoint: p2p, Limit: 20, Device: "cpu", Threads: 1, Out: results})
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Generators) != 1 || ev.Generators[0].Heading != "" {
		t.Fatalf("a pix2pix scored as %d generators: %+v", len(ev.Generators), ev.Generators)
	}
	scores := ev.Generators[0].Scores
	if len(scores) != 2 || scores[0].Mode != "train" || scores[1].N != 20 {
		t.Fatalf("pix2pix scores: %+v", scores)
	}
	for _, s := range scores {
		if !(s.L1 > 0 && s.L1 < 2 && s.PSNR > 0 && s.PSNR < maxPSNR && s.SSIM > -1 && s.SSIM < 1) {
			t.Errorf("pix2pix scores out of range: %+v", s)
		}
	}
	t.Logf("%s", ev)
	checkResultsPage(t, results, ev, 20)
	// --mode both's eval row is --mode eval's: the train-mode pass before it
	// must not leave its BatchNorm statistics in G
	alone, err := EvalPix2Pix(ctx, Pix2PixEvalOptions{Checkpoint: p2p, Limit: 20, Device: "cpu", Threads: 1, Mode: "eval"})
	if err != nil {
		t.Fatal(err)
	}
	if len(alone.Generators) != 1 || len(alone.Generators[0].Scores) != 1 || alone.Generators[0].Scores[0] != scores[1] {
		t.Errorf("eval mode alone %+v, after train mode %+v", alone.Generators, scores[1])
	}
	// stopped (a signal cancels the context) before the first batch: nothing left
	stopped, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := EvalPix2Pix(stopped, Pix2PixEvalOptions{Checkpoint: p2p, Limit: 2, Device: "cpu", Threads: 1, Out: filepath.Join(filepath.Dir(results), "stopped", "res")}); err == nil {
		t.Error("a cancelled eval succeeded")
	}
	if ents, _ := os.ReadDir(filepath.Dir(results)); len(ents) != 1 {
		t.Errorf("a cancelled eval left %v beside the results", ents)
	}
	if _, err := EvalPix2Pix(ctx, Pix2PixEvalOptions{Checkpoint: p2p, Limit: 2, Device: "cpu", Threads: 1, Out: results}); err == nil || !strings.Contains(err.Error(), "holds files already") {
		t.Errorf("--out of an earlier evaluation: %v, want it refused", err)
	}

	// CycleGAN between two classes: an untrained G_A and the two baselines.
	cg := evalCheckpoint(t, cycleganSets...)
	// With no --direction both generators are scored, G_A's first.
	both, err := Classes(ctx, ClassesOptions{Classifier: clf, Checkpoint: cg, Device: "cpu", Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(both) != 2 {
		t.Fatalf("classes eval without a direction: %d tables, want G_A's and G_B's", len(both))
	}
	ce := both[0]
	t.Logf("%s", ce)
	if ce.Source != "sneaker" || ce.Target != "ankle-boot" || ce.Role != "G_A" || len(ce.Rows) != 4 {
		t.Fatalf("classes eval: %+v", ce)
	}
	src, gA, floorRow, ref := ce.Rows[0], ce.Rows[1], ce.Rows[2], ce.Rows[3]
	// The test split has 1000 images of each class; the training split 6000.
	if src.N != 1000 || gA.N != 1000 || floorRow.N != 6000 || ref.N != 1000 {
		t.Errorf("image counts: %d source, %d translated, %d floor, %d reference", src.N, gA.N, floorRow.N, ref.N)
	}
	if !(src.InTarget < 0.3 && floorRow.InTarget > 0.6 && ref.InTarget > 0.6) {
		t.Errorf("classifier: %.2f of sneakers, %.2f of training boots, %.2f of test boots called boots", src.InTarget, floorRow.InTarget, ref.InTarget)
	}
	if !(floorRow.FID < src.FID && floorRow.FID < gA.FID) {
		t.Errorf("FID to test boots: training boots %.3f must be below sneakers %.3f and an untrained G_A's output %.3f", floorRow.FID, src.FID, gA.FID)
	}
	back := both[1]
	if back.Source != "ankle-boot" || back.Target != "sneaker" || back.Role != "G_B" || back.Rows[1].Images != "G_B(source test images)" {
		t.Errorf("classes eval, the second table: %+v", back)
	}
	btoa, err := Classes(ctx, ClassesOptions{Classifier: clf, Checkpoint: cg, Direction: "BtoA", Device: "cpu", Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	sameRow := func(a, b ClassesRow) bool {
		return a.Images == b.Images && a.N == b.N && a.InTarget == b.InTarget && (a.FID == b.FID || math.IsNaN(a.FID) && math.IsNaN(b.FID))
	}
	if len(btoa) != 1 || !slices.EqualFunc(btoa[0].Rows, back.Rows, sameRow) {
		t.Errorf("classes eval BtoA alone: %+v, after AtoB: %+v", btoa, back)
	}

	for _, e := range []struct {
		name string
		err  func() error
		want []string
	}{
		{"classes eval of a pix2pix checkpoint", func() error {
			_, err := Classes(ctx, ClassesOptions{Classifier: clf, Checkpoint: p2p, Device: "cpu", Threads: 1})
			return err
		}, []string{"recipe pix2pix", "did not learn between classes"}},
		{"classes eval at 64 px", func() error {
			ck := evalCheckpoint(t, append(slices.Clone(cycleganSets), "data.load_size=64", "data.crop_size=64")...)
			_, err := Classes(ctx, ClassesOptions{Classifier: clf, Checkpoint: ck, Device: "cpu", Threads: 1})
			return err
		}, []string{"data.crop_size 64", "1x32x32"}},
		{"pairs eval of a classes checkpoint", func() error {
			_, err := EvalPix2Pix(ctx, Pix2PixEvalOptions{Checkpoint: cg, Device: "cpu", Threads: 1})
			return err
		}, []string{"classes", "no pairs", "gogan eval classes"}},
		{"fid of a pix2pix checkpoint", func() error {
			_, err := FID(ctx, FIDOptions{Classifier: clf, Checkpoint: p2p, Device: "cpu", Threads: 1})
			return err
		}, []string{p2p, "is a pix2pix run", "needs a DCGAN checkpoint", "gogan eval pix2pix"}},
		{"missing classifier", func() error {
			_, err := FID(ctx, FIDOptions{Classifier: filepath.Join(dir, "nope.safetensors"), Checkpoint: dc32, Device: "cpu", Threads: 1})
			return err
		}, []string{"nope.safetensors: no such file", "gogan eval classifier --out"}},
		{"not a classifier", func() error {
			_, err := FID(ctx, FIDOptions{Classifier: filepath.Join(dc32, runfolder.WeightsFile), Checkpoint: dc32, Device: "cpu", Threads: 1})
			return err
		}, []string{runfolder.WeightsFile, "not a gogan eval classifier", "gogan eval classifier --out"}},
		{"64x64 dcgan", func() error {
			ck := evalCheckpoint(t, "recipe=dcgan", "model.ngf=4", "model.ndf=4", "data.image_size=64")
			_, err := FID(ctx, FIDOptions{Classifier: clf, Checkpoint: ck, Device: "cpu", Threads: 1})
			return err
		}, []string{"data.image_size 64", "1x32x32"}},
		{"no source", func() error {
			_, err := FID(ctx, FIDOptions{Classifier: clf, Device: "cpu", Threads: 1})
			return err
		}, []string{"exactly one of --checkpoint", "--samples-file"}},
		{"samples file of the wrong shape", func() error {
			f := filepath.Join(dir, "bad.safetensors")
			if err := torch.SaveSafetensors(f, []torch.Named{{Name: "images", Tensor: torch.Zeros(torch.Float32, torch.CPUDevice, 4, 3, 32, 32)}}, nil); err != nil {
				return err
			}
			_, err := FID(ctx, FIDOptions{Classifier: clf, SamplesFile: f, Device: "cpu", Threads: 1})
			return err
		}, []string{"bad.safetensors", "[4 3 32 32]", "need [N 1 32 32]"}},
		{"pix2pix eval of a dcgan checkpoint", func() error {
			_, err := EvalPix2Pix(ctx, Pix2PixEvalOptions{Checkpoint: dc32, Device: "cpu", Threads: 1})
			return err
		}, []string{"is a dcgan run", "runs image-to-image generators", "use gogan eval fid"}},
		{"skip past the end", func() error {
			_, err := EvalPix2Pix(ctx, Pix2PixEvalOptions{Checkpoint: p2p, Skip: 10000, Device: "cpu", Threads: 1})
			return err
		}, []string{"--skip 10000 leaves no pairs", "has 10000"}},
	} {
		err := e.err()
		if err == nil {
			t.Errorf("%s: no error", e.name)
			continue
		}
		for _, w := range e.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", e.name, err, w)
			}
		}
	}
}

// TestFitGaussianInChunks: 9000 vectors (three chunks of rows) give the
// mean and covariance of a direct float64 sum.
func TestFitGaussianInChunks(t *testing.T) {
	const n, d = 9000, 4
	feats := make([]float32, n*d)
	for i := range feats {
		feats[i] = float32(math.Sin(float64(i)*0.37)*3 + float64(i%d))
	}
	g, err := FitGaussian(feats, d)
	if err != nil {
		t.Fatal(err)
	}
	for a := 0; a < d; a++ {
		for b := 0; b < d; b++ {
			var s float64
			for i := 0; i < n; i++ {
				s += (float64(feats[i*d+a]) - g.Mu[a]) * (float64(feats[i*d+b]) - g.Mu[b])
			}
			if want := s / (n - 1); math.Abs(g.Sigma.At(a, b)-want) > 1e-12*math.Max(1, math.Abs(want)) {
				t.Errorf("sigma[%d][%d] = %v, want %v", a, b, g.Sigma.At(a, b), want)
			}
		}
	}
}

// checkResultsPage: the folder holds every pair's input, output of each
// mode and target, the outputs are the images scored (their PSNR and SSIM
// against the written targets average to the scores), and index.html
// shows each of them.
func checkResultsPage(t *testing.T, dir string, ev *Pix2PixEval, pairs int) {
	t.Helper()
	page, err := os.ReadFile(filepath.Join(dir, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(filepath.Dir(dir)); len(ents) != 1 {
		t.Errorf("beside the results: %v, want the folder alone (no temporary one left)", ents)
	}
	scores := ev.Generators[0].Scores
	for _, sc := range scores {
		fakeName := "fake_B.png" // one mode: test.py's name
		if len(scores) > 1 {
			fakeName = "fake_B_" + sc.Mode + ".png"
		}
		var psnr, ssim float64
		for i := range pairs {
			stem := fmt.Sprintf("images/pair%05d_", i)
			for _, f := range []string{stem + "real_A.png", stem + "real_B.png", stem + fakeName} {
				if !strings.Contains(string(page), `src="`+f+`"`) {
					t.Errorf("index.html does not show %s", f)
				}
			}
			fake, err := data.LoadImage(filepath.Join(dir, stem+fakeName), 1)
			if err != nil {
				t.Fatal(err)
			}
			real, err := data.LoadImage(filepath.Join(dir, stem+"real_B.png"), 1)
			if err != nil {
				t.Fatal(err)
			}
			p, err1 := PSNR(fake, real)
			s, err2 := SSIM(fake, real)
			if err1 != nil || err2 != nil {
				t.Fatal(err1, err2)
			}
			psnr, ssim = psnr+p, ssim+s
		}
		psnr, ssim = psnr/float64(pairs), ssim/float64(pairs)
		if math.Abs(psnr-sc.PSNR) > 1e-9 || math.Abs(ssim-sc.SSIM) > 1e-9 {
			t.Errorf("%s mode: the written images score PSNR %.6f SSIM %.6f, the evaluation %.6f %.6f", sc.Mode, psnr, ssim, sc.PSNR, sc.SSIM)
		}
	}
	if n := strings.Count(string(page), "<tr><td>pair"); n != pairs {
		t.Errorf("index.html has %d pair rows, want %d", n, pairs)
	}
}

// TestPhaseDomainsSaysWhatEachFolderHolds: eval pix2pix's note on a
// CycleGAN root's testA/ and testB/ names, of each, whether it is missing
// or holds no images (translate refuses both), whichever of the two it is:
// each of the eight ways they can fall short reads as it is on disk.
func TestPhaseDomainsSaysWhatEachFolderHolds(t *testing.T) {
	for _, c := range []struct{ a, b, want string }{ // of testA/, testB/: "" none, "empty", "images"
		{"", "", "has neither testA/ nor testB/"},
		{"empty", "empty", "has testA/ and testB/, but neither holds images"},
		{"images", "", "has testA/ but no testB/"},
		{"", "images", "has testB/ but no testA/"},
		{"images", "empty", "has testA/, but testB/ holds no images"},
		{"empty", "images", "has testB/, but testA/ holds no images"},
		{"empty", "", "has no testB/, and testA/ holds no images"},
		{"", "empty", "has no testA/, and testB/ holds no images"},
	} {
		root := t.TempDir()
		for d, holds := range map[string]string{"testA": c.a, "testB": c.b} {
			if holds != "" {
				os.Mkdir(filepath.Join(root, d), 0o755)
			}
			if holds == "images" {
				os.WriteFile(filepath.Join(root, d, "0.png"), nil, 0o644) // listed by its name
			}
		}
		if got := phaseDomains(root, "test"); got != c.want {
			t.Errorf("testA/ %q, testB/ %q: %q, want %q", c.a, c.b, got, c.want)
		}
	}
}
