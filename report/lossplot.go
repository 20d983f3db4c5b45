package report

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"gogan/runfolder"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// lossColors are distinguishable on white (Okabe-Ito, colour-blind safe;
// its yellow darkened, which on white was hard to see as a thin line).
var lossColors = []color.RGBA{
	{0, 114, 178, 255},   // blue
	{213, 94, 0, 255},    // vermillion
	{0, 158, 115, 255},   // green
	{204, 121, 167, 255}, // purple
	{230, 159, 0, 255},   // orange
	{86, 180, 233, 255},  // sky
	{0, 0, 0, 255},       // black
	{170, 140, 0, 255},   // dark yellow
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

// A loss plot is small multiples: one panel per loss, or per group of
// losses a recipe declares alike (SetGroups), each with its own y range
// and ticks, all against the same steps. One panel of every loss made the
// small ones a flat line at the bottom of the large ones' range (pix2pix's
// G_L1, weighted x100, over G_GAN and D's terms; CycleGAN's cycle and
// identity terms over its GAN terms).
//
// Each loss's raw values are drawn lightly (a tint of its colour) and
// their smoothed line over them in its colour, as TensorBoard draws a
// scalar: a GAN's losses are noisy enough that their trend is hard to see
// in the raw values alone.

// lossFigure is what a LossPlotter draws: its losses' kept points, their
// smoothed lines and the panels that show them.
type lossFigure struct {
	title  string
	names  []string
	series []plotter.XYs // raw, as kept (thinned to their envelope)
	smooth []plotter.XYs // smoothed, at most about plotBuckets points
	panels [][]int       // indexes of names, one slice a panel
	x0, x1 float64       // the steps every panel spans
}

// Figure and panel sizes: 10 inches wide (960 pixels, about a laptop's
// page less its margins) and at least 4.5 high (432 pixels, the single
// panel's size of old); two columns of panels once there are more than
// two, so CycleGAN's eight make four rows.
const (
	figureWidth  = 10 * vg.Inch
	figureHeight = 4.5 * vg.Inch
	titleHeight  = 0.4 * vg.Inch
	rowHeight    = 2.05 * vg.Inch
)

// grid is the figure's columns and rows of panels.
func (f *lossFigure) grid() (cols, rows int) {
	n := max(1, len(f.panels))
	cols = 1
	if n > 2 {
		cols = 2
	}
	return cols, (n + cols - 1) / cols
}

// size is the figure's size, for its rows of panels.
func (f *lossFigure) size() (w, h vg.Length) {
	_, rows := f.grid()
	return figureWidth, max(figureHeight, titleHeight+vg.Length(rows)*rowHeight)
}

// WriterTo draws the figure on a canvas w by h of the format ("png"), as
// plot.Plot's WriterTo does.
func (f *lossFigure) WriterTo(w, h vg.Length, format string) (io.WriterTo, error) {
	c, err := draw.NewFormattedCanvas(w, h, format)
	if err != nil {
		return nil, err
	}
	if err := f.draw(draw.New(c)); err != nil {
		return nil, err
	}
	return c, nil
}

func sans(fs ...*font.Font) {
	for _, f := range fs {
		f.Variant = "Sans"
	}
}

// draw draws the title and the panels, aligned so that their data areas
// are the same size and their x axes line up.
func (f *lossFigure) draw(dc draw.Canvas) error {
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	title := f.title
	panels := f.panels
	if len(panels) == 0 {
		title += " (no data yet)"
		panels = [][]int{nil}
	}
	sty := plot.New().Title.TextStyle
	sans(&sty.Font)
	sty.Font.Size = vg.Points(14)
	sty.XAlign, sty.YAlign = draw.XCenter, draw.YTop
	dc.FillText(sty, vg.Point{X: dc.Center().X, Y: dc.Max.Y - vg.Points(4)}, title)
	dc.Max.Y -= max(0, min(titleHeight, dc.Max.Y-dc.Min.Y))
	cols, rows := f.grid()
	grid := make([][]*plot.Plot, rows)
	spans := make([]float64, len(panels)) // each panel's y range (Align clamps one that overflows)
	for r := range grid {
		grid[r] = make([]*plot.Plot, cols)
	}
	for k, idx := range panels {
		// the last row's panels, and those of the row above with none
		// below them, say what the shared x axis is
		p := f.axes(idx, k+cols >= len(panels))
		grid[k/cols][k%cols], spans[k] = p, p.Y.Max-p.Y.Min
	}
	tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Points(18), PadY: vg.Points(8), PadLeft: vg.Points(4), PadRight: vg.Points(10), PadBottom: vg.Points(4)}
	canvases := plot.Align(grid, tiles, dc)
	for k, idx := range panels {
		p, c := grid[k/cols][k%cols], canvases[k/cols][k%cols]
		data := p.DataCanvas(c)
		// A canvas too small for its panels' axes (not one of size's)
		// leaves them none, or NaN-sized, which the rasteriser fills
		// for ever.
		if !(data.Max.X-data.Min.X >= 1 && data.Max.Y-data.Min.Y >= 1) {
			return fmt.Errorf("loss plot: %gx%g points are too small for %d panels", dc.Max.X-dc.Min.X, dc.Max.Y-dc.Min.Y, len(panels))
		}
		if err := f.plotters(p, idx, spans[k], data.Max.Y-data.Min.Y); err != nil {
			return err
		}
		p.Draw(c)
	}
	return nil
}

// axes is the panel of losses idx without their lines: its title, y range
// and ticks (plot.Align lays the panels out by their axes), over the
// figure's steps.
func (f *lossFigure) axes(idx []int, xLabel bool) *plot.Plot {
	p := plot.New()
	var names []string
	for _, i := range idx {
		names = append(names, f.names[i])
	}
	p.Title.Text = strings.Join(names, ", ")
	p.Title.TextStyle.Font.Size = vg.Points(12)
	p.Title.Padding = vg.Points(3)
	if xLabel {
		p.X.Label.Text = "step"
	}
	p.Legend.Top = true
	p.Legend.Left = false
	p.Legend.YOffs = -vg.Points(2)
	p.Legend.XOffs = -vg.Points(6)
	p.X.Tick.Marker = plot.TickerFunc(niceTicks)
	p.Y.Tick.Marker = plot.TickerFunc(func(lo, hi float64) []plot.Tick { return niceTicksN(lo, hi, 4) })
	sans(&p.Title.TextStyle.Font, &p.X.Label.TextStyle.Font, &p.Y.Label.TextStyle.Font,
		&p.X.Tick.Label.Font, &p.Y.Tick.Label.Font, &p.Legend.TextStyle.Font)
	p.Add(plotter.NewGrid())
	ymin, ymax, n := math.Inf(1), math.Inf(-1), 0
	for _, i := range idx {
		for _, q := range f.series[i] {
			ymin, ymax = min(ymin, q.Y), max(ymax, q.Y)
		}
		if len(f.series[i]) > 0 {
			n++
		}
	}
	if n == 0 {
		// Keep the axes sensible until the loss's first row arrives.
		p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
		if f.x1 > f.x0 {
			p.X.Min, p.X.Max = f.x0, f.x1
		}
		if len(idx) > 0 {
			p.Title.Text += " (no data yet)"
		}
		return p
	}
	p.X.Min, p.X.Max = f.x0, f.x1
	// A loss that does not move still gets a y range of a few of its
	// last digits, not of float64's.
	span := max(ymax-ymin, 1e-3*max(math.Abs(ymin), math.Abs(ymax)), 1e-6)
	p.Y.Min = ymin - 0.05*span
	p.Y.Max = ymax + 0.05*span
	if n > 1 {
		// headroom above the data for the legend, so it does not hide lines
		p.Y.Max += span * 0.25 * float64(n)
	}
	return p
}

// rawTint is the colour a loss's raw values are drawn in: its colour
// lightened two thirds of the way to white, so that its smoothed line,
// drawn over them, stands out.
func rawTint(c color.RGBA) color.RGBA {
	mix := func(v uint8) uint8 { return uint8((int(v) + 2*255) / 3) }
	return color.RGBA{mix(c.R), mix(c.G), mix(c.B), 255}
}

// plotters adds the lines of losses idx to their panel p, whose data area
// is height high and span of loss units (as axes set it).
func (f *lossFigure) plotters(p *plot.Plot, idx []int, span float64, height vg.Length) error {
	// half a line's width in loss units
	halfLine := float64(lineWidth/2) / float64(max(height, vg.Points(1))) * span
	multi := 0
	for _, i := range idx {
		if len(f.series[i]) > 0 {
			multi++
		}
	}
	for _, i := range idx {
		name, pts := f.names[i], f.series[i]
		if len(pts) == 0 {
			continue
		}
		c := lossColors[i%len(lossColors)]
		raw := &plotter.Line{XYs: pts, LineStyle: plotter.DefaultLineStyle}
		raw.Color, raw.Width = rawTint(c), rawWidth
		var drawn plot.Plotter = raw
		switch {
		case len(pts) == 1:
			// a line through one point draws nothing (a run shorter than
			// log_every): mark the point
			sc, err := plotter.NewScatter(pts)
			if err != nil {
				return fmt.Errorf("loss plot %s: %w", name, err)
			}
			sc.GlyphStyle.Color, sc.GlyphStyle.Radius, sc.GlyphStyle.Shape = c, vg.Points(4), draw.CircleGlyph{}
			p.Add(sc)
			if multi > 1 {
				p.Legend.Add(name, sc)
			}
			continue
		case len(pts) > 2*plotBuckets+2 && !(span < 1e300):
			// Losses near float64's limits (a damaged metrics.csv) span
			// an axis longer than it holds, or nearly, where the
			// rasteriser never finishes filling a band: their thinned
			// line it draws.
			raw.XYs = envelope(pts, plotBuckets)
		case len(pts) > 2*plotBuckets+2:
			// A line of more points than the plot has pixel columns is a
			// band between their lows and highs, which the rasteriser
			// strokes up and down column by column, seconds a plot on the
			// training goroutine: filled as that band, it takes
			// milliseconds and looks the same.
			band, err := plotter.NewPolygon(bandOf(pts, plotBuckets, halfLine*float64(rawWidth/lineWidth)))
			if err != nil {
				return fmt.Errorf("loss plot %s: %w", name, err)
			}
			band.Color, band.LineStyle.Width = raw.Color, 0
			drawn = band
		}
		p.Add(drawn)
		smooth := &plotter.Line{XYs: f.smooth[i], LineStyle: plotter.DefaultLineStyle}
		smooth.Color, smooth.Width = c, lineWidth
		if len(smooth.XYs) > 1 {
			p.Add(smooth)
		}
		if multi > 1 {
			p.Legend.Add(name, smooth)
		}
	}
	return nil
}

// lineWidth is a loss's smoothed line, rawWidth its raw values' line.
const (
	lineWidth = vg.Length(1.5)
	rawWidth  = vg.Length(1)
)

// smoothFraction is the smoothing's time constant, a fraction of the
// steps the plot spans: a thirtieth, some 15 pixel columns of a panel.
const smoothFraction = 30

// meanBins hold a loss's points as consecutive runs of per points (the
// last run may be shorter), each run's mean step and value: its smoothed
// line, in memory bounded however long the run. Two runs are merged into
// one, per doubled, once there are more than keptPoints.
type meanBins struct {
	per   int
	x, y  []float64
	n     []int
	total int // points added
}

func (b *meanBins) add(x, y float64) {
	b.total++
	if k := len(b.n); k > 0 && b.n[k-1] < b.per {
		b.n[k-1]++
		w := 1 / float64(b.n[k-1])
		// as mixtures, which stay finite near float64's limits
		b.x[k-1], b.y[k-1] = (1-w)*b.x[k-1]+w*x, (1-w)*b.y[k-1]+w*y
		return
	}
	b.per = max(b.per, 1)
	b.x, b.y, b.n = append(b.x, x), append(b.y, y), append(b.n, 1)
	if len(b.n) > keptPoints {
		j := 0
		for i := 0; i < len(b.n); i += 2 {
			x, y, n := b.x[i], b.y[i], b.n[i]
			if i+1 < len(b.n) {
				m := n + b.n[i+1]
				w := float64(b.n[i+1]) / float64(m)
				x, y, n = (1-w)*x+w*b.x[i+1], (1-w)*y+w*b.y[i+1], m
			}
			b.x[j], b.y[j], b.n[j] = x, y, n
			j++
		}
		b.x, b.y, b.n = b.x[:j], b.y[:j], b.n[:j]
		b.per *= 2
	}
}

// smoothed is the loss's exponentially weighted mean at each run, over
// the steps before it (TensorBoard's smoothing, debiased as it is, whose
// weight here decays with steps rather than rows: a time constant of a
// smoothFraction of the steps the loss spans, and at least three of its
// rows: TensorBoard's weight 0.72), thinned to about n points.
func (b *meanBins) smoothed(n int) plotter.XYs {
	k := len(b.n)
	if k == 0 {
		return nil
	}
	span := b.x[k-1] - b.x[0]
	tau := max(span/smoothFraction, 3*span/float64(max(1, b.total-1)))
	every := max(1, k/max(1, n))
	out := make(plotter.XYs, 0, k/every+1)
	var s, weight float64
	for i := range k {
		decay := 0.0
		if i > 0 && tau > 0 {
			decay = math.Exp(-(b.x[i] - b.x[i-1]) / tau)
		}
		if !(decay >= 0 && decay <= 1) {
			decay = 0 // steps out of order (a damaged metrics.csv): start again
		}
		weight = decay*weight + float64(b.n[i])
		w := float64(b.n[i]) / weight
		s = (1-w)*s + w*b.y[i]
		if (k-1-i)%every == 0 && !math.IsInf(s, 0) && !math.IsNaN(s) {
			out = append(out, plotter.XY{X: b.x[i], Y: s})
		}
	}
	return out
}

// panelsOf groups names (metrics.csv's loss columns) into panels: each
// group of groups whose names are there is one panel, every other loss a
// panel of its own, in the order of their first column.
func panelsOf(names []string, groups [][]string) [][]int {
	placed := make([]bool, len(names))
	var panels [][]int
	for i, name := range names {
		if placed[i] {
			continue
		}
		panel := []int{i}
		placed[i] = true
		for _, g := range groups {
			if !slices.Contains(g, name) {
				continue
			}
			for _, other := range g {
				if j := slices.Index(names, other); j >= 0 && !placed[j] {
					panel, placed[j] = append(panel, j), true
				}
			}
			break
		}
		slices.Sort(panel)
		panels = append(panels, panel)
	}
	return panels
}

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
func niceTicks(lo, hi float64) []plot.Tick { return niceTicksN(lo, hi, 6) }

// niceTicksN is niceTicks of about n labels (a panel's y axis: 4).
func niceTicksN(lo, hi float64, n float64) []plot.Tick {
	if !(hi > lo) {
		return []plot.Tick{{Value: lo, Label: strconv.FormatFloat(lo, 'g', 4, 64)}}
	}
	if math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return nil // an axis whose data overflow float64: no values to mark
	}
	raw := (hi - lo) / n
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 5, 10} {
		if math.Abs((hi-lo)/(m*mag)-n) < math.Abs((hi-lo)/step-n) {
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
// the trainer's LossPlotter does (a fresh one reads the whole file), one
// panel per loss.
func WriteLossPlot(metricsPath, out, title string) error {
	return NewLossPlotter(metricsPath, out, title).Write()
}

func savePlot(f *lossFigure, out string) error {
	w, h := f.size()
	wt, err := f.WriterTo(w, h, "png")
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
// at the plot's width then shows the same extremes); its smoothed line
// keeps as many means of runs of points.
const keptPoints = 8 * plotBuckets

// LossPlotter draws a run's loss plot again and again as the run appends
// to its metrics.csv (the trainer, at every sample grid and epoch end):
// each Write reads only the rows added since the last one and keeps of each
// loss at most keptPoints points, thinned as the plot draws them, and as
// many means for its smoothed line, so that neither its time nor its
// memory grows with the run (reading the whole file took a second at a
// million rows).
type LossPlotter struct {
	tail       *runfolder.MetricsTail
	out, title string
	groups     [][]string
	names      []string
	series     []plotter.XYs
	means      []meanBins
	read       int64 // bytes of metrics.csv read, all Writes together
}

// NewLossPlotter draws metricsPath's losses into out (a PNG, written
// atomically) under title.
func NewLossPlotter(metricsPath, out, title string) *LossPlotter {
	return &LossPlotter{tail: runfolder.NewMetricsTail(metricsPath), out: out, title: title}
}

// SetGroups draws each group of losses (names of metrics.csv's columns,
// of about the same scale: a recipe's D_real and D_fake) in one panel;
// any other loss has a panel of its own.
func (lp *LossPlotter) SetGroups(groups [][]string) { lp.groups = groups }

// Write reads the rows appended since the last Write, a chunk at a time
// (thinned as they come), and draws the plot.
func (lp *LossPlotter) Write() error {
	f, err := lp.plot()
	if err != nil {
		return err
	}
	return savePlot(f, lp.out)
}

// plot is Write's figure, before it is drawn into lp.out.
func (lp *LossPlotter) plot() (*lossFigure, error) {
	for {
		m, restart, n, err := lp.tail.Read()
		lp.read += n
		if err != nil {
			return nil, err
		}
		stepCol := m.Column("step")
		if names := m.LossNames(); restart || !slices.Equal(names, lp.names) {
			lp.names, lp.series, lp.means = slices.Clone(names), make([]plotter.XYs, len(names)), make([]meanBins, len(names))
		}
		for i, name := range lp.names {
			before := len(lp.series[i])
			lp.series[i] = appendPoints(lp.series[i], m.Rows, stepCol, m.Column(name))
			for _, q := range lp.series[i][before:] {
				lp.means[i].add(q.X, q.Y)
			}
			if len(lp.series[i]) > keptPoints {
				lp.series[i] = slices.Clip(envelope(lp.series[i], 2*plotBuckets))
			}
		}
		if !lp.tail.More() {
			break
		}
	}
	f := &lossFigure{title: lp.title, names: lp.names, series: lp.series, panels: panelsOf(lp.names, lp.groups),
		smooth: make([]plotter.XYs, len(lp.names)), x0: math.Inf(1), x1: math.Inf(-1)}
	for i, pts := range lp.series {
		f.smooth[i] = lp.means[i].smoothed(plotBuckets)
		for _, q := range pts {
			f.x0, f.x1 = min(f.x0, q.X), max(f.x1, q.X)
		}
	}
	return f, nil
}
