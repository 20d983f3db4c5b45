package pix2pixhd

import (
	"fmt"

	"gogan/config"
	"gogan/gan"
	"gogan/nets"
)

// describe says what a state dict that does not load into G, D or E holds
// (gogan import of pix2pixHD's latest_net_G.pth of other options: the
// published label2city_1024p's local generator of ngf 32 into a global
// config) and the --set values that import it.
func describe(c *config.Config, role string, shapes map[string][]int64) string {
	o, ok := nets.ReadHDOptions(shapes)
	if !ok {
		return ""
	}
	isRole := map[string]string{"global": "G", "local": "G", "multiscale": "D", "encoder": "E"}[o.Kind]
	if isRole != role {
		if isRole == "E" && newFeatures(c) == nil {
			return "it holds the feature encoder (netE), which this config's run has none of: it comes with model.instance_feat=true or model.label_feat=true (pix2pixHD's --instance_feat, --label_feat); then give it as --net E=FILE"
		}
		what := map[string]string{"G": "a generator (netG " + o.Kind + ")", "D": "a multiscale discriminator", "E": "the feature encoder"}[isRole]
		return gan.OtherRole(what, isRole)
	}
	d := gan.NewNetDescription(c)
	norm := func() {
		switch {
		case o.Norm == "batch":
			d.Set("model.norm", "batch")
		case c.Model.Norm == "batch": // it holds none: instance, pix2pixHD's --norm default (or none)
			d.Set("model.norm", "instance")
		}
	}
	normText := map[string]string{"batch": "batch norm", "": "instance norm (or none)"}[o.Norm]
	labels := inputChannels(c)
	switch role {
	case "G":
		d.Holds("a generator: netG %s, ngf %d, n_downsample_global %d, n_blocks_global %d", o.Kind, o.NGF, o.NDownsampleGlobal, o.NBlocksGlobal)
		if o.Kind == "local" {
			d.Holds("n_local_enhancers %d, n_blocks_local %d", o.NLocalEnhancers, o.NBlocksLocal)
		}
		d.Holds("%s, %d -> %d channels", normText, o.InputNC, o.OutputNC)
		d.Set("model.netG", o.Kind)
		d.Set("model.ngf", o.NGF)
		d.Set("model.n_downsample_global", o.NDownsampleGlobal)
		d.Set("model.n_blocks_global", o.NBlocksGlobal)
		if o.Kind == "local" {
			d.Set("model.n_local_enhancers", o.NLocalEnhancers)
			d.Set("model.n_blocks_local", o.NBlocksLocal)
		}
		norm()
		d.Set("model.output_nc", o.OutputNC)
		if have := labels + featureChannels(c); have != o.InputNC {
			d.Differs("%s, where the config gives %d (%s)", gan.InputChannels(o.InputNC), have, channelsText(c, true))
		}
	case "D":
		d.Holds("a multiscale discriminator: num_D %d, n_layers_D %d, ndf %d, %s, %s", o.NumD, o.NLayers, o.NDF, normText, gan.InputChannels(o.InputNC))
		if !o.GetIntermFeat {
			d.Holds("without the feature-matching layers' own keys (trained with --no_ganFeat_loss)")
		}
		d.Set("model.num_D", o.NumD)
		d.Set("model.n_layers_D", o.NLayers)
		d.Set("model.ndf", o.NDF)
		norm()
		d.Set("train.no_ganFeat_loss", !o.GetIntermFeat)
		if have := labels + c.Model.OutputNC; have != o.InputNC {
			d.Differs("%s, where the config gives %d (%s, and model.output_nc %d)", gan.InputChannels(o.InputNC), have, channelsText(c, false), c.Model.OutputNC)
		}
	case "E":
		d.Holds("the feature encoder: nef %d, n_downsample_E %d, %s, %d -> %d channels", o.NGF, o.NDownsampleGlobal, normText, o.InputNC, o.OutputNC)
		d.Set("model.nef", o.NGF)
		d.Set("model.n_downsample_E", o.NDownsampleGlobal)
		d.Set("model.feat_num", o.OutputNC)
		norm()
		d.Set("model.output_nc", o.InputNC)
	default:
		return ""
	}
	return d.String()
}

// channelsText names what the config's input channels are made of.
func channelsText(c *config.Config, features bool) string {
	s := fmt.Sprintf("data.label_nc %d", c.Int("data.label_nc"))
	if c.Int("data.label_nc") == 0 {
		s = fmt.Sprintf("data.label_nc 0: model.input_nc %d", c.Model.InputNC)
	}
	if !c.Bool("data.no_instance") {
		s += " + 1 for the instance boundaries (data.no_instance false)"
	}
	if f := featureChannels(c); features && f > 0 {
		s += fmt.Sprintf(" + model.feat_num %d features", f)
	}
	return s
}
