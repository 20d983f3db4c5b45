package data

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// exportedImage is the image p locates in tensor t of an export, as CHW
// bytes: the region cut out, a Sides tensor reduced to its boundary map (1
// where a bit SideMask allows is set), mirrored when p.Flip. It is what the
// trainer does on the device, done here on the host.
func exportedImage(t U8Tensor, p Place) []uint8 {
	c, h, w := t.Shape[1], t.Shape[2], t.Shape[3]
	base := t.Pix[p.Row*c*h*w : (p.Row+1)*c*h*w]
	mask := SideMask(p.W, p.H)
	out := make([]uint8, c*p.H*p.W)
	for ch := range c {
		for y := range p.H {
			for x := range p.W {
				sx := x
				if p.Flip {
					sx = p.W - 1 - x
				}
				v := base[ch*h*w+(p.Y+y)*w+p.X+sx]
				if t.Sides {
					v = min(v&mask[y*p.W+sx], 1)
				}
				out[ch*p.H*p.W+y*p.W+x] = v
			}
		}
	}
	return out
}

// checkExport exports d and checks that, for samples 0..n-1 of three epochs,
// every image Locate points at is Sample's image, byte for byte. It returns
// the set and how many of the located images were flipped, and how many
// distinct places and rows they had, so that a caller can see the draws used.
func checkExport(t *testing.T, d *Dataset, n int) (set *U8Set, flips, places, rows int) {
	t.Helper()
	set, err := d.ExportU8(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	seenPlace, seenRow := map[[3]int]bool{}, map[[2]int]bool{}
	for _, epoch := range []uint64{0, 1, 7} {
		for i := range n {
			s, err := d.Sample(i, 5, epoch)
			if err != nil {
				t.Fatal(err)
			}
			at, err := d.Locate(set, i, 5, epoch)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]*Image{}
			for _, im := range s.Images() {
				want[im.Name] = im.Image
			}
			if len(want) != len(set.Tensors) {
				t.Fatalf("sample %d has %d images, the export %d tensors", i, len(want), len(set.Tensors))
			}
			for k, tn := range set.Tensors {
				w := want[tn.Name]
				if w == nil {
					t.Fatalf("the export's tensor %s is not among sample %d's images", tn.Name, i)
				}
				chw := make([]uint8, len(w.Pix))
				putCHWU8(w, chw)
				if got := exportedImage(tn, at[k]); !slices.Equal(got, chw) {
					t.Fatalf("epoch %d sample %d: %s located at %+v is not Sample's image", epoch, i, tn.Name, at[k])
				}
				if at[k].Flip {
					flips++
				}
				seenPlace[[3]int{k, at[k].X, at[k].Y}] = true
				seenRow[[2]int{k, at[k].Row}] = true
			}
		}
	}
	return set, flips, len(seenPlace), len(seenRow)
}

func shapes(set *U8Set) string {
	var s []string
	for _, t := range set.Tensors {
		s = append(s, fmt.Sprintf("%s%v", t.Name, t.Shape))
	}
	return strings.Join(s, " ")
}

// TestExportLocatesSamples: an export holds each image once (resized only
// when the transform crops or flips at random), and the images Locate points
// at, cut and mirrored as a device does it, are Sample's byte for byte, for
// every kind of dataset the trainer can keep on a device.
func TestExportLocatesSamples(t *testing.T) {
	facades := facadesDir(t)
	t.Run("aligned pairs, random crop and flip", func(t *testing.T) {
		for _, dir := range []string{"AtoB", "BtoA"} {
			cfg := DefaultConfig(Aligned)
			cfg.Root, cfg.MaxSamples, cfg.InMemory, cfg.Direction = facades, 20, true, dir
			set, flips, places, _ := checkExport(t, openOK(t, cfg), 6)
			if got, want := shapes(set), "A[20 3 286 286] B[20 3 286 286]"; !set.Placed || got != want {
				t.Fatalf("%s: placed %v, %s; want %s", dir, set.Placed, got, want)
			}
			// one draw for A and B: 18 samples' places, each twice
			if flips == 0 || flips == 36 || places < 30 {
				t.Errorf("%s: %d of 36 images flipped, %d distinct places: the draws are not used", dir, flips, places)
			}
		}
	})
	t.Run("random crop, data.no_flip", func(t *testing.T) {
		// the draws hold a flip whatever no_flip says (get_params draws
		// one); the device must not mirror by it
		cfg := DefaultConfig(Aligned)
		cfg.Root, cfg.MaxSamples, cfg.LoadSize, cfg.CropSize, cfg.NoFlip = facades, 6, 72, 64, true
		set, flips, places, _ := checkExport(t, openOK(t, cfg), 6)
		if !set.Placed || flips != 0 || places < 6 {
			t.Errorf("placed %v, %d of 36 images flipped, %d distinct places", set.Placed, flips, places)
		}
	})
	t.Run("A|B pairs of odd width, crop and flip", func(t *testing.T) {
		// halves 37 and 38 wide: one crop, placed in A, for both
		dir := t.TempDir()
		for i := range 4 {
			write(t, filepath.Join(dir, "train", fmt.Sprintf("%d.png", i)), encode(t, "png", noisyPhoto(75, 40, i)))
		}
		for _, dirn := range []string{"AtoB", "BtoA"} {
			cfg := DefaultConfig(Aligned)
			cfg.Root, cfg.Preprocess, cfg.CropSize, cfg.Direction = dir, Crop, 32, dirn
			set, flips, places, _ := checkExport(t, openOK(t, cfg), 4)
			want := "A[4 3 40 37] B[4 3 40 38]"
			if dirn == "BtoA" {
				want = "A[4 3 40 38] B[4 3 40 37]"
			}
			if got := shapes(set); got != want || flips == 0 || places < 4 {
				t.Errorf("%s: %s (want %s), %d flipped, %d places", dirn, got, want, flips, places)
			}
		}
		// 77x40 scaled to 32 wide, crop 32: A 32x33 (cut at row 0 or 1),
		// B 32x32, whole.
		sw := t.TempDir()
		for i := range 4 {
			write(t, filepath.Join(sw, "train", fmt.Sprintf("%d.png", i)), encode(t, "png", noisyPhoto(77, 40, i)))
		}
		cfg := DefaultConfig(Aligned)
		cfg.Root, cfg.Preprocess, cfg.LoadSize, cfg.CropSize = sw, ScaleWidthAndCrop, 32, 32
		set, _, places, _ := checkExport(t, openOK(t, cfg), 4)
		if got, want := shapes(set), "A[4 3 33 32] B[4 3 32 32]"; got != want || places < 3 {
			t.Errorf("scale_width_and_crop: %s (want %s), %d places", got, want, places)
		}
	})
	t.Run("unaligned A|B halves, random B, crop and flip", func(t *testing.T) {
		cfg := DefaultConfig(Unaligned)
		cfg.Root, cfg.MaxSamples, cfg.LoadSize, cfg.CropSize = facades, 12, 72, 64
		for _, sets := range []func(*Config){func(*Config) {}, func(c *Config) { c.Direction = "BtoA" }, func(c *Config) { c.SerialBatches = true }} {
			sets(&cfg)
			set, flips, places, rows := checkExport(t, openOK(t, cfg), 12)
			if got, want := shapes(set), "A[12 3 72 72] B[12 3 72 72]"; cfg.Direction == "BtoA" {
				want = "B[12 3 72 72] A[12 3 72 72]"
				if got != want {
					t.Fatalf("BtoA: %s, want %s (the A stream is the batch's B)", got, want)
				}
			} else if got != want {
				t.Fatalf("%s, want %s", got, want)
			}
			// each side its own draws; B rows random unless serial
			if flips == 0 || flips == 72 || places < 40 {
				t.Errorf("%+v: %d of 72 images flipped, %d distinct places", cfg, flips, places)
			}
			if want := 24; cfg.SerialBatches && rows != want || !cfg.SerialBatches && rows <= 12+6 {
				t.Errorf("serial %v: %d distinct rows of A and B", cfg.SerialBatches, rows)
			}
		}
	})
	t.Run("unaligned folders, fewer A than B", func(t *testing.T) {
		// 5 samples: A wraps around (row i mod 3), every B in turn
		dir := t.TempDir()
		for i := range 3 {
			write(t, filepath.Join(dir, "trainA", fmt.Sprintf("%d.png", i)), encode(t, "png", noisyPhoto(40, 36, i)))
		}
		for i := range 5 {
			write(t, filepath.Join(dir, "trainB", fmt.Sprintf("%d.png", i)), encode(t, "png", noisyPhoto(40, 36, 10+i)))
		}
		cfg := DefaultConfig(Unaligned)
		cfg.Root, cfg.Preprocess, cfg.CropSize, cfg.SerialBatches = dir, Crop, 32, true
		set, _, _, rows := checkExport(t, openOK(t, cfg), 5)
		if got, want := shapes(set), "A[3 3 36 40] B[5 3 36 40]"; got != want || rows != 8 {
			t.Errorf("%s (want %s), %d distinct rows (want 3 + 5)", got, want, rows)
		}
	})
	t.Run("label maps and instance boundaries, random crop and flip", func(t *testing.T) {
		root := t.TempDir()
		writeHD(t, root, "train", 4, 40, 30)
		cfg := DefaultConfig(Aligned)
		cfg.Root, cfg.LabelNC, cfg.Instance, cfg.Preprocess, cfg.LoadSize, cfg.CropSize = root, 20, true, ResizeAndCrop, 36, 24
		set, flips, places, _ := checkExport(t, openOK(t, cfg), 4)
		if got, want := shapes(set), "A[4 1 36 36] B[4 3 36 36] inst[4 1 36 36]"; got != want || !set.Tensors[0].Raw || set.Tensors[1].Raw || !set.Tensors[2].Sides {
			t.Fatalf("%s (want %s), raw and sides %+v", got, want, set.Tensors)
		}
		if flips == 0 || flips == 36 || places < 20 {
			t.Errorf("%d of 36 images flipped, %d distinct places", flips, places)
		}
		// The instance ids themselves (the feature encoder's), cut as A is.
		cfg.InstanceIDs = true
		set, _, _, _ = checkExport(t, openOK(t, cfg), 4)
		if got, want := shapes(set), "A[4 1 36 36] B[4 3 36 36] inst[4 1 36 36] inst_id[4 2 36 36]"; got != want || !set.Tensors[3].Raw || set.Tensors[3].Sides {
			t.Fatalf("instance_ids: %s (want %s), raw and sides %+v", got, want, set.Tensors[3])
		}
		cfg.InstanceIDs = false
		// Flips alone leave the boundaries whole: one plane.
		cfg.Preprocess = ScaleWidth
		set, flips, _, _ = checkExport(t, openOK(t, cfg), 4)
		if got, want := shapes(set), "A[4 1 27 36] B[4 3 27 36] inst[4 1 27 36]"; got != want || set.Tensors[2].Sides || flips == 0 {
			t.Errorf("scale_width: %s (want %s), %d flipped", got, want, flips)
		}
	})
	t.Run("gray to colour, random crop and flip", func(t *testing.T) {
		cfg := DefaultConfig(Gray2Color)
		cfg.Source, cfg.MaxSamples, cfg.LoadSize, cfg.CropSize = Folder, 5, 48, 40
		cfg.Root = filepath.Join(t.TempDir(), "photos")
		for i := range 5 {
			write(t, filepath.Join(cfg.Root, fmt.Sprintf("%d.png", i)), encode(t, "png", noisyPhoto(50, 44, i)))
		}
		set, flips, _, _ := checkExport(t, openOK(t, cfg), 5)
		if got, want := shapes(set), "A[5 1 48 48] B[5 3 48 48]"; got != want || flips == 0 {
			t.Errorf("%s, want %s; %d flipped", got, want, flips)
		}
	})
	t.Run("Fashion-MNIST, deterministic", func(t *testing.T) {
		fashionRoot(t)
		cfg := DefaultConfig(FashionMNIST)
		cfg.MaxSamples = 1000
		d := openOK(t, cfg)
		set, _, _, _ := checkExport(t, d, 20)
		if got, want := shapes(set), "A[1000 1 64 64]"; set.Placed || got != want {
			t.Errorf("placed %v, %s; want %s", set.Placed, got, want)
		}
		at, _ := d.Locate(set, 123, 0, 0)
		s, _ := d.Sample(123, 0, 0)
		if at[0] != (Place{Row: 123, W: 64, H: 64}) || !slices.Equal(set.Tensors[0].Pix[123*4096:124*4096], s.A.Pix) {
			t.Errorf("sample 123 located at %+v", at[0])
		}
	})
	t.Run("images of different sizes after resizing are refused, naming one", func(t *testing.T) {
		dir := t.TempDir()
		write(t, filepath.Join(dir, "trainA", "a.png"), encode(t, "png", gradient(40, 30)))
		tall := write(t, filepath.Join(dir, "trainA", "b.png"), encode(t, "png", gradient(40, 36)))
		write(t, filepath.Join(dir, "trainB", "a.png"), encode(t, "png", gradient(40, 30)))
		cfg := DefaultConfig(Unaligned)
		cfg.Root, cfg.Preprocess, cfg.LoadSize, cfg.CropSize = dir, ScaleWidthAndCrop, 32, 16
		_, err := openOK(t, cfg).ExportU8(context.Background())
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Key != "data.preprocess" || !strings.Contains(err.Error(), tall+" is 32x28") {
			t.Errorf("export of images resized to 32x24 and 32x28: %v; want a data.preprocess error naming %s", err, tall)
		}
	})
	t.Run("edge maps need a deterministic transform", func(t *testing.T) {
		fashionRoot(t)
		cfg := DefaultConfig(Edges)
		cfg.MaxSamples, cfg.LoadSize, cfg.CropSize = 10, 36, 32
		if _, err := openOK(t, cfg).ExportU8(context.Background()); err == nil || !strings.Contains(err.Error(), "data.preprocess") {
			t.Errorf("edges with a random crop: %v, want a refusal naming data.preprocess", err)
		}
		cfg.Preprocess = PreprocessNone
		if _, err := openOK(t, cfg).ExportU8(context.Background()); err == nil || !strings.Contains(err.Error(), "data.no_flip") {
			t.Errorf("edges with random flips: %v, want a refusal naming data.no_flip", err)
		}
		cfg.NoFlip = true
		checkExport(t, openOK(t, cfg), 5)
	})
}

// TestInstanceSides: a pixel with any bit set is on InstanceEdges, and with
// a bit SideMask allows on InstanceEdges of the cropped map.
func TestInstanceSides(t *testing.T) {
	im := NewImage(9, 7, 2)
	for i := range im.Pix {
		im.Pix[i] = uint8((i / 2 * 7 / 5) % 3)
	}
	sides := InstanceSides(im)
	tn := U8Tensor{Name: InstTensor, Sides: true, Shape: [4]int{1, 1, 7, 9}, Pix: sides.Pix}
	for _, p := range []Place{{W: 9, H: 7}, {X: 2, Y: 1, W: 5, H: 4}, {X: 4, Y: 3, W: 5, H: 4, Flip: true}} {
		want := InstanceEdges(CropImage(im, p.X, p.Y, p.W, p.H))
		if p.Flip {
			want = FlipH(want)
		}
		if got := exportedImage(tn, p); !slices.Equal(got, want.Pix) {
			t.Errorf("crop %+v: %v, want %v", p, got, want.Pix)
		}
	}
}
