package trainer

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gogan/cgo/torchtest"
	"gogan/config"
	"gogan/runfolder"
)

// TestSchedulesMatchPyTorch compares every policy's rates over 30 epochs with
// torch.optim.lr_scheduler driven as the reference's get_scheduler does, and
// pix2pixhd's with train.py's end-of-epoch update_learning_rate; plateau
// also on losses that fall by less than its relative threshold, and an
// epoch without steps (NaN) changes none of its state.
func TestSchedulesMatchPyTorch(t *testing.T) {
	py := torchtest.Python(t)
	script := `
import torch, math
p = torch.nn.Parameter(torch.zeros(1))
def plateauMetric(e):
    return 0.97 ** min(e, 12) * 0.999 ** max(0, e - 12)
def run(policy, metrics):
    o = torch.optim.Adam([p], lr=0.1)
    if policy == "linear":
        s = torch.optim.lr_scheduler.LambdaLR(o, lambda e: 1.0 - max(0, e + 1 - 10) / float(15 + 1))
    elif policy == "step":
        s = torch.optim.lr_scheduler.StepLR(o, step_size=4, gamma=0.1)
    elif policy == "cosine":
        s = torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=0)
    else:
        s = torch.optim.lr_scheduler.ReduceLROnPlateau(o, mode="min", factor=0.2, threshold=0.01, patience=5)
    out = []
    if policy == "pix2pixhd":  # train.py: after epoch (1-based) > niter, Pix2PixHDModel.update_learning_rate
        old_lr = 0.1
        for epoch in range(1, 31):
            if epoch > 10:
                old_lr = old_lr - 0.1 / 15
            out.append(old_lr)
        return out
    for e in range(30):
        if policy == "plateau":
            s.step(metrics[e])
        else:
            s.step()
        out.append(o.param_groups[0]["lr"])
    return out
metrics = [1.0 / (1 + min(e, 8)) for e in range(30)]
for pol in ["linear", "step", "cosine", "plateau", "pix2pixhd"]:
    print(pol, " ".join(repr(x) for x in run(pol, metrics)))
# plateau's relative threshold (0.01): improvements of 3% count, of 0.1% do not
print("plateau-threshold", " ".join(repr(x) for x in run("plateau", [plateauMetric(e) for e in range(30)])))
`
	out, err := exec.Command(py, "-W", "ignore", "-c", script).Output()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		policy, metric := f[0], func(e int) float64 { return 1.0 / (1 + math.Min(float64(e), 8)) }
		if policy == "plateau-threshold" {
			policy, metric = "plateau", plateauMetric
		}
		s, err := NewSchedule(policy, 0.1, 10, 15, 4)
		if err != nil {
			t.Fatal(err)
		}
		for e, w := range f[1:] {
			want, _ := strconv.ParseFloat(w, 64)
			got := s.EndEpoch(metric(e))
			if (f[0] == "linear" || f[0] == "pix2pixhd") && e+1 > 25 {
				// Past n_epochs + n_epochs_decay PyTorch's lambda goes negative; gogan stops at 0.
				if got != 0 {
					t.Errorf("linear epoch %d: lr %g after the decay ended", e+1, got)
				}
				continue
			}
			if math.Abs(got-want) > 1e-12*math.Max(1, want) {
				t.Errorf("%s epoch %d: lr %g, PyTorch %g", f[0], e+1, got, want)
			}
		}
	}
	// An epoch without steps (a NaN mean) leaves plateau's state and rate as they were.
	pl, _ := NewSchedule("plateau", 0.1, 10, 15, 4)
	for _, m := range []float64{1, 2, 2, 2, 2} {
		pl.EndEpoch(m)
	}
	was := *pl
	for range 3 {
		pl.EndEpoch(math.NaN())
	}
	was.Epoch += 3
	if *pl != was {
		t.Errorf("plateau after NaN epochs: %+v, want %+v", *pl, was)
	}
	if _, err := NewSchedule("exp", 0.1, 1, 1, 1); err == nil || !strings.Contains(err.Error(), "train.lr_policy") {
		t.Errorf("unknown policy: %v", err)
	}
}

// plateauMetric falls 3% an epoch for 12 epochs, then 0.1% (less than
// ReduceLROnPlateau's relative threshold of 0.01).
func plateauMetric(e int) float64 {
	return math.Pow(0.97, math.Min(float64(e), 12)) * math.Pow(0.999, math.Max(0, float64(e-12)))
}

// TestRetargetedScheduleIsTheConfigs: a schedule resumed under a config
// with another rate, policy or epochs takes the rate the config's schedule
// has at the epochs completed (a plateau schedule keeps its reductions,
// scaled); under the same config it stays exactly as saved.
func TestRetargetedScheduleIsTheConfigs(t *testing.T) {
	for _, policy := range []string{"linear", "step", "cosine", "plateau", "pix2pixhd"} {
		saved, err := NewSchedule(policy, 0.1, 10, 15, 4)
		if err != nil {
			t.Fatal(err)
		}
		for e := range 14 {
			saved.EndEpoch(1.0 / (1 + math.Min(float64(e), 3))) // plateau: reduced after epoch 9
		}
		same := *saved
		if changed, err := same.Retarget(policy, 0.1, 10, 15, 4); err != nil || changed != "" || same != *saved {
			t.Fatalf("%s under the same config: %q %v, schedule %+v, saved %+v", policy, changed, err, same, *saved)
		}
		got := *saved
		changed, err := got.Retarget(policy, 0.05, 12, 15, 4)
		if err != nil || !strings.Contains(changed, "train.lr 0.05 (checkpoint: 0.1)") || !strings.Contains(changed, "train.epochs 12 (checkpoint: 10)") {
			t.Fatalf("%s: changes %q, %v", policy, changed, err)
		}
		want, _ := NewSchedule(policy, 0.05, 12, 15, 4)
		for range 14 {
			want.EndEpoch(math.NaN())
		}
		if policy == "plateau" {
			want.LR = saved.LR / 2
			if math.Abs(saved.LR-0.02) > 1e-12 {
				t.Fatalf("plateau: the saved schedule's rate %g, want one reduction", saved.LR)
			}
		}
		if got.LR != want.LR || got.Epoch != 14 || got.BaseLR != 0.05 || got.Epochs != 12 {
			t.Errorf("%s: retargeted rate %g at epoch %d (base %g, epochs %d), the config's schedule %g", policy, got.LR, got.Epoch, got.BaseLR, got.Epochs, want.LR)
		}
		if got.LR == saved.LR {
			t.Errorf("%s: the rate stayed %g", policy, got.LR)
		}
	}
	s, _ := NewSchedule("linear", 0.1, 10, 15, 4)
	if _, err := s.Retarget("step", 0.1, 10, 15, 0); err == nil || !strings.Contains(err.Error(), "train.lr_decay_iters") {
		t.Errorf("a step policy without decay iters: %v", err)
	}
	// Each key alone is a change.
	for _, c := range []struct {
		policy             string
		epochsDecay, decay int
		want               string
	}{
		{"linear", 30, 4, "train.epochs_decay 30 (checkpoint: 15)"},
		{"cosine", 15, 4, "train.lr_policy cosine (checkpoint: linear)"},
	} {
		s, _ := NewSchedule("linear", 0.1, 10, 15, 4)
		for range 12 {
			s.EndEpoch(math.NaN())
		}
		was := s.LR
		if changed, err := s.Retarget(c.policy, 0.1, 10, c.epochsDecay, c.decay); err != nil || changed != c.want || s.LR == was {
			t.Errorf("retarget to %s, epochs_decay %d: %q %v, rate %g (was %g)", c.policy, c.epochsDecay, changed, err, s.LR, was)
		}
	}
	st, _ := NewSchedule("step", 0.1, 10, 15, 4)
	for range 5 {
		st.EndEpoch(math.NaN())
	}
	if changed, err := st.Retarget("step", 0.1, 10, 15, 2); err != nil || changed != "train.lr_decay_iters 2 (checkpoint: 4)" || math.Abs(st.LR-0.1*0.01) > 1e-15 {
		t.Errorf("step policy, decay iters 4 -> 2 at epoch 5: %q %v, rate %g; want 0.001", changed, err, st.LR)
	}
	// A plateau schedule keeps its history: the best loss and the bad
	// epochs counted toward the next reduction.
	pl, _ := NewSchedule("plateau", 0.1, 10, 15, 4)
	for _, m := range []float64{1, 0.5, 0.6, 0.6} {
		pl.EndEpoch(m)
	}
	saved := *pl
	if _, err := pl.Retarget("plateau", 0.2, 10, 15, 4); err != nil || !pl.HasBest || pl.Best != saved.Best || pl.BadEpochs != 2 || pl.LR != 0.2 {
		t.Errorf("plateau retargeted: %+v (was %+v)", *pl, saved)
	}
}

// TestRunsTrainAtTheSchedulersRates: every optimizer of a run steps at the
// rate torch.optim.lr_scheduler gives it, one scheduler per optimizer
// stepped after each epoch as the reference's networks.get_scheduler and
// update_learning_rate drive them. The rate checked is the one each Adam
// applies at every step (the probe recipe records it), not the schedule's
// own figure (metrics.csv's lr), in a run straight through and in one
// stopped mid-epoch and resumed: linear stopped in its decay (the resumed
// optimizers must take the decayed rate, not the config's). plateau is fed
// each epoch's mean of the recipe's plateau loss (the probe names none: its
// first, Loss_D; README); every step's checkpoint holds the loop's state
// (the epoch's loss sum and count, the scheduler's best and bad epochs),
// which must be ReduceLROnPlateau's at each epoch's end and, resumed, the
// straight run's at every step.
func TestRunsTrainAtTheSchedulersRates(t *testing.T) {
	py := torchtest.Python(t)
	for _, c := range []struct {
		policy string
		sets   []string
		epochs int
		stopAt int // mid-epoch: 4 steps an epoch
	}{
		{"linear", []string{"train.epochs=1", "train.epochs_decay=2"}, 3, 6},
		{"plateau", []string{"train.epochs=12", "train.checkpoint_every=1", "train.keep_checkpoints=0"}, 12, 9},
	} {
		root := writeImageFolder(t, 16, 40)
		base := append([]string{"recipe=probe", "data.dataset=folder", "data.root=" + root, "data.image_size=32", "model.ngf=8",
			"model.ndf=8", "data.batch_size=4", "data.drop_last=true", "data.workers=1", "train.log_every=1", "train.sample_every=0",
			"train.lr=0.001", "train.lr_policy=" + c.policy, "device=cpu", "threads=2"}, c.sets...)
		// train runs name, stopped at stopAt and resumed where stopAt > 0; it
		// returns the run's config and its Loss_D of every step.
		train := func(name string, stopAt int) (*config.Config, []float64) {
			var lossD []float64
			opt := RunOptions{Quiet: true, Writer: os.Stderr, OnStep: func(_ int, l map[string]float64) { lossD = append(lossD, l["Loss_D"]) }}
			sets := append(slices.Clone(base), "out="+filepath.Join(t.TempDir(), name))
			if stopAt > 0 {
				sets = append(sets, "train.max_steps="+strconv.Itoa(stopAt))
			}
			cfg, err := config.LoadConfig("", sets)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Train(context.Background(), cfg, opt); err != nil {
				t.Fatalf("%s %s: %v", c.policy, name, err)
			}
			if stopAt > 0 {
				if _, err := Resume(context.Background(), cfg.Out, []string{"train.max_steps=0"}, opt); err != nil {
					t.Fatalf("%s %s: resume: %v", c.policy, name, err)
				}
			}
			if len(lossD) != 4*c.epochs {
				t.Fatalf("%s %s: %d steps, want %d", c.policy, name, len(lossD), 4*c.epochs)
			}
			return cfg, lossD
		}
		straight, straightLoss := train("straight", 0)
		stopped, stoppedLoss := train("stopped", c.stopAt)
		for _, r := range []struct {
			name, run string
			lossD     []float64
		}{{"straight", straight.Out, straightLoss}, {"stopped and resumed", stopped.Out, stoppedLoss}} {
			lrs := probeStateOf(t, r.run).LRs
			want := schedulerRates(t, py, straight.Train, c.epochs, r.lossD)
			if len(lrs) != len(want.LRs) {
				t.Fatalf("%s %s: rates of %d steps, want %d", c.policy, r.name, len(lrs), len(want.LRs))
			}
			for i := range lrs {
				if len(lrs[i]) != 2 || math.Abs(lrs[i][0]-want.LRs[i][0]) > 1e-15 || math.Abs(lrs[i][1]-want.LRs[i][1]) > 1e-15 {
					t.Errorf("%s %s: step %d trains at %v (G, D), PyTorch's schedulers %v", c.policy, r.name, i+1, lrs[i], want.LRs[i])
				}
			}
			if c.policy != "plateau" {
				continue
			}
			for e, w := range want.Epochs {
				ls := loopStateAt(t, r.run, 4*(e+1))
				if s := ls.Schedule; !s.HasBest || s.Best != w.Best || s.BadEpochs != w.Bad || s.LR != w.LR {
					t.Errorf("plateau %s: after epoch %d best %v, bad epochs %d, lr %g; ReduceLROnPlateau %v, %d, %g",
						r.name, e+1, s.Best, s.BadEpochs, s.LR, w.Best, w.Bad, w.LR)
				}
			}
			// The means must improve after the first epoch and also fail
			// to: otherwise a running mean over the epochs, or an epoch's
			// mean that lost its steps before a resume, could leave the
			// same states.
			if w := want.Epochs; w[len(w)-1].Best == w[0].Best || !slices.ContainsFunc(w, func(e epochScheduled) bool { return e.Bad > 0 }) {
				t.Errorf("plateau %s: the epochs' means (%v) lack an improvement after the first or a bad epoch: the case tests too little", r.name, w)
			}
		}
		if c.policy == "plateau" {
			for step := c.stopAt; step <= 4*c.epochs; step++ {
				a, b := loopStateAt(t, straight.Out, step), loopStateAt(t, stopped.Out, step)
				if *a.Schedule != *b.Schedule || a.EpochSum != b.EpochSum || a.EpochN != b.EpochN {
					t.Errorf("plateau: step %d's loop state stopped and resumed %+v (sum %v of %d), straight %+v (sum %v of %d)",
						step, *b.Schedule, b.EpochSum, b.EpochN, *a.Schedule, a.EpochSum, a.EpochN)
				}
			}
		}
	}
}

// scheduled is what torch.optim.lr_scheduler gives a run: each step's
// rates (G, D), and for plateau the scheduler after each epoch.
type scheduled struct {
	LRs    [][]float64      `json:"lrs"`
	Epochs []epochScheduled `json:"epochs"`
}

// epochScheduled is ReduceLROnPlateau after an epoch.
type epochScheduled struct {
	Best float64 `json:"best"`
	Bad  int     `json:"bad"`
	LR   float64 `json:"lr"`
}

// schedulerRates drives PyTorch's schedulers over epochs of 4 steps at
// train.lr 0.001, linear with train.epochs 1 and train.epochs_decay 2, as
// pytorch-CycleGAN-and-pix2pix's get_scheduler builds them (epoch_count 1);
// plateau stepped with each epoch's mean of loss.
func schedulerRates(t *testing.T, py string, tc config.TrainConfig, epochs int, loss []float64) scheduled {
	t.Helper()
	cases := torchtest.WriteCases(t, t.TempDir(), map[string]any{"policy": tc.LRPolicy, "lr": tc.LR,
		"n_epochs": tc.Epochs, "n_epochs_decay": tc.EpochsDecay, "epochs": epochs, "loss": loss})
	script := `
import json, sys, torch
c = json.load(open(sys.argv[1]))
opts = [torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=c["lr"]) for _ in ("G", "D")]
if c["policy"] == "linear":
    def lambda_rule(epoch):  # networks.get_scheduler, epoch_count 1
        return 1.0 - max(0, epoch + 1 - c["n_epochs"]) / float(c["n_epochs_decay"] + 1)
    scheds = [torch.optim.lr_scheduler.LambdaLR(o, lr_lambda=lambda_rule) for o in opts]
else:
    scheds = [torch.optim.lr_scheduler.ReduceLROnPlateau(o, mode="min", factor=0.2, threshold=0.01, patience=5) for o in opts]
out = {"lrs": [], "epochs": []}
for e in range(c["epochs"]):
    out["lrs"] += [[o.param_groups[0]["lr"] for o in opts]] * 4
    for s in scheds:
        if c["policy"] == "plateau":
            s.step(sum(c["loss"][4 * e:4 * e + 4]) / 4)
        else:
            s.step()
    if c["policy"] == "plateau":
        out["epochs"].append({"best": scheds[0].best, "bad": scheds[0].num_bad_epochs, "lr": opts[0].param_groups[0]["lr"]})
print(json.dumps(out))
`
	b, err := exec.Command(py, "-W", "ignore", "-c", script, cases).Output()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, b)
	}
	var s scheduled
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("python: %v\n%s", err, b)
	}
	return s
}

// loopStateAt reads the loop's state from a run's checkpoint of step.
func loopStateAt(t *testing.T, run string, step int) loopState {
	t.Helper()
	st, err := runfolder.ValidateCheckpoint(runfolder.Checkpoint{Dir: runfolder.CheckpointDir(run, step), Step: step})
	if err != nil {
		t.Fatal(err)
	}
	var ls loopState
	if err := json.Unmarshal(st.Schedule, &ls); err != nil || ls.Schedule == nil {
		t.Fatalf("step %d: state.json schedule: %v", step, err)
	}
	return ls
}
