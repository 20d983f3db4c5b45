package runfolder

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"
)

// AtomicWriteFile replaces path with what write produces, so that readers
// (and a crash at any point) see either the old file or the complete new
// one, never a mix: write to a temp file in the same directory, fsync it,
// rename it over path, fsync the directory so the rename itself is durable.
// On any error the temp file is removed and the old file is untouched.
// A new file gets mode 0644; a replaced file keeps its mode.
func AtomicWriteFile(path string, write func(io.Writer) error) error {
	return AtomicWriteFiles([]string{path}, []func(io.Writer) error{write})
}

// AtomicWriteFiles is AtomicWriteFile for files that belong together (a
// set of networks): every file is written and fsynced under a temp name
// first, and only when all are complete are they renamed into place, so an
// error leaves every old file as it was and no new one.
func AtomicWriteFiles(paths []string, writes []func(io.Writer) error) error {
	return atomicWrite(paths, writes, true)
}

// AtomicCreateFile is AtomicCreateFiles for one file.
func AtomicCreateFile(path string, write func(io.Writer) error) error {
	return AtomicCreateFiles([]string{path}, []func(io.Writer) error{write})
}

// AtomicCreateFiles is AtomicWriteFiles for files that must not replace
// any: each complete temp is linked to its name (link(2) refuses a name
// that exists), so a file another process wrote while this one worked (two
// exports into one folder, after each found the names free) is refused with
// an error that is fs.ErrExist, and the files of the set already in place
// are taken back: every path is left as the other process made it.
func AtomicCreateFiles(paths []string, writes []func(io.Writer) error) error {
	return atomicWrite(paths, writes, false)
}

func atomicWrite(paths []string, writes []func(io.Writer) error, replace bool) (err error) {
	for _, path := range paths {
		// rename(2) cannot put a file over a folder: say so before the
		// work, not as "rename .x.tmp-123 x: file exists" after it.
		if fi, err := os.Lstat(path); err == nil && fi.IsDir() {
			return fmt.Errorf("write %s: %w: a folder of that name is in the way; move it aside and run again", path, syscall.EISDIR)
		}
	}
	tmps := make([]string, 0, len(paths))
	var placed []string // created by link, not replace
	defer func() {
		if err != nil {
			for _, p := range placed {
				os.Remove(p)
			}
			for _, t := range tmps {
				os.Remove(t)
			}
		}
	}()
	for i, path := range paths {
		tmp, err := writeTemp(path, writes[i])
		if err != nil {
			return err
		}
		tmps = append(tmps, tmp)
	}
	dirs := map[string]bool{}
	for i, path := range paths {
		dirs[filepath.Dir(path)] = true
		if replace {
			if err = os.Rename(tmps[i], path); err != nil {
				return fmt.Errorf("write %s: %w", path, err)
			}
			continue
		}
		if err = createFrom(tmps[i], path); err != nil {
			return err
		}
		placed = append(placed, path)
	}
	if !replace {
		for _, t := range tmps {
			os.Remove(t) // linked: the file stays under its name
		}
	}
	for dir := range dirs {
		if err = syncDir(dir); err != nil {
			return err
		}
	}
	return nil
}

// createFrom gives the complete file tmp the name path unless path exists.
func createFrom(tmp, path string) error {
	err := os.Link(tmp, path)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("write %s: %w (written meanwhile by another process?): nothing of this write is kept", path, fs.ErrExist)
	}
	if err == nil {
		return nil
	}
	// A file system without hard links (FAT, some FUSE mounts): checked,
	// then renamed, which a writer in between can still race.
	if _, serr := os.Lstat(path); serr == nil {
		return fmt.Errorf("write %s: %w (written meanwhile by another process?): nothing of this write is kept", path, fs.ErrExist)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// writeTemp writes what write produces to a temp file beside path, with
// path's mode (0644 for a new file), fsynced; it returns the temp's name.
func writeTemp(path string, write func(io.Writer) error) (tmp string, err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	mode := fs.FileMode(0o644)
	if st, serr := os.Stat(path); serr == nil {
		mode = st.Mode().Perm()
	}
	f, err := os.CreateTemp(dir, TempPrefix(base)+"*")
	if err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err = write(bw); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	if err = bw.Flush(); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Chmod(mode); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return "", fmt.Errorf("write %s: fsync: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return f.Name(), nil
}

// maxNameBytes is the longest name a folder of Linux's file systems takes
// (NAME_MAX).
const maxNameBytes = 255

// TempPrefix begins the names of base's temps: ".<base>.tmp-", which
// os.CreateTemp (and MkdirTemp: eval pix2pix's results folder) ends with up
// to 10 digits. A base too long for that to
// make a name (one of over 239 bytes: a translation of an input named at
// the limit) is cut short there, at a character's start, so that every
// name that can be made can be written ("file name too long" came after
// the work).
func TempPrefix(base string) string {
	if n := maxNameBytes - len(".") - len(".tmp-") - 10; len(base) > n {
		for n > 0 && !utf8.RuneStart(base[n]) {
			n--
		}
		base = base[:n]
	}
	return "." + base + ".tmp-"
}

// syncDir makes renames and creations in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("fsync dir %s: %w", dir, err)
	}
	err = d.Sync()
	// Some filesystems cannot fsync a directory; the data is still renamed.
	if errors.Is(err, os.ErrInvalid) {
		err = nil
	}
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("fsync dir %s: %w", dir, err)
	}
	return nil
}

// AtomicWriteBytes is AtomicWriteFile for content already in memory.
func AtomicWriteBytes(path string, data []byte) error {
	return AtomicWriteFile(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// RemoveStaleTemps removes the temp files that writes cut short (a SIGKILL,
// a power cut, a quit that could not wait) left in the run folder and its
// samples folder: the hidden ".<name>.tmp-*" files of AtomicWriteFile. Only
// temps last written before before go (the start of the process that holds
// the folder's lock), so that a write still in flight elsewhere (gogan
// report on the folder) keeps its own. It returns the files removed.
func RemoveStaleTemps(run string, before time.Time) []string {
	var removed []string
	for _, dir := range []string{run, RunDir{Path: run}.SamplesDir()} {
		removed = append(removed, removeTempsBefore(dir, before, func(name string) bool {
			return strings.HasPrefix(name, ".") && strings.Contains(name, ".tmp-")
		})...)
	}
	return removed
}

// removeTempsBefore removes the regular files of dir that temp says are
// temps and that were last written before before; it returns their paths.
func removeTempsBefore(dir string, before time.Time, temp func(name string) bool) []string {
	var removed []string
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		name := e.Name()
		if !e.Type().IsRegular() || !temp(name) {
			continue
		}
		fi, err := e.Info()
		if err != nil || !fi.ModTime().Before(before) {
			continue
		}
		if os.Remove(filepath.Join(dir, name)) == nil {
			removed = append(removed, filepath.Join(dir, name))
		}
	}
	return removed
}

// ProcessStart is when this process began: a temp file last written
// before it belongs to a write that was cut short, not to one of this
// process's in flight.
var ProcessStart = time.Now()

// LogRemovedTemps says, one line each, which temps a sweep removed.
func LogRemovedTemps(files []string) {
	for _, f := range files {
		slog.Info("removed the temp file of a write that was cut short", "file", f)
	}
}

// RemoveStaleTempsOf removes the temp files that writes of paths cut
// short (a SIGKILL) left beside them: ".<base>.tmp-<digits>", as
// AtomicWriteFile names a path's temp (base cut short where too long),
// last written before before (the
// start of this process: a write of the same name in flight elsewhere
// keeps its own). For folders no lock guards (gogan export's, translate's,
// sample's), where nothing else would remove them: only the temps of the
// names this write makes go, nothing else in the folder. It returns the
// files removed.
func RemoveStaleTempsOf(paths []string, before time.Time) []string {
	prefixes := map[string]map[string]bool{} // folder -> TempPrefix of each base name
	for _, p := range paths {
		dir, base := filepath.Split(p)
		if dir == "" {
			dir = "."
		}
		if prefixes[dir] == nil {
			prefixes[dir] = map[string]bool{}
		}
		prefixes[dir][TempPrefix(base)] = true
	}
	var removed []string
	for dir, names := range prefixes {
		removed = append(removed, removeTempsBefore(dir, before, func(name string) bool {
			i := strings.LastIndex(name, ".tmp-") + len(".tmp-")
			return i >= len(".tmp-") && names[name[:i]] && allDigits(name[i:])
		})...)
	}
	return removed
}

// allDigits says whether s is a number os.CreateTemp puts for its "*".
func allDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// NearestFolder is dir, or the nearest folder above it that exists (where
// making dir begins); the error names a file standing where a folder of
// dir's path goes ("notes.txt/grid.png": notes.txt is a file), for path.
func NearestFolder(path, dir string) (string, error) {
	for {
		fi, err := os.Stat(dir)
		if err == nil && !fi.IsDir() {
			return "", fmt.Errorf("%s: %s is a file, not a folder", path, dir)
		}
		if err == nil {
			return dir, nil
		}
		// ENOTDIR: a file above dir, which the loop comes to
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) || filepath.Dir(dir) == dir {
			return "", fmt.Errorf("%s: %w", path, err)
		}
		dir = filepath.Dir(dir)
	}
}

// CheckWritable checks, before long work whose result goes to path (a
// classifier's training, pix2pixHD's feature encoding), that the result
// can be written there, so that the work is not lost to a folder found
// read-only at its end: path is not a folder, and the nearest folder on its
// way that exists (where the missing ones would be made) takes a new file.
// Nothing it writes stays.
func CheckWritable(path string) error {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("%s is a folder: give a file name", path)
	}
	dir, err := NearestFolder(path, filepath.Dir(path))
	if err != nil {
		return err
	}
	if err := TakesNewFile(dir); err != nil {
		return fmt.Errorf("%s cannot be written: %w; give a place this user can write to", path, err)
	}
	return nil
}

// TakesNewFile says whether this user can make a file in the folder dir,
// by making one and removing it.
func TakesNewFile(dir string) error {
	f, err := os.CreateTemp(dir, ".gogan-check-*")
	if err != nil {
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}

// TempDir is a folder written under a temp name beside its destination
// (MakeTempDir) and renamed into place whole: eval pix2pix's results. This
// process holds an flock on it while it works there, so that
// RemoveStaleTempDirsOf tells the folder of a writer that died (the kernel
// drops the lock, even on SIGKILL) from one still being written.
type TempDir struct {
	Path string
	lock *os.File
}

// MakeTempDir makes a temp folder ".<base>.tmp-<digits>" (TempPrefix)
// beside path, mode 0755, and locks it.
func MakeTempDir(path string) (*TempDir, error) {
	tmp, err := os.MkdirTemp(filepath.Dir(filepath.Clean(path)), TempPrefix(filepath.Base(path)))
	if err != nil {
		return nil, err
	}
	t := &TempDir{Path: tmp}
	if err := os.Chmod(tmp, 0o755); err != nil { // MkdirTemp's 0700 would stay with the results
		os.Remove(tmp)
		return nil, err
	}
	// Where the file system cannot lock, the folder is made unlocked and
	// the sweep, unable to tell, leaves such folders alone.
	if f, err := os.Open(tmp); err == nil {
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
			t.lock = f
		} else {
			f.Close()
		}
	}
	return t, nil
}

// Release gives the lock back: call it once the folder is renamed into
// place or removed.
func (t *TempDir) Release() {
	if t != nil && t.lock != nil {
		t.lock.Close()
		t.lock = nil
	}
}

// RemoveStaleTempDirsOf removes the temp folders MakeTempDir made for path
// whose writers are gone (a SIGKILL, a second Ctrl-C): those no process
// holds locked, made before before (the start of this process: a folder
// another process has just made is locked a moment later). It returns the
// folders removed.
func RemoveStaleTempDirsOf(path string, before time.Time) []string {
	dir, prefix := filepath.Dir(filepath.Clean(path)), TempPrefix(filepath.Base(path))
	var removed []string
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		name := e.Name()
		if !e.IsDir() || !strings.HasPrefix(name, prefix) || !allDigits(name[len(prefix):]) {
			continue
		}
		p := filepath.Join(dir, name)
		if fi, err := e.Info(); err != nil || !fi.ModTime().Before(before) {
			continue
		}
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil && os.RemoveAll(p) == nil {
			removed = append(removed, p)
		}
		f.Close()
	}
	return removed
}
