package dist

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The launcher starts os.Executable(): this test binary, which then plays
// a rank as LAUNCH_TEST_RANK says (after marking that it started).
func TestMain(m *testing.M) {
	if os.Getenv("LAUNCH_TEST_LAUNCHER") != "" && os.Getenv("RANK") == "" { // a launcher of ranks playing LAUNCH_TEST_RANK
		os.Unsetenv("LAUNCH_TEST_LAUNCHER") // not its ranks
		code, _ := Launch(LaunchOptions{NProc: 2, Grace: time.Minute, SignalGrace: time.Minute}, []string{"-test.run=^$"})
		os.Exit(code)
	}
	if do := os.Getenv("LAUNCH_TEST_RANK"); do != "" {
		rank := os.Getenv("RANK")
		if do == "hang" {
			// deaf before it says it started: launch's signals, sent once
			// every rank has, would otherwise kill a rank still between
			// the two (a rank the signal ended as it started, which the
			// launcher reports as an error)
			signal.Ignore(syscall.SIGINT, syscall.SIGTERM)
		}
		os.WriteFile(filepath.Join(os.Getenv("LAUNCH_TEST_DIR"), "started-"+rank), nil, 0o644)
		switch {
		case do == "hang": // deaf to signals, never ends
			select {}
		case do == "stopped": // every rank stops after a signal rank 1 got
			os.Exit(143)
		case do == "interrupted": // every rank stops after a Ctrl-C that reached them
			os.Exit(130)
		case do == "env": // the job as the rank reads it
			j, err := FromEnv()
			note := fmt.Sprintf("%v", err)
			if j != nil {
				note = fmt.Sprintf("rank %d/%d local %d/%d at %s:%d agent store %v restart %d", j.Rank, j.World, j.LocalRank, j.LocalWorld, j.Addr, j.Port, j.AgentStore, j.Restart)
			}
			os.WriteFile(filepath.Join(os.Getenv("LAUNCH_TEST_DIR"), "env-"+rank), []byte(note), 0o644)
		case do == "late-stop" && rank == "1": // a stop: rank 0 takes its time to checkpoint
			os.Exit(143)
		case do == "late-stop":
			time.Sleep(3 * time.Second)
			os.WriteFile(filepath.Join(os.Getenv("LAUNCH_TEST_DIR"), "checkpointed"), nil, 0o644)
			os.Exit(143)
		case do == "follow-alone" && rank == "1": // says another failed; rank 0 ends well
			os.Exit(ExitPeer)
		case do == "follow" && rank == "1": // stopped by rank 0's failure, before rank 0 ends
			os.Exit(ExitPeer)
		case do == "follow":
			time.Sleep(500 * time.Millisecond)
			os.Exit(1)
		case do == "port": // is the store's port held, for the ranks to come?
			l, err := net.Listen("tcp", "127.0.0.1:"+os.Getenv("MASTER_PORT"))
			if err == nil {
				l.Close()
			}
			note := fmt.Sprintf("bind: %v, agent store: %s", err, os.Getenv("TORCHELASTIC_USE_AGENT_STORE"))
			os.WriteFile(filepath.Join(os.Getenv("LAUNCH_TEST_DIR"), "port-"+rank), []byte(note), 0o644)
		case do == "leave": // ends with the error LAUNCH_TEST_ERROR_<rank> names, as main does
			if msg := os.Getenv("LAUNCH_TEST_ERROR_" + rank); LeaveError(msg) {
				fmt.Fprint(os.Stderr, msg)
			}
			os.Exit(1)
		case do == "fail-1" && rank == "1":
			os.Exit(1)
		case do == "fail-1":
			signal.Ignore(syscall.SIGINT, syscall.SIGTERM)
			select {}
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// launch runs Launch with 2 ranks playing do, sends the launcher the
// signals sigs once both ranks started, and gives its result and how long
// it took.
func launch(t *testing.T, do string, o LaunchOptions, sigs ...syscall.Signal) (int, error, time.Duration) {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("LAUNCH_TEST_RANK", do)
	t.Setenv("LAUNCH_TEST_DIR", dir)
	o.NProc = 2
	type result struct {
		code int
		err  error
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		code, err := Launch(o, []string{"-test.run=^$"})
		done <- result{code, err}
	}()
	for len(sigs) > 0 {
		if m, _ := filepath.Glob(filepath.Join(dir, "started-*")); len(m) == 2 {
			time.Sleep(100 * time.Millisecond)
			for _, s := range sigs {
				syscall.Kill(os.Getpid(), s)
				time.Sleep(100 * time.Millisecond)
			}
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case r := <-done:
		return r.code, r.err, time.Since(start)
	case <-time.After(time.Minute):
		t.Fatalf("%s: the launcher did not return in a minute", do)
	}
	return 0, nil, 0
}

// TestLaunchEnds: the launcher returns whatever its ranks do. Ranks deaf
// to a SIGTERM are killed when its grace ends, or at once at a second
// signal; ranks stopped by a signal one of them got stop the job (143, or
// 130 for a SIGINT, the code they exit with) and are no failure, however
// long rank 0 takes to checkpoint; a rank that fails is named (not one that
// stopped for its failure first), and the others killed after the grace.
func TestLaunchEnds(t *testing.T) {
	long := LaunchOptions{Grace: time.Hour, SignalGrace: time.Hour}
	if code, err, took := launch(t, "hang", LaunchOptions{Grace: time.Hour, SignalGrace: time.Second}, syscall.SIGTERM); code != 143 || err != nil || took > 30*time.Second {
		t.Errorf("deaf ranks after SIGTERM: %d, %v after %v; want 143 once the signal's grace (1 s) ends", code, err, took)
	}
	if code, err, took := launch(t, "hang", long, syscall.SIGINT, syscall.SIGINT); code != 130 || err != nil || took > 30*time.Second {
		t.Errorf("deaf ranks after two SIGINTs: %d, %v after %v; want 130 at the second", code, err, took)
	}
	if code, err, _ := launch(t, "stopped", long); code != 143 || err != nil {
		t.Errorf("ranks stopped by a signal of their own: %d, %v; want 143 and no failure", code, err)
	}
	if code, err, _ := launch(t, "interrupted", long); code != 130 || err != nil {
		t.Errorf("ranks stopped by a SIGINT of their own: %d, %v; want 130 (a SIGINT's) and no failure", code, err)
	}
	code, err, took := launch(t, "late-stop", LaunchOptions{Grace: time.Second, SignalGrace: time.Hour})
	if _, serr := os.Stat(filepath.Join(os.Getenv("LAUNCH_TEST_DIR"), "checkpointed")); code != 143 || err != nil || serr != nil {
		t.Errorf("rank 0 checkpointing for 3 s after rank 1 stopped, a failure's grace of 1 s: %d, %v, rank 0 finished: %v; want 143 once rank 0 is done (a stop's grace)", code, err, serr == nil)
	}
	if code, err, _ := launch(t, "follow-alone", long); code != 1 || err == nil || !strings.Contains(err.Error(), "rank 1 stopped when another rank failed") {
		t.Errorf("rank 1 stopped for another's failure, rank 0 ending well: %d, %v", code, err)
	}
	if code, err, _ := launch(t, "follow", long); code != 1 || err == nil || !strings.Contains(err.Error(), "rank 0 failed") {
		t.Errorf("rank 0 failing after rank 1 stopped for it: %d, %v; want rank 0 named", code, err)
	}
	code, err, took = launch(t, "fail-1", LaunchOptions{Grace: time.Second, SignalGrace: time.Hour})
	if code != 1 || err == nil || !strings.Contains(err.Error(), "rank 1 failed") || took > 30*time.Second {
		t.Errorf("rank 1 failing, rank 0 deaf: %d, %v after %v; want 1 naming rank 1, rank 0 killed after 1 s", code, err, took)
	}
}

// TestLaunchHoldsTheStoresPort: the launcher serves the rendezvous store
// itself, on a port bound before the ranks start (a free port picked and
// let go, for rank 0 to bind later, could be taken in between: the job
// then failed to start).
func TestLaunchHoldsTheStoresPort(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("LAUNCH_TEST_RANK", "port")
	t.Setenv("LAUNCH_TEST_DIR", dir)
	if code, err := Launch(LaunchOptions{NProc: 2, Grace: time.Minute, SignalGrace: time.Minute}, []string{"-test.run=^$"}); code != 0 || err != nil {
		t.Fatalf("Launch: %d, %v", code, err)
	}
	for _, r := range []string{"0", "1"} {
		b, err := os.ReadFile(filepath.Join(dir, "port-"+r))
		if err != nil {
			t.Fatal(err)
		}
		if note := string(b); !strings.Contains(note, "address already in use") || !strings.HasSuffix(note, "agent store: true") {
			t.Errorf("rank %s: %s; want MASTER_PORT held by the launcher's store (address already in use) and TORCHELASTIC_USE_AGENT_STORE=true", r, note)
		}
	}
}

// TestLaunchGivesEachRankItsPlace: each rank reads, as from torchrun, a
// rank and a local rank of its own (LOCAL_RANK picks its GPU: two ranks on
// one GPU share its memory), the job's size on this one machine, and the
// launcher's store.
func TestLaunchGivesEachRankItsPlace(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("LAUNCH_TEST_RANK", "env")
	t.Setenv("LAUNCH_TEST_DIR", dir)
	for _, k := range []string{"RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"} {
		t.Setenv(k, "7") // the launcher's own environment must not leak through
	}
	if code, err := Launch(LaunchOptions{NProc: 3, Grace: time.Minute, SignalGrace: time.Minute}, []string{"-test.run=^$"}); code != 0 || err != nil {
		t.Fatalf("Launch: %d, %v", code, err)
	}
	port := ""
	for r := range 3 {
		b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("env-%d", r)))
		if err != nil {
			t.Fatal(err)
		}
		note := string(b)
		var p string
		if _, err := fmt.Sscanf(note, fmt.Sprintf("rank %d/3 local %d/3 at 127.0.0.1:%%s agent store true restart 0", r, r), &p); err != nil || (port != "" && p != port) || p == "7" {
			t.Errorf("rank %d reads %q; want rank %d/3 local %d/3 at 127.0.0.1 on the launcher's port (rank 0's %s), agent store, restart 0", r, note, r, r, port)
		}
		if port == "" {
			port = p
		}
	}
}

// TestLaunchPrintsAnErrorOnce: an error the ranks share (a bad config,
// missing data: each meets it alike) is printed once, rank 0's, where each
// rank printed it; one that differs from rank 0's is printed with the
// ranks that end with it, once.
func TestLaunchPrintsAnErrorOnce(t *testing.T) {
	for _, c := range []struct {
		errs []string
		want string
	}{
		{[]string{"gogan: bad\n", "gogan: bad\n", "gogan: bad\n"}, "gogan: bad\n"},
		{[]string{"gogan: bad\n", "gogan: other\nsecond line\n", "gogan: other\nsecond line\n"}, "gogan: bad\n[ranks 1, 2] gogan: other\n[ranks 1, 2] second line\n"},
		{[]string{"gogan: bad\n", "gogan: bad\n", "gogan: third\n"}, "gogan: bad\n[rank 2] gogan: third\n"},
	} {
		t.Setenv("LAUNCH_TEST_RANK", "leave")
		t.Setenv("LAUNCH_TEST_DIR", t.TempDir())
		for r, e := range c.errs {
			t.Setenv(fmt.Sprintf("LAUNCH_TEST_ERROR_%d", r), e)
		}
		f, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
		if err != nil {
			t.Fatal(err)
		}
		stderr := os.Stderr
		os.Stderr = f
		code, err := Launch(LaunchOptions{NProc: len(c.errs), Grace: time.Minute, SignalGrace: time.Minute}, []string{"-test.run=^$"})
		os.Stderr = stderr
		f.Close()
		b, _ := os.ReadFile(f.Name())
		if code != 1 || err == nil || !strings.Contains(err.Error(), "failed (exit status 1)") {
			t.Errorf("%q: %d, %v; want 1 and the rank that failed first", c.errs, code, err)
		}
		// rank 0's first, then each other once, named by the ranks that left it
		if got := string(b); got != c.want {
			t.Errorf("%q: the ranks' errors read\n%s\nwant\n%s", c.errs, got, c.want)
		}
	}
}

// TestLaunchLeavesNoFiles: the ranks' errors reach the launcher without a
// file: a temporary folder of them was left behind by a launcher killed
// (SIGKILL, or a SIGHUP it does not take) before it could remove it.
func TestLaunchLeavesNoFiles(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	t.Setenv("LAUNCH_TEST_ERROR_1", "gogan: bad\n")
	for _, do := range []string{"leave", "hang"} {
		dir := t.TempDir()
		t.Setenv("LAUNCH_TEST_RANK", do)
		t.Setenv("LAUNCH_TEST_DIR", dir)
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "LAUNCH_TEST_LAUNCHER=1")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if do == "hang" { // killed once both ranks started
			for m, _ := filepath.Glob(filepath.Join(dir, "started-*")); len(m) < 2; m, _ = filepath.Glob(filepath.Join(dir, "started-*")) {
				time.Sleep(10 * time.Millisecond)
			}
			cmd.Process.Kill()
		}
		cmd.Wait()
		if ents, _ := os.ReadDir(tmp); len(ents) > 0 {
			t.Errorf("a launcher of ranks playing %s left %s in its TMPDIR", do, ents[0].Name())
		}
	}
}
