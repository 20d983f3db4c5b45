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
// pix2pixhd's with train.py's end-of-epoch update_learning_rate.
func TestSchedulesMatchPyTorch(t *testing.T) {
	py := torchtest.Python(t)
	script := `
import torch, math
p = torch.nn.Parameter(torch.zeros(1))
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
`
	out, err := exec.Command(py, "-W", "ignore", "-c", script).Output()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		s, err := NewSchedule(f[0], 0.1, 10, 15, 4)
		if err != nil {
			t.Fatal(err)
		}
		for e, w := range f[1:] {
			want, _ := strconv.ParseFloat(w, 64)
			got := s.EndEpoch(1.0 / (1 + math.Min(float64(e), 8)))
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
	if _, err := NewSchedule("exp", 0.1, 1, 1, 1); err == nil || !strings.Contains(err.Error(), "train.lr_policy") {
		t.Errorf("unknown policy: %v", err)
	}
}
