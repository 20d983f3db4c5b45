package trainer

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	torch "gogan/cgo"
	"gogan/config"
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
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("im%03d.png", i)))
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, im); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	return dir
}

// trainResumeExact trains 12 steps (2 epochs of 6 batches, the loader two
// workers ahead and the trainer one batch ahead) straight through, and again
// stopped at step 7 and resumed; both runs' metrics.csv must agree within tol.
func trainResumeExact(t *testing.T, device string, extra []string, tol float64) {
	t.Helper()
	root := writeImageFolder(t, 24, 40)
	base := append([]string{"recipe=dcgan", "data.dataset=folder", "data.root=" + root, "data.image_size=32",
		"model.ngf=8", "model.ndf=8", "data.batch_size=4", "data.drop_last=true", "data.workers=2", "train.epochs=2",
		"train.log_every=1", "train.sample_every=0", "train.checkpoint_every=0", "device=" + device, "threads=2"}, extra...)
	ctx := context.Background()
	run := func(name string, sets ...string) string {
		cfg, err := config.LoadConfig("", append(append(append([]string{}, base...), "out="+filepath.Join(t.TempDir(), name)), sets...))
		if err != nil {
			t.Fatal(err)
		}
		res, err := Train(ctx, cfg, RunOptions{Quiet: true, Writer: os.Stderr})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return res.Run.Path
	}
	straight := run("straight")
	stopped := run("stopped", "train.max_steps=7")
	if _, err := Resume(ctx, stopped, []string{"train.max_steps=0"}, RunOptions{Quiet: true, Writer: os.Stderr}); err != nil {
		t.Fatalf("resume: %v", err)
	}
	a, err := runfolder.ReadMetrics(filepath.Join(straight, "metrics.csv"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := runfolder.ReadMetrics(filepath.Join(stopped, "metrics.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Rows) != 12 || len(b.Rows) != 12 {
		t.Fatalf("metrics rows: straight %d, stopped and resumed %d; want 12 each", len(a.Rows), len(b.Rows))
	}
	worst, where := lossDiff(metricsLosses(b), metricsLosses(a))
	if worst > tol {
		t.Errorf("%s %v: stopped and resumed differs from straight by %.3g (%s)", device, extra, worst, where)
	}
	t.Logf("%s %v: 12 steps straight vs stopped at 7 and resumed: largest loss difference %.3g", device, extra, worst)
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
