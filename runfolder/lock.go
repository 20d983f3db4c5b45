package runfolder

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// LockFile is held (flock, exclusive) by the process that trains a run
// folder; the kernel drops it when that process ends, even by SIGKILL.
const LockFile = ".lock"

// Lock claims the run folder for one training process: a second train or
// resume of the same folder would interleave its checkpoints, metrics and
// config with the first's. The error names the process holding it. The
// returned function releases the folder.
func (r RunDir) Lock() (unlock func(), err error) {
	path := filepath.Join(r.Path, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("run folder %s: lock: %w", r.Path, err)
	}
	if err := flockRetrying(f); err != nil {
		f.Close()
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			// A file system without flock (Lustre without -o flock, some
			// FUSE mounts): train as before, unguarded, rather than not at all.
			slog.Warn("run folder: this file system cannot lock it; nothing stops a second process from training it at the same time", "lock", path, "err", err)
			return func() {}, nil
		}
		who := "another process"
		if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
			who = strings.TrimSpace(string(b))
		}
		return nil, fmt.Errorf("run folder %s is being trained by %s: wait for it to end or stop it (SIGINT writes a checkpoint), then resume it; or train into another folder", r.Path, who)
	}
	host, _ := os.Hostname()
	if err := f.Truncate(0); err == nil {
		fmt.Fprintf(f, "gogan (pid %d on %s)\n", os.Getpid(), host)
	}
	return func() {
		f.Truncate(0)
		f.Close() // closing the last descriptor releases the lock
	}, nil
}

// flockRetrying takes f's exclusive lock, trying for a moment: gogan runs
// (RunDir.Describe) takes a free lock shared for an instant to tell whether
// a run is training, and a train starting in that instant must not be
// refused as if another trainer held the folder.
func flockRetrying(f *os.File) error {
	var err error
	for range 10 {
		if err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); !errors.Is(err, syscall.EWOULDBLOCK) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
	return err
}
