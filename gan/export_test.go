package gan_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gogan/config"
	"gogan/gan"
	_ "gogan/gan/all"
)

// exportOf is what the recipe of the config of sets exports, into a new
// temp folder where o.Dir is empty.
func exportOf(t *testing.T, sets []string, o gan.ExportOptions) gan.Export {
	t.Helper()
	c, err := config.LoadConfig("", sets)
	if err != nil {
		t.Fatal(err)
	}
	def, err := gan.For(c)
	if err != nil {
		t.Fatal(err)
	}
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	return def.Export(c, o)
}

// TestExportCarriesTheSplitAndSubset: the split trained on, the order of
// the data and data.max_samples go to the reference's train.py as --phase,
// --serial_batches and pytorch-CycleGAN-and-pix2pix's --max_dataset_size,
// with a note on the order the reference takes its first files in; for
// pix2pixHD, whose --max_dataset_size does another thing, a note instead.
func TestExportCarriesTheSplitAndSubset(t *testing.T) {
	for _, c := range []struct {
		recipe     string
		sets, args []string
		note       string
	}{
		{"cyclegan", nil, []string{"--phase val", "--max_dataset_size 7"}, "os.walk"},
		{"pix2pix", []string{"data.shuffle=false"}, []string{"--phase val", "--max_dataset_size 7", "--serial_batches"}, "os.walk"},
		{"pix2pixhd", []string{"data.shuffle=false"}, []string{"--phase val", "--serial_batches"}, "--max_dataset_size instead ends each epoch"},
		// and its --pool_size (the reference's default 0 unsaid)
		{"pix2pixhd", []string{"train.pool_size=4"}, []string{"--phase val", "--pool_size 4"}, "--max_dataset_size instead ends each epoch"},
	} {
		e := exportOf(t, append([]string{"recipe=" + c.recipe, "data.root=" + t.TempDir(), "data.phase=val", "data.max_samples=7"}, c.sets...), gan.ExportOptions{})
		train := e.Commands[len(e.Commands)-1]
		for _, a := range c.args {
			if !strings.Contains(train, "train.py") || !strings.Contains(train, a) {
				t.Errorf("%s: train command %q, want %s", c.recipe, train, a)
			}
		}
		if c.recipe == "pix2pixhd" && !slices.Contains(c.sets, "train.pool_size=4") && strings.Contains(train, "--pool_size") {
			t.Errorf("%s: train command %q says the default --pool_size", c.recipe, train)
		}
		if strings.Contains(train, "--max_dataset_size") != (c.recipe != "pix2pixhd") {
			t.Errorf("%s: train command %q", c.recipe, train)
		}
		if notes := strings.Join(e.Notes, "\n"); !strings.Contains(notes, c.note) {
			t.Errorf("%s: notes %q, want one saying %q", c.recipe, notes, c.note)
		}
	}
}

// TestExportResumesAtTheNextEpoch: the continued training gogan export
// prints starts where the run stopped. pytorch-CycleGAN-and-pix2pix's
// train.py runs epochs range(epoch_count, ...) with its linear rate rule
// counted from epoch_count, so after 3 completed epochs --epoch_count 4
// (gogan import --epoch 3 reads such a run back).
func TestExportResumesAtTheNextEpoch(t *testing.T) {
	for _, recipe := range []string{"pix2pix", "cyclegan", "colorization"} {
		e := exportOf(t, []string{"recipe=" + recipe, "data.root=" + t.TempDir()}, gan.ExportOptions{Completed: 3, EpochImages: 10})
		if train := e.Commands[len(e.Commands)-1]; !strings.Contains(train, "train.py") || !strings.Contains(train, " --epoch_count 4 ") &&
			!strings.HasSuffix(train, " --epoch_count 4") {
			t.Errorf("%s after 3 epochs: train command %q, want --epoch_count 4", recipe, train)
		}
	}
}

// TestExportNotesTheScheduleItCannotGoOn: the reference's get_scheduler
// counts only its linear rule from --epoch_count, so a step schedule
// continued after 3 epochs starts again there (a note says so, where none
// is due before an epoch is done), and pix2pixHD's rule is not one of its
// --lr_policy values.
func TestExportNotesTheScheduleItCannotGoOn(t *testing.T) {
	for _, c := range []struct {
		policy    string
		completed int
		note      string
	}{
		{"step", 3, "starts that schedule again at its first epoch (only its linear rule counts from --epoch_count), where this run is 3 epochs into it"},
		{"step", 0, ""},
		{"linear", 3, ""},
		{"pix2pixhd", 0, "train.lr_policy=pix2pixhd is pix2pixHD's"},
	} {
		e := exportOf(t, []string{"recipe=pix2pix", "data.root=" + t.TempDir(), "train.lr_policy=" + c.policy,
			"train.epochs=3", "train.epochs_decay=2", "train.lr_decay_iters=7"}, gan.ExportOptions{Completed: c.completed})
		notes := strings.Join(e.Notes, "\n")
		if c.note == "" && strings.Contains(notes, "lr_policy") || c.note != "" && !strings.Contains(notes, c.note) {
			t.Errorf("lr_policy %s after %d epochs: notes %q, want %q", c.policy, c.completed, notes, c.note)
		}
		train := e.Commands[len(e.Commands)-1]
		if strings.Contains(train, "--lr_policy") != (c.policy != "linear") {
			t.Errorf("lr_policy %s: train command %q", c.policy, train)
		}
		// the run's schedule, where train.py's defaults are 100 + 100 epochs (and 50 for step)
		if !strings.Contains(train, " --n_epochs 3 --n_epochs_decay 2 ") || strings.Contains(train, " --lr_decay_iters 7") != (c.policy == "step") {
			t.Errorf("lr_policy %s: train command %q, want --n_epochs 3 --n_epochs_decay 2 (and --lr_decay_iters 7 for step)", c.policy, train)
		}
	}
}

// TestExportKeepsCycleGANsDataOrder: the reference's --serial_batches
// is both gogan's data.shuffle=false and data.serial_batches, so a run
// with only one of them is exported with the data order (the train.py
// command and the options file alike), which gogan import --from reads
// back, and a note on the pairing, which it cannot carry. The options
// file gave a shuffled run serial_batches True, read back unshuffled.
func TestExportKeepsCycleGANsDataOrder(t *testing.T) {
	def, err := gan.Lookup("cyclegan")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		serial, shuffle bool
		note            string
	}{
		{true, true, "--set data.serial_batches=true"},
		{false, false, "--set data.serial_batches=false"},
		{true, false, ""},
		{false, true, ""},
	} {
		name := fmt.Sprintf("serial_batches=%v shuffle=%v", c.serial, c.shuffle)
		e := exportOf(t, []string{"recipe=cyclegan", "data.root=" + t.TempDir(), fmt.Sprintf("data.serial_batches=%v", c.serial), fmt.Sprintf("data.shuffle=%v", c.shuffle)}, gan.ExportOptions{})
		var train string
		for _, cmd := range e.Commands {
			if strings.Contains(cmd, "train.py") {
				train = cmd
			}
		}
		if strings.Contains(train, "--serial_batches") == c.shuffle {
			t.Errorf("%s: train command %q", name, train)
		}
		notes := strings.Join(e.Notes, "\n")
		if c.note == "" && strings.Contains(notes, "serial_batches") || c.note != "" && !strings.Contains(notes, c.note) {
			t.Errorf("%s: notes %q, want %q", name, notes, c.note)
		}
		i := slices.IndexFunc(e.Texts, func(x gan.ExportText) bool { return x.Name == "train_opt.txt" })
		if i < 0 {
			t.Fatalf("%s: no train_opt.txt", name)
		}
		sets, err := def.FromReference(gan.ReadReferenceOptions(e.Texts[i].Text))
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("data.shuffle=%v", c.shuffle); !slices.Contains(sets, want) {
			t.Errorf("%s: the options file reads back as %v, want %s", name, sets, want)
		}
	}
}

// TestExportPix2PixHDsMixedPrecision: a run with cuda.amp=fp16 is
// exported with pix2pixHD's own option for it, --fp16, in the train.py
// command and in opt.txt (where it read False); bf16, which pix2pixHD has
// not, with a note.
func TestExportPix2PixHDsMixedPrecision(t *testing.T) {
	for _, c := range []struct{ amp, opt, note string }{
		{"fp16", "fp16: True\n", ""},
		{"bf16", "fp16: False\n", "pix2pixHD's mixed precision, --fp16, is float16 alone"},
		{"off", "fp16: False\n", ""},
	} {
		e := exportOf(t, []string{"recipe=pix2pixhd", "data.root=" + t.TempDir(), "cuda.amp=" + c.amp}, gan.ExportOptions{})
		train := e.Commands[len(e.Commands)-1]
		if strings.Contains(train, " --fp16") != (c.amp == "fp16") {
			t.Errorf("cuda.amp=%s: train command %q", c.amp, train)
		}
		i := slices.IndexFunc(e.Texts, func(x gan.ExportText) bool { return x.Name == "opt.txt" })
		if i < 0 || !strings.Contains(e.Texts[i].Text, "\n"+c.opt) {
			t.Errorf("cuda.amp=%s: no %q in opt.txt", c.amp, c.opt)
		}
		notes := strings.Join(e.Notes, "\n")
		if c.note == "" && strings.Contains(notes, "fp16") || c.note != "" && !strings.Contains(notes, c.note) {
			t.Errorf("cuda.amp=%s: notes %q, want %q", c.amp, notes, c.note)
		}
	}
}

// TestExportOfPairsInTwoFolders: a pix2pix run on pairs kept in two
// folders (A/train, B/train) is exported with the reference's combine
// script, which makes the A|B images its pix2pix reads, and the commands
// take the combined folder; A|B images need no such note.
func TestExportOfPairsInTwoFolders(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"A/train", "B/train"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	e := exportOf(t, []string{"recipe=pix2pix", "data.root=" + root}, gan.ExportOptions{})
	ab := root + "_AB"
	want := "combine them first with its python datasets/combine_A_and_B.py --fold_A " + filepath.Join(root, "A") + " --fold_B " + filepath.Join(root, "B") + " --fold_AB " + ab
	if notes := strings.Join(e.Notes, "\n"); !strings.Contains(notes, want) {
		t.Errorf("notes %q, want %q", notes, want)
	}
	for _, cmd := range e.Commands {
		if strings.Contains(cmd, ".py") && !strings.Contains(cmd, "--dataroot "+ab+" ") {
			t.Errorf("command %q does not read the combined folder %s", cmd, ab)
		}
	}
	if notes := strings.Join(exportOf(t, []string{"recipe=pix2pix", "data.root=" + t.TempDir()}, gan.ExportOptions{}).Notes, "\n"); strings.Contains(notes, "combine_A_and_B") {
		t.Errorf("A|B images: %q", notes)
	}
}

// TestExportCommandsRunOnThisMachine: the printed commands run on the
// machine that exports. main.py trains on the CPU unless given --accel
// (today's; it refuses its --cuda of before May 2025) and
// draws its own seed unless given --manualSeed; pytorch-CycleGAN-and-pix2pix
// takes GPU 0 unless given --gpu_ids -1, which a CPU-only PyTorch refuses;
// pix2pixHD moves its inputs to CUDA whatever it is given, so a machine
// without a GPU gets a note instead.
func TestExportCommandsRunOnThisMachine(t *testing.T) {
	for _, c := range []struct {
		recipe    string
		cuda      bool
		want, not []string // in every command
		note      string
	}{
		{"dcgan", false, []string{"--manualSeed 7"}, []string{"--accel", "--cuda"}, ""},
		{"dcgan", true, []string{"--manualSeed 7", "--accel"}, []string{"--cuda"}, ""},
		{"pix2pix", false, []string{"--gpu_ids -1"}, nil, ""},
		{"pix2pix", true, nil, []string{"--gpu_ids"}, ""},
		{"cyclegan", false, []string{"--gpu_ids -1"}, nil, ""},
		{"pix2pixhd", false, nil, []string{"--gpu_ids"}, "no CUDA GPU"},
		{"pix2pixhd", true, nil, []string{"--gpu_ids"}, ""},
	} {
		e := exportOf(t, []string{"recipe=" + c.recipe, "data.root=" + t.TempDir(), "seed=7"}, gan.ExportOptions{CUDA: c.cuda})
		for _, cmd := range e.Commands {
			for _, w := range c.want {
				if !strings.Contains(cmd+" ", " "+w+" ") {
					t.Errorf("%s, CUDA %v: %q lacks %s", c.recipe, c.cuda, cmd, w)
				}
			}
			for _, w := range c.not {
				if strings.Contains(cmd+" ", " "+w+" ") {
					t.Errorf("%s, CUDA %v: %q has %s", c.recipe, c.cuda, cmd, w)
				}
			}
		}
		notes := strings.Join(e.Notes, "\n")
		if c.note != "" && !strings.Contains(notes, c.note) || c.note == "" && strings.Contains(notes, "CUDA") {
			t.Errorf("%s, CUDA %v: notes %q, want %q", c.recipe, c.cuda, notes, c.note)
		}
	}
}

// TestExportDCGANNotesTheLoader: main.py reads the training split whole
// and its DataLoader shuffles every epoch and keeps the last, smaller
// batch; a DCGAN run of another split, a subset, a fixed order or dropped
// last batches is noted, one note each, and a run like main.py's gets none.
func TestExportDCGANNotesTheLoader(t *testing.T) {
	notes := func(sets ...string) string {
		return strings.Join(exportOf(t, append([]string{"recipe=dcgan", "data.dataset=cifar10", "data.root=" + t.TempDir()}, sets...), gan.ExportOptions{}).Notes, "\n")
	}
	want := []string{"data.phase=test: main.py reads the training images (torchvision's CIFAR10 of train=True)", "data.max_samples=7:",
		"data.shuffle=false:", "data.drop_last=true:"}
	got := notes("data.phase=test", "data.max_samples=7", "data.shuffle=false", "data.drop_last=true")
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("notes %q lack %q", got, w)
		}
	}
	if got := notes(); got != "" {
		t.Errorf("a run as main.py's: notes %q", got)
	}
	// LSUN's other splits have their own note (lsunData's links), and a
	// folder is read whole whatever data.phase says: neither is told that
	// main.py reads the training split of a torchvision dataset
	for _, d := range []string{"lsun", "folder"} {
		if got := notes("data.dataset="+d, "data.phase=val"); strings.Contains(got, "main.py reads the training images") {
			t.Errorf("data.dataset=%s, data.phase=val: notes %q", d, got)
		}
	}
}

// TestExportLSUNClasses: main.py splits --classes on commas alone, and
// torchvision's LSUN refuses a category with a space (' tower'): a train
// run of data.classes "bedroom, tower", which gogan reads, exports
// --classes bedroom,tower on data.root itself, and data.classes empty
// main.py's bedroom.
func TestExportLSUNClasses(t *testing.T) {
	for classes, want := range map[string]string{"bedroom, tower": " --classes bedroom,tower", "": " --classes bedroom"} {
		root := t.TempDir()
		e := exportOf(t, []string{"recipe=dcgan", "data.dataset=lsun", "data.root=" + root, "data.classes=" + classes}, gan.ExportOptions{})
		if len(e.Commands) != 1 || !strings.HasSuffix(e.Commands[0], want) || !strings.Contains(e.Commands[0], " --dataroot "+root+" ") || len(e.Notes) != 0 {
			t.Errorf("data.classes %q: %q, notes %q; want it to end %q, on data.root, without notes", classes, e.Commands, e.Notes, want)
		}
	}
}

// TestExportNamesTheSplitFoldersTheReferenceReads: test.py reads
// --dataroot/test and train.py --dataroot/<phase>, and the reference's
// make_dataset stops on a folder that is not there; gogan trains
// colorization without a test/ folder and pix2pix on A|B images directly
// under data.root, so the export says where the images go.
func TestExportNamesTheSplitFoldersTheReferenceReads(t *testing.T) {
	mk := func(root string, dirs ...string) string {
		for _, d := range dirs {
			if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		return root
	}
	for _, c := range []struct {
		recipe, root, want string
	}{
		{"colorization", mk(t.TempDir(), "train"), "and there is no %s/test: put them there, or add --phase train"},
		{"pix2pix", mk(t.TempDir(), "train"), "and there is no %s/test: put them there, or add --phase train"},
		{"pix2pix", mk(t.TempDir()), "this run read them directly under %[1]s: move them into %[1]s/train/ (and the images to translate into %[1]s/test/)"},
		{"pix2pix", mk(t.TempDir(), "train", "test"), ""},
		{"colorization", mk(t.TempDir(), "train", "test"), ""},
		// data not on this machine (a run folder exported elsewhere)
		{"pix2pix", filepath.Join(t.TempDir(), "elsewhere"), ""},
	} {
		notes := strings.Join(exportOf(t, []string{"recipe=" + c.recipe, "data.root=" + c.root}, gan.ExportOptions{}).Notes, "\n")
		if c.want == "" {
			if strings.Contains(notes, "--dataroot/") {
				t.Errorf("%s with train/ and test/: notes %q", c.recipe, notes)
			}
		} else if want := fmt.Sprintf(c.want, c.root); !strings.Contains(notes, want) {
			t.Errorf("%s on %s: notes %q, want one saying %q", c.recipe, c.root, notes, want)
		}
	}
}

// TestExportOfDerivedPairsTestsOnInputs: a pix2pix run on pairs gogan
// derives (edge maps, gray photos) has no A|B folder for the reference's
// pix2pix test.py, in either direction; the export gives its test model on
// a folder of inputs (--dataset_mode single), which translates them as
// gogan translate does.
func TestExportOfDerivedPairsTestsOnInputs(t *testing.T) {
	const other = "the reference reads image folders: give test.py and train.py a --dataroot of them"
	for _, c := range []struct {
		dataset, direction, dropout string
		inputs                      string // what the note says INPUTS holds
	}{{"edges", "AtoB", "true", "edge maps (dark lines on white)"}, {"gray2color", "AtoB", "false", "gray photos"},
		{"edges", "BtoA", "false", "photos (as data.source's images)"}} {
		name := c.dataset + " " + c.direction + " no_dropout=" + c.dropout
		e := exportOf(t, []string{"recipe=pix2pix", "data.dataset=" + c.dataset, "data.direction=" + c.direction,
			"model.input_nc=1", "model.netG=unet_128", "model.no_dropout=" + c.dropout}, gan.ExportOptions{})
		test, notes := e.Commands[0], strings.Join(e.Notes, "\n")
		// BtoA too (photos to sketches): the reference has no pairs of
		// gogan's edge maps either. Never with --direction BtoA, with which
		// the single dataset reads output_nc's channels for G's input_nc.
		if !strings.HasPrefix(test, "python test.py --dataroot INPUTS ") || strings.Contains(test, "--direction") ||
			!strings.Contains(test, " --model test --dataset_mode single --input_nc 1 --output_nc 3 ") ||
			!strings.HasSuffix(test, " --load_size 256 --crop_size 256 --preprocess resize_and_crop") ||
			strings.Contains(test, "--no_dropout") != (c.dropout == "true") {
			t.Errorf("%s: test command %q, want the test model on a folder INPUTS, at the run's test size, --no_dropout as the run", name, test)
		}
		if !strings.Contains(notes, "translates the inputs in a folder INPUTS, "+c.inputs+", as gogan translate does") || strings.Contains(notes, other) {
			t.Errorf("%s: notes %q, want the test model's alone, on %s", name, notes, c.inputs)
		}
		if train := e.Commands[1]; !strings.Contains(train, " --model pix2pix ") || !strings.Contains(train, " --direction "+c.direction+" ") {
			t.Errorf("%s: train command %q, want pix2pix's with --direction %s", name, train, c.direction)
		}
	}
}

// TestExportCycleGANTestModelReadsEachGsInputs: a CycleGAN trained with
// dropout loads into the reference's test model one generator at a time,
// each on a folder of its inputs: G_A's are the data's A images, or its B
// images with data.direction BtoA (cycle_gan's set_input takes real_A
// from input['B']); they went to testA alike, G_A translating G_B's.
func TestExportCycleGANTestModelReadsEachGsInputs(t *testing.T) {
	root := t.TempDir()
	for _, dir := range []string{"trainA", "trainB", "testA", "testB"} {
		if err := os.Mkdir(filepath.Join(root, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for dir, want := range map[string][2]string{"AtoB": {"testA", "testB"}, "BtoA": {"testB", "testA"}} {
		e := exportOf(t, []string{"recipe=cyclegan", "data.dataset=unaligned", "data.root=" + root, "data.direction=" + dir,
			"model.input_nc=1", "train.lambda_identity=0", "model.no_dropout=false"}, gan.ExportOptions{})
		if len(e.Commands) != 2 {
			t.Fatalf("%s: commands %q, want the test model's two", dir, e.Commands)
		}
		for i, g := range []struct{ suffix, in, out string }{{"_A", "1", "3"}, {"_B", "3", "1"}} {
			cmd := e.Commands[i]
			if !strings.HasPrefix(cmd, "python test.py --dataroot "+filepath.Join(root, want[i])+" ") || !strings.Contains(cmd, " --model_suffix "+g.suffix+" ") ||
				!strings.Contains(cmd, " --input_nc "+g.in+" --output_nc "+g.out+" ") || strings.Contains(cmd, "--direction") {
				t.Errorf("%s: G%s's command %q, want it on %s, %s to %s channels, without --direction", dir, g.suffix, cmd, want[i], g.in, g.out)
			}
		}
	}
}
