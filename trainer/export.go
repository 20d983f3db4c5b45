package trainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	torch "gogan/cgo"
	"gogan/data"
	"gogan/gan"
	"gogan/runfolder"
)

// ExportOptions say which checkpoint gogan export writes where.
type ExportOptions struct {
	Checkpoint string // a checkpoint folder, or a run folder (its newest valid checkpoint)
	Out        string // the folder the files go in (created)
	Label      string // the reference's epoch label in the file names; "" = its default
	Force      bool   // replace files of the same names
	// Stop, closed (SIGINT, SIGTERM), ends the export before its files are
	// renamed into place: ErrExportStopped, the folder as it was.
	Stop <-chan struct{}
}

// ErrExportStopped is an export ended by ExportOptions.Stop: no file was
// written and the folders it made are removed.
var ErrExportStopped = errors.New("export: stopped before its files were complete; nothing was written")

// stopWriter fails a write once stop is closed, so that a stopped export
// removes its temps instead of finishing (or leaving) them.
type stopWriter struct {
	w    io.Writer
	stop <-chan struct{}
}

func (s stopWriter) Write(p []byte) (int, error) {
	select {
	case <-s.stop:
		return 0, ErrExportStopped
	default:
	}
	return s.w.Write(p)
}

// Exported is what Export wrote.
type Exported struct {
	Checkpoint string
	Step       int
	Recipe     string
	gan.Export
	Paths  []string // Export.Files' paths, in order
	Params []int64  // each network's parameter count
	// TextPaths are Export.Texts' paths, in order; TextKept says which
	// of them the folder held already, word for word.
	TextPaths []string
	TextKept  []bool
}

// Export writes a checkpoint's networks as the recipe's reference
// implementation saves them (gan.Definition.Export): each network's state
// dict with torch.save's format and the reference's file name, so that its
// test.py, train.py --continue_train or main.py --netG load them, and the
// small files it reads beside them. Each network is built and loaded
// strictly first, so a checkpoint that does not hold it whole is refused;
// existing files are kept unless o.Force; the files are written under temp
// names and renamed into place together, so a failure leaves the folder as
// it was (and removes the folders this call made).
func Export(o ExportOptions) (*Exported, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := checkLabel(o.Label); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	if strings.TrimSpace(o.Out) == "" {
		return nil, fmt.Errorf("export: --out is empty: give the folder to write the .pth files into")
	}
	ck, st, cfg, err := runfolder.OpenCheckpoint(o.Checkpoint)
	if err != nil {
		return nil, err
	}
	gan.TakeOlderConfig(cfg, func() *runfolder.CheckpointState { return st }) // the commands say how the run trained
	// A run prunes its checkpoint folders whole, with whatever is in them.
	if ckpts := filepath.Dir(ck.Dir); filepath.Base(ckpts) == runfolder.CheckpointsDir && runfolder.Within(o.Out, ckpts) {
		return nil, fmt.Errorf("export: --out %s is inside %s, whose folders the run removes as it keeps its newest checkpoints: give a folder outside it", o.Out, ckpts)
	}
	def, err := gan.For(cfg)
	if err != nil {
		return nil, err
	}
	if def.Export == nil {
		return nil, fmt.Errorf("export: recipe %s has no reference implementation whose files gogan writes", cfg.Recipe)
	}
	dir, err := filepath.Abs(o.Out)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return nil, fmt.Errorf("export: --out %s is a file: give a folder (the reference's checkpoints/NAME)", o.Out)
	}
	eo := gan.ExportOptions{Dir: dir, Label: o.Label, CUDA: torch.CUDADeviceCount() > 0}
	eo.Epoch, eo.Completed, eo.EpochImages = position(st)
	e := def.Export(cfg, eo)
	res := &Exported{Checkpoint: ck.Dir, Step: ck.Step, Recipe: cfg.Recipe, Export: e}
	var paths []string
	for _, f := range e.Files {
		paths = append(paths, filepath.Join(dir, f.Name))
	}
	// A text the folder holds already, word for word (another label of
	// the run exported there), is kept: one per folder, as the
	// reference's, and no reason to refuse the networks' files.
	texts := e.Texts[:0:0]
	for _, t := range e.Texts {
		p := filepath.Join(dir, t.Name)
		b, err := os.ReadFile(p)
		kept := err == nil && string(b) == t.Text
		res.TextPaths, res.TextKept = append(res.TextPaths, p), append(res.TextKept, kept)
		if kept {
			continue
		}
		texts = append(texts, t)
		paths = append(paths, p)
	}
	for i, p := range paths {
		if _, err := os.Stat(p); err == nil && !o.Force {
			if i >= len(e.Files) { // iter.txt and such: one per folder, whatever the label
				return nil, fmt.Errorf("export: %s already exists, with other contents than this export's (another run's or checkpoint's); choose another --out, or --force to replace it", p)
			}
			return nil, fmt.Errorf("export: %s already exists; choose another --out or --label, or --force to replace it", p)
		} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("export: %w", err)
		}
	}
	res.Paths = paths[:len(e.Files)]
	ws, meta, err := torch.LoadSafetensors(ck.WeightsPath())
	if err != nil {
		return nil, ck.Removed(err)
	}
	defer torch.FreeNamed(ws)
	initial := strings.Split(meta[runfolder.InitialNetsKey], ",")
	var writes []func(io.Writer) error
	for i, f := range e.Files {
		if slices.Contains(initial, f.Role) {
			res.Notes = append(res.Notes, fmt.Sprintf("%s is network %s's initial random weights (gogan import was given no file for it): the reference loads it as if trained", filepath.Base(paths[i]), f.Role))
		}
		n, err := gan.NetFromWeights(cfg, ws, f.Role, torch.CPUDevice)
		if err != nil {
			return nil, fmt.Errorf("checkpoint %s: %w", ck.Dir, err)
		}
		defer n.Free()
		res.Params = append(res.Params, n.NumParams())
		writes = append(writes, func(w io.Writer) error { return torch.WritePTH(stopWriter{w, o.Stop}, n.StateDict()) })
	}
	for _, t := range texts {
		writes = append(writes, func(w io.Writer) error { _, err := io.WriteString(stopWriter{w, o.Stop}, t.Text); return err })
	}
	made, err := mkdirAll(dir)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	// The temps an export killed mid-file left of these files: no resume
	// cleans this folder.
	runfolder.LogRemovedTemps(runfolder.RemoveStaleTempsOf(paths, runfolder.ProcessStart))
	// Without --force, files that appeared since the check above (another
	// export into the folder) are not replaced either.
	write := runfolder.AtomicCreateFiles
	if o.Force {
		write = runfolder.AtomicWriteFiles
	}
	if err := write(paths, writes); err != nil {
		runfolder.RemoveEmptyDirs(made) // empty again: the files went to temps, now removed
		if errors.Is(err, ErrExportStopped) {
			return nil, ErrExportStopped
		}
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("export: %w; choose another --out or --label, or --force to replace it", err)
		}
		return nil, fmt.Errorf("export: %w", err)
	}
	return res, nil
}

// checkLabel refuses a label that would put files outside the folder.
func checkLabel(label string) error {
	if label != "" && strings.TrimSpace(label) != label {
		return fmt.Errorf("--label %q begins or ends with a space; give a name such as latest or 10", label)
	}
	if label != "" && (strings.ContainsAny(label, `/\`+"\x00") || label == "." || label == "..") {
		return fmt.Errorf("--label %q would leave the folder; give a name such as latest or 10", label)
	}
	return nil
}

// mkdirAll is os.MkdirAll that returns the folders it made, outermost first.
func mkdirAll(dir string) ([]string, error) {
	missing := runfolder.MissingDirs(dir)
	return missing, os.MkdirAll(dir, 0o755)
}

// removeMade undoes a new run folder, while this process holds its lock:
// out itself, when this process made it (the last of made), and then the
// parents it made that are still empty (another run may have been made in
// one meanwhile).
func removeMade(out string, made []string) {
	if len(made) == 0 || made[len(made)-1] != filepath.Clean(out) {
		// A folder that was there: only what the start added to it (an
		// empty samples/, the lock file no one else holds).
		rd := runfolder.RunDir{Path: out}
		os.Remove(rd.SamplesDir())
		os.Remove(filepath.Join(out, runfolder.LockFile))
		return
	}
	os.RemoveAll(made[len(made)-1])
	runfolder.RemoveEmptyDirs(made[:len(made)-1])
}

// position is where a checkpoint's run stands: the 0-based epoch its
// weights were trained in (the last one finished when the checkpoint ends
// an epoch, as main.py names the checkpoint it saves then, else the one in
// progress), the epochs finished, and the images of the next one trained.
func position(st *runfolder.CheckpointState) (trained, completed, images int) {
	completed, trained = st.Epoch, st.Epoch
	var pos data.LoaderState
	if string(st.Loader) == "null" || len(st.Loader) == 0 {
		// An imported checkpoint: the images of the next epoch are what
		// it was imported with (pix2pixHD's iter.txt).
		// Otherwise it stands at an epoch's start, as pos's zeros say.
		var ls loopState
		if json.Unmarshal(st.Schedule, &ls) == nil && ls.ImportedSamples > 0 {
			return completed, completed, ls.ImportedSamples
		}
	} else if json.Unmarshal(st.Loader, &pos) != nil {
		return trained, completed, 0
	}
	if pos.Batch == 0 && completed > 0 {
		trained = completed - 1
	}
	images = min(pos.Batch*pos.BatchSize*max(1, pos.World), pos.Samples)
	return trained, completed, images
}
