package torch

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"gogan/pickle"
)

// Limits on what a .pth file may ask of the reader: beyond them it is refused
// rather than allowed to exhaust memory, the stack or time.
const (
	// maxDeflateRatio is deflate's best compression ratio: no zip entry of
	// n compressed bytes can expand to more than this many times n.
	maxDeflateRatio = 1032
	// maxPTHDepth bounds the nesting of dicts that are walked for tensors
	// (a dict inside itself would recurse for ever).
	maxPTHDepth = 64
	// maxPTHEntries bounds the dict entries walked: a dict shared by many
	// dicts is walked once per reference.
	maxPTHEntries = 1 << 16
	// viewSlack is what tensors may add up to beyond four times the file's
	// size: tied weights repeat a tensor, expanded views repeat its elements.
	viewSlack = 16 << 20
)

// LoadPTH reads the tensors of a file written by torch.save: the zip format
// of PyTorch 1.6 and later, or the legacy format before it (and with
// _use_new_zipfile_serialization=False), in which torchvision's and the
// reference repositories' published weights were saved. A state_dict, or a
// dict holding state dicts, whose nested keys are joined with ".". Tensors
// come back on the CPU, in the file's order. It runs no Python and no
// pickled code: only the pickle opcodes and the few torch globals that a
// saved state_dict uses are understood, and anything else is an error
// naming it.
func LoadPTH(file string) ([]Named, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return loadPTH(file, f, st.Size())
}

// loadPTH reads a torch.save archive of size bytes from r; name is the file's
// name for messages.
func loadPTH(name string, r io.ReaderAt, size int64) ([]Named, error) {
	out, err := readPTH(r, size)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// zipMagic begins a zip archive: torch.save's format from PyTorch 1.6 on.
const zipMagic = "PK\x03\x04"

// legacyHead says whether a file begins as torch.save's legacy format: a
// pickle of protocol 2 or more.
func legacyHead(head []byte) bool { return len(head) >= 2 && head[0] == 0x80 && head[1] >= 2 }

// LooksLikeTorchSave says whether a file that begins with head is one that
// torch.save writes, going by its first bytes (4 tell): a zip or a legacy
// pickle.
func LooksLikeTorchSave(head []byte) bool {
	return bytes.HasPrefix(head, []byte(zipMagic)) || legacyHead(head)
}

// notPTH says what a file that is not a torch.save archive looks like.
func notPTH(head []byte, size int64, zipErr error) error {
	const want = "neither a PyTorch zip checkpoint (torch.save of PyTorch >= 1.6) nor a legacy torch.save file"
	switch {
	case size == 0:
		return fmt.Errorf("empty file (0 bytes): %s", want)
	case bytes.HasPrefix(head, []byte(zipMagic)):
		// a zip's first entry, but no directory at its end: torch.save
		// writes that last, so the file stops short of what was written
		return fmt.Errorf("a zip archive cut short or damaged at its end (%v; %d bytes): the file is incomplete (a download or copy that did not finish?): copy it again from where it was saved", zipErr, size)
	case utf8.Valid(head[:max(0, len(head)-utf8.UTFMax)]) && !bytes.ContainsRune(head, 0):
		return fmt.Errorf("a text file: %s", want)
	}
	return fmt.Errorf("%s (%v)", want, zipErr)
}

// isSafetensors says whether a file starts as a safetensors file: a
// little-endian header length within the file, then the JSON header.
func isSafetensors(head []byte, size int64) bool {
	return len(head) >= 9 && binary.LittleEndian.Uint64(head) < uint64(size) && head[8] == '{'
}

// readSafetensorsStateDict reads a state dict saved with safetensors'
// save_file (the format gogan's own checkpoints use), so that weights move
// into gogan as they move out of it. A gogan checkpoint's
// weights.safetensors (its metadata names the gogan that wrote it) holds
// every network and the optimizers' state under their roles: it is refused
// with the commands that take it.
func readSafetensorsStateDict(r io.ReaderAt, size int64) ([]Named, error) {
	ts, meta, err := ReadSafetensors(r, size)
	if err != nil {
		return nil, fmt.Errorf("a safetensors file: %w", err)
	}
	if meta["gogan"] != "" {
		FreeNamed(ts)
		return nil, errors.New("a gogan checkpoint's weights.safetensors, not one network's state dict: a gogan checkpoint resumes with gogan resume, or its weights go to PyTorch with gogan export")
	}
	if len(ts) == 0 {
		return nil, errors.New("a safetensors file of no tensors: save the network's state_dict() (safetensors.torch.save_file(net.state_dict(), FILE))")
	}
	return ts, nil
}

func readPTH(r io.ReaderAt, size int64) ([]Named, error) {
	var head [512]byte
	n, _ := r.ReadAt(head[:], 0)
	switch {
	case legacyHead(head[:n]):
		return readLegacyPTH(r, size)
	case n == len(head) && string(head[257:262]) == "ustar":
		return nil, errors.New("a tar archive: the torch.save format of PyTorch before 0.1.10, which gogan does not read; load it with torch.load and save it again")
	}
	if isSafetensors(head[:n], size) {
		return readSafetensorsStateDict(r, size)
	}
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, notPTH(head[:n], size, err)
	}
	var pkl *zip.File
	records := map[string]*zip.File{}
	for _, f := range zr.File {
		dir, base := path.Split(f.Name)
		if base == "data.pkl" && strings.Count(f.Name, "/") == 1 {
			pkl = f
		}
		if strings.HasSuffix(dir, "/data/") {
			records[base] = f
		}
	}
	if pkl == nil {
		return nil, fmt.Errorf("no data.pkl in the archive: not written by torch.save")
	}
	for _, f := range zr.File {
		if _, rest, _ := strings.Cut(f.Name, "/"); rest == "constants.pkl" || strings.HasPrefix(rest, "code/") {
			return nil, errors.New("a TorchScript archive (torch.jit.save, or the .save of a torch.jit.script or trace), not a state_dict: gogan runs no TorchScript; in PyTorch, torch.save(torch.jit.load(FILE).state_dict(), 'net.pth') writes the state_dict to give it")
		}
	}
	var read zipRead
	raw, err := readZipEntry(pkl, size, &read)
	if err != nil {
		return nil, err
	}
	u := newPTHReader(raw, 0, records, size, false)
	u.read = read
	root, err := u.m.Next()
	if err != nil {
		return nil, err
	}
	return tensorsOf(root, size)
}

// legacyMagic is the first pickle of a legacy torch.save file after its
// PROTO (and FRAME from protocol 4): torch's MAGIC_NUMBER
// 0x1950a86a20f9469cfc6c as a LONG1 of 10 bytes, then STOP.
const legacyMagic = "\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19."

// legacyStart is where the pickle after the magic number starts, or 0 when
// raw does not begin with it.
func legacyStart(raw []byte) int {
	if len(raw) < 2 || raw[0] != 0x80 {
		return 0
	}
	pos := 2
	if len(raw) > pos && raw[pos] == 0x95 { // FRAME
		pos += 9
	}
	if len(raw) < pos || !bytes.HasPrefix(raw[pos:], []byte(legacyMagic)) {
		return 0
	}
	return pos + len(legacyMagic)
}

// readLegacyPTH reads torch.save's format before PyTorch 1.6 (torch's
// _legacy_save): five pickles one after the other (the magic number, the
// protocol version 1001, the system's byte order and type sizes, the object,
// the sorted keys of its storages), then each storage's bytes in the order
// of the keys, each after its element count as a little-endian int64.
func readLegacyPTH(r io.ReaderAt, size int64) ([]Named, error) {
	raw := make([]byte, size)
	if _, err := r.ReadAt(raw, 0); err != nil && err != io.EOF {
		return nil, err
	}
	start := legacyStart(raw)
	if start == 0 {
		return nil, errors.New("neither a PyTorch zip checkpoint (torch.save of PyTorch >= 1.6) nor a legacy torch.save file (its magic number is missing)")
	}
	u := newPTHReader(raw, start, nil, size, true)
	next := func(what string) (any, error) {
		v, err := u.m.Next()
		if err != nil {
			return nil, fmt.Errorf("legacy torch.save file, %s: %w", what, err)
		}
		return v, nil
	}
	version, err := next("protocol version")
	if err != nil {
		return nil, err
	}
	if version != int64(1001) {
		return nil, fmt.Errorf("legacy torch.save file of protocol version %s; gogan reads version 1001", pickle.Describe(version, 0))
	}
	info, err := next("system info")
	if err != nil {
		return nil, err
	}
	if d, ok := info.(*pickle.Dict); !ok || d.Vals["little_endian"] != true {
		return nil, errors.New("legacy torch.save file written on a big-endian machine (or without its system info): gogan reads little-endian storages only")
	}
	root, err := next("the saved object")
	if err != nil {
		return nil, err
	}
	keys, err := next("storage keys")
	if err != nil {
		return nil, err
	}
	list, ok := keys.(*[]any)
	if !ok {
		return nil, fmt.Errorf("legacy torch.save file: storage keys are %s, not a list", pickle.Describe(keys, 0))
	}
	for _, k := range *list {
		key, ok := k.(string)
		st := u.storages[key]
		if !ok || st == nil || st.root != nil {
			return nil, fmt.Errorf("legacy torch.save file: storage key %s is not a storage the object uses", pickle.Describe(k, 0))
		}
		if st.data != nil {
			return nil, fmt.Errorf("legacy torch.save file: storage %s listed twice", pickle.Clip(key))
		}
		count, err := u.m.ReadUint(8)
		if err != nil {
			return nil, fmt.Errorf("legacy torch.save file, storage %s: %w", pickle.Clip(key), err)
		}
		if count != uint64(st.numel) {
			return nil, fmt.Errorf("legacy torch.save file: storage %s holds %d elements, the pickle says %d", pickle.Clip(key), count, st.numel)
		}
		if st.data, err = u.m.ReadN(count * uint64(st.dtype.Size())); err != nil {
			return nil, fmt.Errorf("legacy torch.save file, storage %s: %w", pickle.Clip(key), err)
		}
	}
	for _, st := range u.storages {
		if st.root == nil {
			if st.data == nil {
				return nil, fmt.Errorf("legacy torch.save file: storage %s has no data in the file", pickle.Clip(st.key))
			}
			continue
		}
		// A view (PyTorch before 0.4 saved storage slices): its elements
		// are its root's from the offset on.
		es := int64(st.dtype.Size())
		avail := int64(len(st.root.data)) / es
		if st.root.data == nil || st.offset > avail || st.numel > avail-st.offset {
			return nil, fmt.Errorf("legacy torch.save file: storage view %s of %d elements at %d lies outside storage %s of %d",
				pickle.Clip(st.key), st.numel, st.offset, pickle.Clip(st.root.key), avail)
		}
		st.data = st.root.data[st.offset*es : (st.offset+st.numel)*es]
	}
	return tensorsOf(root, size)
}

// tensorsOf walks the loaded object for its tensors (nested dicts' keys
// joined with ".") and copies each out of its storage.
func tensorsOf(root any, size int64) ([]Named, error) {
	var out []Named
	budget := 4*size + viewSlack // bytes the tensors may take
	entries := 0
	var walk func(prefix string, v any, depth int) error
	walk = func(prefix string, v any, depth int) error {
		switch x := v.(type) {
		case *pickle.Dict:
			if depth == maxPTHDepth {
				return fmt.Errorf("dicts nested more than %d deep (a dict inside itself?)", maxPTHDepth)
			}
			for _, k := range x.Keys {
				if entries++; entries > maxPTHEntries {
					return fmt.Errorf("more than %d dict entries (one dict referenced many times?)", maxPTHEntries)
				}
				ks, ok := k.(string)
				if !ok {
					continue
				}
				if err := walk(prefix+ks+".", x.Vals[k], depth+1); err != nil {
					return err
				}
			}
		case *pthTensor:
			name := strings.TrimSuffix(prefix, ".")
			t, err := x.materialise(&budget)
			if err != nil {
				return fmt.Errorf("tensor %s: %w", name, err)
			}
			out = append(out, Named{Name: name, Tensor: t})
		}
		return nil
	}
	if _, ok := root.(*pthTensor); ok {
		// A bare tensor has no names to load by.
		return nil, fmt.Errorf("holds one tensor, not a state_dict (a dict of parameter names to tensors): save the network's, torch.save(net.state_dict(), path)")
	}
	if err := walk("", root, 0); err != nil {
		FreeNamed(out)
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("holds no tensors in a dict (expected a state_dict: torch.save(net.state_dict(), path))")
	}
	return out, nil
}

// zipRead is what the entries read so far from one archive took: their
// bytes in the archive and, of compressed ones, the bytes they expanded to.
type zipRead struct{ stored, expanded uint64 }

// readZipEntry reads a whole zip entry. It checks first that the size the
// entry declares is one the archive can hold, so that a lying header costs
// no allocation; reading to the end checks the size and the CRC. A stored
// entry (torch.save stores every record) is no larger than the file; a
// compressed one (an archive zipped again) may not declare more than half
// the memory this machine has available. read sums the entries read from
// the archive: records that do not overlap hold no more than the file
// between them (a central directory can name the same bytes as any number
// of records, each of which would be read and kept), and compressed ones no
// more than half the memory available between them.
func readZipEntry(f *zip.File, archiveSize int64, read *zipRead) ([]byte, error) {
	limit := f.CompressedSize64
	if f.Method != zip.Store {
		limit *= maxDeflateRatio
	}
	if f.CompressedSize64 > uint64(archiveSize) || f.UncompressedSize64 > limit {
		return nil, fmt.Errorf("zip entry %s claims %d bytes, more than its %d bytes in a %d-byte archive can hold",
			f.Name, f.UncompressedSize64, f.CompressedSize64, archiveSize)
	}
	if f.CompressedSize64 > uint64(archiveSize)-read.stored {
		return nil, fmt.Errorf("zip entry %s: the records read take more than the archive's %d bytes: entries that overlap (a damaged or crafted file; save the weights again with torch.save)",
			f.Name, archiveSize)
	}
	if avail, ok := memAvailable(); ok && f.Method != zip.Store && f.UncompressedSize64 > avail/2-min(avail/2, read.expanded) {
		return nil, fmt.Errorf("zip entry %s is compressed and expands to %d bytes (%d with the records before it), more than half the %d bytes of memory available "+
			"(torch.save stores its records uncompressed: save the weights again with torch.save rather than zipping them)",
			f.Name, f.UncompressedSize64, f.UncompressedSize64+read.expanded, avail)
	}
	read.stored += f.CompressedSize64
	if f.Method != zip.Store {
		read.expanded += f.UncompressedSize64
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("zip entry %s: %w", f.Name, err)
	}
	defer rc.Close()
	// One allocation of the declared size (bounded above): pages the data
	// never reaches cost nothing.
	b := make([]byte, f.UncompressedSize64)
	if _, err := io.ReadFull(rc, b); err != nil {
		return nil, fmt.Errorf("zip entry %s: %w", f.Name, err)
	}
	var more [1]byte
	if n, err := rc.Read(more[:]); n > 0 || err == nil {
		return nil, fmt.Errorf("zip entry %s: more data than the %d bytes it declares", f.Name, len(b))
	} else if err != io.EOF {
		return nil, fmt.Errorf("zip entry %s: %w", f.Name, err)
	}
	return b, nil
}

// memAvailable is the kernel's estimate of the memory available to start
// new work (MemAvailable in /proc/meminfo), in bytes; a test sets another.
var memAvailable = procMemAvailable

func procMemAvailable() (uint64, bool) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemAvailable:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err == nil
		}
	}
	return 0, false
}

type pthStorage struct {
	dtype DType
	key   string
	data  []byte
	// Legacy files: the element count the pickle gives (the data comes
	// after the pickles), and for a view the storage it slices from offset.
	numel  int64
	root   *pthStorage
	offset int64
}

// String names a storage in messages (never its bytes).
func (s *pthStorage) String() string { return "storage" }

// String names a tensor in messages (never its bytes).
func (t *pthTensor) String() string { return "tensor" }

// pthObject stands for an object of a class of pickledData, never built:
// a checkpoint dict's options or metrics beside its state dicts.
type pthObject struct{ class pickle.Global }

func (o *pthObject) String() string { return "object of class " + o.class.String() }

// pickledData are the classes of plain data that checkpoint dicts hold
// beside their state dicts (train.py's argparse options, a NumPy scalar
// of a best score): unpickled as a pthObject, so the state dicts load.
var pickledData = map[string]bool{
	"argparse.Namespace": true, "numpy.core.multiarray.scalar": true, "numpy._core.multiarray.scalar": true,
}

// unknownCall answers a call of a global neither the pickle machine nor
// call evaluates: a pthObject for pickledData, else a refusal saying what
// to save instead.
func unknownCall(g pickle.Global, _ []any) (any, error) {
	if pickledData[g.Module+"."+g.Name] {
		return &pthObject{class: g}, nil
	}
	return nil, fmt.Errorf("refusing to call %s from the pickle: gogan reads plain data (state dicts, arrays) only and runs no pickled code; "+
		"a network saved whole (torch.save(net)) or a dict holding other objects is no state_dict: load it in PyTorch and save the network's alone, torch.save(net.state_dict(), path)", g)
}

type pthTensor struct {
	storage *pthStorage
	offset  int64
	size    []int64
	stride  []int64
}

// pthReader reads the object of a torch.save file: the pickle machine,
// with the storages it names.
type pthReader struct {
	m        *pickle.Machine
	records  map[string]*zip.File // zip format: the storages' records
	storages map[string]*pthStorage
	size     int64 // the file's size
	legacy   bool  // the legacy format: storages come after the pickles
	read     zipRead
}

func newPTHReader(data []byte, pos int, records map[string]*zip.File, size int64, legacy bool) *pthReader {
	r := &pthReader{m: pickle.NewMachine(data, pos), records: records, storages: map[string]*pthStorage{}, size: size, legacy: legacy}
	r.m.Persistent = func(pid any) (any, error) { return r.persistent(pid) }
	r.m.Call = r.call
	r.m.Unknown = unknownCall
	return r
}

var storageDTypes = map[string]DType{
	"FloatStorage": Float32, "DoubleStorage": Float64, "HalfStorage": Float16, "BFloat16Storage": BFloat16,
	"LongStorage": Int64, "IntStorage": Int32, "ByteStorage": Uint8, "BoolStorage": Bool,
}

// persistent loads the storage a persistent id ("storage", type, key,
// location, numel) names; in a legacy file ("storage", type, key, location,
// numel, view) it notes the storage, whose bytes come after the pickles.
func (u *pthReader) persistent(pid any) (*pthStorage, error) {
	t, ok := pid.([]any)
	if ok && len(t) == 4 && t[0] == "module" {
		return nil, errors.New("the file holds a pickled nn.Module (torch.save(model)), not a state_dict: load it in PyTorch and save model.state_dict()")
	}
	n := 5
	if u.legacy {
		n = 6
	}
	if !ok || len(t) != n || t[0] != "storage" {
		return nil, fmt.Errorf("pickle: unsupported persistent id %s", pickle.Describe(pid, 0))
	}
	g, ok := t[1].(pickle.Global)
	dt, known := storageDTypes[g.Name]
	key, ok2 := t[2].(string)
	numel, ok3 := t[4].(int64)
	// PyTorch before 1.0 named CUDA tensors' storages torch.cuda.*Storage
	// (the location says the device; gogan loads onto the CPU either way).
	if !ok || !known || (g.Module != "torch" && !(u.legacy && g.Module == "torch.cuda")) {
		return nil, fmt.Errorf("unsupported storage type %s", pickle.Describe(t[1], 0))
	}
	if !ok2 || !ok3 || numel < 0 {
		return nil, fmt.Errorf("pickle: malformed persistent id %s", pickle.Describe(pid, 0))
	}
	if u.legacy {
		return u.legacyStorage(key, dt, numel, t[5])
	}
	if st, ok := u.storages[key]; ok {
		return st, nil
	}
	f, ok := u.records[key]
	if !ok {
		return nil, fmt.Errorf("storage record data/%s missing from the archive", pickle.Clip(key))
	}
	data, err := readZipEntry(f, u.size, &u.read)
	if err != nil {
		return nil, fmt.Errorf("storage data/%s: %w", pickle.Clip(key), err)
	}
	if es := int64(dt.Size()); numel > int64(len(data))/es || numel*es != int64(len(data)) {
		return nil, fmt.Errorf("storage data/%s holds %d bytes, not the %d elements of %s the pickle says", pickle.Clip(key), len(data), numel, dt)
	}
	st := &pthStorage{dtype: dt, key: key, data: data}
	u.storages[key] = st
	return st, nil
}

// legacyStorage notes a legacy file's storage: its bytes are read after the
// pickles. view is None, or (view key, offset, numel) for a slice of it.
func (u *pthReader) legacyStorage(key string, dt DType, numel int64, view any) (*pthStorage, error) {
	root, ok := u.storages[key]
	if !ok {
		if numel > u.size/int64(dt.Size()) {
			return nil, fmt.Errorf("storage %s of %d elements of %s is larger than the file", pickle.Clip(key), numel, dt)
		}
		root = &pthStorage{dtype: dt, key: key, numel: numel}
		u.storages[key] = root
	}
	if root.dtype != dt || root.numel != numel || root.root != nil {
		return nil, fmt.Errorf("storage %s is given as %d elements of %s and as %d of %s", pickle.Clip(key), root.numel, root.dtype, numel, dt)
	}
	if view == nil {
		return root, nil
	}
	v, ok := view.([]any)
	if !ok || len(v) != 3 {
		return nil, fmt.Errorf("pickle: malformed storage view %s", pickle.Describe(view, 0))
	}
	vkey, ok1 := v[0].(string)
	off, ok2 := v[1].(int64)
	n, ok3 := v[2].(int64)
	if !ok1 || !ok2 || !ok3 || off < 0 || n < 0 {
		return nil, fmt.Errorf("pickle: malformed storage view %s", pickle.Describe(view, 0))
	}
	if st, ok := u.storages[vkey]; ok {
		if st.root != root || st.offset != off || st.numel != n {
			return nil, fmt.Errorf("storage view %s is given twice, differently", pickle.Clip(vkey))
		}
		return st, nil
	}
	st := &pthStorage{dtype: dt, key: vkey, numel: n, root: root, offset: off}
	u.storages[vkey] = st
	return st, nil
}

// call evaluates the torch functions a state_dict pickle calls; the
// pickle machine refuses every other but dicts and NumPy arrays.
func (r *pthReader) call(g pickle.Global, a []any) (any, bool, error) {
	switch g.Module + "." + g.Name {
	case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor":
		if len(a) < 4 {
			return nil, true, fmt.Errorf("pickle: %s with %d arguments", g, len(a))
		}
		st, ok1 := a[0].(*pthStorage)
		off, ok2 := a[1].(int64)
		size, ok3 := pickle.Ints(a[2])
		stride, ok4 := pickle.Ints(a[3])
		if !ok1 || !ok2 || !ok3 || !ok4 {
			return nil, true, fmt.Errorf("pickle: malformed %s arguments %s", g, pickle.Describe(a, 0))
		}
		return &pthTensor{storage: st, offset: off, size: size, stride: stride}, true, nil
	case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
		if len(a) < 1 {
			return nil, true, fmt.Errorf("pickle: %s without data", g)
		}
		return a[0], true, nil
	}
	return nil, false, nil
}

// materialise copies the (possibly strided) view out of its storage, after
// checking that the view lies inside the storage and that its bytes fit
// what is left of budget.
func (p *pthTensor) materialise(budget *int64) (*Tensor, error) {
	if len(p.stride) != len(p.size) {
		return nil, fmt.Errorf("%d strides %v for the %d dimensions of shape %v", len(p.stride), p.stride, len(p.size), p.size)
	}
	es := int64(p.storage.dtype.Size())
	n := int64(1)
	for d, s := range p.size {
		if s < 0 || p.stride[d] < 0 {
			return nil, fmt.Errorf("negative size or stride: shape %v, strides %v", p.size, p.stride)
		}
		if s != 0 && n > math.MaxInt64/es/s {
			return nil, fmt.Errorf("shape %v has too many elements", p.size)
		}
		n *= s
	}
	if n*es > *budget {
		return nil, fmt.Errorf("shape %v needs %d bytes, more than is left of 4 times the file's size (views that repeat their storage?)", p.size, n*es)
	}
	*budget -= n * es
	avail := int64(len(p.storage.data)) / es
	// The view reaches storage indices offset ... offset + sum((size-1)*stride).
	last := p.offset
	if n > 0 {
		if p.offset < 0 || p.offset >= avail {
			return nil, fmt.Errorf("storage offset %d outside storage %s of %d elements", p.offset, pickle.Clip(p.storage.key), avail)
		}
		for d, s := range p.size {
			if st := p.stride[d]; st != 0 && s-1 > (avail-1-last)/st {
				return nil, fmt.Errorf("shape %v, strides %v at offset %d reach past the %d elements of storage %s", p.size, p.stride, p.offset, avail, pickle.Clip(p.storage.key))
			}
			last += (s - 1) * p.stride[d]
		}
	}
	// The trailing dimensions laid out contiguously make one block, the
	// view a sequence of blocks: the whole range of a contiguous view, rows
	// of a transposed or expanded one, or single elements.
	inner, block := len(p.size), int64(1)
	for inner > 0 && (p.size[inner-1] == 1 || p.stride[inner-1] == block) {
		inner--
		block *= p.size[inner]
	}
	var out []byte // nil for an empty tensor
	switch {
	case n == 0:
	case inner == 0:
		out = p.storage.data[p.offset*es : (p.offset+n)*es]
	default:
		out = make([]byte, n*es)
		idx := make([]int64, inner)
		for i := int64(0); i < n; i += block {
			pos := p.offset
			for d, k := range idx {
				pos += k * p.stride[d]
			}
			copy(out[i*es:(i+block)*es], p.storage.data[pos*es:(pos+block)*es])
			for d := inner - 1; d >= 0; d-- {
				idx[d]++
				if idx[d] < p.size[d] {
					break
				}
				idx[d] = 0
			}
		}
	}
	var t *Tensor
	err := Try(func() { t = FromBytes(out, p.storage.dtype, CPUDevice, p.size...).Persist() })
	return t, err
}

// SortedNames is the names of a state dict, sorted (for messages).
func SortedNames(ts []Named) []string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = t.Name
	}
	sort.Strings(s)
	return s
}

// HubCheckpoints is where torch.hub (and torchvision's model weights)
// caches downloaded weights: $TORCH_HOME/hub/checkpoints, TORCH_HOME
// defaulting to $XDG_CACHE_HOME/torch or ~/.cache/torch; "" when there is
// no home folder.
func HubCheckpoints() string {
	home := os.Getenv("TORCH_HOME")
	if home == "" {
		cache := os.Getenv("XDG_CACHE_HOME")
		if cache == "" {
			h, err := os.UserHomeDir()
			if err != nil {
				return ""
			}
			cache = filepath.Join(h, ".cache")
		}
		home = filepath.Join(cache, "torch")
	}
	return filepath.Join(home, "hub", "checkpoints")
}

// HubCheckpointsName is HubCheckpoints for messages: the folder, or why
// there is none.
func HubCheckpointsName() string {
	if dir := HubCheckpoints(); dir != "" {
		return dir
	}
	return "(none: HOME, XDG_CACHE_HOME and TORCH_HOME are unset; set TORCH_HOME)"
}
