package pix2pixhd

import (
	"fmt"
	"path/filepath"
	"strconv"

	"gogan/config"
	"gogan/data"
	"gogan/gan"
)

// export is pix2pixHD's layout: save_network's <epoch>_net_<G|D|E>.pth,
// and the options that make Pix2PixHDModel.initialize build these networks:
// the base options for G and E (test.py), the train options for D.
func export(c *config.Config, o gan.ExportOptions) gan.Export {
	m, d := c.Model, c.Data
	var roles []string
	for _, s := range netSpecs(c) {
		roles = append(roles, s.Role)
	}
	e := gan.Export{Reference: "pix2pixHD"}
	label, files := gan.SavedNetworks(o.Label, roles)
	e.Files = files
	itoa := func(key string) string { return strconv.Itoa(c.Int(key)) }
	base := []string{"--dataroot", gan.DataRoot(c), "--checkpoints_dir", filepath.Dir(o.Dir), "--name", filepath.Base(o.Dir),
		"--which_epoch", label, "--label_nc", itoa("data.label_nc"), "--input_nc", strconv.Itoa(m.InputNC),
		"--output_nc", strconv.Itoa(m.OutputNC), "--netG", m.NetG, "--ngf", strconv.Itoa(m.NGF),
		"--n_downsample_global", itoa("model.n_downsample_global"), "--n_blocks_global", itoa("model.n_blocks_global"),
		"--n_local_enhancers", itoa("model.n_local_enhancers"), "--n_blocks_local", itoa("model.n_blocks_local"),
		"--norm", m.Norm, "--fineSize", strconv.Itoa(d.CropSize)}
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
	// tested as gogan translate tests by default (resize_and_crop to the
	// crop itself: its random crop then takes it whole)
	testMode := data.TestPreprocess(d.Preprocess)
	test := append(append([]string{"python", "test.py"}, base...), "--loadSize", strconv.Itoa(data.TestLoad(testMode, d.LoadSize, d.CropSize)), "--resize_or_crop", testMode)
	if features {
		// Without it test.py samples features_clustered_010.npy, which
		// its encode_features.py writes (gogan features writes its own
		// format).
		test = append(test, "--use_encoded_image")
	}
	train := append(append([]string{"python", "train.py", "--continue_train"}, base...), "--loadSize", strconv.Itoa(d.LoadSize), "--resize_or_crop", d.Preprocess)
	f := gan.FloatArg
	train = append(train, "--ndf", strconv.Itoa(m.NDF), "--n_layers_D", strconv.Itoa(m.NLayersD), "--num_D", strconv.Itoa(m.NumD),
		"--batchSize", strconv.Itoa(d.BatchSize), "--nThreads", strconv.Itoa(d.ReferenceWorkers), "--lr", f(c.Train.LR), "--beta1", f(c.Train.Beta1),
		"--niter", strconv.Itoa(c.Train.Epochs), "--niter_decay", strconv.Itoa(c.Train.EpochsDecay),
		"--niter_fix_global", itoa("train.niter_fix_global"), "--lambda_feat", f(c.Float("train.lambda_feat")))
	if n := c.Train.PoolSize; n > 0 { // its default is 0
		train = append(train, "--pool_size", strconv.Itoa(n))
	}
	if c.Bool("train.no_vgg_loss") {
		train = append(train, "--no_vgg_loss")
	}
	if c.Bool("train.no_ganFeat_loss") {
		train = append(train, "--no_ganFeat_loss")
	}
	if c.Train.GANMode == "vanilla" {
		train = append(train, "--no_lsgan")
	}
	if d.NoFlip {
		train = append(train, "--no_flip")
	}
	if !d.Shuffle {
		train = append(train, "--serial_batches") // its DataLoader's shuffle
	}
	if d.Phase != "train" {
		train = append(train, "--phase", d.Phase)
	}
	switch c.CUDA.AMP {
	case "fp16":
		train = append(train, "--fp16") // its apex AMP, in float16
	case "bf16":
		e.Notes = append(e.Notes, "cuda.amp=bf16: pix2pixHD's mixed precision, --fp16, is float16 alone: its train.py runs in float32 (add --fp16 for float16)")
	}
	e.Commands = []string{gan.Command(test...), gan.Command(train...)}
	e.Notes = append(e.Notes, gan.Beta2Note(c)...)
	if !o.CUDA {
		e.Notes = append(e.Notes, "this machine has no CUDA GPU, which pix2pixHD's test.py and train.py need whatever --gpu_ids says: its encode_input moves every input there (.cuda())")
	}
	if d.MaxSamples > 0 {
		e.Notes = append(e.Notes, fmt.Sprintf("data.max_samples=%d trained on the first %d files; pix2pixHD's --max_dataset_size instead ends each epoch after that many images of the whole set: give its train.py a --dataroot of those files alone", d.MaxSamples, d.MaxSamples))
	}
	// pix2pixHD reads a split's folders, A to B, with no direction flag.
	if ab := c.Int("data.label_nc") == 0; ab || d.Direction != "AtoB" {
		in, out := "train_label/ and train_img/", "label maps"
		if ab {
			in, out = "train_A/ (inputs) and train_B/ (targets)", "images"
		}
		e.Notes = append(e.Notes, fmt.Sprintf("pix2pixHD reads %s under --dataroot, always from the first to the second (no --direction); this run read its %s as data.dataset=%s with data.direction=%s: give the reference folders laid out so, and gogan import --from a folder it trained takes data.direction and data.root from --config", in, out, d.Dataset, d.Direction))
	}
	// train.py --continue_train resumes at iter.txt's epoch (1-based) and
	// images into it, as its own save_latest_freq writes them.
	e.Texts = []gan.ExportText{{Name: "iter.txt", Text: fmt.Sprintf("%d\n%d\n", o.Completed+1, o.EpochImages),
		What: "the epoch and images into it where train.py --continue_train goes on"}}
	// The opt.txt its train.py of these settings writes beside the files
	// (gogan import --from reads it back), as the run that trained them
	// from the start wrote it (--continue_train writes none).
	opts := gan.ReferenceValues(c, options)
	opts["dataroot"], opts["checkpoints_dir"], opts["name"] = gan.DataRoot(c), filepath.Dir(o.Dir), filepath.Base(o.Dir)
	opts["fp16"] = gan.PrintPyBool(strconv.FormatBool(c.CUDA.AMP == "fp16"))
	e.Texts = append(e.Texts, gan.ExportText{Name: "opt.txt", Text: gan.PrintOptTxt(parser, opts), What: "options file, as train.py writes it"})
	return e
}

// options are pix2pixHD's BaseOptions and TrainOptions as its opt.txt
// prints them.
var options = []gan.ReferenceOption{
	{Names: []string{"dataroot"}, Key: "data.root"},
	{Names: []string{"phase"}, Key: "data.phase"},
	{Names: []string{"serial_batches"}, Key: "data.shuffle", Value: gan.NotBool, Print: gan.PrintNotBool}, // its DataLoader's shuffle
	{Names: []string{"label_nc"}, Key: "data.label_nc"},
	{Names: []string{"no_instance"}, Key: "data.no_instance", Value: gan.PyBool, Print: gan.PrintPyBool},
	{Names: []string{"batchSize"}, Key: "data.batch_size"},
	{Names: []string{"nThreads"}, Key: "data.reference_workers"},
	{Names: []string{"loadSize"}, Key: "data.load_size"},
	{Names: []string{"fineSize"}, Key: "data.crop_size"},
	{Names: []string{"resize_or_crop"}, Key: "data.preprocess"},
	{Names: []string{"no_flip"}, Key: "data.no_flip", Value: gan.PyBool, Print: gan.PrintPyBool},
	{Names: []string{"input_nc"}, Key: "model.input_nc"},
	{Names: []string{"output_nc"}, Key: "model.output_nc"},
	{Names: []string{"netG"}, Key: "model.netG"},
	{Names: []string{"ngf"}, Key: "model.ngf"},
	{Names: []string{"n_downsample_global"}, Key: "model.n_downsample_global"},
	{Names: []string{"n_blocks_global"}, Key: "model.n_blocks_global"},
	{Names: []string{"n_local_enhancers"}, Key: "model.n_local_enhancers"},
	{Names: []string{"n_blocks_local"}, Key: "model.n_blocks_local"},
	{Names: []string{"norm"}, Key: "model.norm"},
	{Names: []string{"instance_feat"}, Key: "model.instance_feat", Value: gan.PyBool, Print: gan.PrintPyBool},
	{Names: []string{"label_feat"}, Key: "model.label_feat", Value: gan.PyBool, Print: gan.PrintPyBool},
	{Names: []string{"feat_num"}, Key: "model.feat_num"},
	{Names: []string{"nef"}, Key: "model.nef"},
	{Names: []string{"n_downsample_E"}, Key: "model.n_downsample_E"},
	{Names: []string{"ndf"}, Key: "model.ndf"},
	{Names: []string{"n_layers_D"}, Key: "model.n_layers_D"},
	{Names: []string{"num_D"}, Key: "model.num_D"},
	{Names: []string{"niter"}, Key: "train.epochs"},
	{Names: []string{"niter_decay"}, Key: "train.epochs_decay"},
	{Names: []string{"niter_fix_global"}, Key: "train.niter_fix_global"},
	{Names: []string{"lr"}, Key: "train.lr"},
	{Names: []string{"beta1"}, Key: "train.beta1"},
	{Names: []string{"lambda_feat"}, Key: "train.lambda_feat"},
	{Names: []string{"pool_size"}, Key: "train.pool_size"},
	{Names: []string{"no_ganFeat_loss"}, Key: "train.no_ganFeat_loss", Value: gan.PyBool, Print: gan.PrintPyBool},
	{Names: []string{"no_vgg_loss"}, Key: "train.no_vgg_loss", Value: gan.PyBool, Print: gan.PrintPyBool},
	{Names: []string{"no_lsgan"}, Key: "train.gan_mode", Value: gan.GANModeFromNoLSGAN, Print: gan.NoLSGANFromGANMode},
}

// parser is the parser train.py's opt.txt is printed from: BaseOptions
// and TrainOptions, with gpu_ids as parse has made it a list and isTrain,
// set after parsing.
var parser = gan.ParserOf([][2]string{
	// BaseOptions.initialize
	{"name", "label2city"}, {"gpu_ids", "[0]"}, {"checkpoints_dir", "./checkpoints"}, {"model", "pix2pixHD"},
	{"norm", "instance"}, {"use_dropout", "False"}, {"data_type", "32"}, {"verbose", "False"}, {"fp16", "False"},
	{"local_rank", "0"}, {"batchSize", "1"}, {"loadSize", "1024"}, {"fineSize", "512"}, {"label_nc", "35"},
	{"input_nc", "3"}, {"output_nc", "3"}, {"dataroot", "./datasets/cityscapes/"}, {"resize_or_crop", "scale_width"},
	{"serial_batches", "False"}, {"no_flip", "False"}, {"nThreads", "2"}, {"max_dataset_size", "inf"},
	{"display_winsize", "512"}, {"tf_log", "False"}, {"netG", "global"}, {"ngf", "64"}, {"n_downsample_global", "4"},
	{"n_blocks_global", "9"}, {"n_blocks_local", "3"}, {"n_local_enhancers", "1"}, {"niter_fix_global", "0"},
	{"no_instance", "False"}, {"instance_feat", "False"}, {"label_feat", "False"}, {"feat_num", "3"},
	{"load_features", "False"}, {"n_downsample_E", "4"}, {"nef", "16"}, {"n_clusters", "10"},
	// TrainOptions.initialize
	{"display_freq", "100"}, {"print_freq", "100"}, {"save_latest_freq", "1000"}, {"save_epoch_freq", "10"},
	{"no_html", "False"}, {"debug", "False"}, {"continue_train", "False"}, {"load_pretrain", ""},
	{"which_epoch", "latest"}, {"phase", "train"}, {"niter", "100"}, {"niter_decay", "100"}, {"beta1", "0.5"},
	{"lr", "0.0002"}, {"num_D", "2"}, {"n_layers_D", "3"}, {"ndf", "64"}, {"lambda_feat", "10.0"},
	{"no_ganFeat_loss", "False"}, {"no_vgg_loss", "False"}, {"no_lsgan", "False"}, {"pool_size", "0"},
	{"isTrain", "True"},
})

// fromReference reads a pix2pixHD run's opt.txt as config --set pairs.
func fromReference(opts map[string]string) ([]string, error) {
	if v := opts["load_features"]; v == "True" {
		return nil, fmt.Errorf("load_features: precomputed feature maps are not read by gogan; its E encodes them")
	}
	if v := opts["max_dataset_size"]; v != "" && v != "inf" {
		// train.py ends each epoch after that many images of the whole
		// shuffled set; data.max_samples keeps the first N files for good.
		return nil, fmt.Errorf("max_dataset_size %s: pix2pixHD's train.py ends each epoch after %s images drawn from the whole set, which gogan does not do: delete that line from the options file to import the run (then --set data.max_samples=%s, in the import or a resume, trains on the first %s files instead)", v, v, v, v)
	}
	if v := opts["debug"]; v == "True" {
		// train.py sets these after parse() has written opt.txt
		return nil, fmt.Errorf("debug True: pix2pixHD's train.py --debug trains 1 epoch of 10 images whatever the niter, niter_decay and max_dataset_size written here say, which gogan does not repeat: delete that line from the options file to import the networks (with --set train.epochs=1 train.epochs_decay=0 for the debug run's schedule)")
	}
	return gan.ReferenceSets(opts, options)
}
