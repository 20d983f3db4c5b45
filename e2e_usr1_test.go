package main

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gogan/runfolder"
)

// SIGUSR1 asks a training run for a checkpoint at the next step, and the
// run trains on (Slurm's --signal=USR1@SECONDS before the time limit; kill
// -USR1 for a save now).

// usr1Checkpoint sends the running cmd SIGUSR1 once metrics.csv holds more
// than after rows, and waits for the checkpoint it asks for: a step past
// after that is not one of the run's own (a multiple of every, an epoch's
// end). It fails the test where none comes within 12 more rows. pids, where
// given, get the signal instead of cmd.
func usr1Checkpoint(t *testing.T, cmd *exec.Cmd, buf *bytes.Buffer, run string, after, every int, pids ...int) int {
	t.Helper()
	if len(pids) == 0 {
		pids = []int{cmd.Process.Pid}
	}
	for _, pid := range pids {
		syscall.Kill(pid, syscall.SIGUSR1)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		cks, _ := runfolder.ListCheckpoints(run)
		for _, ck := range cks {
			if ck.Step > after && ck.Step%every != 0 {
				return ck.Step
			}
		}
		if rows := len(lossRows(t, run)) - 1; rows > after+12 || time.Now().After(deadline) {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			cmd.Wait()
			t.Fatalf("no checkpoint after SIGUSR1 at step %d (the run is at step %d; checkpoints %v):\n%s", after, rows, cks, buf.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSIGUSR1CheckpointsAndTrainsOn: SIGUSR1 writes a checkpoint at the
// next step, says so in one line, and the run trains on; killed (SIGKILL,
// as after Slurm's time limit) and resumed, it goes on from that checkpoint
// and ends as a run that never stopped, bit for bit.
func TestSIGUSR1CheckpointsAndTrainsOn(t *testing.T) {
	// 15 steps an epoch (960 samples of 64): the run's own checkpoints are
	// at the epochs' ends, multiples of 15.
	args := func(run string) []string {
		return smallDCGAN(run, "train.max_steps=60", "train.epochs=20", "train.checkpoint_every=1000")
	}
	base := t.TempDir()
	whole := filepath.Join(base, "whole")
	if out, err := gogan(t, append([]string{"train"}, args(whole)...)...); err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", err, out)
	}
	run := filepath.Join(base, "run")
	cmd, buf := startJob(t, run, 17, goganBin, append([]string{"train"}, args(run)...)...)
	at := usr1Checkpoint(t, cmd, buf, run, 17, 15)
	// trains on past it
	for deadline := time.Now().Add(time.Minute); len(lossRows(t, run))-1 < at+3; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			cmd.Wait()
			t.Fatalf("the run did not train on after the SIGUSR1 checkpoint at step %d:\n%s", at, buf.String())
		}
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	cmd.Wait()
	if want := "SIGUSR1: checkpoint at step " + strconv.Itoa(at) + ", training goes on"; strings.Count(buf.String(), want) != 1 {
		t.Errorf("the run's log does not say %q once:\n%s", want, buf.String())
	}
	if cks, _ := runfolder.ListCheckpoints(run); len(cks) == 0 || cks[0].Step != at {
		t.Fatalf("the newest checkpoint is not the SIGUSR1's of step %d: %v", at, cks)
	}
	out, err := gogan(t, "resume", run, "--quiet")
	if err != nil {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	if !strings.Contains(out, "from_step="+strconv.Itoa(at)+" ") {
		t.Errorf("resume did not go on from step %d:\n%s", at, out)
	}
	a, b := lossRows(t, whole), lossRows(t, run)
	if len(a) != len(b) {
		t.Fatalf("uninterrupted run logged %d rows, the resumed %d", len(a), len(b))
	}
	for i := range a {
		if strings.Join(a[i], ",") != strings.Join(b[i], ",") {
			t.Errorf("row %d differs:\n uninterrupted %v\n resumed       %v", i, a[i], b[i])
		}
	}
	ws, wr := checkpointOf(t, whole, false), checkpointOf(t, run, false)
	if x, y := readFile(t, ws.WeightsPath()), readFile(t, wr.WeightsPath()); !bytes.Equal(x, y) {
		t.Errorf("the last checkpoints' weights differ (%s, %s)", ws.WeightsPath(), wr.WeightsPath())
	}
}

// TestDataParallelSIGUSR1: SIGUSR1 to a 2-rank job's launcher, which
// passes it on, or to every process of the job at once (Slurm's
// --signal=USR1 signals them all, and each rank gets the launcher's copy
// too), or to one rank and, once the checkpoint it asked for is there, to
// the other (as a launcher's copy that comes late), writes one checkpoint,
// of one step for both ranks, said once (rank 0), and the job trains on;
// killed and resumed from it with --nproc 2, it ends as a job never
// stopped, bit for bit.
func TestDataParallelSIGUSR1(t *testing.T) {
	needGloo(t)
	// 20 steps an epoch (2560 samples, 2 ranks of 64): the job's own
	// checkpoints are at multiples of 20.
	args := func(run string) []string {
		return append([]string{"train", "--nproc", "2"}, distDCGAN(run, "data.max_samples=2560", "train.max_steps=30", "train.checkpoint_every=1000")...)
	}
	whole := filepath.Join(t.TempDir(), "whole")
	if out, err := gogan(t, args(whole)...); err != nil {
		t.Fatalf("uninterrupted job: %v\n%s", err, out)
	}
	for _, to := range []string{"launcher", "every process", "a rank, then the other late"} {
		t.Run(to, func(t *testing.T) {
			run := filepath.Join(t.TempDir(), "run")
			cmd, buf := startJob(t, run, 9, goganBin, args(run)...)
			defer syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			var at int
			switch to {
			case "launcher":
				at = usr1Checkpoint(t, cmd, buf, run, 9, 20)
			case "every process":
				at = usr1Checkpoint(t, cmd, buf, run, 9, 20, rankPID(t, run, 0), rankPID(t, run, 1), cmd.Process.Pid)
			default:
				// rank 0 writes the checkpoint, and takes the signal after
				// it, before or after it says the job agreed on it
				at = usr1Checkpoint(t, cmd, buf, run, 9, 20, rankPID(t, run, 1))
				syscall.Kill(rankPID(t, run, 0), syscall.SIGUSR1)
			}
			// trains on past it, long enough for a second checkpoint
			// (of a copy taken for another request) to show
			for deadline := time.Now().Add(time.Minute); len(lossRows(t, run))-1 < at+4; time.Sleep(5 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("the job did not train on after the SIGUSR1 checkpoint at step %d:\n%s", at, buf.String())
				}
			}
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			cmd.Wait()
			out := buf.String()
			if strings.Contains(out, "SIGUSR1 ignored") {
				t.Errorf("a process of the job said it ignores SIGUSR1:\n%s", out)
			}
			if n := strings.Count(out, "SIGUSR1: checkpoint at step"); n != 1 || !strings.Contains(out, "SIGUSR1: checkpoint at step "+strconv.Itoa(at)+", training goes on") {
				t.Errorf("want one line of the SIGUSR1 checkpoint at step %d, have %d:\n%s", at, n, out)
			}
			if cks, _ := runfolder.ListCheckpoints(run); len(cks) != 1 || cks[0].Step != at {
				t.Fatalf("want the one checkpoint of step %d the SIGUSR1 asked for, have %v:\n%s", at, cks, out)
			}
			if out, err := gogan(t, "resume", run, "--nproc", "2", "--quiet"); err != nil || !strings.Contains(out, "from_step="+strconv.Itoa(at)+" ") {
				t.Fatalf("resume --nproc 2 from step %d: %v\n%s", at, err, out)
			}
			sameRun(t, whole, run, 0)
		})
	}
}

// TestSIGUSR1WhileRanksStart: SIGUSR1 to the launcher as soon as its ranks
// exist (loading libtorch, whose default for it is to end) ends nothing:
// the job trains to its end.
func TestSIGUSR1WhileRanksStart(t *testing.T) {
	needGloo(t)
	run := filepath.Join(t.TempDir(), "run")
	cmd := exec.Command(goganBin, append([]string{"train", "--nproc", "2"}, distDCGAN(run, "train.max_steps=3", "train.sample_every=0")...)...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); children(cmd.Process.Pid) < 2; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("the launcher started no 2 ranks in a minute:\n%s", buf.String())
		}
	}
	cmd.Process.Signal(syscall.SIGUSR1)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("a job sent SIGUSR1 as its ranks started: %v\n%s", err, buf.String())
	}
	if cks, _ := runfolder.ListCheckpoints(run); len(cks) == 0 || cks[0].Step != 3 {
		t.Errorf("the job did not train its 3 steps: %v\n%s", cks, buf.String())
	}
}

// TestSIGUSR1ElsewhereIsSaidToDoNothing: a command with no checkpoint to
// write (serve, here) takes SIGUSR1, says it does nothing there, and goes
// on; --nproc's launcher, which passes it on, does not say so.
func TestSIGUSR1ElsewhereIsSaidToDoNothing(t *testing.T) {
	run := filepath.Join(t.TempDir(), "run")
	mustTrain(t, smallDCGAN(run, "train.max_steps=2")...)
	s := startServe(t, "--checkpoint", run)
	s.cmd.Process.Signal(syscall.SIGUSR1)
	const said = "SIGUSR1 ignored: nothing here to checkpoint (gogan train and resume write a checkpoint at SIGUSR1 while they train, and train on)"
	for deadline := time.Now().Add(time.Minute); !strings.Contains(s.log.String(), said); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("serve did not say what SIGUSR1 does there:\n%s", s.log.String())
		}
	}
	if resp, _ := do(t, "GET", s.url+"/sample?seed=7", "", nil); resp.StatusCode != 200 {
		t.Errorf("serve after SIGUSR1: %d", resp.StatusCode)
	}
	if err := s.stop(t, syscall.SIGTERM); err != nil {
		t.Errorf("exit after SIGTERM: %v\n%s", err, s.log.String())
	}
}
