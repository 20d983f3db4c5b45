package trainer

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Shutdown turns SIGINT and SIGTERM into a request the training loop polls
// between steps, so it can finish the step, write a checkpoint and exit
// cleanly. A second signal exits at once (status 128+signal), for when the
// clean stop itself hangs.
type Shutdown struct {
	parent context.Context
	ctx    context.Context
	cancel context.CancelFunc
	ch     chan os.Signal
	done   chan struct{}
	once   sync.Once

	mu       sync.Mutex
	sig      os.Signal
	onQuit   func(os.Signal) // before a second signal's exit (OnQuit)
	stepped  bool            // the loop has started (Stepping)
	stopping string          // what a first signal does once stepping (Stepping)
	quitting string          // what a second one leaves (SteppingThrough)
	// repeats: the first signal sent again within this long is the same
	// one, passed on by a launcher (CoalesceRepeats), once; firstAt is when
	// it came, coalesced whether its copy has come
	repeats   time.Duration
	firstAt   time.Time
	coalesced bool

	// SIGUSR1's checkpoint (TakeCheckpointRequests): asked, one came that
	// the loop has not taken yet (CheckpointAsked) nor a checkpoint since
	// answered; answeredAt, when the last the job agreed on was written
	// (Answered), so that a rank takes the launcher's copy of it for the
	// same one (repeats)
	asked      bool
	answeredAt time.Time
	release    func() // gives SIGUSR1 back (Stop)

	exit func(code int) // os.Exit; replaced in tests
}

// brokenPipes takes SIGPIPE for the rest of the process (SurviveBrokenPipes).
var brokenPipes = make(chan os.Signal, 1)

// SurviveBrokenPipes makes a write to a stdout or stderr whose reader is
// gone fail (EPIPE, the line lost) for the rest of the process, where Go's
// default ends it by SIGPIPE: after `gogan train 2>&1 | tee log` and
// Ctrl-C, tee ends at once, and the stop request's own log line killed the
// run before its checkpoint. Nothing reads the channel: a SIGPIPE from
// libtorch's sockets is ignored, as without it, and the processes gogan
// starts get SIGPIPE's default back.
func SurviveBrokenPipes() {
	signal.Notify(brokenPipes, syscall.SIGPIPE)
}

// usr1 is the process's answer to SIGUSR1 (ListenSIGUSR1): a training
// run's request for a checkpoint while it trains (OnSIGUSR1), else a line
// that says it does nothing here.
var usr1 struct {
	sync.Mutex
	ch chan os.Signal
	to func()
}

// ListenSIGUSR1 takes SIGUSR1 for the rest of the process (main, first):
// Slurm's --signal=USR1@SECONDS sends it before a job's time limit, and
// users send it for a save now. gogan train and resume answer it with a
// checkpoint and train on; elsewhere it is ignored, with a line that says
// so (Go's runtime drops it silently: a user or a job's log would not know
// it did nothing).
func ListenSIGUSR1() {
	usr1.Lock()
	defer usr1.Unlock()
	if usr1.ch != nil {
		return
	}
	usr1.ch = make(chan os.Signal, 1)
	signal.Notify(usr1.ch, syscall.SIGUSR1)
	go func() {
		for range usr1.ch {
			usr1.Lock()
			to := usr1.to
			usr1.Unlock()
			if to == nil {
				slog.Info("SIGUSR1 ignored: nothing here to checkpoint (gogan train and resume write a checkpoint at SIGUSR1 while they train, and train on)")
				continue
			}
			to()
		}
	}()
}

// OnSIGUSR1 makes f the answer to SIGUSR1 until the func it returns is
// called.
func OnSIGUSR1(f func()) (release func()) {
	usr1.Lock()
	usr1.to = f
	usr1.Unlock()
	return func() {
		usr1.Lock()
		usr1.to = nil
		usr1.Unlock()
	}
}

// NotifyShutdown starts listening for SIGINT and SIGTERM (and survives
// broken pipes, so that a stop can finish what it does).
func NotifyShutdown(parent context.Context) *Shutdown {
	SurviveBrokenPipes()
	ctx, cancel := context.WithCancel(parent)
	s := &Shutdown{parent: parent, ctx: ctx, cancel: cancel, ch: make(chan os.Signal, 2), done: make(chan struct{}), exit: os.Exit,
		stopping: "finishing the current step and writing a checkpoint", quitting: "without a checkpoint"}
	signal.Notify(s.ch, os.Interrupt, syscall.SIGTERM)
	go s.watch()
	return s
}

func (s *Shutdown) watch() {
	for {
		select {
		case <-s.done:
			return
		case sig := <-s.ch:
			s.mu.Lock()
			first, stepped, stopping, quitting := s.sig == nil, s.stepped, s.stopping, s.quitting
			repeat := !first && !s.coalesced && sig == s.sig && time.Since(s.firstAt) < s.repeats
			if first {
				s.sig, s.firstAt = sig, time.Now()
			}
			s.coalesced = s.coalesced || repeat
			s.mu.Unlock()
			if repeat {
				slog.Info("the same signal again at once: the launcher's copy of the first (a rank gets both where the signal went to the whole job); send it again to quit at once", "signal", SignalName(sig))
				continue
			}
			if first && !stepped {
				slog.Warn("stop requested while the run starts: it stops before its first step; send the signal again to quit at once", "signal", SignalName(sig))
				s.cancel()
				continue
			}
			if first {
				slog.Warn("stop requested: "+stopping+"; send the signal again to quit at once", "signal", SignalName(sig))
				s.cancel()
				continue
			}
			slog.Error("second signal: quitting "+quitting, "signal", SignalName(sig))
			code := ExitCode(sig)
			s.mu.Lock()
			quit := s.onQuit
			s.mu.Unlock()
			if quit != nil {
				// A hung file system must not keep the second signal from
				// quitting: it is there for when the clean stop hangs.
				done := make(chan struct{})
				go func() { quit(sig); close(done) }()
				select {
				case <-done:
				case <-time.After(2 * time.Second):
				}
			}
			s.exit(code)
		}
	}
}

// Stepping says the training loop has started: a first signal from now on
// finishes the step and writes a checkpoint.
func (s *Shutdown) Stepping() {
	s.mu.Lock()
	s.stepped = true
	s.mu.Unlock()
}

// SteppingThrough is Stepping for a loop of another kind (translate's
// images, export's files): a first signal's notice says what it does
// instead, and a second's what quitting at once leaves behind.
func (s *Shutdown) SteppingThrough(stopping, quitting string) {
	s.mu.Lock()
	s.stepped, s.stopping, s.quitting = true, stopping, quitting
	s.mu.Unlock()
}

// OnQuit sets what runs (for at most 2 seconds) before a second signal
// quits the process: the run's status says how it ended.
func (s *Shutdown) OnQuit(f func(os.Signal)) {
	s.mu.Lock()
	s.onQuit = f
	s.mu.Unlock()
}

// CoalesceRepeats takes the first signal sent again within d as the same
// one, once (a third quits): a rank of a data-parallel job gets a signal sent to the whole job
// (Ctrl-C in a terminal, where torchrun's agent keeps its workers in its
// process group, as PyTorch 1.x's does; Slurm's scancel; systemd stopping
// a service) once directly and once more passed on by the launcher, which
// would otherwise quit it at once without the stop's checkpoint.
func (s *Shutdown) CoalesceRepeats(d time.Duration) {
	s.mu.Lock()
	s.repeats = d
	s.mu.Unlock()
}

// TakeCheckpointRequests makes SIGUSR1 a request for a checkpoint at the
// next step (CheckpointAsked), until Stop. One while another is pending is
// the same request; with CoalesceRepeats, so is one within that long after
// the job wrote the checkpoint it agreed on (the launcher's copy of a
// SIGUSR1 the whole job got).
func (s *Shutdown) TakeCheckpointRequests() {
	release := OnSIGUSR1(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.repeats > 0 && !s.answeredAt.IsZero() && time.Since(s.answeredAt) < s.repeats {
			return
		}
		s.asked = true
	})
	s.mu.Lock()
	s.release = release
	s.mu.Unlock()
}

// CheckpointAsked reports whether a SIGUSR1 came since it was last called.
func (s *Shutdown) CheckpointAsked() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	asked := s.asked
	s.asked = false
	return asked
}

// Answered says a checkpoint of the step was written: a SIGUSR1 that came
// since CheckpointAsked, as the step ended or while it was written, is
// answered by it (it holds every step trained before). agreed: it is the
// one a SIGUSR1 asked for (the job's agreement).
func (s *Shutdown) Answered(agreed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked = false
	if agreed {
		s.answeredAt = time.Now()
	}
}

// Requested reports whether a signal (or the parent context) asked the run
// to stop; cheap enough to call every step.
func (s *Shutdown) Requested() bool { return s.Signal() != nil || s.parent.Err() != nil }

// Context is cancelled by the first signal, the parent, or Stop (for waits
// inside a step, e.g. on the data loader).
func (s *Shutdown) Context() context.Context { return s.ctx }

// Signal is the signal that requested the stop, or nil.
func (s *Shutdown) Signal() os.Signal {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sig
}

// ExitCode is the conventional status for a run stopped by a signal (130
// for SIGINT, 143 for SIGTERM), or 0 when none came.
func (s *Shutdown) ExitCode() int { return ExitCode(s.Signal()) }

// ExitCode is the conventional exit status of a process stopped by sig:
// 130 for SIGINT, 143 for SIGTERM; 0 for nil.
func ExitCode(sig os.Signal) int {
	switch sig {
	case nil:
		return 0
	case syscall.SIGTERM:
		return 143
	default:
		return 130
	}
}

// SignalName names sig as users and shells do (SIGINT, SIGTERM), where Go's
// String says "interrupt" and "terminated": every stop message and status
// detail names its signal through it.
func SignalName(sig os.Signal) string {
	if s, ok := sig.(syscall.Signal); ok {
		if name := unix.SignalName(s); name != "" {
			return name
		}
	}
	return fmt.Sprint(sig)
}

// Stop stops listening; signals get their default behaviour back.
func (s *Shutdown) Stop() {
	s.once.Do(func() {
		s.mu.Lock()
		release := s.release
		s.mu.Unlock()
		if release != nil {
			release()
		}
		signal.Stop(s.ch)
		close(s.done)
		s.cancel()
	})
}
