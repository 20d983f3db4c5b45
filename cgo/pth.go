package torch

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/big"
	"path"
	"sort"
	"strings"
)

// LoadPTH reads the tensors of a file written by torch.save (the zip format
// of PyTorch 1.6 and later): a state_dict, or a dict holding state dicts,
// whose nested keys are joined with ".". Tensors come back on the CPU, in
// the file's order. It runs no Python and no pickled code: only the pickle
// opcodes and the few torch globals that a saved state_dict uses are
// understood, and anything else is an error naming it.
func LoadPTH(file string) ([]Named, error) {
	zr, err := zip.OpenReader(file)
	if err != nil {
		return nil, fmt.Errorf("%s: not a PyTorch zip checkpoint (torch.save of PyTorch >= 1.6): %v", file, err)
	}
	defer zr.Close()
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
		return nil, fmt.Errorf("%s: no data.pkl in the archive: not written by torch.save", file)
	}
	raw, err := readZipFile(pkl)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	u := &unpickler{r: bytes.NewReader(raw), memo: map[int]any{}, records: records, storages: map[string]*pthStorage{}}
	root, err := u.load()
	if err != nil {
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	var out []Named
	var walk func(prefix string, v any) error
	walk = func(prefix string, v any) error {
		switch x := v.(type) {
		case *pthDict:
			for _, k := range x.keys {
				ks, ok := k.(string)
				if !ok {
					continue
				}
				if err := walk(prefix+ks+".", x.vals[k]); err != nil {
					return err
				}
			}
		case *pthTensor:
			name := strings.TrimSuffix(prefix, ".")
			t, err := x.materialise()
			if err != nil {
				return fmt.Errorf("tensor %s: %v", name, err)
			}
			out = append(out, Named{Name: name, Tensor: t})
		}
		return nil
	}
	if err := walk("", root); err != nil {
		for _, nt := range out {
			nt.Tensor.Free()
		}
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: holds no tensors (expected a state_dict)", file)
	}
	return out, nil
}

func readZipFile(f *zip.File) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
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
}

type pthTensor struct {
	storage *pthStorage
	offset  int64
	size    []int64
	stride  []int64
}

type pickleMark struct{}

type unpickler struct {
	r        *bytes.Reader
	stack    []any
	marks    []int
	memo     map[int]any
	records  map[string]*zip.File
	storages map[string]*pthStorage
}

var storageDTypes = map[string]DType{
	"FloatStorage": Float32, "DoubleStorage": Float64, "HalfStorage": Float16, "BFloat16Storage": BFloat16,
	"LongStorage": Int64, "IntStorage": Int32, "ByteStorage": Uint8, "BoolStorage": Bool,
}

func (u *unpickler) push(v any) { u.stack = append(u.stack, v) }

func (u *unpickler) pop() (any, error) {
	if len(u.stack) == 0 {
		return nil, fmt.Errorf("pickle: stack underflow")
	}
	v := u.stack[len(u.stack)-1]
	u.stack = u.stack[:len(u.stack)-1]
	return v, nil
}

// popMark returns the items pushed since the last MARK.
func (u *unpickler) popMark() ([]any, error) {
	if len(u.marks) == 0 {
		return nil, fmt.Errorf("pickle: no mark")
	}
	m := u.marks[len(u.marks)-1]
	u.marks = u.marks[:len(u.marks)-1]
	items := append([]any(nil), u.stack[m:]...)
	u.stack = u.stack[:m]
	return items, nil
}

func (u *unpickler) readN(n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(u.r, b); err != nil {
		return nil, fmt.Errorf("pickle: truncated")
	}
	return b, nil
}

func (u *unpickler) readLine() (string, error) {
	var sb strings.Builder
	for {
		c, err := u.r.ReadByte()
		if err != nil {
			return "", fmt.Errorf("pickle: truncated")
		}
		if c == '\n' {
			return sb.String(), nil
		}
		sb.WriteByte(c)
	}
}

func (u *unpickler) load() (any, error) {
	for {
		op, err := u.r.ReadByte()
		if err != nil {
			return nil, fmt.Errorf("pickle: truncated (no STOP)")
		}
		switch op {
		case 0x80: // PROTO
			if _, err := u.readN(1); err != nil {
				return nil, err
			}
		case 0x95: // FRAME
			if _, err := u.readN(8); err != nil {
				return nil, err
			}
		case '.': // STOP
			return u.pop()
		case '(': // MARK
			u.marks = append(u.marks, len(u.stack))
		case 'N':
			u.push(nil)
		case 0x88:
			u.push(true)
		case 0x89:
			u.push(false)
		case 'J', 'K', 'M': // BININT, BININT1, BININT2
			n := map[byte]int{'J': 4, 'K': 1, 'M': 2}[op]
			b, err := u.readN(n)
			if err != nil {
				return nil, err
			}
			switch op {
			case 'J':
				u.push(int64(int32(binary.LittleEndian.Uint32(b))))
			case 'K':
				u.push(int64(b[0]))
			default:
				u.push(int64(binary.LittleEndian.Uint16(b)))
			}
		case 0x8a: // LONG1
			nb, err := u.readN(1)
			if err != nil {
				return nil, err
			}
			b, err := u.readN(int(nb[0]))
			if err != nil {
				return nil, err
			}
			u.push(longLE(b))
		case 'G': // BINFLOAT (big-endian)
			b, err := u.readN(8)
			if err != nil {
				return nil, err
			}
			u.push(math.Float64frombits(binary.BigEndian.Uint64(b)))
		case 'X', 0x8c, 'T', 'U': // BINUNICODE, SHORT_BINUNICODE, BINSTRING, SHORT_BINSTRING
			var n int
			if op == 'X' || op == 'T' {
				b, err := u.readN(4)
				if err != nil {
					return nil, err
				}
				n = int(binary.LittleEndian.Uint32(b))
			} else {
				b, err := u.readN(1)
				if err != nil {
					return nil, err
				}
				n = int(b[0])
			}
			s, err := u.readN(n)
			if err != nil {
				return nil, err
			}
			u.push(string(s))
		case 'c': // GLOBAL
			mod, err := u.readLine()
			if err != nil {
				return nil, err
			}
			name, err := u.readLine()
			if err != nil {
				return nil, err
			}
			u.push(pthGlobal{mod, name})
		case 0x93: // STACK_GLOBAL
			name, err := u.pop()
			if err != nil {
				return nil, err
			}
			mod, err := u.pop()
			if err != nil {
				return nil, err
			}
			ms, _ := mod.(string)
			ns, _ := name.(string)
			u.push(pthGlobal{ms, ns})
		case 'q', 'r': // BINPUT, LONG_BINPUT
			var idx int
			if op == 'q' {
				b, err := u.readN(1)
				if err != nil {
					return nil, err
				}
				idx = int(b[0])
			} else {
				b, err := u.readN(4)
				if err != nil {
					return nil, err
				}
				idx = int(binary.LittleEndian.Uint32(b))
			}
			if len(u.stack) == 0 {
				return nil, fmt.Errorf("pickle: PUT on an empty stack")
			}
			u.memo[idx] = u.stack[len(u.stack)-1]
		case 0x94: // MEMOIZE
			if len(u.stack) == 0 {
				return nil, fmt.Errorf("pickle: MEMOIZE on an empty stack")
			}
			u.memo[len(u.memo)] = u.stack[len(u.stack)-1]
		case 'h', 'j': // BINGET, LONG_BINGET
			var idx int
			if op == 'h' {
				b, err := u.readN(1)
				if err != nil {
					return nil, err
				}
				idx = int(b[0])
			} else {
				b, err := u.readN(4)
				if err != nil {
					return nil, err
				}
				idx = int(binary.LittleEndian.Uint32(b))
			}
			v, ok := u.memo[idx]
			if !ok {
				return nil, fmt.Errorf("pickle: memo %d missing", idx)
			}
			u.push(v)
		case ')':
			u.push([]any{})
		case 't':
			items, err := u.popMark()
			if err != nil {
				return nil, err
			}
			u.push(items)
		case 0x85, 0x86, 0x87: // TUPLE1..3
			n := int(op - 0x84)
			if len(u.stack) < n {
				return nil, fmt.Errorf("pickle: stack underflow")
			}
			items := append([]any(nil), u.stack[len(u.stack)-n:]...)
			u.stack = u.stack[:len(u.stack)-n]
			u.push(items)
		case '}':
			u.push(&pthDict{vals: map[any]any{}})
		case ']':
			u.push(&[]any{})
		case 'a', 'e': // APPEND, APPENDS
			var items []any
			if op == 'a' {
				v, err := u.pop()
				if err != nil {
					return nil, err
				}
				items = []any{v}
			} else if items, err = u.popMark(); err != nil {
				return nil, err
			}
			if l, ok := u.stack[len(u.stack)-1].(*[]any); ok {
				*l = append(*l, items...)
			}
		case 's', 'u': // SETITEM, SETITEMS
			var items []any
			if op == 's' {
				v, err := u.pop()
				if err != nil {
					return nil, err
				}
				k, err := u.pop()
				if err != nil {
					return nil, err
				}
				items = []any{k, v}
			} else if items, err = u.popMark(); err != nil {
				return nil, err
			}
			if len(u.stack) == 0 {
				return nil, fmt.Errorf("pickle: SETITEM without a dict")
			}
			d, ok := u.stack[len(u.stack)-1].(*pthDict)
			if !ok {
				return nil, fmt.Errorf("pickle: SETITEM on %T", u.stack[len(u.stack)-1])
			}
			for i := 0; i+1 < len(items); i += 2 {
				d.set(hashable(items[i]), items[i+1])
			}
		case 'Q': // BINPERSID
			pid, err := u.pop()
			if err != nil {
				return nil, err
			}
			st, err := u.persistent(pid)
			if err != nil {
				return nil, err
			}
			u.push(st)
		case 'R', 0x81: // REDUCE, NEWOBJ
			args, err := u.pop()
			if err != nil {
				return nil, err
			}
			fn, err := u.pop()
			if err != nil {
				return nil, err
			}
			v, err := u.call(fn, args)
			if err != nil {
				return nil, err
			}
			u.push(v)
		case 'b': // BUILD: object state (OrderedDict's _metadata); ignored
			if _, err := u.pop(); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("pickle: unsupported opcode 0x%02x at byte %d (not a plain state_dict?)", op, int(u.r.Size())-u.r.Len()-1)
		}
	}
}

// hashable turns a tuple key into a string so it can index a Go map.
func hashable(k any) any {
	if t, ok := k.([]any); ok {
		return fmt.Sprint(t...)
	}
	return k
}

func longLE(b []byte) int64 {
	if len(b) == 0 {
		return 0
	}
	be := make([]byte, len(b))
	for i := range b {
		be[len(b)-1-i] = b[i]
	}
	n := new(big.Int).SetBytes(be)
	if b[len(b)-1]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return n.Int64()
}

func (u *unpickler) persistent(pid any) (*pthStorage, error) {
	t, ok := pid.([]any)
	if !ok || len(t) < 5 || t[0] != "storage" {
		return nil, fmt.Errorf("pickle: unsupported persistent id %v", pid)
	}
	g, ok := t[1].(pthGlobal)
	dt, known := storageDTypes[g.name]
	if !ok || !known {
		return nil, fmt.Errorf("unsupported storage type %v", t[1])
	}
	key, _ := t[2].(string)
	if st, ok := u.storages[key]; ok {
		return st, nil
	}
	f, ok := u.records[key]
	if !ok {
		return nil, fmt.Errorf("storage record data/%s missing from the archive", key)
	}
	data, err := readZipFile(f)
	if err != nil {
		return nil, fmt.Errorf("storage data/%s: %v", key, err)
	}
	st := &pthStorage{dtype: dt, key: key, data: data}
	u.storages[key] = st
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

// call evaluates the few callables a state_dict pickle uses.
func (u *unpickler) call(fn, args any) (any, error) {
	g, ok := fn.(pthGlobal)
	if !ok {
		return nil, fmt.Errorf("pickle: call of %T", fn)
	}
	a, _ := args.([]any)
	switch g.module + "." + g.name {
	case "collections.OrderedDict", "builtins.dict":
		return &pthDict{vals: map[any]any{}}, nil
	case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor":
		if len(a) < 4 {
			return nil, fmt.Errorf("pickle: %s with %d arguments", g.name, len(a))
		}
		st, ok1 := a[0].(*pthStorage)
		off, ok2 := a[1].(int64)
		size, ok3 := ints(a[2])
		stride, ok4 := ints(a[3])
		if !ok1 || !ok2 || !ok3 || !ok4 {
			return nil, fmt.Errorf("pickle: malformed %s arguments", g.name)
		}
		return &pthTensor{storage: st, offset: off, size: size, stride: stride}, nil
	case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
		if len(a) < 1 {
			return nil, fmt.Errorf("pickle: %s without data", g.name)
		}
		return a[0], nil
	}
	return nil, fmt.Errorf("unsupported object %s.%s in the pickle (gogan imports state dicts of tensors only)", g.module, g.name)
}

// materialise copies the (possibly strided) view out of its storage.
func (p *pthTensor) materialise() (*Tensor, error) {
	es := int64(p.storage.dtype.Size())
	n := numel(p.size)
	out := make([]byte, n*es)
	idx := make([]int64, len(p.size))
	avail := int64(len(p.storage.data)) / es
	for i := int64(0); i < n; i++ {
		pos := p.offset
		for d := range idx {
			pos += idx[d] * p.stride[d]
		}
		if pos < 0 || pos >= avail {
			return nil, fmt.Errorf("element %d at storage index %d outside storage %s of %d elements", i, pos, p.storage.key, avail)
		}
		copy(out[i*es:(i+1)*es], p.storage.data[pos*es:(pos+1)*es])
		for d := len(idx) - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < p.size[d] {
				break
			}
			idx[d] = 0
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
