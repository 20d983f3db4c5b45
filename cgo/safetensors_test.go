package torch

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// stFile is a safetensors file of the given JSON header and data bytes.
func stFile(header string, body []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), body...)
}

// TestSafetensorsBadInput: a header that does not describe its data is an
// error naming the file and the tensor, never a panic or a huge allocation.
func TestSafetensorsBadInput(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, header string
		body         int
		want         string
	}{
		{"negative dimensions", `{"w":{"dtype":"F32","shape":[-1,-4],"data_offsets":[0,16]}}`, 16, "tensor w: negative dimension"},
		{"element count overflows", `{"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,0]}}`, 0, "tensor w: shape [4611686018427387904 4] has too many elements"},
		{"shape and offsets disagree", `{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, 8, "needs 12 bytes, offsets give 8"},
		{"offsets past the data", `{"w":{"dtype":"U8","shape":[4611686018427387904],"data_offsets":[0,4611686018427387904]}}`, 4, "outside the 4 data bytes"},
		{"offsets reversed", `{"w":{"dtype":"U8","shape":[0],"data_offsets":[0,-4]}}`, 0, "data offsets [0, -4]"},
		{"overlapping tensors", `{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, 16, "do not start at the previous tensor's end 16"},
		{"gap between tensors", `{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`, 12, "tensor b: data offsets [8, 12]"},
		{"bytes after the last tensor", `{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, 8, "4 data bytes after the last tensor"},
		{"unknown dtype", `{"a":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}`, 1, `unsupported dtype "F8_E4M3"`},
		{"metadata not strings", `{"__metadata__":{"a":1}}`, 0, "__metadata__"},
		{"entry not an object", `{"a":[1]}`, 0, "tensor a"},
		{"header length past the file", "", 0, "header length"},
		// a file cut inside its header: the length is read, the JSON is short
		{"header cut short", `{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, 0, "header length 54, file has 59 bytes"},
	}
	for _, c := range cases {
		file := stFile(c.header, make([]byte, c.body))
		switch c.name {
		case "header length past the file":
			file = binary.LittleEndian.AppendUint64(nil, 1<<40)
		case "header cut short":
			file = file[:len(file)-3]
		}
		p := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-")+".safetensors")
		if err := os.WriteFile(p, file, 0o644); err != nil {
			t.Fatal(err)
		}
		got, _, err := LoadSafetensors(p)
		if err == nil {
			freeAll(got)
			t.Errorf("%s: accepted", c.name)
			continue
		}
		if msg := err.Error(); !strings.HasPrefix(msg, p+": ") || !strings.Contains(msg, c.want) {
			t.Errorf("%s: error %q should name the file and say %q", c.name, msg, c.want)
		}
	}
	// Empty tensors share their offset with the next tensor, in any order
	// of the header.
	ok := stFile(`{"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]}}`, make([]byte, 4))
	for i := 0; i < 20; i++ {
		got, _, err := ParseSafetensors(ok)
		if err != nil || len(got) != 2 || got[0].Name != "a" {
			t.Fatalf("empty tensor before a full one: %v, %v", got, err)
		}
		freeAll(got)
	}
}

// FuzzLoadSafetensors feeds files to the safetensors reader: this package's
// own output and hand-made headers.
func FuzzLoadSafetensors(f *testing.F) {
	s := NewScope()
	var b bytes.Buffer
	err := WriteSafetensors(&b, []Named{
		{"main.0.weight", Randn(Float32, CPUDevice, 2, 1, 2, 2)},
		{"count", FromInt64([]int64{7})},
		{"half", Randn(Float32, CPUDevice, 3).ToDType(Float16)},
		{"bf", Randn(Float32, CPUDevice, 2).ToDType(BFloat16)},
		{"empty", Zeros(Float64, CPUDevice, 0, 3)},
		{"mask", Zeros(Bool, CPUDevice, 2)},
		{"i32", Zeros(Int32, CPUDevice, 1)},
		{"bytes", FromUint8([]uint8{1, 2, 3}, 3)},
	}, map[string]string{"format": "pt", "step": "12"})
	s.Close()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b.Bytes())
	f.Add(stFile(`{"w":{"dtype":"F32","shape":[-1,-4],"data_offsets":[0,16]}}`, make([]byte, 16)))
	f.Add(stFile(`{"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,0]}}`, nil))
	f.Add(stFile(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, make([]byte, 16)))
	path := filepath.Join(f.TempDir(), "fuzz.safetensors")
	f.Fuzz(func(t *testing.T, file []byte) {
		if err := os.WriteFile(path, file, 0o644); err != nil {
			t.Fatal(err)
		}
		got, _, err := LoadSafetensors(path)
		if err != nil {
			if msg := err.Error(); !strings.HasPrefix(msg, path+": ") || len(msg) < len(path)+10 {
				t.Fatalf("error %q does not name the file and the fault", msg)
			}
			return
		}
		defer freeAll(got)
		seen := map[string]bool{}
		for _, nt := range got {
			if seen[nt.Name] {
				t.Fatalf("tensor %s twice", nt.Name)
			}
			seen[nt.Name] = true
			n := int64(1)
			for _, s := range nt.Tensor.Shape() {
				n *= s
			}
			if int64(len(nt.Tensor.Bytes())) != n*int64(nt.Tensor.DType().Size()) {
				t.Fatalf("%s: %d bytes for shape %v of %s", nt.Name, len(nt.Tensor.Bytes()), nt.Tensor.Shape(), nt.Tensor.DType())
			}
		}
	})
}

// TestLoadSafetensorsReadsIntoTheTensors: a file's tensor bytes are read
// straight into the tensors, not first into a Go copy of the whole file: a
// pix2pixHD checkpoint of gigabytes would otherwise be held twice while it
// loads.
func TestLoadSafetensorsReadsIntoTheTensors(t *testing.T) {
	s := NewScope()
	defer s.Close()
	const n = 8 << 20 // 32 MiB of float32
	want := Randn(Float32, CPUDevice, n)
	p := filepath.Join(t.TempDir(), "big.safetensors")
	if err := SaveSafetensors(p, []Named{{"w", want}, {"b", Ones(Float64, CPUDevice, 3)}}, map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	got, meta, err := LoadSafetensors(p)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	defer FreeNamed(got)
	if len(got) != 2 || got[0].Name != "w" || got[1].Name != "b" || meta["k"] != "v" {
		t.Fatalf("got %v with %v", got, meta)
	}
	if got[0].Tensor.Sub(want).Abs().Sum().Item() != 0 || got[1].Tensor.Sum().Item() != 3 {
		t.Error("the tensors' values differ from the saved ones")
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Errorf("loading a %d MiB file allocated %d KiB of Go memory: the tensors' bytes went through Go", 4*n>>20, alloc>>10)
	}
}

// TestSafetensorsHeader: the names and metadata of a file, read from its
// header alone; a damaged file is an error naming it.
func TestSafetensorsHeader(t *testing.T) {
	s := NewScope()
	defer s.Close()
	dir := t.TempDir()
	p := filepath.Join(dir, "w.safetensors")
	if err := SaveSafetensors(p, []Named{{"G.b", Zeros(Float32, CPUDevice, 2)}, {"D.a", Zeros(Float32, CPUDevice, 0)}}, map[string]string{"kind": "k"}); err != nil {
		t.Fatal(err)
	}
	names, meta, err := SafetensorsHeader(p)
	if err != nil || !slices.Equal(names, []string{"D.a", "G.b"}) || meta["kind"] != "k" {
		t.Errorf("got %v, %v, %v", names, meta, err)
	}
	cut := filepath.Join(dir, "cut.safetensors")
	b, _ := os.ReadFile(p)
	os.WriteFile(cut, b[:20], 0o644)
	if _, _, err := SafetensorsHeader(cut); err == nil || !strings.HasPrefix(err.Error(), cut+": not a safetensors file or truncated") {
		t.Errorf("a file cut inside its header: %v", err)
	}
}

// eofAtEnd is an io.ReaderAt that, as the interface allows, answers a read
// that fills its buffer up to the end of the data with io.EOF.
type eofAtEnd struct{ *bytes.Reader }

func (r eofAtEnd) ReadAt(p []byte, off int64) (int, error) {
	n, err := r.Reader.ReadAt(p, off)
	if err == nil && off+int64(n) == r.Size() {
		err = io.EOF
	}
	return n, err
}

// TestReadSafetensorsTakesEOFWithTheLastBytes: io.ReaderAt lets a reader
// return io.EOF with a read that reaches the end in full; the last
// tensor's read (or a header that ends the file) is then whole, not an
// error.
func TestReadSafetensorsTakesEOFWithTheLastBytes(t *testing.T) {
	s := NewScope()
	defer s.Close()
	p := filepath.Join(t.TempDir(), "w.safetensors")
	if err := SaveSafetensors(p, []Named{{"a", Ones(Float32, CPUDevice, 2)}, {"b", Ones(Float32, CPUDevice, 3)}}, nil); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	for name, file := range map[string][]byte{"tensors": b, "no tensors": stFile(`{"__metadata__":{"k":"v"}}`, nil)} {
		got, _, err := ReadSafetensors(eofAtEnd{bytes.NewReader(file)}, int64(len(file)))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if name == "tensors" && (len(got) != 2 || got[1].Tensor.Sum().Item() != 3) {
			t.Errorf("%s: got %v", name, got)
		}
		FreeNamed(got)
	}
}
