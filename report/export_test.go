package report

import "gonum.org/v1/plot"

// LossColors is lossColors, for the external tests.
var LossColors = lossColors

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

// Plot is plot: what Write would draw, laid out.
func (lp *LossPlotter) Plot() (*plot.Plot, error) { return lp.plot() }
