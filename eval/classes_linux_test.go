package eval

import (
	"bytes"
	"context"
	"maps"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"gogan/data"
)

// TestClassesReadsEachSplitOnce: eval classes of both directions opens the
// test split and the train split once each, sharing their images between
// the directions (inotify counts the openings of the IDX files), and a
// direction's table is what it is alone. (A classifier that records its
// training images, unlike this untrained one, has the training images file
// read once more, streamed through SHA-256: Classifier.checkData.)
func TestClassesReadsEachSplitOnce(t *testing.T) {
	ctx := context.Background()
	dir, root := t.TempDir(), t.TempDir()
	clf := untrainedClassifier(t, dir)
	cg := evalCheckpoint(t, cycleganSets...)
	names := []string{"t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"}
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join(data.DefaultFashionRoot, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if _, err := unix.InotifyAddWatch(fd, root, unix.IN_OPEN); err != nil {
		t.Fatal(err)
	}
	both, err := Classes(ctx, ClassesOptions{Classifier: clf, Checkpoint: cg, Direction: "both", Root: root, Device: "cpu", Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	opens := map[string]int{}
	buf := make([]byte, 1<<16)
	for {
		n, err := unix.Read(fd, buf)
		if err == unix.EAGAIN {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for off := 0; off < n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			name := buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)]
			opens[string(bytes.TrimRight(name, "\x00"))]++
			off += unix.SizeofInotifyEvent + int(ev.Len)
		}
	}
	once := map[string]int{}
	for _, name := range names {
		once[name] = 1
	}
	if !maps.Equal(opens, once) {
		t.Errorf("eval classes --direction both opened the IDX files %v, want each once", opens)
	}
	if len(both) != 2 {
		t.Fatalf("eval classes --direction both gave %d tables", len(both))
	}
	alone, err := Classes(ctx, ClassesOptions{Classifier: clf, Checkpoint: cg, Direction: "BtoA", Root: root, Device: "cpu", Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	if both[1].String() != alone[0].String() {
		t.Errorf("BtoA's table with both directions:\n%s\nalone:\n%s", both[1], alone[0])
	}
}
