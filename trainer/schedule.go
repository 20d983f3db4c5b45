package trainer

import (
	"fmt"
	"math"
	"strings"
)

// Schedule is the learning-rate policy of pytorch-CycleGAN-and-pix2pix
// (get_scheduler), stepped once per epoch. Its state is plain fields so a
// checkpoint can store it.
type Schedule struct {
	Policy      string  `json:"policy"` // linear | step | cosine | plateau | pix2pixhd
	BaseLR      float64 `json:"base_lr"`
	Epochs      int     `json:"epochs"`       // epochs at the base rate (n_epochs)
	EpochsDecay int     `json:"epochs_decay"` // epochs of linear decay to zero (n_epochs_decay)
	DecayIters  int     `json:"decay_iters"`  // step policy: multiply by 0.1 every this many epochs
	LR          float64 `json:"lr"`           // the rate now
	Epoch       int     `json:"epoch"`        // completed epochs

	// plateau: ReduceLROnPlateau(mode=min, factor=0.2, threshold=0.01, patience=5).
	// Best is meaningless until HasBest (JSON has no infinity for "none yet").
	HasBest   bool    `json:"has_best"`
	Best      float64 `json:"best"`
	BadEpochs int     `json:"bad_epochs"`
}

// NewSchedule validates the policy and starts at epoch 0.
func NewSchedule(policy string, baseLR float64, epochs, epochsDecay, decayIters int) (*Schedule, error) {
	s := &Schedule{Policy: policy, BaseLR: baseLR, Epochs: epochs, EpochsDecay: epochsDecay, DecayIters: decayIters, LR: baseLR}
	switch policy {
	case "linear", "cosine", "plateau", "pix2pixhd":
	case "step":
		if decayIters < 1 {
			return nil, fmt.Errorf("train.lr_decay_iters %d: the step policy needs at least 1", decayIters)
		}
	default:
		return nil, fmt.Errorf("train.lr_policy %q: expected linear, step, cosine, plateau or pix2pixhd", policy)
	}
	return s, nil
}

// EndEpoch moves to the next epoch; metric (lower is better) drives the
// plateau policy, which a NaN (an epoch without steps) leaves as it was. It
// returns the new rate.
func (s *Schedule) EndEpoch(metric float64) float64 {
	s.Epoch++
	e := float64(s.Epoch)
	switch s.Policy {
	case "linear":
		// The rate of 0-based epoch e: 1 - max(0, e + 1 - n_epochs) / (n_epochs_decay + 1),
		// full for n_epochs epochs, then linearly to 1/(n_epochs_decay+1).
		f := 1 - math.Max(0, e+1-float64(s.Epochs))/float64(s.EpochsDecay+1)
		s.LR = s.BaseLR * math.Max(f, 0)
	case "pix2pixhd":
		// pix2pixHD's update_learning_rate after each epoch > niter (1-based):
		// old_lr - lr / niter_decay, subtracted as it does.
		if s.Epoch > s.Epochs && s.EpochsDecay > 0 {
			s.LR = math.Max(s.LR-s.BaseLR/float64(s.EpochsDecay), 0)
		}
	case "step":
		s.LR = s.BaseLR * math.Pow(0.1, math.Floor(e/float64(s.DecayIters)))
	case "cosine":
		s.LR = s.BaseLR * (1 + math.Cos(math.Pi*e/float64(max(s.Epochs, 1)))) / 2
	case "plateau":
		if math.IsNaN(metric) {
			break
		}
		if !s.HasBest || metric < s.Best*(1-0.01) {
			s.HasBest, s.Best, s.BadEpochs = true, metric, 0
		} else if s.BadEpochs++; s.BadEpochs > 5 {
			s.LR *= 0.2
			s.BadEpochs = 0
		}
	}
	return s.LR
}

// Retarget makes a resumed schedule the config's, when the config changed
// its rate, policy or epochs (a resume with --set train.lr=...): the rate
// from now on is the one the new schedule has at the epochs completed, as
// the reference's --continue_train builds its schedulers anew from its
// options. A plateau schedule keeps the reductions it made, scaled to the
// new base rate (its history of losses is not replayed). It says what
// changed, or "" when nothing did (the schedule is then left exactly as
// it was saved).
func (s *Schedule) Retarget(policy string, baseLR float64, epochs, epochsDecay, decayIters int) (string, error) {
	var changed []string
	note := func(key string, was, now any) {
		if was != now {
			changed = append(changed, fmt.Sprintf("%s %v (checkpoint: %v)", key, now, was))
		}
	}
	note("train.lr_policy", s.Policy, policy)
	note("train.lr", s.BaseLR, baseLR)
	note("train.epochs", s.Epochs, epochs)
	note("train.epochs_decay", s.EpochsDecay, epochsDecay)
	if policy == "step" || s.Policy == "step" {
		note("train.lr_decay_iters", s.DecayIters, decayIters)
	}
	if len(changed) == 0 {
		return "", nil
	}
	n, err := NewSchedule(policy, baseLR, epochs, epochsDecay, decayIters)
	if err != nil {
		return "", err
	}
	if policy == "plateau" {
		if s.Policy == "plateau" && s.BaseLR > 0 {
			n.LR = s.LR / s.BaseLR * baseLR
			n.HasBest, n.Best, n.BadEpochs = s.HasBest, s.Best, s.BadEpochs
		}
		n.Epoch = s.Epoch
	} else {
		for n.Epoch < s.Epoch {
			n.EndEpoch(math.NaN())
		}
	}
	*s = *n
	return strings.Join(changed, ", "), nil
}
