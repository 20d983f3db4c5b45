package config_test

import (
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gogan/config"
	_ "gogan/gan/all"
)

func writeYAML(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustLoad(t *testing.T, path string, sets []string, env []string) *config.Config {
	t.Helper()
	c, err := config.LoadConfigEnv(path, sets, env)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return c
}

func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want an error containing %q, got none", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Fatalf("error %q does not contain %q", err, p)
		}
	}
}

func TestDefaultsAreValidAndMatchReferences(t *testing.T) {
	c := mustLoad(t, "", nil, nil)
	// pytorch/examples dcgan
	if c.Recipe != "dcgan" || c.Train.LR != 2e-4 || c.Train.Beta1 != 0.5 || c.Int("model.nz") != 100 ||
		c.Model.NGF != 64 || c.Model.NDF != 64 || c.Data.BatchSize != 64 || c.Data.ImageSize != 64 || c.Train.Epochs != 25 {
		t.Fatalf("dcgan defaults differ from pytorch/examples: %+v", c)
	}
	if c.Data.Channels != 1 || c.Sources["data.channels"] != "default" {
		t.Fatalf("auto channels for fashion-mnist = %d (%s), want 1", c.Data.Channels, c.Sources["data.channels"])
	}
	p := mustLoad(t, "", []string{"recipe=pix2pix"}, nil)
	// pytorch-CycleGAN-and-pix2pix: pix2pix model defaults and train options
	want := map[string]any{
		"model.netG": "unet_256", "model.netD": "basic", "model.n_layers_D": 3, "model.norm": "batch",
		"train.lambda_L1": 100.0, "data.load_size": 286, "data.crop_size": 256, "train.epochs": 100,
		"train.epochs_decay": 100, "model.init_type": "normal", "model.init_gain": 0.02, "data.batch_size": 1,
		"data.dataset": "aligned", "train.gan_mode": "vanilla", "train.lr_policy": "linear", "data.no_flip": false,
		"data.direction": "AtoB", "data.preprocess": "resize_and_crop",
	}
	for k, w := range want {
		got, err := p.Get(k)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, w) {
			t.Errorf("pix2pix default %s = %v, want %v", k, got, w)
		}
	}
	if p.Sources["model.netG"] != "default for pix2pix" || p.Sources["recipe"] != "--set" {
		t.Fatalf("sources: %v", p.Sources)
	}
	// pytorch-CycleGAN-and-pix2pix: cycle_gan_model's options over the
	// TrainOptions (gan_mode lsgan, pool_size 50) and Adam's betas=(beta1, 0.999)
	cg := mustLoad(t, "", []string{"recipe=cyclegan", "data.dataset=unaligned"}, nil)
	for k, w := range map[string]any{
		"model.netG": "resnet_9blocks", "model.netD": "basic", "model.n_layers_D": 3, "model.norm": "instance",
		"model.no_dropout": true, "model.ngf": 64, "model.ndf": 64, "train.gan_mode": "lsgan",
		"train.lambda_A": 10.0, "train.lambda_B": 10.0, "train.lambda_identity": 0.5, "train.pool_size": 50,
		"train.lr": 2e-4, "train.beta1": 0.5, "train.beta2": 0.999, "train.epochs": 100, "train.epochs_decay": 100,
		"train.lr_policy": "linear", "data.load_size": 286, "data.crop_size": 256, "data.batch_size": 1,
		"train.lambda_gp": 10.0, // networks.cal_gradient_penalty's lambda_gp
	} {
		got, err := cg.Get(k)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, w) {
			t.Errorf("cyclegan default %s = %v (%T), want %v", k, got, got, w)
		}
	}
	// pix2pixHD: options/base_options.py and train_options.py (no_lsgan
	// false: lsgan; niter and niter_decay as epochs and epochs_decay)
	hd := mustLoad(t, "", []string{"recipe=pix2pixhd"}, nil)
	for k, w := range map[string]any{
		"model.netG": "global", "model.ngf": 64, "model.n_downsample_global": 4, "model.n_blocks_global": 9,
		"model.n_blocks_local": 3, "model.n_local_enhancers": 1, "train.niter_fix_global": 0, "data.label_nc": 35,
		"data.load_size": 1024, "data.crop_size": 512, "data.preprocess": "scale_width", "model.norm": "instance",
		"model.feat_num": 3, "model.n_downsample_E": 4, "model.nef": 16, "data.batch_size": 1,
		"model.input_nc": 3, "model.output_nc": 3, "model.num_D": 2, "model.n_layers_D": 3, "model.ndf": 64,
		"train.lambda_feat": 10.0, "train.no_ganFeat_loss": false, "train.no_vgg_loss": false, "train.gan_mode": "lsgan",
		"train.lr": 2e-4, "train.beta1": 0.5, "train.beta2": 0.999, "train.epochs": 100, "train.epochs_decay": 100,
		"train.lr_policy": "pix2pixhd", "model.instance_feat": false, "model.label_feat": false, "data.no_instance": false,
		"train.pool_size": 0, // train_options.py's --pool_size
	} {
		got, err := hd.Get(k)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, w) {
			t.Errorf("pix2pixhd default %s = %v (%T), want %v", k, got, got, w)
		}
	}
}

// TestAutoChannels: data.channels 0 resolves per dataset as main.py's nc
// (1 for mnist, 3 otherwise), not for fashion-mnist alone: a DCGAN on MNIST
// built for 3 channels is another network than the reference's. A value
// given stays as given.
func TestAutoChannels(t *testing.T) {
	for dataset, want := range map[string]int{"fashion-mnist": 1, "mnist": 1, "cifar10": 3, "lsun": 3, "folder": 3} {
		c := mustLoad(t, "", []string{"data.dataset=" + dataset}, nil)
		if c.Data.Channels != want || c.Sources["data.channels"] != "default" {
			t.Errorf("data.dataset=%s: data.channels %d (%s), want %d (default)", dataset, c.Data.Channels, c.Sources["data.channels"], want)
		}
	}
	if c := mustLoad(t, "", []string{"data.dataset=folder", "data.channels=1"}, nil); c.Data.Channels != 1 {
		t.Errorf("data.dataset=folder data.channels=1: %d", c.Data.Channels)
	}
}

// TestEverySchemaKeyHasAValue: every key, shared or a recipe's, is read and
// written through a loaded config under every recipe, has documentation,
// and every recipe's defaults pass validation (LoadConfig validates them).
func TestEverySchemaKeyHasAValue(t *testing.T) {
	if len(config.Recipes()) < 2 {
		t.Fatalf("registered recipes: %v", config.Recipes())
	}
	for _, r := range config.Recipes() {
		c := mustLoad(t, "", []string{"recipe=" + r.Name}, nil)
		seen := map[string]bool{}
		for _, k := range config.Schema() {
			if _, err := c.Get(k.Name); err != nil {
				t.Error(err)
			}
			if seen[strings.ToLower(k.Name)] {
				t.Errorf("duplicate key %s", k.Name)
			}
			seen[strings.ToLower(k.Name)] = true
			if k.Doc == "" {
				t.Errorf("%s has no doc", k.Name)
			}
		}
	}
	// and every leaf field must have a key
	var walk func(v reflect.Type, prefix string)
	walk = func(v reflect.Type, prefix string) {
		for i := 0; i < v.NumField(); i++ {
			f := v.Field(i)
			tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if tag == "-" || !f.IsExported() {
				continue
			}
			if f.Type.Kind() == reflect.Struct {
				walk(f.Type, prefix+tag+".")
				continue
			}
			if _, ok := config.LookupKey(prefix + tag); !ok {
				t.Errorf("field %s (%s) has no schema key", f.Name, prefix+tag)
			}
		}
	}
	walk(reflect.TypeOf(config.Config{}), "")
}

func TestLayersAndPrecedence(t *testing.T) {
	path := writeYAML(t, `
recipe: dcgan
seed: 7
data:
  batch_size: 32
  root: /tmp/x
model:
  netG: dcgan
train:
  lr: 1e-4
`)
	c := mustLoad(t, path, nil, nil)
	if c.Seed != 7 || c.Data.BatchSize != 32 || c.Train.LR != 1e-4 || c.Data.Root != "/tmp/x" {
		t.Fatalf("file values not applied: %+v", c)
	}
	if c.Sources["data.batch_size"] != path {
		t.Fatalf("source = %q", c.Sources["data.batch_size"])
	}
	// env beats the file, --set beats env
	c = mustLoad(t, path, []string{"data.batch_size=8"}, []string{"GOGAN_DATA_BATCH_SIZE=16", "GOGAN_SEED=3", "HOME=/root"})
	if c.Data.BatchSize != 8 || c.Seed != 3 {
		t.Fatalf("precedence: batch %d seed %d", c.Data.BatchSize, c.Seed)
	}
	if c.Sources["seed"] != "env GOGAN_SEED" || c.Sources["data.batch_size"] != "--set" {
		t.Fatalf("sources %v", c.Sources)
	}
	// case-insensitive keys, canonical enum spelling, bool spellings
	c = mustLoad(t, "", []string{"MODEL.NETG=dcgan", "data.direction=btoa", "data.shuffle=no", "device=cuda:1"}, nil)
	if c.Data.Direction != "BtoA" || c.Data.Shuffle || c.Device != "cuda:1" {
		t.Fatalf("parsed %+v", c.Data)
	}
	c = mustLoad(t, "", []string{"data.shuffle=0", "data.drop_last=1"}, []string{"GOGAN_DATA_NO_FLIP=Off"})
	if c.Data.Shuffle || !c.Data.DropLast || c.Data.NoFlip {
		t.Fatalf("0, 1 and Off as bools: %+v", c.Data)
	}
	// yes, on and t as an env file or a shell script writes them, any case
	c = mustLoad(t, "", []string{"data.drop_last=yes", "data.in_memory=On", "data.skip_invalid=T"}, []string{"GOGAN_DATA_SHUFFLE=F", "GOGAN_DATA_NO_FLIP=YES"})
	if !c.Data.DropLast || !c.Data.InMemory || !c.Data.SkipInvalid || c.Data.Shuffle || !c.Data.NoFlip {
		t.Fatalf("yes, On, T, F and YES as bools: %+v", c.Data)
	}
	// spaces around a value (a quoted --set, an env file) are not part of it
	c = mustLoad(t, "", []string{"data.batch_size= 8 ", "data.root= /data/x "}, []string{"GOGAN_DATA_DIRECTION= btoa"})
	if c.Data.BatchSize != 8 || c.Data.Root != "/data/x" || c.Data.Direction != "BtoA" {
		t.Fatalf("values with spaces: %+v", c.Data)
	}
}

func TestRealEnvironment(t *testing.T) {
	t.Setenv("GOGAN_TRAIN_MAX_STEPS", "123")
	c, err := config.LoadConfig("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Train.MaxSteps != 123 {
		t.Fatalf("max_steps = %d", c.Train.MaxSteps)
	}
	t.Setenv("GOGAN_PYTHON", "/usr/bin/python3") // a tool's variable, not a key
	if _, err := config.LoadConfig("", nil); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOGAN_TRAIN_EPOCH", "3")
	_, err = config.LoadConfig("", nil)
	wantErr(t, err, "GOGAN_TRAIN_EPOCH", "did you mean GOGAN_TRAIN_EPOCHS (train.epochs)")
}

// TestToolVariablesAreNotKeys: every GOGAN_* variable that the sources read
// (os.Getenv, Python's os.environ) or that a script exports is one a config
// load accepts. scripts/gpu-check exported GOGAN_FACADES for the trainer's
// CUDA tests, and on the GPU machine each config load refused it: those tests
// and every gogan command of the run would have failed at their start.
func TestToolVariablesAreNotKeys(t *testing.T) {
	re := regexp.MustCompile(`(?:Getenv\("|environ(?:\.get\(|\[)"|export )(GOGAN_[A-Z0-9_]+)`)
	found := map[string]string{}
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); n == ".git" || n == "build" || n == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if ext := filepath.Ext(path); ext != ".go" && ext != ".py" && filepath.Base(filepath.Dir(path)) != "scripts" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range re.FindAllSubmatch(b, -1) {
			found[string(m[1])] = path
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found["GOGAN_FACADES"] == "" || found["GOGAN_PYTHON"] == "" {
		t.Fatalf("the scan found %v, not even GOGAN_FACADES and GOGAN_PYTHON", found)
	}
	for name, path := range found {
		if _, err := config.LoadConfigEnv("", nil, []string{name + "=1"}); err != nil && strings.Contains(err.Error(), "environment variable") {
			t.Errorf("%s (%s) is refused by a config load: add it to config.NonConfigEnv: %v", name, path, err)
		}
	}
}

// TestReferenceNameOnceAReference: a name a reference registers twice (its
// options' table and a list of its own, or another spelling argparse reads
// alike) is said once; another reference's name is added to it.
func TestReferenceNameOnceAReference(t *testing.T) {
	config.RegisterReferenceNames("test reference", map[string]string{"zz_opt": "data.batch_size"})
	config.RegisterReferenceNames("test reference", map[string]string{"zz-opt": "data.batch_size"})
	config.RegisterReferenceVariables("test reference", map[string]string{"zz_opt": "data.batch_size"})
	_, err := config.LoadConfigEnv("", []string{"zz_opt=3"}, nil)
	wantErr(t, err, "unknown key zz_opt; test reference's --zz_opt is data.batch_size here")
	if strings.Count(err.Error(), "test reference") != 1 {
		t.Errorf("the reference's name said more than once: %v", err)
	}
	config.RegisterReferenceNames("other test reference", map[string]string{"zz_opt": "data.batch_size"})
	_, err = config.LoadConfigEnv("", []string{"zz_opt=3"}, nil)
	wantErr(t, err, "unknown key zz_opt; test reference's --zz_opt and other test reference's --zz_opt are data.batch_size here")
}

// TestUnknownKeyAndRuleInOneMessage: a config with an unknown key that
// also breaks a rule across keys says both at once: it said the unknown
// key alone, and once that was fixed, the rule. A refused value still
// stops the load before the rules (their defaults would stand in for it),
// and a checkpoint's stored config says its unknown keys alone (a newer
// gogan's, which its rules may need).
func TestUnknownKeyAndRuleInOneMessage(t *testing.T) {
	yml := "device: cpu\ncuda:\n  amp: bf16\ndata:\n  bogus_key: 1\n"
	_, err := config.LoadConfigEnv(writeYAML(t, yml), nil, nil)
	wantErr(t, err, "unknown key data.bogus_key", "cuda.amp=bf16 needs a CUDA device, but device=cpu")
	_, err = config.LoadConfigEnv("", []string{"device=cpu", "cuda.amp=bf16", "data.bogus_key=1"}, []string{"GOGAN_DATA_BOGUS=1"})
	wantErr(t, err, "--set: unknown key data.bogus_key", "GOGAN_DATA_BOGUS", "cuda.amp=bf16 needs a CUDA device")
	_, err = config.LoadConfigEnv("", []string{"device=cpu", "cuda.amp=bf16", "data.bogus_key=1", "data.batch_size=x"}, nil)
	if wantErr(t, err, "unknown key data.bogus_key", "data.batch_size"); strings.Contains(err.Error(), "cuda.amp") {
		t.Errorf("a refused value, then the rules checked on the defaults: %v", err)
	}
	_, err = config.ParseYAML("state.json", []byte(yml))
	if wantErr(t, err, "unknown key data.bogus_key"); !config.OnlyUnknownKeys(err) {
		t.Errorf("a stored config's unknown keys and its rules: %v; want the unknown keys alone", err)
	}
}

func TestUnknownKeys(t *testing.T) {
	path := writeYAML(t, "train:\n  epoch: 5\ndata:\n  batchsize: 3\n")
	_, err := config.LoadConfigEnv(path, nil, nil)
	wantErr(t, err, "unknown key train.epoch; did you mean train.epochs?", "unknown key data.batchsize; pytorch-CycleGAN-and-pix2pix's --batchSize, pytorch/examples dcgan's --batchSize and pix2pixHD's --batchSize are data.batch_size here", path)

	_, err = config.LoadConfigEnv("", []string{"model.ngff=3"}, nil)
	wantErr(t, err, "--set", "unknown key model.ngff; did you mean model.ngf?")

	// the references' option names, whatever their spelling suggests
	for set, want := range map[string]string{
		"max_dataset_size=9": "pytorch-CycleGAN-and-pix2pix's --max_dataset_size is data.max_samples here",
		"num_threads=4":      "pytorch-CycleGAN-and-pix2pix's --num_threads is data.reference_workers here",
		"gpu_ids=0":          "pytorch-CycleGAN-and-pix2pix's --gpu_ids is device here",
		"data.netG=unet_128": "pytorch-CycleGAN-and-pix2pix's --netG and pix2pixHD's --netG are model.netG here",
		// every reference that has the option is named (main.py's user
		// reads its own)
		"niter=5": "pytorch-CycleGAN-and-pix2pix's --niter, pytorch/examples dcgan's --niter and pix2pixHD's --niter are train.epochs here",
		// main.py's --netG and --netD are weights files to continue from
		"netG=netG_epoch_3.pth": "pytorch-CycleGAN-and-pix2pix's --netG and pix2pixHD's --netG are model.netG here; pytorch/examples dcgan's --netG has no key here: gogan import --pth FILE",
		"netD=netD_epoch_3.pth": "pytorch-CycleGAN-and-pix2pix's --netD is model.netD here; pytorch/examples dcgan's --netD has no key here: gogan import --pth-d FILE",
		"manualSeed=1":          "pytorch/examples dcgan's --manualSeed is seed here",
		"nc=1":                  "pytorch/examples dcgan's nc (a variable there, not an option) is data.channels here",
		"n_downsample_global=3": "pix2pixHD's --n_downsample_global is model.n_downsample_global here",
		// the model (a section's name here) and the models' own options
		"model=cycle_gan":     "unknown key model; pytorch-CycleGAN-and-pix2pix's --model and pix2pixHD's --model are recipe here, which takes pix2pix, colorization, cyclegan (--model cycle_gan) and pix2pixhd",
		"dataset_mode=single": "pytorch-CycleGAN-and-pix2pix's --dataset_mode is data.dataset here",
		"lambda_identity=0":   "pytorch-CycleGAN-and-pix2pix's --lambda_identity is train.lambda_identity here",
		"lambda_L1=10":        "pytorch-CycleGAN-and-pix2pix's --lambda_L1 is train.lambda_L1 here",
		"fp16=true":           "pix2pixHD's --fp16 is cuda.amp here, as cuda.amp=fp16",
		"pool_size=0":         "pytorch-CycleGAN-and-pix2pix's --pool_size and pix2pixHD's --pool_size are train.pool_size here",
		"serial_batches=true": "are data.shuffle here, its opposite: --serial_batches is data.shuffle=false, and for CycleGAN, whose --serial_batches also pairs A[i] with B[i], data.serial_batches=true with it",
		// the references count their frequencies in images, gogan in steps
		"print_freq=100":   "pytorch-CycleGAN-and-pix2pix's --print_freq and pix2pixHD's --print_freq are train.log_every here, in steps where the references count images (--print_freq 100 with batches of 4, --batch_size or pix2pixHD's --batchSize, is train.log_every 25)",
		"display_freq=400": "pytorch-CycleGAN-and-pix2pix's --display_freq and pix2pixHD's --display_freq are train.sample_every here, in steps where the references count images",
		// pix2pixHD's TensorBoard switch
		"tf_log=true":            "pix2pixHD's --tf_log is logging.tensorboard here",
		"continue_train=true":    "pytorch-CycleGAN-and-pix2pix's --continue_train has no key here: gogan resume RUN",
		"train.continue_train=1": "unknown key train.continue_train; pytorch-CycleGAN-and-pix2pix's --continue_train has no key here: gogan resume RUN",
		"ngpu=2":                 "pytorch/examples dcgan's --ngpu has no key here: device picks the GPU; gogan train --nproc N",
		// argparse's dest spells --dry-run dry_run: both get the advice
		"dry-run=1":          "pytorch/examples dcgan's --dry-run has no key here: train.max_steps=1",
		"dry_run=1":          "pytorch/examples dcgan's --dry-run has no key here: train.max_steps=1",
		"max-dataset-size=9": "pytorch-CycleGAN-and-pix2pix's --max_dataset_size is data.max_samples here",
		// no reference's, and nothing near: no guess that misleads
		"validation=1": "unknown key validation: gogan config --keys lists every key",
		// a slip, or a key without its section or its end
		"lr_polcy=step": "did you mean train.lr_policy?",
		"batch=4":       "did you mean data.batch_size?",
		"epochs=3":      "did you mean train.epochs?",
	} {
		_, err = config.LoadConfigEnv("", []string{set}, nil)
		wantErr(t, err, want)
	}

	_, err = config.LoadConfigEnv("", []string{"train.lamda_l1=3"}, nil)
	wantErr(t, err, "did you mean train.lambda_L1?")
	// values: a slip or a shortening is suggested, a far guess is not
	for set, want := range map[string]string{
		"data.phase=validation":  "must be one of train, val, test; did you mean val?",
		"data.preprocess=resize": "did you mean resize_and_crop?",
		"train.gan_mode=lsgna":   "did you mean lsgan?",
		"train.lr_policy=exotic": `"exotic": must be one of`,
	} {
		_, err = config.LoadConfigEnv("", []string{set}, nil)
		wantErr(t, err, want)
		if strings.HasSuffix(set, "exotic") && strings.Contains(err.Error(), "did you mean") {
			t.Errorf("%s: %v, want no guess", set, err)
		}
	}

	_, err = config.LoadConfigEnv("", nil, []string{"GOGAN_DATA_BATCHSIZE=4"})
	wantErr(t, err, "unknown environment variable GOGAN_DATA_BATCHSIZE", "did you mean GOGAN_DATA_BATCH_SIZE (data.batch_size)?")

	path = writeYAML(t, "data: 5\n")
	_, err = config.LoadConfigEnv(path, nil, nil)
	wantErr(t, err, "data is a section")

	// an empty section is fine
	mustLoad(t, writeYAML(t, "data:\nmodel:\n  ngf: 8\n"), nil, nil)

	_, err = config.LoadConfigEnv("", []string{"seed"}, nil)
	wantErr(t, err, `--set "seed": want key=value`)
	_, err = config.LoadConfigEnv("", []string{" =3"}, nil) // not "unknown key ; did you mean model.nz?"
	wantErr(t, err, `--set " =3": want key=value, as in --set train.max_steps=200`)
}

func TestInvalidValues(t *testing.T) {
	cases := []struct {
		set   string
		parts []string
	}{
		{"data.batch_size=0", []string{"data.batch_size", `"0"`, "≥ 1"}},
		{"data.batch_size=abc", []string{"data.batch_size", `"abc"`, "want an integer"}},
		// an integer past int64 is one, out of range (YAML's reader says so too)
		{"data.batch_size=18446744073709551616", []string{"data.batch_size", `"18446744073709551616"`, "out of range (valid: ≥ 1)"}},
		{"seed=-9223372036854775809", []string{"seed", `"-9223372036854775809"`, "out of range (valid: ≥ 0)"}},
		{"train.lr=-1", []string{"train.lr", `"-1"`, "> 0"}},
		{"train.lr=nan", []string{"train.lr", "finite"}},
		{"train.lr=1e300", []string{"train.lr", `"1e300"`, "> 0 and ≤ 1e+30"}},
		{"data.dataset=LFW", []string{"data.dataset", "must be one of", "--dataset lfw as an image folder", "data.dataset=folder"}},
		{"data.dataset=fake", []string{"data.dataset", "gogan bench", "fashion-mnist"}},
		{"data.dataset=foldr", []string{"data.dataset", "did you mean folder?"}},
		// the reference's DDP norms (its README's --norm sync_batch, its code's syncbatch)
		{"model.norm=sync_batch", []string{"model.norm", "must be one of batch, instance, none", "model.norm=batch with train.sync_bn=true"}},
		{"model.norm=syncbatch", []string{"model.norm", "model.norm=batch with train.sync_bn=true"}},
		{"model.norm=sync_instance", []string{"model.norm", "nothing to synchronise", "model.norm=instance"}},
		{"recipe=test", []string{"recipe", "test.py's --model test (one generator run on single images) is gogan translate --checkpoint RUN --input DIR"}},
		{"train.lr_policy=lambda", []string{"train.lr_policy", "--lr_policy lambda (its earlier name of linear) is linear"}},
		{"train.beta1=1", []string{"train.beta1", "≥ 0 and < 1"}},
		{"model.netG=unet256", []string{"model.netG", `"unet256"`, "must be one of dcgan, unet_128, unet_256", "did you mean unet_256?"}},
		{"device=gpu", []string{"device", `"gpu"`, "auto, cpu, cuda, cuda:N"}},
		{"device=cuda:x", []string{"device", "cuda:N"}},
		// the references' --gpu_ids values, where --gpu_ids is answered "device here"
		{"device=-1", []string{"device", `"-1"`, "--gpu_ids -1 (the CPU) is device=cpu"}},
		{"device=1", []string{"device", "--gpu_ids 1 is device=cuda:1"}},
		{"device=0,1", []string{"device", "--gpu_ids 0,1 (2 GPUs sharing its batch) is CUDA_VISIBLE_DEVICES=0,1 gogan train --nproc 2", "--batch_size divided by 2"}},
		// their parse drops the negative ids: -1 is the CPU only alone
		{"device=-1,0", []string{"device", "--gpu_ids -1,0 (GPU 0, the negative ids dropped as they drop them) is device=cuda:0"}},
		{"device=-1,-2", []string{"device", "--gpu_ids -1,-2 (the CPU) is device=cpu"}},
		{"device=0,-1,2", []string{"device", "--gpu_ids 0,-1,2 (2 GPUs sharing its batch, the negative ids dropped as they drop them) is CUDA_VISIBLE_DEVICES=0,2 gogan train --nproc 2"}},
		{"data.shuffle=maybe", []string{"data.shuffle", "true or false"}},
		{"data.channels=2", []string{"data.channels", "0, 1, 3"}},
		{"out=", []string{"out", "must not be empty"}},
		// open lower bounds exclude their end: a learning rate or an init
		// gain of 0 would train nothing (all-zero weights) without a word
		{"train.lr=0", []string{"train.lr", `"0"`, "> 0"}},
		{"model.init_gain=0", []string{"model.init_gain", `"0"`, "> 0"}},
		// values that crashed, hung or wrapped around later (libgomp's
		// abort on its thread table, a buffer per worker and batch ahead,
		// a time.Duration or bucket size past int64)
		{"threads=1000000000", []string{"threads: 1000000000: out of range (valid: ≥ 0 and ≤ 1024)"}},
		{"data.workers=1000000000", []string{"data.workers: 1000000000: out of range (valid: ≥ 0 and ≤ 4096)"}},
		{"data.prefetch=1000000000", []string{"data.prefetch: 1000000000: out of range (valid: ≥ 0 and ≤ 4096)"}},
		{"train.dist_timeout=1e10", []string{"train.dist_timeout: 1e+10: out of range (valid: ≥ 0.001 and ≤ 1000000000)"}},
		{"train.dist_timeout=0.0001", []string{"train.dist_timeout: 0.0001: out of range (valid: ≥ 0.001"}},
		{"train.dist_bucket_mb=1e300", []string{"train.dist_bucket_mb: 1e+300: out of range (valid: > 0 and ≤ 1048576)"}},
		{"model.n_blocks_global=1000000000", []string{"model.n_blocks_global: 1000000000: out of range (valid: ≥ 1 and ≤ 100)"}},
		{"model.n_blocks_local=101", []string{"model.n_blocks_local: 101: out of range (valid: ≥ 1 and ≤ 100)"}},
		// a duration where a number of seconds or minutes goes
		{"train.dist_timeout=40s", []string{`train.dist_timeout: "40s": want a number of seconds: 40s is 40 (`}},
		{"train.dist_timeout=1h30m", []string{`"1h30m": want a number of seconds: 1h30m is 5400`}},
		{"train.checkpoint_every_minutes=40s", []string{`"40s": want a number of minutes: 40s is 0.667`}},
		{"train.checkpoint_every_minutes=soon", []string{`"soon": want a number of minutes (`}},
	}
	for _, tc := range cases {
		_, err := config.LoadConfigEnv("", []string{tc.set}, nil)
		wantErr(t, err, tc.parts...)
	}
	path := writeYAML(t, "data:\n  batch_size: 2.5\nmodel:\n  no_dropout: 3\n  netD: [a]\n")
	_, err := config.LoadConfigEnv(path, nil, nil)
	wantErr(t, err, "data.batch_size: 2.5: want an integer", "model.no_dropout: 3: want true or false", "model.netD")
	_, err = config.LoadConfigEnv(writeYAML(t, "train:\n  dist_timeout: 10m\n"), nil, nil)
	wantErr(t, err, `train.dist_timeout: "10m": want a number of seconds: 10m is 600`)
	// integers past int64, which YAML's reader gives as a float or a uint64
	path = writeYAML(t, "data:\n  batch_size: 99999999999999999999999\nseed: 18446744073709551615\n")
	_, err = config.LoadConfigEnv(path, nil, nil)
	wantErr(t, err, "data.batch_size: 1e+23: out of range (valid: ≥ 1)", "seed: 18446744073709551615: out of range (valid: ≥ 0)")
	// a YAML bool where a path goes is a slip, not the folder "true"
	_, err = config.LoadConfigEnv(writeYAML(t, "data:\n  root: true\n"), nil, nil)
	wantErr(t, err, "data.root: true: want a string")
	// a new run's narrower bound names where the value came from, as the
	// wider bound's check does
	path = writeYAML(t, "threads: 1025\n")
	_, err = config.LoadConfigEnv(path, nil, nil)
	wantErr(t, err, path+": invalid value for threads: 1025: out of range")
	_, err = config.LoadConfigEnv("", nil, []string{"GOGAN_THREADS=2000"})
	wantErr(t, err, "environment GOGAN_THREADS: invalid value for threads: 2000: out of range")
}

// An unknown recipe names the registered ones.
func TestUnknownRecipe(t *testing.T) {
	_, err := config.LoadConfigEnv("", []string{"recipe=stylegan"}, nil)
	// each recipe named, whatever others a build registers between them
	wantErr(t, err, "recipe", `"stylegan"`, "must be one of ", "colorization, ", "cyclegan, ", "dcgan, ", "pix2pix, ", "pix2pixhd")
}

func TestCrossKeyChecks(t *testing.T) {
	cases := []struct {
		sets  []string
		parts []string
	}{
		{[]string{"data.image_size=48"}, []string{"data.image_size must be 32, 64, 128 or 256 (got 48)"}},
		{[]string{"model.netG=unet_256"}, []string{"recipe dcgan needs model.netG=dcgan"}},
		{[]string{"data.dataset=aligned"}, []string{"recipe dcgan reads fashion-mnist, mnist, cifar10, lsun or folder"}},
		{[]string{"data.channels=3"}, []string{"grayscale"}},
		{[]string{"model.norm=instance"}, []string{"recipe dcgan: model.norm=instance, but the DCGAN nets have BatchNorm layers"}},
		{[]string{"recipe=pix2pix", "data.crop_size=300"}, []string{"data.crop_size (300) must be ≤ data.load_size (286)"}},
		{[]string{"recipe=pix2pix", "data.crop_size=128"}, []string{"model.netG=unet_256 needs a network input that is a multiple of 256"}},
		{[]string{"recipe=pix2pix", "model.netD=dcgan"}, []string{"PatchGAN"}},
		{[]string{"recipe=pix2pix", "model.netD=n_layers", "model.n_layers_D=8"}, []string{"model.netD=n_layers (model.n_layers_D=8) takes inputs of at least 768x768 pixels, but data.crop_size=256"}},
		{[]string{"recipe=cyclegan", "model.netG=resnet_6blocks", "data.load_size=4", "data.crop_size=4"}, []string{"model.netG=resnet_6blocks takes inputs of at least 8x8 pixels, but data.crop_size=4"}},
		{[]string{"recipe=pix2pixhd", "model.n_downsample_global=5", "data.load_size=32", "data.crop_size=32", "data.preprocess=resize_and_crop"}, []string{"takes images of at least 64x64 pixels, but data.crop_size=32"}},
		{[]string{"recipe=pix2pix", "data.dataset=unaligned"}, []string{"paired data"}},
		{[]string{"recipe=pix2pix", "data.dataset=edges"}, []string{"model.input_nc must be 1"}},
		{[]string{"recipe=pix2pix", "data.dataset=edges", "model.input_nc=1", "data.on_device=true"}, []string{"data.on_device with data.dataset=edges (data.preprocess=resize_and_crop, data.no_flip=false)", "set data.preprocess to scale_width or none and data.no_flip=true"}},
		{[]string{"recipe=pix2pix", "data.dataset=edges", "model.input_nc=1", "data.on_device=true", "data.preprocess=none"}, []string{"data.on_device with data.dataset=edges (data.preprocess=none, data.no_flip=false)"}},
		{[]string{"device=cpu", "cuda.amp=bf16"}, []string{"cuda.amp=bf16 needs a CUDA device"}},
		{[]string{"device=cpu", "cuda.cuda_graph=true"}, []string{"cuda.cuda_graph needs a CUDA device, but device=cpu"}},
		{[]string{"device=cuda", "cuda.amp=fp16", "train.gan_mode=wgangp"}, []string{"cuda.amp=fp16 with train.gan_mode=wgangp", "set cuda.amp=off"}},
		{[]string{"data.workers=64", "data.prefetch=128"}, []string{"data.workers (64) × data.prefetch (128) = 8192 batches built ahead, more than 4096", "lower data.prefetch"}},
		{[]string{"data.workers=0", "data.prefetch=4097"}, []string{"data.prefetch", "4097"}},
		// scale_width_and_crop crops a width of load_size too; one pixel over is too much
		{[]string{"recipe=cyclegan", "data.preprocess=scale_width_and_crop", "data.crop_size=287"},
			[]string{"data.crop_size (287) must be ≤ data.load_size (286) with data.preprocess=scale_width_and_crop"}},
	}
	for _, tc := range cases {
		_, err := config.LoadConfigEnv("", tc.sets, nil)
		wantErr(t, err, tc.parts...)
	}
	// a U-Net's crop of another multiple says that once, not again as a
	// least size with the discriminator's remedy
	_, err := config.LoadConfigEnv("", []string{"recipe=pix2pix", "model.netG=unet_128", "data.load_size=64", "data.crop_size=64"}, nil)
	if err == nil || strings.Count(err.Error(), "model.net") != 1 || strings.Contains(err.Error(), "n_layers_D") {
		t.Errorf("unet_128 at 64: %v", err)
	}
	mustLoad(t, "", []string{"recipe=pix2pix", "data.dataset=edges", "model.input_nc=1", "data.on_device=true", "data.preprocess=scale_width", "data.no_flip=true"}, nil)
	// the largest values stay legitimate
	mustLoad(t, "", []string{"threads=1024", "data.workers=64", "data.prefetch=64", "train.dist_timeout=1e9", "train.dist_bucket_mb=1048576"}, nil)
	// the same sizes pass where they fit
	mustLoad(t, "", []string{"recipe=pix2pix", "model.netG=unet_128", "data.load_size=143", "data.crop_size=128"}, nil)
	mustLoad(t, "", []string{"recipe=pix2pix", "model.netG=resnet_9blocks", "data.preprocess=scale_width", "data.crop_size=500"}, nil)
	mustLoad(t, "", []string{"recipe=cyclegan", "data.preprocess=scale_width_and_crop", "data.load_size=256", "data.crop_size=256"}, nil)
}

// TestValidateAfterChangesInCode: Validate checks each key's value again,
// not only the rules across keys, for a Config changed in code after it
// was loaded (its doc's promise).
func TestValidateAfterChangesInCode(t *testing.T) {
	c := mustLoad(t, "", []string{"recipe=pix2pix"}, nil)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	c.Data.BatchSize = 0
	c.Train.LR = math.NaN()
	c.Data.Direction = "sideways"
	wantErr(t, c.Validate(), "data.batch_size: 0: out of range", "train.lr: NaN: must be finite", "data.direction", "must be one of AtoB, BtoA")
}

func TestYAMLRoundTrip(t *testing.T) {
	c := mustLoad(t, "", []string{"recipe=pix2pix", "train.lr=3e-5", "data.root=/d a/t", "model.input_nc=1", "data.dataset=gray2color",
		"seed=12345678901", "train.lambda_L1=37.5", "model.nz=64"}, nil)
	y, err := c.YAML()
	if err != nil {
		t.Fatal(err)
	}
	// Recipe keys (lambda_L1 is pix2pix's, nz dcgan's) go back into their sections.
	if !strings.Contains(string(y), "netG: unet_256") || !strings.Contains(string(y), "  lambda_L1: 37.5\n") || !strings.Contains(string(y), "  nz: 64\n") {
		t.Fatalf("dump lacks schema spellings:\n%s", y)
	}
	path := writeYAML(t, string(y))
	c2 := mustLoad(t, path, nil, nil)
	c.Sources, c2.Sources = nil, nil
	if !reflect.DeepEqual(c, c2) || c2.Float("train.lambda_L1") != 37.5 || c2.Int("model.nz") != 64 {
		t.Fatalf("round trip differs:\n%+v\n%+v", c, c2)
	}
}

func TestSchemaMarkdown(t *testing.T) {
	md := config.SchemaMarkdown()
	lines := strings.Split(md, "\n")
	if !strings.HasPrefix(lines[0], "| Key | Type | Default | Valid values | Description |") {
		t.Fatalf("header: %q", lines[0])
	}
	rows := 0
	for _, l := range lines {
		if strings.HasPrefix(l, "| `") {
			rows++
			if n := strings.Count(strings.ReplaceAll(l, `\|`, ""), "|"); n != 6 {
				t.Errorf("row has %d cell separators: %s", n, l)
			}
		}
	}
	if rows != len(config.Schema()) {
		t.Fatalf("%d rows for %d keys", rows, len(config.Schema()))
	}
	for _, k := range config.Schema() {
		if !strings.Contains(md, "| `"+k.Name+"` |") {
			t.Errorf("key %s missing from the table", k.Name)
		}
	}
	for _, s := range []string{"`unet_256`", "pix2pix: `unet_256`", "auto, cpu, cuda, cuda:N", "GOGAN_DATA_BATCH_SIZE", "`0.0002`"} {
		if !strings.Contains(md, s) {
			t.Errorf("table lacks %q", s)
		}
	}
	// A recipe's default is shown only where it differs from the key's:
	// "`64` (pix2pixhd: `64`)" read as if pix2pixHD's were another value.
	for _, l := range lines {
		if m := regexp.MustCompile("^\\| `[^`]+` \\| \\w+ \\| (`[^`]*`)(.*?) \\|").FindStringSubmatch(l); m != nil && strings.Contains(m[2], ": "+m[1]+")") {
			t.Errorf("table shows a recipe's default equal to the key's: %s", m[0])
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"a", "", 1}, {"kitten", "sitting", 3}, {"train.epoch", "train.epochs", 1}, {"flaw", "lawn", 2}} {
		if got := config.EditDistance(c.a, c.b); got != c.d {
			t.Errorf("editDistance(%q,%q)=%d want %d", c.a, c.b, got, c.d)
		}
	}
}

// Every shipped config loads, and says what it claims to.
func TestShippedConfigs(t *testing.T) {
	files, err := filepath.Glob("../configs/*.yaml")
	if err != nil || len(files) < 7 {
		t.Fatalf("configs: %v %v", files, err)
	}
	for _, f := range files {
		c, err := config.LoadConfigEnv(f, nil, nil)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if c.Out == "runs/gogan" {
			t.Errorf("%s: set out to its own run folder", f)
		}
		if fk := c.ForeignKeys(); len(fk) != 0 {
			t.Errorf("%s sets keys its recipe does not read: %q", f, fk)
		}
	}
	check := func(file string, want map[string]any) {
		c, err := config.LoadConfigEnv("../configs/"+file, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, w := range want {
			got, _ := c.Get(k)
			if !reflect.DeepEqual(got, w) {
				t.Errorf("%s: %s = %v, want %v", file, k, got, w)
			}
		}
	}
	check("dcgan-fashion-mnist.yaml", map[string]any{"data.image_size": 32, "data.channels": 1, "data.batch_size": 64,
		"data.root": "/usr/share/datasets/fashion-mnist", "data.dataset": "fashion-mnist"})
	check("dcgan-celeba.yaml", map[string]any{"data.image_size": 64, "data.channels": 3})
	check("dcgan-folder.yaml", map[string]any{"data.image_size": 64, "data.dataset": "folder"})
	check("pix2pix-facades.yaml", map[string]any{"model.netG": "unet_256", "model.netD": "basic", "model.n_layers_D": 3,
		"data.batch_size": 1, "train.lambda_L1": 100.0, "train.epochs": 100, "train.epochs_decay": 100,
		"train.lr_policy": "linear", "data.direction": "BtoA", "data.root": "datasets/facades"})
	check("pix2pix-edges2shoes.yaml", map[string]any{"data.batch_size": 4, "data.direction": "AtoB"})
	check("pix2pix-maps.yaml", map[string]any{"data.direction": "AtoB", "data.batch_size": 1})
	check("pix2pix-fashion-edges.yaml", map[string]any{"data.crop_size": 32, "data.dataset": "edges", "model.input_nc": 1})
}

// TestShippedConfigsCommands: the gogan train commands that a config's
// comments give (the next stage of a run, another data root) load, with
// every --set they make known and valid.
func TestShippedConfigsCommands(t *testing.T) {
	files, _ := filepath.Glob("../configs/*.yaml")
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var cmd string // a command's lines, joined where they end in \
		for _, line := range strings.Split(string(b), "\n") {
			text, ok := strings.CutPrefix(line, "#")
			if !ok {
				continue
			}
			text = strings.TrimSpace(text)
			if cmd == "" && !strings.HasPrefix(text, "gogan train ") {
				continue
			}
			cmd += " " + strings.TrimSuffix(text, "\\")
			if strings.HasSuffix(text, "\\") {
				continue
			}
			var sets []string
			fields := strings.Fields(cmd)
			for i, a := range fields {
				if a == "--set" && i+1 < len(fields) {
					sets = append(sets, fields[i+1])
				}
			}
			if !strings.Contains(cmd, "-c configs/"+filepath.Base(f)) || len(sets) == 0 {
				t.Errorf("%s: the command %q does not train this config with settings", f, cmd)
			}
			if _, err := config.LoadConfigEnv(f, sets, nil); err != nil {
				t.Errorf("%s: the command %q: %v", f, cmd, err)
			}
			cmd = ""
			n++
		}
	}
	if n < 3 {
		t.Errorf("%d commands in the configs' comments, want those of dcgan-folder and both pix2pixHD configs", n)
	}
}

func TestConfigFileErrors(t *testing.T) {
	// An empty file is all defaults.
	c := mustLoad(t, writeYAML(t, ""), nil, nil)
	if c.Recipe != "dcgan" {
		t.Fatal(c.Recipe)
	}
	_, err := config.LoadConfigEnv(filepath.Join(t.TempDir(), "nope.yaml"), nil, nil)
	wantErr(t, err, "read config", "nope.yaml")
	_, err = config.LoadConfigEnv(writeYAML(t, "data:\n  batch_size: [1\n"), nil, nil)
	wantErr(t, err, "read config")
	_, err = config.LoadConfigEnv(writeYAML(t, "seed: 1\nseed: 2\n"), nil, nil)
	wantErr(t, err, "read config")
}

// TestREADMEListsEveryKey: the README's key table is SchemaMarkdown's output.
func TestREADMEListsEveryKey(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i, j := strings.Index(s, "<!-- config-keys:begin"), strings.Index(s, "<!-- config-keys:end -->")
	if i < 0 || j < 0 {
		t.Fatal("README.md has no config-keys markers")
	}
	table := s[strings.Index(s[i:], "\n")+i+1 : j]
	if table != config.SchemaMarkdown() {
		t.Error("README.md's config table is stale: regenerate it with `gogan config --keys`")
	}
}

// Keys viper would merge keeping one, and a second YAML document it would
// drop, are refused with the file and the line.
func TestYAMLKeysGivenTwice(t *testing.T) {
	dir := t.TempDir()
	for name, c := range map[string]struct{ yml, want string }{
		"case":   {"data: {Batch_Size: 6, batch_size: 7}\n", "line 1: data.batch_size is set twice"},
		"dotted": {"data.batch_size: 5\ndata:\n  batch_size: 7\n", "line 3: data.batch_size is set twice (also on line 1"},
		"recipe": {"Recipe: pix2pix\nrecipe: dcgan\n", "line 2: recipe is set twice"},
		"docs":   {"recipe: dcgan\n---\nrecipe: pix2pix\n", "a second YAML document"},
	} {
		path := filepath.Join(dir, name+".yaml")
		os.WriteFile(path, []byte(c.yml), 0o644)
		_, err := config.LoadConfigEnv(path, nil, nil)
		wantErr(t, err, path, c.want)
	}
	// Merge keys and anchors still read.
	path := filepath.Join(dir, "anchors.yaml")
	os.WriteFile(path, []byte("data:\n  <<: &b {batch_size: 5}\n  workers: 0\n"), 0o644)
	if c := mustLoad(t, path, nil, nil); c.Data.BatchSize != 5 || c.Data.Workers != 0 {
		t.Fatalf("merge keys: batch %d workers %d", c.Data.BatchSize, c.Data.Workers)
	}
}

// A checkpoint's copy of its config (ParseYAML) passes checks that only
// keep new runs from a mistake: DCGAN's ignored model.norm, which runs
// before the check were trained with, must not make their weights
// unreadable.
func TestStoredConfigsStayReadable(t *testing.T) {
	yml := []byte("recipe: dcgan\nmodel:\n  norm: instance\n")
	c, err := config.ParseYAML("state.json (config)", yml)
	if err != nil || !c.Stored() || c.Model.Norm != "instance" {
		t.Fatalf("stored config: %v %v", c, err)
	}
	// bounds added since (Key.Limit): a checkpoint saved with a value past
	// one is read, a new run or a resume's config is refused
	past := []byte("recipe: pix2pixhd\nthreads: 2000\ndata:\n  workers: 64\n  prefetch: 128\nmodel:\n  n_blocks_global: 150\ntrain:\n  dist_timeout: 1e10\n")
	if c, err := config.ParseYAML("state.json (config)", past); err != nil || c.Int("model.n_blocks_global") != 150 || c.Threads != 2000 {
		t.Fatalf("stored config past the limits: %v", err)
	}
	_, err = config.LoadConfigEnv(writeYAML(t, string(past)), nil, nil)
	wantErr(t, err, "threads: 2000: out of range", "model.n_blocks_global: 150: out of range", "train.dist_timeout: 1e+10: out of range")
	path := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(path, yml, 0o644)
	_, err = config.LoadConfigEnv(path, nil, nil)
	wantErr(t, err, "recipe dcgan: model.norm=instance")
}

// builtinRecipes are the recipes TestForeignKeys names in the warnings it
// expects.
var builtinRecipes = map[string]bool{"dcgan": true, "pix2pix": true, "colorization": true, "cyclegan": true, "pix2pixhd": true}

// known is ForeignKeys' "key=value (recipe, ...)" entries with the recipes
// that read each key cut to builtinRecipes, so that a recipe added to
// gan/all that reads one of the keys too (a conditional DCGAN's
// data.image_size) does not fail TestForeignKeys.
func known(fk []string) []string {
	var out []string
	for _, e := range fk {
		i := strings.LastIndex(e, " (")
		if i < 0 || !strings.HasSuffix(e, ")") {
			out = append(out, e)
			continue
		}
		var rs []string
		for _, r := range strings.Split(e[i+2:len(e)-1], ", ") {
			if builtinRecipes[r] {
				rs = append(rs, r)
			}
		}
		out = append(out, e[:i]+" ("+strings.Join(rs, ", ")+")")
	}
	return out
}

// TestKnownCutsAddedRecipes: known keeps the built-in recipes of each entry.
func TestKnownCutsAddedRecipes(t *testing.T) {
	got := known([]string{"data.image_size=128 (cdcgan, dcgan)", "data.crop_size=128 (colorization, cyclegan, my2pix, pix2pix, pix2pixhd)", "train.lambda_A=5 (cyclegan)"})
	want := []string{"data.image_size=128 (dcgan)", "data.crop_size=128 (colorization, cyclegan, pix2pix, pix2pixhd)", "train.lambda_A=5 (cyclegan)"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("known: %q, want %q", got, want)
	}
}

// TestForeignKeys: keys only other recipes read are named when a layer
// sets them to other than their default, not when a saved config.yaml (every
// key, the others at their defaults) is read back, nor for the recipe's own.
func TestForeignKeys(t *testing.T) {
	c := mustLoad(t, writeYAML(t, "recipe: pix2pix\ntrain:\n  lambda_A: 5\n  lambda_L1: 50\n"), []string{"model.feat_num=8"}, []string{"GOGAN_TRAIN_POOL_SIZE=0"})
	if got, want := known(c.ForeignKeys()), []string{"train.lambda_A=5 (cyclegan)", "model.feat_num=8 (pix2pixhd)"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ForeignKeys %q, want %q (pool_size is set to its default)", got, want)
	}
	y, err := mustLoad(t, "", []string{"recipe=cyclegan", "train.lambda_A=3"}, nil).YAML()
	if err != nil {
		t.Fatal(err)
	}
	saved := writeYAML(t, string(y))
	if fk := mustLoad(t, saved, nil, nil).ForeignKeys(); len(fk) != 0 {
		t.Errorf("a cyclegan run's config.yaml: ForeignKeys %q, want none", fk)
	}
	// Its pools of 50 (cyclegan's default) are named too: pix2pix has none
	// (its default is 0).
	if fk := known(mustLoad(t, saved, []string{"recipe=pix2pix", "data.dataset=aligned", "model.no_dropout=false"}, nil).ForeignKeys()); !reflect.DeepEqual(fk, []string{"train.lambda_A=3 (cyclegan)", "train.pool_size=50 (cyclegan, pix2pixhd)"}) {
		t.Errorf("that config.yaml as pix2pix: ForeignKeys %q, want lambda_A's and pool_size's", fk)
	}
	// pix2pixhd reads train.pool_size (its --pool_size).
	if fk := known(mustLoad(t, saved, []string{"recipe=pix2pixhd", "data.dataset=aligned", "model.netG=global", "model.netD=multiscale", "train.pool_size=3"}, nil).ForeignKeys()); slices.ContainsFunc(fk, func(s string) bool { return strings.HasPrefix(s, "train.pool_size") }) {
		t.Errorf("that config.yaml as pix2pixhd: ForeignKeys %q name train.pool_size, which it reads", fk)
	}
	// colorization is pix2pix's code: it reads train.lambda_L1
	if fk := known(mustLoad(t, "", []string{"recipe=colorization", "train.lambda_L1=50", "train.lambda_A=3"}, nil).ForeignKeys()); !reflect.DeepEqual(fk, []string{"train.lambda_A=3 (cyclegan)"}) {
		t.Errorf("colorization with lambda_L1 and lambda_A: ForeignKeys %q, want lambda_A's alone", fk)
	}
	// shared keys a recipe declares it ignores, named with the recipes that
	// read them; read back from config.yaml, every recipe's defaults say none
	if fk := known(mustLoad(t, "", []string{"recipe=pix2pix", "data.image_size=128", "data.load_size=300"}, nil).ForeignKeys()); !reflect.DeepEqual(fk, []string{"data.image_size=128 (dcgan)"}) {
		t.Errorf("pix2pix with data.image_size: ForeignKeys %q", fk)
	}
	if fk := known(mustLoad(t, "", []string{"data.crop_size=128", "data.direction=AtoB", "model.no_dropout=true", "data.image_size=32"}, nil).ForeignKeys()); !reflect.DeepEqual(fk,
		[]string{"data.crop_size=128 (colorization, cyclegan, pix2pix, pix2pixhd)", "model.no_dropout=true (colorization, cyclegan, pix2pix)"}) {
		t.Errorf("dcgan with crop_size, no_dropout and the default direction: ForeignKeys %q", fk)
	}
	for _, r := range []string{"dcgan", "pix2pix", "colorization", "cyclegan", "pix2pixhd"} {
		y, err := mustLoad(t, "", []string{"recipe=" + r}, nil).YAML()
		if err != nil {
			t.Fatal(err)
		}
		if fk := mustLoad(t, writeYAML(t, string(y)), nil, nil).ForeignKeys(); len(fk) != 0 {
			t.Errorf("a %s run's config.yaml: ForeignKeys %q, want none", r, fk)
		}
	}
}

// A bucket of less than a byte holds one gradient (as DDP's bucket_cap_mb
// of 0), instead of becoming 0 bytes, which the binding reads as its
// default of 25 MiB.
func TestDistBucketBytes(t *testing.T) {
	for _, tc := range []struct {
		mb   float64
		want int64
	}{{25, 25 << 20}, {1e-9, 1}, {0.5 / (1 << 20), 1}, {1.5 / (1 << 20), 2}, {1 << 20, 1 << 40}} {
		c := mustLoad(t, "", []string{fmt.Sprintf("train.dist_bucket_mb=%g", tc.mb)}, nil)
		if got := c.Train.DistBucketBytes(); got != tc.want {
			t.Errorf("train.dist_bucket_mb=%g: %d bytes, want %d", tc.mb, got, tc.want)
		}
	}
}
