package trainer

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"gogan/cgo/torchtest"
	"gogan/config"
	"gogan/runfolder"
)

const signalHelperEnv = "TRAINER_SIGNAL_HELPER" // not GOGAN_*: those must be config keys

// TestShutdownHelperProcess is the "training loop" the signal tests run as
// a subprocess: it steps until asked to stop, then checkpoints and exits.
func TestShutdownHelperProcess(t *testing.T) {
	mode := os.Getenv(signalHelperEnv)
	if mode == "" {
		t.Skip("subprocess helper for TestShutdown*")
	}
	run := os.Getenv("TRAINER_SIGNAL_RUN")
	sd := NotifyShutdown(context.Background())
	defer sd.Stop()
	switch os.Getenv("TRAINER_SIGNAL_HOOK") {
	case "write":
		sd.OnQuit(func(sig os.Signal) { os.WriteFile(filepath.Join(run, "quit"), []byte(sig.String()), 0o644) })
	case "hang":
		sd.OnQuit(func(os.Signal) { select {} }) // a status write on a dead file system
	}
	fmt.Println("ready")
	for step := 1; step <= 20000; step++ {
		time.Sleep(time.Millisecond) // one "training step"
		if step == 2 {
			fmt.Println("stepped") // a stop from now on is mid-run
		}
		if !sd.Requested() {
			continue
		}
		if mode == "hang" {
			fmt.Println("hanging")
			time.Sleep(30 * time.Second) // a stuck checkpoint write
		}
		if _, err := runfolder.WriteCheckpoint(run, runfolder.CheckpointState{Step: step}, func(w io.Writer) error {
			_, err := w.Write([]byte("weights"))
			return err
		}); err != nil {
			fmt.Println("checkpoint:", err)
			os.Exit(2)
		}
		fmt.Printf("stopped at step %d by %v\n", step, sd.Signal())
		os.Exit(sd.ExitCode())
	}
	fmt.Println("never stopped")
	os.Exit(3)
}

type helper struct {
	cmd   *exec.Cmd
	lines chan string
	out   strings.Builder
}

func startHelper(t *testing.T, mode, run string, env ...string) *helper {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestShutdownHelperProcess$", "-test.count=1")
	cmd.Env = append(append(os.Environ(), signalHelperEnv+"="+mode, "TRAINER_SIGNAL_RUN="+run), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout // slog warnings, for failure messages
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	h := &helper{cmd: cmd, lines: make(chan string, 100)}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			h.lines <- sc.Text()
		}
		close(h.lines)
	}()
	return h
}

// waitLine waits for a line starting with prefix and returns it.
func (h *helper) waitLine(t *testing.T, prefix string) string {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case l, ok := <-h.lines:
			if !ok {
				t.Fatalf("helper ended before %q; output:\n%s", prefix, h.out.String())
			}
			h.out.WriteString(l + "\n")
			if strings.HasPrefix(l, prefix) {
				return l
			}
		case <-timeout:
			t.Fatalf("no %q within 20 s; output:\n%s", prefix, h.out.String())
		}
	}
}

func (h *helper) exitCode(t *testing.T) int {
	t.Helper()
	for l := range h.lines { // drain so Wait can finish
		h.out.WriteString(l + "\n")
	}
	done := make(chan error, 1)
	go func() { done <- h.cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(20 * time.Second):
		t.Fatal("helper did not exit")
	}
	return -1
}

func TestShutdownCheckpointsOnSignal(t *testing.T) {
	for _, tc := range []struct {
		sig  syscall.Signal
		code int
		name string
	}{{syscall.SIGTERM, 143, "terminated"}, {syscall.SIGINT, 130, "interrupt"}} {
		t.Run(tc.name, func(t *testing.T) {
			run := t.TempDir()
			h := startHelper(t, "clean", run)
			// after some steps (a fixed 50 ms after "ready" could pass
			// before a loaded machine ran the helper's first)
			h.waitLine(t, "stepped")
			if err := h.cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			line := h.waitLine(t, "stopped at step")
			var step int
			var by string
			fmt.Sscanf(line, "stopped at step %d by %s", &step, &by)
			if code := h.exitCode(t); code != tc.code {
				t.Fatalf("exit code %d, want %d; output:\n%s", code, tc.code, h.out.String())
			}
			if step < 2 || by != tc.name {
				t.Fatalf("stopped at step %d by %q", step, by)
			}
			torchtest.CaptureLogs(t)
			c, st, err := runfolder.LatestValid(run)
			if err != nil || st.Step != step || c.Step != step {
				t.Fatalf("checkpoint after stop: %v %+v %v", c, st, err)
			}
		})
	}
}

// TestShutdownSecondSignalQuitsAtOnce: a second signal quits while the
// clean stop hangs, after the OnQuit hook (the run's status) has run, or
// after 2 s of a hook that hangs too.
func TestShutdownSecondSignalQuitsAtOnce(t *testing.T) {
	for _, hook := range []string{"", "write", "hang"} {
		t.Run("hook="+hook, func(t *testing.T) {
			run := t.TempDir()
			h := startHelper(t, "hang", run, "TRAINER_SIGNAL_HOOK="+hook)
			h.waitLine(t, "ready")
			h.cmd.Process.Signal(syscall.SIGINT)
			h.waitLine(t, "hanging")
			start := time.Now()
			h.cmd.Process.Signal(syscall.SIGINT)
			if code := h.exitCode(t); code != 130 {
				t.Fatalf("exit code %d, want 130; output:\n%s", code, h.out.String())
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Fatalf("took %v to quit", d)
			}
			if strings.Contains(h.out.String(), "stopped at step") {
				t.Fatal("the hung stop went on")
			}
			if cks, _ := runfolder.ListCheckpoints(run); len(cks) != 0 {
				t.Fatalf("checkpoints written: %v", cks)
			}
			if b, err := os.ReadFile(filepath.Join(run, "quit")); hook == "write" && (err != nil || string(b) != "interrupt") {
				t.Errorf("the quit hook wrote %q (%v), want interrupt", b, err)
			}
		})
	}
}

// TestQuitStatus: the status a second signal leaves says the run stopped
// without the stop's checkpoint, from the status last written.
func TestQuitStatus(t *testing.T) {
	s := &session{rd: runfolder.RunDir{Path: t.TempDir()}, step: 7}
	if err := os.MkdirAll(filepath.Join(s.rd.Path, runfolder.CheckpointsDir, "step-00000007"), 0o755); err != nil {
		t.Fatal(err)
	}
	s.status = runfolder.Status{State: runfolder.StateRunning, Recipe: "dcgan", PID: os.Getpid()}
	s.writeStatus()
	s.step = 9 // trained on, status not written since
	s.quitStatus(os.Interrupt)
	s.writeStatus() // the loop going on for the moment before the exit
	st, err := s.rd.ReadStatus()
	if err != nil || st.State != runfolder.StateStopped || st.Step != 7 || st.Describe() != "quit by a second SIGINT (resume goes on from the newest checkpoint, step 7)" {
		t.Errorf("status after a second signal: %+v (%v), %q", st, err, st.Describe())
	}
}

func TestShutdownParentContextAndStop(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	sd := NotifyShutdown(ctx)
	if sd.Requested() || sd.Signal() != nil || sd.ExitCode() != 0 {
		t.Fatal("requested before anything happened")
	}
	cancel()
	if !sd.Requested() {
		t.Fatal("parent cancel not seen")
	}
	sd.Stop()
	sd.Stop() // idempotent
	select {
	case <-sd.Context().Done():
	default:
		t.Fatal("context alive after Stop")
	}
}

// TestShutdownTakesALaunchersCopyAsOne: a rank (CoalesceRepeats) takes the
// first signal sent again at once as the same one (the launcher's copy of
// a signal the whole job got) and stops cleanly; the signal sent again
// later, or another signal, quits at once.
func TestShutdownTakesALaunchersCopyAsOne(t *testing.T) {
	for _, c := range []struct {
		name   string
		second os.Signal
		wait   time.Duration
		quit   bool
	}{
		{"copy", syscall.SIGINT, 0, false},
		{"again later", syscall.SIGINT, 400 * time.Millisecond, true},
		{"another signal", syscall.SIGTERM, 0, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := NotifyShutdown(context.Background())
			defer s.Stop()
			exited := make(chan int, 1)
			s.exit = func(code int) { exited <- code }
			s.CoalesceRepeats(launcherRepeat)
			if c.wait > 0 {
				s.CoalesceRepeats(c.wait / 2)
			}
			s.Stepping()
			s.ch <- syscall.SIGINT
			time.Sleep(c.wait)
			s.ch <- c.second
			select {
			case code := <-exited:
				if !c.quit {
					t.Fatalf("quit (%d) at the launcher's copy of the first signal", code)
				}
			case <-time.After(time.Second):
				if c.quit {
					t.Fatal("did not quit at a second signal")
				}
			}
			if s.Signal() != syscall.SIGINT || !s.Requested() {
				t.Errorf("the stop's signal is %v, want interrupt", s.Signal())
			}
			if !c.quit {
				// Ctrl-C again (its copy coalesced already): quits at once.
				s.ch <- syscall.SIGINT
				select {
				case <-exited:
				case <-time.After(time.Second):
					t.Fatal("did not quit at a signal after the launcher's copy")
				}
			}
		})
	}
}

// TestSteppingThroughSaysWhatItLeaves: a loop of another kind (export's
// files) says what its first signal does and what quitting at once at a
// second leaves, not training's "without a checkpoint".
func TestSteppingThroughSaysWhatItLeaves(t *testing.T) {
	logs := torchtest.CaptureLogs(t)
	s := NotifyShutdown(context.Background())
	defer s.Stop()
	exited := make(chan int, 1)
	s.exit = func(code int) { exited <- code }
	s.SteppingThrough("removing the unfinished files", "at once: unfinished hidden .tmp- files may stay in out/")
	s.ch <- syscall.SIGTERM
	s.ch <- syscall.SIGTERM
	select {
	case code := <-exited:
		if code != 143 {
			t.Errorf("exit code %d, want 143", code)
		}
	case <-time.After(time.Second):
		t.Fatal("did not quit at a second signal")
	}
	out := logs.String()
	for _, want := range []string{"stop requested: removing the unfinished files", "second signal: quitting at once: unfinished hidden .tmp- files may stay in out/"} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "checkpoint") {
		t.Errorf("the log speaks of a checkpoint:\n%s", out)
	}
}

// TestQuitStatusBeforeAnyCheckpoint: a second signal before a new run's
// first checkpoint leaves nothing to resume; the status says so, and that
// train starts the run again, instead of pointing resume at a checkpoint
// that does not exist.
func TestQuitStatusBeforeAnyCheckpoint(t *testing.T) {
	s := &session{rd: runfolder.RunDir{Path: t.TempDir()}}
	s.status = runfolder.Status{State: runfolder.StateRunning, Recipe: "dcgan", PID: os.Getpid()}
	s.writeStatus()
	s.step = 3 // trained, no checkpoint written
	s.quitStatus(os.Interrupt)
	st, err := s.rd.ReadStatus()
	want := "quit by a second SIGINT before the run's first checkpoint (nothing to resume: gogan train with its config and out starts it again)"
	if err != nil || st.State != runfolder.StateStopped || st.Describe() != want {
		t.Errorf("status after a second signal before any checkpoint: %+v (%v), %q", st, err, st.Describe())
	}
}

// TestSIGUSR1AsksForACheckpoint: SIGUSR1 asks a training run's Shutdown
// for one checkpoint, taken once; a second while one is pending adds
// nothing; in a job (CoalesceRepeats), one within that long after the
// agreed checkpoint is its launcher's copy, but not one after another
// checkpoint; after Stop it asks nothing.
func TestSIGUSR1AsksForACheckpoint(t *testing.T) {
	ListenSIGUSR1()
	usr1 := func() {
		syscall.Kill(os.Getpid(), syscall.SIGUSR1)
		time.Sleep(50 * time.Millisecond) // delivered through the watcher
	}
	s := NotifyShutdown(context.Background())
	s.TakeCheckpointRequests()
	if s.CheckpointAsked() {
		t.Fatal("a checkpoint asked for before any SIGUSR1")
	}
	usr1()
	usr1()
	if !s.CheckpointAsked() || s.CheckpointAsked() {
		t.Error("two SIGUSR1s while one was pending: want one request, taken once")
	}
	if s.Requested() {
		t.Error("SIGUSR1 asked the run to stop")
	}
	usr1() // after the step's flags were taken, before its checkpoint was written
	s.Answered(false)
	if s.CheckpointAsked() {
		t.Error("a SIGUSR1 answered by the step's checkpoint asked for another")
	}
	s.CoalesceRepeats(300 * time.Millisecond)
	s.Answered(false) // a checkpoint no SIGUSR1 asked for (train.checkpoint_every's)
	usr1()
	if !s.CheckpointAsked() {
		t.Error("a SIGUSR1 just after a checkpoint it did not ask for was taken for a launcher's copy")
	}
	s.Answered(true)
	usr1()
	if s.CheckpointAsked() {
		t.Error("the launcher's copy of an answered SIGUSR1 asked for another checkpoint")
	}
	time.Sleep(300 * time.Millisecond)
	usr1()
	if !s.CheckpointAsked() {
		t.Error("a SIGUSR1 after the launcher's window asked for nothing")
	}
	s.Stop()
	usr1()
	if s.CheckpointAsked() {
		t.Error("a SIGUSR1 after Stop asked for a checkpoint")
	}
}

// TestCheckpointOnceAtAnEpochsEnd: a checkpoint due on an epoch's last
// step (train.checkpoint_every, a SIGUSR1) is written once, as the
// epoch's end's: the step's checkpoint and then the epoch's wrote it
// twice. The SIGUSR1 line still names the step, once; the run trains as
// one that was asked for no checkpoint.
func TestCheckpointOnceAtAnEpochsEnd(t *testing.T) {
	ListenSIGUSR1()
	writes := map[int]int{}
	writeCheckpoint = func(run string, st runfolder.CheckpointState, w func(io.Writer) error) (runfolder.Checkpoint, error) {
		writes[st.Step]++
		return runfolder.WriteCheckpoint(run, st, w)
	}
	defer func() { writeCheckpoint = runfolder.WriteCheckpoint }()
	var logs bytes.Buffer
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))

	root := writeImageFolder(t, 24, 40)
	train := func(name string, onStep func(int, map[string]float64), sets ...string) string {
		t.Helper()
		clear(writes)
		cfg, err := config.LoadConfig("", append([]string{"recipe=dcgan", "data.dataset=folder", "data.root=" + root, "data.image_size=32",
			"model.ngf=8", "model.ndf=8", "data.batch_size=4", "data.drop_last=true", "data.workers=2", "train.epochs=2",
			"train.log_every=1", "train.sample_every=3", "device=cpu", "threads=2", "out=" + filepath.Join(t.TempDir(), name)}, sets...))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Train(context.Background(), cfg, RunOptions{Quiet: true, Writer: io.Discard, OnStep: onStep}); err != nil {
			t.Fatal(err)
		}
		return cfg.Out
	}
	once := map[int]int{6: 1, 12: 1} // 6 steps an epoch
	straight := train("straight", nil)
	if !maps.Equal(writes, once) {
		t.Errorf("no checkpoint asked for: writes by step %v, want %v", writes, once)
	}
	train("every", nil, "train.checkpoint_every=3")
	if want := map[int]int{3: 1, 6: 1, 9: 1, 12: 1}; !maps.Equal(writes, want) {
		t.Errorf("train.checkpoint_every=3: writes by step %v, want %v", writes, want)
	}
	usr1 := train("usr1", func(step int, _ map[string]float64) {
		if step != 5 {
			return
		}
		// a real SIGUSR1, taken before step 6 ends
		got := make(chan struct{})
		usr1.Lock()
		answer := usr1.to
		usr1.to = func() { answer(); close(got) }
		usr1.Unlock()
		syscall.Kill(os.Getpid(), syscall.SIGUSR1)
		select {
		case <-got:
		case <-time.After(10 * time.Second):
			t.Fatal("SIGUSR1 not taken in 10 s")
		}
	})
	if !maps.Equal(writes, once) {
		t.Errorf("SIGUSR1 on the epoch's last step: writes by step %v, want %v", writes, once)
	}
	if want := "SIGUSR1: checkpoint at step 6, training goes on"; strings.Count(logs.String(), want) != 1 {
		t.Errorf("the log does not say %q once:\n%s", want, logs.String())
	}
	sameMetrics(t, "asked for a checkpoint at an epoch's end vs not", straight, usr1, 12, 0)
	grids, _ := os.ReadDir(filepath.Join(straight, "samples"))
	if len(grids) < 3 {
		t.Fatalf("the straight run's samples: %v", grids)
	}
	for _, g := range grids {
		a, errA := os.ReadFile(filepath.Join(straight, "samples", g.Name()))
		b, errB := os.ReadFile(filepath.Join(usr1, "samples", g.Name()))
		if errA != nil || errB != nil || !bytes.Equal(a, b) {
			t.Errorf("samples/%s: %v, %v, or not the same as the straight run's", g.Name(), errA, errB)
		}
	}
}
