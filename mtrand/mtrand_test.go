package mtrand

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"testing"

	"gogan/cgo/torchtest"
)

// TestDrawsAsPythonAndTorch: Python and Torch, seeded as a DataLoader
// worker seeds random and torch (base_seed + worker_id: seeds of one and two
// 32-bit words, 0 and a negative one), make the draws Python's random and
// Debian's torch make: randint over ranges of 1 (which still draws) to 2^33,
// random(), getrandbits(40), torch.randint(0, n) and torch.rand(1).
func TestDrawsAsPythonAndTorch(t *testing.T) {
	py := torchtest.Python(t)
	seeds := []int64{0, 1, 5489, 4294967295, 4294967296, 8412738191239012345, -7}
	bounds := []int{0, 0, 1, 30, 30, 255, 1 << 33, 2}
	script := fmt.Sprintf(`
import json, random, torch
out = []
for s in %s:
    random.seed(s)
    r = [random.randint(0, b) for b in %s] + [random.random(), random.getrandbits(40), random.randint(3, 9)]
    torch.manual_seed(s & 0xFFFFFFFFFFFFFFFF if s < 0 else s)
    g = [torch.randint(0, n, size=(1,)).item() for n in (1, 31, 100, 257)] + [torch.rand(1).item() for _ in range(3)]
    out.append({"py": r, "torch": g})
print(json.dumps(out))
`, jsonList(seeds), jsonList(bounds))
	b, err := exec.Command(py, "-c", script).Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	var want []struct {
		Py    []float64 `json:"py"`
		Torch []float64 `json:"torch"`
	}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	for k, s := range seeds {
		r := NewPython(s)
		var got []float64
		for _, b := range bounds {
			got = append(got, float64(r.Randint(0, b)))
		}
		got = append(got, r.Random(), float64(r.Getrandbits(40)), float64(r.Randint(3, 9)))
		g := NewTorch(s)
		var gt []float64
		for _, n := range []int{1, 31, 100, 257} {
			gt = append(gt, float64(g.Randint(n)))
		}
		for range 3 {
			gt = append(gt, float64(g.Rand()))
		}
		for i := range got {
			if got[i] != want[k].Py[i] {
				t.Errorf("seed %d: Python draw %d: got %v, want %v", s, i, got[i], want[k].Py[i])
			}
		}
		for i := range gt {
			if gt[i] != want[k].Torch[i] {
				t.Errorf("seed %d: torch draw %d: got %v, want %v", s, i, gt[i], want[k].Torch[i])
			}
		}
	}
}

// TestWordsAsPython: every word of the stream, not only the bits a small
// randint keeps: getrandbits(32) (one whole word each) and
// randint(0, 2^32 - 1) (32 bits, one word) for 700 draws, past the state's
// first regeneration, from the seeds above. A draw of randint(0, 0) reads
// one bit of its word, so the first word of a stream is checked here alone.
func TestWordsAsPython(t *testing.T) {
	py := torchtest.Python(t)
	seeds := []int64{0, 1, 5489, 4294967296, 8412738191239012345, -7}
	b, err := exec.Command(py, "-c", fmt.Sprintf(`
import json, random
out = []
for s in %s:
    random.seed(s)
    out.append([random.getrandbits(32) for _ in range(700)] + [random.randint(0, 2**32 - 1) for _ in range(3)])
print(json.dumps(out))
`, jsonList(seeds))).Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	var want [][]uint64
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	for k, s := range seeds {
		r := NewPython(s)
		for i, w := range want[k] {
			var got uint64
			if i < 700 {
				got = r.Getrandbits(32)
			} else {
				got = uint64(r.Randint(0, 1<<32-1))
			}
			if got != w {
				t.Fatalf("seed %d: word %d is %d, Python's %d", s, i, got, w)
			}
		}
	}
}

func jsonList[T any](v []T) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestPythonStateRoundTrip: a generator restored from MarshalBinary's state
// goes on with the draws the saved one makes, one saved before its first
// draw too; a cut or foreign state is refused.
func TestPythonStateRoundTrip(t *testing.T) {
	r := NewPython(42)
	for range 700 { // past one regeneration of the state
		r.Random()
	}
	st, err := r.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var back Python
	if err := back.UnmarshalBinary(st); err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		if a, b := r.Randint(0, 49), back.Randint(0, 49); a != b {
			t.Fatalf("draw %d after the restore: %d, the saved generator's %d", i, b, a)
		}
	}
	if err := back.UnmarshalBinary(st[:100]); err == nil {
		t.Error("a cut state was taken")
	}
	// A generator saved before its first draw (a CycleGAN run's pools still
	// filling) is at the end of its state: resumed, it draws as a fresh one.
	fresh, err := NewPython(42).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if err := back.UnmarshalBinary(fresh); err != nil {
		t.Fatalf("the state of a generator that has not drawn: %v", err)
	}
	if a, b := NewPython(42).Random(), back.Random(); a != b {
		t.Fatalf("restored before its first draw: %v, a fresh generator's %v", b, a)
	}
	bad := append([]byte(nil), st...)
	bad[len(bad)-1] = 0xff
	if err := back.UnmarshalBinary(bad); err == nil {
		t.Error("a position past the state was taken")
	}
}
