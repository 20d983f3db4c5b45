package trainer

import (
	"fmt"
	"runtime"
	"slices"
	"sort"

	torch "gogan/cgo"
	"gogan/config"
	"gogan/gan"
	"gogan/runfolder"
)

// Import builds cfg's networks, loads PyTorch state_dicts saved with
// torch.save (.pth) into the networks of the given roles (at least the
// generator, "G"), and writes a step-0 checkpoint into cfg.Out that sample,
// translate and resume can use. notes say, per file, what was adapted from
// a state dict saved before PyTorch 0.4 (nets.Net.LoadPyTorchStateDict).
func Import(cfg *config.Config, pths map[string]string) (ck string, notes []string, err error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	dev, err := DeviceFor(cfg)
	if err != nil {
		return "", nil, err
	}
	rd, err := runfolder.NewRunDir(cfg.Out)
	if err != nil {
		return "", nil, err
	}
	if cks, _ := runfolder.ListCheckpoints(rd.Path); len(cks) > 0 {
		return "", nil, fmt.Errorf("import: %s already holds checkpoints; choose a new --out", rd.Path)
	}
	torch.ManualSeed(uint64(cfg.Seed))
	s := &session{cfg: cfg, rd: rd, dev: dev, lead: true}
	defer s.close()
	if err := s.newRecipe(); err != nil {
		return "", nil, err
	}
	roles := make([]string, 0, len(pths))
	for r := range pths {
		roles = append(roles, r)
	}
	sort.Strings(roles)
	for _, role := range roles {
		file := pths[role]
		if file == "" {
			continue
		}
		i := slices.IndexFunc(s.rec.Nets(), func(n gan.Net) bool { return n.Role == role })
		if i < 0 {
			return "", nil, fmt.Errorf("import %s: recipe %s has no network %s", file, cfg.Recipe, role)
		}
		n := s.rec.Nets()[i]
		sd, err := torch.LoadPTH(file)
		if err != nil {
			return "", nil, fmt.Errorf("import: %w", err)
		}
		adapted, err := n.Net.LoadPyTorchStateDict(sd)
		torch.FreeNamed(sd)
		for _, a := range adapted {
			notes = append(notes, fmt.Sprintf("%s (%s): %s", file, role, a))
		}
		if err != nil {
			spec, _ := gan.NetSpecOf(cfg, role)
			return "", nil, fmt.Errorf("import %s into network %s (%s): %w", file, role, spec.Options.Kind, err)
		}
	}
	t := cfg.Train
	if s.sched, err = NewSchedule(t.LRPolicy, t.LR, t.Epochs, t.EpochsDecay, t.LRDecayIters); err != nil {
		return "", nil, err
	}
	if err := rd.WriteConfig(cfg); err != nil {
		return "", nil, err
	}
	if err := s.checkpoint(); err != nil {
		return "", nil, err
	}
	return s.ckpt, notes, nil
}
