package eval

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"strings"

	torch "gogan/cgo"
	"gogan/config"
	"gogan/data"
	"gogan/gan"
	"gogan/infer"
	"gogan/runfolder"
)

// ClassesOptions configure Classes.
type ClassesOptions struct {
	Classifier string // safetensors file from gogan eval classifier
	Checkpoint string // a CycleGAN checkpoint trained on data.classes_A / classes_B
	Direction  string // AtoB (G_A: classes_A to classes_B), BtoA (G_B) or both; "" = both
	Root       string // Fashion-MNIST IDX folder; default the checkpoint's data.root
	Device     string // default auto
	Threads    int    // libtorch threads; 0: all cores
}

// ClassesRow is one set of images scored: how many, the fraction the
// classifier puts in the target classes, and their FID to the target
// classes' test images (NaN for those images themselves).
type ClassesRow struct {
	Images   string
	N        int
	InTarget float64
	FID      float64
}

// ClassesEval is Classes' result for one direction.
type ClassesEval struct {
	Checkpoint         string
	Direction, Role    string // AtoB and G_A, or BtoA and G_B
	Dataset            string // data.source: fashion-mnist or mnist
	Source, Target     string // the classes, by name
	Classifier         string
	ClassifierAccuracy string
	Rows               []ClassesRow
}

func (e *ClassesEval) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "checkpoint %s, %s (%s): %s -> %s on the %s test split\n", e.Checkpoint, e.Direction, e.Role, e.Source, e.Target, e.Dataset)
	fmt.Fprintf(&b, "classifier %s (test accuracy %s); FID to the %d %s test images\n", e.Classifier, e.ClassifierAccuracy, e.Rows[len(e.Rows)-1].N, e.Target)
	fmt.Fprintf(&b, "%-42s %6s %10s %9s\n", "images", "n", "in target", "FID")
	for _, r := range e.Rows {
		fid := "-" // the reference itself
		if !math.IsNaN(r.FID) {
			fid = fmt.Sprintf("%.3f", r.FID)
		}
		fmt.Fprintf(&b, "%-42s %6d %9.1f%% %9s\n", r.Images, r.N, 100*r.InTarget, fid)
	}
	return b.String()
}

// classesDirections are what ClassesOptions.Direction may say: "" and
// "both" score G_A and then G_B.
var classesDirections = []string{"AtoB", "BtoA", "both"}

// Classes scores a CycleGAN trained between classes of Fashion-MNIST (or
// MNIST): for each direction asked (both by default, G_A's first), it
// translates every test image of the source classes (through the training
// pipeline, without flips) with that direction's generator in eval mode, and
// reports how often the classifier of gogan eval classifier puts the
// translations in the target classes and the FID of their features to the
// target classes' test images. For comparison: the source images as they are
// (before any training: where a translation starts from) and the target
// classes' training images (the real-vs-real floor). Images are quantised to
// 8 bits first, as FID does.
func Classes(ctx context.Context, o ClassesOptions) ([]*ClassesEval, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if o.Device == "" {
		o.Device = "auto"
	}
	if o.Classifier == "" {
		return nil, errors.New("eval classes: --classifier: name the classifier file (make one with gogan eval classifier --out FILE)")
	}
	dirs := []string{o.Direction}
	switch o.Direction {
	case "", "both":
		dirs = []string{"AtoB", "BtoA"}
	case "AtoB", "BtoA":
	default:
		return nil, fmt.Errorf("eval classes: --direction %s: want %s (G_A's translations, G_B's, or both)", o.Direction, strings.Join(classesDirections, ", "))
	}
	ck, _, cfg, err := runfolder.OpenCheckpoint(o.Checkpoint)
	if err != nil {
		return nil, err
	}
	if _, err := infer.Translation(ck, cfg, "", "eval classes"); err != nil {
		return nil, fmt.Errorf("eval classes: it needs a CycleGAN checkpoint: %w", err)
	}
	dc, err := gan.DataConfig(cfg)
	if err != nil {
		return nil, err
	}
	if dc.Dataset != data.Unaligned || dc.ClassesA == "" || dc.ClassesB == "" {
		return nil, fmt.Errorf("eval classes: checkpoint %s (recipe %s) did not learn between classes (a CycleGAN with data.classes_A and data.classes_B of an IDX dataset); for pairs of images use gogan eval pix2pix", ck.Dir, cfg.Recipe)
	}
	if dc.Source != data.FashionMNIST && dc.Source != data.MNIST {
		return nil, fmt.Errorf("eval classes: checkpoint %s learned between classes of %s; the classifier of gogan eval classifier reads Fashion-MNIST's IDX files (or MNIST's, given as its --data-root), so eval classes scores a CycleGAN between classes of fashion-mnist or mnist", ck.Dir, dc.Source)
	}
	var trs []gan.Translation
	for _, d := range dirs {
		tr, err := infer.Translation(ck, cfg, d, "eval classes")
		if err != nil {
			return nil, fmt.Errorf("eval classes: %w", err)
		}
		trs = append(trs, tr)
	}
	for _, tr := range trs {
		if tr.InputNC != 1 || tr.OutputNC != 1 || dc.CropSize != ClassifierSize || !data.CropsAtRandom(dc.Preprocess) {
			return nil, fmt.Errorf("eval classes: checkpoint %s translates %dx%dx%d images (data.crop_size %d, data.preprocess %s): the classifier takes 1x%dx%d images; train with model.input_nc=1 model.output_nc=1 data.crop_size=%d",
				ck.Dir, tr.InputNC, dc.CropSize, dc.CropSize, dc.CropSize, dc.Preprocess, ClassifierSize, ClassifierSize, ClassifierSize)
		}
	}
	trained := dc
	if o.Root != "" {
		dc.Root = o.Root
	}
	if what := trainedOn(trained, dc.Root, "test", 0); what != "" {
		slog.Warn(fmt.Sprintf("eval classes: checkpoint %s trained on the test images it translates here (%s): these figures are on its training images, not held-out ones; a run trained with data.phase=train keeps the test split held out",
			ck.Dir, what))
	}
	dev, err := torch.UseDevice(o.Device)
	if err != nil {
		return nil, err
	}
	if err := torch.SetThreads(o.Threads); err != nil {
		return nil, err
	}
	// The classifier before the slower work: a file that is not one is
	// said at once.
	c, err := LoadClassifier(o.Classifier, dev)
	if err != nil {
		return nil, err
	}
	defer c.Free()
	where := "data.root of checkpoint " + ck.Dir
	if o.Root != "" {
		where = "--data-root"
	}
	c.checkData(o.Classifier, dc.Root, dc.Source, where)
	dc.NoFlip, dc.SerialBatches, dc.MaxSamples = true, true, 0
	dc.InputNC, dc.OutputNC = trs[0].InputNC, trs[0].OutputNC // 1 and 1 in each direction, checked above
	test, err := readClassesSplit(ctx, dc, "test", trs, true)
	if err != nil {
		return nil, err
	}
	train, err := readClassesSplit(ctx, dc, "train", trs, false)
	if err != nil {
		return nil, err
	}
	var out []*ClassesEval
	for _, tr := range trs {
		res, err := classesDirection(ck, cfg, dc, tr, test, train, c, dev)
		if err != nil {
			return nil, err
		}
		res.Classifier = o.Classifier
		out = append(out, res)
	}
	return out, nil
}

// classesDirection is Classes' figures for one direction's generator. Every
// set of real images went through the run's own data pipeline (the
// reference's UnalignedDataset: resized as data.preprocess says, bicubic,
// without flips), the images G was trained to take and to imitate, so that
// the floor is what a perfect G could reach.
func classesDirection(ck runfolder.Checkpoint, cfg *config.Config, dc data.Config, tr gan.Translation, test, train classesSplit, c *Classifier, dev torch.Device) (*ClassesEval, error) {
	src, dst := dc.ClassesA, dc.ClassesB
	if tr.PairDirection == "BtoA" {
		src, dst = dst, src
	}
	source, targetTest := test.sides(tr)
	_, targetTrain := train.sides(tr)
	targetSet, err := classSet(dc, dst)
	if err != nil {
		return nil, err
	}
	translated, err := translateImages(ck, cfg, tr.Role, dev, source)
	if err != nil {
		return nil, err
	}
	ref, err := featureGaussian(c, targetTest)
	if err != nil {
		return nil, err
	}
	res := &ClassesEval{Checkpoint: ck.Dir, Direction: tr.Direction, Role: tr.Role, Dataset: dc.Source, Source: classNames(dc, src), Target: classNames(dc, dst),
		ClassifierAccuracy: accuracyText(c.Meta)}
	for _, set := range []struct {
		name   string
		images []float32
	}{
		{"source test images, untranslated", source},
		{fmt.Sprintf("%s(source test images)", tr.Role), translated},
		{"target train images (real-vs-real floor)", targetTrain},
	} {
		row, err := scoreClasses(c, set.images, targetSet, ref)
		if err != nil {
			return nil, err
		}
		row.Images = set.name
		res.Rows = append(res.Rows, row)
	}
	in, err := c.inClasses(targetTest, targetSet)
	if err != nil {
		return nil, err
	}
	res.Rows = append(res.Rows, ClassesRow{Images: "target test images (the reference)", N: ref.N, InTarget: in, FID: math.NaN()})
	return res, nil
}

// classesSplit is a split's images of data.classes_A and of
// data.classes_B (nil where no direction scored needs them), each image
// once, in [-1, 1], as the run's data pipeline makes them: read once for
// all the directions scored.
type classesSplit struct{ a, b []float32 }

// sides are the split's images of tr's source classes and of its target
// classes.
func (s classesSplit) sides(tr gan.Translation) (source, target []float32) {
	if tr.PairDirection == "BtoA" {
		return s.b, s.a
	}
	return s.a, s.b
}

// readClassesSplit reads the split of phase under dc (serial pairing:
// sample i holds image i of each stream): the target classes' images of
// each direction in trs, and their source classes' too when withSource.
func readClassesSplit(ctx context.Context, dc data.Config, phase string, trs []gan.Translation, withSource bool) (classesSplit, error) {
	var s classesSplit
	dc.Phase, dc.Direction = phase, "AtoB" // A is classes_A, whichever way tr goes
	ds, err := data.Open(ctx, dc, nil)
	if err != nil {
		return s, fmt.Errorf("eval classes: %w", err)
	}
	na, nb := ds.Streams()
	var readA, readB int // how many images of each stream are read
	if withSource {
		readA, readB = na, nb
	}
	for _, tr := range trs {
		nt := nb
		if tr.PairDirection == "BtoA" {
			nt, readA = na, na
		} else {
			readB = nb
		}
		if nt < 2 {
			return s, fmt.Errorf("eval classes: the %s split of %s has %d image of the target classes: need at least 2 for a covariance", phase, dc.Root, nt)
		}
	}
	for i := 0; i < max(readA, readB); i++ {
		if err := ctx.Err(); err != nil {
			return s, err
		}
		smp, err := ds.Sample(i, 0, 0)
		if err != nil {
			return s, fmt.Errorf("eval classes: %w", err)
		}
		if i < readA {
			s.a = appendNormalized(s.a, smp.A.Pix)
		}
		if i < readB {
			s.b = appendNormalized(s.b, smp.B.Pix)
		}
	}
	return s, nil
}

func appendNormalized(dst []float32, pix []uint8) []float32 {
	for _, p := range pix {
		dst = append(dst, data.Normalize(p))
	}
	return dst
}

// classSet is the labels a data.classes_* value names.
func classSet(dc data.Config, value string) (map[int]bool, error) {
	set, err := data.ParseClasses(value, dc.Source)
	if err != nil {
		return nil, fmt.Errorf("eval classes: %w", err)
	}
	return set, nil
}

func classNames(dc data.Config, value string) string {
	set, err := data.ParseClasses(value, dc.Source)
	if err != nil {
		return value
	}
	var names []string
	for l := 0; l < ClassifierClasses; l++ {
		if set[l] {
			names = append(names, data.ClassName(dc.Source, l))
		}
	}
	return strings.Join(names, "+")
}

// translateImages runs the generator of role (eval mode) on images
// [N, 1, 32, 32], in batches, quantised to 8 bits.
func translateImages(ck runfolder.Checkpoint, cfg *config.Config, role string, dev torch.Device, images []float32) ([]float32, error) {
	g, err := infer.LoadNet(ck, cfg, role, dev)
	if err != nil {
		return nil, err
	}
	defer g.Free()
	g.SetTraining(false)
	out := make([]float32, 0, len(images))
	err = imageBatches(images, 256, dev, func(x *torch.Tensor, _ int) {
		out = append(out, g.Forward(x).Float32s()...)
	})
	if err != nil {
		return nil, fmt.Errorf("eval classes: %s: %w", role, err)
	}
	quantize8(out)
	return out, nil
}

// scoreClasses is the fraction of images the classifier puts in labels and
// the FID of their features to ref.
func scoreClasses(c *Classifier, images []float32, labels map[int]bool, ref Gaussian) (ClassesRow, error) {
	g, err := featureGaussian(c, images)
	if err != nil {
		return ClassesRow{}, err
	}
	fd, err := FrechetDistance(g, ref)
	if err != nil {
		return ClassesRow{}, err
	}
	in, err := c.inClasses(images, labels)
	if err != nil {
		return ClassesRow{}, err
	}
	return ClassesRow{N: g.N, InTarget: in, FID: fd}, nil
}
