package data

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
)

// IDXFile is an IDX array of unsigned bytes (the MNIST format).
type IDXFile struct {
	Dims []int
	Data []uint8
}

// maxIDXBytes bounds the array an IDX header may declare (16 GiB).
const maxIDXBytes = 1 << 34

// ReadIDX reads an IDX file, gzipped or raw (told apart by the gzip magic, not
// the name), and checks its magic number, type and length.
func ReadIDX(path string) (*IDXFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &FileError{Path: path, Err: err}
	}
	defer f.Close()
	var size int64
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	return readIDX(path, f, size)
}

// maxDeflateRatio is deflate's best compression ratio: n compressed bytes
// expand to at most this many times n.
const maxDeflateRatio = 1032

// readIDX reads an IDX file of size bytes (0: not known) from f; path
// names it in errors.
func readIDX(path string, f io.Reader, size int64) (*IDXFile, error) {
	r, gzipped, err := idxStream(path, f)
	if err != nil {
		return nil, err
	}
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fileErr(path, "empty IDX file")
		}
		return nil, fileErr(path, "truncated IDX header: %v", unexpected(err))
	}
	if hdr[0] != 0 || hdr[1] != 0 {
		return nil, fileErr(path, "wrong magic number 0x%08x: not an IDX file (want 0x00000801 labels or 0x00000803 images)", binary.BigEndian.Uint32(hdr[:]))
	}
	if hdr[2] != 0x08 {
		return nil, fileErr(path, "IDX data type 0x%02x is not supported (want 0x08, unsigned byte)", hdr[2])
	}
	nd := int(hdr[3])
	if nd == 0 || nd > 4 {
		return nil, fileErr(path, "IDX file has %d dimensions (want 1 to 4)", nd)
	}
	dims := make([]int, nd)
	n := 1
	for i := range dims {
		var d [4]byte
		if _, err := io.ReadFull(r, d[:]); err != nil {
			return nil, fileErr(path, "truncated IDX header: %v", unexpected(err))
		}
		dims[i] = int(binary.BigEndian.Uint32(d[:]))
		if dims[i] != 0 && n > maxIDXBytes/dims[i] {
			return nil, fileErr(path, "IDX dimensions %v are implausibly large", dims[:i+1])
		}
		n *= dims[i]
	}
	if gzipped && size > 0 && int64(n) > size*maxDeflateRatio {
		return nil, fileErr(path, "dimensions %v need %d bytes of data, more than a gzip file of %d bytes can hold: corrupt or cut short", dims, n, size)
	}
	buf, err := readExactly(r, n)
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, fileErr(path, "truncated: dimensions %v need %d bytes of data, file has %d", dims, n, len(buf))
		}
		return nil, fileErr(path, "reading IDX data: %v", err)
	}
	// A truncated gzip stream shows only when its end is read.
	if extra, err := io.Copy(io.Discard, r); err != nil {
		return nil, fileErr(path, "corrupt or truncated gzip stream: %v", unexpected(err))
	} else if extra > 0 {
		return nil, fileErr(path, "%d bytes of data after the %v array", extra, dims)
	}
	return &IDXFile{Dims: dims, Data: buf}, nil
}

// idxStream is the bytes of an IDX file read from f, unzipped where it is
// gzipped (path names it in errors).
func idxStream(path string, f io.Reader) (r io.Reader, gzipped bool, err error) {
	br := bufio.NewReaderSize(f, 1<<20)
	if magic, _ := br.Peek(2); !bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		return br, false, nil
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, true, fileErr(path, "corrupt gzip header: %v", err)
	}
	return zr, true, nil
}

// readExactly reads n bytes from r. Its buffer grows as the data arrives,
// so that a header declaring more than the file holds costs no allocation.
func readExactly(r io.Reader, n int) ([]byte, error) {
	buf := make([]byte, 0, min(n, 1<<20))
	for len(buf) < n {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(n-len(buf), len(buf)))
		}
		m, err := io.ReadFull(r, buf[len(buf):min(n, cap(buf))])
		buf = buf[:len(buf)+m]
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// idxSet is an in-memory labelled image set: N images of H x W x C bytes
// (C 1 for IDX files, 3 for CIFAR-10, channels interleaved), and labels.
type idxSet struct {
	n, h, w, c int
	pix        []uint8
	labels     []uint8
}

// image returns image i (sharing the set's pixels) and its label, -1 without labels.
func (s *idxSet) image(i int) (*Image, int) {
	sz := s.w * s.h * s.c
	label := -1
	if s.labels != nil {
		label = int(s.labels[i])
	}
	return &Image{W: s.w, H: s.h, C: s.c, Pix: s.pix[i*sz : (i+1)*sz]}, label
}

// idxNames are the file stems of the train and test splits.
var idxNames = map[string]string{"train": "train", "val": "t10k", "test": "t10k"}

// torchvisionIDXDirs are the folders under a torchvision root that hold
// each kind's files: MNIST and FashionMNIST keep theirs in
// root/<class name>/raw, so one root often holds both.
var torchvisionIDXDirs = map[string]string{MNIST: filepath.Join("MNIST", "raw"), FashionMNIST: filepath.Join("FashionMNIST", "raw")}

// findIDX looks for <stem>-{images-idx3,labels-idx1}-ubyte[.gz] in root,
// root/raw and the folder torchvision keeps the kind's files in. The other
// kind's folder is never read: a fashion-mnist run on a root holding
// MNIST/raw would train on digits.
func findIDX(root, kind, phase string) (images, labels string, err error) {
	st, err := os.Stat(root)
	if err != nil {
		return "", "", missingRoot(root, false)
	}
	if !st.IsDir() {
		return "", "", &ConfigError{Key: "data.root", Value: root, Msg: "is not a folder"}
	}
	stem := idxNames[phase]
	find := func(base string, dirs ...string) string {
		for _, d := range dirs {
			for _, suffix := range []string{".gz", ""} {
				p := filepath.Join(d, base+suffix)
				if _, err := os.Stat(p); err == nil {
					return p
				}
			}
		}
		return ""
	}
	dirs := []string{root, filepath.Join(root, "raw")}
	if sub, ok := torchvisionIDXDirs[kind]; ok {
		dirs = append(dirs, filepath.Join(root, sub))
	}
	images = find(stem+"-images-idx3-ubyte", dirs...)
	if images == "" {
		msg := fmt.Sprintf("no %s-images-idx3-ubyte[.gz] for %s (%s split) in it, raw/ or %s/", stem, kind, phase, torchvisionIDXDirs[kind])
		for other, sub := range torchvisionIDXDirs {
			if other != kind && find(stem+"-images-idx3-ubyte", filepath.Join(root, sub)) != "" {
				// pytorch/examples' --dataset mnist may have been given Fashion-MNIST's files there
				msg += fmt.Sprintf("; %s/ holds IDX files, which torchvision reads as %s's: to train on them, set data.dataset=%s (data.source for derived data), or data.root=%s",
					sub, other, other, filepath.Join(root, sub))
			}
		}
		return "", "", &ConfigError{Key: "data.root", Value: root, Msg: msg}
	}
	return images, find(stem+"-labels-idx1-ubyte", dirs...), nil
}

// TorchvisionMNISTRoot says that root is a torchvision root whose
// MNIST/raw/ holds the four files torchvision's MNIST reads (unpacked), and
// that gogan's data.dataset=mnist reads them there too.
func TorchvisionMNISTRoot(root string) bool {
	raw := filepath.Join(root, torchvisionIDXDirs[MNIST])
	for _, phase := range []string{"train", "test"} {
		if images, _, err := findIDX(root, MNIST, phase); err != nil || filepath.Dir(images) != raw {
			return false
		}
		for _, kind := range []string{"-images-idx3-ubyte", "-labels-idx1-ubyte"} {
			if !isFile(filepath.Join(raw, idxNames[phase]+kind)) {
				return false
			}
		}
	}
	return true
}

// IDXImagesSHA256 identifies the images of a split of an IDX dataset (kind
// fashion-mnist or mnist) under root: the images file Open reads and the
// SHA-256 of its uncompressed bytes (what zcat FILE | sha256sum prints), so
// that a gzipped file and its unzipped copy, wherever they are, are the
// same images. The file streams through the hash: nothing of it is kept.
func IDXImagesSHA256(root, kind, phase string) (file, sum string, err error) {
	file, _, err = findIDX(root, kind, phase)
	if err != nil {
		return "", "", err
	}
	f, err := os.Open(file)
	if err != nil {
		return "", "", &FileError{Path: file, Err: err}
	}
	defer f.Close()
	r, _, err := idxStream(file, f)
	if err != nil {
		return "", "", err
	}
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", "", fileErr(file, "reading it: %v", err)
	}
	return file, hex.EncodeToString(h.Sum(nil)), nil
}

// loadIDXSet reads and cross-checks an images file and an optional labels file.
func loadIDXSet(images, labels string, needLabels bool) (*idxSet, error) {
	im, err := ReadIDX(images)
	if err != nil {
		return nil, err
	}
	if len(im.Dims) != 3 {
		return nil, fileErr(images, "IDX images must have 3 dimensions (N, H, W), file has %v (a labels file?)", im.Dims)
	}
	s := &idxSet{n: im.Dims[0], h: im.Dims[1], w: im.Dims[2], c: 1, pix: im.Data}
	if s.n == 0 || s.h == 0 || s.w == 0 {
		return nil, fileErr(images, "IDX images file holds no images (dimensions %v)", im.Dims)
	}
	if labels == "" {
		return s, nil
	}
	lb, err := ReadIDX(labels)
	if err != nil {
		return nil, err
	}
	if len(lb.Dims) != 1 {
		return nil, fileErr(labels, "IDX labels must have 1 dimension, file has %v", lb.Dims)
	}
	if lb.Dims[0] != s.n {
		return nil, fileErr(labels, "%d labels for %d images in %s", lb.Dims[0], s.n, images)
	}
	// MNIST and Fashion-MNIST have ten classes; a label past them (a
	// damaged or foreign file) would index past every class table. Where
	// the labels are needed that is an error; else they are left unread
	// (a DCGAN on another set under these names draws no labels).
	for i, l := range lb.Data {
		if l >= 10 {
			err := fileErr(labels, "label %d of image %d: MNIST and Fashion-MNIST labels are 0-9 (a damaged file, or not one of theirs)", l, i)
			if needLabels {
				return nil, err
			}
			slog.Warn("data: the labels are not used", "err", err.Error())
			return s, nil
		}
	}
	s.labels = lb.Data
	return s, nil
}
