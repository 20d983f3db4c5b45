package runfolder

import (
	"fmt"
	"os"
	"path/filepath"

	"gogan/config"
)

// OpenCheckpoint finds a checkpoint: path is a checkpoint folder
// (RUN/checkpoints/step-N) or a run folder (its newest valid checkpoint). It
// returns the checkpoint, its state and the config it was trained with.
func OpenCheckpoint(path string) (Checkpoint, *CheckpointState, *config.Config, error) {
	var ck Checkpoint
	var st *CheckpointState
	var err error
	if _, serr := os.Stat(filepath.Join(path, StateFile)); serr == nil {
		var step int
		if _, err := fmt.Sscanf(filepath.Base(path), checkpointPref+"%d", &step); err != nil {
			return ck, nil, nil, fmt.Errorf("checkpoint %s: folder name is not step-N", path)
		}
		ck = Checkpoint{Dir: path, Step: step}
		if st, err = ValidateCheckpoint(ck); err != nil {
			return ck, nil, nil, fmt.Errorf("checkpoint %s: %w", path, err)
		}
	} else if ck, st, err = LatestValid(path); err != nil {
		return ck, nil, nil, fmt.Errorf("checkpoint %s: neither a checkpoint folder (no %s) nor a run folder with a valid checkpoint: %w", path, StateFile, err)
	}
	cfg, err := configFromText(st.Config)
	if err != nil {
		return ck, nil, nil, fmt.Errorf("checkpoint %s: its config: %w", ck.Dir, err)
	}
	return ck, st, cfg, nil
}

// configFromText loads a config saved as YAML text in a checkpoint.
func configFromText(y string) (*config.Config, error) {
	f, err := os.CreateTemp("", "gogan-config-*.yaml")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString(y); err != nil {
		f.Close()
		return nil, err
	}
	f.Close()
	return config.LoadConfig(f.Name(), nil)
}
