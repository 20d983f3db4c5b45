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
//	step,epoch,<loss names...>,lr,images_per_s
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
		if n == "" || slices.Contains(losses[:i], n) || slices.Contains([]string{"step", "epoch", "lr", "images_per_s"}, n) {
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
				return nil, fmt.Errorf("metrics %s: columns %q are not a metrics.csv that gogan wrote (step, epoch, the losses, lr, images_per_s): move it out of the run folder to go on", path, pickle.Clip(strings.Join(was, ",")))
			}
			union := slices.Clone(was[2 : len(was)-2])
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
			slog.Info("metrics.csv: the run's losses changed; the earlier ones keep their columns and the new ones get theirs, empty before this step",
				"file", path, "columns", strings.Join(header, ","), "step", resumeStep)
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

func metricsHeader(losses []string) []string {
	h := []string{"step", "epoch"}
	h = append(h, losses...)
	return append(h, "lr", "images_per_s")
}

// Write appends one row and flushes it. Every loss given must be one of the
// columns; a column without a value is left empty.
func (m *MetricsWriter) Write(step, epoch int, losses map[string]float64, lr, imagesPerSec float64) error {
	for n := range losses {
		if !slices.Contains(m.losses, n) {
			return fmt.Errorf("metrics %s: loss %q is not a column (columns: %v)", m.path, n, m.losses)
		}
	}
	row := []string{strconv.Itoa(step), strconv.Itoa(epoch)}
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
	if header[0] != "step" {
		// Readers index the step column: another tool's log is not read.
		return nil, fmt.Errorf("metrics %s: columns %q do not start with step: not a metrics.csv that gogan wrote (move it out of the run folder)", path, pickle.Clip(strings.Join(header, ",")))
	}
	m := &Metrics{Columns: header}
	for _, rec := range recs[1:] {
		row := make([]float64, len(rec))
		for i, s := range rec {
			if s == "" {
				row[i] = math.NaN()
				continue
			}
			row[i], _ = strconv.ParseFloat(s, 64) // readCSVRows checked it
		}
		m.Rows = append(m.Rows, row)
	}
	return m, nil
}

// Column returns the index of a column, or -1.
func (m *Metrics) Column(name string) int { return slices.Index(m.Columns, name) }

// LossNames are the columns between epoch and lr.
func (m *Metrics) LossNames() []string {
	if len(m.Columns) < 4 {
		return nil
	}
	return m.Columns[2 : len(m.Columns)-2]
}

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
		text := strings.TrimSuffix(sc.Text(), "\r")
		if text == "" {
			continue
		}
		rec := strings.Split(text, ",")
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
