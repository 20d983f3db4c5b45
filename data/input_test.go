package data

import (
	"fmt"
	"image"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// inputLayouts writes every layout of pairs that Input reads in its own way
// (or as Sample) into a temporary root each, all images w x h and
// different: A|B images, A/ and B/ folders, train_A/ and train_B/, two
// unaligned domains of 3 and 5 images, and unaligned A|B images.
func inputLayouts(t *testing.T, w, h int) map[string]Config {
	t.Helper()
	photo := func(k int) []byte { return encode(t, "png", noisyPhoto(w, h, k)) }
	ab := func(k int) []byte {
		im := image.NewNRGBA(image.Rect(0, 0, 2*w, h))
		l, r := noisyPhoto(w, h, k), noisyPhoto(w, h, k+100)
		for y := range h {
			copy(im.Pix[y*im.Stride:], l.Pix[y*l.Stride:(y+1)*l.Stride])
			copy(im.Pix[y*im.Stride+4*w:], r.Pix[y*r.Stride:(y+1)*r.Stride])
		}
		return encode(t, "png", im)
	}
	roots := map[string]Config{}
	add := func(name, dataset string, files func(root string)) {
		root := t.TempDir()
		files(root)
		cfg := DefaultConfig(dataset)
		cfg.Root = root
		roots[name] = cfg
	}
	add("A|B images", Aligned, func(root string) {
		for k := range 4 {
			write(t, filepath.Join(root, "train", fmt.Sprintf("%d.png", k)), ab(k))
		}
	})
	add("A/ and B/", Aligned, func(root string) {
		for k := range 4 {
			write(t, filepath.Join(root, "A", "train", fmt.Sprintf("%d.png", k)), photo(k))
			write(t, filepath.Join(root, "B", "train", fmt.Sprintf("%d.png", k)), photo(k+100))
		}
	})
	add("train_A/ and train_B/", Aligned, func(root string) {
		for k := range 4 {
			write(t, filepath.Join(root, "train_A", fmt.Sprintf("%d.png", k)), photo(k))
			write(t, filepath.Join(root, "train_B", fmt.Sprintf("%d.png", k)), photo(k+100))
		}
	})
	add("trainA/ and trainB/", Unaligned, func(root string) {
		for k := range 3 {
			write(t, filepath.Join(root, "trainA", fmt.Sprintf("%d.png", k)), photo(k))
		}
		for k := range 5 {
			write(t, filepath.Join(root, "trainB", fmt.Sprintf("%d.png", k)), photo(k+100))
		}
	})
	add("unaligned A|B images", Unaligned, func(root string) {
		for k := range 4 {
			write(t, filepath.Join(root, "train", fmt.Sprintf("%d.png", k)), ab(k))
		}
	})
	return roots
}

// TestInputIsSampleA: Input is the sample's A, byte for byte, in every
// layout, direction and transform (random crops and flips included), so
// that gogan serve's palette and examples are those of the samples.
func TestInputIsSampleA(t *testing.T) {
	for name, cfg := range inputLayouts(t, 42, 38) {
		for _, dir := range []string{"AtoB", "BtoA"} {
			for _, pre := range []string{ResizeAndCrop, PreprocessNone} {
				for _, serial := range []bool{false, true} {
					if serial && cfg.Dataset != Unaligned {
						continue
					}
					cfg := cfg
					cfg.Direction, cfg.Preprocess, cfg.LoadSize, cfg.CropSize = dir, pre, 36, 32
					cfg.NoFlip, cfg.SerialBatches = pre == PreprocessNone, serial
					d := openOK(t, cfg)
					for i := range d.Len() {
						for _, se := range [][2]uint64{{0, 0}, {7, 3}} {
							s, err := d.Sample(i, se[0], se[1])
							if err != nil {
								t.Fatal(err)
							}
							in, err := d.Input(i, se[0], se[1])
							if err != nil {
								t.Fatalf("%s %s %s: Input(%d): %v", name, dir, pre, i, err)
							}
							if in.W != s.A.W || in.H != s.A.H || in.C != s.A.C || !slices.Equal(in.Pix, s.A.Pix) {
								t.Errorf("%s %s %s serial %v: Input(%d, %d, %d) is not the sample's A", name, dir, pre, serial, i, se[0], se[1])
							}
						}
					}
				}
			}
		}
	}
}

// TestInputReadsOnlyItsSide: where the target's files are apart from the
// input's, Input decodes none of them: with data.direction=BtoA, A files
// that fail to decode (their headers fine) fail the samples but not their
// inputs.
func TestInputReadsOnlyItsSide(t *testing.T) {
	for name, cfg := range inputLayouts(t, 40, 40) {
		var broken []string
		for _, side := range []string{"A", "train_A", "trainA"} {
			fs, _ := filepath.Glob(filepath.Join(cfg.Root, side, "*.png"))
			if side == "A" {
				fs, _ = filepath.Glob(filepath.Join(cfg.Root, side, "train", "*.png"))
			}
			broken = append(broken, fs...)
		}
		if len(broken) == 0 {
			continue // A|B images: the input is half of the one file
		}
		for _, f := range broken {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			write(t, f, b[:len(b)/2])
		}
		cfg.Direction, cfg.Validate, cfg.Preprocess, cfg.NoFlip = "BtoA", "header", PreprocessNone, true
		cfg.SerialBatches = cfg.Dataset == Unaligned // input i is B[i]
		d := openOK(t, cfg)
		for i := range d.Len() {
			if _, err := d.Sample(i, 0, 0); err == nil {
				t.Errorf("%s: sample %d read with its A file broken", name, i)
			}
			in, err := d.Input(i, 0, 0)
			if err != nil {
				t.Fatalf("%s: Input(%d) read the A side: %v", name, i, err)
			}
			want, err := LoadImage(d.FilesB()[i], 3)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(in.Pix, want.Pix) {
				t.Errorf("%s: Input(%d) is not %s", name, i, d.FilesB()[i])
			}
		}
	}
}

// TestInputOfMapsAndChannels: Input is the sample's A where the sides have
// other channels (a gray side and a colour one, either way round: the
// input side's own count decodes it) and for pix2pixHD's label maps and
// instance maps, which Sample reads (nearest resize, class ids); and it
// refuses a sample out of range, as Sample does.
func TestInputOfMapsAndChannels(t *testing.T) {
	check := func(name string, cfg Config) {
		t.Helper()
		d := openOK(t, cfg)
		for i := range d.Len() {
			s, err := d.Sample(i, 7, 3)
			if err != nil {
				t.Fatal(err)
			}
			in, err := d.Input(i, 7, 3)
			if err != nil {
				t.Fatalf("%s: Input(%d): %v", name, i, err)
			}
			if in.W != s.A.W || in.H != s.A.H || in.C != s.A.C || !slices.Equal(in.Pix, s.A.Pix) {
				t.Errorf("%s: Input(%d) is not the sample's A (%dx%dx%d, want %dx%dx%d)", name, i, in.W, in.H, in.C, s.A.W, s.A.H, s.A.C)
			}
		}
		if _, err := d.Input(d.Len(), 0, 0); err == nil {
			t.Errorf("%s: Input(%d) of %d samples: no error", name, d.Len(), d.Len())
		}
	}
	for name, cfg := range inputLayouts(t, 40, 36) {
		for _, dir := range []string{"AtoB", "BtoA"} {
			cfg := cfg
			cfg.Direction, cfg.Preprocess, cfg.LoadSize, cfg.CropSize = dir, ResizeAndCrop, 36, 32
			cfg.InputNC, cfg.OutputNC = 1, 3 // A gray AtoB, B gray BtoA
			if dir == "BtoA" {
				cfg.InputNC, cfg.OutputNC = 3, 1
			}
			check(fmt.Sprintf("%s %s input_nc %d", name, dir, cfg.InputNC), cfg)
		}
	}
	root := t.TempDir()
	for k := range 3 {
		labels := image.NewGray(image.Rect(0, 0, 40, 36))
		for p := range labels.Pix {
			labels.Pix[p] = uint8((p/7 + k) % 4)
		}
		write(t, filepath.Join(root, "train_label", fmt.Sprintf("%d.png", k)), encode(t, "png", labels))
		write(t, filepath.Join(root, "train_img", fmt.Sprintf("%d.png", k)), encode(t, "png", noisyPhoto(40, 36, k)))
	}
	cfg := DefaultConfig(Aligned)
	cfg.Root, cfg.LabelNC, cfg.Preprocess, cfg.LoadSize, cfg.CropSize = root, 4, ResizeAndCrop, 36, 32
	check("label maps", cfg)
}
