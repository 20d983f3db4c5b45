package pix2pixhd

import (
	"io"
	"os"
	"strings"
	"testing"

	torch "gogan/cgo"
	"gogan/config"
	"gogan/gan"
	"gogan/nets"
	"gogan/runfolder"
)

// TestPretrainPrunedMeanwhileLoadsTheNewest: model.load_pretrain's
// checkpoint, found before the data were read, removed since by its run
// (still training, pruning), gives way to that run's newest checkpoint
// instead of failing the new run.
func TestPretrainPrunedMeanwhileLoadsTheNewest(t *testing.T) {
	torch.LockThread()
	run := t.TempDir()
	cfg, err := config.LoadConfig("", []string{"recipe=pix2pixhd", "out=" + run})
	if err != nil {
		t.Fatal(err)
	}
	yml, err := cfg.YAML()
	if err != nil {
		t.Fatal(err)
	}
	opts := nets.Options{Kind: "basic", InputNC: 3, NDF: 4, NLayers: 1, Norm: "instance"}
	d, err := nets.NewDiscriminator(opts, torch.CPUDevice)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Free()
	// Checkpoints of steps 1 and 2, D's tensors all 1 and all 2.
	for step := 1; step <= 2; step++ {
		var ws []torch.Named
		for _, nt := range d.StateDict() {
			ws = append(ws, torch.Named{Name: "D." + nt.Name, Tensor: torch.Full(float64(step), nt.Tensor.DType(), torch.CPUDevice, nt.Tensor.Shape()...)})
		}
		if _, err := runfolder.WriteCheckpoint(run, runfolder.CheckpointState{Step: step, Config: string(yml)}, func(w io.Writer) error {
			return torch.WriteSafetensors(w, ws, nil)
		}); err != nil {
			t.Fatal(err)
		}
		torch.FreeNamed(ws)
	}
	found, err := openPretrain(run, cfg.Data.Direction)
	if err != nil || found.Dir != runfolder.CheckpointDir(run, 2) {
		t.Fatalf("openPretrain: %v %v", found, err)
	}
	// The run trains on and prunes step 2 after a step 3 (here: step 2
	// goes, step 1 stays the newest).
	if err := os.RemoveAll(found.Dir); err != nil {
		t.Fatal(err)
	}
	if err := loadPretrainOrNewest(found, run, cfg.Data.Direction, []gan.Net{{Role: "D", Net: d}}); err != nil {
		t.Fatalf("a pretrain checkpoint removed meanwhile: %v", err)
	}
	for _, nt := range d.StateDict() {
		if v := nt.Tensor.Float32s(); len(v) > 0 && v[0] != 1 {
			t.Fatalf("D.%s is %v, want step 1's 1", nt.Name, v[0])
		}
	}
	// Given the checkpoint folder itself, gone, the error names it.
	err = loadPretrainOrNewest(found, found.Dir, cfg.Data.Direction, []gan.Net{{Role: "D", Net: d}})
	if err == nil || !strings.Contains(err.Error(), found.Dir) {
		t.Fatalf("a removed checkpoint folder given as model.load_pretrain: %v", err)
	}
}
