package trainer

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gogan/config"
	"gogan/gan"
)

// refprobe is a recipe registered by a test that imports a reference's runs
// of its own --model (gan.Definition.ReferenceModel), as a recipe package
// added later would: pix2pix's, under another name.
func init() {
	d, err := gan.Lookup("pix2pix")
	if err != nil {
		panic(err)
	}
	r := *d
	r.Schema = config.RecipeSchema{Name: "refprobe", Doc: "a test recipe (trainer/reference_test.go).", Reads: []string{"pix2pix"},
		Defaults: d.Schema.Defaults, Validate: d.Schema.Validate}
	r.ReferenceModel = "refprobe_model"
	r.Describe = nil // so that no other recipe's file is said to be refprobe's (TestImportIntoARecipeOnAnothersNetworks)
	gan.Register(r)
}

// oldOptions is an opt.txt as pytorch-CycleGAN-and-pix2pix printed it in
// 2017 ("key: value", the options' earlier names: which_model_netG,
// which_direction, loadSize, fineSize, niter, no_lsgan, lambda_A as
// pix2pix's L1 weight), the format pix2pixHD still writes.
const oldOptions = `------------ Options -------------
batchSize: 1
beta1: 0.5
checkpoints_dir: ./checkpoints
dataroot: ./datasets/facades
dataset_mode: aligned
display_id: 1
fineSize: 256
gpu_ids: [0]
input_nc: 3
isTrain: True
lambda_A: 100.0
loadSize: 286
lr: 0.0002
max_dataset_size: inf
model: pix2pix
nThreads: 2
name: facades_pix2pix
ndf: 64
ngf: 64
niter: 100
niter_decay: 100
no_dropout: False
no_flip: False
no_lsgan: True
norm: batch
output_nc: 3
resize_or_crop: resize_and_crop
serial_batches: False
which_direction: BtoA
which_epoch: latest
which_model_netD: basic
which_model_netG: unet_256
-------------- End ----------------
`

// referenceFolder lays out checkpoints/NAME under a fresh folder with the
// options file and the named (empty: only their presence is read) files.
func referenceFolder(t *testing.T, optName, opts string, files ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "checkpoints", "facades_pix2pix")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if optName != "" {
		if err := os.WriteFile(filepath.Join(dir, optName), []byte(opts), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestReadReferenceRunOfARegisteredModel: import --from finds the recipe
// by the reference's --model among the registered recipes' ReferenceModel,
// so that a recipe added later imports its reference's runs from its own
// package; an unknown model is refused naming the models of them all.
func TestReadReferenceRunOfARegisteredModel(t *testing.T) {
	dir := referenceFolder(t, "opt.txt", strings.Replace(oldOptions, "model: pix2pix", "model: refprobe_model", 1), "latest_net_G.pth")
	run, err := ReadReferenceRun(dir, "", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if run.Config.Recipe != "refprobe" || run.Files["G"] != filepath.Join(dir, "latest_net_G.pth") {
		t.Errorf("model refprobe_model: recipe %s, files %v; want refprobe with latest_net_G.pth", run.Config.Recipe, run.Files)
	}
	dir = referenceFolder(t, "opt.txt", strings.Replace(oldOptions, "model: pix2pix", "model: test", 1))
	_, err = ReadReferenceRun(dir, "", "", nil)
	if err == nil || !strings.Contains(err.Error(), `model "test": gogan imports the colorization, cycle_gan, pix2pix, pix2pixHD and refprobe_model models`) {
		t.Errorf("model test: %v, want the models gogan imports", err)
	}
}

// TestReadReferenceRun: a reference checkpoint folder's options file, in
// the repository's earlier format and names, becomes the config gogan
// trains with, its relative dataroot found from the folder train.py ran
// in; what cannot be read is refused naming the file and the option.
func TestReadReferenceRun(t *testing.T) {
	dir := referenceFolder(t, "opt.txt", oldOptions, "latest_net_G.pth", "5_net_G.pth", "5_net_D.pth")
	ran := filepath.Dir(filepath.Dir(dir))
	if err := os.MkdirAll(filepath.Join(ran, "datasets", "facades"), 0o755); err != nil {
		t.Fatal(err)
	}
	run, err := ReadReferenceRun(dir, "", "", []string{"train.max_steps=7"})
	if err != nil {
		t.Fatal(err)
	}
	c := run.Config
	for key, want := range map[string]any{
		"recipe": "pix2pix", "model.netG": "unet_256", "model.netD": "basic", "model.norm": "batch", "model.no_dropout": false,
		"data.direction": "BtoA", "data.load_size": 286, "data.crop_size": 256, "data.preprocess": "resize_and_crop",
		"data.root": filepath.Join(ran, "datasets", "facades"), "data.dataset": "aligned", "data.max_samples": 0, "data.shuffle": true,
		"train.epochs": 100, "train.epochs_decay": 100, "train.gan_mode": "vanilla", "train.lambda_L1": 100.0, "train.max_steps": 7,
	} {
		if got, _ := c.Get(key); got != want {
			t.Errorf("%s = %v, want %v", key, got, want)
		}
	}
	if run.Files["G"] != filepath.Join(dir, "latest_net_G.pth") || run.Files["D"] != "" {
		t.Errorf("files %v, want latest_net_G.pth alone", run.Files)
	}
	if len(run.Notes) != 1 || !strings.Contains(run.Notes[0], "latest_net_D.pth") || !strings.Contains(run.AtNote, "--epoch_count N+1") {
		t.Errorf("notes %q, want one about the missing latest_net_D.pth, one on the epochs the folder does not give", run.Notes)
	}
	if run.At != (ImportedAt{}) {
		t.Errorf("latest files without iter.txt: at %+v, want epoch 0", run.At)
	}
	if run, err := ReadReferenceRun(dir, "5", "", nil); err != nil || run.Files["D"] != filepath.Join(dir, "5_net_D.pth") {
		t.Errorf("--label 5: %v, files %v", err, run)
	} else if run.At != (ImportedAt{Epochs: 5}) {
		t.Errorf("--label 5: at %+v, want 5 epochs (the files of the end of epoch 5)", run.At)
	}
	// --save_by_iter's iter_<images> files: no epoch, said so
	if err := os.Link(filepath.Join(dir, "5_net_G.pth"), filepath.Join(dir, "iter_30_net_G.pth")); err != nil {
		t.Fatal(err)
	}
	if run, err := ReadReferenceRun(dir, "iter_30", "", nil); err != nil || run.At != (ImportedAt{}) ||
		!strings.Contains(run.AtNote, "saved after 30 images of training (--save_by_iter), which does not say the epoch") {
		t.Errorf("--label iter_30: %v, at %+v, note %q", err, run.At, run.AtNote)
	}
	// pix2pixHD's iter.txt (np.savetxt of (epoch, epoch_iter): one number a
	// line) says where the latest files were saved: 120 images into epoch 7.
	os.WriteFile(filepath.Join(dir, "iter.txt"), []byte("7\n120\n"), 0o644)
	if run, err := ReadReferenceRun(dir, "", "", nil); err != nil || run.At != (ImportedAt{Epochs: 6, Samples: 120}) {
		t.Errorf("iter.txt 7, 120: %v, at %+v; want 6 epochs and 120 images", err, run)
	}
	if run, err := ReadReferenceRun(dir, "5", "", nil); err != nil || run.At != (ImportedAt{Epochs: 5}) {
		t.Errorf("--label 5 beside iter.txt: %v, at %+v; want the label's 5 epochs", err, run)
	}
	for _, bad := range []string{"7", "0\n0\n", "7,-1", "seven\n1\n"} {
		os.WriteFile(filepath.Join(dir, "iter.txt"), []byte(bad), 0o644)
		if _, err := ReadReferenceRun(dir, "", "", nil); err == nil || !strings.Contains(err.Error(), "iter.txt") || !strings.Contains(err.Error(), "--epoch") {
			t.Errorf("iter.txt %q: %v, want an error naming it and --epoch", bad, err)
		}
	}
	os.Remove(filepath.Join(dir, "iter.txt"))

	// The options' settings override a config file's; the file gives the
	// rest, and --set overrides both.
	cf := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(cf, []byte("seed: 5\ndata:\n  crop_size: 128\ntrain:\n  max_steps: 9\n  lr: 0.1\n"), 0o644)
	run, err = ReadReferenceRun(dir, "", cf, []string{"train.lr=0.3"})
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]any{"seed": 5, "train.max_steps": 9, "data.crop_size": 256, "train.lr": 0.3} {
		if got, _ := run.Config.Get(key); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("with --config: %s = %v, want %v", key, got, want)
		}
	}

	// Today's format and names (print_options' columns and defaults,
	// n_epochs, lr_policy linear), in a folder moved away from its dataset,
	// and a test run's options.
	today := "----------------- Options ---------------\n" +
		"               batch_size: 4                             \t[default: 1]\n" +
		"          checkpoints_dir: ./checkpoints                 \n" +
		"                 dataroot: ./datasets/maps               \t[default: None]\n" +
		"                 gan_mode: lsgan                         \n" +
		"                  isTrain: True                          \t[default: None]\n" +
		"                lr_policy: linear                        \n" +
		"                    model: cycle_gan                     \t[default: cycle_gan]\n" +
		"                 n_epochs: 50                            \t[default: 100]\n" +
		"           n_epochs_decay: 70                            \t[default: 100]\n" +
		"                     netG: resnet_6blocks                \t[default: resnet_9blocks]\n" +
		"           serial_batches: True                          \t[default: False]\n" +
		"                   suffix:                               \n" +
		"----------------- End -------------------\n"
	moved := referenceFolder(t, "train_opt.txt", today, "latest_net_G_A.pth", "latest_net_G_B.pth")
	run, err = ReadReferenceRun(moved, "", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]any{"recipe": "cyclegan", "data.batch_size": 4, "train.gan_mode": "lsgan", "train.lr_policy": "linear",
		"train.epochs": 50, "train.epochs_decay": 70, "model.netG": "resnet_6blocks", "data.serial_batches": true, "data.shuffle": false,
		"data.root": "./datasets/maps"} {
		if got, _ := run.Config.Get(key); got != want {
			t.Errorf("today's options: %s = %v, want %v", key, got, want)
		}
	}
	if notes := strings.Join(run.Notes, "\n"); !strings.Contains(notes, "./datasets/maps") || !strings.Contains(notes, "latest_net_D_A.pth") {
		t.Errorf("notes %q, want the dataroot not found and the missing discriminators", notes)
	}
	// The split trained on (--phase) is read; a test run's phase is the
	// split test.py read, not one to train on.
	phased := strings.Replace(today, "                   suffix:", "                    phase: val                           \t[default: train]\n                   suffix:", 1)
	if run, err := ReadReferenceRun(referenceFolder(t, "train_opt.txt", phased, "latest_net_G_A.pth", "latest_net_G_B.pth"), "", "", nil); err != nil || run.Config.Data.Phase != "val" {
		t.Errorf("--phase val: %v, config %v", err, run)
	}
	// print_options names the file by the phase: val_opt.txt, read before
	// a test run's test_opt.txt beside it
	valRun := referenceFolder(t, "val_opt.txt", phased, "latest_net_G_A.pth", "latest_net_G_B.pth")
	os.WriteFile(filepath.Join(valRun, "test_opt.txt"), []byte(strings.Replace(strings.Replace(phased, "phase: val ", "phase: test", 1), "True ", "False", 1)), 0o644)
	if run, err := ReadReferenceRun(valRun, "", "", nil); err != nil || run.Config.Data.Phase != "val" || !strings.HasSuffix(run.Options, "val_opt.txt") {
		t.Errorf("a run trained with --phase val (val_opt.txt): %v, config %v", err, run)
	}
	testRun := referenceFolder(t, "test_opt.txt", strings.Replace(strings.Replace(phased, "phase: val ", "phase: test", 1), "True ", "False", 1), "latest_net_G_A.pth", "latest_net_G_B.pth")
	if run, err := ReadReferenceRun(testRun, "", "", nil); err != nil || !strings.Contains(strings.Join(run.Notes, "\n"), "test run") {
		t.Errorf("a test run's options: %v, notes %v", err, run)
	} else if run.Config.Data.Phase != "train" {
		t.Errorf("a test run's options: data.phase %q, want train (test.py's split is not the training one)", run.Config.Data.Phase)
	}

	// pix2pixHD's opt.txt: its DataLoader's shuffle is not serial_batches,
	// its folders are phase + _label/_img; its max_dataset_size ends each
	// epoch early, which gogan does not do: refused.
	hd := "------------ Options -------------\nbatchSize: 1\ndataroot: ./datasets/cityscapes/\nisTrain: True\nlabel_nc: 35\n" +
		"max_dataset_size: inf\nmodel: pix2pixHD\nnetG: global\nphase: val\nserial_batches: True\n-------------- End ----------------\n"
	run, err = ReadReferenceRun(referenceFolder(t, "opt.txt", hd, "latest_net_G.pth", "latest_net_D.pth"), "", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]any{"recipe": "pix2pixhd", "data.phase": "val", "data.shuffle": false, "data.label_nc": 35} {
		if got, _ := run.Config.Get(key); got != want {
			t.Errorf("pix2pixHD's options: %s = %v, want %v", key, got, want)
		}
	}
	// Label maps have no direction to get wrong: no note on it; images
	// (label_nc 0) do. --fp16 is said, not dropped without a word.
	notes := func(r *ReferenceRun) string { return strings.Join(r.Notes, "\n") }
	if strings.Contains(notes(run), "direction") || strings.Contains(notes(run), "fp16") {
		t.Errorf("pix2pixHD's options of label maps without --fp16: notes %q, want none on the direction or fp16", run.Notes)
	}
	images := strings.Replace(strings.Replace(hd, "label_nc: 35", "label_nc: 0", 1), "isTrain: True", "fp16: True\nisTrain: True", 1)
	run, err = ReadReferenceRun(referenceFolder(t, "opt.txt", images, "latest_net_G.pth", "latest_net_D.pth"), "", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := notes(run); !strings.Contains(n, "options carry no direction") || !strings.Contains(n, "--set cuda.amp=fp16") {
		t.Errorf("pix2pixHD's options of images with --fp16: notes %q, want the direction and fp16 notes", run.Notes)
	}
	// The options pix2pixHD prints that gogan's config has no key for are
	// said by name, with what to do, where they are not the defaults
	// (data_type 32, use_dropout False, n_clusters 10): none at those.
	for _, o := range []string{"data_type", "use_dropout", "n_clusters"} {
		if strings.Contains(notes(run), o) {
			t.Errorf("pix2pixHD's options without %s: notes %q, want none on it", o, run.Notes)
		}
	}
	others := strings.Replace(hd, "isTrain: True", "data_type: 16\ninstance_feat: True\nisTrain: True\nn_clusters: 20\nuse_dropout: True", 1)
	run, err = ReadReferenceRun(referenceFolder(t, "opt.txt", others, "latest_net_G.pth", "latest_net_D.pth", "latest_net_E.pth"), "", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"--data_type 16", "--set cuda.amp=fp16", "--use_dropout", "builds no dropout", "--n_clusters 20", "gogan features --n-clusters 20"} {
		if n := notes(run); !strings.Contains(n, want) {
			t.Errorf("pix2pixHD's options with data_type 16, use_dropout, n_clusters 20: notes %q do not say %q", n, want)
		}
	}
	eight := strings.Replace(hd, "isTrain: True", "data_type: 8\nisTrain: True", 1)
	if run, err = ReadReferenceRun(referenceFolder(t, "opt.txt", eight, "latest_net_G.pth"), "", "", nil); err != nil || !strings.Contains(notes(run), "--data_type 8") {
		t.Errorf("pix2pixHD's options with data_type 8: %v, notes %q, want a note on it", err, notes(run))
	}
	// --debug trained 1 epoch of 10 images whatever niter, niter_decay
	// and max_dataset_size say (train.py sets them after writing opt.txt).
	_, err = ReadReferenceRun(referenceFolder(t, "opt.txt", strings.Replace(hd, "isTrain: True", "debug: True\nisTrain: True", 1), "latest_net_G.pth"), "", "", nil)
	if err == nil || !strings.Contains(err.Error(), "opt.txt") || !strings.Contains(err.Error(), "debug True") || !strings.Contains(err.Error(), "delete that line") {
		t.Errorf("pix2pixHD's debug True: %v, want a refusal naming the file, the option and what to do", err)
	}
	if _, err = ReadReferenceRun(referenceFolder(t, "opt.txt", strings.Replace(hd, "isTrain: True", "debug: False\nisTrain: True", 1), "latest_net_G.pth"), "", "", nil); err != nil {
		t.Errorf("pix2pixHD's debug False: %v", err)
	}
	_, err = ReadReferenceRun(referenceFolder(t, "opt.txt", strings.Replace(hd, "max_dataset_size: inf", "max_dataset_size: 10", 1), "latest_net_G.pth"), "", "", nil)
	if err == nil || !strings.Contains(err.Error(), "opt.txt") || !strings.Contains(err.Error(), "max_dataset_size 10") || !strings.Contains(err.Error(), "delete that line from the options file") || !strings.Contains(err.Error(), "data.max_samples=10") {
		t.Errorf("pix2pixHD's max_dataset_size 10: %v, want a refusal naming the file, the option and data.max_samples", err)
	}

	for _, c := range []struct {
		name, optName, opts string
		files               []string
		want                []string
	}{
		{"no options", "", "", []string{"latest_net_G.pth"}, []string{"train_opt.txt", "--net"}},
		{"test model", "test_opt.txt", strings.Replace(oldOptions, "model: pix2pix", "model: test", 1), []string{"latest_net_G.pth"}, []string{"test_opt.txt", `"test"`}},
		{"netG gogan lacks", "opt.txt", strings.Replace(oldOptions, "unet_256", "unet_64", 1), []string{"latest_net_G.pth"}, []string{"opt.txt", "model.netG", "unet_64"}},
		{"dataset_mode gogan lacks", "opt.txt", strings.Replace(oldOptions, "dataset_mode: aligned", "dataset_mode: template", 1), []string{"latest_net_G.pth"}, []string{"opt.txt", "dataset_mode template"}},
		{"a bool that is not one", "opt.txt", strings.Replace(oldOptions, "no_flip: False", "no_flip: maybe", 1), []string{"latest_net_G.pth"}, []string{"opt.txt", "no_flip", "maybe"}},
		{"no generator", "opt.txt", oldOptions, []string{"latest_net_D.pth"}, []string{"latest_net_G.pth", "--label"}},
		{"lr_policy gogan lacks", "opt.txt", oldOptions + "lr_policy: exponential\n", []string{"latest_net_G.pth"}, []string{"opt.txt", "train.lr_policy", "exponential"}},
	} {
		_, err := ReadReferenceRun(referenceFolder(t, c.optName, c.opts, c.files...), "", "", nil)
		if err == nil {
			t.Errorf("%s: read, want an error", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not say %q", c.name, err, w)
			}
		}
	}
}
