package data

import (
	"errors"
	"fmt"
	"image"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gogan/lmdb"
)

// LSUN's scene categories, as torchvision's LSUN dataset reads them
// (pytorch/examples dcgan's --dataset lsun --classes bedroom): each
// category's split is an LMDB database {category}_{phase}_lmdb under
// data.root (the test split is one database, test_lmdb), whose values are
// images (WebP) listed in key order; the categories follow one another in
// the order data.classes gives, each image labelled with its category's
// position there.

// LSUNCategories are the scene categories LSUN distributes (torchvision
// accepts no others).
var LSUNCategories = []string{"bedroom", "bridge", "church_outdoor", "classroom", "conference_room", "dining_room", "kitchen", "living_room", "restaurant", "tower"}

// DefaultLSUNClasses is data.classes when unset, as the DCGAN example's --classes.
const DefaultLSUNClasses = "bedroom"

// lsunSet is the opened databases; Dataset.files names image k of database
// j as prefixes[j]+KEY (its folder and a separator), and Dataset.labels
// gives it label j.
type lsunSet struct {
	dbs      []*lmdb.DB
	prefixes []string
}

// lsunCategories parses data.classes; msg says what is wrong.
func lsunCategories(value string) (cats []string, msg string) {
	for _, part := range strings.Split(value, ",") {
		c := strings.TrimSpace(part)
		switch {
		case c == "":
			return nil, "empty category in the comma-separated list"
		case !slices.Contains(LSUNCategories, c):
			// torchvision's LSUN takes bedroom_train (main.py appends _train)
			for _, split := range []string{"_train", "_val", "_test"} {
				if cat, ok := strings.CutSuffix(strings.ToLower(c), split); ok && slices.Contains(LSUNCategories, cat) {
					return nil, fmt.Sprintf("%q is torchvision LSUN's name of a database: data.classes takes the category (%s), and data.phase picks its split (%s)",
						c, cat, strings.TrimPrefix(split, "_"))
				}
			}
			if strings.EqualFold(c, "test") {
				// torchvision's LSUN(classes="test"): one database of every category
				return nil, fmt.Sprintf("%q is torchvision LSUN's test set, test_lmdb, not a category: data.phase=test reads it", c)
			}
			return nil, fmt.Sprintf("unknown LSUN category %q: want some of %s", c, strings.Join(LSUNCategories, ", "))
		case slices.Contains(cats, c):
			return nil, fmt.Sprintf("category %q is listed twice", c)
		}
		cats = append(cats, c)
	}
	return cats, ""
}

// LSUNDatabases parses data.classes (valid, as Check leaves it) and names
// the databases it reads under data.root for the phase, in order: each
// category's {category}_{phase}_lmdb, or test_lmdb alone.
func LSUNDatabases(classes, phase string) (cats, names []string) {
	cats, _ = lsunCategories(classes)
	if phase == "test" {
		return cats, []string{"test_lmdb"} // LSUN's test images are not split by category
	}
	for _, c := range cats {
		names = append(names, c+"_"+phase+"_lmdb")
	}
	return cats, names
}

// errEnough stops listing keys once data.max_samples images are listed.
var errEnough = errors.New("enough images")

// openLSUN opens each category's database and lists its images.
func (d *Dataset) openLSUN() error {
	d.kind, d.root = "folder", d.cfg.Root
	if !isDir(d.cfg.Root) {
		return missingRoot(d.cfg.Root, false)
	}
	cats, names := LSUNDatabases(d.cfg.Classes, d.cfg.Phase) // Check refused a bad list
	set := &lsunSet{}
	ok := false
	defer func() {
		if !ok {
			set.close()
		}
	}()
	for i, name := range names {
		dir := filepath.Join(d.cfg.Root, name)
		if !isDir(dir) {
			hint := fmt.Sprintf("LSUN's download.py -c %s and unzip give %s_train_lmdb/ and %s_val_lmdb/", cats[i], cats[i], cats[i])
			if d.cfg.Phase == "test" {
				hint = "LSUN's download.py -c test and unzip give test_lmdb/"
			}
			if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
				return &ConfigError{Key: "data.root", Value: d.cfg.Root, Msg: fmt.Sprintf("%s is a file, not an LSUN database's folder (%s, each holding data.mdb)", name, hint)}
			}
			if isFile(filepath.Join(d.cfg.Root, "data.mdb")) {
				// main.py's --dataroot, as torchvision's LSUN root, is the folder above
				msg := fmt.Sprintf("is an LSUN database itself (it holds data.mdb), not the folder holding them: set data.root to %s, where %s is looked for", filepath.Dir(filepath.Clean(d.cfg.Root)), name)
				if db := filepath.Base(filepath.Clean(d.cfg.Root)); !slices.Contains(names, db) {
					for _, phase := range []string{"train", "val"} {
						if c, ok := strings.CutSuffix(db, "_"+phase+"_lmdb"); ok && slices.Contains(LSUNCategories, c) {
							msg += fmt.Sprintf(" (data.classes=%s, data.phase=%s read %s)", c, phase, db)
						}
					}
					if db == "test_lmdb" {
						msg += " (data.phase=test reads test_lmdb)"
					}
				}
				return &ConfigError{Key: "data.root", Value: d.cfg.Root, Msg: msg}
			}
			if isFile(dir + ".zip") {
				return &ConfigError{Key: "data.root", Value: d.cfg.Root, Msg: fmt.Sprintf("has %s.zip but no %s/: unzip it there (gogan reads the databases unpacked, as torchvision's LSUN)", name, name)}
			}
			return &ConfigError{Key: "data.root", Value: d.cfg.Root, Msg: fmt.Sprintf("has no LSUN database %s (%s)", name, hint)}
		}
		if _, err := os.Stat(filepath.Join(dir, "data.mdb")); errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("data: LSUN %s has no data.mdb, the database file: an unzip cut short? (LSUN's zips hold %s/data.mdb and lock.mdb)", dir, name)
		}
		db, err := lmdb.Open(dir)
		if err != nil {
			return fmt.Errorf("data: LSUN %s: %w", name, err)
		}
		prefix := dir + string(filepath.Separator)
		set.dbs, set.prefixes = append(set.dbs, db), append(set.prefixes, prefix)
		err = db.Keys(func(k []byte) error {
			if d.cfg.MaxSamples > 0 && len(d.files) >= d.cfg.MaxSamples {
				return errEnough
			}
			d.files = append(d.files, prefix+string(k))
			d.labels = append(d.labels, i)
			return nil
		})
		if err != nil && err != errEnough {
			return fmt.Errorf("data: LSUN %s: %w", name, err)
		}
	}
	if len(d.files) == 0 {
		return &ConfigError{Key: "data.root", Value: d.cfg.Root, Msg: fmt.Sprintf("the LSUN databases %s hold no images", strings.Join(names, ", "))}
	}
	d.lsun, ok = set, true
	return nil
}

func (s *lsunSet) close() {
	for _, db := range s.dbs {
		db.Close()
	}
}

// get reads the image named prefixes[j]+KEY.
func (s *lsunSet) get(name string) ([]byte, error) {
	for j, prefix := range s.prefixes {
		if key, ok := strings.CutPrefix(name, prefix); ok {
			b, err := s.dbs[j].Get([]byte(key))
			if err != nil {
				return nil, &FileError{Path: name, Err: err}
			}
			return b, nil
		}
	}
	return nil, fileErr(name, "is not an image of the LSUN databases %s", strings.Join(s.prefixes, ", "))
}

// load decodes the image file (or LSUN image) named path to c channels.
func (d *Dataset) load(path string, c int) (*Image, error) {
	if d.lsun == nil {
		return LoadImage(path, c)
	}
	b, err := d.lsun.get(path)
	if err != nil {
		return nil, err
	}
	return decodeBytes(path, b, c)
}

// header reads the size and colour model of the image named path.
func (d *Dataset) header(path string) (image.Config, error) {
	if d.lsun == nil {
		return imageHeader(path)
	}
	b, err := d.lsun.get(path)
	if err != nil {
		return image.Config{}, err
	}
	return bytesHeader(path, b)
}

// trustLSUN opens a large LSUN split without reading every image: an
// image's header is in its value, so checking three million headers would
// read the whole database. As torchvision, a bad image is found when it is
// read (an error naming it, or skipped with data.skip_invalid); every image
// has DCGAN's square output size.
func (d *Dataset) trustLSUN() error {
	d.n = len(d.files)
	size := map[[2]int]string{d.outSize(d.cfg.ImageSize, d.cfg.ImageSize, false): d.files[0]}
	d.setUniform(size, size)
	d.log.Info("data: LSUN images are checked as they are read (more than 20000: their headers are in the values, so checking them on open would read the whole database)", "images", d.n)
	return nil
}
