package eval

import (
	"archive/zip"
	"bytes"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"gogan/cgo/torchtest"
)

// TestStatsFilesAreNumPys: a statistics file gogan writes is read by NumPy
// as the arrays it holds, and NumPy's files (savez_compressed and savez, a
// float32 and a Fortran-ordered sigma) are read by gogan.
func TestStatsFilesAreNumPys(t *testing.T) {
	py := torchtest.Python(t)
	dir := t.TempDir()
	g := Gaussian{Mu: []float64{1.5, -2, 1e-300}, Sigma: mat.NewSymDense(3, []float64{2, 0.5, 0.25, 0.5, 3, -1, 0.25, -1, 4})}
	ours := filepath.Join(dir, "ours.npz")
	if err := WriteStats(ours, g); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, "-c", `
import sys, numpy as np
d = sys.argv[1]
f = np.load(d + "/ours.npz")
assert f["mu"].dtype == np.float64 and f["mu"].tolist() == [1.5, -2, 1e-300], f["mu"]
assert f["sigma"].tolist() == [[2, 0.5, 0.25], [0.5, 3, -1], [0.25, -1, 4]], f["sigma"]
s = np.array([[2, 0.5, 0.25], [0.5, 3, -1], [0.25, -1, 4]])
np.savez_compressed(d + "/compressed.npz", mu=np.array([1.5, -2, 1e-300]), sigma=s)
np.savez(d + "/f32.npz", mu=np.array([1.5, -2, 0], dtype=np.float32), sigma=np.asfortranarray(s).astype(np.float32))
np.savez(d + "/fortran.npz", mu=np.array([1.5, -2, 1e-300]), sigma=np.asfortranarray(s + np.triu(np.ones((3, 3)), 1)))
print("ok")
`, dir).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ok") {
		t.Fatalf("numpy: %v\n%s", err, out)
	}
	for _, name := range []string{"compressed.npz", "f32.npz", "fortran.npz"} {
		got, err := ReadStats(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got.Mu[0] != 1.5 || got.Mu[1] != -2 || got.Sigma.At(1, 2) != g.Sigma.At(1, 2)+map[string]float64{"fortran.npz": 0.5}[name] || got.Sigma.At(2, 2) != 4 {
			t.Errorf("%s: mu %v, sigma %v", name, got.Mu, mat.Formatted(got.Sigma))
		}
	}
	// Bad files: each an error naming the file and the fault.
	zipOf := func(entries map[string][]byte) []byte {
		var b bytes.Buffer
		w := zip.NewWriter(&b)
		for n, data := range entries {
			f, _ := w.Create(n)
			f.Write(data)
		}
		w.Close()
		return b.Bytes()
	}
	mu := npyBytes([]float64{1, 2}, 2)
	sigma := npyBytes([]float64{1, 0, 0, 1}, 2, 2)
	for name, c := range map[string]struct {
		file []byte
		want string
	}{
		"text.npz":      {[]byte("mu,sigma\n"), "not a NumPy .npz archive"},
		"nosigma.npz":   {zipOf(map[string][]byte{"mu.npy": mu}), "no mu and sigma"},
		"shapes.npz":    {zipOf(map[string][]byte{"mu.npy": mu, "sigma.npy": npyBytes([]float64{1, 0, 0}, 3)}), "want [d] and [d d]"},
		"int.npz":       {zipOf(map[string][]byte{"mu.npy": bytes.Replace(mu, []byte("<f8"), []byte("<i8"), 1), "sigma.npy": sigma}), "dtype <i8"},
		"bigendian.npz": {zipOf(map[string][]byte{"mu.npy": bytes.Replace(mu, []byte("<f8"), []byte(">f8"), 1), "sigma.npy": sigma}), "dtype >f8"},
		"truncated.npz": {zipOf(map[string][]byte{"mu.npy": mu[:len(mu)-3], "sigma.npy": sigma}), "data bytes for shape [2]"},
		"huge.npz":      {zipOf(map[string][]byte{"mu.npy": bytes.Replace(mu, []byte("(2,)"), []byte("(99999999999,)"), 1), "sigma.npy": sigma}), "dimensions up to"},
		"overflow.npz": {zipOf(map[string][]byte{"mu.npy": npyBytes(nil, 4096, 4096, 4096, 4096, 4096, 2), "sigma.npy": sigma}),
			"more than the 4096 x 4096 values"},
		"nomagic.npz":   {zipOf(map[string][]byte{"mu.npy": []byte("hello world"), "sigma.npy": sigma}), "no \\x93NUMPY magic"},
		"nan.npz":       {zipOf(map[string][]byte{"mu.npy": npyBytes([]float64{1, math.NaN()}, 2), "sigma.npy": sigma}), "mu[1] is NaN"},
		"empty.npz":     {zipOf(map[string][]byte{"mu.npy": npyBytes(nil, 0), "sigma.npy": npyBytes(nil, 0, 0)}), "mu and sigma are empty"},
		"nansigma.npz":  {zipOf(map[string][]byte{"mu.npy": mu, "sigma.npy": npyBytes([]float64{1, 0, math.Inf(1), 1}, 2, 2)}), "sigma[1][0] is +Inf"},
		"negvar.npz":    {zipOf(map[string][]byte{"mu.npy": mu, "sigma.npy": npyBytes([]float64{-1e6, 0, 0, -1e6}, 2, 2)}), "sigma[0][0] is -1e+06: a variance is never negative"},
		"notcov.npz":    {zipOf(map[string][]byte{"mu.npy": mu, "sigma.npy": npyBytes([]float64{1, 3, 3, 1}, 2, 2)}), "sigma[0][1] is 3, more than its variances allow"},
		"badheader.npz": {zipOf(map[string][]byte{"mu.npy": bytes.Replace(mu, []byte("'shape'"), []byte("'shapE'"), 1), "sigma.npy": sigma}), "unreadable header"},
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, c.file, 0o644)
		if _, err := ReadStats(p); err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %v, want one naming the file and %q", name, err, c.want)
		}
	}
}

// FuzzParseNpy: any bytes are an array or an error, never a panic or an
// allocation the input does not back.
func FuzzParseNpy(f *testing.F) {
	f.Add(npyBytes([]float64{1, 2, 3}, 3))
	f.Add(npyBytes([]float64{1, 0, 0, 1}, 2, 2))
	// a shape whose size wraps to 0 in 64 bits, over no data
	f.Add(npyBytes(nil, 4096, 4096, 4096, 4096, 4096, 2))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, shape, err := parseNpy(b)
		if err != nil {
			return
		}
		n := 1
		for _, s := range shape {
			n *= s
		}
		if n != len(v) {
			t.Fatalf("shape %v, %d values", shape, len(v))
		}
	})
}

// TestStatsEntryTwice: an archive that names mu or sigma twice is refused.
// Each entry was decoded in turn: a 142 kB file whose central directory
// points 200 times at one compressed 4096 x 4096 sigma took 20 s, and a
// few megabytes would take hours.
func TestStatsEntryTwice(t *testing.T) {
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	for _, name := range []string{"mu.npy", "sigma.npy", "sigma.npy"} {
		fw, _ := w.Create(name)
		if name == "mu.npy" {
			fw.Write(npyBytes([]float64{1}, 1))
		} else {
			fw.Write(npyBytes([]float64{1}, 1, 1))
		}
	}
	w.Close()
	p := filepath.Join(t.TempDir(), "twice.npz")
	os.WriteFile(p, b.Bytes(), 0o644)
	if _, err := ReadStats(p); err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "sigma appears twice") {
		t.Fatalf("error %v, want one naming the file and the entry", err)
	}
}
