package eval

import (
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"gogan/cgo/torchtest"
	"gogan/trainer"
)

// TestFIDOfACheckpointIsThePyTorchSamples: eval fid --checkpoint gives, in
// each --g-mode, the FID of the samples scripts/eval_pytorch_dcgan.py draws
// from the same weights with main.py's Generator (netG.train(mode),
// torch.manual_seed(1), batches of 64 noise vectors, in train mode every
// batch full and the extra images dropped) given as --samples-file. 100
// samples: the second batch is a partial one. The two modes give FIDs far
// apart, so a generator run in the other mode, or fed other noise, is seen.
func TestFIDOfACheckpointIsThePyTorchSamples(t *testing.T) {
	py := torchtest.Python(t)
	ctx := context.Background()
	dir := t.TempDir()
	clf := untrainedClassifier(t, dir)
	ck := evalCheckpoint(t, dcgan32Sets...)
	exp := filepath.Join(dir, "export")
	if _, err := trainer.Export(trainer.ExportOptions{Checkpoint: ck, Out: exp}); err != nil {
		t.Fatal(err)
	}
	pths, _ := filepath.Glob(filepath.Join(exp, "netG_epoch_*.pth"))
	if len(pths) != 1 {
		t.Fatalf("export wrote %v, want one netG_epoch_N.pth", pths)
	}
	const script = `
import sys
sys.path.insert(0, "../scripts")
import torch
import eval_pytorch_dcgan, reference_nets
pth, mode, out = sys.argv[1:4]
netG = reference_nets.DCGANGenerator(100, 8, 1, 32)
netG.load_state_dict(torch.load(pth))
eval_pytorch_dcgan.save_images(out, eval_pytorch_dcgan.generate(netG, 100, 100, mode == "train"))
`
	fids := map[string]float64{}
	for _, mode := range []string{"eval", "train"} {
		samples := filepath.Join(dir, mode+".safetensors")
		cmd := exec.Command(py, "-c", script, pths[0], mode, samples)
		cmd.Env = append(os.Environ(), "OPENBLAS_NUM_THREADS=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("reference samples (%s mode): %v\n%s", mode, err, out)
		}
		ours, err := FID(ctx, FIDOptions{Classifier: clf, Checkpoint: ck, Sampling: Sampling{Samples: 100, GMode: mode}, Device: "cpu", Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		ref, err := FID(ctx, FIDOptions{Classifier: clf, SamplesFile: samples, Sampling: Sampling{Samples: 100}, Device: "cpu", Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("--g-mode %s: FID %.9f, of the reference's samples %.9f", mode, ours.FID, ref.FID)
		// Seen equal to 9 digits; float order could move a pixel across a
		// quantisation level. Other noise moves it by 1e-5 and more.
		if ours.Generated != 100 || math.Abs(ours.FID-ref.FID) > 1e-6*ref.FID {
			t.Errorf("--g-mode %s: FID %.9f of %d images, the reference's samples %.9f", mode, ours.FID, ours.Generated, ref.FID)
		}
		fids[mode] = ref.FID
	}
	if math.Abs(fids["eval"]-fids["train"]) < 1e-2*fids["eval"] {
		t.Errorf("eval and train mode give FIDs %.6f and %.6f: the test cannot tell the modes apart", fids["eval"], fids["train"])
	}
}
