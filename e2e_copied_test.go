package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	torch "gogan/cgo"
)

// editState rewrites a checkpoint's state.json through edit and seals it
// again (state_sha256), as the gogan that wrote it would have: a run
// trained elsewhere, by another gogan, or on a GPU.
func editState(t *testing.T, ckpt string, edit func(map[string]any)) {
	t.Helper()
	path := filepath.Join(ckpt, "state.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	m["state_sha256"] = ""
	if b, err = json.MarshalIndent(m, "", "  "); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	field := regexp.MustCompile(`"state_sha256": ""`)
	b = field.ReplaceAll(b, []byte(`"state_sha256": "`+hex.EncodeToString(sum[:])+`"`))
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestNewerGoganCheckpointIsNotSkipped: a run trained by a newer gogan (on
// the cloud machine) and copied home, where an older binary reads it: a
// checkpoint of a state format this gogan does not know is not damaged.
// resume stops, naming the gogan that wrote it, where it went on from the
// checkpoint before (training those steps again) and set the newer one
// aside as invalid; sample says the same, and gogan runs lists it so.
func TestNewerGoganCheckpointIsNotSkipped(t *testing.T) {
	base := t.TempDir()
	run := filepath.Join(base, "run")
	mustTrain(t, smallDCGAN(run, "train.max_steps=2", "train.checkpoint_every=1", "data.max_samples=128")...)
	newest := filepath.Join(run, "checkpoints", "step-00000002")
	editState(t, newest, func(m map[string]any) {
		m["format"] = 3
		m["gogan_version"] = "0123456789ab"
	})
	metrics, _ := os.ReadFile(filepath.Join(run, "metrics.csv"))
	want := "checkpoint " + newest + " cannot be read by this gogan"
	out, err := gogan(t, "resume", run, "--set", "train.max_steps=3")
	if err == nil || !strings.Contains(out, want) || !strings.Contains(out, "written by gogan 0123456789ab") || !strings.Contains(out, "run that gogan") ||
		strings.Contains(out, "skipping invalid checkpoint") {
		t.Errorf("resume past a newer gogan's checkpoint: %v, want a refusal saying %q and who wrote it\n%s", err, want, out)
	}
	if names := dirNamesOf(t, filepath.Join(run, "checkpoints")); !slices.Equal(names, []string{"step-00000001", "step-00000002"}) {
		t.Errorf("checkpoints after the refused resume: %v", names)
	}
	if now, _ := os.ReadFile(filepath.Join(run, "metrics.csv")); string(now) != string(metrics) {
		t.Errorf("the refused resume changed metrics.csv:\n%s", now)
	}
	if out, err := gogan(t, "sample", "--checkpoint", run, "--n", "4", "--out", filepath.Join(base, "grid.png")); err == nil || !strings.Contains(out, want) ||
		strings.Contains(out, "neither a checkpoint folder") {
		t.Errorf("sample of a run whose newest checkpoint is a newer gogan's: %v, want a refusal saying %q, not that the run has no valid checkpoint\n%s", err, want, out)
	}
	if out, err := gogan(t, "runs", base); err != nil || !strings.Contains(out, "a newer gogan's") || strings.Contains(out, "none valid") {
		t.Errorf("gogan runs of a run whose newest checkpoint is a newer gogan's: %v\n%s", err, out)
	}
}

// TestNewerGoganConfigIsNamed: a run trained by a newer gogan whose config
// has a key this gogan does not know (config.yaml and the checkpoint's
// alike). resume said to put the checkpoint's config back over
// config.yaml, which holds the same key (the same refusal again), and
// sample only that the key is unknown: both now name the gogan that wrote
// the checkpoint and to run it.
func TestNewerGoganConfigIsNamed(t *testing.T) {
	base := t.TempDir()
	run := filepath.Join(base, "run")
	mustTrain(t, smallDCGAN(run, "train.max_steps=1", "data.max_samples=128")...)
	newer := func(yml string) string {
		return strings.Replace(yml, "\n  lambda_gp: 10\n", "\n  lambda_gp: 10\n  lambda_r1: 0\n", 1)
	}
	cfgPath := filepath.Join(run, "config.yaml")
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgPath, []byte(newer(string(b))), 0o644); err != nil {
		t.Fatal(err)
	}
	editState(t, filepath.Join(run, "checkpoints", "step-00000001"), func(m map[string]any) {
		m["config"] = newer(m["config"].(string))
		m["gogan_version"] = "0123456789ab"
	})
	want := "the checkpoint was written by gogan 0123456789ab (this gogan is "
	out, err := gogan(t, "resume", run, "--set", "train.max_steps=2")
	if err == nil || !strings.Contains(out, "unknown key train.lambda_r1") || !strings.Contains(out, want) || strings.Contains(out, "move it to") {
		t.Errorf("resume of a newer gogan's run: %v, want the key and %q, not advice to put its config back\n%s", err, want, out)
	}
	if kept, _ := filepath.Glob(filepath.Join(run, "config-*.yaml")); len(kept) > 0 {
		t.Errorf("resume wrote %v to put back over config.yaml, with the same unknown key", kept)
	}
	if out, err := gogan(t, "sample", "--checkpoint", run, "--n", "4", "--out", filepath.Join(base, "grid.png")); err == nil || !strings.Contains(out, want) {
		t.Errorf("sample of a newer gogan's run: %v, want %q\n%s", err, want, out)
	}
}

// TestResumeOfAReadOnlyCopy: a run folder copied home with its files read
// only (a zip that kept no write bits, another user's copy of run/*, which
// leaves .lock out): resume is
// refused before it writes anything, naming the path and what to do. It
// went on to rewrite status.json ("failed") and index.html, then stopped
// at metrics.csv with a bare "permission denied". Once writable, the run
// resumes. Root writes any file, so as root gogan runs as nobody.
func TestResumeOfAReadOnlyCopy(t *testing.T) {
	base := t.TempDir()
	run := filepath.Join(base, "run")
	mustTrain(t, smallDCGAN(run, "train.max_steps=2", "data.max_samples=128")...)
	var cred *syscall.Credential
	if os.Getuid() == 0 {
		for _, d := range []string{filepath.Dir(goganBin), filepath.Dir(base), base} {
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		filepath.WalkDir(run, func(p string, _ os.DirEntry, _ error) error { return os.Lchown(p, 65534, 65534) })
		cred = &syscall.Credential{Uid: 65534, Gid: 65534}
		cmd := exec.Command(goganBin, "--version")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Skipf("gogan cannot run as nobody here: %v\n%s", err, out)
		}
	}
	as := func(args ...string) (string, error) {
		cmd := exec.Command(goganBin, args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	chmodFiles := func(mode os.FileMode) {
		filepath.WalkDir(run, func(p string, d os.DirEntry, _ error) error {
			if !d.IsDir() {
				os.Chmod(p, mode)
			}
			return nil
		})
	}
	chmodFiles(0o444)
	os.Remove(filepath.Join(run, ".lock")) // copied as run/*, which leaves hidden files out
	before := map[string][]byte{}
	for _, f := range []string{"status.json", "metrics.csv", "index.html", "config.yaml"} {
		before[f], _ = os.ReadFile(filepath.Join(run, f))
	}
	out, err := as("resume", run, "--set", "train.max_steps=3")
	if err == nil || !strings.Contains(out, "this user may not write it") || !strings.Contains(out, "cp -r "+run+" NEW") {
		t.Errorf("resume of a read-only copy: %v, want a refusal naming the path and what to do\n%s", err, out)
	}
	for f, b := range before {
		if now, _ := os.ReadFile(filepath.Join(run, f)); !bytes.Equal(now, b) {
			t.Errorf("the refused resume rewrote %s:\n%s", f, now)
		}
	}
	chmodFiles(0o644)
	// a checkpoint folder it may not write: resume prunes old checkpoints
	ck := filepath.Join(run, "checkpoints", "step-00000002")
	os.Chmod(ck, 0o555)
	if out, err := as("resume", run, "--set", "train.max_steps=3"); err == nil || !strings.Contains(out, ck+": this user may not write it") {
		t.Errorf("resume of a copy whose checkpoint folder is read-only: %v, want a refusal naming it\n%s", err, out)
	}
	os.Chmod(ck, 0o755)
	if out, err := as("resume", run, "--set", "train.max_steps=3"); err != nil || !strings.Contains(out, "step 3") {
		t.Errorf("resume once the copy is writable: %v\n%s", err, out)
	}
}

// TestResumeFromAnOlderCheckpoint: a pytorch-CycleGAN-and-pix2pix user's
// --continue_train --epoch N (or pix2pixHD's and the older repository's
// --which_epoch) goes on from networks saved earlier. The answer to
// --epoch said that resume takes RUN/checkpoints/step-N, which resume
// refuses, --which_epoch was not answered, and translate's --epoch met a
// bare "unknown flag". Now each says what picks a checkpoint, resume of a
// checkpoint folder says how to go on from it, and doing so works.
func TestResumeFromAnOlderCheckpoint(t *testing.T) {
	run := filepath.Join(t.TempDir(), "run")
	mustTrain(t, smallDCGAN(run, "train.max_steps=2", "train.checkpoint_every=1", "data.max_samples=128")...)
	for _, flag := range []string{"--epoch", "--which_epoch"} {
		out, err := gogan(t, "resume", run, flag, "1")
		if err == nil || strings.Contains(out, "gogan resume, translate and export take") || !strings.Contains(out, "move the newer RUN/checkpoints/step-* folders out of RUN/checkpoints") {
			t.Errorf("resume %s: %v, want how to go on from an older checkpoint\n%s", flag, err, out)
		}
	}
	if out, err := gogan(t, "translate", "--checkpoint", run, "--epoch", "1"); err == nil || !strings.Contains(out, "takes --checkpoint RUN/checkpoints/step-N") {
		t.Errorf("translate --epoch: %v, want --checkpoint RUN/checkpoints/step-N\n%s", err, out)
	}
	older := filepath.Join(run, "checkpoints", "step-00000001")
	out, err := gogan(t, "resume", older, "--set", "train.max_steps=3")
	if err == nil || !strings.Contains(out, "to go on from this one, move the checkpoints after it out of "+filepath.Dir(older)) {
		t.Errorf("resume of a checkpoint folder: %v, want how to go on from it\n%s", err, out)
	}
	later := filepath.Join(run, "later")
	if err := os.Mkdir(later, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(run, "checkpoints", "step-00000002"), filepath.Join(later, "step-00000002")); err != nil {
		t.Fatal(err)
	}
	if out, err := gogan(t, "resume", run, "--set", "train.max_steps=3"); err != nil || !strings.Contains(out, "checkpoint=") || !strings.Contains(out, "step-00000001 step=1") {
		t.Errorf("resume once the later checkpoint is moved out: %v, want it to go on from step 1\n%s", err, out)
	}
	if rows := lossRows(t, run); len(rows) != 1+3 || rows[1][0] != "1" || rows[3][0] != "3" {
		t.Errorf("metrics.csv after going on from step 1: %v, want steps 1 to 3, each once", rows)
	}
}

// TestResumeOfAGPURunOnACPUMachine: a run trained with device cuda and
// cuda.amp bf16 on a cloud GPU, copied to a machine without CUDA. resume
// said only "use device: cpu or auto" (and, given --set device=cpu, that
// cuda.amp needs a GPU, not what to set): it now gives the command that
// goes on here. Resumed so and stopped by SIGINT, the command it prints
// carries --set device (config.yaml keeps the GPU machine's device, so
// the bare "gogan resume RUN" it printed failed here).
func TestResumeOfAGPURunOnACPUMachine(t *testing.T) {
	if torch.CUDAIsAvailable() {
		t.Skip("this machine has a CUDA device: the run would resume on it")
	}
	run := filepath.Join(t.TempDir(), "run")
	mustTrain(t, smallDCGAN(run, "train.max_steps=2", "data.max_samples=128")...)
	onGPU := func(yml string) string {
		yml = strings.Replace(yml, "\ndevice: auto\n", "\ndevice: cuda\n", 1)
		return strings.Replace(yml, "\n  amp: \"off\"\n", "\n  amp: bf16\n", 1)
	}
	cfgPath := filepath.Join(run, "config.yaml")
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(onGPU(string(b)), "amp: bf16") || !strings.Contains(onGPU(string(b)), "device: cuda") {
		t.Fatalf("config.yaml does not read as expected:\n%s", b)
	}
	if err := os.WriteFile(cfgPath, []byte(onGPU(string(b))), 0o644); err != nil {
		t.Fatal(err)
	}
	editState(t, filepath.Join(run, "checkpoints", "step-00000002"), func(m map[string]any) {
		m["config"] = onGPU(m["config"].(string))
		m["rng"].(map[string]any)["cuda:0"] = "AAECAw=="
	})
	want := "to go on on this machine: gogan resume " + run + " --set train.max_steps=200 --set device=auto --set cuda.amp=off"
	if out, err := gogan(t, "resume", run, "--set", "train.max_steps=200"); err == nil || !strings.Contains(out, want) {
		t.Errorf("resume of a GPU run on a CPU machine: %v, want %q\n%s", err, want, out)
	}
	if out, err := gogan(t, "resume", run, "--set", "device=cpu"); err == nil || !strings.Contains(out, "needs a CUDA device, but device=cpu; set cuda.amp=off") {
		t.Errorf("resume --set device=cpu of a bf16 run: %v, want what to set\n%s", err, out)
	}
	cmd := exec.Command(goganBin, "resume", run, "--quiet", "--set", "train.max_steps=100000", "--set", "device=auto", "--set", "cuda.amp=off", "--set", "threads=1")
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(60 * time.Second); !strings.Contains(buf.String(), "progress") && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGINT)
	cmd.Wait()
	want = "continue with:\n  " + goganBin + " resume " + run + " --set device=auto --set threads=1\n"
	if !strings.Contains(buf.String(), want) {
		t.Errorf("the resume stopped by SIGINT: want it to print %q\n%s", want, buf.String())
	}
	if b, _ := os.ReadFile(cfgPath); !strings.Contains(string(b), "\ndevice: cuda\n") || !strings.Contains(string(b), "amp: \"off\"") {
		t.Errorf("config.yaml after the resume: want the GPU machine's device kept and cuda.amp off saved:\n%s", b)
	}
}

// TestResumeWithAConfigFile: resume --config FILE (to go on with an edited
// or another config file) met a bare "unknown flag: --config"; it now
// says which config resume reads and how to change it.
func TestResumeWithAConfigFile(t *testing.T) {
	out, err := gogan(t, "resume", filepath.Join(t.TempDir(), "run"), "--config", "configs/dcgan-fashion-mnist.yaml")
	if want := "gogan resume reads the run's own config, RUN/config.yaml: edit it, or give keys with --set KEY=VALUE"; err == nil || !strings.Contains(out, want) {
		t.Errorf("resume --config: %v, want %q\n%s", err, want, out)
	}
}

// TestDataRootRenamedWhileTraining: data.root renamed between epochs (the
// images are read as their batches come): the run stopped saying to "fix
// or replace" the first image it missed, as if that file were bad. It now
// says the folder is gone, to put it back or resume with --set data.root,
// which goes on.
func TestDataRootRenamedWhileTraining(t *testing.T) {
	ids := make([]int, 30)
	for i := range ids {
		ids[i] = i + 1
	}
	root := facadesSubset(t, map[string][]int{"train": ids})
	run := filepath.Join(t.TempDir(), "run")
	cmd := exec.Command(goganBin, "train", "--config", "configs/pix2pix-facades.yaml", "--quiet", "--set", "data.root="+root, "--set", "out="+run,
		"--set", "model.netG=unet_128", "--set", "data.load_size=143", "--set", "data.crop_size=128", "--set", "model.ngf=8", "--set", "model.ndf=8",
		"--set", "train.epochs=50", "--set", "train.epochs_decay=0", "--set", "data.workers=1", "--set", "threads=1")
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(120 * time.Second); !strings.Contains(buf.String(), "end of epoch") && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	moved := root + "-moved"
	if err := os.Rename(root, moved); err != nil {
		t.Fatal(err)
	}
	defer os.Rename(moved, root) // for t.TempDir's removal
	err := cmd.Wait()
	want := "data.root " + root + " is gone (moved or renamed while the run trained): put it back"
	if out := buf.String(); err == nil || !strings.Contains(out, want) || !strings.Contains(out, "gogan resume "+run+" --set data.root=DIR") || strings.Contains(out, "fix or replace") {
		t.Fatalf("train whose data.root was renamed: %v, want %q\n%s", err, want, out)
	}
	if out, err := gogan(t, "resume", run, "--set", "data.root="+moved, "--set", "train.epochs=2"); err != nil || !strings.Contains(out, "2 epochs done") {
		t.Errorf("resume with the new data.root: %v\n%s", err, out)
	}
}

// TestRefusedDeviceGivenNowIsSaved: a resume whose config.yaml holds a
// device or threads this gogan refuses, given another by --set, saved the
// refused value back (or, for threads that is no number, refused to go on),
// so the next plain resume was refused again: config.yaml now holds what
// the run used, and a valid value of the file's stays the file's.
func TestRefusedDeviceGivenNowIsSaved(t *testing.T) {
	run := filepath.Join(t.TempDir(), "run")
	mustTrain(t, smallDCGAN(run, "train.max_steps=1", "data.max_samples=128")...)
	cfgPath := filepath.Join(run, "config.yaml")
	edit := func(from, to string) {
		b, err := os.ReadFile(cfgPath)
		if err != nil || !strings.Contains(string(b), from) {
			t.Fatalf("no %q in %s: %v\n%s", from, cfgPath, err, b)
		}
		if err := os.WriteFile(cfgPath, []byte(strings.Replace(string(b), from, to, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range []struct {
		from, to string
		sets     []string
		want     []string
	}{
		{"\ndevice: auto\n", "\ndevice: tpu\n", []string{"device=cpu", "threads=1"}, []string{"\ndevice: cpu\n", "\nthreads: 2\n"}},
		{"\nthreads: 2\n", "\nthreads: many\n", []string{"threads=1"}, []string{"\ndevice: cpu\n", "\nthreads: 1\n"}},
	} {
		edit(c.from, c.to)
		args := []string{"resume", run, "--set", fmt.Sprintf("train.max_steps=%d", 2*i+2)}
		for _, s := range c.sets {
			args = append(args, "--set", s)
		}
		if out, err := gogan(t, args...); err != nil {
			t.Fatalf("resume --set %s over config.yaml's %q: %v\n%s", strings.Join(c.sets, " --set "), strings.TrimSpace(c.to), err, out)
		}
		b, _ := os.ReadFile(cfgPath)
		for _, w := range c.want {
			if !strings.Contains(string(b), w) {
				t.Errorf("config.yaml after resume --set %s over %q: want %q in\n%s", strings.Join(c.sets, " --set "), strings.TrimSpace(c.to), strings.TrimSpace(w), b)
			}
		}
		if out, err := gogan(t, "resume", run, "--set", fmt.Sprintf("train.max_steps=%d", 2*i+3)); err != nil {
			t.Errorf("the next resume: %v\n%s", err, out)
		}
	}
}

// TestRefusedConfigValueIsThisGogans: a run whose config (config.yaml and
// the checkpoint's alike) holds a value this gogan's own rules refuse (a
// rule tightened since the gogan that wrote it). sample and resume said
// that gogan's config could not be read, to run it "or a newer one", which
// this one may be; they now say this gogan refuses the value and how to
// give the key another (--set on resume), and resume --set KEY=VALUE of
// the refused key goes on, where the file's value was refused before the
// --set over it was read.
func TestRefusedConfigValueIsThisGogans(t *testing.T) {
	base := t.TempDir()
	run := filepath.Join(base, "run")
	mustTrain(t, smallDCGAN(run, "train.max_steps=1", "data.max_samples=128")...)
	refused := func(yml string) string {
		if !strings.Contains(yml, "\n  norm: batch\n") {
			t.Fatalf("no model.norm batch in\n%s", yml)
		}
		return strings.Replace(yml, "\n  norm: batch\n", "\n  norm: batch_v0\n", 1)
	}
	cfgPath := filepath.Join(run, "config.yaml")
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgPath, []byte(refused(string(b))), 0o644); err != nil {
		t.Fatal(err)
	}
	editState(t, filepath.Join(run, "checkpoints", "step-00000001"), func(m map[string]any) {
		m["config"] = refused(m["config"].(string))
		m["gogan_version"] = "0123456789ab"
	})
	for _, c := range []struct {
		args []string
		want string
	}{
		// the run has finished: a resume that trains no step writes no
		// checkpoint, so the advice names the train.max_steps that does
		{[]string{"sample", "--checkpoint", run, "--n", "4", "--out", filepath.Join(base, "grid.png")}, "gogan resume " + run + " --set KEY=VALUE; a finished run's resume writes a checkpoint only as it trains on, so raise its end too: --set train.max_steps=2,"},
		{[]string{"resume", run, "--set", "train.max_steps=2"}, "--set KEY=VALUE on this resume (or in " + cfgPath + ")"},
	} {
		out, err := gogan(t, c.args...)
		if err == nil || !strings.Contains(out, `model.norm: "batch_v0"`) || !strings.Contains(out, "written by gogan 0123456789ab") ||
			!strings.Contains(out, "this gogan refuses a value in its config") || !strings.Contains(out, c.want) || strings.Contains(out, "or a newer one") {
			t.Errorf("%s of a run whose config value this gogan refuses: %v, want the value, that this gogan refuses it, and %q\n%s", c.args[0], err, c.want, out)
		}
	}
	// (threads given now is this resume's: config.yaml keeps the file's 2)
	if out, err := gogan(t, "resume", run, "--set", "train.max_steps=2", "--set", "model.norm=batch", "--set", "threads=1"); err != nil {
		t.Errorf("resume --set model.norm=batch over config.yaml's refused value: %v\n%s", err, out)
	} else if b, _ := os.ReadFile(cfgPath); !strings.Contains(string(b), "\n  norm: batch\n") || !strings.Contains(string(b), "\nthreads: 2\n") {
		t.Errorf("config.yaml after the resume --set model.norm=batch:\n%s", b)
	}
	// and the checkpoint that resume wrote is the one sample takes
	if out, err := gogan(t, "sample", "--checkpoint", run, "--n", "4", "--out", filepath.Join(base, "grid.png")); err != nil {
		t.Errorf("sample after the advised resume: %v\n%s", err, out)
	}
}
