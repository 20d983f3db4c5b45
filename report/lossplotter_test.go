package report_test

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"gogan/report"
	"gogan/runfolder"
)

// TestLossPlotterFollowsTheRun: the loss plot the trainer redraws at every
// sample grid reads only the rows metrics.csv gained since the last one and
// keeps a bounded number of points of each loss, however long the run (it
// read and parsed the whole file each time: a second at a million rows,
// every train.sample_every steps), and draws what WriteLossPlot draws of
// the whole file while the points are few enough to keep.
func TestLossPlotterFollowsTheRun(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "metrics.csv")
	w, err := runfolder.OpenMetrics(p, []string{"D", "G"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	out, whole := filepath.Join(dir, "loss.png"), filepath.Join(dir, "whole.png")
	lp := report.NewLossPlotter(p, out, "losses")
	rng := rand.New(rand.NewSource(5))
	step, size := 0, int64(0)
	grow := func(rows int) {
		for range rows {
			step++
			y := 0.5 + 0.01*rng.Float64() // small noise: a plot quick to draw
			if step == 123_457 {
				y = 40 // a spike
			}
			w.Write(step, step/1000, 0, time.Time{}, map[string]float64{"D": y, "G": 1 + y}, 2e-4, 800)
		}
		st, _ := os.Stat(p)
		size = st.Size()
	}
	grow(1500)
	if err := lp.Write(); err != nil {
		t.Fatal(err)
	}
	if err := report.WriteLossPlot(p, whole, "losses"); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(out)
	b, _ := os.ReadFile(whole)
	if !bytes.Equal(a, b) {
		t.Errorf("the plot of 1500 rows differs from WriteLossPlot's")
	}
	for range 5 {
		grow(40_000)
		before := lp.BytesRead()
		if err := lp.Write(); err != nil {
			t.Fatal(err)
		}
		if got := lp.BytesRead(); got != size {
			t.Fatalf("step %d: %d bytes read in all of a file of %d (%d this time)", step, got, size, got-before)
		}
		for i, n := range lp.Kept() {
			if n > report.KeptPoints {
				t.Fatalf("step %d: %d points kept of loss %d, more than %d", step, n, i, report.KeptPoints)
			}
		}
	}
	if !slices.Contains(lp.Points(0), 40) {
		t.Errorf("the spike at step 123457 is not kept")
	}
	readPNG(t, out)
	w.Close()
	// A resume rewrites metrics.csv with the rows up to its step: the
	// plotter starts again from the new file.
	w, err = runfolder.OpenMetrics(p, []string{"D", "G"}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	if err := lp.Write(); err != nil {
		t.Fatal(err)
	}
	if err := report.WriteLossPlot(p, whole, "losses"); err != nil {
		t.Fatal(err)
	}
	a, _ = os.ReadFile(out)
	b, _ = os.ReadFile(whole)
	if kept := lp.Kept(); kept[0] != 1000 || !bytes.Equal(a, b) {
		t.Errorf("after a rewrite to 1000 rows: %v points kept, same plot as WriteLossPlot's %v", kept, bytes.Equal(a, b))
	}
}

// TestLossPlotterReadsALongFileInChunks: the first plot of a resumed long
// run (a metrics.csv of 10 MB, more than a read of it takes at once) reads
// the whole file, a chunk at a time, keeps a bounded number of points and
// the spike of its last rows.
func TestLossPlotterReadsALongFileInChunks(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "metrics.csv")
	var b bytes.Buffer
	b.WriteString("step,epoch,D,G,lr,images_per_s\n")
	for step := 1; b.Len() < 10<<20; step++ {
		d := 0.5 + float64(step%97)/1000
		if b.Len() > 10<<20-1000 && b.Len() < 10<<20-900 {
			d = 40 // a spike near the end
		}
		fmt.Fprintf(&b, "%d,0,%g,%g,0.0002,800.00\n", step, d, 1+d)
	}
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	lp := report.NewLossPlotter(p, filepath.Join(dir, "loss.png"), "losses")
	if err := lp.Write(); err != nil {
		t.Fatal(err)
	}
	// all of it, and again the line each chunk ends inside
	if got := lp.BytesRead(); got < int64(b.Len()) || got > int64(b.Len())+100 {
		t.Errorf("read %d bytes of a file of %d", got, b.Len())
	}
	for i, n := range lp.Kept() {
		if n > report.KeptPoints {
			t.Errorf("%d points kept of loss %d, more than %d", n, i, report.KeptPoints)
		}
	}
	if !slices.Contains(lp.Points(0), 40) {
		t.Errorf("the spike near the end is not kept")
	}
}
