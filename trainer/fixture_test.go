package trainer

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gogan/runfolder"
)

// TestOldRunFolderResumes: a run folder written by gogan at fb65796 (before
// the parity fixes and the recipe redesign: testdata/run-fb65796, stopped at
// step 6 of a tiny DCGAN run) still resumes, and its steps 7-9 are the ones
// that gogan's uninterrupted run of 9 steps logged
// (testdata/run-fb65796-uninterrupted-metrics.csv, 6 significant digits).
// Its fixed noise has 64 rows where today's batch_size rows are drawn: the
// resumed run draws its grids anew and trains on unchanged.
func TestOldRunFolderResumes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	if err := os.CopyFS(dir, os.DirFS("testdata/run-fb65796")); err != nil {
		t.Fatal(err)
	}
	// the temp file of a status write the old run's kill cut short
	leftover := filepath.Join(dir, ".status.json.tmp-4242")
	if err := os.WriteFile(leftover, []byte(`{"state":`), 0o644); err != nil {
		t.Fatal(err)
	}
	cut := processStart.Add(-time.Minute)
	os.Chtimes(leftover, cut, cut)
	res, err := Resume(context.Background(), dir, []string{"train.max_steps=9"}, RunOptions{Quiet: true, Writer: os.Stderr})
	if err != nil {
		t.Fatalf("resume a run folder of fb65796: %v", err)
	}
	if _, err := os.Stat(leftover); !os.IsNotExist(err) {
		t.Errorf("the resumed run left %s (%v)", leftover, err)
	}
	if res.Step != 9 {
		t.Fatalf("resumed run ended at step %d, want 9", res.Step)
	}
	got, err := runfolder.ReadMetrics(filepath.Join(dir, "metrics.csv"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := runfolder.ReadMetrics("testdata/run-fb65796-uninterrupted-metrics.csv")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Rows) != 9 || len(want.Rows) != 9 {
		t.Fatalf("metrics rows: resumed %d, uninterrupted %d; want 9", len(got.Rows), len(want.Rows))
	}
	worst, where := lossDiff(metricsLosses(got), metricsLosses(want))
	if worst > 5e-6 { // the CSV's 6 significant digits
		t.Errorf("resumed old run differs from the uninterrupted one by %.3g (%s)", worst, where)
	}
}
