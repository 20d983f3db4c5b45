package eval

import (
	"encoding/binary"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	torch "gogan/cgo"
	"gogan/data"
)

// Gaussian is a Gaussian fitted to a set of feature vectors: their mean and
// (unbiased, N-1) covariance in float64, as numpy's mean and cov(rowvar=False).
type Gaussian struct {
	Mu    []float64
	Sigma *mat.SymDense
	N     int // how many vectors it was fitted to
}

// FitGaussian fits a Gaussian to n = len(feats)/dim feature vectors stored
// row after row. It needs at least two vectors. The covariance is
// X^T X / (n-1) of the centred vectors, in float64 by libtorch's BLAS, in
// chunks of 4096 rows (memory: one chunk and the d x d sum).
func FitGaussian(feats []float32, dim int) (Gaussian, error) {
	if dim < 1 || len(feats)%dim != 0 {
		return Gaussian{}, fmt.Errorf("fit gaussian: %d values are not a whole number of %d-dimensional vectors", len(feats), dim)
	}
	n := len(feats) / dim
	if n < 2 {
		return Gaussian{}, fmt.Errorf("fit gaussian: %d feature vectors: need at least 2 for a covariance", n)
	}
	mu := make([]float64, dim)
	for i := 0; i < n; i++ {
		for j, v := range feats[i*dim : (i+1)*dim] {
			mu[j] += float64(v)
		}
	}
	for j := range mu {
		mu[j] /= float64(n)
		if math.IsNaN(mu[j]) || math.IsInf(mu[j], 0) {
			return Gaussian{}, fmt.Errorf("fit gaussian: feature %d is not finite (%v)", j, mu[j])
		}
	}
	const chunk = 4096
	var cov []float64
	err := torch.Try(func() {
		sc := torch.NewScope()
		defer sc.Close()
		sum := torch.Zeros(torch.Float64, torch.CPUDevice, int64(dim), int64(dim))
		xc := make([]float64, min(n, chunk)*dim)
		for i := 0; i < n; i += chunk {
			k := min(chunk, n-i)
			for r := 0; r < k; r++ {
				row := xc[r*dim : (r+1)*dim]
				for j, v := range feats[(i+r)*dim : (i+r+1)*dim] {
					row[j] = float64(v) - mu[j]
				}
			}
			next := func() *torch.Tensor {
				inner := torch.NewScope() // one chunk's tensors at a time
				defer inner.Close()
				x := f64Tensor(xc[:k*dim], int64(k), int64(dim))
				return inner.Keep(sum.Add(x.Permute(1, 0).Matmul(x)))
			}()
			sum.Free()
			sum = next
		}
		cov = float64s(sum.DivScalar(float64(n - 1)))
	})
	if err != nil {
		return Gaussian{}, fmt.Errorf("fit gaussian: %w", err)
	}
	return Gaussian{Mu: mu, Sigma: mat.NewSymDense(dim, cov), N: n}, nil
}

// FrechetDistance is the Fréchet distance between two Gaussians,
//
//	|mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)),
//
// the FID formula. tr((S1 S2)^(1/2)) is computed as tr((S1^(1/2) S2 S1^(1/2))^(1/2)),
// which has the same eigenvalues and is symmetric, so both square roots come
// from symmetric eigendecompositions (libtorch's LAPACK, float64;
// eigenvalues that rounding leaves slightly negative count as 0).
// Rank-deficient covariances (fewer vectors than dimensions) are fine.
func FrechetDistance(a, b Gaussian) (float64, error) {
	d := len(a.Mu)
	if len(b.Mu) != d || a.Sigma.SymmetricDim() != d || b.Sigma.SymmetricDim() != d {
		return 0, fmt.Errorf("frechet distance: means of %d and %d dimensions, covariances of %d and %d",
			d, len(b.Mu), a.Sigma.SymmetricDim(), b.Sigma.SymmetricDim())
	}
	var diff2 float64
	for i := range a.Mu {
		x := a.Mu[i] - b.Mu[i]
		diff2 += x * x
	}
	var trSqrt float64
	err := torch.Try(func() {
		sc := torch.NewScope()
		defer sc.Close()
		vals, vecs := symTensor(a.Sigma).Eigh()
		sqrtA := vecs.Mul(vals.ClampMin(0).Sqrt()).Matmul(vecs.Permute(1, 0))
		m := sqrtA.Matmul(symTensor(b.Sigma)).Matmul(sqrtA)
		m = m.Add(m.Permute(1, 0)).MulScalar(0.5)
		for _, v := range float64s(m.Eigvalsh()) {
			if v > 0 {
				trSqrt += math.Sqrt(v)
			}
		}
	})
	if err != nil {
		return 0, fmt.Errorf("frechet distance: %w", err)
	}
	return diff2 + mat.Trace(a.Sigma) + mat.Trace(b.Sigma) - 2*trSqrt, nil
}

// f64Tensor is a CPU float64 tensor holding a copy of v.
func f64Tensor(v []float64, shape ...int64) *torch.Tensor {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(x))
	}
	return torch.FromBytes(b, torch.Float64, torch.CPUDevice, shape...)
}

// float64s is a float64 tensor's values, in row-major order.
func float64s(t *torch.Tensor) []float64 {
	b := t.Contiguous().Bytes()
	out := make([]float64, len(b)/8)
	for i := range out {
		out[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return out
}

// symTensor is a symmetric matrix as a full float64 tensor.
func symTensor(s *mat.SymDense) *torch.Tensor {
	d := s.SymmetricDim()
	v := make([]float64, d*d)
	for i := 0; i < d; i++ {
		for j := i; j < d; j++ {
			x := s.At(i, j)
			v[i*d+j], v[j*d+i] = x, x
		}
	}
	return f64Tensor(v, int64(d), int64(d))
}

// maxPSNR is the PSNR given to two identical images (whose MSE is 0 and
// whose PSNR is infinite), so that one exact match cannot make a mean infinite.
const maxPSNR = 100.0

// PSNR is the peak signal-to-noise ratio of two 8-bit images, in dB:
// 10 log10(255^2 / MSE) with the MSE over every pixel and channel (as
// skimage.metrics.peak_signal_noise_ratio with data_range 255). Identical
// images give maxPSNR (100 dB).
func PSNR(a, b *data.Image) (float64, error) {
	if err := sameImageSize(a, b); err != nil {
		return 0, fmt.Errorf("psnr: %w", err)
	}
	var se float64
	for i, v := range a.Pix {
		d := float64(v) - float64(b.Pix[i])
		se += d * d
	}
	mse := se / float64(len(a.Pix))
	if mse == 0 {
		return maxPSNR, nil
	}
	return min(maxPSNR, 10*math.Log10(255*255/mse)), nil
}

func sameImageSize(a, b *data.Image) error {
	if a.W != b.W || a.H != b.H || a.C != b.C {
		return fmt.Errorf("images of %dx%dx%d and %dx%dx%d (W x H x C) differ in size", a.W, a.H, a.C, b.W, b.H, b.C)
	}
	if len(a.Pix) != a.W*a.H*a.C || len(b.Pix) != b.W*b.H*b.C {
		return fmt.Errorf("image pixels do not match the image size")
	}
	return nil
}

// SSIM window and constants: Wang, Bovik, Sheikh and Simoncelli (2004), as
// their MATLAB ssim_index and skimage's structural_similarity(gaussian_weights=True,
// sigma=1.5, use_sample_covariance=False, data_range=255).
const (
	ssimRadius = 5 // 11x11 window
	ssimSigma  = 1.5
	ssimK1     = 0.01
	ssimK2     = 0.03
	ssimL      = 255.0
)

var ssimWindow = func() []float64 {
	w := make([]float64, 2*ssimRadius+1)
	var s float64
	for i := range w {
		x := float64(i - ssimRadius)
		w[i] = math.Exp(-x * x / (2 * ssimSigma * ssimSigma))
		s += w[i]
	}
	for i := range w {
		w[i] /= s
	}
	return w
}()

// SSIM is the structural similarity of two 8-bit images: for each channel,
// the mean of the SSIM map over every position where the 11x11 Gaussian
// window (sigma 1.5) lies wholly inside the image (MATLAB's 'valid', which is
// what skimage averages after cropping its borders), with K1 0.01, K2 0.03,
// L 255; then the mean over channels. Images need to be at least 11x11.
func SSIM(a, b *data.Image) (float64, error) {
	if err := sameImageSize(a, b); err != nil {
		return 0, fmt.Errorf("ssim: %w", err)
	}
	k := 2*ssimRadius + 1
	if a.W < k || a.H < k {
		return 0, fmt.Errorf("ssim: images of %dx%d are smaller than the %dx%d window", a.W, a.H, k, k)
	}
	n := a.W * a.H
	x, y := make([]float64, n), make([]float64, n)
	var sum float64
	for c := 0; c < a.C; c++ {
		for i := 0; i < n; i++ {
			x[i] = float64(a.Pix[i*a.C+c])
			y[i] = float64(b.Pix[i*a.C+c])
		}
		sum += ssimPlane(x, y, a.W, a.H)
	}
	return sum / float64(a.C), nil
}

// ssimPlane is the mean SSIM of two w x h planes over the valid window positions.
func ssimPlane(x, y []float64, w, h int) float64 {
	n := w * h
	xx, yy, xy := make([]float64, n), make([]float64, n), make([]float64, n)
	for i := 0; i < n; i++ {
		xx[i], yy[i], xy[i] = x[i]*x[i], y[i]*y[i], x[i]*y[i]
	}
	ow, oh := w-2*ssimRadius, h-2*ssimRadius
	mx, my := filterValid(x, w, h), filterValid(y, w, h)
	mxx, myy, mxy := filterValid(xx, w, h), filterValid(yy, w, h), filterValid(xy, w, h)
	c1, c2 := (ssimK1*ssimL)*(ssimK1*ssimL), (ssimK2*ssimL)*(ssimK2*ssimL)
	var s float64
	for i := 0; i < ow*oh; i++ {
		ux, uy := mx[i], my[i]
		vx, vy, cxy := mxx[i]-ux*ux, myy[i]-uy*uy, mxy[i]-ux*uy
		s += ((2*ux*uy + c1) * (2*cxy + c2)) / ((ux*ux + uy*uy + c1) * (vx + vy + c2))
	}
	return s / float64(ow*oh)
}

// filterValid convolves a w x h plane with the separable SSIM window,
// keeping the (w-10) x (h-10) positions where it fits.
func filterValid(p []float64, w, h int) []float64 {
	k := len(ssimWindow)
	ow, oh := w-k+1, h-k+1
	rows := make([]float64, ow*h)
	for y := 0; y < h; y++ {
		for x := 0; x < ow; x++ {
			var s float64
			for i, g := range ssimWindow {
				s += g * p[y*w+x+i]
			}
			rows[y*ow+x] = s
		}
	}
	out := make([]float64, ow*oh)
	for y := 0; y < oh; y++ {
		for x := 0; x < ow; x++ {
			var s float64
			for i, g := range ssimWindow {
				s += g * rows[(y+i)*ow+x]
			}
			out[y*ow+x] = s
		}
	}
	return out
}
