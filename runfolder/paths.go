package runfolder

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// Within says whether path is dir or lies inside it, comparing the two
// made absolute with their symbolic links resolved (as far as they exist:
// an output folder may not yet).
func Within(path, dir string) bool {
	p, d := realPath(path), realPath(dir)
	sep := string(filepath.Separator)
	return p == d || strings.HasPrefix(p, strings.TrimSuffix(d, sep)+sep)
}

// realPath is path made absolute with its symbolic links resolved, as far
// as it exists (an output folder may not yet).
func realPath(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return filepath.Clean(path)
	}
	rest := ""
	for p := abs; ; p = filepath.Dir(p) {
		if r, err := filepath.EvalSymlinks(p); err == nil || !errors.Is(err, os.ErrNotExist) {
			if err != nil {
				return abs
			}
			return filepath.Join(r, rest)
		}
		if filepath.Dir(p) == p {
			return abs
		}
		rest = filepath.Join(filepath.Base(p), rest)
	}
}
