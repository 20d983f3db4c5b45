package trainer

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	torch "gogan/cgo"
	"gogan/nets"
)

// BenchResult is the speed of a config's training step.
type BenchResult struct {
	Recipe       string     `json:"recipe"`
	Device       string     `json:"device"`
	Threads      int        `json:"threads"`
	BLASThreads  int        `json:"blas_threads"` // OpenBLAS's own threads; 0 when OpenBLAS is not the BLAS
	BatchSize    int        `json:"batch_size"`
	Warmup       int        `json:"warmup"`
	Steps        int        `json:"steps"`
	MsPerStep    float64    `json:"ms_per_step"`
	ImagesPerSec float64    `json:"images_per_s"`
	PeakRSS      int64      `json:"peak_rss"`  // bytes (VmHWM)
	CUDAPeak     int64      `json:"cuda_peak"` // bytes; -1 when not on CUDA or not measurable
	ParamsG      int64      `json:"params_g"`  // parameters of the generator and the discriminator
	ParamsD      int64      `json:"params_d"`
	Spec         *BenchSpec `json:"spec,omitempty"`
}

// BenchSpec is what one bench step computes, for a reference implementation
// to repeat exactly (scripts/bench_pytorch.py): the networks, the synthetic
// inputs' shapes, the losses and Adam's settings.
type BenchSpec struct {
	Recipe   string       `json:"recipe"`
	G        nets.Options `json:"g"`
	D        nets.Options `json:"d"`
	InputA   []int64      `json:"input_a"`           // uniform [-1, 1]: DCGAN's real images, pix2pix's A
	InputB   []int64      `json:"input_b,omitempty"` // pix2pix's B
	NZ       int          `json:"nz"`
	GANMode  string       `json:"gan_mode"`
	Logits   bool         `json:"logits"` // vanilla on logits (BCEWithLogits) rather than on D's Sigmoid (BCE)
	LambdaL1 float64      `json:"lambda_L1"`
	LR       float64      `json:"lr"`
	Beta1    float64      `json:"beta1"`
	Beta2    float64      `json:"beta2"`
	Seed     int64        `json:"seed"`
}

// NewBenchSpec describes cfg's bench step.
func NewBenchSpec(cfg *Config) BenchSpec {
	n := int64(cfg.Data.BatchSize)
	s := BenchSpec{Recipe: cfg.Recipe, G: generatorOptions(cfg).WithDefaults(), D: discriminatorOptions(cfg).WithDefaults(),
		NZ: cfg.Model.NZ, GANMode: cfg.Train.GANMode, Logits: cfg.Recipe != "dcgan", LambdaL1: cfg.Train.LambdaL1,
		LR: cfg.Train.LR, Beta1: cfg.Train.Beta1, Beta2: cfg.Train.Beta2, Seed: cfg.Seed}
	if cfg.Recipe == "dcgan" {
		sz := int64(cfg.Data.ImageSize)
		s.InputA = []int64{n, int64(cfg.Data.Channels), sz, sz}
	} else {
		sz := int64(cfg.Data.CropSize)
		s.InputA = []int64{n, int64(cfg.Model.InputNC), sz, sz}
		s.InputB = []int64{n, int64(cfg.Model.OutputNC), sz, sz}
	}
	return s
}

// syntheticBatch draws a batch of the spec's input shapes on dev, uniform in
// [-1, 1]; b is nil for DCGAN.
func (s BenchSpec) syntheticBatch(dev torch.Device) (a, b *torch.Tensor) {
	a = torch.Rand(torch.Float32, dev, s.InputA...).MulScalar(2).SubScalar(1)
	if s.InputB != nil {
		b = torch.Rand(torch.Float32, dev, s.InputB...).MulScalar(2).SubScalar(1)
	}
	return a, b
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
	torch.KeepHostMemory() // as a training run does
	spec := NewBenchSpec(cfg)
	res := BenchResult{Recipe: cfg.Recipe, BatchSize: cfg.Data.BatchSize, Warmup: warmup, Steps: steps, CUDAPeak: -1, Spec: &spec}
	dev, err := deviceFor(cfg)
	if err != nil {
		return res, err
	}
	res.Device = dev.String()
	threads := cfg.Threads
	if threads == 0 {
		threads = runtime.NumCPU()
	}
	ob, err := torch.SetNumThreads(threads)
	if err != nil {
		return res, err
	}
	res.Threads = threads
	if ob {
		res.BLASThreads = torch.BLASThreads()
	}
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
	for _, nn := range rec.nets() {
		if nn.name == "G" {
			res.ParamsG = nn.net.NumParams()
		} else {
			res.ParamsD = nn.net.NumParams()
		}
	}
	n := int64(cfg.Data.BatchSize)
	var a, b *torch.Tensor
	err = torch.Try(func() {
		a, b = spec.syntheticBatch(dev)
		a.Persist()
		b.Persist()
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
			s.runStep(a, b)
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
