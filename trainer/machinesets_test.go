package trainer

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gogan/config"
	"gogan/runfolder"
)

// TestResumeCommandsCarryOnlyThisCallsSets: machineSets, the --set device
// and threads that printed resume commands carry, are the current call's:
// a train, or a resume refused before it reads its config (a checkpoint
// folder given), prints none of an earlier resume's in the same process.
func TestResumeCommandsCarryOnlyThisCallsSets(t *testing.T) {
	t.Cleanup(func() { machineSets = nil })
	run := filepath.Join(t.TempDir(), "run")
	ck := filepath.Join(run, "checkpoints", "step-00000001")
	if err := os.MkdirAll(ck, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(ck, runfolder.StateFile), []byte("{}"), 0o644)
	machineSets = []string{"device=cpu"} // an earlier resume's
	_, err := Resume(context.Background(), ck, nil, RunOptions{})
	if err == nil || !strings.Contains(err.Error(), "(gogan resume "+run+")") {
		t.Errorf("resume of a checkpoint folder after another resume: %v, want its bare resume command", err)
	}
	machineSets = []string{"device=cpu"}
	cfg, err := config.LoadConfig("", []string{"recipe=dcgan", "data.root=" + filepath.Join(run, "no-data"), "out=" + filepath.Join(run, "new")})
	if err != nil {
		t.Fatal(err)
	}
	Train(context.Background(), cfg, RunOptions{})
	if got := ResumeCommand("R"); got != "gogan resume R" {
		t.Errorf("a train after a resume: its resume command is %q", got)
	}
}
