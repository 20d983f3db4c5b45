package trainer

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gogan/runfolder"
)

// TestDiskFull: a run whose disk fills up (a 6 MiB tmpfs, room for a few checkpoints of a small DCGAN) stops with an
// error naming the run folder, its newest good checkpoint and how to
// resume; that checkpoint stays valid and nothing half-written is left; once
// there is room again the run resumes from it to the end. Mounting needs
// root, which make test and CI have.
func TestDiskFull(t *testing.T) {
	if os.Getuid() != 0 {
		t.Fatal("TestDiskFull mounts a size-limited tmpfs and needs root (make test runs as root in CI)")
	}
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v\n%s", err, out)
	}
	defer exec.Command("umount", mnt).Run()
	run := filepath.Join(mnt, "run")
	ctx := context.Background()
	// Every step checkpoints (and all are kept) until the disk is full.
	cfg := smallRun(t, run, "train.checkpoint_every=1", "train.keep_checkpoints=0", "train.sample_every=0",
		"logging.tensorboard=false", "train.epochs=50")
	_, err := Train(ctx, cfg, RunOptions{Quiet: true, Writer: os.Stderr})
	if err == nil {
		t.Fatal("a run on a full disk finished")
	}
	cks, lerr := runfolder.ListCheckpoints(run)
	if lerr != nil || len(cks) < 2 {
		t.Fatalf("checkpoints before the disk filled: %v, %v (the test needs a few)", cks, lerr)
	}
	ck, st, verr := runfolder.LatestValid(run)
	if verr != nil || ck.Dir != cks[0].Dir {
		t.Fatalf("newest checkpoint %s is not valid: %v (newest valid %s)", cks[0].Dir, verr, ck.Dir)
	}
	for _, want := range []string{"no space left on device", "checkpoint into " + filepath.Join(run, "checkpoints"),
		"the disk of " + run + " is full", "newest good checkpoint is " + ck.Dir, "gogan resume " + run} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	left, _ := filepath.Glob(filepath.Join(run, "checkpoints", ".*"))
	if len(left) > 0 {
		t.Errorf("half-written checkpoint folders left: %v", left)
	}
	t.Logf("disk full after step %d: %v", st.Step, err)

	// Room again: the run resumes from its newest checkpoint and finishes.
	if out, err := exec.Command("mount", "-o", "remount,size=64m", mnt).CombinedOutput(); err != nil {
		t.Fatalf("remount: %v\n%s", err, out)
	}
	want := st.Step + 3
	res, err := Resume(ctx, run, []string{"train.max_steps=" + strconv.Itoa(want), "train.checkpoint_every=0"}, RunOptions{Quiet: true, Writer: os.Stderr})
	if err != nil {
		t.Fatalf("resume after freeing space: %v", err)
	}
	if res.Step != want {
		t.Errorf("resumed run ended at step %d, want %d", res.Step, want)
	}
}

// TestGridThatCannotBeWrittenCostsNoTraining: a sample grid that cannot be
// written (here a folder where the grid goes) stops the run after the
// checkpoint of its step, not before it, so the training up to there is
// kept; the error names the grid, what is in its way and how to go on.
// Before, an epoch's grid came first and its failure lost the whole epoch.
func TestGridThatCannotBeWrittenCostsNoTraining(t *testing.T) {
	ctx := context.Background()
	opt := RunOptions{Quiet: true, Writer: os.Stderr}
	for _, c := range []struct {
		name, grid string
		sets       []string
		want       int // the step of the checkpoint the grid's failure follows
	}{
		{"epoch", "epoch-0002.png", []string{"train.epochs=2", "train.sample_every=0"}, 8},
		{"steps", "latest.png", []string{"train.epochs=2", "train.sample_every=2", "train.checkpoint_every=2"}, 6},
		// a grid's step without a checkpoint of its own gets one
		{"steps without checkpoints", "latest.png", []string{"train.epochs=2", "train.sample_every=2"}, 6},
	} {
		t.Run(c.name, func(t *testing.T) {
			run := filepath.Join(t.TempDir(), "run")
			// one epoch of 4 steps, then the grid's place taken
			if _, err := Train(ctx, smallRun(t, run, "train.epochs=1", "logging.tensorboard=false"), opt); err != nil {
				t.Fatal(err)
			}
			grid := filepath.Join(run, "samples", c.grid)
			os.Remove(grid)
			if err := os.MkdirAll(filepath.Join(grid, "kept"), 0o755); err != nil {
				t.Fatal(err)
			}
			_, err := Resume(ctx, run, c.sets, opt)
			if err == nil {
				t.Fatal("a run whose grid cannot be written finished")
			}
			ck, _, verr := runfolder.LatestValid(run)
			if verr != nil || ck.Step != c.want {
				t.Fatalf("newest valid checkpoint %s (%v), want step %d: the training before the grid is lost", ck.Dir, verr, c.want)
			}
			for _, want := range []string{"sample grid: write " + grid, "a folder of that name is in the way; move it aside",
				"the newest good checkpoint is " + ck.Dir, "gogan resume " + run} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			if _, serr := os.Stat(filepath.Join(grid, "kept")); serr != nil {
				t.Errorf("the folder in the way was touched: %v", serr)
			}
			// moved aside, the run goes on from that checkpoint
			os.RemoveAll(grid)
			res, err := Resume(ctx, run, nil, opt)
			if err != nil || res.Step != 8 {
				t.Fatalf("resume after moving the folder: %+v, %v", res, err)
			}
		})
	}
}
