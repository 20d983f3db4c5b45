package infer

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"syscall"

	torch "gogan/cgo"
	"gogan/report"
	"gogan/runfolder"
)

// outputPaths names translate's output of each input: OUT/<base name>.png.
// It refuses what would lose a file or feed outputs back in: two inputs
// with one output name (a.jpg and a.png, or sub/x/a.jpg and sub/y/a.jpg),
// and an output folder that is, or lies inside, one of the folders read
// (folders: flag -> folder), where the PNGs would replace inputs or be read
// as inputs by the next translate, and an output that is its input (x.png
// translated into its own folder) or a file folders names (the one --input
// file's --instances or --photos file, of the same name in another folder).
func outputPaths(out string, inputs []string, folders map[string]string) ([]string, error) {
	for flag, dir := range folders {
		if dir != "" && runfolder.Within(out, dir) {
			return nil, fmt.Errorf("--out %s is inside %s %s: the PNGs would replace its images or be read as inputs next time; write them into a folder outside it", out, flag, dir)
		}
	}
	paths := make([]string, len(inputs))
	from := map[string]string{}
	for i, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), filepath.Ext(in)) + ".png"
		if prev, ok := from[name]; ok {
			return nil, fmt.Errorf("%s and %s would both be written as %s: rename one of them, or translate them in separate runs",
				prev, in, filepath.Join(out, name))
		}
		from[name] = in
		paths[i] = filepath.Join(out, name)
		// beside an input is fine (x.jpg -> x.png), over it is not
		if absPath(paths[i]) == absPath(in) {
			return nil, fmt.Errorf("--out %s would write the translation of %s over it: give another folder", out, in)
		}
		for flag, f := range folders {
			if f != "" && absPath(paths[i]) == absPath(f) {
				return nil, fmt.Errorf("--out %s would write the translation of %s over %s %s: give another folder", out, in, flag, f)
			}
		}
	}
	return paths, nil
}

// removeStaleTemps removes the temps that writes of outs cut short (a
// translate or sample killed mid-file) left in their folders, which no
// resume cleans as it cleans a run folder's.
func removeStaleTemps(outs []string) {
	runfolder.LogRemovedTemps(runfolder.RemoveStaleTempsOf(outs, runfolder.ProcessStart))
}

// Stopped is the error of a translation o.Stop stopped: after Done of
// Total inputs (the files written are writeTranslations' count).
type Stopped struct{ Done, Total int }

func (e *Stopped) Error() string {
	return fmt.Sprintf("stopped after %d of %d inputs", e.Done, e.Total)
}

// writeTranslations runs each input through load (decode and resize) and
// forward (the generator, in a scope of its own), and writes the result to
// its output path (outputPaths) as png says. With o.SkipInvalid, an input
// load refuses is left out with a warning; otherwise the error says which
// flag skips it. o.Stop ends it between inputs. It returns how many were
// written.
func writeTranslations[T any](inputs, outs []string, o TranslateOptions, png report.GridOptions, load func(i int) (T, error), forward func(T) report.Images) (int, error) {
	removeStaleTemps(outs)
	if o.Seeded { // the nets loaded: the masks are the passes' draws alone
		torch.ManualSeed(o.Seed)
	}
	done := 0
	for i, path := range inputs {
		select {
		case <-o.Stop:
			return done, &Stopped{Done: i, Total: len(inputs)}
		default:
		}
		x, err := load(i)
		if err != nil && o.SkipInvalid {
			slog.Warn("translate: skipping an invalid input (--skip-invalid)", "input", path, "err", err.Error())
			continue
		}
		if err != nil {
			return done, failedAfter(fmt.Errorf("%w (translate --skip-invalid skips such inputs)", err), i, len(inputs), done, o.Out)
		}
		var im report.Images
		err = torch.Try(func() {
			s := torch.NewScope()
			defer s.Close()
			torch.NoGrad(func() { im = forward(x) })
		})
		if err != nil {
			return done, failedAfter(fmt.Errorf("%s: %w", path, err), i, len(inputs), done, o.Out)
		}
		grid, err := report.MakeGrid(im, png)
		if err != nil {
			return done, failedAfter(err, i, len(inputs), done, o.Out)
		}
		if err := report.SavePNG(outs[i], grid); err != nil {
			return done, failedAfter(err, i, len(inputs), done, o.Out)
		}
		done++
	}
	return done, nil
}

// failedAfter is err, which stopped a translation at input i of total
// after written files, with where those files are and how to go on, as a
// stop by a signal says it: a big folder that fails midway (a full disk,
// an unreadable input) would otherwise leave the user to count the files.
func failedAfter(err error, i, total, written int, out string) error {
	full := errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
	where := fmt.Sprintf("after %d of %d inputs: the %d translations written are in %s, each whole", i, total, written, out)
	switch {
	case full && written == 0:
		return fmt.Errorf("%w\nthe disk of %s is full: nothing was written; free space, or give an --out on another disk, then run the same command again", err, out)
	case full:
		return fmt.Errorf("%w\nthe disk of %s is full %s; free space, or give an --out on another disk, then run the same command again (it writes them all)", err, out, where)
	case written == 0:
		return err
	}
	return fmt.Errorf("%w\nstopped %s; the same command again writes them all", err, where)
}
