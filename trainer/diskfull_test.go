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
