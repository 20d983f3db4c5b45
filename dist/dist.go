// Package dist is gogan's data parallelism on PyTorch's c10d: a job's ranks
// from the environment torchrun sets, joining the process group (NCCL on
// CUDA, Gloo on the CPU), naming the ranks that stopped answering when a
// collective fails, and a launcher for one machine (gogan train --nproc).
package dist

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	torch "gogan/cgo"
)

// Job is this process's place in a data-parallel job.
type Job struct {
	Rank, World           int
	LocalRank, LocalWorld int
	Addr                  string // MASTER_ADDR: the rendezvous store's host
	Port                  int    // MASTER_PORT
	// AgentStore: torchrun's agent (or gogan's launcher) serves the store
	// (every rank is a client; keys under /worker/attempt_<Restart>, as
	// PyTorch's env:// rendezvous).
	AgentStore bool
	Restart    int    // TORCHELASTIC_RESTART_COUNT: how often torchrun restarted the job
	IfName     string // GLOO_SOCKET_IFNAME
	Backend    torch.Backend
	Timeout    time.Duration
}

// FromEnv reads the job from the variables torchrun (or gogan's launcher)
// sets; nil without RANK and WORLD_SIZE: a process of its own.
func FromEnv() (*Job, error) {
	if os.Getenv("RANK") == "" && os.Getenv("WORLD_SIZE") == "" {
		return nil, nil
	}
	j := &Job{Addr: os.Getenv("MASTER_ADDR"), IfName: os.Getenv("GLOO_SOCKET_IFNAME")}
	ints := []struct {
		name string
		dst  *int
		need bool
	}{{"RANK", &j.Rank, true}, {"WORLD_SIZE", &j.World, true}, {"MASTER_PORT", &j.Port, true},
		{"LOCAL_RANK", &j.LocalRank, false}, {"LOCAL_WORLD_SIZE", &j.LocalWorld, false}, {"TORCHELASTIC_RESTART_COUNT", &j.Restart, false}}
	for _, v := range ints {
		s := os.Getenv(v.name)
		if s == "" {
			if v.need {
				return nil, fmt.Errorf("data parallelism: %s is not set (torchrun sets RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT; or use gogan train --nproc N)", v.name)
			}
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("data parallelism: %s=%q is not a count", v.name, s)
		}
		*v.dst = n
	}
	if j.World < 1 || j.Rank >= j.World {
		return nil, fmt.Errorf("data parallelism: RANK=%d outside WORLD_SIZE=%d", j.Rank, j.World)
	}
	if j.Addr == "" {
		return nil, fmt.Errorf("data parallelism: MASTER_ADDR is not set (the host of rank 0, or of torchrun's rendezvous)")
	}
	if j.Port == 0 || j.Port > 65535 {
		return nil, fmt.Errorf("data parallelism: MASTER_PORT=%d is not a port", j.Port)
	}
	if j.LocalWorld == 0 {
		j.LocalWorld = j.World
	}
	// LOCAL_RANK picks the rank's GPU: one outside the machine's ranks
	// would share another's (set by hand, or a launcher's mistake).
	if j.LocalWorld > j.World || j.LocalRank >= j.LocalWorld {
		return nil, fmt.Errorf("data parallelism: LOCAL_RANK=%d outside LOCAL_WORLD_SIZE=%d (at most WORLD_SIZE=%d): each process of a machine needs its own local rank, 0 to LOCAL_WORLD_SIZE-1", j.LocalRank, j.LocalWorld, j.World)
	}
	j.AgentStore = strings.EqualFold(os.Getenv("TORCHELASTIC_USE_AGENT_STORE"), "true")
	return j, nil
}

// ID names the job for as long as torchrun restarts it: its rendezvous run
// id (TORCHELASTIC_RUN_ID) where one is given, else the agent that started
// this process (host, pid and start time): under static rendezvous, rank 0
// stays on the first node, under the same agent.
func (j *Job) ID() string {
	if id := os.Getenv("TORCHELASTIC_RUN_ID"); id != "" && id != "none" {
		return "rendezvous " + id
	}
	host, _ := os.Hostname()
	ppid := os.Getppid()
	started := "?"
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", ppid)); err == nil {
		// the start time is field 22; the command name (field 2) may hold spaces
		if i := strings.LastIndexByte(string(b), ')'); i > 0 {
			if f := strings.Fields(string(b[i+1:])); len(f) > 19 {
				started = f[19]
			}
		}
	}
	return fmt.Sprintf("agent %s/%d/%s", host, ppid, started)
}

// Lead says whether this is rank 0: the one that writes the run folder.
func (j *Job) Lead() bool { return j == nil || j.Rank == 0 }

// RankOf is the rank (0 for a process of its own).
func (j *Job) RankOf() int {
	if j == nil {
		return 0
	}
	return j.Rank
}

// Size is the number of ranks (1 for a process of its own).
func (j *Job) Size() int {
	if j == nil {
		return 1
	}
	return j.World
}

// Join joins the process group on dev's backend (NCCL for CUDA, Gloo for
// the CPU) and returns when every rank has, or with an error after timeout.
func (j *Job) Join(dev torch.Device, timeout time.Duration) error {
	j.Backend, j.Timeout = torch.Gloo, timeout
	if dev.IsCUDA() {
		j.Backend = torch.NCCL
	}
	if !torch.HasBackend(j.Backend) {
		how := "install libgloo-dev (make setup) and rebuild with make lib"
		if j.Backend == torch.NCCL {
			how = "build libgotorch against a CUDA libtorch whose wheel ships nccl.h (scripts/libtorch-env), or train on device=cpu"
		}
		return fmt.Errorf("data parallelism on %s needs c10d's %s backend, which this libgotorch lacks: %s", dev, j.Backend, how)
	}
	prefix := "/gogan/"
	if j.AgentStore {
		prefix = fmt.Sprintf("/worker/attempt_%d/gogan/", j.Restart)
	}
	// The store's client retries a name that does not resolve until the
	// timeout (a host still starting may not be in DNS yet): say so now,
	// not only when the wait is over.
	unresolved := resolve(j.Addr, timeout)
	if unresolved != nil {
		slog.Warn(fmt.Sprintf("rank %d: MASTER_ADDR %s does not resolve here (%v): waiting for it up to train.dist_timeout (%v), as for a host still starting; if the name is wrong, stop the job and give rank 0's host", j.Rank, j.Addr, unresolved, timeout))
	}
	if err := j.speaksFirst(); err != nil {
		return err
	}
	stopNotice := j.noticeWaiting(timeout)
	err := torch.InitGroup(torch.GroupOptions{Backend: j.Backend, Rank: j.Rank, World: j.World, Addr: j.Addr, Port: j.Port,
		AgentStore: j.AgentStore, Prefix: prefix, IfName: j.IfName, Timeout: timeout})
	stopNotice()
	if err != nil {
		hint := joinHint(err, j.World, j.Addr, j.Port, timeout)
		// A name that did not resolve as the wait began, and still does
		// not (a host may have come up meanwhile); not after ranks that
		// met in the store: libtorch's resolver reached it, whatever Go's
		// says.
		if unresolved != nil && !strings.Contains(err.Error(), "world sizes differ") {
			if rerr := resolve(j.Addr, timeout); rerr != nil {
				hint = fmt.Sprintf(" (MASTER_ADDR %s does not resolve from this machine: %v; give the host name or address of rank 0, or of torchrun's rendezvous)", j.Addr, rerr)
			}
		}
		return fmt.Errorf("rank %d of %d: joining the process group at %s:%d (%s): %w%s", j.Rank, j.World, j.Addr, j.Port, j.Backend, err, hint)
	}
	return nil
}

// speaksFirst refuses a MASTER_ADDR and MASTER_PORT where another program
// answers that speaks before it is asked (SSH, SMTP, FTP, a database): the
// store's client in libtorch 1.13 reads those bytes on a thread of its own
// as a length, and the process aborts in std::bad_alloc, beyond any catch.
// A store waits for its clients' queries; a port where none listens yet
// (rank 0 still starting) is left to the store's client, which retries.
// Rank 0 serving the store itself finds a program on its port taken.
func (j *Job) speaksFirst() error {
	if !j.AgentStore && j.Rank == 0 {
		return nil
	}
	c, err := net.DialTimeout("tcp", net.JoinHostPort(j.Addr, strconv.Itoa(j.Port)), 2*time.Second)
	if err != nil {
		return nil
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(250 * time.Millisecond))
	b := make([]byte, 64)
	n, _ := c.Read(b)
	if n == 0 {
		return nil
	}
	said, _, _ := strings.Cut(string(b[:n]), "\n")
	return fmt.Errorf("rank %d of %d: joining the process group at %s:%d (%s): it sent %q unasked%s",
		j.Rank, j.World, j.Addr, j.Port, j.Backend, strings.TrimSpace(said), otherProgram(j.Addr, j.Port))
}

// otherProgram says that a program other than the job's store answers at
// addr:port.
func otherProgram(addr string, port int) string {
	return fmt.Sprintf(" (another program answers at %s:%d, not a rendezvous store: give every rank MASTER_ADDR the host of rank 0, or of torchrun's rendezvous, and MASTER_PORT the job's own port there)", addr, port)
}

// noticeWaiting warns while the join waits, after a quarter of timeout (at
// most 30 s) and every 5 minutes after, that this rank still waits for the
// others: the wait is otherwise silent up to train.dist_timeout (30 min),
// also for a process started alone with a job's RANK and WORLD_SIZE left in
// its environment, waiting for ranks that never come. The returned func
// ends the warnings.
func (j *Job) noticeWaiting(timeout time.Duration) (stop func()) {
	done := make(chan struct{})
	go func() {
		start := time.Now()
		t := time.NewTimer(min(30*time.Second, timeout/4))
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				slog.Warn(fmt.Sprintf("rank %d of %d: still waiting for the other ranks at %s:%d after %v (up to train.dist_timeout, %v): each rank joins once it has opened its data; a process started alone with RANK and WORLD_SIZE left in its environment from another job waits for ranks that never come: unset them",
					j.Rank, j.World, j.Addr, j.Port, time.Since(start).Round(time.Second), timeout))
				t.Reset(5 * time.Minute)
			}
		}
	}()
	return func() { close(done) }
}

// resolve says why addr names no host here (nil for an IP address, or a
// name that resolves). The lookup gives up after a few seconds (within the
// join's timeout): a DNS server that does not answer would otherwise add
// its own timeouts and retries to the join's, before it and after it.
func resolve(addr string, timeout time.Duration) error {
	if net.ParseIP(addr) != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), min(timeout, 5*time.Second))
	defer cancel()
	_, err := net.DefaultResolver.LookupHost(ctx, addr)
	return err
}

// joinHint says what a failed rendezvous most likely means, where
// libtorch's or Gloo's own message does not. Ranks started with other
// WORLD_SIZEs say so ("world sizes differ", from the sizes each rank leaves
// in the store; libtorch 1.13's Gloo also fails on the other size of their
// addresses, "sizeof(impl_) == bytes.size()"). A wait past the timeout is
// ranks that never came, or a MASTER_ADDR that does not reach rank 0's host:
// the store's wait for a rank's address ends in "Socket Timeout" in libtorch
// 1.13 and in "wait timeout after 3000ms, keys: ..." in 2.x, its client's
// connection in "has timed out", its wait for the workers (2.x) in "Timed
// out after". Rank 0 serving the store (no agent's) on a port taken on its
// machine fails at once, in libtorch's "Address already in use" (1.13) or
// "address already in use" (2.x). A program that answers the store's
// client with other bytes than a store's fails its first wait at once, in
// "Stop_waiting response is expected".
func joinHint(err error, world int, addr string, port int, timeout time.Duration) string {
	msg := err.Error()
	low := strings.ToLower(msg)
	switch {
	case strings.Contains(low, "stop_waiting response is expected"):
		return otherProgram(addr, port)
	case strings.Contains(low, "address already in use"):
		return fmt.Sprintf(" (MASTER_PORT %d is taken on this machine, by another job's rendezvous, one still ending, or another program: start every rank with another MASTER_PORT)", port)
	case strings.Contains(msg, "world sizes differ") || strings.Contains(msg, "sizeof(impl_) == bytes.size()"):
		return fmt.Sprintf(" (the ranks disagree on the number of ranks: this one has WORLD_SIZE=%d; start every rank with the same WORLD_SIZE)", world)
	case strings.Contains(low, "socket timeout") || strings.Contains(low, "timed out") || strings.Contains(low, "wait timeout"):
		return fmt.Sprintf(" (not all %d ranks joined within train.dist_timeout, %v: start every rank with this WORLD_SIZE, MASTER_ADDR and MASTER_PORT, MASTER_ADDR the host of rank 0 or of the rendezvous and reachable from here)", world, timeout)
	}
	return ""
}

// Leave waits for the other ranks (so that rank 0's store outlives them)
// and leaves the group.
func (j *Job) Leave(wait bool) {
	if wait {
		if err := torch.Try(torch.Barrier); err != nil {
			fmt.Fprintf(os.Stderr, "gogan: rank %d: leaving: %v\n", j.Rank, err)
		}
	}
	torch.DestroyGroup()
}

// collectiveOps are the torch ops that talk to the other ranks.
var collectiveOps = []string{"allreduce", "allreduce_grads", "broadcast", "barrier", "sum_over_ranks"}

// IsCollective says whether err is a failed collective that Explain has
// not explained yet.
func IsCollective(err error) bool {
	var te *torch.Error
	var pe *PeerError
	return errors.As(err, &te) && slices.Contains(collectiveOps, te.Op) && !errors.As(err, &pe)
}

// explainWait is how long a rank whose collective failed waits for the
// others to say that they are alive.
var explainWait = 5 * time.Second

// PeerError is a rank's stop because another rank failed or went away:
// Rank, or -1 where the collective failed on every rank (no one rank to
// name). A rank ends with ExitPeer for one, so that a launcher names the
// rank whose failure stopped the job rather than the first to exit.
// Silent are all the ranks that did not answer, Rank first (a rank hung
// in the same collective a moment longer is among them).
type PeerError struct {
	Rank   int
	Err    error
	Silent []int
}

func (e *PeerError) Error() string { return e.Err.Error() }
func (e *PeerError) Unwrap() error { return e.Err }

// ExitPeer is the exit status of a rank stopped by a PeerError.
const ExitPeer = 3

// Explain turns a failed collective into a *PeerError that names the ranks
// that stopped answering: every rank that sees one reports in the store,
// and those that have not within a few seconds have exited, been killed or
// hang.
func (j *Job) Explain(cause error) error {
	// The store unreachable: under torchrun the agent's is gone; otherwise
	// rank 0, which serves it, is.
	storeGone := func() error {
		if j.AgentStore {
			return &PeerError{Rank: -1, Err: fmt.Errorf("rank %d: %w (and the rendezvous store at %s:%d, torchrun's agent's or gogan's launcher's, is unreachable)", j.Rank, cause, j.Addr, j.Port)}
		}
		return &PeerError{Rank: 0, Silent: []int{0}, Err: fmt.Errorf("rank 0 (which serves the rendezvous store at %s:%d) is gone: exited or killed; rank %d stopped: %w", j.Addr, j.Port, j.Rank, cause)}
	}
	if err := torch.StoreSet(fmt.Sprintf("failed/%d", j.Rank), []byte(cause.Error())); err != nil {
		return storeGone()
	}
	var silent, refused []int // refused: the ranks that left why they could not start
	for deadline := time.Now().Add(explainWait); ; time.Sleep(100 * time.Millisecond) {
		silent, refused = silent[:0], refused[:0]
		for r := range j.World {
			if r == j.Rank {
				continue
			}
			ok, err := torch.StoreHas(fmt.Sprintf("failed/%d", r))
			if err != nil {
				return storeGone()
			}
			if ok {
				continue
			}
			if j.CouldNotStart(r) {
				refused = append(refused, r)
			} else {
				silent = append(silent, r)
			}
		}
		if len(silent) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if j.Rank == 0 && !j.AgentStore && len(silent)+len(refused) < j.World-1 {
		// rank 0 serves the store: keep it up while the other survivors look
		time.Sleep(explainWait)
	}
	if len(refused) > 0 {
		why, _ := torch.StoreGet(cannotStartKey(refused[0]))
		return &PeerError{Rank: refused[0], Silent: slices.Concat(refused, silent),
			Err: fmt.Errorf("rank %d could not start (%s); rank %d stopped: %w", refused[0], why, j.Rank, cause)}
	}
	if len(silent) == 0 {
		return &PeerError{Rank: -1, Err: fmt.Errorf("rank %d: a collective failed on every rank: %w", j.Rank, cause)}
	}
	return &PeerError{Rank: silent[0], Silent: silent, Err: fmt.Errorf("%s stopped answering (exited, killed or hung); rank %d stopped: %w", rankList(silent), j.Rank, cause)}
}

func cannotStartKey(rank int) string { return fmt.Sprintf("cannot-start/%d", rank) }

// CannotStart leaves in the store why this rank could not start the run
// (its data, its config), before it exits: the others' collectives then
// fail, and their errors say why rather than that it stopped answering
// (on another machine, its error is in another log). Best effort: the
// rank's own error is what it returns.
func (j *Job) CannotStart(why error) {
	torch.StoreSet(cannotStartKey(j.Rank), []byte(why.Error()))
}

// CouldNotStart says whether rank r left why it could not start.
func (j *Job) CouldNotStart(r int) bool {
	ok, _ := torch.StoreHas(cannotStartKey(r))
	return ok
}

func rankList(rs []int) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = strconv.Itoa(r)
	}
	if len(rs) == 1 {
		return "rank " + s[0]
	}
	return "ranks " + strings.Join(s, ", ")
}
