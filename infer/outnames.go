package infer

import (
	"fmt"
	"path/filepath"
	"strings"

	"gogan/runfolder"
)

// outputPaths names translate's output of each input: OUT/<base name>.png.
// It refuses what would lose a file or feed outputs back in: two inputs
// with one output name (a.jpg and a.png, or sub/x/a.jpg and sub/y/a.jpg),
// and an output folder that is, or lies inside, one of the folders read
// (folders: flag -> folder), where the PNGs would replace inputs or be read
// as inputs by the next translate.
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
	}
	return paths, nil
}
