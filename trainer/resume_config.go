package trainer

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"gogan/config"
	"gogan/gan"
	"gogan/runfolder"
)

// checkConfigFile compares the config a resumed run read from its
// config.yaml with the one the checkpoint was saved with. A key the file
// lacks but the checkpoint has means a cut or damaged file, whose defaults
// would silently change the run: that is refused, with the checkpoint's
// config written beside the file to put back. A value the file changes
// (not through --set or a GOGAN_ variable) is reported and used.
func checkConfigFile(cfg *config.Config, rd runfolder.RunDir, ck runfolder.Checkpoint, st *runfolder.CheckpointState) error {
	saved, err := config.ParseYAML(ck.StatePath()+" (config)", []byte(st.Config))
	if err != nil {
		slog.Warn("resume: this gogan cannot read the config the checkpoint was saved with; config.yaml is not compared with it",
			"checkpoint", ck.Dir, "err", err)
		return nil
	}
	gan.TakeOlderConfig(saved, func() *runfolder.CheckpointState { return st }) // as takeOlderConfig read config.yaml's
	// These act when a run starts (its initial weights, its random
	// streams' seed); a resumed run goes on from the checkpoint's state, so
	// a new value would change nothing but what the folder says of the run.
	var fixed []string
	for _, k := range startOnlyKeys {
		now, _ := cfg.Get(k)
		was, _ := saved.Get(k)
		if !strings.HasPrefix(saved.Sources[k], "default") && fmt.Sprint(now) != fmt.Sprint(was) {
			fixed = append(fixed, fmt.Sprintf("%s %v (checkpoint: %v, from %s)", k, now, was, sourceOf(cfg, k)))
		}
	}
	if len(fixed) > 0 {
		return fmt.Errorf("resume %s: %s: %s act only when a run starts (its initial weights and the seed of its random streams), and a resumed run goes on from the checkpoint's state: "+
			"give the checkpoint's values back (in %s, or by --set), or train a new run with the new ones",
			rd.Path, strings.Join(fixed, ", "), strings.Join(startOnlyKeys, ", "), rd.ConfigPath())
	}
	var missing, changed []string
	for _, k := range config.SchemaKeys() {
		src := cfg.Sources[k]
		if slices.Contains(startOnlyKeys, k) {
			continue
		}
		if k == "out" || cfg.GivenNow(k) || strings.HasPrefix(saved.Sources[k], "default") {
			continue // where the run folder is; given now; or a key newer than the checkpoint
		}
		if strings.HasPrefix(src, "default") {
			missing = append(missing, k)
			continue
		}
		now, _ := cfg.Get(k)
		was, _ := saved.Get(k)
		if k == "device" || k == "threads" {
			continue // the machine's: config.yaml keeps its own (saveResumedConfig), the checkpoint the last resume's
		}
		if fmt.Sprint(now) != fmt.Sprint(was) {
			changed = append(changed, fmt.Sprintf("%s: %v (checkpoint: %v)", k, now, was))
		}
	}
	if len(missing) > 0 {
		keys := "keys"
		if len(missing) == 1 {
			keys = "key"
		}
		keep := filepath.Join(rd.Path, "config-"+filepath.Base(ck.Dir)+".yaml")
		if err := runfolder.AtomicWriteBytes(keep, []byte(st.Config)); err != nil {
			return fmt.Errorf("resume %s: %s lacks %d %s the checkpoint was saved with (%s), and the checkpoint's config could not be written out: %w",
				rd.Path, rd.ConfigPath(), len(missing), keys, strings.Join(missing, ", "), err)
		}
		return fmt.Errorf("resume %s: %s lacks %d %s that checkpoint %s was saved with (%s): the file is damaged or cut short, "+
			"and the run would go on with their defaults. The checkpoint's config is now in %s: check it, move it to %s and resume again "+
			"(or give the keys with --set)", rd.Path, rd.ConfigPath(), len(missing), keys, filepath.Base(ck.Dir), strings.Join(missing, ", "), keep, rd.ConfigPath())
	}
	if len(changed) > 0 {
		slog.Warn("resume: config.yaml differs from the config the checkpoint was saved with; config.yaml's values are used",
			"file", rd.ConfigPath(), "checkpoint", ck.Dir, "keys", strings.Join(changed, "; "))
	}
	return nil
}

// givenNetChanges lists the keys that shape the networks (the recipe's, the
// model's, the image's size and channels) whose values this resume's --set
// flags or GOGAN_ variables change from the config the checkpoint was saved
// with, each with both values and where it came from: a network that then
// does not load is answered with them (config.yaml's own changes are
// reported by checkConfigFile).
func givenNetChanges(cfg *config.Config, st *runfolder.CheckpointState) []string {
	saved, err := config.ParseYAML("checkpoint config", []byte(st.Config))
	if err != nil {
		return nil
	}
	var out []string
	for _, k := range config.SchemaKeys() {
		if !cfg.GivenNow(k) {
			continue
		}
		if !strings.HasPrefix(k, "model.") && !slices.Contains([]string{"recipe", "data.image_size", "data.channels", "data.label_nc", "data.no_instance"}, k) ||
			slices.Contains(notShaping, k) {
			continue
		}
		now, _ := cfg.Get(k)
		was, _ := saved.Get(k)
		if fmt.Sprint(now) != fmt.Sprint(was) {
			out = append(out, fmt.Sprintf("%s %v (checkpoint: %v, from %s)", k, now, was, sourceOf(cfg, k)))
		}
	}
	return out
}

// sourceOf says where k's value came from, as config's own errors say it:
// a file, --set, or "environment GOGAN_...".
func sourceOf(cfg *config.Config, k string) string {
	return strings.Replace(cfg.Sources[k], "env ", "environment ", 1)
}

// notShaping are the model keys that build no layer of a network the
// checkpoint holds: its initial weights' (checkConfigFile refuses those
// changed), pix2pixHD's VGG19 of the perceptual loss and a run it starts from.
var notShaping = []string{"model.init_type", "model.init_gain", "model.vgg_weights", "model.load_pretrain"}

// startOnlyKeys are the config keys that act only when a run starts.
var startOnlyKeys = []string{"seed", "model.init_type", "model.init_gain"}

// unreadableConfig is resume's error for a config.yaml that does not load
// (an editor's stray character, a file cut short): when the run's newest
// valid checkpoint holds its config, that is written beside the file to
// put back, as for a file that lacks keys. A file this user may not read
// is only named.
func unreadableConfig(dir string, err error) error {
	rd := runfolder.RunDir{Path: dir}
	b, rerr := os.ReadFile(rd.ConfigPath())
	if errors.Is(rerr, fs.ErrPermission) { // nothing to put back: the file may hold edits
		return fmt.Errorf("resume %s: %s cannot be read: %w: give this user read access to it (chmod, chown) or resume as its owner", dir, rd.ConfigPath(), rerr)
	}
	if rerr == nil {
		if _, perr := config.ParseYAML(rd.ConfigPath(), b); perr == nil {
			return err // the file reads: the error is a --set's or a GOGAN_ variable's
		}
	}
	ck, st, lerr := runfolder.LatestValid(dir)
	if lerr != nil || st.Config == "" {
		return err
	}
	if _, perr := config.ParseYAML(ck.StatePath()+" (config)", []byte(st.Config)); perr != nil {
		// no help to put back: a newer gogan's keys, in both
		return fmt.Errorf("resume %s: %w\n%s %s", dir, err, filepath.Base(ck.Dir)+":", runfolder.UnreadableConfig(ck, st, perr, true))
	}
	keep := filepath.Join(dir, "config-"+filepath.Base(ck.Dir)+".yaml")
	if werr := runfolder.AtomicWriteBytes(keep, []byte(st.Config)); werr != nil {
		return err
	}
	return fmt.Errorf("resume %s: %w\nthe config checkpoint %s was saved with is now in %s: check it (or fix %s), move it to %s and resume again",
		dir, err, filepath.Base(ck.Dir), keep, rd.ConfigPath(), rd.ConfigPath())
}

// saveResumedConfig makes config.yaml the resumed run's effective config
// (its --set and GOGAN_ values included), so that the resume command a
// stopped run prints continues with the settings it ran with, e.g. an
// extended train.max_steps.
//
// device and threads stay as the file has them: they belong to the
// machine a resume ran on, not to the run (a resume on a GPU host with
// --set device=cuda:1 must not tie the folder to it). A value there this
// gogan refuses, which a --set replaced, gives way to the run's, so the
// next resume reads.
func saveResumedConfig(cfg *config.Config, rd runfolder.RunDir) error {
	old, err := os.ReadFile(rd.ConfigPath())
	if err != nil {
		return err
	}
	save := *cfg
	if file, err := config.ParseYAML(rd.ConfigPath(), old); err == nil {
		save.Device, save.Threads = file.Device, file.Threads
	} else {
		// a value this gogan refuses, given another by --set on this resume
		// (the config read): the file's device and threads where this gogan
		// takes them, else (refused, so given now) the ones the run uses
		var raw map[string]any
		if yaml.Unmarshal(old, &raw) != nil {
			return err
		}
		if v, ok := fileValue(raw, "device"); ok {
			save.Device = v.(string)
		}
		if v, ok := fileValue(raw, "threads"); ok {
			save.Threads = int(v.(int64))
		}
	}
	y, err := save.YAML()
	if err != nil {
		return err
	}
	if bytes.Equal(old, y) {
		return nil
	}
	return runfolder.AtomicWriteBytes(rd.ConfigPath(), y)
}

// fileValue is the value of the top-level key name in a config file's
// YAML, if the file holds one this gogan takes.
func fileValue(raw map[string]any, name string) (any, bool) {
	k, _ := config.LookupKey(name)
	v, ok := raw[name]
	if !ok {
		return nil, false
	}
	v, err := k.FromYAML(v)
	return v, err == nil
}

// takeOlderConfig corrects the config.yaml of a resumed run for values an
// older gogan wrote that the run never read (gan.TakeOlderConfig), reading
// its newest checkpoint's state only where the recipe asks (pix2pixhd's
// train.pool_size), before the recipe is built from it.
func takeOlderConfig(cfg *config.Config, dir string) {
	if why := gan.TakeOlderConfig(cfg, func() *runfolder.CheckpointState { return runfolder.NewestState(dir) }); why != "" {
		slog.Info("resume: config.yaml's "+why, "file", filepath.Join(dir, "config.yaml"))
	}
}
