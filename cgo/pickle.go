package torch

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

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
		return fmt.Errorf("pickle: numpy.dtype state %s", describe(state, 0))
	case *NDArray:
		// (version, shape, dtype, is_fortran, raw bytes)
		t, ok := state.([]any)
		if !ok || len(t) != 5 {
			return fmt.Errorf("pickle: ndarray state %s", describe(state, 0))
		}
		shape, ok1 := ints(t[1])
		dt, ok2 := t[2].(*npDtype)
		fortran, ok3 := t[3].(bool)
		raw, ok4 := t[4].(string)
		if !ok1 || !ok2 || !ok3 {
			return fmt.Errorf("pickle: ndarray state %s", describe(state, 0))
		}
		if !ok4 {
			return fmt.Errorf("pickle: a NumPy array of objects (%s), not of numbers", describe(t[4], 0))
		}
		x.Descr, x.Shape, x.Fortran, x.Data = dt.order+dt.descr, shape, fortran, []byte(raw)
	}
	return nil
}

// LoadPickle reads a pickle (protocol 2 to 4, as Python 2's cPickle and
// Python 3 write them) of plain data, running no code: dicts come back as
// map[string]any (Python 2 str, Python 3 str and bytes keys alike; other
// keys are dropped), lists and tuples as []any, ints as int64, floats as
// float64, str and bytes as string, NumPy arrays as *NDArray. What it
// cannot read safely is an error naming it.
func LoadPickle(data []byte) (any, error) {
	u := &unpickler{data: data, memo: map[uint32]any{}, storages: map[string]*pthStorage{}}
	v, err := u.load()
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
	if depth > maxPTHDepth {
		return nil, fmt.Errorf("pickle: values nested more than %d deep", maxPTHDepth)
	}
	count := func(n int) error {
		if *entries += n; *entries > maxPickleEntries {
			return fmt.Errorf("pickle: more than %d list and dict entries (one list referenced many times?)", maxPickleEntries)
		}
		return nil
	}
	switch x := v.(type) {
	case *pthDict:
		if err := count(len(x.keys)); err != nil {
			return nil, err
		}
		m := make(map[string]any, len(x.keys))
		for _, k := range x.keys {
			if ks, ok := k.(string); ok {
				pv, err := plain(x.vals[k], depth+1, entries)
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
	return nil, fmt.Errorf("pickle: %s is not plain data", describe(v, 0))
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
