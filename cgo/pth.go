package torch

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
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

func readPTH(r io.ReaderAt, size int64) ([]Named, error) {
	var head [512]byte
	n, _ := r.ReadAt(head[:], 0)
	switch {
	case n >= 2 && head[0] == 0x80 && head[1] >= 2:
		return readLegacyPTH(r, size)
	case n == len(head) && string(head[257:262]) == "ustar":
		return nil, errors.New("a tar archive: the torch.save format of PyTorch before 0.1.10, which gogan does not read; load it with torch.load and save it again")
	}
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("not a PyTorch zip checkpoint (torch.save of PyTorch >= 1.6): %w", err)
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
	raw, err := readZipEntry(pkl, size)
	if err != nil {
		return nil, err
	}
	u := &unpickler{data: raw, memo: map[uint32]any{}, records: records, storages: map[string]*pthStorage{}, size: size}
	root, err := u.load()
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
	u := &unpickler{data: raw, pos: start, storages: map[string]*pthStorage{}, size: size, legacy: true}
	next := func(what string) (any, error) {
		u.stack, u.marks, u.memo = nil, nil, map[uint32]any{}
		v, err := u.load()
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
		return nil, fmt.Errorf("legacy torch.save file of protocol version %s; gogan reads version 1001", describe(version, 0))
	}
	info, err := next("system info")
	if err != nil {
		return nil, err
	}
	if d, ok := info.(*pthDict); !ok || d.vals["little_endian"] != true {
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
		return nil, fmt.Errorf("legacy torch.save file: storage keys are %s, not a list", describe(keys, 0))
	}
	for _, k := range *list {
		key, ok := k.(string)
		st := u.storages[key]
		if !ok || st == nil || st.root != nil {
			return nil, fmt.Errorf("legacy torch.save file: storage key %s is not a storage the object uses", describe(k, 0))
		}
		if st.data != nil {
			return nil, fmt.Errorf("legacy torch.save file: storage %s listed twice", clip(key))
		}
		count, err := u.readUint(8)
		if err != nil {
			return nil, fmt.Errorf("legacy torch.save file, storage %s: %w", clip(key), err)
		}
		if count != uint64(st.numel) {
			return nil, fmt.Errorf("legacy torch.save file: storage %s holds %d elements, the pickle says %d", clip(key), count, st.numel)
		}
		if st.data, err = u.readN(count * uint64(st.dtype.Size())); err != nil {
			return nil, fmt.Errorf("legacy torch.save file, storage %s: %w", clip(key), err)
		}
	}
	for _, st := range u.storages {
		if st.root == nil {
			if st.data == nil {
				return nil, fmt.Errorf("legacy torch.save file: storage %s has no data in the file", clip(st.key))
			}
			continue
		}
		// A view (PyTorch before 0.4 saved storage slices): its elements
		// are its root's from the offset on.
		es := int64(st.dtype.Size())
		avail := int64(len(st.root.data)) / es
		if st.root.data == nil || st.offset > avail || st.numel > avail-st.offset {
			return nil, fmt.Errorf("legacy torch.save file: storage view %s of %d elements at %d lies outside storage %s of %d",
				clip(st.key), st.numel, st.offset, clip(st.root.key), avail)
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
		case *pthDict:
			if depth == maxPTHDepth {
				return fmt.Errorf("dicts nested more than %d deep (a dict inside itself?)", maxPTHDepth)
			}
			for _, k := range x.keys {
				if entries++; entries > maxPTHEntries {
					return fmt.Errorf("more than %d dict entries (one dict referenced many times?)", maxPTHEntries)
				}
				ks, ok := k.(string)
				if !ok {
					continue
				}
				if err := walk(prefix+ks+".", x.vals[k], depth+1); err != nil {
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
	if err := walk("", root, 0); err != nil {
		FreeNamed(out)
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("holds no tensors (expected a state_dict)")
	}
	return out, nil
}

// readZipEntry reads a whole zip entry. It checks first that the size the
// entry declares is one the archive can hold, so that a lying header costs
// no allocation; reading to the end checks the size and the CRC.
func readZipEntry(f *zip.File, archiveSize int64) ([]byte, error) {
	limit := f.CompressedSize64
	if f.Method != zip.Store {
		limit *= maxDeflateRatio
	}
	if f.CompressedSize64 > uint64(archiveSize) || f.UncompressedSize64 > limit {
		return nil, fmt.Errorf("zip entry %s claims %d bytes, more than its %d bytes in a %d-byte archive can hold",
			f.Name, f.UncompressedSize64, f.CompressedSize64, archiveSize)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("zip entry %s: %w", f.Name, err)
	}
	defer rc.Close()
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

// pthDict keeps insertion order, as OrderedDict and Python dicts do.
type pthDict struct {
	keys []any
	vals map[any]any
}

func (d *pthDict) set(k, v any) {
	if _, ok := d.vals[k]; !ok {
		d.keys = append(d.keys, k)
	}
	d.vals[k] = v
}

type pthGlobal struct{ module, name string }

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

type pthTensor struct {
	storage *pthStorage
	offset  int64
	size    []int64
	stride  []int64
}

type unpickler struct {
	data     []byte // the pickle
	pos      int    // the next opcode's offset in data
	stack    []any
	marks    []int // the stack's length at each open MARK
	memo     map[uint32]any
	records  map[string]*zip.File
	storages map[string]*pthStorage
	size     int64 // the archive's size
	legacy   bool  // a legacy torch.save file: storages come after the pickles
}

var storageDTypes = map[string]DType{
	"FloatStorage": Float32, "DoubleStorage": Float64, "HalfStorage": Float16, "BFloat16Storage": BFloat16,
	"LongStorage": Int64, "IntStorage": Int32, "ByteStorage": Uint8, "BoolStorage": Bool,
}

var errUnderflow = errors.New("pickle: stack underflow")

func (u *unpickler) push(v any) { u.stack = append(u.stack, v) }

// floor is the lowest stack index in reach: items below the last MARK are
// not, as in Python's unpickler.
func (u *unpickler) floor() int {
	if len(u.marks) == 0 {
		return 0
	}
	return u.marks[len(u.marks)-1]
}

// popN pops the top n items, in stack order.
func (u *unpickler) popN(n int) ([]any, error) {
	if len(u.stack)-u.floor() < n {
		return nil, errUnderflow
	}
	items := append([]any(nil), u.stack[len(u.stack)-n:]...)
	u.stack = u.stack[:len(u.stack)-n]
	return items, nil
}

func (u *unpickler) pop() (any, error) {
	items, err := u.popN(1)
	if err != nil {
		return nil, err
	}
	return items[0], nil
}

func (u *unpickler) top() (any, error) {
	if len(u.stack) <= u.floor() {
		return nil, errUnderflow
	}
	return u.stack[len(u.stack)-1], nil
}

// popMark pops the items pushed since the last MARK, and the MARK.
// popInto pops the items an APPEND/SETITEM (single: n items) or an
// APPENDS/SETITEMS (up to the mark) adds, and returns them with the container
// they go into, now on top of the stack.
func (u *unpickler) popInto(single bool, n int) (items []any, target any, err error) {
	if single {
		items, err = u.popN(n)
	} else {
		items, err = u.popMark()
	}
	if err != nil {
		return nil, nil, err
	}
	target, err = u.top()
	return items, target, err
}

func (u *unpickler) popMark() ([]any, error) {
	if len(u.marks) == 0 {
		return nil, errors.New("pickle: no MARK")
	}
	items, err := u.popN(len(u.stack) - u.floor())
	u.marks = u.marks[:len(u.marks)-1]
	return items, err
}

// readN returns the next n bytes, after checking that the pickle holds them.
func (u *unpickler) readN(n uint64) ([]byte, error) {
	if n > uint64(len(u.data)-u.pos) {
		return nil, fmt.Errorf("pickle: truncated: %d bytes wanted at byte %d, %d left", n, u.pos, len(u.data)-u.pos)
	}
	b := u.data[u.pos : u.pos+int(n)]
	u.pos += int(n)
	return b, nil
}

// readUint reads an n-byte little-endian unsigned integer.
func (u *unpickler) readUint(n int) (uint64, error) {
	b, err := u.readN(uint64(n))
	if err != nil {
		return 0, err
	}
	var v uint64
	for i := n - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v, nil
}

func (u *unpickler) readLine() (string, error) {
	i := bytes.IndexByte(u.data[u.pos:], '\n')
	if i < 0 {
		return "", fmt.Errorf("pickle: truncated: no end of line after byte %d", u.pos)
	}
	s := string(u.data[u.pos : u.pos+i])
	u.pos += i + 1
	return s, nil
}

func (u *unpickler) load() (any, error) {
	for {
		if u.pos == len(u.data) {
			return nil, errors.New("pickle: truncated (no STOP)")
		}
		op := u.data[u.pos]
		u.pos++
		if err := u.step(op); err == errStop {
			return u.pop()
		} else if err != nil {
			return nil, err
		}
	}
}

var errStop = errors.New("STOP")

// step runs one opcode.
func (u *unpickler) step(op byte) error {
	switch op {
	case 0x80: // PROTO
		_, err := u.readN(1)
		return err
	case 0x95: // FRAME
		_, err := u.readN(8)
		return err
	case '.': // STOP
		return errStop
	case '(': // MARK
		u.marks = append(u.marks, len(u.stack))
	case 'N':
		u.push(nil)
	case 0x88:
		u.push(true)
	case 0x89:
		u.push(false)
	case 'J', 'K', 'M': // BININT, BININT1, BININT2
		v, err := u.readUint(map[byte]int{'J': 4, 'K': 1, 'M': 2}[op])
		if err != nil {
			return err
		}
		if op == 'J' {
			u.push(int64(int32(uint32(v))))
		} else {
			u.push(int64(v))
		}
	case 0x8a: // LONG1
		n, err := u.readUint(1)
		if err != nil {
			return err
		}
		b, err := u.readN(n)
		if err != nil {
			return err
		}
		v, ok := longLE(b)
		if !ok {
			return fmt.Errorf("pickle: integer of %d bytes at byte %d does not fit 64 bits", n, u.pos)
		}
		u.push(v)
	case 'G': // BINFLOAT (big-endian)
		b, err := u.readN(8)
		if err != nil {
			return err
		}
		u.push(math.Float64frombits(binary.BigEndian.Uint64(b)))
	case 'X', 'T', 0x8c, 'U', 'B', 'C', 0x8d, 0x8e:
		// BINUNICODE, BINSTRING, SHORT_BINUNICODE, SHORT_BINSTRING,
		// BINBYTES, SHORT_BINBYTES, BINUNICODE8, BINBYTES8: Python 2's
		// str and Python 3's bytes are Go strings of their bytes.
		width := map[byte]int{'X': 4, 'T': 4, 0x8c: 1, 'U': 1, 'B': 4, 'C': 1, 0x8d: 8, 0x8e: 8}[op]
		n, err := u.readUint(width)
		if err != nil {
			return err
		}
		s, err := u.readN(n)
		if err != nil {
			return err
		}
		u.push(string(s))
	case 'c': // GLOBAL
		mod, err := u.readLine()
		if err != nil {
			return err
		}
		name, err := u.readLine()
		if err != nil {
			return err
		}
		u.push(pthGlobal{mod, name})
	case 0x93: // STACK_GLOBAL
		items, err := u.popN(2)
		if err != nil {
			return err
		}
		mod, ok1 := items[0].(string)
		name, ok2 := items[1].(string)
		if !ok1 || !ok2 {
			return fmt.Errorf("pickle: STACK_GLOBAL of %s", describe(items, 0))
		}
		u.push(pthGlobal{mod, name})
	case 'q', 'r', 0x94: // BINPUT, LONG_BINPUT, MEMOIZE
		idx := uint64(len(u.memo))
		var err error
		if op == 'q' {
			idx, err = u.readUint(1)
		} else if op == 'r' {
			idx, err = u.readUint(4)
		}
		if err != nil {
			return err
		}
		v, err := u.top()
		if err != nil {
			return err
		}
		u.memo[uint32(idx)] = v
	case 'h', 'j': // BINGET, LONG_BINGET
		width := 1
		if op == 'j' {
			width = 4
		}
		idx, err := u.readUint(width)
		if err != nil {
			return err
		}
		v, ok := u.memo[uint32(idx)]
		if !ok {
			return fmt.Errorf("pickle: memo %d missing", idx)
		}
		u.push(v)
	case ')':
		u.push([]any{})
	case 't', 0x85, 0x86, 0x87: // TUPLE, TUPLE1..3
		var items []any
		var err error
		if op == 't' {
			items, err = u.popMark()
		} else {
			items, err = u.popN(int(op - 0x84))
		}
		if err != nil {
			return err
		}
		u.push(items)
	case '}':
		u.push(&pthDict{vals: map[any]any{}})
	case ']':
		u.push(&[]any{})
	case 'a', 'e': // APPEND, APPENDS
		items, target, err := u.popInto(op == 'a', 1)
		if err != nil {
			return err
		}
		if l, ok := target.(*[]any); ok {
			*l = append(*l, items...)
		}
	case 's', 'u': // SETITEM, SETITEMS
		items, target, err := u.popInto(op == 's', 2)
		if err != nil {
			return err
		}
		d, ok := target.(*pthDict)
		if !ok {
			return fmt.Errorf("pickle: SETITEM on %s", describe(target, 0))
		}
		if len(items)%2 != 0 {
			return fmt.Errorf("pickle: SETITEMS with an odd number of items")
		}
		for i := 0; i < len(items); i += 2 {
			d.set(hashable(items[i]), items[i+1])
		}
	case 'Q': // BINPERSID
		pid, err := u.pop()
		if err != nil {
			return err
		}
		st, err := u.persistent(pid)
		if err != nil {
			return err
		}
		u.push(st)
	case 'R', 0x81: // REDUCE, NEWOBJ
		items, err := u.popN(2)
		if err != nil {
			return err
		}
		v, err := u.call(items[0], items[1])
		if err != nil {
			return err
		}
		u.push(v)
	case 'b': // BUILD: a NumPy array's or dtype's state; others' (OrderedDict's _metadata) ignored
		state, err := u.pop()
		if err != nil {
			return err
		}
		target, err := u.top()
		if err != nil {
			return err
		}
		return build(target, state)
	default:
		return fmt.Errorf("pickle: unsupported opcode 0x%02x at byte %d (not a plain state_dict?)", op, u.pos-1)
	}
	return nil
}

// tupleKey stands for a tuple used as a dict key: a Go map cannot hash
// the tuple, and only string keys name tensors.
type tupleKey string

// hashable turns a tuple key into a tupleKey so it can index a Go map.
func hashable(k any) any {
	if t, ok := k.([]any); ok {
		return tupleKey(describe(t, 0))
	}
	return k
}

// describe renders a pickled value for a message, to a bounded depth and length.
func describe(v any, depth int) string {
	switch x := v.(type) {
	case []any:
		if depth == 3 {
			return "(...)"
		}
		var parts []string
		for i, e := range x {
			if i == 6 {
				parts = append(parts, "...")
				break
			}
			parts = append(parts, describe(e, depth+1))
		}
		return "(" + strings.Join(parts, ", ") + ")"
	case string:
		return strconv.Quote(clip(x))
	case pthGlobal:
		return x.String()
	case nil:
		return "None"
	case *pthDict:
		return "dict"
	case *[]any:
		return "list"
	case *pthStorage:
		return "storage"
	case *pthTensor:
		return "tensor"
	case *NDArray:
		return "ndarray"
	case *npDtype:
		return "numpy.dtype"
	}
	return fmt.Sprint(v)
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

func (g pthGlobal) String() string { return strconv.Quote(clip(g.module + "." + g.name)) }

// longLE decodes LONG1's little-endian two's complement integer.
func longLE(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, true
	}
	be := make([]byte, len(b))
	for i := range b {
		be[len(b)-1-i] = b[i]
	}
	n := new(big.Int).SetBytes(be)
	if b[len(b)-1]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return n.Int64(), n.IsInt64()
}

// persistent loads the storage a persistent id ("storage", type, key,
// location, numel) names; in a legacy file ("storage", type, key, location,
// numel, view) it notes the storage, whose bytes come after the pickles.
func (u *unpickler) persistent(pid any) (*pthStorage, error) {
	t, ok := pid.([]any)
	if ok && len(t) == 4 && t[0] == "module" {
		return nil, errors.New("the file holds a pickled nn.Module (torch.save(model)), not a state_dict: load it in PyTorch and save model.state_dict()")
	}
	n := 5
	if u.legacy {
		n = 6
	}
	if !ok || len(t) != n || t[0] != "storage" {
		return nil, fmt.Errorf("pickle: unsupported persistent id %s", describe(pid, 0))
	}
	g, ok := t[1].(pthGlobal)
	dt, known := storageDTypes[g.name]
	key, ok2 := t[2].(string)
	numel, ok3 := t[4].(int64)
	// PyTorch before 1.0 named CUDA tensors' storages torch.cuda.*Storage
	// (the location says the device; gogan loads onto the CPU either way).
	if !ok || !known || (g.module != "torch" && !(u.legacy && g.module == "torch.cuda")) {
		return nil, fmt.Errorf("unsupported storage type %s", describe(t[1], 0))
	}
	if !ok2 || !ok3 || numel < 0 {
		return nil, fmt.Errorf("pickle: malformed persistent id %s", describe(pid, 0))
	}
	if u.legacy {
		return u.legacyStorage(key, dt, numel, t[5])
	}
	if st, ok := u.storages[key]; ok {
		return st, nil
	}
	f, ok := u.records[key]
	if !ok {
		return nil, fmt.Errorf("storage record data/%s missing from the archive", clip(key))
	}
	data, err := readZipEntry(f, u.size)
	if err != nil {
		return nil, fmt.Errorf("storage data/%s: %w", clip(key), err)
	}
	if es := int64(dt.Size()); numel > int64(len(data))/es || numel*es != int64(len(data)) {
		return nil, fmt.Errorf("storage data/%s holds %d bytes, not the %d elements of %s the pickle says", clip(key), len(data), numel, dt)
	}
	st := &pthStorage{dtype: dt, key: key, data: data}
	u.storages[key] = st
	return st, nil
}

// legacyStorage notes a legacy file's storage: its bytes are read after the
// pickles. view is None, or (view key, offset, numel) for a slice of it.
func (u *unpickler) legacyStorage(key string, dt DType, numel int64, view any) (*pthStorage, error) {
	root, ok := u.storages[key]
	if !ok {
		if numel > u.size/int64(dt.Size()) {
			return nil, fmt.Errorf("storage %s of %d elements of %s is larger than the file", clip(key), numel, dt)
		}
		root = &pthStorage{dtype: dt, key: key, numel: numel}
		u.storages[key] = root
	}
	if root.dtype != dt || root.numel != numel || root.root != nil {
		return nil, fmt.Errorf("storage %s is given as %d elements of %s and as %d of %s", clip(key), root.numel, root.dtype, numel, dt)
	}
	if view == nil {
		return root, nil
	}
	v, ok := view.([]any)
	if !ok || len(v) != 3 {
		return nil, fmt.Errorf("pickle: malformed storage view %s", describe(view, 0))
	}
	vkey, ok1 := v[0].(string)
	off, ok2 := v[1].(int64)
	n, ok3 := v[2].(int64)
	if !ok1 || !ok2 || !ok3 || off < 0 || n < 0 {
		return nil, fmt.Errorf("pickle: malformed storage view %s", describe(view, 0))
	}
	if st, ok := u.storages[vkey]; ok {
		if st.root != root || st.offset != off || st.numel != n {
			return nil, fmt.Errorf("storage view %s is given twice, differently", clip(vkey))
		}
		return st, nil
	}
	st := &pthStorage{dtype: dt, key: vkey, numel: n, root: root, offset: off}
	u.storages[vkey] = st
	return st, nil
}

func ints(v any) ([]int64, bool) {
	t, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make([]int64, len(t))
	for i, x := range t {
		n, ok := x.(int64)
		if !ok {
			return nil, false
		}
		out[i] = n
	}
	return out, true
}

// call evaluates the few callables a state_dict pickle uses, and refuses
// every other: nothing in the file is ever run.
func (u *unpickler) call(fn, args any) (any, error) {
	g, ok := fn.(pthGlobal)
	if !ok {
		return nil, fmt.Errorf("pickle: call of %s", describe(fn, 0))
	}
	a, ok := args.([]any)
	if !ok {
		return nil, fmt.Errorf("pickle: %s called with %s, not a tuple", g, describe(args, 0))
	}
	switch g.module + "." + g.name {
	case "collections.OrderedDict", "builtins.dict", "__builtin__.dict":
		// Python 3 pickles an OrderedDict's items with SETITEMS; Python 2
		// (the legacy files of 2017) as its argument, a list of [key, value].
		d := &pthDict{vals: map[any]any{}}
		if len(a) == 1 {
			items, ok := a[0].(*[]any)
			if !ok {
				return nil, fmt.Errorf("pickle: %s of %s", g, describe(a, 0))
			}
			for _, it := range *items {
				pair, ok := it.([]any)
				if l, isList := it.(*[]any); isList {
					pair, ok = *l, true
				}
				if !ok || len(pair) != 2 {
					return nil, fmt.Errorf("pickle: %s item %s is not a [key, value] pair", g, describe(it, 0))
				}
				d.set(hashable(pair[0]), pair[1])
			}
		}
		return d, nil
	case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor":
		if len(a) < 4 {
			return nil, fmt.Errorf("pickle: %s with %d arguments", g, len(a))
		}
		st, ok1 := a[0].(*pthStorage)
		off, ok2 := a[1].(int64)
		size, ok3 := ints(a[2])
		stride, ok4 := ints(a[3])
		if !ok1 || !ok2 || !ok3 || !ok4 {
			return nil, fmt.Errorf("pickle: malformed %s arguments %s", g, describe(a, 0))
		}
		return &pthTensor{storage: st, offset: off, size: size, stride: stride}, nil
	case "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct":
		// ndarray.__reduce__: an empty array, filled in by BUILD.
		if len(a) != 3 {
			return nil, fmt.Errorf("pickle: %s of %s", g, describe(a, 0))
		}
		if nd, ok := a[0].(pthGlobal); !ok || nd.name != "ndarray" || !strings.HasPrefix(nd.module, "numpy") {
			return nil, fmt.Errorf("pickle: %s of %s", g, describe(a, 0))
		}
		return &NDArray{}, nil
	case "numpy.dtype":
		if len(a) < 1 {
			return nil, errors.New("pickle: numpy.dtype without arguments")
		}
		descr, ok := a[0].(string)
		if !ok {
			return nil, fmt.Errorf("pickle: numpy.dtype of %s", describe(a, 0))
		}
		return &npDtype{descr: descr}, nil
	case "_codecs.encode":
		// Python 3's bytes in protocol 2: encode(latin-1 text, "latin1").
		if len(a) != 2 {
			return nil, fmt.Errorf("pickle: _codecs.encode of %s", describe(a, 0))
		}
		text, ok1 := a[0].(string)
		if !ok1 || (a[1] != "latin1" && a[1] != "latin-1") {
			return nil, fmt.Errorf("pickle: _codecs.encode of %s", describe(a, 0))
		}
		b := make([]byte, 0, len(text))
		for _, r := range text {
			if r > 0xff {
				return nil, fmt.Errorf("pickle: _codecs.encode: %q is not latin-1", r)
			}
			b = append(b, byte(r))
		}
		return string(b), nil
	case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
		if len(a) < 1 {
			return nil, fmt.Errorf("pickle: %s without data", g)
		}
		return a[0], nil
	}
	return nil, fmt.Errorf("refusing to call %s from the pickle: gogan imports state dicts of tensors only and runs no pickled code", g)
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
			return nil, fmt.Errorf("storage offset %d outside storage %s of %d elements", p.offset, clip(p.storage.key), avail)
		}
		for d, s := range p.size {
			if st := p.stride[d]; st != 0 && s-1 > (avail-1-last)/st {
				return nil, fmt.Errorf("shape %v, strides %v at offset %d reach past the %d elements of storage %s", p.size, p.stride, p.offset, avail, clip(p.storage.key))
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

// sortedNames is the names of a state dict, sorted (for messages).
func sortedNames(ts []Named) []string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = t.Name
	}
	sort.Strings(s)
	return s
}
