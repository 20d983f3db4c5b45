package torch

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"gogan/cgo/torchtest"
)

func TestRoundTripsAndInfo(t *testing.T) {
	s := NewScope()
	defer s.Close()
	f := FromFloat32([]float32{1, -2.5, 3, 4, 5, 6}, 2, 3)
	if !slices.Equal(f.Shape(), []int64{2, 3}) || f.DType() != Float32 || f.Device() != CPUDevice || f.Dim() != 2 || f.Numel() != 6 {
		t.Fatalf("info of %v", f)
	}
	if got := f.Float32s(); !slices.Equal(got, []float32{1, -2.5, 3, 4, 5, 6}) {
		t.Errorf("float32 round trip: %v", got)
	}
	if got := FromUint8([]uint8{0, 7, 255}, 3).Uint8s(); !slices.Equal(got, []uint8{0, 7, 255}) {
		t.Errorf("uint8 round trip: %v", got)
	}
	if got := FromInt64([]int64{-1 << 40, 3}, 2).Int64s(); !slices.Equal(got, []int64{-1 << 40, 3}) {
		t.Errorf("int64 round trip: %v", got)
	}
	// Conversions through every dtype keep values that the dtype can hold.
	for _, dt := range []DType{Float16, BFloat16, Float64, Int64, Int32, Uint8} {
		c := f.Abs().ToDType(dt)
		if c.DType() != dt {
			t.Errorf("ToDType(%s) gave %s", dt, c.DType())
		}
		want := []float32{1, 2.5, 3, 4, 5, 6}
		if !dt.IsFloat() {
			want = []float32{1, 2, 3, 4, 5, 6}
		}
		if got := c.Float32s(); !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", dt, got, want)
		}
		if len(c.Bytes()) != 6*dt.Size() {
			t.Errorf("%s: %d raw bytes", dt, len(c.Bytes()))
		}
	}
	if b := f.Gt0(); b.DType() != Bool || !slices.Equal(b.Uint8s(), []uint8{1, 0, 1, 1, 1, 1}) {
		t.Errorf("bool tensor: %v", b.Uint8s())
	}
	if v := Full(2.5, Float32, CPUDevice, 2, 2).Sum().Item(); v != 10 {
		t.Errorf("full sum %v", v)
	}
	if v := Arange(0, 5, 1, Int64, CPUDevice).Int64s(); !slices.Equal(v, []int64{0, 1, 2, 3, 4}) {
		t.Errorf("arange %v", v)
	}
	if z, o := Zeros(Float32, CPUDevice, 3).Float32s(), Ones(Float32, CPUDevice, 3).Float32s(); !slices.Equal(z, []float32{0, 0, 0}) || !slices.Equal(o, []float32{1, 1, 1}) {
		t.Errorf("zeros %v ones %v", z, o)
	}
	scalar := FromFloat32([]float32{42})
	if scalar.Dim() != 0 || scalar.Item() != 42 {
		t.Errorf("scalar: dim %d item %v", scalar.Dim(), scalar.Item())
	}
	// A Float32Data view writes into the tensor itself.
	e := Empty(Float32, CPUDevice, false, 4)
	copy(e.Float32Data(), []float32{9, 8, 7, 6})
	if got := e.Float32s(); !slices.Equal(got, []float32{9, 8, 7, 6}) {
		t.Errorf("Float32Data view: %v", got)
	}
	cl := Randn(Float32, CPUDevice, 2, 3, 4, 5).ChannelsLast()
	if cl.IsContiguous() || !cl.Contiguous().IsContiguous() {
		t.Error("channels_last layout not reported")
	}
	if r := Rand(Float32, CPUDevice, 1000).Float32s(); slices.Min(r) < 0 || slices.Max(r) >= 1 {
		t.Errorf("rand outside [0,1): %v..%v", slices.Min(r), slices.Max(r))
	}
}

// Gt0 is a test helper: x > 0 as a bool tensor, through the public ops.
func (t *Tensor) Gt0() *Tensor { return t.Sign01().ToDType(Bool) }

// Sign01 is 1 where t > 0, else 0 (clamp of a scaled relu).
func (t *Tensor) Sign01() *Tensor { return t.Relu().MulScalar(1e30).ClampMax(1) }

func TestSeedsAndRNGState(t *testing.T) {
	s := NewScope()
	defer s.Close()
	ManualSeed(123)
	a := Randn(Float32, CPUDevice, 5).Float32s()
	ManualSeed(123)
	b := Randn(Float32, CPUDevice, 5).Float32s()
	if !slices.Equal(a, b) {
		t.Fatalf("same seed, different numbers: %v %v", a, b)
	}
	st := RNGState(CPUDevice)
	c := Randn(Float32, CPUDevice, 5).Float32s()
	Randn(Float32, CPUDevice, 100) // move on
	SetRNGState(CPUDevice, st)
	d := Randn(Float32, CPUDevice, 5).Float32s()
	if !slices.Equal(c, d) {
		t.Fatalf("restored RNG state gives %v, want %v", d, c)
	}
	if err := Try(func() { SetRNGState(CPUDevice, Zeros(Float32, CPUDevice, 3)) }); err == nil {
		t.Error("a float tensor was accepted as RNG state")
	}
}

func TestScopes(t *testing.T) {
	noBackstop(t)
	base := LiveTensors()
	var kept, persisted, inner *Tensor
	outer := NewScope()
	func() {
		s := NewScope()
		defer s.Close()
		inner = Ones(Float32, CPUDevice, 2)
		kept = s.Keep(Ones(Float32, CPUDevice, 3))
		persisted = Ones(Float32, CPUDevice, 4).Persist()
		Zeros(Float32, CPUDevice, 5).Free() // freed early: the scope must not free it again
	}()
	if !inner.Freed() || kept.Freed() || persisted.Freed() {
		t.Fatalf("after the inner scope: inner freed %v, kept freed %v, persisted freed %v", inner.Freed(), kept.Freed(), persisted.Freed())
	}
	outer.Close()
	if !kept.Freed() {
		t.Error("a tensor kept into the outer scope survived it")
	}
	if persisted.Freed() {
		t.Error("a persisted tensor was freed by a scope")
	}
	persisted.Free()
	persisted.Free() // idempotent
	if got := LiveTensors(); got != base {
		t.Errorf("%d live handles, %d before", got, base)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("closing an outer scope before its inner one did not panic")
			}
		}()
		a := NewScope()
		defer a.Close()
		b := NewScope()
		defer b.Close()
		a.Close()
	}()
}

// TestScopesArePerThread: a tensor another goroutine makes while this one
// has a scope open is not the scope's (the GPU review of #13: the stack was
// process-wide), and that goroutine's own scopes nest on their own.
func TestScopesArePerThread(t *testing.T) {
	noBackstop(t)
	s := NewScope()
	var other, otherScoped *Tensor
	done := make(chan struct{})
	go func() {
		defer close(done)
		other = Ones(Float32, CPUDevice, 2) // no scope on this goroutine
		o := NewScope()
		otherScoped = Ones(Float32, CPUDevice, 2)
		o.Close()
	}()
	<-done
	mine := Ones(Float32, CPUDevice, 2)
	s.Close()
	if !mine.Freed() {
		t.Error("the scope did not free its own tensor")
	}
	if other.Freed() {
		t.Error("closing a scope freed a tensor another goroutine made meanwhile")
	}
	if !otherScoped.Freed() {
		t.Error("the other goroutine's scope did not free its tensor")
	}
	other.Free()
}

// TestCleanupBackstop: a tensor nobody frees is released once unreachable.
func TestCleanupBackstop(t *testing.T) {
	// Let earlier tests' unreachable tensors go first, so the count is this test's.
	for prev := int64(-1); prev != LiveTensors(); {
		prev = LiveTensors()
		runtime.GC()
		time.Sleep(20 * time.Millisecond)
	}
	base := LiveTensors()
	func() { _ = Ones(Float32, CPUDevice, 1000) }()
	deadline := time.Now().Add(5 * time.Second)
	for LiveTensors() != base && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if got := LiveTensors(); got != base {
		t.Errorf("unreachable tensor not released: %d live, %d before", got, base)
	}
}

func TestAutogradBasics(t *testing.T) {
	LockThread()
	s := NewScope()
	defer s.Close()
	x := FromFloat32([]float32{1, 2, 3}, 3).SetRequiresGrad(true)
	if x.Grad() != nil {
		t.Error("gradient before backward")
	}
	x.Square().Sum().Backward()
	if g := x.Grad().Float32s(); !slices.Equal(g, []float32{2, 4, 6}) {
		t.Errorf("d(sum x^2)/dx = %v", g)
	}
	x.Square().Sum().Backward() // accumulates
	if g := x.Grad().Float32s(); !slices.Equal(g, []float32{4, 8, 12}) {
		t.Errorf("accumulated gradient %v", g)
	}
	x.ZeroGrad()
	if x.Grad() != nil {
		t.Error("ZeroGrad left a gradient")
	}
	var y *Tensor
	NoGrad(func() { y = x.MulScalar(2) })
	if y.RequiresGrad() || !GradEnabled() {
		t.Errorf("NoGrad: result requires grad %v, grad enabled after %v", y.RequiresGrad(), GradEnabled())
	}
	if x.MulScalar(2).Detach().RequiresGrad() {
		t.Error("Detach kept the graph")
	}
	z := FromFloat32([]float32{5}, 1).SetRequiresGrad(true)
	gs := Grads([]*Tensor{x.Sum()}, []*Tensor{x, z}, GradOpts{AllowUnused: true})
	if gs[1] != nil || !slices.Equal(gs[0].Float32s(), []float32{1, 1, 1}) {
		t.Errorf("Grads with an unused input: %v %v", gs[0], gs[1])
	}
	if err := Try(func() { Grads([]*Tensor{x.Sum()}, []*Tensor{z}, GradOpts{}) }); err == nil {
		t.Error("an unused input without AllowUnused was accepted")
	}
	// In-place updates outside autograd.
	p := Zeros(Float32, CPUDevice, 4).SetRequiresGrad(true)
	p.Fill(1.5)
	p.AddInPlace(1)
	p.CopyFrom(p.Detach().MulScalar(2))
	if got := p.Float32s(); !slices.Equal(got, []float32{5, 5, 5, 5}) {
		t.Errorf("in-place updates: %v", got)
	}
	count := Zeros(Int64, CPUDevice) // BatchNorm's num_batches_tracked
	count.AddInPlace(1)
	count.AddInPlace(1)
	if got := count.Int64s(); got[0] != 2 {
		t.Errorf("int64 AddInPlace: %v", got)
	}
	// Past int64's range and NaN are refused before any cast to an integer.
	for _, v := range []float64{0.5, math.NaN(), math.Inf(1), math.Inf(-1), 1e30, 0x1p63, -0x1p64} {
		if err := Try(func() { count.AddInPlace(v) }); err == nil || !strings.Contains(err.Error(), "not an integer") {
			t.Errorf("AddInPlace(%g) to an int64 tensor: %v", v, err)
		}
	}
	if got := count.Int64s(); got[0] != 2 {
		t.Errorf("int64 AddInPlace after refusals: %v", got)
	}
	if err := Try(func() { p.CopyFrom(Zeros(Float32, CPUDevice, 5)) }); err == nil || !strings.Contains(err.Error(), "shape") {
		t.Errorf("copy of a wrong shape: %v", err)
	}
	w := Empty(Float32, CPUDevice, false, 64, 32, 3, 3)
	w.FillNormal(0, 0.02)
	if std := stddev(w.Float32s()); math.Abs(std-0.02) > 0.002 {
		t.Errorf("FillNormal std %v", std)
	}
	w.Init(XavierNormal, 1)
	if std, want := stddev(w.Float32s()), math.Sqrt(2.0/float64(32*9+64*9)); math.Abs(std-want) > want*0.1 {
		t.Errorf("xavier std %v, want %v", std, want)
	}
	w.Init(KaimingNormal, 0)
	if std, want := stddev(w.Float32s()), math.Sqrt(2.0/float64(32*9)); math.Abs(std-want) > want*0.1 {
		t.Errorf("kaiming std %v, want %v", std, want)
	}
	q := Empty(Float32, CPUDevice, false, 16, 16)
	q.Init(Orthogonal, 1)
	// Q Q^T = I for a square orthogonal matrix: check the diagonal of the Gram matrix by rows.
	rows := q.Float32s()
	for i := 0; i < 16; i++ {
		var n float64
		for j := 0; j < 16; j++ {
			n += float64(rows[i*16+j]) * float64(rows[i*16+j])
		}
		if math.Abs(n-1) > 1e-4 {
			t.Errorf("orthogonal row %d has norm^2 %v", i, n)
		}
	}
}

func stddev(v []float32) float64 {
	var m, s float64
	for _, x := range v {
		m += float64(x)
	}
	m /= float64(len(v))
	for _, x := range v {
		s += (float64(x) - m) * (float64(x) - m)
	}
	return math.Sqrt(s / float64(len(v)))
}

func TestThreads(t *testing.T) {
	prev := NumThreads()
	defer SetNumThreads(prev)
	blas, err := SetNumThreads(2)
	if err != nil || NumThreads() != 2 {
		t.Fatalf("SetNumThreads(2): %v, now %d", err, NumThreads())
	}
	if !blas && !HasMKL() {
		t.Error("OpenBLAS not found: install libopenblas0-pthread (make setup); the reference BLAS is ten times slower")
	}
	if _, err := SetNumThreads(0); err == nil {
		t.Error("zero threads accepted")
	}
}

func TestSafetensors(t *testing.T) {
	s := NewScope()
	defer s.Close()
	dir := t.TempDir()
	path := filepath.Join(dir, "w.safetensors")
	in := []Named{
		{"main.0.weight", Randn(Float32, CPUDevice, 4, 3, 2, 2)},
		{"main.1.num_batches_tracked", FromInt64([]int64{7})},
		{"half", Randn(Float32, CPUDevice, 3).ToDType(Float16)},
		{"bf", Randn(Float32, CPUDevice, 3).ToDType(BFloat16)},
		{"bytes", FromUint8([]uint8{1, 2, 3}, 3)},
	}
	if err := SaveSafetensors(path, in, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	out, meta, err := LoadSafetensors(path)
	if err != nil {
		t.Fatal(err)
	}
	if meta["format"] != "pt" || len(out) != len(in) {
		t.Fatalf("meta %v, %d tensors", meta, len(out))
	}
	for i := range in {
		if out[i].Name != in[i].Name || out[i].Tensor.DType() != in[i].Tensor.DType() ||
			!bytes.Equal(out[i].Tensor.Bytes(), in[i].Tensor.Bytes()) || !slices.Equal(out[i].Tensor.Shape(), in[i].Tensor.Shape()) {
			t.Errorf("tensor %d: %s %v, wrote %s %v", i, out[i].Name, out[i].Tensor, in[i].Name, in[i].Tensor)
		}
		out[i].Tensor.Free()
	}
	good, _ := os.ReadFile(path)
	// The format's writer pads the header with spaces so that the data
	// starts 8-byte aligned: readers that map the file use it in place.
	if n := binary.LittleEndian.Uint64(good); n%8 != 0 || !bytes.HasSuffix(bytes.TrimRight(good[8:8+n], " "), []byte("}")) {
		t.Errorf("header of %d bytes ending %q: want a multiple of 8, padded with spaces", n, good[8+n-8:8+n])
	}
	bad := map[string][]byte{
		"empty":       {},
		"truncated":   good[:len(good)-3],
		"huge header": append([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}, good[8:]...),
		"not json":    append(append([]byte{}, good[:8]...), bytes.Repeat([]byte("x"), len(good)-8)...),
	}
	for name, b := range bad {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
		os.WriteFile(p, b, 0o644)
		if _, _, err := LoadSafetensors(p); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %v should name %s", name, err, p)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	if err := SaveSafetensors(filepath.Join(dir, "dup"), []Named{in[0], in[0]}, nil); err == nil {
		t.Error("a repeated name was written")
	}
	// the format's key for the metadata: a tensor of that name would be read as it
	if err := SaveSafetensors(filepath.Join(dir, "meta"), []Named{{"__metadata__", in[0].Tensor}}, nil); err == nil {
		t.Error("a tensor named __metadata__ was written")
	}
}

// TestDrawCPUSeedIsTorchs: DrawCPUSeed takes from the CPU generator what
// torch's DataLoader takes for its base seed (and RandomSampler for its
// shuffle), so the numbers drawn after it are PyTorch's; RandpermSeeded is
// RandomSampler's order from that seed.
func TestDrawCPUSeedIsTorchs(t *testing.T) {
	py := torchtest.Python(t)
	s := NewScope()
	defer s.Close()
	ManualSeed(999)
	seeds := []int64{DrawCPUSeed(), DrawCPUSeed()}
	after := Randn(Float32, CPUDevice, 20).Float32s()
	perms := [][]int{RandpermSeeded(10, uint64(seeds[1])), RandpermSeeded(1000, 5)}
	script := `import torch, json
from torch.utils.data import RandomSampler
torch.manual_seed(999)
seeds = [torch.empty((), dtype=torch.int64).random_().item() for _ in range(2)]
after = torch.randn(20).tolist()
torch.manual_seed(999)
torch.empty((), dtype=torch.int64).random_()  # the DataLoader's base seed; then RandomSampler draws its own
perms = [list(RandomSampler(range(10)))]
g = torch.Generator()
g.manual_seed(5)
perms.append(torch.randperm(1000, generator=g).tolist())
print(json.dumps({"seeds": seeds, "after": after, "perms": perms}))`
	out, err := exec.Command(py, "-c", script).Output()
	if err != nil {
		t.Fatal(err)
	}
	var want struct {
		Seeds []int64
		After []float32
		Perms [][]int
	}
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(seeds, want.Seeds) || !slices.Equal(after, want.After) {
		t.Errorf("gogan drew %v then %v; PyTorch %v then %v", seeds, after[:3], want.Seeds, want.After[:3])
	}
	for i := range perms {
		if !slices.Equal(perms[i], want.Perms[i]) {
			t.Errorf("order %d: gogan %v..., PyTorch %v...", i, perms[i][:min(10, len(perms[i]))], want.Perms[i][:min(10, len(want.Perms[i]))])
		}
	}
}
