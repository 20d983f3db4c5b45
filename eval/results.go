package eval

import (
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"net/url"
	"os"
	"path"
	"path/filepath"

	"gogan/data"
	"gogan/report"
	"gogan/runfolder"
)

// resultsPage is gogan eval pix2pix --out: every pair's input, output (one
// per generator mode) and target as PNGs under images/, named as the
// reference's test.py names them (<name>_real_A.png, _fake_B.png,
// _real_B.png; with both modes _fake_B_train.png and _fake_B_eval.png;
// pix2pixHD's _input_label.png, _synthesized_image.png, _real_image.png), and
// an index.html showing them side by side with each output's scores, which
// test.py's page does not have. A CycleGAN's two generators share a row per
// pair as on test.py's page (cycle_gan_model's visual_names): real_A,
// fake_B, rec_A, real_B, fake_A, rec_B, each rec scored against the real
// image it reconstructs. It is written into a temporary folder beside the
// destination and renamed into place whole.
type resultsPage struct {
	dir, tmp string
	tmpDir   *runfolder.TempDir // tmp, locked while this evaluation writes it
	made     []string           // the parents it made for dir, outermost first
	rows     []*resultRow
	byPair   map[int]*resultRow
	stems    map[string]int // file stems taken, by pair
	gens     [][4]string    // each generator's visuals' names: input, output, target, reconstruction (or "")
	modes    []string       // the generator modes written, in order
	// suffixed: the outputs' names end in their mode (_fake_B_train,
	// _fake_B_eval) because both modes are written; one mode keeps
	// test.py's own names.
	suffixed bool
}

type resultRow struct {
	Name  string
	cells map[string]*resultCell // by visual (an output's with its mode suffix)
	Cells []*resultCell          // in the page's columns' order (nil: none), made by finish
}

// resultCell is one image of a pair: its path relative to the page, its
// visual's name, its size on the page, and an output's scores.
type resultCell struct {
	Path, Visual  string
	Width, Height int
	Scores        *resultScores
}

// newCell is the cell of an image written at path: a small one (Fashion-
// MNIST's 32 pixels) is shown scaled up by a whole factor, as the report
// shows its grids.
func newCell(path, visual string, im *data.Image, scores *resultScores) *resultCell {
	scale := max(1, 128/max(im.W, im.H, 1))
	return &resultCell{Path: path, Visual: visual, Width: im.W * scale, Height: im.H * scale, Scores: scores}
}

type resultScores struct {
	L1, PSNR, SSIM float64
}

// resultColumn is a column of the pairs' table: its title and the visual
// (the key of resultRow.cells) it shows.
type resultColumn struct {
	Title, key string
}

// visualNames are the reference's names of tr's input, output, target and,
// for a CycleGAN's generator (cycle), the reconstruction of the input by
// the other one: the translation's own (pix2pixHD's), the colorization
// model's, or cycle_gan's for G_B (B to A), else pix2pix's (G_A's are
// cycle_gan's too).
func visualNames(own [3]string, lab, fromB, cycle bool) [4]string {
	var v [4]string
	switch {
	case own[0] != "":
		v = [4]string{own[0], own[1], own[2]}
	case lab:
		v = [4]string{"real_A", "fake_B_rgb", "real_B_rgb"}
	case fromB:
		v = [4]string{"real_B", "fake_A", "real_A", "rec_B"}
	default:
		v = [4]string{"real_A", "fake_B", "real_B", "rec_A"}
	}
	if !cycle {
		v[3] = ""
	}
	return v
}

// newResultsPage starts a results folder at dir, which must not hold
// files: an evaluation does not write over another's. gens are the visuals'
// names (visualNames) of each generator scored, in order; modes the
// generator modes each writes.
func newResultsPage(dir string, gens [][4]string, modes []string) (*resultsPage, error) {
	if _, err := runfolder.NearestFolder(dir, dir); err != nil {
		return nil, fmt.Errorf("eval pix2pix: --out %w", err)
	}
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return nil, fmt.Errorf("eval pix2pix: --out %s holds files already: give a new folder (results are written whole, nothing is replaced)", dir)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("eval pix2pix: --out: %w", err)
	}
	if target, err := filepath.EvalSymlinks(dir); err == nil {
		dir = target // a link to an empty folder: the results go there
	}
	parent := filepath.Dir(filepath.Clean(dir))
	made := runfolder.MissingDirs(parent)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("eval pix2pix: --out: %w", err)
	}
	// The temp folders of evaluations of this --out killed midway: the
	// folder is no run's, which a resume would clean.
	for _, d := range runfolder.RemoveStaleTempDirsOf(dir, runfolder.ProcessStart) {
		slog.Info("removed the temp folder of an evaluation that was cut short", "folder", d)
	}
	td, err := runfolder.MakeTempDir(dir)
	if err != nil {
		runfolder.RemoveEmptyDirs(made)
		return nil, fmt.Errorf("eval pix2pix: --out: %w", err)
	}
	err = os.Mkdir(filepath.Join(td.Path, "images"), 0o755)
	p := &resultsPage{dir: dir, tmp: td.Path, tmpDir: td, made: made, byPair: map[int]*resultRow{}, stems: map[string]int{},
		gens: gens, modes: modes, suffixed: len(modes) > 1}
	if err != nil {
		p.abort()
		return nil, fmt.Errorf("eval pix2pix: --out: %w", err)
	}
	return p, nil
}

// pairImages are a pair's pictures from one generator in one mode: the
// input as shown, the output scored and the target, and for a CycleGAN's
// generator the reconstruction of the input (rec: the other generator on
// the output), with the output's scores against the target and rec's
// against the input.
type pairImages struct {
	in, fake, target, rec *data.Image
	fakeScores, recScores resultScores
}

// add records pair i's images from generator gen (an index of the page's
// gens) in one generator mode. name is the pair's file (or "" for a
// dataset without files). An input or target another generator already
// showed for the pair (CycleGAN's real_B, G_A's target and G_B's input) is
// not written again.
func (p *resultsPage) add(gen, i int, name, mode string, im pairImages) error {
	row := p.byPair[i]
	if row == nil {
		stem := fmt.Sprintf("pair%05d", i)
		if name != "" {
			stem = name[:len(name)-len(filepath.Ext(name))]
		}
		if j, taken := p.stems[stem]; taken && j != i {
			stem = fmt.Sprintf("%s_%05d", stem, i)
		}
		p.stems[stem] = i
		row = &resultRow{Name: stem, cells: map[string]*resultCell{}}
		p.byPair[i] = row
		p.rows = append(p.rows, row)
	}
	v := p.gens[gen]
	for _, real := range []struct {
		visual string
		im     *data.Image
	}{{v[0], im.in}, {v[2], im.target}} {
		if row.cells[real.visual] != nil {
			continue
		}
		c := newCell(p.path(row.Name, real.visual), real.visual, real.im, nil)
		if err := p.write(c.Path, real.im); err != nil {
			return err
		}
		row.cells[real.visual] = c
	}
	for _, out := range []struct {
		visual string
		im     *data.Image
		scores resultScores
	}{{v[1], im.fake, im.fakeScores}, {v[3], im.rec, im.recScores}} {
		if out.visual == "" {
			continue
		}
		label := p.fakeVisual(out.visual, mode)
		c := newCell(p.path(row.Name, label), label, out.im, &out.scores)
		row.cells[label] = c
		if err := p.write(c.Path, out.im); err != nil {
			return err
		}
	}
	return nil
}

// fakeVisual is an output's file label: test.py's name, with the mode
// when both modes are written.
func (p *resultsPage) fakeVisual(visual, mode string) string {
	if p.suffixed {
		return visual + "_" + mode
	}
	return visual
}

// columns are the pairs' table's columns: each generator's input, its
// outputs and its reconstructions (a column per mode), then the targets
// not shown yet, so that a CycleGAN's row reads real_A, fake_B, rec_A,
// real_B, fake_A, rec_B as test.py's page.
func (p *resultsPage) columns() []resultColumn {
	var cols []resultColumn
	shown := map[string]bool{}
	real := func(v string) {
		if !shown[v] {
			shown[v] = true
			cols = append(cols, resultColumn{Title: v, key: v})
		}
	}
	for _, v := range p.gens {
		real(v[0])
		for _, out := range []string{v[1], v[3]} {
			for _, m := range p.modes {
				if out != "" {
					cols = append(cols, resultColumn{Title: out + " (" + m + " mode)", key: p.fakeVisual(out, m)})
				}
			}
		}
	}
	for _, v := range p.gens {
		real(v[2])
	}
	return cols
}

func (p *resultsPage) path(stem, label string) string {
	return "images/" + stem + "_" + label + ".png"
}

// src is a page-relative path as a URL: a file name may hold #, ? or %.
func src(rel string) string {
	dir, file := path.Split(rel)
	return dir + url.PathEscape(file)
}

func (p *resultsPage) write(rel string, im *data.Image) error {
	if err := report.SavePNG(filepath.Join(p.tmp, filepath.FromSlash(rel)), im.NRGBA()); err != nil {
		return fmt.Errorf("eval pix2pix: --out: %w", err)
	}
	return nil
}

// finish writes index.html and puts the folder in place.
func (p *resultsPage) finish(res *Pix2PixEval) error {
	cols := p.columns()
	for _, r := range p.rows {
		r.Cells = make([]*resultCell, len(cols))
		for j, c := range cols {
			r.Cells[j] = r.cells[c.key]
		}
	}
	d := struct {
		*Pix2PixEval
		Columns []resultColumn
		Rows    []*resultRow
	}{res, cols, p.rows}
	if err := runfolder.AtomicWriteFile(filepath.Join(p.tmp, "index.html"), func(w io.Writer) error {
		return resultsTemplate.Execute(w, d)
	}); err != nil {
		return fmt.Errorf("eval pix2pix: --out: %w", err)
	}
	os.Remove(p.dir) // an empty folder given as --out
	// rename(2) refuses a folder that holds files: one that another
	// process put there since the start (two evals of one --out) is kept.
	if err := os.Rename(p.tmp, p.dir); errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("eval pix2pix: --out %s was made by another process while this evaluation ran (another eval with that --out?): its files are kept and this evaluation's are not written; give a new folder", p.dir)
	} else if err != nil {
		return fmt.Errorf("eval pix2pix: --out: %w", err)
	}
	p.tmp = ""
	p.tmpDir.Release()
	return nil
}

// abort removes what an evaluation that failed had written, and the
// parents it made that are still empty.
func (p *resultsPage) abort() {
	if p == nil || p.tmp == "" {
		return
	}
	os.RemoveAll(p.tmp)
	p.tmpDir.Release()
	runfolder.RemoveEmptyDirs(p.made)
}

// image8 is image j of a [-1, 1] batch as 8-bit pixels, rounded as the
// scores take them (torchvision's save_image rounds the same way).
func image8(im report.Images, j int) *data.Image {
	c, h, w := im.C, im.H, im.W
	plane := h * w
	o := im.Data[j*c*plane : (j+1)*c*plane]
	out := data.NewImage(w, h, c)
	for ch := 0; ch < c; ch++ {
		for p := 0; p < plane; p++ {
			q := math.Round((float64(o[ch*plane+p]) + 1) / 2 * 255)
			out.Pix[p*c+ch] = uint8(max(0, min(255, q)))
		}
	}
	return out
}

var resultsTemplate = template.Must(template.New("results").Funcs(template.FuncMap{"src": src}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>gogan eval pix2pix: {{.Checkpoint}}</title>
<style>
body { font-family: sans-serif; margin: 1em; }
h1, p { overflow-wrap: anywhere; } /* a long checkpoint path breaks rather than widening the page */
.scroll { overflow-x: auto; } /* a table wider than the screen scrolls in its place */
table { border-collapse: collapse; }
td, th { padding: 4px 8px; text-align: center; vertical-align: top; border-bottom: 1px solid #ddd; }
img { image-rendering: pixelated; max-width: 256px; height: auto; }
.s { font-size: 0.85em; color: #444; }
.warning { color: #a40; }
</style></head><body>
<h1>gogan eval pix2pix</h1>
<p>checkpoint {{.Checkpoint}}<br>data: {{.Data}}</p>
{{range .Warnings}}<p class="warning">warning: {{.}}</p>
{{end}}{{range .Generators}}{{if .Heading}}<h2>{{.Heading}}</h2>
{{end}}<div class="scroll"><table>
<tr><th>G mode</th><th>pairs</th><th>L1</th><th>PSNR dB</th><th>SSIM</th></tr>
{{range .Scores}}<tr><td>{{.Mode}}</td><td>{{.N}}</td><td>{{printf "%.4f" .L1}}</td><td>{{printf "%.3f" .PSNR}}</td><td>{{printf "%.4f" .SSIM}}</td></tr>
{{end}}</table></div>
{{end}}<h2>Pairs</h2>
<div class="scroll"><table>
<tr><th>name</th>{{range .Columns}}<th>{{.Title}}</th>{{end}}</tr>
{{range .Rows}}<tr><td>{{.Name}}</td>{{range .Cells}}<td>{{with .}}<img src="{{src .Path}}" width="{{.Width}}" height="{{.Height}}" alt="{{.Visual}}">{{with .Scores}}<div class="s">L1 {{printf "%.4f" .L1}} · PSNR {{printf "%.2f" .PSNR}} · SSIM {{printf "%.4f" .SSIM}}</div>{{end}}{{end}}</td>{{end}}</tr>
{{end}}</table></div>
</body></html>
`))
