package report_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"gogan/report"

	"gonum.org/v1/plot/vg"
)

// FuzzLossPlot draws the loss plot of any file in a run folder's
// metrics.csv place, read as the trainer and the report read it (a
// LossPlotter's): it ends, and errors rather than panics.
func FuzzLossPlot(f *testing.F) {
	f.Add([]byte("step,epoch,D,G,lr,images_per_s\n1,0,0.5,1.5,0.0002,800\n2,0,0.25,,0.0002,801.5\n"))
	f.Add([]byte("step,epoch,D,G,lr,images_per_s\n100000000000000000,0,0.5,1e+20,0.0002,800\n100000000000000064,0,0.7,1.00001e+20,0.0002,800\n"))
	f.Add([]byte("step,epoch,D,lr,images_per_s\n1,0,-1.7e308,0,0\n2,0,1.7e308,0,0\n3,0,5e-324,0,0\n"))
	f.Add([]byte("step,epoch,D,lr,images_per_s\n-9223372036854775808,0,1,0,0\n9223372036854775807,0,2,0,0\n"))
	f.Add([]byte("step,D\n1,2\n"))
	p := filepath.Join(f.TempDir(), "metrics.csv")
	f.Fuzz(func(t *testing.T, b []byte) {
		if bytes.Count(b, []byte("\n")) > 5000 {
			return
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		plt, err := report.NewLossPlotter(p, "", "fuzz").Plot()
		if err != nil {
			return
		}
		wt, err := plt.WriterTo(4*vg.Inch, 2*vg.Inch, "png")
		if err != nil {
			return
		}
		wt.WriteTo(io.Discard)
	})
}
