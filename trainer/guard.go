package trainer

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
)

// NonFiniteError reports a loss that became NaN or ±Inf.
type NonFiniteError struct {
	Step   int
	Name   string
	Value  float64
	Losses map[string]float64
}

func (e *NonFiniteError) Error() string {
	var all []string
	for _, n := range slices.Sorted(maps.Keys(e.Losses)) {
		all = append(all, fmt.Sprintf("%s=%g", n, e.Losses[n]))
	}
	return fmt.Sprintf("loss %s is %v at step %d (losses: %s); training diverged: lower train.lr, check the data, or resume from an earlier checkpoint",
		e.Name, e.Value, e.Step, strings.Join(all, ", "))
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
