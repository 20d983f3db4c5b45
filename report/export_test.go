package report

import "gonum.org/v1/plot/plotter"

// LossColors is lossColors, for the external tests.
var LossColors = lossColors

// RawTint is rawTint: the colour a loss's raw values are drawn in.
var RawTint = rawTint

// NiceTicks is niceTicks, for the external tests.
var NiceTicks = niceTicks

// Envelope is envelope, for the external tests.
var Envelope = envelope

// BytesRead is how much of metrics.csv lp has read, all its Writes together.
func (lp *LossPlotter) BytesRead() int64 { return lp.read }

// Kept is how many points of each loss lp keeps.
func (lp *LossPlotter) Kept() []int {
	var n []int
	for _, s := range lp.series {
		n = append(n, len(s))
	}
	return n
}

// KeptPoints is keptPoints.
const KeptPoints = keptPoints

// Points are the points lp keeps of loss i.
func (lp *LossPlotter) Points(i int) []float64 {
	var ys []float64
	for _, p := range lp.series[i] {
		ys = append(ys, p.Y)
	}
	return ys
}

// Plot is plot: what Write would draw, laid out (its WriterTo draws it).
func (lp *LossPlotter) Plot() (*lossFigure, error) { return lp.plot() }

// Panels are f's panels, each the indexes of its losses.
func Panels(f *lossFigure) [][]int { return f.panels }

// Smoothed is loss i's smoothed line in f.
func Smoothed(f *lossFigure, i int) plotter.XYs { return f.smooth[i] }

// Means is how many means lp keeps of loss i for its smoothed line.
func (lp *LossPlotter) Means(i int) int { return len(lp.means[i].n) }
