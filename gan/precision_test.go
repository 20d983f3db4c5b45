package gan

import "testing"

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
