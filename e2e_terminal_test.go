package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"
	"unsafe"
)

// What a user sees on a terminal: gogan's output through a pseudo-terminal
// of a given width, replayed on a small emulator of one.

// terminal is a pseudo-terminal of cols columns: the child's side (Tty)
// and what was written to it, read from the other side until Close.
type terminal struct {
	Tty  *os.File
	ptm  *os.File
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
}

func openTerminal(t *testing.T, cols int) *terminal {
	t.Helper()
	ptm, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("no pseudo-terminals here: %v", err)
	}
	ioctl := func(req uintptr, arg unsafe.Pointer) {
		if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, ptm.Fd(), req, uintptr(arg)); e != 0 {
			t.Fatalf("ioctl %#x: %v", req, e)
		}
	}
	var unlock, n int32
	ioctl(syscall.TIOCSPTLCK, unsafe.Pointer(&unlock))
	ioctl(syscall.TIOCGPTN, unsafe.Pointer(&n))
	ws := struct{ Row, Col, X, Y uint16 }{Row: 24, Col: uint16(cols)}
	ioctl(syscall.TIOCSWINSZ, unsafe.Pointer(&ws))
	tty, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	term := &terminal{Tty: tty, ptm: ptm, done: make(chan struct{})}
	go func() {
		defer close(term.done)
		buf := make([]byte, 4096)
		for {
			n, err := ptm.Read(buf)
			term.mu.Lock()
			term.out.Write(buf[:n])
			term.mu.Unlock()
			if err != nil { // EIO once no process holds the tty
				return
			}
		}
	}()
	t.Cleanup(func() { tty.Close(); ptm.Close() })
	return term
}

// Output is what was written so far.
func (term *terminal) Output() string {
	term.mu.Lock()
	defer term.mu.Unlock()
	return term.out.String()
}

// start starts cmd writing to the terminal.
func (term *terminal) start(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	cmd.Stdout, cmd.Stderr = term.Tty, term.Tty
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
}

// waitFor waits until the terminal shows re; where it does not within 2
// minutes it kills cmd and fails the test.
func (term *terminal) waitFor(t *testing.T, cmd *exec.Cmd, re string) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); !regexp.MustCompile(re).MatchString(term.Output()); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no %s on the terminal:\n%q", re, term.Output())
		}
	}
}

// Close waits for the children's output (they exited) and returns it.
func (term *terminal) Close(t *testing.T) string {
	t.Helper()
	term.Tty.Close()
	select {
	case <-term.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the terminal's output did not end")
	}
	return term.Output()
}

// screen replays output on a terminal of cols columns with xterm's line
// wrap (a character after the last column starts the next row; a carriage
// return there goes back to the start of the same row) and returns its
// rows, trailing blanks cut.
func screen(out string, cols int) []string {
	var rows [][]rune
	row, col := 0, 0
	put := func(r rune) {
		if col == cols {
			row, col = row+1, 0
		}
		for len(rows) <= row {
			rows = append(rows, nil)
		}
		for len(rows[row]) <= col {
			rows[row] = append(rows[row], ' ')
		}
		rows[row][col] = r
		col++
	}
	for i := 0; i < len(out); {
		r, n := utf8.DecodeRuneInString(out[i:])
		i += n
		switch {
		case r == '\r':
			col = 0
		case r == '\n':
			row, col = row+1, 0
		case r == '\b':
			col = max(0, col-1)
		case r == 0x1b: // CSI: erase in line is all gogan could send
			j := i + 1
			for j < len(out) && (out[j] < 0x40 || out[j] > 0x7e) {
				j++
			}
			if strings.HasSuffix(out[i:j+1], "K") && row < len(rows) && col < len(rows[row]) {
				rows[row] = rows[row][:col]
			}
			i = j + 1
		case r >= ' ':
			put(r)
		}
	}
	lines := make([]string, len(rows))
	for i, r := range rows {
		lines[i] = strings.TrimRight(string(r), " ")
	}
	return lines
}

var barRow = regexp.MustCompile(`\d+% \|`)

// TestProgressBarOnATerminal: gogan train on an 80-column terminal, stopped
// with Ctrl-C. The bar's line (with DCGAN's five losses, the speed and the
// ETA it is wider than 80) must stay on one row that each redraw replaces,
// not wrap and leave a row behind at every redraw; the warning the signal
// prints must start a row of its own, not run on from the bar's line.
func TestProgressBarOnATerminal(t *testing.T) {
	const cols = 80
	run := filepath.Join(t.TempDir(), "run")
	term := openTerminal(t, cols)
	cmd := exec.Command(goganBin, "train", "--config", "configs/dcgan-fashion-mnist.yaml", "--set", "out="+run,
		"--set", "data.max_samples=6400", "--set", "model.ngf=16", "--set", "model.ndf=16",
		"--set", "device=cpu", "--set", "threads=2", "--set", "data.workers=2")
	term.start(t, cmd)
	term.waitFor(t, cmd, `\(([5-9]|[1-9]\d)/500\)`)
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	out := term.Close(t)
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
		t.Fatalf("train stopped by SIGINT: %v, want exit 130\n%q", err, out)
	}
	rows := screen(out, cols)
	var bars []string
	stopRow := -1
	for i, r := range rows {
		if barRow.MatchString(r) {
			bars = append(bars, r)
		}
		if strings.Contains(r, "stop requested") {
			stopRow = i
		}
	}
	if len(bars) != 1 {
		t.Errorf("%d rows of the screen hold a progress bar, want the one the redraws replace:\n%s", len(bars), strings.Join(rows, "\n"))
	}
	for _, b := range bars {
		if !regexp.MustCompile(`\(\d+/500\) dcgan \| .* img/s \| ETA \d`).MatchString(b) {
			t.Errorf("bar row %q lacks the step, the speed or the ETA", b)
		}
	}
	if stopRow < 0 || !strings.HasPrefix(rows[stopRow], "time=") {
		t.Errorf("the signal's warning does not start a row of its own:\n%s", strings.Join(rows, "\n"))
	}
	if !slicesContainsPrefix(rows, "step ") || !slicesContainsPrefix(rows, "stopped by SIGINT; continue with:") {
		t.Errorf("the final lines are not on the screen:\n%s", strings.Join(rows, "\n"))
	}
}

// TestEpochEndsOnATerminal: the line each epoch's end logs (10 steps an
// epoch here) is a row of its own above the bar, which stays one row.
func TestEpochEndsOnATerminal(t *testing.T) {
	const cols = 120
	run := filepath.Join(t.TempDir(), "run")
	term := openTerminal(t, cols)
	cmd := exec.Command(goganBin, "train", "--config", "configs/dcgan-fashion-mnist.yaml", "--set", "out="+run,
		"--set", "data.max_samples=640", "--set", "model.ngf=16", "--set", "model.ndf=16", "--set", "train.max_steps=25",
		"--set", "device=cpu", "--set", "threads=2", "--set", "data.workers=2")
	term.start(t, cmd)
	err := cmd.Wait()
	out := term.Close(t)
	if err != nil {
		t.Fatalf("train: %v\n%q", err, out)
	}
	rows := screen(out, cols)
	var bars, ends []string
	for _, r := range rows {
		if barRow.MatchString(r) {
			bars = append(bars, r)
		}
		if strings.Contains(r, "end of epoch") {
			ends = append(ends, r)
		}
	}
	if len(bars) != 1 || !strings.Contains(bars[0], "(25/25)") {
		t.Errorf("rows of the screen holding a progress bar: %q, want one at (25/25):\n%s", bars, strings.Join(rows, "\n"))
	}
	if len(ends) != 2 {
		t.Fatalf("%d end-of-epoch rows, want 2:\n%s", len(ends), strings.Join(rows, "\n"))
	}
	for i, r := range ends {
		if !strings.HasPrefix(r, "time=") || !strings.Contains(r, fmt.Sprintf(" epoch=%d epochs=5 step=%d ", i+1, 10*(i+1))) {
			t.Errorf("end-of-epoch row %q does not start a row of its own, or names another epoch", r)
		}
	}
}

func slicesContainsPrefix(rows []string, prefix string) bool {
	for _, r := range rows {
		if strings.HasPrefix(r, prefix) {
			return true
		}
	}
	return false
}

// TestSecondSignalOnATerminal: a second Ctrl-C quits at once; what it
// leaves on the terminal ends with its message on a line of its own (the
// shell's prompt comes on the next), not with the bar drawn again.
func TestSecondSignalOnATerminal(t *testing.T) {
	const cols = 100
	run := filepath.Join(t.TempDir(), "run")
	term := openTerminal(t, cols)
	// steps of a second or more on two cores, so that both signals come
	// inside one
	cmd := exec.Command(goganBin, "train", "--config", "configs/dcgan-fashion-mnist.yaml", "--set", "out="+run,
		"--set", "data.max_samples=2048", "--set", "data.batch_size=512", "--set", "data.image_size=64",
		"--set", "device=cpu", "--set", "threads=2", "--set", "data.workers=2")
	term.start(t, cmd)
	term.waitFor(t, cmd, `\(1/20\)`)
	cmd.Process.Signal(syscall.SIGINT)
	term.waitFor(t, cmd, `stop requested`)
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	out := term.Close(t)
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 || !strings.Contains(out, "second signal") {
		t.Fatalf("train stopped by two SIGINTs: %v, want exit 130 after 'second signal'\n%q", err, out)
	}
	rows := screen(out, cols)
	for len(rows) > 0 && rows[len(rows)-1] == "" {
		rows = rows[:len(rows)-1]
	}
	last := len(rows) - 1
	for last > 0 && !strings.HasPrefix(rows[last], "time=") { // the message's wrapped rows
		last--
	}
	if !strings.HasSuffix(out, "\n") || !strings.Contains(strings.Join(rows[last:], ""), "second signal: quitting without a checkpoint") {
		t.Errorf("the terminal does not end with the second signal's message on its own line:\n%s", strings.Join(rows, "\n"))
	}
	for _, r := range rows[last:] {
		if barRow.MatchString(r) {
			t.Errorf("a bar is drawn after the message: %q", r)
		}
	}
}

// TestOnlyRankZeroDrawsTheBar: torchrun leaves its ranks the terminal it
// was started from; rank 0 tells how the job goes, and another rank
// drawing a bar of its own there would overwrite rank 0's line by line.
func TestOnlyRankZeroDrawsTheBar(t *testing.T) {
	needGloo(t)
	run := filepath.Join(t.TempDir(), "run")
	port := freeTCPPort(t)
	term := openTerminal(t, 200)
	var rank0 bytes.Buffer
	cmds := make([]*exec.Cmd, 2)
	for r := range cmds {
		cmds[r] = exec.Command(goganBin, "train", "--config", "configs/dcgan-fashion-mnist.yaml", "--set", "out="+run,
			"--set", "data.max_samples=960", "--set", "model.ngf=16", "--set", "model.ndf=16", "--set", "train.max_steps=6",
			"--set", "device=cpu", "--set", "threads=1", "--set", "data.workers=1")
		cmds[r].Env = append(os.Environ(), "RANK="+strconv.Itoa(r), "LOCAL_RANK="+strconv.Itoa(r), "WORLD_SIZE=2",
			"LOCAL_WORLD_SIZE=2", "MASTER_ADDR=127.0.0.1", "MASTER_PORT="+strconv.Itoa(port))
		cmds[r].Stdout, cmds[r].Stderr = &rank0, &rank0
		if r == 1 {
			cmds[r].Stdout, cmds[r].Stderr = term.Tty, term.Tty
		}
		if err := cmds[r].Start(); err != nil {
			t.Fatal(err)
		}
	}
	err0, err1 := cmds[0].Wait(), cmds[1].Wait()
	out := term.Close(t)
	if err0 != nil || err1 != nil {
		t.Fatalf("rank 0: %v\n%s\nrank 1: %v\n%q", err0, rank0.String(), err1, out)
	}
	if barRow.MatchString(out) {
		t.Errorf("rank 1 drew a progress bar on its terminal:\n%s", strings.Join(screen(out, 200), "\n"))
	}
	if !strings.Contains(rank0.String(), "progress") || !strings.Contains(rank0.String(), "step=6") {
		t.Errorf("rank 0 did not log the job's progress:\n%s", rank0.String())
	}
}

// TestOtherRanksLinesOnATerminal: gogan train --nproc 2 on a terminal;
// SIGINT to rank 1 alone makes it warn (rank 0 stops after the step the
// ranks agree on, saying nothing): the launcher's "[rank 1]" line starts a
// row of its own instead of running on from rank 0's bar.
func TestOtherRanksLinesOnATerminal(t *testing.T) {
	needGloo(t)
	const cols = 200
	run := filepath.Join(t.TempDir(), "run")
	term := openTerminal(t, cols)
	cmd := exec.Command(goganBin, "train", "--nproc", "2", "--config", "configs/dcgan-fashion-mnist.yaml", "--set", "out="+run,
		"--set", "data.max_samples=6400", "--set", "model.ngf=16", "--set", "model.ndf=16",
		"--set", "device=cpu", "--set", "threads=1", "--set", "data.workers=1")
	term.start(t, cmd)
	term.waitFor(t, cmd, `\(([3-9]|[1-9]\d)/250\)`)
	syscall.Kill(rankPID(t, run, 1), syscall.SIGINT)
	err := cmd.Wait()
	out := term.Close(t)
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
		t.Fatalf("after SIGINT to rank 1: %v, want exit 130\n%q", err, out)
	}
	rows := screen(out, cols)
	found := false
	for _, r := range rows {
		if strings.Contains(r, "[rank 1] time=") && strings.Contains(r, "level=WARN") {
			found = true
			if !strings.HasPrefix(r, "[rank 1] time=") {
				t.Errorf("rank 1's warning does not start its row: %q", r)
			}
		}
	}
	if !found {
		t.Errorf("no warning of rank 1's on the terminal:\n%s", strings.Join(rows, "\n"))
	}
}
