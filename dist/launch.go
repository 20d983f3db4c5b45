package dist

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	torch "gogan/cgo"
	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// LaunchOptions are the launcher's settings.
type LaunchOptions struct {
	NProc int
	// Grace is how long the other ranks get, after one failed, to stop on
	// their own (with the error that names it) before they are killed.
	Grace time.Duration
	// SignalGrace is how long the ranks get after a SIGINT or SIGTERM to
	// finish their step and checkpoint; then, or at a second signal, the
	// ones left are killed.
	SignalGrace time.Duration
}

// Launch runs this program (os.Args[0]) with args as NProc ranks of one
// job on this machine, with the environment torchrun's workers get (RANK,
// WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT; the
// launcher serves the rendezvous store, as torchrun's agent). SIGINT and
// SIGTERM are passed on to every rank, and SIGUSR1 (a checkpoint, and the
// job goes on) to every rank that takes signals. It returns the exit code the job should end with and an error that
// names the first rank that failed. A rank stopped by a signal of its own
// (exit status 130 or 143) stops the job as one sent to the launcher does:
// not a failure.
func Launch(o LaunchOptions, args []string) (int, error) {
	// Pdeathsig follows the thread that started a child: keep them all on
	// this one, which lives until the children are gone.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	exe, err := os.Executable()
	if err != nil {
		return 1, fmt.Errorf("launch: %w", err)
	}
	// The launcher serves the rendezvous store, as torchrun's agent does:
	// its port is bound before any rank starts (a free port picked and let
	// go could be taken by another program before rank 0 bound it), and
	// the store outlives a rank 0 that dies, so that the others can name it.
	store, err := torch.ServeStore(0, time.Minute) // the ranks' waits have their own timeout
	if err != nil {
		return 1, fmt.Errorf("launch: serving the rendezvous store: %w", err)
	}
	defer store.Close()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	asks := make(chan os.Signal, 1) // SIGUSR1: a checkpoint, and the job goes on
	signal.Notify(asks, syscall.SIGUSR1)
	defer signal.Stop(asks)
	// The errors the ranks end with (LeaveError), each read from a pipe of
	// its rank's, so that one they all share is printed once; a pipe, as
	// a file would outlive a launcher killed before it removed it.
	left := make([]string, o.NProc)

	type exit struct {
		rank int
		err  error
	}
	exits := make(chan exit, o.NProc)
	var procs []*exec.Cmd
	done := make([]bool, o.NProc)
	var out sync.WaitGroup
	for r := range o.NProc {
		cmd := exec.Command(exe, args...)
		// A group of their own, so that a Ctrl-C reaches the ranks once
		// (passed on below), not twice (which quits at once); killed
		// with the launcher.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		er, ew, err := os.Pipe()
		if err != nil {
			for _, p := range procs {
				p.Process.Kill()
			}
			return 1, fmt.Errorf("launch rank %d: %w", r, err)
		}
		cmd.ExtraFiles = []*os.File{ew} // the rank's fd 3
		cmd.Env = append(os.Environ(), "RANK="+strconv.Itoa(r), "LOCAL_RANK="+strconv.Itoa(r),
			"WORLD_SIZE="+strconv.Itoa(o.NProc), "LOCAL_WORLD_SIZE="+strconv.Itoa(o.NProc), "GROUP_RANK=0",
			"MASTER_ADDR=127.0.0.1", "MASTER_PORT="+strconv.Itoa(store.Port), "TORCHELASTIC_RESTART_COUNT=0",
			"TORCHELASTIC_USE_AGENT_STORE=true", ErrorsEnv+"=3")
		var pipes []io.Closer
		if r == 0 {
			cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		} else {
			// the other ranks' lines, marked with their rank
			o, e := prefixed(&out, os.Stdout, r), prefixed(&out, os.Stderr, r)
			cmd.Stdout, cmd.Stderr, pipes = o, e, []io.Closer{o, e}
		}
		err = cmd.Start()
		ew.Close() // the rank's alone: read to its end when the rank ends
		if err != nil {
			er.Close()
			for _, p := range procs {
				p.Process.Kill()
			}
			return 1, fmt.Errorf("launch rank %d: %w", r, err)
		}
		procs = append(procs, cmd)
		out.Add(1)
		go func() {
			defer out.Done()
			b, _ := io.ReadAll(er)
			er.Close()
			left[r] = string(b)
		}()
		go func() {
			err := cmd.Wait()
			for _, p := range pipes {
				p.Close()
			}
			exits <- exit{r, err}
		}()
	}
	var first, follower *exit // the first rank to fail; the first stopped by another's failure
	var signalled os.Signal   // sent to the launcher
	stopCode := 0             // 130 or 143: a rank stopped by a signal of its own
	var kill <-chan time.Time
	killed := false   // the launcher killed what was left
	var unheard []int // ranks the passed-on signal ended before they handled signals (still starting)
	killLeft := func() {
		killed = true
		for r, p := range procs {
			if !done[r] {
				p.Process.Kill()
			}
		}
	}
	for left := o.NProc; left > 0; {
		select {
		case e := <-exits:
			left--
			done[e.rank] = true
			var ee *exec.ExitError
			if errors.As(e.err, &ee) && (ee.ExitCode() == 130 || ee.ExitCode() == 143) {
				// a stop: the others finish the step and rank 0 its checkpoint
				stopCode = cmp.Or(stopCode, ee.ExitCode())
				if kill == nil {
					kill = time.After(o.SignalGrace)
				}
				continue
			}
			if ws, ok := exitStatus(e.err); ok && ws.Signaled() && signalled != nil && ws.Signal() == signalled && !killed {
				unheard = append(unheard, e.rank)
				continue
			}
			if e.err != nil && kill == nil {
				kill = time.After(o.Grace)
			}
			if errors.As(e.err, &ee) && ee.ExitCode() == ExitPeer {
				// stopped by another rank's failure: name that one, when it ends
				if follower == nil {
					follower = &e
				}
				continue
			}
			if e.err != nil && first == nil && signalled == nil && stopCode == 0 && !killed {
				first = &e
			}
		case s := <-sigs:
			if signalled != nil { // a second signal: stop now
				killLeft()
				continue
			}
			signalled = s
			for _, p := range procs {
				p.Process.Signal(s)
			}
			if kill == nil {
				kill = time.After(o.SignalGrace)
			}
		case <-asks:
			// The ranks agree on the step they checkpoint at. One still
			// loading libtorch would end by it (the default, before Go's
			// runtime takes it): it has trained nothing to keep.
			sent := false
			for r, p := range procs {
				if !done[r] && catches(p.Process.Pid, syscall.SIGUSR1) {
					p.Process.Signal(syscall.SIGUSR1)
					sent = true
				}
			}
			if !sent {
				slog.Info("SIGUSR1 ignored: the ranks are starting, with nothing trained to checkpoint")
			}
		case <-kill:
			killLeft()
		}
	}
	out.Wait()
	printLeftErrors(left)
	switch {
	case first != nil:
		return 1, fmt.Errorf("rank %d failed (%v); the job stopped", first.rank, first.err)
	case follower != nil && signalled == nil && stopCode == 0:
		return 1, fmt.Errorf("rank %d stopped when another rank failed (its error names it); the job stopped", follower.rank)
	case signalled != nil:
		code := 143
		if signalled == syscall.SIGINT {
			code = 130
		}
		if len(unheard) > 0 {
			// They print nothing: say that they were starting (those that
			// heard it say how they stopped).
			slices.Sort(unheard)
			var ranks []string
			for _, r := range unheard {
				ranks = append(ranks, strconv.Itoa(r))
			}
			who := "rank " + ranks[0] + " before it"
			if len(ranks) > 1 {
				who = "ranks " + strings.Join(ranks, ", ") + " before they"
			}
			return code, fmt.Errorf("stopped by %s while the ranks started (%s could take the signal), before the first step: nothing trained", unix.SignalName(signalled.(syscall.Signal)), who)
		}
		return code, nil
	}
	return stopCode, nil
}

// catches reports whether process pid handles sig (Linux's SigCgt in
// /proc/PID/status).
func catches(pid int, sig syscall.Signal) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "SigCgt:"); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return err == nil && mask&(1<<(uint(sig)-1)) != 0
		}
	}
	return false
}

// exitStatus is a finished process's wait status, where err is its exit's.
func exitStatus(err error) (syscall.WaitStatus, bool) {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return 0, false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ws, ok
}

// prefixed is a pipe whose lines go to w after "[rank r] ". On a terminal
// each line first clears the line it starts on: rank 0 draws its progress
// bar there (without a newline), and another rank's warning would run on
// from the bar's end; the bar comes back below it at rank 0's next step.
func prefixed(wg *sync.WaitGroup, w io.Writer, rank int) io.WriteCloser {
	clear := ""
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		clear = "\r\033[K"
	}
	pr, pw := io.Pipe()
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			fmt.Fprintf(w, "%s[rank %d] %s\n", clear, rank, sc.Text())
		}
		io.Copy(io.Discard, pr)
	}()
	return pw
}

// ErrorsEnv names the file descriptor (a pipe to the launcher) where a rank
// the launcher started leaves the error it ends with (LeaveError): every
// rank meets a bad config or missing data alike, and where each printed it
// a user read it once per rank.
const ErrorsEnv = "GOGAN_LAUNCH_ERRORS"

// LeaveError is for the error a process ends with, msg its line(s): in a
// rank of Launch's it leaves msg for the launcher, which prints it unless
// rank 0 printed the same. It says whether the process prints msg itself:
// rank 0, whose output is the terminal, and any process Launch did not
// start (torchrun's ranks too).
func LeaveError(msg string) (print bool) {
	fd, err := strconv.Atoi(os.Getenv(ErrorsEnv))
	rank := os.Getenv("RANK")
	if err != nil || fd < 3 || rank == "" {
		return true
	}
	f := os.NewFile(uintptr(fd), ErrorsEnv)
	if st, err := f.Stat(); err != nil || st.Mode()&fs.ModeNamedPipe == 0 {
		return true // not the launcher's pipe
	}
	_, err = f.WriteString(msg)
	return rank == "0" || err != nil
}

// printLeftErrors prints the errors the ranks but rank 0 left, by rank
// (LeaveError), once each, with the ranks that left it, but for the one rank
// 0 printed itself; once every rank has ended, to compare them with rank 0's.
func printLeftErrors(left []string) {
	var order []string
	ranks := map[string][]string{}
	for r, msg := range left[1:] {
		if msg == "" || msg == left[0] {
			continue
		}
		if ranks[msg] == nil {
			order = append(order, msg)
		}
		ranks[msg] = append(ranks[msg], strconv.Itoa(r+1))
	}
	clear := ""
	if term.IsTerminal(int(os.Stderr.Fd())) {
		clear = "\r\033[K"
	}
	for _, msg := range order {
		who := "rank " + ranks[msg][0]
		if len(ranks[msg]) > 1 {
			who = "ranks " + strings.Join(ranks[msg], ", ")
		}
		for _, line := range strings.Split(strings.TrimSuffix(msg, "\n"), "\n") {
			fmt.Fprintf(os.Stderr, "%s[%s] %s\n", clear, who, line)
		}
	}
}
