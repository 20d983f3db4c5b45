package trainer

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"gogan/config"
)

// NonFiniteError reports a loss that became NaN or ±Inf.
type NonFiniteError struct {
	Step   int
	Name   string
	Value  float64
	Losses map[string]float64
	// Cause: the step's error when a NaN stopped the step itself before
	// its losses existed (bceRefusedNaN).
	Cause error
	// Weights are the loss weights the run's config sets (train.lambda_L1=
	// 1e+308), which can make a loss infinite as well as the rate.
	Weights []string
}

func (e *NonFiniteError) Error() string {
	lower := "lower train.lr"
	if len(e.Weights) > 0 {
		lower += " or the loss weights set (" + strings.Join(e.Weights, ", ") + ")"
	}
	advice := "training diverged: " + lower + ", check the data, or resume from an earlier checkpoint"
	if e.Step == 1 {
		// D's first losses come from the initial weights.
		advice = "training diverged at its first step: " + lower + ", check the data and the initial weights (model.init_type, model.init_gain)"
	}
	if e.Cause != nil {
		return fmt.Sprintf("%s is NaN or infinite at step %d, which the binary cross-entropy refuses (%v); %s", e.Name, e.Step, e.Cause, advice)
	}
	var all []string
	for _, n := range slices.Sorted(maps.Keys(e.Losses)) {
		all = append(all, fmt.Sprintf("%s=%g", n, e.Losses[n]))
	}
	return fmt.Sprintf("loss %s is %v at step %d (losses: %s); %s", e.Name, e.Value, e.Step, strings.Join(all, ", "), advice)
}

// lossWeightsSet are the loss weights (train.lambda_*) cfg's recipe reads
// that its config sets above the recipe's default, as key=value: the advice
// says to lower them, which a weight lowered already (lambda_L1=0) is not
// to be. train.lambda_gp weighs a loss only with train.gan_mode wgangp.
func lossWeightsSet(cfg *config.Config) []string {
	foreign := cfg.ForeignKeys()
	var out []string
	for _, name := range config.SchemaKeys() {
		k, _ := config.LookupKey(name)
		if !strings.HasPrefix(name, "train.lambda_") || slices.ContainsFunc(foreign, func(f string) bool { return strings.HasPrefix(f, name+"=") }) {
			continue // ForeignKeys' "key=value (recipe)": not read here
		}
		if name == "train.lambda_gp" && cfg.Train.GANMode != "wgangp" {
			continue
		}
		v, err := cfg.Get(name)
		f, ok := v.(float64)
		if d, dok := k.DefaultFor(cfg.Recipe).(float64); err == nil && ok && dok && f > d {
			out = append(out, fmt.Sprintf("%s=%v", name, v))
		}
	}
	return out
}

// bceRefusedNaN says whether a step failed because a discriminator's output
// went NaN: DCGAN's D ends in a Sigmoid and its loss is BCELoss, as the
// reference's (pix2pixhd's vanilla loss too), and libtorch's
// binary_cross_entropy refuses inputs outside [0, 1] (NaN included) before
// any loss can be read.
func bceRefusedNaN(err error) bool {
	return strings.Contains(err.Error(), "input should be between 0 and 1")
}

// CheckFinite returns a *NonFiniteError naming the first (by name) loss that
// is NaN or infinite, so the loop stops before a bad step reaches a checkpoint.
func CheckFinite(losses map[string]float64, step int) error {
	for _, n := range slices.Sorted(maps.Keys(losses)) {
		if v := losses[n]; math.IsNaN(v) || math.IsInf(v, 0) {
			return &NonFiniteError{Step: step, Name: n, Value: v, Losses: losses}
		}
	}
	return nil
}
