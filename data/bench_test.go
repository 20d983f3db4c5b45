package data

import (
	"bytes"
	"context"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"gogan/cgo/torchtest"
)

// The benchmarks report images/s for decode + augment + normalise on one
// core (one goroutine, as torchvision's DataLoader with num_workers=0 is one
// process), and through the loader on all cores. scripts/bench-data prints
// them beside torchvision's.

func benchDataset(b *testing.B, cfg Config) *Dataset {
	b.Helper()
	d, err := Open(context.Background(), cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// benchSamples runs the per-sample pipeline sequentially and reports
// images/s (a pair counts as one image, as a torchvision sample does).
func benchSamples(b *testing.B, d *Dataset) {
	a, bb, _ := d.Shape()
	fa := make([]float32, a[0]*a[1]*a[2])
	fb := make([]float32, bb[0]*bb[1]*bb[2])
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		s, err := d.Sample(i%d.Len(), 1, uint64(i/d.Len()))
		if err != nil {
			b.Fatal(err)
		}
		putCHW(s.A, fa)
		if s.B != nil {
			putCHW(s.B, fb)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "images/s")
}

func facadesConfig(b *testing.B) Config {
	cfg := DefaultConfig(Aligned)
	cfg.Root = facadesDir(b)
	cfg.Validate = "header" // the benchmark measures decoding, not opening
	return cfg
}

// BenchmarkFacadesOneCore: pix2pix's train pipeline on facades: JPEG decode,
// split A|B, bicubic resize to 286, random crop 256, random flip, normalise.
func BenchmarkFacadesOneCore(b *testing.B) {
	benchSamples(b, benchDataset(b, facadesConfig(b)))
}

// BenchmarkFashionOneCore: DCGAN's pipeline on Fashion-MNIST: 28x28 to 64x64
// bilinear (Resize + CenterCrop), normalise. The IDX file is decoded on open.
func BenchmarkFashionOneCore(b *testing.B) {
	fashionRoot(b)
	benchSamples(b, benchDataset(b, DefaultConfig(FashionMNIST)))
}

// BenchmarkFashion28OneCore: Fashion-MNIST at its own 28x28 (ToTensor and
// Normalize only), as pytorch/examples' mnist GANs use it.
func BenchmarkFashion28OneCore(b *testing.B) {
	fashionRoot(b)
	cfg := DefaultConfig(FashionMNIST)
	cfg.ImageSize = 28
	benchSamples(b, benchDataset(b, cfg))
}

// benchLoader reports images/s through the loader with GOMAXPROCS workers,
// and per core.
func benchLoader(b *testing.B, cfg Config) {
	d := benchDataset(b, cfg)
	o := d.Config().LoaderOptions(1)
	o.Workers = runtime.GOMAXPROCS(0)
	o.Prefetch = 2
	l, err := NewLoader(d, o)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	b.ResetTimer()
	start := time.Now()
	n := 0
	for n < b.N {
		bt, err := l.Next(context.Background())
		if err != nil {
			continue // io.EOF: next epoch
		}
		n += bt.N()
		bt.Release()
	}
	rate := float64(n) / time.Since(start).Seconds()
	b.ReportMetric(rate, "images/s")
	b.ReportMetric(rate/float64(o.Workers), "images/s/core")
}

func BenchmarkFacadesLoader(b *testing.B) {
	benchLoader(b, facadesConfig(b))
}

func BenchmarkFacadesLoaderInMemory(b *testing.B) {
	cfg := facadesConfig(b)
	cfg.InMemory = true
	benchLoader(b, cfg)
}

func BenchmarkFashionLoader(b *testing.B) {
	fashionRoot(b)
	benchLoader(b, DefaultConfig(FashionMNIST))
}

// lsunConfig is DCGAN 64 on the bedroom database under $GOGAN_BENCH_LSUN
// (scripts/bench-data makes one), else on 200 facades photos saved as
// LSUN's WebPs (scripts/make_lsun.py).
func lsunConfig(b *testing.B) Config {
	cfg := DefaultConfig(LSUN)
	cfg.Root = os.Getenv("GOGAN_BENCH_LSUN")
	if cfg.Root == "" {
		cfg.Root = b.TempDir()
		cmd := exec.Command(torchtest.Python(b), filepath.Join(repoRoot(b), "scripts", "make_lsun.py"), cfg.Root,
			"--count", "200", "--photos", facadesDir(b))
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("make_lsun.py: %v\n%s", err, out)
		}
	}
	cfg.Validate = "header" // the benchmark measures decoding, not opening
	return cfg
}

// BenchmarkLSUNOneCore: DCGAN's pipeline on LSUN: an LMDB lookup, WebP
// decode, bilinear Resize(64) + CenterCrop(64), normalise.
func BenchmarkLSUNOneCore(b *testing.B) {
	benchSamples(b, benchDataset(b, lsunConfig(b)))
}

func BenchmarkLSUNLoader(b *testing.B) {
	benchLoader(b, lsunConfig(b))
}

// BenchmarkJPEGDecode is Go's image/jpeg beside libjpeg-turbo (which gogan
// decodes JPEGs with, as PIL does) on a facades file.
func BenchmarkJPEGDecode(b *testing.B) {
	raw, err := os.ReadFile(filepath.Join(facadesDir(b), "1.jpg"))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("image/jpeg", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, _, err := image.Decode(bytes.NewReader(raw)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("libjpeg-turbo+RGB", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := decodeBytes("1.jpg", raw, 3); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkResize is the pix2pix resize of one 256x256 RGB half to 286x286.
func BenchmarkResize(b *testing.B) {
	src := NewImage(256, 256, 3)
	for i := range src.Pix {
		src.Pix[i] = uint8(i * 7)
	}
	for _, f := range []Filter{Bicubic, Bilinear} {
		b.Run([]string{"nearest", "bilinear", "bicubic"}[f], func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				Resize(src, 286, 286, f)
			}
		})
	}
}
