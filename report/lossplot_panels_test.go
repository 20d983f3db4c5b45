package report_test

import (
	"image"
	"image/color"
	"math"
	"math/rand"
	"path/filepath"
	"testing"
	"time"

	"gogan/report"
	"gogan/runfolder"
)

// writeLosses writes steps rows of the losses f gives at each step into
// a metrics.csv of a fresh folder, and returns its path.
func writeLosses(t *testing.T, names []string, steps int, f func(step int) map[string]float64) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "metrics.csv")
	m, err := runfolder.OpenMetrics(p, names, 0)
	if err != nil {
		t.Fatal(err)
	}
	for s := 1; s <= steps; s++ {
		m.Write(s, 0, int64(s), time.Time{}, f(s), 2e-4, 800)
	}
	m.Close()
	return p
}

// extent is how many pixel rows of im hold a pixel near c (a loss's line)
// or its raw values' tint: a curve across its panel's height covers most
// of them, a flat one (or a legend's sample line) a few.
func extent(im image.Image, c color.RGBA) (rows, pixels int) {
	near := func(x, y int, c color.RGBA) bool {
		r, g, b, _ := im.At(x, y).RGBA()
		return absInt(int(r>>8)-int(c.R))+absInt(int(g>>8)-int(c.G))+absInt(int(b>>8)-int(c.B)) < 40
	}
	tint := report.RawTint(c)
	for y := im.Bounds().Min.Y; y < im.Bounds().Max.Y; y++ {
		in := false
		for x := im.Bounds().Min.X; x < im.Bounds().Max.X; x++ {
			if near(x, y, c) || near(x, y, tint) {
				in, pixels = true, pixels+1
			}
		}
		if in {
			rows++
		}
	}
	return rows, pixels
}

// TestLossPlotGivesEachLossItsRange: pix2pix's losses, G_L1 (weighted
// x100) some fifty times the others, each span a good part of the plot's
// height in their own panel. In the one panel of them all that the plot
// was, D_real and D_fake were a flat line of a few pixels at its bottom.
func TestLossPlotGivesEachLossItsRange(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	names := []string{"G_GAN", "G_L1", "D_real", "D_fake"}
	p := writeLosses(t, names, 200, func(s int) map[string]float64 {
		return map[string]float64{
			"G_GAN":  0.8 + float64(s)/200 + 0.3*rng.Float64(),
			"G_L1":   90 - 60*float64(s)/200 + 10*rng.Float64(),
			"D_real": 0.7 - 0.4*float64(s)/200 + 0.1*rng.Float64(),
			"D_fake": 0.2 + 0.4*float64(s)/200 + 0.1*rng.Float64(),
		}
	})
	out := filepath.Join(filepath.Dir(p), "loss.png")
	if err := report.WriteLossPlot(p, out, "pix2pix losses"); err != nil {
		t.Fatal(err)
	}
	im := readPNG(t, out)
	h := im.Bounds().Dy()
	for i, name := range names {
		// two rows of panels: a loss across its panel's data area is
		// over a quarter of the figure's height
		if rows, _ := extent(im, report.LossColors[i]); rows < h/4 {
			t.Errorf("%s spans %d of the plot's %d pixel rows, want %d or more", name, rows, h, h/4)
		}
	}
}

// TestLossPlotGroups: losses a recipe groups (D_real and D_fake, of one
// scale) share a panel, with a legend; the others have one each. D_real
// and D_fake, in the same range, reach the same rows.
func TestLossPlotGroups(t *testing.T) {
	rng := rand.New(rand.NewSource(8))
	names := []string{"G_GAN", "G_L1", "D_real", "D_fake"}
	p := writeLosses(t, names, 100, func(s int) map[string]float64 {
		return map[string]float64{"G_GAN": 1 + rng.Float64(), "G_L1": 30 + 30*rng.Float64(), "D_real": 0.2 + 0.6*rng.Float64(), "D_fake": 0.2 + 0.6*rng.Float64()}
	})
	out := filepath.Join(filepath.Dir(p), "loss.png")
	lp := report.NewLossPlotter(p, out, "pix2pix losses")
	lp.SetGroups([][]string{{"D_real", "D_fake"}, {"no such loss"}})
	f, err := lp.Plot()
	if err != nil {
		t.Fatal(err)
	}
	if got := report.Panels(f); len(got) != 3 || len(got[2]) != 2 {
		t.Fatalf("panels %v, want [[0] [1] [2 3]]", got)
	}
	if err := lp.Write(); err != nil {
		t.Fatal(err)
	}
	im := readPNG(t, out)
	real, _ := extent(im, report.LossColors[2])
	fake, _ := extent(im, report.LossColors[3])
	if real < im.Bounds().Dy()/4 || fake < im.Bounds().Dy()/4 {
		t.Errorf("D_real spans %d rows, D_fake %d, of %d", real, fake, im.Bounds().Dy())
	}
}

// TestLossPlotSmoothsTheNoise: a noisy loss about a constant is drawn as
// its raw values, lightly, and a smoothed line over them in its colour
// that stays near the constant, well inside the raw values' range.
func TestLossPlotSmoothsTheNoise(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	for _, steps := range []int{200, 50_000} { // a line, and a band of more points than columns
		p := writeLosses(t, []string{"D"}, steps, func(int) map[string]float64 { return map[string]float64{"D": 1 + rng.Float64()} })
		out := filepath.Join(filepath.Dir(p), "loss.png")
		if err := report.WriteLossPlot(p, out, "x"); err != nil {
			t.Fatal(err)
		}
		im := readPNG(t, out)
		all, _ := extent(im, report.LossColors[0]) // rows of the raw values
		// the smoothed line alone: pixels of the colour itself
		top, bottom, n := math.MaxInt, -1, 0
		for y := range im.Bounds().Dy() {
			for x := im.Bounds().Dx() / 10; x < im.Bounds().Dx(); x++ { // past the first rows, where it starts at the first value
				if r, g, b, _ := im.At(x, y).RGBA(); (color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), 255}) == report.LossColors[0] {
					top, bottom, n = min(top, y), max(bottom, y), n+1
				}
			}
		}
		if n < 200 || bottom-top+1 > all*2/3 {
			t.Errorf("%d steps: the smoothed line is %d pixels over %d rows, the raw values span %d", steps, n, bottom-top+1, all)
		}
	}
}

// TestLossPlotSmoothingIsBounded: the means a LossPlotter keeps for a
// loss's smoothed line are bounded however long the run, and the line
// it draws has about a point a pixel column.
func TestLossPlotSmoothingIsBounded(t *testing.T) {
	p := writeLosses(t, []string{"D"}, 100_000, func(s int) map[string]float64 { return map[string]float64{"D": float64(s % 7)} })
	lp := report.NewLossPlotter(p, filepath.Join(filepath.Dir(p), "loss.png"), "x")
	f, err := lp.Plot()
	if err != nil {
		t.Fatal(err)
	}
	if n := lp.Means(0); n > report.KeptPoints {
		t.Errorf("%d means kept, more than %d", n, report.KeptPoints)
	}
	if n := len(report.Smoothed(f, 0)); n < 500 || n > 2002 {
		t.Errorf("a smoothed line of %d points", n)
	}
	for _, q := range report.Smoothed(f, 0)[10:] {
		if math.Abs(q.Y-3) > 0.2 { // the mean of 0..6
			t.Fatalf("smoothed %v, want about 3", q)
		}
	}
}
