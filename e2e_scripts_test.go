package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"gogan/runfolder"
)

// runsJSON runs gogan runs --json DIR and decodes its stdout, a JSON object
// a line, by path; stderr is not part of what a script parses.
func runsJSON(t *testing.T, dir string) map[string]runfolder.SummaryJSON {
	t.Helper()
	cmd := exec.Command(goganBin, "runs", "--json", dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("gogan runs --json %s: %v\n%s", dir, err, stderr.String())
	}
	got := map[string]runfolder.SummaryJSON{}
	for sc := bufio.NewScanner(bytes.NewReader(out)); sc.Scan(); {
		var s runfolder.SummaryJSON
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatalf("gogan runs --json: a line that is no JSON object: %v\n%s", err, out)
		}
		got[filepath.Base(s.Path)] = s
	}
	return got
}

// TestRunsJSONForScripts: gogan runs --json gives a script each run's state
// in one word (running, killed, finished), its step, newest checkpoint and
// losses, one JSON object a line, where the table pads columns with spaces
// that a path and the losses hold too; a folder of no runs yet is no error.
func TestRunsJSONForScripts(t *testing.T) {
	base := t.TempDir()
	done, killed := filepath.Join(base, "a run"), filepath.Join(base, "killed")
	mustTrain(t, smallDCGAN(done, "train.max_steps=3")...)
	cmd, buf := startJob(t, killed, 3, goganBin, append([]string{"train"}, smallDCGAN(killed, "train.max_steps=100000", "train.checkpoint_every=2")...)...)
	running := runsJSON(t, base)["killed"]
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if running.State != "running" {
		t.Errorf("a run training: state %q, want running (%+v)\n%s", running.State, running, buf.String())
	}
	got := runsJSON(t, base)
	if len(got) != 2 {
		t.Fatalf("gogan runs --json listed %d runs, want 2: %+v", len(got), got)
	}
	d := got["a run"]
	if d.Path != done || d.Recipe != "dcgan" || d.State != "finished" || d.Step != 3 || d.Total != 3 ||
		d.Checkpoint != "step-00000003" || len(d.Losses) != 5 || d.Losses["Loss_D"] <= 0 {
		t.Errorf("the finished run: %+v", d)
	}
	if k := got["killed"]; k.State != "killed" || !strings.HasPrefix(k.Detail, "killed (pid ") || k.Step < 3 {
		t.Errorf("the SIGKILLed run: %+v", k)
	}
	empty := t.TempDir()
	if out, err := exec.Command(goganBin, "runs", "--json", empty).CombinedOutput(); err != nil || len(out) != 0 {
		t.Errorf("gogan runs --json of a folder of no runs: %v, %q (want nothing, status 0)", err, out)
	}
}

// TestStopWithTheLogReaderGone: `gogan train 2>&1 | tee train.log` and
// Ctrl-C (or a scheduler's signal to the job's process group): tee ends at
// once, and the run, whose stop request and result lines then go to a pipe
// nobody reads, still writes its checkpoint and exits 130; Go's default
// for such a write (death by SIGPIPE, status 141) lost the checkpoint.
func TestStopWithTheLogReaderGone(t *testing.T) {
	run := filepath.Join(t.TempDir(), "run")
	cmd := exec.Command(goganBin, append([]string{"train"}, smallDCGAN(run, "train.max_steps=100000", "train.checkpoint_every=1000")...)...)
	log := interruptWithReaderGone(t, cmd, func(line string) bool { return strings.Contains(line, "progress") })
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
		t.Errorf("after SIGINT with the log's reader gone: %v (want exit 130)\n%s", err, log.String())
	}
	if cks, err := filepath.Glob(filepath.Join(run, "checkpoints", "step-*")); err != nil || len(cks) != 1 {
		t.Errorf("checkpoints after the stop: %v %v, want the stopped step's", cks, err)
	}
	if st, _ := os.ReadFile(filepath.Join(run, "status.json")); !strings.Contains(string(st), `"state": "stopped"`) {
		t.Errorf("status.json after the stop:\n%s", st)
	}
}

// TestServeStopWithTheLogReaderGone: gogan serve 2>&1 | tee log, then
// Ctrl-C to the group ends tee at once; serve's stop line then went to a
// closed pipe and Go ended it by SIGPIPE (exit 141, the requests under way
// cut off), where a stop exits 0.
func TestServeStopWithTheLogReaderGone(t *testing.T) {
	run := filepath.Join(t.TempDir(), "run")
	mustTrain(t, smallDCGAN(run, "train.max_steps=1")...)
	cmd := exec.Command(goganBin, "serve", "--checkpoint", run, "--addr", "127.0.0.1:0", "--device", "cpu", "--threads", "1")
	log := interruptWithReaderGone(t, cmd, func(line string) bool { return strings.HasPrefix(line, "serving on ") })
	if err := cmd.Wait(); err != nil {
		t.Errorf("serve after SIGINT with the log's reader gone: %v (want exit status 0)\n%s", err, log.String())
	}
}

// interruptWithReaderGone starts cmd with its output into a pipe (tee),
// reads it up to the line ready says is there, closes the pipe's reader
// (tee ended by the same Ctrl-C) and sends cmd SIGINT; it returns what was
// read, for the caller's cmd.Wait.
func interruptWithReaderGone(t *testing.T, cmd *exec.Cmd, ready func(line string) bool) *bytes.Buffer {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	var log bytes.Buffer
	for sc := bufio.NewScanner(r); sc.Scan(); {
		log.WriteString(sc.Text() + "\n")
		if ready(sc.Text()) {
			break
		}
	}
	r.Close()
	cmd.Process.Signal(os.Interrupt)
	return &log
}
