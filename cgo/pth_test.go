package torch

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gogan/cgo/torchtest"
)

// TestLoadPTH reads files written by torch.save (Debian's PyTorch): a
// state_dict with every dtype, a non-contiguous view, a shared storage, a
// Parameter and the _metadata attribute, in the zip format and in the legacy
// one (pickle protocols 2 and 4); a nested checkpoint dict; and refuses a
// pickle that holds code and a whole pickled module.
func TestLoadPTH(t *testing.T) {
	py := torchtest.Python(t)
	dir := t.TempDir()
	script := `
import sys, torch, collections
sys.path.insert(0, "../scripts")
import safetensors_torch
d = sys.argv[1]
torch.manual_seed(0)
base = torch.randn(4, 6)
sd = collections.OrderedDict()
sd["main.0.weight"] = torch.randn(8, 3, 4, 4)
sd["main.1.running_mean"] = torch.randn(8)
sd["main.1.num_batches_tracked"] = torch.tensor(17)
sd["half"] = torch.randn(5).half()
sd["bf16"] = torch.randn(5).bfloat16()
sd["double"] = torch.randn(3).double()
sd["bytes"] = torch.arange(6, dtype=torch.uint8)
sd["mask"] = torch.tensor([True, False, True])
sd["int32"] = torch.arange(-3, 3, dtype=torch.int32)
sd["transposed"] = base.t()             # non-contiguous view of a shared storage
sd["slice"] = base[1:3, 2:5]            # offset view of the same storage
sd["param"] = torch.nn.Parameter(torch.randn(2, 2))
sd._metadata = collections.OrderedDict({"": {"version": 1}})
torch.save(sd, d + "/sd.pth")
torch.save({"epoch": 3, "netG": sd, "note": "x"}, d + "/nested.pth")
torch.save(sd, d + "/legacy.pth", _use_new_zipfile_serialization=False)
torch.save(sd, d + "/legacy4.pth", _use_new_zipfile_serialization=False, pickle_protocol=4)
torch.save({"epoch": 3, "netG": sd}, d + "/legacy-nested.pth", _use_new_zipfile_serialization=False)
torch.save(torch.nn.Linear(2, 2), d + "/module.pth", _use_new_zipfile_serialization=False)
class Evil:
    def __reduce__(self):
        return (print, ("pickled code ran",))
torch.save({"w": torch.zeros(1), "x": Evil()}, d + "/code.pth")
safetensors_torch.save(d + "/want.safetensors", {k: v.detach().contiguous() for k, v in sd.items()})
`
	cmd := exec.Command(py, "-c", script, dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	want, _, err := LoadSafetensors(filepath.Join(dir, "want.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer freeAll(want)
	for _, file := range []string{"sd.pth", "legacy.pth", "legacy4.pth"} {
		got, err := LoadPTH(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		defer freeAll(got)
		if len(got) != len(want) {
			t.Fatalf("%s: %d tensors, want %d: %v", file, len(got), len(want), SortedNames(got))
		}
		byName := map[string]*Tensor{}
		for _, nt := range got {
			byName[nt.Name] = nt.Tensor
		}
		for _, w := range want {
			g, ok := byName[w.Name]
			if !ok {
				t.Errorf("%s: missing %s", file, w.Name)
				continue
			}
			if g.DType() != w.Tensor.DType() || !slices.Equal(g.Shape(), w.Tensor.Shape()) {
				t.Errorf("%s: %s: %s %v, want %s %v", file, w.Name, g.DType(), g.Shape(), w.Tensor.DType(), w.Tensor.Shape())
			} else if !bytes.Equal(g.Bytes(), w.Tensor.Bytes()) {
				t.Errorf("%s: %s: values differ from PyTorch's", file, w.Name)
			}
		}
		if got[0].Name != "main.0.weight" || got[len(got)-1].Name != "param" {
			t.Errorf("%s: order not kept: first %s, last %s", file, got[0].Name, got[len(got)-1].Name)
		}
	}
	for _, file := range []string{"nested.pth", "legacy-nested.pth"} {
		nested, err := LoadPTH(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		defer freeAll(nested)
		if len(nested) != len(want) || nested[0].Name != "netG.main.0.weight" {
			t.Errorf("%s: %d tensors, first %q", file, len(nested), nested[0].Name)
		}
	}
	for name, frag := range map[string]string{"module.pth": "pickled nn.Module", "code.pth": "print", "missing.pth": "missing.pth"} {
		p := filepath.Join(dir, name)
		if _, err := LoadPTH(p); err == nil || !strings.Contains(err.Error(), frag) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %v should name the file and %q", name, err, frag)
		}
	}
	os.WriteFile(filepath.Join(dir, "trunc.pth"), []byte("PK\x03\x04garbage"), 0o644)
	if _, err := LoadPTH(filepath.Join(dir, "trunc.pth")); err == nil {
		t.Error("a truncated zip was accepted")
	}
}

func freeAll(ts []Named) {
	for _, nt := range ts {
		nt.Tensor.Free()
	}
}

// handPickler assembles protocol-2 pickles by hand, for inputs that torch.save
// never writes.
type handPickler struct{ bytes.Buffer }

func (p *handPickler) ops(b ...byte) *handPickler { p.Write(b); return p }

func (p *handPickler) str(s string) *handPickler {
	p.WriteByte('X')
	binary.Write(p, binary.LittleEndian, uint32(len(s)))
	p.WriteString(s)
	return p
}

func (p *handPickler) int(n int64) *handPickler {
	if n == int64(int32(n)) {
		p.WriteByte('J')
		binary.Write(p, binary.LittleEndian, int32(n))
	} else {
		p.ops(0x8a, 8) // LONG1
		binary.Write(p, binary.LittleEndian, n)
	}
	return p
}

func (p *handPickler) global(mod, name string) *handPickler {
	fmt.Fprintf(p, "c%s\n%s\n", mod, name)
	return p
}

func (p *handPickler) tuple(ns ...int64) *handPickler {
	p.WriteByte('(')
	for _, n := range ns {
		p.int(n)
	}
	p.WriteByte('t')
	return p
}

// tensorSpec is what a pickle says of one tensor: its storage's type and
// element count (the storage is record data/0), and the view's offset, size
// and strides.
type tensorSpec struct {
	storage      string
	numel        int64
	offset       int64
	size, stride []int64
}

// statePickle is the pickle torch.save writes for OrderedDict({name: tensor}).
func statePickle(name string, ts tensorSpec) []byte {
	p := new(handPickler)
	p.ops(0x80, 2).global("collections", "OrderedDict").ops(')', 'R')
	p.str(name).global("torch._utils", "_rebuild_tensor_v2").ops('(', '(')
	p.str("storage").global("torch", ts.storage).str("0").str("cpu").int(ts.numel).ops('t', 'Q')
	p.int(ts.offset).tuple(ts.size...).tuple(ts.stride...).ops(0x89)
	p.global("collections", "OrderedDict").ops(')', 'R', 't', 'R', 's', '.')
	return p.Bytes()
}

// legacyStatePickle is the pickle a legacy torch.save writes for
// OrderedDict({name: tensor}): the storage is key; view is nil or the
// storage view (view key, offset, numel) the tensor's storage is.
func legacyStatePickle(name, key string, ts tensorSpec, view []any) []byte {
	p := new(handPickler)
	p.ops(0x80, 2).global("collections", "OrderedDict").ops(')', 'R')
	p.str(name)
	legacyTensor(p, key, ts, view)
	return p.ops('s', '.').Bytes()
}

// legacyTensor appends the pickle of one tensor of a legacy file.
func legacyTensor(p *handPickler, key string, ts tensorSpec, view []any) {
	p.global("torch._utils", "_rebuild_tensor_v2").ops('(', '(')
	p.str("storage").global("torch", ts.storage).str(key).str("cpu").int(ts.numel)
	if view == nil {
		p.ops('N')
	} else {
		p.ops('(').str(view[0].(string)).int(view[1].(int64)).int(view[2].(int64)).ops('t')
	}
	p.ops('t', 'Q')
	p.int(ts.offset).tuple(ts.size...).tuple(ts.stride...).ops(0x89)
	p.global("collections", "OrderedDict").ops(')', 'R', 't', 'R')
}

// TestLoadLegacyPTHPython2: Python 2 pickled an OrderedDict with its items
// as REDUCE's argument, a list of [key, value] lists (the state dicts
// PyTorch 0.3 saved under Python 2).
func TestLoadLegacyPTHPython2(t *testing.T) {
	p := new(handPickler)
	p.ops(0x80, 2).global("collections", "OrderedDict").ops('(', ']', '(', ']', '(')
	p.str("w")
	legacyTensor(p, "0", tensorSpec{"FloatStorage", 2, 0, []int64{2}, []int64{1}}, nil)
	p.ops('e', 'e', 't', 'R', '.')
	f32 := []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0x40} // 1, 2
	got, err := loadPTHBytes("py2.pth", legacyPTH(p.Bytes(), []string{"0"}, []int64{2}, [][]byte{f32}))
	if err != nil {
		t.Fatal(err)
	}
	defer freeAll(got)
	if len(got) != 1 || got[0].Name != "w" || !slices.Equal(got[0].Tensor.Float32s(), []float32{1, 2}) {
		t.Errorf("got %v", SortedNames(got))
	}
}

// legacyPTH is a legacy torch.save file: the magic number, protocol version
// and system info pickles, pkl, the keys' list, then for each key its
// element count and bytes.
func legacyPTH(pkl []byte, keys []string, counts []int64, data [][]byte) []byte {
	var b bytes.Buffer
	b.WriteString("\x80\x02" + legacyMagic)
	b.Write(new(handPickler).ops(0x80, 2).int(1001).ops('.').Bytes())
	b.Write(new(handPickler).ops(0x80, 2, '}').str("little_endian").ops(0x88, 's', '.').Bytes())
	b.Write(pkl)
	l := new(handPickler).ops(0x80, 2, ']', '(')
	for _, k := range keys {
		l.str(k)
	}
	b.Write(l.ops('e', '.').Bytes())
	for i := range keys {
		binary.Write(&b, binary.LittleEndian, counts[i])
		b.Write(data[i])
	}
	return b.Bytes()
}

// TestLoadLegacyPTHStorageView reads a tensor whose storage is a view of
// another (PyTorch before 0.4 saved storage slices so).
func TestLoadLegacyPTHStorageView(t *testing.T) {
	root := make([]byte, 6*4)
	for i := range 6 {
		binary.LittleEndian.PutUint32(root[4*i:], math.Float32bits(float32(i)))
	}
	pkl := legacyStatePickle("w", "root", tensorSpec{"FloatStorage", 6, 1, []int64{2}, []int64{1}}, []any{"view", int64(2), int64(3)})
	got, err := loadPTHBytes("view.pth", legacyPTH(pkl, []string{"root"}, []int64{6}, [][]byte{root}))
	if err != nil {
		t.Fatal(err)
	}
	defer freeAll(got)
	if v := got[0].Tensor.Float32s(); !slices.Equal(v, []float32{3, 4}) {
		t.Errorf("view's tensor %v, want [3 4] (storage elements 2+1 and 2+2)", v)
	}
}

// zipPTH is a torch.save archive holding pkl as data.pkl and each record as
// data/<key>.
func zipPTH(pkl []byte, records map[string][]byte) []byte {
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	add := func(name string, data []byte) {
		f, err := w.CreateHeader(&zip.FileHeader{Name: "archive/" + name, Method: zip.Store})
		if err != nil {
			panic(err)
		}
		f.Write(data)
	}
	add("data.pkl", pkl)
	for _, k := range slices.Sorted(maps.Keys(records)) {
		add("data/"+k, records[k])
	}
	add("version", []byte("3\n"))
	if err := w.Close(); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// loadPTHBytes reads an archive held in memory as LoadPTH reads a file.
func loadPTHBytes(name string, b []byte) ([]Named, error) {
	return loadPTH(name, bytes.NewReader(b), int64(len(b)))
}

// badPTH is a hostile or corrupt archive and what its error must say.
type badPTH struct {
	name string
	file []byte
	want string
}

// badPTHs are the known bad archives, for TestLoadPTHBadInput and as seeds
// of FuzzLoadPTH.
func badPTHs() []badPTH {
	f32 := make([]byte, 24) // a storage of 6 float32
	spec := func(offset int64, size, stride []int64) tensorSpec {
		return tensorSpec{"FloatStorage", 6, offset, size, stride}
	}
	one := func(pkl []byte) []byte { return zipPTH(pkl, map[string][]byte{"0": f32}) }
	// Each level of the chain is a dict whose two keys hold the next level:
	// 2^30 paths to walk.
	chain := new(handPickler)
	chain.ops(0x80, 2, '}', 'q', 0)
	for i := byte(1); i <= 30; i++ {
		chain.ops('}').str("a").ops('h', i-1, 's').str("b").ops('h', i-1, 's', 'q', i)
	}
	chain.ops('.')
	// storedPickle is an archive whose data.pkl declares the given size and CRC.
	pkl := statePickle("w", spec(0, []int64{6}, []int64{1}))
	legacyPkl := legacyStatePickle("w", "0", spec(0, []int64{6}, []int64{1}), nil)
	storedPickle := func(size uint64, crc uint32) []byte {
		var b bytes.Buffer
		w := zip.NewWriter(&b)
		f, _ := w.CreateRaw(&zip.FileHeader{Name: "archive/data.pkl", Method: zip.Store,
			CompressedSize64: uint64(len(pkl)), UncompressedSize64: size, CRC32: crc})
		f.Write(pkl)
		w.Close()
		return b.Bytes()
	}
	noPickle := func() []byte {
		var b bytes.Buffer
		w := zip.NewWriter(&b)
		w.Create("archive/version")
		w.Close()
		return b.Bytes()
	}
	return []badPTH{
		{"negative size", one(statePickle("w", spec(0, []int64{-2, 3}, []int64{3, 1}))), "negative size"},
		{"negative stride", one(statePickle("w", spec(5, []int64{2}, []int64{-1}))), "negative size or stride"},
		{"fewer strides than sizes", one(statePickle("w", spec(0, []int64{2, 3}, []int64{3}))), "1 strides [3] for the 2 dimensions"},
		{"size product overflows", one(statePickle("w", spec(0, []int64{1 << 32, 1 << 32}, []int64{0, 0}))), "too many elements"},
		{"expanded view of a terabyte", one(statePickle("w", spec(0, []int64{1 << 20, 1 << 20}, []int64{0, 0}))), "more than is left"},
		{"negative offset", one(statePickle("w", spec(-1, []int64{2}, []int64{1}))), "storage offset -1 outside"},
		{"offset past the storage", one(statePickle("w", spec(6, []int64{1}, []int64{1}))), "storage offset 6 outside"},
		{"view past the storage", one(statePickle("w", spec(0, []int64{2, 3}, []int64{4, 1}))), "reach past the 6 elements"},
		{"stride overflows", one(statePickle("w", spec(0, []int64{3}, []int64{1 << 62}))), "reach past"},
		{"storage shorter than its numel", one(statePickle("w", tensorSpec{"FloatStorage", 7, 0, []int64{6}, []int64{1}})), "holds 24 bytes, not the 7 elements"},
		// torch.save writes each record of exactly numel elements' bytes
		{"storage longer than its numel", one(statePickle("w", tensorSpec{"FloatStorage", 5, 0, []int64{6}, []int64{1}})), "holds 24 bytes, not the 5 elements"},
		{"negative storage numel", one(statePickle("w", tensorSpec{"FloatStorage", -1, 0, []int64{0}, []int64{1}})), "malformed persistent id"},
		{"unknown storage type", one(statePickle("w", tensorSpec{"ComplexFloatStorage", 3, 0, []int64{3}, []int64{1}})), "unsupported storage type"},
		{"missing storage record", zipPTH(statePickle("w", spec(0, []int64{6}, []int64{1})), nil), "data/0 missing"},
		{"zip entry claims a terabyte", storedPickle(1<<40, crc32.ChecksumIEEE(pkl)), "claims 1099511627776 bytes"},
		{"zip entry with a wrong CRC", storedPickle(uint64(len(pkl)), 1), "checksum"},
		{"string longer than the pickle", one([]byte{0x80, 2, 'X', 0xff, 0xff, 0xff, 0xff}), "truncated: 4294967295 bytes wanted"},
		{"APPEND with nothing to append to", one([]byte{0x80, 2, 'N', 'a', '.'}), "underflow"},
		{"TUPLE1 reaching below MARK", one([]byte{0x80, 2, 'N', '(', 0x85, '.'}), "underflow"},
		{"SETITEMS with an odd count", one([]byte{0x80, 2, '}', '(', 'N', 'u', '.'}), "odd number"},
		{"integer wider than 64 bits", one([]byte{0x80, 2, 0x8a, 9, 0, 0, 0, 0, 0, 0, 0, 0, 1, '.'}), "does not fit 64 bits"},
		{"no STOP", one([]byte{0x80, 2, 'N'}), "no STOP"},
		{"dict inside itself", one(new(handPickler).ops(0x80, 2, '}', 'q', 0).str("a").ops('h', 0, 's', '.').Bytes()), "nested more than 64 deep"},
		{"one dict referenced 2^30 times", one(chain.Bytes()), "more than 65536 dict entries"},
		{"not a zip", []byte("\x80\x02}."), "nor a legacy torch.save file"},
		{"tar format", append(make([]byte, 257), []byte("ustar\x0000"+strings.Repeat("\x00", 300))...), "tar archive"},
		{"legacy: wrong element count", legacyPTH(legacyPkl, []string{"0"}, []int64{5}, [][]byte{f32}), "holds 5 elements, the pickle says 6"},
		{"legacy: storage cut short", legacyPTH(legacyPkl, []string{"0"}, []int64{6}, [][]byte{f32[:20]}), "truncated"},
		{"legacy: no storage data", legacyPTH(legacyPkl, nil, nil, nil), "has no data in the file"},
		{"legacy: storage listed twice", legacyPTH(legacyPkl, []string{"0", "0"}, []int64{6, 6}, [][]byte{f32, f32}), "listed twice"},
		{"legacy: unknown storage key", legacyPTH(legacyPkl, []string{"9"}, []int64{6}, [][]byte{f32}), "not a storage the object uses"},
		{"legacy: storage larger than the file", legacyPTH(legacyStatePickle("w", "0", tensorSpec{"FloatStorage", 1 << 40, 0, []int64{1}, []int64{1}}, nil), nil, nil, nil), "larger than the file"},
		{"legacy: view past its storage", legacyPTH(legacyStatePickle("w", "0", tensorSpec{"FloatStorage", 6, 0, []int64{1}, []int64{1}}, []any{"v", int64(4), int64(3)}), []string{"0"}, []int64{6}, [][]byte{f32}), "lies outside storage"},
		{"legacy: big-endian", bytes.Replace(legacyPTH(legacyPkl, []string{"0"}, []int64{6}, [][]byte{f32}), []byte("little_endian\x88"), []byte("little_endian\x89"), 1), "big-endian"},
		{"legacy: protocol version 1000", bytes.Replace(legacyPTH(legacyPkl, []string{"0"}, []int64{6}, [][]byte{f32}), []byte("J\xe9\x03\x00\x00"), []byte("J\xe8\x03\x00\x00"), 1), "protocol version 1000"},
		{"legacy: zip-format persistent id", legacyPTH(pkl, []string{"0"}, []int64{6}, [][]byte{f32}), "unsupported persistent id"},
		{"zip cut short", func() []byte { b := one(pkl); return b[:len(b)/2] }(), "a zip archive cut short"},
		{"empty file", nil, "empty file (0 bytes): neither a PyTorch zip checkpoint"},
		{"a text file", []byte("model: resnet\nweights: elsewhere\n"), "a text file: neither a PyTorch zip checkpoint"},
		{"a safetensors file", append(binary.LittleEndian.AppendUint64(nil, 2), []byte("{}")...), "a safetensors file of no tensors"},
		{"a gogan checkpoint's safetensors", stFile(`{"__metadata__":{"gogan":"abc","recipe":"dcgan"}}`, nil), "a gogan checkpoint's weights.safetensors, not one network's state dict"},
		{"random bytes", []byte{0x13, 0x00, 0xff, 0x42, 0x00, 0x01}, "nor a legacy torch.save file (zip: not a valid zip file)"},
		{"no data.pkl", noPickle(), "no data.pkl"},
	}
}

// TestLoadPTHBadInput: a hostile or corrupt archive is an error that names
// the file and the fault, never a panic or an allocation that the file
// cannot back.
func TestLoadPTHBadInput(t *testing.T) {
	for _, c := range badPTHs() {
		got, err := loadPTHBytes("bad.pth", c.file)
		if err == nil {
			freeAll(got)
			t.Errorf("%s: accepted", c.name)
			continue
		}
		if msg := err.Error(); !strings.HasPrefix(msg, "bad.pth: ") || !strings.Contains(msg, c.want) {
			t.Errorf("%s: error %q should name the file and say %q", c.name, msg, c.want)
		}
	}
}

// TestLoadPTHRefusesCode: pickles that would run code (os.system, eval,
// subprocess.Popen, reached through GLOBAL or STACK_GLOBAL and called with
// REDUCE or NEWOBJ, on their own or as a tensor's argument) are refused with
// an error naming the callable, and nothing runs.
func TestLoadPTHRefusesCode(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	sh := "touch " + marker
	proto4 := func(mod, name string) *handPickler { // STACK_GLOBAL
		p := new(handPickler)
		return p.ops(0x80, 4, '}').str("w").str(mod).str(name).ops(0x93)
	}
	cases := map[string][]byte{
		"os.system":           new(handPickler).ops(0x80, 2, '}').str("w").global("os", "system").str(sh).ops(0x85, 'R', 's', '.').Bytes(),
		"posix.system":        proto4("posix", "system").str(sh).ops(0x85, 'R', 's', '.').Bytes(),
		"builtins.eval":       proto4("builtins", "eval").str("__import__('os').system('"+sh+"')").ops(0x85, 'R', 's', '.').Bytes(),
		"subprocess.Popen":    new(handPickler).ops(0x80, 2, '}').str("w").global("subprocess", "Popen").ops(']').str("touch").ops('a').str(marker).ops('a', 0x85, 0x81, 's', '.').Bytes(),
		"builtins.exec":       new(handPickler).ops(0x80, 2, '}').str("w").global("torch._utils", "_rebuild_tensor_v2").global("builtins", "exec").str("import os; os.system('"+sh+"')").ops(0x85, 'R', 0x85, 'R', 's', '.').Bytes(),
		"unsupported opcode":  []byte("(ios\nsystem\nS'" + sh + "'\ntR."), // INST, protocol 0
		"torch.load.__call__": proto4("torch", "load").str(marker).ops(0x85, 'R', 's', '.').Bytes(),
	}
	// Python's own pickles of objects whose __reduce__ names the callables.
	py := torchtest.Python(t)
	out, err := exec.Command(py, "-c", `
import os, pickle, subprocess, sys
m = sys.argv[1]
for name, fn, args in (("system", os.system, ("touch " + m,)), ("eval", eval, ("__import__('os').system('touch %s')" % m,)),
                       ("Popen", subprocess.Popen, (["touch", m],))):
    class Evil:
        def __reduce__(self): return (fn, args)
    for proto in (2, 4):
        print(name, proto, pickle.dumps({"w": Evil()}, protocol=proto).hex())
`, marker).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		b, err := hex.DecodeString(f[2])
		if err != nil {
			t.Fatal(err)
		}
		cases["python "+f[0]+" protocol "+f[1]] = b
	}
	for name, pkl := range cases {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".pth")
		if err := os.WriteFile(p, zipPTH(pkl, nil), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := LoadPTH(p)
		if err == nil {
			freeAll(got)
			t.Errorf("%s: accepted", name)
			continue
		}
		want := "refusing to call"
		if name == "unsupported opcode" {
			want = "unsupported opcode 0x69"
		}
		if msg := err.Error(); !strings.Contains(msg, p) || !strings.Contains(msg, want) {
			t.Errorf("%s: error %q should name the file and say %q", name, msg, want)
		}
		t.Logf("%s: %v", name, err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("a pickled command ran")
	}
}

// FuzzLoadPTH feeds whole archives to the .pth reader: torch.save's files
// (testdata/fuzz/FuzzLoadPTH, from testdata/fuzz/make_seeds.py), a
// hand-made one and the known bad ones.
func FuzzLoadPTH(f *testing.F) {
	f.Add(zipPTH(statePickle("w", tensorSpec{"FloatStorage", 6, 0, []int64{2, 3}, []int64{3, 1}}), map[string][]byte{"0": make([]byte, 24)}))
	for _, c := range badPTHs() {
		f.Add(c.file)
	}
	f.Fuzz(func(t *testing.T, file []byte) {
		checkPTH(t, file)
	})
}

// FuzzPTHPickle feeds pickles to the .pth reader, zipped with one storage
// record data/0, so that the mutations reach the pickle machine rather than
// the zip's checksums.
func FuzzPTHPickle(f *testing.F) {
	f32 := make([]byte, 24)
	for _, ts := range []tensorSpec{
		{"FloatStorage", 6, 0, []int64{2, 3}, []int64{3, 1}},
		{"FloatStorage", 6, 1, []int64{2, 2}, []int64{1, 3}},
		{"DoubleStorage", 3, 0, []int64{3}, []int64{1}},
		{"HalfStorage", 12, 0, []int64{3, 4}, []int64{0, 1}},
		{"FloatStorage", 6, 0, []int64{-2, 3}, []int64{3, 1}},
		{"FloatStorage", 6, 0, []int64{2, 3}, []int64{3}},
		{"FloatStorage", 6, 0, []int64{1 << 32, 1 << 32}, []int64{0, 0}},
	} {
		f.Add(statePickle("w", ts), f32)
	}
	f.Fuzz(func(t *testing.T, pkl, storage []byte) {
		checkPTH(t, zipPTH(pkl, map[string][]byte{"0": storage}))
	})
}

// checkPTH asserts the reader's contract on one archive: an error names the
// file and says something, and tensors read are consistent.
func checkPTH(t *testing.T, file []byte) {
	got, err := loadPTHBytes("fuzz.pth", file)
	if err != nil {
		if msg := err.Error(); !strings.HasPrefix(msg, "fuzz.pth: ") || len(msg) < len("fuzz.pth: ")+8 {
			t.Fatalf("error %q does not name the file and the fault", msg)
		}
		return
	}
	defer freeAll(got)
	if len(got) == 0 {
		t.Fatal("no tensors and no error")
	}
	for _, nt := range got {
		n := int64(1)
		for _, s := range nt.Tensor.Shape() {
			if s < 0 {
				t.Fatalf("%s: shape %v", nt.Name, nt.Tensor.Shape())
			}
			n *= s
		}
		if b := nt.Tensor.Bytes(); int64(len(b)) != n*int64(nt.Tensor.DType().Size()) {
			t.Fatalf("%s: %d bytes for shape %v of %s", nt.Name, len(b), nt.Tensor.Shape(), nt.Tensor.DType())
		}
	}
}

// TestCompressedZipEntryBounded: a compressed entry (an archive zipped
// again; torch.save stores its records) is read whole when it declares
// what it holds; one declaring more than half the memory available is
// refused by name before any allocation, as are entries whose data is
// shorter or longer than declared.
func TestCompressedZipEntryBounded(t *testing.T) {
	data := bytes.Repeat([]byte("gogan weights "), 40000) // 560,000 bytes
	var deflated bytes.Buffer
	{
		var zb bytes.Buffer
		zw := zip.NewWriter(&zb)
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: "x", Method: zip.Deflate})
		w.Write(data)
		zw.Close()
		zr, _ := zip.NewReader(bytes.NewReader(zb.Bytes()), int64(zb.Len()))
		rc, _ := zr.File[0].OpenRaw()
		deflated.ReadFrom(rc)
	}
	entry := func(declared uint64) (*zip.File, int64) {
		var zb bytes.Buffer
		zw := zip.NewWriter(&zb)
		w, err := zw.CreateRaw(&zip.FileHeader{Name: "archive/data/0", Method: zip.Deflate, CRC32: crc32.ChecksumIEEE(data),
			CompressedSize64: uint64(deflated.Len()), UncompressedSize64: declared})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(deflated.Bytes())
		zw.Close()
		zr, err := zip.NewReader(bytes.NewReader(zb.Bytes()), int64(zb.Len()))
		if err != nil {
			t.Fatal(err)
		}
		return zr.File[0], int64(zb.Len())
	}
	defer func(f func() (uint64, bool)) { memAvailable = f }(memAvailable)
	memAvailable = func() (uint64, bool) { return 1 << 30, true }
	f, size := entry(uint64(len(data)))
	if b, err := readZipEntry(f, size, &zipRead{}); err != nil || !bytes.Equal(b, data) {
		t.Fatalf("a compressed entry: %d bytes, %v; want its %d", len(b), err, len(data))
	}
	memAvailable = func() (uint64, bool) { return 1 << 20, true }
	if _, err := readZipEntry(f, size, &zipRead{}); err == nil || !strings.Contains(err.Error(), "archive/data/0") || !strings.Contains(err.Error(), "memory available") {
		t.Errorf("an entry expanding past half the memory available: %v", err)
	}
	memAvailable = func() (uint64, bool) { return 1 << 30, true }
	for _, declared := range []uint64{uint64(len(data)) - 1, uint64(len(data)) + 1} {
		f, size := entry(declared)
		if _, err := readZipEntry(f, size, &zipRead{}); err == nil || !strings.Contains(err.Error(), "archive/data/0") {
			t.Errorf("an entry declaring %d of its %d bytes: %v", declared, len(data), err)
		}
	}
}

// TestLoadPTHNotAStateDict: torch.save of a bare tensor, a list or a dict
// without tensors is refused with what to save instead, not loaded under an
// empty name.
func TestLoadPTHNotAStateDict(t *testing.T) {
	py := torchtest.Python(t)
	dir := t.TempDir()
	out, err := exec.Command(py, "-c", `
import sys, torch
d = sys.argv[1]
torch.save(torch.zeros(3, 4), d + "/tensor.pth")
torch.save([torch.zeros(2)], d + "/list.pth")
torch.save({"epoch": 3, "name": "x"}, d + "/dict.pth")
`, dir).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	for name, want := range map[string]string{
		"tensor": "holds one tensor, not a state_dict",
		"list":   "holds no tensors in a dict",
		"dict":   "holds no tensors in a dict",
	} {
		p := filepath.Join(dir, name+".pth")
		got, err := LoadPTH(p)
		if err == nil {
			freeAll(got)
			t.Errorf("%s: accepted as %v", name, SortedNames(got))
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, p) || !strings.Contains(msg, want) || !strings.Contains(msg, "state_dict()") {
			t.Errorf("%s: error %q should name the file, say %q and what to save", name, msg, want)
		}
	}
}

// TestLoadPTHOfOtherKinds: a checkpoint dict that holds train.py's
// argparse options and a NumPy score beside its state dict loads the state
// dict (both were refused as code to run; NumPy 2's scalars too, of
// numpy._core); a TorchScript archive
// (torch.jit.save) is named as one with how to get its state_dict (it was
// "refusing to call __torch__.M"), and a network saved whole is refused
// saying to save its state_dict.
func TestLoadPTHOfOtherKinds(t *testing.T) {
	py := torchtest.Python(t)
	dir := t.TempDir()
	// torch.jit.script reads the class's source: a file, not -c
	script := filepath.Join(dir, "make.py")
	if err := os.WriteFile(script, []byte(`
import argparse, sys, numpy as np, torch
d = sys.argv[1]
class M(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3)
    def forward(self, x):
        return self.conv(x)
m = M()
torch.save({"state_dict": m.state_dict(), "opt": argparse.Namespace(lr=0.0002, name="facades"), "best": np.float64(0.25)}, d + "/checkpoint.pth")
torch.jit.script(m).save(d + "/scripted.pt")
torch.jit.trace(m, torch.zeros(1, 3, 8, 8)).save(d + "/traced.pt")
torch.save(m, d + "/whole.pth")
# NumPy 2 pickles its scalars as numpy._core.multiarray.scalar: this NumPy's
# file with that name (protocol 2's GLOBAL: the name's text, no length)
import zipfile
src, dst = zipfile.ZipFile(d + "/checkpoint.pth"), zipfile.ZipFile(d + "/numpy2.pth", "w")
for i in src.infolist():
    b = src.read(i.filename)
    if i.filename.endswith("/data.pkl"):
        assert b"cnumpy.core.multiarray\nscalar\n" in b
        b = b.replace(b"cnumpy.core.multiarray\nscalar\n", b"cnumpy._core.multiarray\nscalar\n")
    dst.writestr(i.filename, b)
dst.close()
`), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, script, dir).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	for _, name := range []string{"checkpoint.pth", "numpy2.pth"} {
		got, err := LoadPTH(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("%s, a checkpoint dict with options: %v", name, err)
		}
		if names := SortedNames(got); !slices.Equal(names, []string{"state_dict.conv.bias", "state_dict.conv.weight"}) {
			t.Errorf("%s, a checkpoint dict with options: %v, want the state dict's two tensors", name, names)
		}
		freeAll(got)
	}
	for name, want := range map[string][]string{
		"scripted.pt": {"a TorchScript archive", "torch.save(torch.jit.load(FILE).state_dict(), 'net.pth')"},
		"traced.pt":   {"a TorchScript archive", "torch.save(torch.jit.load(FILE).state_dict(), 'net.pth')"},
		"whole.pth":   {`refusing to call "__main__.M"`, "a network saved whole (torch.save(net))", "torch.save(net.state_dict(), path)"},
	} {
		p := filepath.Join(dir, name)
		got, err := LoadPTH(p)
		if err == nil {
			freeAll(got)
			t.Errorf("%s: accepted as %v", name, SortedNames(got))
			continue
		}
		for _, w := range want {
			if msg := err.Error(); !strings.Contains(msg, p) || !strings.Contains(msg, w) {
				t.Errorf("%s: error %q should name the file and say %q", name, msg, w)
			}
		}
	}
}

// TestLoadPTHTruncated: a torch.save zip cut short (a download or copy
// that stopped) is said to be incomplete, not "neither a PyTorch zip
// checkpoint nor a legacy torch.save file", whatever is missing of its end.
func TestLoadPTHTruncated(t *testing.T) {
	py := torchtest.Python(t)
	dir := t.TempDir()
	full := filepath.Join(dir, "netG_epoch_24.pth")
	if out, err := exec.Command(py, "-c", `
import sys, torch
torch.save(torch.nn.Conv2d(3, 8, 3).state_dict(), sys.argv[1])
`, full).CombinedOutput(); err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	b, err := os.ReadFile(full)
	if err != nil {
		t.Fatal(err)
	}
	for _, cut := range []int{1, 22, 100, len(b) / 2, len(b) - 40} {
		p := filepath.Join(dir, fmt.Sprintf("cut%d.pth", cut))
		if err := os.WriteFile(p, b[:len(b)-cut], 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := LoadPTH(p)
		if err == nil {
			freeAll(got)
			t.Errorf("%d bytes cut: accepted", cut)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, p) || !strings.Contains(msg, "cut short") || !strings.Contains(msg, "copy it again") {
			t.Errorf("%d bytes cut: error %q should name the file, say it was cut short and to copy it again", cut, msg)
		}
	}
}

// TestLooksLikeTorchSave: both torch.save formats are told by their first
// bytes (eval fid's --classifier refuses them so), safetensors, text and
// short or empty heads are not.
func TestLooksLikeTorchSave(t *testing.T) {
	f32 := make([]byte, 24)
	spec := tensorSpec{"FloatStorage", 6, 0, []int64{6}, []int64{1}}
	for name, c := range map[string]struct {
		file []byte
		want bool
	}{
		"zip":         {zipPTH(statePickle("w", spec), map[string][]byte{"0": f32}), true},
		"legacy":      {legacyPTH(legacyStatePickle("w", "0", spec, nil), []string{"0"}, []int64{6}, [][]byte{f32}), true},
		"safetensors": {append(binary.LittleEndian.AppendUint64(nil, 2), []byte("{}")...), false},
		"text":        {[]byte("weights: elsewhere\n"), false},
		"one byte":    {[]byte{0x80}, false},
		"empty":       {nil, false},
	} {
		if got := LooksLikeTorchSave(c.file[:min(4, len(c.file))]); got != c.want {
			t.Errorf("%s: LooksLikeTorchSave = %v, want %v", name, got, c.want)
		}
	}
}
