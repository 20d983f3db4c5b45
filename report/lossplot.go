package report

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"slices"
	"strconv"

	"gogan/runfolder"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// lossColors are distinguishable on white (Okabe-Ito, colour-blind safe).
var lossColors = []color.RGBA{
	{0, 114, 178, 255},   // blue
	{213, 94, 0, 255},    // vermillion
	{0, 158, 115, 255},   // green
	{204, 121, 167, 255}, // purple
	{230, 159, 0, 255},   // orange
	{86, 180, 233, 255},  // sky
	{0, 0, 0, 255},       // black
	{240, 228, 66, 255},  // yellow
}

// appendPoints appends to pts the finite cells of column col of rows,
// against their step.
func appendPoints(pts plotter.XYs, rows [][]float64, stepCol, col int) plotter.XYs {
	for _, r := range rows {
		if col < len(r) && !math.IsNaN(r[col]) && !math.IsInf(r[col], 0) {
			pts = append(pts, plotter.XY{X: r[stepCol], Y: r[col]})
		}
	}
	return pts
}

// lossPlot draws each named series (finite points in step order) against
// step, with a legend and labelled axes.
func lossPlot(names []string, series []plotter.XYs, title string) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "step"
	p.Y.Label.Text = "loss"
	p.Legend.Top = true
	p.Legend.Left = false
	p.Legend.YOffs = -vg.Points(4)
	p.Legend.XOffs = -vg.Points(8)
	p.X.Tick.Marker = plot.TickerFunc(niceTicks)
	p.Y.Tick.Marker = plot.TickerFunc(niceTicks)
	for _, f := range []*font.Font{&p.Title.TextStyle.Font, &p.X.Label.TextStyle.Font, &p.Y.Label.TextStyle.Font,
		&p.X.Tick.Label.Font, &p.Y.Tick.Label.Font, &p.Legend.TextStyle.Font} {
		f.Variant = "Sans"
	}
	p.Add(plotter.NewGrid())
	ymin, ymax, n := math.Inf(1), math.Inf(-1), 0
	for _, pts := range series {
		for _, q := range pts {
			ymin, ymax = min(ymin, q.Y), max(ymax, q.Y)
		}
		if len(pts) > 0 {
			n++
		}
	}
	if n == 0 {
		// Keep the axes sensible until the first row arrives.
		p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
		p.Title.Text = title + " (no data yet)"
		return p, nil
	}
	// Headroom above the data for the legend, so it does not hide lines.
	span := max(ymax-ymin, 1e-6)
	p.Y.Min = ymin - 0.03*span
	p.Y.Max = ymax + span*0.075*float64(n+1)
	// half a line's width in loss units (the data area is most of the
	// plot's height)
	halfLine := float64(lineWidth/2) / (0.85 * float64(plotHeight)) * (p.Y.Max - p.Y.Min)
	for i, name := range names {
		pts := series[i]
		if len(pts) == 0 {
			continue
		}
		l := &plotter.Line{XYs: pts, LineStyle: plotter.DefaultLineStyle}
		l.Color, l.Width = lossColors[i%len(lossColors)], lineWidth
		var drawn plot.Plotter = l
		switch {
		case len(pts) > 2*plotBuckets+2 && math.IsInf(halfLine, 0):
			// Losses near float64's limits (a damaged metrics.csv) span
			// an axis longer than it holds, where the rasteriser never
			// finishes filling a band: their thinned line it draws.
			l.XYs = envelope(pts, plotBuckets)
		case len(pts) > 2*plotBuckets+2:
			// A line of more points than the plot has pixel columns is a
			// band between their lows and highs, which the rasteriser
			// strokes up and down column by column, seconds a plot on the
			// training goroutine: filled as that band, it takes
			// milliseconds and looks the same.
			band, err := plotter.NewPolygon(bandOf(pts, plotBuckets, halfLine))
			if err != nil {
				return nil, fmt.Errorf("loss plot %s: %w", name, err)
			}
			band.Color, band.LineStyle.Width = l.Color, 0
			drawn = band
		case len(pts) == 1:
			// a line through one point draws nothing (a run shorter than
			// log_every): mark the point
			sc, err := plotter.NewScatter(pts)
			if err != nil {
				return nil, fmt.Errorf("loss plot %s: %w", name, err)
			}
			sc.GlyphStyle.Color, sc.GlyphStyle.Radius, sc.GlyphStyle.Shape = l.Color, vg.Points(3), draw.CircleGlyph{}
			p.Add(l)
			drawn = sc
		}
		p.Add(drawn)
		p.Legend.Add(name, l)
	}
	return p, nil
}

// lineWidth is a loss's line; plotHeight the plot's (savePlot's) height.
const (
	lineWidth  = vg.Length(1.5)
	plotHeight = 4.5 * vg.Inch
)

// bandOf is the outline of what a line through pts drawn lineWidth wide
// covers, at n columns: in each of n equal spans of x, from the lowest to
// the highest point of the span and the spans beside it, widened by half
// a line (halfLine, in y's units) up and down. A spike of one point is a
// column of its height; a smooth curve a line of lineWidth; spans without
// a point (a gap in the steps) the line from the last point before them
// to the first after.
func bandOf(pts plotter.XYs, n int, halfLine float64) plotter.XYs {
	x0, x1 := pts[0].X, pts[len(pts)-1].X
	width := (x1 - x0) / float64(n)
	if !(width > 0) {
		width = 1
	}
	lo, hi := make([]float64, n), make([]float64, n)
	first, last := make([]float64, n), make([]float64, n) // each span's first and last point's y
	for b := range n {
		lo[b], hi[b] = math.Inf(1), math.Inf(-1)
	}
	for _, q := range pts {
		b := min(n-1, max(0, int((q.X-x0)/width)))
		if lo[b] > hi[b] {
			first[b] = q.Y
		}
		lo[b], hi[b], last[b] = min(lo[b], q.Y), max(hi[b], q.Y), q.Y
	}
	empty := func(b int) bool { return b >= 0 && b < n && lo[b] > hi[b] }
	var top, bottom plotter.XYs
	// at x, the line through y, in the outline of top and bottom
	through := func(x, y float64) {
		top = append(top, plotter.XY{X: x, Y: y + halfLine})
		bottom = append(bottom, plotter.XY{X: x, Y: y - halfLine})
	}
	for b := range n {
		l, h := math.Inf(1), math.Inf(-1)
		for _, c := range []int{b - 1, b, b + 1} {
			if c >= 0 && c < n && !empty(c) {
				l, h = min(l, lo[c]), max(h, hi[c])
			}
		}
		if empty(b) {
			continue // no point in this span: the edges go straight across it
		}
		xa, xb := x0+float64(b)*width, x0+float64(b+1)*width
		if empty(b - 1) {
			through(xa, first[b])
		}
		top = append(top, plotter.XY{X: xa, Y: h + halfLine}, plotter.XY{X: xb, Y: h + halfLine})
		bottom = append(bottom, plotter.XY{X: xa, Y: l - halfLine}, plotter.XY{X: xb, Y: l - halfLine})
		if empty(b + 1) {
			through(xb, last[b])
		}
	}
	slices.Reverse(bottom)
	return append(top, bottom...)
}

// plotBuckets is about the plot's width in pixels: a loss of more points
// than twice that is drawn as its band at that many columns (bandOf).
const plotBuckets = 1000

// envelope thins a series of many points (a long run logged every step) to
// what a line at n columns shows: in each of n equal spans of x the lowest
// and the highest point, in step order, and the first and last points.
// Spikes stay, and the band of the thinned points at fewer columns is about
// that of them all: a LossPlotter keeps a long run's points so.
func envelope(pts plotter.XYs, n int) plotter.XYs {
	if len(pts) <= 2*n+2 {
		return pts
	}
	x0, x1 := pts[0].X, pts[len(pts)-1].X
	width := (x1 - x0) / float64(n)
	if !(width > 0) {
		return pts
	}
	out := plotter.XYs{pts[0]}
	for i := 0; i < len(pts); {
		b := min(n-1, int((pts[i].X-x0)/width))
		lo, hi := i, i
		j := i
		for ; j < len(pts) && min(n-1, int((pts[j].X-x0)/width)) == b; j++ {
			if pts[j].Y < pts[lo].Y {
				lo = j
			}
			if pts[j].Y > pts[hi].Y {
				hi = j
			}
		}
		for _, k := range []int{min(lo, hi), max(lo, hi)} {
			if k != 0 && k != len(pts)-1 && (len(out) == 0 || out[len(out)-1] != pts[k]) {
				out = append(out, pts[k])
			}
		}
		i = j
	}
	return append(out, pts[len(pts)-1])
}

// niceTicks labels about six round values (1, 2 or 5 times a power of ten)
// between min and max, with unlabelled minor ticks halfway.
func niceTicks(lo, hi float64) []plot.Tick {
	if !(hi > lo) {
		return []plot.Tick{{Value: lo, Label: strconv.FormatFloat(lo, 'g', 4, 64)}}
	}
	if math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return nil // an axis whose data overflow float64: no values to mark
	}
	raw := (hi - lo) / 6
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 5, 10} {
		if math.Abs((hi-lo)/(m*mag)-6) < math.Abs((hi-lo)/step-6) {
			step = m * mag
		}
	}
	decimals := max(0, int(-math.Floor(math.Log10(step)+1e-9)))
	var ticks []plot.Tick
	half := step / 2
	// Tick i is at i*half. Near 1e17, steps or losses that differ by a few
	// units put i past float64's integers, where i++ no longer moves it and
	// the loop below would never end: then the two ends are labelled.
	if first, last := math.Ceil(lo/half), math.Floor(hi/half); math.Abs(first) > 1<<52 || math.Abs(last) > 1<<52 || last-first > 64 {
		return []plot.Tick{{Value: lo, Label: strconv.FormatFloat(lo, 'g', -1, 64)}, {Value: hi, Label: strconv.FormatFloat(hi, 'g', -1, 64)}}
	}
	// Index-based values avoid accumulating rounding error (and "-0").
	for i := math.Ceil(lo / half); i*half <= hi+half*1e-9; i++ {
		v := i * half
		if math.Abs(v) < half*1e-9 {
			v = 0
		}
		t := plot.Tick{Value: v}
		if int64(i)%2 == 0 {
			t.Label = strconv.FormatFloat(v, 'f', decimals, 64)
		}
		ticks = append(ticks, t)
	}
	return ticks
}

// WriteLossPlot renders RUN/metrics.csv into a PNG at out, atomically, as
// the trainer's LossPlotter does (a fresh one reads the whole file).
func WriteLossPlot(metricsPath, out, title string) error {
	return NewLossPlotter(metricsPath, out, title).Write()
}

func savePlot(p *plot.Plot, out string) error {
	wt, err := p.WriterTo(10*vg.Inch, plotHeight, "png")
	if err != nil {
		return fmt.Errorf("loss plot: %w", err)
	}
	return runfolder.AtomicWriteFile(out, func(w io.Writer) error {
		_, err := wt.WriteTo(w)
		return err
	})
}

// keptPoints is how many points of a loss a LossPlotter keeps before it
// thins them to their envelope at twice the plot's width (whose envelope
// at the plot's width then shows the same extremes).
const keptPoints = 8 * plotBuckets

// LossPlotter draws a run's loss plot again and again as the run appends
// to its metrics.csv (the trainer, at every sample grid and epoch end):
// each Write reads only the rows added since the last one and keeps of each
// loss at most keptPoints points, thinned as the plot draws them, so that
// neither its time nor its memory grows with the run (reading the whole
// file took a second at a million rows).
type LossPlotter struct {
	tail       *runfolder.MetricsTail
	out, title string
	names      []string
	series     []plotter.XYs
	read       int64 // bytes of metrics.csv read, all Writes together
}

// NewLossPlotter draws metricsPath's losses into out (a PNG, written
// atomically) under title.
func NewLossPlotter(metricsPath, out, title string) *LossPlotter {
	return &LossPlotter{tail: runfolder.NewMetricsTail(metricsPath), out: out, title: title}
}

// Write reads the rows appended since the last Write, a chunk at a time
// (thinned as they come), and draws the plot.
func (lp *LossPlotter) Write() error {
	p, err := lp.plot()
	if err != nil {
		return err
	}
	return savePlot(p, lp.out)
}

// plot is Write's plot, laid out, before it is drawn into lp.out.
func (lp *LossPlotter) plot() (*plot.Plot, error) {
	for {
		m, restart, n, err := lp.tail.Read()
		lp.read += n
		if err != nil {
			return nil, err
		}
		stepCol := m.Column("step")
		if names := m.LossNames(); restart || !slices.Equal(names, lp.names) {
			lp.names, lp.series = slices.Clone(names), make([]plotter.XYs, len(names))
		}
		for i, name := range lp.names {
			lp.series[i] = appendPoints(lp.series[i], m.Rows, stepCol, m.Column(name))
			if len(lp.series[i]) > keptPoints {
				lp.series[i] = slices.Clip(envelope(lp.series[i], 2*plotBuckets))
			}
		}
		if !lp.tail.More() {
			break
		}
	}
	return lossPlot(lp.names, lp.series, lp.title)
}
