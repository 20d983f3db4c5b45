package dist

import (
	"os"
	"strings"
	"testing"
)

// TestFromEnvChecksTheRanks: the variables torchrun sets, and what a hand-set
// or broken launcher's would get wrong, each refused naming the variable.
// torchrun's restart count (the agent store's attempt_N prefix) and Gloo's
// interface are kept; without LOCAL_WORLD_SIZE (torch.distributed.launch's
// environment) every rank is taken to be on this machine.
func TestFromEnvChecksTheRanks(t *testing.T) {
	base := map[string]string{"RANK": "1", "WORLD_SIZE": "4", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2",
		"MASTER_ADDR": "10.0.0.1", "MASTER_PORT": "29500", "TORCHELASTIC_RESTART_COUNT": "2", "TORCHELASTIC_USE_AGENT_STORE": "True",
		"GLOO_SOCKET_IFNAME": "eth1"}
	for _, c := range []struct {
		name, set, want string
	}{
		{"torchrun's", "", ""},
		{"no rank", "RANK=", "RANK is not set"},
		{"rank outside", "RANK=4", "RANK=4 outside WORLD_SIZE=4"},
		{"local rank outside", "LOCAL_RANK=2", "LOCAL_RANK=2 outside LOCAL_WORLD_SIZE=2"},
		{"more local ranks than ranks", "LOCAL_WORLD_SIZE=8", "LOCAL_WORLD_SIZE=8 (at most WORLD_SIZE=4)"},
		{"no address", "MASTER_ADDR=", "MASTER_ADDR is not set"},
		{"port", "MASTER_PORT=70000", "MASTER_PORT=70000 is not a port"},
		{"not a count", "LOCAL_RANK=one", `LOCAL_RANK="one" is not a count`},
		{"negative rank", "RANK=-1", `RANK="-1" is not a count`},
		{"negative local rank", "LOCAL_RANK=-1", `LOCAL_RANK="-1" is not a count`},
		{"port 0", "MASTER_PORT=0", "MASTER_PORT=0 is not a port"},
		{"no local world size", "LOCAL_WORLD_SIZE=", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range base {
				t.Setenv(k, v)
			}
			if k, v, ok := strings.Cut(c.set, "="); ok {
				t.Setenv(k, v)
			}
			j, err := FromEnv()
			localWorld := 2
			if os.Getenv("LOCAL_WORLD_SIZE") == "" { // every rank on this machine
				localWorld = 4
			}
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("FromEnv: %v", err)
			case c.want == "" && (j.Rank != 1 || j.World != 4 || j.LocalRank != 1 || j.LocalWorld != localWorld || !j.AgentStore ||
				j.Addr != "10.0.0.1" || j.Port != 29500 || j.Restart != 2 || j.IfName != "eth1"):
				t.Errorf("FromEnv: %+v", j)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Errorf("FromEnv with %s: %v; want an error with %q", c.set, err, c.want)
			}
		})
	}
}
