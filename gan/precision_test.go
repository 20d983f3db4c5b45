package gan

import (
	"math"
	"testing"
)

func TestGradScaler(t *testing.T) {
	s := newGradScaler()
	s.foundInf = true
	s.update()
	if s.Scale != scalerInit/2 || s.GrowthTracker != 0 {
		t.Fatalf("after an overflow: scale %g tracker %d", s.Scale, s.GrowthTracker)
	}
	for i := 0; i < scalerInterval-1; i++ {
		s.update()
	}
	if s.Scale != scalerInit/2 || s.GrowthTracker != scalerInterval-1 {
		t.Fatalf("after %d good steps: scale %g tracker %d", scalerInterval-1, s.Scale, s.GrowthTracker)
	}
	s.update()
	if s.Scale != scalerInit || s.GrowthTracker != 0 {
		t.Fatalf("after %d good steps: scale %g tracker %d, want it doubled", scalerInterval, s.Scale, s.GrowthTracker)
	}
}

// TestGradScalerGrowsOnlyWhileFinite: as PyTorch's _amp_update_scale_, a
// scale whose doubling would overflow float32 stays where it is (and the
// growth tracker starts over); backoff still halves it.
func TestGradScalerGrowsOnlyWhileFinite(t *testing.T) {
	s := &GradScaler{Scale: math.MaxFloat32 / 1.5}
	for i := 0; i < scalerInterval; i++ {
		s.update()
	}
	if s.Scale != math.MaxFloat32/1.5 || s.GrowthTracker != 0 {
		t.Errorf("after %d clean steps near float32's max: scale %g, tracker %d; want %g, 0", scalerInterval, s.Scale, s.GrowthTracker, math.MaxFloat32/1.5)
	}
	s = &GradScaler{Scale: 1024}
	for i := 0; i < scalerInterval; i++ {
		s.update()
	}
	if s.Scale != 2048 {
		t.Errorf("after %d clean steps: scale %g, want 2048", scalerInterval, s.Scale)
	}
	s.foundInf = true
	s.update()
	if s.Scale != 1024 || s.GrowthTracker != 0 {
		t.Errorf("after an overflow: scale %g, tracker %d; want 1024, 0", s.Scale, s.GrowthTracker)
	}
}
