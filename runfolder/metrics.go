package runfolder

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"gogan/pickle"
)

// MetricsWriter appends rows to RUN/metrics.csv:
//
//	step,epoch,images,wall_time,<loss names...>,lr,images_per_s
//
// images is the samples trained through the step (every rank's), wall_time
// when the step ended, in Unix seconds (TensorBoard's events' clock): a
// reader of the file alone can tell how far and how long a run went.
//
// Each row is flushed to the file as it is written, so a crash loses at
// most the row being written and a live report always sees recent rows.
type MetricsWriter struct {
	f      *os.File
	w      *csv.Writer
	losses []string
	path   string
}

// OpenMetrics opens path for appending rows of the given losses. Rows with
// step > resumeStep are dropped (pass the resumed checkpoint's step, or 0 for
// a fresh run), so a resumed run's CSV has each step once. Where the kept
// rows have other losses (a resume that turned pix2pixHD's VGG loss on or
// off), the file keeps their columns and adds the new ones after them: a
// cell a row has no value for stays empty.
func OpenMetrics(path string, losses []string, resumeStep int) (*MetricsWriter, error) {
	header := metricsHeader(losses)
	for i, n := range losses {
		if n == "" || slices.Contains(losses[:i], n) || slices.Contains(metricsMeta, n) {
			return nil, fmt.Errorf("metrics %s: bad or duplicate loss name %q", path, n)
		}
	}
	old, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		old = nil
	case err != nil:
		return nil, fmt.Errorf("metrics %s: %w", path, err)
	}
	// Rewrite the kept part atomically: a crash here must not lose history.
	var keep [][]string
	// A last row without its newline is the one a crash cut short: it goes
	// without a word.
	whole := old
	if i := bytes.LastIndexByte(whole, '\n'); len(whole) > 0 && i < len(whole)-1 {
		whole = whole[:i+1]
	}
	if len(whole) > 0 {
		rows, bad, err := readCSVRows(bytes.NewReader(whole))
		if err != nil {
			return nil, fmt.Errorf("metrics %s: %w", path, err)
		}
		for _, r := range rows[1:] {
			if step, _ := strconv.Atoi(r[0]); step <= resumeStep {
				keep = append(keep, r)
			}
		}
		if was := rows[0]; !slices.Equal(was, header) && len(keep) > 0 {
			if len(was) < 4 || was[0] != "step" || was[1] != "epoch" || !slices.Equal(was[len(was)-2:], []string{"lr", "images_per_s"}) {
				return nil, fmt.Errorf("metrics %s: columns %q are not a metrics.csv that gogan wrote (step, epoch, images, wall_time, the losses, lr, images_per_s; an earlier gogan's without images and wall_time): move it out of the run folder to go on", path, pickle.Clip(strings.Join(was, ",")))
			}
			union := lossNames(was)
			same := slices.Equal(union, losses)
			for _, n := range losses {
				if !slices.Contains(union, n) {
					union = append(union, n)
				}
			}
			losses, header = union, metricsHeader(union)
			for i, r := range keep {
				keep[i] = make([]string, len(header))
				for j, c := range header {
					if k := slices.Index(was, c); k >= 0 {
						keep[i][j] = r[k]
					}
				}
			}
			if same { // a file of a gogan before the images and wall_time columns
				slog.Info("metrics.csv: columns added, empty in the rows before this step", "file", path, "columns", strings.Join(header, ","), "step", resumeStep)
			} else {
				slog.Info("metrics.csv: the run's losses changed; the earlier ones keep their columns and the new ones get theirs, empty before this step",
					"file", path, "columns", strings.Join(header, ","), "step", resumeStep)
			}
		}
		// A damaged row (a disk error, an edit) is a log line lost, not a
		// reason to stop the run: it is left out, the file as it was kept.
		if len(bad) > 0 {
			kept := path + ".damaged-" + time.Now().UTC().Format("20060102T150405")
			if err := AtomicWriteBytes(kept, old); err != nil {
				return nil, fmt.Errorf("metrics %s: damaged rows on lines %v, and the file could not be kept: %w", path, bad, err)
			}
			slog.Warn("metrics.csv: damaged rows left out; the file as it was is kept", "file", path, "lines", fmt.Sprint(bad), "kept", kept)
		}
	}
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	cw.Write(header)
	cw.WriteAll(keep)
	if err := AtomicWriteBytes(path, buf.Bytes()); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil, fmt.Errorf("metrics %s: %w", path, err)
	}
	return &MetricsWriter{f: f, w: csv.NewWriter(f), losses: slices.Clone(losses), path: path}, nil
}

// metricsMeta are metrics.csv's columns that are not losses.
var metricsMeta = []string{"step", "epoch", "images", "wall_time", "lr", "images_per_s"}

func metricsHeader(losses []string) []string {
	h := []string{"step", "epoch", "images", "wall_time"}
	h = append(h, losses...)
	return append(h, "lr", "images_per_s")
}

// lossNames are the loss columns of a header, in order: those that are not
// metricsMeta (a file of a gogan before images and wall_time lacks them).
func lossNames(header []string) []string {
	var out []string
	for _, c := range header {
		if !slices.Contains(metricsMeta, c) {
			out = append(out, c)
		}
	}
	return out
}

// Write appends one row and flushes it: the step, the epochs completed
// before it, the samples trained through it (every rank's) and when it
// ended (a zero time is left empty), the losses, the learning rate and the
// throughput. Every loss given must be one of the columns; a column
// without a value is left empty.
func (m *MetricsWriter) Write(step, epoch int, images int64, at time.Time, losses map[string]float64, lr, imagesPerSec float64) error {
	for n := range losses {
		if !slices.Contains(m.losses, n) {
			return fmt.Errorf("metrics %s: loss %q is not a column (columns: %v)", m.path, n, m.losses)
		}
	}
	wall := ""
	if !at.IsZero() {
		wall = strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', 3, 64)
	}
	row := []string{strconv.Itoa(step), strconv.Itoa(epoch), strconv.FormatInt(images, 10), wall}
	for _, n := range m.losses {
		v, ok := losses[n]
		if !ok {
			row = append(row, "")
			continue
		}
		row = append(row, fmtFloat(v))
	}
	row = append(row, fmtFloat(lr), strconv.FormatFloat(imagesPerSec, 'f', 2, 64))
	if err := m.w.Write(row); err != nil {
		return fmt.Errorf("metrics %s: %w", m.path, err)
	}
	m.w.Flush()
	if err := m.w.Error(); err != nil {
		return fmt.Errorf("metrics %s: %w", m.path, err)
	}
	return nil
}

func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }

// Close closes the file.
func (m *MetricsWriter) Close() error {
	m.w.Flush()
	err := m.w.Error()
	if cerr := m.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Metrics is metrics.csv read back: Columns[i] names Rows[*][i]. An empty
// cell reads as NaN.
type Metrics struct {
	Columns []string
	Rows    [][]float64
}

// ReadMetrics parses a metrics.csv (for the loss plot and the report).
func ReadMetrics(path string) (*Metrics, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	recs, _, err := readCSVRows(f)
	if err != nil {
		return nil, fmt.Errorf("metrics %s: %w", path, err)
	}
	header := recs[0]
	if err := checkHeader(path, header); err != nil {
		return nil, err
	}
	m := &Metrics{Columns: header}
	for _, rec := range recs[1:] {
		m.Rows = append(m.Rows, parseRow(rec)) // readCSVRows checked it
	}
	return m, nil
}

// checkHeader refuses a metrics file whose columns do not start with step:
// readers index the step column, and another tool's log is not read.
func checkHeader(path string, header []string) error {
	if header[0] == "step" {
		return nil
	}
	return fmt.Errorf("metrics %s: columns %q do not start with step: not a metrics.csv that gogan wrote (move it out of the run folder)", path, pickle.Clip(strings.Join(header, ",")))
}

// Column returns the index of a column, or -1.
func (m *Metrics) Column(name string) int { return slices.Index(m.Columns, name) }

// LossNames are the loss columns: every one but step, epoch, images,
// wall_time, lr and images_per_s.
func (m *Metrics) LossNames() []string { return lossNames(m.Columns) }

// readCSVRows reads metrics.csv: its header, then the rows that are whole
// (as many fields as the header, an integer step, numbers or empty cells).
// Any other line (the last one cut short by a crash mid-write, a damaged
// one) is left out, its line number listed in bad. Each line is parsed by
// itself (metrics hold no quotes or newlines): a stray quote cannot join
// the lines after it into one field.
func readCSVRows(r io.Reader) (rows [][]string, bad []int, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for line := 1; sc.Scan(); line++ {
		rec := fields(sc.Text())
		if rec == nil {
			continue
		}
		if rows == nil {
			rows = [][]string{rec}
			continue
		}
		if !wholeRow(rec, len(rows[0])) {
			bad = append(bad, line)
			continue
		}
		rows = append(rows, rec)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, err
	}
	if rows == nil {
		return nil, nil, errors.New("no header")
	}
	return rows, bad, nil
}

// fields are a metrics.csv line's cells (its CR dropped), nil for an empty
// line.
func fields(line string) []string {
	text := strings.TrimSuffix(line, "\r")
	if text == "" {
		return nil
	}
	return strings.Split(text, ",")
}

// wholeRow says whether rec is a metrics row of n columns: an integer step,
// then numbers or empty cells.
func wholeRow(rec []string, n int) bool {
	if len(rec) != n {
		return false
	}
	if _, err := strconv.Atoi(rec[0]); err != nil {
		return false
	}
	for _, s := range rec[1:] {
		if _, err := strconv.ParseFloat(s, 64); s != "" && err != nil {
			return false
		}
	}
	return true
}

// MetricsTail follows a metrics.csv that a run appends to: each Read parses
// only the whole lines written since the last one, so that a report drawn
// every few steps reads a few rows, not the whole file (whose rows grow
// with the run: a million at train.log_every 1 took a second to parse,
// every train.sample_every steps). Rows are checked as ReadMetrics checks
// them; a line without its newline yet is left for the next Read. A Read
// takes at most tailChunk bytes of whole lines (More says whether there is
// more), so that a long run's file, read whole when a resumed run first
// draws its plot, is not held in memory at once.
type MetricsTail struct {
	path    string
	off     int64       // bytes consumed: whole lines
	chunk   int64       // the most bytes a Read takes (tailChunk)
	cut     bool        // the last Read left whole lines for the next
	fi      os.FileInfo // the file read, to notice one put in its place
	columns []string
	// replaced: the file was put in place of the one read, and no Read of
	// it has succeeded yet (a failed one returns no rows to start again with)
	replaced bool
}

// tailChunk is the most a MetricsTail Read takes: about 130,000 rows.
const tailChunk = 8 << 20

// NewMetricsTail follows path from its start (nothing is read yet).
func NewMetricsTail(path string) *MetricsTail {
	return &MetricsTail{path: path, chunk: tailChunk}
}

// More says whether the last Read left lines to read (it takes at most
// tailChunk bytes).
func (t *MetricsTail) More() bool { return t.cut }

// Read returns the rows appended since the last Read (Columns: the
// header). restart says that the file was replaced or cut shorter since
// the last Read that succeeded (a resume rewrites it): the rows are then
// the whole file's, and the caller drops what it kept. read is the number
// of bytes read.
func (t *MetricsTail) Read() (m *Metrics, restart bool, read int64, err error) {
	m, read, err = t.read()
	if err != nil {
		return nil, false, read, err
	}
	restart, t.replaced = t.replaced, false
	return m, restart, read, nil
}

// read is Read but for restart, which t.replaced keeps until a Read
// succeeds.
func (t *MetricsTail) read() (m *Metrics, read int64, err error) {
	f, err := os.Open(t.path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, fmt.Errorf("metrics %s: %w", t.path, err)
	}
	if t.fi == nil || !os.SameFile(t.fi, fi) || fi.Size() < t.off {
		t.replaced = t.replaced || t.fi != nil
		t.fi, t.off, t.columns = fi, 0, nil
	}
	m = &Metrics{Columns: t.columns}
	if fi.Size() == t.off {
		if m.Columns == nil {
			return nil, 0, fmt.Errorf("metrics %s: no header", t.path)
		}
		return m, 0, nil
	}
	// a chunk, or all that is left where its first line is longer
	t.cut = false
	size := fi.Size() - t.off
	if size > t.chunk {
		size, t.cut = t.chunk, true
	}
	b := make([]byte, size)
	n, err := f.ReadAt(b, t.off)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, int64(n), fmt.Errorf("metrics %s: %w", t.path, err)
	}
	b = b[:n]
	whole := bytes.LastIndexByte(b, '\n') + 1
	if whole == 0 && t.cut { // a line longer than a chunk: read on to its end
		chunk := t.chunk
		t.chunk = fi.Size() - t.off
		defer func() { t.chunk = chunk }()
		return t.read()
	}
	for _, line := range strings.Split(string(b[:whole]), "\n") {
		rec := fields(line)
		if rec == nil {
			continue
		}
		if t.columns == nil {
			if err := checkHeader(t.path, rec); err != nil {
				return nil, int64(n), err
			}
			t.columns, m.Columns = rec, rec
			continue
		}
		if wholeRow(rec, len(t.columns)) {
			m.Rows = append(m.Rows, parseRow(rec))
		}
	}
	t.off += int64(whole)
	if m.Columns == nil {
		return nil, int64(n), fmt.Errorf("metrics %s: no header", t.path)
	}
	return m, int64(n), nil
}

// parseRow is a row that wholeRow accepted, as numbers (empty: NaN).
func parseRow(rec []string) []float64 {
	row := make([]float64, len(rec))
	for i, s := range rec {
		if s == "" {
			row[i] = math.NaN()
			continue
		}
		row[i], _ = strconv.ParseFloat(s, 64)
	}
	return row
}

// lastRowWindow is how much of metrics.csv's end LastMetricsRow reads at
// first: hundreds of rows.
const lastRowWindow = 64 << 10

// LastMetricsRow is ReadMetrics' header and last row alone (Rows holds at
// most that one), read from the file's first line and its end: the report,
// rewritten all along a run, shows the last row, and the whole file grows
// with the run.
func LastMetricsRow(path string) (*Metrics, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("metrics %s: %w", path, err)
	}
	if fi.Size() <= 2*lastRowWindow {
		return lastOf(ReadMetrics(path))
	}
	// The header: the first line that is not empty, as readCSVRows.
	head := make([]byte, lastRowWindow)
	n, err := f.ReadAt(head, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("metrics %s: %w", path, err)
	}
	var header []string
	rest := string(head[:n])
	for header == nil {
		line, after, found := strings.Cut(rest, "\n")
		if !found {
			return lastOf(ReadMetrics(path)) // a header longer than the window
		}
		header = fields(line)
		rest = after
	}
	if err := checkHeader(path, header); err != nil {
		return nil, err
	}
	tail := make([]byte, lastRowWindow)
	if n, err = f.ReadAt(tail, fi.Size()-lastRowWindow); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("metrics %s: %w", path, err)
	}
	// The window's first line may be a row's end: it is not looked at.
	lines := strings.Split(string(tail[:n]), "\n")[1:]
	for i := len(lines) - 1; i >= 0; i-- {
		if rec := fields(lines[i]); rec != nil && wholeRow(rec, len(header)) {
			return &Metrics{Columns: header, Rows: [][]float64{parseRow(rec)}}, nil
		}
	}
	return lastOf(ReadMetrics(path)) // no whole row in the window: damaged lines
}

// lastOf keeps m's last row alone.
func lastOf(m *Metrics, err error) (*Metrics, error) {
	if err == nil && len(m.Rows) > 1 {
		m.Rows = m.Rows[len(m.Rows)-1:]
	}
	return m, err
}
