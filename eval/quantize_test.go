package eval

import (
	"encoding/binary"
	"image"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"gogan/cgo/torchtest"
	"gogan/data"
)

// TestQuantize8IsSaveImages: the generated images FID scores are quantised
// to the 8-bit levels torchvision's save_image(x, normalize=True,
// value_range=(-1, 1)) writes to a PNG (make_grid's norm_range, then
// mul(255).add_(0.5).clamp_(0, 255).to(uint8)), so that the FID of a
// checkpoint is the FID of its samples saved as PNG files. Values spread
// over [-1.1, 1.1] and values at the middle between two levels.
func TestQuantize8IsSaveImages(t *testing.T) {
	py := torchtest.Python(t)
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(8, 9))
	var x []float32
	for range 2000 {
		x = append(x, float32(r.Float64()*2.2-1.1))
	}
	for k := range 255 {
		x = append(x, float32((float64(k)+0.5)/255*2-1))
	}
	x = append(x, -1, 0, 1)
	raw := make([]byte, 4*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	in, out := filepath.Join(dir, "x.f32"), filepath.Join(dir, "x.png")
	if err := os.WriteFile(in, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	script := `import sys, numpy, torch, torchvision
x = torch.from_numpy(numpy.fromfile(sys.argv[1], dtype="<f4")).view(1, 1, -1)
torchvision.utils.save_image(x, sys.argv[2], normalize=True, value_range=(-1, 1))`
	if msg, err := exec.Command(py, "-c", script, in, out).CombinedOutput(); err != nil {
		t.Fatalf("save_image: %v\n%s", err, msg)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	im, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if im.Bounds() != image.Rect(0, 0, len(x), 1) {
		t.Fatalf("save_image wrote %v, want %d x 1", im.Bounds(), len(x))
	}
	q := append([]float32(nil), x...)
	quantize8(q)
	bad := 0
	for i, v := range x {
		rr, _, _, _ := im.At(i, 0).RGBA()
		if want := data.Normalize(uint8(rr >> 8)); q[i] != want {
			if bad++; bad <= 5 {
				t.Errorf("x = %.9g: quantize8 gives %g (level %.0f), save_image level %d", v, q[i], (float64(q[i])+1)/2*255, rr>>8)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d values quantised to another level than save_image's", bad, len(x))
	}
}
