package trainer

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	torch "gogan/cgo"
)

// BenchResult is the speed of a config's training step.
type BenchResult struct {
	Recipe       string
	Device       string
	Threads      int
	BatchSize    int
	Steps        int
	MsPerStep    float64
	ImagesPerSec float64
	PeakRSS      int64 // bytes (VmHWM)
	CUDAPeak     int64 // bytes; -1 when not on CUDA or not measurable
}

func (b BenchResult) String() string {
	cuda := "-"
	if b.CUDAPeak >= 0 {
		cuda = fmt.Sprintf("%.1f MiB", float64(b.CUDAPeak)/(1<<20))
	}
	return fmt.Sprintf("%s on %s (%d threads), batch %d: %.1f images/s, %.2f ms/step over %d steps; peak RSS %.1f MiB, CUDA max allocated %s",
		b.Recipe, b.Device, b.Threads, b.BatchSize, b.ImagesPerSec, b.MsPerStep, b.Steps, float64(b.PeakRSS)/(1<<20), cuda)
}

// Bench times training steps of cfg's recipe on synthetic batches (uniform
// noise in [-1, 1] of the configured shape), after warmup steps, so the
// figure is the networks' and optimizers' speed without the data pipeline.
func Bench(cfg *Config, warmup, steps int) (BenchResult, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	res := BenchResult{Recipe: cfg.Recipe, BatchSize: cfg.Data.BatchSize, Steps: steps, CUDAPeak: -1}
	dev, err := deviceFor(cfg)
	if err != nil {
		return res, err
	}
	res.Device = dev.String()
	threads := cfg.Threads
	if threads == 0 {
		threads = runtime.NumCPU()
	}
	if _, err := torch.SetNumThreads(threads); err != nil {
		return res, err
	}
	res.Threads = threads
	if dev.IsCUDA() {
		torch.SetCuDNNBenchmark(cfg.CUDA.CuDNNBenchmark)
	}
	torch.ManualSeed(uint64(cfg.Seed))
	rec, err := newRecipe(cfg, dev)
	if err != nil {
		return res, err
	}
	s := &session{cfg: cfg, dev: dev, rec: rec}
	defer s.close()
	n := int64(cfg.Data.BatchSize)
	var a, b *torch.Tensor
	err = torch.Try(func() {
		if cfg.Recipe == "dcgan" {
			sz := int64(cfg.Data.ImageSize)
			a = torch.Rand(torch.Float32, dev, n, int64(cfg.Data.Channels), sz, sz).MulScalar(2).SubScalar(1).Persist()
		} else {
			sz := int64(cfg.Data.CropSize)
			a = torch.Rand(torch.Float32, dev, n, int64(cfg.Model.InputNC), sz, sz).MulScalar(2).SubScalar(1).Persist()
			b = torch.Rand(torch.Float32, dev, n, int64(cfg.Model.OutputNC), sz, sz).MulScalar(2).SubScalar(1).Persist()
		}
	})
	if err != nil {
		return res, err
	}
	defer a.Free()
	defer b.Free()
	step := func() error {
		return torch.Try(func() {
			sc := torch.NewScope()
			defer sc.Close()
			rec.step(a, b)
		})
	}
	for i := 0; i < warmup; i++ {
		if err := step(); err != nil {
			return res, err
		}
	}
	if dev.IsCUDA() {
		if err := torch.CUDAResetPeak(dev.Index); err != nil {
			return res, err
		}
	}
	start := time.Now()
	for i := 0; i < steps; i++ {
		if err := step(); err != nil {
			return res, err
		}
	}
	if dev.IsCUDA() {
		if err := torch.CUDASynchronize(dev.Index); err != nil {
			return res, err
		}
		if res.CUDAPeak, err = torch.CUDAMaxAllocated(dev.Index); err != nil {
			return res, err
		}
	}
	el := time.Since(start).Seconds()
	res.MsPerStep = el * 1000 / float64(steps)
	res.ImagesPerSec = float64(n) * float64(steps) / el
	res.PeakRSS = peakRSS()
	return res, nil
}

// peakRSS is the process's peak resident set (VmHWM), or -1.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(v)
			if n, err := strconv.ParseInt(f[0], 10, 64); err == nil {
				return n * 1024
			}
		}
	}
	return -1
}
