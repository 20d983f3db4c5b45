package data

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gogan/cgo/torchtest"
)

// imageFolderTree lays out class folders as ImageFolder reads them, with
// what makes its order differ from sorted paths: a class whose name sorts
// before its sibling's path ("cat-x" before "cat/..."), nested folders
// whose files come after their parent's, a class that is a link to a folder
// elsewhere, upper-case extensions, and files ImageFolder does not take
// (.gif, .txt). The images are facades photos, and two Netpbm gradients.
func imageFolderTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	root, elsewhere := filepath.Join(dir, "root"), filepath.Join(dir, "elsewhere")
	photos, _ := filepath.Glob(filepath.Join(facadesTrain(t), "*.jpg"))
	k := 0
	put := func(path string) {
		b, err := os.ReadFile(photos[k])
		if err != nil {
			t.Fatal(err)
		}
		k++
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{"cat/b.jpg", "cat/A.JPG", "cat/z/1.jpg", "cat/a/2.jpeg", "cat/c.jpg", "cat-x/9.jpg", "cat-x/0.jpg"} {
		put(filepath.Join(root, p))
	}
	put(filepath.Join(elsewhere, "y.jpg"))
	put(filepath.Join(elsewhere, "x.jpg"))
	pnm := func(magic string, c int) []byte {
		b := []byte(magic + "\n24 20\n255\n")
		for i := range 24 * 20 * c {
			b = append(b, byte(i*7))
		}
		return b
	}
	os.WriteFile(filepath.Join(root, "cat-x", "5.ppm"), pnm("P6", 3), 0o644)
	os.WriteFile(filepath.Join(root, "cat", "z", "0.PGM"), pnm("P5", 1), 0o644)
	os.WriteFile(filepath.Join(root, "cat", "notes.txt"), []byte("not an image"), 0o644)
	os.WriteFile(filepath.Join(root, "cat", "d.gif"), encode(t, "gif", gradient(5, 5)), 0o644)
	if err := os.Symlink(elsewhere, filepath.Join(root, "dog")); err != nil {
		t.Fatal(err)
	}
	return root
}

// TestImageFolderIsTorchvisions: data.dataset=folder over class folders
// lists the images in torchvision's ImageFolder order with its labels, and
// gives its images after the DCGAN example's Resize and CenterCrop, bit for
// bit; without ImageFolder it lists every image.
func TestImageFolderIsTorchvisions(t *testing.T) {
	root := imageFolderTree(t)
	want, labels := torchvisionItems(t, `
import torchvision.datasets as dset
d = dset.ImageFolder(root=sys.argv[1], transform=T.Compose([T.Resize(32), T.CenterCrop(32)]))
`, root)
	cfg := DefaultConfig(Folder)
	cfg.Root, cfg.ImageSize, cfg.ImageFolder = root, 32, true
	d, err := Open(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 11 || len(want) != 11 {
		t.Fatalf("%d images, torchvision's ImageFolder %d, want 11", d.Len(), len(want))
	}
	var order []string
	for i := range want {
		s, err := d.Sample(i, 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, d.Files()[i])
		order = append(order, rel)
		if s.Label != labels[i] || !bytes.Equal(s.A.Pix, want[i]) {
			t.Fatalf("image %d (%s): label %d (torchvision %d), pixels equal %v", i, rel, s.Label, labels[i], bytes.Equal(s.A.Pix, want[i]))
		}
	}
	if got, exp := strings.Join(order, " "), "cat/A.JPG cat/b.jpg cat/c.jpg cat/a/2.jpeg cat/z/0.PGM cat/z/1.jpg cat-x/0.jpg cat-x/5.ppm cat-x/9.jpg dog/x.jpg dog/y.jpg"; got != exp {
		t.Errorf("order %s, want %s", got, exp)
	}
	// Without ImageFolder (translate's inputs): every image under the root,
	// sorted, as make_dataset's walk (which does not follow dog's link).
	cfg.ImageFolder = false
	if d, err = Open(context.Background(), cfg, nil); err != nil {
		t.Fatal(err)
	}
	if rel, _ := filepath.Rel(root, d.Files()[0]); d.Len() != 10 || rel != "cat-x/0.jpg" || d.HasLabels() {
		t.Errorf("every image: %d, first %s, labels %v; want 10, cat-x/0.jpg, none", d.Len(), rel, d.HasLabels())
	}
}

// TestImageFolderErrors: an empty class and a link loop are named; a root
// with images of its own beside class folders is read whole, a linked
// class's images too, with a warning that ImageFolder would leave the
// loose images out.
func TestImageFolderErrors(t *testing.T) {
	open := func(root string) (*Dataset, error) {
		cfg := DefaultConfig(Folder)
		cfg.Root, cfg.ImageSize, cfg.ImageFolder = root, 32, true
		return Open(context.Background(), cfg, nil)
	}
	root := imageFolderTree(t)
	os.Mkdir(filepath.Join(root, "empty"), 0o755)
	if _, err := open(root); err == nil || !strings.Contains(err.Error(), "class folders without images: empty") ||
		!strings.Contains(err.Error(), "remove them from data.root, or put their images in them") || !strings.Contains(err.Error(), root) {
		t.Errorf("an empty class: %v", err)
	}
	os.Symlink(root, filepath.Join(root, "empty", "loop"))
	if _, err := open(root); err == nil || !strings.Contains(err.Error(), "links back to") {
		t.Errorf("a link loop: %v", err)
	}
	os.RemoveAll(filepath.Join(root, "empty"))
	os.WriteFile(filepath.Join(root, "loose.png"), encode(t, "png", gradient(8, 8)), 0o644)
	logs := torchtest.CaptureLogs(t)
	d, err := open(root)
	if err != nil {
		t.Fatal(err)
	}
	// cat's 7 (its GIF too), cat-x's 3, dog's 2 (a linked class, walked as
	// ImageFolder walks it) and the loose one
	var rels []string
	for _, f := range d.Files() {
		rel, _ := filepath.Rel(root, f)
		rels = append(rels, rel)
	}
	if d.Len() != 13 || d.HasLabels() || !slices.Contains(rels, "dog/x.jpg") || !slices.Contains(rels, "loose.png") || !slices.IsSorted(rels) {
		t.Errorf("images beside class folders: %d images %v, want every image (13, dog's linked ones too) unlabelled, sorted", d.Len(), rels)
	}
	if w := logs.String(); !strings.Contains(w, "data.root holds 1 image beside its class folders (loose.png)") || !strings.Contains(w, "would leave them out") ||
		!strings.Contains(w, "move them into a class folder") {
		t.Errorf("no warning naming the loose image and what to do:\n%s", w)
	}
}

// TestLinkedFolders: the links a folder dataset's walk follows, at any
// depth, through linked folders too (ImageFolder's os.walk(followlinks=
// True)), each folder they lead to once; a link back to a folder walked
// already ends the walk there.
func TestLinkedFolders(t *testing.T) {
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	root, a, b, c := filepath.Join(base, "root"), filepath.Join(base, "a"), filepath.Join(base, "b"), filepath.Join(base, "c")
	for _, d := range []string{filepath.Join(root, "mine"), a, b, c} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{
		filepath.Join(root, "fish"):         a,
		filepath.Join(a, "deep"):            b, // a link in a linked folder
		filepath.Join(b, "back"):            a, // back to a folder walked
		filepath.Join(root, "mine", "bird"): c,
		filepath.Join(root, "mine", "too"):  c, // a folder linked twice
	} {
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, l := range LinkedFolders(root) {
		got = append(got, l.Path+" -> "+l.Target)
	}
	want := []string{filepath.Join(root, "fish") + " -> " + a, filepath.Join(root, "fish", "deep") + " -> " + b, filepath.Join(root, "mine", "bird") + " -> " + c}
	if !slices.Equal(got, want) {
		t.Errorf("LinkedFolders = %q, want %q", got, want)
	}
	if l := LinkedFolders(a); len(l) != 1 || l[0].Target != b {
		t.Errorf("LinkedFolders of a linked folder itself: %+v", l)
	}
}

// TestMacOSXFolderNamed: the __MACOSX folder that a zip made on a Mac
// holds beside its files (a tree of ._NAME AppleDouble files, which
// ImageFolder takes for a class) is named with the command that deletes it
// whole, not folder by folder, which would leave it an empty class; deleted
// so, the root reads.
func TestMacOSXFolderNamed(t *testing.T) {
	root := filepath.Join(t.TempDir(), "my photos")
	write(t, filepath.Join(root, "cats", "a.jpg"), encode(t, "jpg", gradient(40, 40)))
	write(t, filepath.Join(root, "dogs", "b.png"), encode(t, "png", gradient(40, 40)))
	macosx := filepath.Join(root, "__MACOSX")
	for _, p := range []string{"cats/._a.jpg", "dogs/._b.png"} {
		write(t, filepath.Join(macosx, p), append([]byte{0, 5, 0x16, 7, 0, 2, 0, 0}, make([]byte, 4088)...))
	}
	cfg := DefaultConfig(Folder)
	cfg.Root, cfg.ImageSize, cfg.ImageFolder = root, 32, true
	_, err := Open(context.Background(), cfg, nil)
	if err == nil || !strings.Contains(err.Error(), "in "+macosx+", the folder of them that a zip made on a Mac holds") ||
		!strings.Contains(err.Error(), "delete that folder (rm -r '"+macosx+"')") || strings.Contains(err.Error(), "find ") {
		t.Fatalf("a zip's __MACOSX folder: %v", err)
	}
	if err := os.RemoveAll(macosx); err != nil {
		t.Fatal(err)
	}
	if d, err := Open(context.Background(), cfg, nil); err != nil || d.Len() != 2 {
		t.Fatalf("without __MACOSX: %v", err)
	}
}

// TestRootMayBeALink: a data.root (or its train/ folder) that is a link to a
// folder is read as the folder, as os.walk reads it; the files are named
// under the path given.
func TestRootMayBeALink(t *testing.T) {
	dir, real := t.TempDir(), torchtest.CopyFacades(t, map[string][]string{"train": {"1.jpg", "2.jpg"}})
	os.Symlink(filepath.Join(real, "train"), filepath.Join(dir, "flat"))
	os.Mkdir(filepath.Join(dir, "pairs"), 0o755)
	os.Symlink(filepath.Join(real, "train"), filepath.Join(dir, "pairs", "train"))
	for _, c := range []struct{ kind, root, first string }{
		{Folder, filepath.Join(dir, "flat"), filepath.Join(dir, "flat", "1.jpg")},
		{Aligned, filepath.Join(dir, "pairs"), filepath.Join(dir, "pairs", "train", "1.jpg")},
	} {
		cfg := DefaultConfig(c.kind)
		cfg.Root = c.root
		d, err := Open(context.Background(), cfg, nil)
		if err != nil {
			t.Fatalf("%s through a link: %v", c.kind, err)
		}
		if d.Len() != 2 || d.Files()[0] != c.first {
			t.Errorf("%s through a link: %d images, first %s (want 2, %s)", c.kind, d.Len(), d.Files()[0], c.first)
		}
	}
}
