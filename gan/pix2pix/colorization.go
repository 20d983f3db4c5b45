package pix2pix

import (
	"gogan/config"
	"gogan/gan"
	"gogan/nets"
)

// The colorization recipe is pytorch-CycleGAN-and-pix2pix's
// ColorizationModel: pix2pix from a photo's lightness to its colours, the L
// channel of CIE Lab to its a and b (the pix2pix paper's Figure 9). Its data
// (data.dataset=colorization) are colour photos, each the pair (L, ab); its
// visuals, translations and scores show ab with L as RGB.
func init() {
	gan.Register(gan.Definition{
		Schema: config.RecipeSchema{
			Name:    "colorization",
			Ignores: []string{"data.image_size", "train.pool_size"},
			Doc:     "gray photos to colour: pix2pix from CIE Lab's L to its ab (pytorch-CycleGAN-and-pix2pix's colorization model).",
			// The colorization dataset's set_defaults: input_nc 1, output_nc 2.
			Defaults: defaults(map[string]any{"data.root": "datasets/colorization", "data.dataset": "colorization",
				"model.input_nc": 1, "model.output_nc": 2}),
			Validate: validateColorization,
			Reads:    []string{"pix2pix"}, // train.lambda_L1
		},
		Data:     dataConfig,
		Nets:     netSpecs,
		Inputs:   inputs,
		Describe: describeColorization,
		New: func(env gan.Env) (gan.Recipe, error) {
			r, err := New(env)
			if err == nil {
				r.(*Pix2Pix).lab = true
			}
			return r, err
		},
		Translate: func(c *config.Config) []gan.Translation {
			return []gan.Translation{{Direction: "AtoB", Role: "G", InputNC: 1, OutputNC: 2, PairDirection: "AtoB", Lab: true}}
		},
		BenchParams: benchParams,
		Export: func(c *config.Config, o gan.ExportOptions) gan.Export {
			return gan.CycleGANAndPix2PixExport(c, o, "colorization", []string{"G", "D"}, true)
		},
		ReferenceModel: "colorization",
		FromReference: func(opts map[string]string) ([]string, error) {
			return gan.CycleGANAndPix2PixConfig("colorization", opts)
		},
	})
}

// describeColorization is pix2pix's describe for networks of L to ab (G 1
// -> 2 channels, D 3 in), whose channels no key changes: a file of other
// channels is no colorization network ("", so that import names the
// recipes it is for).
func describeColorization(c *config.Config, role string, shapes map[string][]int64) string {
	if o, ok := nets.ReadOptions(shapes); ok && (o.NGF > 0 && (o.InputNC != 1 || o.OutputNC != 2) || o.NGF == 0 && o.InputNC != 3) {
		return ""
	}
	return describe(c, role, shapes)
}

func validateColorization(c *config.Config, bad func(string, ...any)) {
	d, m := &c.Data, &c.Model
	if d.Dataset != "colorization" {
		bad("recipe colorization learns from colour photos: data.dataset must be colorization, not %s", d.Dataset)
	}
	if m.InputNC != 1 || m.OutputNC != 2 {
		bad("recipe colorization maps L (1 channel) to ab (2 channels): model.input_nc must be 1 and model.output_nc 2 (got %d and %d)", m.InputNC, m.OutputNC)
	}
	if d.Direction != "AtoB" {
		bad("recipe colorization maps L to ab: data.direction must be AtoB, not %s", d.Direction)
	}
	if d.OnDevice {
		bad("recipe colorization's batches are CIE Lab values computed from each cropped photo on the host: set data.on_device=false")
	}
	validateNets(c, bad)
}
