package trainer

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	torch "gogan/cgo"
	"gogan/config"
)

// BenchmarkSoak trains a small DCGAN on Fashion-MNIST for GOGAN_SOAK_STEPS
// steps (default 20000) and reports, from step 1000 on (after warm-up), how the number of
// live tensor handles and the resident memory move: a leak shows as growth.
// It measures, it does not judge (go test -run '^$' -bench Soak -benchtime 1x ./trainer).
func BenchmarkSoak(b *testing.B) {
	steps := 20000
	if s := os.Getenv("GOGAN_SOAK_STEPS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 2000 {
			b.Fatalf("GOGAN_SOAK_STEPS=%q: want a number of steps ≥ 2000", s)
		}
		steps = n
	}
	for range b.N {
		// Fashion-MNIST at batch 8: 7500 steps an epoch, so epoch ends
		// (grid, checkpoint, report) are rare and the steps dominate.
		run := filepath.Join(b.TempDir(), "run")
		cfg, err := config.LoadConfig("", []string{"recipe=dcgan", "data.image_size=32", "model.ngf=8", "model.ndf=8",
			"data.batch_size=8", "data.workers=2", "device=cpu", "threads=2", "out=" + run,
			"train.max_steps=" + strconv.Itoa(steps), "train.log_every=1000", "train.sample_every=1000",
			"train.checkpoint_every=5000", "train.keep_checkpoints=2"})
		if err != nil {
			b.Fatal(err)
		}
		var handles, rss []int64
		var at []int
		onStep := func(step int, _ map[string]float64) {
			if step%1000 == 0 {
				at = append(at, step)
				handles = append(handles, torch.LiveTensors())
				rss = append(rss, residentKiB())
				// As it goes too, so that a soak cut short still says something.
				fmt.Fprintf(os.Stderr, "soak: step %d: %d live tensor handles, %d KiB resident\n", step, handles[len(handles)-1], rss[len(rss)-1])
			}
		}
		if _, err := Train(context.Background(), cfg, RunOptions{Quiet: true, Writer: io.Discard, OnStep: onStep}); err != nil {
			b.Fatal(err)
		}
		lo, hi := handles[0], handles[0]
		for _, h := range handles {
			lo, hi = min(lo, h), max(hi, h)
		}
		b.Logf("%d steps; live tensor handles at steps %v: %v (min %d, max %d)", steps, at, handles, lo, hi)
		b.Logf("resident KiB: %v; step %d to %d: %+d KiB", rss, at[0], at[len(at)-1], rss[len(rss)-1]-rss[0])
		b.ReportMetric(float64(hi-lo), "handles-spread")
		b.ReportMetric(float64(rss[len(rss)-1]-rss[0]), "rss-growth-KiB")
	}
}

// residentKiB is VmRSS from /proc/self/status.
func residentKiB() int64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return n
		}
	}
	return -1
}
