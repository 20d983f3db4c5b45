package data

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"unicode"
)

func (d *Dataset) openIDX(kind string) error {
	s, _, err := loadLabelled(d.cfg.Root, kind, d.cfg.Phase, false)
	if err != nil {
		return err
	}
	d.kind, d.idx, d.n, d.root = "idx", s, s.n, d.cfg.Root
	if d.cfg.MaxSamples > 0 && d.cfg.MaxSamples < d.n {
		d.n = d.cfg.MaxSamples
	}
	return nil
}

func (d *Dataset) checkIDXSize() {
	w, h, err := d.tf.OutputSize(d.idx.w, d.idx.h)
	if err != nil {
		// Every image has the same size: a config problem, reported at
		// checkUniform through d.uniformExample.
		d.uniformExample = err.Error()
		if ce, ok := err.(*CropError); ok {
			d.uniformExample += "; " + cropFix(ce, ce.fits(), d.cfg.Trained)
		}
		return
	}
	d.outA, d.outB, d.uniform = [2]int{w, h}, [2]int{w, h}, true
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// openAligned finds pairs. With data.label_nc > 0, pix2pixHD's
// root/{phase}_label (class-id maps) and root/{phase}_img (photos). Otherwise
// pix2pixHD's root/{phase}_A and root/{phase}_B, or pix2pix's layouts:
// root/{phase}/*.jpg (A|B side by side), the folders A/ and B/ (optionally
// A/{phase}, B/{phase}) with matching names, or A|B images directly under
// root. With data.instance, root/{phase}_inst holds the instance maps of the
// pix2pixHD layouts; the others have none.
func (d *Dataset) openAligned() error {
	root, phase := d.cfg.Root, d.cfg.Phase
	if !isDir(root) {
		return missingRoot(root, d.cfg.LabelNC > 0)
	}
	if d.cfg.LabelNC > 0 {
		lab, img := filepath.Join(root, phase+"_label"), filepath.Join(root, phase+"_img")
		var missing []string
		for _, p := range []string{lab, img} {
			if !isDir(p) {
				missing = append(missing, p)
			}
		}
		if len(missing) > 0 {
			other := "for input images instead of label maps set data.label_nc=0"
			if d.cfg.Trained != "" { // the checkpoint's generator takes maps
				other = fmt.Sprintf("the generator of checkpoint %s takes label maps of %d classes, as it trained on", d.cfg.Trained, d.cfg.LabelNC)
			}
			return &ConfigError{Key: "data.root", Value: root, Msg: fmt.Sprintf(
				"data.label_nc=%d reads pix2pixHD's layout: %[2]s_label/ (class-id maps) and %[2]s_img/ (photos)%[3]s under data.root, paired by sorted position; no folder %[4]s (%[5]s)",
				d.cfg.LabelNC, phase, instHint(d.cfg.Instance, phase), strings.Join(missing, ", "), other)}
		}
		return d.sortedFolders(lab, img)
	}
	if a, b := filepath.Join(root, phase+"_A"), filepath.Join(root, phase+"_B"); isDir(a) || isDir(b) {
		if d.btoa {
			d.log.Warn(fmt.Sprintf("data.direction=BtoA: the input is %s and the target %s; pix2pixHD, which has no direction, always goes from %s_A/ to %s_B/ (set data.direction=AtoB to train as it does)", b, a, phase, phase))
		}
		return d.sortedFolders(a, b)
	}
	if err := labelLayout(root, phase, d.cfg.Trained); err != nil {
		return err
	}
	// train_A/ and train_B/ but no test_A/: before instance maps, whose
	// refusal would say the root had neither layout and to turn them off
	if err := missingSplit(root, phase, "_A"); err != nil {
		return err
	}
	if d.cfg.Instance {
		off := "turn instance maps off with data.no_instance=true (pix2pixHD's --no_instance)"
		if d.cfg.Trained != "" { // the checkpoint fixes data.no_instance
			off = fmt.Sprintf("the generator of checkpoint %s takes instance maps, as it trained with: put the %s split's inputs in %s/, its targets in %s/ and its instance maps in %s/",
				d.cfg.Trained, phase, filepath.Join(root, phase+"_A"), filepath.Join(root, phase+"_B"), filepath.Join(root, phase+"_inst"))
		}
		return &ConfigError{Key: "data.no_instance", Value: false, Msg: fmt.Sprintf(
			"instance maps are read from %[1]s_inst/ beside pix2pixHD's %[1]s_label/ and %[1]s_img/ (data.label_nc>0) or %[1]s_A/ and %[1]s_B/ folders; %[2]s has neither, and its pix2pix layouts (A|B images, A/ and B/ folders) have no instance maps: %[3]s",
			phase, root, off)}
	}
	a, b := filepath.Join(root, "A"), filepath.Join(root, "B")
	if isDir(a) && isDir(b) {
		a, b, err := phaseDirs(a, b, phase)
		if err != nil {
			return err
		}
		return d.pairFolders(a, b)
	}
	if err := unalignedLayout(root, phase); err != nil {
		return err
	}
	dir, files, err := abImages(root, phase, false)
	if err != nil {
		return err
	}
	if dir == root {
		// the references would find no {phase}/ folder here
		if base := filepath.Base(filepath.Clean(root)); base != phase && slices.Contains([]string{"train", "val", "test"}, base) {
			d.log.Warn(fmt.Sprintf("data.root %s is the %s split itself, read as data.phase %s: every A|B image under it (to read another split, set data.root to its parent)", root, base, phase))
		} else if sub := foldersOf(root, files); len(sub) > 0 {
			d.log.Warn(fmt.Sprintf("data: no %[1]s/ folder in data.root: every image under %[2]s, in its folders %[3]s included, is read as an A|B image (left half A, right half B); paired images kept in two folders go in %[2]s/A/%[1]s/ and %[2]s/B/%[1]s/, unpaired domains (recipe cyclegan) in %[2]s/%[1]sA/ and %[2]s/%[1]sB/",
				phase, filepath.Clean(root), strings.Join(sub, ", ")))
		} else {
			d.log.Info(fmt.Sprintf("data: no %s/ folder in data.root: reading the A|B images directly under %s", phase, root))
		}
	}
	d.kind, d.files, d.root = "ab", files, dir
	return nil
}

// labelLayout refuses, with data.label_nc 0, a root holding pix2pixHD's
// layout of label maps ({phase}_label/) and none of pix2pix's ({phase}/, A/
// and B/): the reference, given --label_nc 0, reads {phase}_A/ and fails
// without it, where gogan would read every image under root, maps, photos
// and instance maps, as A|B images cut in halves. So are another split's
// maps (train_label/ where eval pix2pix reads the test split), unless the
// root has another split's inputs (train_A/): then missingSplit names the
// split folders it has, where renaming train_label/ to train_A/ would not do.
// For the data of a checkpoint (trained), whose generator takes images, the
// maps need another run rather than another data.label_nc.
func labelLayout(root, phase, trained string) error {
	if isDir(filepath.Join(root, phase)) || (isDir(filepath.Join(root, "A")) && isDir(filepath.Join(root, "B"))) {
		return nil
	}
	split := ""
	for _, s := range []string{phase, "train", "val", "test"} {
		if isDir(filepath.Join(root, s+"_label")) {
			split = s
			break
		}
	}
	if split == "" || (split != phase && missingSplit(root, phase, "_A") != nil) {
		return nil
	}
	lab := filepath.Join(root, split+"_label")
	maps := "set data.label_nc to the number of classes of its maps (recipe pix2pixhd)"
	if trained != "" {
		maps = fmt.Sprintf("the generator of checkpoint %s takes images, as it trained on, so label maps need a run trained on them (recipe pix2pixhd with data.label_nc)", trained)
	}
	if split == phase {
		return &ConfigError{Key: "data.label_nc", Value: 0, Msg: fmt.Sprintf(
			"the input is an image (pix2pixHD's --label_nc 0), read from %[1]s_A/ (inputs) and %[1]s_B/ (targets), but %[2]s holds %[3]s, pix2pixHD's layout of class-id label maps (%[1]s_label/, %[1]s_img/, %[1]s_inst/): %[4]s; or, if its maps are colour images, rename %[1]s_label/ to %[1]s_A/ and %[1]s_img/ to %[1]s_B/",
			phase, filepath.Clean(root), lab, maps)}
	}
	// Renamed train_A/, the maps would still not be the split read.
	readSplit := fmt.Sprintf("or read the %[1]s split, with data.phase %[1]s (gogan eval and features: --phase %[1]s), and %[2]s or", split, maps)
	if trained != "" {
		readSplit = fmt.Sprintf("%s; or read the %[2]s split, with --phase %[2]s, and", maps, split)
	}
	return &ConfigError{Key: "data.label_nc", Value: 0, Msg: fmt.Sprintf(
		"the input is an image (pix2pixHD's --label_nc 0), read from %[1]s_A/ (inputs) and %[1]s_B/ (targets) for data.phase %[1]s, but %[2]s has no %[1]s_A/ and holds %[3]s, the %[4]s split's class-id label maps in pix2pixHD's layout (%[4]s_label/, %[4]s_img/, %[4]s_inst/): put the %[1]s split's input images in %[2]s/%[1]s_A/ and its targets in %[2]s/%[1]s_B/; %[5]s, if its maps are colour images, rename %[4]s_label/ to %[4]s_A/ and %[4]s_img/ to %[4]s_B/",
		phase, filepath.Clean(root), lab, split, readSplit)}
}

// PairsInTwoFolders says whether aligned data at root with data.label_nc 0
// keeps its pairs in two folders (pix2pixHD's {phase}_A/ and {phase}_B/,
// or A/ and B/), as openAligned finds them, rather than as A|B images side
// by side: then a run's inputs are whole files, whatever their shape.
func PairsInTwoFolders(root, phase string) bool {
	if isDir(filepath.Join(root, phase+"_A")) || isDir(filepath.Join(root, phase+"_B")) {
		return true
	}
	return isDir(filepath.Join(root, "A")) && isDir(filepath.Join(root, "B"))
}

// abImages finds the A|B images of phase as aligned data and unaligned data
// from A|B images both read them: under root/{phase}/, or under root itself
// where it has no such folder, refusing a folder that holds A/ and B/
// folders (abFoldersInside: unaligned says where CycleGAN's domains go).
// Where scanImages fails, dir comes back with its error, which names it.
func abImages(root, phase string, unaligned bool) (dir string, files []string, err error) {
	dir, err = phaseDir(root, phase)
	if err != nil {
		return "", nil, err
	}
	if err := abFoldersInside(root, dir, unaligned); err != nil {
		return "", nil, err
	}
	files, err = scanImages(dir, "data.root")
	if err == nil {
		err = domainFolderAsRoot(root, files)
	}
	return dir, files, err
}

// domainFolderAsRoot refuses a data.root that is one of two domain folders
// side by side (datasets/NAME/trainA beside trainB, or A beside B): read as
// A|B images, each of its images would be cut in halves, one domain's
// halves trained as the two domains. The references, joining
// {phase}A to it, find no such folder and fail. So are a domain folder
// holding the splits (datasets/NAME/A, its train/ read) and a split of one
// (datasets/NAME/A/train beside B/train): pairs kept in two folders, one
// side's images cut in halves. Folders so named whose first image (of
// files, sorted) is twice as wide as high, without a namesake beside it,
// hold A|B pairs, as every pix2pix dataset's do (setA/ beside setB/ of
// facades' pairs): a photo of a domain is not, and a sketch of pairs kept
// in two folders has its photo of the same name.
func domainFolderAsRoot(root string, files []string) error {
	clean := filepath.Clean(root)
	if abs, err := filepath.Abs(clean); err == nil { // "." in trainA/ too
		clean = abs
	}
	domain := func(name string) bool { return strings.HasSuffix(name, "A") || strings.HasSuffix(name, "B") }
	base, split := filepath.Base(clean), ""
	if !domain(base) && domain(filepath.Base(filepath.Dir(clean))) { // A/train
		split, clean = base, filepath.Dir(clean)
		base = filepath.Base(clean)
	}
	if !domain(base) {
		return nil
	}
	parent, stem := filepath.Dir(clean), base[:len(base)-1]
	if !isDir(filepath.Join(parent, stem+"A", split)) || !isDir(filepath.Join(parent, stem+"B", split)) {
		return nil
	}
	other := stem + "A"
	if base == other {
		other = stem + "B"
	}
	if len(files) > 0 && !hasNamesake(filepath.Join(parent, other, split), root, files[0]) {
		if h, err := imageHeader(files[0]); err == nil && h.Width == 2*h.Height {
			return nil
		}
	}
	if split != "" {
		base, other = filepath.Join(base, split), filepath.Join(other, split)
	}
	return &ConfigError{Key: "data.root", Value: root, Msg: fmt.Sprintf(
		"is the domain folder %s/ of %s, beside %s/: read as A|B images side by side, each of its images would be cut in halves, left half domain A and right half domain B; set data.root to %s, the folder that holds the domains (unpaired: recipe cyclegan, data.dataset unaligned)",
		base, parent, other, parent)}
}

// hasNamesake says whether folder holds a file of file's name (its path
// under root) with any ending: pairs kept in two folders do, the A|B
// images of two folders named alike need not.
func hasNamesake(folder, root, file string) bool {
	rel, err := filepath.Rel(root, file)
	if err != nil {
		return false
	}
	m, _ := filepath.Glob(filepath.Join(folder, pathStem(rel)) + ".*")
	return len(m) > 0
}

// abFoldersInside refuses a split folder (data.root/{phase}) holding folders
// A/ and B/: read as A|B images (what the reference's make_dataset would
// do too, walking it), each of their images would be cut in halves, A's
// photos paired with themselves. The layouts gogan pairs or keeps apart
// put the split inside A/ and B/, or CycleGAN's domains beside it.
func abFoldersInside(root, dir string, unaligned bool) error {
	if dir == root || !isDir(filepath.Join(dir, "A")) || !isDir(filepath.Join(dir, "B")) {
		return nil
	}
	phase := filepath.Base(dir)
	if unaligned {
		return &ConfigError{Key: "data.root", Value: root, Msg: fmt.Sprintf(
			"%[1]s holds folders A/ and B/, whose images would be read as A|B images, each cut in halves: CycleGAN's domains are %[2]s and %[3]s (the reference's layout), or %[4]s and %[5]s; move them there",
			dir, filepath.Join(root, phase+"A")+"/", filepath.Join(root, phase+"B")+"/", filepath.Join(root, "A", phase)+"/", filepath.Join(root, "B", phase)+"/")}
	}
	return &ConfigError{Key: "data.root", Value: root, Msg: fmt.Sprintf(
		"%[1]s holds folders A/ and B/, whose images would be read as A|B images, each cut in halves: pairs in two folders go in %[2]s and %[3]s (files of the same names pair up; move them there), or combine them into A|B images side by side (the reference's datasets/combine_A_and_B.py)",
		dir, filepath.Join(root, "A", phase)+"/", filepath.Join(root, "B", phase)+"/")}
}

// unalignedLayout refuses to read CycleGAN's layout (trainA/, trainB/,
// testA/, ...: two unpaired domains) as A|B pairs: without a {phase}/
// folder every image under the root, of both domains and every split,
// would be cut in halves.
func unalignedLayout(root, phase string) error {
	if isDir(filepath.Join(root, phase)) {
		return nil
	}
	// In any case (TrainA/ too): renamed, they would still be unpaired.
	entries, _ := os.ReadDir(root)
	var found []string
	for _, e := range entries {
		for _, split := range []string{"train", "val", "test"} {
			for _, side := range []string{"A", "B"} {
				if strings.EqualFold(e.Name(), split+side) && isDir(filepath.Join(root, e.Name())) {
					found = append(found, e.Name()+"/")
				}
			}
		}
	}
	if len(found) == 0 {
		return nil
	}
	return &ConfigError{Key: "data.root", Value: root, Msg: fmt.Sprintf(
		"has %s, CycleGAN's unpaired domains, but no %s/ of A|B pairs: aligned data (pix2pix, and eval pix2pix's scores) needs pairs; train unpaired data with recipe cyclegan (data.dataset=unaligned), or make pairs (the reference's datasets/combine_A_and_B.py)",
		strings.Join(found, ", "), phase), Err: ErrUnpairedDomains}
}

// splitsInAnotherCase refuses a dir holding split folders named in another
// case ({split}{suffix}, and its B side: Train/, TrainA/, traina/): the
// references join the exact names (os.path.join(dataroot, phase + 'A'),
// then fail: not a valid directory), and so does gogan, which without a
// split folder would read every image under dir as A|B images, mixing the
// splits and both domains.
func splitsInAnotherCase(dir, suffix string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil // said where dir is read
	}
	names := []string{suffix}
	if b := strings.Replace(suffix, "A", "B", 1); b != suffix {
		names = append(names, b)
	}
	var renames []string
	for _, e := range entries {
		for _, split := range []string{"train", "val", "test"} {
			for _, n := range names {
				if want := split + n; e.Name() != want && strings.EqualFold(e.Name(), want) && isDir(filepath.Join(dir, e.Name())) {
					renames = append(renames, e.Name()+"/ to "+want+"/")
				}
			}
		}
	}
	if len(renames) == 0 {
		return nil
	}
	return &ConfigError{Key: "data.root", Value: dir, Msg: fmt.Sprintf(
		"split folders are named in lower case, A and B in upper case, as the references name them (they join the names exactly); rename %s (read as they are, every image under %s would be taken as an A|B image, of every split)",
		strings.Join(renames, ", "), dir)}
}

// phaseDir is the folder of split phase in dir: dir/{phase} when it
// exists, else dir itself (its images are the data), unless missingSplit
// refuses it.
func phaseDir(dir, phase string) (string, error) {
	if p := filepath.Join(dir, phase); isDir(p) {
		return p, nil
	}
	return dir, missingSplit(dir, phase, "")
}

// missingSplit refuses a dir that holds folders of other splits
// ({split}{suffix}: train/, trainA/, train_A/) but none of phase: reading all
// of dir would mix the splits.
func missingSplit(dir, phase, suffix string) error {
	if isDir(filepath.Join(dir, phase+suffix)) {
		return nil
	}
	if err := splitsInAnotherCase(dir, suffix); err != nil {
		return err
	}
	var others, splits []string
	for _, split := range []string{"train", "val", "test"} {
		if split != phase && isDir(filepath.Join(dir, split+suffix)) {
			others, splits = append(others, split+suffix+"/"), append(splits, split)
		}
	}
	if len(others) == 0 {
		return nil
	}
	// two folders a split (test_A/, testA/): both to make
	want := phase + suffix + "/"
	if b := strings.Replace(suffix, "A", "B", 1); b != suffix {
		want += " and " + phase + b + "/"
	}
	return &ConfigError{Key: "data.phase", Value: phase, Msg: fmt.Sprintf(
		"%s has %s but no %s/: set data.phase (gogan eval and features: --phase) to a split it has (%s), or make %s holding the %s split (reading all of it would mix the splits)",
		dir, strings.Join(others, " and "), phase+suffix, strings.Join(splits, " or "), want, phase)}
}

// phaseDirs is phaseDir of the A/ and B/ folders, which must agree: A/train
// paired with every image under a B/ without split folders would mix them.
func phaseDirs(a, b, phase string) (string, string, error) {
	pa, err := phaseDir(a, phase)
	if err != nil {
		return "", "", err
	}
	pb, err := phaseDir(b, phase)
	if err != nil {
		return "", "", err
	}
	if (pa == a) != (pb == b) {
		split, whole := pa, b
		if pa == a {
			split, whole = pb, a
		}
		return "", "", &ConfigError{Key: "data.phase", Value: phase, Msg: fmt.Sprintf(
			"%s is a split folder but %s has none: give both A/ and B/ a %s/ folder, or neither", split, whole, phase)}
	}
	return pa, pb, nil
}

func instHint(instance bool, phase string) string {
	if instance {
		return fmt.Sprintf(" and %s_inst/ (instance maps)", phase)
	}
	return ""
}

// sortedFolders pairs the files of folders a and b (and, with
// data.instance, root/{phase}_inst) by their position in sorted order, as
// pix2pixHD's AlignedDataset does: their names may differ (Cityscapes'
// *_gtFine_labelIds.png and *_leftImg8bit.png), their counts may not.
func (d *Dataset) sortedFolders(a, b string) error {
	root := d.cfg.Root
	fa, fb, err := scanAB(a, b)
	if err != nil {
		return err
	}
	var fi []string
	inst := filepath.Join(root, d.cfg.Phase+"_inst")
	if d.cfg.Instance {
		if !isDir(inst) {
			return &ConfigError{Key: "data.no_instance", Value: false, Msg: fmt.Sprintf(
				"no folder %s of instance maps beside %s and %s: add it, or turn instance maps off with data.no_instance=true (pix2pixHD's --no_instance)", inst, a, b)}
		}
		if fi, err = scanImages(inst, "data.root"); err != nil {
			return err
		}
	}
	if err := sameCounts(a, fa, b, fb); err != nil {
		return err
	}
	if fi != nil {
		if err := sameCounts(a, fa, inst, fi); err != nil {
			return err
		}
	}
	for _, w := range PairedFoldersWarnings(d.cfg.LabelNC, a, fa, b, fb, inst, fi) {
		d.log.Warn(w)
	}
	d.kind, d.root = "sorted", root
	d.files, d.filesB, d.filesInst = fa, fb, fi
	return nil
}

// PairedFoldersWarnings are the warnings on pix2pixHD's folders, which pair
// their files by sorted position (training's and translate's alike): the
// inputs a (label maps where labelNC > 0) out of step with the photos b or
// the instance maps inst, and maps saved as JPEG. A folder not given (""
// and no files) says nothing.
func PairedFoldersWarnings(labelNC int, a string, fa []string, b string, fb []string, inst string, fi []string) []string {
	var ws []string
	add := func(w string) {
		if w != "" {
			ws = append(ws, w)
		}
	}
	add(outOfStep(a, fa, b, fb))
	add(outOfStep(a, fa, inst, fi))
	if labelNC > 0 {
		add(jpegMaps(a, fa, false))
	}
	add(jpegMaps(inst, fi, true))
	return ws
}

// outOfStep is a warning on folders a and b whose files, paired by sorted
// position, are out of step: a file of a whose namesake in b (the same
// name, without its extension, once each folder's common ending,
// Cityscapes' _gtFine_labelIds or _leftImg8bit, is cut off) sits at
// another position, as when one
// folder lacks a file and holds another in its place (the counts agree, so
// sameCounts says nothing, and the reference pairs them so, silently).
// Folders whose names share nothing are not judged ("": no warning).
func outOfStep(a string, fa []string, b string, fb []string) string {
	if len(fa) != len(fb) || len(fa) < 2 {
		return ""
	}
	sa, sb := endingStems(a, fa), endingStems(b, fb)
	at := make(map[string]int, len(sb))
	for j, s := range sb {
		at[s] = j
	}
	n, first := 0, ""
	for i, s := range sa {
		if j, ok := at[s]; ok && j != i && s != "" {
			if n++; first == "" {
				first = fmt.Sprintf("%s is paired with %s, but %s is its namesake", fa[i], fb[i], fb[j])
			}
		}
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("data: %s and %s pair their files by sorted position (as pix2pixHD's AlignedDataset), and %d pairs are out of step: %s (a file missing from one folder and another in its place?); make the folders hold the same samples",
		a, b, n, first)
}

// endingStems is the paths of files relative to root without their
// extensions (a map saved as JPEG among PNGs is named as they are) and
// with the ending they all share cut off (Cityscapes' _gtFine_labelIds,
// _leftImg8bit): a whole ending, from a character other than a letter or
// digit on, not the digits the names happen to share (1 and 11: none).
func endingStems(root string, files []string) []string {
	rel := relStems(root, files)
	if len(rel) == 0 {
		return rel
	}
	suffix := rel[0]
	for _, r := range rel[1:] {
		for !strings.HasSuffix(r, suffix) {
			suffix = suffix[1:]
		}
	}
	if i := strings.IndexFunc(suffix, func(c rune) bool { return !unicode.IsLetter(c) && !unicode.IsDigit(c) }); i >= 0 {
		suffix = suffix[i:]
	} else {
		suffix = ""
	}
	for i, r := range rel {
		rel[i] = strings.TrimSuffix(r, suffix)
	}
	return rel
}

// relStems is the paths of files relative to root without their extensions.
func relStems(root string, files []string) []string {
	rel := make([]string, len(files))
	for i, f := range files {
		r, _ := filepath.Rel(root, f)
		rel[i] = pathStem(r)
	}
	return rel
}

// pathStem is path without its extension.
func pathStem(path string) string { return strings.TrimSuffix(path, filepath.Ext(path)) }

// sameCounts reports folders whose files cannot be paired by sorted position
// because their numbers differ; when the two name their files alike (the
// same base names without extension, or once each folder's common ending
// is cut off, as Cityscapes'), it lists some that have no partner.
func sameCounts(a string, fa []string, b string, fb []string) error {
	if len(fa) == len(fb) {
		return nil
	}
	set := func(stems []string) map[string]bool {
		m := make(map[string]bool, len(stems))
		for _, s := range stems {
			m[s] = true
		}
		return m
	}
	shares := func(sa, sb map[string]bool) bool {
		for s := range sa {
			if sb[s] {
				return true
			}
		}
		return false
	}
	sa, sb, glob := set(relStems(a, fa)), set(relStems(b, fb)), ".*"
	shared := shares(sa, sb)
	if !shared {
		// named alike but for each folder's ending (Cityscapes')
		ea, eb := set(endingStems(a, fa)), set(endingStems(b, fb))
		if shared = shares(ea, eb); shared {
			sa, sb, glob = ea, eb, "*"
		}
	}
	hint := ""
	if shared {
		var lone []string
		for _, side := range []struct {
			dir       string
			own, othr map[string]bool
		}{{a, sa, sb}, {b, sb, sa}} {
			for s := range side.own {
				if !side.othr[s] {
					lone = append(lone, filepath.Join(side.dir, s)+glob)
				}
			}
		}
		sort.Strings(lone)
		if len(lone) > 5 {
			lone = append(lone[:5], fmt.Sprintf("and %d more", len(lone)-5))
		}
		hint = "; without a partner of the same name: " + strings.Join(lone, ", ")
	}
	return fmt.Errorf("data: %s has %d images but %s has %d: pix2pixHD's layout pairs the files of its folders by sorted position, so each folder must hold one file per sample%s",
		a, len(fa), b, len(fb), hint)
}

// pairFolders matches A and B files by their path relative to the folder,
// or where B has no file of that path, by the path without its extension
// when one file of B alone has it (a sketch a.png and its photo a.jpg); a
// file without a partner is an invalid file, reported with the others.
func (d *Dataset) pairFolders(a, b string) error {
	fa, fb, err := scanAB(a, b)
	if err != nil {
		return err
	}
	rel := func(root string, files []string) map[string]string {
		m := make(map[string]string, len(files))
		for _, f := range files {
			r, _ := filepath.Rel(root, f)
			m[r] = f
		}
		return m
	}
	mb := rel(b, fb)
	ma := rel(a, fa)
	// each side's files without a partner of their own path, by stem
	lone := func(own, other map[string]string) map[string][]string {
		m := make(map[string][]string)
		for r, f := range own {
			if _, ok := other[r]; !ok {
				m[pathStem(r)] = append(m[pathStem(r)], f)
			}
		}
		return m
	}
	stemsA, stemsB := lone(ma, mb), lone(mb, ma)
	paired := make(map[string]bool, len(fb))
	var unmatched []*FileError
	for _, f := range fa {
		r, _ := filepath.Rel(a, f)
		g, ok := mb[r]
		if !ok {
			if gs := stemsB[pathStem(r)]; len(gs) == 1 && len(stemsA[pathStem(r)]) == 1 {
				g, ok = gs[0], true
			}
		}
		if ok {
			d.files = append(d.files, f)
			d.filesB = append(d.filesB, g)
			paired[g] = true
		} else {
			unmatched = append(unmatched, fileErr(f, "no matching file %s in %s", r, b))
		}
	}
	for _, f := range fb {
		r, _ := filepath.Rel(b, f)
		if !paired[f] {
			unmatched = append(unmatched, fileErr(f, "no matching file %s in %s", r, a))
		}
	}
	// data.root holds A/ and B/, whose files the messages name
	d.kind, d.root = "pair", d.cfg.Root
	d.skipped = unmatched // merged with the validation errors
	return nil
}

// openUnaligned finds CycleGAN's root/{phase}A and root/{phase}B, or root/A
// and root/B, or else A|B images (pix2pix's layout) in root/{phase} or root,
// whose left halves are the A stream and right halves the B stream. With
// data.max_samples each stream keeps only its first N files.
func (d *Dataset) openUnaligned() error {
	root, phase := d.cfg.Root, d.cfg.Phase
	if !isDir(root) {
		return missingRoot(root, false)
	}
	var a, b string
	switch {
	case isDir(filepath.Join(root, phase+"A")) || isDir(filepath.Join(root, phase+"B")):
		a, b = filepath.Join(root, phase+"A"), filepath.Join(root, phase+"B")
		if err := missingDomain(root, a, b); err != nil {
			return err
		}
	case isDir(filepath.Join(root, "A")) || isDir(filepath.Join(root, "B")):
		if err := missingDomain(root, filepath.Join(root, "A"), filepath.Join(root, "B")); err != nil {
			return err
		}
		var err error
		if a, b, err = phaseDirs(filepath.Join(root, "A"), filepath.Join(root, "B"), phase); err != nil {
			return err
		}
	default:
		if err := missingSplit(root, phase, "A"); err != nil { // trainA/ and trainB/ but no testA/
			return err
		}
		return d.openUnalignedAB()
	}
	fa, fb, err := scanAB(a, b)
	if err != nil {
		return err
	}
	d.files, d.filesB = firstN(d, fa), firstN(d, fb)
	d.kind, d.root = "unaligned", root
	return nil
}

// missingDomain refuses a root holding one of the domain folders a and b
// but not the other (trainA/ without trainB/): the references fail there
// (not a valid directory), and the bare "no such folder" of the missing
// one named neither the folder root has nor the one it holds in another
// case (trainb/), which the references do not read either.
func missingDomain(root, a, b string) error {
	have, miss := a, b
	if !isDir(a) {
		have, miss = b, a
	}
	if isDir(miss) {
		return nil
	}
	want := filepath.Base(miss)
	hint := fmt.Sprintf("put the other domain's images in %s", miss)
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		if e.Name() != want && strings.EqualFold(e.Name(), want) && isDir(filepath.Join(root, e.Name())) {
			hint = fmt.Sprintf("rename %s/ to %s/ (the references join the exact name, A and B in upper case)", e.Name(), want)
		}
	}
	return &ConfigError{Key: "data.root", Value: root, Msg: fmt.Sprintf(
		"has %s/ but no %s/: unaligned data is two folders of images side by side, one per domain (%s/ and %s/); %s",
		filepath.Base(have), want, filepath.Base(a), filepath.Base(b), hint)}
}

// openUnalignedAB takes unaligned data from A|B images side by side.
func (d *Dataset) openUnalignedAB() error {
	root, phase := d.cfg.Root, d.cfg.Phase
	dir, files, err := abImages(root, phase, true)
	if err != nil {
		var fe *FileError
		if errors.As(err, &fe) && fe.Path == dir {
			return &ConfigError{Key: "data.root", Value: root, Msg: fmt.Sprintf(
				"holds no unaligned data: want %[1]sA/ and %[1]sB/ folders, or A/ and B/ folders, or A|B images side by side (left half A, right half B) in %[1]s/ or in data.root itself; %[2]s has no images",
				phase, dir)}
		}
		return err
	}
	if dir == root {
		// where the reference fails (no trainA/): say what is read
		what := fmt.Sprintf("data: no %[1]sA/ and %[1]sB/ (or A/ and B/) in data.root: every image under %[2]s is read as an A|B image, its left half domain A, its right half domain B", phase, filepath.Clean(root))
		if sub := foldersOf(root, files); len(sub) > 0 {
			d.log.Warn(fmt.Sprintf("%s (the images in its folders %s included); to train two folders of images as the domains, name them %s/%sA/ and %[3]s/%[4]sB/ (the reference's layout)",
				what, strings.Join(sub, ", "), filepath.Clean(root), phase))
		} else {
			d.log.Info(what)
		}
	}
	d.kind, d.files, d.root = "unaligned-ab", firstN(d, files), dir
	return nil
}

// foldersOf lists the folders directly under root that hold some of files
// (sorted paths under root), each once, as "name/".
func foldersOf(root string, files []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, f := range files {
		rel, err := filepath.Rel(root, f)
		if err != nil {
			continue
		}
		if first, _, nested := strings.Cut(rel, string(filepath.Separator)); nested && !seen[first] {
			seen[first] = true
			out = append(out, first+"/")
		}
	}
	return out
}

// firstN keeps the first data.max_samples entries of an unaligned stream.
func firstN[T any](d *Dataset, s []T) []T {
	if n := d.cfg.MaxSamples; n > 0 && n < len(s) {
		return s[:n:n]
	}
	return s
}

// loadLabelled reads an in-memory set: IDX files (fashion-mnist, mnist) or
// CIFAR-10's batches; images names them for messages. needLabels refuses
// IDX images without their labels file.
func loadLabelled(root, kind, phase string, needLabels bool) (s *idxSet, images string, err error) {
	if kind == CIFAR10 {
		s, err := loadCIFAR10(root, phase)
		return s, "CIFAR-10's " + phase + " batches in " + root, err
	}
	images, labels, err := findIDX(root, kind, phase)
	if err != nil {
		return nil, "", err
	}
	if labels == "" && needLabels {
		return nil, "", &ConfigError{Key: "data.root", Value: root, Msg: fmt.Sprintf(
			"has %s but no %s-labels-idx1-ubyte[.gz]: data.classes_A and data.classes_B pick images by label", images, idxNames[phase])}
	}
	s, err = loadIDXSet(images, labels, needLabels)
	return s, images, err
}

// openIDXDomains makes the A and B streams from the images of a labelled
// dataset (IDX or CIFAR-10) whose labels are in data.classes_A and
// data.classes_B.
func (d *Dataset) openIDXDomains() error {
	src, root := d.cfg.Source, d.cfg.Root
	s, images, err := loadLabelled(root, src, d.cfg.Phase, true)
	if err != nil {
		return err
	}
	ca, err := parseClasses("data.classes_A", d.cfg.ClassesA, src)
	if err != nil {
		return err
	}
	cb, err := parseClasses("data.classes_B", d.cfg.ClassesB, src)
	if err != nil {
		return err
	}
	var ia, ib []int
	for j, l := range s.labels {
		if ca[int(l)] {
			ia = append(ia, j)
		}
		if cb[int(l)] {
			ib = append(ib, j)
		}
	}
	for _, e := range []struct {
		key, v string
		n      int
	}{{"data.classes_A", d.cfg.ClassesA, len(ia)}, {"data.classes_B", d.cfg.ClassesB, len(ib)}} {
		if e.n == 0 {
			return &ConfigError{Key: e.key, Value: e.v, Msg: fmt.Sprintf("no image of %s has one of these labels", images)}
		}
	}
	d.kind, d.idx, d.root = "unaligned-idx", s, root
	d.idxA, d.idxB = firstN(d, ia), firstN(d, ib)
	d.n = max(len(d.idxA), len(d.idxB))
	return nil
}

// scanAB is scanImages of a split's A and B folders, A's refusal first.
func scanAB(a, b string) (fa, fb []string, err error) {
	if fa, err = scanImages(a, "data.root"); err != nil {
		return nil, nil, err
	}
	if fb, err = scanImages(b, "data.root"); err != nil {
		return nil, nil, err
	}
	return fa, fb, nil
}

// scanImages lists the image files under dir, recursively, sorted, as the
// references' make_dataset walks (os.walk without following links below dir).
func scanImages(dir, key string) ([]string, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, &ConfigError{Key: key, Value: dir, Msg: "no such folder"}
	}
	if !st.IsDir() {
		return nil, &ConfigError{Key: key, Value: dir, Msg: "is not a folder"}
	}
	files, err := ImagesUnder(dir)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		exts := make([]string, 0, len(imageExts))
		for e := range imageExts {
			exts = append(exts, e)
		}
		sort.Strings(exts)
		return nil, fileErr(dir, "folder holds no images (%s)%s", strings.Join(exts, " "), folderHolds(dir))
	}
	return files, nil
}

// folderHolds says what a folder without images holds instead, by file
// ending, for the refusal: "; it holds 12 files: 10 .heic, 2 .txt"
// (photos a phone saved as HEIC, which no decoder here reads), or that it
// holds none. Hidden files and folders are left out. dir may be a link to a folder
// (ImagesUnder walks the folder it leads to; so does this).
func folderHolds(dir string) string {
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	const most = 100000 // counted at most: a huge folder is not walked whole for a message
	count := map[string]int{}
	n, links := 0, 0
	filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		switch {
		case n >= most:
			return fs.SkipAll
		case err != nil:
			return nil
		case e.IsDir() && p != dir && strings.HasPrefix(e.Name(), "."):
			return fs.SkipDir // .git, .thumbnails: not what the user put there
		case e.IsDir() || strings.HasPrefix(e.Name(), "."):
			return nil
		case linksToFolder(p, e):
			links++ // not a file "without an ending": a folder the walk does not enter
			return nil
		}
		n++
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if ext == "" {
			ext = "without an ending"
		}
		count[ext]++
		return nil
	})
	linked := ""
	switch {
	case links == 1:
		linked = "; and 1 link to a folder, which the walk does not follow (as the references' os.walk): give the folder it leads to"
	case links > 1:
		linked = fmt.Sprintf("; and %d links to folders, which the walk does not follow (as the references' os.walk): give the folders they lead to", links)
	}
	if n == 0 {
		if links > 0 {
			return "; it holds no files, only" + strings.TrimPrefix(linked, "; and")
		}
		return "; it holds no files"
	}
	exts := slices.SortedFunc(maps.Keys(count), func(a, b string) int { return cmp.Or(count[b]-count[a], strings.Compare(a, b)) })
	parts, shown := make([]string, 0, 5), 0
	for _, e := range exts[:min(len(exts), 4)] {
		parts = append(parts, fmt.Sprintf("%d %s", count[e], e))
		shown += count[e]
	}
	if shown < n {
		parts = append(parts, fmt.Sprintf("%d of other endings", n-shown))
	}
	files := fmt.Sprintf("%d files", n)
	switch {
	case n == 1:
		files = "1 file"
	case n >= most:
		files = fmt.Sprintf("at least %d files (counted no further)", most)
	}
	return fmt.Sprintf("; it holds %s: %s%s", files, strings.Join(parts, ", "), linked)
}

// linksToFolder says whether the walked entry e at p is a symbolic link
// to a folder: os.walk lists it among the folders and, without
// followlinks, does not enter it.
func linksToFolder(p string, e fs.DirEntry) bool {
	if e.Type()&fs.ModeSymlink == 0 {
		return false
	}
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// ImagesUnder lists the image files under the folder dir, recursively,
// sorted by path (none: no error), as the references' sorted(make_dataset)
// lists a folder (os.walk without following links below dir).
func ImagesUnder(dir string) ([]string, error) {
	// dir itself may be a link to a folder (os.walk follows that one, not
	// links below it); the files are named under dir as given.
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	var files, links []string
	err = filepath.WalkDir(real, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if linksToFolder(p, e) {
			if rel, err := filepath.Rel(real, p); err == nil {
				links = append(links, filepath.Join(dir, rel)) // left out, as os.walk leaves it
			}
			return nil
		}
		if !e.IsDir() && IsImageFile(p) {
			rel, err := filepath.Rel(real, p)
			if err != nil {
				return err
			}
			files = append(files, filepath.Join(dir, rel))
		}
		return nil
	})
	if err != nil {
		if le := asLimit(dir, err); le != nil {
			return nil, le
		}
		return nil, fmt.Errorf("data: scanning %s: %w", dir, err)
	}
	if len(links) > 0 && len(files) > 0 { // (none: the refusal says it)
		// a folder linked in (ln -s /mnt/city1 inputs/) would be left out unsaid
		slog.Warn("data: links to folders under "+dir+" are not followed (as the references' os.walk): their images are left out; give the folders they lead to, or copy them in",
			"links", len(links), "first", links[0])
	}
	sort.Strings(files)
	return files, nil
}
