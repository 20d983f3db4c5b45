package gan_test

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"gogan/cgo/torchtest"
	"gogan/config"
	"gogan/gan"
	_ "gogan/gan/all"
)

// TestOldReferenceOptionsKeepTheirValues: an options file of
// pytorch-CycleGAN-and-pix2pix as it was in 2017 names some settings by
// their earlier names (pix2pix's L1 weight lambda_A, cycle_gan's identity
// for lambda_identity, lr_policy lambda for linear). Imported, each sets
// its gogan key to the file's value, not the default: values the
// defaults equal (lambda_A 100 for pix2pix) would hide a name not read.
func TestOldReferenceOptionsKeepTheirValues(t *testing.T) {
	for _, c := range []struct {
		recipe, opts string
		want         map[string]any
	}{
		{"pix2pix", "model: pix2pix\nlambda_A: 37.5\nlr_policy: lambda\nno_lsgan: False\nniter: 30\n",
			map[string]any{"train.lambda_L1": 37.5, "train.lr_policy": "linear", "train.gan_mode": "lsgan", "train.epochs": 30}},
		{"cyclegan", "model: cycle_gan\nidentity: 0.3\nlambda_A: 7.0\nlambda_B: 3.0\nlr_policy: lambda\npool_size: 20\nno_lsgan: True\n",
			map[string]any{"train.lambda_identity": 0.3, "train.lambda_A": 7.0, "train.lambda_B": 3.0, "train.lr_policy": "linear",
				"train.pool_size": 20, "train.gan_mode": "vanilla"}},
		// pix2pixHD's --pool_size (its default 0), which gogan once refused.
		{"pix2pixhd", "name: hd\npool_size: 3\nlambda_feat: 4.0\n", map[string]any{"train.pool_size": 3, "train.lambda_feat": 4.0}},
	} {
		def, err := gan.Lookup(c.recipe)
		if err != nil {
			t.Fatal(err)
		}
		text := "------------ Options -------------\n" + c.opts + "-------------- End ----------------\n"
		sets, err := def.FromReference(gan.ReadReferenceOptions(text))
		if err != nil {
			t.Fatalf("%s: %v", c.recipe, err)
		}
		cfg, err := config.LoadConfig("", append([]string{"recipe=" + c.recipe}, sets...))
		if err != nil {
			t.Fatalf("%s: sets %q: %v", c.recipe, sets, err)
		}
		for key, want := range c.want {
			if got, _ := cfg.Get(key); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s: %s = %v, want %v (sets %q)", c.recipe, key, got, want, sets)
			}
		}
	}
}

// TestPyFloatIsPythonsStr: the options file gogan export writes prints
// floats as Python's str does (print_options' str(v), opt.txt's %s), which
// the reference's parser compares with its defaults: 100.0, not 100.
func TestPyFloatIsPythonsStr(t *testing.T) {
	xs := []float64{0, 100, 0.0002, 0.02, 0.5, 10, 1e-4, 1e-5, 1.5e-7, 123.456, 1e15, 1e16, 2.5e16, 0.1 + 0.2, 5e-324, 1.7976931348623157e308, -3, -0.25}
	var lits []string
	for _, x := range xs {
		lits = append(lits, fmt.Sprintf("float.fromhex(%q)", fmt.Sprintf("%x", x)))
	}
	out, err := exec.Command(torchtest.Python(t), "-c", "print('\\n'.join(str(x) for x in ["+strings.Join(lits, ", ")+"]))").Output()
	if err != nil {
		t.Fatal(err)
	}
	strs := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(strs) != len(xs) {
		t.Fatalf("Python printed %q", out)
	}
	for i, want := range strs {
		if got := gan.PyFloat(xs[i]); got != want {
			t.Errorf("PyFloat(%v) = %s, Python's str %s", xs[i], got, want)
		}
	}
}

// TestReferenceOptionsPrintBack: each conversion of an option's printed
// value to a config value has its inverse, which export's options file
// prints: read back, the same config value.
func TestReferenceOptionsPrintBack(t *testing.T) {
	for _, c := range []struct {
		value func(string) (string, error)
		print func(string) string
		vals  []string
	}{
		{gan.PyBool, gan.PrintPyBool, []string{"true", "false"}},
		{gan.NotBool, gan.PrintNotBool, []string{"true", "false"}},
		{gan.GANModeFromNoLSGAN, gan.NoLSGANFromGANMode, []string{"vanilla", "lsgan"}},
	} {
		for _, v := range c.vals {
			if back, err := c.value(c.print(v)); err != nil || back != v {
				t.Errorf("%s printed %s reads back as %s (%v)", v, c.print(v), back, err)
			}
		}
	}
}
