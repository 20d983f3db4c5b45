package data

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"gogan/pickle"
)

// CIFAR-10 is read in the python version torchvision's datasets.CIFAR10
// reads (and downloads): pickled batches of 10,000 32x32 colour images,
// data_batch_1 to 5 for training and test_batch, in
// data.root/cifar-10-batches-py/, in data.root itself, or straight from
// data.root/cifar-10-python.tar.gz as torchvision downloads it. The images
// come out in file order, as CIFAR10's __getitem__ gives them.

// CIFAR10Classes are CIFAR-10's labels 0..9 (batches.meta's label_names).
var CIFAR10Classes = []string{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"}

const (
	cifarFolder  = "cifar-10-batches-py"
	cifarArchive = "cifar-10-python.tar.gz"
	cifarSide    = 32
	cifarBytes   = 3 * cifarSide * cifarSide
	// maxCIFARBatch bounds one pickled batch's size (the real ones are 31 MB).
	maxCIFARBatch = 256 << 20
)

// cifarBatches are the batch files of a phase.
func cifarBatches(phase string) []string {
	if phase == "train" {
		return []string{"data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5"}
	}
	return []string{"test_batch"}
}

// cifarDir is the folder of data.root's batches of a phase:
// data.root/cifar-10-batches-py, as torchvision keeps them, or data.root
// itself; "" where neither holds them (cifar-10-python.tar.gz, or none).
func cifarDir(root, phase string) string {
	for _, dir := range []string{filepath.Join(root, cifarFolder), root} {
		if _, err := os.Stat(filepath.Join(dir, cifarBatches(phase)[0])); err == nil {
			return dir
		}
	}
	return ""
}

// CIFAR10InRoot says that data.root holds CIFAR-10's batches of a phase
// itself, not in cifar-10-batches-py/ as torchvision's CIFAR10 reads them.
func CIFAR10InRoot(root, phase string) bool {
	return cifarDir(root, phase) == root
}

// cifarOthers are what CIFAR's other downloads leave, and what they are.
var cifarOthers = []struct{ names, what string }{
	{"cifar-10-batches-bin cifar-10-binary.tar.gz data_batch_1.bin", "CIFAR-10's binary version"},
	{"cifar-10-batches-mat cifar-10-matlab.tar.gz data_batch_1.mat", "CIFAR-10's MATLAB version"},
	{"cifar-100-python cifar-100-python.tar.gz cifar-100-binary cifar-100-binary.tar.gz cifar-100-matlab.tar.gz", "CIFAR-100"},
}

// cifarElsewhere says what data.root holds instead of CIFAR-10's python
// version: another version or CIFAR-100 (named), or the python version one
// folder down (data.root set a level too high).
func cifarElsewhere(root string) string {
	for _, o := range cifarOthers {
		for _, n := range strings.Fields(o.names) {
			if _, err := os.Stat(filepath.Join(root, n)); err == nil {
				return fmt.Sprintf("; %s there is %s, which neither gogan nor torchvision's CIFAR10 (pytorch/examples dcgan's --dataset cifar10) reads: get %s, the python version (https://www.cs.toronto.edu/~kriz/cifar.html)", n, o.what, cifarArchive)
			}
		}
	}
	for _, n := range []string{cifarFolder, cifarArchive} {
		if found, _ := filepath.Glob(filepath.Join(root, "*", n)); len(found) > 0 {
			return fmt.Sprintf("; %s is there: set data.root=%s", found[0], filepath.Dir(found[0]))
		}
	}
	return ""
}

// cifarBatch is one batch file's bytes and its name for messages.
type cifarBatch struct {
	path string
	data []byte
}

// loadCIFAR10 reads a phase's batches into one in-memory set (HWC pixels).
func loadCIFAR10(root, phase string) (*idxSet, error) {
	if !isDir(root) {
		return nil, missingRoot(root, false)
	}
	names := cifarBatches(phase)
	var batches []cifarBatch
	source := ""
	if dir := cifarDir(root, phase); dir != "" {
		for _, n := range names {
			p := filepath.Join(dir, n)
			b, err := readCIFARFile(p)
			if err != nil {
				return nil, err
			}
			batches = append(batches, cifarBatch{p, b})
		}
		source = dir
	}
	if source == "" {
		source = filepath.Join(root, cifarArchive)
		if _, err := os.Stat(source); err != nil {
			return nil, &ConfigError{Key: "data.root", Value: root, Msg: fmt.Sprintf(
				"no CIFAR-10 %s batches: want %s/%s (the python version, as torchvision's CIFAR10 keeps it), the batch files in data.root itself, or %s%s",
				phase, cifarFolder, names[0], cifarArchive, cifarElsewhere(root))}
		}
		var err error
		if batches, err = readCIFARArchive(source, names); err != nil {
			return nil, err
		}
	}
	s := &idxSet{h: cifarSide, w: cifarSide, c: 3}
	for _, b := range batches {
		pix, labels, err := parseCIFARBatch(b.path, b.data)
		if err != nil {
			return nil, err
		}
		s.pix = append(s.pix, pix...)
		s.labels = append(s.labels, labels...)
	}
	s.n = len(s.labels)
	if s.n == 0 {
		return nil, &ConfigError{Key: "data.root", Value: root, Msg: fmt.Sprintf("CIFAR-10's %s batches in %s hold no images", phase, source)}
	}
	return s, nil
}

func readCIFARFile(p string) ([]byte, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, &FileError{Path: p, Err: err}
	}
	if st.Size() > maxCIFARBatch {
		return nil, fileErr(p, "%d bytes: not a CIFAR-10 batch (they are about 31 MB)", st.Size())
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, &FileError{Path: p, Err: err}
	}
	return b, nil
}

// readCIFARArchive reads the named batches out of cifar-10-python.tar.gz,
// in the order of names; each is named "archive:member" in messages.
func readCIFARArchive(archive string, names []string) ([]cifarBatch, error) {
	f, err := os.Open(archive)
	if err != nil {
		return nil, &FileError{Path: archive, Err: err}
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fileErr(archive, "not a gzip file: %v", err)
	}
	tr := tar.NewReader(zr)
	found := map[string][]byte{} // by batch name
	for len(found) < len(names) {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fileErr(archive, "damaged archive: %v", unexpected(err))
		}
		name := path.Clean(h.Name) // ./cifar-10-batches-py/... too
		if path.Dir(name) != cifarFolder || !slices.Contains(names, path.Base(name)) {
			continue
		}
		if h.Size > maxCIFARBatch {
			return nil, fileErr(archive, "%s claims %d bytes: not a CIFAR-10 batch", h.Name, h.Size)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return nil, fileErr(archive, "%s: %v", h.Name, unexpected(err))
		}
		found[path.Base(name)] = b
	}
	// The gzip checksum covers the whole stream and is read at its end:
	// without reading on, a damaged byte in a batch would go unnoticed.
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return nil, fileErr(archive, "damaged archive: %v", unexpected(err))
	}
	batches := make([]cifarBatch, len(names))
	for i, n := range names {
		if found[n] == nil {
			return nil, fileErr(archive, "no %s/%s in the archive", cifarFolder, n)
		}
		batches[i] = cifarBatch{archive + ":" + cifarFolder + "/" + n, found[n]}
	}
	return batches, nil
}

// parseCIFARBatch reads one pickled batch: "data", uint8 [N 3072] (each
// row the red, green and blue planes of a 32x32 image), and "labels", N
// ints 0..9. The pixels come back HWC, as torchvision's
// reshape(-1, 3, 32, 32).transpose((0, 2, 3, 1)).
func parseCIFARBatch(path string, b []byte) (pix, labels []uint8, err error) {
	v, err := pickle.Read(b)
	if err != nil {
		return nil, nil, fileErr(path, "not a CIFAR-10 python batch: %v", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, nil, fileErr(path, "not a CIFAR-10 python batch: the pickle holds no dict")
	}
	arr, ok := m["data"].(*pickle.NDArray)
	if !ok {
		return nil, nil, fileErr(path, "not a CIFAR-10 python batch: no \"data\" array")
	}
	planes, err := arr.Uint8(-1, cifarBytes)
	if err != nil {
		return nil, nil, fileErr(path, "\"data\" is %v: want uint8 [N %d]", err, cifarBytes)
	}
	n := int(arr.Shape[0])
	list, ok := m["labels"].([]any)
	if !ok || len(list) != n {
		return nil, nil, fileErr(path, "want a \"labels\" list of %d ints beside \"data\" (CIFAR-100's fine_labels are not read)", n)
	}
	labels = make([]uint8, n)
	for i, l := range list {
		k, ok := l.(int64)
		if !ok || k < 0 || k > 9 {
			return nil, nil, fileErr(path, "label %d is %v: CIFAR-10 labels are 0..9", i, l)
		}
		labels[i] = uint8(k)
	}
	const hw = cifarSide * cifarSide
	pix = make([]uint8, n*cifarBytes)
	for i := 0; i < n; i++ {
		src, dst := planes[i*cifarBytes:], pix[i*cifarBytes:]
		for p := 0; p < hw; p++ {
			dst[3*p], dst[3*p+1], dst[3*p+2] = src[p], src[hw+p], src[2*hw+p]
		}
	}
	return pix, labels, nil
}
