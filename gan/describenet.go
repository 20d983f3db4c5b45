package gan

import (
	"fmt"
	"slices"
	"strings"

	"gogan/config"
	"gogan/nets"
)

// NetKeys are the config keys that build one role's network of
// pytorch-CycleGAN-and-pix2pix (define_G or define_D), for DescribeNet:
// InputNC and OutputNC name the keys of its channels, "" where no one key
// sets them (pix2pix's D takes input_nc + output_nc); Others are the
// roles a file of the other kind of network is for.
type NetKeys struct {
	Generator         bool
	InputNC, OutputNC string
	Others            []string
}

// DescribeNet says what a state dict that does not load into a role's
// network holds, read from its shapes (nets.ReadOptions), and the --set
// values that build that network, so that a reference user's
// latest_net_G.pth of other options (--netG, --ngf, --norm, --no_dropout,
// --input_nc) is answered with what to do; "" when the shapes are no
// pytorch-CycleGAN-and-pix2pix network's.
func DescribeNet(c *config.Config, k NetKeys, shapes map[string][]int64) string {
	o, ok := nets.ReadOptions(shapes)
	if !ok {
		return ""
	}
	generator := o.NGF > 0
	if generator != k.Generator {
		what := "a generator (netG "
		if !generator {
			what = "a discriminator (netD "
		}
		flags := make([]string, len(k.Others))
		for i, r := range k.Others {
			flags[i] = "--net " + r + "=FILE"
		}
		return fmt.Sprintf("it holds %s%s): give it as %s", what, o.Kind, strings.Join(flags, " or "))
	}
	var what []string
	var want, cannot []string
	set := func(key string, v any) {
		if key == "" {
			return
		}
		have, err := c.Get(key)
		if err != nil || fmt.Sprint(have) == fmt.Sprint(v) {
			return
		}
		if ck, ok := config.LookupKey(key); ok && len(ck.Enum) > 0 && !slices.Contains(ck.Enum, fmt.Sprint(v)) {
			cannot = append(cannot, fmt.Sprintf("%s %v (gogan's %s is one of %s)", key, v, key, strings.Join(ck.Enum, ", ")))
			return
		}
		want = append(want, fmt.Sprintf("--set %s=%v", key, v))
	}
	if generator {
		what = append(what, fmt.Sprintf("a generator: netG %s, ngf %d, %s norm, %d -> %d channels", o.Kind, o.NGF, o.Norm, o.InputNC, o.OutputNC))
		set("model.netG", o.Kind)
		set("model.ngf", o.NGF)
		if strings.HasPrefix(o.Kind, "resnet_") { // a U-Net's dropout holds no weights
			what = append(what, map[bool]string{true: "with dropout", false: "without dropout"}[o.Dropout])
			set("model.no_dropout", !o.Dropout)
		}
		set(k.OutputNC, o.OutputNC)
	} else {
		kind := o.Kind
		if o.Kind == "n_layers" {
			kind = fmt.Sprintf("n_layers, n_layers_D %d", o.NLayers)
		}
		what = append(what, fmt.Sprintf("a discriminator: netD %s, ndf %d, %s norm, %d input channels", kind, o.NDF, o.Norm, o.InputNC))
		if o.Kind == "basic" && c.Model.NetD == "n_layers" {
			set("model.n_layers_D", 3) // the same network
		} else {
			set("model.netD", o.Kind)
			if o.Kind == "n_layers" {
				set("model.n_layers_D", o.NLayers)
			}
		}
		set("model.ndf", o.NDF)
	}
	set("model.norm", o.Norm)
	if k.InputNC == "" {
		if have := c.Model.InputNC + c.Model.OutputNC; have != o.InputNC {
			cannot = append(cannot, fmt.Sprintf("%d input channels (the network takes model.input_nc + model.output_nc = %d)", o.InputNC, have))
		}
	} else {
		set(k.InputNC, o.InputNC)
	}
	s := "it holds " + strings.Join(what, ", ")
	if len(cannot) > 0 {
		s += "; the config differs in " + strings.Join(cannot, "; ")
	}
	if len(want) > 0 {
		s += ": import it with " + strings.Join(want, " ")
	}
	return s
}
