package eval

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/mat"

	"gogan/runfolder"
)

// FID statistics files are pytorch-fid's: a NumPy .npz archive holding mu
// ([d] float64) and sigma ([d d] float64), as its --save-stats writes them
// with np.savez_compressed and its FID reads them in place of a folder.

// maxStatsDims bounds the dimensions a statistics file may declare, so that
// a damaged header costs no large allocation (pytorch-fid's largest is 2048).
const maxStatsDims = 4096

// ReadStats reads a pytorch-fid statistics file.
func ReadStats(path string) (Gaussian, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return Gaussian{}, fmt.Errorf("FID statistics %s: not a NumPy .npz archive: %w", path, err)
	}
	defer zr.Close()
	arrays := map[string][]float64{}
	shapes := map[string][]int{}
	for _, f := range zr.File {
		name := strings.TrimSuffix(f.Name, ".npy")
		if name != "mu" && name != "sigma" {
			continue
		}
		if arrays[name] != nil {
			// Each entry is decoded: a central directory that names one
			// compressed 134 MB sigma thousands of times would take hours.
			return Gaussian{}, fmt.Errorf("FID statistics %s: %s appears twice in the archive (a damaged or crafted file): write the statistics again with gogan eval fid --save-stats or pytorch-fid's --save-stats", path, name)
		}
		if f.UncompressedSize64 > 16+8*maxStatsDims*maxStatsDims+4096 {
			return Gaussian{}, fmt.Errorf("FID statistics %s: %s claims %d bytes", path, f.Name, f.UncompressedSize64)
		}
		rc, err := f.Open()
		if err != nil {
			return Gaussian{}, fmt.Errorf("FID statistics %s: %s: %w", path, f.Name, err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return Gaussian{}, fmt.Errorf("FID statistics %s: %s: %w", path, f.Name, err)
		}
		if arrays[name], shapes[name], err = parseNpy(b); err != nil {
			return Gaussian{}, fmt.Errorf("FID statistics %s: %s: %w", path, f.Name, err)
		}
	}
	mu, sigma := arrays["mu"], arrays["sigma"]
	if mu == nil || sigma == nil {
		return Gaussian{}, fmt.Errorf("FID statistics %s: no mu and sigma arrays (pytorch-fid's --save-stats writes both)", path)
	}
	d := len(mu)
	if len(shapes["mu"]) != 1 || len(shapes["sigma"]) != 2 || shapes["sigma"][0] != d || shapes["sigma"][1] != d {
		return Gaussian{}, fmt.Errorf("FID statistics %s: mu has shape %v and sigma %v: want [d] and [d d]", path, shapes["mu"], shapes["sigma"])
	}
	if d == 0 {
		return Gaussian{}, fmt.Errorf("FID statistics %s: mu and sigma are empty (0 features)", path)
	}
	if err := checkCovariance(sigma, d); err != nil {
		return Gaussian{}, fmt.Errorf("FID statistics %s: %w", path, err)
	}
	// np.cov's matrix is symmetric up to rounding; its mean with its
	// transpose is what the symmetric eigensolver reads.
	sym := mat.NewSymDense(d, nil)
	for i := 0; i < d; i++ {
		for j := i; j < d; j++ {
			sym.SetSym(i, j, 0.5*(sigma[i*d+j]+sigma[j*d+i]))
		}
	}
	for i, v := range mu {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return Gaussian{}, fmt.Errorf("FID statistics %s: mu[%d] is %v", path, i, v)
		}
	}
	return Gaussian{Mu: mu, Sigma: sym}, nil
}

var (
	npyDescr   = regexp.MustCompile(`'descr':\s*'([<>|=]?[a-z]\d+)'`)
	npyFortran = regexp.MustCompile(`'fortran_order':\s*(True|False)`)
	npyShape   = regexp.MustCompile(`'shape':\s*\(([0-9,\s]*)\)`)
)

// parseNpy reads a .npy array of float64 or float32 (NumPy format 1.0, 2.0
// or 3.0), little-endian, as float64 in row-major order.
func parseNpy(b []byte) ([]float64, []int, error) {
	if len(b) < 10 || string(b[:6]) != "\x93NUMPY" {
		return nil, nil, fmt.Errorf("not a .npy array (no \\x93NUMPY magic)")
	}
	var hlen, start int
	switch b[6] {
	case 1:
		hlen, start = int(binary.LittleEndian.Uint16(b[8:])), 10
	case 2, 3:
		if len(b) < 12 {
			return nil, nil, fmt.Errorf("truncated header")
		}
		hlen, start = int(binary.LittleEndian.Uint32(b[8:])), 12
	default:
		return nil, nil, fmt.Errorf(".npy format version %d.%d", b[6], b[7])
	}
	if hlen > len(b)-start {
		return nil, nil, fmt.Errorf("header of %d bytes in a %d-byte array", hlen, len(b))
	}
	header := string(b[start : start+hlen])
	d, f, s := npyDescr.FindStringSubmatch(header), npyFortran.FindStringSubmatch(header), npyShape.FindStringSubmatch(header)
	if d == nil || f == nil || s == nil {
		return nil, nil, fmt.Errorf("unreadable header %q", strings.TrimSpace(header))
	}
	var size int
	switch d[1] {
	case "<f8", "f8", "=f8":
		size = 8
	case "<f4", "f4", "=f4":
		size = 4
	default:
		return nil, nil, fmt.Errorf("dtype %s: want little-endian float64 or float32", d[1])
	}
	var shape []int
	n := 1
	for _, p := range strings.Split(s[1], ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 || v > maxStatsDims {
			return nil, nil, fmt.Errorf("shape (%s): dimensions up to %d", s[1], maxStatsDims)
		}
		shape = append(shape, v)
		if n *= v; n > maxStatsDims*maxStatsDims {
			return nil, nil, fmt.Errorf("shape (%s): more than the %d x %d values of FID statistics", s[1], maxStatsDims, maxStatsDims)
		}
	}
	raw := b[start+hlen:]
	if len(raw) != n*size {
		return nil, nil, fmt.Errorf("%d data bytes for shape %v of %s", len(raw), shape, d[1])
	}
	out := make([]float64, n)
	for i := range out {
		if size == 8 {
			out[i] = math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:]))
		} else {
			out[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])))
		}
	}
	if f[1] == "True" && len(shape) == 2 { // column-major: transpose
		r, c := shape[0], shape[1]
		t := make([]float64, n)
		for i := 0; i < r; i++ {
			for j := 0; j < c; j++ {
				t[i*c+j] = out[j*r+i]
			}
		}
		out = t
	}
	return out, shape, nil
}

// npyBytes is a float64 array in .npy format 1.0, as np.save writes it.
func npyBytes(v []float64, shape ...int) []byte {
	dims := make([]string, len(shape))
	for i, s := range shape {
		dims[i] = strconv.Itoa(s)
	}
	sh := strings.Join(dims, ", ")
	if len(shape) == 1 {
		sh += ","
	}
	header := fmt.Sprintf("{'descr': '<f8', 'fortran_order': False, 'shape': (%s), }", sh)
	// Padded with spaces to a multiple of 64 bytes with the magic, ended by \n.
	pad := 64 - (10+len(header)+1)%64
	header += strings.Repeat(" ", pad%64) + "\n"
	var buf bytes.Buffer
	buf.WriteString("\x93NUMPY\x01\x00")
	binary.Write(&buf, binary.LittleEndian, uint16(len(header)))
	buf.WriteString(header)
	for _, x := range v {
		binary.Write(&buf, binary.LittleEndian, math.Float64bits(x))
	}
	return buf.Bytes()
}

// WriteStats writes g as pytorch-fid's --save-stats does (np.savez_compressed
// with mu and sigma), atomically and as a new file (runfolder.AtomicCreateFile):
// a failure leaves no partial file, and a file of that name is not replaced.
func WriteStats(path string, g Gaussian) error {
	if !strings.HasSuffix(path, ".npz") {
		return fmt.Errorf("FID statistics %s: name it *.npz (NumPy would append .npz; pytorch-fid reads a path as statistics only when it ends in .npz)", path)
	}
	d := len(g.Mu)
	sigma := make([]float64, d*d)
	for i := 0; i < d; i++ {
		for j := 0; j < d; j++ {
			sigma[i*d+j] = g.Sigma.At(i, j)
		}
	}
	// the temps of writes of path cut short (a SIGKILL, a Ctrl-C: eval
	// fid has no handler) beside it
	runfolder.LogRemovedTemps(runfolder.RemoveStaleTempsOf([]string{path}, runfolder.ProcessStart))
	// not over a file that appeared while the statistics were computed:
	// pytorch-fid does not overwrite statistics either
	err := runfolder.AtomicCreateFile(path, func(w io.Writer) error {
		zw := zip.NewWriter(w)
		for _, a := range []struct {
			name string
			b    []byte
		}{{"mu.npy", npyBytes(g.Mu, d)}, {"sigma.npy", npyBytes(sigma, d, d)}} {
			f, err := zw.CreateHeader(&zip.FileHeader{Name: a.name, Method: zip.Deflate})
			if err != nil {
				return err
			}
			if _, err := f.Write(a.b); err != nil {
				return err
			}
		}
		return zw.Close()
	})
	if err != nil {
		return fmt.Errorf("FID statistics: %w", err)
	}
	return nil
}

// checkCovariance refuses a sigma that no set of features has: a value
// that is not finite, a negative variance, or a covariance larger than the
// two variances allow (|s_ij| <= sqrt(s_ii s_jj) holds for every
// covariance matrix; of sigma's mean with its transpose, the matrix used),
// checked in O(d^2) with room for rounding.
func checkCovariance(sigma []float64, d int) error {
	for i, v := range sigma {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("sigma[%d][%d] is %v", i/d, i%d, v)
		}
	}
	for i := 0; i < d; i++ {
		if v := sigma[i*d+i]; v < 0 {
			return fmt.Errorf("sigma[%d][%d] is %v: a variance is never negative (not a covariance matrix)", i, i, v)
		}
	}
	for i := 0; i < d; i++ {
		for j := i + 1; j < d; j++ {
			bound := math.Sqrt(sigma[i*d+i]*sigma[j*d+j])*(1+1e-6) + 1e-12
			if v := 0.5 * (sigma[i*d+j] + sigma[j*d+i]); math.Abs(v) > bound {
				return fmt.Errorf("sigma[%d][%d] is %v, more than its variances allow (%v): not a covariance matrix", i, j, v, bound)
			}
		}
	}
	return nil
}
