package pix2pixhd

import (
	"encoding/json"
	"strings"
	"testing"

	"gogan/config"
	"gogan/runfolder"
)

// TestOlderPoolSizeOnlyForTheOlderRuns: olderPoolSize takes train.pool_size
// 50 as 0 for a run of the gogan that wrote it unread (a loader position,
// no pool state), and leaves every other run's pool as it is: a run trained
// here with a pool (its state in the schedule), an import (no loader
// position: its pool starts empty), a config.yaml edited since to another
// size, and a size given to this command by --set or a GOGAN_ variable.
func TestOlderPoolSizeOnlyForTheOlderRuns(t *testing.T) {
	saved, err := config.LoadConfig("", []string{"recipe=pix2pixhd", "data.label_nc=0", "train.pool_size=50"})
	if err != nil {
		t.Fatal(err)
	}
	y, err := saved.YAML()
	if err != nil {
		t.Fatal(err)
	}
	older := runfolder.CheckpointState{Config: string(y), Loader: json.RawMessage(`{"epoch":1,"batch":2}`), Schedule: json.RawMessage(`{"lr":0.0002}`)}
	for _, c := range []struct {
		name   string
		edit   func(c *config.Config, st *runfolder.CheckpointState)
		want   int
		reason bool
	}{
		{"an older gogan's run", nil, 0, true},
		{"a run with a pool", func(_ *config.Config, st *runfolder.CheckpointState) {
			st.Schedule = json.RawMessage(`{"lr":0.0002,"recipe":{"pool":{"n":3}}}`)
		}, 50, false},
		{"an import", func(_ *config.Config, st *runfolder.CheckpointState) { st.Loader = json.RawMessage("null") }, 50, false},
		{"an import without a loader", func(_ *config.Config, st *runfolder.CheckpointState) { st.Loader = nil }, 50, false},
		{"config.yaml edited to another size", func(c *config.Config, _ *runfolder.CheckpointState) { c.Train.PoolSize = 20 }, 20, false},
		{"--set train.pool_size=50", func(c *config.Config, _ *runfolder.CheckpointState) { c.Sources["train.pool_size"] = "--set" }, 50, false},
		{"GOGAN_ variable", func(c *config.Config, _ *runfolder.CheckpointState) {
			c.Sources["train.pool_size"] = "env GOGAN_TRAIN__POOL_SIZE"
		}, 50, false},
	} {
		cfg, err := config.ParseYAML("config.yaml", y)
		if err != nil {
			t.Fatal(err)
		}
		st := older
		if c.edit != nil {
			c.edit(cfg, &st)
		}
		why := olderPoolSize(cfg, func() *runfolder.CheckpointState { return &st })
		if cfg.Train.PoolSize != c.want || (why != "") != c.reason {
			t.Errorf("%s: train.pool_size %d, reason %q; want %d, a reason %v", c.name, cfg.Train.PoolSize, why, c.want, c.reason)
		}
		if c.reason && !strings.Contains(why, "train.pool_size 50") {
			t.Errorf("%s: reason %q does not name train.pool_size 50", c.name, why)
		}
	}
}
