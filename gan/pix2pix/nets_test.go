package pix2pix

import (
	"fmt"
	"testing"

	"gogan/config"
	"gogan/nets"
)

// TestNetsAreDefineGAndD: the networks are the ones Pix2PixModel.__init__
// (pytorch-CycleGAN-and-pix2pix models/pix2pix_model.py) asks for from its
// options: define_G(input_nc, output_nc, ngf, netG, norm, not no_dropout)
// and define_D(input_nc + output_nc, ndf, netD, n_layers_D, norm). The
// parity tests give the reference gogan's network options, so they cannot
// see these.
func TestNetsAreDefineGAndD(t *testing.T) {
	for _, c := range []struct {
		sets []string
		g, d nets.Options
	}{
		{[]string{"recipe=pix2pix", "model.netG=resnet_9blocks", "model.netD=n_layers", "model.n_layers_D=2", "model.no_dropout=true",
			"model.ngf=16", "model.ndf=24", "model.norm=instance", "model.input_nc=1", "model.output_nc=2"},
			nets.Options{Kind: "resnet_9blocks", InputNC: 1, OutputNC: 2, NGF: 16, Norm: "instance"},
			nets.Options{Kind: "n_layers", InputNC: 3, NDF: 24, NLayers: 2, Norm: "instance"}},
		{[]string{"recipe=pix2pix", "model.netG=unet_128", "model.netD=n_layers", "model.n_layers_D=4", "model.norm=batch"},
			nets.Options{Kind: "unet_128", InputNC: 3, OutputNC: 3, NGF: 64, Norm: "batch", Dropout: true},
			nets.Options{Kind: "n_layers", InputNC: 6, NDF: 64, NLayers: 4, Norm: "batch"}},
		{[]string{"recipe=colorization", "model.no_dropout=true", "model.n_layers_D=5"},
			nets.Options{Kind: "unet_256", InputNC: 1, OutputNC: 2, NGF: 64, Norm: "batch"},
			nets.Options{Kind: "basic", InputNC: 3, NDF: 64, NLayers: 5, Norm: "batch"}},
	} {
		cfg, err := config.LoadConfig("", c.sets)
		if err != nil {
			t.Fatal(err)
		}
		specs := netSpecs(cfg)
		g, d := specs[0].Options, specs[1].Options
		got := fmt.Sprintf("G %s %d %d %d %s %t, D %s %d %d %d %s", g.Kind, g.InputNC, g.OutputNC, g.NGF, g.Norm, g.Dropout,
			d.Kind, d.InputNC, d.NDF, d.NLayers, d.Norm)
		want := fmt.Sprintf("G %s %d %d %d %s %t, D %s %d %d %d %s", c.g.Kind, c.g.InputNC, c.g.OutputNC, c.g.NGF, c.g.Norm, c.g.Dropout,
			c.d.Kind, c.d.InputNC, c.d.NDF, c.d.NLayers, c.d.Norm)
		if specs[0].Role != "G" || specs[1].Role != "D" || got != want {
			t.Errorf("%v: %s %s, want %s", c.sets, specs[0].Role, got, want)
		}
	}
}
