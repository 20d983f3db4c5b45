package gan_test

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	torch "gogan/cgo"
	"gogan/config"
	"gogan/data"
	"gogan/gan"
	_ "gogan/gan/all"
	_ "gogan/gan/gantest" // condprobe, a class-conditional recipe
	"gogan/report"
)

// TestIgnoredKeysChangeNothing: every shared key a recipe declares it
// ignores (config.RecipeSchema.Ignores, which config's ForeignKeys warns
// about) can be set to another valid value without changing what the recipe
// trains: the batches its data gives, its networks' specs, its inputs, its
// noise and its translations. A key the recipe does read, changed the same
// way, shows that the comparison sees a difference.
func TestIgnoredKeysChangeNothing(t *testing.T) {
	const idx = "/usr/share/datasets/fashion-mnist"
	photos := t.TempDir() // colour images under train/, and A|B pairs under pairs/train/
	writePNGs(t, filepath.Join(photos, "train"), 40, 40)
	writePNGs(t, filepath.Join(photos, "pairs", "train"), 64, 32)
	small := []string{"device=cpu", "data.workers=0", "data.batch_size=4", "data.max_samples=8", "model.ngf=8", "model.ndf=8"}
	cases := []struct {
		recipe string
		sets   []string
		read   string // a key the recipe reads, key=value
	}{
		{"dcgan", []string{"data.root=" + idx, "data.image_size=32"}, "data.image_size=64"},
		{"pix2pix", []string{"data.dataset=edges", "data.root=" + idx, "model.input_nc=1", "model.output_nc=1",
			"model.netG=resnet_6blocks", "data.load_size=32", "data.crop_size=32"}, "data.crop_size=24"},
		{"colorization", []string{"data.root=" + photos, "model.netG=resnet_6blocks", "data.load_size=32", "data.crop_size=32"}, "data.load_size=36"},
		{"cyclegan", []string{"data.root=" + idx, "data.classes_A=sneaker", "data.classes_B=sandal", "model.input_nc=1", "model.output_nc=1",
			"model.netG=resnet_6blocks", "data.load_size=32", "data.crop_size=32"}, "data.direction=BtoA"},
		{"pix2pixhd", []string{"data.root=" + filepath.Join(photos, "pairs"), "data.label_nc=0", "data.no_instance=true",
			"data.preprocess=resize_and_crop", "data.load_size=32", "data.crop_size=32", "train.no_vgg_loss=true"}, "model.n_layers_D=2"},
	}
	// another valid value for each key a recipe may ignore
	other := map[string]string{"data.load_size": "300", "data.crop_size": "128", "data.preprocess": "crop", "data.direction": "BtoA",
		"model.input_nc": "3", "model.output_nc": "3", "model.n_layers_D": "4", "model.num_D": "3", "data.image_size": "128", "train.lambda_gp": "5", "data.reference_workers": "1",
		"train.pool_size": "3"}
	tested := map[string]bool{}
	for _, c := range cases {
		tested[c.recipe] = true
	}
	for _, name := range gan.Names() { // a recipe added to gan/all fails here until it has a case
		if !tested[name] && name != "condprobe" { // gan/gantest's, for TestTrainedOfAClassConditionalRecipe
			t.Errorf("recipe %s has no case here: give it small settings and a key it reads", name)
		}
	}
	for _, c := range cases {
		def, err := gan.Lookup(c.recipe)
		if err != nil {
			t.Fatal(err)
		}
		base := append([]string{"recipe=" + c.recipe}, append(slices.Clone(small), c.sets...)...)
		want := trained(t, base)
		if len(def.Schema.Ignores) == 0 {
			t.Errorf("recipe %s declares no ignored keys", c.recipe)
		}
		for _, key := range def.Schema.Ignores {
			v, ok := other[key]
			if key == "model.no_dropout" {
				k, _ := config.LookupKey(key)
				v, ok = fmt.Sprint(k.DefaultFor(c.recipe) != true), true
			}
			if !ok {
				t.Errorf("recipe %s ignores %s: give the test another value of it", c.recipe, key)
				continue
			}
			if diff := want.diff(trained(t, append(slices.Clone(base), key+"="+v))); diff != "" {
				t.Errorf("recipe %s declares it ignores %s, but %s=%s changes %s", c.recipe, key, key, v, diff)
			}
		}
		if want.diff(trained(t, append(slices.Clone(base), c.read))) == "" {
			t.Errorf("recipe %s: %s changes nothing the test compares", c.recipe, c.read)
		}
	}
}

// what a config trains: its first batch, network specs, inputs, noise and
// translations.
type what struct {
	batch []data.Tensor
	nets  []string
	rest  []any
}

func trained(t *testing.T, sets []string) what {
	t.Helper()
	cfg, err := config.LoadConfig("", append(sets, "out="+filepath.Join(t.TempDir(), "run")))
	if err != nil {
		t.Fatalf("%v: %v", sets, err)
	}
	def, err := gan.For(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dc, err := gan.DataConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l, err := data.OpenLoader(context.Background(), dc, uint64(cfg.Seed), nil, nil)
	if err != nil {
		t.Fatalf("%v: %v", sets, err)
	}
	defer l.Close()
	b, err := l.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var w what
	for _, ts := range b.Tensors {
		ts.F32, ts.U8 = slices.Clone(ts.F32), slices.Clone(ts.U8)
		ts.Buf = nil
		w.batch = append(w.batch, ts)
	}
	b.Release()
	for _, s := range def.Nets(cfg) {
		w.nets = append(w.nets, fmt.Sprintf("%s %+v %v", s.Role, s.Options, s.Input))
	}
	w.rest = append(w.rest, def.Inputs(cfg))
	if def.Generate != nil {
		g := def.Generate(cfg)
		plain := g // every field but the Condition, which is compared by its output
		plain.Condition = nil
		w.rest = append(w.rest, plain, conditioned(t, cfg, g))
	}
	if def.Translate != nil {
		w.rest = append(w.rest, def.Translate(cfg))
	}
	return w
}

// conditioned is what a class-conditional Generation's Condition makes of
// fixed noise for each of its classes (its values and shape), nil without
// one: the function itself cannot be compared, as reflect.DeepEqual holds
// no two non-nil funcs equal (so every class-conditional recipe's
// Generation differed from itself).
func conditioned(t *testing.T, cfg *config.Config, g gan.Generation) any {
	t.Helper()
	if g.Condition == nil {
		return nil
	}
	k, _ := gan.TakesLabels(cfg)
	if k < 1 {
		t.Fatalf("recipe %s: Generation.Condition without a LabelInput of Classes > 0", cfg.Recipe)
	}
	shape := append([]int64{int64(k)}, g.Noise...)
	n := int64(1)
	for _, d := range shape {
		n *= d
	}
	noise, classes := make([]float32, n), make([]float32, k)
	for i := range noise {
		noise[i] = float32(i%7) - 3
	}
	for i := range classes {
		classes[i] = float32(i)
	}
	torch.LockThread()
	defer runtime.UnlockOSThread()
	sc := torch.NewScope()
	defer sc.Close()
	var out []any
	if err := torch.Try(func() {
		in := g.Input(torch.FromFloat32(noise, shape...), classes)
		out = []any{in.Shape(), in.Float32s()}
	}); err != nil {
		t.Fatalf("recipe %s: Generation.Condition: %v", cfg.Recipe, err)
	}
	return out
}

// TestTrainedOfAClassConditionalRecipe: what a class-conditional recipe
// trains (its Generation's Condition a func) equals itself, so that
// TestIgnoredKeysChangeNothing can have a case for one.
func TestTrainedOfAClassConditionalRecipe(t *testing.T) {
	sets := []string{"recipe=condprobe", "device=cpu", "data.workers=0", "data.batch_size=4", "data.max_samples=8",
		"model.ngf=8", "model.ndf=8", "data.image_size=32", "data.root=/usr/share/datasets/fashion-mnist"}
	want := trained(t, sets)
	if diff := want.diff(trained(t, sets)); diff != "" {
		t.Errorf("condprobe: the same config changes %s", diff)
	}
	if diff := want.diff(trained(t, append(sets, "model.nz=50"))); diff == "" {
		t.Error("condprobe: model.nz=50 changes nothing the test compares")
	}
}

func (w what) diff(o what) string {
	switch {
	case !reflect.DeepEqual(w.batch, o.batch):
		return "the first batch"
	case !slices.Equal(w.nets, o.nets):
		return fmt.Sprintf("the networks (%q, not %q)", o.nets, w.nets)
	case !reflect.DeepEqual(w.rest, o.rest):
		return fmt.Sprintf("the inputs, noise or translations (%+v, not %+v)", o.rest, w.rest)
	}
	return ""
}

// writePNGs writes four w x h colour images of different colours into dir.
func writePNGs(t *testing.T, dir string, w, h int) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		im := image.NewNRGBA(image.Rect(0, 0, w, h))
		for y := range h {
			for x := range w {
				im.Set(x, y, color.NRGBA{uint8(x * 6), uint8(y*5 + i*40), uint8(60 * i), 255})
			}
		}
		if err := report.SavePNG(filepath.Join(dir, fmt.Sprintf("%d.png", i)), im); err != nil {
			t.Fatal(err)
		}
	}
}

// TestForeignKeysWarn: a shared key a recipe ignores, set, is one
// ForeignKeys names (the warning), as wgangp's lambda_gp on the recipes
// that refuse wgangp (dcgan, cyclegan, pix2pixhd); the recipes that read it
// do not name it.
func TestForeignKeysWarn(t *testing.T) {
	for recipe, want := range map[string]bool{"cyclegan": true, "pix2pixhd": true, "dcgan": true, "pix2pix": false, "colorization": false} {
		c, err := config.LoadConfig("", []string{"recipe=" + recipe, "train.lambda_gp=5"})
		if err != nil {
			t.Fatal(err)
		}
		if got := slices.ContainsFunc(c.ForeignKeys(), func(k string) bool { return strings.HasPrefix(k, "train.lambda_gp") }); got != want {
			t.Errorf("%s: train.lambda_gp=5 named %v in %v, want %v", recipe, got, c.ForeignKeys(), want)
		}
	}
}
