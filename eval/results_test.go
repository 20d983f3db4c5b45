package eval

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gogan/data"
)

// TestResultsPageFolder: file names that are not URL-safe still link, the
// folder is world-readable as a folder made by mkdir, a link to an empty
// folder gets the results in its target, and an abandoned page removes its
// temporary folder and the parents it made.
func TestResultsPageFolder(t *testing.T) {
	base := t.TempDir()
	im := data.NewImage(4, 4, 3)
	dir := filepath.Join(base, "new", "res")
	p, err := newResultsPage(dir, [][3]string{visualNames(false, false)}, []string{"eval"})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.add(0, 0, "a#1?%41.jpg", "eval", im, im, im, 0.5, 10, 0.1); err != nil {
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
	if p, err = newResultsPage(link, [][3]string{visualNames(false, true)}, []string{"train", "eval"}); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"train", "eval"} {
		if err := p.add(0, 0, "b.png", mode, im, im, im, 0.5, 10, 0.1); err != nil {
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

	if p, err = newResultsPage(filepath.Join(base, "p", "q", "res"), [][3]string{visualNames(false, false)}, []string{"eval"}); err != nil {
		t.Fatal(err)
	}
	p.abort()
	if _, err := os.Stat(filepath.Join(base, "p")); !os.IsNotExist(err) {
		t.Errorf("an abandoned page left %s (%v)", filepath.Join(base, "p"), err)
	}
}
