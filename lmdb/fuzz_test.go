package lmdb

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"gogan/cgo/torchtest"
)

// FuzzOpen: no file makes Open, Keys or Get panic or run without end. The
// seeds are small databases py-lmdb wrote: one key, a two-level tree with
// an overflow value.
func FuzzOpen(f *testing.F) {
	dir := f.TempDir()
	prog := `import lmdb, sys
for name, n, size in (("one", 1, 3), ("tree", 60, 90), ("big", 2, 5000)):
    env = lmdb.open(sys.argv[1] + "/" + name)
    with env.begin(write=True) as t:
        for i in range(n):
            t.put(b"%040d" % i, bytes([i % 251]) * size)
`
	if out, err := exec.Command(torchtest.Python(f), "-c", prog, dir).CombinedOutput(); err != nil {
		f.Fatalf("%v\n%s", err, out)
	}
	for _, name := range []string{"one", "tree", "big"} {
		b, err := os.ReadFile(filepath.Join(dir, name, "data.mdb"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		readAll(func() (*DB, error) { return OpenReaderAt("fuzz.mdb", bytes.NewReader(b), int64(len(b))) })
	})
}
