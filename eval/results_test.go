package eval

import (
	"context"
	"fmt"
	"image"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gogan/data"
	"gogan/report"
)

// TestResultsPageFolder: file names that are not URL-safe still link, the
// folder is world-readable as a folder made by mkdir, a link to an empty
// folder gets the results in its target, and an abandoned page removes its
// temporary folder and the parents it made.
func TestResultsPageFolder(t *testing.T) {
	base := t.TempDir()
	im := data.NewImage(4, 4, 3)
	dir := filepath.Join(base, "new", "res")
	p, err := newResultsPage(dir, [][4]string{visualNames([3]string{}, false, false, false)}, []string{"eval"})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.add(0, 0, "a#1?%41.jpg", "eval", pairImages{in: im, fake: im, target: im, fakeScores: resultScores{0.5, 10, 0.1}}); err != nil {
		t.Fatal(err)
	}
	if err := p.finish(&Pix2PixEval{Checkpoint: "ck", Generators: []Pix2PixGenerator{{Scores: []Pix2PixScores{{Mode: "eval", N: 1}}}}}); err != nil {
		t.Fatal(err)
	}
	page, _ := os.ReadFile(filepath.Join(dir, "index.html"))
	if !strings.Contains(string(page), `src="images/a%231%3F%2541_real_A.png"`) {
		t.Errorf("index.html does not link a#1?%%41_real_A.png as a URL:\n%s", page)
	}
	// one mode: test.py's own name
	if _, err := os.Stat(filepath.Join(dir, "images", "a#1?%41_fake_B.png")); err != nil {
		t.Error(err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("results folder mode %v (%v), want 0755", fi.Mode(), err)
	}

	target, link := filepath.Join(base, "target"), filepath.Join(base, "link")
	os.Mkdir(target, 0o755)
	os.Symlink(target, link)
	if p, err = newResultsPage(link, [][4]string{visualNames([3]string{}, false, true, false)}, []string{"train", "eval"}); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"train", "eval"} {
		if err := p.add(0, 0, "b.png", mode, pairImages{in: im, fake: im, target: im, fakeScores: resultScores{0.5, 10, 0.1}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.finish(&Pix2PixEval{}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("--out link replaced: %v %v", fi, err)
	}
	if _, err := os.Stat(filepath.Join(target, "index.html")); err != nil {
		t.Errorf("results not in the link's target: %v", err)
	}
	// both modes of CycleGAN's G_B: each output named with its mode
	for _, f := range []string{"b_real_B.png", "b_fake_A_train.png", "b_fake_A_eval.png", "b_real_A.png"} {
		if _, err := os.Stat(filepath.Join(target, "images", f)); err != nil {
			t.Error(err)
		}
	}

	if p, err = newResultsPage(filepath.Join(base, "p", "q", "res"), [][4]string{visualNames([3]string{}, false, false, false)}, []string{"eval"}); err != nil {
		t.Fatal(err)
	}
	p.abort()
	if _, err := os.Stat(filepath.Join(base, "p")); !os.IsNotExist(err) {
		t.Errorf("an abandoned page left %s (%v)", filepath.Join(base, "p"), err)
	}
}

// TestCycleGANRecsLeaveTheScores: the results page's rec images run the
// other generator between pairs, whose dropout (model.no_dropout=false,
// train mode) must not move the draws of the generator scored: the scores
// with --out are those without.
func TestCycleGANRecsLeaveTheScores(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "test"), 0o755)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 4 {
		im := image.NewNRGBA(image.Rect(0, 0, 64, 32))
		for j := range im.Pix {
			im.Pix[j] = uint8(rng.IntN(256))
		}
		if err := report.SavePNG(filepath.Join(root, "test", fmt.Sprintf("%d.png", i)), im); err != nil {
			t.Fatal(err)
		}
	}
	cg := evalCheckpoint(t, "recipe=cyclegan", "data.dataset=unaligned", "data.root="+root, "model.no_dropout=false",
		"model.netG=resnet_6blocks", "model.ngf=8", "model.ndf=8", "data.load_size=32", "data.crop_size=32")
	o := Pix2PixEvalOptions{Checkpoint: cg, Mode: "train", Device: "cpu", Threads: 1}
	alone, err := EvalPix2Pix(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	o.Out = filepath.Join(t.TempDir(), "res")
	paged, err := EvalPix2Pix(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if recs, _ := filepath.Glob(filepath.Join(o.Out, "images", "*_rec_?.png")); len(recs) != 8 {
		t.Errorf("%d rec images, want 8", len(recs))
	}
	if !reflect.DeepEqual(alone.Generators, paged.Generators) {
		t.Errorf("scores without --out %+v, with %+v", alone.Generators, paged.Generators)
	}
}
