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

// Held is a run folder's lock, held by this process.
type Held struct {
	dir    string
	f      *os.File    // the lock file, locked; nil where the file system cannot lock
	folder os.FileInfo // the folder as locked, to tell it from another made at its path later
}

// LockAs claims the run folder for one process of a command (train,
// resume, import): a second train or resume of the same folder would
// interleave its checkpoints, metrics and config with the first's.
// Held.Unlock releases the folder. The holder's line in the lock file
// names the command ("gogan import (pid ...)", "gogan resume (pid ...)"):
// a second command is told what the holder does (heldFor), and one killed
// before it let go of the folder is told by it (RunDir.LeftBy).
func (r RunDir) LockAs(command string) (*Held, error) {
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
			return &Held{dir: r.Path}, nil
		}
		return nil, r.heldErr()
	}
	host, _ := os.Hostname()
	if err := f.Truncate(0); err == nil {
		fmt.Fprintf(f, "%s (pid %d on %s)\n", strings.TrimSpace("gogan "+command), os.Getpid(), host)
	}
	folder, _ := os.Stat(r.Path)
	return &Held{dir: r.Path, f: f, folder: folder}, nil
}

// heldErr refuses the folder a process holds, naming that process by its
// line in the lock file ("another process" where it wrote none).
func (r RunDir) heldErr() error {
	who := r.lockHolder()
	if who == "" {
		who = "another process"
	}
	return fmt.Errorf("run folder %s %s", r.Path, heldFor(who))
}

// heldFor says what the process whose line in the lock file is who does
// with the folder, and what to do. A gogan before train and resume named
// their command wrote "gogan (pid ...)" for both.
func heldFor(who string) string {
	switch {
	case strings.HasPrefix(who, "gogan import "):
		return "is being imported into by " + who + ": wait for the import to end (it writes the run's checkpoint), then resume the run; or train into another folder"
	case strings.HasPrefix(who, "gogan resume "):
		return "is being trained by " + who + ", which resumes it: wait for it to end or stop it (SIGINT writes a checkpoint), then resume it; or train into another folder"
	}
	return "is being trained by " + who + ": wait for it to end or stop it (SIGINT writes a checkpoint), then resume it; or train into another folder"
}

// Unlock releases the folder.
func (h *Held) Unlock() {
	if h.f != nil {
		h.f.Truncate(0)
		h.f.Close() // closing the last descriptor releases the lock
		h.f = nil
	}
}

// MovedTo says where the folder went when it was moved (renamed) or
// deleted while held, which makes every later write into its old path fail
// or, where another folder was made at that path since (mv runs/x
// runs/x-old, then a new run of out runs/x), land in a folder that is not
// this run's: the open lock file follows the folder (/proc/self/fd). Both
// are empty while the folder is where it was, or where that cannot be told.
func (h *Held) MovedTo() (dir string, deleted bool) {
	if h.f == nil {
		return "", false
	}
	if fi, err := os.Stat(h.dir); err == nil && (h.folder == nil || os.SameFile(fi, h.folder)) {
		return "", false
	}
	p, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", h.f.Fd()))
	switch {
	case err != nil:
		return "", false
	case strings.HasSuffix(p, " (deleted)"):
		return "", true
	}
	return filepath.Dir(p), false
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
