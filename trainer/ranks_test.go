package trainer

import (
	"strings"
	"testing"
)

// TestBatchNormDiffersOnAnotherRankCount: BatchNorm's statistics go on as
// an uninterrupted job's only where both jobs normalise over the same whole
// global batch: one rank, or SyncBatchNorm, on each side.
func TestBatchNormDiffersOnAnotherRankCount(t *testing.T) {
	cases := []struct {
		sameGlobal bool
		was        int
		wasSync    bool
		now        int
		nowSync    bool
		want       string // a part of the difference named, "" for none
	}{
		{true, 1, false, 2, true, ""},
		{true, 2, true, 1, false, ""},
		{true, 2, true, 4, true, ""},
		{true, 1, false, 2, false, "each rank normalises its own share"},
		{true, 2, true, 4, false, "each rank normalises its own share"},
		{true, 4, false, 2, false, "each rank normalises its own share"},
		// the job that normalised per rank, resumed over the whole batch
		{true, 2, false, 1, false, "checkpoint's 2 ranks ran without train.sync_bn"},
		{true, 2, false, 4, true, "checkpoint's 2 ranks ran without train.sync_bn"},
		{false, 1, false, 2, true, "BatchNorm's batch statistics"},
		{false, 2, true, 4, true, "BatchNorm's batch statistics"},
	}
	for _, c := range cases {
		got := batchNormDiffers(c.sameGlobal, c.was, c.wasSync, c.now, c.nowSync)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("same global %v, %d ranks (sync_bn %v) -> %d (sync_bn %v): %q, want %q", c.sameGlobal, c.was, c.wasSync, c.now, c.nowSync, got, c.want)
		}
	}
}

// TestResumeCommandIsTheJobs: the command every message gives to continue a
// run (a refusal, a stop on a full disk or a bad file, a signal's, which
// names the program as started) is the job's: with --nproc where one machine's ranks ran it (the trainer's
// messages gave a bare resume, which goes on with one process), torchrun's
// again on every machine of several, the same processes again where they
// were started by hand; a folder named like a flag as ./-run,
// one with a space quoted.
func TestResumeCommandIsTheJobs(t *testing.T) {
	for _, c := range []struct{ run, world, local, want string }{
		{"/r/a b", "", "", "gogan resume '/r/a b'"},
		{"-run", "", "", "gogan resume ./-run"},
		{"/r/a b", "1", "1", "gogan resume '/r/a b'"},
		{"/r/a b", "2", "2", "gogan resume '/r/a b' --nproc 2"},
		{"/r/x", "4", "2", "gogan resume /r/x   (under torchrun on every machine, as this job was started)"},
		{"/r/x", "2", "", "gogan resume /r/x   (in every rank's process, with the RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT this job was started with)"},
	} {
		t.Setenv("WORLD_SIZE", c.world)
		t.Setenv("LOCAL_WORLD_SIZE", c.local)
		if got := ResumeCommand(c.run); got != c.want {
			t.Errorf("WORLD_SIZE=%q LOCAL_WORLD_SIZE=%q: ResumeCommand(%q) = %q, want %q", c.world, c.local, c.run, got, c.want)
		}
		// the signal message's: the program as started, to run as printed
		want := "'/opt/my tools/gogan'" + strings.TrimPrefix(c.want, "gogan")
		if got := ResumeCommandOf("/opt/my tools/gogan", c.run); got != want {
			t.Errorf("WORLD_SIZE=%q LOCAL_WORLD_SIZE=%q: ResumeCommandOf(/opt/my tools/gogan, %q) = %q, want %q", c.world, c.local, c.run, got, want)
		}
	}
}
