package trainer

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"gogan/config"
)

func TestCheckFinite(t *testing.T) {
	if err := CheckFinite(map[string]float64{"D": 0.5, "G": -3}, 7); err != nil {
		t.Fatal(err)
	}
	err := CheckFinite(map[string]float64{"D_real": 0.5, "G_GAN": math.NaN(), "G_L1": math.Inf(1)}, 1234)
	var nf *NonFiniteError
	if !errors.As(err, &nf) || nf.Name != "G_GAN" || nf.Step != 1234 {
		t.Fatalf("%v", err)
	}
	for _, s := range []string{"loss G_GAN is NaN at step 1234", "G_L1=+Inf", "D_real=0.5"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("%q lacks %q", err, s)
		}
	}
	err = CheckFinite(map[string]float64{"D": math.Inf(-1)}, 3)
	if err == nil || !strings.Contains(err.Error(), "loss D is -Inf at step 3") {
		t.Fatalf("%v", err)
	}
}

// A loss weight set far up makes a loss infinite as surely as the rate:
// the advice names the weights the run sets above the recipe's
// defaults (not another recipe's, not those at or below their default,
// not lambda_gp without wgangp).
func TestDivergenceNamesTheLossWeightsSet(t *testing.T) {
	weights := func(sets ...string) []string {
		cfg, err := config.LoadConfig("", sets)
		if err != nil {
			t.Fatal(err)
		}
		return lossWeightsSet(cfg)
	}
	if w := weights("recipe=pix2pix", "train.lambda_L1=100", "train.lr=0.1"); len(w) != 0 {
		t.Errorf("pix2pix at its default lambda_L1: %v, want none", w)
	}
	if w := weights("recipe=pix2pix", "train.lambda_L1=1e308", "train.lambda_A=5"); !slices.Equal(w, []string{"train.lambda_L1=1e+308"}) {
		t.Errorf("pix2pix with lambda_L1 1e308 (and CycleGAN's lambda_A): %v", w)
	}
	// lowered (the advice is to lower them), or not read (lambda_gp without wgangp)
	if w := weights("recipe=pix2pix", "train.lambda_L1=0", "train.lambda_gp=1e300", "train.gan_mode=lsgan"); len(w) != 0 {
		t.Errorf("pix2pix with lambda_L1 0 and lsgan's unread lambda_gp: %v, want none", w)
	}
	if w := weights("recipe=pix2pix", "train.lambda_gp=1e300", "train.gan_mode=wgangp"); !slices.Equal(w, []string{"train.lambda_gp=1e+300"}) {
		t.Errorf("pix2pix wgangp with lambda_gp 1e300: %v", w)
	}
	if w := weights("recipe=colorization", "train.lambda_L1=1e300"); !slices.Equal(w, []string{"train.lambda_L1=1e+300"}) {
		t.Errorf("colorization with lambda_L1 1e300: %v", w)
	}
	w := weights("recipe=cyclegan", "train.lambda_A=1e300", "train.lambda_identity=0", "train.lambda_B=1")
	if !slices.Equal(w, []string{"train.lambda_A=1e+300"}) {
		t.Errorf("cyclegan with lambda_A 1e300: %v", w)
	}
	err := &NonFiniteError{Step: 5, Name: "G_L1", Value: math.Inf(1), Losses: map[string]float64{"G_L1": math.Inf(1)}, Weights: w}
	if !strings.Contains(err.Error(), "training diverged: lower train.lr or the loss weights set (train.lambda_A=1e+300), check the data") {
		t.Errorf("%v", err)
	}
}
