package main

import (
	"fmt"
	"html"
	"image"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	torch "gogan/cgo"
	"gogan/cgo/torchtest"
	"gogan/data"
	"gogan/eval"
	"gogan/gan"
	"gogan/infer"
	"gogan/runfolder"
)

// smallCycleGAN is configs/cyclegan-fashion-mnist.yaml cut down to seconds
// on two cores, with a pool small enough to fill in the first steps, so
// that its random swaps happen (and must survive a resume).
func smallCycleGAN(out string, extra ...string) []string {
	args := []string{"--config", "configs/cyclegan-fashion-mnist.yaml", "--quiet",
		"--set", "out=" + out, "--set", "data.max_samples=64", "--set", "model.ngf=8", "--set", "model.ndf=8",
		"--set", "train.pool_size=5", "--set", "train.log_every=1", "--set", "train.sample_every=10",
		"--set", "threads=2", "--set", "data.workers=2"}
	for _, e := range extra {
		args = append(args, "--set", e)
	}
	return args
}

// TestCycleGANKilledRunResumesExactly: the image pools' images, how full
// they are and their random draws are part of a checkpoint, so a CycleGAN
// run killed and resumed matches one that never stopped.
func TestCycleGANKilledRunResumesExactly(t *testing.T) {
	killResumeExact(t, func(run string) []string {
		return smallCycleGAN(run, "train.max_steps=60", "train.checkpoint_every=4")
	}, 60)
}

// TestCycleGANPoolsOfSizesResumeExactly: the same with images of several
// sizes (data.preprocess none, batch 1), whose pools keep each fake's size
// in the checkpoint.
func TestCycleGANPoolsOfSizesResumeExactly(t *testing.T) {
	root := unalignedOfSizes(t)
	killResumeExact(t, func(run string) []string {
		return []string{"--config", "configs/cyclegan-facades.yaml", "--quiet", "--set", "out=" + run, "--set", "data.root=" + root,
			"--set", "data.preprocess=none", "--set", "data.batch_size=1", "--set", "model.netG=resnet_6blocks",
			"--set", "model.ngf=8", "--set", "model.ndf=8", "--set", "train.pool_size=2", "--set", "train.log_every=1",
			"--set", "train.max_steps=30", "--set", "train.checkpoint_every=4", "--set", "threads=2"}
	}, 30)
}

func TestCycleGANTrainsAndTranslates(t *testing.T) {
	base := t.TempDir()
	run := filepath.Join(base, "run")
	mustTrain(t, smallCycleGAN(run, "train.max_steps=6")...)
	rows := lossRows(t, run)
	if want := "step,epoch,D_A,G_A,cycle_A,idt_A,D_B,G_B,cycle_B,idt_B,lr"; len(rows) != 7 || strings.Join(rows[0], ",") != want {
		t.Errorf("metrics.csv: %d rows, header %v, want 7 rows under %s", len(rows), rows[0], want)
	}
	// Four samples, each as two rows (A: real_A fake_B rec_A idt_B; B: real_B
	// fake_A rec_B idt_A) of four 32x32 images with 2 px padding.
	if w, h := pngSize(t, filepath.Join(run, "samples", "latest.png")); w != 4*34+2 || h != 8*34+2 {
		t.Errorf("sample grid %dx%d, want %dx%d", w, h, 4*34+2, 8*34+2)
	}
	// and the report says so, in the reference's names
	if b, _ := os.ReadFile(filepath.Join(run, "index.html")); !strings.Contains(string(b), `<h2>Latest samples</h2>
<p class="layout">rows in pairs: real_A | fake_B | rec_A | idt_B, then real_B | fake_A | rec_B | idt_A</p>`) {
		t.Errorf("the report does not name the grid's columns:\n%s", b)
	}
	in := filepath.Join(base, "in")
	os.MkdirAll(in, 0o755)
	for _, name := range []string{"a.png", "b.png", "c.png"} {
		writeTestPNG(t, filepath.Join(in, name), 28, 28)
	}
	for _, dir := range []string{"AtoB", "BtoA"} {
		outDir := filepath.Join(base, dir)
		args := []string{"translate", "--checkpoint", run, "--direction", dir, "--input", in, "--out", outDir, "--device", "cpu"}
		if out, err := gogan(t, args...); err != nil || !strings.Contains(out, "translated 3 images") {
			t.Fatalf("translate --direction %s: %v\n%s", dir, err, out)
		}
		if w, h := pngSize(t, filepath.Join(outDir, "b.png")); w != 32 || h != 32 {
			t.Errorf("translate %s: %dx%d, want the training crop 32x32", dir, w, h)
		}
	}
	if out, err := gogan(t, "translate", "--checkpoint", run, "--direction", "sideways", "--input", in, "--out", filepath.Join(base, "x")); err == nil || !strings.Contains(out, "--direction sideways: checkpoint "+run) || !strings.Contains(out, "translates AtoB or BtoA, not sideways: give one of them, or leave --direction out for AtoB") {
		t.Errorf("translate --direction sideways: %v\n%s", err, out)
	}
	// Classes of Fashion-MNIST have no pairs to score against.
	if out, err := gogan(t, "eval", "pix2pix", "--checkpoint", run, "--device", "cpu"); err == nil || !strings.Contains(out, "classes") {
		t.Errorf("eval pix2pix on a classes run: %v\n%s", err, out)
	}
}

// TestCycleGANEvalOnUnpairedDomains: eval pix2pix of a CycleGAN trained on
// its own trainA/ and trainB/ (testA/, testB/ beside them: no pairs
// anywhere) says that the scores need pairs and where they may come from,
// and how to look at the translations instead; the data's refusal for
// aligned data told the user to "train unpaired data with recipe cyclegan",
// which they had. The translate command it names works.
func TestCycleGANEvalOnUnpairedDomains(t *testing.T) {
	root := filepath.Join(t.TempDir(), "my photos") // the commands it gives quote it
	for dir, n := range map[string]int{"trainA": 3, "trainB": 2, "testA": 2, "testB": 1} {
		os.MkdirAll(filepath.Join(root, dir), 0o755)
		for i := range n {
			writeTestPNG(t, filepath.Join(root, dir, fmt.Sprintf("%d.png", i)), 40+4*i, 40)
		}
	}
	run := filepath.Join(t.TempDir(), "run")
	out, err := gogan(t, "train", "-c", "configs/cyclegan-facades.yaml", "--quiet", "--set", "out="+run,
		"--set", "data.root="+root, "--set", "data.load_size=36", "--set", "data.crop_size=32",
		"--set", "model.netG=resnet_6blocks", "--set", "model.ngf=8", "--set", "model.ndf=8",
		"--set", "train.max_steps=1", "--set", "threads=2")
	if err != nil {
		t.Fatalf("train: %v\n%s", err, out)
	}
	out, err = gogan(t, "eval", "pix2pix", "--checkpoint", run, "--device", "cpu", "--threads", "2")
	if err == nil {
		t.Fatalf("eval pix2pix on unpaired domains succeeded:\n%s", out)
	}
	testA, testB := filepath.Join(root, "testA"), filepath.Join(root, "testB")
	for _, want := range []string{"(cyclegan) learned from unpaired domains, and data.root " + root + " holds such domains",
		"no pairs for --phase test", "give pairs with --data-root (A|B images side by side in test/, or files of the same names in A/test/ and B/test/)",
		"gogan translate --checkpoint " + run + " --input '" + testA + "' --out DIR (G_A), and --direction BtoA --input '" + testB + "' (G_B)",
		"gogan eval fid '" + testB + "' DIR compares"} {
		if !strings.Contains(out, want) {
			t.Errorf("eval pix2pix: want %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "train unpaired data with recipe cyclegan") {
		t.Errorf("eval pix2pix of a cyclegan run tells to train with recipe cyclegan:\n%s", out)
	}
	if out, err := gogan(t, "translate", "--checkpoint", run, "--input", testA, "--out", filepath.Join(t.TempDir(), "out"), "--device", "cpu"); err != nil || !strings.Contains(out, "translated 2 images") {
		t.Errorf("the translate eval pix2pix names: %v\n%s", err, out)
	}
	// Without testA/ and testB/ (the run's trainA/ and trainB/ alone), the
	// suggestions were dropped: they name the split the root has, and which
	// of testA/ and testB/ it lacks (it said both where testA/ was there).
	// A testB/ without images (made for later, as an empty testA/ often is)
	// is no more use to translate, which refuses it: eval named it all the
	// same.
	trainA, trainB := filepath.Join(root, "trainA"), filepath.Join(root, "trainB")
	for _, c := range []struct {
		remove, make, has string
	}{
		{"testB/0.png", "", "has testA/, but testB/ holds no images"},
		{"testB", "", "has testA/ but no testB/"},
		{"testA", "", "has neither testA/ nor testB/"},
		{"", "testA testB", "has testA/ and testB/, but neither holds images"},
	} {
		if c.remove != "" {
			if err := os.RemoveAll(filepath.Join(root, c.remove)); err != nil {
				t.Fatal(err)
			}
		}
		for _, d := range strings.Fields(c.make) {
			if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		out, err = gogan(t, "eval", "pix2pix", "--checkpoint", run, "--device", "cpu", "--threads", "2")
		for _, want := range []string{"no pairs for --phase test",
			"gogan translate --checkpoint " + run + " --input '" + trainA + "' --out DIR (G_A), and --direction BtoA --input '" + trainB + "' (G_B)",
			"gogan eval fid '" + trainB + "' DIR compares G_A's with domain B (the train split's, the images it trained on: " + root + " " + c.has + ")"} {
			if err == nil || !strings.Contains(out, want) {
				t.Errorf("eval pix2pix of a root that %s: %v, want %q in\n%s", c.has, err, want, out)
			}
		}
	}
}

// TestCycleGANTranslateWarnsOfTheOtherDomain: translate's default
// --direction AtoB runs G_A, which takes domain A; given testB/ (or a file
// in it) it translated label maps as if they were photos, with nothing
// said. It warns, naming the folder and the --direction that takes it;
// the right direction, and a folder of another name, translate silently.
// A run of data.direction=BtoA (the domains swapped, as the reference's)
// warns the other way.
func TestCycleGANTranslateWarnsOfTheOtherDomain(t *testing.T) {
	root := t.TempDir()
	for _, dir := range []string{"trainA", "trainB", "testA", "testB", "mine"} {
		os.MkdirAll(filepath.Join(root, dir), 0o755)
		writeTestPNG(t, filepath.Join(root, dir, "0.png"), 40, 40)
	}
	const warning = "translate: the inputs' folder is named"
	for _, c := range []struct {
		direction string   // data.direction
		runs      []string // translate --direction, --input under root, the warning's words ("": none)
	}{
		{"AtoB", []string{
			"", "testB", "named testB/, as the run's domain B, but --direction AtoB runs G_A, which takes domain A: give --direction BtoA to translate domain B",
			"", "testB/0.png", "named testB/",
			"BtoA", "trainA", "named trainA/, as the run's domain A, but --direction BtoA runs G_B, which takes domain B: give --direction AtoB",
			"", "testA", "", "BtoA", "testB", "", "", "mine", ""}},
		{"BtoA", []string{
			"", "testA", "runs G_A, which takes domain B (the run trained with data.direction=BtoA, which swaps the domains): give --direction BtoA",
			"", "testB", ""}},
	} {
		run := filepath.Join(t.TempDir(), "run")
		out, err := gogan(t, "train", "-c", "configs/cyclegan-facades.yaml", "--quiet", "--set", "out="+run,
			"--set", "data.root="+root, "--set", "data.direction="+c.direction, "--set", "data.load_size=36", "--set", "data.crop_size=32",
			"--set", "model.netG=resnet_6blocks", "--set", "model.ngf=8", "--set", "model.ndf=8",
			"--set", "train.max_steps=1", "--set", "threads=2")
		if err != nil {
			t.Fatalf("train: %v\n%s", err, out)
		}
		for i := 0; i < len(c.runs); i += 3 {
			args := []string{"translate", "--checkpoint", run, "--input", filepath.Join(root, c.runs[i+1]), "--out", filepath.Join(t.TempDir(), "out"), "--device", "cpu"}
			if c.runs[i] != "" {
				args = append(args, "--direction", c.runs[i])
			}
			out, err := gogan(t, args...)
			if err != nil {
				t.Fatalf("%v: %v\n%s", args, err, out)
			}
			if want := c.runs[i+2]; want == "" && strings.Contains(out, warning) || want != "" && !strings.Contains(out, want) {
				t.Errorf("data.direction=%s, translate --direction %q --input %s: want %q (empty: no warning) in\n%s", c.direction, c.runs[i], c.runs[i+1], want, out)
			}
		}
	}
}

// TestCycleGANFacadesHeldOut trains on the CMP facades with the pairing
// thrown away (A|B images as two unaligned domains), holding out the last 50
// pairs, and scores both generators on those pairs.
func TestCycleGANFacadesHeldOut(t *testing.T) {
	root := filepath.Join("..", "shared", "data", "facades")
	if _, err := os.Stat(filepath.Join(root, "train")); err != nil {
		t.Fatalf("no facades pairs at %s (the shared data folder beside the clone): %v", root, err)
	}
	run := filepath.Join(t.TempDir(), "run")
	out, err := gogan(t, "train", "-c", "configs/cyclegan-facades.yaml", "--quiet", "--set", "out="+run,
		"--set", "data.root="+root, "--set", "data.max_samples=350", "--set", "data.load_size=72", "--set", "data.crop_size=64",
		"--set", "model.netG=resnet_6blocks", "--set", "model.ngf=8", "--set", "model.ndf=8",
		"--set", "train.max_steps=3", "--set", "train.log_every=1", "--set", "threads=2")
	if err != nil {
		t.Fatalf("train: %v\n%s", err, out)
	}
	if rows := lossRows(t, run); len(rows) != 4 {
		t.Fatalf("metrics.csv has %d rows:\n%s", len(rows), out)
	}
	// By default both generators are scored, one block each, and the
	// results page shows both directions' images for every pair, as the
	// reference's test.py page does (real_A, fake_B, rec_A, real_B, fake_A, rec_B).
	heads := map[string]string{"AtoB": "AtoB (G_A): each pair's A side translated, scored against its B side",
		"BtoA": "BtoA (G_B): each pair's B side translated, scored against its A side"}
	for _, dir := range []string{"", "AtoB", "BtoA"} {
		results := filepath.Join(t.TempDir(), "results")
		args := []string{"eval", "pix2pix", "--checkpoint", run, "--data-root", root, "--phase", "train",
			"--skip", "350", "--limit", "4", "--mode", "eval", "--device", "cpu", "--threads", "2", "--out", results}
		if dir != "" {
			args = append(args, "--direction", dir)
		}
		out, err := gogan(t, args...)
		if err != nil {
			t.Fatalf("eval pix2pix --direction %q: %v\n%s", dir, err, out)
		}
		if strings.Contains(out, "training images") {
			t.Errorf("eval pix2pix --direction %q on held-out pairs warns:\n%s", dir, out)
		}
		dirs := []string{dir}
		if dir == "" {
			dirs = []string{"AtoB", "BtoA"}
		}
		if !strings.Contains(out, "pairs 350..353 of 400") || strings.Count(out, "eval         4") != len(dirs) {
			t.Errorf("eval pix2pix --direction %q: want %d blocks of scores:\n%s", dir, len(dirs), out)
		}
		// each block headed by its direction and generator, G_A's first
		last := -1
		for _, d := range dirs {
			at := strings.Index(out, heads[d]+"\nG mode")
			if at < 0 || at < last {
				t.Errorf("eval pix2pix --direction %q does not head a block %q (after the one before):\n%s", dir, heads[d], out)
			}
			last = at
		}
		if len(dirs) == 1 {
			other := map[string]string{"AtoB": "BtoA", "BtoA": "AtoB"}[dir]
			if strings.Contains(out, heads[other]) {
				t.Errorf("eval pix2pix --direction %s scores %s too:\n%s", dir, other, out)
			}
		}
		// the visuals named as the reference's cycle_gan names them
		want := map[string][]string{"": {"real_A", "fake_B", "rec_A", "real_B", "fake_A", "rec_B"}, "AtoB": {"real_A", "fake_B", "rec_A", "real_B"},
			"BtoA": {"real_B", "fake_A", "rec_B", "real_A"}}[dir]
		ents, _ := os.ReadDir(filepath.Join(results, "images"))
		if len(ents) != 4*len(want) {
			t.Errorf("eval pix2pix --direction %q --out: %d images, want %d (%v for each of 4 pairs)", dir, len(ents), 4*len(want), want)
		}
		for _, v := range want {
			if fakes, _ := filepath.Glob(filepath.Join(results, "images", "*_"+v+".png")); len(fakes) != 4 {
				t.Errorf("eval pix2pix --direction %q --out: %d files *_%s.png", dir, len(fakes), v)
			}
		}
		// index.html: each pair's row in test.py's order, and each block's heading
		page, err := os.ReadFile(filepath.Join(results, "index.html"))
		if err != nil {
			t.Fatal(err)
		}
		row := string(page)[strings.Index(string(page), "<h2>Pairs</h2>"):]
		last = -1
		for _, v := range want {
			at := strings.Index(row, "_"+v+`.png"`)
			if at < 0 || at < last {
				t.Errorf("eval pix2pix --direction %q: index.html does not show %s after the visuals before it (%v)", dir, v, want)
			}
			last = at
		}
		// rec_A is G_B(G_A(real_A)), rec_B G_A(G_B(real_B)), with the
		// generators in --mode's mode, as gogan's networks compute them,
		// each scored on the page against the real image
		if dir == "" {
			checkRecs(t, run, results, 64)
			for _, v := range []string{"rec_A", "rec_B"} {
				if n := strings.Count(string(page), `alt="`+v+`"><div class="s">L1 `); n != 4 {
					t.Errorf("index.html scores %d %s images, want 4", n, v)
				}
			}
		}
		for _, d := range dirs {
			if !strings.Contains(string(page), html.EscapeString(heads[d])) {
				t.Errorf("eval pix2pix --direction %q: index.html does not say %q", dir, heads[d])
			}
			// the images written are those scored: each generator's
			// outputs against its targets (G_B's real_A is G_A's input)
			// give its block's PSNR
			var n int
			var l1, printed float64
			block := out[strings.Index(out, heads[d])+len(heads[d]):]
			if _, err := fmt.Sscanf(block[strings.Index(block, "\neval")+1:], "eval %d %f %f", &n, &l1, &printed); err != nil {
				t.Fatalf("eval pix2pix --direction %q: no eval row under %q: %v\n%s", dir, heads[d], err, out)
			}
			fake, target := "fake_B", "real_B"
			if d == "BtoA" {
				fake, target = "fake_A", "real_A"
			}
			fakes, _ := filepath.Glob(filepath.Join(results, "images", "*_"+fake+".png"))
			var psnr float64
			for _, f := range fakes {
				im, err1 := data.LoadImage(f, 3)
				real, err2 := data.LoadImage(strings.TrimSuffix(f, fake+".png")+target+".png", 3)
				if err1 != nil || err2 != nil {
					t.Fatal(err1, err2)
				}
				p, err := eval.PSNR(im, real)
				if err != nil {
					t.Fatal(err)
				}
				psnr += p / float64(len(fakes))
			}
			if got := fmt.Sprintf("%.3f", psnr); got != fmt.Sprintf("%.3f", printed) {
				t.Errorf("eval pix2pix --direction %q: the written %s against %s give PSNR %s, %s's block says %.3f", dir, fake, target, got, d, printed)
			}
		}
	}
	// pairs it trained on (the first 350 of the train split) are said to be,
	// and so does the results page, which outlives the terminal
	absRoot, _ := filepath.Abs(root)
	trainedOut := filepath.Join(t.TempDir(), "trained-on")
	out, err = gogan(t, "eval", "pix2pix", "--checkpoint", run, "--data-root", root, "--phase", "train", "--skip", "348", "--limit", "3",
		"--mode", "eval", "--direction", "AtoB", "--device", "cpu", "--threads", "2", "--out", trainedOut)
	said := []string{"eval pix2pix: pairs 348..350 of the train split of " + root + " include those checkpoint " + run,
		"(data.root " + absRoot + ", data.phase train, the first 350: data.max_samples): these figures are on its training images, not held-out ones; --skip 350 scores the pairs past them"}
	page, _ := os.ReadFile(filepath.Join(trainedOut, "index.html"))
	for _, w := range said {
		if err != nil || !strings.Contains(out, w) {
			t.Errorf("eval pix2pix on pairs the run trained on does not say %q: %v\n%s", w, err, out)
		}
		if !strings.Contains(html.UnescapeString(string(page)), w) {
			t.Errorf("its results page does not say %q:\n%s", w, page)
		}
	}
	if out, err := gogan(t, "eval", "pix2pix", "--checkpoint", run, "--data-root", root, "--direction", "sideways"); err == nil || !strings.Contains(out, "--direction sideways: want AtoB, BtoA, both") {
		t.Errorf("eval pix2pix --direction sideways: %v\n%s", err, out)
	}
}

// checkRecs checks a CycleGAN results folder of eval pix2pix --mode eval
// (both directions) against the checkpoint's generators run here: each
// pair's rec_A.png is G_B(G_A(real_A)) and rec_B.png G_A(G_B(real_B)), size
// x size images, rounded to 8 bits (a level apart at most: a batch of one
// here, of several there).
func checkRecs(t *testing.T, run, results string, size int) {
	t.Helper()
	ck, _, cfg, err := runfolder.OpenCheckpoint(run)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ real, rec, g, back string }{{"real_A", "rec_A", "G_A", "G_B"}, {"real_B", "rec_B", "G_B", "G_A"}} {
		recs, _ := filepath.Glob(filepath.Join(results, "images", "*_"+c.rec+".png"))
		if len(recs) == 0 {
			t.Fatalf("no %s in %s", c.rec, results)
		}
		g, err1 := infer.LoadNet(ck, cfg, c.g, torch.CPUDevice)
		back, err2 := infer.LoadNet(ck, cfg, c.back, torch.CPUDevice)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		g.SetTraining(false)
		back.SetTraining(false)
		for _, f := range recs {
			if w, h := pngSize(t, f); w != size || h != size {
				t.Errorf("%s: %dx%d, want %dx%d", f, w, h, size, size)
			}
			real, err1 := data.LoadImage(strings.TrimSuffix(f, c.rec+".png")+c.real+".png", 3)
			got, err2 := data.LoadImage(f, 3)
			if err1 != nil || err2 != nil {
				t.Fatal(err1, err2)
			}
			var want []float32
			if err := torch.Try(func() {
				sc := torch.NewScope()
				defer sc.Close()
				torch.NoGrad(func() { want = back.Forward(g.Forward(gan.ImagesTensor([]*data.Image{real}))).Float32s() })
			}); err != nil {
				t.Fatal(err)
			}
			plane, worst := size*size, 0.0
			for ch := range 3 {
				for p := range plane {
					q := math.Round((float64(want[ch*plane+p]) + 1) / 2 * 255)
					worst = max(worst, math.Abs(max(0, min(255, q))-float64(got.Pix[p*3+ch])))
				}
			}
			if worst > 1 {
				t.Errorf("%s is %s(%s(%s)) %g levels apart", f, c.back, c.g, c.real, worst)
			}
		}
		g.Free()
		back.Free()
	}
}

// TestImportNetFlags: --net ROLE=FILE names each network's .pth (CycleGAN
// has no "G"); malformed values and a missing generator are refused. A G_A
// saved as PyTorch 0.3 saved the reference's published models (legacy
// format, InstanceNorm running statistics) imports with a note, and
// translates.
func TestImportNetFlags(t *testing.T) {
	dir := t.TempDir()
	run := filepath.Join(dir, "run")
	base := []string{"import", "-c", "configs/cyclegan-fashion-mnist.yaml", "--out", run}
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "--net ROLE=FILE"},
		{[]string{"--net", "G_A"}, `--net "G_A": want ROLE=FILE`},
		{[]string{"--net", "G_C=x.pth"}, "recipe cyclegan has no network G_C"},
		// the model zoo's latest_net_G.pth given as a pix2pix generator
		{[]string{"--pth", "latest_net_G.pth"}, "has no network G (its networks: G_A, G_B, D_A, D_B): name the file's network with --net ROLE=FILE"},
		{[]string{"--net", "G_A=" + filepath.Join(run, "missing.pth")}, "missing.pth"},
	} {
		out, err := gogan(t, append(base, c.args...)...)
		if err == nil || !strings.Contains(out, c.want) {
			t.Errorf("import %v: %v\n%s", c.args, err, out)
		}
	}
	opts := filepath.Join(dir, "opts.json")
	os.WriteFile(opts, []byte(`{"Kind":"resnet_6blocks","InputNC":1,"OutputNC":1,"NGF":16,"Norm":"instance","Dropout":false,"PadType":"reflect","ImageSize":32}`), 0o644)
	x := filepath.Join(dir, "x.safetensors")
	zeros := torch.Zeros(torch.Float32, torch.CPUDevice, 1, 1, 32, 32)
	defer zeros.Free()
	if err := torch.SaveSafetensors(x, []torch.Named{{Name: "x", Tensor: zeros}}, nil); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(dir, "latest_net_G_A.pth")
	if msg, err := exec.Command(torchtest.Python(t), "scripts/interop_check.py", "save-old", opts, "1", old, x, filepath.Join(dir, "y")).CombinedOutput(); err != nil {
		t.Fatalf("interop_check.py save-old: %v\n%s", err, msg)
	}
	out, err := gogan(t, append(base, "--net", "G_A="+old)...)
	if err != nil || !strings.Contains(out, "note: "+old+" (G_A): dropped 34 running statistics of InstanceNorm layers") {
		t.Fatalf("import of a PyTorch 0.3 file: %v\n%s", err, out)
	}
	// G_B (translate --direction BtoA) and the discriminators had no file
	for _, role := range []string{"G_B", "D_A", "D_B"} {
		if !strings.Contains(out, "note: network "+role+" starts from its initial weights: no file was given for it") {
			t.Errorf("import of G_A alone: no note on %s\n%s", role, out)
		}
	}
	in := filepath.Join(dir, "in")
	os.MkdirAll(in, 0o755)
	writePNG(t, filepath.Join(in, "a.png"), image.NewGray(image.Rect(0, 0, 28, 28)))
	out, err = gogan(t, "translate", "--checkpoint", run, "--input", in, "--out", filepath.Join(dir, "out"), "--eval")
	if err != nil || strings.Contains(out, "initial random weights") {
		t.Fatalf("translate with the imported G_A: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "out", "a.png")); err != nil {
		t.Error(err)
	}
	// G_B was given no file: translating with it says so
	out, err = gogan(t, "translate", "--checkpoint", run, "--direction", "BtoA", "--input", in, "--out", filepath.Join(dir, "outB"), "--eval")
	if err != nil || !strings.Contains(out, "this network holds its initial random weights: gogan import was given no file for it (import --net G_B=FILE)") {
		t.Errorf("translate --direction BtoA with G_B never imported: %v\n%s", err, out)
	}
	// and exporting them says which files are not trained networks
	out, err = gogan(t, "export", "--checkpoint", run, "--out", filepath.Join(dir, "exported"))
	if err != nil || strings.Contains(out, "latest_net_G_A.pth is network") {
		t.Fatalf("export: %v\n%s", err, out)
	}
	for _, role := range []string{"G_B", "D_A", "D_B"} {
		if !strings.Contains(out, "latest_net_"+role+".pth is network "+role+"'s initial random weights") {
			t.Errorf("export: no note on %s\n%s", role, out)
		}
	}
}

// TestCycleGANPoolResizedOnResume: a run resumed with a larger
// train.pool_size keeps the fakes its pools held (a skipped copy left them
// zeros that the count called stored), and one resumed with a smaller one
// keeps as many as fit.
func TestCycleGANPoolResizedOnResume(t *testing.T) {
	run := filepath.Join(t.TempDir(), "run")
	mustTrain(t, smallCycleGAN(run, "train.max_steps=6", "train.pool_size=4")...)
	pool := func(step string) [][]float32 {
		ts, _, err := torch.LoadSafetensors(filepath.Join(run, "checkpoints", step, "weights.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		defer torch.FreeNamed(ts)
		for _, e := range ts {
			if e.Name == "pool.fake_A" {
				var rows [][]float32
				all, n := e.Tensor.Float32s(), int(e.Tensor.Shape()[0])
				for i := range n {
					rows = append(rows, all[i*len(all)/n:(i+1)*len(all)/n])
				}
				return rows
			}
		}
		t.Fatal("no pool.fake_A")
		return nil
	}
	if rows := pool("step-00000006"); len(rows) != 4 {
		t.Fatalf("pool of 4: %d rows", len(rows))
	}
	for _, c := range []struct {
		size, steps string
		rows        int
	}{{"6", "7", 6}, {"2", "8", 2}} {
		out, err := gogan(t, "resume", run, "--quiet", "--set", "train.pool_size="+c.size, "--set", "train.max_steps="+c.steps)
		if err != nil {
			t.Fatalf("resume with train.pool_size=%s: %v\n%s", c.size, err, out)
		}
		if strings.Contains(out, "starts empty") {
			t.Errorf("resume with train.pool_size=%s emptied the pools:\n%s", c.size, out)
		}
		// Each pool says once what it keeps, where it keeps less than it
		// held; it said, of every pool tensor, "these images".
		if n := strings.Count(out, "the pool keeps the first ones"); (c.size == "2") != (n == 2) || (c.size == "6" && n != 0) {
			t.Errorf("resume with train.pool_size=%s: %d lines saying a pool keeps its first images, want %d:\n%s", c.size, n, map[bool]int{true: 2}[c.size == "2"], out)
		}
		if strings.Contains(out, "these images") {
			t.Errorf("resume with train.pool_size=%s speaks of the pools' tensors:\n%s", c.size, out)
		}
		after := pool("step-0000000" + c.steps)
		if len(after) != c.rows {
			t.Fatalf("pool_size %s: %d rows", c.size, len(after))
		}
		for i, r := range after {
			zero := true
			for _, v := range r {
				zero = zero && v == 0
			}
			if zero {
				t.Errorf("pool_size %s: stored fake %d is all zeros", c.size, i)
			}
		}
	}
	// Another image size: the checkpoint's fakes do not fit, and the pools
	// start empty (they were kept full of zeros), saying so.
	out, err := gogan(t, "resume", run, "--quiet", "--set", "data.load_size=24", "--set", "data.crop_size=24", "--set", "train.max_steps=9")
	if err != nil {
		t.Fatalf("resume with another crop size: %v\n%s", err, out)
	}
	if n := strings.Count(out, "the pool starts empty"); n != 2 {
		t.Errorf("resume with another crop size: %d lines saying a pool starts empty, want 2 (A's, B's):\n%s", n, out)
	}
	// The grid's inputs are drawn anew, and said so; the pools are no
	// sample inputs, nor did they keep their first images.
	if strings.Contains(out, "tensor=pool.") || strings.Contains(out, "first ones are kept") {
		t.Errorf("resume with another crop size names the pools as sample inputs, or as kept:\n%s", out)
	}
	if !strings.Contains(out, "sample inputs have another shape; new ones are used\" tensor=fixed_A") {
		t.Errorf("resume with another crop size does not say that the grid's inputs are new:\n%s", out)
	}
	st := strings.Join(strings.Fields(string(readFile(t, filepath.Join(run, "checkpoints", "step-00000009", "state.json")))), "")
	if !strings.Contains(st, `"pool_A":2,`) {
		t.Errorf("after one step (4 fakes) into empty pools of 2, state.json: %s", st)
	}
}

// TestCycleGANEvalClasses walks the evaluation of a CycleGAN between two
// Fashion-MNIST classes as a user does: train, train the classifier, and
// gogan eval classes, which scores both generators unless --direction picks
// one.
func TestCycleGANEvalClasses(t *testing.T) {
	base := t.TempDir()
	run := filepath.Join(base, "run")
	mustTrain(t, smallCycleGAN(run, "train.max_steps=2")...)
	clf := filepath.Join(base, "clf.safetensors")
	if out, err := gogan(t, "eval", "classifier", "--out", clf, "--max-samples", "640", "--epochs", "1", "--batch-size", "64",
		"--test-limit", "200", "--device", "cpu", "--threads", "2", "--quiet"); err != nil {
		t.Fatalf("eval classifier: %v\n%s", err, out)
	}
	eval := func(extra ...string) (string, error) {
		return gogan(t, append([]string{"eval", "classes", "--classifier", clf, "--checkpoint", run, "--device", "cpu", "--threads", "2"}, extra...)...)
	}
	out, err := eval()
	if err != nil {
		t.Fatalf("eval classes: %v\n%s", err, out)
	}
	for _, want := range []string{"AtoB (G_A): sneaker -> ankle-boot", "G_A(source test images)", "BtoA (G_B): ankle-boot -> sneaker", "G_B(source test images)"} {
		if !strings.Contains(out, want) {
			t.Errorf("eval classes without --direction does not say %q:\n%s", want, out)
		}
	}
	if out, err := eval("--direction", "BtoA"); err != nil || strings.Contains(out, "G_A(") || !strings.Contains(out, "G_B(source test images)") {
		t.Errorf("eval classes --direction BtoA: %v\n%s", err, out)
	}
	if strings.Contains(out, "trained on other images") || strings.Contains(out, "does not record") || strings.Contains(out, "training images") {
		t.Errorf("eval classes with a classifier of the run's own data, on held-out images, warns:\n%s", out)
	}
	// a run trained on the test split, with a classifier of other images:
	// both said, naming them and the run's
	onTest := filepath.Join(base, "on-test")
	mustTrain(t, smallCycleGAN(onTest, "train.max_steps=1", "data.phase=test")...)
	other, otherClf := filepath.Join(base, "other"), filepath.Join(base, "other.safetensors")
	writeIDXRoot(t, other, 100)
	if out, err := gogan(t, "eval", "classifier", "--out", otherClf, "--data-root", other, "--max-steps", "2", "--batch-size", "32",
		"--device", "cpu", "--threads", "2", "--quiet"); err != nil {
		t.Fatalf("eval classifier: %v\n%s", err, out)
	}
	out, err = gogan(t, "eval", "classes", "--classifier", otherClf, "--checkpoint", onTest, "--direction", "AtoB", "--device", "cpu", "--threads", "2")
	if err != nil || !strings.Contains(out, "classifier "+otherClf+" was trained on other images than those evaluated: on "+other) ||
		!strings.Contains(out, "not on the fashion-mnist images under "+data.DefaultFashionRoot+" (data.root of checkpoint "+onTest) {
		t.Errorf("eval classes with a classifier of other images: %v\n%s", err, out)
	}
	if !strings.Contains(out, "eval classes: checkpoint "+onTest) ||
		!strings.Contains(out, "trained on the test images it translates here (data.root "+data.DefaultFashionRoot+", data.phase test, the first 64: data.max_samples): these figures are on its training images, not held-out ones") {
		t.Errorf("eval classes on a run trained on the test split does not say so:\n%s", out)
	}
	if out, err := gogan(t, "eval", "classes", "--checkpoint", run); err == nil || !strings.Contains(out, "make one with gogan eval classifier --out FILE") {
		t.Errorf("eval classes without --classifier: %v\n%s", err, out)
	}
	if out, err := eval("--direction", "sideways"); err == nil || !strings.Contains(out, "--direction sideways: want AtoB, BtoA, both") || strings.Contains(out, "needs a CycleGAN") {
		t.Errorf("eval classes --direction sideways: %v\n%s", err, out)
	}
}
