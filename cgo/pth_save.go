package torch

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"strconv"
)

// pthAlignment is where torch.save starts each record's bytes: a multiple
// of 64 (caffe2's PyTorchStreamWriter, kFieldAlignment), padded by an "FB"
// extra field, so that loaders may map them in place.
const pthAlignment = 64

// WritePTH writes tensors (from any device) as torch.save writes the state
// dict OrderedDict(tensors) in PyTorch 1.6 and later: a zip archive of the
// pickle data.pkl, one record per tensor's storage under data/, and the
// format version. The pickle is the one Python's pickler writes for it
// (protocol 2, the same memo), so that torch.load, with weights_only too,
// reads it as the reference repositories' own saved networks. Tensors are
// saved contiguous, each in a storage of its own, without requires_grad.
func WritePTH(w io.Writer, tensors []Named) error {
	pk := newPickler()
	pk.ops(0x80, 2)
	pk.global("collections", "OrderedDict")
	pk.ops(')', 'R')
	pk.put()
	datas := make([][]byte, len(tensors))
	seen := make(map[string]bool, len(tensors))
	// Python's _batch_setitems: MARK ... SETITEMS per 1000 items, SETITEM
	// for a batch of one.
	for start := 0; start < len(tensors); start += 1000 {
		batch := tensors[start:min(start+1000, len(tensors))]
		if len(batch) > 1 {
			pk.ops('(')
		}
		for i, nt := range batch {
			if nt.Name == "" || seen[nt.Name] {
				return fmt.Errorf(".pth: invalid or repeated tensor name %q", nt.Name)
			}
			seen[nt.Name] = true
			var dt DType
			var shape []int64
			var data []byte
			if err := Try(func() { dt, shape, data = nt.Tensor.DType(), nt.Tensor.Shape(), nt.Tensor.Bytes() }); err != nil {
				return fmt.Errorf(".pth: tensor %s: %w", nt.Name, err)
			}
			storage, ok := storageNames[dt]
			if !ok {
				return fmt.Errorf(".pth: tensor %s: dtype %s has no torch storage type here", nt.Name, dt)
			}
			if int64(len(data)) >= math.MaxUint32 {
				return fmt.Errorf(".pth: tensor %s holds %d bytes; records of 4 GiB and more are not written", nt.Name, len(data))
			}
			datas[start+i] = data
			pk.str(nt.Name)
			pk.tensor(storage, strconv.Itoa(start+i), shape)
		}
		if len(batch) > 1 {
			pk.ops('u')
		} else {
			pk.ops('s')
		}
	}
	pk.ops('.')
	zw := newAlignedZip(w)
	if err := zw.record("data.pkl", pk.Bytes()); err != nil {
		return err
	}
	if err := zw.record("byteorder", []byte("little")); err != nil {
		return err
	}
	for i, d := range datas {
		if err := zw.record("data/"+strconv.Itoa(i), d); err != nil {
			return err
		}
	}
	if err := zw.record("version", []byte("3\n")); err != nil {
		return err
	}
	return zw.Close()
}

// storageNames are the torch storage classes of the dtypes (LoadPTH's
// storageDTypes, inverted).
var storageNames = func() map[DType]string {
	m := make(map[DType]string, len(storageDTypes))
	for name, dt := range storageDTypes {
		m[dt] = name
	}
	return m
}()

// pickler writes protocol-2 pickles as Python's pickler does: every string,
// tuple and reduced object is memoized (BINPUT), and a global or a string
// that Python would hand it as the same object again is fetched from the
// memo (BINGET).
type pickler struct {
	bytes.Buffer
	memo map[string]int // globals and torch's shared strings, by value
	next int            // the next memo index
}

func newPickler() *pickler { return &pickler{memo: map[string]int{}} }

func (p *pickler) ops(b ...byte) { p.Write(b) }

// put memoizes the object just written.
func (p *pickler) put() {
	if p.next < 256 {
		p.ops('q', byte(p.next))
	} else {
		p.WriteByte('r')
		binary.Write(p, binary.LittleEndian, uint32(p.next))
	}
	p.next++
}

// get writes the memo's object i.
func (p *pickler) get(i int) {
	if i < 256 {
		p.ops('h', byte(i))
	} else {
		p.WriteByte('j')
		binary.Write(p, binary.LittleEndian, uint32(i))
	}
}

// once writes an object Python pickles as one object each time (a class,
// a string constant of torch's): the first time, and a memo fetch after.
func (p *pickler) once(key string, write func()) {
	if i, ok := p.memo[key]; ok {
		p.get(i)
		return
	}
	write()
	p.memo[key] = p.next
	p.put()
}

func (p *pickler) global(mod, name string) {
	p.once("global "+mod+"."+name, func() { fmt.Fprintf(p, "c%s\n%s\n", mod, name) })
}

func (p *pickler) rawStr(s string) {
	p.WriteByte('X')
	binary.Write(p, binary.LittleEndian, uint32(len(s)))
	p.WriteString(s)
}

// str writes a new string object.
func (p *pickler) str(s string) { p.rawStr(s); p.put() }

// constant writes a string that Python passes as the same object each time.
func (p *pickler) constant(s string) { p.once("str "+s, func() { p.rawStr(s) }) }

// int writes n in the shortest of Python's integer opcodes.
func (p *pickler) int(n int64) {
	switch {
	case n >= 0 && n < 1<<8:
		p.ops('K', byte(n))
	case n >= 0 && n < 1<<16:
		p.WriteByte('M')
		binary.Write(p, binary.LittleEndian, uint16(n))
	case n == int64(int32(n)):
		p.WriteByte('J')
		binary.Write(p, binary.LittleEndian, int32(n))
	default:
		b := longBytes(n)
		p.ops(0x8a, byte(len(b))) // LONG1
		p.Write(b)
	}
}

// longBytes is pickle's encode_long: n in the fewest little-endian two's
// complement bytes.
func longBytes(n int64) []byte {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(n))
	k := 8
	// Drop a top byte that only repeats the sign of the one below it.
	for k > 1 && (b[k-1] == 0 && b[k-2]&0x80 == 0 || b[k-1] == 0xff && b[k-2]&0x80 != 0) {
		k--
	}
	return b[:k]
}

// tuple writes a tuple of ints: EMPTY_TUPLE, TUPLE1..3, or MARK ... TUPLE.
func (p *pickler) tuple(ns []int64) {
	if len(ns) == 0 {
		p.ops(')')
		return
	}
	if len(ns) > 3 {
		p.ops('(')
	}
	for _, n := range ns {
		p.int(n)
	}
	if len(ns) > 3 {
		p.ops('t')
	} else {
		p.ops(0x84 + byte(len(ns))) // TUPLE1, TUPLE2, TUPLE3
	}
	p.put()
}

// tensor writes torch._utils._rebuild_tensor_v2(storage, 0, shape,
// contiguous strides, False, OrderedDict()) with the storage a persistent
// id ("storage", torch.<storage>, key, "cpu", numel) naming record
// data/<key>.
func (p *pickler) tensor(storage, key string, shape []int64) {
	// Contiguous strides as PyTorch computes them: a size-0 dimension counts
	// as 1 (so (3, 0, 2) has strides (2, 2, 1)).
	numel, step, stride := int64(1), int64(1), make([]int64, len(shape))
	for i := len(shape) - 1; i >= 0; i-- {
		stride[i] = step
		step *= max(shape[i], 1)
		numel *= shape[i]
	}
	p.global("torch._utils", "_rebuild_tensor_v2")
	p.ops('(', '(') // the arguments' tuple, then the persistent id's
	p.constant("storage")
	p.global("torch", storage)
	p.str(key)
	p.constant("cpu")
	p.int(numel)
	p.ops('t')
	p.put()
	p.ops('Q') // BINPERSID
	p.int(0)
	p.tuple(shape)
	p.tuple(stride)
	p.ops(0x89) // NEWFALSE: requires_grad
	p.global("collections", "OrderedDict")
	p.ops(')', 'R')
	p.put()
	p.ops('t')
	p.put()
	p.ops('R')
	p.put()
}

// alignedZip writes stored (uncompressed) zip records under "archive/",
// each one's bytes starting at a multiple of pthAlignment.
type alignedZip struct {
	*zip.Writer
	offset int64 // where the next local header starts
}

func newAlignedZip(w io.Writer) *alignedZip { return &alignedZip{Writer: zip.NewWriter(w)} }

func (z *alignedZip) record(name string, data []byte) error {
	name = "archive/" + name
	// A local header is 30 bytes and the name, then the extra field: "FB",
	// its length, and the padding.
	start := z.offset + 30 + int64(len(name)) + 4
	pad := (pthAlignment - start%pthAlignment) % pthAlignment
	extra := make([]byte, 4+pad)
	copy(extra, "FB")
	binary.LittleEndian.PutUint16(extra[2:], uint16(pad))
	for i := 4; i < len(extra); i++ {
		extra[i] = 'Z'
	}
	w, err := z.CreateRaw(&zip.FileHeader{Name: name, Method: zip.Store, Extra: extra,
		ModifiedDate: 1<<5 | 1, // 1980-01-01, the zip format's first day
		CRC32:        crc32.ChecksumIEEE(data), CompressedSize64: uint64(len(data)), UncompressedSize64: uint64(len(data))})
	if err != nil {
		return fmt.Errorf(".pth record %s: %w", name, err)
	}
	if _, err := w.Write(data); err != nil {
		return err
	}
	z.offset = start + pad + int64(len(data))
	return nil
}
