package runfolder

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"gogan/config"
)

// OpenCheckpoint finds a checkpoint: path is a checkpoint folder
// (RUN/checkpoints/step-N) or a run folder (its newest valid checkpoint). It
// returns the checkpoint, its state and the config it was trained with.
func OpenCheckpoint(path string) (Checkpoint, *CheckpointState, *config.Config, error) {
	var ck Checkpoint
	var st *CheckpointState
	var err error
	fi, serr := os.Stat(path)
	if errors.Is(serr, fs.ErrNotExist) {
		return ck, nil, nil, fmt.Errorf("checkpoint %s: no such folder", path)
	}
	if serr == nil && !fi.IsDir() {
		what := "a file"
		switch {
		case filepath.Base(path) == WeightsFile:
			what = "a checkpoint's weights file"
		case strings.HasSuffix(path, ".pth"):
			what = "a PyTorch file (import it first: gogan import --config CONFIG --net ROLE=" + path + " --out RUN)"
		}
		return ck, nil, nil, fmt.Errorf("checkpoint %s is %s: give its checkpoint folder (RUN/checkpoints/step-N) or the run folder", path, what)
	}
	if _, serr := os.Stat(filepath.Join(path, StateFile)); serr == nil {
		var step int
		if _, err := fmt.Sscanf(filepath.Base(path), checkpointPref+"%d", &step); err != nil {
			return ck, nil, nil, fmt.Errorf("checkpoint %s: folder name is not step-N", path)
		}
		ck = Checkpoint{Dir: filepath.Clean(path), Step: step}
		if st, err = ValidateCheckpoint(ck); err != nil {
			return ck, nil, nil, fmt.Errorf("checkpoint %s: %w", path, err)
		}
	} else if ck, st, err = LatestValid(path); errors.Is(err, fs.ErrPermission) || errors.Is(err, ErrNewerFormat) {
		return ck, nil, nil, err
	} else if err != nil {
		if pths, _ := filepath.Glob(filepath.Join(path, "*_net_*.pth")); len(pths) > 0 {
			return ck, nil, nil, fmt.Errorf("checkpoint %s holds the reference's networks (%s), not a gogan checkpoint: import them first (gogan import --from %s --out RUN) and give RUN", path, filepath.Base(pths[0]), path)
		}
		if _, cerr := os.Stat(filepath.Join(path, "config.yaml")); cerr == nil && errors.Is(err, ErrNoCheckpoint) {
			if cks, _ := ListCheckpoints(path); len(cks) == 0 {
				if st, err := (RunDir{Path: path}).ReadStatus(); err == nil && st.State == StateRunning {
					if d := (RunDir{Path: path}).Describe(st); strings.HasPrefix(d, "running") {
						return ck, nil, nil, fmt.Errorf("checkpoint %s: the run folder has no checkpoint yet: the run is %s and writes its first at step train.checkpoint_every, at its end, when stopped by SIGINT/SIGTERM, or at once at SIGUSR1 (kill -USR1 %d where it runs), which leaves it training", path, d, st.PID)
					}
				}
				return ck, nil, nil, fmt.Errorf("checkpoint %s: the run folder has no checkpoint: the run ended before writing its first (killed, or failed early: gogan runs %s says how)", path, path)
			}
		}
		return ck, nil, nil, fmt.Errorf("checkpoint %s: neither a checkpoint folder (no %s) nor a run folder with a valid checkpoint: %w", path, StateFile, err)
	}
	// The config the checkpoint was trained with, as it is: GOGAN_*
	// variables left in the shell must not change the network it builds.
	cfg, err := config.ParseYAML(ck.StatePath()+" (config)", []byte(st.Config))
	if err != nil {
		return ck, nil, nil, fmt.Errorf("checkpoint %s: its config: %w\n%s", ck.Dir, err, UnreadableConfig(ck, st, err, false))
	}
	return ck, st, cfg, nil
}
