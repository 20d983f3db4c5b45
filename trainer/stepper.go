package trainer

import (
	torch "gogan/cgo"
	"gogan/config"
	"gogan/gan"
)

// Stepper runs a recipe's training step outside a run (gogan bench): the
// session's step with its mixed precision, channels_last and CUDA graph, on
// batches the caller makes, with no data, run folder or checkpoints.
type Stepper struct{ s *session }

// NewStepper builds cfg's recipe on dev (seeded from cfg.Seed).
func NewStepper(cfg *config.Config, dev torch.Device) (*Stepper, error) {
	torch.ManualSeed(uint64(cfg.Seed))
	s := &session{cfg: cfg, dev: dev, lead: true}
	if err := s.newRecipe(); err != nil {
		s.close()
		return nil, err
	}
	return &Stepper{s: s}, nil
}

// Recipe is the recipe being stepped.
func (st *Stepper) Recipe() gan.Recipe { return st.s.rec }

// Step runs one training step on b and waits for its losses.
func (st *Stepper) Step(b gan.Batch) (losses map[string]float64, err error) {
	err = torch.Try(func() {
		sc := torch.NewScope()
		defer sc.Close()
		losses = st.s.runStep(b)
	})
	return losses, err
}

// Close frees the recipe and any captured graph.
func (st *Stepper) Close() { st.s.close() }
