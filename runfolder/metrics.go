package runfolder

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
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
// a fresh run), so a resumed run's CSV has each step once. An existing file
// must have the same columns.
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
	var keep bytes.Buffer
	cw := csv.NewWriter(&keep)
	cw.Write(header)
	if len(old) > 0 {
		rows, err := readCSVRows(bytes.NewReader(old))
		if err != nil {
			return nil, fmt.Errorf("metrics %s: %w", path, err)
		}
		if len(rows) > 0 && !slices.Equal(rows[0], header) {
			return nil, fmt.Errorf("metrics %s: existing columns %v differ from %v", path, rows[0], header)
		}
		for _, r := range rows[1:] {
			step, err := strconv.Atoi(r[0])
			if err != nil {
				return nil, fmt.Errorf("metrics %s: bad step %q", path, r[0])
			}
			if step <= resumeStep {
				cw.Write(r)
			}
		}
	}
	cw.Flush()
	if err := AtomicWriteBytes(path, keep.Bytes()); err != nil {
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
	recs, err := readCSVRows(f)
	if err != nil {
		return nil, fmt.Errorf("metrics %s: %w", path, err)
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("metrics %s: no header", path)
	}
	header := recs[0]
	m := &Metrics{Columns: header}
	for _, rec := range recs[1:] {
		row := make([]float64, len(rec))
		for i, s := range rec {
			if s == "" {
				row[i] = math.NaN()
				continue
			}
			if row[i], err = strconv.ParseFloat(s, 64); err != nil {
				return nil, fmt.Errorf("metrics %s: column %s: %w", path, header[i], err)
			}
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

// readCSVRows reads all records; a last row cut short by a crash mid-write
// is dropped instead of failing the whole file.
func readCSVRows(r io.Reader) ([][]string, error) {
	cr := csv.NewReader(r)
	var out [][]string
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount) {
				if _, err2 := cr.Read(); err2 == io.EOF {
					return out, nil
				}
			}
			return nil, err
		}
		out = append(out, rec)
	}
}
