package runfolder

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Run states in RUN/status.json.
const (
	StateRunning  = "running"
	StateFinished = "finished"
	StateStopped  = "stopped"  // by a signal, with a checkpoint of its last step (a second signal: without)
	StateFailed   = "failed"   // a NaN loss or an error
	StateImported = "imported" // gogan import's step-0 checkpoint, not trained here yet
)

// States gogan runs tells beside status.json's (Summary.StateWord), where
// the file cannot say: its process is gone, or no session has written it.
const (
	StateKilled   = "killed"   // status.json says running, its process is gone (or never wrote it)
	StateStarting = "starting" // a train or resume holds RUN/.lock and has not stepped
	StateUnknown  = "unknown"  // no status.json (a gogan before it), or one that does not read
)

// Status is RUN/status.json: whether a run is training and how it ended,
// for `gogan runs`. The session writes it when it starts, at every
// checkpoint and when it ends; a run killed outright (SIGKILL, a lost
// machine) leaves "running" with a process that is gone.
type Status struct {
	State   string    `json:"state"`
	Detail  string    `json:"detail,omitempty"` // how it stopped or failed
	Recipe  string    `json:"recipe"`
	Step    int       `json:"step"`
	Total   int       `json:"total_steps"`
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Started time.Time `json:"started"`
	// Job names the data-parallel job training the run (dist.Job.ID): a
	// torchrun restart resumes only a run its own job started.
	Job     string    `json:"job,omitempty"`
	Updated time.Time `json:"updated"`
}

func (r RunDir) StatusPath() string { return filepath.Join(r.Path, "status.json") }

// RefusedJobPath holds the id of a data-parallel job whose first attempt
// refused to train into the folder (it held another run's checkpoints):
// torchrun's restarts of that job refuse it too, even where it reuses the
// id of the job that trained the run (a fixed --rdzv-id).
func (r RunDir) RefusedJobPath() string { return filepath.Join(r.Path, ".refused-job") }

// WriteStatus replaces RUN/status.json atomically.
func (r RunDir) WriteStatus(s Status) error {
	s.Updated = time.Now().UTC()
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return AtomicWriteBytes(r.StatusPath(), append(b, '\n'))
}

// ReadStatus reads RUN/status.json; a run folder written before gogan kept
// one gives an error wrapping os.ErrNotExist.
func (r RunDir) ReadStatus() (Status, error) {
	var s Status
	b, err := os.ReadFile(r.StatusPath())
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("%s: %w", r.StatusPath(), err)
	}
	return s, nil
}

// Describe says in words whether the run trains now: a "running" status
// whose process is gone on this machine was killed; one from another
// machine cannot be checked from here.
func (s Status) Describe() string {
	_, d := s.describe()
	return d
}

// describe is Describe with the state in one word (s.State, StateKilled).
func (s Status) describe() (string, string) {
	switch s.State {
	case StateRunning:
		host, _ := os.Hostname()
		if s.Host != host {
			return StateRunning, fmt.Sprintf("running on %s (pid %d; cannot check from here), last update %s", s.Host, s.PID, s.Updated.Local().Format(time.DateTime))
		}
		if processAlive(s.PID) {
			return StateRunning, fmt.Sprintf("running (pid %d)", s.PID)
		}
		return StateKilled, fmt.Sprintf("killed (pid %d is gone; last update %s)", s.PID, s.Updated.Local().Format(time.DateTime))
	case StateFinished:
		return StateFinished, "finished"
	}
	word := s.State
	if word == "" {
		word = StateUnknown // a status.json damaged or written by hand
	}
	if s.Detail != "" {
		return word, s.Detail
	}
	return word, s.State
}

// Describe is s.Describe with the run folder's lock (RUN/.lock, which the
// training process holds until it ends, even by SIGKILL) as the witness of
// a running run where it can tell: status.json's pid alone cannot tell the
// process that trains the folder from one the kernel has given that pid
// since (a run killed outright, a reboot). A lock held by another process
// than status.json's is a train or resume still starting (decoding its
// data, waiting for its ranks), which writes status.json when it steps.
func (r RunDir) Describe(s Status) string {
	_, d := r.describe(s)
	return d
}

// describe is Describe with the state in one word (Status.describe's, or
// StateStarting).
func (r RunDir) describe(s Status) (string, string) {
	host, _ := os.Hostname()
	if s.State == StateRunning && s.Host != host {
		return s.describe()
	}
	switch r.lockState() {
	case lockHeld:
		who := r.lockHolder()
		if who != "" && !strings.Contains(who, fmt.Sprintf("(pid %d on %s)", s.PID, s.Host)) {
			return StateStarting, fmt.Sprintf("starting (%s holds %s; status.json, of the session before: %s)", who, LockFile, s.Describe())
		}
		if s.State == StateRunning {
			return StateRunning, fmt.Sprintf("running (pid %d)", s.PID)
		}
	case lockFree:
		if s.State != StateRunning {
			break
		}
		if processAlive(s.PID) {
			return StateKilled, fmt.Sprintf("killed (pid %d is another process now; last update %s)", s.PID, s.Updated.Local().Format(time.DateTime))
		}
		// the pid gone: Status.describe's own "killed" line
	}
	return s.describe()
}

// starting describes a run folder without status.json by its lock: one a
// process holds is a new run that has not taken its first step; one no
// process holds that still names its holder (Unlock empties it) was left
// by a process killed before it wrote status.json (an import killed while
// it wrote the checkpoint, a train as it started), which "written before
// gogan kept one" misdescribed.
func (r RunDir) starting() (string, string, bool) {
	if who := r.LeftBy(); who != "" {
		return StateKilled, fmt.Sprintf("killed as it started (%s held %s and is gone; it wrote no status.json)", who, LockFile), true
	}
	state, who := r.lockState(), r.lockHolder()
	switch {
	case state != lockHeld:
		return "", "", false
	case who == "":
		who = "a process"
	}
	return StateStarting, fmt.Sprintf("starting (%s holds %s)", who, LockFile), true
}

// LeftBy is the holder RUN/.lock names where no process holds it: a
// process killed before it let go of the folder (Unlock empties the
// file), "gogan import (pid ...)" for an import; "" otherwise.
func (r RunDir) LeftBy() string {
	if r.lockState() != lockFree {
		return ""
	}
	return r.lockHolder()
}

// HeldNow is the error LockAs of the folder would give now, where a
// process holds it (what it does, and what to do), or nil: for a refusal
// whose own advice (resume it) the holder would refuse the same way.
func (r RunDir) HeldNow() error {
	if r.lockState() != lockHeld {
		return nil
	}
	return r.heldErr()
}

// lockHolder is what the process holding RUN/.lock wrote in it ("gogan
// (pid N on HOST)"), or "".
func (r RunDir) lockHolder() string {
	b, err := os.ReadFile(filepath.Join(r.Path, LockFile))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

const (
	lockUnknown = iota // no lock file (a gogan before it), or no flock here
	lockHeld
	lockFree
)

// lockState tells whether a process holds RUN/.lock. It asks for a shared
// lock without waiting, which fails at once while a trainer holds its
// exclusive one; only a free lock is taken, and given back at once.
func (r RunDir) lockState() int {
	f, err := os.Open(filepath.Join(r.Path, LockFile))
	if err != nil {
		return lockUnknown
	}
	defer f.Close()
	switch err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); {
	case err == nil:
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return lockFree
	case errors.Is(err, syscall.EWOULDBLOCK):
		return lockHeld
	}
	return lockUnknown
}

// processAlive reports whether a process with this pid exists here.
func processAlive(pid int) bool {
	// kill(2) takes a 32-bit pid: a larger one (a damaged status.json)
	// would name another process, or with 0 our own group.
	if pid <= 0 || pid > math.MaxInt32 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
