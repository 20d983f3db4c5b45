package torch

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gogan/cgo/torchtest"
)

// TestWritePTHIsTorchSave: WritePTH's archive is what Debian's torch.save
// writes for the same OrderedDict: the same pickle, byte for byte (its memo
// beyond 256 objects and batches of 1000 items included), the same storage
// records and version, each record's bytes 64-byte aligned; torch.load with
// weights_only reads every key, dtype, shape and byte back; and LoadPTH
// reads it as written.
func TestWritePTHIsTorchSave(t *testing.T) {
	py := torchtest.Python(t)
	dir := t.TempDir()
	mixed := func() []Named {
		conv := Randn(Float32, CPUDevice, 4, 3, 2, 2)
		return []Named{
			{"model.0.weight", conv},
			{"model.1.weight", Randn(Float32, CPUDevice, 4)},
			{"model.1.running_var", Rand(Float64, CPUDevice, 4)},
			{"model.1.num_batches_tracked", FromInt64([]int64{70001})},
			{"long", FromInt64([]int64{-1, 1 << 40, 3}, 3)},
			{"half", Randn(Float16, CPUDevice, 2, 3)},
			{"bf16", Randn(BFloat16, CPUDevice, 3, 1)},
			{"int32", Full(-7, Int32, CPUDevice, 5)},
			{"bytes", FromUint8([]uint8{0, 1, 255}, 3)},
			{"mask", Ones(Bool, CPUDevice, 2, 2)},
			{"empty", Zeros(Float32, CPUDevice, 0, 3)},
			{"empty inside", Zeros(Float32, CPUDevice, 3, 0, 2)},
			{"big", Zeros(Float32, CPUDevice, 70000)},
			{"transposed", Randn(Float32, CPUDevice, 3, 5).Permute(1, 0)},
			{"five", Randn(Float32, CPUDevice, 1, 2, 1, 2, 1)},
		}
	}
	many := func(n int) func() []Named {
		return func() []Named {
			ts := make([]Named, n)
			for i := range ts {
				ts[i] = Named{fmt.Sprintf("layers.%d.weight", i), Full(float64(i), Float32, CPUDevice, 1)}
			}
			return ts
		}
	}
	for _, c := range []struct {
		name    string
		tensors func() []Named
	}{
		{"mixed", mixed},
		{"one", many(1)},
		{"none", many(0)},
		{"memo beyond 256", many(40)},
		{"two batches", many(1001)},
	} {
		t.Run(c.name, func(t *testing.T) {
			ts := c.tensors()
			defer FreeNamed(ts)
			src, ours, ref := filepath.Join(dir, "in.safetensors"), filepath.Join(dir, "ours.pth"), filepath.Join(dir, "ref.pth")
			if err := SaveSafetensors(src, ts, nil); err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := WritePTH(&buf, ts); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(ours, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(py, "../scripts/interop_check.py", "pth", src, ours, ref).CombinedOutput(); err != nil {
				t.Fatalf("torch.load of WritePTH's file: %v\n%s", err, out)
			}
			got, want := pthRecords(t, ours), pthRecords(t, ref)
			if string(got["data.pkl"]) != string(want["data.pkl"]) {
				t.Errorf("data.pkl differs from torch.save's:\n got %q\nwant %q", clip(got["data.pkl"]), clip(want["data.pkl"]))
			}
			for name, w := range want {
				if name == ".data/serialization_id" {
					continue // PyTorch 2.2 on: a random id of each save, which torch.load does not need
				}
				if g, ok := got[name]; !ok || !bytes.Equal(g, w) {
					t.Errorf("record %s: %d bytes (present %v), torch.save's %d", name, len(g), ok, len(w))
				}
			}
			for name := range got {
				if _, ok := want[name]; !ok && name != "byteorder" {
					t.Errorf("record %s, which torch.save does not write", name)
				}
			}
			if string(got["byteorder"]) != "little" {
				t.Errorf("byteorder record %q, want little", got["byteorder"])
			}
			if len(ts) == 0 {
				return // LoadPTH refuses a file without tensors
			}
			back, err := LoadPTH(ours)
			if err != nil {
				t.Fatal(err)
			}
			defer FreeNamed(back)
			if len(back) != len(ts) {
				t.Fatalf("LoadPTH: %d tensors, wrote %d", len(back), len(ts))
			}
			for i, nt := range ts {
				b := back[i]
				if b.Name != nt.Name || b.Tensor.DType() != nt.Tensor.DType() || fmt.Sprint(b.Tensor.Shape()) != fmt.Sprint(nt.Tensor.Shape()) ||
					!bytes.Equal(b.Tensor.Bytes(), nt.Tensor.Bytes()) {
					t.Errorf("LoadPTH: tensor %d is %s %s %v, wrote %s %s %v", i, b.Name, b.Tensor.DType(), b.Tensor.Shape(), nt.Name, nt.Tensor.DType(), nt.Tensor.Shape())
				}
			}
		})
	}
}

// pthRecords reads a torch.save archive's records by their names under its
// folder, checking that each one's bytes start 64-byte aligned.
func pthRecords(t *testing.T, file string) map[string][]byte {
	t.Helper()
	zr, err := zip.OpenReader(file)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	out := map[string][]byte{}
	for _, f := range zr.File {
		off, err := f.DataOffset()
		if err != nil {
			t.Fatal(err)
		}
		if off%pthAlignment != 0 {
			t.Errorf("%s: record %s starts at byte %d, not a multiple of %d", file, f.Name, off, pthAlignment)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("%s: record %s: %v", file, f.Name, err)
		}
		_, rest, _ := strings.Cut(f.Name, "/")
		out[rest] = b
	}
	return out
}

func clip(b []byte) []byte {
	if len(b) > 400 {
		return b[:400]
	}
	return b
}

// TestWritePTHRefuses: names a state dict cannot hold are refused before
// anything is written.
func TestWritePTHRefuses(t *testing.T) {
	w := FromFloat32([]float32{1}, 1)
	defer w.Free()
	for _, ts := range [][]Named{{{"", w}}, {{"a", w}, {"a", w}}} {
		var buf bytes.Buffer
		if err := WritePTH(&buf, ts); err == nil {
			t.Errorf("WritePTH(%v) wrote %d bytes, want an error", SortedNames(ts), buf.Len())
		} else if buf.Len() != 0 {
			t.Errorf("WritePTH(%v) failed (%v) after writing %d bytes", SortedNames(ts), err, buf.Len())
		}
	}
}

// TestLongBytesIsPickles: integers past int32 (a huge tensor's numel or
// strides) are pickled in LONG1's fewest bytes, as Python's pickle does.
func TestLongBytesIsPickles(t *testing.T) {
	py := torchtest.Python(t)
	ns := []int64{1 << 31, -1<<31 - 1, 1<<32 - 1, 1 << 39, -(1 << 39), 1<<63 - 1, -1 << 63, 0x7fffffffff, 0x8000000000, -0x8000000000, -0x8000000001}
	args := []string{"-c", "import pickle,sys; print(' '.join(pickle.dumps(int(a), 2)[2:-1].hex() for a in sys.argv[1:]))"}
	for _, n := range ns {
		args = append(args, fmt.Sprint(n))
	}
	out, err := exec.Command(py, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := strings.Fields(string(out))
	for i, n := range ns {
		p := newPickler()
		p.int(n)
		if got := fmt.Sprintf("%x", p.Bytes()); got != want[i] {
			t.Errorf("%d: pickled %s, Python %s", n, got, want[i])
		}
	}
}
