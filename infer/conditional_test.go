package infer

import (
	"bytes"
	"image"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	torch "gogan/cgo"
	"gogan/config"
	"gogan/gan"
	"gogan/gan/gantest"
	"gogan/report"
	"gogan/runfolder"
	"gogan/trainer"
)

// Two class-conditional recipes declared wrong: one lists the class labels
// among its inputs but its Generation cannot pass a class on; the other's
// Generation takes a class its inputs give no number of classes for. And
// one of 40 classes, more than a grid gives a column each, whose generator
// takes them in the last 40 of its 100 input channels.
func init() {
	d, err := gan.Lookup("dcgan")
	if err != nil {
		panic(err)
	}
	withLabels := func(c *config.Config) []gan.Input {
		return append(d.Inputs(c), gan.Input{Name: gan.LabelInput, Classes: 10})
	}
	gan.Register(gan.Definition{Schema: config.RecipeSchema{Name: "nocondition", Doc: "a test recipe (infer/conditional_test.go)."},
		Data: d.Data, Nets: d.Nets, Inputs: withLabels, New: d.New, Generate: d.Generate})
	gan.Register(gan.Definition{Schema: config.RecipeSchema{Name: "noclasses", Doc: "a test recipe (infer/conditional_test.go)."},
		Data: d.Data, Nets: d.Nets, Inputs: d.Inputs, New: d.New,
		Generate: func(c *config.Config) gan.Generation {
			g := d.Generate(c)
			g.Condition = func(noise, _ *torch.Tensor) *torch.Tensor { return noise }
			return g
		}})
	gan.Register(gan.Definition{Schema: config.RecipeSchema{Name: "fortyclasses", Doc: "a test recipe (infer/conditional_test.go)."},
		Data: d.Data, Nets: d.Nets, New: d.New,
		Inputs: func(c *config.Config) []gan.Input {
			return append(d.Inputs(c), gan.Input{Name: gan.LabelInput, Classes: 40})
		},
		Generate: func(c *config.Config) gan.Generation {
			return gan.Generation{Role: "G", Noise: []int64{60, 1, 1}, Condition: func(noise, classes *torch.Tensor) *torch.Tensor {
				cs := classes.Float32s()
				h := make([]float32, 40*len(cs))
				for i, c := range cs {
					h[i*40+int(c)] = 1
				}
				return torch.Cat([]*torch.Tensor{noise, torch.FromFloat32(h, int64(len(cs)), 40, 1, 1)}, 1)
			}}
		}})
}

func TestConditionalRecipeDeclaredWrong(t *testing.T) {
	ck := runfolder.Checkpoint{Dir: "RUN/checkpoints/step-00000001"}
	for recipe, want := range map[string]string{
		"nocondition": `recipe nocondition takes class labels ("label" among its Inputs) but its Generation has no Condition`,
		"noclasses":   `recipe noclasses's Generation has a Condition, but its Inputs list no "label" input with its number of classes`,
	} {
		cfg, err := config.LoadConfig("", []string{"recipe=" + recipe})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Generation(ck, cfg, "gogan sample"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", recipe, err, want)
		}
	}
}

// importRun makes a step-0 checkpoint of freshly initialised networks.
func importRun(t *testing.T, sets ...string) string {
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

// TestSampleDrawsEachClass: gogan sample of a class-conditional generator
// draws sample i of class i mod its classes (a column a class) or, with
// --class, every sample of that class, given by number or by its name in
// the run's dataset (Fashion-MNIST's, any case, or as data.classes_A
// spells it); a sample is the generator's image of its noise with the
// class's one-hot vector after it, drawn here without infer; --class out
// of range or not a name, or given to a generator of noise alone, is
// refused naming the classes.
func TestSampleDrawsEachClass(t *testing.T) {
	sets := []string{"data.image_size=32", "data.channels=1", "model.ngf=8", "model.ndf=8"}
	ck := importRun(t, append([]string{"recipe=condprobe"}, sets...)...)
	dir := t.TempDir()
	sample := func(name string, n int, class string) (string, error) {
		out := filepath.Join(dir, name+".png")
		gantest.Seen()
		return out, Sample(SampleOptions{Checkpoint: ck, N: n, Seed: 5, Class: class, Device: "cpu", Out: out})
	}

	each, err := sample("each", 12, "")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := gantest.Seen(), []float32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1}; !slices.Equal(got, want) {
		t.Errorf("classes of 12 samples: %v, want %v", got, want)
	}
	if b := readNRGBA(t, each).Bounds(); b.Dx() != 10*34+2 || b.Dy() != 2*34+2 {
		t.Errorf("grid of 12 samples of 10 classes: %v, want a column a class (342x70)", b)
	}
	// train mode: passes of data.batch_size 8, the last filled up to 16
	// (whose extra 4 are dropped), each sample still of its own class
	gantest.Seen()
	if err := Sample(SampleOptions{Checkpoint: ck, N: 12, Seed: 5, Device: "cpu", Out: filepath.Join(dir, "train.png"), TrainMode: true}); err != nil {
		t.Fatal(err)
	}
	if got, want := gantest.Seen(), []float32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5}; !slices.Equal(got, want) {
		t.Errorf("classes of 12 samples in train mode's passes of 8: %v, want %v", got, want)
	}
	for _, c := range []struct {
		class string
		want  float32
	}{{"3", 3}, {"trouser", 1}, {" Ankle-Boot", 9}, {"Ankle boot", 9}, {"T-shirt", 0}} { // torchvision's and data.classes_A's spellings too
		if _, err := sample("one-class", 12, c.class); err != nil {
			t.Fatal(err)
		}
		if got := gantest.Seen(); len(got) != 12 || slices.ContainsFunc(got, func(v float32) bool { return v != c.want }) {
			t.Errorf("--class %q: classes %v, want all %v", c.class, got, c.want)
		}
	}

	// One sample (a grid of one image is normalised by its own range) of
	// class 7, against G run here on its noise and class.
	seven, err := sample("seven", 1, "7")
	if err != nil {
		t.Fatal(err)
	}
	_, _, cfg, err := runfolder.OpenCheckpoint(ck)
	if err != nil {
		t.Fatal(err)
	}
	g, err := LoadNet(runfolder.Checkpoint{Dir: ck}, cfg, "G", torch.CPUDevice)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Free()
	g.SetTraining(false)
	var want *image.NRGBA
	if err := torch.Try(func() {
		s := torch.NewScope()
		defer s.Close()
		torch.ManualSeed(5)
		noise := torch.Randn(torch.Float32, torch.CPUDevice, 1, 90, 1, 1)
		h := make([]float32, 10)
		h[7] = 1
		x := torch.Cat([]*torch.Tensor{noise, torch.FromFloat32(h, 1, 10, 1, 1)}, 1)
		torch.NoGrad(func() {
			grid, err := report.MakeGrid(report.ToImages(g.Forward(x)), report.DCGANGrid)
			if err != nil {
				t.Fatal(err)
			}
			want = grid
		})
	}); err != nil {
		t.Fatal(err)
	}
	if got := readNRGBA(t, seven); got.Rect != want.Rect || !bytes.Equal(got.Pix, want.Pix) {
		t.Fatalf("--class 7 --n 1: not G's image of the noise and class 7 (%v, G's %v)", got.Rect, want.Rect)
	}
	eight, err := sample("eight", 1, "8")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(readNRGBA(t, seven).Pix, readNRGBA(t, eight).Pix) {
		t.Error("classes 7 and 8 drew the same image from the same noise: the class does not reach G")
	}

	for _, class := range []string{"10", "-1", "shoe"} {
		_, err := sample("bad", 4, class)
		if err == nil || !strings.Contains(err.Error(), "--class "+class+": checkpoint") || !strings.Contains(err.Error(), "takes classes 0 to 9, or their names: t-shirt/top, trouser, ") {
			t.Errorf("--class %s of 10 classes: %v", class, err)
		}
	}
	plain := importRun(t, append([]string{"recipe=dcgan"}, sets...)...)
	err = Sample(SampleOptions{Checkpoint: plain, N: 4, Seed: 5, Class: "3", Device: "cpu", Out: filepath.Join(dir, "plain.png")})
	if err == nil || !strings.Contains(err.Error(), "--class 3: checkpoint") || !strings.Contains(err.Error(), "draws from noise alone: it takes no class; leave --class out") {
		t.Errorf("--class 3 of DCGAN: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "plain.png")); !os.IsNotExist(err) {
		t.Errorf("a refused --class wrote its grid: %v", err)
	}
	// 40 classes: rows of 8, as DCGAN's, not one row of 40 columns
	forty := importRun(t, append([]string{"recipe=fortyclasses"}, sets...)...)
	out := filepath.Join(dir, "forty.png")
	if err := Sample(SampleOptions{Checkpoint: forty, N: 12, Seed: 5, Device: "cpu", Out: out}); err != nil {
		t.Fatal(err)
	}
	if b := readNRGBA(t, out).Bounds(); b.Dx() != 8*34+2 || b.Dy() != 2*34+2 {
		t.Errorf("grid of 12 samples of 40 classes: %v, want rows of 8 (274x70)", b)
	}
}
