package pix2pixhd

import (
	"path/filepath"
	"strconv"

	"gogan/config"
	"gogan/gan"
)

// export is pix2pixHD's layout: save_network's <epoch>_net_<G|D|E>.pth,
// and the options that make Pix2PixHDModel.initialize build these networks:
// the base options for G and E (test.py), the train options for D.
func export(c *config.Config, o gan.ExportOptions) gan.Export {
	m, d := c.Model, c.Data
	label := o.Label
	if label == "" {
		label = "latest"
	}
	e := gan.Export{Reference: "pix2pixHD"}
	for _, s := range netSpecs(c) {
		e.Files = append(e.Files, gan.ExportFile{Role: s.Role, Name: label + "_net_" + s.Role + ".pth"})
	}
	itoa := func(key string) string { return strconv.Itoa(c.Int(key)) }
	base := []string{"--dataroot", gan.DataRoot(c), "--checkpoints_dir", filepath.Dir(o.Dir), "--name", filepath.Base(o.Dir),
		"--which_epoch", label, "--label_nc", itoa("data.label_nc"), "--input_nc", strconv.Itoa(m.InputNC),
		"--output_nc", strconv.Itoa(m.OutputNC), "--netG", m.NetG, "--ngf", strconv.Itoa(m.NGF),
		"--n_downsample_global", itoa("model.n_downsample_global"), "--n_blocks_global", itoa("model.n_blocks_global"),
		"--n_local_enhancers", itoa("model.n_local_enhancers"), "--n_blocks_local", itoa("model.n_blocks_local"),
		"--norm", m.Norm, "--loadSize", strconv.Itoa(d.LoadSize), "--fineSize", strconv.Itoa(d.CropSize),
		"--resize_or_crop", d.Preprocess}
	if c.Bool("data.no_instance") {
		base = append(base, "--no_instance")
	}
	features := newFeatures(c) != nil
	if features {
		kind := "--instance_feat"
		if c.Bool("model.label_feat") {
			kind = "--label_feat"
		}
		base = append(base, kind, "--feat_num", itoa("model.feat_num"), "--nef", itoa("model.nef"), "--n_downsample_E", itoa("model.n_downsample_E"))
	}
	test := append([]string{"python", "test.py"}, base...)
	if features {
		// Without it test.py samples features_clustered_010.npy, which
		// its encode_features.py writes (gogan features writes its own
		// format).
		test = append(test, "--use_encoded_image")
	}
	train := append([]string{"python", "train.py", "--continue_train"}, base...)
	train = append(train, "--ndf", strconv.Itoa(m.NDF), "--n_layers_D", strconv.Itoa(m.NLayersD), "--num_D", strconv.Itoa(m.NumD))
	if c.Bool("train.no_ganFeat_loss") {
		train = append(train, "--no_ganFeat_loss")
	}
	if c.Train.GANMode == "vanilla" {
		train = append(train, "--no_lsgan")
	}
	if d.NoFlip {
		train = append(train, "--no_flip")
	}
	e.Commands = []string{gan.Command(test...), gan.Command(train...)}
	return e
}
