package runfolder

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestLockIsExclusive(t *testing.T) {
	r, err := NewRunDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	lock, err := r.LockAs("train")
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.LockAs("train")
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("is being trained by gogan train (pid %d on ", os.Getpid())) ||
		!strings.Contains(err.Error(), r.Path) {
		t.Fatalf("second lock: %v", err)
	}
	lock.Unlock()
	lock2, err := r.LockAs("train")
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	lock2.Unlock()
}

// TestHeldLockSaysWhatItsHolderDoes: a second command on a folder an
// import holds was told it "is being trained by gogan import (pid ...)";
// it is told the import imports into it, a resume that it resumes it. The
// line of a gogan before train and resume named themselves ("gogan (pid
// ...)", held by either) still reads as training.
func TestHeldLockSaysWhatItsHolderDoes(t *testing.T) {
	pid := os.Getpid()
	host, _ := os.Hostname()
	for _, c := range []struct{ command, want string }{
		{"import", fmt.Sprintf("is being imported into by gogan import (pid %d on ", pid)},
		{"resume", fmt.Sprintf("is being trained by gogan resume (pid %d on %s), which resumes it: ", pid, host)},
		{"train", fmt.Sprintf("is being trained by gogan train (pid %d on ", pid)},
	} {
		r, err := NewRunDir(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		lock, err := r.LockAs(c.command)
		if err != nil {
			t.Fatal(err)
		}
		_, err = r.LockAs("train")
		if err == nil || !strings.Contains(err.Error(), c.want) || c.command == "import" && strings.Contains(err.Error(), "being trained") {
			t.Errorf("a folder %s holds: %v, want %q", c.command, err, c.want)
		}
		lock.Unlock()
	}
	r, err := NewRunDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(r.Path, LockFile), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fmt.Fprintf(f, "gogan (pid %d on oldhost)\n", pid)
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	if _, err := r.LockAs("resume"); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("is being trained by gogan (pid %d on oldhost): wait for it to end", pid)) {
		t.Errorf("an older gogan's lock: %v", err)
	}
}

// TestMovedTo: a held folder where it was is not moved, whatever error a
// write elsewhere gave (a data file gone while the run trains); renamed, it
// is where it went, its lock file following it, a relative path too;
// deleted, it is said so, also with another folder made at its path since;
// unlocked, nothing is told.
func TestMovedTo(t *testing.T) {
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRunDir(filepath.Join(base, "run"))
	if err != nil {
		t.Fatal(err)
	}
	h, err := r.LockAs("train")
	if err != nil {
		t.Fatal(err)
	}
	if to, deleted := h.MovedTo(); to != "" || deleted {
		t.Errorf("a folder where it was: MovedTo = %q, %v", to, deleted)
	}
	moved := filepath.Join(base, "moved")
	if err := os.Rename(r.Path, moved); err != nil {
		t.Fatal(err)
	}
	if to, deleted := h.MovedTo(); to != moved || deleted {
		t.Errorf("a renamed folder: MovedTo = %q, %v, want %q", to, deleted, moved)
	}
	if err := os.MkdirAll(filepath.Join(r.Path, LockFile), 0o755); err != nil { // another folder at its path, even with a .lock
		t.Fatal(err)
	}
	if to, deleted := h.MovedTo(); to != moved || deleted {
		t.Errorf("a renamed folder, another made at its path: MovedTo = %q, %v, want %q", to, deleted, moved)
	}
	if err := os.RemoveAll(moved); err != nil {
		t.Fatal(err)
	}
	if to, deleted := h.MovedTo(); to != "" || !deleted {
		t.Errorf("a deleted folder, another at its path: MovedTo = %q, %v", to, deleted)
	}
	os.RemoveAll(r.Path)
	if to, deleted := h.MovedTo(); to != "" || !deleted {
		t.Errorf("a deleted folder: MovedTo = %q, %v", to, deleted)
	}
	h.Unlock()
	if to, deleted := h.MovedTo(); to != "" || deleted {
		t.Errorf("unlocked: MovedTo = %q, %v", to, deleted)
	}

	t.Chdir(base)
	r, err = NewRunDir("rel")
	if err != nil {
		t.Fatal(err)
	}
	h, err = r.LockAs("train")
	if err != nil {
		t.Fatal(err)
	}
	defer h.Unlock()
	if to, deleted := h.MovedTo(); to != "" || deleted {
		t.Errorf("a relative folder where it was: MovedTo = %q, %v", to, deleted)
	}
	if err := os.Rename("rel", "rel2"); err != nil {
		t.Fatal(err)
	}
	if to, deleted := h.MovedTo(); to != filepath.Join(base, "rel2") || deleted {
		t.Errorf("a relative folder renamed: MovedTo = %q, %v", to, deleted)
	}
}

func TestWithin(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	os.MkdirAll(filepath.Join(data, "train"), 0o755)
	link := filepath.Join(dir, "link")
	os.Symlink(data, link)
	for _, c := range []struct {
		path, dir string
		want      bool
	}{
		{data, data, true},
		{filepath.Join(data, "train", "run"), data, true}, // not made yet
		{filepath.Join(link, "train", "new", "run"), data, true},
		{filepath.Join(data, "train"), link, true},
		{filepath.Join(dir, "data2"), data, false},
		{dir, data, false},
		{filepath.Join(data, "x"), "/", true},
	} {
		if got := Within(c.path, c.dir); got != c.want {
			t.Errorf("Within(%s, %s) = %v, want %v", c.path, c.dir, got, c.want)
		}
	}
}

func TestRemovedNamesTheCause(t *testing.T) {
	c := writeTestCheckpoint(t, t.TempDir(), 7, []byte("w"))
	os.RemoveAll(c.Dir)
	_, err := os.Open(c.WeightsPath())
	if err := c.Removed(err); err == nil || !strings.Contains(err.Error(), "checkpoint "+c.Dir+" was removed while it was read") || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("removed: %v", err)
	}
	other := errors.New("disk on fire")
	if c.Removed(other) != other || c.Removed(nil) != nil {
		t.Fatal("Removed changed an error that is not a missing file")
	}
}

// TestLockWaitsOutAProbe: gogan runs tells a training run from a killed one
// by taking RUN/.lock shared for an instant; a train starting in that
// instant takes the folder once the probe lets go, instead of being refused
// as if another trainer held it.
func TestLockWaitsOutAProbe(t *testing.T) {
	r, err := NewRunDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(r.Path, LockFile), nil, 0o644)
	probe, err := os.Open(filepath.Join(r.Path, LockFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(probe.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(50 * time.Millisecond)
		probe.Close()
	}()
	lock, err := r.LockAs("train")
	if err != nil {
		t.Fatalf("lock while a probe held it for 50 ms: %v", err)
	}
	lock.Unlock()
}
