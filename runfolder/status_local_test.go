package runfolder

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestKilledByTheLockIsLocalTime: the killed lines that RunDir.Describe
// writes itself (a free RUN/.lock: the pid gone, or another process's
// now) print the last update in the local time zone, as Status.Describe's.
// TestLastUpdateIsLocalTime's run folder has no lock file, so it reaches
// only Status.Describe.
func TestKilledByTheLockIsLocalTime(t *testing.T) {
	saved := time.Local
	defer func() { time.Local = saved }()
	time.Local = time.FixedZone("JST", 9*3600)
	updated := time.Date(2026, 12, 6, 3, 5, 38, 0, time.UTC)
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, LockFile), nil, 0o644)
	for _, pid := range []int{gone.Process.Pid, os.Getpid()} {
		st := Status{State: StateRunning, PID: pid, Host: host, Updated: updated}
		if d := (RunDir{Path: dir}).Describe(st); !strings.HasPrefix(d, "killed") || !strings.Contains(d, "last update 2026-12-06 12:05:38") {
			t.Errorf("pid %d, lock free: %q", pid, d)
		}
	}
}
