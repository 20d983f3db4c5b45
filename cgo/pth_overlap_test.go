package torch

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// overlappingPTH is a .pth of n float32 tensors w000.. of numel elements,
// each on its own storage k000..; the archive holds one record,
// archive/data/k000, and its central directory names it n times, as each
// of the n records: about numel*4 bytes of file for n*numel*4 of storages.
func overlappingPTH(n int, numel int64) []byte {
	p := new(handPickler)
	p.ops(0x80, 2).global("collections", "OrderedDict").ops(')', 'R', '(')
	for i := 0; i < n; i++ {
		p.str(fmt.Sprintf("w%03d", i)).global("torch._utils", "_rebuild_tensor_v2").ops('(', '(')
		p.str("storage").global("torch", "FloatStorage").str(fmt.Sprintf("k%03d", i)).str("cpu").int(numel).ops('t', 'Q')
		p.int(0).tuple(numel).tuple(1).ops(0x89)
		p.global("collections", "OrderedDict").ops(')', 'R', 't', 'R')
	}
	p.ops('u', '.')
	file := zipPTH(p.Bytes(), map[string][]byte{"k000": make([]byte, 4*numel)})
	// Copy k000's central directory record for k001 ... (same offset).
	eocd := bytes.LastIndex(file, []byte("PK\x05\x06"))
	count := int(binary.LittleEndian.Uint16(file[eocd+10:]))
	cdSize := binary.LittleEndian.Uint32(file[eocd+12:])
	cdOff := binary.LittleEndian.Uint32(file[eocd+16:])
	cd := file[cdOff : cdOff+cdSize]
	var rec []byte
	for i := 0; i < len(cd); {
		l := 46 + int(binary.LittleEndian.Uint16(cd[i+28:])) + int(binary.LittleEndian.Uint16(cd[i+30:])) + int(binary.LittleEndian.Uint16(cd[i+32:]))
		if bytes.Contains(cd[i:i+l], []byte("archive/data/k000")) {
			rec = cd[i : i+l]
		}
		i += l
	}
	newCD := bytes.Clone(cd)
	for i := 1; i < n; i++ {
		newCD = append(newCD, bytes.Replace(rec, []byte("archive/data/k000"), []byte(fmt.Sprintf("archive/data/k%03d", i)), 1)...)
	}
	out := append(bytes.Clone(file[:cdOff]), newCD...)
	end := bytes.Clone(file[eocd:])
	binary.LittleEndian.PutUint16(end[8:], uint16(count+n-1))
	binary.LittleEndian.PutUint16(end[10:], uint16(count+n-1))
	binary.LittleEndian.PutUint32(end[12:], uint32(len(newCD)))
	return append(out, end...)
}

// TestLoadPTHOverlappingRecords: records whose central directory entries
// point at the same bytes are refused once they add up to more than the
// file. Each was read and kept: a 1 MB file of 256 names for one record
// took 256 MB, and a 100 MB one with thousands would exhaust any machine's
// memory.
func TestLoadPTHOverlappingRecords(t *testing.T) {
	file := overlappingPTH(256, 1<<18) // 1 MiB of file, 256 MiB of storages
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	got, err := loadPTHBytes("big.pth", file)
	runtime.ReadMemStats(&after)
	freeAll(got)
	if n := after.TotalAlloc - before.TotalAlloc; n > 64<<20 {
		t.Errorf("a %d-byte file: %d MiB allocated", len(file), n>>20)
	}
	if err == nil || !strings.Contains(err.Error(), "overlap") {
		t.Errorf("256 records on the same bytes: %v", err)
	}
}
