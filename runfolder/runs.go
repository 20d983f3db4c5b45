package runfolder

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"gogan/config"
)

// Summary is one run folder as `gogan runs` shows it.
type Summary struct {
	Path       string
	Recipe     string
	Step       int    // the last step logged or checkpointed
	Total      int    // 0: not known (a run from before status.json)
	Losses     string // the last metrics.csv row's losses, "name=value ..."
	Checkpoint string // the newest valid checkpoint's folder name, or why there is none
	State      string // running, finished, stopped (how), killed, failed (why)
	// StateWord is State's first word for scripts (gogan runs --json):
	// status.json's state, StateKilled, StateStarting or StateUnknown.
	StateWord  string
	LossValues map[string]float64 // Losses' values by name
}

// Summarize reads the run folder at path.
func Summarize(path string) Summary {
	r := RunDir{Path: path}
	s := Summary{Path: path, Recipe: "?", State: "unknown (no status.json: written before gogan kept one)", StateWord: StateUnknown}
	if b, err := os.ReadFile(r.ConfigPath()); err == nil {
		var c struct {
			Recipe string `yaml:"recipe"`
		}
		if yaml.Unmarshal(b, &c) == nil && c.Recipe != "" {
			s.Recipe = c.Recipe
		}
	}
	st, err := r.ReadStatus()
	switch {
	case err == nil:
		s.Recipe, s.Step, s.Total = st.Recipe, st.Step, st.Total
		s.StateWord, s.State = r.describe(st)
	case !errors.Is(err, os.ErrNotExist):
		s.State = "unreadable status: " + err.Error()
	default:
		if w, d, ok := r.starting(); ok {
			s.StateWord, s.State = w, d
		}
	}
	logged := -1 // the step of metrics.csv's last row
	var names []string
	if m, err := LastMetricsRow(r.MetricsPath()); err == nil { // not the whole file of a long run, for each run listed
		names = m.LossNames()
		if len(m.Rows) > 0 {
			row := m.Rows[len(m.Rows)-1]
			logged = int(row[m.Column("step")])
			s.Step = max(s.Step, logged)
			last := map[string]float64{}
			for _, name := range names {
				last[name] = row[m.Column(name)]
			}
			s.Losses, s.LossValues = lossText(names, last), last
		}
	}
	if ck, st, err := LatestValid(path); err == nil {
		s.Checkpoint = filepath.Base(ck.Dir)
		s.Step = max(s.Step, st.Step)
		if st.Step > logged && len(st.Metrics.Last) > 0 {
			// A run killed after a checkpoint between train.log_every
			// rows (or stopped by a gogan that wrote no row then): its
			// checkpoint holds the losses of its step.
			s.Losses, s.LossValues = lossText(names, st.Metrics.Last), st.Metrics.Last
		}
	} else if errors.Is(err, os.ErrPermission) {
		s.Checkpoint = "unreadable"
	} else if errors.Is(err, ErrNewerFormat) {
		s.Checkpoint = "a newer gogan's"
	} else if cks, lerr := ListCheckpoints(path); lerr == nil && len(cks) == 0 {
		s.Checkpoint = "none yet" // not damage: the run has not written one
	} else {
		s.Checkpoint = "none valid"
	}
	return s
}

// lossText is "name=value ..." in the order of names (metrics.csv's
// columns), then any others by name; an empty cell (NaN: a loss the run
// no longer has) is left out.
func lossText(names []string, losses map[string]float64) string {
	var ls []string
	for _, n := range OrderedLosses(names, losses) {
		if v := losses[n]; !math.IsNaN(v) {
			ls = append(ls, n+"="+strconv.FormatFloat(v, 'g', 4, 64))
		}
	}
	return strings.Join(ls, " ")
}

// OrderedLosses is the names of losses in order (a recipe's, metrics.csv's
// columns: the references' order), then the others by name.
func OrderedLosses(order []string, losses map[string]float64) []string {
	names := make([]string, 0, len(losses))
	for _, n := range order {
		if _, ok := losses[n]; ok && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	var rest []string
	for n := range losses {
		if !slices.Contains(names, n) {
			rest = append(rest, n)
		}
	}
	sort.Strings(rest)
	return append(names, rest...)
}

// FindRuns lists the run folders (IsRun) at dir and in its subfolders,
// sorted by path; a symbolic link to a run folder (a run kept on another
// disk) is one.
func FindRuns(dir string) ([]string, error) {
	if IsRun(dir) {
		return []string{dir}, nil
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("runs: %w", err)
	}
	var runs []string
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		if fi, err := os.Stat(p); err != nil || !fi.IsDir() {
			continue
		}
		if IsRun(p) {
			runs = append(runs, p)
		}
	}
	sort.Strings(runs)
	return runs, nil
}

// IsRun says whether dir is a gogan run folder: its config.yaml is the
// effective config a run writes before its first step (so a run that
// failed before its first checkpoint is one), or, where an edit took that
// header line, the folder has a status.json or a checkpoint folder
// (checkpoints/step-*). Another tool's folder with a config.yaml is not.
// So is a folder whose RUN/.lock a process holds: a new run writes its
// config.yaml once its data are decoded, and is starting until then.
func IsRun(dir string) bool {
	r := RunDir{Path: dir}
	b, err := os.ReadFile(r.ConfigPath())
	if err != nil {
		return r.lockState() == lockHeld
	}
	if strings.HasPrefix(string(b), config.EffectiveHeader) {
		return true
	}
	if _, err := os.Stat(r.StatusPath()); err == nil {
		return true
	}
	steps, _ := filepath.Glob(filepath.Join(r.CheckpointsPath(), checkpointPref+"*"))
	return len(steps) > 0
}

// WriteSummaries prints one line per run. The state comes last: a failed
// run's reason (a sentence or two, with what to do) would otherwise pad
// every line's losses out past it.
func WriteSummaries(w io.Writer, ss []Summary) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tRECIPE\tSTEP\tCHECKPOINT\tLAST LOSSES\tSTATE")
	for _, s := range ss {
		step := strconv.Itoa(s.Step)
		if s.Total > 0 {
			step += "/" + strconv.Itoa(s.Total)
		}
		state := strings.Join(strings.Fields(s.State), " ") // one line, whatever the error held
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", pathCell(s.Path), s.Recipe, step, s.Checkpoint, s.Losses, state)
	}
	return tw.Flush()
}

// SummaryJSON is a run as gogan runs --json prints it, one object a line.
// Its keys are stable for scripts: state is one word (StateRunning ...),
// detail is the table's STATE text.
type SummaryJSON struct {
	Path       string             `json:"path"`
	Recipe     string             `json:"recipe"`
	Step       int                `json:"step"`
	Total      int                `json:"total_steps"`
	Checkpoint string             `json:"checkpoint"`
	Losses     map[string]float64 `json:"losses"`
	State      string             `json:"state"`
	Detail     string             `json:"detail"`
}

// JSON is s as gogan runs --json prints it; a loss without a value (NaN:
// one the run no longer logs) is left out, as in the table.
func (s Summary) JSON() SummaryJSON {
	losses := map[string]float64{}
	for n, v := range s.LossValues {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			losses[n] = v
		}
	}
	return SummaryJSON{Path: s.Path, Recipe: s.Recipe, Step: s.Step, Total: s.Total, Checkpoint: s.Checkpoint,
		Losses: losses, State: s.StateWord, Detail: strings.Join(strings.Fields(s.State), " ")}
}

// pathCell is a run folder's path as a cell of the table: quoted as Go
// quotes a string ("runs/a\nb") where it holds a tab, a newline or another
// control character, or bytes that are not UTF-8, which would break the
// line or the columns; as it is otherwise.
func pathCell(p string) string {
	if strings.ContainsFunc(p, func(r rune) bool { return unicode.IsControl(r) || r == utf8.RuneError }) {
		return strconv.Quote(p)
	}
	return p
}
