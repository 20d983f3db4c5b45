package torch

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gogan/cgo/torchtest"
)

// TestLoadPTH reads files written by torch.save (Debian's PyTorch): a
// state_dict with every dtype, a non-contiguous view, a shared storage, a
// Parameter and the _metadata attribute; a nested checkpoint dict; and
// refuses a legacy file and a pickle that holds code.
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
	got, err := LoadPTH(filepath.Join(dir, "sd.pth"))
	if err != nil {
		t.Fatal(err)
	}
	defer freeAll(want)
	defer freeAll(got)
	if len(got) != len(want) {
		t.Fatalf("%d tensors, want %d: %v", len(got), len(want), sortedNames(got))
	}
	byName := map[string]*Tensor{}
	for _, nt := range got {
		byName[nt.Name] = nt.Tensor
	}
	for _, w := range want {
		g, ok := byName[w.Name]
		if !ok {
			t.Errorf("missing %s", w.Name)
			continue
		}
		if g.DType() != w.Tensor.DType() || !bytes.Equal(g.Bytes(), w.Tensor.Bytes()) || len(g.Shape()) != len(w.Tensor.Shape()) {
			t.Errorf("%s: got %v, want %v", w.Name, g, w.Tensor)
		}
	}
	if got[0].Name != "main.0.weight" || got[len(got)-1].Name != "param" {
		t.Errorf("order not kept: first %s, last %s", got[0].Name, got[len(got)-1].Name)
	}
	nested, err := LoadPTH(filepath.Join(dir, "nested.pth"))
	if err != nil {
		t.Fatal(err)
	}
	defer freeAll(nested)
	if len(nested) != len(want) || nested[0].Name != "netG.main.0.weight" {
		t.Errorf("nested: %d tensors, first %q", len(nested), nested[0].Name)
	}
	for name, frag := range map[string]string{"legacy.pth": "zip", "code.pth": "print", "missing.pth": "missing.pth"} {
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
