package data

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// FileError is what is wrong with one input file.
type FileError struct {
	Path string
	Err  error
}

func (e *FileError) Error() string { return "data: " + e.Path + ": " + e.Err.Error() }
func (e *FileError) Unwrap() error { return e.Err }

func fileErr(path string, format string, args ...any) *FileError {
	return &FileError{Path: path, Err: fmt.Errorf(format, args...)}
}

// LimitError is a file that could not be opened because the process (or
// the system) has as many files open as it may (EMFILE, ENFILE): nothing is
// wrong with the file, so it is not an invalid one, data.skip_invalid does
// not skip it (a good file would be left out of the training data), and the
// message says which limit to raise.
type LimitError struct {
	Path string
	Err  error // the open's error, naming the file
}

func (e *LimitError) Error() string {
	msg := "data: " + e.Path + ": " + e.Err.Error() + ": "
	if errors.Is(e.Err, syscall.ENFILE) {
		return msg + "the system's table of open files is full (sysctl fs.file-max), not a fault of the file: close other programs' files or raise fs.file-max, or lower data.workers"
	}
	var lim syscall.Rlimit
	have := ""
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil {
		have = fmt.Sprintf(" (ulimit -n: %d)", lim.Cur)
	}
	return msg + "this process has as many files open as its limit allows" + have + ", not a fault of the file: raise the limit (ulimit -n 4096) or lower data.workers"
}

// Unwrap gives the errno alone: a LimitError is no FileError.
func (e *LimitError) Unwrap() error {
	for _, errno := range []error{syscall.EMFILE, syscall.ENFILE} {
		if errors.Is(e.Err, errno) {
			return errno
		}
	}
	return nil
}

// asLimit is err as a LimitError when it is the open-file limit's, else nil.
func asLimit(path string, err error) *LimitError {
	if err == nil || !errors.Is(err, syscall.EMFILE) && !errors.Is(err, syscall.ENFILE) {
		return nil
	}
	var fe *FileError
	if errors.As(err, &fe) {
		path, err = fe.Path, fe.Err
	}
	return &LimitError{Path: path, Err: err}
}

// InvalidFilesError lists every invalid file found while a dataset was
// validated, so that a user fixes them all in one go rather than one per run.
type InvalidFilesError struct {
	Root  string
	Files []*FileError
	// SkipWith is the setting that skips them, for the message: "" is
	// data.skip_invalid (training); a command sets its own flag
	// (Config.SkipFlag), or NoSkip.
	SkipWith string
	// None says that no sample is valid (of A or of B): skipping the files
	// would leave nothing to read, so the message does not offer it.
	None bool
	// Trained is the data config's (the checkpoint whose generator the
	// files feed): the way out of a crop too large is then other images.
	Trained string
}

// NoSkip is InvalidFilesError.SkipWith of a command that reads every file
// (gogan eval pix2pix, gogan features): the message says to fix them.
const NoSkip = "-"

func (e *InvalidFilesError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "data: %s: %s", e.Root, Count(len(e.Files), "invalid file"))
	if e.None && e.SkipWith != NoSkip {
		b.WriteString(", and no valid one (skipping them would leave nothing to read: change what each names, or the data):")
	} else if e.SkipWith == NoSkip {
		b.WriteString(" (fix or remove them):")
	} else {
		fmt.Fprintf(&b, " (set %s to skip them):", cmp.Or(e.SkipWith, "data.skip_invalid"))
	}
	var crop *CropError
	fits := 0
	for _, f := range e.Files {
		if ce, ok := f.Err.(*CropError); ok && (crop == nil || ce.fits() < fits) {
			crop, fits = ce, ce.fits()
		}
	}
	listed := e.Files
	if len(listed) > maxListed+2 { // the rest in fewer lines than their own
		listed = listed[:maxListed]
	}
	for _, f := range listed {
		b.WriteString("\n  ")
		b.WriteString(f.Path)
		b.WriteString(": ")
		b.WriteString(f.Err.Error())
	}
	writeRest(&b, e.Files[len(listed):])
	if crop != nil { // said once, for the smallest image
		b.WriteString("\n")
		b.WriteString(cropFix(crop, fits, e.Trained))
	}
	return b.String()
}

// maxListed is how many invalid files the message names one by one: a
// crop too large for a whole dataset made it a line per file (400 for
// facades), burying the advice; the rest are counted by reason. Files
// keeps every one, and data.skip_invalid's warning names each.
const maxListed = 10

// writeRest counts the invalid files not listed by reason, the most
// common first: "and 390 more files, each: REASON", or a line per reason.
// A reason that names its own file (a ._NAME's image) is grouped with
// those that differ in that name alone, shown as the first one's.
func writeRest(b *strings.Builder, rest []*FileError) {
	if len(rest) == 0 {
		return
	}
	type group struct {
		n      int
		first  *FileError
		reason string
		same   bool // every file's reason reads as first's
	}
	var groups []*group
	byKey := map[string]*group{}
	for _, f := range rest {
		reason := f.Err.Error()
		key := reason
		if base := filepath.Base(f.Path); len(base) > 2 {
			key = strings.ReplaceAll(key, f.Path, "\x00")
			key = strings.ReplaceAll(key, strings.TrimPrefix(base, "._"), "\x01")
		}
		g := byKey[key]
		if g == nil {
			g = &group{first: f, reason: reason, same: true}
			byKey[key] = g
			groups = append(groups, g)
		}
		g.n++
		g.same = g.same && reason == g.reason
	}
	slices.SortStableFunc(groups, func(x, y *group) int { return y.n - x.n })
	// what follows "N files"
	say := func(g *group) string {
		if g.same {
			return ": " + g.reason
		}
		return " like " + g.first.Path + ": " + g.reason
	}
	fmt.Fprintf(b, "\n  and %s", Count(len(rest), "more file"))
	if len(groups) == 1 {
		if len(rest) > 1 && groups[0].same {
			b.WriteString(", each")
		}
		b.WriteString(say(groups[0]))
		return
	}
	b.WriteString(":")
	shown := groups[:min(len(groups), maxListed)]
	for _, g := range shown {
		fmt.Fprintf(b, "\n    %s%s", Count(g.n, "file"), say(g))
	}
	if others := groups[len(shown):]; len(others) > 0 {
		n := 0
		for _, g := range others {
			n += g.n
		}
		fmt.Fprintf(b, "\n    %s of %d other reasons", Count(n, "file"), len(others))
	}
}

// Count is n of noun, in the plural but for one: "1 file", "400 files".
func Count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// Unwrap gives errors.Is and errors.As access to each file's error.
func (e *InvalidFilesError) Unwrap() []error {
	errs := make([]error, len(e.Files))
	for i, f := range e.Files {
		errs[i] = f
	}
	return errs
}

// ConfigError names the config key and the value that is wrong.
type ConfigError struct {
	Key   string
	Value any
	Msg   string
	// Err, when set, says what kind of refusal it is (ErrUnpairedDomains)
	// for errors.Is; Msg says it in words.
	Err error
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("data: %s: %v: %s", e.Key, quoteIfString(e.Value), e.Msg)
}

func (e *ConfigError) Unwrap() error { return e.Err }

// ErrUnpairedDomains is the kind of the refusal of aligned data (pairs)
// from a data.root that holds CycleGAN's unpaired domains ({split}A/,
// {split}B/) and no {phase}/ of A|B pairs.
var ErrUnpairedDomains = errors.New("data: unpaired domains, no pairs")

func quoteIfString(v any) any {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return v
}

// missingRoot is the error of a data.root that does not exist, saying how
// to fetch it where it is named as a dataset the references download
// (scripts/download-dataset; gogan itself downloads nothing). labelMaps:
// pix2pixHD's layout is wanted (Cityscapes' label maps, not pix2pix's A|B
// cityscapes).
func missingRoot(root string, labelMaps bool) *ConfigError {
	if st, err := os.Stat(root); err == nil && !st.IsDir() {
		msg := "is not a folder"
		if l := strings.ToLower(root); strings.HasSuffix(l, ".zip") || strings.Contains(l, ".tar") || strings.HasSuffix(l, ".tgz") {
			msg += ": an archive? unpack it and set data.root to its folder"
		}
		return &ConfigError{Key: "data.root", Value: root, Msg: msg}
	}
	msg := "no such folder"
	name := filepath.Base(filepath.Clean(root))
	switch {
	case name == "cityscapes" && labelMaps:
		msg += "; scripts/download-dataset cityscapes-hd lays out Cityscapes for pix2pixHD from its zips (cityscapes-dataset.com gives them out after registering)"
	case slices.Contains([]string{"facades", "edges2shoes", "maps", "cityscapes", "night2day"}, name):
		msg += fmt.Sprintf("; scripts/download-dataset %s fetches it (pytorch-CycleGAN-and-pix2pix's datasets/download_pix2pix_dataset.sh), or set data.root to where it is", name)
	case slices.Contains([]string{"apple2orange", "summer2winter_yosemite", "horse2zebra", "monet2photo", "cezanne2photo", "ukiyoe2photo", "vangogh2photo", "iphone2dslr_flower", "ae_photos"}, name):
		msg += fmt.Sprintf("; scripts/download-dataset cyclegan %s fetches it (pytorch-CycleGAN-and-pix2pix's datasets/download_cyclegan_dataset.sh), or set data.root to where it is", name)
	case filepath.Clean(root) == DefaultFashionRoot:
		msg += "; Debian's dataset-fashion-mnist package puts Fashion-MNIST there (make setup installs it)"
	}
	return &ConfigError{Key: "data.root", Value: root, Msg: msg}
}
