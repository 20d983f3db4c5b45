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
	"strings"

	torch "gogan/cgo"
	"gogan/config"
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
}

// Exported is what Export wrote.
type Exported struct {
	Checkpoint string
	Step       int
	Recipe     string
	gan.Export
	Paths  []string // Export.Files' paths, in order
	Params []int64  // each network's parameter count
}

// Export writes a checkpoint's networks as the recipe's reference
// implementation saves them (gan.Definition.Export): each network's state
// dict with torch.save's format and the reference's file name, so that its
// test.py, train.py --continue_train or main.py --netG load them. Each
// network is built and loaded strictly first, so a checkpoint that does not
// hold it whole is refused; each file is written atomically, existing files
// are kept unless o.Force, and a failure removes the files this call
// created.
func Export(o ExportOptions) (*Exported, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	ck, st, cfg, err := runfolder.OpenCheckpoint(o.Checkpoint)
	if err != nil {
		return nil, err
	}
	def, err := gan.For(cfg)
	if err != nil {
		return nil, err
	}
	if def.Export == nil {
		return nil, fmt.Errorf("export: recipe %s has no reference implementation whose files gogan writes", cfg.Recipe)
	}
	if o.Label != "" && (strings.ContainsAny(o.Label, `/\`+"\x00") || o.Label == "." || o.Label == "..") {
		return nil, fmt.Errorf("export: --label %q would leave the output folder; give a name such as latest or 10", o.Label)
	}
	dir, err := filepath.Abs(o.Out)
	if err != nil {
		return nil, err
	}
	e := def.Export(cfg, gan.ExportOptions{Dir: dir, Label: o.Label, Epoch: trainedEpoch(st)})
	res := &Exported{Checkpoint: ck.Dir, Step: ck.Step, Recipe: cfg.Recipe, Export: e}
	for _, f := range e.Files {
		p := filepath.Join(dir, f.Name)
		if _, err := os.Stat(p); err == nil && !o.Force {
			return nil, fmt.Errorf("export: %s already exists; choose another --out or --label, or --force to replace it", p)
		} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("export: %w", err)
		}
		res.Paths = append(res.Paths, p)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	ws, _, err := torch.LoadSafetensors(ck.WeightsPath())
	if err != nil {
		return nil, err
	}
	defer torch.FreeNamed(ws)
	var created []string
	for i, f := range e.Files {
		n, err := writeNetPTH(cfg, ck, ws, f.Role, res.Paths[i], &created)
		if err != nil {
			for _, p := range created {
				os.Remove(p)
			}
			return nil, err
		}
		res.Params = append(res.Params, n)
	}
	return res, nil
}

// writeNetPTH builds the config's network of the given role, loads its
// weights from ws strictly, and writes its state dict to path as torch.save
// does; created gets path when it did not exist before.
func writeNetPTH(cfg *config.Config, ck runfolder.Checkpoint, ws []torch.Named, role, path string, created *[]string) (int64, error) {
	spec, err := gan.NetSpecOf(cfg, role)
	if err != nil {
		return 0, fmt.Errorf("checkpoint %s: %w", ck.Dir, err)
	}
	n, err := spec.Build(spec.Options, torch.CPUDevice)
	if err != nil {
		return 0, err
	}
	defer n.Free()
	if err := n.LoadStateDict(gan.RoleStateDict(ws, role)); err != nil {
		return 0, fmt.Errorf("checkpoint %s: network %s: %w", ck.Dir, role, err)
	}
	_, statErr := os.Stat(path)
	if err := runfolder.AtomicWriteFile(path, func(w io.Writer) error { return torch.WritePTH(w, n.StateDict()) }); err != nil {
		return 0, fmt.Errorf("export: %w", err)
	}
	if statErr != nil {
		*created = append(*created, path)
	}
	return n.NumParams(), nil
}

// trainedEpoch is the 0-based epoch a checkpoint's weights were trained in:
// the last one finished when the checkpoint ends an epoch (as main.py
// names the checkpoint it saves then), else the one in progress.
func trainedEpoch(st *runfolder.CheckpointState) int {
	var pos data.LoaderState
	if st.Epoch > 0 && json.Unmarshal(st.Loader, &pos) == nil && pos.Batch == 0 {
		return st.Epoch - 1
	}
	return st.Epoch
}
