package trainer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	torch "gogan/cgo"
	"gogan/data"
	"gogan/nets"
)

// OpenCheckpoint finds a checkpoint: path is a checkpoint folder
// (RUN/checkpoints/step-N) or a run folder (its newest valid checkpoint). It
// returns the checkpoint, its state and the config it was trained with.
func OpenCheckpoint(path string) (Checkpoint, *CheckpointState, *Config, error) {
	var ck Checkpoint
	var st *CheckpointState
	var err error
	if _, serr := os.Stat(filepath.Join(path, StateFile)); serr == nil {
		var step int
		if _, err := fmt.Sscanf(filepath.Base(path), checkpointPref+"%d", &step); err != nil {
			return ck, nil, nil, fmt.Errorf("checkpoint %s: folder name is not step-N", path)
		}
		ck = Checkpoint{Dir: path, Step: step}
		if st, err = ValidateCheckpoint(ck); err != nil {
			return ck, nil, nil, fmt.Errorf("checkpoint %s: %w", path, err)
		}
	} else if ck, st, err = LatestValid(path); err != nil {
		return ck, nil, nil, fmt.Errorf("checkpoint %s: neither a checkpoint folder (no %s) nor a run folder with a valid checkpoint: %w", path, StateFile, err)
	}
	cfg, err := configFromText(st.Config)
	if err != nil {
		return ck, nil, nil, fmt.Errorf("checkpoint %s: its config: %w", ck.Dir, err)
	}
	return ck, st, cfg, nil
}

// configFromText loads a config saved as YAML text in a checkpoint.
func configFromText(y string) (*Config, error) {
	f, err := os.CreateTemp("", "gogan-config-*.yaml")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString(y); err != nil {
		f.Close()
		return nil, err
	}
	f.Close()
	return LoadConfig(f.Name(), nil)
}

// generatorOptions are the generator's nets.Options for a config.
func generatorOptions(cfg *Config) nets.Options {
	m := cfg.Model
	if cfg.Recipe == "dcgan" {
		return nets.Options{Kind: "dcgan", InputNC: cfg.Data.Channels, OutputNC: cfg.Data.Channels, NZ: m.NZ, NGF: m.NGF, NDF: m.NDF, ImageSize: cfg.Data.ImageSize}
	}
	return nets.Options{Kind: m.NetG, InputNC: m.InputNC, OutputNC: m.OutputNC, NGF: m.NGF, Norm: m.Norm, Dropout: !m.NoDropout}
}

// discriminatorOptions are the discriminator's nets.Options for a config.
func discriminatorOptions(cfg *Config) nets.Options {
	m := cfg.Model
	if cfg.Recipe == "dcgan" {
		return generatorOptions(cfg)
	}
	return nets.Options{Kind: m.NetD, InputNC: m.InputNC + m.OutputNC, NDF: m.NDF, NLayers: m.NLayersD, Norm: m.Norm, NumD: m.NumD}
}

// loadGenerator builds the checkpoint's generator on dev with its weights.
func loadGenerator(ck Checkpoint, cfg *Config, dev torch.Device) (*nets.Net, error) {
	g, err := nets.NewGenerator(generatorOptions(cfg), dev)
	if err != nil {
		return nil, err
	}
	ts, _, err := torch.LoadSafetensors(ck.WeightsPath())
	if err != nil {
		g.Free()
		return nil, err
	}
	defer func() {
		for _, nt := range ts {
			nt.Tensor.Free()
		}
	}()
	var sd []torch.Named
	for _, nt := range ts {
		if k, ok := strings.CutPrefix(nt.Name, "G."); ok {
			sd = append(sd, torch.Named{Name: k, Tensor: nt.Tensor})
		}
	}
	if err := g.LoadStateDict(sd); err != nil {
		g.Free()
		return nil, fmt.Errorf("checkpoint %s: generator: %w", ck.Dir, err)
	}
	return g, nil
}

// Sample draws n DCGAN samples from a checkpoint's generator (eval mode,
// noise from seed) and writes them as a grid PNG.
func Sample(path string, n int, seed int64, device, out string) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	ck, _, cfg, err := OpenCheckpoint(path)
	if err != nil {
		return err
	}
	if cfg.Recipe != "dcgan" {
		return fmt.Errorf("checkpoint %s is a %s run: gogan sample draws DCGAN samples; use gogan translate", ck.Dir, cfg.Recipe)
	}
	if n < 1 {
		return fmt.Errorf("--n %d: need at least one sample", n)
	}
	dev, err := torch.ParseDevice(device)
	if err != nil {
		return err
	}
	g, err := loadGenerator(ck, cfg, dev)
	if err != nil {
		return err
	}
	defer g.Free()
	g.SetTraining(false)
	var im Images
	err = torch.Try(func() {
		s := torch.NewScope()
		defer s.Close()
		torch.ManualSeed(uint64(seed))
		noise := torch.Randn(torch.Float32, dev, int64(n), int64(cfg.Model.NZ), 1, 1)
		torch.NoGrad(func() { im = toImages(g.Forward(noise)) })
	})
	if err != nil {
		return err
	}
	grid, err := MakeGrid(im, DCGANGrid)
	if err != nil {
		return err
	}
	return SavePNG(out, grid)
}

// Translate runs a pix2pix checkpoint's generator on every image of a
// folder (resized to the training crop size, as the reference's test.py) and
// writes PNGs with the same base names into out. eval uses BatchNorm's
// running statistics and no dropout (test.py --eval); otherwise train mode.
func Translate(path, in, out, device string, eval bool) (int, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	ck, _, cfg, err := OpenCheckpoint(path)
	if err != nil {
		return 0, err
	}
	if cfg.Recipe != "pix2pix" {
		return 0, fmt.Errorf("checkpoint %s is a %s run: gogan translate runs pix2pix generators; use gogan sample", ck.Dir, cfg.Recipe)
	}
	dev, err := torch.ParseDevice(device)
	if err != nil {
		return 0, err
	}
	crop := cfg.Data.CropSize
	ds, err := data.Open(context.Background(), data.Config{Dataset: data.Folder, Root: in, Channels: cfg.Model.InputNC, BatchSize: 1,
		Preprocess: "resize_and_crop", LoadSize: crop, CropSize: crop, NoFlip: true}, nil)
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return 0, err
	}
	g, err := loadGenerator(ck, cfg, dev)
	if err != nil {
		return 0, err
	}
	defer g.Free()
	g.SetTraining(!eval)
	files := ds.Files()
	for i := 0; i < ds.Len(); i++ {
		smp, err := ds.Sample(i, 0, 0)
		if err != nil {
			return i, err
		}
		var im Images
		err = torch.Try(func() {
			s := torch.NewScope()
			defer s.Close()
			x := imagesTensor([]*data.Image{smp.A}).To(dev)
			torch.NoGrad(func() { im = toImages(g.Forward(x)) })
		})
		if err != nil {
			return i, fmt.Errorf("%s: %w", files[i], err)
		}
		grid, err := MakeGrid(im, GridOptions{NRow: 1, FixedRange: true, Lo: -1, Hi: 1})
		if err != nil {
			return i, err
		}
		name := strings.TrimSuffix(filepath.Base(files[i]), filepath.Ext(files[i])) + ".png"
		if err := SavePNG(filepath.Join(out, name), grid); err != nil {
			return i, err
		}
	}
	return ds.Len(), nil
}

// Import builds cfg's networks, loads a PyTorch generator state_dict (and
// optionally the discriminator's) from .pth files, and writes a step-0
// checkpoint into cfg.Out that sample, translate and resume can use.
func Import(cfg *Config, pthG, pthD string) (string, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	dev, err := deviceFor(cfg)
	if err != nil {
		return "", err
	}
	rd, err := NewRunDir(cfg.Out)
	if err != nil {
		return "", err
	}
	if cks, _ := ListCheckpoints(rd.Path); len(cks) > 0 {
		return "", fmt.Errorf("import: %s already holds checkpoints; choose a new --out", rd.Path)
	}
	torch.ManualSeed(uint64(cfg.Seed))
	rec, err := newRecipe(cfg, dev)
	if err != nil {
		return "", err
	}
	s := &session{cfg: cfg, rd: rd, dev: dev, rec: rec}
	defer s.close()
	for _, p := range []struct {
		net  string
		file string
	}{{"G", pthG}, {"D", pthD}} {
		if p.file == "" {
			continue
		}
		sd, err := torch.LoadPTH(p.file)
		if err != nil {
			return "", fmt.Errorf("import: %w", err)
		}
		for _, n := range rec.nets() {
			if n.name == p.net {
				err = n.net.LoadStateDict(sd)
			}
		}
		for _, nt := range sd {
			nt.Tensor.Free()
		}
		if err != nil {
			return "", fmt.Errorf("import %s into %s (%s): %w", p.file, p.net, describeKind(cfg, p.net), err)
		}
	}
	t := cfg.Train
	if s.sched, err = NewSchedule(t.LRPolicy, t.LR, t.Epochs, t.EpochsDecay, t.LRDecayIters); err != nil {
		return "", err
	}
	if err := rd.WriteConfig(cfg); err != nil {
		return "", err
	}
	if err := s.checkpoint(); err != nil {
		return "", err
	}
	return s.ckpt, nil
}

func describeKind(cfg *Config, net string) string {
	if net == "G" {
		return "model.netG=" + generatorOptions(cfg).Kind
	}
	return "model.netD=" + discriminatorOptions(cfg).Kind
}

// DescribeNets prints the generator's and discriminator's layers, output
// shapes and parameter counts for a config (on the CPU).
func DescribeNets(cfg *Config) (string, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	g, err := nets.NewGenerator(generatorOptions(cfg), torch.CPUDevice)
	if err != nil {
		return "", err
	}
	defer g.Free()
	d, err := nets.NewDiscriminator(discriminatorOptions(cfg), torch.CPUDevice)
	if err != nil {
		return "", err
	}
	defer d.Free()
	var gIn, dIn []int64
	if cfg.Recipe == "dcgan" {
		gIn = []int64{1, int64(cfg.Model.NZ), 1, 1}
		dIn = []int64{1, int64(cfg.Data.Channels), int64(cfg.Data.ImageSize), int64(cfg.Data.ImageSize)}
	} else {
		c := int64(cfg.Data.CropSize)
		gIn = []int64{1, int64(cfg.Model.InputNC), c, c}
		dIn = []int64{1, int64(cfg.Model.InputNC + cfg.Model.OutputNC), c, c}
	}
	gs, err := g.Describe(gIn)
	if err != nil {
		return "", err
	}
	ds, err := d.Describe(dIn)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("Generator %s\n%s\nDiscriminator %s\n%s", generatorOptions(cfg).Kind, gs, discriminatorOptions(cfg).Kind, ds), nil
}
