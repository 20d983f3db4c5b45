package runfolder

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gogan/config"
)

func TestStatusDescribe(t *testing.T) {
	r := RunDir{Path: t.TempDir()}
	host, _ := os.Hostname()
	if err := r.WriteStatus(Status{State: StateRunning, Recipe: "dcgan", Step: 12, Total: 100, PID: os.Getpid(), Host: host}); err != nil {
		t.Fatal(err)
	}
	st, err := r.ReadStatus()
	if err != nil || st.Step != 12 || st.Total != 100 || st.Updated.IsZero() {
		t.Fatalf("round trip: %+v, %v", st, err)
	}
	if d := st.Describe(); d != "running (pid "+strconv.Itoa(os.Getpid())+")" {
		t.Errorf("a live run: %q", d)
	}
	// A process that has exited: the run was killed (SIGKILL, a lost machine).
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	st.PID = cmd.Process.Pid
	if d := st.Describe(); !strings.HasPrefix(d, "killed (pid "+strconv.Itoa(st.PID)+" is gone") {
		t.Errorf("a run whose process is gone: %q", d)
	}
	// A pid past 32 bits (a damaged file) names no process: not this one
	// (1<<32 + ours), not our process group (1<<62 would be 0 in 32 bits).
	host, _ = os.Hostname()
	for _, pid := range []int{1<<32 + os.Getpid(), 1 << 62} {
		st.PID, st.Host = pid, host
		if d := st.Describe(); !strings.HasPrefix(d, "killed (pid "+strconv.Itoa(pid)+" is gone") {
			t.Errorf("pid %d: %q", pid, d)
		}
	}
	st.Host = "another-machine"
	if d := st.Describe(); !strings.HasPrefix(d, "running on another-machine") {
		t.Errorf("a run on another machine: %q", d)
	}
	st = Status{State: StateStopped, Detail: "stopped by SIGTERM at step 40"}
	if d := st.Describe(); d != "stopped by SIGTERM at step 40" {
		t.Errorf("stopped: %q", d)
	}
	if _, err := (RunDir{Path: t.TempDir()}).ReadStatus(); !os.IsNotExist(err) {
		t.Errorf("no status.json: %v", err)
	}
}

// TestRunsSummary: gogan runs' lines for a run folder with metrics, a valid
// checkpoint and a status; an older folder without status.json; a folder
// that is not a run.
func TestRunsSummary(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a")
	os.MkdirAll(a, 0o755)
	os.WriteFile(filepath.Join(a, "config.yaml"), []byte("recipe: pix2pix\nseed: 1\n"), 0o644)
	m, err := OpenMetrics(filepath.Join(a, "metrics.csv"), []string{"G_GAN", "G_L1"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	m.Write(10, 0, 0, time.Time{}, map[string]float64{"G_GAN": 0.75, "G_L1": 12.5}, 2e-4, 3)
	m.Write(20, 0, 0, time.Time{}, map[string]float64{"G_GAN": 0.5, "G_L1": 10.25}, 2e-4, 3)
	m.Close()
	writeTestCheckpoint(t, a, 20, []byte("weights"))
	(RunDir{Path: a}).WriteStatus(Status{State: StateStopped, Detail: "stopped by SIGINT at step 20", Recipe: "pix2pix", Step: 20, Total: 400})

	b := filepath.Join(dir, "b")
	os.MkdirAll(b, 0o755)
	os.WriteFile(filepath.Join(b, "config.yaml"), []byte(config.EffectiveHeader+"recipe: dcgan\n"), 0o644)
	os.MkdirAll(filepath.Join(dir, "not-a-run"), 0o755)

	runs, err := FindRuns(dir)
	if err != nil || len(runs) != 2 || runs[0] != a || runs[1] != b {
		t.Fatalf("runs %v, %v", runs, err)
	}
	if one, _ := FindRuns(a); len(one) != 1 || one[0] != a {
		t.Errorf("a run folder itself: %v", one)
	}
	// A folder with a config.yaml that gogan did not write (another tool's
	// experiment, with its own metrics.csv) is no run; one whose config.yaml
	// lost its first line to an edit is, by its status.json or its
	// checkpoints; so is a run that failed before its first checkpoint.
	foreign := filepath.Join(dir, "c-other-tool")
	os.MkdirAll(filepath.Join(foreign, "checkpoints", "epoch_3"), 0o755)
	os.WriteFile(filepath.Join(foreign, "config.yaml"), []byte("model: resnet\nlr: 0.1\n"), 0o644)
	os.WriteFile(filepath.Join(foreign, "metrics.csv"), []byte("epoch,loss\n1,0.5\n"), 0o644)
	edited := filepath.Join(dir, "d-edited")
	os.MkdirAll(edited, 0o755)
	os.WriteFile(filepath.Join(edited, "config.yaml"), []byte("recipe: dcgan\n"), 0o644)
	(RunDir{Path: edited}).WriteStatus(Status{State: StateStopped, Recipe: "dcgan", Step: 3})
	editedOld := filepath.Join(dir, "e-edited-no-status")
	os.MkdirAll(editedOld, 0o755)
	os.WriteFile(filepath.Join(editedOld, "config.yaml"), []byte("recipe: dcgan\n"), 0o644)
	writeTestCheckpoint(t, editedOld, 5, []byte("weights"))
	crashed := filepath.Join(dir, "f-crashed")
	os.MkdirAll(filepath.Join(crashed, "samples"), 0o755)
	os.WriteFile(filepath.Join(crashed, "config.yaml"), []byte(config.EffectiveHeader+"recipe: pix2pix\n"), 0o644)
	(RunDir{Path: crashed}).WriteStatus(Status{State: StateFailed, Detail: "failed: out of memory", Recipe: "pix2pix"})
	if runs, err := FindRuns(dir); err != nil || !slices.Equal(runs, []string{a, b, edited, editedOld, crashed}) {
		t.Errorf("runs %v, %v; want all but %s", runs, err, foreign)
	}
	if runs, err := FindRuns(foreign); err != nil || len(runs) != 0 {
		t.Errorf("a folder of another tool's config.yaml itself: %v, %v", runs, err)
	}
	os.Rename(b, filepath.Join(foreign, "b"))
	if runs, err := FindRuns(foreign); err != nil || len(runs) != 1 || runs[0] != filepath.Join(foreign, "b") {
		t.Errorf("a run inside a folder of another tool's config.yaml: %v, %v", runs, err)
	}
	os.Rename(filepath.Join(foreign, "b"), b)
	var out bytes.Buffer
	if err := WriteSummaries(&out, []Summary{Summarize(a), Summarize(b)}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("output:\n%s", out.String())
	}
	for _, want := range []string{a, "pix2pix", "20/400", "step-00000020", "stopped by SIGINT at step 20", "G_GAN=0.5", "G_L1=10.25"} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("line %q lacks %q", lines[1], want)
		}
	}
	for _, want := range []string{b, "dcgan", "none yet", "unknown (no status.json"} {
		if !strings.Contains(lines[2], want) {
			t.Errorf("line %q lacks %q", lines[2], want)
		}
	}
}

// TestRunningNeedsTheLock: a "running" status whose pid the kernel has
// given to another process since the run was killed (here: this test's
// own, alive but not training the folder) is a killed run when nothing
// holds RUN/.lock, and gogan runs says so; while the lock is held, the run
// is running. A run folder without a lock file keeps the pid check.
func TestRunningNeedsTheLock(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "config.yaml"), []byte("recipe: dcgan\n"), 0o644)
	r := RunDir{Path: dir}
	host, _ := os.Hostname()
	if err := r.WriteStatus(Status{State: StateRunning, Recipe: "dcgan", Step: 5, Total: 10, PID: os.Getpid(), Host: host}); err != nil {
		t.Fatal(err)
	}
	if s := Summarize(dir).State; !strings.HasPrefix(s, "running (pid ") {
		t.Errorf("no lock file (the pid is checked): %q", s)
	}
	lock, err := r.LockAs("train")
	if err != nil {
		t.Fatal(err)
	}
	if s := Summarize(dir).State; s != "running (pid "+strconv.Itoa(os.Getpid())+")" {
		t.Errorf("lock held: %q", s)
	}
	lock.Unlock() // the trainer is gone (SIGKILL drops its lock); its pid lives on
	if s := Summarize(dir).State; !strings.HasPrefix(s, "killed (pid "+strconv.Itoa(os.Getpid())+" is another process now") {
		t.Errorf("lock free, pid reused: %q", s)
	}
	// what gogan sample and translate say of such a run without checkpoints
	if _, _, _, err := OpenCheckpoint(dir); err == nil || strings.Contains(err.Error(), "the run is running") {
		t.Errorf("open a killed run without checkpoints: %v", err)
	}
	// the lock that the check took for a moment is free again
	lock, err = r.LockAs("train")
	if err != nil {
		t.Fatalf("lock after gogan runs: %v", err)
	}
	lock.Unlock()
}

// TestLastUpdateIsLocalTime: status.json keeps its times in UTC; gogan runs
// prints them in the local time zone, as date and ls do (it printed UTC
// unmarked: nine hours off in Tokyo).
func TestLastUpdateIsLocalTime(t *testing.T) {
	saved := time.Local
	defer func() { time.Local = saved }()
	time.Local = time.FixedZone("JST", 9*3600)
	updated := time.Date(2026, 12, 6, 3, 5, 38, 0, time.UTC)
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	for _, st := range []Status{
		{State: StateRunning, PID: gone.Process.Pid, Host: host, Updated: updated},
		{State: StateRunning, PID: 1, Host: "another-machine", Updated: updated},
	} {
		if d := st.Describe(); !strings.Contains(d, "last update 2026-12-06 12:05:38") {
			t.Errorf("%s: %q", st.Host, d)
		}
		if d := (RunDir{Path: t.TempDir()}).Describe(st); !strings.Contains(d, "last update 2026-12-06 12:05:38") {
			t.Errorf("run folder, %s: %q", st.Host, d)
		}
	}
	// the killed lines RunDir.Describe writes itself, with a free RUN/.lock:
	// the pid gone, or another process's now
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, LockFile), nil, 0o644)
	for _, pid := range []int{gone.Process.Pid, os.Getpid()} {
		st := Status{State: StateRunning, PID: pid, Host: host, Updated: updated}
		if d := (RunDir{Path: dir}).Describe(st); !strings.HasPrefix(d, "killed") || !strings.Contains(d, "last update 2026-12-06 12:05:38") {
			t.Errorf("pid %d, lock free: %q", pid, d)
		}
	}
}

// TestRunsFollowsLinks: a run folder in DIR by a symbolic link (a run kept
// on another disk) is listed; a dangling link and a link to a file are not.
func TestRunsFollowsLinks(t *testing.T) {
	dir, elsewhere := t.TempDir(), t.TempDir()
	run := filepath.Join(elsewhere, "big-run")
	os.MkdirAll(run, 0o755)
	os.WriteFile(filepath.Join(run, "config.yaml"), []byte(config.EffectiveHeader+"recipe: dcgan\n"), 0o644)
	os.Symlink(run, filepath.Join(dir, "linked"))
	os.Symlink(filepath.Join(elsewhere, "gone"), filepath.Join(dir, "dangling"))
	os.Symlink(filepath.Join(run, "config.yaml"), filepath.Join(dir, "file"))
	runs, err := FindRuns(dir)
	if err != nil || len(runs) != 1 || runs[0] != filepath.Join(dir, "linked") {
		t.Fatalf("runs %v, %v", runs, err)
	}
}

// TestRunsTableStaysNarrow: a failed run's reason, long and even of several
// lines (a joined error), is the end of its own line: it neither pads the
// other runs' lines past it nor breaks the table.
func TestRunsTableStaysNarrow(t *testing.T) {
	why := "failed: D's output is NaN or infinite at step 1, which the binary cross-entropy refuses\n" + strings.Repeat("lower train.lr, check the data and the initial weights; ", 5)
	var out bytes.Buffer
	err := WriteSummaries(&out, []Summary{
		{Path: "runs/a", Recipe: "dcgan", Step: 6, Total: 6, Checkpoint: "step-00000006", State: "finished", Losses: "Loss_D=1.152 Loss_G=0.8028"},
		{Path: "runs/b", Recipe: "dcgan", Step: 0, Total: 200, Checkpoint: "none valid", State: why},
	})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("want a header and 2 lines:\n%s", out.String())
	}
	if len(lines[1]) > 120 || !strings.Contains(lines[1], "Loss_G=0.8028") {
		t.Errorf("the finished run's line, %d characters: %q", len(lines[1]), lines[1])
	}
	if !strings.Contains(lines[2], "refuses lower train.lr") {
		t.Errorf("the failed run's line: %q", lines[2])
	}
}

// TestRunsTableQuotesOddPaths: a run folder whose name holds a newline, a
// tab or bytes that are not UTF-8 is one quoted cell of its own line, where
// the newline split the row in two and the tab shifted its columns.
func TestRunsTableQuotesOddPaths(t *testing.T) {
	var out bytes.Buffer
	err := WriteSummaries(&out, []Summary{
		{Path: "runs/a\nb", Recipe: "dcgan", Step: 6, Total: 6, Checkpoint: "step-00000006", State: "finished"},
		{Path: "runs/c\td", Recipe: "dcgan", Step: 6, Total: 6, Checkpoint: "step-00000006", State: "finished"},
		{Path: "runs/\xffe", Recipe: "dcgan", Step: 6, Total: 6, Checkpoint: "step-00000006", State: "finished"},
		{Path: "runs/plain é", Recipe: "dcgan", Step: 6, Total: 6, Checkpoint: "step-00000006", State: "finished"},
	})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 5 {
		t.Fatalf("want a header and 4 lines:\n%s", out.String())
	}
	for i, want := range []string{`"runs/a\nb"`, `"runs/c\td"`, `"runs/\xffe"`, "runs/plain é "} {
		if !strings.HasPrefix(lines[1+i], want) || !strings.Contains(lines[1+i], "dcgan") {
			t.Errorf("line %d: %q, want it to begin with %s", 1+i, lines[1+i], want)
		}
	}
}

// TestStartingRun: a train or resume that holds RUN/.lock but has not
// stepped yet (decoding its data, building its networks, waiting for its
// ranks) is starting, not what status.json says of the session before it
// ("stopped", "killed") nor "no status.json"; a run that has written its
// end and not yet let go of the lock is what it wrote.
func TestStartingRun(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "config.yaml"), []byte("recipe: dcgan\n"), 0o644)
	r := RunDir{Path: dir}
	lock, err := r.LockAs("train")
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Unlock()
	host, _ := os.Hostname()
	me := fmt.Sprintf("gogan train (pid %d on %s) holds .lock", os.Getpid(), host)
	if s := Summarize(dir).State; s != "starting ("+me+")" {
		t.Errorf("a new run before its first step: %q", s)
	}
	r.WriteStatus(Status{State: StateStopped, Detail: "stopped by SIGINT at step 90", Recipe: "dcgan", Step: 90, PID: os.Getpid() + 1, Host: host})
	if s := Summarize(dir).State; s != "starting ("+me+"; status.json, of the session before: stopped by SIGINT at step 90)" {
		t.Errorf("a resume before its first step: %q", s)
	}
	r.WriteStatus(Status{State: StateFinished, Recipe: "dcgan", Step: 100, PID: os.Getpid(), Host: host})
	if s := Summarize(dir).State; s != "finished" {
		t.Errorf("a run that has finished and not yet unlocked: %q", s)
	}
}

// TestNewRunStartingIsListed: a new run holds RUN/.lock while it decodes
// its data, before it writes config.yaml: gogan runs lists it as starting
// (it listed no run there); a folder whose lock no one holds is not a run.
func TestNewRunStartingIsListed(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "new")
	os.Mkdir(dir, 0o755)
	lock, err := RunDir{Path: dir}.LockAs("train")
	if err != nil {
		t.Fatal(err)
	}
	if runs, err := FindRuns(base); err != nil || !slices.Equal(runs, []string{dir}) {
		t.Fatalf("FindRuns of a folder holding a new run's lock alone: %v, %v; want %s", runs, err, dir)
	}
	if s := Summarize(dir).State; !strings.HasPrefix(s, "starting (gogan train (pid ") {
		t.Errorf("a new run decoding its data: %q, want starting", s)
	}
	lock.Unlock()
	if runs, err := FindRuns(base); err != nil || len(runs) != 0 {
		t.Errorf("FindRuns of a folder with a lock no one holds: %v, %v; want none", runs, err)
	}
}

// TestKilledAsItStarted: a run folder whose process was killed before it
// wrote status.json (gogan import SIGKILLed while it wrote the checkpoint:
// config.yaml there, the lock free but still naming its holder, which
// Unlock would have emptied) is listed as killed, not as "unknown (no
// status.json: written before gogan kept one)", which it said; a folder
// whose holder unlocked stays unknown.
func TestKilledAsItStarted(t *testing.T) {
	dir := t.TempDir()
	rd := RunDir{Path: dir}
	if err := os.WriteFile(rd.ConfigPath(), []byte(config.EffectiveHeader+"recipe: pix2pix\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	lock, err := rd.LockAs("train")
	if err != nil {
		t.Fatal(err)
	}
	holder, _ := os.ReadFile(filepath.Join(dir, LockFile))
	lock.Unlock()
	if s := Summarize(dir).State; !strings.HasPrefix(s, "unknown (no status.json") {
		t.Errorf("a folder whose holder unlocked it: %q, want unknown", s)
	}
	// the lock file as a SIGKILL leaves it: the kernel dropped the lock,
	// nothing emptied the file
	if err := os.WriteFile(filepath.Join(dir, LockFile), holder, 0o644); err != nil {
		t.Fatal(err)
	}
	want := "killed as it started (" + strings.TrimSpace(string(holder)) + " held .lock and is gone; it wrote no status.json)"
	if s := Summarize(dir); s.State != want || s.Recipe != "pix2pix" {
		t.Errorf("a folder whose process was killed before status.json: %q (recipe %s), want %q", s.State, s.Recipe, want)
	}
}

// TestRunsSummaryOfForeignMetrics: a metrics.csv that gogan did not write
// (no step column: another tool's log in the folder) is not summarised; its
// rows indexed column -1 and gogan runs panicked. ReadMetrics refuses it,
// naming the file.
func TestRunsSummaryOfForeignMetrics(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "config.yaml"), []byte("recipe: dcgan\n"), 0o644)
	p := filepath.Join(dir, "metrics.csv")
	os.WriteFile(p, []byte("iteration,loss\n1,0.5\n2,0.25\n"), 0o644)
	if s := Summarize(dir); s.Losses != "" || s.Step != 0 {
		t.Errorf("summary of a foreign metrics.csv: %+v", s)
	}
	if _, err := ReadMetrics(p); err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "step") {
		t.Errorf("ReadMetrics: %v", err)
	}
}

// TestRunsSummaryLeavesOutLossesGone: a run resumed without one of its
// losses (pix2pixHD's VGG loss turned off) keeps that column in
// metrics.csv, empty in its new rows; gogan runs' last losses leave it
// out rather than show it as NaN, which reads as a run that diverged.
func TestRunsSummaryLeavesOutLossesGone(t *testing.T) {
	run := t.TempDir()
	p := RunDir{Path: run}.MetricsPath()
	m, err := OpenMetrics(p, []string{"G_GAN", "G_VGG"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	m.Write(10, 0, 0, time.Time{}, map[string]float64{"G_GAN": 0.75, "G_VGG": 3}, 2e-4, 3)
	m.Close()
	if m, err = OpenMetrics(p, []string{"G_GAN"}, 10); err != nil {
		t.Fatal(err)
	}
	m.Write(20, 0, 0, time.Time{}, map[string]float64{"G_GAN": 0.5}, 2e-4, 3)
	m.Close()
	if s := Summarize(run); s.Losses != "G_GAN=0.5" || s.Step != 20 {
		t.Errorf("step %d, last losses %q; want step 20, \"G_GAN=0.5\"", s.Step, s.Losses)
	}
}

// TestRunsCheckpointNoneYetIsNotDamage: a run that has not reached its
// first checkpoint (training, or stopped before it) says none, and only a
// run whose checkpoints are all damaged says none is valid: a watcher
// reading "none valid" of a run that is an hour from its first checkpoint
// would look for damage that is not there.
func TestRunsCheckpointNoneYetIsNotDamage(t *testing.T) {
	dir := t.TempDir()
	fresh := filepath.Join(dir, "fresh")
	os.MkdirAll(fresh, 0o755)
	os.WriteFile(filepath.Join(fresh, "config.yaml"), []byte(config.EffectiveHeader+"recipe: dcgan\n"), 0o644)
	(RunDir{Path: fresh}).WriteStatus(Status{State: StateRunning, Recipe: "dcgan", Step: 0, Total: 400, PID: os.Getpid()})
	if s := Summarize(fresh); s.Checkpoint != "none yet" {
		t.Errorf("a run before its first checkpoint: checkpoint %q, want \"none yet\"", s.Checkpoint)
	}
	damaged := filepath.Join(dir, "damaged")
	os.MkdirAll(damaged, 0o755)
	os.WriteFile(filepath.Join(damaged, "config.yaml"), []byte(config.EffectiveHeader+"recipe: dcgan\n"), 0o644)
	c := writeTestCheckpoint(t, damaged, 20, []byte("weights"))
	os.WriteFile(c.WeightsPath(), []byte("weightz"), 0o644)
	if s := Summarize(damaged); s.Checkpoint != "none valid" {
		t.Errorf("a run whose only checkpoint is damaged: checkpoint %q, want \"none valid\"", s.Checkpoint)
	}
}
