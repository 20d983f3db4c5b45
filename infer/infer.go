// Package infer runs trained generators: gogan sample (noise to images),
// gogan translate (images to images) and gogan describe. What a recipe can do
// here it says in its registration (gan.Definition's Generate and Translate).
package infer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"

	torch "gogan/cgo"
	"gogan/config"
	"gogan/data"
	"gogan/gan"
	"gogan/nets"
	"gogan/report"
	"gogan/runfolder"
)

// LoadNet builds the checkpoint's network of the given role on dev with its
// weights.
func LoadNet(ck runfolder.Checkpoint, cfg *config.Config, role string, dev torch.Device) (*nets.Net, error) {
	ts, meta, err := torch.LoadSafetensors(ck.WeightsPath())
	if err != nil {
		return nil, ck.Removed(err)
	}
	defer torch.FreeNamed(ts)
	if slices.Contains(strings.Split(meta[runfolder.InitialNetsKey], ","), role) {
		slog.Warn("this network holds its initial random weights: gogan import was given no file for it (import --net "+role+"=FILE)", "network", role, "checkpoint", ck.Dir)
	}
	n, err := gan.NetFromWeights(cfg, ts, role, dev)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", ck.Dir, err)
	}
	return n, nil
}

// LoadNets loads the checkpoint's networks of the given roles (a
// translation's Nets) in the given mode; release frees them.
func LoadNets(ck runfolder.Checkpoint, cfg *config.Config, roles []string, dev torch.Device, train bool) (ns map[string]*nets.Net, release func(), err error) {
	ns = map[string]*nets.Net{}
	release = func() {
		for _, n := range ns {
			n.Free()
		}
	}
	for _, role := range roles {
		n, err := LoadNet(ck, cfg, role, dev)
		if err != nil {
			release()
			return nil, nil, err
		}
		n.SetTraining(train)
		ns[role] = n
	}
	return ns, release, nil
}

// Generator is how a checkpoint's generator draws images: its recipe's
// Generation and the number of classes it takes (0: noise alone), with
// their names where the run's dataset has them (Fashion-MNIST's garments,
// CIFAR-10's classes).
type Generator struct {
	gan.Generation
	Classes int
	Names   []string
	dataset string // whose class names Class also takes in their other spellings
}

// Generation is how a checkpoint's recipe makes images from noise, or an
// error naming the command to use instead.
func Generation(ck runfolder.Checkpoint, cfg *config.Config, command string) (Generator, error) {
	def, err := gan.For(cfg)
	if err != nil {
		return Generator{}, err
	}
	if def.Generate == nil {
		instead := "; use gogan translate"
		if def.Translate == nil {
			instead = " (nor does it translate images: its generator runs only in training, for its sample grids)"
		}
		return Generator{}, fmt.Errorf("checkpoint %s is a %s run: %s draws images from noise, which recipe %s does not%s", ck.Dir, cfg.Recipe, command, cfg.Recipe, instead)
	}
	g := Generator{Generation: def.Generate(cfg)}
	classes, takes := gan.TakesLabels(cfg)
	switch {
	case takes && g.Condition == nil:
		return Generator{}, fmt.Errorf("checkpoint %s: recipe %s takes class labels (%q among its Inputs) but its Generation has no Condition: %s cannot tell its generator a class", ck.Dir, cfg.Recipe, gan.LabelInput, command)
	case g.Condition != nil && classes < 1:
		return Generator{}, fmt.Errorf("checkpoint %s: recipe %s's Generation has a Condition, but its Inputs list no %q input with its number of classes (gan.Input.Classes)", ck.Dir, cfg.Recipe, gan.LabelInput)
	case g.Condition != nil:
		g.Classes, g.dataset = classes, cfg.Data.Dataset
		for n := range classes {
			name := data.ClassName(cfg.Data.Dataset, n)
			if name == strconv.Itoa(n) {
				g.Names = nil
				break
			}
			g.Names = append(g.Names, name)
		}
	}
	return g, nil
}

// EachClass, as a class, draws sample i of class i mod the generator's
// classes.
const EachClass = -1

// Class is the class v names for g: its number, or its name where g has
// them (any case, or as data.classes_A spells it: "ankle boot"); EachClass
// for "".
func (g Generator) Class(v string) (int, error) {
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		return EachClass, nil
	case g.Classes == 0:
		return 0, errors.New("this generator draws from noise alone: it takes no class")
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		n = -1
		if g.Names != nil {
			n = data.ClassOf(g.dataset, v)
		}
	}
	if n < 0 || n >= g.Classes {
		if g.Names != nil {
			return 0, fmt.Errorf("this generator takes classes 0 to %d, or their names: %s", g.Classes-1, strings.Join(g.Names, ", "))
		}
		return 0, fmt.Errorf("this generator takes classes 0 to %d", g.Classes-1)
	}
	return n, nil
}

// InTurn says, for a generator that takes a class, that samples are drawn
// of each class in turn ("" for one that does not).
func (g Generator) InTurn() string {
	if g.Classes == 0 {
		return ""
	}
	return fmt.Sprintf(", classes 0 to %d in turn", g.Classes-1)
}

// ClassesOf is the classes of n samples from the start-th on: class where
// it is one, else sample i's i mod g.Classes; nil where g takes none.
func (g Generator) ClassesOf(start, n, class int) []float32 {
	if g.Classes == 0 {
		return nil
	}
	cs := make([]float32, n)
	for i := range cs {
		if class == EachClass {
			cs[i] = float32((start + i) % g.Classes)
		} else {
			cs[i] = float32(class)
		}
	}
	return cs
}

// Translation is the checkpoint recipe's translation in direction ("" for
// its first), or an error naming the command to use instead.
func Translation(ck runfolder.Checkpoint, cfg *config.Config, direction, command string) (gan.Translation, error) {
	def, err := gan.For(cfg)
	if err != nil {
		return gan.Translation{}, err
	}
	if def.Translate == nil {
		instead := "; use gogan sample"
		if strings.HasPrefix(command, "eval") {
			instead = "; use gogan eval fid"
		}
		if def.Generate == nil {
			instead = " (nor does it draw images from noise: its generator runs only in training, for its sample grids)"
		}
		return gan.Translation{}, fmt.Errorf("checkpoint %s is a %s run: %s runs image-to-image generators, which recipe %s has not%s", ck.Dir, cfg.Recipe, command, cfg.Recipe, instead)
	}
	trs := def.Translate(cfg)
	var dirs []string
	for _, t := range trs {
		if direction == "" || t.Direction == direction {
			return t, nil
		}
		dirs = append(dirs, t.Direction)
	}
	if len(dirs) == 1 {
		return gan.Translation{}, fmt.Errorf("--direction %s: checkpoint %s (%s) translates %s, not %s: leave --direction out, or give %s", direction, ck.Dir, cfg.Recipe, dirs[0], direction, dirs[0])
	}
	return gan.Translation{}, fmt.Errorf("--direction %s: checkpoint %s (%s) translates %s, not %s: give one of them, or leave --direction out for %s", direction, ck.Dir, cfg.Recipe, strings.Join(dirs, " or "), direction, dirs[0])
}

// maxSampleGrid is the most samples gogan sample puts in a grid (a 10000
// grid of 64x64 images is 6400 pixels wide); sampleBatch how many it draws
// per forward pass in eval mode.
const (
	maxSampleGrid = 10000
	sampleBatch   = 256
)

// maxClassColumns is the most classes a grid gives a column each: past it,
// rows of 8 as DCGAN's (a grid of 64 samples of 1000 classes would be one
// row).
const maxClassColumns = 32

// SampleOptions are gogan sample's flags.
type SampleOptions struct {
	Checkpoint string // checkpoint or run folder
	N          int
	Seed       int64
	// Class is every sample's class, for a class-conditional generator:
	// its number or name (Generator.Class); "" draws sample i of class i
	// mod the classes, a column a class (up to maxClassColumns).
	Class     string
	Device    string
	Out       string
	TrainMode bool
}

// Sample draws o.N samples from a checkpoint's generator (noise from o.Seed)
// and writes them as a grid PNG. In eval mode (BatchNorm's running
// statistics) an image does not depend on the others drawn with it; in
// train mode (o.TrainMode) G normalises by each pass's batch statistics, as
// pytorch/examples dcgan draws its fake_samples grids (netG is never put in
// eval mode there) and gogan its samples/ grids, in passes of the run's
// data.batch_size (its batchSize), the last filled up with more noise whose
// images are dropped.
func Sample(o SampleOptions) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	n, out := o.N, o.Out
	ck, _, cfg, err := runfolder.OpenCheckpoint(o.Checkpoint)
	if err != nil {
		return err
	}
	gen, err := Generation(ck, cfg, "gogan sample")
	if err != nil {
		return err
	}
	class, err := gen.Class(o.Class)
	if err != nil {
		leave := ""
		if gen.Classes == 0 {
			leave = "; leave --class out"
		}
		return fmt.Errorf("--class %s: checkpoint %s (%s): %w%s", o.Class, ck.Dir, cfg.Recipe, err, leave)
	}
	if n < 1 || n > maxSampleGrid {
		return fmt.Errorf("--n %d: a grid holds 1 to %d samples (gogan eval fid draws more, in batches)", n, maxSampleGrid)
	}
	// before drawing (a grid of 10,000 takes minutes on a CPU), not after:
	// a folder above it that is a file, or one this user cannot write to
	if err := runfolder.CheckWritable(out); err != nil {
		return fmt.Errorf("--out %w", err)
	}
	dev, err := torch.UseDevice(o.Device)
	if err != nil {
		return err
	}
	g, err := LoadNet(ck, cfg, gen.Role, dev)
	if err != nil {
		return err
	}
	defer g.Free()
	g.SetTraining(o.TrainMode)
	// In passes: in eval mode the images are the same whatever the pass,
	// and a pass's activations take the memory of sampleBatch images, not n.
	batch, drawn := int64(sampleBatch), int64(n)
	if o.TrainMode {
		batch = int64(max(1, cfg.Data.BatchSize))
		drawn = (drawn + batch - 1) / batch * batch
	}
	var im report.Images
	err = torch.Try(func() {
		s := torch.NewScope()
		defer s.Close()
		torch.ManualSeed(uint64(o.Seed))
		noise := torch.Randn(torch.Float32, dev, append([]int64{drawn}, gen.Noise...)...)
		var outs []*torch.Tensor
		defer func() {
			for _, t := range outs {
				t.Free()
			}
		}()
		for i := int64(0); i < int64(n); i += batch {
			func() { // a scope per pass frees its activations
				bs := torch.NewScope()
				defer bs.Close()
				torch.NoGrad(func() {
					k := min(batch, drawn-i)
					y := g.Forward(gen.Input(noise.Narrow(0, i, k), gen.ClassesOf(int(i), int(k), class)))
					outs = append(outs, y.Narrow(0, 0, min(batch, int64(n)-i)).To(torch.CPUDevice).Persist())
				})
			}()
		}
		im = report.ToImages(torch.Cat(outs, 0))
	})
	if err != nil {
		return err
	}
	layout := report.DCGANGrid
	if gen.Classes > 0 && gen.Classes <= maxClassColumns && class == EachClass {
		layout.NRow = gen.Classes
	}
	grid, err := report.MakeGrid(im, layout)
	if err != nil {
		return err
	}
	// as translate makes its --out: the folders it lacks
	undo, err := makeOut(filepath.Dir(out))
	if err != nil {
		return err
	}
	removeStaleTemps([]string{out})
	if err := report.SavePNG(out, grid); err != nil {
		undo()
		return err
	}
	return nil
}

// TranslateOptions are gogan translate's flags.
type TranslateOptions struct {
	Checkpoint string // checkpoint or run folder
	Direction  string // "" means the recipe's first: pix2pix's only one, CycleGAN's G_A
	Input, Out string
	// Instances is the folder of instance maps for a generator that takes
	// their boundaries (pix2pixHD), paired with the inputs by sorted
	// position; Photos the photos pix2pixHD's features are encoded from,
	// paired the same way, or Features a file of clustered features (gogan
	// features) they are drawn from, with draws seeded by Seed.
	Instances, Photos, Features string
	Seed                        uint64
	Device                      string
	Eval                        bool // BatchNorm's running statistics and no dropout (test.py --eval); else train mode
	SkipInvalid                 bool // skip unreadable inputs with a warning instead of stopping
	// Seeded (--seed given) seeds train mode's dropout with Seed too, once
	// before the first input, as eval pix2pix seeds it: the same inputs give
	// the same bytes. Unseeded, each call draws anew, as test.py.
	Seeded bool
	// Preprocess and LoadSize size the inputs as the references' test
	// --preprocess and --load_size (TestPreprocesses; "" and 0: as the
	// run's preprocess is tested, data.TestPreprocess).
	Preprocess string
	LoadSize   int
	// Limit translates only the first inputs, in sorted order (test.py
	// --num_test, pix2pixHD's --how_many); 0 = all.
	Limit int
	// Stop, when done, stops the translation before its next input (a
	// signal); the ones written stay. nil: never.
	Stop <-chan struct{}
}

// limit is the inputs o.Limit keeps.
func (o TranslateOptions) limit(inputs []string) []string {
	if o.Limit > 0 && o.Limit < len(inputs) {
		return inputs[:o.Limit]
	}
	return inputs
}

// Translate runs a checkpoint's generator on every image of a folder
// (sized as the reference's test.py would size it: testSize) and writes
// PNGs with the same base names into o.Out.
func Translate(o TranslateOptions) (n int, err error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if strings.TrimSpace(o.Out) == "" {
		return 0, fmt.Errorf("--out is empty: give the folder to write the translations into")
	}
	if o.Limit < 0 {
		return 0, fmt.Errorf("--limit %d: want how many inputs to translate, or 0 for all", o.Limit)
	}
	if _, err := os.Stat(o.Out); data.IsImageFile(o.Out) && errors.Is(err, fs.ErrNotExist) {
		// --out facade.png for one input would make a folder facade.png/
		// holding the input's name: not the file asked for (an existing
		// file is refused by makeOut, a folder of that name is used)
		return 0, fmt.Errorf("--out %s names an image file, but translate writes into a folder, one PNG per input named after it: give the folder to write into", o.Out)
	}
	ck, _, cfg, err := runfolder.OpenCheckpoint(o.Checkpoint)
	if err != nil {
		return 0, err
	}
	tr, err := Translation(ck, cfg, o.Direction, "gogan translate")
	if err != nil {
		return 0, err
	}
	dev, err := torch.UseDevice(o.Device)
	if err != nil {
		return 0, err
	}
	if tr.Encode != nil {
		return translateMaps(ck, cfg, tr, o, dev)
	}
	for _, f := range []struct{ flag, v string }{{"--instances", o.Instances}, {"--photos", o.Photos}, {"--features", o.Features}} {
		if f.v != "" {
			why := "those are pix2pixHD's"
			if cfg.Recipe == "pix2pixhd" {
				why = "it trained with data.no_instance, without model.instance_feat or label_feat"
			}
			return 0, fmt.Errorf("%s %s: the generator of %s takes images alone (no instance maps or features: %s)", f.flag, f.v, ck.Dir, why)
		}
	}
	in := o.Input
	fi, err := os.Stat(in)
	single := err == nil && fi.Mode().IsRegular() // one image, written into --out as a folder's are
	if !single {
		if err := isFolder("--input", in); err != nil {
			return 0, err
		}
	}
	dc, err := gan.DataConfig(cfg)
	if err != nil {
		return 0, err
	}
	spec, err := gan.NetSpecOf(cfg, tr.Role)
	if err != nil {
		return 0, err
	}
	size, err := newTestSize(dc, o, nets.InputMultiple(spec.Options), nets.MinInput(spec.Options))
	if err != nil {
		return 0, err
	}
	if dc.Dataset == data.Unaligned && dc.ClassesA == "" {
		warnOtherDomain(in, single, tr)
	}
	files, folder := []string{in}, ""
	if single {
		if _, err := data.LoadImage(in, tr.InputChannels()); err != nil { // before the generator loads
			return 0, fmt.Errorf("--input: %w", err)
		}
	} else {
		// the folder's images, found and checked as a dataset finds them
		// (each is decoded again by itself below, and sized by size)
		ds, err := data.Open(context.Background(), data.Config{Dataset: data.Folder, Root: in, Channels: tr.InputChannels(), BatchSize: 1,
			Preprocess: data.ResizeAndCrop, LoadSize: dc.CropSize, CropSize: dc.CropSize, NoFlip: true, SkipInvalid: o.SkipInvalid, SkipFlag: "--skip-invalid"}, nil)
		if err != nil {
			return 0, err
		}
		files, folder = o.limit(ds.Files()), in
	}
	outs, g, finish, err := startTranslations(ck, cfg, tr.Role, dev, o, files, map[string]string{"--input": folder})
	if err != nil {
		return 0, err
	}
	defer func() { finish(err != nil) }()
	// Each file by itself (not the dataset's samples, which with
	// skip_invalid stand another image in for one that fails to decode):
	// decoded and resized bicubic to its test size.
	pairNoted := false
	// an edges run's generator takes the edge maps data.edges drew: a photo,
	// or a sketch of the other polarity, gives nothing like its outputs
	edgesIn, edgesNoted := dc.Dataset == data.Edges && dc.Direction == "AtoB", map[string]bool{}
	load := func(i int) (*data.Image, error) {
		a, err := data.LoadImage(files[i], tr.InputChannels())
		if err != nil {
			return nil, err
		}
		if dc.Dataset == data.Aligned && a.W == 2*a.H && !pairNoted && !data.PairsInTwoFolders(dc.Root, dc.Phase) {
			// test.py on an aligned folder splits each pair; translate
			// takes each file as the input image (a run whose pairs were
			// two folders' files trained on whole files: no A|B pairs)
			pairNoted = true
			slog.Warn("translate: an input is twice as wide as high, as the A|B pairs the run trained on: it is translated whole, as one image. "+
				"For a folder of pairs, gogan eval pix2pix --data-root ROOT --phase PHASE --out DIR writes test.py's results (input, output, target); or give the inputs' halves",
				"input", files[i])
		}
		if edgesIn { // as drawn: a resize to a small model grays thin lines
			if kind, why := notAnEdgeMap(a, dc.EdgeDetector); kind != "" && !edgesNoted[kind] {
				edgesNoted[kind] = true // the first input of each kind
				slog.Warn("translate: this run (data.dataset=edges, AtoB) takes edge maps as data.edges="+dc.EdgeDetector+" drew them from its photos, dark lines on a white background (as edges2shoes' sketches), and gives photos; "+why,
					"input", files[i])
			}
		}
		w, h, err := size.of(a.W, a.H)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", files[i], err)
		}
		if a.W != w || a.H != h {
			a = data.Resize(a, w, h, data.Bicubic)
		}
		return a, nil
	}
	return writeTranslations(files, outs, o, tr.PNG(), load, func(a *data.Image) report.Images {
		x := tr.Input([]*data.Image{a}).To(dev)
		return tr.Output(x, g.Forward(x))
	})
}

// warnOtherDomain warns where a CycleGAN's --input (or the folder of a
// single input) is named as the domain folder its generator does not take
// (testB/ given to G_A, which the default --direction AtoB runs): the
// generator translates it as if it were its own domain's, and nothing else
// says so; the references' test.py does the same.
func warnOtherDomain(in string, single bool, tr gan.Translation) {
	dir := filepath.Base(filepath.Clean(absPath(in)))
	if single {
		dir = filepath.Base(filepath.Dir(absPath(in)))
	}
	own := tr.PairDirection[:1] // the data's side this generator takes
	other := map[string]string{"A": "B", "B": "A"}[own]
	for _, split := range []string{"", "train", "val", "test"} {
		if dir == split+other {
			back := map[string]string{"AtoB": "BtoA", "BtoA": "AtoB"}[tr.Direction]
			slog.Warn(fmt.Sprintf("translate: the inputs' folder is named %s/, as the run's domain %s, but --direction %s runs %s, which takes domain %s%s: give --direction %s to translate domain %s",
				dir, other, tr.Direction, tr.Role, own, map[bool]string{true: " (the run trained with data.direction=BtoA, which swaps the domains)", false: ""}[tr.PairDirection != tr.Direction], back, other), "input", in)
			return
		}
	}
}

// makeOut makes the output folder and the parents it lacks; undo removes
// those of them that are still empty (a translation that failed before it
// wrote anything leaves no folder behind).
func makeOut(out string) (undo func(), err error) {
	if fi, err := os.Stat(out); err == nil && !fi.IsDir() {
		return nil, fmt.Errorf("--out %s is a file: give a folder to write the translations into", out)
	}
	near, err := runfolder.NearestFolder(out, out)
	if err != nil {
		return nil, fmt.Errorf("--out %w", err)
	}
	// before the generator loads and the first image is translated
	if err := runfolder.TakesNewFile(near); err != nil {
		return nil, fmt.Errorf("--out %s cannot be written: %w; give a folder this user can write to", out, err)
	}
	made := runfolder.MissingDirs(out)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	return func() { runfolder.RemoveEmptyDirs(made) }, nil
}

// startTranslations lays out the PNG each input is written as, makes the
// --out folder and loads the generator in o.Eval's mode: the same start for
// a folder of images and for label maps (translateMaps). finish frees the
// generator and, after a failure, removes the folders it made, so that a
// translation that failed leaves no folder behind.
func startTranslations(ck runfolder.Checkpoint, cfg *config.Config, role string, dev torch.Device, o TranslateOptions,
	inputs []string, folders map[string]string) (outs []string, g *nets.Net, finish func(failed bool), err error) {
	outs, err = outputPaths(o.Out, inputs, folders)
	if err != nil {
		return nil, nil, nil, err
	}
	undo, err := makeOut(o.Out)
	if err != nil {
		return nil, nil, nil, err
	}
	g, err = LoadNet(ck, cfg, role, dev)
	if err != nil {
		undo()
		return nil, nil, nil, err
	}
	g.SetTraining(!o.Eval)
	return outs, g, func(failed bool) {
		g.Free()
		if failed {
			undo()
		}
	}, nil
}

// DescribeNets prints each network of a config's recipe: its layers, output
// shapes and parameter counts (on the CPU).
func DescribeNets(cfg *config.Config) (string, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	def, err := gan.For(cfg)
	if err != nil {
		return "", err
	}
	var parts []string
	for _, spec := range def.Nets(cfg) {
		n, err := spec.Build(spec.Options, torch.CPUDevice)
		if err != nil {
			return "", err
		}
		d, err := n.Describe(append([]int64{1}, spec.Input...))
		n.Free()
		if err != nil {
			return "", err
		}
		parts = append(parts, fmt.Sprintf("%s %s\n%s", spec.Role, spec.Options.Kind, d))
	}
	return strings.Join(parts, "\n"), nil
}

// absPath is path made absolute, or as it is where that fails.
func absPath(path string) string {
	if a, err := filepath.Abs(path); err == nil {
		return a
	}
	return path
}

// isFolder checks that a flag's path is a folder, saying what it is
// instead.
func isFolder(flag, path string) error {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s %s: no such folder", flag, path)
	case err != nil:
		return fmt.Errorf("%s %s: %w", flag, path, err)
	case fi.Mode().IsRegular():
		return fmt.Errorf("%s %s is a file: give the folder of images it is in", flag, path)
	case !fi.IsDir():
		return fmt.Errorf("%s %s is %s, not a folder: give a folder of images", flag, path, data.KindOf(fi.Mode()))
	}
	return nil
}

// notAnEdgeMap says why an input, as decoded to the generator's one
// channel, is no edge map of the kind data.edges draws (dark lines on white: Canny's
// are black and white, a tenth to a fifth of the pixels black; Sobel's are
// shades of gray, mostly light): its kind ("photo", "dark") and the words
// that say so, or "" where it may be one.
func notAnEdgeMap(a *data.Image, detector string) (kind, why string) {
	var dark, mid int
	for p := 0; p < a.W*a.H; p++ {
		v := a.Pix[p*a.C] // gray: the first channel
		if v < 128 {
			dark++
		}
		if v > 48 && v < 208 {
			mid++
		}
	}
	n := float64(a.W * a.H)
	switch {
	case detector == "canny" && float64(mid) > 0.3*n:
		return "photo", fmt.Sprintf("this input is %.0f%% mid-grays, a photo (or a sketch on gray paper) rather than black lines on white: give it such sketches (a model from photos to sketches trains with data.direction=BtoA)", 100*float64(mid)/n)
	case float64(dark) > 0.5*n:
		return "dark", fmt.Sprintf("this input is %.0f%% dark, light lines on black perhaps: invert it", 100*float64(dark)/n)
	}
	return "", ""
}
