package gan_test

import (
	"fmt"
	"testing"

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
