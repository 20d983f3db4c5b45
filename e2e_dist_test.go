package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	torch "gogan/cgo"
	"gogan/cgo/torchtest"
	"gogan/gan"
	"gogan/infer"
	"gogan/runfolder"
)

// Data parallelism (gogan/dist) on this machine's CPU with Gloo: jobs of 2
// ranks started by gogan's launcher (--nproc), torchrun's elastic agent
// (scripts/torchrun) and SIGKILL/SIGTERM.

// needGloo skips nothing: libgotorch must have Gloo (make setup installs
// libgloo-dev); a build without it fails here.
func needGloo(t *testing.T) {
	t.Helper()
	if !torch.HasBackend(torch.Gloo) {
		t.Fatal("libgotorch was built without c10d's Gloo backend: install libgloo-dev (make setup) and rebuild with make lib")
	}
}

// distDCGAN is smallDCGAN with one thread per rank (two ranks share the two cores).
func distDCGAN(out string, extra ...string) []string {
	return smallDCGAN(out, append([]string{"threads=1", "data.workers=1"}, extra...)...)
}

// distPix2Pix is pix2pix on the CMP facades (../shared) cut down to 64 px,
// with instance norm and without dropout (each rank draws its own dropout
// masks, so dropout differs from one process's by design).
func distPix2Pix(t *testing.T, out string, extra ...string) []string {
	root := filepath.Join("..", "shared", "data", "facades")
	if _, err := os.Stat(filepath.Join(root, "train")); err != nil {
		t.Fatalf("no facades pairs at %s (the shared data folder beside the clone): %v", root, err)
	}
	args := []string{"-c", "configs/pix2pix-facades.yaml", "--quiet", "--set", "out=" + out, "--set", "data.root=" + root,
		"--set", "data.max_samples=64", "--set", "data.load_size=72", "--set", "data.crop_size=64",
		"--set", "model.netG=resnet_6blocks", "--set", "model.ngf=16", "--set", "model.ndf=16", "--set", "model.norm=instance",
		"--set", "model.no_dropout=true", "--set", "train.log_every=1", "--set", "threads=1", "--set", "data.workers=1"}
	for _, e := range extra {
		args = append(args, "--set", e)
	}
	return args
}

// lossValues is metrics.csv's losses by step (without lr and images/s).
func lossValues(t *testing.T, run string) [][]float64 {
	t.Helper()
	rows := lossRows(t, run)
	var out [][]float64
	for _, r := range rows[1:] {
		var vs []float64
		for _, c := range r[2 : len(r)-1] {
			v, err := strconv.ParseFloat(c, 64)
			if err != nil {
				t.Fatalf("%s: metrics.csv value %q: %v", run, c, err)
			}
			vs = append(vs, v)
		}
		out = append(out, vs)
	}
	return out
}

// checkpointOf is a run's newest checkpoint, or with first its oldest.
func checkpointOf(t *testing.T, run string, first bool) runfolder.Checkpoint {
	t.Helper()
	if !first {
		ck, _, err := runfolder.LatestValid(run)
		if err != nil {
			t.Fatal(err)
		}
		return ck
	}
	cks, err := runfolder.ListCheckpoints(run)
	if err != nil || len(cks) == 0 {
		t.Fatalf("%s: no checkpoints (%v)", run, err)
	}
	return cks[len(cks)-1]
}

// weightsOf loads a checkpoint's tensors by name.
func weightsOf(t *testing.T, ck runfolder.Checkpoint) map[string]*torch.Tensor {
	t.Helper()
	ts, _, err := torch.LoadSafetensors(ck.WeightsPath())
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]*torch.Tensor{}
	for _, nt := range ts {
		m[nt.Name] = nt.Tensor
		t.Cleanup(nt.Tensor.Free)
	}
	return m
}

// sameRun compares two runs: every logged loss within tol (relative, at
// least 1), and the newest checkpoints: every buffer within tol, Adam's
// moments within 1e-3 relative to each moment tensor's largest value, and
// every weight within tol except where its gradient is rounding noise;
// tol 0 asks for equality.
//
// tol > 0 compares one process with data-parallel ranks, whose gradients are
// summed in another order (and oneDNN's weight-gradient kernels round
// differently with the batch size): the runs drift apart by rounding, which
// Adam and the GAN's feedback amplify step by step (on one 2-core Xeon VM
// 5 steps stayed within 1e-5, on another the losses were 3e-5 apart at step
// 3). So the exact check is where rounding has not compounded: the first two
// steps' losses, and the checkpoint after step 1 (Adam's first moments are
// then the gradients themselves); later losses must stay within
// driftTol, well under what a real difference gives (BatchNorm without
// sync_bn moves the first loss by over 1e-3).
//
// Rounding noise: where the true gradient is zero or nearly so (a conv
// bias before an InstanceNorm without affine, as pix2pix's use_bias gives;
// single weights whose terms cancel), the gradient is float32 rounding,
// which summing 2B samples in one process or B on each of two ranks leaves
// different, and Adam (with its eps 1e-8) turns into steps of up to lr
// either way. Such elements (Adam's second moments say |gradient| is under
// 1e-6 of the network's largest, see gradientNoise) may
// differ, provided the networks still compute the same outputs (within
// tol) on the same random inputs.
func sameRun(t *testing.T, a, b string, tol float64) {
	t.Helper()
	const exactSteps, driftTol = 2, 1e-3
	la, lb := lossValues(t, a), lossValues(t, b)
	if len(la) != len(lb) {
		t.Fatalf("%s logged %d steps, %s %d", a, len(la), b, len(lb))
	}
	worstLoss := 0.0
	for i := range la {
		lim := tol
		if tol > 0 && i >= exactSteps {
			lim = driftTol
		}
		for j := range la[i] {
			d := math.Abs(la[i][j]-lb[i][j]) / math.Max(1, math.Abs(la[i][j]))
			worstLoss = math.Max(worstLoss, d)
			if d > lim {
				t.Errorf("step %d loss %d: %g vs %g (tolerance %g)", i+1, j, la[i][j], lb[i][j], lim)
			}
		}
	}
	first := tol > 0 // the checkpoint after step 1
	wa, wb := weightsOf(t, checkpointOf(t, a, first)), weightsOf(t, checkpointOf(t, b, first))
	if len(wa) != len(wb) {
		t.Fatalf("checkpoints hold %d and %d tensors", len(wa), len(wb))
	}
	var noise map[string][]bool
	if tol > 0 {
		noise = gradientNoise(t, a)
	}
	worst := map[string]float64{}
	exempt := 0
	for name, x := range wa {
		y, ok := wb[name]
		if !ok {
			t.Fatalf("%s's checkpoint lacks %s", b, name)
		}
		if x.DType() != torch.Float32 {
			if fmt.Sprint(x.Int64s()) != fmt.Sprint(y.Int64s()) {
				t.Errorf("%s: %v vs %v", name, x.Int64s(), y.Int64s())
			}
			continue
		}
		xs, ys := x.Float32s(), y.Float32s()
		group, scale := "weights and buffers", 1.0
		if strings.HasPrefix(name, "optimizer.") {
			group, scale = "Adam moments (relative)", 0
			for _, v := range xs {
				scale = math.Max(scale, math.Abs(float64(v)))
			}
			scale = math.Max(scale, 1e-30)
		}
		d := 0.0
		for i := range xs {
			e := math.Abs(float64(xs[i]-ys[i])) / scale
			if e > tol && tol > 0 && noise[name] != nil && noise[name][i] {
				exempt++
				continue
			}
			d = math.Max(d, e)
		}
		worst[group] = math.Max(worst[group], d)
		limit := tol
		if group != "weights and buffers" && tol > 0 {
			// A moment is a running sum of gradients, which move with
			// every weight: 1e-5 in the weights is ~1e-4 in them.
			limit = 1e-3
		}
		if d > limit {
			t.Errorf("%s differs by up to %g (%s; tolerance %g)", name, d, group, limit)
		}
	}
	t.Logf("%d tensors (checkpoint of step %d); largest differences %v; losses %.3g; %d elements apart (gradient at rounding-noise level)",
		len(wa), checkpointOf(t, a, first).Step, worst, worstLoss, exempt)
	if exempt > 0 {
		sameOutputs(t, checkpointOf(t, a, first).Dir, checkpointOf(t, b, first).Dir, tol, noise)
	}
}

// gradientNoise marks, for each parameter, the elements whose gradient was
// at rounding-noise level at some step of run a: |g| under noiseLevel times
// the largest |g| of its network that step. Each step's g^2 is
// (v_k - beta2 v_{k-1}) / (1 - beta2), from the moments of consecutive
// checkpoints (the run checkpoints every step).
//
// The level is relative because the noise is: pix2pix's biases before an
// InstanceNorm (a zero gradient in exact arithmetic) got up to 3.4e-7 of G's
// largest gradient (5.3e-6 of 15.7) under libtorch 2.6's kernels, under 1e-6
// absolute under 1.13's; G's smallest real gradient tensor peaks at 6e-3 of it.
const noiseLevel = 1e-6

func gradientNoise(t *testing.T, run string) map[string][]bool {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cks, err := runfolder.ListCheckpoints(run)
	if err != nil {
		t.Fatal(err)
	}
	_, _, cfg, err := runfolder.OpenCheckpoint(run)
	if err != nil {
		t.Fatal(err)
	}
	beta2 := cfg.Train.Beta2
	out := map[string][]bool{}
	var prev map[string][]float32
	for k := len(cks) - 1; k >= 0; k-- { // oldest first
		ts, _, err := torch.LoadSafetensors(cks[k].WeightsPath())
		if err != nil {
			t.Fatal(err)
		}
		cur := map[string][]float32{}
		for _, nt := range ts {
			if strings.Contains(nt.Name, ".exp_avg_sq.") {
				cur[nt.Name] = nt.Tensor.Float32s()
			}
			nt.Tensor.Free()
		}
		g2 := map[string][]float64{}
		largest := map[string]float64{} // a network's largest g^2 this step
		for name, v := range cur {
			g := make([]float64, len(v))
			net := strings.SplitN(name, ".", 3)[1]
			for i, e := range v {
				p := 0.0
				if prev != nil {
					p = float64(prev[name][i])
				}
				g[i] = (float64(e) - beta2*p) / (1 - beta2)
				largest[net] = math.Max(largest[net], g[i])
			}
			g2[name] = g
		}
		for name, g := range g2 {
			mask := out[name]
			if mask == nil {
				mask = make([]bool, len(g))
				out[name] = mask
			}
			net := strings.SplitN(name, ".", 3)[1]
			for i := range g {
				if g[i] < noiseLevel*noiseLevel*largest[net] {
					mask[i] = true
				}
			}
		}
		prev = cur
	}
	if len(cks) < 2 || cks[len(cks)-1].Step != 1 {
		t.Fatalf("%s: gradientNoise needs a checkpoint after every step from step 1 (train.checkpoint_every=1, train.keep_checkpoints=0)", run)
	}
	// A parameter's elements: the mask of its moments (optimizer.R.*.i is
	// the i-th parameter of optimizer R, as the recipe builds it: pix2pixHD's
	// G optimizer holds E's parameters after G's).
	rec, err := gan.New(gan.Env{Config: cfg, Device: torch.CPUDevice})
	if err != nil {
		t.Fatal(err)
	}
	defer gan.Free(rec)
	names := map[*torch.Tensor]string{}
	for _, n := range rec.Nets() {
		for _, nt := range n.Net.StateDict() {
			names[nt.Tensor] = n.Role + "." + nt.Name
		}
	}
	for _, o := range rec.Optimizers() {
		for i, p := range o.Adam.Params {
			m := out[fmt.Sprintf("optimizer.%s.exp_avg_sq.%d", o.Name, i)]
			out[names[p]] = m
			out[fmt.Sprintf("optimizer.%s.exp_avg.%d", o.Name, i)] = m
		}
	}
	return out
}

// sameOutputs runs each network of two checkpoints (their folders, or runs'
// for the newest) on the same random input and compares the outputs within
// tol, b's elements of rounding-noise gradient (noise) first set to a's:
// a bias before an InstanceNorm changes nothing in exact arithmetic, but
// where a channel's variance is small its rounding does, so the comparison
// is of everything else.
func sameOutputs(t *testing.T, a, b string, tol float64, noise map[string][]bool) {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cka, _, cfg, err := runfolder.OpenCheckpoint(a)
	if err != nil {
		t.Fatal(err)
	}
	ckb, _, _, err := runfolder.OpenCheckpoint(b)
	if err != nil {
		t.Fatal(err)
	}
	def, err := gan.For(cfg)
	if err != nil {
		t.Fatal(err)
	}
	torch.ManualSeed(7)
	for _, spec := range def.Nets(cfg) {
		na, err := infer.LoadNet(cka, cfg, spec.Role, torch.CPUDevice)
		if err != nil {
			t.Fatal(err)
		}
		nb, err := infer.LoadNet(ckb, cfg, spec.Role, torch.CPUDevice)
		if err != nil {
			t.Fatal(err)
		}
		sa := map[string]*torch.Tensor{}
		for _, nt := range na.StateDict() {
			sa[nt.Name] = nt.Tensor
		}
		for _, nt := range nb.StateDict() {
			mask := noise[spec.Role+"."+nt.Name]
			if mask == nil || nt.Tensor.DType() != torch.Float32 {
				continue
			}
			xs, ys := sa[nt.Name].Float32s(), nt.Tensor.Float32s()
			for i, m := range mask {
				if m {
					ys[i] = xs[i]
				}
			}
			aligned := torch.FromFloat32(ys, nt.Tensor.Shape()...)
			torch.NoGrad(func() { nt.Tensor.CopyFrom(aligned) })
			aligned.Free()
		}
		x := torch.Randn(torch.Float32, torch.CPUDevice, append([]int64{2}, spec.Input...)...)
		var ya, yb []float32
		torch.NoGrad(func() {
			// the same dropout masks for both
			torch.ManualSeed(8)
			ya = na.Forward(x).Float32s()
			torch.ManualSeed(8)
			yb = nb.Forward(x).Float32s()
		})
		d := 0.0
		for i := range ya {
			d = math.Max(d, math.Abs(float64(ya[i]-yb[i])))
		}
		t.Logf("network %s: outputs on the same random input differ by up to %.3g", spec.Role, d)
		if d > tol {
			t.Errorf("network %s computes other outputs (by up to %g) with its elements of rounding-noise gradient set alike: other weights differ", spec.Role, d)
		}
		na.Free()
		nb.Free()
		x.Free()
	}
}

// TestDataParallelMatchesOneProcess: 2 ranks x batch B train as 1 process
// x 2B: the same losses and weights (1e-5) over 5 steps, for pix2pix with
// instance norm, with and without dropout, with WGAN-GP, for DCGAN with train.sync_bn
// (without it, each rank's BatchNorm would see only its half of the batch),
// and for pix2pixHD with instance-wise features.
// distFolders checks for Gloo and makes a folder for the runs and a small
// pix2pixHD dataset (8 label maps with instances, 40x36).
func distFolders(t *testing.T) (base, hdRoot string) {
	t.Helper()
	needGloo(t)
	base, hdRoot = t.TempDir(), t.TempDir()
	writeHDData(t, hdRoot, 8, 40, 36)
	return base, hdRoot
}

func TestDataParallelMatchesOneProcess(t *testing.T) {
	base, hdRoot := distFolders(t)
	cases := []struct {
		name         string
		args         func(out string, extra ...string) []string
		batch        int
		unsyncDiffer bool
	}{
		{"pix2pix-instance-norm", func(out string, extra ...string) []string { return distPix2Pix(t, out, extra...) }, 2, false},
		// Dropout(0.5) in each ResNet block: the ranks drop the global
		// batch's rows (nets.Dropout over ranks), not the first rows' twice.
		{"pix2pix-dropout", func(out string, extra ...string) []string {
			return distPix2Pix(t, out, append([]string{"model.no_dropout=false"}, extra...)...)
		}, 2, false},
		// WGAN-GP: the ranks draw the penalty's mixing points for the
		// global batch, as they do dropout masks.
		{"pix2pix-wgangp", func(out string, extra ...string) []string {
			return distPix2Pix(t, out, append([]string{"train.gan_mode=wgangp"}, extra...)...)
		}, 2, false},
		{"dcgan-sync-bn", distDCGAN, 8, true},
		// pix2pixHD's feature encoder: E's gradients are averaged with G's
		// (a global G: no optimizer swap, which this comparison's reading
		// of Adam's moments across checkpoints does not follow).
		{"pix2pixhd-instance-features", func(out string, extra ...string) []string {
			return featureHD(hdRoot, out, append([]string{"model.instance_feat=true", "model.netG=global",
				"train.niter_fix_global=0", "threads=1"}, extra...)...)
		}, 1, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			one, two := filepath.Join(base, tc.name+"-one"), filepath.Join(base, tc.name+"-two")
			common := []string{"train.max_steps=5", "train.sync_bn=true", "train.checkpoint_every=1", "train.keep_checkpoints=0"}
			if out, err := gogan(t, append([]string{"train"}, tc.args(one, append(common, fmt.Sprintf("data.batch_size=%d", 2*tc.batch))...)...)...); err != nil {
				t.Fatalf("one process: %v\n%s", err, out)
			}
			out, err := gogan(t, append([]string{"train", "--nproc", "2"}, tc.args(two, append(common, fmt.Sprintf("data.batch_size=%d", tc.batch))...)...)...)
			if err != nil {
				t.Fatalf("2 ranks: %v\n%s", err, out)
			}
			if !strings.Contains(out, "ranks=2") || !strings.Contains(out, fmt.Sprintf("\"global batch\"=%d", 2*tc.batch)) {
				t.Errorf("the job does not say it runs 2 ranks with a global batch of %d:\n%s", 2*tc.batch, out)
			}
			// config.yaml's data.batch_size is per rank: the page says the step's
			if page, _ := os.ReadFile(filepath.Join(two, "index.html")); !bytes.Contains(page, []byte(fmt.Sprintf("data-parallel job of 2 ranks: global batch %d (data.batch_size %d per rank)", 2*tc.batch, tc.batch))) {
				t.Errorf("the report does not say the run's 2 ranks and global batch %d:\n%s", 2*tc.batch, page)
			}
			sameRun(t, one, two, 1e-5)
			if !tc.unsyncDiffer {
				return
			}
			// The check has teeth: without sync_bn the ranks' BatchNorm
			// sees half the batch, and the losses move off.
			unsync := filepath.Join(base, tc.name+"-unsync")
			if out, err := gogan(t, append([]string{"train", "--nproc", "2"}, tc.args(unsync, "train.max_steps=5", fmt.Sprintf("data.batch_size=%d", tc.batch))...)...); err != nil {
				t.Fatalf("2 ranks without sync_bn: %v\n%s", err, out)
			}
			if la, lb := lossValues(t, one), lossValues(t, unsync); math.Abs(la[0][0]-lb[0][0]) < 1e-3 {
				t.Errorf("without train.sync_bn the first loss is %g, with it %g: the ranks' BatchNorm should see only half the batch", lb[0][0], la[0][0])
			}
		})
	}
}

// startJob starts prog with args in a process group of its own (so that
// the whole job can be killed) and waits until run's metrics.csv holds more
// than rows rows, polling at random intervals under 20 ms (a kill then
// lands at a random moment of the step).
func startJob(t *testing.T, run string, rows int, prog string, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(prog, args...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		b, _ := os.ReadFile(filepath.Join(run, "metrics.csv"))
		if bytes.Count(b, []byte("\n")) > rows {
			return cmd, &buf
		}
		if time.Now().After(deadline) {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			t.Fatalf("the job did not reach step %d:\n%s", rows, buf.String())
		}
		time.Sleep(time.Duration(rand.IntN(20)) * time.Millisecond)
	}
}

// rankPID finds the process of a rank of the first attempt of the job
// training into run (a child of gogan's launcher, or a grandchild of
// torchrun's agent): out=run on its command line, RANK and
// TORCHELASTIC_RESTART_COUNT=0 in its environment.
func rankPID(t *testing.T, run string, rank int) int {
	t.Helper()
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		if cmdline, _ := os.ReadFile(p); !bytes.Contains(cmdline, []byte("out="+run+"\x00")) {
			continue
		}
		env, _ := os.ReadFile(strings.TrimSuffix(p, "cmdline") + "environ")
		vars := bytes.Split(env, []byte{0})
		if slices.ContainsFunc(vars, func(v []byte) bool { return string(v) == "RANK="+strconv.Itoa(rank) }) &&
			slices.ContainsFunc(vars, func(v []byte) bool { return string(v) == "TORCHELASTIC_RESTART_COUNT=0" }) {
			pid, _ := strconv.Atoi(strings.Split(p, "/")[2])
			return pid
		}
	}
	t.Fatalf("no process of rank %d training into %s", rank, run)
	return 0
}

// TestSignalToOneRank: SIGINT to one rank alone (not to the job) stops
// every rank after the same step, as the job's SIGINT does: a stop by
// SIGINT (exit 130, status.json's), not a failure; rank 1's notice says
// that rank 0 writes the checkpoint.
func TestSignalToOneRank(t *testing.T) {
	needGloo(t)
	run := filepath.Join(t.TempDir(), "run")
	cmd, buf := startJob(t, run, 3, goganBin, append([]string{"train", "--nproc", "2"}, distDCGAN(run, "train.max_steps=2000")...)...)
	syscall.Kill(rankPID(t, run, 1), syscall.SIGINT)
	err := cmd.Wait()
	out := buf.String()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 || strings.Contains(out, "failed") {
		t.Errorf("after SIGINT to rank 1: %v (want exit 130, no failure)\n%s", err, out)
	}
	// rank 1 writes no checkpoint of its own: its notice says rank 0 does
	if !strings.Contains(out, "[rank 1]") || !strings.Contains(out, "finishing the current step, with the job's checkpoint, which rank 0 writes") || strings.Contains(out, "writing a checkpoint") {
		t.Errorf("rank 1's notice of the stop:\n%s", out)
	}
	if st, err := (runfolder.RunDir{Path: run}).ReadStatus(); err != nil || st.State != runfolder.StateStopped || !strings.Contains(st.Detail, "stopped by SIGINT") {
		t.Errorf("status.json: %+v, %v; want stopped by SIGINT", st, err)
	}
}

// TestRankKilledStopsTheJob: SIGKILL one rank mid-run; the other stops well
// within train.dist_timeout with an error that names the dead rank and the
// command that goes on from the checkpoint (at --nproc 2: a plain resume
// would go on in one process).
func TestRankKilledStopsTheJob(t *testing.T) {
	needGloo(t)
	run := filepath.Join(t.TempDir(), "run")
	cmd, buf := startJob(t, run, 3, goganBin, append([]string{"train", "--nproc", "2"}, distDCGAN(run, "train.max_steps=2000", "train.dist_timeout=60", "train.checkpoint_every=2")...)...)
	killed := time.Now()
	syscall.Kill(rankPID(t, run, 1), syscall.SIGKILL)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		took := time.Since(killed)
		out := buf.String()
		t.Logf("the job stopped %v after the kill:\n%s", took.Round(time.Millisecond), out)
		if err == nil {
			t.Fatal("the job exited 0 after a rank was killed")
		}
		if !strings.Contains(out, "rank 1 stopped answering") {
			t.Errorf("rank 0's error does not name rank 1:\n%s", out)
		}
		if !strings.Contains(out, "rank 1 failed (signal: killed)") {
			t.Errorf("the launcher does not say rank 1 was killed:\n%s", out)
		}
		if want := "goes on from the newest good checkpoint with gogan resume " + run + " --nproc 2"; strings.Count(out, want) != 1 {
			t.Errorf("rank 0 does not say once how the job goes on (%q):\n%s", want, out)
		}
		if st, err := (runfolder.RunDir{Path: run}).ReadStatus(); err != nil || st.State != runfolder.StateFailed || !strings.Contains(st.Detail, "rank 1 stopped answering") {
			t.Errorf("status.json after rank 1 was killed: %+v, %v; want failed, naming rank 1", st, err)
		}
	case <-time.After(60 * time.Second):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		t.Fatalf("the job still runs 60 s (train.dist_timeout) after rank 1 was killed:\n%s", buf.String())
	}
}

// TestRankKilledAdviceIsRankZeros: of the ranks a dead rank leaves, rank 0
// alone says how the job goes on from its checkpoint (--nproc 3: a job of
// three ranks, rank 2 killed, leaves two), and a job that wrote no
// checkpoint yet is not sent to one.
func TestRankKilledAdviceIsRankZeros(t *testing.T) {
	needGloo(t)
	for _, c := range []struct {
		nproc, kill int
		set         string
		advice      int // times the advice is said
	}{
		{3, 2, "train.checkpoint_every=2", 1},
		{2, 1, "data.max_samples=9600", 0}, // its first checkpoint at the epoch's end, step 75
	} {
		run := filepath.Join(t.TempDir(), "run")
		cmd, buf := startJob(t, run, 3, goganBin, append([]string{"train", "--nproc", strconv.Itoa(c.nproc)}, distDCGAN(run, "train.max_steps=2000", "train.dist_timeout=60", c.set)...)...)
		syscall.Kill(rankPID(t, run, c.kill), syscall.SIGKILL)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			out := buf.String()
			if err == nil || !strings.Contains(out, fmt.Sprintf("rank %d stopped answering", c.kill)) {
				t.Errorf("--nproc %d, rank %d killed: %v\n%s", c.nproc, c.kill, err, out)
			}
			if n := strings.Count(out, "goes on from the newest good checkpoint"); n != c.advice {
				t.Errorf("--nproc %d, rank %d killed, %s: the advice to go on from the checkpoint said %d times, want %d:\n%s", c.nproc, c.kill, c.set, n, c.advice, out)
			}
		case <-time.After(60 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			t.Fatalf("the job still runs 60 s after rank %d was killed:\n%s", c.kill, buf.String())
		}
	}
}

// TestRankZeroKilledIsNamed: under --nproc the launcher serves the store,
// as torchrun's agent, so a rank 0 that dies leaves it up and rank 1 names
// rank 0 as the one that stopped answering.
func TestRankZeroKilledIsNamed(t *testing.T) {
	needGloo(t)
	run := filepath.Join(t.TempDir(), "run")
	cmd, buf := startJob(t, run, 3, goganBin, append([]string{"train", "--nproc", "2"}, distDCGAN(run, "train.max_steps=2000", "train.dist_timeout=60", "train.checkpoint_every=2")...)...)
	syscall.Kill(rankPID(t, run, 0), syscall.SIGKILL)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		out := buf.String()
		if err == nil {
			t.Fatalf("the job exited 0 after rank 0 was killed:\n%s", out)
		}
		if !strings.Contains(out, "rank 0 stopped answering (exited, killed or hung); rank 1 stopped") || !strings.Contains(out, "rank 0 failed (signal: killed)") {
			t.Errorf("rank 1 and the launcher do not name rank 0, killed:\n%s", out)
		}
		if want := "goes on from the newest good checkpoint with gogan resume " + run + " --nproc 2"; strings.Count(out, want) != 1 {
			t.Errorf("rank 1 does not say once how the job goes on (%q):\n%s", want, out)
		}
	case <-time.After(60 * time.Second):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		t.Fatalf("the job still runs 60 s (train.dist_timeout) after rank 0 was killed:\n%s", buf.String())
	}
}

// TestDataParallelKilledJobResumesExactly: SIGKILL of the whole 2-rank job
// and gogan resume --nproc 2 give the run of a job never stopped, bit for
// bit: pix2pix, and CycleGAN, whose image pools differ from rank to rank
// (each keeps its own fakes; the checkpoint keeps every rank's), of
// crop-size fakes and of fakes of several sizes (data.preprocess none,
// whose sizes each rank takes from the checkpoint after its host state).
func TestDataParallelKilledJobResumesExactly(t *testing.T) {
	needGloo(t)
	sized := unalignedOfSizes(t)
	cases := []struct {
		name string
		args func(run string) []string
	}{
		{"pix2pix", func(run string) []string {
			return distPix2Pix(t, run, "data.batch_size=2", "train.max_steps=16", "train.checkpoint_every=3")
		}},
		{"cyclegan-pools", func(run string) []string {
			return smallCycleGAN(run, "threads=1", "data.workers=1", "train.max_steps=16", "train.checkpoint_every=3")
		}},
		{"cyclegan-pools-of-sizes", func(run string) []string {
			return []string{"--config", "configs/cyclegan-facades.yaml", "--quiet", "--set", "out=" + run, "--set", "data.root=" + sized,
				"--set", "data.preprocess=none", "--set", "data.batch_size=1", "--set", "model.netG=resnet_6blocks",
				"--set", "model.ngf=4", "--set", "model.ndf=4", "--set", "train.pool_size=2", "--set", "train.log_every=1",
				"--set", "train.max_steps=16", "--set", "train.checkpoint_every=3", "--set", "threads=1", "--set", "data.workers=1"}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			base := t.TempDir()
			whole := filepath.Join(base, "whole")
			if out, err := gogan(t, append([]string{"train", "--nproc", "2"}, tc.args(whole)...)...); err != nil {
				t.Fatalf("uninterrupted job: %v\n%s", err, out)
			}
			killed := filepath.Join(base, "killed")
			cmd, _ := startJob(t, killed, 8, goganBin, append([]string{"train", "--nproc", "2"}, tc.args(killed)...)...)
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			cmd.Wait()
			if _, err := os.Stat(filepath.Join(killed, "checkpoints", "step-00000016")); err == nil {
				t.Fatal("the job finished before the kill")
			}
			if out, err := gogan(t, "resume", killed, "--nproc", "2", "--quiet"); err != nil {
				t.Fatalf("resume --nproc 2: %v\n%s", err, out)
			}
			sameRun(t, whole, killed, 0)
		})
	}
}

// TestDataParallelSIGTERM: SIGTERM to the job makes rank 0 write one
// checkpoint of the last step, and every rank exits (143).
func TestDataParallelSIGTERM(t *testing.T) {
	needGloo(t)
	run := filepath.Join(t.TempDir(), "run")
	cmd, buf := startJob(t, run, 4, goganBin, append([]string{"train", "--nproc", "2"}, distDCGAN(run, "train.max_steps=2000")...)...)
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 143 {
		t.Fatalf("after SIGTERM: %v (want exit 143)\n%s", err, buf.String())
	}
	rows := lossRows(t, run)
	last := rows[len(rows)-1][0]
	cks, err := runfolder.ListCheckpoints(run)
	if err != nil || len(cks) != 1 || strconv.Itoa(cks[0].Step) != last {
		t.Fatalf("want one checkpoint, of the last logged step %s; have %v (%v)\n%s", last, cks, err, buf.String())
	}
	if n := strings.Count(buf.String(), "continue with:"); n != 1 {
		t.Errorf("%d ranks printed how to continue, want rank 0 alone:\n%s", n, buf.String())
	}
	if !strings.Contains(buf.String(), "resume "+run+" --nproc 2\n") {
		t.Errorf("the resume command does not give the job's --nproc 2:\n%s", buf.String())
	}
}

// children counts the processes pid started. A thread's children file
// lists the processes that thread started: the launcher's
// (runtime.LockOSThread in dist.Launch) is the main thread only if Go's
// scheduler left the main goroutine there.
func children(pid int) (n int) {
	files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		n += len(strings.Fields(string(b)))
	}
	return n
}

// TestSignalWhileRanksStart: a SIGTERM to the launcher as soon as its
// ranks exist (loading libtorch, before they take signals) ends them by
// the signal itself, silently: the launcher says the job stopped as it
// started, nothing trained, with the signal's status, and no run folder is
// left (it printed nothing at all).
func TestSignalWhileRanksStart(t *testing.T) {
	needGloo(t)
	run := filepath.Join(t.TempDir(), "run")
	cmd := exec.Command(goganBin, append([]string{"train", "--nproc", "2"}, distDCGAN(run, "train.max_steps=20")...)...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	signalWhen(t, cmd, &buf, "2 ranks started by the launcher", func() bool { return children(cmd.Process.Pid) == 2 }, syscall.SIGTERM)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 143 {
		t.Fatalf("after SIGTERM: %v (want exit 143)\n%s", err, buf.String())
	}
	if want := "gogan: stopped by SIGTERM while the ranks started (ranks 0, 1 before they could take the signal), before the first step: nothing trained"; !strings.Contains(buf.String(), want) {
		t.Errorf("the launcher's output lacks %q:\n%s", want, buf.String())
	}
	if _, err := os.Stat(run); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a job stopped as it started left %s (%v)", run, err)
	}
}

// TestTorchrunRestartResumes: the job under torchrun's elastic agent
// (scripts/torchrun: the agent serves the store; every rank a client of
// it) trains as under gogan's launcher; when a rank dies the agent restarts
// the job, which resumes from the newest checkpoint and ends where a job
// never stopped ends.
func TestTorchrunRestartResumes(t *testing.T) {
	needGloo(t)
	base := t.TempDir()
	args := func(run string) []string {
		return distDCGAN(run, "train.max_steps=24", "train.checkpoint_every=4", "data.batch_size=8")
	}
	whole := filepath.Join(base, "whole")
	if out, err := gogan(t, append([]string{"train", "--nproc", "2"}, args(whole)...)...); err != nil {
		t.Fatalf("gogan --nproc 2: %v\n%s", err, out)
	}
	run := filepath.Join(base, "torchrun")
	cmd, buf := startJob(t, run, 9, "scripts/torchrun", // past the checkpoint of step 8
		append([]string{"--nproc-per-node", "2", "--max-restarts", "1", "--no-python", goganBin, "train"}, args(run)...)...)
	defer syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	syscall.Kill(rankPID(t, run, 1), syscall.SIGKILL)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("torchrun with a restart: %v\n%s", err, buf.String())
	}
	out := buf.String()
	if !strings.Contains(out, "torchrun restarted the job: resuming from the newest checkpoint") {
		t.Errorf("the restarted job did not resume:\n%s", out)
	}
	// rank 0's error says that torchrun goes on, not to resume by hand
	if !strings.Contains(out, "torchrun restarts the job (restart 1 of --max-restarts 1), which goes on from the newest good checkpoint") || strings.Contains(out, "with gogan resume") {
		t.Errorf("rank 0 does not say that torchrun restarts the job:\n%s", out)
	}
	sameRun(t, whole, run, 0)

	// A job whose first attempt refused another job's run folder refuses
	// it on every restart: it does not take over that run.
	before, _ := runfolder.ListCheckpoints(whole)
	cmdOut, err := exec.Command("/usr/bin/python3", append([]string{"scripts/torchrun", "--nproc-per-node", "2", "--max-restarts", "1",
		"--no-python", goganBin, "train"}, distDCGAN(whole, "train.max_steps=30", "data.batch_size=8")...)...).CombinedOutput()
	if err == nil || strings.Contains(string(cmdOut), "resuming from the newest checkpoint") || !strings.Contains(string(cmdOut), "already holds checkpoints") {
		t.Errorf("torchrun train into another job's finished run: %v, want a refusal on every attempt\n%s", err, cmdOut)
	}
	if after, _ := runfolder.ListCheckpoints(whole); !slices.Equal(after, before) {
		t.Errorf("the other job's run changed: checkpoints %v, were %v", after, before)
	}

	// So does a job that reuses the rendezvous id of the job that trained
	// the run (a fixed --rdzv-id, as in many cluster scripts).
	fixed := filepath.Join(base, "fixed-id")
	torchrun := func(steps string, restarts string) (string, error) {
		out, err := exec.Command("/usr/bin/python3", append([]string{"scripts/torchrun", "--nproc-per-node", "2", "--max-restarts", restarts,
			"--rdzv-id", "cluster-job", "--no-python", goganBin, "train"}, distDCGAN(fixed, "train.max_steps="+steps, "data.batch_size=8")...)...).CombinedOutput()
		return string(out), err
	}
	if out, err := torchrun("4", "0"); err != nil {
		t.Fatalf("torchrun --rdzv-id cluster-job: %v\n%s", err, out)
	}
	before, _ = runfolder.ListCheckpoints(fixed)
	if out, err := torchrun("8", "1"); err == nil || strings.Contains(out, "resuming from the newest checkpoint") {
		t.Errorf("a second job of the same --rdzv-id into the first's run: %v, want a refusal on every attempt\n%s", err, out)
	}
	if after, _ := runfolder.ListCheckpoints(fixed); !slices.Equal(after, before) {
		t.Errorf("the first job's run changed: checkpoints %v, were %v", after, before)
	}
}

// TestTorchrunOnTwoNodes: README's job of two machines, as two launchers
// on this one (scripts/torchrun --nnodes 2 --node-rank 0 and 1, one rank
// each, meeting at node 0's --master-port without a --rdzv-id), trains as
// --nproc 2 does.
func TestTorchrunOnTwoNodes(t *testing.T) {
	needGloo(t)
	base := t.TempDir()
	args := func(run string) []string {
		return distDCGAN(run, "train.max_steps=4", "data.batch_size=8")
	}
	one := filepath.Join(base, "one")
	if out, err := gogan(t, append([]string{"train", "--nproc", "2"}, args(one)...)...); err != nil {
		t.Fatalf("gogan --nproc 2: %v\n%s", err, out)
	}
	run, port := filepath.Join(base, "nodes"), strconv.Itoa(freeTCPPort(t))
	cmds, outs := make([]*exec.Cmd, 2), make([]bytes.Buffer, 2)
	for n := range 2 {
		cmds[n] = exec.Command("scripts/torchrun", append([]string{"--nnodes", "2", "--node-rank", strconv.Itoa(n), "--nproc-per-node", "1",
			"--master-addr", "127.0.0.1", "--master-port", port, "--no-python", goganBin, "train"}, args(run)...)...)
		cmds[n].Stdout, cmds[n].Stderr = &outs[n], &outs[n]
		cmds[n].SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmds[n].Start(); err != nil {
			t.Fatal(err)
		}
		defer syscall.Kill(-cmds[n].Process.Pid, syscall.SIGKILL)
	}
	// nodes that never meet (a wrong run id or node rank) wait minutes
	// for the rendezvous, two agents and their ranks holding memory: a
	// job of 4 steps is over long before this
	hung := time.AfterFunc(2*time.Minute, func() {
		for _, c := range cmds {
			syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
		}
	})
	defer hung.Stop()
	for n, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("node %d: %v (killed after 2 minutes if the nodes never met)\n%s", n, err, outs[n].String())
		}
	}
	sameRun(t, one, run, 0)
}

// TestTorchrunRefusesImpossibleNodes: scripts/torchrun refuses a
// --node-rank outside --nnodes, naming the ranks there are (a wrong one
// waited for the rendezvous of a node that never comes), --nnodes 0,
// where "0 to -1" named none, and --nproc-per-node 0.
func TestTorchrunRefusesImpossibleNodes(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--nnodes", "2", "--node-rank", "2"}, "--node-rank 2 outside --nnodes 2: give each machine its own, 0 to 1"},
		{[]string{"--nnodes", "0"}, "--nnodes 0: want at least 1, the machines of the job"},
		// the agent's bare "AssertionError: " named nothing
		{[]string{"--nproc-per-node", "0"}, "--nproc-per-node 0: want at least 1, the ranks of this machine"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, "/usr/bin/python3", append(append([]string{"scripts/torchrun", "--nproc-per-node", "1"}, c.args...), "--no-python", "true")...).CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "torchrun: error: "+c.want) {
			t.Errorf("scripts/torchrun %s: %v, want exit 2 saying %q\n%s", strings.Join(c.args, " "), err, c.want, out)
		}
	}
}

// TestResumeOnAnotherWorldSize: a checkpoint of 2 ranks resumes in one
// process, with a warning that says what changes, and continues after the
// samples already seen.
func TestResumeOnAnotherWorldSize(t *testing.T) {
	needGloo(t)
	run := filepath.Join(t.TempDir(), "run")
	if out, err := gogan(t, append([]string{"train", "--nproc", "2"}, distDCGAN(run, "train.max_steps=4", "data.batch_size=8")...)...); err != nil {
		t.Fatalf("2 ranks: %v\n%s", err, out)
	}
	// Rank 0 refuses to train into it again, and the other rank says why.
	if out, err := gogan(t, append([]string{"train", "--nproc", "2"}, distDCGAN(run, "train.max_steps=4", "data.batch_size=8")...)...); err == nil ||
		!strings.Contains(out, "rank 1: rank 0 could not start the run: run folder") || !strings.Contains(out, "gogan: rank 0 failed") {
		t.Errorf("a second train --nproc 2 into the run folder: %v\n%s", err, out)
	}
	// At the same global batch one process normalises over the whole
	// batch, where the 2 ranks (without train.sync_bn) each normalised
	// their own share: that is named.
	same := filepath.Join(t.TempDir(), "same")
	if err := os.CopyFS(same, os.DirFS(run)); err != nil {
		t.Fatal(err)
	}
	out, err := gogan(t, "resume", same, "--quiet", "--set", "data.batch_size=16", "--set", "train.max_steps=5")
	if err != nil {
		t.Fatalf("resume in one process at batch 16: %v\n%s", err, out)
	}
	if want := "goes on as one uninterrupted job would, but for BatchNorm, which the checkpoint's 2 ranks ran without train.sync_bn"; !strings.Contains(out, want) {
		t.Errorf("the resume at the same global batch does not say %q:\n%s", want, out)
	}
	out, err = gogan(t, "resume", run, "--quiet", "--set", "train.max_steps=6")
	if err != nil {
		t.Fatalf("resume in one process: %v\n%s", err, out)
	}
	for _, want := range []string{"written by 2 rank(s), this job has 1", "global batch goes from 16 to 8 samples",
		"the samples of each step, BatchNorm's batch statistics and the step's random draws differ"} {
		if !strings.Contains(out, want) {
			t.Errorf("the resume does not warn %q:\n%s", want, out)
		}
	}
	ck, st, _, err := runfolder.OpenCheckpoint(run)
	if err != nil {
		t.Fatal(err)
	}
	var pos struct {
		Batch int `json:"batch"`
		World int `json:"world"`
	}
	if err := json.Unmarshal(st.Loader, &pos); err != nil {
		t.Fatal(err)
	}
	// 4 steps of 16 samples, then 2 of 8: the loader is after sample 80.
	if st.Step != 6 || pos.Batch != 10 || pos.World != 0 {
		t.Errorf("%s: step %d, loader at batch %d of 8 samples (world %d); want step 6, batch 10, one rank", ck.Dir, st.Step, pos.Batch, pos.World)
	}
	if !strings.Contains(out, "--set data.batch_size=16 keeps it") {
		t.Errorf("the warning does not say which batch keeps the global batch:\n%s", out)
	}
	// The rest of the epoch: 880 samples in steps of 8; the total counts
	// the first 6 steps as they were (not 960/8 = 120).
	if out, err := gogan(t, "resume", run, "--quiet", "--set", "train.max_steps=0", "--set", "train.epochs=1", "--set", "train.epochs_decay=0"); err != nil {
		t.Fatalf("resume to the epoch's end: %v\n%s", err, out)
	}
	if st, err := (runfolder.RunDir{Path: run}).ReadStatus(); err != nil || st.State != runfolder.StateFinished || st.Step != 116 || st.Total != 116 {
		t.Errorf("status after the epoch: %+v, %v; want finished at step 116 of 116", st, err)
	}
}

// TestRanksResumeThreadCount: the thread count a checkpoint records is a
// rank's. A job resumed on as many ranks at another count is told the
// --set threads=N that resumes it exactly, and threads: 0 is said as the
// cores shared by the machine's ranks (not one a core for each); one
// resumed on another number of ranks is not (the world size's warning says
// it is no longer the uninterrupted job, and no thread count makes it one).
func TestRanksResumeThreadCount(t *testing.T) {
	needGloo(t)
	run := filepath.Join(t.TempDir(), "run")
	if out, err := gogan(t, append([]string{"train", "--nproc", "2"}, distDCGAN(run, "train.max_steps=2", "data.batch_size=8", "threads=2")...)...); err != nil {
		t.Fatalf("2 ranks: %v\n%s", err, out)
	}
	one := filepath.Join(t.TempDir(), "one")
	if err := os.CopyFS(one, os.DirFS(run)); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(goganBin, "resume", run, "--nproc", "2", "--quiet", "--set", "threads=0", "--set", "train.max_steps=3")
	cmd.Env = append(os.Environ(), "GOMAXPROCS=2") // threads 0: 1 a rank on any machine
	b, err := cmd.CombinedOutput()
	if out := string(b); err != nil || !strings.Contains(out, "the run trained with 2 libtorch threads and resumes with 1 (threads: 0, the cores this process may use here shared by this machine's 2 ranks)") ||
		!strings.Contains(out, "give --set threads=2") {
		t.Errorf("a 2-rank job of 2 threads a rank resumed on 2 ranks of 1: %v; want the warning naming threads 0 as the cores the ranks share, and --set threads=2:\n%s", err, out)
	}
	out, err := gogan(t, "resume", one, "--quiet", "--set", "threads=1", "--set", "train.max_steps=3")
	if err != nil || !strings.Contains(out, "written by 2 rank(s), this job has 1") {
		t.Fatalf("the 2-rank job resumed in one process: %v; want the world size's warning\n%s", err, out)
	}
	if strings.Contains(out, "libtorch threads") {
		t.Errorf("the 2-rank job resumed in one process warns of the thread count, which cannot make it exact:\n%s", out)
	}
}

// TestResumeOnMoreRanksAtTheSameGlobalBatch: a run of one process at
// batch 16 resumed on 2 ranks of 8 (train.sync_bn) goes on as the one
// process would: the same losses and weights as a run never stopped.
func TestResumeOnMoreRanksAtTheSameGlobalBatch(t *testing.T) {
	needGloo(t)
	base := t.TempDir()
	one, two := filepath.Join(base, "one"), filepath.Join(base, "two")
	args := func(out string, steps int) []string {
		return distDCGAN(out, fmt.Sprintf("train.max_steps=%d", steps), "train.sync_bn=true", "train.checkpoint_every=1", "train.keep_checkpoints=0", "data.batch_size=16")
	}
	for _, r := range []struct {
		out   string
		steps int
	}{{one, 6}, {two, 3}} {
		if out, err := gogan(t, append([]string{"train"}, args(r.out, r.steps)...)...); err != nil {
			t.Fatalf("one process: %v\n%s", err, out)
		}
	}
	out, err := gogan(t, "resume", two, "--quiet", "--nproc", "2", "--set", "data.batch_size=8", "--set", "train.max_steps=6")
	if err != nil {
		t.Fatalf("resume on 2 ranks of 8: %v\n%s", err, out)
	}
	if !strings.Contains(out, "with the same global batch of 16 samples") || strings.Contains(out, "global batch goes from") {
		t.Errorf("the resume does not say the global batch stays:\n%s", out)
	}
	// SyncBatchNorm, and DCGAN's noise drawn for the global batch: nothing
	// differs
	if !strings.Contains(out, "goes on as one uninterrupted job would\"") {
		t.Errorf("the resume names a difference where there is none:\n%s", out)
	}
	sameRun(t, one, two, 1e-5)
}

// TestDataParallelPoolResizedOnResume: a 2-rank job resumed with a larger
// train.pool_size keeps each rank's own fakes (the first ones), as one
// process keeps its: pools of 4 grown to 8, one step of 4 fakes a rank
// fills slots 4-7, and slots 0-3 of each rank are its own from before.
func TestDataParallelPoolResizedOnResume(t *testing.T) {
	needGloo(t)
	run := filepath.Join(t.TempDir(), "run")
	if out, err := gogan(t, append([]string{"train", "--nproc", "2"}, smallCycleGAN(run, "threads=1", "data.workers=1", "train.max_steps=4", "train.pool_size=4")...)...); err != nil {
		t.Fatalf("2 ranks: %v\n%s", err, out)
	}
	pools := func(step string) map[string][]float32 {
		ts, _, err := torch.LoadSafetensors(filepath.Join(run, "checkpoints", step, "weights.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		defer torch.FreeNamed(ts)
		out := map[string][]float32{}
		for _, e := range ts {
			if e.Name == "pool.fake_A" || e.Name == "rank1.pool.fake_A" {
				all := e.Tensor.Float32s()
				out[e.Name] = all[:len(all)*4/int(e.Tensor.Shape()[0])] // slots 0-3
			}
		}
		return out
	}
	before := pools("step-00000004")
	if slices.Equal(before["pool.fake_A"], before["rank1.pool.fake_A"]) {
		t.Fatal("the ranks' pools are equal before the resume: the test cannot tell them apart")
	}
	if out, err := gogan(t, "resume", run, "--nproc", "2", "--quiet", "--set", "train.pool_size=8", "--set", "train.max_steps=5"); err != nil {
		t.Fatalf("resume --nproc 2 with train.pool_size=8: %v\n%s", err, out)
	}
	after := pools("step-00000005")
	for _, name := range []string{"pool.fake_A", "rank1.pool.fake_A"} {
		if !slices.Equal(after[name], before[name]) {
			t.Errorf("%s: slots 0-3 are not the rank's own fakes from before the resume", name)
		}
	}
	// One process at the same global batch: what differs is the pools
	// (instance norm, no dropout)
	out, err := gogan(t, "resume", run, "--quiet", "--set", "data.batch_size=8", "--set", "train.max_steps=6")
	if err != nil {
		t.Fatalf("resume in one process: %v\n%s", err, out)
	}
	if want := "goes on as one uninterrupted job would, but for the tensors each rank keeps of its own (pool.* in the checkpoint)\""; !strings.Contains(out, want) {
		t.Errorf("the resume on one process does not say %q:\n%s", want, out)
	}
}

// TestDataParallelPoolsOfAnotherSizeStartEmpty: a 2-rank job resumed at
// another crop size starts every rank's pools empty, each rank saying so of
// its own; rank 0 said besides that rank 1's pools, whose checkpoint copy
// has another shape, "start from rank 0's", which start empty too.
func TestDataParallelPoolsOfAnotherSizeStartEmpty(t *testing.T) {
	needGloo(t)
	run := filepath.Join(t.TempDir(), "run")
	if out, err := gogan(t, append([]string{"train", "--nproc", "2"}, smallCycleGAN(run, "threads=1", "data.workers=1", "train.max_steps=2", "train.pool_size=4")...)...); err != nil {
		t.Fatalf("2 ranks: %v\n%s", err, out)
	}
	out, err := gogan(t, "resume", run, "--nproc", "2", "--quiet", "--set", "data.load_size=24", "--set", "data.crop_size=24", "--set", "train.max_steps=3")
	if err != nil {
		t.Fatalf("resume --nproc 2 at another crop size: %v\n%s", err, out)
	}
	if n := strings.Count(out, "the pool starts empty"); n != 4 {
		t.Errorf("%d lines saying a pool starts empty, want 4 (A's and B's of each rank):\n%s", n, out)
	}
	if strings.Contains(out, "starts from rank 0's") {
		t.Errorf("rank 1's pools, which start empty, are said to start from rank 0's:\n%s", out)
	}
}

// TestDataParallelResumeOfNoPoolSizes: a 2-rank CycleGAN checkpoint of
// an older gogan, without the pools' slot sizes (pool.fake_A_sizes, ...,
// of any rank: its pools held crop-size fakes alone), resumes without a
// warning that rank 1's copy is missing and starts from rank 0's: what
// the recipe makes of the missing sizes holds for every rank. Where rank
// 0's copy is there and rank 1's not (a checkpoint of fewer ranks), the
// warning stays.
func TestDataParallelResumeOfNoPoolSizes(t *testing.T) {
	needGloo(t)
	run := filepath.Join(t.TempDir(), "run")
	if out, err := gogan(t, append([]string{"train", "--nproc", "2"}, smallCycleGAN(run, "threads=1", "data.workers=1", "train.max_steps=2", "train.pool_size=4")...)...); err != nil {
		t.Fatalf("2 ranks: %v\n%s", err, out)
	}
	// the step-2 checkpoint written again without the tensors drop names
	rewrite := func(drop func(name string) bool) {
		t.Helper()
		ck := runfolder.Checkpoint{Dir: filepath.Join(run, "checkpoints", "step-00000002"), Step: 2}
		st, err := runfolder.ValidateCheckpoint(ck)
		if err != nil {
			t.Fatal(err)
		}
		ts, meta, err := torch.LoadSafetensors(ck.WeightsPath())
		if err != nil {
			t.Fatal(err)
		}
		defer torch.FreeNamed(ts)
		kept := slices.DeleteFunc(slices.Clone(ts), func(nt torch.Named) bool { return drop(nt.Name) })
		if len(kept) == len(ts) {
			t.Fatal("no tensor dropped: the checkpoint's names are not the test's")
		}
		if _, err := runfolder.WriteCheckpoint(run, *st, func(w io.Writer) error { return torch.WriteSafetensors(w, kept, meta) }); err != nil {
			t.Fatal(err)
		}
	}
	const warning = "has no copy of this tensor for this rank"
	rewrite(func(name string) bool { return strings.HasSuffix(name, "_sizes") })
	out, err := gogan(t, "resume", run, "--nproc", "2", "--set", "train.max_steps=3")
	if err != nil {
		t.Fatalf("resume of a checkpoint without pool sizes: %v\n%s", err, out)
	}
	if strings.Contains(out, warning) {
		t.Errorf("a checkpoint without any rank's pool sizes: the resume warns of rank 1's alone:\n%s", out)
	}
	if err := os.RemoveAll(filepath.Join(run, "checkpoints", "step-00000003")); err != nil {
		t.Fatal(err)
	}
	rewrite(func(name string) bool { return name == "rank1.pool.fake_A" })
	out, err = gogan(t, "resume", run, "--nproc", "2", "--set", "train.max_steps=3")
	if err != nil {
		t.Fatalf("resume of a checkpoint without rank 1's pool: %v\n%s", err, out)
	}
	if !strings.Contains(out, warning) || !strings.Contains(out, "tensor=pool.fake_A ") {
		t.Errorf("a checkpoint without rank 1's pool: the resume does not say it starts from rank 0's:\n%s", out)
	}
}

// TestGradientOverlapIsExact: averaging the gradients while backward runs
// (train.dist_overlap, DistributedDataParallel's reducer), in buckets small
// enough that every network has many, trains exactly as averaging them after
// backward: the same losses and the same weights and moments, bit for bit
// (two ranks: each element's sum is one addition either way). The log says
// how many buckets went out during backward; DCGAN's D, which takes two
// backward passes a step, is reduced after backward.
func TestGradientOverlapIsExact(t *testing.T) {
	base, hdRoot := distFolders(t)
	cases := []struct {
		name  string
		args  func(out string, extra ...string) []string
		after string // the optimizers reduced after backward
	}{
		{"pix2pix", func(out string, extra ...string) []string { return distPix2Pix(t, out, extra...) }, ""},
		{"cyclegan", func(out string, extra ...string) []string {
			return smallCycleGAN(out, append([]string{"threads=1", "data.workers=1"}, extra...)...)
		}, ""},
		{"dcgan-sync-bn", func(out string, extra ...string) []string {
			return distDCGAN(out, append([]string{"train.sync_bn=true"}, extra...)...)
		}, "D"},
		{"pix2pixhd-instance-features", func(out string, extra ...string) []string {
			return featureHD(hdRoot, out, append([]string{"model.instance_feat=true", "model.netG=global", "train.niter_fix_global=0", "threads=1"}, extra...)...)
		}, ""},
	}
	sent := regexp.MustCompile(`buckets_during_backward=(\d+)/(\d+) reduced_after_backward=(\S*)`)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			runs := map[bool]string{}
			var log string
			for _, overlap := range []bool{false, true} {
				run := filepath.Join(base, fmt.Sprintf("%s-%v", tc.name, overlap))
				runs[overlap] = run
				args := tc.args(run, "train.max_steps=4", "train.dist_bucket_mb=0.02", fmt.Sprintf("train.dist_overlap=%v", overlap))
				out, err := gogan(t, append([]string{"train", "--nproc", "2"}, args...)...)
				if err != nil {
					t.Fatalf("2 ranks, overlap %v: %v\n%s", overlap, err, out)
				}
				if overlap {
					log = out
				}
			}
			m := sent.FindStringSubmatch(log)
			if m == nil {
				t.Fatalf("the job does not log its buckets:\n%s", log)
			}
			early, _ := strconv.Atoi(m[1])
			all, _ := strconv.Atoi(m[2])
			after := strings.Trim(m[3], `"`)
			t.Logf("buckets sent during backward %d of %d; reduced after backward: %q", early, all, after)
			if early == 0 || all < 12 || after != tc.after {
				t.Errorf("%d of %d buckets sent during backward, %q reduced after it; want many buckets, some during backward, and %q after", early, all, after, tc.after)
			}
			sameRun(t, runs[false], runs[true], 0)
		})
	}
}

// TestRanksMustShareConfigAndData: ranks started by hand (torchrun-style
// variables) with another config value, or another copy of the data, than
// rank 0's are refused before any collective, naming what differs, and the
// new run's folder goes; rank 0 exits as stopped by another rank (3), with
// rank 1's reason (also where rank 1 has no data at all).
func TestRanksMustShareConfigAndData(t *testing.T) {
	needGloo(t)
	base := t.TempDir()
	data, fewer, renamed := filepath.Join(base, "data"), filepath.Join(base, "fewer"), filepath.Join(base, "renamed")
	for _, d := range []string{data, fewer, renamed} {
		os.MkdirAll(d, 0o755)
	}
	for i := range 12 {
		writeTestPNG(t, filepath.Join(data, fmt.Sprintf("%02d.png", i)), 40, 40)
		writeTestPNG(t, filepath.Join(renamed, fmt.Sprintf("%02d%s.png", i, map[bool]string{true: "x"}[i == 5])), 40, 40)
		if i < 11 {
			writeTestPNG(t, filepath.Join(fewer, fmt.Sprintf("%02d.png", i)), 40, 40)
		}
	}
	for _, c := range []struct {
		name, set, want string
	}{
		{"config", "model.ngf=16", "rank 1's config differs from rank 0's: model.ngf 16 (rank 0: 8)"},
		{"data", "data.root=" + fewer, "rank 1's data differ from rank 0's: 11 samples under data.root " + fewer + ", rank 0 has 12"},
		{"file names", "data.root=" + renamed, "rank 1's data differ from rank 0's: 12 samples under data.root " + renamed + ", rank 0 has 12 (or other file names)"},
		{"no data", "data.root=" + filepath.Join(base, "gone"), "data: data.root: \"" + filepath.Join(base, "gone") + "\": no such folder"},
	} {
		t.Run(c.name, func(t *testing.T) {
			run := filepath.Join(base, "run-"+c.name)
			port := freeTCPPort(t)
			args := []string{"train", "-c", "configs/dcgan-folder.yaml", "--quiet", "--set", "data.root=" + data, "--set", "out=" + run,
				"--set", "data.image_size=32", "--set", "model.ngf=8", "--set", "model.ndf=8", "--set", "data.batch_size=2",
				"--set", "train.max_steps=2", "--set", "threads=1", "--set", "data.workers=0", "--set", "train.dist_timeout=60"}
			outs := make([]bytes.Buffer, 2)
			cmds := make([]*exec.Cmd, 2)
			for r := range 2 {
				if r == 1 {
					args = append(args, "--set", c.set) // the later --set of a key wins
				}
				cmds[r] = exec.Command(goganBin, args...)
				cmds[r].Env = append(os.Environ(), "RANK="+strconv.Itoa(r), "WORLD_SIZE=2", "MASTER_ADDR=127.0.0.1", "MASTER_PORT="+strconv.Itoa(port))
				cmds[r].Stdout, cmds[r].Stderr = &outs[r], &outs[r]
				if err := cmds[r].Start(); err != nil {
					t.Fatal(err)
				}
			}
			errs, ended := make([]error, 2), make([]time.Time, 2)
			var wg sync.WaitGroup
			for r := range 2 {
				wg.Go(func() { errs[r] = cmds[r].Wait(); ended[r] = time.Now() })
			}
			wg.Wait()
			// no rank is left to read the store rank 0 serves: it does not
			// keep it up (dist's explainWait, 5 s) once rank 1 has gone
			if gap := ended[0].Sub(ended[1]); gap > 3*time.Second {
				t.Errorf("rank 0 exited %v after rank 1, want at once: rank 1 could not start, and no other rank reads the store\n%s", gap.Round(100*time.Millisecond), outs[0].String())
			}
			if ee, ok := errs[1].(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(outs[1].String(), c.want) {
				t.Errorf("rank 1: %v, want exit 1 saying %q\n%s", errs[1], c.want, outs[1].String())
			}
			// on another machine rank 1's error is in another log: rank
			// 0's says why it stopped, not that it stopped answering
			if ee, ok := errs[0].(*exec.ExitError); !ok || ee.ExitCode() != 3 || !strings.Contains(outs[0].String(), "rank 1 could not start ("+c.want) {
				t.Errorf("rank 0: %v, want exit 3 (stopped by another rank) saying rank 1 could not start (%s\n%s", errs[0], c.want, outs[0].String())
			}
			if _, err := os.Stat(run); !os.IsNotExist(err) {
				t.Errorf("the new run's folder is still there (%v)", err)
			}
		})
	}
}

// TestRanksOfAnotherWorldSizeAreTold: ranks started by hand with other
// WORLD_SIZEs (libtorch 1.13's Gloo said "sizeof(impl_) == bytes.size().
// 136 vs 272" alone; 2.x's let rank 0 of 2 join and rank 1 of 3 wait for a
// rank 2), or one rank of two started alone (libtorch's "Socket Timeout",
// 2.x's "wait timeout after"), are told what that means.
func TestRanksOfAnotherWorldSizeAreTold(t *testing.T) {
	needGloo(t)
	base := t.TempDir()
	data := filepath.Join(base, "data")
	os.MkdirAll(data, 0o755)
	for i := range 4 {
		writeTestPNG(t, filepath.Join(data, fmt.Sprintf("%02d.png", i)), 40, 40)
	}
	args := func(run string) []string {
		return []string{"train", "-c", "configs/dcgan-folder.yaml", "--quiet", "--set", "data.root=" + data, "--set", "out=" + run,
			"--set", "data.image_size=32", "--set", "model.ngf=4", "--set", "model.ndf=4", "--set", "data.batch_size=2",
			"--set", "train.max_steps=2", "--set", "threads=1", "--set", "data.workers=0", "--set", "train.dist_timeout=5"}
	}
	start := func(run string, port, rank, world int) (*exec.Cmd, *bytes.Buffer) {
		var buf bytes.Buffer
		cmd := exec.Command(goganBin, args(run)...)
		cmd.Env = append(os.Environ(), "RANK="+strconv.Itoa(rank), "WORLD_SIZE="+strconv.Itoa(world), "MASTER_ADDR=127.0.0.1", "MASTER_PORT="+strconv.Itoa(port))
		cmd.Stdout, cmd.Stderr = &buf, &buf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, &buf
	}
	port := freeTCPPort(t)
	c0, o0 := start(filepath.Join(base, "sizes"), port, 0, 2)
	c1, o1 := start(filepath.Join(base, "sizes"), port, 1, 3)
	e0, e1 := c0.Wait(), c1.Wait()
	for r, c := range []struct {
		err error
		out string
	}{{e0, o0.String()}, {e1, o1.String()}} {
		if c.err == nil || !strings.Contains(c.out, "the ranks disagree on the number of ranks") {
			t.Errorf("rank %d of another WORLD_SIZE than the other's: %v, want it told the ranks disagree on WORLD_SIZE\n%s", r, c.err, c.out)
		}
	}
	// alone, rank 0 or a rank 1 whose job's variables were left set: said
	// while it waits (a quarter of the timeout in; 30 s by default), not
	// only when the wait is over
	for rank := range 2 {
		c, o := start(filepath.Join(base, fmt.Sprint("alone", rank)), freeTCPPort(t), rank, 2)
		err := c.Wait()
		for _, want := range []string{"rank " + fmt.Sprint(rank) + " of 2: still waiting for the other ranks", "left in its environment from another job waits for ranks that never come: unset them",
			"not all 2 ranks joined within train.dist_timeout, 5s"} {
			if err == nil || !strings.Contains(o.String(), want) {
				t.Errorf("rank %d of 2 started alone: %v, want it told %q\n%s", rank, err, want, o.String())
			}
		}
	}
}

// TestRanksTakeRankZerosVGG: pix2pixHD's VGG19 is read from a path of each
// machine (model.vgg_weights may differ from rank to rank); the ranks take
// rank 0's weights, so a rank with other weights trains what ranks with
// the same ones do.
func TestRanksTakeRankZerosVGG(t *testing.T) {
	needGloo(t)
	root := t.TempDir()
	writeHDData(t, root, 4, 40, 36)
	vgg := randomVGG19(t)
	other := filepath.Join(t.TempDir(), "vgg19-other.pth")
	if b, err := exec.Command(torchtest.Python(t), "scripts/make_vgg19_pth.py", other, "--seed", "4").CombinedOutput(); err != nil {
		t.Fatalf("make_vgg19_pth.py: %v\n%s", err, b)
	}
	train := func(name, rank1VGG string) [][]string {
		run := filepath.Join(t.TempDir(), name)
		port := freeTCPPort(t)
		outs := make([]bytes.Buffer, 2)
		cmds := make([]*exec.Cmd, 2)
		for r := range 2 {
			w := vgg
			if r == 1 {
				w = rank1VGG
			}
			cmds[r] = exec.Command(goganBin, append([]string{"train"}, smallHD(root, w, run, "model.netG=global", "train.niter_fix_global=0",
				"train.max_steps=2", "data.batch_size=1", "threads=1", "data.workers=0", "train.dist_timeout=60")...)...)
			cmds[r].Env = append(os.Environ(), "RANK="+strconv.Itoa(r), "WORLD_SIZE=2", "MASTER_ADDR=127.0.0.1", "MASTER_PORT="+strconv.Itoa(port))
			cmds[r].Stdout, cmds[r].Stderr = &outs[r], &outs[r]
			if err := cmds[r].Start(); err != nil {
				t.Fatal(err)
			}
		}
		for r, c := range cmds {
			if err := c.Wait(); err != nil {
				t.Fatalf("%s, rank %d: %v\n%s", name, r, err, outs[r].String())
			}
		}
		return lossRows(t, run)
	}
	same, differ := train("same", vgg), train("differ", other)
	if len(same) != 3 || !slices.EqualFunc(same, differ, slices.Equal) {
		t.Errorf("metrics with rank 1 reading other VGG19 weights differ:\n%v\n%v", same, differ)
	}
}

// TestResumeAtAnEpochsEndOnAnotherWorldSize: a job stopped (SIGTERM) right
// after an epoch's last step, before the loader's end of that epoch was
// acted on, resumes on another number of ranks at the same global batch
// (2 ranks of 8, then one process of 16) and goes on as one process never
// stopped: every step here ends an epoch (16 samples), so every stop does.
// Each epoch's end writes a checkpoint of its step (sameRun's gradient
// noise needs one a step); train.checkpoint_every=1 would close each epoch
// at its step, and the stop would find no end pending.
func TestResumeAtAnEpochsEndOnAnotherWorldSize(t *testing.T) {
	needGloo(t)
	base := t.TempDir()
	one, two := filepath.Join(base, "one"), filepath.Join(base, "two")
	args := func(out string, extra ...string) []string {
		return distDCGAN(out, append([]string{"data.max_samples=16", "train.epochs=12", "train.epochs_decay=0", "train.max_steps=0",
			"train.sync_bn=true", "train.checkpoint_every=0", "train.keep_checkpoints=0", "train.sample_every=0"}, extra...)...)
	}
	if out, err := gogan(t, append([]string{"train"}, args(one, "data.batch_size=16")...)...); err != nil {
		t.Fatalf("one process: %v\n%s", err, out)
	}
	cmd, buf := startJob(t, two, 2, goganBin, append([]string{"train", "--nproc", "2"}, args(two, "data.batch_size=8")...)...)
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err == nil {
		t.Fatalf("the job finished before the SIGTERM:\n%s", buf.String())
	}
	_, st, _, err := runfolder.OpenCheckpoint(two)
	if err != nil {
		t.Fatal(err)
	}
	var pos struct {
		Epoch int `json:"epoch"`
		Batch int `json:"batch"`
	}
	if err := json.Unmarshal(st.Loader, &pos); err != nil {
		t.Fatal(err)
	}
	if pos.Epoch != st.Epoch+1 || pos.Batch != 0 {
		t.Fatalf("the stop's checkpoint (step %d, epoch %d) has the loader at epoch %d batch %d, not the next epoch's start with this one's end pending: the test does not test it",
			st.Step, st.Epoch, pos.Epoch, pos.Batch)
	}
	out, err := gogan(t, "resume", two, "--quiet", "--set", "data.batch_size=16")
	if err != nil {
		t.Fatalf("resume of the 2-rank job's checkpoint at step %d in one process at the same global batch: %v\n%s", st.Step, err, out)
	}
	sameRun(t, one, two, 1e-5)
}

// TestCtrlCUnderTorchrun: Ctrl-C in the terminal of a torchrun job (SIGINT
// to its process group, where PyTorch 1.x's agent keeps its workers) stops
// it as one SIGINT does: every rank gets the signal directly and once more
// from the agent, and takes the two as one, so rank 0 writes the stop's
// checkpoint of the last step rather than quitting at once.
func TestCtrlCUnderTorchrun(t *testing.T) {
	needGloo(t)
	run := filepath.Join(t.TempDir(), "run")
	cmd, buf := startJob(t, run, 3, "scripts/torchrun", append([]string{"--nproc-per-node", "2", "--no-python", goganBin, "train"},
		distDCGAN(run, "train.max_steps=2000", "train.checkpoint_every=1000", "train.sample_every=0")...)...)
	defer syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	syscall.Kill(-cmd.Process.Pid, syscall.SIGINT) // the terminal's foreground process group
	cmd.Wait()
	out := buf.String()
	st, err := (runfolder.RunDir{Path: run}).ReadStatus()
	if err != nil || st.State != runfolder.StateStopped || !strings.Contains(st.Detail, "stopped by SIGINT at step") {
		t.Errorf("status.json after Ctrl-C: %+v, %v; want stopped by SIGINT with its checkpoint\n%s", st, err, out)
	}
	if strings.Contains(out, "second signal: quitting without a checkpoint") {
		t.Errorf("a rank took the agent's copy of the SIGINT for a second one:\n%s", out)
	}
	rows := lossRows(t, run)
	last := rows[len(rows)-1][0]
	if cks, err := runfolder.ListCheckpoints(run); err != nil || len(cks) != 1 || strconv.Itoa(cks[0].Step) != last {
		t.Errorf("want one checkpoint, of the last logged step %s; have %v (%v)\n%s", last, cks, err, out)
	}
}

// TestPix2PixHDRanksTrainOnWholeGlobalBatches: pix2pixHD trains on whole
// batches only (its AlignedDataset's length, len(A_paths) // batchSize *
// batchSize, of the batch of one process, which under its DataParallel is
// the global batch): 2 ranks of 1 over 9 label maps train as one process
// of 2, over the first 8, not over all 9 with the first repeated.
func TestPix2PixHDRanksTrainOnWholeGlobalBatches(t *testing.T) {
	needGloo(t)
	base, root := t.TempDir(), t.TempDir()
	writeHDData(t, root, 9, 40, 36)
	one, two := filepath.Join(base, "one"), filepath.Join(base, "two")
	args := func(out string, batch int) []string {
		return featureHD(root, out, "model.instance_feat=true", "model.netG=global", "train.niter_fix_global=0", "threads=1",
			"train.max_steps=5", "train.sync_bn=true", "train.checkpoint_every=1", "train.keep_checkpoints=0", fmt.Sprintf("data.batch_size=%d", batch))
	}
	if out, err := gogan(t, append([]string{"train"}, args(one, 2)...)...); err != nil {
		t.Fatalf("one process: %v\n%s", err, out)
	}
	if out, err := gogan(t, append([]string{"train", "--nproc", "2"}, args(two, 1)...)...); err != nil {
		t.Fatalf("2 ranks: %v\n%s", err, out)
	}
	sameRun(t, one, two, 1e-5)
	// In one process of 1 (another global batch) the epochs go through all
	// 9: the resume goes on after the samples seen, with a warning.
	out, err := gogan(t, "resume", two, "--quiet", "--set", "train.max_steps=12")
	if err != nil || !strings.Contains(out, "went through the first 8 of the 9 samples") {
		t.Fatalf("resume in one process of 1: %v\n%s", err, out)
	}
	// 5 steps of 2 (epoch 1's 8 samples, 2 of epoch 2), then 7 of 1: the
	// 9 of epoch 2 end at step 12
	if _, st, _, err := runfolder.OpenCheckpoint(two); err != nil || st.Step != 12 || st.Epoch != 2 {
		t.Errorf("after the resume: %+v, %v; want step 12 at the end of epoch 2", st, err)
	}
}

// TestRankTakesTheSignalsCopyAsOne: a rank given the same signal twice
// 20 ms apart (its own and the launcher's copy, here sent by hand, so that
// neither the kernel nor Go's runtime can merge the two into one delivery
// as they may under TestCtrlCUnderTorchrun) stops cleanly with the stop's
// checkpoint: the coalescing is wired into data-parallel runs.
func TestRankTakesTheSignalsCopyAsOne(t *testing.T) {
	needGloo(t)
	run := filepath.Join(t.TempDir(), "run")
	cmd, buf := startJob(t, run, 3, goganBin, append([]string{"train", "--nproc", "2"},
		distDCGAN(run, "train.max_steps=2000", "train.checkpoint_every=1000", "train.sample_every=0")...)...)
	defer syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	pid := rankPID(t, run, 0)
	syscall.Kill(pid, syscall.SIGINT)
	time.Sleep(20 * time.Millisecond)
	syscall.Kill(pid, syscall.SIGINT)
	cmd.Wait()
	out := buf.String()
	if strings.Contains(out, "second signal: quitting without a checkpoint") {
		t.Errorf("rank 0 took the copy of its SIGINT for a second one:\n%s", out)
	}
	if st, err := (runfolder.RunDir{Path: run}).ReadStatus(); err != nil || st.State != runfolder.StateStopped || !strings.Contains(st.Detail, "stopped by SIGINT at step") {
		t.Errorf("status.json: %+v, %v; want stopped by SIGINT with its checkpoint\n%s", st, err, out)
	}
}

// TestMetricsImagesOfADataParallelJob: metrics.csv's images counts every
// rank's samples, as one process's of the global batch: 2 ranks of 32 on
// 99 samples log 64, then the epoch's short last batch of 36 (the epoch
// padded to 100 over the ranks, as DistributedSampler pads it), and on.
func TestMetricsImagesOfADataParallelJob(t *testing.T) {
	needGloo(t)
	run := filepath.Join(t.TempDir(), "run")
	if out, err := gogan(t, append([]string{"train", "--nproc", "2"}, distDCGAN(run, "data.max_samples=99", "data.drop_last=false",
		"data.batch_size=32", "train.max_steps=3", "train.sample_every=0")...)...); err != nil {
		t.Fatalf("2 ranks: %v\n%s", err, out)
	}
	m, err := runfolder.ReadMetrics(filepath.Join(run, "metrics.csv"))
	if err != nil {
		t.Fatal(err)
	}
	var images []float64
	for _, r := range m.Rows {
		images = append(images, r[m.Column("images")])
	}
	if want := []float64{64, 100, 164}; !slices.Equal(images, want) {
		t.Errorf("metrics.csv's images of a job of 2 ranks of 32: %v, want %v", images, want)
	}
}

// TestRanksErrorBeforeStartOnce: an error every rank meets before training
// (a config that is not there, a data.root that is not) is printed once,
// not once per rank; the launcher's line names the rank that failed, and
// the job exits 1, as soon as the ranks have said so (rank 0 waited 10 s
// for the others to read why it could not start, which they never would:
// 16 s where one process takes 2).
func TestRanksErrorBeforeStartOnce(t *testing.T) {
	for _, c := range []struct {
		args []string
		err  string
	}{
		{[]string{"--config", filepath.Join(t.TempDir(), "missing.yaml")}, "missing.yaml: no such file or directory"},
		{[]string{"--config", "configs/dcgan-folder.yaml", "--set", "data.root=" + filepath.Join(t.TempDir(), "nowhere"), "--set", "out=" + filepath.Join(t.TempDir(), "run")}, `nowhere": no such folder`},
	} {
		start := time.Now()
		out, err := gogan(t, append([]string{"train", "--nproc", "2"}, c.args...)...)
		if took := time.Since(start); took > 8*time.Second {
			t.Errorf("train --nproc 2 %q stopped after %v, want at once (rank 0 waits up to 10 s for ranks that read its start)\n%s", c.args, took.Round(time.Second), out)
		}
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 || strings.Count(out, c.err) != 1 || !regexp.MustCompile(`gogan: rank \d failed \(exit status 1\); the job stopped`).MatchString(out) {
			t.Errorf("train --nproc 2 %q: %v, want exit 1 with %q once and the launcher's line:\n%s", c.args, err, c.err, out)
		}
	}
}
