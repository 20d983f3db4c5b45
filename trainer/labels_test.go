package trainer

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	torch "gogan/cgo"
	"gogan/config"
	"gogan/gan"
)

// A class-conditional recipe, registered by a test as its package would
// register: labelprobe trains DCGAN's networks and lists gan.LabelInput
// among its inputs, so its batches hold the images' class labels, which it
// keeps as host state.
func init() {
	d, err := gan.Lookup("dcgan")
	if err != nil {
		panic(err)
	}
	gan.Register(gan.Definition{
		Schema: config.RecipeSchema{Name: "labelprobe", Doc: "a test recipe (trainer/labels_test.go).",
			Reads: []string{"dcgan"}, Defaults: map[string]any{"data.batch_size": 8}},
		Data: d.Data, Nets: d.Nets,
		Inputs: func(c *config.Config) []gan.Input {
			return append(d.Inputs(c), gan.Input{Name: gan.LabelInput, Classes: 10})
		},
		New: func(env gan.Env) (gan.Recipe, error) {
			inner, err := d.New(env)
			if err != nil {
				return nil, err
			}
			return &labelProbe{Recipe: inner}, nil
		},
	})
}

type labelProbe struct {
	gan.Recipe
	state labelState
}

// labelState is what labelProbe keeps on the host and checkpoints.
type labelState struct {
	Labels []float32 `json:"labels"` // every step's, in order
}

func (p *labelProbe) Step(b gan.Batch) []*torch.Tensor {
	l, ok := b[gan.LabelInput]
	if !ok {
		panic(&torch.Error{Op: "labelprobe", Msg: "the batch has no " + gan.LabelInput})
	}
	if s := l.Shape(); len(s) != 1 || s[0] != b["A"].Shape()[0] {
		panic(&torch.Error{Op: "labelprobe", Msg: fmt.Sprintf("labels of shape %v for images %v", s, b["A"].Shape())})
	}
	p.state.Labels = append(p.state.Labels, l.Float32s()...)
	return p.Recipe.Step(b)
}

func (p *labelProbe) DrawStep(n int64)     { p.Recipe.(gan.StepDrawer).DrawStep(n) }
func (p *labelProbe) Fixed() []torch.Named { return p.Recipe.(gan.FixedInputs).Fixed() }

func (p *labelProbe) SaveHostState() (json.RawMessage, error) { return json.Marshal(p.state) }

func (p *labelProbe) LoadHostState(b json.RawMessage) error { return json.Unmarshal(b, &p.state) }

// fashionLabels reads the first n labels of Fashion-MNIST's training set
// from its IDX file (magic, count, then a byte a label).
func fashionLabels(t *testing.T, n int) []float32 {
	t.Helper()
	f, err := os.Open("/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz")
	if err != nil {
		t.Fatalf("Fashion-MNIST (Debian's dataset-fashion-mnist, make setup): %v", err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 8+n)
	if _, err := io.ReadFull(z, b); err != nil {
		t.Fatal(err)
	}
	out := make([]float32, n)
	for i, l := range b[8:] {
		out[i] = float32(l)
	}
	return out
}

// TestClassLabelsReachARecipe: a recipe that lists gan.LabelInput gets each
// batch's class labels, those of its images: in the dataset's order
// without shuffling, the same on the device (data.on_device) as from the
// host, the same across a stop and resume as in one run; on data without
// class labels it is refused before it starts.
func TestClassLabelsReachARecipe(t *testing.T) {
	base := []string{"recipe=labelprobe", "data.batch_size=8", "data.max_samples=40", "data.image_size=32", "model.ngf=8", "model.ndf=8",
		"data.workers=1", "train.log_every=1", "train.sample_every=0", "train.max_steps=7", "device=cpu", "threads=2"}
	ctx := context.Background()
	opts := RunOptions{Quiet: true, Writer: os.Stderr}
	train := func(name string, sets ...string) (string, error) {
		cfg, err := config.LoadConfig("../configs/dcgan-fashion-mnist.yaml", append(append(slices.Clone(base), "out="+filepath.Join(t.TempDir(), name)), sets...))
		if err != nil {
			t.Fatal(err)
		}
		res, err := Train(ctx, cfg, opts)
		if err != nil {
			return "", err
		}
		return res.Run.Path, nil
	}
	labelsOf := func(run string) []float32 {
		t.Helper()
		var st labelState
		recipeStateOf(t, run, &st)
		return st.Labels
	}
	must := func(run string, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return run
	}

	// 40 samples, batches of 8 in order: an epoch of 5, then 2 of the next.
	all := fashionLabels(t, 40)
	want := slices.Concat(all, all[:16])
	if slices.Equal(all[:8], all[8:16]) {
		t.Fatal("the first two batches' labels are alike: the test cannot tell batches apart")
	}
	serial := labelsOf(must(train("serial", "data.shuffle=false")))
	if !slices.Equal(serial, want) {
		t.Errorf("labels without shuffling:\n%v\nwant the dataset's, in order:\n%v", serial, want)
	}
	if got := labelsOf(must(train("serial-on-device", "data.shuffle=false", "data.on_device=true"))); !slices.Equal(got, serial) {
		t.Errorf("labels with data.on_device:\n%v\nfrom the host:\n%v", got, serial)
	}

	shuffled := labelsOf(must(train("shuffled")))
	if slices.Equal(shuffled, want) {
		t.Fatal("shuffled batches in the dataset's order")
	}
	first := slices.Clone(shuffled[:40])
	slices.Sort(first)
	sorted := slices.Clone(all)
	slices.Sort(sorted)
	if !slices.Equal(first, sorted) {
		t.Errorf("a shuffled epoch's labels are not the dataset's 40: %v", shuffled[:40])
	}
	if got := labelsOf(must(train("shuffled-on-device", "data.on_device=true"))); !slices.Equal(got, shuffled) {
		t.Errorf("shuffled labels with data.on_device:\n%v\nfrom the host:\n%v", got, shuffled)
	}
	stopped := must(train("stopped", "train.max_steps=3"))
	if _, err := Resume(ctx, stopped, []string{"train.max_steps=7"}, opts); err != nil {
		t.Fatalf("resume: %v", err)
	}
	if got := labelsOf(stopped); !slices.Equal(got, shuffled) {
		t.Errorf("labels stopped at step 3 and resumed:\n%v\nin one run:\n%v", got, shuffled)
	}

	// images without class labels: refused, naming the recipe, the input
	// and the data
	_, err := train("unlabelled", "data.dataset=folder", "data.root="+writeImageFolder(t, 16, 40))
	if err == nil || !strings.Contains(err.Error(), `recipe labelprobe trains on its images' class labels (its input "label"), and data.dataset=folder gives none`) {
		t.Errorf("a labelled recipe on a folder of images: %v", err)
	}
}

// TestClassLabelsUnderChannelsLast: cuda.channels_last (which works on the
// CPU too) lays out the batch's images as NHWC, not the labels, a 1-d
// tensor it cannot ("required rank 4 tensor"): the recipe gets the same
// labels as without it, here from class folders.
func TestClassLabelsUnderChannelsLast(t *testing.T) {
	classFolderLabels(t, "cpu", "cuda.channels_last=false")
	classFolderLabels(t, "cpu", "cuda.channels_last=true")
}

// TestCUDAClassLabels: the same on the GPU, through the pinned copy of the
// labels, from the host loader and from data kept on the device.
func TestCUDAClassLabels(t *testing.T) {
	requireCUDA(t)
	classFolderLabels(t, "cuda", "cuda.channels_last=false")
	classFolderLabels(t, "cuda", "cuda.channels_last=true")
	classFolderLabels(t, "cuda", "data.on_device=true")
}

// classFolderLabels trains labelprobe on device for 2 steps of 6 from 3
// class folders of 4 images in order, and checks the labels it got.
func classFolderLabels(t *testing.T, device string, sets ...string) {
	t.Helper()
	root := t.TempDir()
	for c := range 3 {
		if err := os.CopyFS(filepath.Join(root, fmt.Sprintf("class%d", c)), os.DirFS(writeImageFolder(t, 4, 40))); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := config.LoadConfig("", append([]string{"recipe=labelprobe", "data.dataset=folder", "data.root=" + root, "data.image_size=32",
		"model.ngf=8", "model.ndf=8", "data.batch_size=6", "data.shuffle=false", "data.workers=1", "train.max_steps=2",
		"train.sample_every=0", "device=" + device, "threads=2", "out=" + filepath.Join(t.TempDir(), "run")}, sets...))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Train(context.Background(), cfg, RunOptions{Quiet: true, Writer: os.Stderr})
	if err != nil {
		t.Fatalf("%s %v: %v", device, sets, err)
	}
	var st labelState
	recipeStateOf(t, res.Run.Path, &st)
	if want := []float32{0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2}; !slices.Equal(st.Labels, want) {
		t.Errorf("%s %v: labels %v, want %v", device, sets, st.Labels, want)
	}
}

// TestMoreClassesThanTheRecipeTakesRefused: class folders past the classes
// a recipe's label input takes (labelprobe's 10) are refused before the
// first step, where a label out of range would fail inside one.
func TestMoreClassesThanTheRecipeTakesRefused(t *testing.T) {
	root, images := t.TempDir(), writeImageFolder(t, 1, 40)
	for c := range 11 {
		if err := os.CopyFS(filepath.Join(root, fmt.Sprintf("class%02d", c)), os.DirFS(images)); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := config.LoadConfig("", []string{"recipe=labelprobe", "data.dataset=folder", "data.root=" + root, "data.image_size=32",
		"model.ngf=8", "model.ndf=8", "data.batch_size=2", "device=cpu", "out=" + filepath.Join(t.TempDir(), "run")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Train(context.Background(), cfg, RunOptions{Quiet: true, Writer: os.Stderr})
	if want := `recipe labelprobe takes 10 classes (its input "label"), and the data under ` + root + ` have 11 (labels 0 to 10)`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("11 class folders for a recipe of 10 classes: %v, want %q", err, want)
	}
}
