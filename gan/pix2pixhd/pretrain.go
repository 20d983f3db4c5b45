package pix2pixhd

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"
	"strings"

	torch "gogan/cgo"
	"gogan/gan"
	"gogan/runfolder"
)

// openPretrain finds model.load_pretrain's checkpoint and checks that it is
// a pix2pixhd run's, trained in direction.
func openPretrain(path, direction string) (runfolder.Checkpoint, error) {
	ck, _, cfg, err := runfolder.OpenCheckpoint(path)
	if err != nil {
		return ck, fmt.Errorf("model.load_pretrain: %w", err)
	}
	if cfg.Recipe != "pix2pixhd" {
		return ck, fmt.Errorf("model.load_pretrain %s is a %s run: give a pix2pixhd run (its global stage, say)", ck.Dir, cfg.Recipe)
	}
	if cfg.Data.Direction != direction {
		return ck, fmt.Errorf("model.load_pretrain %s was trained with data.direction=%s, this run has %s: its networks learned the other translation; set data.direction=%s (or load a run trained %s)",
			ck.Dir, cfg.Data.Direction, direction, cfg.Data.Direction, direction)
	}
	return ck, nil
}

// loadPretrainOrNewest is loadPretrain of ck, checkFiles' find at path,
// or, where ck is gone since (a global stage still training prunes its
// checkpoints while this run's data were read), of path's newest now.
func loadPretrainOrNewest(ck runfolder.Checkpoint, path, direction string, ns []gan.Net) error {
	err := loadPretrain(ck, ns)
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	now, oerr := openPretrain(path, direction)
	if oerr != nil {
		return errors.Join(err, oerr)
	}
	slog.Warn("pix2pixhd: model.load_pretrain's checkpoint was removed while the data were read (its run is training?): loading its newest", "removed", ck.Dir, "loading", now.Dir)
	return loadPretrain(now, ns)
}

// loadPretrain is the reference's load_network with --load_pretrain: each
// network takes the checkpoint's tensors of the names it has (a
// LocalEnhancer takes the global generator's layers, "model.*", and leaves
// its enhancer as initialised); a name with another shape is an error. ck
// is openPretrain's checkpoint.
func loadPretrain(ck runfolder.Checkpoint, ns []gan.Net) error {
	weights := ck.WeightsPath()
	ts, _, err := torch.LoadSafetensors(weights)
	if err != nil {
		return fmt.Errorf("model.load_pretrain: %w", err)
	}
	defer torch.FreeNamed(ts)
	for _, n := range ns {
		saved := map[string]*torch.Tensor{}
		for _, nt := range gan.RoleStateDict(ts, n.Role) {
			saved[nt.Name] = nt.Tensor
		}
		var sd []torch.Named
		var missing []string
		for _, nt := range n.Net.StateDict() {
			src, ok := saved[nt.Name]
			if !ok {
				missing = append(missing, nt.Name)
				continue
			}
			if want := nt.Tensor.Shape(); !slices.Equal(src.Shape(), want) {
				return fmt.Errorf("model.load_pretrain %s: %s.%s has shape %v there and %v in this run: the networks differ (label_nc, instance maps, model.instance_feat / label_feat and feat_num, model.ngf/ndf, nef, n_downsample_global; a local G's ngf is half the global run's)",
					weights, n.Role, nt.Name, src.Shape(), want)
			}
			sd = append(sd, torch.Named{Name: nt.Name, Tensor: src})
		}
		if len(sd) == 0 {
			return fmt.Errorf("model.load_pretrain %s: it has no tensor of network %s: is it a pix2pixhd run?", weights, n.Role)
		}
		if err := torch.Try(func() {
			torch.NoGrad(func() {
				own := map[string]*torch.Tensor{}
				for _, nt := range n.Net.StateDict() {
					own[nt.Name] = nt.Tensor
				}
				for _, nt := range sd {
					own[nt.Name].CopyFrom(nt.Tensor)
				}
			})
		}); err != nil {
			return fmt.Errorf("model.load_pretrain %s: network %s: %w", weights, n.Role, err)
		}
		slog.Info("pix2pixhd: pretrained weights loaded", "net", n.Role, "from", weights, "tensors", len(sd),
			"not_initialised", summarize(missing))
	}
	return nil
}

// summarize is the top-level layers of a list of state-dict keys.
func summarize(keys []string) string {
	var tops []string
	for _, k := range keys {
		top, _, _ := strings.Cut(k, ".")
		if !slices.Contains(tops, top) {
			tops = append(tops, top)
		}
	}
	return strings.Join(tops, ", ")
}
