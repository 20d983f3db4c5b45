package trainer

import (
	"math"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"gogan/cgo/torchtest"
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
