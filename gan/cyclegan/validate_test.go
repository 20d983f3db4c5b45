package cyclegan_test

import (
	"path/filepath"
	"strings"
	"testing"

	"gogan/config"
)

// TestIdentityLossNeedsEqualChannels: the identity loss compares G_A(B)
// with B, so CycleGANModel asserts input_nc == output_nc when
// lambda_identity > 0. gogan refuses such a config when it is loaded,
// naming the keys, instead of failing in the first step's convolution;
// with train.lambda_identity=0 the channels may differ.
func TestIdentityLossNeedsEqualChannels(t *testing.T) {
	load := func(sets ...string) error {
		_, err := config.LoadConfig("", append([]string{"recipe=cyclegan", "model.input_nc=1", "model.output_nc=3",
			"out=" + filepath.Join(t.TempDir(), "run")}, sets...))
		return err
	}
	err := load() // lambda_identity 0.5, the reference's default
	if err == nil || !strings.Contains(err.Error(), "train.lambda_identity=0.5") || !strings.Contains(err.Error(), "model.input_nc = model.output_nc") {
		t.Errorf("input_nc 1, output_nc 3, identity loss on: %v; want the identity loss refused, naming the keys", err)
	}
	if err := load("train.lambda_identity=0"); err != nil {
		t.Errorf("input_nc 1, output_nc 3, no identity loss: %v", err)
	}
}

// TestGANModesOfTheReference: CycleGANModel trains with GANLoss's lsgan or
// vanilla; wgangp (whose penalty the model never adds) and hinge (no
// GANLoss mode) are refused when the config is loaded, naming the key.
func TestGANModesOfTheReference(t *testing.T) {
	for _, mode := range []string{"lsgan", "vanilla", "wgangp", "hinge"} {
		_, err := config.LoadConfig("", []string{"recipe=cyclegan", "train.gan_mode=" + mode, "out=" + filepath.Join(t.TempDir(), "run")})
		if ok := mode == "lsgan" || mode == "vanilla"; ok != (err == nil) {
			t.Errorf("train.gan_mode=%s: %v", mode, err)
		} else if !ok && !strings.Contains(err.Error(), "train.gan_mode lsgan (the reference's default) or vanilla, not "+mode) {
			t.Errorf("train.gan_mode=%s: %v; want it refused, naming the modes", mode, err)
		}
	}
}
