package eval

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"time"

	torch "gogan/cgo"
	"gogan/data"
	"gogan/nets"
	"gogan/report"
	"gogan/runfolder"
)

// The Fashion-MNIST classifier whose features gogan eval fid compares: a
// small all-convolutional network on 1x32x32 images in [-1, 1] (DCGAN-32's
// outputs; Fashion-MNIST resized 28 -> 32 bilinear as the DCGAN recipe's
// data pipeline does). Three conv4x4/2 + BatchNorm + ReLU stages (32, 64,
// 128 channels: 32 -> 16 -> 8 -> 4 pixels) and a conv3x3 + BatchNorm + ReLU
// at 4x4, a global average pool that gives the 128 features, and a 1x1
// convolution to the 10 logits. Its state dict reads as the PyTorch module
//
//	features = nn.Sequential(Conv2d(1, 32, 4, 2, 1, bias=False), BatchNorm2d(32), ReLU(), ...)
//	head = nn.Conv2d(128, 10, 1)
//	logits = head(features(x).mean((2, 3), keepdim=True)).flatten(1)
const (
	ClassifierSize     = 32  // input images are 1 x ClassifierSize x ClassifierSize
	ClassifierFeatures = 128 // feature dimensions
	ClassifierClasses  = 10
	classifierKind     = "gogan-fashion-mnist-classifier-v1" // safetensors metadata "kind"
	// The metadata that identify the classifier's training images: the
	// data root it read, its training images file and that file's
	// data.IDXImagesSHA256 (files written before gogan recorded them have
	// none).
	metaDataRoot    = "data_root"
	metaTrainImages = "train_images_file"
	metaTrainSHA256 = "train_images_sha256"
)

// classifierStages are the feature stages: output channels, kernel, stride, padding.
var classifierStages = [][4]int64{{32, 4, 2, 1}, {64, 4, 2, 1}, {128, 4, 2, 1}, {ClassifierFeatures, 3, 1, 1}}

type classifierStage struct {
	conv *nets.Conv2d
	bn   *nets.BatchNorm2d
}

// Classifier is the Fashion-MNIST classifier (see ClassifierSize).
type Classifier struct {
	dev      torch.Device
	stages   []classifierStage
	head     *nets.Conv2d
	sd       []torch.Named
	params   []*torch.Tensor
	training bool              // BatchNorm batch statistics (and running-stat updates) or running statistics
	Meta     map[string]string // the file's metadata: test_accuracy, steps, ...
}

// NewClassifier builds an untrained classifier on dev, initialised as
// PyTorch initialises Conv2d and BatchNorm2d layers (from the current
// default generator), in eval mode.
func NewClassifier(dev torch.Device) (*Classifier, error) {
	c := &Classifier{dev: dev, Meta: map[string]string{}}
	err := torch.Try(func() {
		in := int64(1)
		for i, st := range classifierStages {
			s := classifierStage{
				conv: nets.NewConv2d(nets.ConvSpec{In: in, Out: st[0], Kernel: st[1], Stride: st[2], Padding: st[3]}, dev),
				bn:   nets.NewBatchNorm2d(st[0], true, true, dev),
			}
			c.stages = append(c.stages, s)
			pc, pb := fmt.Sprintf("features.%d.", 3*i), fmt.Sprintf("features.%d.", 3*i+1)
			c.sd = append(c.sd, torch.Named{Name: pc + "weight", Tensor: s.conv.Weight},
				torch.Named{Name: pb + "weight", Tensor: s.bn.Weight}, torch.Named{Name: pb + "bias", Tensor: s.bn.Bias},
				torch.Named{Name: pb + "running_mean", Tensor: s.bn.RunningMean}, torch.Named{Name: pb + "running_var", Tensor: s.bn.RunningVar},
				torch.Named{Name: pb + "num_batches_tracked", Tensor: s.bn.NumBatchesTracked})
			c.params = append(c.params, s.conv.Weight, s.bn.Weight, s.bn.Bias)
			in = st[0]
		}
		c.head = nets.NewConv2d(nets.ConvSpec{In: in, Out: ClassifierClasses, Kernel: 1, Bias: true}, dev)
		c.sd = append(c.sd, torch.Named{Name: "head.weight", Tensor: c.head.Weight},
			torch.Named{Name: "head.bias", Tensor: c.head.Bias})
		c.params = append(c.params, c.head.Weight, c.head.Bias)
	})
	if err != nil {
		c.Free()
		return nil, fmt.Errorf("classifier: build: %w", err)
	}
	return c, nil
}

// Free releases the weights. Idempotent.
func (c *Classifier) Free() {
	for _, nt := range c.sd {
		nt.Tensor.Free()
	}
}

// forward returns the logits [N, 10] and the features [N, 128] of x [N, 1, 32, 32].
func (c *Classifier) forward(x *torch.Tensor) (logits, feats *torch.Tensor) {
	s := x.Shape()
	if len(s) != 4 || s[1] != 1 || s[2] != ClassifierSize || s[3] != ClassifierSize {
		panic(&torch.Error{Op: "classifier", Msg: fmt.Sprintf("input %v: the classifier takes [N 1 %d %d] images in [-1, 1]", s, ClassifierSize, ClassifierSize)})
	}
	h := x
	for _, st := range c.stages {
		y := st.conv.Forward(h)
		z := torch.BatchNorm(y, st.bn.Weight, st.bn.Bias, st.bn.RunningMean, st.bn.RunningVar, c.training, 0.1, 1e-5)
		if c.training {
			st.bn.NumBatchesTracked.AddInPlace(1)
		}
		if h != x {
			h.Free()
		}
		h = z.Relu()
		y.Free()
		z.Free()
	}
	pooled := h.MeanDims([]int64{2, 3}, true)
	logits = c.head.Forward(pooled).Reshape(s[0], ClassifierClasses)
	return logits, pooled.Reshape(s[0], ClassifierFeatures)
}

// crossEntropy is F.cross_entropy(logits, labels) composed from exp, sum and
// log: mean over the batch of logsumexp(z) - z[label], with z centred per row
// (softmax does not change) so that exp stays in range.
func crossEntropy(logits, onehot *torch.Tensor) *torch.Tensor {
	z := logits.Sub(logits.MeanDims([]int64{1}, true))
	lse := z.Exp().SumDims([]int64{1}, false).Log()
	return lse.Sub(z.Mul(onehot).SumDims([]int64{1}, false)).Mean()
}

// Save writes the weights and c.Meta (plus the kind that Load checks) to a
// safetensors file, atomically.
func (c *Classifier) Save(path string) error { return c.save(path, true) }

// save writes the classifier to path; unless replace, a file already there
// (another process's, written while this one trained) is refused and kept.
func (c *Classifier) save(path string, replace bool) error {
	meta := map[string]string{}
	for k, v := range c.Meta {
		meta[k] = v
	}
	meta["kind"] = classifierKind
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("classifier: %w", err)
		}
	}
	write := func(w io.Writer) error { return torch.WriteSafetensors(w, c.sd, meta) }
	// the temps of saves of path cut short (a SIGKILL): no resume cleans
	// this folder
	runfolder.LogRemovedTemps(runfolder.RemoveStaleTempsOf([]string{path}, runfolder.ProcessStart))
	var err error
	if replace {
		err = runfolder.AtomicWriteFile(path, write)
	} else {
		err = runfolder.AtomicCreateFiles([]string{path}, []func(io.Writer) error{write})
	}
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("classifier: %s was written by another process while this one trained; it is kept: pass --force to replace it, or give another --out", path)
	}
	if err != nil {
		return fmt.Errorf("classifier: save %s: %w", path, err)
	}
	return nil
}

// LoadClassifier reads a classifier that gogan eval classifier saved.
func LoadClassifier(path string, dev torch.Device) (*Classifier, error) {
	if fi, err := os.Stat(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("classifier %s: no such file; train one with: gogan eval classifier --out %s", path, path)
		}
		return nil, fmt.Errorf("classifier %s: %w", path, err)
	} else if fi.IsDir() {
		return nil, fmt.Errorf("classifier %s is a folder: give the file that gogan eval classifier --out wrote (e.g. %s)", path, filepath.Join(path, "classifier.safetensors"))
	}
	if torchSaveFile(path) {
		// pytorch-fid's Inception given as --classifier: --force would
		// replace the user's weights file with a classifier.
		return nil, fmt.Errorf("classifier %s: a PyTorch torch.save file, not a classifier gogan eval classifier wrote (safetensors): pytorch-fid's FID Inception weights go to --inception (FID without --classifier); make a classifier with gogan eval classifier --out FILE", path)
	}
	ts, meta, err := torch.LoadSafetensors(path)
	if err != nil {
		return nil, fmt.Errorf("classifier %s: %w (make a new one with gogan eval classifier --force --out %s)", path, err, path)
	}
	defer torch.FreeNamed(ts)
	if meta["kind"] != classifierKind {
		return nil, fmt.Errorf("classifier %s: not a gogan eval classifier (metadata kind %q, want %q); make one with gogan eval classifier --out FILE",
			path, meta["kind"], classifierKind)
	}
	c, err := NewClassifier(dev)
	if err != nil {
		return nil, err
	}
	saved := map[string]*torch.Tensor{}
	for _, nt := range ts {
		saved[nt.Name] = nt.Tensor
	}
	err = torch.Try(func() {
		torch.NoGrad(func() {
			for _, nt := range c.sd {
				src, ok := saved[nt.Name]
				if !ok {
					panic(&torch.Error{Op: "load", Msg: "missing key " + nt.Name})
				}
				if got, want := src.Shape(), nt.Tensor.Shape(); !slices.Equal(got, want) {
					panic(&torch.Error{Op: "load", Msg: fmt.Sprintf("%s is %v, the classifier's is %v: not the network gogan eval classifier trains", nt.Name, got, want)})
				}
				nt.Tensor.CopyFrom(src.To(dev))
			}
		})
	})
	if err != nil {
		c.Free()
		return nil, fmt.Errorf("classifier %s: %w; make a new one with gogan eval classifier --force --out %s", path, err, path)
	}
	c.Meta = meta
	return c, nil
}

// torchSaveFile says whether path starts as torch.save writes (a zip, or
// the legacy format's pickle).
func torchSaveFile(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var head [4]byte
	n, _ := io.ReadFull(f, head[:])
	return torch.LooksLikeTorchSave(head[:n])
}

// classifierFile says whether path is a safetensors file gogan eval
// classifier wrote (its metadata's kind), reading its header alone.
func classifierFile(path string) bool {
	_, meta, err := torch.SafetensorsHeader(path)
	return err == nil && meta["kind"] == classifierKind
}

// checkData says (a warning) when the classifier was trained on other
// images than the IDX dataset of kind under root that an evaluation reads,
// whose origin where names (--data-root, a checkpoint's data.root): its
// classes and features describe its own training images, and figures on
// others mean little. A classifier that records no training images (written
// before gogan recorded them) gets a note.
func (c *Classifier) checkData(path, root, kind, where string) {
	want := c.Meta[metaTrainSHA256]
	if want == "" {
		slog.Info("the classifier does not record the images it was trained on (an older gogan eval classifier wrote it): they cannot be checked against those evaluated; gogan eval classifier --force --out "+path+" makes one that does",
			"classifier", path)
		return
	}
	file, got, err := data.IDXImagesSHA256(root, kind, "train")
	if err != nil {
		slog.Warn("cannot check that the classifier was trained on the images evaluated", "classifier", path, "err", err.Error())
		return
	}
	if got != want {
		slog.Warn(fmt.Sprintf("classifier %s was trained on other images than those evaluated: on %s (%s, sha256 %.12s), not on the %s images under %s (%s; %s, sha256 %.12s); its classes and features do not describe these images, so the figures mean little: train a classifier on them with gogan eval classifier --data-root %s --out FILE",
			path, c.Meta[metaDataRoot], c.Meta[metaTrainImages], want, kind, root, where, file, got, filepath.Dir(file)))
	}
}

// ClassifierOptions configure TrainClassifier.
type ClassifierOptions struct {
	Root       string  // Fashion-MNIST IDX folder; default data.DefaultFashionRoot
	Epochs     int     // default 4; the last at a tenth of LR
	MaxSteps   int     // stop after this many steps (0: the epochs)
	BatchSize  int     // default 128
	LR         float64 // Adam learning rate; default 1e-3
	Seed       int64   // default 1
	MaxSamples int     // train on the first N training images (0: all 60000)
	TestLimit  int     // evaluate on the first N test images (0: all 10000)
	Device     string  // default auto
	Threads    int     // libtorch threads; 0: all cores
	Quiet      bool    // log lines instead of a progress bar
	Force      bool    // replace a classifier already at out
}

func (o ClassifierOptions) withDefaults() ClassifierOptions {
	if o.Root == "" {
		o.Root = data.DefaultFashionRoot
	}
	if o.Epochs == 0 {
		o.Epochs = 4
	}
	if o.BatchSize == 0 {
		o.BatchSize = 128
	}
	if o.LR == 0 {
		o.LR = 1e-3
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Device == "" {
		o.Device = "auto"
	}
	return o
}

// ClassifierResult is what TrainClassifier reports.
type ClassifierResult struct {
	Path          string
	Steps         int
	TrainImages   int
	TestImages    int
	TestAccuracy  float64
	TrainDuration time.Duration
}

// fashionConfig is the data config of Fashion-MNIST at 32x32 in [-1, 1], as
// the DCGAN recipe's pipeline with configs/dcgan-fashion-mnist.yaml makes it.
func fashionConfig(root, phase string, batch int, shuffle bool) data.Config {
	c := data.DefaultConfig(data.FashionMNIST)
	c.Root, c.Phase, c.BatchSize, c.Shuffle = root, phase, batch, shuffle
	c.ImageSize, c.Preprocess, c.Channels, c.NoFlip = ClassifierSize, data.ResizeCenterCrop, 1, true
	c.InMemory, c.Workers = true, 2
	return c
}

// accuracyText is a classifier file's recorded test accuracy (a fraction,
// "0.9022") as eval classifier printed it when it trained ("90.22 %").
func accuracyText(meta map[string]string) string {
	a, err := strconv.ParseFloat(meta["test_accuracy"], 64)
	if err != nil {
		return meta["test_accuracy"]
	}
	return fmt.Sprintf("%.2f %%", 100*a)
}

// TrainClassifier trains the classifier on Fashion-MNIST's training images
// with Adam and cross-entropy (the last epoch at a tenth of the learning
// rate), without augmentation, measures its accuracy on the test images and
// saves it to out.
func TrainClassifier(ctx context.Context, o ClassifierOptions, out string) (*ClassifierResult, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	o = o.withDefaults()
	if out == "" {
		return nil, errors.New("classifier: --out: name the safetensors file to write")
	}
	if o.Epochs < 1 || o.BatchSize < 1 || o.LR <= 0 || o.MaxSteps < 0 || o.MaxSamples < 0 || o.TestLimit < 0 {
		return nil, fmt.Errorf("classifier: epochs %d, batch size %d, lr %g, max steps %d, max samples %d, test limit %d: need epochs, batch size and lr > 0, the rest >= 0",
			o.Epochs, o.BatchSize, o.LR, o.MaxSteps, o.MaxSamples, o.TestLimit)
	}
	if err := runfolder.CheckWritable(out); err != nil {
		return nil, fmt.Errorf("classifier: --out %w", err)
	}
	// FIDs on the classifier compare only with FIDs on the same classifier:
	// replacing it is asked for, not done on a rerun of the same command.
	if _, err := os.Lstat(out); err == nil && !o.Force {
		return nil, fmt.Errorf("classifier: --out %s exists (the FIDs measured on it compare only with FIDs on it): pass --force to replace it, or give another --out", out)
	}
	dev, err := torch.UseDevice(o.Device)
	if err != nil {
		return nil, err
	}
	if err := torch.SetThreads(o.Threads); err != nil {
		return nil, err
	}
	dc := fashionConfig(o.Root, "train", o.BatchSize, true)
	dc.MaxSamples, dc.DropLast = o.MaxSamples, true
	ds, err := data.Open(ctx, dc, nil)
	if err != nil {
		return nil, fmt.Errorf("classifier: training data: %w", err)
	}
	if !ds.HasLabels() {
		return nil, fmt.Errorf("classifier: %s has no labels for the training images (no labels file, or labels outside 0-9: see the warning above)", o.Root)
	}
	// What the classifier learnt from, recorded so that an evaluation on
	// other images can say so.
	root, err := filepath.Abs(o.Root)
	if err != nil {
		return nil, fmt.Errorf("classifier: --data-root: %w", err)
	}
	trainFile, trainSum, err := data.IDXImagesSHA256(root, data.FashionMNIST, "train")
	if err != nil {
		return nil, fmt.Errorf("classifier: training data: %w", err)
	}
	loader, err := data.NewLoader(ds, ds.Config().LoaderOptions(uint64(o.Seed)))
	if err != nil {
		return nil, fmt.Errorf("classifier: %w", err)
	}
	defer loader.Close()
	torch.ManualSeed(uint64(o.Seed))
	c, err := NewClassifier(dev)
	if err != nil {
		return nil, err
	}
	defer c.Free()
	c.training = true
	opt := torch.NewAdam(c.params, o.LR, 0.9, 0.999)
	defer opt.Free()

	total := o.Epochs * loader.BatchesPerEpoch()
	if o.MaxSteps > 0 && o.MaxSteps < total {
		total = o.MaxSteps
	}
	if total == 0 {
		return nil, fmt.Errorf("classifier: %d training images make no batch of %d", ds.Len(), o.BatchSize)
	}
	prog := report.NewProgress(report.ProgressOptions{Total: total, Epochs: o.Epochs, Quiet: o.Quiet, Label: "classifier", LogEvery: 100})
	start := time.Now()
	step := 0
	var runLoss, runAcc float64
	var runN int
	perEpoch := loader.BatchesPerEpoch()
	for step < total {
		// A stop (ctx: SIGINT) between steps, before the loader's
		// prefetched batches would keep the loop going.
		if err := ctx.Err(); err != nil {
			prog.Finish()
			return nil, fmt.Errorf("classifier: stopped at step %d of %d: %w", step, total, err)
		}
		if o.Epochs > 1 && step == (o.Epochs-1)*perEpoch {
			opt.SetLR(o.LR / 10) // the last epoch at a tenth of the rate
		}
		b, err := loader.Next(ctx)
		if err == io.EOF {
			continue
		}
		if err != nil {
			prog.Finish()
			return nil, fmt.Errorf("classifier: %w", err)
		}
		var loss float64
		var correct int
		err = torch.Try(func() {
			sc := torch.NewScope()
			defer sc.Close()
			n := b.N()
			x := torch.FromFloat32(b.Tensor("A").F32, int64(n), 1, ClassifierSize, ClassifierSize).To(dev)
			oh := make([]float32, n*ClassifierClasses)
			for i, l := range b.Labels {
				oh[i*ClassifierClasses+int(l)] = 1
			}
			opt.ZeroGrad()
			logits, _ := c.forward(x)
			l := crossEntropy(logits, torch.FromFloat32(oh, int64(n), ClassifierClasses).To(dev))
			l.Backward()
			opt.Step()
			loss = l.Item()
			correct = countCorrect(logits.Detach().Float32s(), b.Labels)
		})
		n := b.N()
		b.Release()
		if err != nil {
			prog.Finish()
			return nil, fmt.Errorf("classifier: step %d: %w", step+1, err)
		}
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			prog.Finish()
			return nil, fmt.Errorf("classifier: the loss is %v at step %d; lower --lr", loss, step+1)
		}
		step++
		runLoss, runAcc, runN = runLoss+loss, runAcc+float64(correct)/float64(n), runN+1
		prog.Update(step, (step-1)/perEpoch+1, float64(step*o.BatchSize)/time.Since(start).Seconds(),
			map[string]float64{"loss": runLoss / float64(runN), "train_acc": runAcc / float64(runN)})
		if step%100 == 0 {
			runLoss, runAcc, runN = 0, 0, 0
		}
	}
	prog.Finish()
	c.training = false
	dur := time.Since(start)
	acc, nTest, err := c.Accuracy(ctx, o.Root, o.TestLimit)
	if err != nil {
		return nil, err
	}
	c.Meta = map[string]string{
		"test_accuracy": strconv.FormatFloat(acc, 'f', 4, 64), "test_images": strconv.Itoa(nTest),
		"steps": strconv.Itoa(step), "batch_size": strconv.Itoa(o.BatchSize), "train_images": strconv.Itoa(ds.Len()),
		"seed": strconv.FormatInt(o.Seed, 10), "lr": strconv.FormatFloat(o.LR, 'g', -1, 64), "gogan": runfolder.Version,
		metaDataRoot: root, metaTrainImages: trainFile, metaTrainSHA256: trainSum,
	}
	if err := ctx.Err(); err != nil { // stopped while measuring the accuracy
		return nil, fmt.Errorf("classifier: stopped before it was saved: %w", err)
	}
	if err := c.save(out, o.Force); err != nil {
		return nil, err
	}
	return &ClassifierResult{Path: out, Steps: step, TrainImages: ds.Len(), TestImages: nTest, TestAccuracy: acc, TrainDuration: dur}, nil
}

// countCorrect counts the rows of logits [N, 10] whose largest entry is at the label.
func countCorrect(logits []float32, labels []int64) int {
	k := 0
	for i, l := range labels {
		if int64(argmax(logits[i*ClassifierClasses:(i+1)*ClassifierClasses])) == l {
			k++
		}
	}
	return k
}

// argmax is the index of row's largest entry (the first of equals).
func argmax(row []float32) int {
	best := 0
	for j, v := range row {
		if v > row[best] {
			best = j
		}
	}
	return best
}

// Accuracy is the fraction of Fashion-MNIST test images (the first limit, or
// all when limit is 0) that the classifier labels correctly, and their number.
func (c *Classifier) Accuracy(ctx context.Context, root string, limit int) (float64, int, error) {
	correct, n := 0, 0
	err := fashionBatches(ctx, root, "test", limit, func(x []float32, labels []int64) error {
		return torch.Try(func() {
			sc := torch.NewScope()
			defer sc.Close()
			torch.NoGrad(func() {
				logits, _ := c.forward(torch.FromFloat32(x, int64(len(labels)), 1, ClassifierSize, ClassifierSize).To(c.dev))
				correct += countCorrect(logits.Float32s(), labels)
			})
			n += len(labels)
		})
	})
	if err != nil {
		return 0, 0, fmt.Errorf("classifier: accuracy: %w", err)
	}
	return float64(correct) / float64(n), n, nil
}

// inClasses is the fraction of images [N, 1, 32, 32] in [-1, 1] that the
// classifier labels as one of labels.
func (c *Classifier) inClasses(images []float32, labels map[int]bool) (float64, error) {
	per := ClassifierSize * ClassifierSize
	n := len(images) / per
	if n == 0 || len(images)%per != 0 {
		return 0, fmt.Errorf("classifier: %d values are not whole 1x%dx%d images", len(images), ClassifierSize, ClassifierSize)
	}
	in := 0
	err := imageBatches(images, 500, c.dev, func(x *torch.Tensor, k int) {
		logits, _ := c.forward(x)
		l := logits.Float32s()
		for j := 0; j < k; j++ {
			if labels[argmax(l[j*ClassifierClasses:(j+1)*ClassifierClasses])] {
				in++
			}
		}
	})
	if err != nil {
		return 0, fmt.Errorf("classifier: %w", err)
	}
	return float64(in) / float64(n), nil
}

// imageBatches calls f on host images [N, 1, 32, 32] in [-1, 1], in order,
// in batches of up to size, each on dev inside its own scope with gradients
// off; k is the batch's image count.
func imageBatches(images []float32, size int, dev torch.Device, f func(x *torch.Tensor, k int)) error {
	per := ClassifierSize * ClassifierSize
	n := len(images) / per
	for i := 0; i < n; i += size {
		k := min(size, n-i)
		err := torch.Try(func() {
			sc := torch.NewScope()
			defer sc.Close()
			torch.NoGrad(func() {
				f(torch.FromFloat32(images[i*per:(i+k)*per], int64(k), 1, ClassifierSize, ClassifierSize).To(dev), k)
			})
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// fashionBatches calls f on Fashion-MNIST images of a split at 32x32, in
// order, in batches of up to 500 (the first limit images; 0: all).
func fashionBatches(ctx context.Context, root, phase string, limit int, f func(x []float32, labels []int64) error) error {
	dc := fashionConfig(root, phase, 500, false)
	dc.MaxSamples = limit
	l, err := data.OpenLoader(ctx, dc, 0, nil, nil)
	if err != nil {
		return err
	}
	defer l.Close()
	for {
		b, err := l.Next(ctx)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		err = f(b.Tensor("A").F32, b.Labels)
		b.Release()
		if err != nil {
			return err
		}
	}
}

// Features runs the classifier on images [N, 1, 32, 32] in [-1, 1] (host
// float32, in batches) and returns their N x 128 features, row after row.
func (c *Classifier) Features(images []float32) ([]float32, error) {
	per := ClassifierSize * ClassifierSize
	if len(images)%per != 0 {
		return nil, fmt.Errorf("classifier: %d values are not whole 1x%dx%d images", len(images), ClassifierSize, ClassifierSize)
	}
	n := len(images) / per
	out := make([]float32, 0, n*ClassifierFeatures)
	err := imageBatches(images, 500, c.dev, func(x *torch.Tensor, _ int) {
		_, f := c.forward(x)
		out = append(out, f.Float32s()...)
	})
	if err != nil {
		return nil, fmt.Errorf("classifier: features: %w", err)
	}
	return out, nil
}
