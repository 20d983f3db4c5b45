package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io/fs"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	torch "gogan/cgo"
	"gogan/cgo/torchtest"
	"gogan/config"
	"gogan/gan"
)

var exportedFrom = regexp.MustCompile(`exported step \d+ of (.+) \(recipe `)

// exportAndLoad runs gogan export on a checkpoint and then the reference
// command lines it printed through scripts/export_check.py (each
// reference's option parsing, network construction and loading,
// transcribed), which checks that every network loads strictly and holds
// the checkpoint's tensors bit for bit, and writes the options file the
// reference's training run would have left beside the files. It returns
// export's output and the networks the commands loaded, in order.
func exportAndLoad(t *testing.T, checkpoint, out string, flags ...string) (string, string) {
	t.Helper()
	o, err := gogan(t, append([]string{"export", "--checkpoint", checkpoint, "--out", out}, flags...)...)
	if err != nil {
		t.Fatalf("export: %v\n%s", err, o)
	}
	m := exportedFrom.FindStringSubmatch(o)
	if m == nil {
		t.Fatalf("export printed no checkpoint:\n%s", o)
	}
	var cmds []string
	for _, line := range strings.Split(o, "\n") {
		if c, ok := strings.CutPrefix(line, "  python "); ok {
			cmds = append(cmds, "python "+c)
		}
	}
	js, _ := json.Marshal(map[string]any{"weights": filepath.Join(m[1], "weights.safetensors"), "commands": cmds, "write_options": true})
	cf := filepath.Join(t.TempDir(), "case.json")
	if err := os.WriteFile(cf, js, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := exec.Command(torchtest.Python(t), "scripts/export_check.py", cf).CombinedOutput()
	if err != nil {
		t.Fatalf("the references' loading of the exported files: %v\n%s\nexport printed:\n%s", err, res, o)
	}
	return o, strings.TrimSpace(strings.TrimPrefix(string(res), "loaded "))
}

// TestExportLoadsInTheReferences: for every recipe, gogan export writes the
// networks under the reference's file names, and the command lines it
// prints (inference, continued training) build the same networks in the
// reference and load every file strictly, with the checkpoint's tensors.
// Then gogan import --from reads that reference checkpoint folder back (the
// options file the reference wrote, and the files): the same networks,
// settings and weights.
func TestExportLoadsInTheReferences(t *testing.T) {
	hdRoot := t.TempDir()
	writeHDData(t, hdRoot, 2, 40, 36)
	colour := colourFolder(t, 2)
	for _, c := range []struct {
		name   string
		train  func(run string) []string
		files  []string
		loaded string
		note   string
		keys   []string // settings the reference's options carry back
	}{
		{"dcgan", func(run string) []string {
			return smallDCGAN(run, "data.image_size=64", "data.max_samples=128", "train.max_steps=1")
		}, []string{"netG_epoch_0.pth", "netD_epoch_0.pth"}, "G D", "DATAROOT/MNIST/raw", nil},
		{"pix2pix", func(run string) []string {
			return smallPix2Pix(run, "train.max_steps=1", "train.lr=0.0003", "train.lambda_L1=50")
		},
			[]string{"latest_net_G.pth", "latest_net_D.pth"}, "G G D", "data.dataset=edges", pix2pixKeys},
		// photos to edge maps (of 3 channels): the test model on a folder
		// of photos, read as G's inputs (without --direction BtoA, with
		// which its single dataset reads output_nc's channels)
		{"pix2pix BtoA", func(run string) []string {
			return smallPix2Pix(run, "train.max_steps=1", "data.direction=BtoA", "model.output_nc=3")
		},
			[]string{"latest_net_G.pth", "latest_net_D.pth"}, "G G D", "translates the inputs in a folder INPUTS, photos", pix2pixKeys},
		{"colorization", func(run string) []string {
			return []string{"--config", "configs/colorization.yaml", "--quiet", "--set", "out=" + run, "--set", "data.root=" + colour,
				"--set", "data.load_size=136", "--set", "data.crop_size=128", "--set", "model.netG=unet_128",
				"--set", "model.ngf=8", "--set", "model.ndf=8", "--set", "threads=2", "--set", "data.workers=1", "--set", "train.max_steps=1", "--set", "data.shuffle=false",
				"--set", "train.lr_policy=step", "--set", "train.lr_decay_iters=7", "--set", "train.epochs=3", "--set", "train.epochs_decay=2"}
		}, []string{"latest_net_G.pth", "latest_net_D.pth"}, "G G D", "test.py reads the photos to translate from --dataroot/test (its --phase test), and there is no " + filepath.Join(colour, "test"),
			append([]string{"data.root", "data.dataset", "data.shuffle", "data.phase"}, pix2pixKeys...)},
		{"cyclegan", func(run string) []string {
			return smallCycleGAN(run, "train.max_steps=1", "train.lambda_identity=0.25")
		},
			[]string{"latest_net_G_A.pth", "latest_net_G_B.pth", "latest_net_D_A.pth", "latest_net_D_B.pth"}, "G_A G_B G_A G_B D_A D_B", "made by gogan from data.source=fashion-mnist",
			append([]string{"train.lambda_A", "train.lambda_B", "train.lambda_identity", "train.pool_size"}, commonKeys...)},
		{"cyclegan with dropout", func(run string) []string {
			return smallCycleGAN(run, "train.max_steps=1", "model.no_dropout=false")
		}, []string{"latest_net_G_A.pth", "latest_net_G_B.pth", "latest_net_D_A.pth", "latest_net_D_B.pth"}, "G_A G_B", "one direction at a time", nil},
		{"pix2pixhd", func(run string) []string {
			return smallHD(hdRoot, "", run, "train.max_steps=1", "train.no_vgg_loss=true", "train.niter_fix_global=0",
				"model.instance_feat=true", "model.nef=4", "model.n_downsample_E=2", "train.no_ganFeat_loss=true", "data.shuffle=false")
		}, []string{"latest_net_G.pth", "latest_net_D.pth", "latest_net_E.pth"}, "G E G D E", "no CUDA GPU, which pix2pixHD's test.py and train.py need",
			[]string{"data.root", "data.shuffle", "data.phase", "data.label_nc", "data.no_instance", "data.load_size", "data.crop_size", "data.preprocess", "data.batch_size",
				"model.netG", "model.ngf", "model.n_downsample_global", "model.n_blocks_global", "model.n_local_enhancers",
				"model.n_blocks_local", "model.norm", "model.instance_feat", "model.label_feat", "model.feat_num", "model.nef",
				"model.n_downsample_E", "model.ndf", "model.n_layers_D", "model.num_D", "train.epochs", "train.epochs_decay",
				"train.niter_fix_global", "train.lr", "train.beta1", "train.lambda_feat", "train.no_ganFeat_loss", "train.no_vgg_loss", "train.gan_mode"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			base := t.TempDir()
			run, out := filepath.Join(base, "run"), filepath.Join(base, "exported", "facades_gogan")
			mustTrain(t, c.train(run)...)
			o, loaded := exportAndLoad(t, run, out)
			if loaded != c.loaded {
				t.Errorf("the printed commands loaded %q, want %q\n%s", loaded, c.loaded, o)
			}
			var names []string
			ents, _ := os.ReadDir(out)
			for _, e := range ents {
				if strings.HasSuffix(e.Name(), ".pth") { // beside the options file export_check.py wrote
					names = append(names, e.Name())
				}
			}
			if want := slices.Sorted(slices.Values(c.files)); !slices.Equal(names, want) {
				t.Errorf("files %v, want %v", names, want)
			}
			if c.note == "" && strings.Contains(o, "note:") {
				t.Errorf("notes for a run the reference repeats:\n%s", o)
			} else if !strings.Contains(o, c.note) {
				t.Errorf("no note saying %q:\n%s", c.note, o)
			}
			if c.name == "pix2pixhd" {
				// train.py --continue_train resumes at iter.txt's epoch and
				// images: epoch 1, one image (one step of batch 1) into it
				if b, err := os.ReadFile(filepath.Join(out, "iter.txt")); err != nil || string(b) != "1\n1\n" {
					t.Errorf("iter.txt %q (%v), want epoch 1 and 1 image", b, err)
				}
			}
			back := filepath.Join(base, "back")
			o, err := gogan(t, "import", "--from", out, "--out", back)
			if c.keys == nil {
				// no options file (main.py writes none), or networks the
				// reference's training cannot build
				if c.name == "dcgan" && (err == nil || !strings.Contains(o, "no options file: main.py writes none; import them with --pth and --pth-d")) {
					t.Errorf("import --from a folder without options: %v\n%s", err, o)
				}
				return
			}
			if err != nil {
				t.Fatalf("import --from: %v\n%s", err, o)
			}
			// data gogan made (edges): the reference's dataroot is a
			// placeholder, and the note says which keys give the data back
			if strings.HasPrefix(c.name, "pix2pix ") || c.name == "pix2pix" {
				if !strings.Contains(o, "note: dataroot DATAROOT is what gogan export writes") || !strings.Contains(o, "--set data.dataset=... data.source=... data.root=...") {
					t.Errorf("import --from of an edges run: no note on DATAROOT\n%s", o)
				}
			}
			orig, err := config.LoadConfig(filepath.Join(run, "config.yaml"), nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := config.LoadConfig(filepath.Join(back, "config.yaml"), nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range append([]string{"recipe"}, c.keys...) {
				w, _ := orig.Get(k)
				g, _ := got.Get(k)
				if fmt.Sprint(g) != fmt.Sprint(w) {
					t.Errorf("%s: imported %v, trained with %v", k, g, w)
				}
			}
			sameNetworks(t, filepath.Join(run, "checkpoints", "step-00000001"), filepath.Join(back, "checkpoints", "step-00000000"))
			if c.name == "pix2pixhd" {
				// iter.txt's position comes back: the imported run goes on
				// at step 2, the first image of the second pair of epoch 1.
				if !strings.Contains(o, "iter.txt: the latest networks trained 0 epochs and 1 images of epoch 1") {
					t.Errorf("import --from: no note on iter.txt:\n%s", o)
				}
				// and exported again, the import's position goes back out
				again := filepath.Join(base, "again", "x")
				if o, err := gogan(t, "export", "--checkpoint", back, "--out", again); err != nil {
					t.Fatalf("export of the import: %v\n%s", err, o)
				}
				if b, err := os.ReadFile(filepath.Join(again, "iter.txt")); err != nil || string(b) != "1\n1\n" {
					t.Errorf("iter.txt of the import's export %q (%v), want epoch 1 and 1 image", b, err)
				}
				if o, err := gogan(t, "resume", back, "--quiet", "--set", "train.max_steps=2", "--set", "train.log_every=1"); err != nil {
					t.Fatalf("resume the import: %v\n%s", err, o)
				}
				if rows := lossRows(t, back); len(rows) != 2 || rows[0][0] != "step" || rows[1][0] != "2" {
					t.Errorf("the resumed import's metrics.csv %v, want one row, of step 2", rows)
				}
			}
		})
	}
}

// The settings a pytorch-CycleGAN-and-pix2pix run's options carry back.
var (
	commonKeys = []string{"model.netG", "model.netD", "model.ngf", "model.ndf", "model.n_layers_D", "model.norm", "model.no_dropout",
		"model.input_nc", "model.output_nc", "data.direction", "data.load_size", "data.crop_size", "data.preprocess", "data.no_flip",
		"data.batch_size", "train.lr", "train.beta1", "train.gan_mode",
		// the schedule: train.py's own defaults (100 + 100 epochs) are not the run's
		"train.epochs", "train.epochs_decay", "train.lr_policy", "train.lr_decay_iters"}
	pix2pixKeys = append([]string{"train.lambda_L1"}, commonKeys...)
)

// sameNetworks checks that checkpoint got holds want's networks (not the
// optimizers' moments or fixed inputs), bit for bit.
func sameNetworks(t *testing.T, want, got string) {
	t.Helper()
	w, g := checkpointTensors(t, want), checkpointTensors(t, got)
	n := 0
	for k, wb := range w {
		if strings.HasPrefix(k, "optimizer.") || strings.HasPrefix(k, "pool.") || strings.HasPrefix(k, "fixed") || !strings.Contains(k, ".") {
			continue
		}
		n++
		if gb, ok := g[k]; !ok || !bytes.Equal(gb, wb) {
			t.Errorf("%s: imported %d bytes (present %v), the checkpoint's %d", k, len(gb), ok, len(wb))
		}
	}
	if n < 10 {
		t.Errorf("compared %d network tensors", n)
	}
}

// TestExportedFilesImportBack: gogan import of the exported files makes a
// checkpoint whose networks are the exported checkpoint's, bit for bit.
func TestExportedFilesImportBack(t *testing.T) {
	base := t.TempDir()
	run, out, back := filepath.Join(base, "run"), filepath.Join(base, "exported"), filepath.Join(base, "back")
	mustTrain(t, smallCycleGAN(run, "train.max_steps=2")...)
	// Not into the run's checkpoints: the run removes their folders whole.
	inside := filepath.Join(run, "checkpoints", "step-00000002", "pth")
	if o, err := gogan(t, "export", "--checkpoint", run, "--out", inside); err == nil || !strings.Contains(o, "whose folders the run removes") {
		t.Errorf("export into the run's checkpoints: %v\n%s", err, o)
	}
	if o, err := gogan(t, "export", "--checkpoint", run, "--out", out); err != nil {
		t.Fatalf("export: %v\n%s", err, o)
	}
	args := []string{"import", "--config", filepath.Join(run, "config.yaml"), "--out", back}
	for _, r := range []string{"G_A", "G_B", "D_A", "D_B"} {
		args = append(args, "--net", r+"="+filepath.Join(out, "latest_net_"+r+".pth"))
	}
	if o, err := gogan(t, args...); err != nil {
		t.Fatalf("import: %v\n%s", err, o)
	}
	sameNetworks(t, filepath.Join(run, "checkpoints", "step-00000002"), filepath.Join(back, "checkpoints", "step-00000000"))
}

// checkpointTensors reads a checkpoint's weights.safetensors: each tensor's
// bytes by name.
func checkpointTensors(t *testing.T, ck string) map[string][]byte {
	t.Helper()
	ts, _, err := torch.LoadSafetensors(filepath.Join(ck, "weights.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer torch.FreeNamed(ts)
	out := map[string][]byte{}
	for _, nt := range ts {
		out[nt.Name] = nt.Tensor.Bytes()
	}
	return out
}

// TestImportAtEpochGoesOnAsContinueTrain: weights imported with --epoch 3
// and resumed train the reference's epochs 4 to 6 at the learning rates
// its train.py --continue_train --epoch_count 4 has there: the linear rule
// of get_scheduler (models/networks.py), which adds epoch_count to the
// scheduler's own count, stepped by update_learning_rate at each epoch's
// end, transcribed in PyTorch from the reference. gogan's config has no
// epoch_count: --epoch is it, less one.
func TestImportAtEpochGoesOnAsContinueTrain(t *testing.T) {
	base := t.TempDir()
	pth := filepath.Join(base, "latest_net_G.pth")
	script := `import sys; sys.path.insert(0, "scripts")
import torch, reference_nets as rn
torch.save(rn.define_G(1, 1, 4, "resnet_6blocks", "batch", True).state_dict(), sys.argv[1])`
	py := torchtest.Python(t)
	if out, err := exec.Command(py, "-c", script, pth).CombinedOutput(); err != nil {
		t.Fatalf("saving the reference's resnet_6blocks: %v\n%s", err, out)
	}
	// 2 steps an epoch (32 pairs, batch 16), 2 epochs at the base rate and
	// 4 of decay
	run := filepath.Join(base, "run")
	args := []string{"import", "--config", "configs/pix2pix-fashion-edges.yaml", "--pth", pth, "--epoch", "3", "--out", run}
	for _, s := range []string{"data.max_samples=32", "model.ngf=4", "model.ndf=4", "train.epochs=2", "train.epochs_decay=4",
		"train.lr=0.0002", "train.log_every=1", "threads=2"} {
		args = append(args, "--set", s)
	}
	if out, err := gogan(t, args...); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	if out, err := gogan(t, "resume", run, "--quiet"); err != nil {
		t.Fatalf("resume: %v\n%s", err, out)
	}

	// train.py: for epoch in range(opt.epoch_count, opt.n_epochs + opt.n_epochs_decay + 1),
	// the epoch's steps, then model.update_learning_rate() (scheduler.step())
	reference := `import json, torch
n_epochs, n_epochs_decay, epoch_count = 2, 4, 4
opt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=0.0002, betas=(0.5, 0.999))
def lambda_rule(epoch):
    return 1.0 - max(0, epoch + epoch_count - n_epochs) / float(n_epochs_decay + 1)
scheduler = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda=lambda_rule)
rates = {}
for epoch in range(epoch_count, n_epochs + n_epochs_decay + 1):
    rates[epoch] = opt.param_groups[0]["lr"]
    scheduler.step()
print(json.dumps(rates))`
	cmd := exec.Command(py, "-c", reference)
	cmd.Env = append(os.Environ(), "OPENBLAS_NUM_THREADS=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("reference: %v\n%s", err, out)
	}
	var rates map[string]float64
	if err := json.Unmarshal(out, &rates); err != nil {
		t.Fatalf("reference's output %q: %v", out, err)
	}
	rows := lossRows(t, run)
	if len(rows) != 7 {
		t.Fatalf("metrics.csv of the resumed import: %v, want steps 7 to 12", rows)
	}
	epochCol, lrCol := slices.Index(rows[0], "epoch"), slices.Index(rows[0], "lr")
	for i, r := range rows[1:] {
		// gogan counts epochs from 0, train.py from 1
		e, err := strconv.Atoi(r[epochCol])
		want, ok := rates[strconv.Itoa(e+1)]
		if err != nil || !ok || e != 3+i/2 {
			t.Errorf("step %s: epoch %s, want the reference's epoch %d", r[0], r[epochCol], 4+i/2)
			continue
		}
		if got, err := strconv.ParseFloat(r[lrCol], 64); err != nil || math.Abs(got-want) > 1e-12 {
			t.Errorf("step %s (the reference's epoch %d): lr %s, its %g", r[0], e+1, r[lrCol], want)
		}
	}
}

// TestImportPastNiterFixGlobalResumes: a local enhancer's weights imported
// at an epoch past train.niter_fix_global (a pix2pixHD run folder whose
// iter.txt is there) resume: the checkpoint's optimizer of G is the one
// over all of G that resume builds at that epoch, not the enhancer's
// alone, whose moments resume refused ("destination shape ... differs").
func TestImportPastNiterFixGlobalResumes(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "data")
	writeHDData(t, root, 2, 32, 32)
	run := filepath.Join(base, "run")
	mustTrain(t, featureHD(root, run, "train.max_steps=4", "train.epochs=2", "train.epochs_decay=2")...)
	exp := filepath.Join(base, "exported")
	if o, err := gogan(t, "export", "--checkpoint", run, "--out", exp); err != nil {
		t.Fatalf("export: %v\n%s", err, o)
	}
	back := filepath.Join(base, "back")
	if o, err := gogan(t, "import", "--config", filepath.Join(run, "config.yaml"), "--net", "G="+filepath.Join(exp, "latest_net_G.pth"),
		"--net", "D="+filepath.Join(exp, "latest_net_D.pth"), "--epoch", "2", "--out", back); err != nil {
		t.Fatalf("import: %v\n%s", err, o)
	}
	if o, err := gogan(t, "resume", back, "--quiet", "--set", "train.max_steps=5", "--set", "train.log_every=1"); err != nil {
		t.Fatalf("resume of weights imported past train.niter_fix_global=1: %v\n%s", err, o)
	}
	if rows := lossRows(t, back); len(rows) != 2 || rows[1][0] != "5" {
		t.Errorf("the resumed import's metrics.csv %v, want one row, of step 5", rows)
	}
}

// TestExportNamesAndRefuses: DCGAN's files carry the epoch the weights were
// trained in, as main.py's; files already there are kept unless --force; a
// label that leaves the folder, a run without checkpoints and a damaged
// checkpoint are refused by name, and nothing is written.
func TestExportNamesAndRefuses(t *testing.T) {
	base := t.TempDir()
	run := filepath.Join(base, "run")
	// 2 steps an epoch: checkpoints at steps 2 (the end of epoch 0), 3 and 4
	// (the end of epoch 1).
	mustTrain(t, smallDCGAN(run, "data.max_samples=128", "train.epochs=2", "train.checkpoint_every=1")...)
	ck := func(step string) string { return filepath.Join(run, "checkpoints", "step-0000000"+step) }
	out := filepath.Join(base, "out")
	for _, c := range []struct{ checkpoint, file string }{{ck("2"), "netG_epoch_0.pth"}, {ck("3"), "netG_epoch_1.pth"}, {run, "netG_epoch_1.pth"}} {
		o, err := gogan(t, "export", "--checkpoint", c.checkpoint, "--out", out, "--force")
		if err != nil || !strings.Contains(o, filepath.Join(out, c.file)) {
			t.Errorf("export %s: %v, want %s\n%s", c.checkpoint, err, c.file, o)
		}
	}
	// Imported back, main.py's file name tells how far it trained: with
	// --epoch 1 the resumed run trains epoch 1 (steps 3 and 4) alone.
	g0 := filepath.Join(out, "netG_epoch_0.pth")
	o, err := gogan(t, "import", "--config", filepath.Join(run, "config.yaml"), "--pth", g0, "--out", filepath.Join(base, "at0"))
	if err != nil || !strings.Contains(o, "give --epoch 1 for resume") {
		t.Errorf("import %s: %v, want a note saying --epoch 1\n%s", g0, err, o)
	}
	at1 := filepath.Join(base, "at1")
	if o, err := gogan(t, "import", "--config", filepath.Join(run, "config.yaml"), "--pth", g0, "--epoch", "1", "--out", at1); err != nil || strings.Contains(o, "give --epoch") {
		t.Fatalf("import --epoch 1: %v\n%s", err, o)
	}
	if o, err := gogan(t, "resume", at1, "--quiet", "--set", "train.log_every=1"); err != nil {
		t.Fatalf("resume: %v\n%s", err, o)
	}
	if rows := lossRows(t, at1); len(rows) != 3 || rows[1][0] != "3" || rows[2][0] != "4" {
		t.Errorf("the import at epoch 1 resumed with metrics.csv %v, want steps 3 and 4", rows)
	}

	// The newest export (step 4) is in place; step 3's would differ.
	g := filepath.Join(out, "netG_epoch_1.pth")
	before, _ := os.ReadFile(g)
	if o, err := gogan(t, "export", "--checkpoint", ck("3"), "--out", out); err == nil || !strings.Contains(o, g) || !strings.Contains(o, "--force") {
		t.Errorf("export over existing files: %v\n%s", err, o)
	}
	if after, _ := os.ReadFile(g); !bytes.Equal(before, after) {
		t.Errorf("a refused export changed %s", g)
	}
	if o, err := gogan(t, "export", "--checkpoint", ck("3"), "--out", out, "--force"); err != nil {
		t.Fatalf("export --force: %v\n%s", err, o)
	}
	if after, _ := os.ReadFile(g); bytes.Equal(before, after) {
		t.Errorf("export --force left %s as it was", g)
	}
	if o, err := gogan(t, "export", "--checkpoint", run, "--out", out, "--label", "best"); err != nil || !strings.Contains(o, "netD_epoch_best.pth") {
		t.Errorf("export --label best: %v\n%s", err, o)
	}

	damaged := filepath.Join(base, "copy", "step-00000004")
	if err := os.CopyFS(damaged, os.DirFS(ck("4"))); err != nil {
		t.Fatal(err)
	}
	os.Truncate(filepath.Join(damaged, "weights.safetensors"), 100)
	os.MkdirAll(filepath.Join(base, "empty"), 0o755)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--checkpoint", run, "--label", "../x"}, "--label"},
		{[]string{"--checkpoint", filepath.Join(base, "empty")}, "no valid checkpoint"},
		{[]string{"--checkpoint", damaged}, "weights.safetensors"},
	} {
		fresh := filepath.Join(base, "fresh")
		o, err := gogan(t, append([]string{"export", "--out", fresh}, c.args...)...)
		if err == nil || !strings.Contains(o, c.want) {
			t.Errorf("export %v: %v, want an error naming %q\n%s", c.args, err, c.want, o)
		}
		if _, err := os.Stat(fresh); err == nil {
			t.Errorf("export %v failed but made %s", c.args, fresh)
		}
	}
}

// TestExportOnAFullDisk: an export that runs out of room leaves the folder
// as it was: no new folders, no temp files, and with --force the files it
// was replacing untouched (all files are renamed into place together, only
// once all are written). Mounting the small tmpfs needs root, which make
// test and CI have.
func TestExportOnAFullDisk(t *testing.T) {
	base := t.TempDir()
	run := filepath.Join(base, "run")
	mustTrain(t, smallPix2Pix(run, "train.max_steps=2", "train.checkpoint_every=1")...)
	mnt := filepath.Join(base, "mnt")
	os.MkdirAll(mnt, 0o755)
	// Room for one export (G 2.0 MB, D 0.18 MB) and a new G beside it, not
	// for a whole new set: a file-by-file export would replace both here.
	mountTmpfs(t, mnt, "size=4200k")
	out := filepath.Join(mnt, "checkpoints", "p2p")
	if o, err := gogan(t, "export", "--checkpoint", filepath.Join(run, "checkpoints", "step-00000001"), "--out", out); err != nil {
		t.Fatalf("export: %v\n%s", err, o)
	}
	before := map[string][]byte{}
	for _, f := range []string{"latest_net_G.pth", "latest_net_D.pth", "train_opt.txt"} {
		before[f], _ = os.ReadFile(filepath.Join(out, f))
	}
	if o, err := gogan(t, "export", "--checkpoint", run, "--out", out, "--force"); err == nil || !strings.Contains(o, "no space left") {
		t.Errorf("export --force on a full disk: %v, want an error saying so\n%s", err, o)
	}
	ents, _ := os.ReadDir(out)
	if len(ents) != len(before) {
		t.Errorf("after the failed export the folder holds %d entries, want the %d files", len(ents), len(before))
	}
	for f, b := range before {
		if now, _ := os.ReadFile(filepath.Join(out, f)); !bytes.Equal(now, b) {
			t.Errorf("the failed export changed %s", f)
		}
	}
	// A new nested folder on a disk without room for its files is removed.
	nested := filepath.Join(mnt, "new", "a", "b")
	if o, err := gogan(t, "export", "--checkpoint", run, "--out", nested); err == nil {
		t.Errorf("export to a full disk: no error\n%s", o)
	}
	if _, err := os.Stat(filepath.Join(mnt, "new")); err == nil {
		t.Errorf("the failed export left %s", filepath.Join(mnt, "new"))
	}
}

// TestTranslateOnAFullDisk: a translation of a folder that fills its disk
// midway stops saying so, how far it got, where the files written are and
// what to do (a user of a big folder would otherwise count the files); those
// files are whole PNGs, and no temp is left. Mounting the small tmpfs needs
// root, which make test and CI have.
func TestTranslateOnAFullDisk(t *testing.T) {
	base := t.TempDir()
	run := filepath.Join(base, "run")
	mustTrain(t, smallPix2Pix(run, "train.max_steps=1")...)
	in := filepath.Join(base, "in")
	os.MkdirAll(in, 0o755)
	for i := range 60 {
		writeTestPNG(t, filepath.Join(in, fmt.Sprintf("%02d.png", i)), 40, 28)
	}
	mnt := filepath.Join(base, "mnt")
	os.MkdirAll(mnt, 0o755)
	mountTmpfs(t, mnt, "size=48k") // room for some of the 60 PNGs, a page each
	out := filepath.Join(mnt, "out")
	o, err := gogan(t, "translate", "--checkpoint", run, "--input", in, "--out", out, "--device", "cpu")
	if err == nil {
		t.Fatalf("translate onto a full disk: no error\n%s", o)
	}
	names := dirNamesOf(t, out)
	if len(names) == 0 || len(names) == 60 {
		t.Fatalf("%d files written, want some of the 60 (the tmpfs's size is off)", len(names))
	}
	want := fmt.Sprintf("the disk of %s is full after %d of 60 inputs: the %d translations written are in %s, each whole; free space, or give an --out on another disk",
		out, len(names), len(names), out)
	if !strings.Contains(o, "no space left on device") || !strings.Contains(o, want) {
		t.Errorf("translate onto a full disk says\n%s\nwant it to say %q", o, want)
	}
	for _, n := range names {
		if strings.HasPrefix(n, ".") {
			t.Errorf("a temp %s stayed", n)
		} else if w, h := pngSize(t, filepath.Join(out, n)); w != 32 || h != 32 {
			t.Errorf("%s: %dx%d, want 32x32", n, w, h)
		}
	}
}

// TestSampleIsMainPysGrid: gogan sample --g-mode train draws the grid
// pytorch/examples dcgan draws of a generator (netG never put in eval mode:
// each pass's batch statistics, a pass of batchSize), and --g-mode eval the
// one G.eval() gives, pixel for pixel with vutils.save_image(normalize=True),
// from G's weights exported to main.py's .pth. 13 samples of a run of batch
// 8 are two passes, the second filled up to 8 and cut.
func TestSampleIsMainPysGrid(t *testing.T) {
	base := t.TempDir()
	run, exp := filepath.Join(base, "run"), filepath.Join(base, "export")
	mustTrain(t, smallDCGAN(run, "data.max_samples=64", "data.batch_size=8", "train.max_steps=4")...)
	if o, err := gogan(t, "export", "--checkpoint", run, "--out", exp); err != nil {
		t.Fatalf("export: %v\n%s", err, o)
	}
	pths, _ := filepath.Glob(filepath.Join(exp, "netG_epoch_*.pth"))
	if len(pths) != 1 {
		t.Fatalf("export wrote %v, want one netG_epoch_N.pth", pths)
	}
	const script = `
import sys
sys.path.insert(0, "scripts")
import torch, torchvision.utils as vutils
import reference_nets
pth, mode, out = sys.argv[1:4]
netG = reference_nets.DCGANGenerator(100, 16, 1, 32)  # main.py's Generator at 32x32
netG.load_state_dict(torch.load(pth))
netG.train(mode == "train")
torch.manual_seed(5)
with torch.no_grad():
    if mode == "train":
        z = torch.randn(16, 100, 1, 1)
        fake = torch.cat([netG(z[0:8]), netG(z[8:16])])[:13]
    else:
        fake = netG(torch.randn(13, 100, 1, 1))
vutils.save_image(fake, out, normalize=True)
`
	for _, mode := range []string{"train", "eval"} {
		ours, theirs := filepath.Join(base, "ours-"+mode+".png"), filepath.Join(base, "theirs-"+mode+".png")
		if o, err := gogan(t, "sample", "--checkpoint", run, "--g-mode", mode, "--n", "13", "--seed", "5", "--out", ours, "--device", "cpu"); err != nil {
			t.Fatalf("sample --g-mode %s: %v\n%s", mode, err, o)
		}
		cmd := exec.Command(torchtest.Python(t), "-c", script, pths[0], mode, theirs)
		cmd.Env = append(os.Environ(), "OPENBLAS_NUM_THREADS=1")
		if o, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("reference: %v\n%s", err, o)
		}
		a, b := readPNG(t, ours), readPNG(t, theirs)
		if a.Bounds() != b.Bounds() {
			t.Fatalf("--g-mode %s: grid %v, main.py's %v", mode, a.Bounds(), b.Bounds())
		}
		worst := 0
		for i := range a.Pix {
			worst = max(worst, abs(int(a.Pix[i])-int(b.Pix[i])))
		}
		if worst > 1 {
			t.Errorf("--g-mode %s: grid pixels up to %d levels from main.py's", mode, worst)
		}
	}
	if o, err := gogan(t, "sample", "--checkpoint", run, "--g-mode", "batch", "--out", filepath.Join(base, "x.png")); err == nil || !strings.Contains(o, `--g-mode "batch": must be eval`) {
		t.Errorf("--g-mode batch: %v\n%s", err, o)
	}
}

// TestExportStoppedWritesNothing: SIGINT while export writes a large
// network (unet_256's 217 MB latest_net_G.pth) removes its unfinished
// files and the folder it made, and exits 130 saying nothing was written.
// Without a handler the process died with a hidden partial
// .latest_net_G.pth.tmp-* left in a new --out folder.
func TestExportStoppedWritesNothing(t *testing.T) {
	base := t.TempDir()
	pth := savedUnet256(t, base)
	run := filepath.Join(base, "run")
	if out, err := gogan(t, "import", "--config", "configs/pix2pix-facades.yaml", "--pth", pth, "--out", run); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	parent := filepath.Join(base, "checkpoints")
	dir := filepath.Join(parent, "facades")
	cmd := exec.Command(goganBin, "export", "--checkpoint", run, "--out", dir)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// the signal comes while G's temp file is being written
	signalWhen(t, cmd, &buf, "a temp file of G", func() bool {
		tmps, _ := filepath.Glob(filepath.Join(dir, ".latest_net_G.pth.tmp-*"))
		return len(tmps) > 0
	}, syscall.SIGINT)
	var ee *exec.ExitError
	if err := cmd.Wait(); !errors.As(err, &ee) || ee.ExitCode() != 130 || !strings.Contains(buf.String(), "export: stopped by SIGINT; nothing was written") {
		t.Errorf("export after SIGINT: %v, want exit status 130 and what was written\n%s", err, buf.String())
	}
	if _, err := os.Stat(parent); !os.IsNotExist(err) {
		ents, _ := os.ReadDir(dir)
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("a stopped export left %s (%v), holding %v", parent, err, names)
	}
}

// TestImportStoppedWritesNothing: SIGINT while import loads a large .pth
// (unet_256's 217 MB) removes the run folder it made and exits 130 saying
// nothing was written. Without a handler the process died leaving a
// half-made run (.lock, samples/, maybe config.yaml and a checkpoint's
// temp) that gogan runs listed as a run of unknown state and resume
// refused as having no valid checkpoint.
func TestImportStoppedWritesNothing(t *testing.T) {
	base := t.TempDir()
	pth := savedUnet256(t, base)
	run := filepath.Join(base, "runs", "imported")
	cmd := exec.Command(goganBin, "import", "--config", "configs/pix2pix-facades.yaml", "--pth", pth, "--out", run)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// the signal comes once the run folder is made and locked: the nets
	// are being built and the file read
	signalWhen(t, cmd, &buf, "a locked run folder", func() bool {
		_, err := os.Stat(filepath.Join(run, ".lock"))
		return err == nil
	}, syscall.SIGINT)
	var ee *exec.ExitError
	if err := cmd.Wait(); !errors.As(err, &ee) || ee.ExitCode() != 130 || !strings.Contains(buf.String(), "import: stopped by SIGINT; nothing was written in "+run) {
		t.Errorf("import after SIGINT: %v, want exit status 130 and what was written\n%s", err, buf.String())
	}
	if _, err := os.Stat(filepath.Join(base, "runs")); !os.IsNotExist(err) {
		var left []string
		filepath.WalkDir(filepath.Join(base, "runs"), func(p string, _ os.DirEntry, _ error) error { left = append(left, p); return nil })
		t.Errorf("a stopped import left %v", left)
	}
}

// TestImportKilledIsListedKilled: gogan import SIGKILLed while it writes
// the checkpoint (config.yaml written, status.json not yet) leaves a run
// folder that gogan runs listed as "unknown (no status.json: written
// before gogan kept one)", as if an old gogan had made it; it says it was
// killed, by an import, which resume says to run again, and the same
// import again goes through without cleaning up.
func TestImportKilledIsListedKilled(t *testing.T) {
	base := t.TempDir()
	pth := savedUnet256(t, base)
	run := filepath.Join(base, "runs", "imported")
	args := []string{"import", "--config", "configs/pix2pix-facades.yaml", "--pth", pth, "--out", run}
	cmd := exec.Command(goganBin, args...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// config.yaml is written once the .pth is loaded, before the 217 MB
	// checkpoint and then status.json
	signalWhen(t, cmd, &buf, "config.yaml", func() bool {
		_, err := os.Stat(filepath.Join(run, "config.yaml"))
		return err == nil
	}, syscall.SIGKILL)
	cmd.Wait()
	if _, err := os.Stat(filepath.Join(run, "status.json")); err == nil {
		t.Fatalf("status.json was written before the kill:\n%s", buf.String())
	}
	out, err := gogan(t, "runs", filepath.Dir(run))
	if err != nil || !strings.Contains(out, "killed as it started (gogan import (pid ") || !strings.Contains(out, "it wrote no status.json") {
		t.Errorf("gogan runs after the import was killed: %v, want it killed\n%s", err, out)
	}
	// resume says to run the import again (it said to train the folder's
	// config again, which would not make the imported run)
	out, err = gogan(t, "resume", run)
	if err == nil || !strings.Contains(out, "gogan import (pid ") || !strings.Contains(out, "run that gogan import again with --out "+run) {
		t.Errorf("resume of the killed import's folder: %v, want it to say to import again\n%s", err, out)
	}
	if out, err := gogan(t, args...); err != nil {
		t.Fatalf("the same import again: %v\n%s", err, out)
	}
	if out, err := gogan(t, "runs", filepath.Dir(run)); err != nil || !strings.Contains(out, "imported: resume trains it") {
		t.Errorf("gogan runs after the import again: %v\n%s", err, out)
	}
}

// savedUnet256 saves the reference's unet_256 (pix2pix's G, 217 MB: long
// enough to write or read for a signal to come in between) into dir as
// latest_net_G.pth, with Debian's PyTorch.
func savedUnet256(t *testing.T, dir string) string {
	t.Helper()
	pth := filepath.Join(dir, "latest_net_G.pth")
	script := `import sys; sys.path.insert(0, "scripts")
import torch, reference_nets as rn
torch.save(rn.define_G(3, 3, 64, "unet_256", "batch", True).state_dict(), sys.argv[1])`
	if out, err := exec.Command(torchtest.Python(t), "-c", script, pth).CombinedOutput(); err != nil {
		t.Fatalf("saving the reference's unet_256: %v\n%s", err, out)
	}
	return pth
}

// TestExportedMNISTNoteIsFollowable: a Fashion-MNIST run's export says how
// main.py's --dataset mnist (torchvision's MNIST, download=True) reads the
// same files: unpacked in DATAROOT/MNIST/raw/. Debian's files are .gz, and
// torchvision's MNIST does not find those (main.py would download MNIST's
// digits over them); gunzipped as the note says, it reads all 60000, and an
// mnist run on that root exports with it as --dataroot, noteless.
func TestExportedMNISTNoteIsFollowable(t *testing.T) {
	base := t.TempDir()
	run := filepath.Join(base, "run")
	mustTrain(t, smallDCGAN(run, "data.max_samples=64", "train.max_steps=1", "model.ngf=4", "model.ndf=4")...)
	o, err := gogan(t, "export", "--checkpoint", run, "--out", filepath.Join(base, "exported"))
	if err != nil {
		t.Fatalf("export: %v\n%s", err, o)
	}
	root := "/usr/share/datasets/fashion-mnist"
	if !strings.Contains(o, "unpacked in DATAROOT/MNIST/raw/: copy data.root's ("+root+") there and gunzip them") {
		t.Fatalf("the note does not say to unpack data.root's files into DATAROOT/MNIST/raw/:\n%s", o)
	}
	dataroot := filepath.Join(base, "DATAROOT")
	raw := filepath.Join(dataroot, "MNIST", "raw")
	if err := os.MkdirAll(raw, 0o755); err != nil {
		t.Fatal(err)
	}
	gzs, _ := filepath.Glob(filepath.Join(root, "*-ubyte.gz"))
	if len(gzs) != 4 {
		t.Fatalf("%s holds %v, want Fashion-MNIST's four .gz files", root, gzs)
	}
	for _, f := range gzs {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(raw, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// main.py's torchvision.datasets.MNIST(root=DATAROOT) without downloading
	check := `import sys, torchvision.datasets as d
s = d.MNIST(sys.argv[1], train=True, download=False)
print(len(s))`
	if out, err := exec.Command(torchtest.Python(t), "-c", check, dataroot).CombinedOutput(); err == nil || !strings.Contains(string(out), "Dataset not found") {
		t.Fatalf("torchvision found the .gz files alone (%v):\n%s", err, out)
	}
	for _, f := range gzs {
		if out, err := exec.Command("gunzip", filepath.Join(raw, filepath.Base(f))).CombinedOutput(); err != nil {
			t.Fatalf("gunzip: %v\n%s", err, out)
		}
	}
	out, err := exec.Command(torchtest.Python(t), "-c", check, dataroot).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "60000" {
		t.Fatalf("torchvision's MNIST on the unpacked files: %v\n%s", err, out)
	}
	// an mnist run on that torchvision root: main.py reads it as it is
	run = filepath.Join(base, "run-mnist")
	if o, err := gogan(t, append([]string{"train"}, smallDCGAN(run, "data.dataset=mnist", "data.root="+dataroot, "data.max_samples=64",
		"train.max_steps=1", "model.ngf=4", "model.ndf=4")...)...); err != nil {
		t.Fatalf("train: %v\n%s", err, o)
	}
	if o, err = gogan(t, "export", "--checkpoint", run, "--out", filepath.Join(base, "exported-mnist")); err != nil {
		t.Fatalf("export: %v\n%s", err, o)
	}
	if !strings.Contains(o, "--dataset mnist --dataroot "+dataroot+" ") || strings.Contains(o, "DATAROOT/MNIST/raw/") {
		t.Fatalf("data.root %s, torchvision's MNIST root: the export does not give it to main.py as it is:\n%s", dataroot, o)
	}
}

// TestExportedFlatFolderNoteIsFollowable: a DCGAN run on a folder of
// images without class folders (which gogan reads whole) exports with
// main.py's command on a DATAROOT, and a note that torchvision's
// ImageFolder refuses data.root itself and how to make that DATAROOT: made
// as it says, ImageFolder reads every image. A root of class folders with
// images beside them is noted for the images main.py leaves out.
func TestExportedFlatFolderNoteIsFollowable(t *testing.T) {
	base := t.TempDir()
	flat := filepath.Join(base, "my photos")
	if err := os.MkdirAll(flat, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		writePNG(t, filepath.Join(flat, fmt.Sprintf("im%d.png", i)), image.NewNRGBA(image.Rect(0, 0, 40+i, 36)))
	}
	run := filepath.Join(base, "run")
	if o, err := gogan(t, "train", "--config", "configs/dcgan-folder.yaml", "--quiet", "--set", "data.root="+flat, "--set", "out="+run,
		"--set", "data.batch_size=3", "--set", "model.ngf=4", "--set", "model.ndf=4", "--set", "train.max_steps=1", "--set", "threads=1"); err != nil {
		t.Fatalf("train: %v\n%s", err, o)
	}
	o, err := gogan(t, "export", "--checkpoint", run, "--out", filepath.Join(base, "exported"))
	if err != nil {
		t.Fatalf("export: %v\n%s", err, o)
	}
	if !strings.Contains(o, "--dataset folder --dataroot DATAROOT ") || !strings.Contains(o, "refuses a folder of images without them") ||
		!strings.Contains(o, "(mkdir DATAROOT && ln -s '"+flat+"' DATAROOT/)") {
		t.Fatalf("the export does not say how main.py's ImageFolder reads data.root's images:\n%s", o)
	}
	check := `import sys, torchvision.datasets as d
print(len(d.ImageFolder(sys.argv[1])))`
	if out, err := exec.Command(torchtest.Python(t), "-c", check, flat).CombinedOutput(); err == nil || !strings.Contains(string(out), "Couldn't find any class folder") {
		t.Fatalf("torchvision's ImageFolder read data.root itself (%v):\n%s", err, out)
	}
	dataroot := filepath.Join(base, "DATAROOT")
	note := exec.Command("sh", "-c", "mkdir DATAROOT && ln -s '"+flat+"' DATAROOT/")
	note.Dir = base
	if out, err := note.CombinedOutput(); err != nil {
		t.Fatalf("the note's commands: %v\n%s", err, out)
	}
	if out, err := exec.Command(torchtest.Python(t), "-c", check, dataroot).CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "3" {
		t.Fatalf("torchvision's ImageFolder on the note's DATAROOT: %v\n%s", err, out)
	}
	// class folders with an image beside them
	if err := os.Mkdir(filepath.Join(flat, "class"), 0o755); err != nil {
		t.Fatal(err)
	}
	writePNG(t, filepath.Join(flat, "class", "x.png"), image.NewNRGBA(image.Rect(0, 0, 40, 36)))
	if err := os.RemoveAll(filepath.Join(base, "exported")); err != nil {
		t.Fatal(err)
	}
	if o, err = gogan(t, "export", "--checkpoint", run, "--out", filepath.Join(base, "exported")); err != nil {
		t.Fatalf("export: %v\n%s", err, o)
	}
	if !strings.Contains(o, "--dataroot '"+flat+"' ") || !strings.Contains(o, "leaves out the 3 images directly in data.root") {
		t.Fatalf("the export does not say which images main.py leaves out:\n%s", o)
	}
}

// TestImportSaysMainPysSettings: a main.py user's netG_epoch_N.pth and
// netD_epoch_N.pth (main.py's Generator and Discriminator, saved by
// torch.save) of other settings than the config's, or given for the other
// network, are refused naming what the file holds and the --set or flag
// that imports it, both files at once where neither loads (it named D's
// --ndf, and G's --ngf only at the next try); following that, the import
// loads both.
func TestImportSaysMainPysSettings(t *testing.T) {
	dir := t.TempDir()
	g, d := filepath.Join(dir, "netG_epoch_2.pth"), filepath.Join(dir, "netD_epoch_2.pth")
	gray := filepath.Join(dir, "mnist", "netG_epoch_0.pth") // main.py --dataset mnist: nc 1
	const script = `
import sys
sys.path.insert(0, "scripts")
import torch, reference_nets
torch.manual_seed(1)
netG = reference_nets.Generator(0, 100, 8, 3)  # main.py --ngf 8 --ndf 12
netG.apply(reference_nets.weights_init)
netD = reference_nets.Discriminator(0, 12, 3)
netD.apply(reference_nets.weights_init)
torch.save(netG.state_dict(), sys.argv[1])
torch.save(netD.state_dict(), sys.argv[2])
torch.save(reference_nets.Generator(0, 100, 8, 1).state_dict(), sys.argv[3])
`
	os.MkdirAll(filepath.Dir(gray), 0o755)
	if o, err := exec.Command(torchtest.Python(t), "-c", script, g, d, gray).CombinedOutput(); err != nil {
		t.Fatalf("main.py's networks: %v\n%s", err, o)
	}
	base := []string{"import", "--config", "configs/dcgan-folder.yaml", "--set", "data.root=" + dir}
	for _, c := range []struct {
		args       []string
		file, want string
	}{
		{[]string{"--pth", g, "--pth-d", d}, d, "it holds a DCGAN discriminator of ndf 12, 3 channels, 64x64: import it with --set model.ndf=12; import them with --set model.ngf=8 --set model.ndf=12"},
		{[]string{"--pth", g, "--pth-d", d}, g, "import: 2 files do not load: " + g + " into network G (dcgan): it holds a DCGAN generator of nz 100, ngf 8, 3 channels, 64x64: import it with --set model.ngf=8; " + d},
		{[]string{"--pth", g, "--pth-d", d, "--set", "model.ndf=12"}, g, "it holds a DCGAN generator of nz 100, ngf 8, 3 channels, 64x64: import it with --set model.ngf=8"},
		{[]string{"--pth", d}, d, "it holds a DCGAN discriminator (main.py's netD_epoch_N.pth): give it with --pth-d"},
		{[]string{"--pth", g, "--pth-d", g, "--set", "model.ngf=8"}, g, "it holds a DCGAN generator (main.py's netG_epoch_N.pth): give it with --pth,"},
		{[]string{"--pth", g, "--set", "model.ngf=8", "--set", "data.image_size=32"}, g, "64x64: import it with --set data.image_size=64"},
		{[]string{"--pth", gray, "--set", "model.ngf=8"}, gray, "it holds a DCGAN generator of nz 100, ngf 8, 1 channel, 64x64: import it with --set data.channels=1"},
	} {
		out := filepath.Join(dir, "run")
		o, err := gogan(t, append(append(base, "--out", out), c.args...)...)
		if err == nil || !strings.Contains(o, c.want) || !strings.Contains(o, c.file+" into network") {
			t.Errorf("import %v: %v, want an error naming the file and saying %q:\n%s", c.args, err, c.want, o)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("import %v: a failed import left %s", c.args, out)
		}
	}
	o, err := gogan(t, append(base, "--out", filepath.Join(dir, "run"), "--pth", g, "--pth-d", d, "--set", "model.ngf=8", "--set", "model.ndf=12")...)
	if err != nil || strings.Contains(o, "initial weights") {
		t.Fatalf("import with the settings the errors named: %v\n%s", err, o)
	}
	if o, err := gogan(t, append(base, "--out", filepath.Join(dir, "gray"), "--pth", gray, "--set", "model.ngf=8", "--set", "data.channels=1")...); err != nil {
		t.Fatalf("import of the 1-channel netG with the settings the error named: %v\n%s", err, o)
	}
}

// TestImportSaysTheReferencesSettings: a pytorch-CycleGAN-and-pix2pix or
// pix2pixHD latest_net_*.pth saved with other options than the config's
// (--netG, --ngf, --norm, --no_dropout, --input_nc, --netD, --n_layers_D;
// pix2pixHD's --n_downsample_global, --n_blocks_*, --num_D, its label
// channels), or a discriminator's given for a generator, is refused naming
// the file, what it holds and the --set values (or the --net role) that
// import it; CycleGAN's G_B maps output_nc to input_nc. Following the
// message, the import loads it.
func TestImportSaysTheReferencesSettings(t *testing.T) {
	dir := t.TempDir()
	const script = `
import sys
sys.path.insert(0, "scripts")
import torch, reference_nets as r
torch.manual_seed(1)
for name, net in [("res9", r.define_G(3, 3, 64, "resnet_9blocks")),
                  ("unet_inst", r.define_G(3, 3, 32, "unet_256", "instance")),
                  ("gray", r.define_G(3, 1, 16, "resnet_6blocks", "instance")),
                  ("n5", r.define_D(6, 32, "n_layers", 5)),
                  ("pixel", r.define_D(3, 16, "pixel", norm="instance")),
                  # pix2pixHD's
                  ("hd_local", r.hd_define_G(36, 3, 8, "local", 2, 2, 1, 1)),
                  ("hd_gray", r.hd_define_G(3, 3, 16, "global", 3, 2)),
                  ("hd_D", r.hd_define_D(39, 8, 2, num_D=3, getIntermFeat=True)),
                  ("hd_E", r.hd_define_G(3, 3, 16, "encoder", 4))]:
    torch.save(net.state_dict(), sys.argv[1] + "/" + name + ".pth")
`
	if o, err := exec.Command(torchtest.Python(t), "-c", script, dir).CombinedOutput(); err != nil {
		t.Fatalf("the reference's networks: %v\n%s", err, o)
	}
	file := func(n string) string { return filepath.Join(dir, n+".pth") }
	pix2pix := []string{"import", "--config", "configs/pix2pix-facades.yaml", "--set", "data.root=" + dir}
	cyclegan := []string{"import", "--config", "configs/cyclegan-facades.yaml", "--set", "data.root=" + dir}
	hd := []string{"import", "--config", "configs/pix2pixhd-cityscapes.yaml", "--set", "data.root=" + dir, "--set", "train.no_vgg_loss=true"}
	for _, c := range []struct {
		args       []string
		file, want string
		then       []string // the settings the message names: the import then loads
	}{
		{append(pix2pix, "--net", "G="+file("res9")), file("res9"),
			"it holds a generator: netG resnet_9blocks, ngf 64, batch norm, 3 -> 3 channels, without dropout: import it with --set model.netG=resnet_9blocks --set model.no_dropout=true",
			[]string{"model.netG=resnet_9blocks", "model.no_dropout=true"}},
		{append(pix2pix, "--net", "G="+file("unet_inst")), file("unet_inst"),
			"it holds a generator: netG unet_256, ngf 32, instance norm, 3 -> 3 channels: import it with --set model.ngf=32 --set model.norm=instance",
			[]string{"model.ngf=32", "model.norm=instance"}},
		{append(pix2pix, "--net", "D="+file("n5")), file("n5"),
			"it holds a discriminator: netD n_layers, n_layers_D 5, ndf 32, batch norm, 6 input channels: import it with --set model.netD=n_layers --set model.n_layers_D=5 --set model.ndf=32",
			[]string{"model.netD=n_layers", "model.n_layers_D=5", "model.ndf=32"}},
		{append(pix2pix, "--net", "G="+file("n5")), file("n5"), "it holds a discriminator (netD n_layers): give it as --net D=FILE", nil},
		{append(cyclegan, "--net", "D_A="+file("gray")), file("gray"), "it holds a generator (netG resnet_6blocks): give it as --net G_A=FILE or --net G_B=FILE", nil},
		{append(cyclegan, "--net", "G_B="+file("gray")), file("gray"),
			"it holds a generator: netG resnet_6blocks, ngf 16, instance norm, 3 -> 1 channels, without dropout: import it with --set model.netG=resnet_6blocks --set model.ngf=16 --set model.input_nc=1",
			// and the config's own check asks for what gray A then needs
			[]string{"model.netG=resnet_6blocks", "model.ngf=16", "model.input_nc=1", "train.lambda_identity=0"}},
		{append(cyclegan, "--net", "D_B="+file("pixel")), file("pixel"),
			"it holds a discriminator: netD pixel, ndf 16, instance norm, 3 input channels: import it with --set model.netD=pixel --set model.ndf=16", []string{"model.netD=pixel", "model.ndf=16"}},
		{append(hd, "--net", "G="+file("hd_local")), file("hd_local"),
			"it holds a generator: netG local, ngf 8, n_downsample_global 2, n_blocks_global 2, n_local_enhancers 1, n_blocks_local 1, instance norm (or none), 36 -> 3 channels: " +
				"import it with --set model.netG=local --set model.ngf=8 --set model.n_downsample_global=2 --set model.n_blocks_global=2 --set model.n_blocks_local=1",
			[]string{"model.netG=local", "model.ngf=8", "model.n_downsample_global=2", "model.n_blocks_global=2", "model.n_blocks_local=1"}},
		{append(hd, "--net", "G="+file("hd_gray")), file("hd_gray"),
			"3 -> 3 channels; the config differs in 3 input channels, where the config gives 36 (data.label_nc 35 + 1 for the instance boundaries (data.no_instance false))", nil},
		{append(hd, "--net", "D="+file("hd_D")), file("hd_D"),
			"it holds a multiscale discriminator: num_D 3, n_layers_D 2, ndf 8, instance norm (or none), 39 input channels: import it with --set model.num_D=3 --set model.n_layers_D=2 --set model.ndf=8",
			[]string{"model.num_D=3", "model.n_layers_D=2", "model.ndf=8"}},
		{append(hd, "--net", "G="+file("hd_E")), file("hd_E"), "it holds the feature encoder (netE), which this config's run has none of: it comes with model.instance_feat=true or model.label_feat=true (pix2pixHD's --instance_feat, --label_feat); then give it as --net E=FILE", nil},
	} {
		out := filepath.Join(dir, "run")
		o, err := gogan(t, append(c.args, "--out", out)...)
		if err == nil || !strings.Contains(o, c.want) || !strings.Contains(o, "import "+c.file+" into network") {
			t.Errorf("import %v: %v, want an error naming the file and saying %q:\n%s", c.args[len(c.args)-1], err, c.want, o)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("import %v: a failed import left %s", c.args, out)
		}
		if c.then == nil {
			continue
		}
		args := append([]string(nil), c.args...)
		for _, s := range c.then {
			args = append(args, "--set", s)
		}
		if o, err := gogan(t, append(args, "--out", out)...); err != nil {
			t.Errorf("import %v with the settings the error named: %v\n%s", c.args[len(c.args)-1], err, o)
		}
		os.RemoveAll(out)
	}
}

// TestImportNamesTheFilesRecipe: a file of another recipe's networks
// (main.py's netG_epoch_N.pth with a pix2pix config, a pix2pix
// latest_net_G.pth with a DCGAN one, pix2pixHD's with either) is refused
// naming the recipe it is for, not the settings of the config's own
// networks; with a config of that recipe it imports.
func TestImportNamesTheFilesRecipe(t *testing.T) {
	dir := t.TempDir()
	const script = `
import sys
sys.path.insert(0, "scripts")
import torch, reference_nets as r
torch.manual_seed(1)
for name, net in [("netG_epoch_2", r.Generator(0, 100, 8, 3)),
                  ("latest_net_G", r.define_G(3, 3, 8, "unet_128")),
                  ("hd_G", r.hd_define_G(3, 3, 8, "global", 3, 2)),
                  ("latest_net_D", r.define_D(6, 8, "basic"))]:
    torch.save(net.state_dict(), sys.argv[1] + "/" + name + ".pth")
`
	if o, err := exec.Command(torchtest.Python(t), "-c", script, dir).CombinedOutput(); err != nil {
		t.Fatalf("the references' networks: %v\n%s", err, o)
	}
	file := func(n string) string { return filepath.Join(dir, n+".pth") }
	for _, c := range []struct {
		config, file, want string
	}{
		{"configs/pix2pix-facades.yaml", file("netG_epoch_2"), "it holds a network of recipe dcgan, none of recipe pix2pix's: import it with a --config of recipe dcgan"},
		{"configs/cyclegan-facades.yaml", file("netG_epoch_2"), "it holds a network of recipe dcgan, none of recipe cyclegan's"}, // as --net G_A
		{"configs/dcgan-folder.yaml", file("latest_net_G"), "it holds a network of recipe cyclegan or pix2pix, none of recipe dcgan's: import it with a --config of one of them"},
		{"configs/colorization.yaml", file("latest_net_G"), "it holds a network of recipe cyclegan or pix2pix, none of recipe colorization's"}, // 3 -> 3 channels, not L -> ab
		{"configs/dcgan-folder.yaml", file("hd_G"), "it holds a network of recipe pix2pixhd, none of recipe dcgan's"},
		{"configs/pix2pix-facades.yaml", file("hd_G"), "it holds a network of recipe pix2pixhd, none of recipe pix2pix's"},
		// pix2pix's D of 3+3 channels, not colorization's of L+ab
		{"configs/dcgan-folder.yaml", file("latest_net_D"), "it holds a network of recipe cyclegan or pix2pix, none of recipe dcgan's"},
	} {
		out := filepath.Join(dir, "run")
		flag := "--pth=" + c.file
		if strings.Contains(c.config, "cyclegan") {
			flag = "--net=G_A=" + c.file
		} else if strings.HasSuffix(c.file, "_D.pth") {
			flag = "--net=D=" + c.file
		}
		o, err := gogan(t, "import", "--config", c.config, "--set", "data.root="+dir, flag, "--out", out)
		if err == nil || !strings.Contains(o, c.want) || !strings.Contains(o, "import "+c.file+" into network") {
			t.Errorf("import %s with %s: %v, want an error naming the file and saying %q:\n%s", filepath.Base(c.file), c.config, err, c.want, o)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("import %s with %s: a failed import left %s", filepath.Base(c.file), c.config, out)
		}
	}
	o, err := gogan(t, "import", "--config", "configs/dcgan-folder.yaml", "--set", "data.root="+dir, "--set", "model.ngf=8", "--pth", file("netG_epoch_2"), "--out", filepath.Join(dir, "run"))
	if err != nil {
		t.Fatalf("import with the recipe the error named: %v\n%s", err, o)
	}
}

// TestImportTakesSafetensors: a state dict saved in PyTorch as
// safetensors (save_file of net.state_dict(), here through gogan's
// scripts/safetensors_torch.py, which writes the same format; in half
// precision too) imports as its torch.save file does, weight for weight;
// a gogan checkpoint's weights.safetensors is refused naming what takes it.
func TestImportTakesSafetensors(t *testing.T) {
	dir := t.TempDir()
	const script = `
import sys
sys.path.insert(0, "scripts")
import torch, reference_nets as r, safetensors_torch
torch.manual_seed(1)
net = r.Generator(0, 100, 8, 3)
net.apply(r.weights_init)
sd = net.state_dict()
torch.save(sd, sys.argv[1] + "/netG.pth")
safetensors_torch.save(sys.argv[1] + "/netG.safetensors", dict(sd))
safetensors_torch.save(sys.argv[1] + "/netG_half.safetensors", {k: v.half() if v.is_floating_point() else v for k, v in sd.items()})
torch.save({k: v.half() if v.is_floating_point() else v for k, v in sd.items()}, sys.argv[1] + "/netG_half.pth")
`
	if o, err := exec.Command(torchtest.Python(t), "-c", script, dir).CombinedOutput(); err != nil {
		t.Fatalf("main.py's generator: %v\n%s", err, o)
	}
	weights := func(name string) map[string][]float32 {
		run := filepath.Join(dir, "run-"+name)
		if o, err := gogan(t, "import", "--config", "configs/dcgan-folder.yaml", "--set", "data.root="+dir, "--set", "model.ngf=8",
			"--pth", filepath.Join(dir, name), "--out", run); err != nil {
			t.Fatalf("import %s: %v\n%s", name, err, o)
		}
		ts, _, err := torch.LoadSafetensors(filepath.Join(run, "checkpoints", "step-00000000", "weights.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		defer torch.FreeNamed(ts)
		out := map[string][]float32{}
		for _, n := range ts {
			if strings.HasPrefix(n.Name, "G.") && n.Tensor.DType() == torch.Float32 {
				out[n.Name] = n.Tensor.Float32s()
			}
		}
		return out
	}
	for _, c := range [][2]string{{"netG.pth", "netG.safetensors"}, {"netG_half.pth", "netG_half.safetensors"}} {
		want, got := weights(c[0]), weights(c[1])
		if len(want) == 0 || len(got) != len(want) {
			t.Fatalf("%s: %d float tensors of G, %s: %d", c[0], len(want), c[1], len(got))
		}
		for k, w := range want {
			if !slices.Equal(got[k], w) {
				t.Errorf("%s: %s differs from %s's", c[1], k, c[0])
			}
		}
	}
	ck := filepath.Join(dir, "run-netG.pth", "checkpoints", "step-00000000", "weights.safetensors")
	o, err := gogan(t, "import", "--config", "configs/dcgan-folder.yaml", "--set", "data.root="+dir, "--pth", ck, "--out", filepath.Join(dir, "again"))
	if err == nil || !strings.Contains(o, "a gogan checkpoint's weights.safetensors, not one network's state dict") {
		t.Errorf("import of a checkpoint's weights.safetensors: %v, want it refused saying what it is:\n%s", err, o)
	}
}

// TestImportOfDamagedDCGANNamesNoSettings: a netG_epoch_N.pth or
// netD_epoch_N.pth of the config's settings with a convolution's weight
// missing or not 4-d (a damaged or edited file) is refused naming that key,
// without settings read from the other layers' shapes: counted without the
// first, they named nz as the second layer's channels and half the size
// (--set model.nz=64 --set data.image_size=32), which cannot import it.
func TestImportOfDamagedDCGANNamesNoSettings(t *testing.T) {
	dir := t.TempDir()
	const script = `
import sys
sys.path.insert(0, "scripts")
import torch, reference_nets
torch.manual_seed(1)
g = reference_nets.Generator(0, 100, 8, 3).state_dict()
d = reference_nets.Discriminator(0, 8, 3).state_dict()
out = sys.argv[1]
torch.save({k: v for k, v in g.items() if k != "main.0.weight"}, out + "/g_first_missing.pth")
torch.save({k: (v.flatten() if k == "main.0.weight" else v) for k, v in g.items()}, out + "/g_first_flat.pth")
torch.save({k: v for k, v in g.items() if k != "main.6.weight"}, out + "/g_middle_missing.pth")
torch.save({k: v for k, v in d.items() if k != "main.5.weight"}, out + "/d_middle_missing.pth")
torch.save(g, out + "/g.pth")
`
	if o, err := exec.Command(torchtest.Python(t), "-c", script, dir).CombinedOutput(); err != nil {
		t.Fatalf("main.py's networks: %v\n%s", err, o)
	}
	base := []string{"import", "--config", "configs/dcgan-folder.yaml", "--set", "data.root=" + dir, "--set", "model.ngf=8", "--set", "model.ndf=8"}
	g := filepath.Join(dir, "g.pth")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--pth", filepath.Join(dir, "g_first_missing.pth")}, `missing key "main.0.weight"`},
		{[]string{"--pth", filepath.Join(dir, "g_first_flat.pth")}, `key "main.0.weight": shape [102400] in the state dict, [100 64 4 4] in the network`},
		{[]string{"--pth", filepath.Join(dir, "g_middle_missing.pth")}, `missing key "main.6.weight"`},
		{[]string{"--pth", g, "--pth-d", filepath.Join(dir, "d_middle_missing.pth")}, `missing key "main.5.weight"`},
	} {
		out := filepath.Join(dir, "run")
		o, err := gogan(t, append(append(base, "--out", out), c.args...)...)
		if err == nil || !strings.Contains(o, c.want) || strings.Contains(o, "it holds") || strings.Contains(o, "import it with") {
			t.Errorf("import %v: %v, want an error saying %q and no settings read from the other layers:\n%s", c.args, err, c.want, o)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("import %v: a failed import left %s", c.args, out)
		}
	}
}

// TestSampleChecksItsOutFirst: gogan sample checks that its --out can be
// written before it draws the grid (10,000 samples take minutes on a CPU),
// as features and eval classifier do: a read-only folder (a read-only
// mount, which holds for root too) and a folder on the way that is a file
// are named as such, where they failed after the drawing as a temp file's
// write, or as a folder "to write the translations into". Mounting needs
// root, which make test and CI have.
func TestSampleChecksItsOutFirst(t *testing.T) {
	ro := t.TempDir()
	mountTmpfs(t, ro, "ro,size=1m")
	base := t.TempDir()
	run := filepath.Join(base, "run")
	mustTrain(t, smallDCGAN(run, "train.max_steps=1")...)
	file := filepath.Join(base, "notes.txt")
	if err := os.WriteFile(file, []byte("notes"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ out, want string }{
		{filepath.Join(ro, "grid.png"), "--out " + filepath.Join(ro, "grid.png") + " cannot be written: "},
		{filepath.Join(ro, "new", "grid.png"), "--out " + filepath.Join(ro, "new", "grid.png") + " cannot be written: "},
		{filepath.Join(file, "grid.png"), "--out " + filepath.Join(file, "grid.png") + ": " + file + " is a file, not a folder"},
	} {
		o, err := gogan(t, "sample", "--checkpoint", run, "--n", "4", "--device", "cpu", "--out", c.out)
		if err == nil || !strings.Contains(o, c.want) || strings.Contains(o, "translations") {
			t.Errorf("sample --out %s: %v, want a refusal saying %q\n%s", c.out, err, c.want, o)
		}
	}
}

// TestStaleTempsOfKilledWritesGo: export, translate and sample write each
// file under a hidden temp name first (.NAME.tmp-<digits>, renamed over
// NAME when whole), which a SIGKILL leaves behind. The next run that
// writes NAME removes the temps of NAME last written before it started;
// a temp of another name, one written since (a write in flight), and
// the folder's other files stay.
func TestStaleTempsOfKilledWritesGo(t *testing.T) {
	base := t.TempDir()
	p2p, dcgan := filepath.Join(base, "p2p"), filepath.Join(base, "dcgan")
	if out, err := gogan(t, append([]string{"train"}, smallPix2Pix(p2p, "train.max_steps=1")...)...); err != nil {
		t.Fatalf("train pix2pix: %v\n%s", err, out)
	}
	if out, err := gogan(t, append([]string{"train"}, smallDCGAN(dcgan, "train.max_steps=1")...)...); err != nil {
		t.Fatalf("train dcgan: %v\n%s", err, out)
	}
	in := filepath.Join(base, "edges")
	os.MkdirAll(in, 0o755)
	writeTestPNG(t, filepath.Join(in, "a.png"), 32, 32)
	old, later := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	// put writes the files of a folder, each with its mtime
	put := func(dir string, files map[string]time.Time) {
		os.MkdirAll(dir, 0o755)
		for name, mtime := range files {
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, []byte("\x89PNG cut short"), 0o644); err != nil {
				t.Fatal(err)
			}
			os.Chtimes(p, mtime, mtime)
		}
	}
	for _, c := range []struct {
		name        string
		dir         string
		args        []string
		stale, kept []string
	}{
		{"export", filepath.Join(base, "export"), []string{"export", "--checkpoint", p2p, "--out", filepath.Join(base, "export")},
			[]string{".latest_net_G.pth.tmp-2518204716", ".latest_net_D.pth.tmp-17"},
			[]string{"notes.txt", ".5_net_G.pth.tmp-881", "latest_net_G.pth.tmp-3", ".latest_net_G.pth.tmp-mine"}},
		{"translate", filepath.Join(base, "translated"), []string{"translate", "--checkpoint", p2p, "--input", in, "--out", filepath.Join(base, "translated"), "--device", "cpu"},
			[]string{".a.png.tmp-4001"},
			[]string{"notes.txt", ".b.png.tmp-4002", ".a.png.tmp", ".a.png.tmp-"}},
		{"sample", filepath.Join(base, "grids"), []string{"sample", "--checkpoint", dcgan, "--n", "4", "--out", filepath.Join(base, "grids", "grid.png"), "--device", "cpu"},
			[]string{".grid.png.tmp-99", ".grid.png.tmp-100"},
			[]string{"notes.txt", ".other.png.tmp-5", "grid.png.bak"}},
	} {
		files := map[string]time.Time{}
		for _, n := range c.stale {
			files[n] = old
		}
		for _, n := range c.kept {
			files[n] = old
		}
		// the temp of a write that began after this run started
		inFlight := c.stale[0][:strings.LastIndex(c.stale[0], "-")+1] + "123"
		files[inFlight] = later
		put(c.dir, files)
		if out, err := gogan(t, c.args...); err != nil {
			t.Fatalf("%s: %v\n%s", c.name, err, out)
		}
		for _, n := range c.stale {
			if _, err := os.Lstat(filepath.Join(c.dir, n)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s: the stale temp %s is still there (%v)", c.name, n, err)
			}
		}
		for _, n := range append(c.kept, inFlight) {
			if b, err := os.ReadFile(filepath.Join(c.dir, n)); err != nil || string(b) != "\x89PNG cut short" {
				t.Errorf("%s: %s was not left as it was: %v", c.name, n, err)
			}
		}
	}
}

// TestExportedLSUNSplitNoteIsFollowable: main.py reads each of --classes
// from its _train database and splits --classes on commas alone, so a run
// of data.phase=val with data.classes "bedroom, tower" (which gogan reads)
// exports with --classes bedroom,tower on a DATAROOT and a note whose links
// make torchvision's LSUN, as main.py opens it, read the val databases'
// images in the run's order.
func TestExportedLSUNSplitNoteIsFollowable(t *testing.T) {
	base := t.TempDir()
	lsun, run := filepath.Join(base, "lsun"), filepath.Join(base, "run")
	if out, err := exec.Command(torchtest.Python(t), "scripts/make_lsun.py", lsun, "--classes", "bedroom,tower", "--phase", "val", "--count", "4").CombinedOutput(); err != nil {
		t.Fatalf("make_lsun.py: %v\n%s", err, out)
	}
	if o, err := gogan(t, "train", "--config", "configs/dcgan-lsun.yaml", "--quiet", "--set", "data.root="+lsun, "--set", "out="+run,
		"--set", "data.classes=bedroom, tower", "--set", "data.phase=val", "--set", "data.batch_size=4", "--set", "data.image_size=32",
		"--set", "model.ngf=4", "--set", "model.ndf=4", "--set", "train.max_steps=1", "--set", "threads=1"); err != nil {
		t.Fatalf("train: %v\n%s", err, o)
	}
	o, err := gogan(t, "export", "--checkpoint", run, "--out", filepath.Join(base, "exported"))
	if err != nil {
		t.Fatalf("export: %v\n%s", err, o)
	}
	links := regexp.MustCompile(`\((mkdir DATAROOT && ln -s [^)]*)\)`).FindStringSubmatch(o)
	if !strings.Contains(o, "--dataset lsun --dataroot DATAROOT ") || !strings.Contains(o, " --classes bedroom,tower\n") || links == nil {
		t.Fatalf("the export does not give main.py the val databases:\n%s", o)
	}
	note := exec.Command("sh", "-c", links[1])
	note.Dir = base
	if out, err := note.CombinedOutput(); err != nil {
		t.Fatalf("the note's commands %q: %v\n%s", links[1], err, out)
	}
	// main.py's dset.LSUN(root=opt.dataroot, classes=[c + '_train' for c in
	// opt.classes.split(',')]) beside torchvision's LSUN of the val
	// databases; run in base, where LSUN writes its key caches
	check := `import sys, torchvision.datasets as d
def items(root, classes):
    s = d.LSUN(root=root, classes=classes)
    return [(s[i][0].tobytes(), s[i][1]) for i in range(len(s))]
a = items(sys.argv[1], [c + '_train' for c in sys.argv[2].split(',')])
b = items(sys.argv[3], ['bedroom_val', 'tower_val'])
print(len(a), len(b), a == b)`
	cmd := exec.Command(torchtest.Python(t), "-c", check, "DATAROOT", "bedroom,tower", lsun)
	cmd.Dir = base
	if out, err := cmd.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "8 8 True" {
		t.Fatalf("torchvision's LSUN as main.py opens the note's DATAROOT, beside the val databases: %v\n%s", err, out)
	}
}

// TestExportedCIFARRootIsTorchvisions: gogan reads CIFAR-10's batches from
// data.root itself too, but torchvision's CIFAR10 reads
// DATAROOT/cifar-10-batches-py/ and main.py's download=True downloads
// CIFAR-10 where that is missing: a run on the cifar-10-batches-py folder
// exports with its parent as --dataroot, one on a folder of another name
// with a DATAROOT whose link the note makes, where torchvision's CIFAR10
// reads the same images.
func TestExportedCIFARRootIsTorchvisions(t *testing.T) {
	base := t.TempDir()
	tv := filepath.Join(base, "tv")
	if out, err := exec.Command(torchtest.Python(t), "scripts/make_cifar10.py", tv, "--per-batch", "2", "--test", "2").CombinedOutput(); err != nil {
		t.Fatalf("make_cifar10.py: %v\n%s", err, out)
	}
	batches, flat := filepath.Join(tv, "cifar-10-batches-py"), filepath.Join(base, "my batches")
	if err := os.CopyFS(flat, os.DirFS(batches)); err != nil {
		t.Fatal(err)
	}
	export := func(root, name string) string {
		run := filepath.Join(base, "run-"+name)
		if o, err := gogan(t, "train", "--config", "configs/dcgan-cifar10.yaml", "--quiet", "--set", "data.root="+root, "--set", "out="+run,
			"--set", "data.batch_size=4", "--set", "model.ngf=4", "--set", "model.ndf=4", "--set", "train.max_steps=1", "--set", "threads=1"); err != nil {
			t.Fatalf("train: %v\n%s", err, o)
		}
		o, err := gogan(t, "export", "--checkpoint", run, "--out", filepath.Join(base, "exported-"+name))
		if err != nil {
			t.Fatalf("export: %v\n%s", err, o)
		}
		return o
	}
	if o := export(batches, "batches"); !strings.Contains(o, "--dataset cifar10 --dataroot "+tv+" ") {
		t.Errorf("data.root %s: main.py's --dataroot is not its parent:\n%s", batches, o)
	}
	o := export(flat, "flat")
	link := "mkdir DATAROOT && ln -s '" + flat + "' DATAROOT/cifar-10-batches-py"
	if !strings.Contains(o, "--dataset cifar10 --dataroot DATAROOT ") || !strings.Contains(o, "("+link+")") {
		t.Fatalf("data.root %s: the export does not give main.py a DATAROOT:\n%s", flat, o)
	}
	note := exec.Command("sh", "-c", link)
	note.Dir = base
	if out, err := note.CombinedOutput(); err != nil {
		t.Fatalf("the note's commands: %v\n%s", err, out)
	}
	// main.py's dset.CIFAR10(root=opt.dataroot, download=True), its md5
	// checks (which these stand-in batches fail) read as the files' presence
	check := `import sys, os, torchvision.datasets.cifar as c
c.check_integrity = lambda path, md5=None: os.path.isfile(path)
c.download_and_extract_archive = lambda *a, **k: sys.exit("CIFAR10 downloads")
items = lambda root: [(im.tobytes(), y) for im, y in c.CIFAR10(root, download=True)]
a, b = items(sys.argv[1]), items(sys.argv[2])
print(len(a), a == b)`
	if out, err := exec.Command(torchtest.Python(t), "-c", check, filepath.Join(base, "DATAROOT"), tv).CombinedOutput(); err != nil || !strings.HasSuffix(strings.TrimSpace(string(out)), "10 True") {
		t.Fatalf("torchvision's CIFAR10 on the note's DATAROOT: %v\n%s", err, out)
	}
}

// TestExportTwoLabelsIntoOneFolder: the reference's checkpoint folder holds
// the networks of several epoch labels beside one iter.txt; exporting a
// second label of the same checkpoint into the folder keeps the iter.txt it
// wrote, word for word the same, instead of refusing the export over it. A
// checkpoint elsewhere in the run, whose iter.txt differs, is refused
// without --force, naming the file.
func TestExportTwoLabelsIntoOneFolder(t *testing.T) {
	root := t.TempDir()
	writeHDData(t, root, 2, 40, 36)
	base := t.TempDir()
	run, out := filepath.Join(base, "run"), filepath.Join(base, "checkpoints", "hd")
	mustTrain(t, smallHD(root, "", run, "train.max_steps=2", "train.checkpoint_every=1", "train.no_vgg_loss=true", "train.niter_fix_global=0", "data.batch_size=1")...)
	step1 := filepath.Join(run, "checkpoints", "step-00000001")
	for _, label := range []string{"5", "6"} {
		if o, err := gogan(t, "export", "--checkpoint", step1, "--out", out, "--label", label); err != nil {
			t.Fatalf("export --label %s: %v\n%s", label, err, o)
		}
		if _, err := os.Stat(filepath.Join(out, label+"_net_G.pth")); err != nil {
			t.Errorf("export --label %s: %v", label, err)
		}
	}
	o, err := gogan(t, "export", "--checkpoint", run, "--out", out, "--label", "7")
	if err == nil || !strings.Contains(o, filepath.Join(out, "iter.txt")+" already exists, with other contents") || !strings.Contains(o, "--force") {
		t.Errorf("export of another checkpoint beside its iter.txt: %v\n%s", err, o)
	}
	if _, err := os.Stat(filepath.Join(out, "7_net_G.pth")); err == nil {
		t.Errorf("the refused export wrote 7_net_G.pth")
	}
}

// TestExportOptionsFileImportsBack: gogan export writes the options file
// the reference's train.py leaves in its checkpoint folder
// (pytorch-CycleGAN-and-pix2pix's [phase]_opt.txt, pix2pixHD's opt.txt),
// byte for byte as the reference's parser and printing (transcribed,
// scripts/options_check.py) print its values, so that gogan import --from
// the exported folder alone gives back the run: every setting the
// recipe's option table maps, and the networks bit for bit. A second label
// exported into the folder keeps the file, the same.
func TestExportOptionsFileImportsBack(t *testing.T) {
	colour := colourFolder(t, 2)
	domains := facadesSubset(t, map[string][]int{"trainA": {1, 2}, "trainB": {3, 4}})
	hdRoot := t.TempDir()
	writeHDData(t, hdRoot, 2, 40, 36)
	small := func(config, root, run string, sets ...string) []string {
		args := []string{"--config", config, "--quiet", "--set", "out=" + run, "--set", "data.root=" + root, "--set", "model.ngf=8", "--set", "model.ndf=8",
			"--set", "threads=2", "--set", "data.workers=1", "--set", "train.max_steps=1"}
		for _, s := range sets {
			args = append(args, "--set", s)
		}
		return args
	}
	for _, c := range []struct {
		name, recipe, file string
		train              func(run string) []string
	}{
		{"pix2pix", "pix2pix", "train_opt.txt", func(run string) []string {
			return small("configs/pix2pix-facades.yaml", colour, run, "model.netG=unet_128", "data.load_size=136", "data.crop_size=128",
				"train.lr=0.0003", "train.beta1=0.4", "train.lambda_L1=50", "data.no_flip=true", "data.shuffle=false", "data.max_samples=2",
				"model.init_type=xavier", "model.init_gain=0.03", "train.epochs=3", "train.epochs_decay=2", "train.lr_policy=step",
				"train.lr_decay_iters=7", "data.reference_workers=2", "data.direction=AtoB", "model.n_layers_D=2", "model.netD=n_layers")
		}},
		{"colorization", "colorization", "train_opt.txt", func(run string) []string {
			return small("configs/colorization.yaml", colour, run, "model.netG=unet_128", "data.load_size=136", "data.crop_size=128",
				"data.preprocess=crop", "train.gan_mode=lsgan", "model.no_dropout=true")
		}},
		{"cyclegan", "cyclegan", "train_opt.txt", func(run string) []string {
			return small("configs/cyclegan-facades.yaml", domains, run, "model.netG=resnet_6blocks", "data.load_size=72", "data.crop_size=64",
				"train.lambda_A=9", "train.lambda_B=8", "train.lambda_identity=0.25", "train.pool_size=3", "data.serial_batches=true",
				"data.shuffle=false", "train.gan_mode=vanilla", "data.batch_size=2")
		}},
		{"pix2pixhd", "pix2pixhd", "opt.txt", func(run string) []string {
			return smallHD(hdRoot, "", run, "train.max_steps=1", "train.no_vgg_loss=true", "train.niter_fix_global=0",
				"model.instance_feat=true", "model.nef=4", "model.n_downsample_E=2", "train.no_ganFeat_loss=true", "data.shuffle=false",
				"train.lambda_feat=5", "train.gan_mode=vanilla", "train.pool_size=2", "model.num_D=1", "train.epochs=4")
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			base := t.TempDir()
			run, out, back := filepath.Join(base, "run"), filepath.Join(base, "checkpoints", "exported"), filepath.Join(base, "back")
			mustTrain(t, c.train(run)...)
			o, err := gogan(t, "export", "--checkpoint", run, "--out", out)
			if err != nil {
				t.Fatalf("export: %v\n%s", err, o)
			}
			file := filepath.Join(out, c.file)
			// listed with the networks' files
			if !strings.Contains(o, "\n  "+file+"  options file, as train.py writes it\n") {
				t.Errorf("export does not list %s:\n%s", file, o)
			}
			text, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("export wrote no options file: %v", err)
			}
			cmd := exec.Command(torchtest.Python(t), "scripts/options_check.py", file)
			cmd.Env = append(os.Environ(), "OPENBLAS_NUM_THREADS=1")
			if res, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("the reference's printing of the options: %v\n%s\n%s", err, res, text)
			}
			o, err = gogan(t, "import", "--from", out, "--out", back)
			if err != nil {
				t.Fatalf("import --from: %v\n%s", err, o)
			}
			// the keys the recipe's table maps, as import --from reads them
			def, err := gan.Lookup(c.recipe)
			if err != nil {
				t.Fatal(err)
			}
			sets, err := def.FromReference(gan.ReadReferenceOptions(string(text)))
			if err != nil {
				t.Fatal(err)
			}
			orig, err := config.LoadConfig(filepath.Join(run, "config.yaml"), nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := config.LoadConfig(filepath.Join(back, "config.yaml"), nil)
			if err != nil {
				t.Fatal(err)
			}
			if orig.Recipe != got.Recipe {
				t.Errorf("recipe: imported %s, trained %s", got.Recipe, orig.Recipe)
			}
			keys := map[string]bool{}
			for _, s := range sets {
				k, _, _ := strings.Cut(s, "=")
				keys[k] = true
				w, _ := orig.Get(k)
				g, _ := got.Get(k)
				if fmt.Sprint(g) != fmt.Sprint(w) {
					t.Errorf("%s: imported %v, trained with %v", k, g, w)
				}
			}
			if len(keys) < 25 {
				t.Errorf("the options file carries %d settings back: %v", len(keys), slices.Sorted(maps.Keys(keys)))
			}
			sameNetworks(t, filepath.Join(run, "checkpoints", "step-00000001"), filepath.Join(back, "checkpoints", "step-00000000"))
			// another label of the checkpoint beside it: the same file, kept
			if o, err := gogan(t, "export", "--checkpoint", run, "--out", out, "--label", "3"); err != nil {
				t.Fatalf("export --label 3 into the folder: %v\n%s", err, o)
			} else if !strings.Contains(o, "\n  "+file+"  options file, as train.py writes it (kept: the folder held it already)\n") {
				t.Errorf("export --label 3 does not list %s as kept:\n%s", file, o)
			}
			if again, err := os.ReadFile(file); err != nil || !bytes.Equal(again, text) {
				t.Errorf("the options file after a second label: %v\n%s", err, again)
			}
		})
	}
}
