// Package torchtest is what gogan's tests share to reach the PyTorch
// reference: the Python interpreter that has torch.
package torchtest

import (
	"os"
	"os/exec"
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
