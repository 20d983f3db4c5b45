package cyclegan

import (
	"testing"

	"gogan/config"
)

// TestNetsAreDefineGAndD: the networks are the ones CycleGANModel.__init__
// (pytorch-CycleGAN-and-pix2pix models/cycle_gan_model.py) asks for from
// its options, in its order: G_A = define_G(input_nc, output_nc, ngf, netG,
// norm, not no_dropout), G_B the same with the channels swapped, D_A =
// define_D(output_nc, ndf, netD, n_layers_D, norm) and D_B on input_nc;
// no_dropout defaults to True (modify_commandline_options) and norm to
// instance (base_options). The parity tests give the reference gogan's
// network options, so they cannot see these.
func TestNetsAreDefineGAndD(t *testing.T) {
	type net struct {
		role, kind         string
		in, out, width, nl int
		norm               string
		dropout            bool
	}
	for _, c := range []struct {
		sets []string
		want []net
	}{
		{[]string{"recipe=cyclegan"}, []net{
			{"G_A", "resnet_9blocks", 3, 3, 64, 0, "instance", false},
			{"G_B", "resnet_9blocks", 3, 3, 64, 0, "instance", false},
			{"D_A", "basic", 3, 0, 64, 3, "instance", false},
			{"D_B", "basic", 3, 0, 64, 3, "instance", false}}},
		{[]string{"recipe=cyclegan", "model.netG=unet_128", "model.netD=n_layers", "model.n_layers_D=2", "model.no_dropout=false",
			"model.ngf=16", "model.ndf=24", "model.norm=batch", "model.input_nc=1", "model.output_nc=3", "train.lambda_identity=0"}, []net{
			{"G_A", "unet_128", 1, 3, 16, 0, "batch", true},
			{"G_B", "unet_128", 3, 1, 16, 0, "batch", true},
			{"D_A", "n_layers", 3, 0, 24, 2, "batch", false},
			{"D_B", "n_layers", 1, 0, 24, 2, "batch", false}}},
	} {
		cfg, err := config.LoadConfig("", c.sets)
		if err != nil {
			t.Fatal(err)
		}
		specs := netSpecs(cfg)
		if len(specs) != len(c.want) {
			t.Fatalf("%v: %d networks, want %d", c.sets, len(specs), len(c.want))
		}
		for i, s := range specs {
			o := s.Options
			got := net{s.Role, o.Kind, o.InputNC, o.OutputNC, o.NGF, 0, o.Norm, o.Dropout} // G_A, G_B
			if i >= 2 {
				got = net{s.Role, o.Kind, o.InputNC, 0, o.NDF, o.NLayers, o.Norm, o.Dropout} // D_A, D_B
			}
			if got != c.want[i] {
				t.Errorf("%v: network %d is %+v, want %+v", c.sets, i, got, c.want[i])
			}
		}
	}
}
