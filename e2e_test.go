package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	torch "gogan/cgo"
	"gogan/config"
	"gogan/runfolder"

	"golang.org/x/sys/unix"
)

// gogan builds the command once per test binary.
var goganBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gogan-bin-")
	if err != nil {
		panic(err)
	}
	goganBin = filepath.Join(dir, "gogan")
	if out, err := exec.Command("go", "build", "-o", goganBin, ".").CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// smallDCGAN is the default config cut down to seconds on two cores.
func smallDCGAN(out string, extra ...string) []string {
	args := []string{"--config", "configs/dcgan-fashion-mnist.yaml", "--quiet",
		"--set", "out=" + out, "--set", "data.max_samples=960", "--set", "model.ngf=16", "--set", "model.ndf=16",
		"--set", "train.log_every=1", "--set", "train.sample_every=10", "--set", "threads=2", "--set", "data.workers=2"}
	for _, e := range extra {
		args = append(args, "--set", e)
	}
	return args
}

func gogan(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(goganBin, args...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	return buf.String(), err
}

// mustTrain runs gogan train with args, failing the test with its output
// where it fails.
func mustTrain(t *testing.T, args ...string) {
	t.Helper()
	if out, err := gogan(t, append([]string{"train"}, args...)...); err != nil {
		t.Fatalf("train: %v\n%s", err, out)
	}
}

// lossRows reads metrics.csv without its images/s and wall_time columns
// (timing differs) and images (TestMetricsSaysImagesAndTime's): step,
// epoch, the losses, lr.
func lossRows(t *testing.T, run string) [][]string {
	t.Helper()
	f, err := os.Open(filepath.Join(run, "metrics.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var keep []int
	for i, c := range rows[0] {
		if c != "images_per_s" && c != "wall_time" && c != "images" {
			keep = append(keep, i)
		}
	}
	for i, r := range rows {
		kept := make([]string, 0, len(keep))
		for _, k := range keep {
			kept = append(kept, r[k])
		}
		rows[i] = kept
	}
	return rows
}

func TestTrainWritesARunFolder(t *testing.T) {
	run := filepath.Join(t.TempDir(), "run")
	out, err := gogan(t, append([]string{"train"}, smallDCGAN(run, "train.max_steps=25", "train.checkpoint_every=10")...)...)
	if err != nil {
		t.Fatalf("gogan train: %v\n%s", err, out)
	}
	for _, f := range []string{"config.yaml", "metrics.csv", "loss.png", "index.html", "samples/latest.png",
		"checkpoints/step-00000020/weights.safetensors", "checkpoints/step-00000025/state.json"} {
		if _, err := os.Stat(filepath.Join(run, f)); err != nil {
			t.Errorf("run folder lacks %s", f)
		}
	}
	if rows := lossRows(t, run); len(rows) != 26 || rows[0][0] != "step" || rows[25][0] != "25" {
		t.Errorf("metrics.csv: %d rows, last %v", len(rows), rows[len(rows)-1])
	}
	if !strings.Contains(out, "samples/latest.png") || !strings.Contains(out, "index.html") {
		t.Errorf("train did not say where the results are:\n%s", out)
	}
	// A second train into the same folder is refused, pointing at resume.
	if out, err := gogan(t, append([]string{"train"}, smallDCGAN(run, "train.max_steps=25")...)...); err == nil || !strings.Contains(out, "gogan resume") {
		t.Errorf("train into a used run folder: %v\n%s", err, out)
	}
	// sample draws a grid from the run.
	grid := filepath.Join(t.TempDir(), "new", "grid.png") // its folder made, as translate makes --out
	if out, err := gogan(t, "sample", "--checkpoint", run, "--n", "16", "--out", grid, "--device", "cpu"); err != nil {
		t.Fatalf("gogan sample: %v\n%s", err, out)
	}
	if fi, err := os.Stat(grid); err != nil || fi.Size() < 100 {
		t.Errorf("sample grid: %v", err)
	}
	// 300 samples (two forward passes) make a grid as wide and 38 rows of
	// 8 high; more than a grid holds is refused.
	big := filepath.Join(t.TempDir(), "big.png")
	if out, err := gogan(t, "sample", "--checkpoint", run, "--n", "300", "--out", big, "--device", "cpu"); err != nil {
		t.Fatalf("gogan sample --n 300: %v\n%s", err, out)
	}
	w16, h16 := pngSize(t, grid) // 8 x 2 images
	if w, h := pngSize(t, big); w != w16 || (h-2)/38 != (h16-2)/2 || (h-2)%38 != 0 {
		t.Errorf("a grid of 300: %dx%d, of 16: %dx%d", w, h, w16, h16)
	}
	if out, err := gogan(t, "sample", "--checkpoint", run, "--n", "10001", "--out", big); err == nil || !strings.Contains(out, "--n 10001: a grid holds 1 to 10000 samples") {
		t.Errorf("sample --n 10001: %v\n%s", err, out)
	}
	// --class is a class-conditional generator's (infer's
	// TestSampleDrawsEachClass): DCGAN's draws from noise alone.
	for _, class := range []string{"3", "sneaker"} {
		out, err := gogan(t, "sample", "--checkpoint", run, "--class", class, "--out", filepath.Join(t.TempDir(), "c.png"))
		if err == nil || !strings.Contains(out, "--class "+class+": checkpoint ") || !strings.Contains(out, "draws from noise alone: it takes no class; leave --class out") {
			t.Errorf("sample --class %s of a DCGAN: %v\n%s", class, err, out)
		}
	}
}

// TestKilledRunResumesExactly: a run killed with SIGKILL at a random moment
// and resumed gives the same losses, step for step, as a run that never stopped.
func TestKilledRunResumesExactly(t *testing.T) {
	killResumeExact(t, func(run string) []string {
		return smallDCGAN(run, "train.max_steps=150", "train.epochs=20", "train.checkpoint_every=4")
	}, 150)
}

// killResumeExact trains args(run) (max_steps steps, a checkpoint every few)
// once straight through and once killed with SIGKILL at a random row of
// metrics.csv and resumed, and compares the two runs' losses row for row.
func killResumeExact(t *testing.T, args func(run string) []string, steps int) {
	t.Helper()
	base := t.TempDir()
	whole := filepath.Join(base, "whole")
	if out, err := gogan(t, append([]string{"train"}, args(whole)...)...); err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", err, out)
	}
	killed := filepath.Join(base, "killed")
	// Kill at a random moment after the first checkpoint and before the last
	// fifth of the run: once metrics.csv holds a random number of rows (5 +
	// rand.IntN(steps*4/5) could exceed the run's rows for a short run, which
	// then never reached the kill).
	killAt := 5 + rand.IntN(max(1, steps*4/5-5))
	cmd, _ := startJob(t, killed, killAt, goganBin, append([]string{"train"}, args(killed)...)...)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if _, err := os.Stat(filepath.Join(killed, "checkpoints", fmt.Sprintf("step-%08d", steps))); err == nil {
		t.Fatalf("the run finished before the kill (at row %d)", killAt)
	}
	t.Logf("killed after step %d", killAt)
	if out, err := gogan(t, "resume", killed, "--quiet"); err != nil {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	a, b := lossRows(t, whole), lossRows(t, killed)
	if len(a) != len(b) {
		t.Fatalf("uninterrupted run logged %d rows, killed and resumed run %d", len(a), len(b))
	}
	for i := range a {
		if strings.Join(a[i], ",") != strings.Join(b[i], ",") {
			t.Errorf("row %d differs:\n uninterrupted %v\n resumed       %v", i, a[i], b[i])
		}
	}
}

// TestSIGTERMCheckpointsAndResumes: SIGTERM stops the run with a checkpoint
// of the step in flight (exit 143), and resuming reaches the same end.
func TestSIGTERMCheckpointsAndResumes(t *testing.T) {
	run := filepath.Join(t.TempDir(), "run")
	cmd, buf := startJob(t, run, 5, goganBin, append([]string{"train"}, smallDCGAN(run, "train.max_steps=400")...)...)
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 143 {
		t.Fatalf("after SIGTERM: %v (want exit 143)\n%s", err, buf.String())
	}
	rows := lossRows(t, run)
	last := rows[len(rows)-1][0]
	// where it stands, the epochs done (a progress line names epoch 1)
	if !strings.Contains(buf.String(), "\nstep "+last+", 0 epochs done\nsamples:") {
		t.Errorf("the stopped run does not say step %s, 0 epochs done:\n%s", last, buf.String())
	}
	if _, err := os.Stat(filepath.Join(run, "checkpoints", "step-"+strings.Repeat("0", 8-len(last))+last)); err != nil {
		t.Errorf("no checkpoint of the last logged step %s: %v", last, err)
	}
	st, err := os.ReadFile(filepath.Join(run, "status.json"))
	if err != nil || !strings.Contains(string(st), `"state": "stopped"`) || !strings.Contains(string(st), "stopped by SIGTERM at step "+last) {
		t.Errorf("status.json after SIGTERM: %v\n%s", err, st)
	}
	if out, err := gogan(t, "runs", filepath.Dir(run)); err != nil || !strings.Contains(out, "stopped by SIGTERM at step "+last) ||
		!strings.Contains(out, "dcgan") || !strings.Contains(out, " "+last+"/") {
		t.Errorf("gogan runs after SIGTERM: %v\n%s", err, out)
	}
	// The message gives the exact command that resumes the run: run it as
	// printed (a few more steps, not the 400).
	_, after, ok := strings.Cut(buf.String(), "continue with:\n")
	command, _, _ := strings.Cut(strings.TrimSpace(after), "\n")
	if !ok || !strings.Contains(command, " resume ") {
		t.Fatalf("the stop message does not say how to resume:\n%s", buf.String())
	}
	n, _ := strconv.Atoi(last)
	out, err := exec.Command("sh", "-c", command+" --quiet --set train.max_steps="+strconv.Itoa(n+2)).CombinedOutput()
	if err != nil {
		t.Fatalf("the printed command %q: %v\n%s", command, err, out)
	}
	if rows := lossRows(t, run); rows[len(rows)-1][0] != strconv.Itoa(n+2) {
		t.Errorf("after the printed resume command the last logged step is %s, want %d", rows[len(rows)-1][0], n+2)
	}
	if st, _ := os.ReadFile(filepath.Join(run, "status.json")); !strings.Contains(string(st), `"state": "finished"`) {
		t.Errorf("status.json after the resumed run finished:\n%s", st)
	}
	if page, _ := os.ReadFile(filepath.Join(run, "index.html")); !strings.Contains(string(page), "finished: step "+strconv.Itoa(n+2)+", 0 epochs done") {
		t.Errorf("the finished run's page does not say where it ended")
	}
	if out, err := gogan(t, "runs", run); err != nil || !strings.Contains(out, "finished") {
		t.Errorf("gogan runs after the resumed run: %v\n%s", err, out)
	}
}

// TestRunFolderMovedWhileTraining: a run folder renamed while it trains
// (mv runs/x runs/y) stops the run at its next write with what happened and
// the command that goes on from the moved folder, which it runs; the moved
// folder says failed, not running (gogan runs called it killed), and its
// page says so too. A folder deleted while it trains is said to be gone.
func TestRunFolderMovedWhileTraining(t *testing.T) {
	base := t.TempDir()
	run, moved := filepath.Join(base, "run"), filepath.Join(base, "moved")
	cmd, buf := startJob(t, run, 7, goganBin, append([]string{"train"}, smallDCGAN(run, "train.max_steps=100000", "train.checkpoint_every=5")...)...)
	if err := os.Rename(run, moved); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil {
		t.Fatalf("the run went on after its folder was moved:\n%s", buf.String())
	}
	out := buf.String()
	want := "the run folder " + run + " was moved to " + moved + " while the run trained: continue with gogan resume " + moved + "\n(a write into its old path failed: "
	if !strings.Contains(out, want) || !strings.Contains(out, "the newest good checkpoint is "+filepath.Join(moved, "checkpoints", "step-")) {
		t.Fatalf("after the move, want %q:\n%s", want, out)
	}
	st, err := os.ReadFile(filepath.Join(moved, "status.json"))
	if err != nil || !strings.Contains(string(st), `"state": "failed"`) || !strings.Contains(string(st), "was moved to "+moved) {
		t.Errorf("status.json of the moved folder: %v\n%s", err, st)
	}
	if page, _ := os.ReadFile(filepath.Join(moved, "index.html")); strings.Contains(string(page), "http-equiv") || !strings.Contains(string(page), "was moved to") {
		t.Errorf("the moved folder's page still reloads as a run in progress, or does not say why it stopped")
	}
	if o, err := gogan(t, "runs", moved); err != nil || strings.Contains(o, "killed") || !strings.Contains(o, "failed") {
		t.Errorf("gogan runs of the moved folder: %v\n%s", err, o)
	}
	step := len(lossRows(t, moved)) - 1
	if o, err := gogan(t, "resume", moved, "--quiet", "--set", "train.max_steps="+strconv.Itoa(step+2)); err != nil {
		t.Fatalf("the resume the message named: %v\n%s", err, o)
	}
	if _, err := os.Stat(run); err == nil {
		t.Errorf("the old path %s came back", run)
	}

	// moved, with another folder made at its old path at once (a new run
	// of the same out, say): the run writes nothing there, and says so
	other := filepath.Join(base, "other")
	os.RemoveAll(run)
	cmd, buf = startJob(t, run, 7, goganBin, append([]string{"train"}, smallDCGAN(run, "train.max_steps=100000", "train.checkpoint_every=5")...)...)
	if err := os.MkdirAll(other, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(other, "mine"), nil, 0o644)
	// a new run's metrics.csv there, as gogan writes it: the stopped run's
	// loss plot, made while it trained, must not draw it into that folder
	if b, err := os.ReadFile(filepath.Join(run, "metrics.csv")); err != nil {
		t.Fatal(err)
	} else {
		os.WriteFile(filepath.Join(other, "metrics.csv"), b, 0o644)
	}
	if err := unix.Renameat2(unix.AT_FDCWD, run, unix.AT_FDCWD, other, unix.RENAME_EXCHANGE); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil {
		t.Fatalf("the run went on after its folder was moved:\n%s", buf.String())
	}
	want = "the run folder " + run + " was moved to " + other + " while the run trained: continue with gogan resume " + other + "\n(another folder was made at its old path since, into which this run writes nothing"
	if !strings.Contains(buf.String(), want) {
		t.Errorf("after a move and a folder made at the old path, want %q:\n%s", want, buf.String())
	}
	if ents, err := os.ReadDir(run); err != nil || len(ents) != 2 || ents[0].Name() != "metrics.csv" || ents[1].Name() != "mine" {
		t.Errorf("the folder made at the old path: %v (%v), want its two files alone", ents, err)
	}
	if st, err := os.ReadFile(filepath.Join(other, "status.json")); err != nil || !strings.Contains(string(st), `"state": "failed"`) {
		t.Errorf("status.json of the moved folder: %v\n%s", err, st)
	}
	os.RemoveAll(run)

	// deleted, with another folder made at its old path (the run held
	// still meanwhile, so that it meets the new folder, not the gap): its
	// next grid (one a step, before any checkpoint) stops it, and neither
	// the failure's status.json nor its page land in that folder
	cmd, buf = startJob(t, run, 3, goganBin, append([]string{"train"}, smallDCGAN(run, "train.max_steps=100000", "train.checkpoint_every=100", "train.sample_every=1")...)...)
	syscall.Kill(-cmd.Process.Pid, syscall.SIGSTOP)
	os.RemoveAll(run)
	os.Mkdir(run, 0o755)
	os.WriteFile(filepath.Join(run, "mine"), nil, 0o644)
	syscall.Kill(-cmd.Process.Pid, syscall.SIGCONT)
	if err := cmd.Wait(); err == nil {
		t.Fatalf("the run went on after its folder was deleted:\n%s", buf.String())
	}
	want = "the run folder " + run + " was deleted while the run trained: train again, or, where it was moved to another file system (a copy, then a delete), continue with gogan resume NEW_PATH\n(another folder was made at its old path since, into which this run writes nothing"
	if !strings.Contains(buf.String(), want) {
		t.Errorf("after a delete and a folder made at the old path, want %q:\n%s", want, buf.String())
	}
	if ents, err := os.ReadDir(run); err != nil || len(ents) != 1 || ents[0].Name() != "mine" {
		t.Errorf("the folder made at the deleted one's path: %v (%v), want its one file alone", ents, err)
	}
	os.RemoveAll(run)

	// before its first checkpoint (at 100): the same train again
	cmd, buf = startJob(t, run, 2, goganBin, append([]string{"train"}, smallDCGAN(run, "train.max_steps=100000", "train.checkpoint_every=100")...)...)
	if err := os.Rename(run, moved+"2"); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil || !strings.Contains(buf.String(), "the run folder "+run+" was moved to "+moved+"2 while the run trained, before it wrote a checkpoint: run the same gogan train command again") {
		t.Errorf("a run whose folder was moved before its first checkpoint: %v\n%s", err, buf.String())
	}
	cmd, buf = startJob(t, run, 2, goganBin, append([]string{"train"}, smallDCGAN(run, "train.max_steps=100000")...)...)
	if err := os.RemoveAll(run); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil || !strings.Contains(buf.String(), "the run folder "+run+" was deleted while the run trained: train again, or, where it was moved to another file system (a copy, then a delete), continue with gogan resume NEW_PATH") {
		t.Errorf("a run whose folder was deleted: %v\n%s", err, buf.String())
	}
}

// TestResumeOverDamage: a resume that finds its newest checkpoint damaged
// goes on from the one before, sets the damaged one aside instead of
// letting it outrank (and prune) the checkpoints it writes, keeps its --set
// values for the next resume, and refuses a config.yaml cut short (whose
// defaults would silently change the run), handing back the checkpoint's.
func TestResumeOverDamage(t *testing.T) {
	run := filepath.Join(t.TempDir(), "run")
	if out, err := gogan(t, append([]string{"train"}, smallDCGAN(run, "train.max_steps=6", "train.checkpoint_every=2",
		"train.lr=0.001", "train.gan_mode=lsgan")...)...); err != nil {
		t.Fatalf("train: %v\n%s", err, out)
	}
	ckpts := filepath.Join(run, "checkpoints")
	flip := func(path string, at func(b []byte) int) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		b[at(b)] ^= 1
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	flip(filepath.Join(ckpts, "step-00000006", "weights.safetensors"), func(b []byte) int { return len(b) / 2 })
	// Step 4 as a crash leaves it mid-rewrite on a filesystem without
	// RENAME_EXCHANGE: moved aside, the new one not yet in its place.
	aside := filepath.Join(ckpts, ".old-step-00000004-"+strconv.FormatInt(time.Now().UnixNano(), 36))
	if err := os.Rename(filepath.Join(ckpts, "step-00000004"), aside); err != nil {
		t.Fatal(err)
	}
	out, err := gogan(t, "resume", run, "--quiet", "--set", "train.max_steps=5", "--set", "train.keep_checkpoints=1", "--set", "threads=1")
	if err != nil {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	if !strings.Contains(out, "invalid-step-00000006") {
		t.Errorf("resume does not say where the damaged checkpoint went:\n%s", out)
	}
	if !strings.Contains(out, "is put back") || !strings.Contains(out, "from_step=4 ") {
		t.Errorf("resume does not go on from step 4, put back:\n%s", out)
	}
	if got := dirNamesOf(t, ckpts); strings.Join(got, " ") != "invalid-step-00000006 step-00000005" {
		t.Fatalf("checkpoints after the resume: %v, want the damaged one set aside and step 5 kept", got)
	}
	if out, err := gogan(t, "runs", run); err != nil || !strings.Contains(out, "step-00000005") {
		t.Errorf("gogan runs: %v\n%s", err, out)
	}
	// Another batch size makes other epochs: refused, with no word of the
	// checkpoint's fixed noise, which a resume that goes on would cut.
	if out, err := gogan(t, "resume", run, "--quiet", "--set", "data.batch_size=32"); err == nil || !strings.Contains(out, "cannot resume: the checkpoint's loader had 960 samples, batch_size 64") ||
		strings.Contains(out, "holds another number") {
		t.Errorf("resume with another data.batch_size: %v\n%s", err, out)
	}
	// a checkpoint folder given to resume: its run folder is named
	if out, err := gogan(t, "resume", filepath.Join(ckpts, "step-00000005")); err == nil || !strings.Contains(out, "a checkpoint folder; resume takes the run folder it is in (gogan resume "+run+")") {
		t.Errorf("resume of a checkpoint folder: %v\n%s", err, out)
	}
	// threads=1 was that resume's machine's, not the run's: config.yaml
	// kept its own, and the next resume does not call that a change.
	if out, err := gogan(t, "resume", run, "--quiet"); err != nil || strings.Contains(out, "differs") {
		t.Errorf("a resume after one with --set threads=1: %v\n%s", err, out)
	}
	// config.yaml now holds what the resumed run ran with.
	cfgPath := filepath.Join(run, "config.yaml")
	yml, err := os.ReadFile(cfgPath)
	if err != nil || !strings.Contains(string(yml), "max_steps: 5\n") || !strings.Contains(string(yml), "keep_checkpoints: 1\n") {
		t.Fatalf("config.yaml after a resume with --set: %v\n%s", err, yml)
	}

	// A config.yaml cut short: refused, naming the file and the keys.
	cut, _, _ := strings.Cut(string(yml), "  lr: 0.001")
	if err := os.WriteFile(cfgPath, []byte(cut), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = gogan(t, "resume", run, "--quiet", "--set", "train.max_steps=7")
	kept := filepath.Join(run, "config-step-00000005.yaml")
	if err == nil || !strings.Contains(out, cfgPath+" lacks") || !strings.Contains(out, "train.gan_mode") || !strings.Contains(out, kept) {
		t.Fatalf("resume with a cut config.yaml: %v\n%s", err, out)
	}
	if rows := lossRows(t, run); rows[len(rows)-1][0] != "5" {
		t.Fatalf("the refused resume trained: last row %v", rows[len(rows)-1])
	}
	if err := os.Rename(kept, cfgPath); err != nil {
		t.Fatal(err)
	}
	// One that no longer reads as YAML: the checkpoint's config goes beside it too.
	good, _ := os.ReadFile(cfgPath)
	os.WriteFile(cfgPath, append(append([]byte(nil), good...), "  lr: [0.1\n"...), 0o644)
	out, err = gogan(t, "resume", run, "--quiet", "--set", "train.max_steps=7")
	if err == nil || !strings.Contains(out, "is now in "+kept) {
		t.Fatalf("resume with a config.yaml that does not read: %v\n%s", err, out)
	}
	if b, _ := os.ReadFile(kept); !bytes.Equal(b, good) {
		t.Errorf("the checkpoint's config written out differs from the config.yaml the run wrote:\n%s", b)
	}
	// One deleted: the checkpoint's config goes where config.yaml was read from.
	os.Remove(cfgPath)
	os.Remove(kept)
	out, err = gogan(t, "resume", run, "--quiet", "--set", "train.max_steps=7")
	if err == nil || !strings.Contains(out, "no config.yaml") || !strings.Contains(out, "is now in "+kept) {
		t.Fatalf("resume without config.yaml: %v\n%s", err, out)
	}
	if b, _ := os.ReadFile(kept); !bytes.Equal(b, good) {
		t.Errorf("the checkpoint's config written out differs from the config.yaml the run wrote:\n%s", b)
	}
	os.WriteFile(cfgPath, good, 0o644)
	os.Remove(kept)
	// A seed or an initialisation given to a resume would change nothing
	// (the run goes on from the checkpoint's state) but what config.yaml
	// says: refused, in the file or by --set, and the file kept.
	seeded := strings.Replace(string(good), "\nseed: 999\n", "\nseed: 5\n", 1)
	if seeded == string(good) {
		t.Fatalf("config.yaml has no seed: 999 line:\n%s", good)
	}
	for _, c := range []struct {
		file string
		set  []string
		want string
	}{
		{seeded, nil, "seed 5 (checkpoint: 999, from " + cfgPath},
		{string(good), []string{"--set", "model.init_type=kaiming"}, "model.init_type kaiming (checkpoint: normal, from --set)"},
	} {
		os.WriteFile(cfgPath, []byte(c.file), 0o644)
		out, err := gogan(t, append([]string{"resume", run, "--quiet", "--set", "train.max_steps=7"}, c.set...)...)
		if err == nil || !strings.Contains(out, c.want) || !strings.Contains(out, "act only when a run starts") {
			t.Errorf("resume with %v: %v\n%s", c.set, err, out)
		}
		if b, _ := os.ReadFile(cfgPath); string(b) != c.file {
			t.Errorf("a refused resume changed config.yaml")
		}
	}
	os.WriteFile(cfgPath, good, 0o644)
	// While it trains, a second resume of the folder is refused.
	cmd, buf := startJob(t, run, 6, goganBin, "resume", run, "--quiet", "--set", "train.max_steps=600")
	out, err = gogan(t, "resume", run, "--quiet", "--set", "train.max_steps=600")
	// and a train into it is told so, not to resume it (which would be
	// refused the same way)
	trainOut, trainErr := gogan(t, append([]string{"train"}, smallDCGAN(run, "train.max_steps=6")...)...)
	cmd.Process.Signal(syscall.SIGINT)
	if werr := cmd.Wait(); werr == nil || !strings.Contains(buf.String(), "stopped by SIGINT") {
		t.Fatalf("the first resume: %v\n%s", werr, buf)
	}
	if err == nil || !strings.Contains(out, "is being trained by gogan resume (pid "+strconv.Itoa(cmd.Process.Pid)) {
		t.Fatalf("a second resume of a folder in training: %v\n%s", err, out)
	}
	if trainErr == nil || !strings.Contains(trainOut, "is being trained by gogan resume (pid "+strconv.Itoa(cmd.Process.Pid)) || strings.Contains(trainOut, "continue it with") {
		t.Errorf("a train into a folder in training: %v, want it named as being trained, without advice to resume it\n%s", trainErr, trainOut)
	}
	// On from the checkpoint the first one wrote on SIGINT.
	rows := lossRows(t, run)
	stopped, _ := strconv.Atoi(rows[len(rows)-1][0])
	if out, err := gogan(t, "resume", run, "--quiet", "--set", "train.max_steps="+strconv.Itoa(stopped+1)); err != nil {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	rows = lossRows(t, run)
	last := rows[len(rows)-1]
	if last[0] != strconv.Itoa(stopped+1) {
		t.Fatalf("last row %v, want step %d", last, stopped+1)
	}
	// Still at lr 0.001, the run's own: the lr column says so.
	if i := slices.Index(rows[0], "lr"); i < 0 || last[i] != "0.001" {
		t.Errorf("lr after the resumes: header %v, last row %v", rows[0], last)
	}
	// A resume with another rate trains at it, as config.yaml then says,
	// and says so.
	out, err = gogan(t, "resume", run, "--set", "train.max_steps="+strconv.Itoa(stopped+2), "--set", "train.lr=0.0005", "--set", "train.log_every=1")
	if err != nil || !strings.Contains(out, "follows the config: train.lr 0.0005 (checkpoint: 0.001)") {
		t.Fatalf("resume with another train.lr: %v\n%s", err, out)
	}
	rows = lossRows(t, run)
	if last = rows[len(rows)-1]; last[slices.Index(rows[0], "lr")] != "0.0005" {
		t.Errorf("lr after a resume with train.lr=0.0005: last row %v", last)
	}
	// Resumed again at its end, it says how to train on.
	if out, err := gogan(t, "resume", run, "--quiet"); err != nil || !strings.Contains(out, "the run has already trained its "+strconv.Itoa(stopped+2)+" steps: to train on, raise train.max_steps") {
		t.Errorf("resume of a finished run: %v\n%s", err, out)
	}
	// One refused as past the run's end does not first tell of a schedule
	// it will not follow.
	if out, err := gogan(t, "resume", run, "--quiet", "--set", "train.max_steps=1", "--set", "train.lr=0.0002"); err == nil ||
		!strings.Contains(out, "past this run's end") || strings.Contains(out, "follows the config") {
		t.Errorf("resume past the run's end with another train.lr: %v\n%s", err, out)
	}
}

func dirNamesOf(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func smallPix2Pix(out string, extra ...string) []string {
	args := []string{"--config", "configs/pix2pix-fashion-edges.yaml", "--quiet",
		"--set", "out=" + out, "--set", "data.max_samples=256", "--set", "train.log_every=1", "--set", "threads=2"}
	for _, e := range extra {
		args = append(args, "--set", e)
	}
	return args
}

// TestTranslateOutNamedAsAnImage: translate writes into a folder, so an
// --out named as an image file (--out facade.png, given one input as
// sample's --out grid.png is) is refused before anything is made, where it
// made a folder facade.png/ holding the input's name and said it
// "translated 1 image into facade.png"; a folder of such a name that is
// there already is written into.
func TestTranslateOutNamedAsAnImage(t *testing.T) {
	base := t.TempDir()
	run := filepath.Join(base, "run")
	mustTrain(t, smallPix2Pix(run, "train.max_steps=1")...)
	in := filepath.Join(base, "edges.png")
	writeTestPNG(t, in, 40, 28)
	asFile := filepath.Join(base, "facade.png")
	out, err := gogan(t, "translate", "--checkpoint", run, "--input", in, "--out", asFile, "--device", "cpu")
	if err == nil || !strings.Contains(out, "--out "+asFile+" names an image file, but translate writes into a folder") {
		t.Errorf("translate --out %s: %v\n%s", asFile, err, out)
	}
	if _, err := os.Stat(asFile); err == nil {
		t.Errorf("the refused translate made %s", asFile)
	}
	folder := filepath.Join(base, "results.png")
	os.MkdirAll(folder, 0o755)
	if out, err := gogan(t, "translate", "--checkpoint", run, "--input", in, "--out", folder, "--device", "cpu"); err != nil {
		t.Errorf("translate into the folder %s: %v\n%s", folder, err, out)
	} else if names := dirNamesOf(t, folder); len(names) != 1 || names[0] != "edges.png" {
		t.Errorf("%s holds %v, want edges.png", folder, names)
	}
}

// TestTranslateSeedRepeats: translate --seed N seeds train mode's dropout
// (the default mode, test.py's), as eval pix2pix --seed does, so the same N
// writes the same bytes; it was refused without --features, and a user had
// no way to repeat a translation of a model with dropout. Without --seed
// each call draws anew, as test.py; another seed draws other masks.
func TestTranslateSeedRepeats(t *testing.T) {
	base := t.TempDir()
	run := filepath.Join(base, "run") // its ResNet G has dropout (model.no_dropout false)
	mustTrain(t, smallPix2Pix(run, "train.max_steps=1")...)
	in := filepath.Join(base, "edges")
	os.MkdirAll(in, 0o755)
	for _, name := range []string{"a.png", "b.png"} {
		writeTestPNG(t, filepath.Join(in, name), 32, 32)
	}
	n := 0
	translate := func(extra ...string) string { // the outputs' bytes
		t.Helper()
		n++
		dir := filepath.Join(base, fmt.Sprint("out", n))
		args := append([]string{"translate", "--checkpoint", run, "--input", in, "--out", dir, "--device", "cpu"}, extra...)
		if out, err := gogan(t, args...); err != nil || !strings.Contains(out, "translated 2 images") {
			t.Fatalf("gogan %q: %v\n%s", args, err, out)
		}
		var all []byte
		for _, name := range []string{"a.png", "b.png"} {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, b...)
		}
		return string(all)
	}
	seeded := translate("--seed", "3")
	if again := translate("--seed", "3"); again != seeded {
		t.Errorf("translate --seed 3 twice wrote other bytes")
	}
	if translate("--seed", "4") == seeded {
		t.Errorf("translate --seed 4 wrote --seed 3's bytes: the seed does not reach the dropout")
	}
	if unseeded := translate(); unseeded == seeded || translate() == unseeded {
		t.Errorf("translate without --seed repeats a call's bytes: train mode's dropout should draw anew, as test.py")
	}
}

func TestPix2PixTrainsAndTranslates(t *testing.T) {
	base := t.TempDir()
	run := filepath.Join(base, "run")
	mustTrain(t, smallPix2Pix(run, "train.max_steps=12")...)
	if rows := lossRows(t, run); len(rows) != 13 || strings.Join(rows[0], ",") != "step,epoch,G_GAN,G_L1,D_real,D_fake,lr" {
		t.Errorf("metrics.csv: %d rows, header %v", len(rows), rows[0])
	}
	if b, _ := os.ReadFile(filepath.Join(run, "index.html")); !strings.Contains(string(b), "each row: real_A | fake_B | real_B") {
		t.Errorf("the report does not name the grid's columns")
	}
	// translate a folder of edge drawings (the run's own sample grid cut up
	// would do; plain PNGs of another size exercise the resize).
	in := filepath.Join(base, "edges")
	os.MkdirAll(in, 0o755)
	for _, name := range []string{"a.png", "b.png"} {
		writeTestPNG(t, filepath.Join(in, name), 40, 28)
	}
	outDir := filepath.Join(base, "out")
	for _, mode := range [][]string{nil, {"--eval"}} {
		args := append([]string{"translate", "--checkpoint", run, "--input", in, "--out", outDir, "--device", "cpu"}, mode...)
		if out, err := gogan(t, args...); err != nil || !strings.Contains(out, "translated 2 images") {
			t.Fatalf("translate %v: %v\n%s", mode, err, out)
		}
	}
	// --limit (test.py's --num_test): the first inputs, sorted; and
	// --preprocess none keeps the 40x28 input's size (a multiple of 4, as
	// the resnet_6blocks G takes)
	limited := filepath.Join(base, "limited")
	if out, err := gogan(t, "translate", "--checkpoint", run, "--input", in, "--out", limited, "--device", "cpu", "--limit", "1", "--preprocess", "none"); err != nil || !strings.Contains(out, "translated 1 image into") {
		t.Fatalf("translate --limit 1: %v\n%s", err, out)
	}
	if w, h := pngSize(t, filepath.Join(limited, "a.png")); w != 40 || h != 28 {
		t.Errorf("translate --preprocess none: a.png is %dx%d, want its 40x28", w, h)
	}
	if out, err := gogan(t, "translate", "--checkpoint", run, "--input", in, "--out", limited, "--limit", "-1"); err == nil || !strings.Contains(out, "--limit -1") {
		t.Errorf("translate --limit -1: %v\n%s", err, out)
	}
	// A GOGAN_ variable left in the shell does not change the checkpoint's
	// config (the crop it translates at).
	cmd := exec.Command(goganBin, "translate", "--checkpoint", run, "--input", in, "--out", outDir, "--device", "cpu")
	cmd.Env = append(os.Environ(), "GOGAN_DATA_CROP_SIZE=64", "GOGAN_DATA_LOAD_SIZE=72")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("translate with GOGAN_ variables set: %v\n%s", err, out)
	}
	for _, name := range []string{"a.png", "b.png"} {
		w, h := pngSize(t, filepath.Join(outDir, name))
		if w != 32 || h != 32 {
			t.Errorf("%s: %dx%d, want the training crop 32x32", name, w, h)
		}
	}
	if out, err := gogan(t, "sample", "--checkpoint", run, "--out", filepath.Join(base, "x.png")); err == nil || !strings.Contains(out, "translate") {
		t.Errorf("sample on a pix2pix run: %v\n%s", err, out)
	}

	// Nothing is lost: an output folder inside the inputs (whose a.png the
	// output would replace) and two inputs of one output name are refused
	// before anything is written.
	inA := filepath.Join(in, "a.png")
	before, _ := os.ReadFile(inA)
	for _, o := range []string{in, filepath.Join(in, "out")} {
		out, err := gogan(t, "translate", "--checkpoint", run, "--input", in, "--out", o, "--device", "cpu")
		if err == nil || !strings.Contains(out, "--out "+o+" is inside --input "+in) {
			t.Errorf("translate --out %s: %v\n%s", o, err, out)
		}
	}
	if after, _ := os.ReadFile(inA); !bytes.Equal(before, after) {
		t.Errorf("translate changed its input %s", inA)
	}
	if _, err := os.Stat(filepath.Join(in, "out")); err == nil {
		t.Errorf("a refused translate made its output folder")
	}
	os.MkdirAll(filepath.Join(in, "sub"), 0o755)
	writeTestPNG(t, filepath.Join(in, "sub", "a.png"), 40, 28)
	out, err := gogan(t, "translate", "--checkpoint", run, "--input", in, "--out", filepath.Join(base, "out2"), "--device", "cpu")
	if err == nil || !strings.Contains(out, inA+" and "+filepath.Join(in, "sub", "a.png")+" would both be written as "+filepath.Join(base, "out2", "a.png")) {
		t.Errorf("translate of two inputs named a: %v\n%s", err, out)
	}
	os.RemoveAll(filepath.Join(in, "sub"))
	// An unreadable input: refused with the flag that skips it, then skipped.
	os.WriteFile(filepath.Join(in, "c.jpg"), []byte("not a JPEG"), 0o644)
	out, err = gogan(t, "translate", "--checkpoint", run, "--input", in, "--out", filepath.Join(base, "out3"), "--device", "cpu")
	if err == nil || !strings.Contains(out, "c.jpg") || !strings.Contains(out, "set --skip-invalid to skip") {
		t.Errorf("translate of an unreadable input: %v\n%s", err, out)
	}
	out, err = gogan(t, "translate", "--checkpoint", run, "--input", in, "--out", filepath.Join(base, "out3"), "--device", "cpu", "--skip-invalid")
	if err != nil || !strings.Contains(out, "translated 2 images") || !strings.Contains(out, "skipping invalid files (--skip-invalid)") ||
		strings.Contains(out, "data.skip_invalid") {
		t.Errorf("translate --skip-invalid (its warning names the flag given, not the training setting): %v\n%s", err, out)
	}
	os.Remove(filepath.Join(in, "c.jpg"))
	// An input smaller than the ResNet G takes (sides of 8): refused by
	// name with what to do, or skipped; a --load-size below it up front.
	writeTestPNG(t, filepath.Join(in, "tiny.png"), 7, 5)
	out, err = gogan(t, "translate", "--checkpoint", run, "--input", in, "--out", filepath.Join(base, "out4"), "--device", "cpu", "--preprocess", "none")
	if err == nil || !strings.Contains(out, "tiny.png: 7x5 is translated at 8x4 (--preprocess none), but the generator takes sides of at least 8 pixels") ||
		!strings.Contains(out, "--skip-invalid skips such inputs") {
		t.Errorf("translate of a 7x5 input: %v\n%s", err, out)
	}
	out, err = gogan(t, "translate", "--checkpoint", run, "--input", in, "--out", filepath.Join(base, "out4"), "--device", "cpu", "--preprocess", "none", "--skip-invalid")
	if err != nil || !strings.Contains(out, "translated 2 images") {
		t.Errorf("translate --skip-invalid of a 7x5 input: %v\n%s", err, out)
	}
	out, err = gogan(t, "translate", "--checkpoint", run, "--input", in, "--out", filepath.Join(base, "out5"), "--device", "cpu", "--load-size", "4")
	if err == nil || !strings.Contains(out, "--load-size 4: the generator takes sides of at least 8 pixels") {
		t.Errorf("translate --load-size 4: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(base, "out5")); err == nil {
		t.Errorf("a refused translate made its output folder")
	}
	// a --load-size the generator does not take is rounded, and said so
	out, err = gogan(t, "translate", "--checkpoint", run, "--input", in, "--out", filepath.Join(base, "out6"), "--device", "cpu", "--load-size", "30", "--skip-invalid")
	if err != nil || !strings.Contains(out, "--load-size 30 is rounded to 32, the nearest multiple of 4 the generator takes") {
		t.Errorf("translate --load-size 30 of a ResNet G (multiples of 4): %v\n%s", err, out)
	}
	// Paths that are not what they should be: said so.
	aFile, killed, fifo := filepath.Join(base, "a-file.png"), filepath.Join(base, "killed"), filepath.Join(base, "fifo")
	writeTestPNG(t, aFile, 8, 8)
	os.WriteFile(filepath.Join(base, "x.txt"), []byte("notes, not an image"), 0o644)
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(killed, 0o755)
	os.WriteFile(filepath.Join(killed, "config.yaml"), []byte("recipe: pix2pix\n"), 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"translate", "--checkpoint", run, "--input", filepath.Join(base, "none"), "--out", outDir}, "--input " + filepath.Join(base, "none") + ": no such folder"},
		{[]string{"translate", "--checkpoint", run, "--input", filepath.Join(base, "x.txt"), "--out", outDir}, "--input: data: " + filepath.Join(base, "x.txt") + ": not a supported image"},
		{[]string{"translate", "--checkpoint", run, "--input", aFile, "--out", base}, "--out " + base + " would write the translation of " + aFile + " over it: give another folder"},
		{[]string{"translate", "--checkpoint", run, "--input", fifo, "--out", outDir}, "--input " + fifo + " is a named pipe (FIFO), not a folder: give a folder of images"},
		{[]string{"translate", "--checkpoint", run, "--input", in, "--out", aFile}, "--out " + aFile + " is a file: give a folder"},
		{[]string{"export", "--checkpoint", run, "--out", aFile}, "export: --out " + aFile + " is a file: give a folder"},
		{[]string{"translate", "--checkpoint", filepath.Join(base, "none"), "--input", in, "--out", outDir}, "checkpoint " + filepath.Join(base, "none") + ": no such folder"},
		{[]string{"translate", "--checkpoint", killed, "--input", in, "--out", outDir}, "the run folder has no checkpoint: the run ended before writing its first"},
	} {
		if out, err := gogan(t, c.args...); err == nil || !strings.Contains(out, c.want) {
			t.Errorf("%v: %v\n%s", c.args, err, out)
		}
	}

	// One image file as the input: its translation is the folder's, pixel
	// for pixel (eval mode: no dropout draws).
	folder, single := filepath.Join(base, "folder"), filepath.Join(base, "single")
	if out, err := gogan(t, "translate", "--checkpoint", run, "--input", in, "--out", folder, "--device", "cpu", "--eval"); err != nil {
		t.Fatalf("translate a folder: %v\n%s", err, out)
	}
	if out, err := gogan(t, "translate", "--checkpoint", run, "--input", filepath.Join(in, "a.png"), "--out", single, "--device", "cpu", "--eval"); err != nil || !strings.Contains(out, "translated 1 image") {
		t.Fatalf("translate one file: %v\n%s", err, out)
	}
	if a, b := readFile(t, filepath.Join(folder, "a.png")), readFile(t, filepath.Join(single, "a.png")); !bytes.Equal(a, b) || dirNamesOf(t, single)[0] != "a.png" || len(dirNamesOf(t, single)) != 1 {
		t.Errorf("one file's translation differs from the folder's, or more was written: %v", dirNamesOf(t, single))
	}
	// beside itself, under another ending, as a script in the image's folder would
	jpg := filepath.Join(base, "photo.jpg")
	var jb bytes.Buffer
	if err := jpeg.Encode(&jb, image.NewRGBA(image.Rect(0, 0, 40, 28)), nil); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(jpg, jb.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := gogan(t, "translate", "--checkpoint", run, "--input", jpg, "--out", base, "--device", "cpu"); err != nil || !strings.Contains(out, "translated 1 image") {
		t.Errorf("translate photo.jpg into its own folder: %v\n%s", err, out)
	} else if _, err := os.Stat(filepath.Join(base, "photo.png")); err != nil {
		t.Errorf("no photo.png beside photo.jpg: %v", err)
	}

	// SIGTERM stops between images: every file written is whole, none is
	// a temporary, and the message says how many of how many.
	// The first 20 inputs are too small and skipped: the message counts
	// the inputs gone through and the files written apart.
	many := filepath.Join(base, "many")
	os.MkdirAll(many, 0o755)
	for i := range 1500 {
		w, h := 40, 28
		if i < 20 {
			w, h = 7, 5
		}
		writeTestPNG(t, filepath.Join(many, fmt.Sprintf("%04d.png", i)), w, h)
	}
	stopped := filepath.Join(base, "stopped")
	cmd = exec.Command(goganBin, "translate", "--checkpoint", run, "--input", many, "--out", stopped, "--device", "cpu", "--preprocess", "none", "--skip-invalid")
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if ents, _ := os.ReadDir(stopped); len(ents) > 0 {
			break
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 143 {
		t.Fatalf("translate after SIGTERM: %v, want exit status 143\n%s", err, buf.String())
	}
	ents, _ := os.ReadDir(stopped)
	m := regexp.MustCompile(`stopped by SIGTERM after (\d+) of 1500 inputs; the (\d+) translations written are in ` + regexp.QuoteMeta(stopped)).FindStringSubmatch(buf.String())
	if m == nil || m[2] != fmt.Sprint(len(ents)) || m[1] != fmt.Sprint(len(ents)+20) || !strings.Contains(buf.String(), "stop requested: finishing the current image") {
		t.Errorf("%d files written after 20 skipped; the message:\n%s", len(ents), buf.String())
	}
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".png") || strings.HasPrefix(e.Name(), ".") {
			t.Errorf("left %s", e.Name())
		} else if w, h := pngSize(t, filepath.Join(stopped, e.Name())); w != 40 || h != 28 {
			t.Errorf("%s: %dx%d", e.Name(), w, h)
		}
	}
	// eval pix2pix stops as well, writing nothing: its 10,000 test pairs
	// take minutes.
	results := filepath.Join(base, "results")
	cmd = exec.Command(goganBin, "eval", "pix2pix", "--checkpoint", run, "--device", "cpu", "--out", results)
	buf.Reset()
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// SIGINT once the evaluation is under way (its results' temp folder
	// made): a fixed 2 s could come before gogan, starting on a loaded
	// machine, had its handler, and kill it.
	tmps := filepath.Join(base, ".results.tmp-*")
	signalWhen(t, cmd, &buf, "temp folder of results", func() bool {
		m, _ := filepath.Glob(tmps)
		return len(m) > 0
	}, syscall.SIGINT)
	if err := cmd.Wait(); !errors.As(err, &ee) || ee.ExitCode() != 130 || !strings.Contains(buf.String(), "eval pix2pix: stopped by SIGINT; nothing was written") {
		t.Errorf("eval pix2pix after SIGINT: %v, want exit status 130\n%s", err, buf.String())
	}
	if _, err := os.Stat(results); err == nil {
		t.Errorf("a stopped eval pix2pix left %s", results)
	}
	if m, _ := filepath.Glob(tmps); len(m) > 0 {
		t.Errorf("a stopped eval pix2pix left its temp folder %v", m)
	}
}

// TestEvalPix2PixOutTakenMeanwhile: two eval pix2pix started with one new
// --out both find it free; the one that puts its results in place first
// keeps them whole, and the other is refused with an error naming the
// folder and saying what happened, leaving no temp folder beside it. It
// used to say "rename .x.tmp-123 x: file exists".
func TestEvalPix2PixOutTakenMeanwhile(t *testing.T) {
	base := t.TempDir()
	run := filepath.Join(base, "run")
	mustTrain(t, smallPix2Pix(run, "data.max_samples=32", "train.max_steps=1")...)
	results := filepath.Join(base, "results")
	eval := func(limit string) *exec.Cmd {
		return exec.Command(goganBin, "eval", "pix2pix", "--checkpoint", run, "--device", "cpu", "--threads", "1", "--limit", limit, "--out", results)
	}
	// the long one (seconds of pairs; with 60, 1 s against the short one's
	// 0.6, it could finish first) starts first; the short one once the long
	// one's temp folder is there, and finishes first
	long := eval("400")
	var buf bytes.Buffer
	long.Stdout, long.Stderr = &buf, &buf
	if err := long.Start(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, long, &buf, "temp folder of results", func() bool {
		tmps, _ := filepath.Glob(filepath.Join(base, ".results.tmp-*"))
		return len(tmps) > 0
	})
	if out, err := eval("2").CombinedOutput(); err != nil {
		t.Fatalf("the short eval: %v\n%s", err, out)
	}
	want := "eval pix2pix: --out " + results + " was made by another process while this evaluation ran"
	if err := long.Wait(); err == nil || !strings.Contains(buf.String(), want) {
		t.Errorf("the long eval after the short one took --out: %v, want an error saying %q\n%s", err, want, buf.String())
	}
	// 2 pairs of real_A, fake_B (train and eval mode), real_B
	if ims, _ := filepath.Glob(filepath.Join(results, "images", "*.png")); len(ims) != 8 {
		t.Errorf("%s holds %d images, want the short eval's 8", results, len(ims))
	}
	if _, err := os.Stat(filepath.Join(results, "index.html")); err != nil {
		t.Error(err)
	}
	if names := dirNamesOf(t, base); !slices.Equal(names, []string{"results", "run"}) {
		t.Errorf("%s holds %v, want results and run alone", base, names)
	}
	// An --out below a file is named so, by eval and translate alike (they
	// said "open notes/ev: not a directory", "mkdir notes: not a directory").
	other := t.TempDir()
	notes, in := filepath.Join(other, "notes"), filepath.Join(other, "in")
	os.WriteFile(notes, []byte("x"), 0o644)
	os.Mkdir(in, 0o755)
	writeTestPNG(t, filepath.Join(in, "a.png"), 64, 64)
	for _, c := range []struct{ args []string }{
		{[]string{"eval", "pix2pix", "--checkpoint", run, "--device", "cpu", "--limit", "1", "--out", filepath.Join(notes, "ev")}},
		{[]string{"translate", "--checkpoint", run, "--device", "cpu", "--input", in, "--out", filepath.Join(notes, "tr")}},
	} {
		want := "--out " + filepath.Join(notes, filepath.Base(c.args[len(c.args)-1])) + ": " + notes + " is a file, not a folder"
		if out, err := gogan(t, c.args...); err == nil || !strings.Contains(out, want) {
			t.Errorf("gogan %s with --out below a file: %v, want %q\n%s", c.args[0], err, want, out)
		}
	}
}

// TestEvalPix2PixKilledLeavesNoTempFolder: eval pix2pix --out writes its
// results into a hidden temp folder beside --out; killed (SIGKILL, or a
// second Ctrl-C) it left that folder, and every later eval of the same
// --out made another beside it, each for ever. The next eval of that --out
// removes the temps of evaluations that are gone; one another eval still
// writes (which holds it locked) stays, as does any other folder.
func TestEvalPix2PixKilledLeavesNoTempFolder(t *testing.T) {
	base := t.TempDir()
	run := filepath.Join(base, "run")
	mustTrain(t, smallPix2Pix(run, "data.max_samples=32", "train.max_steps=1")...)
	results := filepath.Join(base, "results")
	eval := func(limit string) *exec.Cmd {
		return exec.Command(goganBin, "eval", "pix2pix", "--checkpoint", run, "--device", "cpu", "--threads", "1", "--limit", limit, "--out", results)
	}
	cmd := eval("400")
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tmps := filepath.Join(base, ".results.tmp-*")
	signalWhen(t, cmd, &buf, "temp folder of results", func() bool {
		m, _ := filepath.Glob(tmps)
		return len(m) > 0
	}, syscall.SIGKILL)
	cmd.Wait()
	killed, _ := filepath.Glob(tmps)
	if len(killed) != 1 {
		t.Fatalf("the killed eval left %v, want its one temp folder", killed)
	}
	// a temp folder whose eval is still writing it: locked by this test
	live := filepath.Join(base, ".results.tmp-77")
	os.Mkdir(live, 0o755)
	f, err := os.Open(live)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(base, ".results.tmp-old") // not a temp of gogan's
	os.Mkdir(other, 0o755)
	old := time.Now().Add(-time.Hour)
	for _, d := range []string{live, other} {
		os.Chtimes(d, old, old)
	}
	if out, err := eval("2").CombinedOutput(); err != nil {
		t.Fatalf("eval again after the kill: %v\n%s", err, out)
	} else if !strings.Contains(string(out), "removed the temp folder of an evaluation that was cut short") {
		t.Errorf("eval again does not say it removed the killed eval's temp folder:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(results, "index.html")); err != nil {
		t.Error(err)
	}
	if names := dirNamesOf(t, base); !slices.Equal(names, []string{".results.tmp-77", ".results.tmp-old", "results", "run"}) {
		t.Errorf("%s holds %v after the eval that followed the killed one, want its results and the folders it does not own", base, names)
	}
}

// TestDivergedRunStops: a loss that becomes infinite stops the run with a
// message naming it and the step, and no checkpoint of the bad step.
func TestDivergedRunStops(t *testing.T) {
	run := filepath.Join(t.TempDir(), "run")
	out, err := gogan(t, append([]string{"train"}, smallPix2Pix(run, "train.max_steps=50", "train.gan_mode=lsgan", "train.lr=1e30", "train.checkpoint_every=1")...)...)
	if err == nil {
		t.Fatalf("a run with lr 1e30 finished:\n%s", out)
	}
	if !strings.Contains(out, "training diverged") || !strings.Contains(out, "at step") || !strings.Contains(out, "last good checkpoint") {
		t.Errorf("message:\n%s", out)
	}
	cks, _ := filepath.Glob(filepath.Join(run, "checkpoints", "step-*"))
	t.Logf("%s", strings.TrimSpace(out[strings.LastIndex(out, "gogan:"):]))
	for _, c := range cks {
		st, err := os.ReadFile(filepath.Join(c, "state.json"))
		if err != nil || bytes.Contains(st, []byte("NaN")) || bytes.Contains(st, []byte("Inf")) {
			t.Errorf("checkpoint %s holds a non-finite state: %v", c, err)
		}
	}
	// DCGAN's vanilla loss is BCELoss after D's Sigmoid, which refuses a
	// NaN output inside the step, before there is a loss to check.
	run = filepath.Join(t.TempDir(), "dcgan")
	out, err = gogan(t, append([]string{"train"}, smallDCGAN(run, "train.max_steps=20", "train.lr=1e30", "train.checkpoint_every=1")...)...)
	if err == nil || !strings.Contains(out, "D's output is NaN or infinite at step") || !strings.Contains(out, "training diverged") || !strings.Contains(out, "last good checkpoint") {
		t.Errorf("DCGAN with lr 1e30: %v\n%s", err, out)
	}
	// infinite initial weights: the first step's losses, before any update
	run = filepath.Join(t.TempDir(), "init")
	out, err = gogan(t, append([]string{"train"}, smallDCGAN(run, "train.max_steps=2", "model.init_gain=1e300")...)...)
	if err == nil || !strings.Contains(out, "at step 1") || !strings.Contains(out, "training diverged at its first step") || !strings.Contains(out, "(model.init_type, model.init_gain)") {
		t.Errorf("DCGAN with init_gain 1e300: %v\n%s", err, out)
	}
}

// TestPix2PixFacades trains the reference config (unet_256, 70x70 PatchGAN,
// batch 1) for a few steps on the real CMP facades pairs in ../shared.
func TestPix2PixFacades(t *testing.T) {
	root := filepath.Join("..", "shared", "data", "facades")
	if _, err := os.Stat(filepath.Join(root, "train")); err != nil {
		t.Skipf("no facades pairs at %s (the shared data folder beside the clone): %v", root, err)
	}
	run := filepath.Join(t.TempDir(), "run")
	out, err := gogan(t, "train", "-c", "configs/pix2pix-facades.yaml", "--quiet", "--set", "out="+run,
		"--set", "data.root="+root, "--set", "train.max_steps=3", "--set", "train.log_every=1", "--set", "threads=2")
	if err != nil {
		t.Fatalf("train: %v\n%s", err, out)
	}
	rows := lossRows(t, run)
	if len(rows) != 4 {
		t.Fatalf("metrics.csv has %d rows:\n%s", len(rows), out)
	}
	w, h := pngSize(t, filepath.Join(run, "samples", "latest.png"))
	if w < 3*256 || h < 256 {
		t.Errorf("sample grid %dx%d, want rows of input | output | target at 256x256", w, h)
	}
	// The training pairs themselves, given to translate: translated whole,
	// with a word on how to run the pairs as test.py does.
	in := t.TempDir()
	for _, name := range []string{"1.jpg", "2.jpg"} {
		src, _ := filepath.Abs(filepath.Join(root, "train", name))
		os.Symlink(src, filepath.Join(in, name))
	}
	out, err = gogan(t, "translate", "--checkpoint", run, "--input", in, "--out", filepath.Join(t.TempDir(), "out"))
	if err != nil || !strings.Contains(out, "twice as wide as high, as the A|B pairs the run trained on") || strings.Count(out, "twice as wide") != 1 {
		t.Errorf("translate of the training pairs: %v\n%s", err, out)
	}
}

func TestNetsAndConfigCommands(t *testing.T) {
	out, err := gogan(t, "nets", "-c", "configs/pix2pix-facades.yaml")
	if err != nil {
		t.Fatalf("nets: %v\n%s", err, out)
	}
	// unet_256 with batch norm and dropout, and the 70x70 PatchGAN on 6 channels.
	for _, want := range []string{"parameters: 54,413,955", "parameters: 2,768,705", "model.model.0", "[1 1 30 30]"} {
		if !strings.Contains(out, want) {
			t.Errorf("gogan nets output lacks %q:\n%s", want, out)
		}
	}
	out, err = gogan(t, "config", "-c", "configs/pix2pix-maps.yaml", "--set", "data.batch_size=4")
	if err != nil || !strings.Contains(out, "batch_size: 4") || strings.Contains(out, "warning") {
		t.Errorf("config: %v\n%s", err, out)
	}
	if out, err := gogan(t, "--version"); err != nil || !regexp.MustCompile(`^gogan version \S+ \(libtorch [0-9]+\.[0-9]+\.[0-9]+, go[0-9.]+\)\n$`).MatchString(out) {
		t.Errorf("--version: %v %q", err, out)
	}
	// A key only CycleGAN reads, set for pix2pix, is named as ignored.
	out, err = gogan(t, "config", "-c", "configs/pix2pix-maps.yaml", "--set", "train.lambda_identity=0")
	if err != nil || !strings.Contains(out, "warning: recipe pix2pix does not read train.lambda_identity=0 (cyclegan)") {
		t.Errorf("config with another recipe's key: %v\n%s", err, out)
	}
	dataRoot := t.TempDir()
	os.MkdirAll(filepath.Join(dataRoot, "grid.png"), 0o755)
	// reference checkpoint folders: options without a model; epoch 15's files alone
	noModel, epochOnly := filepath.Join(dataRoot, "nomodel"), filepath.Join(dataRoot, "epoch15")
	for _, d := range []string{noModel, epochOnly} {
		os.MkdirAll(d, 0o755)
	}
	os.WriteFile(filepath.Join(noModel, "train_opt.txt"), nil, 0o644)
	os.WriteFile(filepath.Join(epochOnly, "train_opt.txt"), []byte("----------------- Options ---------------\n               model: pix2pix\n----------------- End -------------------\n"), 0o644)
	os.WriteFile(filepath.Join(epochOnly, "15_net_G.pth"), nil, 0o644)
	weightsFile := filepath.Join(dataRoot, "weights.safetensors")
	os.WriteFile(weightsFile, nil, 0o644)
	// pytorch/examples dcgan's --outf after 10 epochs: given where a run goes
	outf := filepath.Join(dataRoot, "outf")
	os.MkdirAll(outf, 0o755)
	for _, n := range []string{"netG_epoch_2.pth", "netD_epoch_2.pth", "netG_epoch_9.pth", "netD_epoch_9.pth", "real_samples.png"} {
		os.WriteFile(filepath.Join(outf, n), nil, 0o644)
	}
	mainPyImport := "(gogan import --config CONFIG --pth " + filepath.Join(outf, "netG_epoch_9.pth") + " --pth-d " + filepath.Join(outf, "netD_epoch_9.pth") + " --out RUN)"
	for _, c := range []struct {
		args []string
		env  string
		want string
	}{
		{[]string{"config", "--set", "train.epoch=3"}, "", "did you mean train.epochs?"},
		{[]string{"config", "--set", "data.batch_size=0"}, "", "data.batch_size"},
		// the data's rules, as train applies them
		{[]string{"config", "-c", "configs/pix2pix-facades.yaml", "--set", "data.serial_batches=true"}, "", "data.serial_batches: true: only applies to data.dataset=unaligned"},
		{[]string{"config"}, "GOGAN_MODEL_NETG=unet_300", "model.netG"},
		{[]string{"train", "-c", "configs/missing.yaml"}, "", "configs/missing.yaml"},
		{[]string{"resume", "/nonexistent/run"}, "", "not a gogan run folder"},
		{[]string{"sample", "--checkpoint", "/nonexistent/run"}, "", "/nonexistent/run"},
		{[]string{"sample", "--checkpoint", "/nonexistent/run", "--out", "grid.jpg"}, "", "--out grid.jpg: gogan writes the grid as a png file; give a file name ending in .png"},
		{[]string{"export", "--checkpoint", "/nonexistent/run", "--out", ""}, "", "--out is empty"},
		{[]string{"export", "--checkpoint", "/nonexistent/run", "--out", "x", "--label", " "}, "", "--label \" \" begins or ends with a space"},
		{[]string{"resume", "/nonexistent/run", "--set", "out=elsewhere"}, "", "a resumed run goes on in its own folder"},
		// 8 PB: past any address space, so refused whatever the overcommit policy
		{[]string{"train", "-c", "configs/cyclegan-fashion-mnist.yaml", "--set", "train.pool_size=1000000000000", "--set", "out=" + filepath.Join(dataRoot, "pool")}, "",
			"train.pool_size=1000000000000: the two image pools of 1000000000000 images of 32x32 take"},
		{[]string{"train", "-c", "configs/pix2pix-facades.yaml", "--set", "data.root=" + dataRoot, "--set", "out=" + filepath.Join(dataRoot, "train", "run")}, "",
			"is inside " + dataRoot + ", whose images are read as training data"},
		{[]string{"translate", "--checkpoint", "/nonexistent/run", "--input", "/nonexistent/in"}, "", "/nonexistent/run"},
		{[]string{"translate", "--checkpoint", "/nonexistent/run", "--input", "in", "--out", ""}, "", "--out is empty"},
		{[]string{"eval", "fid", "--checkpoint", "/nonexistent/run", "--samples", "0", "real"}, "", "--samples 0: want at least 1"},
		{[]string{"features", "--checkpoint", "/nonexistent/run", "--limit", "-1"}, "", "--limit -1: want at least 0"},
		// every --threads as features' and eval classifier's (it was libtorch's "thread count -1: must be at least 1")
		{[]string{"eval", "fid", "--threads", "-1", "a", "b"}, "", "--threads -1: want at least 0"},
		{[]string{"eval", "pix2pix", "--checkpoint", "/nonexistent/run", "--threads", "-1"}, "", "--threads -1: want at least 0"},
		{[]string{"eval", "classes", "--checkpoint", "/nonexistent/run", "--classifier", "c.safetensors", "--threads", "-1"}, "", "--threads -1: want at least 0"},
		{[]string{"sample", "--checkpoint", "/nonexistent/run", "--out", filepath.Join(dataRoot, "grid.png")}, "", "grid.png is a folder"},
		{[]string{"features", "--checkpoint", "/nonexistent/run", "--out", "settings.yaml"}, "", "--out settings.yaml: gogan writes the features as a safetensors file"},
		{[]string{"eval", "classifier", "--out", "settings.yaml"}, "", "--out settings.yaml: gogan writes the classifier as a safetensors file"},
		{[]string{"eval", "classifier", "--out", "c.safetensors", "--epochs", "0"}, "", "--epochs 0: want at least 1"},
		{[]string{"train", "-c", "configs/dcgan-fashion-mnist.yaml", "--set", "out=" + filepath.Join(weightsFile, "run")}, "", "out: run folder " + filepath.Join(weightsFile, "run") + ": " + weightsFile + " is a file, not a folder"},
		{[]string{"eval", "classifier", "--out", weightsFile}, "", "--out " + weightsFile + " exists (the FIDs measured on it compare only with FIDs on it): pass --force"},
		{[]string{"train", "--nproc", "100000"}, "", "--nproc 100000: more than 4 processes per core"},
		{[]string{"train", "--nproc", "2"}, "RANK=1", "--nproc 2, but this process is already rank 1 of a job"},
		{[]string{"eval", "classifier", "--out", "c.safetensors", "--lr", "nan"}, "", "--lr NaN: want a positive learning rate"},
		{[]string{"import", "--config", "configs/cyclegan-fashion-mnist.yaml", "--net", "G_A=a.pth", "--net", "G_A=b.pth"}, "", "network G_A is given twice (a.pth and b.pth)"},
		{[]string{"import", "--from", "/nonexistent/checkpoints/x"}, "", "import --from: stat /nonexistent/checkpoints/x: no such file or directory"},
		{[]string{"import", "--from", "go.mod"}, "", "import --from go.mod: not a folder"},
		{[]string{"sample", "--checkpoint", weightsFile}, "", "checkpoint " + weightsFile + " is a checkpoint's weights file: give its checkpoint folder"},
		{[]string{"translate", "--checkpoint", filepath.Join(epochOnly, "15_net_G.pth"), "--input", "in"}, "", "is a PyTorch file (import it first"},
		{[]string{"resume", outf}, "", "resume " + outf + ": " + outf + " holds pytorch/examples dcgan's networks (netG_epoch_9.pth, its newest epoch's), not a gogan run folder: import them first " + mainPyImport + ", then gogan resume RUN trains on"},
		{[]string{"resume", filepath.Join(outf, "netD_epoch_9.pth")}, "", "netD_epoch_9.pth is a PyTorch file of pytorch/examples dcgan's main.py, not a gogan run folder: import it first " + mainPyImport},
		{[]string{"sample", "--checkpoint", outf}, "", "checkpoint " + outf + " holds pytorch/examples dcgan's networks (netG_epoch_9.pth, its newest epoch's), not a gogan checkpoint: import them first " + mainPyImport + " and give RUN"},
		{[]string{"import", "--from", outf}, "", "no options file: main.py writes none; import them with --pth and --pth-d instead " + mainPyImport},
		// a folder of no run: said, not an empty table and success
		{[]string{"runs", noModel}, "", "runs: no run folders (folders with the config.yaml a gogan run writes) in " + noModel},
		{[]string{"import", "--from", noModel, "--out", filepath.Join(dataRoot, "imp1")}, "", "train_opt.txt: no model in it: not the options file train.py writes"},
		{[]string{"import", "--from", epochOnly, "--out", filepath.Join(dataRoot, "imp2")}, "", "no latest_net_G.pth, network G's file (--label picks another epoch's; the folder has 15)"},
	} {
		cmd := exec.Command(goganBin, c.args...)
		if c.env != "" {
			cmd.Env = append(os.Environ(), c.env)
		}
		b, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(b), c.want) {
			t.Errorf("gogan %v (%s): %v, output lacks %q:\n%s", c.args, c.env, err, c.want, b)
		}
	}
}

// TestConfigPrintsWhatARunUses: gogan config prints the effective config
// alone on stdout, with the file < GOGAN_ variable < --set precedence a run
// has, so that `gogan config ... > x.yaml` is a config of the same run
// (printed from it again: the same bytes); its warning of keys the recipe
// does not read goes to stderr, not into that file.
func TestConfigPrintsWhatARunUses(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "my.yaml")
	if err := os.WriteFile(file, []byte("recipe: pix2pix\nseed: 7\ndata:\n  batch_size: 8\ntrain:\n  lr: 0.0001\n  lambda_identity: 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(env []string, args ...string) (stdout, stderr string) {
		t.Helper()
		cmd := exec.Command(goganBin, append([]string{"config"}, args...)...)
		cmd.Env = append(os.Environ(), env...)
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		if err := cmd.Run(); err != nil {
			t.Fatalf("gogan config %v: %v\n%s%s", args, err, o.String(), e.String())
		}
		return o.String(), e.String()
	}
	out, stderr := run([]string{"GOGAN_DATA_BATCH_SIZE=16", "GOGAN_TRAIN_LR=0.0003"}, "-c", file, "--set", "data.batch_size=4")
	const warning = "warning: recipe pix2pix does not read train.lambda_identity=0 (cyclegan)"
	if !strings.Contains(stderr, warning) || strings.Contains(out, "warning") {
		t.Errorf("want the warning %q on stderr alone:\nstdout:\n%s\nstderr:\n%s", warning, out, stderr)
	}
	c, err := config.ParseYAML("gogan config's stdout", []byte(out))
	if err != nil {
		t.Fatalf("gogan config's stdout is not a config: %v\n%s", err, out)
	}
	if c.Recipe != "pix2pix" || c.Seed != 7 || c.Data.BatchSize != 4 || c.Train.LR != 0.0003 || c.Model.NetG != "unet_256" {
		t.Errorf("printed recipe %s, seed %d, data.batch_size %d, train.lr %g, model.netG %s; want pix2pix, 7 (file), 4 (--set over env), 0.0003 (env over file), unet_256 (pix2pix's default)",
			c.Recipe, c.Seed, c.Data.BatchSize, c.Train.LR, c.Model.NetG)
	}
	saved := filepath.Join(dir, "effective.yaml")
	if err := os.WriteFile(saved, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	if again, _ := run(nil, "-c", saved); again != out {
		t.Errorf("gogan config -c of its own output prints another config:\n%s\nwant:\n%s", again, out)
	}
}

// TestFlagsThatWouldDoNothingAreRefused: a count flag that leaves nothing
// to do, and a flag the command's other flags make meaningless, is refused
// naming it, with a failing status: train --nproc 0 exited 0 having trained
// nothing (no rank launched), bench --steps 0 had no timed step to divide
// by, import --label without --from was ignored, and so would be translate
// --seed with --eval and no --features (nothing draws).
func TestFlagsThatWouldDoNothingAreRefused(t *testing.T) {
	run := filepath.Join(t.TempDir(), "run")
	for _, c := range []struct {
		args []string
		want string
	}{
		{append([]string{"train", "--nproc", "0"}, smallDCGAN(run, "train.max_steps=1")...), "--nproc 0: give the number of processes, 1 or more"},
		{[]string{"bench", "--steps", "0"}, "bench: --steps 0, --warmup 3: need at least one timed step"},
		{[]string{"bench", "--warmup", "-1"}, "bench: --steps 20, --warmup -1: need at least one timed step and no negative warmup"},
		{[]string{"import", "--pth", "netG_epoch_3.pth", "--label", "3"}, "import: --label picks the files of --from; with --pth and --net name the files"},
		{[]string{"translate", "--checkpoint", run, "--input", run, "--eval", "--seed", "3"}, "--seed 3 seeds train mode's dropout and the cluster draws of --features; with --eval and no --features it would change nothing"},
	} {
		out, err := gogan(t, c.args...)
		if err == nil || !strings.HasPrefix(out, "gogan: ") || !strings.Contains(out, c.want) {
			t.Errorf("gogan %q: %v, want a refusal saying %q\n%s", c.args, err, c.want, out)
		}
	}
	if _, err := os.Stat(run); !os.IsNotExist(err) {
		t.Errorf("train --nproc 0 made %s (%v)", run, err)
	}
}

// TestHelpNamesWhatTheCommandsTake: the --help texts name what the README
// documents: serve's page for every image-to-image recipe and its GET
// /example, translate's colorization, runs' columns in their order (state
// last); serve's --device and --threads in every command's words; where
// train and resume write.
func TestHelpNamesWhatTheCommandsTake(t *testing.T) {
	for _, c := range []struct {
		cmd  string
		want []string
	}{
		{"", []string{"drawing page (pix2pix, colorization, CycleGAN, pix2pixHD)", "pix2pix, colorization, CycleGAN or pix2pixHD generator",
			"newest valid checkpoint, last losses, running or how it stopped"}},
		// --device and --threads in the same words on every command
		// (serve's said "; 0 = all cores"), every device the flag takes
		{"serve", []string{"GET  /example?i=N", "--device string         auto, cpu, cuda or cuda:N", "--threads int           libtorch CPU threads (0: all cores)"}},
		{"translate", []string{"pix2pix, colorization, CycleGAN or pix2pixHD generator"}},
		{"train", []string{"The run folder is the config's out (--set out=DIR)"}},
		{"resume", []string{"It writes into RUN_DIR"}},
	} {
		args := []string{"--help"}
		if c.cmd != "" {
			args = []string{c.cmd, "--help"}
		}
		out, err := gogan(t, args...)
		if err != nil {
			t.Fatalf("gogan %s --help: %v\n%s", c.cmd, err, out)
		}
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("gogan %s --help lacks %q:\n%s", c.cmd, w, out)
			}
		}
	}
}

// TestArgumentsAreNamedTheirFlag: a config, run or folder given as an
// argument is refused with the flag that takes it, not cobra's "unknown
// command"; a folder is not named serve's --input, which takes what its
// page draws (auto, labels, sketch or image).
func TestArgumentsAreNamedTheirFlag(t *testing.T) {
	run, input := t.TempDir(), t.TempDir()
	spaced := filepath.Join(t.TempDir(), "my run") // its resume command quotes it
	for _, r := range []string{run, spaced} {
		os.MkdirAll(r, 0o755)
		if err := os.WriteFile(filepath.Join(r, "config.yaml"), []byte("recipe: pix2pix\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"train", "configs/pix2pix-facades.yaml"}, "train takes no arguments, got \"configs/pix2pix-facades.yaml\": give it with -c, as in gogan train -c configs/pix2pix-facades.yaml"},
		{[]string{"nets", "my.yml"}, "give it with -c, as in gogan nets -c my.yml"},
		{[]string{"sample", run}, "give it with --checkpoint, as in gogan sample --checkpoint " + run},
		{[]string{"translate", run}, "give it with --checkpoint, as in gogan translate --checkpoint " + run},
		{[]string{"translate", input}, "give it with --input, as in gogan translate --input " + input},
		{[]string{"serve", input}, "serve takes no arguments, got \"" + input + "\": everything it takes is a flag (see gogan serve --help)"},
		{[]string{"eval", "pix2pix", input}, "eval pix2pix takes no arguments, got \"" + input + "\": everything it takes is a flag (see gogan eval pix2pix --help)"},
		{[]string{"import", input}, "give it with --from, as in gogan import --from " + input},
		{[]string{"import", "netG_epoch_24.pth"}, "give it with --pth, as in gogan import --pth netG_epoch_24.pth"},
		{[]string{"train", run}, "train takes no arguments, got \"" + run + "\", a run folder: to continue it, gogan resume " + run},
		{[]string{"train", spaced}, "a run folder: to continue it, gogan resume '" + spaced + "'"},
		{[]string{"train", "train.max_steps=5"}, "give it with --set, as in gogan train --set train.max_steps=5"},
		{[]string{"resume"}, "resume takes the run folder to continue, as in gogan resume runs/NAME"},
		{[]string{"resume", run, "train.max_steps=5"}, "resume takes one run folder, got 2 arguments"},
		// cobra's "accepts at most 1 arg(s), received 2" named neither command nor what it takes
		{[]string{"runs", run, input}, "runs takes one folder, DIR (default runs), got 2 arguments"},
		{[]string{"eval", "fid", input, input, input}, "eval fid: give two sets, each a folder of images or a .npz of statistics (pytorch-fid's), or --checkpoint and one set (got 3: "},
		{[]string{"eval", "fid", "--checkpoint", run, input, input}, "eval fid: --checkpoint's samples are one set: give one other, a folder of real images or their .npz statistics (got 2: "},
	} {
		out, err := gogan(t, c.args...)
		if err == nil || !strings.HasPrefix(out, "gogan: ") || !strings.Contains(out, c.want) {
			t.Errorf("gogan %q: %v\n%s\nwant %q", c.args, err, out, c.want)
		}
	}
}

// TestUnknownSubcommandIsRefused: a word after eval or completion that is
// none of their commands fails naming them (cobra printed the help and
// exited 0, so a script's misspelt "gogan eval fdi" passed), a flag of the
// meant command after it too; eval alone still prints its help.
func TestUnknownSubcommandIsRefused(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"eval", "fdi"}, `gogan: eval: unknown command "fdi" (did you mean fid?): it takes one of classes, classifier, fid, pix2pix (see gogan eval --help)`},
		{[]string{"eval", "pix2pixhd", "--checkpoint", "runs/x"}, `gogan: eval: unknown command "pix2pixhd" (did you mean pix2pix?)`},
		{[]string{"completion", "bsh"}, `gogan: completion: unknown command "bsh" (did you mean bash or fish or zsh?): it takes one of bash, fish, powershell, zsh`},
	} {
		out, err := gogan(t, c.args...)
		if err == nil || !strings.HasPrefix(out, c.want) {
			t.Errorf("gogan %q: %v\n%s\nwant %q", c.args, err, out, c.want)
		}
	}
	if out, err := gogan(t, "eval"); err != nil || !strings.Contains(out, "Available Commands:") {
		t.Errorf("gogan eval: %v, want its help\n%s", err, out)
	}
}

// TestTorchrunFlagsAreAnswered: torchrun's flags given to train or resume
// (a torchrun user's first try) are refused saying what gogan takes
// instead, not with cobra's bare "unknown flag"; other commands and other
// unknown flags keep it.
func TestTorchrunFlagsAreAnswered(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"train", "--nproc-per-node", "2"}, "unknown flag: --nproc-per-node: gogan's is --nproc N"},
		{[]string{"train", "--nproc_per_node=2"}, "unknown flag: --nproc_per_node: gogan's is --nproc N"},
		{[]string{"train", "--nnodes", "2"}, "a job of several machines runs under torchrun: torchrun --nnodes 2 --node-rank R"},
		{[]string{"resume", "runs/x", "--master-port", "29500"}, "--no-python " + goganBin + " resume ..."},
		{[]string{"train", "--max-restarts", "3"}, "gogan's --nproc does not restart a failed job: run it under torchrun"},
		{[]string{"train", "--rdzv-endpoint=host:29400"}, "unknown flag: --rdzv-endpoint: that is torchrun's; gogan's --nproc N starts the ranks of one machine"},
		{[]string{"train", "--rdzv_backend", "c10d"}, "unknown flag: --rdzv_backend: that is torchrun's"},
		{[]string{"resume", "runs/x", "--standalone"}, "unknown flag: --standalone: that is torchrun's"},
	} {
		out, err := gogan(t, c.args...)
		if err == nil || !strings.HasPrefix(out, "gogan: ") || !strings.Contains(out, c.want) {
			t.Errorf("gogan %q: %v\n%s\nwant %q", c.args, err, out, c.want)
		}
	}
	for _, args := range [][]string{{"train", "--bogus"}, {"sample", "--nnodes", "2"}} {
		if out, _ := gogan(t, args...); out != "gogan: unknown flag: "+args[1]+"\n" {
			t.Errorf("gogan %q: %q, want cobra's unknown flag alone", args, out)
		}
	}
}

// TestReferenceFlagsAreAnswered: a main.py user's first `gogan train
// --dataset cifar10 --dataroot ...` is refused naming the key each flag is
// here and how gogan takes keys, not with cobra's bare "unknown flag"; a
// command without --set keeps it. test.py's flags given to translate are
// answered with what it does instead, and those of no key given to train
// with what gogan does.
func TestReferenceFlagsAreAnswered(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"train", "--dataset", "cifar10"}, "unknown flag: --dataset; pytorch/examples dcgan's --dataset is data.dataset here (gogan train takes keys as --set KEY=VALUE)"},
		{[]string{"train", "--imageSize=32"}, "pytorch/examples dcgan's --imageSize is data.image_size here"},
		{[]string{"train", "--accel"}, "pytorch/examples dcgan's --accel is device here"}, // today's main.py's, for its --cuda and --mps
		{[]string{"train", "--dry-run"}, "pytorch/examples dcgan's --dry-run has no key here: train.max_steps=1 trains one step"},
		{[]string{"resume", "runs/x", "--niter", "3"}, "pytorch/examples dcgan's --niter and pix2pixHD's --niter are train.epochs here (gogan resume takes keys"},
		// train.py's model and its models' options (cobra's bare "unknown flag" before)
		{[]string{"train", "--model", "pix2pix"}, "unknown flag: --model; pytorch-CycleGAN-and-pix2pix's --model and pix2pixHD's --model are recipe here"},
		{[]string{"train", "--lambda_identity", "0"}, "unknown flag: --lambda_identity; pytorch-CycleGAN-and-pix2pix's --lambda_identity is train.lambda_identity here (gogan train takes keys"},
		{[]string{"train", "--serial_batches"}, "its opposite: --serial_batches is data.shuffle=false"},
		// test.py's flags of its outputs, pages and printing (bare "unknown flag" before)
		{[]string{"train", "--eval"}, "unknown flag: --eval; pytorch-CycleGAN-and-pix2pix's --eval has no key here: test.py's --eval runs the generator in eval mode (BatchNorm's running statistics, no dropout): gogan translate --eval, serve --eval and eval pix2pix --mode eval do"},
		{[]string{"train", "--no_html"}, "--no_html has no key here: gogan always writes a run's page, RUN/index.html"},
		{[]string{"train", "--display_winsize", "512"}, "--display_winsize has no key here: a run's page, RUN/index.html, shows each grid at its own size"},
		{[]string{"train", "--suffix", "{model}"}, "--suffix is out here, the folder --name names, there extended with _SUFFIX: give the whole folder, --set out=checkpoints/NAME_SUFFIX"},
		{[]string{"train", "--verbose"}, "--verbose has no key here: it prints each network's layers; gogan nets -c CONFIG prints them"},
		{[]string{"translate", "--aspect_ratio", "2"}, "unknown flag: --aspect_ratio: test.py's --aspect_ratio stretches each output it saves to that height:width ratio; gogan translate stretches none: for outputs of the inputs' own shape, translate them at it with --preprocess scale_width (width --load-size) or --preprocess none"},
		{[]string{"translate", "--display_winsize", "512"}, "unknown flag: --display_winsize: the references' --display_winsize is the width their HTML pages show images at; gogan translate writes PNG files alone, no page"},
		{[]string{"translate", "--no_html"}, "unknown flag: --no_html: train.py's --no_html keeps its training results off its HTML page; gogan translate writes PNG files alone, no page"},
		{[]string{"eval", "pix2pix", "--no_html"}, "gogan eval pix2pix writes a page only given --out DIR"},
		{[]string{"translate", "--suffix", "x"}, "unknown flag: --suffix: the references' --suffix extends --name, the folder of the saved networks; gogan translate takes --checkpoint RUN"},
		{[]string{"translate", "--verbose"}, "unknown flag: --verbose: the references' --verbose prints each network's layers; gogan nets -c RUN/config.yaml prints a run's"},
	} {
		out, err := gogan(t, c.args...)
		if err == nil || !strings.HasPrefix(out, "gogan: ") || !strings.Contains(out, c.want) {
			t.Errorf("gogan %q: %v\n%s\nwant %q", c.args, err, out, c.want)
		}
	}
	if out, _ := gogan(t, "sample", "--dataset", "x"); out != "gogan: unknown flag: --dataset\n" {
		t.Errorf("gogan sample --dataset: %q, want cobra's unknown flag alone", out)
	}
}

// TestSampleGridOfMixedSizes: with data.preprocess=none, images of several
// sizes train one to a batch; the sample grid takes those of the first's
// size (it panicked building one tensor of them all).
func TestSampleGridOfMixedSizes(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "ab")
	os.MkdirAll(filepath.Join(root, "train"), 0o755)
	for i, w := range []int{64, 96, 64, 128} {
		writeTestPNG(t, filepath.Join(root, "train", fmt.Sprintf("%d.png", i)), w, w/2)
	}
	for _, c := range []struct{ config, netG string }{{"configs/pix2pix-facades.yaml", "resnet_6blocks"}, {"configs/cyclegan-facades.yaml", "resnet_6blocks"}} {
		run := filepath.Join(base, filepath.Base(c.config))
		out, err := gogan(t, "train", "-c", c.config, "--quiet", "--set", "out="+run, "--set", "data.root="+root, "--set", "data.preprocess=none",
			"--set", "model.netG="+c.netG, "--set", "model.ngf=4", "--set", "model.ndf=4", "--set", "train.max_steps=2", "--set", "train.pool_size=0",
			"--set", "threads=2", "--set", "data.workers=0")
		if err != nil {
			t.Fatalf("%s with images of three sizes: %v\n%s", c.config, err, out)
		}
		if _, err := os.Stat(filepath.Join(run, "samples", "latest.png")); err != nil {
			t.Errorf("%s: no sample grid: %v", c.config, err)
		}
	}
	// An image too small for the networks (the 70x70 PatchGAN takes 24
	// pixels), or of sides the generator cannot halve down to 1 (preprocess
	// none rounds them to multiples of 4, as the reference's), is refused
	// before its step, by name (libtorch's conv2d error before).
	for _, c := range []struct {
		netG string
		w, h int
		want string
	}{{"resnet_6blocks", 40, 20, "network D (basic) takes at least 24x24"}, {"unet_128", 272, 136, "network G (unet_128) takes sides that are multiples of 128"}} {
		root := filepath.Join(base, fmt.Sprint("odd", c.w))
		os.MkdirAll(filepath.Join(root, "train"), 0o755)
		writeTestPNG(t, filepath.Join(root, "train", "a.png"), 256, 128)
		writeTestPNG(t, filepath.Join(root, "train", "odd.png"), c.w, c.h)
		out, err := gogan(t, "train", "-c", "configs/pix2pix-facades.yaml", "--quiet", "--set", "out="+filepath.Join(root, "run"),
			"--set", "data.root="+root, "--set", "data.preprocess=none", "--set", "model.netG="+c.netG, "--set", "model.ngf=4",
			"--set", "model.ndf=4", "--set", "train.max_steps=4", "--set", "threads=2", "--set", "data.workers=0")
		// found when the data open, before any step trains
		want := fmt.Sprintf("odd.png is %dx%d after data.preprocess=none, but %s", c.w/2, c.h, c.want)
		if err == nil || !strings.Contains(out, want) {
			t.Errorf("an image of %dx%d: %v, want an error saying %q\n%s", c.w/2, c.h, err, want, out)
		}
		if _, err := os.Stat(filepath.Join(root, "run")); !os.IsNotExist(err) {
			t.Errorf("an image of %dx%d: the run started (its folder is there: %v)", c.w/2, c.h, err)
		}
	}
}

// TestNewRunLeavesOtherFilesAlone: train (and import) into a folder that
// is no run's but holds files of the names a run writes (the experiment's
// own config.yaml, passed with --config; someone's index.html) is refused
// before anything is written there; a folder of other files is a run's
// parent as any other.
func TestNewRunLeavesOtherFilesAlone(t *testing.T) {
	dir := t.TempDir()
	cfgText := "# my experiment: keep these comments\nrecipe: dcgan\ndata:\n  max_samples: 96\ntrain:\n  max_steps: 1\n"
	files := map[string]string{"config.yaml": cfgText, "index.html": "<h1>mine</h1>\n", "notes.txt": "x\n"}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, err := gogan(t, "train", "--config", filepath.Join(dir, "config.yaml"), "--quiet", "--set", "out="+dir, "--set", "model.ngf=8", "--set", "model.ndf=8")
	if err == nil || !strings.Contains(out, "out "+dir+" is not a gogan run folder, and a run would write over its config.yaml, index.html") {
		t.Fatalf("train into a folder of other files: %v\n%s", err, out)
	}
	out, err = gogan(t, "import", "--config", "configs/dcgan-fashion-mnist.yaml", "--pth", filepath.Join(dir, "missing.pth"), "--out", dir)
	if err == nil || !strings.Contains(out, "is not a gogan run folder") {
		t.Fatalf("import into a folder of other files: %v\n%s", err, out)
	}
	if got := dirNamesOf(t, dir); strings.Join(got, " ") != "config.yaml index.html notes.txt" {
		t.Errorf("the refused commands left %v", got)
	}
	for name, text := range files {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(b) != text {
			t.Errorf("%s after the refused train: %v %q", name, err, b)
		}
	}
	// Another tool's checkpoints/ folder: refused too (a run prunes its
	// checkpoints' folders); an empty samples/ is nobody's.
	other := t.TempDir()
	os.MkdirAll(filepath.Join(other, "checkpoints"), 0o755)
	os.WriteFile(filepath.Join(other, "checkpoints", "model.ckpt"), []byte("x"), 0o644)
	os.Mkdir(filepath.Join(other, "samples"), 0o755)
	out, err = gogan(t, append([]string{"train"}, smallDCGAN(other, "train.max_steps=1")...)...)
	if err == nil || !strings.Contains(out, "a run would write over its checkpoints/:") {
		t.Fatalf("train into a folder of another tool's checkpoints/: %v\n%s", err, out)
	}
	// Only notes.txt of a run's names: a run may go there.
	os.Remove(filepath.Join(dir, "index.html"))
	os.Rename(filepath.Join(dir, "config.yaml"), filepath.Join(dir, "my.yaml"))
	if out, err := gogan(t, append([]string{"train"}, smallDCGAN(dir, "train.max_steps=1", "data.max_samples=96")...)...); err != nil {
		t.Fatalf("train into a folder of a notes.txt: %v\n%s", err, out)
	}
}

// TestRelativeDataRootStaysTheRuns: a run trained with a relative
// data.root keeps it absolute, so a resume from another working folder,
// one that holds another folder of that name, reads the run's data.
func TestRelativeDataRootStaysTheRuns(t *testing.T) {
	work, elsewhere := t.TempDir(), t.TempDir()
	if err := os.Symlink("/usr/share/datasets/fashion-mnist", filepath.Join(work, "fm")); err != nil {
		t.Fatal(err)
	}
	os.Mkdir(filepath.Join(elsewhere, "fm"), 0o755) // no IDX files
	cfgPath, _ := filepath.Abs("configs/dcgan-fashion-mnist.yaml")
	run := filepath.Join(t.TempDir(), "run")
	in := func(dir string, args ...string) string {
		t.Helper()
		cmd := exec.Command(goganBin, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("gogan %v in %s: %v\n%s", args, dir, err, out)
		}
		return string(out)
	}
	args := smallDCGAN(run, "data.root=fm", "train.max_steps=2", "data.max_samples=96")
	args[1] = cfgPath
	in(work, append([]string{"train"}, args...)...)
	if b, err := os.ReadFile(filepath.Join(run, "config.yaml")); err != nil || !strings.Contains(string(b), "root: "+filepath.Join(work, "fm")+"\n") {
		t.Fatalf("config.yaml of a run trained with data.root=fm in %s: %v\n%s", work, err, b)
	}
	in(elsewhere, "resume", run, "--quiet", "--set", "train.max_steps=3")
	if rows := lossRows(t, run); rows[len(rows)-1][0] != "3" {
		t.Errorf("resumed from another folder: last row %v", rows[len(rows)-1])
	}
}

// TestSignalWhileStarting: SIGINT while a new run decodes its data, or
// SIGTERM while it builds its networks (after the data: a DCGAN of 180M
// parameters), stops it before its first step with a message and status
// 130 / 143, and the run folder it made is gone, as after any failed start.
func TestSignalWhileStarting(t *testing.T) {
	src, err := filepath.Abs(filepath.Join("..", "shared", "data", "facades", "train"))
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	for copy := range 3 { // 1200 images to decode: seconds
		dir := filepath.Join(root, strconv.Itoa(copy))
		os.Mkdir(dir, 0o755)
		for i := 1; i <= 400; i++ {
			name := strconv.Itoa(i) + ".jpg"
			if err := os.Symlink(filepath.Join(src, name), filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, c := range []struct {
		sig  syscall.Signal
		code int
		name string
		args []string
	}{
		{syscall.SIGINT, 130, "SIGINT", []string{"--config", "configs/dcgan-folder.yaml", "--set", "data.root=" + root, "--set", "data.in_memory=true",
			"--set", "data.workers=1", "--set", "data.image_size=32", "--set", "model.ngf=8", "--set", "model.ndf=8"}},
		{syscall.SIGTERM, 143, "SIGTERM", []string{"--set", "data.max_samples=64", "--set", "model.ngf=512"}},
	} {
		run := filepath.Join(t.TempDir(), "run")
		cmd := exec.Command(goganBin, append([]string{"train", "--quiet", "--set", "out=" + run, "--set", "train.max_steps=2"}, c.args...)...)
		var buf bytes.Buffer
		cmd.Stdout, cmd.Stderr = &buf, &buf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// once the start holds the folder: the signal is the run's
		signalWhen(t, cmd, &buf, "run folder", func() bool {
			_, err := os.Stat(filepath.Join(run, runfolder.LockFile))
			return err == nil
		}, c.sig)
		err = cmd.Wait()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != c.code || !strings.Contains(buf.String(), "stopped by "+c.name+" before the first step, nothing trained") ||
			!strings.Contains(buf.String(), "stop requested while the run starts") {
			t.Fatalf("%v while the run starts: %v\n%s", c.sig, err, buf.String())
		}
		if _, err := os.Stat(run); !os.IsNotExist(err) {
			t.Errorf("%v: the stopped start left its run folder: %v", c.sig, err)
		}
	}
}

// TestNoValidCheckpointSaysWhatToDo: a run whose every checkpoint is
// damaged cannot be resumed, and train will not start over it unasked:
// both say to move the checkpoints aside, and after that train starts it
// again.
func TestNoValidCheckpointSaysWhatToDo(t *testing.T) {
	run := filepath.Join(t.TempDir(), "run")
	args := append([]string{"train"}, smallDCGAN(run, "train.max_steps=2", "data.max_samples=96")...)
	if out, err := gogan(t, args...); err != nil {
		t.Fatalf("train: %v\n%s", err, out)
	}
	ckpts := filepath.Join(run, "checkpoints")
	for _, name := range dirNamesOf(t, ckpts) {
		if err := os.WriteFile(filepath.Join(ckpts, name, "state.json"), []byte("{"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, err := gogan(t, "resume", run, "--set", "train.max_steps=3")
	if err == nil || !strings.Contains(out, "checkpoints, none valid") || !strings.Contains(out, "move "+ckpts+" aside") {
		t.Fatalf("resume of a run of damaged checkpoints: %v\n%s", err, out)
	}
	out, err = gogan(t, args...)
	if err == nil || !strings.Contains(out, "none of them valid") || !strings.Contains(out, "move "+ckpts+" aside") {
		t.Fatalf("train into a run of damaged checkpoints: %v\n%s", err, out)
	}
	if err := os.Rename(ckpts, ckpts+"-damaged"); err != nil {
		t.Fatal(err)
	}
	if out, err := gogan(t, args...); err != nil {
		t.Fatalf("train after the checkpoints were moved aside: %v\n%s", err, out)
	}
}

// TestResumeWithoutCheckpointSaysTrain: a run folder without any
// checkpoint (stopped by a second signal, or killed, before its first) has
// nothing to resume: resume says so and that train starts it again, not to
// move a checkpoints folder aside that is not there; train then does.
func TestResumeWithoutCheckpointSaysTrain(t *testing.T) {
	run := filepath.Join(t.TempDir(), "run")
	args := append([]string{"train"}, smallDCGAN(run, "train.max_steps=2", "data.max_samples=96")...)
	if out, err := gogan(t, args...); err != nil {
		t.Fatalf("train: %v\n%s", err, out)
	}
	if err := os.RemoveAll(filepath.Join(run, "checkpoints")); err != nil {
		t.Fatal(err)
	}
	out, err := gogan(t, "resume", run)
	if err == nil || !strings.Contains(out, "the run wrote none before it stopped") || !strings.Contains(out, "run gogan train with its config and out again") ||
		strings.Contains(out, "aside") {
		t.Fatalf("resume of a run without checkpoints: %v\n%s", err, out)
	}
	if out, err := gogan(t, args...); err != nil {
		t.Fatalf("train again into the run without checkpoints: %v\n%s", err, out)
	}
}

// TestUnreadableCheckpointIsNotSkipped: a checkpoint this user may not
// read (its files left 0600 by root's copy of the folder) is not damaged:
// resume stops, naming it and what to do, where it went on from the one
// before (training the steps after it again) and set it aside as invalid;
// sample names it too, and once it can be read the run resumes from it. A
// config.yaml this user may not read is named, and no config-step-N.yaml
// is written to put back over it (the file may hold edits). Root reads any
// file, so as root (make test, CI) gogan runs as nobody.
func TestUnreadableCheckpointIsNotSkipped(t *testing.T) {
	base := t.TempDir()
	run := filepath.Join(base, "run")
	mustTrain(t, smallDCGAN(run, "train.max_steps=2", "train.checkpoint_every=1", "data.max_samples=128")...)
	newest := filepath.Join(run, "checkpoints", "step-00000002")
	metrics, _ := os.ReadFile(filepath.Join(run, "metrics.csv"))
	var cred *syscall.Credential
	if os.Getuid() == 0 {
		nobody := &syscall.Credential{Uid: 65534, Gid: 65534}
		// nobody reaches the binary and the folder, and owns the run but
		// the newest checkpoint's files.
		for _, d := range []string{filepath.Dir(goganBin), filepath.Dir(base), base} {
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		filepath.WalkDir(run, func(p string, _ os.DirEntry, _ error) error { return os.Lchown(p, 65534, 65534) })
		for _, f := range []string{"state.json", "weights.safetensors"} {
			os.Chown(filepath.Join(newest, f), 0, 0)
		}
		cmd := exec.Command(goganBin, "--version")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: nobody}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Skipf("gogan cannot run as nobody here (its libraries are in a folder nobody may not read?): %v\n%s", err, out)
		}
		cred = nobody
	}
	as := func(args ...string) (string, error) {
		cmd := exec.Command(goganBin, args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	for _, f := range []string{"state.json", "weights.safetensors"} {
		if err := os.Chmod(filepath.Join(newest, f), 0); err != nil { // unreadable by their owner too, where that runs gogan
			t.Fatal(err)
		}
	}
	want := "checkpoint " + newest + " cannot be read: open " + filepath.Join(newest, "state.json") + ": permission denied: give this user read access"
	out, err := as("resume", run, "--set", "train.max_steps=3")
	if err == nil || !strings.Contains(out, want) || strings.Contains(out, "skipping invalid checkpoint") {
		t.Errorf("resume past an unreadable checkpoint: %v, want a refusal saying %q\n%s", err, want, out)
	}
	if names := dirNamesOf(t, filepath.Join(run, "checkpoints")); !slices.Equal(names, []string{"step-00000001", "step-00000002"}) {
		t.Errorf("checkpoints after the refused resume: %v", names)
	}
	if now, _ := os.ReadFile(filepath.Join(run, "metrics.csv")); !bytes.Equal(now, metrics) {
		t.Errorf("the refused resume changed metrics.csv:\n%s", now)
	}
	// said as itself, not as a folder that is "neither a checkpoint folder
	// nor a run folder with a valid checkpoint"
	if out, err := as("sample", "--checkpoint", run, "--n", "4", "--out", filepath.Join(run, "grid.png")); err == nil || !strings.Contains(out, "gogan: "+want) || strings.Contains(out, "neither a checkpoint folder") {
		t.Errorf("sample of a run whose newest checkpoint is unreadable: %v, want a refusal saying %q\n%s", err, want, out)
	}
	if out, err := as("runs", base); err != nil || !strings.Contains(out, "unreadable") || strings.Contains(out, "none valid") {
		t.Errorf("gogan runs of a run whose newest checkpoint is unreadable: %v, want it listed as unreadable\n%s", err, out)
	}
	for _, f := range []string{"state.json", "weights.safetensors"} {
		os.Chmod(filepath.Join(newest, f), 0o644)
	}
	if out, err := as("resume", run, "--set", "train.max_steps=3"); err != nil || !strings.Contains(out, "step 3") {
		t.Errorf("resume once the checkpoint reads: %v\n%s", err, out)
	}
	if rows := lossRows(t, run); len(rows) != 1+3 || rows[2][0] != "2" {
		t.Errorf("metrics.csv after the resume: %v, want steps 1 to 3", rows)
	}
	// config.yaml unreadable: named, with nothing written to put back
	// over it (the file may hold edits)
	cfgPath := filepath.Join(run, "config.yaml")
	if cred != nil {
		os.Chown(cfgPath, 0, 0)
	}
	os.Chmod(cfgPath, 0)
	wantCfg := cfgPath + " cannot be read: open " + cfgPath + ": permission denied: give this user read access"
	if out, err := as("resume", run, "--set", "train.max_steps=4"); err == nil || !strings.Contains(out, wantCfg) {
		t.Errorf("resume with config.yaml unreadable: %v, want a refusal saying %q\n%s", err, wantCfg, out)
	}
	if kept, _ := filepath.Glob(filepath.Join(run, "config-*.yaml")); len(kept) > 0 {
		t.Errorf("resume with config.yaml unreadable wrote %v to put back over it", kept)
	}
}

// TestResumeCommandOfARunNamedLikeAFlag: the resume command gogan prints
// for a run folder given as -run (relative, beginning with '-') names it
// ./-run, and runs as printed: "gogan resume -run" was refused as an
// unknown flag ("unknown shorthand flag: 'r'").
func TestResumeCommandOfARunNamedLikeAFlag(t *testing.T) {
	base := t.TempDir()
	cfg, err := filepath.Abs("configs/dcgan-fashion-mnist.yaml")
	if err != nil {
		t.Fatal(err)
	}
	train := append([]string{"train"}, smallDCGAN("-run", "train.max_steps=2", "data.max_samples=128")...)
	train[slices.Index(train, "configs/dcgan-fashion-mnist.yaml")] = cfg
	in := func(args ...string) (string, error) {
		cmd := exec.Command(goganBin, args...)
		cmd.Dir = base
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := in(train...); err != nil {
		t.Fatalf("train: %v\n%s", err, out)
	}
	out, err := in(train...)
	_, command, _ := strings.Cut(out, "continue it with `")
	command, _, _ = strings.Cut(command, "`")
	if err == nil || command != "gogan resume ./-run" {
		t.Fatalf("train into the run again: %v, want a refusal saying to continue it with `gogan resume ./-run`\n%s", err, out)
	}
	sh := exec.Command("sh", "-c", goganBin+strings.TrimPrefix(command, "gogan")+" --quiet --set train.max_steps=3")
	sh.Dir = base
	if out, err := sh.CombinedOutput(); err != nil {
		t.Fatalf("the printed command %q: %v\n%s", command, err, out)
	}
	if rows := lossRows(t, filepath.Join(base, "-run")); rows[len(rows)-1][0] != "3" {
		t.Errorf("after the printed resume command the last logged step is %s, want 3", rows[len(rows)-1][0])
	}
}

// TestOutOfMemorySaysWhatToLower: a step that cannot allocate its
// activations (here under a 6 GB address-space limit) stops with libtorch's
// error and what to lower, naming the limit beside the device.
func TestOutOfMemorySaysWhatToLower(t *testing.T) {
	run := filepath.Join(t.TempDir(), "oom")
	out, err := exec.Command("bash", "-c", `ulimit -v 6000000; exec "$0" "$@"`, goganBin, "train", "--quiet", "--set", "out="+run,
		"--set", "data.batch_size=2048", "--set", "data.image_size=128", "--set", "train.max_steps=3", "--set", "data.max_samples=4096").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "can't allocate memory") ||
		!strings.Contains(string(out), "the step needs more memory than the device (cpu, or this process's address-space limit, ulimit -v: 5859 MiB) has: lower data.batch_size") {
		t.Fatalf("a step out of memory: %v\n%s", err, out)
	}
}

// TestDefaultConfigOutsideTheClone: train without --config outside the
// clone says that the default config is the clone's.
func TestDefaultConfigOutsideTheClone(t *testing.T) {
	cmd := exec.Command(goganBin, "train", "--set", "out=run")
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--config configs/dcgan-fashion-mnist.yaml (the default) is not in "+cmd.Dir+": it is the clone's") {
		t.Fatalf("train without --config outside the clone: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(cmd.Dir, "run")); !os.IsNotExist(err) {
		t.Errorf("the refused train made its out: %v", err)
	}
}

// TestRecipeWithoutConfigStartsFromItsDefaults: without --config, a
// --set recipe= (or GOGAN_RECIPE) naming another recipe than the default
// config's DCGAN starts from that recipe's own defaults, with a note naming
// its configs; the DCGAN's Fashion-MNIST values (batch 64, data.dataset
// fashion-mnist) overrode them, and a CycleGAN was refused for
// "data.dataset must be unaligned, not fashion-mnist".
func TestRecipeWithoutConfigStartsFromItsDefaults(t *testing.T) {
	for _, r := range []string{"cyclegan", "pix2pix", "pix2pixhd", "colorization"} {
		cmd := exec.Command(goganBin, "config", "--set", "recipe="+r)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Errorf("config --set recipe=%s: %v\n%s", r, err, stderr.String())
			continue
		}
		if !strings.Contains(stderr.String(), "recipe "+r+" starts from its own defaults") || !strings.Contains(stderr.String(), "-c configs/"+r) {
			t.Errorf("config --set recipe=%s: no note naming its configs:\n%s", r, stderr.String())
		}
		cfg, err := config.ParseYAML("config --set recipe="+r, out)
		if err != nil {
			t.Fatalf("config --set recipe=%s printed: %v\n%s", r, err, out)
		}
		for _, key := range []string{"data.dataset", "data.batch_size", "data.root", "out", "train.gan_mode"} {
			k, _ := config.LookupKey(key)
			if got, _ := cfg.Get(key); fmt.Sprint(got) != fmt.Sprint(k.DefaultFor(r)) {
				t.Errorf("config --set recipe=%s: %s is %v, want the recipe's default %v", r, key, got, k.DefaultFor(r))
			}
		}
	}
	// a recipe that is none is refused, with no note that it starts from
	// defaults of its own
	for _, r := range []string{"test", "cycle_gan"} {
		out, err := exec.Command(goganBin, "config", "--set", "recipe="+r).CombinedOutput()
		if err == nil || strings.Contains(string(out), "starts from its own defaults") || !strings.Contains(string(out), `invalid value for recipe: "`+r+`"`) {
			t.Errorf("config --set recipe=%s: %v\n%s", r, err, out)
		}
	}
	// and trains so, the recipe named by the environment
	run := filepath.Join(t.TempDir(), "run")
	cmd := exec.Command(goganBin, "train", "--quiet", "--set", "data.root="+filepath.Join("..", "shared", "data", "facades"), "--set", "out="+run,
		"--set", "data.max_samples=1", "--set", "train.max_steps=1", "--set", "model.ngf=8", "--set", "model.ndf=8", "--set", "threads=2")
	cmd.Env = append(os.Environ(), "GOGAN_RECIPE=pix2pix")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("GOGAN_RECIPE=pix2pix gogan train: %v\n%s", err, out)
	}
	cfg, err := config.LoadConfig(filepath.Join(run, "config.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Recipe != "pix2pix" || cfg.Data.Dataset != "aligned" || cfg.Data.BatchSize != 1 || cfg.Model.NetG != "unet_256" {
		t.Errorf("GOGAN_RECIPE=pix2pix trained recipe %s on %s, batch %d, netG %s: want pix2pix's defaults", cfg.Recipe, cfg.Data.Dataset, cfg.Data.BatchSize, cfg.Model.NetG)
	}
}

// TestRecipeWithoutConfigTakesAnySpelling: the recipe a --set or GOGAN_RECIPE
// names without --config is read as the recipe key reads it, in any case:
// --set recipe=DCGAN (the default config's recipe) started from DCGAN's
// bare defaults (out runs/gogan) with a note that it was another recipe,
// and --set recipe=CycleGAN named no configs (it globbed CycleGAN-*.yaml).
// A recipe that does not exist gets the key's own refusal alone, not a
// note that it starts from its defaults.
func TestRecipeWithoutConfigTakesAnySpelling(t *testing.T) {
	plain, err := exec.Command(goganBin, "config").Output()
	if err != nil {
		t.Fatal(err)
	}
	// and the recipe the config ends with: the last --set, over GOGAN_RECIPE
	for _, c := range []struct {
		args []string
		env  string
		want string
	}{
		{[]string{"--set", "recipe=DCGAN"}, "", ""},
		{[]string{"--set", "recipe= dcgan "}, "", ""},
		{[]string{"--set", "recipe=cyclegan", "--set", "recipe=dcgan"}, "", ""},
		{[]string{"--set", "recipe=dcgan"}, "GOGAN_RECIPE=cyclegan", ""},
		{[]string{"--set", "recipe=CycleGAN"}, "", "note: no --config: recipe cyclegan starts from its own defaults (gogan config --set recipe=cyclegan prints them), not configs/dcgan-fashion-mnist.yaml's; its ready-made configs: -c configs/cyclegan"},
	} {
		cmd := exec.Command(goganBin, append([]string{"config"}, c.args...)...)
		cmd.Env = append(os.Environ(), c.env)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Errorf("%s config %q: %v\n%s", c.env, c.args, err, stderr.String())
			continue
		}
		if c.want == "" && (stderr.Len() > 0 || !bytes.Equal(out, plain)) {
			t.Errorf("%s config %q: not the default config's, or a note:\n%s\n%s", c.env, c.args, stderr.String(), out)
		}
		if c.want != "" && !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%s config %q: want %q in\n%s", c.env, c.args, c.want, stderr.String())
		}
	}
	// --config given: its file, whatever recipe --set names
	if out, err := gogan(t, "config", "-c", "configs/cyclegan-facades.yaml", "--set", "recipe=cyclegan"); err != nil || strings.Contains(out, "note:") || !strings.Contains(out, "\nout: runs/cyclegan-facades\n") {
		t.Errorf("config -c configs/cyclegan-facades.yaml --set recipe=cyclegan: %v, want the file's config\n%s", err, out)
	}
	out, err := gogan(t, "config", "--set", "recipe=cyclegna")
	if err == nil || strings.Contains(out, "note:") || !strings.Contains(out, `invalid value for recipe: "cyclegna"`) {
		t.Errorf("config --set recipe=cyclegna: %v, want the recipe key's refusal alone\n%s", err, out)
	}
}

// TestBadSampleImageAtStartSaysWhatToDo: in a folder of over 20000 images
// (whose open reads headers only) a JPEG cut short among the first, which
// the sample grid's inputs are read from as the run starts, stops the
// start naming the file and what to do (it named the file alone); with
// data.skip_invalid=true, as the message says, the run trains.
func TestBadSampleImageAtStartSaysWhatToDo(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "big")
	os.MkdirAll(filepath.Join(root, "train"), 0o755)
	im := image.NewRGBA(image.Rect(0, 0, 48, 24))
	for i := range im.Pix {
		im.Pix[i] = uint8(i * 7)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, im, nil); err != nil {
		t.Fatal(err)
	}
	for i := 0; i <= 20000; i++ {
		b := buf.Bytes()
		if i == 0 {
			b = b[:len(b)*2/3]
		}
		if err := os.WriteFile(filepath.Join(root, "train", fmt.Sprintf("b%05d.jpg", i)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bad := filepath.Join(root, "train", "b00000.jpg")
	run := filepath.Join(base, "run")
	args := []string{"train", "--config", "configs/pix2pix-facades.yaml", "--quiet", "--set", "data.root=" + root, "--set", "out=" + run,
		"--set", "model.netG=resnet_6blocks", "--set", "model.ngf=4", "--set", "model.ndf=4", "--set", "data.load_size=24",
		"--set", "data.crop_size=24", "--set", "train.max_steps=1", "--set", "threads=2"}
	out, err := gogan(t, args...)
	for _, want := range []string{bad + ": truncated JPEG image", "fix or replace " + bad, "--set data.skip_invalid=true"} {
		if err == nil || !strings.Contains(out, want) {
			t.Errorf("a bad sample image at the start: %v, want it to say %q\n%s", err, want, out)
		}
	}
	if _, err := os.Stat(run); !os.IsNotExist(err) {
		t.Errorf("the failed start left %s (%v)", run, err)
	}
	if out, err := gogan(t, append(args, "--set", "data.skip_invalid=true")...); err != nil {
		t.Errorf("with data.skip_invalid=true: %v\n%s", err, out)
	}
}

// TestAbsurdSizesRefusedAtStart: a thread or worker count no machine has is
// refused by train, naming the key and its range, before anything is read
// or written (threads=1e9 made libgomp abort the process as it sized its
// thread table; data.workers=1e9 hung while buffers were allocated for a
// billion batches ahead).
func TestAbsurdSizesRefusedAtStart(t *testing.T) {
	for _, c := range []struct{ set, want string }{
		{"threads=1000000000", `invalid value for threads: 1000000000: out of range (valid: ≥ 0 and ≤ 1024)`},
		{"data.workers=1000000000", `invalid value for data.workers: 1000000000: out of range (valid: ≥ 0 and ≤ 4096)`},
		{"data.prefetch=1000000", `invalid value for data.prefetch: 1000000: out of range (valid: ≥ 0 and ≤ 4096)`},
	} {
		run := filepath.Join(t.TempDir(), "run")
		out, err := gogan(t, append([]string{"train"}, smallDCGAN(run, c.set, "train.max_steps=1")...)...)
		if err == nil || !strings.Contains(out, c.want) {
			t.Errorf("train --set %s: %v\n%s", c.set, err, out)
		}
		if _, err := os.Stat(run); !os.IsNotExist(err) {
			t.Errorf("train --set %s left %s (%v)", c.set, run, err)
		}
	}
}

// TestResumeNamesTheSetThatChangesTheNetworks: a resume whose --set or
// GOGAN_ variable builds the networks otherwise than the checkpoint (model.ngf,
// model.nz) is refused with the key, both values and where the new one came
// from, besides the shapes that do not load; the folder is left as it was.
func TestResumeNamesTheSetThatChangesTheNetworks(t *testing.T) {
	run := filepath.Join(t.TempDir(), "run")
	mustTrain(t, smallDCGAN(run, "train.max_steps=1")...)
	cfg, err := os.ReadFile(filepath.Join(run, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		env  []string
		args []string
		want string
	}{
		{nil, []string{"--set", "model.ngf=8"}, "this resume builds the networks with model.ngf 8 (checkpoint: 16, from --set)"},
		{[]string{"GOGAN_MODEL_NZ=50"}, nil, "this resume builds the networks with model.nz 50 (checkpoint: 100, from environment GOGAN_MODEL_NZ)"},
	} {
		cmd := exec.Command(goganBin, append([]string{"resume", run, "--set", "train.max_steps=2"}, c.args...)...)
		cmd.Env = append(os.Environ(), c.env...)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), c.want) || !strings.Contains(string(out), "network G: nets: load state dict") {
			t.Errorf("resume %v %v: %v, want a refusal saying %q\n%s", c.env, c.args, err, c.want, out)
		}
		if now, _ := os.ReadFile(filepath.Join(run, "config.yaml")); !bytes.Equal(now, cfg) {
			t.Errorf("resume %v %v changed config.yaml", c.env, c.args)
		}
	}
}

// TestFileSizeLimitSaysWhatToRaise: a checkpoint that grows past the
// process's file-size limit (ulimit -f; or FAT32's 4 GiB) stops the run as a
// full disk does, naming the limit and what to do, with nothing
// half-written left; it said "file too large" alone.
func TestFileSizeLimitSaysWhatToRaise(t *testing.T) {
	run := filepath.Join(t.TempDir(), "run")
	args := append([]string{goganBin, "train"}, smallDCGAN(run, "train.max_steps=3", "train.checkpoint_every=1")...)
	cmd := exec.Command("bash", append([]string{"-c", `ulimit -f 100; exec "$@"`, "bash"}, args...)...)
	out, err := cmd.CombinedOutput()
	for _, want := range []string{"file too large", "the process's file-size limit (ulimit -f: 100 KiB)", "raise the limit (ulimit -f unlimited)",
		"then run the same gogan train command again"} {
		if err == nil || !strings.Contains(string(out), want) {
			t.Errorf("a run past ulimit -f: %v, want it to say %q\n%s", err, want, out)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(run, "checkpoints", "*")); len(left) > 0 {
		t.Errorf("left in checkpoints/: %v", left)
	}
	if left, _ := filepath.Glob(filepath.Join(run, "checkpoints", ".*")); len(left) > 0 {
		t.Errorf("half-written checkpoint folders left: %v", left)
	}
}

// TestTaskLimitRefusedNotHung: under a limit of processes and threads
// (ulimit -u) that leaves no room for libtorch's thread pools, a command
// stops at once saying which limit and what to do; before, libtorch's
// pthreadpool waited for ever for a thread that could not start, and the run
// hung in its first step. RLIMIT_NPROC counts every process of a user and
// binds no root process, so gogan runs as a uid of its own (root, as make
// test and CI run, gives it one).
func TestTaskLimitRefusedNotHung(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("ulimit -u counts every process of this user, this test's included: run as root (make test in CI is) to give gogan a uid of its own")
	}
	base := t.TempDir()
	for _, d := range []string{filepath.Dir(goganBin), filepath.Dir(base), base} {
		if err := os.Chmod(d, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	const uid = 61234 // no process runs as it
	under := func(limit int, args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "prlimit", append([]string{"--nproc=" + strconv.Itoa(limit), "--", goganBin}, args...)...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
		cmd.Env = append(os.Environ(), "GOMAXPROCS=2") // sample's 2 threads on any machine
		out, err := cmd.CombinedOutput()
		if ctx.Err() != nil {
			t.Fatalf("gogan %s under ulimit -u %d: still running after 2 minutes (hung)\n%s", args[0], limit, out)
		}
		return string(out), err
	}
	limitSaid := func(n int) string {
		return fmt.Sprintf("the processes and threads of user %d, all its processes together, are limited to %d (ulimit -u); raise the limit, or use fewer threads", uid, n)
	}
	// 9 tasks: the Go runtime's first ones leave too few for 2 threads'
	// pools, in every computing command (those without a thread setting of
	// their own at one a core, GOMAXPROCS's 2).
	for _, args := range [][]string{
		append([]string{"train"}, smallDCGAN(filepath.Join(base, "r9"), "train.max_steps=2")...),
		{"sample", "--checkpoint", filepath.Join(base, "none"), "--n", "4"},
		{"translate", "--checkpoint", filepath.Join(base, "none"), "--input", base, "--out", filepath.Join(base, "out")},
		{"features", "--checkpoint", filepath.Join(base, "none")},
	} {
		out, err := under(9, args...)
		if err == nil || !strings.Contains(out, "torch: 2 threads: this process could start") || !strings.Contains(out, limitSaid(9)) {
			t.Errorf("gogan %s under ulimit -u 9: %v, want a refusal naming the limit\n%s", args[0], err, out)
		}
	}
	// 16 hold 2 threads but not threads=8, which the run's own count checks.
	out, err := under(16, append([]string{"train"}, smallDCGAN(filepath.Join(base, "r16"), "train.max_steps=2", "threads=8")...)...)
	if err == nil || !strings.Contains(out, "torch: 8 threads: this process could start") || !strings.Contains(out, limitSaid(16)) {
		t.Errorf("threads=8 under ulimit -u 16: %v, want a refusal naming the limit\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(base, "r16")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the refused run left its folder: %v", err)
	}
	// 14 hold a training of 2 threads (11 at its peak): not refused.
	if out, err := under(14, append([]string{"train"}, smallDCGAN(filepath.Join(base, "r14"), "train.max_steps=2")...)...); err != nil {
		t.Errorf("a training of 2 threads under ulimit -u 14: %v\n%s", err, out)
	}
}

// TestTaskLimitOnAManyCoreHost: libtorch 1.x's first set_num_threads starts a
// thread pool of the host's processors (cpuinfo's count: not the process's
// CPU affinity nor a container's CPU limit) before the one asked for, both
// alive at once. Where a task limit held the threads asked for and not that
// pool, as a container of one CPU and a pids limit on a big host, gogan
// sample (one thread) passed the check of 2n+1 threads and hung in
// set_num_threads itself. The host of 16 processors is made here by
// bind-mounting /sys/devices/system/cpu/{possible,present,online} in a mount
// namespace of the command's own.
func TestTaskLimitOnAManyCoreHost(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("ulimit -u binds no root process, and the bind mounts need root: run as root (make test in CI is)")
	}
	for _, tool := range []string{"unshare", "setpriv", "prlimit"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s: %v", tool, err)
		}
	}
	base := t.TempDir()
	for _, d := range []string{filepath.Dir(goganBin), filepath.Dir(base), base} {
		if err := os.Chmod(d, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	cpus := filepath.Join(base, "cpus")
	if err := os.WriteFile(cpus, []byte("0-15\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const uid = 61234 // no process runs as it
	const script = `for f in possible present online; do mount --bind "$1" /sys/devices/system/cpu/$f || exit 97; done
shift
exec setpriv --reuid="$1" --regid="$1" --clear-groups prlimit --nproc="$2" -- "$3" sample --checkpoint "$4" --n 4`
	none := filepath.Join(base, "none")
	under := func(limit int) string {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "unshare", "-m", "sh", "-c", script, "sh", cpus, strconv.Itoa(uid), strconv.Itoa(limit), goganBin, none)
		cmd.Env = append(os.Environ(), "GOMAXPROCS=1") // one thread: the container's one CPU
		out, err := cmd.CombinedOutput()
		if ctx.Err() != nil {
			t.Fatalf("gogan sample under ulimit -u %d on a host of 16 processors: still running after a minute (hung)\n%s", limit, out)
		}
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) && ee.ExitCode() == 97 {
			t.Skipf("cannot bind-mount over /sys/devices/system/cpu here:\n%s", out)
		}
		if err == nil {
			t.Fatalf("gogan sample of a missing checkpoint under ulimit -u %d succeeded:\n%s", limit, out)
		}
		return string(out)
	}
	missing := "checkpoint " + none + ": no such folder"
	out := under(14)
	if strings.HasPrefix(torch.Version(), "1.") {
		if !strings.Contains(out, "torch: 1 threads: this process could start") || !strings.Contains(out, "the host's 16 processors") ||
			!strings.Contains(out, "are limited to 14 (ulimit -u)") {
			t.Errorf("under ulimit -u 14 on a host of 16 processors, libtorch %s: want a refusal naming the host's pool and the limit\n%s", torch.Version(), out)
		}
	} else if !strings.Contains(out, missing) { // its first pool is the one asked for
		t.Errorf("under ulimit -u 14 on a host of 16 processors, libtorch %s: want the missing checkpoint said\n%s", torch.Version(), out)
	}
	// Room for that pool: the command goes on, to the missing checkpoint.
	if out := under(30); !strings.Contains(out, missing) {
		t.Errorf("under ulimit -u 30 on a host of 16 processors: want the missing checkpoint said, not a refusal\n%s", out)
	}
}
