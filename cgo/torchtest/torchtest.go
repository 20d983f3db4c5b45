// Package torchtest is what gogan's tests share: the Python interpreter that
// has torch, to reach the PyTorch reference, and slog's lines captured
// (CaptureLogs).
package torchtest

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

var (
	mu      sync.Mutex
	checked = map[string]error{}
)

// Python is the interpreter with torch: $GOGAN_PYTHON, else Debian's
// /usr/bin/python3 (python3-torch; the python3 first on PATH may lack it).
// It fails the test, saying what to install, when that interpreter has no torch.
func Python(t testing.TB) string {
	t.Helper()
	py := os.Getenv("GOGAN_PYTHON")
	if py == "" {
		py = "/usr/bin/python3"
	}
	mu.Lock()
	err, ok := checked[py]
	if !ok {
		err = exec.Command(py, "-c", "import torch").Run()
		checked[py] = err
	}
	mu.Unlock()
	if err != nil {
		t.Fatalf("the PyTorch reference needs %s with torch (Debian python3-torch: run make setup, or set GOGAN_PYTHON): %v", py, err)
	}
	return py
}

// WriteCases writes a reference script's cases as dir/cases.json and
// returns the file's path.
func WriteCases(t testing.TB, dir string, cases any) string {
	t.Helper()
	b, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "cases.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// RunScript runs a reference script (its path from the test's package
// folder, such as ../scripts/reference_nets.py) under Python on one thread,
// failing the test with the script's output when it fails.
//
// One thread means OpenBLAS's too, as gogan's torch.SetNumThreads holds it:
// the script's torch.set_num_threads does not reach OpenBLAS, whose own pool
// (one thread per core) runs a large enough sgemm threaded, and that rounds
// differently from one thread (ConvTranspose2d's GEMMs in libtorch 1.x: a
// U-Net's 2x2 up-convolution differs in the last bit of most outputs).
func RunScript(t testing.TB, script string, args ...string) {
	t.Helper()
	cmd := exec.Command(Python(t), append([]string{script}, args...)...)
	cmd.Env = append(os.Environ(), "GOGAN_REF_THREADS=1", "OPENBLAS_NUM_THREADS=1")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", filepath.Base(script), args, err, msg)
	}
}

// Facades is the folder of the 400 CMP facades training pairs: $GOGAN_FACADES,
// else shared/data/facades/train beside the repository (where CI lays it).
// It fails the test when the folder is missing.
func Facades(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("GOGAN_FACADES")
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		for root := wd; ; root = filepath.Dir(root) {
			if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
				dir = filepath.Join(root, "..", "shared", "data", "facades", "train")
				break
			}
			if filepath.Dir(root) == root {
				t.Fatalf("no go.mod above %s", wd)
			}
		}
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("the CMP facades pairs are not at %s (shared/ beside the repository, or $GOGAN_FACADES): %v", dir, err)
	}
	return dir
}

// CopyFacades copies facades files (Facades) into the subfolders of a new
// temporary folder, folders naming each subfolder's files, and returns
// that folder.
func CopyFacades(t testing.TB, folders map[string][]string) string {
	t.Helper()
	facades, root := Facades(t), t.TempDir()
	for sub, names := range folders {
		if err := os.MkdirAll(filepath.Join(root, sub), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			b, err := os.ReadFile(filepath.Join(facades, n))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(root, sub, n), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return root
}

// FacadesFiles are the names of facades files first to last ("1.jpg" ...).
func FacadesFiles(first, last int) []string {
	var names []string
	for i := first; i <= last; i++ {
		names = append(names, strconv.Itoa(i)+".jpg")
	}
	return names
}

// CaptureLogs sends slog's default logger to a buffer for the rest of the
// test.
func CaptureLogs(t testing.TB) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })
	return &buf
}
