package trainer

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gogan/cgo/torchtest"
	"gogan/config"
	"gogan/runfolder"
)

// TestGivenNetChangesNamesOnlyKeysThatShape: a network that does not load
// on resume is answered with the --set keys that build it otherwise than
// the checkpoint; one equal to the saved value, or one that builds no
// layer (pix2pixHD's VGG19 weights file, moved), is not named.
func TestGivenNetChangesNamesOnlyKeysThatShape(t *testing.T) {
	saved, err := config.LoadConfig("", []string{"recipe=pix2pixhd", "model.ngf=8", "model.vgg_weights=/old/vgg19.pth"})
	if err != nil {
		t.Fatal(err)
	}
	yml, err := saved.YAML()
	if err != nil {
		t.Fatal(err)
	}
	st := &runfolder.CheckpointState{Config: string(yml)}
	now, err := config.LoadConfig("", []string{"recipe=pix2pixhd", "model.ngf=8", "model.vgg_weights=/new/vgg19.pth", "model.n_blocks_global=3"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := givenNetChanges(now, st), []string{"model.n_blocks_global 3 (checkpoint: 9, from --set)"}; !slices.Equal(got, want) {
		t.Errorf("givenNetChanges = %q, want %q", got, want)
	}
}

// divisorsText names the numbers of ranks that can share a global batch a
// resume on another number cannot keep (15 on 2 ranks: 1, 3, 5 or 15).
func TestDivisorsText(t *testing.T) {
	for n, want := range map[int]string{15: "1, 3, 5, 15", 7: "1, 7", 720: "1, 2, 3, 4, 5, 6, 8, 9"} {
		if got := divisorsText(n); got != want {
			t.Errorf("divisorsText(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestResumedConfigIsTheRunsOwn: a resume rewrites config.yaml with what it
// trained on (a raised train.max_steps, so that the resume command a stopped
// run prints goes on with it), but keeps the file's threads where this
// resume ran with others (a --set for this machine: the file's 2 stays, not
// the resume's 1) and the run's own folder as out, where a GOGAN_OUT left
// exported named another (nothing is made there).
func TestResumedConfigIsTheRunsOwn(t *testing.T) {
	ctx := context.Background()
	run := filepath.Join(t.TempDir(), "run")
	if _, err := Train(ctx, smallRun(t, run, "train.max_steps=2", "threads=2"), RunOptions{Quiet: true, Writer: os.Stderr}); err != nil {
		t.Fatal(err)
	}
	elsewhere := filepath.Join(t.TempDir(), "elsewhere")
	t.Setenv("GOGAN_OUT", elsewhere)
	if _, err := Resume(ctx, run, []string{"train.max_steps=4", "threads=1"}, RunOptions{Quiet: true, Writer: os.Stderr}); err != nil {
		t.Fatal(err)
	}
	os.Unsetenv("GOGAN_OUT") // config.yaml's own out is read
	cfg, err := config.LoadConfig(filepath.Join(run, "config.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Train.MaxSteps != 4 || cfg.Threads != 2 || cfg.Out != run {
		t.Errorf("config.yaml after the resume: train.max_steps %d, threads %d, out %s; want 4, 2 (the file's), %s", cfg.Train.MaxSteps, cfg.Threads, cfg.Out, run)
	}
	if _, err := os.Stat(elsewhere); !os.IsNotExist(err) {
		t.Errorf("GOGAN_OUT's folder %s: %v, want none", elsewhere, err)
	}
}

// TestResumeNamesAnotherThreadCount: a CPU run's checkpoints record the
// thread count its steps ran with (threads: 0 resolved to the cores), which
// its start logs; a resume with another count (a machine of other cores
// under threads: 0, taskset, --set threads), whose libtorch sums round
// otherwise so that the run drifts from its uninterrupted self, says so and
// gives the --set that resumes it exactly; one at the same count does not.
func TestResumeNamesAnotherThreadCount(t *testing.T) {
	ctx := context.Background()
	run := filepath.Join(t.TempDir(), "run")
	logs := torchtest.CaptureLogs(t)
	if _, err := Train(ctx, smallRun(t, run, "train.max_steps=2", "threads=2"), RunOptions{Quiet: true, Writer: os.Stderr}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "msg=training run="+run+" recipe=dcgan device=cpu threads=2 ") {
		t.Errorf("train's start does not name its 2 threads:\n%s", logs)
	}
	_, st, err := runfolder.LatestValid(run)
	if err != nil {
		t.Fatal(err)
	}
	if st.Threads != 2 {
		t.Errorf("the checkpoint's state.json: threads %d, want 2", st.Threads)
	}
	same, more := filepath.Join(t.TempDir(), "same"), filepath.Join(t.TempDir(), "more")
	for _, dst := range []string{same, more} {
		if err := os.CopyFS(dst, os.DirFS(run)); err != nil {
			t.Fatal(err)
		}
	}
	logs.Reset()
	if _, err := Resume(ctx, run, []string{"train.max_steps=3", "threads=1"}, RunOptions{Quiet: true, Writer: os.Stderr}); err != nil {
		t.Fatal(err)
	}
	if want := "the run trained with 2 libtorch threads and resumes with 1 (threads: 1)"; !strings.Contains(logs.String(), want) ||
		!strings.Contains(logs.String(), "to resume it exactly, give --set threads=2") {
		t.Errorf("a resume at 1 thread of a run of 2 logged no warning %q and --set threads=2:\n%s", want, logs)
	}
	logs.Reset() // and at more threads than it trained with
	if _, err := Resume(ctx, more, []string{"train.max_steps=3", "threads=3"}, RunOptions{Quiet: true, Writer: os.Stderr}); err != nil {
		t.Fatal(err)
	}
	if want := "the run trained with 2 libtorch threads and resumes with 3 (threads: 3)"; !strings.Contains(logs.String(), want) {
		t.Errorf("a resume at 3 threads of a run of 2 logged no warning %q:\n%s", want, logs)
	}
	logs.Reset()
	if _, err := Resume(ctx, same, []string{"train.max_steps=3"}, RunOptions{Quiet: true, Writer: os.Stderr}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), "libtorch threads") {
		t.Errorf("a resume at the run's own 2 threads warned of threads:\n%s", logs)
	}
}

// TestResumedRelativeRootIsSavedAbsolute: a resume whose images moved away
// from the data.root its config.yaml names says to give their folder by
// --set; one given so as a relative path is saved absolute in config.yaml,
// as train saves it, so that the resume command a stopped run prints reads
// the same images from any working folder.
func TestResumedRelativeRootIsSavedAbsolute(t *testing.T) {
	ctx := context.Background()
	run := filepath.Join(t.TempDir(), "run")
	cfg := smallRun(t, run, "train.max_steps=2")
	if _, err := Train(ctx, cfg, RunOptions{Quiet: true, Writer: os.Stderr}); err != nil {
		t.Fatal(err)
	}
	moved := filepath.Join(t.TempDir(), "moved images")
	if err := os.Rename(cfg.Data.Root, moved); err != nil {
		t.Fatal(err)
	}
	t.Chdir(filepath.Dir(moved))
	if _, err := Resume(ctx, run, []string{"train.max_steps=3"}, RunOptions{Quiet: true, Writer: os.Stderr}); err == nil ||
		!strings.Contains(err.Error(), cfg.Data.Root+`": no such folder`) || !strings.Contains(err.Error(), "resume with --set data.root=DIR, the folder the images are in now") {
		t.Fatalf("resume of a run whose images moved: %v; want the folder named, and --set data.root", err)
	}
	if _, err := Resume(ctx, run, []string{"train.max_steps=3", "data.root=" + filepath.Base(moved)}, RunOptions{Quiet: true, Writer: os.Stderr}); err != nil {
		t.Fatal(err)
	}
	saved, err := config.LoadConfig(filepath.Join(run, "config.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if saved.Data.Root != moved {
		t.Errorf("config.yaml's data.root after a resume given --set data.root=%q: %q, want %q", filepath.Base(moved), saved.Data.Root, moved)
	}
}

// TestMissingRootHintOnlyForTheRunsOwn: the advice to resume with --set
// data.root is for a data.root the run's config.yaml names: a train given
// a folder that is not there, or a resume given one by --set, is told of
// that folder alone.
func TestMissingRootHintOnlyForTheRunsOwn(t *testing.T) {
	ctx := context.Background()
	missing := filepath.Join(t.TempDir(), "nope")
	run := filepath.Join(t.TempDir(), "run")
	// as a --config file gives it
	cfg := smallRun(t, run, "data.root="+missing, "train.max_steps=2")
	cfg.Sources["data.root"] = filepath.Join(t.TempDir(), "mine.yaml")
	_, err := Train(ctx, cfg, RunOptions{Quiet: true, Writer: os.Stderr})
	if err == nil || !strings.Contains(err.Error(), missing+`": no such folder`) || strings.Contains(err.Error(), "config.yaml") {
		t.Errorf("train given a data.root that is not there: %v", err)
	}
	if _, err := Train(ctx, smallRun(t, run, "train.max_steps=2"), RunOptions{Quiet: true, Writer: os.Stderr}); err != nil {
		t.Fatal(err)
	}
	_, err = Resume(ctx, run, []string{"train.max_steps=3", "data.root=" + missing}, RunOptions{Quiet: true, Writer: os.Stderr})
	if err == nil || !strings.Contains(err.Error(), missing+`": no such folder`) || strings.Contains(err.Error(), "config.yaml") {
		t.Errorf("resume given --set data.root of a folder that is not there: %v", err)
	}
}

// TestEditedConfigFileIsReported: a resume whose config.yaml was edited
// since the checkpoint says which keys differ, with both values, and goes
// on; a value this resume is given (--set, a GOGAN_ variable) is no edit of
// the file and is not reported as one.
func TestEditedConfigFileIsReported(t *testing.T) {
	saved, err := config.LoadConfig("", []string{"recipe=pix2pix"})
	if err != nil {
		t.Fatal(err)
	}
	yml, err := saved.YAML()
	if err != nil {
		t.Fatal(err)
	}
	rd := runfolder.RunDir{Path: t.TempDir()}
	ck := runfolder.Checkpoint{Dir: filepath.Join(rd.CheckpointsPath(), "step-00000002"), Step: 2}
	edited := strings.Replace(string(yml), "  lambda_L1: 100\n", "  lambda_L1: 50\n", 1)
	if edited == string(yml) {
		t.Fatalf("no lambda_L1: 100 line in:\n%s", yml)
	}
	if err := os.WriteFile(rd.ConfigPath(), []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOGAN_TRAIN_LR", "0.0005")
	cfg, err := config.LoadConfig(rd.ConfigPath(), []string{"train.max_steps=9"})
	if err != nil {
		t.Fatal(err)
	}
	logs := torchtest.CaptureLogs(t)
	if err := checkConfigFile(cfg, rd, ck, &runfolder.CheckpointState{Config: string(yml)}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "train.lambda_L1: 50 (checkpoint: 100)") {
		t.Errorf("an edited config.yaml is not reported with both values:\n%s", logs)
	}
	for _, given := range []string{"train.lr:", "train.max_steps:"} {
		if strings.Contains(logs.String(), given) {
			t.Errorf("%s given by this resume is reported as an edit of config.yaml:\n%s", given, logs)
		}
	}
}

// TestConfigFileLackingOneKeySaysKey: the refusal of a config.yaml cut
// short counts the keys it lacks in words that read ("lacks 1 key", not
// "lacks 1 keys").
func TestConfigFileLackingOneKeySaysKey(t *testing.T) {
	saved, err := config.LoadConfig("", []string{"recipe=pix2pix"})
	if err != nil {
		t.Fatal(err)
	}
	yml, err := saved.YAML()
	if err != nil {
		t.Fatal(err)
	}
	rd := runfolder.RunDir{Path: t.TempDir()}
	ck := runfolder.Checkpoint{Dir: filepath.Join(rd.CheckpointsPath(), "step-00000002"), Step: 2}
	for _, c := range []struct {
		cut  []string
		want string
	}{
		{[]string{"  lambda_L1: 100\n"}, "lacks 1 key that checkpoint step-00000002 was saved with (train.lambda_L1)"},
		{[]string{"  lambda_L1: 100\n", "  beta2: 0.999\n"}, "lacks 2 keys that checkpoint step-00000002 was saved with"},
	} {
		edited := string(yml)
		for _, line := range c.cut {
			if !strings.Contains(edited, line) {
				t.Fatalf("no %q line in:\n%s", line, yml)
			}
			edited = strings.Replace(edited, line, "", 1)
		}
		if err := os.WriteFile(rd.ConfigPath(), []byte(edited), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := config.LoadConfig(rd.ConfigPath(), nil)
		if err != nil {
			t.Fatal(err)
		}
		err = checkConfigFile(cfg, rd, ck, &runfolder.CheckpointState{Config: string(yml)})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("config.yaml without %q: %v, want %q", c.cut, err, c.want)
		}
	}
}

// TestKilledImportIsOnlyAnImportsFolder: resume refuses, saying to import
// again, only a folder whose .lock an import left that has no checkpoint and
// no status.json; a train killed as it started (its .lock names it), an
// older gogan's line, and an import killed after its checkpoint (a run to
// go on from) are resumed as before.
func TestKilledImportIsOnlyAnImportsFolder(t *testing.T) {
	for _, c := range []struct {
		lock       string
		checkpoint bool
		refused    bool
	}{
		{"gogan import (pid 1 on h)\n", false, true},
		{"gogan import (pid 1 on h)\n", true, false},
		{"gogan train (pid 1 on h)\n", false, false},
		{"gogan (pid 1 on h)\n", false, false},
		{"", false, false},
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, runfolder.LockFile), []byte(c.lock), 0o644); err != nil {
			t.Fatal(err)
		}
		if c.checkpoint {
			if err := os.MkdirAll(runfolder.CheckpointDir(dir, 1), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		err := killedImport(dir)
		if c.refused != (err != nil) || err != nil && !strings.Contains(err.Error(), "run that gogan import again with --out "+dir) {
			t.Errorf(".lock %q, a checkpoint %v: %v, want refused %v", c.lock, c.checkpoint, err, c.refused)
		}
	}
}
