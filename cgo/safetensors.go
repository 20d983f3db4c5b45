package torch

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"unsafe"
)

// Named is a tensor with its state-dict key.
type Named struct {
	Name   string
	Tensor *Tensor
}

// FreeNamed frees the tensors of ts (a loaded file's, say).
func FreeNamed(ts []Named) {
	for _, nt := range ts {
		nt.Tensor.Free()
	}
}

// maxHeader bounds the JSON header a reader accepts, so a corrupt length
// cannot make it allocate gigabytes.
const maxHeader = 100 << 20

type stEntry struct {
	DType       string   `json:"dtype"`
	Shape       []int64  `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
}

// WriteSafetensors writes tensors (from any device) in the safetensors format:
// an 8-byte little-endian header length, a JSON header, then the raw data in
// the given order. meta goes into the header's "__metadata__".
func WriteSafetensors(w io.Writer, tensors []Named, meta map[string]string) error {
	var hdr bytes.Buffer
	hdr.WriteByte('{')
	if len(meta) > 0 {
		m, err := json.Marshal(meta)
		if err != nil {
			return err
		}
		hdr.WriteString(`"__metadata__":`)
		hdr.Write(m)
	}
	seen := make(map[string]bool, len(tensors))
	datas := make([][]byte, len(tensors))
	var off int64
	for i, nt := range tensors {
		if nt.Name == "" || nt.Name == "__metadata__" || seen[nt.Name] {
			return fmt.Errorf("safetensors: invalid or repeated tensor name %q", nt.Name)
		}
		seen[nt.Name] = true
		var data []byte
		var dt DType
		var shape []int64
		if err := Try(func() {
			dt, shape, data = nt.Tensor.DType(), nt.Tensor.Shape(), nt.Tensor.Bytes()
		}); err != nil {
			return fmt.Errorf("safetensors: tensor %s: %w", nt.Name, err)
		}
		datas[i] = data
		if shape == nil {
			shape = []int64{}
		}
		e, _ := json.Marshal(stEntry{DType: dtypeInfo[dt].st, Shape: shape, DataOffsets: [2]int64{off, off + int64(len(data))}})
		name, _ := json.Marshal(nt.Name)
		if hdr.Len() > 1 {
			hdr.WriteByte(',')
		}
		hdr.Write(name)
		hdr.WriteByte(':')
		hdr.Write(e)
		off += int64(len(data))
	}
	hdr.WriteByte('}')
	// Pad with spaces so the data starts 8-byte aligned, as the reference writer does.
	for hdr.Len()%8 != 0 {
		hdr.WriteByte(' ')
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	if err := binary.Write(bw, binary.LittleEndian, uint64(hdr.Len())); err != nil {
		return err
	}
	if _, err := bw.Write(hdr.Bytes()); err != nil {
		return err
	}
	for _, d := range datas {
		if _, err := bw.Write(d); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// SaveSafetensors writes a safetensors file at path (not atomically: the
// checkpoint writer takes care of that).
func SaveSafetensors(path string, tensors []Named, meta map[string]string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := WriteSafetensors(f, tensors, meta); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

// LoadSafetensors reads every tensor of a safetensors file onto the CPU, in
// file order (by data offset), with the header's metadata. A truncated or
// malformed file is an error naming the file and what is wrong.
func LoadSafetensors(path string) ([]Named, map[string]string, error) {
	f, size, err := openSized(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	ts, meta, err := ReadSafetensors(f, size)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return ts, meta, nil
}

// openSized opens path for reading, with its size.
func openSized(path string) (*os.File, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, fi.Size(), nil
}

// ParseSafetensors decodes a whole safetensors file held in memory.
func ParseSafetensors(data []byte) ([]Named, map[string]string, error) {
	return ReadSafetensors(bytes.NewReader(data), int64(len(data)))
}

// SafetensorsHeader reads a safetensors file's header alone: its tensors'
// names and its metadata, without the data (which tensors a checkpoint holds,
// say, or who wrote a file).
func SafetensorsHeader(path string) (names []string, meta map[string]string, err error) {
	f, size, err := openSized(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	raw, _, err := readHeader(f, size)
	if err == nil {
		meta, err = metadata(raw)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	for k := range raw {
		if k != "__metadata__" {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	return names, meta, nil
}

// readHeader reads the JSON header of a safetensors file of size bytes and
// where its data starts. A damaged length costs no allocation: the header is
// no longer than the file.
func readHeader(r io.ReaderAt, size int64) (map[string]json.RawMessage, int64, error) {
	var lenBytes [8]byte
	if size < 8 {
		return nil, 0, fmt.Errorf("not a safetensors file: %d bytes, shorter than the 8-byte header length", size)
	}
	if err := readFullAt(r, lenBytes[:], 0); err != nil {
		return nil, 0, err
	}
	n := binary.LittleEndian.Uint64(lenBytes[:])
	if n > maxHeader || n > uint64(size-8) {
		return nil, 0, fmt.Errorf("not a safetensors file or truncated: header length %d, file has %d bytes", n, size)
	}
	header := make([]byte, n)
	if err := readFullAt(r, header, 8); err != nil {
		return nil, 0, err
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(header, &raw); err != nil {
		return nil, 0, fmt.Errorf("safetensors header is not valid JSON: %v", err)
	}
	return raw, 8 + int64(n), nil
}

// readFullAt fills p from r at off. io.ReaderAt may return io.EOF with a
// read that reaches the end in full: that read is whole, not an error.
func readFullAt(r io.ReaderAt, p []byte, off int64) error {
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF // short: the file shrank since its size was taken
	}
	return err
}

// metadata is a header's "__metadata__" (nil where it has none).
func metadata(raw map[string]json.RawMessage) (map[string]string, error) {
	var meta map[string]string
	if v, ok := raw["__metadata__"]; ok {
		if err := json.Unmarshal(v, &meta); err != nil {
			return nil, fmt.Errorf("safetensors __metadata__: %v", err)
		}
	}
	return meta, nil
}

// ReadSafetensors decodes a safetensors file of size bytes, reading each
// tensor's bytes straight into its storage: a checkpoint of gigabytes (a
// pix2pixHD run's) is not held twice in memory while it loads.
func ReadSafetensors(r io.ReaderAt, size int64) ([]Named, map[string]string, error) {
	raw, bodyStart, err := readHeader(r, size)
	if err != nil {
		return nil, nil, err
	}
	meta, err := metadata(raw)
	if err != nil {
		return nil, nil, err
	}
	bodySize := size - bodyStart
	type item struct {
		name string
		e    stEntry
	}
	var items []item
	for k, v := range raw {
		if k == "__metadata__" {
			continue
		}
		var e stEntry
		if err := json.Unmarshal(v, &e); err != nil {
			return nil, nil, fmt.Errorf("tensor %s: %v", k, err)
		}
		items = append(items, item{k, e})
	}
	slices.SortFunc(items, func(x, y item) int { // empty tensors share offsets
		return cmp.Or(cmp.Compare(x.e.DataOffsets[0], y.e.DataOffsets[0]), cmp.Compare(x.e.DataOffsets[1], y.e.DataOffsets[1]), strings.Compare(x.name, y.name))
	})
	byName := make(map[string]DType)
	for dt, i := range dtypeInfo {
		byName[i.st] = dt
	}
	out := make([]Named, 0, len(items))
	fail := func(format string, args ...any) ([]Named, map[string]string, error) {
		FreeNamed(out)
		return nil, nil, fmt.Errorf(format, args...)
	}
	// The tensors' data must tile the data bytes in order, as the format
	// says: no gaps, no overlaps, nothing after the last. All is checked
	// before a tensor is made, so a corrupt header allocates nothing.
	var end int64
	for _, it := range items {
		dt, ok := byName[it.e.DType]
		if !ok {
			return fail("tensor %s: unsupported dtype %q", it.name, it.e.DType)
		}
		b, e := it.e.DataOffsets[0], it.e.DataOffsets[1]
		if b != end {
			return fail("tensor %s: data offsets [%d, %d] do not start at the previous tensor's end %d (overlap or gap)", it.name, b, e, end)
		}
		if e < b || e > bodySize {
			return fail("tensor %s: data offsets [%d, %d] outside the %d data bytes (truncated file?)", it.name, b, e, bodySize)
		}
		end = e
		n, err := numelOf(it.e.Shape, dt)
		if err != nil {
			return fail("tensor %s: %v", it.name, err)
		}
		if n*int64(dt.Size()) != e-b {
			return fail("tensor %s: shape %v of %s needs %d bytes, offsets give %d", it.name, it.e.Shape, dt, n*int64(dt.Size()), e-b)
		}
	}
	if end != bodySize {
		return fail("%d data bytes after the last tensor's end %d (corrupt header?)", bodySize-end, end)
	}
	for _, it := range items {
		dt := byName[it.e.DType]
		var t *Tensor
		if err := Try(func() { t = Empty(dt, CPUDevice, false, it.e.Shape...).Persist() }); err != nil {
			return fail("tensor %s: %w", it.name, err)
		}
		out = append(out, Named{Name: it.name, Tensor: t})
		b, e := it.e.DataOffsets[0], it.e.DataOffsets[1]
		if e == b {
			continue
		}
		dst := unsafe.Slice((*byte)(t.dataPtr("read_safetensors")), e-b)
		if err := readFullAt(r, dst, bodyStart+b); err != nil {
			return fail("tensor %s: %v", it.name, err)
		}
		runtime.KeepAlive(t)
	}
	return out, meta, nil
}

// numelOf is the element count of shape, or an error when a dimension is
// negative or the byte count of dt's elements would overflow.
func numelOf(shape []int64, dt DType) (int64, error) {
	n := int64(1)
	for _, s := range shape {
		if s < 0 {
			return 0, fmt.Errorf("negative dimension in shape %v", shape)
		}
		if s != 0 && n > math.MaxInt64/int64(dt.Size())/s {
			return 0, fmt.Errorf("shape %v has too many elements", shape)
		}
		n *= s
	}
	return n, nil
}
