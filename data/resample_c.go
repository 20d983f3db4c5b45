package data

// The two passes of the 8-bit resampler in C: the compiler vectorises the
// vertical pass (an int32 multiply-add over whole rows; AVX2 where the CPU
// has it, chosen when the program starts) and drops the bounds checks of the
// horizontal one: twice Go's speed on a pix2pix resize (README,
// Benchmarks). The sums are PIL's, in uint32 so that they wrap as PIL's
// int32 sums do without signed overflow.

/*
#cgo CFLAGS: -O3
#include <stdint.h>
#include <stddef.h>

enum { gogan_precision_bits = 32 - 8 - 2 };

static inline uint8_t gogan_clip8(uint32_t u) {
	int32_t v = (int32_t)u;
	if (v <= 0) return 0;
	v >>= gogan_precision_bits;
	return v > 255 ? 255 : (uint8_t)v;
}

// gogan_resample_h resamples rows rows of src (stride in bytes) into dst
// (outw pixels of c channels each): output pixel x sums bounds[2x+1] input
// pixels from bounds[2x], weighted by k[x*ksize:].
static void gogan_resample_h(const uint8_t *src, size_t stride, uint8_t *dst, int rows, int c, int outw,
                             const int32_t *bounds, const int32_t *k, int ksize) {
	const uint32_t half = 1u << (gogan_precision_bits - 1);
	for (int y = 0; y < rows; y++) {
		const uint8_t *in = src + (size_t)y * stride;
		uint8_t *out = dst + (size_t)y * outw * c;
		for (int x = 0; x < outw; x++) {
			const uint8_t *s = in + (size_t)bounds[2 * x] * c;
			const int n = bounds[2 * x + 1];
			const uint32_t *kx = (const uint32_t *)k + (size_t)x * ksize;
			if (c == 3) {
				uint32_t s0 = half, s1 = half, s2 = half;
				for (int j = 0; j < n; j++) {
					s0 += s[3 * j] * kx[j];
					s1 += s[3 * j + 1] * kx[j];
					s2 += s[3 * j + 2] * kx[j];
				}
				out[3 * x] = gogan_clip8(s0);
				out[3 * x + 1] = gogan_clip8(s1);
				out[3 * x + 2] = gogan_clip8(s2);
				continue;
			}
			for (int ch = 0; ch < c; ch++) {
				uint32_t ss = half;
				for (int j = 0; j < n; j++) ss += s[j * c + ch] * kx[j];
				out[x * c + ch] = gogan_clip8(ss);
			}
		}
	}
}

// gogan_resample_v makes outrows rows of rowlen bytes: output row y sums
// bounds[2y+1] rows of src from row bounds[2y], weighted by k[y*ksize:],
// row by row into acc (rowlen values).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
static void gogan_resample_v(const uint8_t *src, size_t rowlen, uint8_t *dst, int outrows,
                             const int32_t *bounds, const int32_t *k, int ksize, uint32_t *acc) {
	const uint32_t half = 1u << (gogan_precision_bits - 1);
	for (int y = 0; y < outrows; y++) {
		const uint8_t *rows = src + (size_t)bounds[2 * y] * rowlen;
		const int n = bounds[2 * y + 1];
		const uint32_t *ky = (const uint32_t *)k + (size_t)y * ksize;
		for (size_t i = 0; i < rowlen; i++) acc[i] = half;
		for (int j = 0; j < n; j++) {
			const uint8_t *r = rows + (size_t)j * rowlen;
			const uint32_t kj = ky[j];
			for (size_t i = 0; i < rowlen; i++) acc[i] += r[i] * kj;
		}
		uint8_t *out = dst + (size_t)y * rowlen;
		for (size_t i = 0; i < rowlen; i++) out[i] = gogan_clip8(acc[i]);
	}
}
*/
import "C"

import (
	"fmt"
	"math"
	"unsafe"
)

// resampleH resamples rows rows of src, each stride bytes, into dst
// (len(ch.bounds)/2 pixels of c channels a row).
func resampleH(src []uint8, stride int, dst []uint8, rows, c int, ch coeffs) {
	outw := len(ch.bounds) / 2
	if rows == 0 || outw == 0 {
		return
	}
	// C reads and writes without bounds checks: check them here once.
	checkTaps(ch, stride/c, "horizontal")
	if rows*stride > len(src) || rows*outw*c > len(dst) || rows*stride > math.MaxInt32 || rows*outw*c > math.MaxInt32 {
		panic(fmt.Sprintf("data: resample: horizontal pass of %d rows of %d bytes to %d pixels of %d channels past its buffers (%d and %d bytes)",
			rows, stride, outw, c, len(src), len(dst)))
	}
	C.gogan_resample_h((*C.uint8_t)(unsafe.Pointer(&src[0])), C.size_t(stride), (*C.uint8_t)(unsafe.Pointer(&dst[0])),
		C.int(rows), C.int(c), C.int(outw), (*C.int32_t)(unsafe.Pointer(&ch.bounds[0])), (*C.int32_t)(unsafe.Pointer(&ch.k[0])), C.int(ch.ksize))
}

// resampleV makes len(cv.bounds)/2 rows of rowLen bytes in dst from the rows
// of src.
func resampleV(src []uint8, rowLen int, dst []uint8, cv coeffs) {
	outRows := len(cv.bounds) / 2
	if outRows == 0 || rowLen == 0 {
		return
	}
	checkTaps(cv, len(src)/rowLen, "vertical")
	if outRows*rowLen > len(dst) || len(src) > math.MaxInt32 {
		panic(fmt.Sprintf("data: resample: vertical pass to %d rows of %d bytes past its buffers (%d and %d bytes)", outRows, rowLen, len(src), len(dst)))
	}
	acc := make([]uint32, rowLen)
	C.gogan_resample_v((*C.uint8_t)(unsafe.Pointer(&src[0])), C.size_t(rowLen), (*C.uint8_t)(unsafe.Pointer(&dst[0])),
		C.int(outRows), (*C.int32_t)(unsafe.Pointer(&cv.bounds[0])), (*C.int32_t)(unsafe.Pointer(&cv.k[0])), C.int(cv.ksize),
		(*C.uint32_t)(unsafe.Pointer(&acc[0])))
}

// checkTaps panics unless every output's taps lie in [0, in) and fit ksize.
func checkTaps(c coeffs, in int, pass string) {
	for i := 0; i < len(c.bounds); i += 2 {
		if lo, n := int(c.bounds[i]), int(c.bounds[i+1]); lo < 0 || n < 0 || n > c.ksize || lo+n > in {
			panic(fmt.Sprintf("data: resample: %s taps [%d, %d) of output %d outside the input's %d", pass, lo, lo+n, i/2, in))
		}
	}
	if len(c.k) < len(c.bounds)/2*c.ksize {
		panic("data: resample: " + pass + " coefficients missing")
	}
}
