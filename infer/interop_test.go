package infer

import (
	"cmp"
	"encoding/json"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	torch "gogan/cgo"
	"gogan/cgo/torchtest"
	"gogan/config"
	"gogan/gan"
	_ "gogan/gan/all"
	"gogan/report"
	"gogan/runfolder"
	"gogan/trainer"
)

// interopCase trains nothing: it builds a run's config and checks that a
// generator's images agree between gogan and the reference network.
type interopCase struct {
	name  string
	sets  []string
	input func() *torch.Tensor
	role  string // the generator's role; "" is "G"
	// oldNorm is what Import's note says of the norm layers of a file
	// saved by PyTorch 0.3: "InstanceNorm" or "BatchNorm" ("": none).
	oldNorm string
}

func interopCases() []interopCase {
	cases := []interopCase{
		{"dcgan32", []string{"recipe=dcgan", "model.ngf=16", "model.ndf=16", "data.image_size=32"},
			func() *torch.Tensor { return torch.Randn(torch.Float32, torch.CPUDevice, 6, 100, 1, 1) }, "", "BatchNorm"},
		{"dcgan64", []string{"recipe=dcgan", "model.ngf=8", "model.ndf=8", "data.image_size=64"},
			func() *torch.Tensor { return torch.Randn(torch.Float32, torch.CPUDevice, 4, 100, 1, 1) }, "", "BatchNorm"},
		{"pix2pix_resnet", []string{"recipe=pix2pix", "data.dataset=edges", "data.root=/usr/share/datasets/fashion-mnist",
			"model.input_nc=1", "model.output_nc=1", "model.netG=resnet_6blocks", "model.ngf=8", "data.load_size=32", "data.crop_size=32"},
			func() *torch.Tensor {
				return torch.Rand(torch.Float32, torch.CPUDevice, 2, 1, 32, 32).MulScalar(2).SubScalar(1)
			}, "", "BatchNorm"},
		{"pix2pix_unet128", []string{"recipe=pix2pix", "data.dataset=edges", "data.root=/usr/share/datasets/fashion-mnist",
			"model.input_nc=1", "model.output_nc=3", "model.netG=unet_128", "model.ngf=8", "data.load_size=128", "data.crop_size=128"},
			func() *torch.Tensor {
				return torch.Rand(torch.Float32, torch.CPUDevice, 1, 1, 128, 128).MulScalar(2).SubScalar(1)
			}, "", "BatchNorm"},
	}
	// CycleGAN's two generators (latest_net_G_A.pth, latest_net_G_B.pth),
	// gray A and colour B so that each role has its own shapes.
	for _, c := range []struct {
		role string
		nc   int64
	}{{"G_A", 1}, {"G_B", 3}} {
		cases = append(cases, interopCase{"cyclegan_" + c.role, []string{"recipe=cyclegan", "data.root=/tmp", "model.input_nc=1", "model.output_nc=3",
			"train.lambda_identity=0", "model.netG=resnet_6blocks", "model.ngf=8", "data.load_size=32", "data.crop_size=32"},
			func() *torch.Tensor {
				return torch.Rand(torch.Float32, torch.CPUDevice, 2, c.nc, 32, 32).MulScalar(2).SubScalar(1)
			}, c.role, "InstanceNorm"})
	}
	return cases
}

func maxAbsDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}

// TestCheckpointsMoveToAndFromPyTorch: (1) a gogan checkpoint's generator,
// loaded into the reference PyTorch network with strict=True, gives the
// images gogan gives; (2) a reference generator saved with torch.save and
// brought in with Import gives the images PyTorch gives. Eval mode, same
// inputs, to 1e-5.
func TestCheckpointsMoveToAndFromPyTorch(t *testing.T) {
	py := torchtest.Python(t)
	torch.LockThread()
	for _, c := range interopCases() {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg, err := config.LoadConfig("", append(c.sets, "out="+filepath.Join(dir, "run"), "device=cpu", "threads=1"))
			if err != nil {
				t.Fatal(err)
			}
			s := torch.NewScope()
			defer s.Close()
			torch.ManualSeed(3)
			x := c.input()
			in := filepath.Join(dir, "x.safetensors")
			if err := torch.SaveSafetensors(in, []torch.Named{{Name: "x", Tensor: x}}, nil); err != nil {
				t.Fatal(err)
			}
			role := cmp.Or(c.role, "G")
			spec, err := gan.NetSpecOf(cfg, role)
			if err != nil {
				t.Fatal(err)
			}
			opts, _ := json.Marshal(spec.Options.WithDefaults())
			optsPath := filepath.Join(dir, "opts.json")
			os.WriteFile(optsPath, opts, 0o644)

			// gogan -> PyTorch: a step-0 checkpoint of gogan-initialised nets.
			ck, _, err := trainer.Import(cfg, nil, trainer.ImportedAt{})
			if err != nil {
				t.Fatal(err)
			}
			gogan := generate(t, ck, role, x)
			out := filepath.Join(dir, "torch.safetensors")
			if msg, err := exec.Command(py, "../scripts/interop_check.py", "forward", optsPath,
				filepath.Join(ck, runfolder.WeightsFile), in, out, role).CombinedOutput(); err != nil {
				t.Fatalf("PyTorch forward: %v\n%s", err, msg)
			}
			if d := maxAbsDiff(gogan, loadY(t, out)); d > 1e-5 {
				t.Errorf("gogan checkpoint in PyTorch: images differ by %g", d)
			}

			// PyTorch -> gogan: torch.save'd state_dict through Import, as
			// PyTorch saves it now and as PyTorch 0.3 saved the references'
			// published models.
			for _, mode := range []string{"save", "save-old"} {
				pth := filepath.Join(dir, mode+".pth")
				ref := filepath.Join(dir, mode+".safetensors")
				if msg, err := exec.Command(py, "../scripts/interop_check.py", mode, optsPath, "7", pth, in, ref).CombinedOutput(); err != nil {
					t.Fatalf("PyTorch %s: %v\n%s", mode, err, msg)
				}
				cfg.Out = filepath.Join(dir, "imported-"+mode)
				ck2, notes, err := trainer.Import(cfg, map[string]string{role: pth}, trainer.ImportedAt{})
				if err != nil {
					t.Fatal(err)
				}
				if d := maxAbsDiff(generate(t, ck2, role, x), loadY(t, ref)); d > 1e-5 {
					t.Errorf("%s: imported PyTorch weights in gogan: images differ by %g", mode, d)
				}
				t.Logf("%s: notes %q", mode, notes)
				// the notes on this file (the others name the networks left at their initial weights)
				notes = slices.DeleteFunc(notes, func(n string) bool { return !strings.HasPrefix(n, pth) })
				if mode == "save" && len(notes) != 0 {
					t.Errorf("save: notes %q for a state dict of today's PyTorch", notes)
				}
				if mode == "save-old" && (len(notes) != 1 || !strings.Contains(notes[0], c.oldNorm)) {
					t.Errorf("save-old: notes %q, want one about %s layers", notes, c.oldNorm)
				}
			}
		})
	}
}

// generate runs a checkpoint's generator of role in eval mode on x.
func generate(t *testing.T, ckDir, role string, x *torch.Tensor) []float32 {
	t.Helper()
	ck, _, cfg, err := runfolder.OpenCheckpoint(ckDir)
	if err != nil {
		t.Fatal(err)
	}
	g, err := LoadNet(ck, cfg, role, torch.CPUDevice)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Free()
	g.SetTraining(false)
	var y []float32
	if err := torch.Try(func() { torch.NoGrad(func() { y = g.Forward(x).Float32s() }) }); err != nil {
		t.Fatal(err)
	}
	return y
}

func loadY(t *testing.T, path string) []float32 {
	t.Helper()
	ts, _, err := torch.LoadSafetensors(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ts[0].Tensor.Free()
	return ts[0].Tensor.Float32s()
}

// referenceDCGAN8 saves the reference's DCGAN generator of ngf 8 (32x32,
// one channel) as dir/g.pth, torch.save of its state dict.
func referenceDCGAN8(t *testing.T, dir string) string {
	t.Helper()
	py := torchtest.Python(t)
	opts := filepath.Join(dir, "opts.json")
	os.WriteFile(opts, []byte(`{"Kind":"dcgan","NZ":100,"NGF":8,"OutputNC":1,"ImageSize":32,"InputNC":1,"NDF":8}`), 0o644)
	in := filepath.Join(dir, "x.safetensors")
	torch.SaveSafetensors(in, []torch.Named{{Name: "x", Tensor: torch.Zeros(torch.Float32, torch.CPUDevice, 1, 100, 1, 1)}}, nil)
	pth := filepath.Join(dir, "g.pth")
	if msg, err := exec.Command(py, "../scripts/interop_check.py", "save", opts, "1", pth, in, filepath.Join(dir, "y")).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, msg)
	}
	return pth
}

// TestImportRefusesMismatchedWeights: a state_dict for another network is an
// error naming the file, the network and a key with both shapes.
func TestImportRefusesMismatchedWeights(t *testing.T) {
	dir := t.TempDir()
	pth := referenceDCGAN8(t, dir)
	cfg, err := config.LoadConfig("", []string{"recipe=dcgan", "model.ngf=16", "data.image_size=32", "out=" + filepath.Join(dir, "run"), "device=cpu"})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = trainer.Import(cfg, map[string]string{"G": pth}, trainer.ImportedAt{})
	if err == nil {
		t.Fatal("weights of ngf 8 imported into a net of ngf 16")
	}
	for _, want := range []string{pth, "network G (dcgan)", "main.0.weight", "[100 64 4 4]", "[100 32 4 4]"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

// TestImportUnwrapsStateDicts: a state dict saved inside a dict
// ({"state_dict": sd}, {"model": sd, "epoch": 3, "optimizer": ...}) or by DataParallel
// ("module." keys), or both, imports as the plain one, with a note.
func TestImportUnwrapsStateDicts(t *testing.T) {
	py := torchtest.Python(t)
	dir := t.TempDir()
	referenceDCGAN8(t, dir)
	if msg, err := exec.Command(py, "-c", `
import sys, torch
d = sys.argv[1]
sd = torch.load(d + "/g.pth")
module = {"module." + k: v for k, v in sd.items()}
torch.save({"state_dict": sd}, d + "/state_dict.pth")
torch.save({"model": sd, "epoch": 3, "optimizer": {"state": {0: {"exp_avg": torch.zeros(3)}}}}, d + "/model.pth")
torch.save(module, d + "/module.pth")
torch.save({"state_dict": module}, d + "/both.pth")
`, dir).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, msg)
	}
	imported := func(name string) (map[string][]float32, []string) {
		cfg, err := config.LoadConfig("", []string{"recipe=dcgan", "model.ngf=8", "model.ndf=8", "data.image_size=32", "out=" + filepath.Join(dir, "run-"+name), "device=cpu"})
		if err != nil {
			t.Fatal(err)
		}
		ck, notes, err := trainer.Import(cfg, map[string]string{"G": filepath.Join(dir, name)}, trainer.ImportedAt{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		ts, _, err := torch.LoadSafetensors(filepath.Join(ck, runfolder.WeightsFile))
		if err != nil {
			t.Fatal(err)
		}
		defer torch.FreeNamed(ts)
		g := map[string][]float32{}
		for _, e := range ts {
			if strings.HasPrefix(e.Name, "G.") && e.Tensor.DType() == torch.Float32 {
				g[e.Name] = e.Tensor.Float32s()
			}
		}
		return g, notes
	}
	want, _ := imported("g.pth")
	if len(want) < 10 {
		t.Fatalf("the plain import has %d float tensors of G", len(want))
	}
	for name, prefix := range map[string]string{"state_dict.pth": "state_dict.", "model.pth": "model.", "module.pth": "module.", "both.pth": "state_dict.module."} {
		got, notes := imported(name)
		if len(got) != len(want) {
			t.Fatalf("%s: %d tensors of G, want %d", name, len(got), len(want))
		}
		for k, v := range want {
			if !slices.Equal(got[k], v) {
				t.Errorf("%s: %s differs from the plain file's", name, k)
			}
		}
		if !slices.ContainsFunc(notes, func(n string) bool {
			return strings.Contains(n, fmt.Sprintf("the network's keys are under %q", prefix))
		}) {
			t.Errorf("%s: notes %q do not name the prefix %q", name, notes, prefix)
		}
	}
}

// TestTranslateWritesWhatTestPyWrites: gogan translate --eval's files are,
// pixel for pixel, what pytorch-CycleGAN-and-pix2pix's test.py --eval writes
// for the same generator and images (scripts/interop_check.py testpy: PIL's
// bicubic resize to the crop, the generator, util.tensor2im's truncation).
func TestTranslateWritesWhatTestPyWrites(t *testing.T) {
	py := torchtest.Python(t)
	torch.LockThread()
	dir := t.TempDir()
	cfg, err := config.LoadConfig("", []string{"recipe=pix2pix", "data.root=" + dir, "model.netG=resnet_6blocks", "model.ngf=8", "model.ndf=8",
		"data.load_size=32", "data.crop_size=32", "out=" + filepath.Join(dir, "run"), "device=cpu", "threads=1"})
	if err != nil {
		t.Fatal(err)
	}
	ck, _, err := trainer.Import(cfg, nil, trainer.ImportedAt{})
	if err != nil {
		t.Fatal(err)
	}
	in, ours, ref := filepath.Join(dir, "in"), filepath.Join(dir, "ours"), filepath.Join(dir, "ref")
	os.Mkdir(in, 0o755)
	os.Mkdir(ref, 0o755)
	for i, size := range [][2]int{{40, 30}, {32, 32}, {50, 64}} {
		im := image.NewNRGBA(image.Rect(0, 0, size[0], size[1]))
		for p := range im.Pix {
			im.Pix[p] = uint8((p*37 + i*91 + (p/4)*(p/4)%251) % 256)
			if p%4 == 3 {
				im.Pix[p] = 255
			}
		}
		if err := report.SavePNG(filepath.Join(in, fmt.Sprintf("im%d.png", i)), im); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := Translate(TranslateOptions{Checkpoint: ck, Input: in, Out: ours, Device: "cpu", Eval: true}); err != nil || n != 3 {
		t.Fatalf("translate: %d, %v", n, err)
	}
	spec, err := gan.NetSpecOf(cfg, "G")
	if err != nil {
		t.Fatal(err)
	}
	opts, _ := json.Marshal(spec.Options.WithDefaults())
	optsPath := filepath.Join(dir, "opts.json")
	os.WriteFile(optsPath, opts, 0o644)
	if msg, err := exec.Command(py, "../scripts/interop_check.py", "testpy", optsPath, filepath.Join(ck, runfolder.WeightsFile), "32", in, ref).CombinedOutput(); err != nil {
		t.Fatalf("test.py's pipeline: %v\n%s", err, msg)
	}
	for i := range 3 {
		name := fmt.Sprintf("im%d.png", i)
		a, b := readNRGBA(t, filepath.Join(ours, name)), readNRGBA(t, filepath.Join(ref, name))
		if a.Rect != b.Rect {
			t.Fatalf("%s: gogan %v, test.py %v", name, a.Rect, b.Rect)
		}
		differ := 0
		for p := range a.Pix {
			if a.Pix[p] != b.Pix[p] {
				differ++
			}
		}
		if differ > 0 {
			t.Errorf("%s: %d of %d bytes differ from test.py's", name, differ, len(a.Pix))
		}
	}
}

func readNRGBA(t *testing.T, path string) *image.NRGBA {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	im, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	out := image.NewNRGBA(im.Bounds())
	draw.Draw(out, out.Rect, im, im.Bounds().Min, draw.Src)
	return out
}
