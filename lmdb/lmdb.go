// Package lmdb reads LMDB databases, the format LSUN's scene categories are
// distributed in, without the C library: the B+tree of LMDB 0.9 (what
// py-lmdb, and so torchvision's LSUN dataset, opens) on 64-bit
// little-endian machines, read-only, with plain reads instead of a memory
// map. A database is a directory holding data.mdb (lock.mdb is not needed
// for reading a file nobody writes).
//
// Every page number, offset and count a file gives is checked before it is
// followed, so a damaged or hostile file gives an error naming the page, not
// a crash or an endless walk.
package lmdb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// The on-disk layout of LMDB 0.9 (mdb.c): a page starts with its number,
// 2 pad bytes, its flags and the bounds of its free space (or, on overflow
// pages, their count), then the offsets of its nodes.
const (
	pageHeader = 16
	nodeHeader = 8
	magic      = 0xBEEFC0DE
	version    = 1

	pBranch   = 0x01
	pLeaf     = 0x02
	pOverflow = 0x04
	pMeta     = 0x08
	pLeaf2    = 0x20

	fBigData = 0x01
	fSubData = 0x02
	fDupData = 0x04

	// Database flags that change the key order or the values' layout.
	mdbReverseKey = 0x02
	mdbDupSort    = 0x04
	mdbIntegerKey = 0x08

	invalidPage = ^uint64(0)
	maxDepth    = 32
	// maxValue bounds one value: an image far larger than this is a damaged size.
	maxValue = 1 << 30
)

// ErrNotFound is returned by Get for a key the database does not hold.
var ErrNotFound = errors.New("lmdb: key not found")

// DB is an open database. Its methods are safe for concurrent use.
type DB struct {
	path  string // data.mdb
	r     io.ReaderAt
	f     *os.File // r, when it is a file Open opened
	psize int64
	pages uint64 // pages in the file

	root                   uint64
	depth                  int
	entries                uint64
	branchPages, leafPages uint64 // bound a walk
}

// meta is one of the two meta pages' copies of the database's root.
type meta struct {
	psize                 uint32
	flags, depth          uint16
	branch, leaf, entries uint64
	root, txn             uint64
	ok                    bool
	why                   string // what makes it invalid
}

// Open opens the database in dir (a directory holding data.mdb, as
// lmdb.open(dir) expects, or the data file itself).
func Open(dir string) (*DB, error) {
	path := dir
	if st, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("lmdb: %w", err)
	} else if st.IsDir() {
		path = filepath.Join(dir, "data.mdb")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("lmdb: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lmdb: %w", err)
	}
	db, err := OpenReaderAt(path, f, st.Size())
	if err != nil {
		f.Close()
		return nil, err
	}
	db.f = f
	return db, nil
}

// OpenReaderAt reads a database's data file of size bytes from r; path
// names it in errors.
func OpenReaderAt(path string, r io.ReaderAt, size int64) (*DB, error) {
	db := &DB{path: path, r: r}
	// Page 0's meta gives the page size; page 1 holds the other copy.
	buf := make([]byte, pageHeader+136)
	if err := db.readAt(buf, 0); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, db.errf("is %d bytes, too short for an LMDB file (not a database?)", size)
		}
		return nil, db.errf("reading its first page: %v", err)
	}
	m0 := parseMeta(buf)
	if binary.LittleEndian.Uint32(buf[pageHeader:]) != magic {
		if binary.BigEndian.Uint32(buf[pageHeader:]) == magic {
			return nil, db.errf("was written on a big-endian machine; only little-endian files are read")
		}
		return nil, db.errf("is not an LMDB file (no magic number in its first page)")
	}
	if v := binary.LittleEndian.Uint32(buf[pageHeader+4:]); v != version {
		return nil, db.errf("has LMDB data version %d; only version %d (LMDB 0.9, which py-lmdb writes) is read", v, version)
	}
	ps := int64(m0.psize)
	if ps < 512 || ps > 1<<16 || ps&(ps-1) != 0 {
		return nil, db.errf("has page size %d in its meta page; LMDB's is a power of two from 512 to 65536", ps)
	}
	if size < 2*ps {
		return nil, db.errf("is %d bytes, shorter than its two meta pages of %d", size, ps)
	}
	db.psize, db.pages = ps, uint64(size/ps)
	if err := db.readAt(buf, ps); err != nil {
		return nil, db.errf("reading its second meta page: %v", err)
	}
	m1 := parseMeta(buf)
	if binary.LittleEndian.Uint32(buf[pageHeader:]) != magic || binary.LittleEndian.Uint32(buf[pageHeader+4:]) != version {
		m1.ok, m1.why = false, "bad magic number or version"
	}
	// Both meta pages must be sound, as mdb_env_read_header wants them; the
	// newer one is the database (mdb_env_pick_meta).
	for i, m := range []meta{m0, m1} {
		if !m.ok {
			return nil, db.errf("meta page %d is damaged: %s", i, m.why)
		}
	}
	m := m0
	if m1.txn > m0.txn {
		m = m1
	}
	if db.check(&m); !m.ok {
		return nil, db.errf("has no valid meta page: %s", m.why)
	}
	db.root, db.depth, db.entries = m.root, int(m.depth), m.entries
	db.branchPages, db.leafPages = m.branch, m.leaf
	return db, nil
}

func parseMeta(b []byte) meta {
	le := binary.LittleEndian
	p := b[pageHeader:]
	m := meta{ok: true}
	if le.Uint16(b[10:])&pMeta == 0 {
		m.ok, m.why = false, "page flags lack P_META"
	}
	// MDB_meta: magic, version, address, mapsize, then the free list's
	// MDB_db (whose pad is the page size) and the main database's.
	free, main := p[24:72], p[72:120]
	m.psize = le.Uint32(free[0:])
	m.flags = le.Uint16(main[4:])
	m.depth = le.Uint16(main[6:])
	m.branch = le.Uint64(main[8:])
	m.leaf = le.Uint64(main[16:])
	m.entries = le.Uint64(main[32:])
	m.root = le.Uint64(main[40:])
	m.txn = le.Uint64(p[128:])
	return m
}

// check marks a meta page invalid when its main database cannot be read.
func (db *DB) check(m *meta) {
	bad := func(format string, a ...any) {
		if m.ok {
			m.ok, m.why = false, fmt.Sprintf(format, a...)
		}
	}
	if m.psize != uint32(db.psize) {
		bad("its page size %d differs from the first meta page's %d", m.psize, db.psize)
	}
	if m.flags&(mdbDupSort|mdbIntegerKey|mdbReverseKey) != 0 {
		bad("the database has flags %#x (MDB_DUPSORT, MDB_INTEGERKEY or MDB_REVERSEKEY); only plain key-value databases are read", m.flags)
	}
	if m.root == invalidPage {
		if m.entries != 0 || m.depth != 0 {
			bad("the database has no root page but %d entries", m.entries)
		}
		return
	}
	if m.root < 2 || m.root >= db.pages {
		bad("its root page %d is outside the file's %d pages (truncated file?)", m.root, db.pages)
	}
	if m.depth < 1 || m.depth > maxDepth {
		bad("the tree's depth %d is not between 1 and %d", m.depth, maxDepth)
	}
	if m.branch >= db.pages || m.leaf >= db.pages || m.leaf == 0 {
		bad("its page counts (%d branch, %d leaf) do not fit the file's %d pages", m.branch, m.leaf, db.pages)
	}
	if m.entries > m.leaf*uint64(db.psize)/nodeHeader {
		bad("its %d entries do not fit its %d leaf pages", m.entries, m.leaf)
	}
}

// readAt fills b from offset off, or says why it could not.
func (db *DB) readAt(b []byte, off int64) error {
	n, err := db.r.ReadAt(b, off)
	if n == len(b) {
		return nil // a ReaderAt may say io.EOF with the last byte
	}
	if err == nil {
		err = io.ErrUnexpectedEOF
	}
	return err
}

func (db *DB) errf(format string, a ...any) error {
	return fmt.Errorf("lmdb: %s: %s", db.path, fmt.Sprintf(format, a...))
}

// Close closes the data file Open opened.
func (db *DB) Close() error {
	if db.f == nil {
		return nil
	}
	return db.f.Close()
}

// Path is the data file's path.
func (db *DB) Path() string { return db.path }

// Len is the number of entries the database's meta page records.
func (db *DB) Len() int { return int(db.entries) }

// page is one page as read, with its number for messages.
type page struct {
	no  uint64
	b   []byte
	db  *DB
	nks int
}

// readPage reads page no and checks its header against the flags wanted.
func (db *DB) readPage(no uint64, want uint16) (*page, error) {
	if no < 2 || no >= db.pages {
		return nil, db.errf("page %d is outside the file's %d pages (truncated or damaged file)", no, db.pages)
	}
	b := make([]byte, db.psize)
	if err := db.readAt(b, int64(no)*db.psize); err != nil {
		return nil, db.errf("reading page %d: %v", no, err)
	}
	p := &page{no: no, b: b, db: db}
	le := binary.LittleEndian
	if got := le.Uint64(b); got != no {
		return nil, p.errf("says it is page %d (damaged file)", got)
	}
	flags := le.Uint16(b[10:])
	if flags&pLeaf2 != 0 {
		return nil, p.errf("is a LEAF2 page (MDB_DUPFIXED), which this reader does not read")
	}
	if flags&(pBranch|pLeaf|pOverflow) != want {
		return nil, p.errf("has flags %#x where a %s page belongs", flags, pageKind(want))
	}
	lower, upper := int(le.Uint16(b[12:])), int(le.Uint16(b[14:]))
	if lower < pageHeader || (lower-pageHeader)%2 != 0 || lower > upper || int64(upper) > db.psize {
		return nil, p.errf("has free-space bounds %d..%d that do not fit a %d-byte page", lower, upper, db.psize)
	}
	p.nks = (lower - pageHeader) / 2
	if p.nks == 0 {
		return nil, p.errf("has no keys")
	}
	return p, nil
}

func pageKind(f uint16) string {
	switch f {
	case pBranch:
		return "branch"
	case pLeaf:
		return "leaf"
	}
	return "overflow"
}

func (p *page) errf(format string, a ...any) error {
	return p.db.errf("page %d %s", p.no, fmt.Sprintf(format, a...))
}

// node is node i of the page: its flags, key and the rest of the page after
// the key (a branch node's child is in its header instead).
type node struct {
	lo, hi, flags uint16
	key, rest     []byte
}

func (p *page) node(i int) (node, error) {
	le := binary.LittleEndian
	off := int(le.Uint16(p.b[pageHeader+2*i:]))
	upper := int(le.Uint16(p.b[14:]))
	if off < upper || off+nodeHeader > len(p.b) {
		return node{}, p.errf("node %d is at offset %d, outside the page's nodes (%d..%d)", i, off, upper, len(p.b))
	}
	h := p.b[off:]
	n := node{lo: le.Uint16(h), hi: le.Uint16(h[2:]), flags: le.Uint16(h[4:])}
	ks := int(le.Uint16(h[6:]))
	if nodeHeader+ks > len(h) {
		return node{}, p.errf("node %d has a %d-byte key running past the page", i, ks)
	}
	n.key, n.rest = h[nodeHeader:nodeHeader+ks], h[nodeHeader+ks:]
	return n, nil
}

// child is a branch node's page number (low 48 bits in lo, hi, flags).
func (n node) child() uint64 {
	return uint64(n.lo) | uint64(n.hi)<<16 | uint64(n.flags)<<32
}

// value reads a leaf node's value: inline, or on the overflow pages it names.
func (p *page) value(i int, n node) ([]byte, error) {
	size := int64(n.lo) | int64(n.hi)<<16
	if n.flags&(fSubData|fDupData) != 0 {
		return nil, p.errf("node %d (key %q) is a named sub-database or a duplicate set (MDB_DUPSORT), not a value", i, n.key)
	}
	if n.flags&fBigData == 0 {
		if size > int64(len(n.rest)) {
			return nil, p.errf("node %d (key %q) has a %d-byte value running past the page", i, n.key, size)
		}
		return bytes.Clone(n.rest[:size]), nil
	}
	if len(n.rest) < 8 {
		return nil, p.errf("node %d (key %q) has no room for its overflow page number", i, n.key)
	}
	db := p.db
	if size > maxValue {
		return nil, p.errf("node %d (key %q) has a %d-byte value, more than %d (damaged size?)", i, n.key, size, maxValue)
	}
	no := binary.LittleEndian.Uint64(n.rest)
	if no < 2 || no >= db.pages {
		return nil, p.errf("node %d (key %q) names overflow page %d, outside the file's %d pages (truncated file?)", i, n.key, no, db.pages)
	}
	span := (size + pageHeader + db.psize - 1) / db.psize
	if no+uint64(span) > db.pages {
		return nil, p.errf("node %d (key %q) has a %d-byte value on pages %d.., past the file's %d pages (truncated file?)", i, n.key, size, no, db.pages)
	}
	b := make([]byte, pageHeader+size)
	if err := db.readAt(b, int64(no)*db.psize); err != nil {
		return nil, db.errf("reading overflow page %d (key %q): %v", no, n.key, err)
	}
	le := binary.LittleEndian
	if le.Uint64(b) != no || le.Uint16(b[10:])&(pBranch|pLeaf|pOverflow) != pOverflow {
		return nil, db.errf("page %d, named by page %d node %d (key %q), is not an overflow page", no, p.no, i, n.key)
	}
	if pages := int64(le.Uint32(b[12:])); pages < span {
		return nil, db.errf("overflow page %d (key %q) spans %d pages, fewer than the %d its %d-byte value needs", no, n.key, pages, span, size)
	}
	return b[pageHeader:], nil
}

// Get returns the value of key.
func (db *DB) Get(key []byte) ([]byte, error) {
	if db.root == invalidPage {
		return nil, ErrNotFound
	}
	no := db.root
	for level := 1; ; level++ {
		want := uint16(pBranch)
		if level == db.depth {
			want = pLeaf
		}
		p, err := db.readPage(no, want)
		if err != nil {
			return nil, err
		}
		if want == pLeaf {
			i, n, found, err := p.search(key, 0)
			if err != nil || !found {
				if err == nil {
					err = ErrNotFound
				}
				return nil, err
			}
			return p.value(i, n)
		}
		// The last node whose key is <= key; node 0's key is implicitly the lowest.
		i, n, found, err := p.search(key, 1)
		if err != nil {
			return nil, err
		}
		if !found {
			if n, err = p.node(i - 1); err != nil {
				return nil, err
			}
		}
		no = n.child()
	}
}

// search finds the first node from start whose key is >= key (binary
// search, as mdb_node_search): its index (nks when none), the node, and
// whether its key equals key.
func (p *page) search(key []byte, start int) (int, node, bool, error) {
	lo, hi := start, p.nks
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		n, err := p.node(mid)
		if err != nil {
			return 0, node{}, false, err
		}
		if bytes.Compare(n.key, key) < 0 {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo == p.nks {
		return lo, node{}, false, nil
	}
	n, err := p.node(lo)
	if err != nil {
		return 0, node{}, false, err
	}
	return lo, n, bytes.Equal(n.key, key), nil
}

// Keys calls fn with every key in order (a cursor's iternext(values=False)).
// The key slice is only valid during the call.
func (db *DB) Keys(fn func(key []byte) error) error {
	if db.root == invalidPage {
		return nil
	}
	w := walk{db: db, fn: fn}
	if err := w.visit(db.root, 1); err != nil {
		return err
	}
	if w.n != db.entries {
		return db.errf("its tree holds %d entries but its meta page says %d (damaged file)", w.n, db.entries)
	}
	return nil
}

// walk bounds a traversal by the meta page's page and entry counts, so
// that pages listed twice cannot make it run for ever.
type walk struct {
	db                  *DB
	fn                  func([]byte) error
	n, branches, leaves uint64
	prev                []byte
	started             bool
}

func (w *walk) visit(no uint64, level int) error {
	db := w.db
	leaf := level == db.depth
	want := uint16(pBranch)
	if leaf {
		want = pLeaf
		if w.leaves++; w.leaves > db.leafPages {
			return db.errf("its tree reaches more than the %d leaf pages its meta page counts (a page listed twice?)", db.leafPages)
		}
	} else if w.branches++; w.branches > db.branchPages {
		return db.errf("its tree reaches more than the %d branch pages its meta page counts (a page listed twice?)", db.branchPages)
	}
	p, err := db.readPage(no, want)
	if err != nil {
		return err
	}
	for i := 0; i < p.nks; i++ {
		n, err := p.node(i)
		if err != nil {
			return err
		}
		if !leaf {
			if err := w.visit(n.child(), level+1); err != nil {
				return err
			}
			continue
		}
		if n.flags&(fSubData|fDupData) != 0 {
			return p.errf("node %d (key %q) is a named sub-database or a duplicate set (MDB_DUPSORT), not a value", i, n.key)
		}
		if w.started && bytes.Compare(w.prev, n.key) >= 0 {
			return p.errf("node %d's key %q is not after the previous key %q (damaged file)", i, n.key, w.prev)
		}
		w.prev, w.started = append(w.prev[:0], n.key...), true
		if w.n++; w.n > db.entries {
			return db.errf("its tree holds more than the %d entries its meta page says (damaged file)", db.entries)
		}
		if err := w.fn(n.key); err != nil {
			return err
		}
	}
	return nil
}
