package data

import (
	"bytes"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseCIFARBatch feeds pickles to the CIFAR-10 batch reader (seeds in
// testdata/fuzz/FuzzParseCIFARBatch, written by make_cifar_seeds.py): HWC
// pixels and labels 0..9 of as many images, or an error naming the batch.
func FuzzParseCIFARBatch(f *testing.F) {
	f.Add([]byte("\x80\x02}q\x00."))
	f.Add([]byte("\x80\x02]q\x00(h\x00h\x00e."))
	f.Fuzz(func(t *testing.T, b []byte) {
		pix, labels, err := parseCIFARBatch("data_batch_1", b)
		if err != nil {
			checkFileErr(t, "data_batch_1", err)
			return
		}
		if len(pix) != len(labels)*cifarBytes {
			t.Fatalf("%d pixel bytes for %d labels", len(pix), len(labels))
		}
		for _, l := range labels {
			if l > 9 {
				t.Fatalf("label %d", l)
			}
		}
	})
}

// FuzzLoadMaps feeds files to the label and instance map readers (pix2pixHD's
// data.label_nc and data.instance): one channel of the map's size (two for
// instances), or an error naming the file.
func FuzzLoadMaps(f *testing.F) {
	gray := image.NewGray(image.Rect(0, 0, 5, 4))
	for i := range gray.Pix {
		gray.Pix[i] = uint8(i % 7)
	}
	g16 := image.NewGray16(image.Rect(0, 0, 3, 2))
	g16.SetGray16(1, 1, color.Gray16{Y: 26001})
	pal := image.NewPaletted(image.Rect(0, 0, 4, 3), color.Palette{color.Black, color.White, color.RGBA{255, 0, 0, 255}})
	pal.Pix[5] = 2
	for _, b := range [][]byte{encode(f, "png", gray), encode(f, "png", g16), encode(f, "png", pal), encode(f, "gif", pal),
		encode(f, "bmp", gray), encode(f, "jpg", gray), encode(f, "png", gradient(3, 3)), encode(f, "tif", gray), []byte("P5 2 2 255\n\x00\x01\x02\x03")} {
		f.Add(b)
	}
	path := filepath.Join(f.TempDir(), "map.png")
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if im, err := LoadLabelMap(path, 256); err != nil {
			checkFileErr(t, path, err)
		} else {
			checkImage(t, im, 1)
		}
		if im, err := LoadInstanceMap(path); err != nil {
			checkFileErr(t, path, err)
		} else {
			checkImage(t, im, 2)
		}
	})
}

// FuzzDecodePNM feeds Netpbm files (P2, P3, P5, P6) to the PNM decoder,
// through the loader as a folder's .ppm / .pgm files are read.
func FuzzDecodePNM(f *testing.F) {
	f.Add([]byte("P5 2 2 255\n\x00\x01\x02\x03"))
	f.Add([]byte("P6\n# comment\n2 1\n255\n\x00\x01\x02\x03\x04\x05"))
	f.Add([]byte("P2\n3 2\n15\n0 1 2\n3 4 15\n"))
	f.Add([]byte("P3 1 1 7 1 2 3"))
	f.Add([]byte("P5 16777216 16777216 255\n\x00"))
	f.Add([]byte("P6 2 2 1\n\x00\x01\x01\x00\x01\x00\x01\x00\x01\x00\x01\x05"))
	path := filepath.Join(f.TempDir(), "fuzz.ppm")
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < 2 || !bytes.HasPrefix(b, []byte("P")) {
			return
		}
		decodeFuzzed(t, path, b, true)
	})
}
