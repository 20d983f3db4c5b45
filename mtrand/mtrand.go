// Package mtrand draws as Python's random module and torch's CPU generator
// draw. The references make their data's random choices in torch
// DataLoader worker processes, from both generators seeded with base_seed +
// worker_id (Python's random for get_params and UnalignedDataset's randint,
// torch's for torchvision's RandomCrop and RandomHorizontalFlip), and
// CycleGAN's image pools draw from Python's random. Both are MT19937; they
// differ in how a seed becomes the state and how a draw is made of 32-bit
// words. They are written out here so that gogan draws the same numbers
// without Python and (in the data package) without libtorch.
package mtrand

import (
	"encoding/binary"
	"fmt"
)

const (
	mtN = 624
	mtM = 397
)

// mt19937 is the Mersenne Twister of Matsumoto and Nishimura (1998).
type mt19937 struct {
	s [mtN]uint32
	i int
}

// initGenrand is the reference's init_genrand: torch's mt19937(seed) with
// the seed's low 32 bits.
func (m *mt19937) initGenrand(seed uint32) {
	m.s[0] = seed
	for j := 1; j < mtN; j++ {
		m.s[j] = 1812433253*(m.s[j-1]^(m.s[j-1]>>30)) + uint32(j)
	}
	m.i = mtN
}

// initByArray is the reference's init_by_array: Python's random.seed of an
// integer, whose absolute value's 32-bit words (least significant first)
// are the key.
func (m *mt19937) initByArray(key []uint32) {
	m.initGenrand(19650218)
	i, j := 1, 0
	for k := max(mtN, len(key)); k > 0; k-- {
		m.s[i] = (m.s[i] ^ ((m.s[i-1] ^ (m.s[i-1] >> 30)) * 1664525)) + key[j] + uint32(j)
		i, j = i+1, j+1
		if i >= mtN {
			m.s[0], i = m.s[mtN-1], 1
		}
		if j >= len(key) {
			j = 0
		}
	}
	for k := mtN - 1; k > 0; k-- {
		m.s[i] = (m.s[i] ^ ((m.s[i-1] ^ (m.s[i-1] >> 30)) * 1566083941)) - uint32(i)
		i++
		if i >= mtN {
			m.s[0], i = m.s[mtN-1], 1
		}
	}
	m.s[0] = 0x80000000
	m.i = mtN
}

// uint32 is genrand_int32.
func (m *mt19937) uint32() uint32 {
	if m.i >= mtN {
		for k := range mtN {
			y := m.s[k]&0x80000000 | m.s[(k+1)%mtN]&0x7fffffff
			v := m.s[(k+mtM)%mtN] ^ y>>1
			if y&1 != 0 {
				v ^= 0x9908b0df
			}
			m.s[k] = v
		}
		m.i = 0
	}
	y := m.s[m.i]
	m.i++
	y ^= y >> 11
	y ^= y << 7 & 0x9d2c5680
	y ^= y << 15 & 0xefc60000
	return y ^ y>>18
}

// Python is Python's random.Random (CPython 3).
type Python struct{ mt mt19937 }

// NewPython is random.Random(seed) for an integer seed.
func NewPython(seed int64) *Python {
	u := uint64(seed)
	if seed < 0 {
		u = -u // random.seed takes the absolute value
	}
	key := []uint32{uint32(u)}
	if hi := uint32(u >> 32); hi != 0 {
		key = append(key, hi)
	}
	r := &Python{}
	r.mt.initByArray(key)
	return r
}

// Random is random.random() (and random.uniform(0, 1)): 53 bits from two
// words.
func (r *Python) Random() float64 {
	a, b := r.mt.uint32()>>5, r.mt.uint32()>>6
	return (float64(a)*67108864 + float64(b)) / 9007199254740992
}

// Getrandbits is random.getrandbits(k) for 0 < k <= 64.
func (r *Python) Getrandbits(k int) uint64 {
	if k <= 32 {
		return uint64(r.mt.uint32() >> (32 - k))
	}
	lo := uint64(r.mt.uint32())
	return lo | uint64(r.mt.uint32()>>(64-k))<<32
}

// Randint is random.randint(a, b) for a <= b: a + _randbelow(b-a+1), which
// draws bit_length(n) bits until they fall below n.
func (r *Python) Randint(a, b int) int {
	n := uint64(b - a + 1)
	k := 0
	for v := n; v != 0; v >>= 1 {
		k++
	}
	v := r.Getrandbits(k)
	for v >= n {
		v = r.Getrandbits(k)
	}
	return a + int(v)
}

// MarshalBinary is the generator's state (its 624 words and position), for
// a checkpoint.
func (r *Python) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 4*(mtN+1))
	for _, w := range r.mt.s {
		b = binary.LittleEndian.AppendUint32(b, w)
	}
	return binary.LittleEndian.AppendUint32(b, uint32(r.mt.i)), nil
}

// UnmarshalBinary restores a state MarshalBinary made.
func (r *Python) UnmarshalBinary(b []byte) error {
	if len(b) != 4*(mtN+1) {
		return fmt.Errorf("a Mersenne Twister state is %d bytes, not %d", 4*(mtN+1), len(b))
	}
	i := int(binary.LittleEndian.Uint32(b[4*mtN:]))
	if i > mtN {
		return fmt.Errorf("a Mersenne Twister position %d past its %d words", i, mtN)
	}
	for k := range r.mt.s {
		r.mt.s[k] = binary.LittleEndian.Uint32(b[4*k:])
	}
	r.mt.i = i
	return nil
}

// Torch is torch's CPU generator after torch.manual_seed(seed), for the
// draws torchvision's random transforms make of tensors of one element.
type Torch struct{ mt mt19937 }

// NewTorch is the generator torch.manual_seed(seed) makes (of the seed's
// low 32 bits).
func NewTorch(seed int64) *Torch {
	g := &Torch{}
	g.mt.initGenrand(uint32(seed))
	return g
}

// Randint is torch.randint(0, n, (1,)).item() for 0 < n < 2^32: one word
// modulo n (uniform_int_from_to).
func (g *Torch) Randint(n int) int { return int(g.mt.uint32() % uint32(n)) }

// Rand is torch.rand(1).item(): a float32 of the word's low 24 bits.
func (g *Torch) Rand() float32 { return float32(g.mt.uint32()&(1<<24-1)) / (1 << 24) }
