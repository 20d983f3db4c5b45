package data

import (
	"fmt"
	"path/filepath"
	"strings"
)

// The extensions the references' make_dataset lists, matched as written
// (str.endswith, case-sensitive): pytorch-CycleGAN-and-pix2pix's
// data/image_folder.py and pix2pixHD's. gogan's folder scans take more
// (IsImageFile: any case, GIF, WebP, PGM, PNM, and .tif for pix2pixHD),
// so a file the reference's run leaves out is trained on here.
var (
	pix2pixExts   = []string{".jpg", ".JPG", ".jpeg", ".JPEG", ".png", ".PNG", ".ppm", ".PPM", ".bmp", ".BMP", ".tif", ".TIF", ".tiff", ".TIFF"}
	pix2pixHDExts = []string{".jpg", ".JPG", ".jpeg", ".JPEG", ".png", ".PNG", ".ppm", ".PPM", ".bmp", ".BMP", ".tiff"}
)

// referenceLists reports whether the reference's is_image_file takes name.
func referenceLists(name string, exts []string) bool {
	for _, e := range exts {
		if strings.HasSuffix(name, e) {
			return true
		}
	}
	return false
}

// warnUnlistedExts warns, once per open, of the files that the reference of
// this dataset's layout would not list: pytorch-CycleGAN-and-pix2pix's for
// A|B images, unaligned domains and colorization, pix2pixHD's for its
// {phase}_label/_img (or _A/_B) folders. The files are still read.
func (d *Dataset) warnUnlistedExts() {
	var ref string
	var exts []string
	switch {
	case d.kind == "sorted":
		ref, exts = "pix2pixHD's", pix2pixHDExts
	case d.kind == "ab" || d.kind == "unaligned" || d.kind == "unaligned-ab" || d.cfg.Dataset == Colorization:
		ref, exts = "pytorch-CycleGAN-and-pix2pix's", pix2pixExts
	default:
		return
	}
	var unlisted []string
	for _, files := range [][]string{d.files, d.filesB, d.filesInst} {
		for _, f := range files {
			if !referenceLists(filepath.Base(f), exts) {
				unlisted = append(unlisted, f)
			}
		}
	}
	if len(unlisted) == 0 {
		return
	}
	have, them, eg := "have extensions", "them", "e.g. "
	if len(unlisted) == 1 {
		have, them, eg = "has an extension", "it", ""
	}
	d.log.Warn(fmt.Sprintf("data: %d of the images under %s %s that %s make_dataset does not list (%s, case-sensitive), %s%s: gogan reads %s, the reference's run would leave %[8]s out; rename or convert %[8]s to train on the reference's files",
		len(unlisted), d.root, have, ref, strings.Join(exts, " "), eg, unlisted[0], them))
}
