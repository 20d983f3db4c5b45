package eval

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// FuzzReadStats feeds whole statistics files (the zip around the arrays,
// which FuzzParseNpy does not reach) to ReadStats: statistics of matching
// sizes, or an error naming the file.
func FuzzReadStats(f *testing.F) {
	dir := f.TempDir()
	ours := filepath.Join(dir, "ours.npz")
	if err := WriteStats(ours, Gaussian{Mu: []float64{1, 2}, Sigma: mat.NewSymDense(2, []float64{2, 0.5, 0.5, 3})}); err != nil {
		f.Fatal(err)
	}
	b, err := os.ReadFile(ours)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	var st bytes.Buffer // stored, as np.savez writes it
	w := zip.NewWriter(&st)
	for _, e := range []struct {
		name string
		b    []byte
	}{{"mu.npy", npyBytes([]float64{1}, 1)}, {"sigma.npy", npyBytes([]float64{1}, 1, 1)}, {"other.npy", []byte("x")}} {
		fw, _ := w.CreateHeader(&zip.FileHeader{Name: e.name, Method: zip.Store})
		fw.Write(e.b)
	}
	w.Close()
	f.Add(st.Bytes())
	f.Add([]byte("PK\x05\x06\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	path := filepath.Join(dir, "fuzz.npz")
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		g, err := ReadStats(path)
		if err != nil {
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error %q does not name %s", err, path)
			}
			return
		}
		if d := len(g.Mu); d == 0 || g.Sigma.SymmetricDim() != d {
			t.Fatalf("mu of %d, sigma of %d", d, g.Sigma.SymmetricDim())
		}
	})
}
