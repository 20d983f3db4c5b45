// Package pickle reads Python pickles of plain data without running any:
// the state dicts torch.save writes (for the binding's .pth reader, which
// adds the tensors' storages through Persistent and Call) and NumPy arrays
// in dicts and lists (CIFAR-10's batches).
package pickle

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// maxDepth bounds the nesting Read converts (a list inside itself would
// recurse for ever).
const maxDepth = 64

// Dict is a pickled dict, in insertion order, as OrderedDict and Python
// dicts keep it. A tuple key is a TupleKey.
type Dict struct {
	Keys []any
	Vals map[any]any
}

// NewDict is an empty Dict.
func NewDict() *Dict { return &Dict{Vals: map[any]any{}} }

// Set adds or replaces a key's value.
func (d *Dict) Set(k, v any) {
	if _, ok := d.Vals[k]; !ok {
		d.Keys = append(d.Keys, k)
	}
	d.Vals[k] = v
}

// Global is a module attribute a pickle names (GLOBAL, STACK_GLOBAL).
type Global struct{ Module, Name string }

// Machine runs pickles: the opcodes of protocols 2 to 4 that plain data
// uses, on a stack, with a memo. Globals are only names (Global), and the
// only callables it evaluates are Call's and dicts, NumPy arrays and
// latin-1 bytes: nothing in a pickle is ever run.
type Machine struct {
	data  []byte // the pickle
	pos   int    // the next opcode's offset in data
	stack []any
	marks []int // the stack's length at each open MARK
	memo  map[uint32]any
	// Persistent resolves BINPERSID's ids (nil: they are an error).
	Persistent func(pid any) (any, error)
	// Call evaluates the callables its caller knows; handled false leaves
	// g to the machine.
	Call func(g Global, args []any) (v any, handled bool, err error)
	// Unknown answers a call of any other global (nil: refused): it may
	// stand for the object without running anything.
	Unknown func(g Global, args []any) (any, error)
}

// NewMachine runs the pickle (or stream of pickles) data from offset pos.
func NewMachine(data []byte, pos int) *Machine {
	return &Machine{data: data, pos: pos, memo: map[uint32]any{}}
}

// Next loads the pickle at the current offset, with a fresh stack and memo
// (as pickle.load does for each pickle of a stream).
func (m *Machine) Next() (any, error) {
	m.stack, m.marks, m.memo = nil, nil, map[uint32]any{}
	return m.load()
}

// ReadN returns the next n raw bytes of the stream (after its pickles),
// after checking that it holds them.
func (m *Machine) ReadN(n uint64) ([]byte, error) { return m.readN(n) }

// ReadUint reads the stream's next n-byte little-endian unsigned integer.
func (m *Machine) ReadUint(n int) (uint64, error) { return m.readUint(n) }

var errUnderflow = errors.New("pickle: stack underflow")

func (m *Machine) push(v any) { m.stack = append(m.stack, v) }

// floor is the lowest stack index in reach: items below the last MARK are
// not, as in Python's unpickler.
func (m *Machine) floor() int {
	if len(m.marks) == 0 {
		return 0
	}
	return m.marks[len(m.marks)-1]
}

// popN pops the top n items, in stack order.
func (m *Machine) popN(n int) ([]any, error) {
	if len(m.stack)-m.floor() < n {
		return nil, errUnderflow
	}
	items := append([]any(nil), m.stack[len(m.stack)-n:]...)
	m.stack = m.stack[:len(m.stack)-n]
	return items, nil
}

func (m *Machine) pop() (any, error) {
	items, err := m.popN(1)
	if err != nil {
		return nil, err
	}
	return items[0], nil
}

func (m *Machine) top() (any, error) {
	if len(m.stack) <= m.floor() {
		return nil, errUnderflow
	}
	return m.stack[len(m.stack)-1], nil
}

// popMark pops the items pushed since the last MARK, and the MARK.
// popInto pops the items an APPEND/SETITEM (single: n items) or an
// APPENDS/SETITEMS (up to the mark) adds, and returns them with the container
// they go into, now on top of the stack.
func (m *Machine) popInto(single bool, n int) (items []any, target any, err error) {
	if single {
		items, err = m.popN(n)
	} else {
		items, err = m.popMark()
	}
	if err != nil {
		return nil, nil, err
	}
	target, err = m.top()
	return items, target, err
}

func (m *Machine) popMark() ([]any, error) {
	if len(m.marks) == 0 {
		return nil, errors.New("pickle: no MARK")
	}
	items, err := m.popN(len(m.stack) - m.floor())
	m.marks = m.marks[:len(m.marks)-1]
	return items, err
}

// readN returns the next n bytes, after checking that the pickle holds them.
func (m *Machine) readN(n uint64) ([]byte, error) {
	if n > uint64(len(m.data)-m.pos) {
		return nil, fmt.Errorf("pickle: truncated: %d bytes wanted at byte %d, %d left", n, m.pos, len(m.data)-m.pos)
	}
	b := m.data[m.pos : m.pos+int(n)]
	m.pos += int(n)
	return b, nil
}

// readUint reads an n-byte little-endian unsigned integer.
func (m *Machine) readUint(n int) (uint64, error) {
	b, err := m.readN(uint64(n))
	if err != nil {
		return 0, err
	}
	var v uint64
	for i := n - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v, nil
}

func (m *Machine) readLine() (string, error) {
	i := bytes.IndexByte(m.data[m.pos:], '\n')
	if i < 0 {
		return "", fmt.Errorf("pickle: truncated: no end of line after byte %d", m.pos)
	}
	s := string(m.data[m.pos : m.pos+i])
	m.pos += i + 1
	return s, nil
}

func (m *Machine) load() (any, error) {
	for {
		if m.pos == len(m.data) {
			return nil, errors.New("pickle: truncated (no STOP)")
		}
		op := m.data[m.pos]
		m.pos++
		if err := m.step(op); err == errStop {
			return m.pop()
		} else if err != nil {
			return nil, err
		}
	}
}

var errStop = errors.New("STOP")

// step runs one opcode.
func (m *Machine) step(op byte) error {
	switch op {
	case 0x80: // PROTO
		_, err := m.readN(1)
		return err
	case 0x95: // FRAME
		_, err := m.readN(8)
		return err
	case '.': // STOP
		return errStop
	case '(': // MARK
		m.marks = append(m.marks, len(m.stack))
	case 'N':
		m.push(nil)
	case 0x88:
		m.push(true)
	case 0x89:
		m.push(false)
	case 'J', 'K', 'M': // BININT, BININT1, BININT2
		v, err := m.readUint(map[byte]int{'J': 4, 'K': 1, 'M': 2}[op])
		if err != nil {
			return err
		}
		if op == 'J' {
			m.push(int64(int32(uint32(v))))
		} else {
			m.push(int64(v))
		}
	case 0x8a: // LONG1
		n, err := m.readUint(1)
		if err != nil {
			return err
		}
		b, err := m.readN(n)
		if err != nil {
			return err
		}
		v, ok := longLE(b)
		if !ok {
			return fmt.Errorf("pickle: integer of %d bytes at byte %d does not fit 64 bits", n, m.pos)
		}
		m.push(v)
	case 'G': // BINFLOAT (big-endian)
		b, err := m.readN(8)
		if err != nil {
			return err
		}
		m.push(math.Float64frombits(binary.BigEndian.Uint64(b)))
	case 'X', 'T', 0x8c, 'U', 'B', 'C', 0x8d, 0x8e:
		// BINUNICODE, BINSTRING, SHORT_BINUNICODE, SHORT_BINSTRING,
		// BINBYTES, SHORT_BINBYTES, BINUNICODE8, BINBYTES8: Python 2's
		// str and Python 3's bytes are Go strings of their bytes.
		width := map[byte]int{'X': 4, 'T': 4, 0x8c: 1, 'U': 1, 'B': 4, 'C': 1, 0x8d: 8, 0x8e: 8}[op]
		n, err := m.readUint(width)
		if err != nil {
			return err
		}
		s, err := m.readN(n)
		if err != nil {
			return err
		}
		m.push(string(s))
	case 'c': // GLOBAL
		mod, err := m.readLine()
		if err != nil {
			return err
		}
		name, err := m.readLine()
		if err != nil {
			return err
		}
		m.push(Global{mod, name})
	case 0x93: // STACK_GLOBAL
		items, err := m.popN(2)
		if err != nil {
			return err
		}
		mod, ok1 := items[0].(string)
		name, ok2 := items[1].(string)
		if !ok1 || !ok2 {
			return fmt.Errorf("pickle: STACK_GLOBAL of %s", Describe(items, 0))
		}
		m.push(Global{mod, name})
	case 'q', 'r', 0x94: // BINPUT, LONG_BINPUT, MEMOIZE
		idx := uint64(len(m.memo))
		var err error
		if op == 'q' {
			idx, err = m.readUint(1)
		} else if op == 'r' {
			idx, err = m.readUint(4)
		}
		if err != nil {
			return err
		}
		v, err := m.top()
		if err != nil {
			return err
		}
		m.memo[uint32(idx)] = v
	case 'h', 'j': // BINGET, LONG_BINGET
		width := 1
		if op == 'j' {
			width = 4
		}
		idx, err := m.readUint(width)
		if err != nil {
			return err
		}
		v, ok := m.memo[uint32(idx)]
		if !ok {
			return fmt.Errorf("pickle: memo %d missing", idx)
		}
		m.push(v)
	case ')':
		m.push([]any{})
	case 't', 0x85, 0x86, 0x87: // TUPLE, TUPLE1..3
		var items []any
		var err error
		if op == 't' {
			items, err = m.popMark()
		} else {
			items, err = m.popN(int(op - 0x84))
		}
		if err != nil {
			return err
		}
		m.push(items)
	case '}':
		m.push(NewDict())
	case ']':
		m.push(&[]any{})
	case 'a', 'e': // APPEND, APPENDS
		items, target, err := m.popInto(op == 'a', 1)
		if err != nil {
			return err
		}
		if l, ok := target.(*[]any); ok {
			*l = append(*l, items...)
		}
	case 's', 'u': // SETITEM, SETITEMS
		items, target, err := m.popInto(op == 's', 2)
		if err != nil {
			return err
		}
		d, ok := target.(*Dict)
		if !ok {
			return fmt.Errorf("pickle: SETITEM on %s", Describe(target, 0))
		}
		if len(items)%2 != 0 {
			return fmt.Errorf("pickle: SETITEMS with an odd number of items")
		}
		for i := 0; i < len(items); i += 2 {
			d.Set(Hashable(items[i]), items[i+1])
		}
	case 'Q': // BINPERSID
		pid, err := m.pop()
		if err != nil {
			return err
		}
		if m.Persistent == nil {
			return fmt.Errorf("pickle: persistent id %s in plain data", Describe(pid, 0))
		}
		v, err := m.Persistent(pid)
		if err != nil {
			return err
		}
		m.push(v)
	case 'R', 0x81: // REDUCE, NEWOBJ
		items, err := m.popN(2)
		if err != nil {
			return err
		}
		v, err := m.call(items[0], items[1])
		if err != nil {
			return err
		}
		m.push(v)
	case 'b': // BUILD: a NumPy array's or dtype's state; others' (OrderedDict's _metadata) ignored
		state, err := m.pop()
		if err != nil {
			return err
		}
		target, err := m.top()
		if err != nil {
			return err
		}
		return build(target, state)
	default:
		return fmt.Errorf("pickle: unsupported opcode 0x%02x at byte %d (not plain data?)", op, m.pos-1)
	}
	return nil
}

// TupleKey stands for a tuple used as a dict key: a Go map cannot hash
// the tuple, and only string keys name values.
type TupleKey string

// Hashable turns a tuple key into a TupleKey so it can index a Go map.
func Hashable(k any) any {
	if t, ok := k.([]any); ok {
		return TupleKey(Describe(t, 0))
	}
	return k
}

// Describe renders a pickled value for a message, to a bounded depth and length.
func Describe(v any, depth int) string {
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
			parts = append(parts, Describe(e, depth+1))
		}
		return "(" + strings.Join(parts, ", ") + ")"
	case string:
		return strconv.Quote(Clip(x))
	case Global:
		return x.String()
	case fmt.Stringer:
		return x.String()
	case nil:
		return "None"
	case *Dict:
		return "dict"
	case *[]any:
		return "list"
	case *NDArray:
		return "ndarray"
	case *npDtype:
		return "numpy.dtype"
	}
	return fmt.Sprint(v)
}

// Clip shortens a string for a message.
func Clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// String is the global's dotted name, quoted, for messages.
func (g Global) String() string { return strconv.Quote(Clip(g.Module + "." + g.Name)) }

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

// Ints reads a tuple of ints.
func Ints(v any) ([]int64, bool) {
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

// call evaluates the caller's callables (Call) and the few that plain
// data uses, and refuses every other: nothing in the pickle is ever run.
func (m *Machine) call(fn, args any) (any, error) {
	g, ok := fn.(Global)
	if !ok {
		return nil, fmt.Errorf("pickle: call of %s", Describe(fn, 0))
	}
	a, ok := args.([]any)
	if !ok {
		return nil, fmt.Errorf("pickle: %s called with %s, not a tuple", g, Describe(args, 0))
	}
	if m.Call != nil {
		if v, handled, err := m.Call(g, a); handled {
			return v, err
		}
	}
	switch g.Module + "." + g.Name {
	case "collections.OrderedDict", "builtins.dict", "__builtin__.dict":
		// Python 3 pickles an OrderedDict's items with SETITEMS; Python 2
		// (the legacy files of 2017) as its argument, a list of [key, value].
		d := NewDict()
		if len(a) == 1 {
			items, ok := a[0].(*[]any)
			if !ok {
				return nil, fmt.Errorf("pickle: %s of %s", g, Describe(a, 0))
			}
			for _, it := range *items {
				pair, ok := it.([]any)
				if l, isList := it.(*[]any); isList {
					pair, ok = *l, true
				}
				if !ok || len(pair) != 2 {
					return nil, fmt.Errorf("pickle: %s item %s is not a [key, value] pair", g, Describe(it, 0))
				}
				d.Set(Hashable(pair[0]), pair[1])
			}
		}
		return d, nil
	case "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct":
		// ndarray.__reduce__: an empty array, filled in by BUILD.
		if len(a) != 3 {
			return nil, fmt.Errorf("pickle: %s of %s", g, Describe(a, 0))
		}
		if nd, ok := a[0].(Global); !ok || nd.Name != "ndarray" || !strings.HasPrefix(nd.Module, "numpy") {
			return nil, fmt.Errorf("pickle: %s of %s", g, Describe(a, 0))
		}
		return &NDArray{}, nil
	case "numpy.dtype":
		if len(a) < 1 {
			return nil, errors.New("pickle: numpy.dtype without arguments")
		}
		descr, ok := a[0].(string)
		if !ok {
			return nil, fmt.Errorf("pickle: numpy.dtype of %s", Describe(a, 0))
		}
		return &npDtype{descr: descr}, nil
	case "_codecs.encode":
		// Python 3's bytes in protocol 2: encode(latin-1 text, "latin1").
		if len(a) != 2 {
			return nil, fmt.Errorf("pickle: _codecs.encode of %s", Describe(a, 0))
		}
		text, ok1 := a[0].(string)
		if !ok1 || (a[1] != "latin1" && a[1] != "latin-1") {
			return nil, fmt.Errorf("pickle: _codecs.encode of %s", Describe(a, 0))
		}
		b := make([]byte, 0, len(text))
		for _, r := range text {
			if r > 0xff {
				return nil, fmt.Errorf("pickle: _codecs.encode: %q is not latin-1", r)
			}
			b = append(b, byte(r))
		}
		return string(b), nil
	}
	if m.Unknown != nil {
		return m.Unknown(g, a)
	}
	return nil, fmt.Errorf("refusing to call %s from the pickle: gogan reads plain data (state dicts, arrays) only and runs no pickled code", g)
}

// NDArray is a NumPy array read from a pickle: its dtype as NumPy's
// descr (byte order and type, e.g. "|u1", "<i8"), its shape, whether it is
// Fortran-ordered, and its raw bytes.
type NDArray struct {
	Descr   string
	Shape   []int64
	Fortran bool
	Data    []byte
}

// maxPickleEntries bounds the list and dict entries LoadPickle converts
// (a CIFAR-10 batch has about 20,000).
const maxPickleEntries = 1 << 22

// npDtype is a numpy.dtype being unpickled: its type ("u1") and, after
// BUILD, its byte order.
type npDtype struct {
	descr, order string
}

// build applies BUILD's state to the NumPy objects; other objects' state
// (OrderedDict's _metadata) is ignored.
func build(target, state any) error {
	switch x := target.(type) {
	case *npDtype:
		// (version, byte order, subarray, names, fields, elsize, alignment, flags)
		if t, ok := state.([]any); ok && len(t) >= 2 {
			if o, ok := t[1].(string); ok {
				x.order = o
				return nil
			}
		}
		return fmt.Errorf("pickle: numpy.dtype state %s", Describe(state, 0))
	case *NDArray:
		// (version, shape, dtype, is_fortran, raw bytes)
		t, ok := state.([]any)
		if !ok || len(t) != 5 {
			return fmt.Errorf("pickle: ndarray state %s", Describe(state, 0))
		}
		shape, ok1 := Ints(t[1])
		dt, ok2 := t[2].(*npDtype)
		fortran, ok3 := t[3].(bool)
		raw, ok4 := t[4].(string)
		if !ok1 || !ok2 || !ok3 {
			return fmt.Errorf("pickle: ndarray state %s", Describe(state, 0))
		}
		if !ok4 {
			return fmt.Errorf("pickle: a NumPy array of objects (%s), not of numbers", Describe(t[4], 0))
		}
		x.Descr, x.Shape, x.Fortran, x.Data = dt.order+dt.descr, shape, fortran, []byte(raw)
	}
	return nil
}

// Read reads a pickle (protocol 2 to 4, as Python 2's cPickle and
// Python 3 write them) of plain data, running no code: dicts come back as
// map[string]any (Python 2 str, Python 3 str and bytes keys alike; other
// keys are dropped), lists and tuples as []any, ints as int64, floats as
// float64, str and bytes as string, NumPy arrays as *NDArray. What it
// cannot read safely is an error naming it.
func Read(data []byte) (any, error) {
	v, err := NewMachine(data, 0).Next()
	if err != nil {
		return nil, err
	}
	entries := 0
	return plain(v, 0, &entries)
}

// plain converts an unpickled value to plain Go data. entries counts the
// dict and list entries converted: a list shared by many lists is
// converted once per reference, so a few bytes could ask for 2^60.
func plain(v any, depth int, entries *int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("pickle: values nested more than %d deep", maxDepth)
	}
	count := func(n int) error {
		if *entries += n; *entries > maxPickleEntries {
			return fmt.Errorf("pickle: more than %d list and dict entries (one list referenced many times?)", maxPickleEntries)
		}
		return nil
	}
	switch x := v.(type) {
	case *Dict:
		if err := count(len(x.Keys)); err != nil {
			return nil, err
		}
		m := make(map[string]any, len(x.Keys))
		for _, k := range x.Keys {
			if ks, ok := k.(string); ok {
				pv, err := plain(x.Vals[k], depth+1, entries)
				if err != nil {
					return nil, err
				}
				m[ks] = pv
			}
		}
		return m, nil
	case *[]any:
		return plainList(*x, depth, entries, count)
	case []any:
		return plainList(x, depth, entries, count)
	case *NDArray, string, int64, float64, bool, nil:
		return x, nil
	case *npDtype:
		return nil, errors.New("pickle: a bare numpy.dtype")
	}
	return nil, fmt.Errorf("pickle: %s is not plain data", Describe(v, 0))
}

func plainList(l []any, depth int, entries *int, count func(int) error) ([]any, error) {
	if err := count(len(l)); err != nil {
		return nil, err
	}
	out := make([]any, len(l))
	for i, e := range l {
		p, err := plain(e, depth+1, entries)
		if err != nil {
			return nil, err
		}
		out[i] = p
	}
	return out, nil
}

// Items is the number of elements of a's shape, -1 for a shape with a
// negative size or more elements than an int64 counts.
func (a *NDArray) Items() int64 {
	n := int64(1)
	for _, s := range a.Shape {
		if s < 0 || (s > 0 && n > math.MaxInt64/s) {
			return -1
		}
		n *= s
	}
	return n
}

// Uint8 checks that a is a C-ordered array of uint8 of the given shape and
// returns its bytes.
func (a *NDArray) Uint8(shape ...int64) ([]byte, error) {
	if strings.TrimLeft(a.Descr, "|<>=") != "u1" {
		return nil, fmt.Errorf("a NumPy array of %s, not uint8", a.Descr)
	}
	if a.Fortran && len(a.Shape) > 1 {
		return nil, errors.New("a Fortran-ordered NumPy array")
	}
	if len(shape) != len(a.Shape) {
		return nil, fmt.Errorf("a NumPy array of shape %v, not %v", a.Shape, shape)
	}
	for i, s := range shape {
		if s >= 0 && a.Shape[i] != s {
			return nil, fmt.Errorf("a NumPy array of shape %v, not %v", a.Shape, shape)
		}
	}
	if n := a.Items(); n < 0 || int64(len(a.Data)) != n {
		return nil, fmt.Errorf("a NumPy array of shape %v holds %d bytes", a.Shape, len(a.Data))
	}
	return a.Data, nil
}
