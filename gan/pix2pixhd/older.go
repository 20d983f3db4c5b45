package pix2pixhd

import (
	"encoding/json"
	"fmt"

	"gogan/config"
	"gogan/runfolder"
)

// olderPoolSize is the recipe's Definition.OlderConfig: a gogan before
// pix2pixHD's --pool_size had train.pool_size as CycleGAN's key and wrote
// it, at CycleGAN's default 50, into every run's config.yaml and
// checkpoints, while pix2pixhd trained without a pool. A checkpoint of a
// pool (train.pool_size > 0) always holds the pool's state (the recipe's
// host state in state.json's schedule); one without it, trained here (not
// imported: an import's pool starts empty), had none. Read as the size it
// says, such a run would go on with a pool of 50, whose answers change D's
// inputs once it is full: it is 0, where c's value is the checkpoint's own
// (config.yaml edited since asks for a pool).
func olderPoolSize(c *config.Config, state func() *runfolder.CheckpointState) string {
	if c.Train.PoolSize == 0 || c.GivenNow("train.pool_size") {
		return ""
	}
	st := state()
	if st == nil || len(st.Loader) == 0 || string(st.Loader) == "null" {
		return ""
	}
	var sched struct {
		Recipe json.RawMessage `json:"recipe"`
	}
	if json.Unmarshal(st.Schedule, &sched) != nil || len(sched.Recipe) > 0 && string(sched.Recipe) != "null" {
		return ""
	}
	saved, err := config.ParseYAML("checkpoint config", []byte(st.Config))
	if err != nil || saved.Train.PoolSize != c.Train.PoolSize {
		return ""
	}
	why := fmt.Sprintf("train.pool_size %d was not read by the gogan that wrote the checkpoint (%s, one before pix2pixHD's pool, to which it was CycleGAN's key, written at 50 into every run's config): this pix2pixhd run trained without an image pool and is taken as it trained, with train.pool_size 0 (--set train.pool_size=N gives it a pool)",
		c.Train.PoolSize, runfolder.WrittenBy(st))
	c.Train.PoolSize = 0
	return why
}
