// Package bench times a recipe's training step (gogan bench) and describes
// it for scripts/bench_pytorch.py to repeat.
package bench

import (
	"fmt"
	"maps"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	torch "gogan/cgo"
	"gogan/config"
	"gogan/gan"
	"gogan/trainer"
)

// Result is the speed of a config's training step.
type Result struct {
	Recipe      string `json:"recipe"`
	Device      string `json:"device"`
	Threads     int    `json:"threads"`
	BLASThreads int    `json:"blas_threads"` // OpenBLAS's own threads; 0 when OpenBLAS is not the BLAS
	// How libtorch's idle OpenMP threads wait (torch.OpenMPWait:
	// "GOMP_SPINCOUNT=3000", as gogan sets it); absent without libgomp.
	OpenMPWait   string  `json:"openmp_wait,omitempty"`
	BatchSize    int     `json:"batch_size"`
	Warmup       int     `json:"warmup"`
	Steps        int     `json:"steps"`
	MsPerStep    float64 `json:"ms_per_step"`
	ImagesPerSec float64 `json:"images_per_s"`
	PeakRSS      int64   `json:"peak_rss"`  // bytes (VmHWM)
	CUDAPeak     int64   `json:"cuda_peak"` // bytes; -1 when not on CUDA or not measurable
	// The caching allocator's reserved peak: with its cache and a CUDA
	// graph's private pool, which CUDAPeak does not see once a capture ended.
	CUDAReserved int64 `json:"cuda_reserved"`
	// CPU tensors' bytes at their peak over the timed steps (torch.CPUMemory:
	// weights, moments, batch and the step's temporaries, as CUDAPeak counts
	// them on a GPU); -1 on CUDA or where libtorch cannot count them.
	CPUPeak int64 `json:"cpu_peak"`
	// Params counts each network's parameters, by role.
	Params map[string]int64 `json:"params"`
	// AdamParams counts the values each optimizer updates, by its name
	// (pix2pixHD's optimizer_G leaves the global generator out while
	// train.niter_fix_global holds it fixed).
	AdamParams map[string]int64 `json:"adam_params"`
	Spec       Spec             `json:"spec"`
}

// Spec is what one bench step computes, for a reference implementation to
// repeat exactly (scripts/bench_pytorch.py): the recipe, its networks by
// role ("g", "d", ...: nets.Options), its inputs' shapes ("input_a", ...)
// and, for inputs of class ids (gan.Input's Classes), their number of
// classes ("input_a_classes": integers in [0, n) as floats; 2 for a 0/1
// map; absent for images, uniform in [-1, 1]), Adam's settings and the
// recipe's loss settings (gan.Definition's BenchParams), as one JSON
// object.
type Spec map[string]any

// NewSpec describes cfg's bench step.
func NewSpec(cfg *config.Config) (Spec, error) {
	def, err := gan.For(cfg)
	if err != nil {
		return nil, err
	}
	s := Spec{"recipe": cfg.Recipe, "gan_mode": cfg.Train.GANMode, "lr": cfg.Train.LR, "beta1": cfg.Train.Beta1,
		"beta2": cfg.Train.Beta2, "seed": cfg.Seed}
	for _, n := range def.Nets(cfg) {
		s[strings.ToLower(n.Role)] = n.Options.WithDefaults()
	}
	shapes, err := gan.BatchShapes(cfg)
	if err != nil {
		return nil, err
	}
	for _, in := range shapes {
		s["input_"+strings.ToLower(in.Name)] = in.Shape
		if in.Classes > 0 {
			s["input_"+strings.ToLower(in.Name)+"_classes"] = in.Classes
		}
	}
	if def.BenchParams != nil {
		maps.Copy(s, def.BenchParams(cfg))
	}
	return s, nil
}

func (b Result) String() string {
	mem := "CUDA max allocated -"
	if b.CUDAPeak >= 0 {
		mem = fmt.Sprintf("CUDA max allocated %.1f MiB (reserved %.1f MiB)", float64(b.CUDAPeak)/(1<<20), float64(b.CUDAReserved)/(1<<20))
	}
	if b.CPUPeak >= 0 {
		mem = fmt.Sprintf("CPU tensors' peak %.1f MiB", float64(b.CPUPeak)/(1<<20))
	}
	threads := fmt.Sprintf("%d threads", b.Threads)
	if b.OpenMPWait != "" {
		threads += ", " + b.OpenMPWait
	}
	return fmt.Sprintf("%s on %s (%s), batch %d: %.1f images/s, %.2f ms/step over %d steps; peak RSS %.1f MiB, %s",
		b.Recipe, b.Device, threads, b.BatchSize, b.ImagesPerSec, b.MsPerStep, b.Steps, float64(b.PeakRSS)/(1<<20), mem)
}

// Run times training steps of cfg's recipe on synthetic batches
// (gan.RandomBatch: uniform noise in [-1, 1] of the configured shapes, or
// class ids where the recipe's inputs hold them), after warmup steps, so the
// figure is the networks' and optimizers' speed without the data pipeline.
func Run(cfg *config.Config, warmup, steps int) (res Result, err error) {
	defer func() {
		if err != nil && outOfMemory(err) {
			err = fmt.Errorf("%w\nthe batch and its step need more memory than the device (%s) has: lower data.batch_size, the image size or the networks' widths (model.ngf, model.ndf)", err, res.Device)
		}
	}()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	torch.KeepHostMemory() // as a training run does
	res = Result{Recipe: cfg.Recipe, BatchSize: cfg.Data.BatchSize, Warmup: warmup, Steps: steps, CUDAPeak: -1, CUDAReserved: -1, CPUPeak: -1}
	if res.Spec, err = NewSpec(cfg); err != nil {
		return res, err
	}
	dev, err := trainer.DeviceFor(cfg)
	if err != nil {
		return res, err
	}
	res.Device = dev.String()
	if dev.IsCUDA() {
		if _, err := torch.SetCUDADevice(dev); err != nil { // as a training run does
			return res, err
		}
	}
	threads := cfg.Threads
	if threads == 0 {
		threads = torch.CPUs()
	}
	ob, err := torch.SetNumThreads(threads)
	if err != nil {
		return res, err
	}
	res.Threads = threads
	res.OpenMPWait = torch.OpenMPWait()
	if ob {
		res.BLASThreads = torch.BLASThreads()
	}
	if dev.IsCUDA() {
		torch.SetCuDNNBenchmark(cfg.CUDA.CuDNNBenchmark)
	}
	// Counted from before the networks exist, so that the peak includes them.
	countCPU := !dev.IsCUDA() && torch.TrackCPUMemory() == nil
	st, err := trainer.NewStepper(cfg, dev)
	if err != nil {
		return res, err
	}
	defer st.Close()
	res.Params = map[string]int64{}
	for _, n := range st.Recipe().Nets() {
		res.Params[n.Role] = n.Net.NumParams()
	}
	res.AdamParams = map[string]int64{}
	for _, o := range st.Recipe().Optimizers() {
		if o.Adam == nil {
			continue
		}
		for _, p := range o.Adam.Params {
			res.AdamParams[o.Name] += p.Numel()
		}
	}
	b, err := gan.RandomBatch(cfg, dev)
	if err != nil {
		return res, err
	}
	defer gan.FreeBatch(b)
	for i := 0; i < warmup; i++ {
		if _, err := st.Step(b); err != nil {
			return res, err
		}
	}
	if dev.IsCUDA() {
		if err := torch.CUDAResetPeak(dev.Index); err != nil {
			return res, err
		}
	}
	if countCPU {
		torch.ResetCPUPeak()
	}
	start := time.Now()
	for i := 0; i < steps; i++ {
		if _, err := st.Step(b); err != nil {
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
		if res.CUDAReserved, err = torch.CUDAMaxReserved(dev.Index); err != nil {
			return res, err
		}
	}
	el := time.Since(start).Seconds()
	if countCPU {
		_, res.CPUPeak = torch.CPUMemory()
	}
	res.MsPerStep = el * 1000 / float64(steps)
	res.ImagesPerSec = float64(cfg.Data.BatchSize) * float64(steps) / el
	res.PeakRSS = peakRSS()
	return res, nil
}

// outOfMemory says whether err is libtorch's failed allocation, on the CPU
// or a GPU, but not a network's (whose message names the keys that size
// it already).
func outOfMemory(err error) bool {
	return torch.IsOutOfMemory(err) && !strings.Contains(err.Error(), "do not fit in the memory of")
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
