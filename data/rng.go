package data

import "math/bits"

// rng is a small splitmix64 generator. It is written out here rather than taken
// from math/rand so that the streams (and so shuffles, crops and flips) stay the
// same across Go releases: a checkpoint resumed with a newer toolchain must see
// the same batches.
type rng struct{ s uint64 }

func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// newRNG seeds a generator from several words, so that (seed, epoch, index)
// streams are independent of each other.
func newRNG(words ...uint64) *rng {
	h := uint64(0x9e3779b97f4a7c15)
	for _, w := range words {
		h = mix64(h ^ w + 0x9e3779b97f4a7c15)
	}
	return &rng{s: h}
}

func (r *rng) Uint64() uint64 {
	r.s += 0x9e3779b97f4a7c15
	return mix64(r.s)
}

// Intn returns a uniform int in [0, n) without modulo bias (Lemire's method).
func (r *rng) Intn(n int) int {
	if n <= 0 {
		panic("data: Intn with n <= 0")
	}
	un := uint64(n)
	for {
		hi, lo := bits.Mul64(r.Uint64(), un)
		if lo >= un || lo >= (-un)%un {
			return int(hi)
		}
	}
}

// Float64 returns a uniform float in [0, 1).
func (r *rng) Float64() float64 { return float64(r.Uint64()>>11) / (1 << 53) }

// Permutation returns the sample order of an epoch: the same (n, seed, epoch)
// always gives the same order. The trainer can use it to index a dataset it
// keeps on the GPU and get the batches the loader would give.
func Permutation(n int, seed, epoch uint64) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	r := newRNG(seed, epoch, 0x5eed5)
	for i := n - 1; i > 0; i-- {
		j := r.Intn(i + 1)
		p[i], p[j] = p[j], p[i]
	}
	return p
}
