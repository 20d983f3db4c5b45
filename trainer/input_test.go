package trainer

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	torch "gogan/cgo"
	"gogan/config"
	"gogan/data"
	"gogan/report"
	"gogan/runfolder"
)

// writeImageFolder writes n small RGB PNGs of random-looking blobs.
func writeImageFolder(t testing.TB, n, size int) string {
	t.Helper()
	dir := t.TempDir()
	for i := 0; i < n; i++ {
		im := image.NewNRGBA(image.Rect(0, 0, size, size))
		for y := 0; y < size; y++ {
			for x := 0; x < size; x++ {
				v := uint8((x*7 + y*13 + i*29) % 256)
				im.Set(x, y, color.NRGBA{v, uint8((int(v) * (i + 3)) % 256), uint8(255 - v), 255})
			}
		}
		if err := report.SavePNG(filepath.Join(dir, fmt.Sprintf("im%03d.png", i)), im); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// folderTrain trains DCGAN for 12 steps (2 epochs of 6 batches of 4 from a
// folder of 24 images, the loader two workers ahead and the trainer one
// batch ahead, a metrics.csv row every step) under name with sets added.
func folderTrain(t *testing.T, device string, extra []string) func(name string, sets ...string) (*Result, error) {
	t.Helper()
	root := writeImageFolder(t, 24, 40)
	base := append([]string{"recipe=dcgan", "data.dataset=folder", "data.root=" + root, "data.image_size=32",
		"model.ngf=8", "model.ndf=8", "data.batch_size=4", "data.drop_last=true", "data.workers=2", "train.epochs=2",
		"train.log_every=1", "train.sample_every=0", "train.checkpoint_every=0", "device=" + device, "threads=2"}, extra...)
	return func(name string, sets ...string) (*Result, error) {
		cfg, err := config.LoadConfig("", append(append(append([]string{}, base...), "out="+filepath.Join(t.TempDir(), name)), sets...))
		if err != nil {
			t.Fatal(err)
		}
		return Train(context.Background(), cfg, RunOptions{Quiet: true, Writer: os.Stderr})
	}
}

// folderRuns is folderTrain for runs that must succeed: it returns the run folder.
func folderRuns(t *testing.T, device string, extra []string) func(name string, sets ...string) string {
	t.Helper()
	train := folderTrain(t, device, extra)
	return func(name string, sets ...string) string {
		res, err := train(name, sets...)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return res.Run.Path
	}
}

// sameMetrics checks that two runs' metrics.csv have rows rows each whose
// losses agree within tol, and returns the largest difference.
func sameMetrics(t *testing.T, what, want, got string, rows int, tol float64) float64 {
	t.Helper()
	a, err := runfolder.ReadMetrics(filepath.Join(want, "metrics.csv"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := runfolder.ReadMetrics(filepath.Join(got, "metrics.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Rows) != rows || len(b.Rows) != rows {
		t.Fatalf("%s: metrics rows %d and %d; want %d each", what, len(a.Rows), len(b.Rows), rows)
	}
	worst, where := lossDiff(metricsLosses(b), metricsLosses(a))
	if worst > tol {
		t.Errorf("%s: differs by %.3g (%s)", what, worst, where)
	}
	return worst
}

// trainResumeExact trains the 12 steps of folderRuns straight through, and
// again stopped at step 7 and resumed; both runs' metrics.csv must agree
// within tol.
func trainResumeExact(t *testing.T, device string, extra []string, tol float64) {
	t.Helper()
	run := folderRuns(t, device, extra)
	straight := run("straight")
	stopped := run("stopped", "train.max_steps=7")
	if _, err := Resume(context.Background(), stopped, []string{"train.max_steps=0"}, RunOptions{Quiet: true, Writer: os.Stderr}); err != nil {
		t.Fatalf("resume: %v", err)
	}
	worst := sameMetrics(t, fmt.Sprintf("%s %v: stopped and resumed vs straight", device, extra), straight, stopped, 12, tol)
	t.Logf("%s %v: 12 steps straight vs stopped at 7 and resumed: largest loss difference %.3g", device, extra, worst)
}

// trainLossesEvery trains the 12 steps of folderRuns reading the losses
// back after every step, and again every 5 steps (train.losses_every): on a
// GPU the host then queues steps, uploads and staging-buffer reuse without
// waiting for the device, which only the stream events keep in order. A run
// stopped at step 7 and resumed reads them every 5 too (it must read before
// its checkpoint). All must write the same metrics.csv, a row every step.
func trainLossesEvery(t *testing.T, device string, extra []string, tol float64) {
	t.Helper()
	run := folderRuns(t, device, extra)
	each := run("each", "train.losses_every=1")
	every5 := run("every5", "train.losses_every=5")
	stopped := run("stopped", "train.losses_every=5", "train.max_steps=7")
	if _, err := Resume(context.Background(), stopped, []string{"train.max_steps=0"}, RunOptions{Quiet: true, Writer: os.Stderr}); err != nil {
		t.Fatalf("resume: %v", err)
	}
	w1 := sameMetrics(t, fmt.Sprintf("%s %v: losses read every 5 steps vs every step", device, extra), each, every5, 12, tol)
	w2 := sameMetrics(t, fmt.Sprintf("%s %v: every 5, stopped at 7 and resumed vs every step", device, extra), each, stopped, 12, tol)
	t.Logf("%s %v: losses read every 5 steps: largest loss difference %.3g straight, %.3g stopped and resumed", device, extra, w1, w2)
}

// metricsLosses is metrics.csv's loss columns, a map per row.
func metricsLosses(m *runfolder.Metrics) []map[string]float64 {
	var out []map[string]float64
	for _, row := range m.Rows {
		ls := map[string]float64{}
		for _, name := range m.LossNames() {
			ls[name] = row[m.Column(name)]
		}
		out = append(out, ls)
	}
	return out
}

func TestTrainResumeExact(t *testing.T) {
	trainResumeExact(t, "cpu", []string{"cuda.channels_last=true"}, 0)
}

func TestLossesReadEveryNSteps(t *testing.T) {
	trainLossesEvery(t, "cpu", nil, 0)
}

// TestCUDATrainResumeExact is the same on the GPU through the whole input
// path (pinned batches, copy stream, double-buffered staging) and the CUDA
// graph. Deterministic cuDNN leaves only the rounding of atomic adds.
func TestCUDATrainResumeExact(t *testing.T) {
	requireCUDA(t)
	torch.SetCuDNNDeterministic(true)
	defer torch.SetCuDNNDeterministic(false)
	trainResumeExact(t, "cuda", []string{"cuda.cudnn_benchmark=false"}, 1e-4)
	trainResumeExact(t, "cuda", []string{"cuda.cudnn_benchmark=false", "cuda.cuda_graph=true", "cuda.channels_last=true"}, 1e-4)
}

// TestCUDALossesReadEveryNSteps: the same on the GPU, eager and as a CUDA
// graph, where no host sync per step hides a missing wait between the copy
// stream and the steps.
func TestCUDALossesReadEveryNSteps(t *testing.T) {
	requireCUDA(t)
	torch.SetCuDNNDeterministic(true)
	defer torch.SetCuDNNDeterministic(false)
	trainLossesEvery(t, "cuda", []string{"cuda.cudnn_benchmark=false"}, 1e-4)
	trainLossesEvery(t, "cuda", []string{"cuda.cudnn_benchmark=false", "cuda.cuda_graph=true"}, 1e-4)
}

// TestCUDATrainMakesItsDeviceCurrent: a run on the machine's last GPU makes
// it its thread's current CUDA device before any CUDA work, as a
// data-parallel rank's own GPU is: the loader's pinned buffers, made before
// the networks, are then allocated in that device's CUDA context instead of
// a new one on cuda:0. (With one GPU it checks that the run sets it.)
func TestCUDATrainMakesItsDeviceCurrent(t *testing.T) {
	requireCUDA(t)
	torch.LockThread() // the run's thread is this test's
	last := torch.CUDADevice(torch.CUDADeviceCount() - 1)
	if _, err := torch.SetCUDADevice(torch.CUDADevice(0)); err != nil {
		t.Fatal(err)
	}
	train := folderTrain(t, last.String(), []string{"train.max_steps=2"})
	if _, err := train("last-gpu"); err != nil {
		t.Fatal(err)
	}
	cur, err := torch.SetCUDADevice(torch.CUDADevice(0))
	if err != nil {
		t.Fatal(err)
	}
	if cur != last.Index {
		t.Errorf("after a run on %s the current CUDA device is cuda:%d", last, cur)
	}
}

// TestNaNGuardWithDeferredReads: a NaN loss at step 3 (the test recipe
// probe's train.probe_nan_at) stops the run at step 3 whether its losses are
// read every step or every 5 (then at step 4, whose checkpoint reads them
// first), and the last good checkpoint is step 2's either way.
func TestNaNGuardWithDeferredReads(t *testing.T) {
	train := folderTrain(t, "cpu", []string{"recipe=probe", "train.probe_nan_at=3", "train.checkpoint_every=2"})
	for _, every := range []string{"1", "5"} {
		_, err := train("every"+every, "train.losses_every="+every)
		var nf *NonFiniteError
		if !errors.As(err, &nf) {
			t.Fatalf("losses_every=%s: the run ended with %v, want the NaN guard's error", every, err)
		}
		_, last, _ := strings.Cut(err.Error(), "the last good checkpoint is ")
		if nf.Step != 3 || filepath.Base(last) != "step-00000002" {
			t.Fatalf("losses_every=%s: %v; want a stop at step 3 naming step 2's checkpoint", every, err)
		}
		// and none was written of the weights after it
		entries, err := os.ReadDir(filepath.Dir(last))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.Name() > "step-00000002" && strings.HasPrefix(e.Name(), "step-") {
				t.Errorf("losses_every=%s: checkpoint %s written after the NaN", every, e.Name())
			}
		}
	}
}

// TestRefusedGridStopsTheRun: a torch op refused in a recipe's Visuals
// (panicking with *torch.Error, as in Step) is the sample grid's error: the
// run stops with it rather than crashing, after checkpointing the step the
// grid followed (drawing changes no weight), and names that checkpoint.
func TestRefusedGridStopsTheRun(t *testing.T) {
	train := folderTrain(t, "cpu", []string{"recipe=probe", "train.probe_visuals_fail=true", "train.sample_every=3", "train.checkpoint_every=2"})
	_, err := train("grid")
	if err == nil || !strings.Contains(err.Error(), "sample grid: torch: cat: the probe's grid is refused") ||
		!strings.Contains(err.Error(), "the newest good checkpoint is ") || !strings.Contains(err.Error(), "step-00000003: fix that, then continue with gogan resume") {
		t.Fatalf("a refused grid at step 3: %v, want the grid's error naming step 3's checkpoint", err)
	}
}

// TestOnDeviceTrainsAsTheLoader: with data.on_device the dataset is
// transformed once and each batch gathered, cropped, flipped and normalised
// by tensor ops; the run must be the host loader's value for value (the
// same samples, crops, flips and normalisation): DCGAN from a folder
// straight, with random flips, and stopped at step 7 and resumed; pix2pix,
// CycleGAN and pix2pixHD with their random crops and flips.
func TestOnDeviceTrainsAsTheLoader(t *testing.T) {
	run := folderRuns(t, "cpu", nil)
	host := run("host")
	onDevice := run("on-device", "data.on_device=true")
	stopped := run("stopped", "data.on_device=true", "train.max_steps=7")
	if _, err := Resume(context.Background(), stopped, []string{"train.max_steps=0"}, RunOptions{Quiet: true, Writer: os.Stderr}); err != nil {
		t.Fatalf("resume: %v", err)
	}
	sameMetrics(t, "data.on_device vs the host loader", host, onDevice, 12, 0)
	sameMetrics(t, "data.on_device stopped at 7 and resumed vs the host loader", host, stopped, 12, 0)
	sameMetrics(t, "data.on_device vs the host loader, random flips", run("host-flip", "data.no_flip=false"),
		run("on-device-flip", "data.no_flip=false", "data.on_device=true"), 12, 0)

	// Image-to-image recipes at 2 samples a batch, 2 epochs, with their
	// random crops and flips.
	translate := func(base []string) func(name string, sets ...string) string {
		return func(name string, sets ...string) string {
			cfg, err := config.LoadConfig("", append(append(base, "model.ngf=8", "model.ndf=8",
				"data.batch_size=2", "train.epochs=2", "train.epochs_decay=0", "train.log_every=1", "train.sample_every=0",
				"device=cpu", "threads=2", "out="+filepath.Join(t.TempDir(), name)), sets...))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Data.NoFlip || cfg.Data.Preprocess != data.ResizeAndCrop {
				t.Fatalf("%s: no random flips or crops (%s): the case would not test them", name, cfg.Data.Preprocess)
			}
			res, err := Train(context.Background(), cfg, RunOptions{Quiet: true, Writer: os.Stderr})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			return res.Run.Path
		}
	}
	facades := facadesDir(t)
	// pix2pix on facades pairs: one crop and flip for A and B.
	pix2pix := translate([]string{"recipe=pix2pix", "data.root=" + facades, "data.max_samples=8",
		"data.load_size=72", "data.crop_size=64", "model.netG=resnet_6blocks"})
	sameMetrics(t, "pix2pix: data.on_device vs the host loader", pix2pix("host"), pix2pix("on-device", "data.on_device=true"), 8, 0)
	// CycleGAN on facades' halves as unpaired streams, photos as B: a random
	// B for each A, each side its own crop and flip, the image pools on.
	cyclegan := translate([]string{"recipe=cyclegan", "data.dataset=unaligned", "data.root=" + facades, "data.max_samples=8",
		"data.direction=BtoA", "data.load_size=40", "data.crop_size=32", "model.netG=resnet_6blocks", "train.pool_size=3"})
	sameMetrics(t, "cyclegan: data.on_device vs the host loader", cyclegan("host"), cyclegan("on-device", "data.on_device=true"), 8, 0)
	// pix2pixHD on label maps with instance boundaries, which a random crop
	// cuts (the boundaries at the crop's edge are the cropped map's), and
	// instance-wise features (the ids, cut as the maps).
	hd := translate([]string{"recipe=pix2pixhd", "data.root=" + hdFacades(t, facades), "data.label_nc=4",
		"data.preprocess=resize_and_crop", "data.load_size=40", "data.crop_size=32", "model.n_downsample_global=2",
		"model.n_blocks_global=1", "model.n_layers_D=2", "train.no_vgg_loss=true",
		"model.instance_feat=true", "model.nef=4", "model.n_downsample_E=2"})
	sameMetrics(t, "pix2pixhd: data.on_device vs the host loader", hd("host"), hd("on-device", "data.on_device=true"), 6, 0)
}

// TestKeepEveryEpochs: train.keep_every_epochs keeps the checkpoints of
// every N-th epoch's end past train.keep_checkpoints' pruning, as the
// references keep their <epoch>_net_G.pth files.
func TestKeepEveryEpochs(t *testing.T) {
	train := folderTrain(t, "cpu", nil)
	res, err := train("keep", "train.epochs=4", "train.keep_checkpoints=1", "train.keep_every_epochs=2", "train.checkpoint_every=2", "data.workers=0")
	if err != nil {
		t.Fatal(err)
	}
	cks, err := runfolder.ListCheckpoints(res.Run.Path)
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, c := range cks {
		e, end := runfolder.EndOfEpoch(c)
		kept = append(kept, fmt.Sprintf("step %d (epoch %d, end %v)", c.Step, e, end))
	}
	want := []string{"step 24 (epoch 4, end true)", "step 12 (epoch 2, end true)"}
	if !slices.Equal(kept, want) {
		t.Errorf("kept %q, want %q", kept, want)
	}
}

// TestKeepEveryEpochsReadsEachOnce: the checkpoints train.keep_every_epochs
// keeps are asked at every checkpoint's pruning whether they are an epoch's
// end; each one's state.json is read once (read at every pruning, a run's
// reads grew with the square of its epochs).
func TestKeepEveryEpochsReadsEachOnce(t *testing.T) {
	reads := map[string]int{}
	endOfEpoch = func(c runfolder.Checkpoint) (int, bool) {
		reads[c.Dir]++
		return runfolder.EndOfEpoch(c)
	}
	defer func() { endOfEpoch = runfolder.EndOfEpoch }()
	train := folderTrain(t, "cpu", nil)
	// 6 steps an epoch, a checkpoint each: 72 checkpoints, 12 kept
	res, err := train("keep", "train.epochs=12", "train.keep_checkpoints=1", "train.keep_every_epochs=1", "train.checkpoint_every=1", "data.workers=0")
	if err != nil {
		t.Fatal(err)
	}
	cks, err := runfolder.ListCheckpoints(res.Run.Path)
	if err != nil {
		t.Fatal(err)
	}
	if len(cks) != 12 || cks[0].Step != 72 || cks[11].Step != 6 {
		t.Errorf("kept %d checkpoints (%v), want the 12 epochs' ends", len(cks), cks)
	}
	total := 0
	for dir, n := range reads {
		total += n
		if n > 1 {
			t.Errorf("%s: its state.json read %d times", dir, n)
		}
	}
	if total > 72 {
		t.Errorf("%d reads of state.json for 72 checkpoints", total)
	}
}

// TestStopAtAnEpochsEnd: a run stopped right after an epoch's last step
// (the loader's end of that epoch already taken ahead) resumes with that
// epoch's end (its grid, schedule step and checkpoint) and then the next
// epoch, as the straight run: the same losses, epochs and rates.
func TestStopAtAnEpochsEnd(t *testing.T) {
	root := writeImageFolder(t, 24, 40)
	sets := func(name string) []string {
		return []string{"recipe=dcgan", "data.dataset=folder", "data.root=" + root, "data.image_size=32", "model.ngf=8", "model.ndf=8",
			"data.batch_size=4", "data.drop_last=true", "data.workers=2", "train.epochs=1", "train.epochs_decay=2",
			"train.log_every=1", "train.sample_every=0", "device=cpu", "threads=2", "out=" + filepath.Join(t.TempDir(), name)}
	}
	train := func(name string, onStep func(int, map[string]float64)) string {
		cfg, err := config.LoadConfig("", sets(name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Train(context.Background(), cfg, RunOptions{Quiet: true, Writer: os.Stderr, OnStep: onStep}); err != nil {
			t.Fatal(err)
		}
		return cfg.Out
	}
	straight := train("straight", nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg, err := config.LoadConfig("", sets("stopped"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Train(ctx, cfg, RunOptions{Quiet: true, Writer: os.Stderr, OnStep: func(step int, _ map[string]float64) {
		if step == 6 { // the last of epoch 1's six batches
			cancel()
		}
	}})
	if err != nil || res.Step != 6 {
		t.Fatalf("stopped run: step %v, %v", res, err)
	}
	if _, err := Resume(context.Background(), cfg.Out, nil, RunOptions{Quiet: true, Writer: os.Stderr}); err != nil {
		t.Fatal(err)
	}
	sameMetrics(t, "stopped after an epoch's last step and resumed vs straight", straight, cfg.Out, 18, 0)
	a, _ := runfolder.ReadMetrics(filepath.Join(straight, "metrics.csv"))
	b, _ := runfolder.ReadMetrics(filepath.Join(cfg.Out, "metrics.csv"))
	for i := range a.Rows {
		for _, col := range []string{"epoch", "images", "lr"} {
			if x, y := a.Rows[i][a.Column(col)], b.Rows[i][b.Column(col)]; x != y {
				t.Errorf("step %d %s: straight %g, resumed %g", i+1, col, x, y)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(cfg.Out, "samples", "epoch-0001.png")); err != nil {
		t.Errorf("the resumed run did not close epoch 1: %v", err)
	}
}

// TestKilledBeforeTheEpochsGridDrawsIt: an epoch's end writes its
// checkpoint, then its grid; a run killed between the two (SIGKILL) resumes
// from that checkpoint with the epoch closed, and must draw the grid it
// missed: the same bytes as the run that never stopped. A folder so killed
// is made by training to the epoch's end (the same checkpoint) and
// removing the grid.
func TestKilledBeforeTheEpochsGridDrawsIt(t *testing.T) {
	run := folderRuns(t, "cpu", nil)
	straight := run("straight")
	killed := run("killed", "train.max_steps=6") // epoch 1's last step
	grid := filepath.Join(killed, "samples", "epoch-0001.png")
	if err := os.Remove(grid); err != nil {
		t.Fatal(err)
	}
	if _, err := Resume(context.Background(), killed, []string{"train.max_steps=0"}, RunOptions{Quiet: true, Writer: os.Stderr}); err != nil {
		t.Fatal(err)
	}
	sameMetrics(t, "killed before epoch 1's grid and resumed vs straight", straight, killed, 12, 0)
	for _, name := range []string{"epoch-0001.png", "epoch-0002.png", "latest.png"} {
		want, err := os.ReadFile(filepath.Join(straight, "samples", name))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := os.ReadFile(filepath.Join(killed, "samples", name)); err != nil || !slices.Equal(got, want) {
			t.Errorf("samples/%s of the resumed run: %v (%d bytes), want the straight run's %d bytes", name, err, len(got), len(want))
		}
	}
}
