package runfolder

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzMetrics feeds metrics.csv files to what reads them: ReadMetrics (the
// report, the loss plot), gogan runs' summary, and a resume's OpenMetrics,
// which keeps the rows up to its step. Any bytes give rows of the header's
// width or an error naming the file, never a panic.
func FuzzMetrics(f *testing.F) {
	f.Add([]byte("step,epoch,D,G,lr,images_per_s\n1,0,0.5,1.5,0.0002,800\n2,0,0.25,,0.0002,801.5\n"))
	f.Add([]byte("step,epoch,D,G,lr,images_per_s\r\n10,1,NaN,Inf,2e-4,1\r\n20,1,0x1p-2,-0,1e-400,3\n30,1,0.5"))
	f.Add([]byte("iteration,loss\n1,0.5\n"))
	f.Add([]byte("step\n1\n\n\n2\n"))
	f.Add([]byte("\n\n"))
	f.Add([]byte("step,epoch,D\n1,0,\"0.5\"\n9223372036854775807,0,1\n-9223372036854775808,0,1\n"))
	run := f.TempDir()
	os.WriteFile(filepath.Join(run, "config.yaml"), []byte("recipe: dcgan\n"), 0o644)
	p := RunDir{Path: run}.MetricsPath()
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		m, err := ReadMetrics(p)
		if err != nil {
			if !strings.Contains(err.Error(), p) {
				t.Fatalf("error %q does not name %s", err, p)
			}
		} else {
			if m.Column("step") != 0 {
				t.Fatalf("columns %q", m.Columns)
			}
			for _, r := range m.Rows {
				if len(r) != len(m.Columns) {
					t.Fatalf("row of %d for %d columns", len(r), len(m.Columns))
				}
			}
		}
		Summarize(run)
		w, err := OpenMetrics(p, []string{"D", "G"}, 5)
		if err != nil {
			if !strings.Contains(err.Error(), p) {
				t.Fatalf("OpenMetrics error %q does not name %s", err, p)
			}
		} else if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		kept, _ := filepath.Glob(p + ".damaged-*")
		for _, k := range kept {
			os.Remove(k)
		}
	})
}
