package trainer

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gogan/runfolder"
)

// TestOldRunFolderResumes: a run folder written by gogan at fb65796 (before
// the parity fixes and the recipe redesign: testdata/run-fb65796, stopped at
// step 6 of a tiny DCGAN run) still resumes, and the rest of its epoch
// (steps 7 and 8) is what gogan's uninterrupted run of 9 steps logged
// (testdata/run-fb65796-uninterrupted-metrics.csv, 6 significant digits).
// Step 9 starts an epoch, where today's gogan takes the seeds torch's
// DataLoader takes from the CPU generator (epochStart) and that gogan
// did not: it only has to have trained. Its fixed noise has 64 rows where
// today's batch_size rows are drawn: the resumed run draws its grids anew
// and trains on unchanged.
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
	cut := runfolder.ProcessStart.Add(-time.Minute)
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
	worst, where := lossDiff(metricsLosses(got)[:8], metricsLosses(want)[:8])
	if worst > 5e-6 { // the CSV's 6 significant digits
		t.Errorf("resumed old run differs from the uninterrupted one by %.3g (%s)", worst, where)
	}
	if e := got.Column("epoch"); got.Rows[7][e] != 1 || got.Rows[8][e] != 2 {
		t.Errorf("steps 8 and 9 in epochs %v and %v, want 1 and 2", got.Rows[7][e], got.Rows[8][e])
	}
	for k, v := range metricsLosses(got)[8] {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Errorf("step 9 %s = %v", k, v)
		}
	}
}
