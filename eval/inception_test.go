package eval

import (
	"context"
	"image"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	torch "gogan/cgo"
	"gogan/cgo/torchtest"

	"gogan/config"
	"gogan/infer"
	"gogan/runfolder"
	"gogan/trainer"
	"gonum.org/v1/gonum/mat"
)

// fidFolders makes two folders: a holds copies of facades files 1..na
// (512x256 JPEG), b of files na+1..na+nb and, when gray, three 40x40 gray
// images of another size (PIL's convert('RGB') of L images), two PNGs and
// a PGM.
func fidFolders(t *testing.T, na, nb int, gray bool) (a, b string) {
	t.Helper()
	root := torchtest.CopyFacades(t, map[string][]string{"a": torchtest.FacadesFiles(1, na), "b": torchtest.FacadesFiles(na+1, na+nb)})
	a, b = filepath.Join(root, "a"), filepath.Join(root, "b")
	for k := 0; gray && k < 3; k++ {
		im := image.NewGray(image.Rect(0, 0, 40, 40))
		for i := range im.Pix {
			im.Pix[i] = uint8((i*7 + k*50) % 256)
		}
		if k == 2 {
			pgm := append([]byte("P5\n40 40\n255\n"), im.Pix...)
			if err := os.WriteFile(filepath.Join(b, "gray2.pgm"), pgm, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		f, err := os.Create(filepath.Join(b, "gray"+strconv.Itoa(k)+".png"))
		if err != nil {
			t.Fatal(err)
		}
		png.Encode(f, im)
		f.Close()
	}
	return a, b
}

// referenceWeights writes random FID Inception weights with the reference
// script (legacy torch.save format unless zip).
func referenceWeights(t *testing.T, dir string, zip bool) string {
	t.Helper()
	w := filepath.Join(dir, "fid-inception-random.pth")
	args := []string{"../scripts/fid_reference.py", "make-weights", w, "--seed", "3"}
	if zip {
		args = append(args, "--zip")
	}
	if out, err := exec.Command(torchtest.Python(t), args...).CombinedOutput(); err != nil {
		t.Fatalf("fid_reference.py make-weights: %v\n%s", err, out)
	}
	return w
}

func referenceFID(t *testing.T, w string, dims int, p1, p2 string) float64 {
	t.Helper()
	out, err := exec.Command(torchtest.Python(t), "../scripts/fid_reference.py", "fid", p1, p2, "--weights", w, "--dims", strconv.Itoa(dims)).CombinedOutput()
	if err != nil {
		t.Fatalf("fid_reference.py fid: %v\n%s", err, out)
	}
	_, v, ok := strings.Cut(strings.TrimSpace(string(out)), "FID: ")
	f, err := strconv.ParseFloat(v, 64)
	if !ok || err != nil {
		t.Fatalf("fid_reference.py fid printed %q", out)
	}
	return f
}

// TestInceptionFeaturesArePytorchFIDs: gogan's FID Inception, on random
// weights written by the transcription of pytorch-fid (both torch.save
// formats), gives pytorch-fid's features at each of its four --dims for
// facades JPEGs and gray PNGs of another size (one image per batch there:
// pytorch-fid cannot stack images of two sizes; gogan's batches of 3 end
// where the size changes).
func TestInceptionFeaturesArePytorchFIDs(t *testing.T) {
	py := torchtest.Python(t)
	dir := t.TempDir()
	_, b := fidFolders(t, 0, 4, true)
	for _, zip := range []bool{false, true} {
		w := referenceWeights(t, filepath.Join(dir), zip)
		m, err := LoadInception(w, torch.CPUDevice)
		if err != nil {
			t.Fatal(err)
		}
		dimsList := InceptionDims
		if zip {
			dimsList = []int{2048}
		}
		for _, dims := range dimsList {
			ref := filepath.Join(dir, "ref.safetensors")
			if out, err := exec.Command(py, "../scripts/fid_reference.py", "features", b, "--weights", w, "--dims", strconv.Itoa(dims), "--batch-size", "1", "--out", ref).CombinedOutput(); err != nil {
				t.Fatalf("fid_reference.py features: %v\n%s", err, out)
			}
			want := loadFeatures(t, ref)
			set, err := openFIDPath(b)
			if err != nil {
				t.Fatal(err)
			}
			got, err := inceptionFeatures(m, set, InceptionFIDOptions{Dims: dims, BatchSize: 3})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) || len(got) != 7*dims {
				t.Fatalf("dims %d: %d features, want %d (7 images)", dims, len(got), len(want))
			}
			scale, diff := 0.0, 0.0
			for i := range want {
				scale = math.Max(scale, math.Abs(float64(want[i])))
				diff = math.Max(diff, math.Abs(float64(got[i]-want[i])))
			}
			t.Logf("zip %v, dims %d: max |diff| %.3g of max |feature| %.3g", zip, dims, diff, scale)
			if diff > 1e-5*scale {
				t.Errorf("zip %v, dims %d: features differ from pytorch-fid's by %.3g (max |feature| %.3g)", zip, dims, diff, scale)
			}
		}
		m.Free()
	}
}

func loadFeatures(t *testing.T, path string) []float32 {
	t.Helper()
	ts, _, err := torch.LoadSafetensors(path)
	if err != nil {
		t.Fatal(err)
	}
	defer torch.FreeNamed(ts)
	return ts[0].Tensor.Float32s()
}

// TestInceptionFIDIsPytorchFIDs: the FID of two folders at 64 and 192
// features (more images than features: scipy's sqrtm is well posed) is
// pytorch-fid's; statistics files written by each side, read by the other,
// give the same FID.
func TestInceptionFIDIsPytorchFIDs(t *testing.T) {
	py := torchtest.Python(t)
	dir := t.TempDir()
	a, b := fidFolders(t, 110, 100, false)
	w := referenceWeights(t, dir, false)
	for _, dims := range []int{64, 192} {
		res, err := InceptionFID(InceptionFIDOptions{Weights: w, Paths: []string{a, b}, Dims: dims, Device: "cpu"})
		if err != nil {
			t.Fatal(err)
		}
		want := referenceFID(t, w, dims, a, b)
		t.Logf("dims %d: gogan %.8f, pytorch-fid %.8f", dims, res.FID, want)
		if math.Abs(res.FID-want) > 1e-4*want {
			t.Errorf("dims %d: FID %.8f, pytorch-fid's %.8f", dims, res.FID, want)
		}
		if res.Published || res.Sets[0].N != 110 || res.Sets[1].N != 100 || !strings.Contains(res.String(), "not comparable") {
			t.Errorf("result %+v: %s", res, res)
		}
		if dims != 64 {
			continue
		}
		// gogan's statistics of a, read by pytorch-fid; pytorch-fid's of b, read by gogan.
		ours, theirs := filepath.Join(dir, "a.npz"), filepath.Join(dir, "b.npz")
		if _, err := InceptionFID(InceptionFIDOptions{Weights: w, Paths: []string{a}, SaveStats: ours, Dims: 64, Device: "cpu"}); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(py, "../scripts/fid_reference.py", "save-stats", b, theirs, "--weights", w, "--dims", "64").CombinedOutput(); err != nil {
			t.Fatalf("fid_reference.py save-stats: %v\n%s", err, out)
		}
		if got := referenceFID(t, w, 64, ours, b); math.Abs(got-want) > 1e-4*want {
			t.Errorf("pytorch-fid on gogan's statistics of a: %.8f, want %.8f", got, want)
		}
		res2, err := InceptionFID(InceptionFIDOptions{Weights: filepath.Join(dir, "absent.pth"), Paths: []string{ours, theirs}, Dims: 64})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(res2.FID-want) > 1e-4*want || res2.Weights != "" {
			t.Errorf("gogan on both statistics files (no weights needed): %.8f (weights %q), want %.8f", res2.FID, res2.Weights, want)
		}
		if _, err := InceptionFID(InceptionFIDOptions{Weights: w, Paths: []string{ours, b}, Dims: 192}); err == nil || !strings.Contains(err.Error(), "pass --dims 64") {
			t.Errorf("statistics of 64 features with --dims 192: %v", err)
		}
		eight := filepath.Join(dir, "eight.npz")
		sigma := mat.NewSymDense(8, nil)
		for i := range 8 {
			sigma.SetSym(i, i, 1)
		}
		if err := WriteStats(eight, Gaussian{Mu: make([]float64, 8), Sigma: sigma}); err != nil {
			t.Fatal(err)
		}
		if _, err := InceptionFID(InceptionFIDOptions{Weights: w, Paths: []string{eight, b}, Dims: 2048}); err == nil || !strings.Contains(err.Error(), "statistics of 8 features, which the FID Inception does not give") {
			t.Errorf("statistics of 8 features: %v", err)
		}
	}
}

// TestInceptionFIDOfACheckpointIsItsPNGs: a DCGAN's samples give the FID
// their PNG files give (gray images read as RGB, as PIL does), and bad
// input is refused with the reason.
func TestInceptionFIDOfACheckpointIsItsPNGs(t *testing.T) {
	dir := t.TempDir()
	w := referenceWeights(t, dir, false)
	_, real := fidFolders(t, 0, 30, false)
	cfg, err := config.LoadConfig("", []string{"recipe=dcgan", "model.ngf=8", "model.ndf=8", "data.image_size=32",
		"out=" + filepath.Join(dir, "run"), "device=cpu"})
	if err != nil {
		t.Fatal(err)
	}
	ckDir, _, err := trainer.Import(cfg, nil, trainer.ImportedAt{})
	if err != nil {
		t.Fatal(err)
	}
	pngs := filepath.Join(dir, "samples")
	os.MkdirAll(pngs, 0o755)
	ck, _, ckCfg, err := runfolder.OpenCheckpoint(ckDir)
	if err != nil {
		t.Fatal(err)
	}
	gen, err := infer.Generation(ck, ckCfg, "test")
	if err != nil {
		t.Fatal(err)
	}
	k := 0
	err = generateBatches(ck, ckCfg, gen, torch.CPUDevice, 70, 4, false, func(x []float32, shape []int64) error {
		per := int(shape[2] * shape[3])
		for i := 0; i < int(shape[0]); i++ {
			im := image.NewGray(image.Rect(0, 0, int(shape[3]), int(shape[2])))
			for p := 0; p < per; p++ {
				im.Pix[p] = uint8(math.Round((float64(x[i*per+p]) + 1) / 2 * 255))
			}
			f, err := os.Create(filepath.Join(pngs, strconv.Itoa(1000+k)+".png"))
			if err != nil {
				return err
			}
			png.Encode(f, im)
			f.Close()
			k++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	fromCk, err := InceptionFID(InceptionFIDOptions{Weights: w, Checkpoint: ckDir, Paths: []string{real}, Sampling: Sampling{Samples: 70, Seed: 4}, Dims: 64, Device: "cpu"})
	if err != nil {
		t.Fatal(err)
	}
	fromPNG, err := InceptionFID(InceptionFIDOptions{Weights: w, Paths: []string{pngs, real}, Dims: 64, Device: "cpu"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s\n%s", fromCk, fromPNG)
	if math.Abs(fromCk.FID-fromPNG.FID) > 1e-6*fromPNG.FID {
		t.Errorf("checkpoint's samples: FID %.8f; their PNGs: %.8f", fromCk.FID, fromPNG.FID)
	}

	empty := filepath.Join(dir, "empty")
	os.MkdirAll(empty, 0o755)
	notInception := filepath.Join(dir, "notinception.pth")
	if out, err := exec.Command(torchtest.Python(t), "-c", "import sys, torch; torch.save({'AuxLogits.fc.weight': torch.zeros(1000, 768)}, sys.argv[1]); torch.save({'conv.weight': torch.zeros(1)}, sys.argv[2])",
		filepath.Join(dir, "torchvision.pth"), notInception).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	hashed := filepath.Join(dir, "pt_inception-2015-12-05-6726825d.pth")
	raw, _ := os.ReadFile(w)
	os.WriteFile(hashed, raw, 0o644)
	for _, c := range []struct {
		o    InceptionFIDOptions
		want string
	}{
		{InceptionFIDOptions{Weights: filepath.Join(dir, "none.pth"), Paths: []string{real, real}}, "no such file; give --inception with pytorch-fid's pt_inception-2015-12-05-6726825d.pth"},
		{InceptionFIDOptions{Weights: filepath.Join(dir, "torchvision.pth"), Paths: []string{real, real}}, "torchvision's ImageNet Inception v3"},
		{InceptionFIDOptions{Weights: notInception, Paths: []string{real, real}}, "missing Conv2d_1a_3x3.conv.weight"},
		{InceptionFIDOptions{Weights: hashed, Paths: []string{real, real}}, "not the 6726825d… its name promises"},
		{InceptionFIDOptions{Weights: w, Paths: []string{empty, real}}, "holds 0 images"},
		{InceptionFIDOptions{Weights: w, Paths: []string{real}}, "give two sets"},
		{InceptionFIDOptions{Weights: w, Paths: []string{real, real}, Dims: 100}, "pytorch-fid offers [64 192 768 2048]"},
		{InceptionFIDOptions{Weights: w, Paths: []string{real}, SaveStats: filepath.Join(dir, "x.stats")}, "name it *.npz"},
		{InceptionFIDOptions{Weights: w, Paths: []string{filepath.Join(dir, "run", "config.yaml"), real}}, "neither a folder of images nor a .npz"},
	} {
		_, err := InceptionFID(c.o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.o, err, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x.stats")); err == nil {
		t.Error("a refused --save-stats left a file")
	}
}

// TestInceptionWeightsWithoutACache: with no home folder (HOME,
// XDG_CACHE_HOME and TORCH_HOME unset) there is no torch.hub cache to find
// the weights in, and the error says so, where it named an empty path.
func TestInceptionWeightsWithoutACache(t *testing.T) {
	for _, k := range []string{"TORCH_HOME", "XDG_CACHE_HOME", "HOME"} {
		t.Setenv(k, "")
	}
	_, err := LoadInception(DefaultInceptionWeights(), torch.CPUDevice)
	want := "torch.hub's cache (none: HOME, XDG_CACHE_HOME and TORCH_HOME are unset; set TORCH_HOME) holds no pt_inception-2015-12-05-6726825d.pth: give --inception"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want %q", err, want)
	}
}

// TestOneImageIsOneImage: a set of one image is refused as "1 image" (it
// said "1 images"), a folder of them and a --samples-file alike.
func TestOneImageIsOneImage(t *testing.T) {
	root := torchtest.CopyFacades(t, map[string][]string{"one": torchtest.FacadesFiles(1, 1), "two": torchtest.FacadesFiles(2, 3)})
	one := filepath.Join(root, "one")
	_, err := InceptionFID(InceptionFIDOptions{Weights: filepath.Join(root, "none.pth"), Paths: []string{one, filepath.Join(root, "two")}, Device: "cpu"})
	if want := one + " holds 1 image (*."; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("a folder of one image: %v, want %q", err, want)
	}
	f := filepath.Join(root, "one.safetensors")
	if err := torch.SaveSafetensors(f, []torch.Named{{Name: "images", Tensor: torch.Zeros(torch.Float32, torch.CPUDevice, 1, 1, 32, 32)}}, nil); err != nil {
		t.Fatal(err)
	}
	_, err = FID(context.Background(), FIDOptions{Classifier: filepath.Join(root, "none.safetensors"), SamplesFile: f, Device: "cpu", Threads: 1})
	if want := f + " holds 1 image: need at least 2"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("a samples file of one image: %v, want %q", err, want)
	}
}
