package runfolder

import (
	"encoding/json"
	"os"

	"gogan/config"
)

// InertPoolSize says whether cfg, the config of a pix2pixhd checkpoint
// whose state is st, holds a train.pool_size that its run never read: a
// gogan before pix2pixHD's --pool_size had the key as CycleGAN's own and
// wrote it, at CycleGAN's default 50, into every run's config.yaml and
// checkpoints, while pix2pixhd trained without a pool. A pix2pixhd
// checkpoint of a pool (train.pool_size > 0) always holds the pool's state
// (the recipe's host state in state.json's schedule); one without it,
// trained here (not imported: an import's pool starts empty), had none.
// Read as the size it says, such a run would go on with a pool of 50, whose
// answers change D's inputs once it is full: it is 0.
func InertPoolSize(cfg *config.Config, st *CheckpointState) bool {
	if cfg == nil || st == nil || cfg.Recipe != "pix2pixhd" || cfg.Train.PoolSize == 0 || len(st.Loader) == 0 || string(st.Loader) == "null" {
		return false
	}
	var sched struct {
		Recipe json.RawMessage `json:"recipe"`
	}
	if json.Unmarshal(st.Schedule, &sched) != nil {
		return false
	}
	return len(sched.Recipe) == 0 || string(sched.Recipe) == "null"
}

// NewestState is the state.json of the run's newest checkpoint whose file
// reads, unchecked (its weights' checksum is not taken), or nil.
func NewestState(run string) *CheckpointState {
	cks, _ := ListCheckpoints(run)
	for _, c := range cks { // newest first
		b, err := os.ReadFile(c.StatePath())
		if err != nil {
			continue
		}
		var st CheckpointState
		if json.Unmarshal(b, &st) == nil {
			return &st
		}
	}
	return nil
}
