package lmdb

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
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
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := filepath.Join(t.TempDir(), "db")
			os.Mkdir(d, 0o755)
			if err := os.WriteFile(filepath.Join(d, "data.mdb"), c.data, 0o644); err != nil {
				t.Fatal(err)
			}
			err := readAll(func() (*DB, error) { return Open(d) })
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), filepath.Join(d, "data.mdb")) {
				t.Fatalf("got %v, want an error naming %s and saying %q", err, filepath.Join(d, "data.mdb"), c.want)
			}
		})
	}
	if _, err := Open(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("a missing database: %v", err)
	}
}

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
