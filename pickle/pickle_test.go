package pickle

import (
	"bytes"
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

// pickleWriter is Python that writes the CIFAR-10 batch layout (a dict of
// a uint8 NumPy array, a list of int labels, names) with protocol 2 as
// Python 3 does (bytes through _codecs.encode) and as Python 2's cPickle
// did (str as BINSTRING: the published CIFAR-10 files, through
// scripts/make_cifar10.py's pickler), and protocol 4.
const pickleWriter = `
import pickle, sys, numpy as np
sys.path.insert(0, "../scripts")
from make_cifar10 import dump
d = sys.argv[1]
data = np.arange(2 * 12, dtype=np.uint8).reshape(2, 12) * 10
obj = {b"batch_label": b"training batch 1 of 5", b"labels": [3, 9], b"data": data, b"filenames": [b"a.png", b"b.png"]}
dump(obj, d + "/py2")
open(d + "/py3-proto2", "wb").write(pickle.dumps(obj, protocol=2))
open(d + "/py3-proto4", "wb").write(pickle.dumps(obj, protocol=4))
with open(d + "/py2", "rb") as f:
    back = pickle.load(f, encoding="latin1")  # as torchvision's CIFAR10 reads it
assert back["labels"] == [3, 9] and (back["data"] == data).all()
`

// TestLoadPickleReadsNumPy: the three pickles of a CIFAR-10-style batch
// give the dict, its labels and its array's bytes.
func TestLoadPickleReadsNumPy(t *testing.T) {
	dir := t.TempDir()
	if out, err := exec.Command(torchtest.Python(t), "-c", pickleWriter, dir).CombinedOutput(); err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	want := make([]byte, 24)
	for i := range want {
		want[i] = byte(i * 10)
	}
	for _, name := range []string{"py2", "py3-proto2", "py3-proto4"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		v, err := Read(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		m, _ := v.(map[string]any)
		arr, _ := m["data"].(*NDArray)
		labels, _ := m["labels"].([]any)
		if arr == nil || len(labels) != 2 || labels[0] != int64(3) || labels[1] != int64(9) || m["batch_label"] != "training batch 1 of 5" {
			t.Fatalf("%s: %#v", name, v)
		}
		got, err := arr.Uint8(-1, 12)
		if err != nil || !bytes.Equal(got, want) || arr.Shape[0] != 2 {
			t.Errorf("%s: array %v %q: %v", name, arr.Shape, got, err)
		}
		if _, err := arr.Uint8(2, 13); err == nil {
			t.Errorf("%s: a [2 12] array passed as [2 13]", name)
		}
	}
	// An array whose shape says more bytes than it holds, also by a count
	// that overflows int64 to the bytes held (2^54 x 3072 is 3 x 2^64), is
	// refused: CIFAR-10's reader indexes its rows by the shape.
	for _, c := range []struct {
		shape string // the pickled shape tuple
		want  []int64
	}{{"K\x01K\x02K\x04\x87", []int64{1, 2, 4}}, {"\x8a\x08\x00\x00\x00\x00\x00\x00\x40\x00M\x00\x0c\x86", []int64{1 << 54, 3072}}} {
		short := []byte("\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85U\x01b\x87R(K\x01" + c.shape +
			"cnumpy\ndtype\nU\x02u1K\x00K\x01\x87R(K\x03U\x01|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89U\x00tb.")
		v, err := Read(short)
		a, _ := v.(*NDArray)
		if err != nil || a == nil || !slices.Equal(a.Shape, c.want) {
			t.Fatalf("array of shape %v: %v %v", c.want, v, err)
		}
		if b, err := a.Uint8(append([]int64{-1}, c.want[1:]...)...); err == nil || !strings.Contains(err.Error(), "holds 0 bytes") {
			t.Errorf("array of shape %v holding 0 bytes: read as %d bytes, %v", c.want, len(b), err)
		}
	}
	// Each list holds the previous one twice: 2^40 entries to convert.
	chain := []byte("\x80\x02]q\x00")
	for i := byte(1); i <= 40; i++ {
		chain = append(chain, ']', '(', 'h', i-1, 'h', i-1, 'e', 'q', i)
	}
	chain = append(chain, '.')
	if _, err := Read(chain); err == nil || !strings.Contains(err.Error(), "list and dict entries") {
		t.Errorf("a list referenced 2^40 times: %v", err)
	}
	// Each bad pickle is refused with an error saying this.
	refusal := map[string]string{
		"no arguments":          "_reconstruct\" of ()",
		"os.system":             `refusing to call "os.system"`,
		"os.system by NEWOBJ":   `refusing to call "os.system"`,
		"SETITEM on a list":     "SETITEM on list",
		"persistent id":         "persistent id 1 in plain data",
		"memo never put":        "memo 5 missing",
		"arguments not a tuple": `"os.system" called with "true", not a tuple`,
		"a string called":       `call of "x"`,
		"another class rebuilt": `_reconstruct" of ("os.system"`,
		"bytes from UTF-8":      `_codecs.encode of`,
		"latin-1 past 0xff":     `'Ā' is not latin-1`,
		"a list inside itself":  "nested more than 64 deep",
		"a global alone":        `"os.system" is not plain data`,
	}
	for name, bad := range map[string][]byte{
		"float array":           []byte("\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85U\x01b\x87R(K\x01K\x01\x85cnumpy\ndtype\nU\x02f8K\x00K\x01\x87R(K\x03U\x01<NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89U\x08\x00\x00\x00\x00\x00\x00\xf0?tb."),
		"no arguments":          []byte("\x80\x02cnumpy.core.multiarray\n_reconstruct\n)R."),
		"os.system":             []byte("\x80\x02cos\nsystem\nU\x04true\x85R."),
		"os.system by NEWOBJ":   []byte("\x80\x02cos\nsystem\nU\x04true\x85\x81."),
		"SETITEM on a list":     []byte("\x80\x02]K\x01K\x02s."),
		"persistent id":         []byte("\x80\x02K\x01Q."),
		"memo never put":        []byte("\x80\x02h\x05."),
		"arguments not a tuple": []byte("\x80\x02cos\nsystem\nU\x04trueR."),
		"a string called":       []byte("\x80\x02U\x01x)R."),
		"another class rebuilt": []byte("\x80\x02cnumpy.core.multiarray\n_reconstruct\ncos\nsystem\nK\x00\x85U\x01b\x87R."),
		"a global alone":        []byte("\x80\x02cos\nsystem\n."),
		"a list inside itself":  []byte("\x80\x02]q\x00h\x00a."),
		"latin-1 past 0xff":     []byte("\x80\x02c_codecs\nencode\nX\x02\x00\x00\x00\xc4\x80X\x06\x00\x00\x00latin1\x86R."),
		"bytes from UTF-8":      []byte("\x80\x02c_codecs\nencode\nX\x02\x00\x00\x00\xc3\xa9X\x05\x00\x00\x00utf-8\x86R."),
	} {
		v, err := Read(bad)
		if name == "float array" {
			a, _ := v.(*NDArray)
			if err != nil || a == nil || a.Descr != "<f8" {
				t.Fatalf("%s: %v %v", name, v, err)
			}
			if _, err := a.Uint8(1); err == nil {
				t.Errorf("%s: read as uint8", name)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), refusal[name]) {
			t.Errorf("%s: got %v, %v; want an error saying %s", name, v, err, refusal[name])
		}
	}
}

// FuzzRead: any bytes are plain data or an error, never a panic;
// an array read as uint8 has the bytes its shape says.
func FuzzRead(f *testing.F) {
	f.Add([]byte("\x80\x02}q\x00(U\x04dataq\x01cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85U\x01b\x87R(K\x01K\x02K\x03\x86cnumpy\ndtype\nU\x02u1K\x00K\x01\x87R(K\x03U\x01|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89U\x06abcdeftbU\x06labels]q\x02(K\x01K\x02eu."))
	f.Add([]byte("\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85c_codecs\nencode\nX\x01\x00\x00\x00bX\x06\x00\x00\x00latin1\x86R\x87R."))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := Read(b)
		if err != nil {
			return
		}
		if a, ok := v.(*NDArray); ok {
			if b, err := a.Uint8(a.Shape...); err == nil && int64(len(b)) != a.Items() {
				t.Fatalf("array of shape %v gave %d bytes", a.Shape, len(b))
			}
		}
	})
}

// TestReadNumbers: ints and floats come back as the values Python pickled,
// in protocols 2 and 4: negative BININTs (sign-extended from 32 bits),
// LONG1 of either sign up to int64's ends, and BINFLOAT (big-endian).
// Values past int64 are refused.
func TestReadNumbers(t *testing.T) {
	dir := t.TempDir()
	script := `
import pickle, sys
obj = {"neg": -1, "neg32": -2**31, "byte": 255, "word": 65535, "pos32": 2**31 - 1, "big": 2**40, "negbig": -2**40,
       "min": -2**63, "max": 2**63 - 1, "half": 1.5, "tenth": -0.1, "tiny": 5e-324}
for proto in (2, 4):
    open("%s/p%d" % (sys.argv[1], proto), "wb").write(pickle.dumps(obj, protocol=proto))
open(sys.argv[1] + "/wide", "wb").write(pickle.dumps(2**63, protocol=2))
`
	if out, err := exec.Command(torchtest.Python(t), "-c", script, dir).CombinedOutput(); err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	want := map[string]any{"neg": int64(-1), "neg32": int64(math.MinInt32), "byte": int64(255), "word": int64(65535),
		"pos32": int64(math.MaxInt32), "big": int64(1 << 40), "negbig": int64(-1 << 40), "min": int64(math.MinInt64),
		"max": int64(math.MaxInt64), "half": 1.5, "tenth": -0.1, "tiny": 5e-324}
	for _, name := range []string{"p2", "p4"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		v, err := Read(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if m, _ := v.(map[string]any); !maps.Equal(m, want) {
			t.Errorf("protocol %s: %v, want %v", name[1:], v, want)
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, "wide"))
	if v, err := Read(b); err == nil || !strings.Contains(err.Error(), "does not fit 64 bits") {
		t.Errorf("2**63: %v, %v; want refused", v, err)
	}
}
