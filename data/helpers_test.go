package data

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

// repoRoot is the folder holding go.mod, found from the test's working dir.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's working directory")
		}
		dir = parent
	}
}

// facadesDir is ../shared/data/facades/train beside the repository (CI lays a
// copy of shared/ there).
func facadesDir(t testing.TB) string {
	t.Helper()
	d := filepath.Join(repoRoot(t), "..", "shared", "data", "facades", "train")
	if _, err := os.Stat(d); err != nil {
		t.Skipf("facades not found at %s (shared/ is not beside the repository)", d)
	}
	return d
}

func fashionRoot(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat(filepath.Join(DefaultFashionRoot, "train-images-idx3-ubyte.gz")); err != nil {
		t.Fatalf("Fashion-MNIST not installed at %s (make setup installs dataset-fashion-mnist)", DefaultFashionRoot)
	}
	return DefaultFashionRoot
}

// pil runs a Python snippet under Debian's python3 (which has PIL), feeding
// stdin and returning stdout; the test fails when PIL (or torchvision or
// skimage, when the snippet names them) is not there.
func pil(t testing.TB, script string, stdin []byte, args ...string) []byte {
	t.Helper()
	const py = "/usr/bin/python3"
	imports := "import PIL"
	for _, m := range []string{"torchvision", "skimage"} {
		if bytes.Contains([]byte(script), []byte(m)) {
			imports += ", " + m
		}
	}
	if err := exec.Command(py, "-c", imports).Run(); err != nil {
		t.Fatalf("%s with %s is not available (Debian python3-pil, python3-torchvision, python3-skimage: run make setup): %v", py, imports[len("import "):], err)
	}
	cmd := exec.Command(py, append([]string{"-c", script}, args...)...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, stderr.String())
	}
	return out
}

// torchvisionItems builds the torchvision dataset d with the Python
// snippet dataset (which reads sys.argv[1:] as args) in a scratch working
// folder (LSUN caches its keys in it), and returns each item's image bytes
// (PIL's tobytes) and label.
func torchvisionItems(t *testing.T, dataset string, args ...string) (images [][]byte, labels []int) {
	t.Helper()
	out := pil(t, `
import base64, json, os, sys, tempfile
import torchvision.transforms as T
os.chdir(tempfile.mkdtemp())
`+dataset+`
ims, labels = [], []
for im, l in d:
    ims.append(base64.b64encode(im.tobytes()).decode())
    labels.append(l)
json.dump({"images": ims, "labels": labels}, sys.stdout)
`, nil, args...)
	var v struct {
		Images [][]byte
		Labels []int
	}
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatal(err)
	}
	return v.Images, v.Labels
}

func absDiff(a, b []uint8) (mean float64, maxd int) {
	sum := 0
	for i := range a {
		d := int(a[i]) - int(b[i])
		if d < 0 {
			d = -d
		}
		sum += d
		maxd = max(maxd, d)
	}
	return float64(sum) / float64(len(a)), maxd
}

// pilImage is how PIL opens an image file: its mode and size, its
// convert('RGB') and convert('L') bytes, and for single-channel modes its
// values (palette indices, gray levels, ids).
type pilImage struct {
	Mode   string
	Size   []int
	RGB, L []int
	Values []int
}

// pilOpens opens dir's files names with Debian's PIL.
func pilOpens(t *testing.T, dir string, names []string) map[string]pilImage {
	t.Helper()
	out := pil(t, `import json, sys, os
from PIL import Image
out = {}
for name in sys.argv[2:]:
    im = Image.open(os.path.join(sys.argv[1], name))
    out[name] = {"mode": im.mode, "size": list(im.size), "RGB": list(im.convert("RGB").tobytes()), "L": list(im.convert("L").tobytes()),
                 "values": list(im.getdata()) if im.mode in ("P", "L", "I", "I;16") else None}
print(json.dumps(out))`, nil, append([]string{dir}, names...)...)
	var want map[string]pilImage
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatal(err)
	}
	return want
}

// decodesAsPIL checks that LoadImage gives PIL's convert('RGB') and
// convert('L') of each of dir's files names.
func decodesAsPIL(t *testing.T, dir string, names []string, want map[string]pilImage) {
	t.Helper()
	for _, name := range names {
		for c, w := range map[int][]int{3: want[name].RGB, 1: want[name].L} {
			im, err := LoadImage(filepath.Join(dir, name), c)
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			got := make([]int, len(im.Pix))
			for i, v := range im.Pix {
				got[i] = int(v)
			}
			if im.W != want[name].Size[0] || im.H != want[name].Size[1] || !slices.Equal(got, w) {
				t.Errorf("%s, %d channels: gogan %dx%d %v\nPIL (mode %s) %v %v", name, c, im.W, im.H, got, want[name].Mode, want[name].Size, w)
			}
		}
	}
}
