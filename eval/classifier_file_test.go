package eval

import (
	"os"
	"path/filepath"
	"testing"

	torch "gogan/cgo"
)

// TestClassifierFileByItsKind: a safetensors file is gogan eval
// classifier's by its metadata's kind alone; one of another kind (a gogan
// checkpoint's weights), none, or a file that is not safetensors is not.
func TestClassifierFileByItsKind(t *testing.T) {
	s := torch.NewScope()
	defer s.Close()
	dir := t.TempDir()
	w := []torch.Named{{Name: "fc.weight", Tensor: torch.Zeros(torch.Float32, torch.CPUDevice, 2)}}
	for name, c := range map[string]struct {
		meta map[string]string
		want bool
	}{
		"clf":        {map[string]string{"kind": classifierKind}, true},
		"other-kind": {map[string]string{"kind": "something-else"}, false},
		"checkpoint": {map[string]string{"gogan": "v1"}, false},
		"none":       {nil, false},
	} {
		p := filepath.Join(dir, name+".safetensors")
		if err := torch.SaveSafetensors(p, w, c.meta); err != nil {
			t.Fatal(err)
		}
		if got := classifierFile(p); got != c.want {
			t.Errorf("%s: classifierFile %v, want %v", name, got, c.want)
		}
	}
	pth := filepath.Join(dir, "inception.pth")
	os.WriteFile(pth, []byte("PK\x03\x04 not a safetensors file"), 0o644)
	if classifierFile(pth) || classifierFile(filepath.Join(dir, "missing")) {
		t.Error("a .pth or a missing file read as a classifier")
	}
}
