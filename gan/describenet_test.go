package gan_test

import (
	"strings"
	"testing"

	torch "gogan/cgo"
	"gogan/config"
	"gogan/gan"
	_ "gogan/gan/all"
	"gogan/nets"
)

// shapes are the key shapes of the state dict of the network o builds
// (the reference's keys and shapes, nets' TestInterop*).
func shapes(t *testing.T, o nets.Options, generator bool) map[string][]int64 {
	t.Helper()
	build := nets.NewDiscriminator
	if generator {
		build = nets.NewGenerator
	}
	n, err := build(o, torch.CPUDevice)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Free()
	out := map[string][]int64{}
	for _, e := range n.StateDict() {
		out[e.Name] = e.Tensor.Shape()
	}
	return out
}

// TestDescribeNetSays: what a recipe's Describe says of a
// pytorch-CycleGAN-and-pix2pix or pix2pixHD file of other options than
// the config's, in the cases the e2e import test does not reach: a basic
// PatchGAN into an n_layers config is n_layers_D 3 (the same network), a
// pix2pix D of other input channels is a difference no one key mends, a
// generator of a kind gogan has no value for is said so, CycleGAN's D_A
// judges output_nc's images and D_B input_nc's, and pix2pixHD's norm, D
// input channels and encoder.
func TestDescribeNetSays(t *testing.T) {
	describe := func(recipe string, sets []string, role string, sh map[string][]int64) string {
		t.Helper()
		c, err := config.LoadConfig("", append([]string{"recipe=" + recipe}, sets...))
		if err != nil {
			t.Fatal(err)
		}
		def, _ := gan.Lookup(recipe)
		return def.Describe(c, role, sh)
	}
	for _, c := range []struct {
		recipe string
		sets   []string
		role   string
		sh     map[string][]int64
		want   string
		not    string
	}{
		{"pix2pix", []string{"model.netD=n_layers", "model.n_layers_D=5"}, "D", shapes(t, nets.Options{Kind: "basic", NDF: 64, InputNC: 6, Norm: "batch"}, false),
			"it holds a discriminator: netD basic, ndf 64, batch norm, 6 input channels: import it with --set model.n_layers_D=3", "model.netD"},
		{"pix2pix", nil, "D", shapes(t, nets.Options{Kind: "basic", NDF: 64, InputNC: 4, Norm: "batch"}, false),
			"it holds a discriminator: netD basic, ndf 64, batch norm, 4 input channels; the config differs in 4 input channels (the network takes model.input_nc + model.output_nc = 6)", "import it with"},
		{"pix2pix", nil, "G", shapes(t, nets.Options{Kind: "unet_64", NGF: 64, InputNC: 3, OutputNC: 3, Norm: "batch"}, true),
			"it holds a generator: netG unet_64, ngf 64, batch norm, 3 -> 3 channels; the config differs in model.netG unet_64 (gogan's model.netG is one of dcgan, unet_128, unet_256, resnet_6blocks, resnet_9blocks, global, local)", "--set model.netG"},
		{"cyclegan", nil, "D_A", shapes(t, nets.Options{Kind: "basic", NDF: 64, InputNC: 1, Norm: "instance"}, false),
			"1 input channel: import it with --set model.output_nc=1", "model.input_nc"},
		{"cyclegan", nil, "D_B", shapes(t, nets.Options{Kind: "basic", NDF: 64, InputNC: 1, Norm: "instance"}, false),
			"1 input channel: import it with --set model.input_nc=1", "model.output_nc"},
		{"pix2pixhd", []string{"model.norm=batch"}, "G", shapes(t, nets.Options{Kind: "global", NGF: 64, InputNC: 36, OutputNC: 3, NDownsampleGlobal: 4, NBlocksGlobal: 9, Norm: "instance", PadType: "reflect"}, true),
			"it holds a generator: netG global, ngf 64, n_downsample_global 4, n_blocks_global 9, instance norm (or none), 36 -> 3 channels: import it with --set model.norm=instance", ""},
		{"pix2pixhd", nil, "D", shapes(t, nets.Options{Kind: "multiscale", NDF: 64, InputNC: 38, NLayers: 3, NumD: 2, Norm: "batch", GetIntermFeat: true}, false),
			"it holds a multiscale discriminator: num_D 2, n_layers_D 3, ndf 64, batch norm, 38 input channels; the config differs in 38 input channels, where the config gives 39 (data.label_nc 35 + 1 for the instance boundaries (data.no_instance false), and model.output_nc 3): import it with --set model.norm=batch", ""},
		{"pix2pixhd", []string{"model.instance_feat=true"}, "E", shapes(t, nets.Options{Kind: "encoder", NGF: 8, InputNC: 1, OutputNC: 5, NDownsampleGlobal: 3, Norm: "instance", PadType: "reflect"}, true),
			"it holds the feature encoder: nef 8, n_downsample_E 3, instance norm (or none), 1 -> 5 channels: import it with --set model.nef=8 --set model.n_downsample_E=3 --set model.feat_num=5 --set model.output_nc=1", ""},
		// an encoder for a run without features: the settings that make one
		{"pix2pixhd", nil, "G", shapes(t, nets.Options{Kind: "encoder", NGF: 8, InputNC: 3, OutputNC: 3, NDownsampleGlobal: 3, Norm: "instance", PadType: "reflect"}, true),
			"it holds the feature encoder (netE), which this config's run has none of: it comes with model.instance_feat=true or model.label_feat=true", ""},
		{"pix2pixhd", []string{"model.label_feat=true"}, "G", shapes(t, nets.Options{Kind: "encoder", NGF: 8, InputNC: 3, OutputNC: 3, NDownsampleGlobal: 3, Norm: "instance", PadType: "reflect"}, true),
			"it holds the feature encoder: give it as --net E=FILE", ""},
	} {
		got := describe(c.recipe, c.sets, c.role, c.sh)
		if !strings.Contains(got, c.want) || c.not != "" && strings.Contains(got, c.not) {
			t.Errorf("%s %s %v: %q\nwant %q", c.recipe, c.role, c.sets, got, c.want)
		}
	}
}
