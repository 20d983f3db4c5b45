package runfolder

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
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
		what := "is a file"
		if filepath.Base(path) == WeightsFile {
			what = "is a checkpoint's weights file"
		} else if w, imp := ImportHint(path); w != "" {
			what = w + " (import it first: " + imp + ")"
		}
		return ck, nil, nil, fmt.Errorf("checkpoint %s %s: give its checkpoint folder (RUN/checkpoints/step-N) or the run folder", path, what)
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
		if what, imp := ImportHint(path); what != "" {
			return ck, nil, nil, fmt.Errorf("checkpoint %s %s, not a gogan checkpoint: import them first (%s) and give RUN", path, what, imp)
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

// mainPyFile is pytorch/examples dcgan's name of the files main.py saves
// after each epoch into its --outf.
var mainPyFile = regexp.MustCompile(`^net([GD])_epoch_([0-9]{1,9})\.pth$`)

// ImportHint says what path is ("is ...", "holds ...") where it is a
// reference's own saved networks, not a gogan run, and the gogan import
// that makes a run of them: a .pth file, a pytorch-CycleGAN-and-pix2pix or
// pix2pixHD checkpoints/NAME folder, or main.py's --outf folder of
// netG_epoch_N.pth files (its newest epoch's, main.py's --netG and --netD
// to continue), which a main.py user gives where a run goes. "" for
// anything else.
func ImportHint(path string) (what, command string) {
	if fi, err := os.Stat(path); err == nil && !fi.IsDir() {
		if !strings.HasSuffix(path, ".pth") {
			return "", ""
		}
		m := mainPyFile.FindStringSubmatch(filepath.Base(path))
		if m == nil {
			return "is a PyTorch file", "gogan import --config CONFIG --net ROLE=" + path + " --out RUN"
		}
		g := filepath.Join(filepath.Dir(path), "netG_epoch_"+m[2]+".pth")
		return "is a PyTorch file of pytorch/examples dcgan's main.py", mainPyImport(g, filepath.Join(filepath.Dir(path), "netD_epoch_"+m[2]+".pth"))
	}
	if pths, _ := filepath.Glob(filepath.Join(path, "*_net_*.pth")); len(pths) > 0 {
		return "holds the reference's networks (" + filepath.Base(pths[0]) + ")", "gogan import --from " + path + " --out RUN"
	}
	pths, _ := filepath.Glob(filepath.Join(path, "netG_epoch_*.pth"))
	newest := -1
	for _, p := range pths {
		if m := mainPyFile.FindStringSubmatch(filepath.Base(p)); m != nil {
			if n, _ := strconv.Atoi(m[2]); n > newest {
				newest = n
			}
		}
	}
	if newest < 0 {
		return "", ""
	}
	g := filepath.Join(path, fmt.Sprintf("netG_epoch_%d.pth", newest))
	return fmt.Sprintf("holds pytorch/examples dcgan's networks (%s, its newest epoch's)", filepath.Base(g)),
		mainPyImport(g, filepath.Join(path, fmt.Sprintf("netD_epoch_%d.pth", newest)))
}

// mainPyImport is the gogan import of main.py's generator file g and,
// where it is there, its discriminator file d of the same epoch.
func mainPyImport(g, d string) string {
	cmd := "gogan import --config CONFIG"
	if _, err := os.Stat(g); err == nil {
		cmd += " --pth " + g
	}
	if _, err := os.Stat(d); err == nil {
		cmd += " --pth-d " + d
	}
	return cmd + " --out RUN"
}
