package gan

import (
	"slices"

	"gogan/config"
	"gogan/runfolder"
)

// olderPoolSize is the train.pool_size a gogan before pix2pixHD's pool
// wrote into every run's config.yaml and checkpoints: the key was
// CycleGAN's own then, at its default.
const olderPoolSize = 50

// TakeOlderConfig corrects c, a config a run stored (its config.yaml, or a
// checkpoint's), for values an older gogan wrote into it that the run
// never read, and says why where that changes how the run goes on (""
// where it changes nothing: a key the recipe ignores, Schema.Ignores). st
// gives the state of the run's checkpoint whose config c is, or the newest
// where c is config.yaml; it is read only where the recipe's
// Definition.OlderConfig asks. A value given by --set or a GOGAN_
// variable is this command's own and stays.
func TakeOlderConfig(c *config.Config, st func() *runfolder.CheckpointState) string {
	def, err := For(c)
	if err != nil {
		return ""
	}
	if slices.Contains(def.Schema.Ignores, "train.pool_size") && c.Train.PoolSize == olderPoolSize && !c.GivenNow("train.pool_size") {
		// no pool to give it to: the value changes nothing, and was said
		// to on every resume of a run of that gogan (ForeignKeys)
		c.Train.PoolSize = 0
	}
	if def.OlderConfig == nil {
		return ""
	}
	return def.OlderConfig(c, st)
}
