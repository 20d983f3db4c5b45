package trainer

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	torch "gogan/cgo"
	"gogan/config"
	"gogan/data"
	"gogan/gan"
	"gogan/nets"
	"gogan/runfolder"
)

// TestImportedRunGoesOnFromItsEpoch: weights imported as trained for 2
// epochs and 9 images of the third (pix2pixHD's iter.txt) resume at the
// third epoch's fourth batch of 4, with the step numbers, epochs and
// learning rates of the run that trained those epochs itself (linear decay
// over epochs 3 and 4, as the reference's --continue_train --epoch_count 3
// has them); an import past the config's epochs is refused.
func TestImportedRunGoesOnFromItsEpoch(t *testing.T) {
	run := folderRuns(t, "cpu", []string{"train.epochs_decay=2"})
	straight := run("straight")
	cfg, err := config.LoadConfig(filepath.Join(straight, "config.yaml"), []string{"out=" + filepath.Join(t.TempDir(), "imported")})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Import(cfg, nil, ImportedAt{Epochs: 2, Samples: 9}); err != nil {
		t.Fatal(err)
	}
	if sum := runfolder.Summarize(cfg.Out); sum.State != "imported after 2 epochs (and 9 images): resume goes on from there" || sum.Checkpoint != "step-00000000" {
		t.Errorf("gogan runs of the import: %+v", sum)
	}
	if _, err := Resume(context.Background(), cfg.Out, nil, RunOptions{Quiet: true, Writer: os.Stderr}); err != nil {
		t.Fatalf("resume: %v", err)
	}
	want := metricsColumns(t, straight, "step", "epoch", "lr")
	got := metricsColumns(t, cfg.Out, "step", "epoch", "lr")
	if len(want) != 24 || len(got) != 24-15 {
		t.Fatalf("%d rows straight, %d imported; want 24 and 9 (steps 16..24)", len(want), len(got))
	}
	for i, row := range got {
		if !slices.Equal(row, want[15+i]) {
			t.Errorf("imported run's row %d (step, epoch, lr) %v, the straight run's %v", i, row, want[15+i])
		}
	}
	if lr := want[len(want)-1][2]; lr >= 0.0002 || lr <= 0 {
		t.Errorf("the last epoch's rate %g: want the decay under way", lr)
	}

	// iter.txt can say an epoch's every image (pix2pixHD saves latest at
	// its save_latest_freq, which may fall on an epoch's last batch): the
	// resumed run starts the next epoch, and plateau is not fed the empty
	// epoch's "mean" loss.
	plateau, err := config.LoadConfig(filepath.Join(straight, "config.yaml"), []string{"out=" + filepath.Join(t.TempDir(), "plateau"), "train.lr_policy=plateau"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Import(plateau, nil, ImportedAt{Epochs: 1, Samples: 1000}); err != nil {
		t.Fatal(err)
	}
	if _, err := Resume(context.Background(), plateau.Out, []string{"train.max_steps=18"}, RunOptions{Quiet: true, Writer: os.Stderr}); err != nil {
		t.Fatalf("resume: %v", err)
	}
	if rows := metricsColumns(t, plateau.Out, "step", "epoch"); len(rows) != 6 || rows[0][0] != 13 {
		t.Errorf("the import at epoch 1's end resumed with rows %v, want steps 13..18", rows)
	}
	_, st, err := runfolder.LatestValid(plateau.Out)
	if err != nil {
		t.Fatal(err)
	}
	var ls loopState
	if err := json.Unmarshal(st.Schedule, &ls); err != nil || !ls.Schedule.HasBest || ls.Schedule.Best == 0 {
		t.Errorf("plateau after the import at an epoch's end: %+v (%v), want the best of epoch 3's mean loss", ls.Schedule, err)
	}

	for _, c := range []struct {
		at   ImportedAt
		want string
	}{
		{ImportedAt{Epochs: 5}, "trained 5 epochs, but the config trains 4"},
		{ImportedAt{Epochs: 4, Samples: 1}, "nothing is left"},
		{ImportedAt{Epochs: -1}, "epoch -1"},
		{ImportedAt{Epochs: 2_000_000}, "more than the 1000000 epochs"},
	} {
		cfg.Out = filepath.Join(t.TempDir(), "refused")
		_, _, err := Import(cfg, nil, c.at)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("import at %+v: %v, want an error saying %q", c.at, err, c.want)
		}
		if _, err := os.Stat(cfg.Out); !os.IsNotExist(err) {
			t.Errorf("import at %+v: the refused import left %s (%v)", c.at, cfg.Out, err)
		}
	}
	// An import resumed with totals below its position is refused, not
	// "finished" with nothing trained.
	cfg.Out = filepath.Join(t.TempDir(), "late")
	if _, _, err := Import(cfg, nil, ImportedAt{Epochs: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := Resume(context.Background(), cfg.Out, []string{"train.epochs=1", "train.epochs_decay=1"}, RunOptions{Quiet: true, Writer: os.Stderr}); err == nil || !strings.Contains(err.Error(), "past this run's end") {
		t.Errorf("resume of an import at epoch 3 with 2 epochs: %v", err)
	}
	// A file that fails once the folder is made takes the folder with it.
	cfg.Out = filepath.Join(t.TempDir(), "new", "failed")
	bad := filepath.Join(t.TempDir(), "netG.pth")
	os.WriteFile(bad, []byte("not a pth"), 0o644)
	if _, _, err := Import(cfg, map[string]string{"G": bad}, ImportedAt{}); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("import of a damaged .pth: %v, want an error naming it", err)
	}
	if _, err := os.Stat(filepath.Dir(cfg.Out)); !os.IsNotExist(err) {
		t.Errorf("the failed import left %s (%v)", filepath.Dir(cfg.Out), err)
	}
}

// metricsColumns is a run's metrics.csv rows, the named columns of each.
func metricsColumns(t *testing.T, run string, names ...string) [][]float64 {
	t.Helper()
	m, err := runfolder.ReadMetrics(filepath.Join(run, "metrics.csv"))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]float64
	for _, r := range m.Rows {
		var row []float64
		for _, n := range names {
			i := slices.Index(m.Columns, n)
			if i < 0 {
				t.Fatalf("metrics.csv has no column %s: %v", n, m.Columns)
			}
			row = append(row, r[i])
		}
		out = append(out, row)
	}
	return out
}

// TestFailedStartLeavesNoFolder: a run whose data cannot be opened removes
// the folders it made for itself, and leaves a folder that was there.
func TestFailedStartLeavesNoFolder(t *testing.T) {
	base := t.TempDir()
	os.WriteFile(filepath.Join(base, "notes.txt"), []byte("mine"), 0o644)
	os.Mkdir(filepath.Join(base, "other-run"), 0o755)
	for _, c := range []struct {
		out, gone string
	}{{filepath.Join(base, "new", "run"), filepath.Join(base, "new")}, {base, ""}} {
		cfg, err := config.LoadConfig("", []string{"data.root=" + filepath.Join(base, "missing"), "out=" + c.out})
		if err != nil {
			t.Fatal(err)
		}
		_, err = Train(context.Background(), cfg, RunOptions{Quiet: true, Writer: os.Stderr})
		if err == nil || !strings.Contains(err.Error(), "missing") {
			t.Fatalf("train on a missing data.root: %v", err)
		}
		if c.gone != "" {
			if _, err := os.Stat(c.gone); !os.IsNotExist(err) {
				t.Errorf("the failed start left %s (%v)", c.gone, err)
			}
		} else if ents, err := os.ReadDir(c.out); err != nil || len(ents) != 2 {
			// base holds the user's notes and another folder: nothing added
			t.Errorf("the failed start in %s, which was there before it, left %v (%v)", c.out, ents, err)
		}
	}
}

// TestRemoveMadeKeepsOthers: undoing a failed start removes its own run
// folder and the parents it made only while they are empty: a run made
// meanwhile in the same new parent stays.
func TestRemoveMadeKeepsOthers(t *testing.T) {
	base := t.TempDir()
	sweep, a, b := filepath.Join(base, "sweep"), filepath.Join(base, "sweep", "a"), filepath.Join(base, "sweep", "b")
	made := runfolder.MissingDirs(a)
	if len(made) != 2 || made[0] != sweep || made[1] != a {
		t.Fatalf("runfolder.MissingDirs(%s) = %v", a, made)
	}
	os.MkdirAll(filepath.Join(a, "samples"), 0o755)
	os.MkdirAll(filepath.Join(b, "checkpoints"), 0o755)
	removeMade(a, made)
	if _, err := os.Stat(a); !os.IsNotExist(err) {
		t.Errorf("%s left (%v)", a, err)
	}
	if _, err := os.Stat(filepath.Join(b, "checkpoints")); err != nil {
		t.Errorf("the other run's folder went with it: %v", err)
	}
	// a folder that was there before is not this run's to remove
	removeMade(b, nil)
	removeMade(b, []string{sweep})
	if _, err := os.Stat(b); err != nil {
		t.Errorf("%s removed, which the run did not make: %v", b, err)
	}
}

// TestSizeRule: a batch whose images the networks cannot take is refused
// by name (for data whose sizes were not all read when they opened), and
// so is a size found on open.
func TestSizeRule(t *testing.T) {
	cfg, err := config.LoadConfig("", []string{"recipe=pix2pix", "data.preprocess=none", "model.netG=unet_128"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := sizeRuleFor(cfg)
	if err != nil || r == nil || r.min != 128 || r.mult != 128 {
		t.Fatalf("unet_128 with the 70x70 PatchGAN: rule %+v (%v)", r, err)
	}
	batch := func(w, h int) *data.Batch {
		return &data.Batch{Tensors: []data.Tensor{{Name: "A", Shape: [4]int{1, 3, h, w}}}, Indices: []int{1}}
	}
	files := []string{"a.png", "b.png"}
	if err := r.check(cfg, files, batch(256, 128)); err != nil {
		t.Errorf("256x128: %v", err)
	}
	if err := r.check(cfg, files, batch(256, 96)); err == nil || !strings.Contains(err.Error(), "b.png is 256x96 (A) after data.preprocess=none, but network G (unet_128) takes at least 128x128") {
		t.Errorf("256x96: %v", err)
	}
	if err := r.check(cfg, files, batch(384, 192)); err == nil || !strings.Contains(err.Error(), "takes sides that are multiples of 128") {
		t.Errorf("384x192: %v", err)
	}
	if err := r.checkAll(cfg, map[[2]int]string{{256, 256}: "a.png", {128, 100}: "small.png"}); err == nil || !strings.Contains(err.Error(), "small.png is 128x100") {
		t.Errorf("sizes on open: %v", err)
	}
	cfg.Data.Preprocess = "resize_and_crop" // a crop: the config's check
	if r, _ := sizeRuleFor(cfg); r != nil {
		t.Errorf("resize_and_crop: rule %+v, want none", r)
	}
}

// TestImportAndResumeInsideTheDataRefused: the resume of a run folder
// inside the folder its data reads is refused before anything is written,
// as train refuses such an out (its grids would become training images,
// and the next resume refuse the grown dataset): an import there (which
// translate, sample and serve read well) says so in a note, and so is a run
// folder moved there.
func TestImportAndResumeInsideTheDataRefused(t *testing.T) {
	root := writeImageFolder(t, 8, 40)
	imp := filepath.Join(root, "imp")
	_, notes, err := Import(smallRun(t, imp, "data.root="+root), nil, ImportedAt{})
	if err != nil || !strings.Contains(strings.Join(notes, "\n"), "out "+imp+" is inside "+root+", whose images are read as training data") ||
		!strings.Contains(strings.Join(notes, "\n"), "gogan resume refuses it there: for a run to train on, import into a folder outside it") {
		t.Errorf("import into data.root: %v, notes %q", err, notes)
	}
	if _, err := Resume(context.Background(), imp, nil, RunOptions{Quiet: true, Writer: os.Stderr}); err == nil ||
		!strings.Contains(err.Error(), "move the run folder out of it and resume it there") {
		t.Errorf("resume of an import inside data.root: %v", err)
	}
	if _, err := os.Stat(filepath.Join(imp, "samples", "latest.png")); !os.IsNotExist(err) {
		t.Errorf("the refused resume drew a grid into data.root: %v", err)
	}
	run := filepath.Join(t.TempDir(), "run")
	if _, err := Train(context.Background(), smallRun(t, run, "data.root="+root, "train.max_steps=1"), RunOptions{Quiet: true, Writer: os.Stderr}); err != nil {
		t.Fatal(err)
	}
	moved := filepath.Join(root, "run")
	if err := os.Rename(run, moved); err != nil {
		t.Fatal(err)
	}
	if _, err := Resume(context.Background(), moved, []string{"train.max_steps=2"}, RunOptions{Quiet: true, Writer: os.Stderr}); err == nil ||
		!strings.Contains(err.Error(), "out "+moved+" is inside "+root) || !strings.Contains(err.Error(), "move the run folder out of it and resume it there") {
		t.Errorf("resume of a run folder inside data.root: %v", err)
	}
}

// TestImportRefusesNonFiniteWeights: a state dict holding a nan or an inf
// (saved from a run that diverged) is refused, naming the tensor, and
// leaves no run folder.
func TestImportRefusesNonFiniteWeights(t *testing.T) {
	torch.LockThread()
	for _, bad := range []float64{math.NaN(), math.Inf(-1)} {
		out := filepath.Join(t.TempDir(), "imported")
		cfg, err := config.LoadConfig("../configs/dcgan-fashion-mnist.yaml", []string{"out=" + out, "model.ngf=8", "model.ndf=8"})
		if err != nil {
			t.Fatal(err)
		}
		g := newG(t, cfg)
		sd := g.StateDict()
		last := sd[len(sd)-1]
		if !last.Tensor.DType().IsFloat() {
			t.Fatalf("the last tensor of G, %s, is %v", last.Name, last.Tensor.DType())
		}
		last.Tensor.Fill(bad)
		var buf bytes.Buffer
		if err := torch.WritePTH(&buf, sd); err != nil {
			t.Fatal(err)
		}
		g.Free()
		pth := filepath.Join(t.TempDir(), "netG.pth")
		os.WriteFile(pth, buf.Bytes(), 0o644)
		_, _, err = Import(cfg, map[string]string{"G": pth}, ImportedAt{})
		if err == nil || !strings.Contains(err.Error(), "tensor "+last.Name+" holds inf or nan values") {
			t.Errorf("import of a G with %g in %s: %v", bad, last.Name, err)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("the refused import left %s: %v", out, err)
		}
	}
}

// TestImportIntoARecipeOnAnothersNetworks: a state dict that does not load
// into a recipe built on DCGAN's networks without a Describe of its own
// (plugin_test.go's probe; a class-conditional DCGAN whose G takes more
// channels) is not said to be recipe dcgan's network, "none of recipe
// probe's", with advice to import it as DCGAN: the shapes cannot tell the
// two apart, so the error gives them. A file of networks probe has none of
// (a U-Net) still names the recipes it is for.
func TestImportIntoARecipeOnAnothersNetworks(t *testing.T) {
	torch.LockThread()
	pth := func(sets ...string) string {
		cfg, err := config.LoadConfig("", append(sets, "model.ngf=8", "model.ndf=8", "out="+filepath.Join(t.TempDir(), "run")))
		if err != nil {
			t.Fatal(err)
		}
		g := newG(t, cfg)
		defer g.Free()
		var buf bytes.Buffer
		if err := torch.WritePTH(&buf, g.StateDict()); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(t.TempDir(), "net_G.pth")
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cfg, err := config.LoadConfig("", []string{"recipe=probe", "model.ngf=8", "model.ndf=8", "data.image_size=32", "data.channels=1",
		"out=" + filepath.Join(t.TempDir(), "imported")})
	if err != nil {
		t.Fatal(err)
	}
	other := pth("recipe=dcgan", "model.nz=110", "data.image_size=32", "data.channels=1")
	_, _, err = Import(cfg, map[string]string{"G": other}, ImportedAt{})
	if err == nil || strings.Contains(err.Error(), "recipe dcgan") || !strings.Contains(err.Error(), "import "+other+" into network G") ||
		!strings.Contains(err.Error(), "[110 32 4 4] in the state dict") {
		t.Errorf("import of a G of other settings into probe: %v, want the shapes that differ and no other recipe named", err)
	}
	unet := pth("recipe=pix2pix", "model.netG=unet_128")
	_, _, err = Import(cfg, map[string]string{"G": unet}, ImportedAt{})
	if err == nil || !strings.Contains(err.Error(), "it holds a network of recipe cyclegan or pix2pix, none of recipe probe's") {
		t.Errorf("import of a U-Net into probe: %v, want the recipes it is for", err)
	}
}

// newG is cfg's generator, built on the CPU.
func newG(t *testing.T, cfg *config.Config) *nets.Net {
	t.Helper()
	spec, err := gan.NetSpecOf(cfg, "G")
	if err != nil {
		t.Fatal(err)
	}
	g, err := spec.Build(spec.Options, torch.CPUDevice)
	if err != nil {
		t.Fatal(err)
	}
	return g
}
