package runfolder

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"gogan/cgo/torchtest"
	"gogan/config"
)

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func TestAtomicWriteFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f.txt")
	if err := AtomicWriteBytes(p, []byte("old content")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	var st0 syscall.Stat_t
	syscall.Stat(p, &st0)

	// A writer that fails halfway (after more than the buffer size, so part
	// of it reached the temp file) leaves the old file and no temp file.
	boom := errors.New("disk on fire")
	err := AtomicWriteFile(p, func(w io.Writer) error {
		if _, err := w.Write(bytes.Repeat([]byte("x"), 3<<20)); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), p) {
		t.Fatalf("err = %v", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "old content" {
		t.Fatalf("old file changed: %q", b)
	}
	if names := dirNames(t, dir); len(names) != 1 {
		t.Fatalf("temp file left behind: %v", names)
	}

	// Success replaces the file by rename (new inode), keeping its mode.
	if err := AtomicWriteBytes(p, []byte("new")); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	fi, _ := os.Stat(p)
	var st1 syscall.Stat_t
	syscall.Stat(p, &st1)
	if string(b) != "new" || fi.Mode().Perm() != 0o600 || st1.Ino == st0.Ino {
		t.Fatalf("got %q mode %v ino %d->%d", b, fi.Mode(), st0.Ino, st1.Ino)
	}
	// New files are 0644.
	q := filepath.Join(dir, "g")
	if err := AtomicWriteBytes(q, nil); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(q); fi.Mode().Perm() != 0o644 {
		t.Fatalf("mode %v", fi.Mode())
	}
	// A missing directory is an error, not a panic.
	if err := AtomicWriteBytes(filepath.Join(dir, "no", "such", "f"), nil); err == nil {
		t.Fatal("want error")
	}
}

func weightsOf(b []byte) func(io.Writer) error {
	return func(w io.Writer) error { _, err := w.Write(b); return err }
}

func writeTestCheckpoint(t *testing.T, run string, step int, weights []byte) Checkpoint {
	t.Helper()
	st := CheckpointState{
		Epoch: step / 10, Step: step, Seed: 999,
		RNG:      map[string][]byte{"cpu": {1, 2, 3, 0, 255}},
		Schedule: json.RawMessage(`{"policy":"linear","last_epoch":3}`),
		Loader:   json.RawMessage(`{"epoch":1,"batch":17}`),
		Config:   "recipe: dcgan\n",
		Metrics:  CheckpointMetrics{Last: map[string]float64{"G": 1.5}, Best: map[string]float64{"fid": 30}},
	}
	c, err := WriteCheckpoint(run, st, weightsOf(weights))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCheckpointWriteValidateList(t *testing.T) {
	run := t.TempDir()
	w := make([]byte, 100_000)
	rand.Read(w)
	c := writeTestCheckpoint(t, run, 1234, w)
	if c.Dir != filepath.Join(run, "checkpoints", "step-00001234") {
		t.Fatalf("dir %s", c.Dir)
	}
	got, _ := os.ReadFile(c.WeightsPath())
	if !bytes.Equal(got, w) {
		t.Fatal("weights differ")
	}
	st, err := ValidateCheckpoint(c)
	if err != nil {
		t.Fatal(err)
	}
	if st.Step != 1234 || st.Epoch != 123 || st.WeightsSize != int64(len(w)) || len(st.WeightsSHA256) != 64 ||
		!bytes.Equal(st.RNG["cpu"], []byte{1, 2, 3, 0, 255}) || compactJSON(st.Loader) != `{"epoch":1,"batch":17}` ||
		st.Config != "recipe: dcgan\n" || st.Metrics.Best["fid"] != 30 || st.GoganVersion != Version || st.SavedAt.IsZero() {
		t.Fatalf("state %+v", st)
	}
	// Rewriting the same step replaces it whole.
	w2 := []byte("second version")
	writeTestCheckpoint(t, run, 1234, w2)
	if got, _ := os.ReadFile(c.WeightsPath()); !bytes.Equal(got, w2) {
		t.Fatal("not replaced")
	}
	if _, err := ValidateCheckpoint(c); err != nil {
		t.Fatal(err)
	}
	if names := dirNames(t, filepath.Join(run, "checkpoints")); len(names) != 1 {
		t.Fatalf("leftovers: %v", names)
	}

	for _, s := range []int{5, 100, 20, 99999999} {
		writeTestCheckpoint(t, run, s, []byte("w"))
	}
	// Leftovers of an interrupted write are not checkpoints: a temp, and an
	// old copy moved aside where the file system cannot exchange the two
	// (a whole checkpoint's size, so pruning removes it).
	os.MkdirAll(filepath.Join(run, "checkpoints", ".tmp-step-00000300-123"), 0o755)
	os.MkdirAll(filepath.Join(run, "checkpoints", ".old-step-00000100-abc"), 0o755)
	os.MkdirAll(filepath.Join(run, "checkpoints", "notes"), 0o755)
	// Nor is a file of a checkpoint's name (a user's, a copy tool's): it is
	// neither listed nor pruned.
	os.WriteFile(filepath.Join(run, "checkpoints", "step-00000500"), []byte("mine"), 0o644)
	cks, err := ListCheckpoints(run)
	if err != nil {
		t.Fatal(err)
	}
	var steps []int
	for _, c := range cks {
		steps = append(steps, c.Step)
	}
	if want := []int{99999999, 1234, 100, 20, 5}; !equalInts(steps, want) {
		t.Fatalf("steps %v want %v", steps, want)
	}
	if err := PruneCheckpoints(run, 2, 99999999, nil); err != nil {
		t.Fatal(err)
	}
	cks, _ = ListCheckpoints(run)
	if len(cks) != 2 || cks[0].Step != 99999999 || cks[1].Step != 1234 {
		t.Fatalf("after prune: %v", cks)
	}
	if names := dirNames(t, filepath.Join(run, "checkpoints")); !slices.Equal(names, []string{"notes", "step-00000500", "step-00001234", "step-99999999"}) {
		t.Fatalf("after prune: %v", names)
	}
	if err := PruneCheckpoints(run, 0, 99999999, nil); err != nil { // keep all
		t.Fatal(err)
	}
	if cks, _ = ListCheckpoints(run); len(cks) != 2 {
		t.Fatal("keep=0 removed checkpoints")
	}
}

func compactJSON(b []byte) string {
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		return "invalid: " + err.Error()
	}
	return out.String()
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestWriteCheckpointFailureLeavesNothing(t *testing.T) {
	run := t.TempDir()
	good := writeTestCheckpoint(t, run, 10, []byte("good"))
	_, err := WriteCheckpoint(run, CheckpointState{Step: 10}, func(w io.Writer) error {
		w.Write(bytes.Repeat([]byte{1}, 2<<20))
		return errors.New("CUDA error: out of memory")
	})
	if err == nil || !strings.Contains(err.Error(), "out of memory") {
		t.Fatalf("err %v", err)
	}
	if _, err := ValidateCheckpoint(good); err != nil {
		t.Fatalf("old checkpoint damaged: %v", err)
	}
	if names := dirNames(t, filepath.Join(run, "checkpoints")); len(names) != 1 {
		t.Fatalf("leftovers: %v", names)
	}
}

// TestReplacedCheckpointIsNeverMissing: a checkpoint written again at its
// step (a signal right after a step's checkpoint, a resume stopped before
// its first step) replaces the old one in one step: a reader looking all
// the while (translate, serve on the run folder) always finds step-N,
// valid, and no leftover stays. Moved aside first, step-N was missing
// between two renames, where a crash left the run without it (pruned as a
// leftover afterwards) and a reader found an older one or none.
func TestReplacedCheckpointIsNeverMissing(t *testing.T) {
	run := t.TempDir()
	c := writeTestCheckpoint(t, run, 7, []byte("weights 0"))
	stop := make(chan struct{})
	missing := make(chan error, 1)
	go func() {
		defer close(missing)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := os.Lstat(c.Dir); err != nil {
				missing <- err
				return
			}
		}
	}()
	for i := 1; i <= 300; i++ {
		writeTestCheckpoint(t, run, 7, []byte(fmt.Sprintf("weights %d", i)))
	}
	close(stop)
	if err := <-missing; err != nil {
		t.Fatalf("a reader found %s missing while it was replaced: %v", c.Dir, err)
	}
	if _, err := ValidateCheckpoint(c); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(c.WeightsPath()); string(got) != "weights 300" {
		t.Errorf("weights %q, want the last written", got)
	}
	if names := dirNames(t, filepath.Join(run, "checkpoints")); len(names) != 1 {
		t.Errorf("leftovers: %v", names)
	}
}

// TestReplacedCheckpointWithoutExchange: where the filesystem cannot swap
// two folders in one step (NFS, some FUSE ones), a rewritten checkpoint
// moves the old one aside, renames the new one in and deletes the old one:
// the last one written stands, valid, with no leftover.
func TestReplacedCheckpointWithoutExchange(t *testing.T) {
	exchange = func(a, b string) error { return errors.ErrUnsupported }
	t.Cleanup(func() { exchange = renameExchange })
	run := t.TempDir()
	c := writeTestCheckpoint(t, run, 7, []byte("weights 0"))
	for i := 1; i <= 3; i++ {
		writeTestCheckpoint(t, run, 7, []byte(fmt.Sprintf("weights %d", i)))
	}
	if _, err := ValidateCheckpoint(c); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(c.WeightsPath()); string(got) != "weights 3" {
		t.Errorf("weights %q, want the last written", got)
	}
	if names := dirNames(t, filepath.Join(run, "checkpoints")); len(names) != 1 {
		t.Errorf("leftovers: %v", names)
	}
}

// TestSetAsideCheckpointIsPutBack: a crash between a rewrite's moving the
// old step-N aside and renaming the new one in (possible only without
// exchange) leaves no step-N. RestoreSetAside puts the newest set-aside
// copy back, and PruneCheckpoints does too, where it deleted it as a
// leftover; a set-aside copy whose step-N stands is a leftover.
func TestSetAsideCheckpointIsPutBack(t *testing.T) {
	for _, via := range []string{"RestoreSetAside", "PruneCheckpoints"} {
		t.Run(via, func(t *testing.T) {
			run := t.TempDir()
			writeTestCheckpoint(t, run, 3, []byte("step 3"))
			seven := writeTestCheckpoint(t, run, 7, []byte("older 7"))
			older := setAsideName(seven.Dir)
			if err := os.Rename(seven.Dir, older); err != nil {
				t.Fatal(err)
			}
			writeTestCheckpoint(t, run, 7, []byte("step 7"))
			if err := os.Rename(seven.Dir, setAsideName(seven.Dir)); err != nil { // the crash's: newer, named later
				t.Fatal(err)
			}
			writeTestCheckpoint(t, run, 3, []byte("new 3")) // the new one took step 3's name
			if err := os.Mkdir(setAsideName(filepath.Join(run, "checkpoints", "step-00000003")), 0o755); err != nil {
				t.Fatal(err)
			}
			var back []string
			var err error
			if via == "RestoreSetAside" {
				back, err = RestoreSetAside(run)
			} else {
				err = PruneCheckpoints(run, 0, 7, nil)
			}
			if err != nil {
				t.Fatal(err)
			}
			if via == "RestoreSetAside" && !slices.Equal(back, []string{seven.Dir}) {
				t.Errorf("put back %v, want %s", back, seven.Dir)
			}
			ck, _, err := LatestValid(run)
			if err != nil || ck.Step != 7 {
				t.Fatalf("latest valid %v, %v: want step 7 put back", ck, err)
			}
			if got, _ := os.ReadFile(ck.WeightsPath()); string(got) != "step 7" {
				t.Errorf("step 7 holds %q, want the newest set-aside copy", got)
			}
			if got, _ := os.ReadFile(filepath.Join(run, "checkpoints", "step-00000003", WeightsFile)); string(got) != "new 3" {
				t.Errorf("step 3 holds %q, want the one that took its name", got)
			}
			if err := PruneCheckpoints(run, 0, 7, nil); err != nil {
				t.Fatal(err)
			}
			if names := dirNames(t, filepath.Join(run, "checkpoints")); !slices.Equal(names, []string{"step-00000003", "step-00000007"}) {
				t.Errorf("after pruning: %v, want the two checkpoints alone", names)
			}
		})
	}
}

func TestLatestValidFallsBack(t *testing.T) {
	cases := []struct {
		name   string
		damage func(c Checkpoint)
		why    string
	}{
		// (the temp folder's path holds the case's name: each why is a
		// phrase of the error itself)
		{"truncated weights", func(c Checkpoint) { os.Truncate(c.WeightsPath(), 100) }, "size 100, want 4096 (truncated"},
		{"corrupt byte", func(c Checkpoint) {
			f, _ := os.OpenFile(c.WeightsPath(), os.O_RDWR, 0)
			b := make([]byte, 1)
			f.ReadAt(b, 500)
			b[0] ^= 0x01
			f.WriteAt(b, 500)
			f.Close()
		}, "SHA-256"},
		{"corrupt json", func(c Checkpoint) {
			b, _ := os.ReadFile(c.StatePath())
			os.WriteFile(c.StatePath(), b[:len(b)/2], 0o644)
		}, "state.json: unexpected end of JSON input"},
		{"missing weights", func(c Checkpoint) { os.Remove(c.WeightsPath()) }, "no such file"},
		{"missing state", func(c Checkpoint) { os.Remove(c.StatePath()) }, "no such file"},
		{"edited state", func(c Checkpoint) {
			b, _ := os.ReadFile(c.StatePath())
			os.WriteFile(c.StatePath(), bytes.Replace(b, []byte(`"epoch": 3`), []byte(`"epoch": 7`), 1), 0o644)
		}, "state.json: SHA-256"},
		{"state of another step", func(c Checkpoint) {
			b, _ := os.ReadFile(filepath.Join(filepath.Dir(c.Dir), "step-00000020", StateFile))
			os.WriteFile(c.StatePath(), b, 0o644)
		}, "does not match"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			logs := torchtest.CaptureLogs(t)
			run := t.TempDir()
			w := make([]byte, 4096)
			rand.Read(w)
			writeTestCheckpoint(t, run, 10, w)
			writeTestCheckpoint(t, run, 20, w)
			bad := writeTestCheckpoint(t, run, 30, w)
			if _, err := ValidateCheckpoint(bad); err != nil {
				t.Fatal(err)
			}
			tc.damage(bad)
			_, err := ValidateCheckpoint(bad)
			if err == nil || !strings.Contains(err.Error(), tc.why) {
				t.Fatalf("validate: %v, want %q", err, tc.why)
			}
			c, st, err := LatestValid(run)
			if err != nil {
				t.Fatal(err)
			}
			if c.Step != 20 || st.Step != 20 {
				t.Fatalf("fell back to %d", c.Step)
			}
			if !strings.Contains(logs.String(), "step-00000030") || !strings.Contains(logs.String(), tc.why) {
				t.Fatalf("warning does not name the bad checkpoint and why: %s", logs)
			}
		})
	}
}

// Every single-bit flip anywhere in state.json is caught (a flipped epoch or
// generator state that still parses would otherwise be trusted), and the
// error names the file.
func TestStateBitFlipsAreCaught(t *testing.T) {
	run := t.TempDir()
	c := writeTestCheckpoint(t, run, 30, []byte("weights"))
	good, err := os.ReadFile(c.StatePath())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ValidateCheckpoint(c); err != nil {
		t.Fatal(err)
	}
	for i := range good {
		for bit := range 8 {
			bad := bytes.Clone(good)
			bad[i] ^= 1 << bit
			if err := os.WriteFile(c.StatePath(), bad, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := ValidateCheckpoint(c)
			if err == nil {
				t.Fatalf("byte %d (%q) bit %d flipped: accepted", i, good[i], bit)
			}
			if !strings.Contains(err.Error(), c.StatePath()) {
				t.Fatalf("byte %d bit %d: error %q does not name %s", i, bit, err, c.StatePath())
			}
		}
	}
}

// legacyState rewrites a checkpoint's state.json as format 1 (before the
// state's own hash): such files are still read, their fields checked.
func legacyState(t testing.TB, c Checkpoint) []byte {
	t.Helper()
	b, err := os.ReadFile(c.StatePath())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "state_sha256")
	m["format"] = 1
	out, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.StatePath(), out, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestLegacyStateIsRead(t *testing.T) {
	run := t.TempDir()
	c := writeTestCheckpoint(t, run, 30, []byte("weights"))
	legacyState(t, c)
	st, err := ValidateCheckpoint(c)
	if err != nil {
		t.Fatal(err)
	}
	if st.Format != 1 || st.Step != 30 || st.Epoch != 3 || st.Config != "recipe: dcgan\n" {
		t.Fatalf("state %+v", st)
	}
}

// A resume that skipped invalid checkpoints numbered ahead of the one it
// resumed from sets them aside; pruning counts only the steps up to the
// run's own, so neither a damaged nor a stray folder ahead of it makes the
// run delete the checkpoints it resumed from or just wrote.
func TestPruneAfterResumeKeepsTheGoodOnes(t *testing.T) {
	torchtest.CaptureLogs(t)
	run := t.TempDir()
	writeTestCheckpoint(t, run, 2, []byte("w2"))
	writeTestCheckpoint(t, run, 4, []byte("w4"))
	// step 6 rewritten, the old copy moved aside and left there by a crash
	// (a filesystem without RENAME_EXCHANGE), and the new one damaged
	older := writeTestCheckpoint(t, run, 6, []byte("w6 older"))
	aside := setAsideName(older.Dir)
	if err := os.Rename(older.Dir, aside); err != nil {
		t.Fatal(err)
	}
	bad := writeTestCheckpoint(t, run, 6, []byte("w6"))
	os.Truncate(bad.WeightsPath(), 1)
	os.MkdirAll(filepath.Join(run, "checkpoints", "step-00000009"), 0o755) // stray and empty
	os.MkdirAll(filepath.Join(run, "checkpoints", "invalid-step-00000009"), 0o755)

	c, _, err := LatestValid(run)
	if err != nil || c.Step != 4 {
		t.Fatalf("latest valid %v %v", c, err)
	}
	moved, err := SetAsideNewer(run, c.Step)
	if err != nil {
		t.Fatal(err)
	}
	// the set-aside copy too, or pruning would put it back as step 6, ahead
	// of the resumed run
	want := []string{filepath.Join(run, "checkpoints", "invalid-step-00000009-2"), filepath.Join(run, "checkpoints", "invalid-step-00000006"),
		filepath.Join(run, "checkpoints", "invalid-"+strings.TrimPrefix(filepath.Base(aside), "."))}
	if !slices.Equal(moved, want) {
		t.Fatalf("moved %v, want %v", moved, want)
	}
	if b, err := os.ReadFile(filepath.Join(want[1], WeightsFile)); err != nil || string(b) != "w" {
		t.Fatalf("the set-aside checkpoint's files: %q %v", b, err)
	}
	writeTestCheckpoint(t, run, 5, []byte("w5"))
	os.MkdirAll(filepath.Join(run, "checkpoints", "step-00000007"), 0o755) // appears while the run trains
	if err := PruneCheckpoints(run, 1, 5, nil); err != nil {
		t.Fatal(err)
	}
	var steps []int
	cks, _ := ListCheckpoints(run)
	for _, c := range cks {
		steps = append(steps, c.Step)
	}
	if !slices.Equal(steps, []int{7, 5}) {
		t.Fatalf("after prune: steps %v, want [7 5]", steps)
	}
	if c, _, err := LatestValid(run); err != nil || c.Step != 5 {
		t.Fatalf("latest valid after prune: %v %v", c, err)
	}
}

func TestLatestValidNone(t *testing.T) {
	torchtest.CaptureLogs(t)
	run := t.TempDir()
	if _, _, err := LatestValid(run); !errors.Is(err, ErrNoCheckpoint) {
		t.Fatalf("empty run: %v", err)
	}
	c := writeTestCheckpoint(t, run, 1, []byte("w"))
	os.Remove(c.WeightsPath())
	if _, _, err := LatestValid(run); !errors.Is(err, ErrNoCheckpoint) || !strings.Contains(err.Error(), ": 1 checkpoint, none valid") {
		t.Fatalf("the one bad: %v", err)
	}
	c = writeTestCheckpoint(t, run, 2, []byte("w"))
	os.Remove(c.WeightsPath())
	if _, _, err := LatestValid(run); !errors.Is(err, ErrNoCheckpoint) || !strings.Contains(err.Error(), ": 2 checkpoints, none valid") {
		t.Fatalf("both bad: %v", err)
	}
}

func TestMetricsCSV(t *testing.T) {
	p := filepath.Join(t.TempDir(), "metrics.csv")
	losses := []string{"D", "G"}
	m, err := OpenMetrics(p, losses, 0)
	if err != nil {
		t.Fatal(err)
	}
	for s := 10; s <= 50; s += 10 {
		if err := m.Write(s, s/30, int64(s)*64, time.UnixMilli(1796658126370+int64(s)), map[string]float64{"D": float64(s) / 100, "G": 2}, 2e-4, 123.456); err != nil {
			t.Fatal(err)
		}
		// Flushed per row: another reader sees it before Close.
		rm, err := ReadMetrics(p)
		if err != nil || len(rm.Rows) != s/10 {
			t.Fatalf("after step %d: %v rows, %v", s, rm, err)
		}
	}
	if err := m.Write(60, 2, 0, time.Time{}, map[string]float64{"Dx": 1}, 0, 0); err == nil || !strings.Contains(err.Error(), `"Dx"`) {
		t.Fatalf("unknown loss: %v", err)
	}
	m.Write(60, 2, 0, time.Time{}, map[string]float64{"G": 1}, 1e-4, 0) // D missing -> empty cell
	m.Close()
	b, _ := os.ReadFile(p)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if lines[0] != "step,epoch,images,wall_time,D,G,lr,images_per_s" || lines[1] != "10,0,640,1796658126.380,0.1,2,0.0002,123.46" || lines[6] != "60,2,0,,,1,0.0001,0.00" {
		t.Fatalf("csv:\n%s", b)
	}
	rm, _ := ReadMetrics(p)
	if !math.IsNaN(rm.Rows[5][4]) || !math.IsNaN(rm.Rows[5][3]) || rm.Column("G") != 5 || strings.Join(rm.LossNames(), ",") != "D,G" {
		t.Fatalf("read back %+v", rm)
	}

	// Resume from step 30: rows 40..60 go, new rows follow without duplicates.
	m, err = OpenMetrics(p, losses, 30)
	if err != nil {
		t.Fatal(err)
	}
	m.Write(40, 1, 0, time.Time{}, map[string]float64{"D": 9, "G": 9}, 2e-4, 1)
	m.Close()
	rm, _ = ReadMetrics(p)
	var steps []int
	for _, r := range rm.Rows {
		steps = append(steps, int(r[0]))
	}
	if !equalInts(steps, []int{10, 20, 30, 40}) || rm.Rows[3][rm.Column("D")] != 9 {
		t.Fatalf("after resume: %v", rm.Rows)
	}

	// A row cut short by a crash is dropped on resume, not fatal.
	f, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("50,1,0.")
	f.Close()
	m, err = OpenMetrics(p, losses, 100)
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	if rm, _ = ReadMetrics(p); len(rm.Rows) != 4 {
		t.Fatalf("partial row: %v", rm.Rows)
	}
	if kept, _ := filepath.Glob(p + ".damaged*"); len(kept) > 0 {
		t.Fatalf("a row cut short by a crash was kept as damage: %v", kept)
	}

	// A damaged row inside the file (here cut to its first 4 bytes, one
	// with a letter in a loss, and a stray quote, which must not swallow
	// the rows after it) is left out with a warning; the file as it was is
	// kept beside it.
	logs := torchtest.CaptureLogs(t)
	b, _ = os.ReadFile(p)
	lines = strings.SplitAfter(string(b), "\n")
	lines[2] = lines[2][:4] + "\n"
	lines[3] = strings.Replace(lines[3], "0.3", "0.x", 1)
	lines[1] = strings.Replace(lines[1], ",0,", ",0,\"", 1)
	damaged := strings.Join(lines, "")
	os.WriteFile(p, []byte(damaged), 0o644)
	if m, err = OpenMetrics(p, losses, 100); err != nil {
		t.Fatal(err)
	}
	m.Close()
	rm, _ = ReadMetrics(p)
	steps = steps[:0]
	for _, r := range rm.Rows {
		steps = append(steps, int(r[0]))
	}
	if !equalInts(steps, []int{40}) {
		t.Fatalf("after damaged rows: steps %v, want [40]", steps)
	}
	kept, _ := filepath.Glob(p + ".damaged-*")
	if len(kept) != 1 {
		t.Fatalf("kept copies: %v", kept)
	}
	if b, _ := os.ReadFile(kept[0]); string(b) != damaged {
		t.Fatalf("%s: %q", kept[0], b)
	}
	if !strings.Contains(logs.String(), "lines=\"[2 3 4]\"") {
		t.Fatalf("the warning does not give the lines: %s", logs)
	}

	// A resume whose losses changed (pix2pixHD's VGG loss turned on, G's
	// off) keeps every column, the new ones after, empty where a row has
	// no value; it was refused, over a log, with "existing columns differ".
	m, err = OpenMetrics(p, []string{"D", "L1"}, 40)
	if err != nil {
		t.Fatalf("column change: %v", err)
	}
	if err := m.Write(50, 1, 0, time.Time{}, map[string]float64{"D": 0.5, "L1": 7}, 1e-4, 1); err != nil {
		t.Fatal(err)
	}
	m.Close()
	if b, _ := os.ReadFile(p); string(b) != "step,epoch,images,wall_time,D,G,L1,lr,images_per_s\n40,1,0,,9,9,,0.0002,1.00\n50,1,0,,0.5,,7,0.0001,1.00\n" {
		t.Fatalf("after the losses changed:\n%s", b)
	}
	// Columns that are not gogan's are refused, saying what to do and
	// which columns gogan writes.
	os.WriteFile(p, []byte("epoch,iters,G_GAN\n1,100,0.5\n"), 0o644)
	if _, err := OpenMetrics(p, losses, 40); err == nil || !strings.Contains(err.Error(), "not a metrics.csv that gogan wrote") || !strings.Contains(err.Error(), "move it out of the run folder") ||
		!strings.Contains(err.Error(), "(step, epoch, images, wall_time, the losses, lr, images_per_s") {
		t.Fatalf("foreign columns: %v", err)
	}
	// A fresh run (resume step 0) starts an empty file of its columns.
	m, _ = OpenMetrics(p, losses, 0)
	m.Close()
	if rm, _ = ReadMetrics(p); len(rm.Rows) != 0 {
		t.Fatalf("fresh run kept %d rows", len(rm.Rows))
	}
	if _, err := OpenMetrics(p, []string{"D", "D"}, 0); err == nil {
		t.Fatal("duplicate loss names accepted")
	}
	// A loss may not take a column's name that is not a loss's: its column
	// would be read back as that one, and the losses' without it.
	for _, n := range []string{"step", "epoch", "images", "wall_time", "lr", "images_per_s"} {
		if _, err := OpenMetrics(p, []string{"D", n}, 0); err == nil {
			t.Errorf("a loss named %s accepted", n)
		}
	}
}

// TestAtomicWriteFilesAllOrNone: when one file of a set fails, none is
// replaced and no temp file stays; when all are written, all are in place.
func TestAtomicWriteFilesAllOrNone(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for _, p := range []string{a, b} {
		if err := AtomicWriteBytes(p, []byte("old "+filepath.Base(p))); err != nil {
			t.Fatal(err)
		}
	}
	text := func(s string) func(io.Writer) error {
		return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
	}
	fail := func(io.Writer) error { return errors.New("disk full") }
	if err := AtomicWriteFiles([]string{a, b}, []func(io.Writer) error{text("new a"), fail}); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("a failing set: %v", err)
	}
	for p, want := range map[string]string{a: "old a", b: "old b"} {
		if got, _ := os.ReadFile(p); string(got) != want {
			t.Errorf("%s = %q after a failed set, want %q", p, got, want)
		}
	}
	if names := dirNames(t, dir); len(names) != 2 {
		t.Errorf("files after a failed set: %v", names)
	}
	if err := AtomicWriteFiles([]string{a, b}, []func(io.Writer) error{text("new a"), text("new b")}); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{a: "new a", b: "new b"} {
		if got, _ := os.ReadFile(p); string(got) != want {
			t.Errorf("%s = %q, want %q", p, got, want)
		}
	}
}

// TestAtomicWriteOverAFolder: a folder where a file goes (empty or not) is
// refused before anything is written, naming the path and what to do (it
// was rename's "file exists" naming the temp file); in a set, no file is
// replaced and no temp stays.
func TestAtomicWriteOverAFolder(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a")
	if err := AtomicWriteBytes(a, []byte("old a")); err != nil {
		t.Fatal(err)
	}
	empty, full := filepath.Join(dir, "empty.png"), filepath.Join(dir, "full.png")
	os.Mkdir(empty, 0o755)
	os.MkdirAll(filepath.Join(full, "sub"), 0o755)
	for _, p := range []string{empty, full} {
		err := AtomicWriteFiles([]string{a, p}, []func(io.Writer) error{
			func(w io.Writer) error { _, err := io.WriteString(w, "new a"); return err },
			func(w io.Writer) error { _, err := io.WriteString(w, "x"); return err },
		})
		if err == nil || !errors.Is(err, syscall.EISDIR) || !strings.Contains(err.Error(), "write "+p+": ") ||
			!strings.Contains(err.Error(), "a folder of that name is in the way; move it aside") {
			t.Fatalf("a set with %s a folder: %v", p, err)
		}
		if fi, err := os.Stat(p); err != nil || !fi.IsDir() {
			t.Errorf("%s is no longer the folder: %v", p, err)
		}
	}
	if got, _ := os.ReadFile(a); string(got) != "old a" {
		t.Errorf("a = %q after refused sets, want the old content", got)
	}
	if names := dirNames(t, dir); len(names) != 3 {
		t.Errorf("files after refused sets: %v", names)
	}
}

// TestAtomicCreateFilesReplaceNothing: a set of new files whose names are
// taken while it is written (another export into the same folder, after
// both found the names free) replaces none of them: the call fails with
// fs.ErrExist naming the file, the file of the set it had already put in
// place is taken back, the other process's files stay as written and no
// temp stays. AtomicWriteFiles replaced them, a mix of the two sets.
func TestAtomicCreateFilesReplaceNothing(t *testing.T) {
	dir := t.TempDir()
	g, d := filepath.Join(dir, "latest_net_G.pth"), filepath.Join(dir, "latest_net_D.pth")
	text := func(s string) func(io.Writer) error {
		return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
	}
	// G's name is free when it is placed; D is written by the other
	// process while this one writes its D.
	other := func(w io.Writer) error {
		if err := os.WriteFile(d, []byte("other D"), 0o644); err != nil {
			return err
		}
		return text("our D")(w)
	}
	err := AtomicCreateFiles([]string{g, d}, []func(io.Writer) error{text("our G"), other})
	if err == nil || !errors.Is(err, fs.ErrExist) || !strings.Contains(err.Error(), "write "+d+": ") {
		t.Fatalf("a name taken meanwhile: %v", err)
	}
	if _, err := os.Stat(g); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the set's G stayed after D was refused: %v", err)
	}
	if got, _ := os.ReadFile(d); string(got) != "other D" {
		t.Errorf("the other process's D = %q", got)
	}
	if names := dirNames(t, dir); len(names) != 1 {
		t.Errorf("files after a refused set: %v", names)
	}
	// names free: both placed whole, with a new file's mode, no temp left
	if err := AtomicCreateFiles([]string{g + "2", d + "2"}, []func(io.Writer) error{text("our G"), text("our D")}); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{g + "2": "our G", d + "2": "our D"} {
		fi, err := os.Stat(p)
		if got, _ := os.ReadFile(p); err != nil || string(got) != want || fi.Mode().Perm() != 0o644 {
			t.Errorf("%s = %q (%v), want %q, mode 0644", p, got, err, want)
		}
	}
	if names := dirNames(t, dir); len(names) != 3 {
		t.Errorf("files after a created set: %v", names)
	}
}

// TestRemoveStaleTemps: the temp files of writes cut short before the
// process began go (run folder and samples); a temp written since (a write
// in flight elsewhere), the lock and the files themselves stay.
func TestRemoveStaleTemps(t *testing.T) {
	run := t.TempDir()
	rd, err := NewRunDir(run)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	old := start.Add(-time.Hour)
	write := func(p string, mtime time.Time) {
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	stale := []string{filepath.Join(run, ".status.json.tmp-12345"), filepath.Join(rd.SamplesDir(), ".epoch_003.png.tmp-678")}
	kept := []string{filepath.Join(run, ".metrics.csv.tmp-999"), filepath.Join(run, LockFile), filepath.Join(run, "status.json"),
		filepath.Join(run, "notes.tmp-1")}
	for _, p := range stale {
		write(p, old)
	}
	write(kept[0], start.Add(time.Second))
	for _, p := range kept[1:] {
		write(p, old)
	}
	removed := RemoveStaleTemps(run, start)
	slices.Sort(removed)
	slices.Sort(stale)
	if !slices.Equal(removed, stale) {
		t.Errorf("removed %v, want %v", removed, stale)
	}
	for _, p := range stale {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s still there (%v)", p, err)
		}
	}
	for _, p := range kept {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s removed: %v", p, err)
		}
	}
}

// TestRemoveStaleTempsOfTheirNames: in a folder no lock guards (gogan
// export's, translate's), only the temps of the names being written,
// ".NAME.tmp-<digits>" last written before the process began, go: a temp
// of another name, one of a name this write does not make, one whose tail
// is not os.CreateTemp's number, and one written since stay.
func TestRemoveStaleTempsOfTheirNames(t *testing.T) {
	dir := t.TempDir()
	start := time.Now()
	old := start.Add(-time.Hour)
	put := func(name string, mtime time.Time) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, mtime, mtime)
		return p
	}
	stale := []string{put(".latest_net_G.pth.tmp-2518204716", old), put(".latest_net_D.pth.tmp-17", old)}
	kept := []string{put(".5_net_G.pth.tmp-881", old), put(".latest_net_G.pth.tmp-mine", old), put(".latest_net_G.pth.tmp-", old),
		put("latest_net_G.pth.tmp-3", old), put("notes.txt", old), put(".latest_net_G.pth.tmp-123", start.Add(time.Second))}
	removed := RemoveStaleTempsOf([]string{filepath.Join(dir, "latest_net_G.pth"), filepath.Join(dir, "latest_net_D.pth")}, start)
	slices.Sort(removed)
	slices.Sort(stale)
	if !slices.Equal(removed, stale) {
		t.Errorf("removed %v, want %v", removed, stale)
	}
	for _, p := range kept {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s removed: %v", p, err)
		}
	}
}

// TestAtomicWriteOfALongName: a file of a name near the file system's
// limit (translate's output of an input named so, sample --out) is
// written, though ".<name>.tmp-<digits>" would pass it: its temp's name is
// cut short, at a character's start, and a stale temp of that name is
// found and removed as any other's; a stale temp of a short name whose
// start it shares stays.
func TestAtomicWriteOfALongName(t *testing.T) {
	dir := t.TempDir()
	for _, base := range []string{strings.Repeat("y", 251) + ".png", strings.Repeat("y", 238) + strings.Repeat("é", 6) + ".png"} {
		if len(base) > 255 {
			t.Fatalf("a name of %d bytes", len(base))
		}
		p := filepath.Join(dir, base)
		if err := AtomicWriteBytes(p, []byte("grid")); err != nil {
			t.Fatalf("write a %d-byte name: %v", len(base), err)
		}
		if b, err := os.ReadFile(p); err != nil || string(b) != "grid" {
			t.Errorf("%d-byte name: read %q, %v", len(base), b, err)
		}
		prefix := TempPrefix(base)
		if !utf8.ValidString(prefix) || !strings.HasPrefix("."+base, strings.TrimSuffix(prefix, ".tmp-")) || len(prefix)+10 > 255 {
			t.Errorf("temp prefix %q of %q", prefix, base)
		}
		stale := filepath.Join(dir, prefix+"4137657513")
		other := filepath.Join(dir, "."+base[:20]+".tmp-12")
		old := time.Now().Add(-time.Hour)
		for _, f := range []string{stale, other} {
			if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			os.Chtimes(f, old, old)
		}
		if removed := RemoveStaleTempsOf([]string{p}, time.Now()); !slices.Equal(removed, []string{stale}) {
			t.Errorf("removed %v, want %v", removed, []string{stale})
		}
		os.Remove(other)
	}
	if names := dirNames(t, dir); len(names) != 2 {
		t.Errorf("files after the writes: %v", names)
	}
}

// TestOpenReferenceFolder: a reference's checkpoint folder, or
// pytorch/examples dcgan's --outf of netG_epoch_N.pth files, given where a
// gogan checkpoint goes (translate --checkpoint, model.load_pretrain) says
// to import it first, with the import command.
func TestOpenReferenceFolder(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "latest_net_G.pth"), []byte("x"), 0o644)
	_, _, _, err := OpenCheckpoint(dir)
	if err == nil || !strings.Contains(err.Error(), "holds the reference's networks (latest_net_G.pth), not a gogan checkpoint: import them first (gogan import --from "+dir) {
		t.Errorf("OpenCheckpoint of a reference folder: %v", err)
	}
	// pytorch/examples dcgan's --outf: the newest epoch's pair, by number
	outf := t.TempDir()
	for _, n := range []string{"netG_epoch_9.pth", "netD_epoch_9.pth", "netG_epoch_10.pth", "netD_epoch_10.pth", "netG_epoch_x.pth"} {
		os.WriteFile(filepath.Join(outf, n), []byte("x"), 0o644)
	}
	imp := "gogan import --config CONFIG --pth " + filepath.Join(outf, "netG_epoch_10.pth") + " --pth-d " + filepath.Join(outf, "netD_epoch_10.pth") + " --out RUN"
	_, _, _, err = OpenCheckpoint(outf)
	if err == nil || !strings.Contains(err.Error(), "holds pytorch/examples dcgan's networks (netG_epoch_10.pth, its newest epoch's), not a gogan checkpoint: import them first ("+imp+")") {
		t.Errorf("OpenCheckpoint of main.py's --outf: %v", err)
	}
	// its netD file alone: the import of its epoch's pair
	_, _, _, err = OpenCheckpoint(filepath.Join(outf, "netD_epoch_10.pth"))
	if err == nil || !strings.Contains(err.Error(), "is a PyTorch file of pytorch/examples dcgan's main.py (import it first: "+imp+")") {
		t.Errorf("OpenCheckpoint of main.py's netD file: %v", err)
	}
	// a netG without its netD: --pth alone
	os.Remove(filepath.Join(outf, "netD_epoch_10.pth"))
	if what, imp := ImportHint(outf); what == "" || strings.Contains(imp, "--pth-d") {
		t.Errorf("ImportHint of a netG without its netD: %q, %q", what, imp)
	}
}

// TestOpenRunWithoutCheckpoint: a run folder with no checkpoint is said to
// be one still training towards its first (its process is alive here; a
// SIGUSR1 to it writes one now) or
// one that ended before writing any; a path that is not there, so.
func TestOpenRunWithoutCheckpoint(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "config.yaml"), []byte("recipe: dcgan\n"), 0o644)
	host, _ := os.Hostname()
	rd := RunDir{Path: dir}
	for _, c := range []struct {
		pid  int
		want string
	}{
		{os.Getpid(), fmt.Sprintf("has no checkpoint yet: the run is running (pid %d) and writes its first", os.Getpid())},
		{os.Getpid(), fmt.Sprintf("or at once at SIGUSR1 (kill -USR1 %d where it runs), which leaves it training", os.Getpid())},
		{math.MaxInt32 + 1, "has no checkpoint: the run ended before writing its first"},
	} {
		if err := rd.WriteStatus(Status{State: StateRunning, PID: c.pid, Host: host, Recipe: "dcgan"}); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := OpenCheckpoint(dir); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("pid %d: %v, want %q", c.pid, err, c.want)
		}
	}
	if _, _, _, err := OpenCheckpoint(filepath.Join(dir, "none")); err == nil || !strings.Contains(err.Error(), "none: no such folder") {
		t.Errorf("a path that is not there: %v", err)
	}
}

// TestEndOfEpoch: a checkpoint at an epoch's end (its loader at the start
// of the next) is one; one mid-epoch, or one before any epoch ended (a run
// stopped before its first step: epoch 0, batch 0), is not, so that
// train.keep_every_epochs does not keep it for ever.
func TestEndOfEpoch(t *testing.T) {
	run := t.TempDir()
	for _, c := range []struct {
		step, epoch int
		loader      string
		want        int
		end         bool
	}{
		{0, 0, `{"epoch":0,"batch":0}`, 0, false},
		{30, 2, `{"epoch":2,"batch":0}`, 2, true},
		{35, 2, `{"epoch":2,"batch":5}`, 2, false},
		{40, 3, ``, 0, false}, // an import: no loader
	} {
		st := CheckpointState{Epoch: c.epoch, Step: c.step, Loader: json.RawMessage(c.loader), Config: "recipe: dcgan\n"}
		ck, err := WriteCheckpoint(run, st, weightsOf([]byte("w")))
		if err != nil {
			t.Fatal(err)
		}
		if e, end := EndOfEpoch(ck); e != c.want || end != c.end {
			t.Errorf("step %d, epoch %d, loader %s: EndOfEpoch %d %v, want %d %v", c.step, c.epoch, c.loader, e, end, c.want, c.end)
		}
	}
}

// TestNearestFolderNamesAFileOnTheWay: where an output would be made, the
// nearest existing folder on its path; a file standing where one of its
// folders goes is named, however deep below it the output lies (stat of
// notes/a/b fails with ENOTDIR, not ENOENT).
func TestNearestFolderNamesAFileOnTheWay(t *testing.T) {
	dir := t.TempDir()
	notes := filepath.Join(dir, "notes")
	if err := os.WriteFile(notes, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := NearestFolder("out", filepath.Join(dir, "a", "b")); err != nil || got != dir {
		t.Errorf("NearestFolder of a missing a/b = %q, %v; want %s", got, err, dir)
	}
	for _, p := range []string{notes, filepath.Join(notes, "ev"), filepath.Join(notes, "a", "b")} {
		if _, err := NearestFolder(p, p); err == nil || err.Error() != p+": "+notes+" is a file, not a folder" {
			t.Errorf("NearestFolder(%s): %v", p, err)
		}
	}
	grid := filepath.Join(notes, "a", "grid.png")
	if err := CheckWritable(grid); err == nil || err.Error() != grid+": "+notes+" is a file, not a folder" {
		t.Errorf("CheckWritable(%s): %v", grid, err)
	}
	if err := CheckWritable(dir); err == nil || !strings.Contains(err.Error(), "is a folder: give a file name") {
		t.Errorf("CheckWritable of a folder: %v", err)
	}
	if err := CheckWritable(filepath.Join(dir, "new", "grid.png")); err != nil {
		t.Errorf("CheckWritable below a folder to make: %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("the checks left %d entries in %s, want notes alone", len(ents), dir)
	}
}

// TestMetricsCSVEdited: a metrics.csv saved back with CRLF line ends (a
// spreadsheet, an editor on Windows) is read and resumed as it was, not
// taken for a file of damaged rows; and a single damaged row is left out
// with the file as it was kept beside it, as several are.
func TestMetricsCSVEdited(t *testing.T) {
	p := filepath.Join(t.TempDir(), "metrics.csv")
	os.WriteFile(p, []byte("step,epoch,images,wall_time,D,lr,images_per_s\r\n10,0,640,1796658126.370,0.5,0.0002,1.00\r\n20,0,1280,1796658127.370,0.4,0.0002,1.00\r\n"), 0o644)
	rm, err := ReadMetrics(p)
	if err != nil || len(rm.Rows) != 2 || rm.Column("images_per_s") != 6 || rm.Rows[1][4] != 0.4 {
		t.Fatalf("CRLF file read back: %+v, %v", rm, err)
	}
	m, err := OpenMetrics(p, []string{"D"}, 100)
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	if b, _ := os.ReadFile(p); string(b) != "step,epoch,images,wall_time,D,lr,images_per_s\n10,0,640,1796658126.370,0.5,0.0002,1.00\n20,0,1280,1796658127.370,0.4,0.0002,1.00\n" {
		t.Errorf("CRLF file resumed:\n%q", b)
	}
	if kept, _ := filepath.Glob(p + ".damaged-*"); len(kept) > 0 {
		t.Errorf("a CRLF file was taken for damage: %v", kept)
	}

	damaged := "step,epoch,images,wall_time,D,lr,images_per_s\n10,0,1,2,0.5,0.0002,1.00\n20,0,1,2,0.?,0.0002,1.00\n30,0,1,2,0.3,0.0002,1.00\n"
	os.WriteFile(p, []byte(damaged), 0o644)
	if m, err = OpenMetrics(p, []string{"D"}, 100); err != nil {
		t.Fatal(err)
	}
	m.Close()
	if b, _ := os.ReadFile(p); string(b) != "step,epoch,images,wall_time,D,lr,images_per_s\n10,0,1,2,0.5,0.0002,1.00\n30,0,1,2,0.3,0.0002,1.00\n" {
		t.Errorf("after one damaged row:\n%s", b)
	}
	kept, _ := filepath.Glob(p + ".damaged-*")
	if len(kept) != 1 {
		t.Fatalf("one damaged row: kept copies %v, want one", kept)
	}
	if b, _ := os.ReadFile(kept[0]); string(b) != damaged {
		t.Errorf("%s: %q, want the file as it was", kept[0], b)
	}
}

// TestPruneSparesOnlyOlderCheckpoints: train.keep_checkpoints N keeps the
// N newest checkpoints whatever train.keep_every_epochs says of them; the
// ones it spares are kept past them, not counted among them (which would
// keep a checkpoint more than N that nobody asked for).
func TestPruneSparesOnlyOlderCheckpoints(t *testing.T) {
	run := t.TempDir()
	for _, s := range []int{10, 20, 30, 40, 50} {
		writeTestCheckpoint(t, run, s, []byte("w"))
	}
	spare := func(c Checkpoint) bool { return c.Step%20 == 0 }
	if err := PruneCheckpoints(run, 2, 50, spare); err != nil {
		t.Fatal(err)
	}
	var steps []int
	cks, _ := ListCheckpoints(run)
	for _, c := range cks {
		steps = append(steps, c.Step)
	}
	if !slices.Equal(steps, []int{50, 40, 20}) {
		t.Errorf("keep 2, sparing steps of 20: steps %v, want [50 40 20] (the newest 2, then 20)", steps)
	}
}

// TestMetricsCSVOfAnEarlierGogan: a run whose metrics.csv a gogan before
// the images and wall_time columns wrote resumes into the same file: the
// rows it keeps get the columns, empty (they were not recorded), and the
// new rows fill them; the losses read as before.
func TestMetricsCSVOfAnEarlierGogan(t *testing.T) {
	p := filepath.Join(t.TempDir(), "metrics.csv")
	os.WriteFile(p, []byte("step,epoch,D,G,lr,images_per_s\n10,0,0.5,1.5,0.0002,800.00\n20,0,0.4,1.25,0.0002,801.50\n"), 0o644)
	if rm, err := ReadMetrics(p); err != nil || strings.Join(rm.LossNames(), ",") != "D,G" {
		t.Fatalf("read back: %+v, %v", rm, err)
	}
	m, err := OpenMetrics(p, []string{"D", "G"}, 20)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Write(30, 1, 1920, time.UnixMilli(1796658126370), map[string]float64{"D": 0.25, "G": 2}, 1e-4, 799); err != nil {
		t.Fatal(err)
	}
	m.Close()
	want := "step,epoch,images,wall_time,D,G,lr,images_per_s\n10,0,,,0.5,1.5,0.0002,800.00\n20,0,,,0.4,1.25,0.0002,801.50\n30,1,1920,1796658126.370,0.25,2,0.0001,799.00\n"
	if b, _ := os.ReadFile(p); string(b) != want {
		t.Fatalf("resumed:\n%s\nwant\n%s", b, want)
	}
	if rm, err := ReadMetrics(p); err != nil || strings.Join(rm.LossNames(), ",") != "D,G" || len(rm.Rows) != 3 {
		t.Fatalf("read back: %+v, %v", rm, err)
	}
}

// TestUnreadableConfigNamesWhoWroteIt: a checkpoint config another gogan
// wrote with keys this gogan does not know sends the user to that gogan;
// one whose value this gogan's own rules refuse says so and how to give
// the key another value (--set on resume), where it too said that the
// writer's config could not be read and to run it, or a newer one (this
// gogan, newer, was the one refusing); a writer of an older state format
// is said to be older. One this gogan wrote and cannot read back (its
// state.json checksummed, so not damaged) is said to be a gogan bug, not
// answered with "run that gogan", which would be this one.
func TestUnreadableConfigNamesWhoWroteIt(t *testing.T) {
	_, unknown := config.ParseYAML("c", []byte("recipe: dcgan\ntrain:\n  lambda_r1: 0\n"))
	_, refused := config.ParseYAML("c", []byte("recipe: dcgan\nmodel:\n  norm: weird\n"))
	if unknown == nil || refused == nil {
		t.Fatalf("configs read: %v, %v", unknown, refused)
	}
	run := filepath.Join(t.TempDir(), "a")
	ck := Checkpoint{Dir: filepath.Join(run, "checkpoints", "step-00000002"), Step: 2}
	newer := &CheckpointState{GoganVersion: "abc123newer", Format: stateFormatV2}
	if other := UnreadableConfig(ck, newer, unknown, false); !strings.Contains(other, "written by gogan abc123newer (this gogan is "+Version+")") ||
		!strings.Contains(other, "does not know (a newer gogan's): run that gogan, or a newer one") {
		t.Errorf("another gogan's keys: %s", other)
	}
	for _, resuming := range []bool{false, true} {
		other := UnreadableConfig(ck, newer, refused, resuming)
		fix := "gogan resume " + run + " --set KEY=VALUE"
		if resuming {
			fix = "--set KEY=VALUE on this resume (or in " + filepath.Join(run, "config.yaml") + ")"
		}
		if !strings.Contains(other, "written by gogan abc123newer (this gogan is "+Version+")") || !strings.Contains(other, "this gogan refuses a value") ||
			!strings.Contains(other, fix) || strings.Contains(other, "or a newer one") || strings.Contains(other, "an older gogan") {
			t.Errorf("a value this gogan refuses (resuming %v): %s\nwant %q", resuming, other, fix)
		}
	}
	if gone := UnreadableConfig(ck, &CheckpointState{GoganVersion: "abc123older", Format: stateFormatV1}, unknown, false); !strings.Contains(gone, "an older gogan (state format 1), whose config has keys this gogan no longer reads: run that gogan") ||
		strings.Contains(gone, "a newer gogan's") {
		t.Errorf("an older gogan's keys: %s", gone)
	}
	older := UnreadableConfig(ck, &CheckpointState{GoganVersion: "abc123older", Format: stateFormatV1}, refused, true)
	if !strings.Contains(older, "an older gogan (state format 1)") || !strings.Contains(older, "a rule of this gogan's tightened since") {
		t.Errorf("a value an older gogan wrote: %s", older)
	}
	own := UnreadableConfig(ck, &CheckpointState{GoganVersion: Version}, refused, false)
	if strings.Contains(own, "run that gogan") || !strings.Contains(own, "a gogan bug") {
		t.Errorf("this gogan's own config: %s", own)
	}
}

// TestStaleTempDirsOfLiveWritersStay: MakeTempDir's folder is locked while
// its writer works there, so RemoveStaleTempDirsOf run by another writer
// of the same path (two evals of one --out, the second started after the
// first made its folder) leaves it; released (its writer gone), the next
// sweep removes it. A folder made since the sweep's process began stays
// unlocked or not: its writer may not have locked it yet.
func TestStaleTempDirsOfLiveWritersStay(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "results")
	live, err := MakeTempDir(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(live.Path); err != nil || fi.Mode().Perm() != 0o755 || !strings.HasPrefix(filepath.Base(live.Path), TempPrefix("results")) {
		t.Fatalf("MakeTempDir made %s (%v, %v), want a 0755 folder %s<digits>", live.Path, fi, err, TempPrefix("results"))
	}
	later := time.Now().Add(time.Hour) // a sweep of a process started after it
	if removed := RemoveStaleTempDirsOf(out, later); len(removed) != 0 {
		t.Errorf("the sweep removed %v, the temp folder of a writer still at work", removed)
	}
	live.Release()
	live.Release() // a second release (finish after abort) is harmless
	if removed := RemoveStaleTempDirsOf(out, time.Now().Add(-time.Hour)); len(removed) != 0 {
		t.Errorf("a sweep begun before the folder was made removed %v", removed)
	}
	if removed := RemoveStaleTempDirsOf(out, later); !slices.Equal(removed, []string{live.Path}) {
		t.Errorf("released, the sweep removed %v, want %s", removed, live.Path)
	}
}
