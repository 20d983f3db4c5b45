package runfolder

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"gogan/config"
)

// RunDir is a run folder:
//
//	RUN/config.yaml          effective config
//	RUN/metrics.csv          one row every train.log_every steps
//	RUN/loss.png             loss plot of metrics.csv
//	RUN/samples/latest.png   newest sample grid
//	RUN/samples/epoch-0001.png  grid at the end of each epoch
//	RUN/samples/real_samples.png  DCGAN: the real batch of the newest train.sample_every grid (or of the epoch's first step)
//	RUN/checkpoints/step-00001234/{weights.safetensors,state.json}
//	RUN/index.html           report
type RunDir struct{ Path string }

// NewRunDir creates the run folder and its samples folder.
func NewRunDir(path string) (RunDir, error) {
	r := RunDir{Path: path}
	if err := os.MkdirAll(r.SamplesDir(), 0o755); err != nil {
		if f := fileInTheWay(path); f != "" {
			return r, fmt.Errorf("run folder %s: %s is a file, not a folder: give the run a folder's path", path, f)
		}
		return r, fmt.Errorf("run folder: %w", err)
	}
	return r, nil
}

// Unwritable is the first of the run folder's paths that a run writes
// into (the folder, its lock, metrics.csv, which is appended to, and the
// folders of its checkpoints, grids and TensorBoard files, whose old
// checkpoints it prunes) that this user may not write: a copy owned by
// another user, a zip's read-only files, a read-only mount. "" if none.
func (r RunDir) Unwritable() (string, error) {
	paths := []string{r.Path, filepath.Join(r.Path, LockFile), r.MetricsPath(), r.CheckpointsPath(), r.SamplesDir(), r.TensorBoardDir()}
	cks, _ := ListCheckpoints(r.Path)
	for _, c := range cks {
		paths = append(paths, c.Dir)
	}
	for _, p := range paths {
		if err := unix.Access(p, unix.W_OK); err != nil && !os.IsNotExist(err) {
			return p, err
		}
	}
	return "", nil
}

// fileInTheWay is the outermost of path and its parents that exists and is
// not a folder (mkdir's ENOTDIR names only some of them), or "".
func fileInTheWay(path string) string {
	var chain []string
	for p := filepath.Clean(path); ; p = filepath.Dir(p) {
		chain = append(chain, p)
		if p == filepath.Dir(p) {
			break
		}
	}
	for i := len(chain) - 1; i >= 0; i-- {
		if fi, err := os.Stat(chain[i]); err == nil && !fi.IsDir() {
			return chain[i]
		}
	}
	return ""
}

func (r RunDir) ConfigPath() string       { return filepath.Join(r.Path, "config.yaml") }
func (r RunDir) MetricsPath() string      { return filepath.Join(r.Path, "metrics.csv") }
func (r RunDir) LossPlotPath() string     { return filepath.Join(r.Path, "loss.png") }
func (r RunDir) ReportPath() string       { return filepath.Join(r.Path, "index.html") }
func (r RunDir) SamplesDir() string       { return filepath.Join(r.Path, "samples") }
func (r RunDir) LatestSamplePath() string { return filepath.Join(r.SamplesDir(), "latest.png") }
func (r RunDir) RealSamplePath() string   { return filepath.Join(r.SamplesDir(), "real_samples.png") }
func (r RunDir) TensorBoardDir() string   { return filepath.Join(r.Path, "tb") }
func (r RunDir) CheckpointsPath() string  { return filepath.Join(r.Path, CheckpointsDir) }

// EpochSamplePath is the grid written at the end of epoch (as the loop numbers epochs).
func (r RunDir) EpochSamplePath(epoch int) string {
	return filepath.Join(r.SamplesDir(), fmt.Sprintf("epoch-%04d.png", epoch))
}

// EpochSamples lists the epoch grids, oldest first, by epoch number.
func (r RunDir) EpochSamples() ([]EpochSample, error) {
	ents, err := os.ReadDir(r.SamplesDir())
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	var out []EpochSample
	for _, e := range ents {
		name := e.Name()
		num, ok := strings.CutPrefix(name, "epoch-")
		if !ok || !strings.HasSuffix(num, ".png") {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSuffix(num, ".png"))
		if err != nil {
			continue
		}
		out = append(out, EpochSample{Epoch: n, Path: filepath.Join(r.SamplesDir(), name)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Epoch < out[j].Epoch })
	return out, nil
}

// EpochSample is one epoch's sample grid.
type EpochSample struct {
	Epoch int
	Path  string
}

// WriteConfig saves the effective config as RUN/config.yaml.
func (r RunDir) WriteConfig(c *config.Config) error {
	y, err := c.YAML()
	if err != nil {
		return err
	}
	return AtomicWriteBytes(r.ConfigPath(), y)
}

// MissingDirs are the folders os.MkdirAll(dir) would make, outermost first:
// what a command that fails may remove again.
func MissingDirs(dir string) []string {
	var missing []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil || d == filepath.Dir(d) {
			break
		}
		missing = append([]string{d}, missing...)
	}
	return missing
}

// RemoveEmptyDirs undoes MissingDirs' folders, innermost first, while they
// are empty: one that holds anything (another run made meanwhile) stays,
// and so do the folders around it.
func RemoveEmptyDirs(made []string) {
	for i := len(made) - 1; i >= 0 && os.Remove(made[i]) == nil; i-- {
	}
}

// Foreign lists what of a folder a new run there would write over though
// no run wrote it (a config file kept beside its experiment, someone's
// index.html): nothing when the folder is missing or a gogan run's (its
// config.yaml is an effective config). Empty folders of those names count
// for nothing.
func Foreign(dir string) []string {
	r := RunDir{Path: dir}
	if b, err := os.ReadFile(r.ConfigPath()); err == nil && strings.HasPrefix(string(b), config.EffectiveHeader) {
		return nil
	}
	var found []string
	// what a run writes in its folder
	for _, path := range []string{r.ConfigPath(), r.MetricsPath(), r.LossPlotPath(), r.ReportPath(), r.StatusPath(),
		r.SamplesDir(), r.CheckpointsPath(), r.TensorBoardDir()} {
		name := filepath.Base(path)
		fi, err := os.Lstat(path)
		if err != nil {
			continue
		}
		if fi.IsDir() {
			if ents, err := os.ReadDir(path); err == nil && len(ents) == 0 {
				continue
			}
			name += "/"
		}
		found = append(found, name)
	}
	return found
}
