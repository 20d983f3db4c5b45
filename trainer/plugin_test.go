package trainer

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	torch "gogan/cgo"
	"gogan/config"
	"gogan/gan"
	"gogan/gan/dcgan"
	_ "gogan/gan/gantest" // condprobe, another recipe on DCGAN's networks
	"gogan/runfolder"
)

// A recipe registered by a test, as a new recipe package would register: the
// session must drive it through the capabilities it implements without
// knowing its name. probe trains DCGAN's networks and adds host-side state
// (a random stream advanced every step, as an image pool's draws are), an
// epoch hook, a config key of its own and a step no CUDA graph may capture.
func init() {
	d, err := gan.Lookup("dcgan")
	if err != nil {
		panic(err)
	}
	gan.Register(gan.Definition{
		Schema: config.RecipeSchema{
			Name: "probe",
			Doc:  "a test recipe (trainer/plugin_test.go).",
			Keys: []config.Key{{Name: "train.probe_draws", Type: config.TypeInt, Default: 3, Range: config.AtLeast(1),
				Doc: "probe: host-side random draws per step."},
				{Name: "train.probe_nan_at", Type: config.TypeInt, Default: 0, Range: config.AtLeast(0),
					Doc: "probe: the step of this process whose first loss is NaN (0: none)."},
				{Name: "train.probe_visuals_fail", Type: config.TypeBool, Default: false,
					Doc: "probe: its sample grid fails with a torch error, as a torch op refused there does."}},
			Defaults: map[string]any{"data.batch_size": 4},
			Reads:    []string{"dcgan"}, Validate: dcgan.Validate,
		},
		Data: d.Data, Nets: d.Nets, Inputs: d.Inputs,
		New: func(env gan.Env) (gan.Recipe, error) {
			inner, err := d.New(env)
			if err != nil {
				return nil, err
			}
			return &probe{Recipe: inner, draws: env.Config.Int("train.probe_draws"), nanAt: env.Config.Int("train.probe_nan_at"),
				visualsFail: env.Config.Bool("train.probe_visuals_fail"),
				stream:      rand.NewPCG(uint64(env.Config.Seed), 1)}, nil
		},
	})
}

type probe struct {
	gan.Recipe
	draws  int
	stream *rand.PCG
	state  probeState
	nanAt  int // the step (of this process) whose first loss is NaN
	steps  int
	// visualsFail: Visuals panics with a torch error
	visualsFail bool
}

// probeState is what the probe keeps on the host and checkpoints.
type probeState struct {
	Stream []byte `json:"stream"` // the PCG's state
	Sum    uint64 `json:"sum"`    // of every draw so far
	Epochs []int  `json:"epochs"` // EndEpoch's arguments
	// LRs are each step's learning rates, one per optimizer, as its Adam
	// applies them (not the schedule's own figure).
	LRs [][]float64 `json:"lrs"`
}

func (p *probe) Step(b gan.Batch) []*torch.Tensor {
	for range p.draws {
		p.state.Sum += p.stream.Uint64() >> 32
	}
	var lrs []float64
	for _, o := range p.Optimizers() {
		lrs = append(lrs, o.Adam.LR())
	}
	p.state.LRs = append(p.state.LRs, lrs)
	ls := p.Recipe.Step(b)
	if p.steps++; p.steps == p.nanAt {
		ls[0] = ls[0].MulScalar(math.NaN())
	}
	return ls
}

// The embedded recipe's capabilities are not promoted through the interface:
// a wrapper forwards the ones it keeps.
func (p *probe) DrawStep(n int64)     { p.Recipe.(gan.StepDrawer).DrawStep(n) }
func (p *probe) Fixed() []torch.Named { return p.Recipe.(gan.FixedInputs).Fixed() }
func (p *probe) Visuals() (*image.NRGBA, error) {
	if p.visualsFail {
		panic(&torch.Error{Op: "cat", Msg: "the probe's grid is refused"})
	}
	return p.Recipe.(gan.Visualizer).Visuals()
}
func (p *probe) GraphUnsafe() string { return "its host-side draws run outside the device" }

func (p *probe) EndEpoch(epoch int) error {
	p.state.Epochs = append(p.state.Epochs, epoch)
	return nil
}

func (p *probe) SaveHostState() (json.RawMessage, error) {
	var err error
	if p.state.Stream, err = p.stream.MarshalBinary(); err != nil {
		return nil, err
	}
	return json.Marshal(p.state)
}

func (p *probe) LoadHostState(b json.RawMessage) error {
	if len(b) == 0 {
		return fmt.Errorf("probe: the checkpoint has no host state")
	}
	if err := json.Unmarshal(b, &p.state); err != nil {
		return err
	}
	return p.stream.UnmarshalBinary(p.state.Stream)
}

// probeStateOf reads the host state of a run's newest checkpoint.
func probeStateOf(t *testing.T, run string) probeState {
	t.Helper()
	var ps probeState
	recipeStateOf(t, run, &ps)
	return ps
}

// recipeStateOf reads the recipe's host state (gan.HostState) of a run's
// newest checkpoint into v.
func recipeStateOf(t *testing.T, run string, v any) {
	t.Helper()
	_, st, err := runfolder.LatestValid(run)
	if err != nil {
		t.Fatal(err)
	}
	var ls loopState
	if err := json.Unmarshal(st.Schedule, &ls); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(ls.Recipe, v); err != nil {
		t.Fatalf("state.json recipe state %s: %v", ls.Recipe, err)
	}
}

// TestRecipesOnDCGANsNetsKeepItsRules: probe and gan/gantest's condprobe
// build DCGAN's networks, so they refuse what dcgan refuses (a WGAN-GP loss
// on D's Sigmoid, networks other than the ones they build), through
// dcgan.Validate, naming themselves: without it they trained on.
func TestRecipesOnDCGANsNetsKeepItsRules(t *testing.T) {
	for _, recipe := range []string{"probe", "condprobe"} {
		if _, err := config.LoadConfig("", []string{"recipe=" + recipe}); err != nil {
			t.Fatalf("recipe %s's defaults: %v", recipe, err)
		}
		for _, set := range []string{"train.gan_mode=wgangp", "model.netG=unet_256", "model.netD=basic", "data.image_size=48"} {
			_, err := config.LoadConfig("", []string{"recipe=" + recipe, set})
			value := set[strings.Index(set, "=")+1:]
			if err == nil || !strings.Contains(err.Error(), "recipe "+recipe) || !strings.Contains(err.Error(), value) {
				t.Errorf("recipe=%s %s: %v, want it refused naming the recipe and %s", recipe, set, err, value)
			}
		}
	}
}

// TestRecipePlugsIn: a recipe the session has never heard of trains, its
// own key and default apply, its epoch hook runs after each epoch, and its
// host state survives a stop and resume exactly (a resumed run ends where an
// uninterrupted one does, losses and host state alike).
func TestRecipePlugsIn(t *testing.T) {
	root := writeImageFolder(t, 16, 40)
	base := []string{"recipe=probe", "data.dataset=folder", "data.root=" + root, "data.image_size=32", "model.ngf=8",
		"model.ndf=8", "data.drop_last=true", "data.workers=1", "train.epochs=3", "train.log_every=1",
		"train.sample_every=0", "train.probe_draws=5", "device=cpu", "threads=2"}
	ctx := context.Background()
	train := func(name string, sets ...string) string {
		cfg, err := config.LoadConfig("", append(append(slices.Clone(base), "out="+filepath.Join(t.TempDir(), name)), sets...))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Data.BatchSize != 4 || cfg.Sources["data.batch_size"] != "default for probe" || cfg.Int("train.probe_draws") != 5 {
			t.Fatalf("probe's default and key: batch %d (%s), draws %d", cfg.Data.BatchSize, cfg.Sources["data.batch_size"], cfg.Int("train.probe_draws"))
		}
		res, err := Train(ctx, cfg, RunOptions{Quiet: true, Writer: os.Stderr})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return res.Run.Path
	}
	straight := train("straight")
	stopped := train("stopped", "train.max_steps=6")
	if got := probeStateOf(t, stopped).Epochs; !slices.Equal(got, []int{1}) {
		t.Errorf("after 6 steps (4 an epoch) the epoch hook ran for %v, want [1]", got)
	}
	if _, err := Resume(ctx, stopped, []string{"train.max_steps=0"}, RunOptions{Quiet: true, Writer: os.Stderr}); err != nil {
		t.Fatalf("resume: %v", err)
	}
	want, got := probeStateOf(t, straight), probeStateOf(t, stopped)
	if !slices.Equal(want.Epochs, []int{1, 2, 3}) || want.Sum == 0 {
		t.Fatalf("uninterrupted probe state %+v: want the hook after epochs 1, 2, 3 and draws summed", want)
	}
	if got.Sum != want.Sum || !slices.Equal(got.Epochs, want.Epochs) {
		t.Errorf("stopped at 6 and resumed: host state %+v, uninterrupted %+v", got, want)
	}
	a, err := runfolder.ReadMetrics(filepath.Join(straight, "metrics.csv"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := runfolder.ReadMetrics(filepath.Join(stopped, "metrics.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Rows) != 12 || len(b.Rows) != 12 {
		t.Fatalf("metrics rows %d and %d, want 12", len(a.Rows), len(b.Rows))
	}
	if worst, where := lossDiff(metricsLosses(b), metricsLosses(a)); worst != 0 {
		t.Errorf("stopped and resumed losses differ by %.3g (%s)", worst, where)
	}

	// A capture of its step is refused with the recipe's reason. (On the CPU
	// the config check stops cuda_graph first; the session's own check is
	// the one a CUDA run meets.)
	cfg, err := config.LoadConfig("", append(slices.Clone(base), "out="+filepath.Join(t.TempDir(), "graph")))
	if err != nil {
		t.Fatal(err)
	}
	cfg.CUDA.CUDAGraph = true
	s := &session{cfg: cfg, dev: torch.CPUDevice}
	defer s.close()
	if err := s.newRecipe(); err == nil || !strings.Contains(err.Error(), "host-side draws") {
		t.Errorf("cuda_graph with a GraphUnsafe recipe: %v", err)
	}
}
