package data

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// torchvision's ImageFolder, with which pytorch/examples dcgan reads
// --dataset folder (and imagenet, lfw): each subfolder of the root is a
// class, in sorted order, labelled by its position; a class's images are
// found by a walk that follows symbolic links, folder by folder in sorted
// path order, each folder's files in sorted order; files directly in the
// root belong to no class. The order matters: it is the one the sampler
// permutes, so only this order gives the reference's batches.

// imageFolderExts are torchvision's IMG_EXTENSIONS (any case); .gif
// ImageFolder does not take.
var imageFolderExts = []string{".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp"}

// openImageFolder lists root as ImageFolder does when root holds class
// folders and no images of its own. Other roots (a flat folder of images,
// which ImageFolder refuses, or images beside folders, of which it would
// leave the loose ones out) are read as every image under root, in sorted
// path order, unlabelled.
func (d *Dataset) openImageFolder() error {
	root := d.cfg.Root
	d.kind, d.root = "folder", root
	classes, loose, err := FolderLayout(root)
	if err != nil {
		_, err := scanImages(root, "data.root") // says what is wrong with root
		return err
	}
	if len(classes) == 0 {
		d.files, err = scanImages(root, "data.root")
		return err
	}
	if len(loose) > 0 {
		return d.openMixedFolder(classes, loose)
	}
	var empty []string
	for label, c := range classes {
		files, err := walkClass(filepath.Join(root, c), isImageFolderFile)
		if err != nil {
			return err
		}
		if len(files) == 0 {
			empty = append(empty, c)
		}
		for _, f := range files {
			d.files = append(d.files, f)
			d.labels = append(d.labels, label)
		}
	}
	if len(empty) > 0 {
		return &ConfigError{Key: "data.root", Value: root, Msg: fmt.Sprintf(
			"class folders without images: %s (torchvision's ImageFolder refuses them too; images are %s): remove them from data.root, or put their images in them",
			strings.Join(empty, ", "), strings.Join(imageFolderExts, " "))}
	}
	return nil
}

// FolderLayout lists root's class folders as ImageFolder finds them (its
// subfolders, links to folders included) and the images directly in it,
// which ImageFolder leaves out (any of gogan's extensions), each sorted by
// name. data.dataset=folder reads a root without class folders, or with
// loose images beside them, as every image under it, unlabelled.
func FolderLayout(root string) (classes, loose []string, err error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range entries { // sorted by name
		p := filepath.Join(root, e.Name())
		if isDir(p) { // a link to a folder is a class too (DirEntry.is_dir follows links)
			classes = append(classes, e.Name())
		} else if IsImageFile(p) {
			loose = append(loose, e.Name())
		}
	}
	return classes, loose, nil
}

// A Link is a link under a folder dataset's root to a folder elsewhere,
// whose images the dataset reads (Target: its real path).
type Link struct{ Path, Target string }

// LinkedFolders lists the links to folders under root that a folder
// dataset's walk follows (ImageFolder's os.walk(followlinks=True), at any
// depth; a root with none reads no other folder), each target once.
func LinkedFolders(root string) []Link {
	var links []Link
	seen := map[string]bool{} // real paths walked
	var walk func(p string)
	walk = func(p string) {
		real, err := filepath.EvalSymlinks(p)
		if err != nil || seen[real] {
			return
		}
		seen[real] = true
		entries, err := os.ReadDir(p)
		if err != nil {
			return
		}
		for _, e := range entries {
			q := filepath.Join(p, e.Name())
			switch {
			case e.Type()&fs.ModeSymlink != 0 && isDir(q):
				if t, err := filepath.EvalSymlinks(q); err == nil && !seen[t] {
					links = append(links, Link{Path: q, Target: t})
				}
				walk(q)
			case e.IsDir():
				walk(q)
			}
		}
	}
	walk(root)
	return links
}

// openMixedFolder reads a root of class folders with images beside them
// as every image under it, unlabelled, in sorted path order: the class
// folders walked as ImageFolder walks them (links followed, so a linked
// class is not lost), the loose images too. ImageFolder (main.py's
// --dataset folder) would leave the loose ones out, so the batches are not
// main.py's: a warning says so and what to move.
func (d *Dataset) openMixedFolder(classes, loose []string) error {
	root := d.cfg.Root
	for _, n := range loose {
		d.files = append(d.files, filepath.Join(root, n))
	}
	for _, c := range classes {
		files, err := walkClass(filepath.Join(root, c), IsImageFile)
		if err != nil {
			return err
		}
		d.files = append(d.files, files...)
	}
	sort.Strings(d.files)
	images := "images"
	if len(loose) == 1 {
		images = "image"
	}
	d.log.Warn(fmt.Sprintf("data: data.root holds %d %s beside its class folders (%s): torchvision's ImageFolder (pytorch/examples dcgan's --dataset folder) would leave them out, so gogan reads every image under data.root, unlabelled, and the batches are not main.py's; move them into a class folder (or out of data.root) to read the folders as ImageFolder does",
		len(loose), images, strings.Join(loose[:min(len(loose), 3)], ", ")), "root", root, "first", filepath.Join(root, loose[0]))
	return nil
}

// isImageFolderFile: torchvision's IMG_EXTENSIONS, any case.
func isImageFolderFile(name string) bool {
	return slices.Contains(imageFolderExts, strings.ToLower(filepath.Ext(name)))
}

// walkClass lists the files under dir that keep takes in ImageFolder's
// order: sorted(os.walk(dir, followlinks=True)), each folder's files
// sorted. A link back to a folder it is in is an error (os.walk would not
// end).
func walkClass(dir string, keep func(name string) bool) (files []string, err error) {
	type folder struct {
		path  string
		names []string
	}
	var folders []folder
	within := map[string]bool{} // the real paths of the folders being walked
	var walk func(p string) error
	walk = func(p string) error {
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			return fmt.Errorf("data: %s: %w", p, err)
		}
		if within[real] {
			return fileErr(p, "links back to %s, a folder it is in: the walk would not end", real)
		}
		within[real] = true
		defer delete(within, real)
		entries, err := os.ReadDir(p)
		if err != nil {
			return fmt.Errorf("data: %w", err)
		}
		f := folder{path: p}
		for _, e := range entries {
			q := filepath.Join(p, e.Name())
			if isDir(q) {
				if err := walk(q); err != nil {
					return err
				}
				continue
			}
			f.names = append(f.names, e.Name())
		}
		folders = append(folders, f)
		return nil
	}
	if err := walk(dir); err != nil {
		return nil, err
	}
	sort.Slice(folders, func(i, j int) bool { return folders[i].path < folders[j].path })
	for _, f := range folders {
		sort.Strings(f.names)
		for _, n := range f.names {
			if keep(n) {
				files = append(files, filepath.Join(f.path, n))
			}
		}
	}
	return files, nil
}
