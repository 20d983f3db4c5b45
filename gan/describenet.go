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
		if generator {
			return OtherRole("a generator (netG "+o.Kind+")", k.Others...)
		}
		return OtherRole("a discriminator (netD "+o.Kind+")", k.Others...)
	}
	d := NewNetDescription(c)
	if generator {
		d.Holds("a generator: netG %s, ngf %d, %s norm, %d -> %d channels", o.Kind, o.NGF, o.Norm, o.InputNC, o.OutputNC)
		d.Set("model.netG", o.Kind)
		d.Set("model.ngf", o.NGF)
		if strings.HasPrefix(o.Kind, "resnet_") { // a U-Net's dropout holds no weights
			d.Holds("%s", map[bool]string{true: "with dropout", false: "without dropout"}[o.Dropout])
			d.Set("model.no_dropout", !o.Dropout)
		}
		d.Set(k.OutputNC, o.OutputNC)
	} else {
		kind := o.Kind
		if o.Kind == "n_layers" {
			kind = fmt.Sprintf("n_layers, n_layers_D %d", o.NLayers)
		}
		d.Holds("a discriminator: netD %s, ndf %d, %s norm, %s", kind, o.NDF, o.Norm, InputChannels(o.InputNC))
		if o.Kind == "basic" && c.Model.NetD == "n_layers" {
			d.Set("model.n_layers_D", 3) // the same network
		} else {
			d.Set("model.netD", o.Kind)
			if o.Kind == "n_layers" {
				d.Set("model.n_layers_D", o.NLayers)
			}
		}
		d.Set("model.ndf", o.NDF)
	}
	d.Set("model.norm", o.Norm)
	if k.InputNC == "" {
		if have := c.Model.InputNC + c.Model.OutputNC; have != o.InputNC {
			d.Differs("%s (the network takes model.input_nc + model.output_nc = %d)", InputChannels(o.InputNC), have)
		}
	} else {
		d.Set(k.InputNC, o.InputNC)
	}
	return d.String()
}

// InputChannels says n input channels, "1 input channel" for one.
func InputChannels(n int) string {
	if n == 1 {
		return "1 input channel"
	}
	return fmt.Sprintf("%d input channels", n)
}

// OtherRole says that a state dict holds what, another role's network,
// and the --net flags that import it.
func OtherRole(what string, roles ...string) string {
	flags := make([]string, len(roles))
	for i, r := range roles {
		flags[i] = "--net " + r + "=FILE"
	}
	return fmt.Sprintf("it holds %s: give it as %s", what, strings.Join(flags, " or "))
}

// NetDescription says what a state dict that does not load holds and the
// --set values that build its network, where the config differs: a
// recipe's Describe adds what it read (Holds), the settings (Set) and what
// no one key sets (Differs).
type NetDescription struct {
	c                  *config.Config
	what, want, cannot []string
}

// NewNetDescription starts a description against c.
func NewNetDescription(c *config.Config) *NetDescription { return &NetDescription{c: c} }

// Holds adds to what the file holds.
func (d *NetDescription) Holds(format string, args ...any) {
	d.what = append(d.what, fmt.Sprintf(format, args...))
}

// Set asks for key=v where the config has another value ("" key: none);
// a value the key does not take is said as a difference.
func (d *NetDescription) Set(key string, v any) {
	if key == "" {
		return
	}
	have, err := d.c.Get(key)
	if err != nil || fmt.Sprint(have) == fmt.Sprint(v) {
		return
	}
	if ck, ok := config.LookupKey(key); ok && len(ck.Enum) > 0 && !slices.Contains(ck.Enum, fmt.Sprint(v)) {
		d.Differs("%s %v (gogan's %s is one of %s)", key, v, key, strings.Join(ck.Enum, ", "))
		return
	}
	d.want = append(d.want, fmt.Sprintf("--set %s=%v", key, v))
}

// Differs adds a difference no --set mends.
func (d *NetDescription) Differs(format string, args ...any) {
	d.cannot = append(d.cannot, fmt.Sprintf(format, args...))
}

func (d *NetDescription) String() string {
	s := "it holds " + strings.Join(d.what, ", ")
	if len(d.cannot) > 0 {
		s += "; the config differs in " + strings.Join(d.cannot, "; ")
	}
	if len(d.want) > 0 {
		s += ": import it with " + strings.Join(d.want, " ")
	}
	return s
}

// OtherRecipes lists the registered recipes other than recipe whose
// networks a state dict's shapes are (their Describe reads them, for one
// of their roles, against their defaults), so that a file given to the
// wrong recipe's import (main.py's netG_epoch_N.pth with a pix2pix config)
// names the recipe it is for instead of the settings of this one. own are
// the shapes of the network the file was given for where recipe has no
// Describe to say that the file is none of its networks (nil where it
// has): a recipe whose Describe reads those too (DCGAN's, of a recipe built
// on DCGAN's networks) is not named, as the file may be one of recipe's
// networks of other settings.
func OtherRecipes(recipe string, shapes, own map[string][]int64) []string {
	var out []string
	for _, name := range Names() {
		d := registry[name]
		if name == recipe || d.Describe == nil {
			continue
		}
		c, err := config.ParseYAML("recipe "+name+"'s defaults", []byte("recipe: "+name+"\n"))
		if err != nil {
			continue
		}
		reads := func(sh map[string][]int64) bool {
			for _, spec := range d.Nets(c) {
				if d.Describe(c, spec.Role, sh) != "" {
					return true
				}
			}
			return false
		}
		if reads(shapes) && (own == nil || !reads(own)) {
			out = append(out, name)
		}
	}
	return out
}
