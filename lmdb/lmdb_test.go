package lmdb

import (
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gogan/cgo/torchtest"
)

// pyWrite is a py-lmdb program (the library torchvision's LSUN dataset
// opens the files with) that writes the test databases and lists each one's
// keys, in its cursor's order, with the values' lengths and SHA-1s.
const pyWrite = `
import hashlib, json, lmdb, os, random, sys
out = sys.argv[1]
rng = random.Random(7)
def blob(n):
    return bytes(rng.getrandbits(8) for _ in range(n))
dbs = {}
def write(name, txns, **kw):
    env = lmdb.open(os.path.join(out, name), map_size=1 << 28, **kw)
    for items in txns:
        with env.begin(write=True) as txn:
            for k, v in items:
                if v is None:
                    txn.delete(k)
                else:
                    txn.put(k, v)
    listing = []
    with env.begin() as txn:
        for k, v in txn.cursor():
            listing.append([k.hex(), len(v), hashlib.sha1(v).hexdigest()])
    env.close()
    dbs[name] = listing
write("empty", [[]])
write("one", [[(b"k", b"v")]])
# LSUN-like: 40-hex keys, values inline and on overflow pages, many leaves
# (depth 3), written over several transactions with deletions and updates.
keys = [hashlib.sha1(str(i).encode()).hexdigest().encode() for i in range(3000)]
sizes = [rng.choice([0, 1, 50, 700, 2000, 4080, 4096, 9000, 70000]) for _ in keys]
t1 = [(k, blob(s)) for k, s in zip(keys[:2000], sizes)]
t2 = [(k, blob(s)) for k, s in zip(keys[2000:], sizes[2000:])] + [(k, None) for k in keys[:300:3]]
t3 = [(k, blob(123)) for k in keys[1000:1100]]
write("lsun_like", [t1, t2, t3])
# Keys that are prefixes of others, and bytes 0x00 and 0xff: memcmp order, shorter first.
odd = [b"a", b"ab", b"abc", b"b", b"\x00", b"\x00\x00", b"\xff", b"\xff\x01", b"A" * 511]
write("order", [[(k, k * 3) for k in odd]])
json.dump(dbs, open(os.path.join(out, "listing.json"), "w"))
`

type entry struct {
	Key  string
	Len  int
	SHA1 string
}

func writeDBs(t *testing.T) (string, map[string][]entry) {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command(torchtest.Python(t), "-c", pyWrite, dir).CombinedOutput(); err != nil {
		t.Fatalf("py-lmdb (Debian python3-lmdb; make setup installs it): %v\n%s", err, out)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "listing.json"))
	if err != nil {
		t.Fatal(err)
	}
	var lists map[string][][3]any
	if err := json.Unmarshal(raw, &lists); err != nil {
		t.Fatal(err)
	}
	want := map[string][]entry{}
	for name, l := range lists {
		want[name] = []entry{}
		for _, e := range l {
			want[name] = append(want[name], entry{e[0].(string), int(e[1].(float64)), e[2].(string)})
		}
	}
	return dir, want
}

// TestReadsPyLMDBsDatabases: keys in the cursor's order and every value,
// from databases py-lmdb wrote (inline and overflow values, a three-level
// tree, several transactions with deletions, memcmp key order).
func TestReadsPyLMDBsDatabases(t *testing.T) {
	dir, want := writeDBs(t)
	for name, entries := range want {
		t.Run(name, func(t *testing.T) {
			db, err := Open(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if db.Len() != len(entries) {
				t.Fatalf("Len %d, py-lmdb has %d entries", db.Len(), len(entries))
			}
			var keys []string
			stored := map[string]bool{}
			if err := db.Keys(func(k []byte) error {
				keys = append(keys, hex.EncodeToString(k))
				stored[string(k)] = true
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if len(keys) != len(entries) {
				t.Fatalf("%d keys, py-lmdb's cursor gives %d", len(keys), len(entries))
			}
			for i, e := range entries {
				if keys[i] != e.Key {
					t.Fatalf("key %d is %s, py-lmdb's cursor gives %s", i, keys[i], e.Key)
				}
				k, _ := hex.DecodeString(e.Key)
				v, err := db.Get(k)
				if err != nil {
					t.Fatalf("Get(%s): %v", e.Key, err)
				}
				if len(v) != e.Len || sha1hex(v) != e.SHA1 {
					t.Fatalf("Get(%s): %d bytes (sha1 %s), py-lmdb wrote %d (sha1 %s)", e.Key, len(v), sha1hex(v), e.Len, e.SHA1)
				}
			}
			// Keys before, between and after the stored ones are absent.
			for _, k := range [][]byte{{}, {0}, {0, 0, 0}, []byte("0"), []byte("aa"), []byte("zzzz"), {0xff, 0}, append(bytes.Repeat([]byte{0xff}, 3), 0)} {
				if _, err := db.Get(k); !stored[string(k)] && !errors.Is(err, ErrNotFound) {
					t.Fatalf("Get(%q): %v, want ErrNotFound", k, err)
				}
			}
			if len(entries) > 2 {
				k, _ := hex.DecodeString(entries[len(entries)/2].Key)
				if _, err := db.Get(append(k, 0)); !errors.Is(err, ErrNotFound) {
					t.Fatalf("Get(a stored key + 0x00): %v, want ErrNotFound", err)
				}
			}
		})
	}
	db, err := Open(filepath.Join(dir, "lsun_like"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if db.depth < 3 {
		t.Errorf("the LSUN-like database has depth %d; the test wants a tree of three levels", db.depth)
	}
}

func sha1hex(b []byte) string {
	h := sha1.Sum(b)
	return hex.EncodeToString(h[:])
}

// TestRefusesWhatItCannotRead: damaged files and databases of another kind
// give errors that name the file and the fault.
func TestRefusesWhatItCannotRead(t *testing.T) {
	dir, _ := writeDBs(t)
	good, err := os.ReadFile(filepath.Join(dir, "lsun_like", "data.mdb"))
	if err != nil {
		t.Fatal(err)
	}
	// A named sub-database, as LMDB's main database lists it.
	sub := filepath.Join(t.TempDir(), "sub")
	prog := "import lmdb,sys\nenv=lmdb.open(sys.argv[1],max_dbs=2)\nd=env.open_db(b'images')\nwith env.begin(write=True,db=d) as t: t.put(b'k',b'v')\n"
	if out, err := exec.Command(torchtest.Python(t), "-c", prog, sub).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	subData, err := os.ReadFile(filepath.Join(sub, "data.mdb"))
	if err != nil {
		t.Fatal(err)
	}
	flip := func(off int, b ...byte) []byte {
		c := bytes.Clone(good)
		copy(c[off:], b)
		return c
	}
	db, err := Open(filepath.Join(dir, "lsun_like"))
	if err != nil {
		t.Fatal(err)
	}
	root := int(db.root)
	leaf, inline, big := findNodes(t, db)
	// The root's second child made its first: a subtree listed twice.
	rp, err := db.readPage(db.root, pBranch)
	if err != nil {
		t.Fatal(err)
	}
	n0, _ := rp.node(0)
	twice := root*4096 + int(binary.LittleEndian.Uint16(rp.b[pageHeader+2:]))
	entries := db.entries
	db.Close()
	meta1 := 4096 + pageHeader // the newer meta page (an odd number of transactions)
	cases := []struct {
		name string
		data []byte
		want string // in Open's or Keys's error
	}{
		{"empty file", nil, "too short for an LMDB file"},
		{"text", []byte(strings.Repeat("not a database\n", 400)), "not an LMDB file"},
		{"truncated to half", good[:len(good)/2], "outside the file's"},
		{"truncated to the meta pages", good[:8192], "outside the file's 2 pages"},
		{"big-endian", flip(16, 0xbe, 0xef, 0xc0, 0xde), "big-endian"},
		{"version 2", flip(20, 2), "data version 2"},
		{"page size 1000", flip(16+24, 0xe8, 0x03), "page size 1000"},
		{"dupsort", flip(meta1+72+4, mdbDupSort), "MDB_DUPSORT"},
		{"depth 40", flip(meta1+72+6, 40), "depth 40"},
		{"page numbered wrong", flip(root*4096, 9), "says it is page"},
		{"sub-database", subData, "named sub-database"},
		// Damaged pages of a sound tree: a leaf page read where a branch
		// belongs (the meta page's depth one short), node offsets, key and
		// value sizes running past the page, an overflow value whose page
		// is another kind or spans fewer pages than the value needs.
		{"depth one short", flip(meta1+72+6, byte(db.depth-1)), "where a leaf page belongs"},
		{"odd free-space bound", flip(leaf*4096+12, 17, 0), "free-space bounds 17.."},
		{"no keys", flip(leaf*4096+12, pageHeader, 0), "has no keys"},
		{"node before the free space", flip(leaf*4096+pageHeader, 20, 0), "node 0 is at offset 20, outside the page's nodes"},
		{"key past the page", flip(inline.at+6, 0xff, 0xff), "65535-byte key running past the page"},
		{"value past the page", flip(inline.at, 0xff, 0xff, 0x01), "value running past the page"},
		{"overflow page of another kind", flip(big.at+nodeHeader+big.keyLen, le64(uint64(leaf))...), "is not an overflow page"},
		{"overflow of too few pages", flip(big.overflow*4096+12, 1, 0, 0, 0), "spans 1 pages, fewer than"},
		{"a subtree listed twice", flip(twice, le64(n0.child())[:6]...), "is not after the previous key"},
		{"an entry more in the meta page", flip(meta1+72+32, le64(entries+1)...), fmt.Sprintf("holds %d entries but its meta page says %d", entries, entries+1)},
		{"an entry less in the meta page", flip(meta1+72+32, le64(entries-1)...), fmt.Sprintf("more than the %d entries its meta page says", entries-1)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := filepath.Join(t.TempDir(), "db")
			os.Mkdir(d, 0o755)
			if err := os.WriteFile(filepath.Join(d, "data.mdb"), c.data, 0o644); err != nil {
				t.Fatal(err)
			}
			err := readAll(func() (*DB, error) { return Open(d) })
			// The fault is looked for beside the path, which holds the case's name.
			path := filepath.Join(d, "data.mdb")
			if err == nil || !strings.Contains(strings.ReplaceAll(err.Error(), path, ""), c.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("got %v, want an error naming %s and saying %q", err, filepath.Join(d, "data.mdb"), c.want)
			}
		})
	}
	if _, err := Open(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("a missing database: %v", err)
	}
}

// nodeAt is a leaf node as the file holds it: its header's offset in the
// file, its key's length and (on overflow pages) its value's first page.
type nodeAt struct{ at, keyLen, overflow int }

// findNodes walks db's tree to a leaf page holding both an inline value of
// a few bytes and one on overflow pages of several, and returns the page
// and those two nodes.
func findNodes(t *testing.T, db *DB) (leaf int, inline, big nodeAt) {
	t.Helper()
	var visit func(no uint64, level int) bool
	visit = func(no uint64, level int) bool {
		want := uint16(pBranch)
		if level == db.depth {
			want = pLeaf
		}
		p, err := db.readPage(no, want)
		if err != nil {
			t.Fatal(err)
		}
		inline, big = nodeAt{}, nodeAt{}
		for i := 0; i < p.nks; i++ {
			n, err := p.node(i)
			if err != nil {
				t.Fatal(err)
			}
			if want == pBranch {
				if visit(n.child(), level+1) {
					return true
				}
				continue
			}
			at := int(no)*4096 + int(binary.LittleEndian.Uint16(p.b[pageHeader+2*i:]))
			size := int(n.lo) | int(n.hi)<<16
			if n.flags&fBigData != 0 && size > 2*4096 && big.at == 0 {
				big = nodeAt{at, len(n.key), int(binary.LittleEndian.Uint64(n.rest))}
			} else if n.flags == 0 && size > 0 && size < 100 && inline.at == 0 {
				inline = nodeAt{at, len(n.key), 0}
			}
			if inline.at != 0 && big.at != 0 {
				leaf = int(no)
				return true
			}
		}
		return false
	}
	if !visit(db.root, 1) {
		t.Fatal("no leaf page holds both an inline value and an overflow value")
	}
	return leaf, inline, big
}

func le64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

// readAll opens a database and reads every key and value.
func readAll(open func() (*DB, error)) error {
	db, err := open()
	if err != nil {
		return err
	}
	defer db.Close()
	var keys [][]byte
	if err := db.Keys(func(k []byte) error { keys = append(keys, bytes.Clone(k)); return nil }); err != nil {
		return err
	}
	for _, k := range keys {
		if _, err := db.Get(k); err != nil {
			return err
		}
	}
	return nil
}
