package runfolder

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// sameRows says whether two row lists hold the same numbers (NaN, an empty
// cell, equal to NaN).
func sameRows(a, b [][]float64) bool {
	return slices.EqualFunc(a, b, func(x, y []float64) bool {
		return slices.EqualFunc(x, y, func(u, v float64) bool { return u == v || math.IsNaN(u) && math.IsNaN(v) })
	})
}

// TestMetricsTailReadsWhatIsAppended: a MetricsTail that follows a growing
// metrics.csv reads each byte once, and its rows, all Reads together, are
// ReadMetrics' (a line not ended yet is read when its newline comes); a
// file put in its place (a resume's rewrite) starts it afresh.
func TestMetricsTailReadsWhatIsAppended(t *testing.T) {
	p := filepath.Join(t.TempDir(), "metrics.csv")
	w, err := OpenMetrics(p, []string{"D", "G"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	tail := NewMetricsTail(p)
	var rows [][]float64
	var read int64
	for step := 1; step <= 3000; step++ {
		losses := map[string]float64{"D": float64(step) / 7, "G": 1}
		if step%11 == 0 {
			delete(losses, "G") // an empty cell
		}
		if err := w.Write(step, step/100, 0, time.Time{}, losses, 2e-4, 800); err != nil {
			t.Fatal(err)
		}
		if step%250 != 0 {
			continue
		}
		m, restart, n, err := tail.Read()
		if err != nil || restart {
			t.Fatalf("step %d: restart %v, %v", step, restart, err)
		}
		rows, read = append(rows, m.Rows...), read+n
	}
	// half a row, then the rest of it
	f, _ := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString("3001,30,0.5")
	m, _, n, _ := tail.Read()
	rows, read = append(rows, m.Rows...), read+n
	f.WriteString(",1,0.0002,800.00\n")
	f.Close()
	m, _, n, _ = tail.Read()
	rows, read = append(rows, m.Rows...), read+n
	st, _ := os.Stat(p)
	all, err := ReadMetrics(p)
	if err != nil {
		t.Fatal(err)
	}
	if !sameRows(rows, all.Rows) || !slices.Equal(m.Columns, all.Columns) {
		t.Fatalf("the tail's %d rows are not ReadMetrics' %d", len(rows), len(all.Rows))
	}
	// each whole line once, and the cut one's first part again
	if want := st.Size() + int64(len("3001,30,0.5")); read != want {
		t.Errorf("read %d bytes of a file of %d, want %d", read, st.Size(), want)
	}
	if m, restart, n, err := tail.Read(); err != nil || restart || n != 0 || len(m.Rows) != 0 {
		t.Errorf("a Read with nothing new: %d rows, %d bytes, restart %v, %v", len(m.Rows), n, restart, err)
	}
	w.Close()
	// a resume at step 1000 rewrites the file
	w, err = OpenMetrics(p, []string{"D", "G"}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	m, restart, _, err := tail.Read()
	if err != nil || !restart || len(m.Rows) != 1000 || m.Rows[999][0] != 1000 {
		t.Fatalf("after a rewrite: restart %v, %d rows, %v", restart, len(m.Rows), err)
	}
	// a resume at the same step that adds a loss: the new file, of the
	// same rows and one more column, is longer than the one read
	w, err = OpenMetrics(p, []string{"D", "G", "VGG"}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	m, restart, _, err = tail.Read()
	if err != nil || !restart || len(m.Rows) != 1000 || !slices.Equal(m.Columns, []string{"step", "epoch", "images", "wall_time", "D", "G", "VGG", "lr", "images_per_s"}) {
		t.Fatalf("after a rewrite that adds a loss: restart %v, %d rows, columns %q, %v", restart, len(m.Rows), m.Columns, err)
	}
}

// TestLastMetricsRow: the header and last whole row, read from the ends of
// a large file, are ReadMetrics' last, whatever the file ends with (a row
// cut short by a crash, damaged lines, CRLF, empty lines), and a file
// another tool wrote is refused as ReadMetrics refuses it.
func TestLastMetricsRow(t *testing.T) {
	var big strings.Builder
	big.WriteString("step,epoch,D,G,lr,images_per_s\n")
	for i := 1; big.Len() < 3*lastRowWindow; i++ {
		fmt.Fprintf(&big, "%d,0,%g,%g,0.0002,800.00\n", i, float64(i)/3, float64(i)/7)
	}
	body := big.String()
	// one damaged line after the last row, of a length that starts the
	// window just past that row's first byte: what the window holds of the
	// row is as many numbers, of another step
	lastRow := body[strings.LastIndexByte(body[:len(body)-1], '\n')+1:]
	overLastRow := body + strings.Repeat("x", lastRowWindow-len(lastRow)) + "\n"
	p := filepath.Join(t.TempDir(), "metrics.csv")
	for name, content := range map[string]string{
		"whole":           body,
		"small":           "step,epoch,D,lr,images_per_s\n1,0,0.5,0.0002,800\n2,0,,0.0002,800\n",
		"cut short":       body + "99999,0,0.5,",
		"cut in a number": body + "99999,0,0.5,1,0.0002,80",
		"no newline":      strings.TrimSuffix(body, "\n"),
		"empty cell":      body + "99999,0,,1,0.0002,800.00\n\n\n",
		"crlf":            strings.ReplaceAll(body, "\n", "\r\n"),
		"empty lines":     "\n\n" + body,
		"damaged tail":    body + strings.Repeat("x,y\n", lastRowWindow),
		"damaged row":     body + "99999,0,0.5,?,0.0002,800.00\n",
		"over a row":      overLastRow,
		"other tool":      "iteration,loss\n" + body,
	} {
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		want, werr := ReadMetrics(p)
		got, gerr := LastMetricsRow(p)
		if (werr != nil) != (gerr != nil) {
			t.Errorf("%s: error %v, ReadMetrics' %v", name, gerr, werr)
			continue
		}
		if werr != nil {
			continue
		}
		if !slices.Equal(got.Columns, want.Columns) || len(got.Rows) != 1 || !sameRows(got.Rows, want.Rows[len(want.Rows)-1:]) {
			t.Errorf("%s: %q %v, want %q and ReadMetrics' last row %v", name, got.Columns, got.Rows, want.Columns, want.Rows[len(want.Rows)-1])
		}
	}
}

// TestMetricsTailRestartOutlivesAFailedRead: a file put in place of the
// one followed that cannot be read yet (no header line) fails the Read;
// the next Read that succeeds still says restart, or its caller would add
// the new file's rows to the old one's.
func TestMetricsTailRestartOutlivesAFailedRead(t *testing.T) {
	p := filepath.Join(t.TempDir(), "metrics.csv")
	if err := AtomicWriteBytes(p, []byte("step,epoch,D,lr,images_per_s\n1,0,0.5,0.0002,800\n2,0,0.4,0.0002,800\n")); err != nil {
		t.Fatal(err)
	}
	tail := NewMetricsTail(p)
	if m, _, _, err := tail.Read(); err != nil || len(m.Rows) != 2 {
		t.Fatalf("first Read: %v", err)
	}
	if err := AtomicWriteBytes(p, []byte("step,epoch,D,lr,ima")); err != nil { // its header half written
		t.Fatal(err)
	}
	if _, _, _, err := tail.Read(); err == nil {
		t.Fatal("a file of half a header read without an error")
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("ges_per_s\n1,0,0.7,0.0002,800\n")
	f.Close()
	m, restart, _, err := tail.Read()
	if err != nil || !restart || len(m.Rows) != 1 {
		t.Errorf("the new file read whole: restart %v, %v, %v", restart, m, err)
	}
	if _, restart, _, err := tail.Read(); err != nil || restart {
		t.Errorf("a Read after it: restart %v, %v", restart, err)
	}
}

// TestMetricsTailReadsInChunks: a Read takes at most a chunk of whole
// lines and says there is more (the first plot of a resumed long run reads
// the file a chunk at a time, not whole into memory); all Reads together
// are ReadMetrics' rows, and a line longer than a chunk is read whole.
func TestMetricsTailReadsInChunks(t *testing.T) {
	p := filepath.Join(t.TempDir(), "metrics.csv")
	w, err := OpenMetrics(p, []string{"D", "G"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	for step := 1; step <= 500; step++ {
		w.Write(step, 0, 0, time.Time{}, map[string]float64{"D": float64(step) / 3, "G": 1}, 2e-4, 800)
	}
	w.Close()
	all, err := ReadMetrics(p)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(p)
	tail := NewMetricsTail(p)
	tail.chunk = 1000
	var rows [][]float64
	reads, read := 0, int64(0)
	for {
		m, _, n, err := tail.Read()
		if err != nil {
			t.Fatal(err)
		}
		if n > 1000 {
			t.Fatalf("a Read of chunks of 1000 bytes read %d", n)
		}
		rows, read, reads = append(rows, m.Rows...), read+n, reads+1
		if !tail.More() {
			break
		}
	}
	if !sameRows(rows, all.Rows) || reads < int(st.Size()/1000) {
		t.Errorf("%d Reads of chunks of 1000 bytes gave %d rows, ReadMetrics %d", reads, len(rows), len(all.Rows))
	}
	// a header longer than a chunk
	tail = NewMetricsTail(p)
	tail.chunk = 10
	m, _, _, err := tail.Read()
	if err != nil || len(m.Columns) != len(all.Columns) {
		t.Fatalf("a header longer than a chunk: %v, %v", m, err)
	}
	if tail.chunk != 10 {
		t.Errorf("the chunk is %d after a long line, not 10 again", tail.chunk)
	}
}
