package data

import (
	"context"
	"errors"
	"image"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// facadesTrain is the CMP facades training pairs at ../../shared/data/facades/train
// relative to the package folder; the unaligned tests need them and fail
// without them.
func facadesTrain(t testing.TB) string {
	t.Helper()
	d, err := filepath.Abs(filepath.Join("..", "..", "shared", "data", "facades", "train"))
	if err == nil {
		_, err = os.Stat(d)
	}
	if err != nil {
		t.Fatalf("the unaligned A|B tests read the CMP facades pairs at %s (shared/ beside the repository): %v", d, err)
	}
	return d
}

// halves loads an A|B file and returns its left and right halves in c channels.
func halves(t testing.TB, path string, c int) (*Image, *Image) {
	t.Helper()
	ab, err := LoadImage(path, 3)
	if err != nil {
		t.Fatal(err)
	}
	l, r := splitAB(ab)
	return toChannels(l, c), toChannels(r, c)
}

func openOK(t testing.TB, cfg Config) *Dataset {
	t.Helper()
	d, err := Open(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestUnalignedFacadesAB: one folder of A|B images is unaligned data whose A
// stream is the left halves and B stream the right halves, each sample
// pairing A of file i with the B of a random file.
func TestUnalignedFacadesAB(t *testing.T) {
	dir := facadesTrain(t)
	cfg := DefaultConfig(Unaligned)
	cfg.Root, cfg.Preprocess, cfg.NoFlip = dir, PreprocessNone, true
	d := openOK(t, cfg)
	files := d.Files()
	if na, nb := d.Streams(); d.Len() != 400 || na != 400 || nb != 400 || len(files) != 400 || !slices.Equal(d.FilesB(), files) || !sort.StringsAreSorted(files) {
		t.Fatalf("len %d, %d A files, %d B files", d.Len(), len(files), len(d.FilesB()))
	}
	a, b, u := d.Shape()
	if a != [3]int{3, 256, 256} || b != a || !u || !d.Paired() || d.HasLabels() {
		t.Fatalf("shapes %v %v uniform %v", a, b, u)
	}
	const seed, epoch = 11, 3
	ibs := map[int]bool{}
	for i := 0; i < 400; i += 20 {
		s, err := d.Sample(i, seed, epoch)
		if err != nil {
			t.Fatal(err)
		}
		ia, ib, err := d.UnalignedIndex(i, seed, epoch)
		if err != nil {
			t.Fatal(err)
		}
		if ia != i {
			t.Fatalf("sample %d: A index %d", i, ia)
		}
		ibs[ib] = true
		la, _ := halves(t, files[ia], 3)
		_, rb := halves(t, d.FilesB()[ib], 3)
		if !slices.Equal(s.A.Pix, la.Pix) {
			t.Fatalf("sample %d: A is not the left half of %s", i, files[ia])
		}
		if !slices.Equal(s.B.Pix, rb.Pix) {
			t.Fatalf("sample %d: B is not the right half of %s", i, d.FilesB()[ib])
		}
		if s.Label != -1 {
			t.Errorf("sample %d: label %d", i, s.Label)
		}
		// The same (seed, epoch, i) gives the same sample.
		s2, err := d.Sample(i, seed, epoch)
		if err != nil || !slices.Equal(s.A.Pix, s2.A.Pix) || !slices.Equal(s.B.Pix, s2.B.Pix) {
			t.Fatalf("sample %d is not deterministic: %v", i, err)
		}
	}
	if len(ibs) < 15 {
		t.Errorf("20 samples drew only %d different B files", len(ibs))
	}
	// The B pick depends on the epoch and the seed.
	moved := 0
	for i := range 50 {
		_, b1, _ := d.UnalignedIndex(i, seed, epoch)
		_, b2, _ := d.UnalignedIndex(i, seed, epoch+1)
		_, b3, _ := d.UnalignedIndex(i, seed+1, epoch)
		if b1 != b2 && b1 != b3 {
			moved++
		}
	}
	if moved < 45 {
		t.Errorf("only %d of 50 B picks change with the epoch and the seed", moved)
	}
	if _, _, err := d.UnalignedIndex(400, seed, epoch); err == nil {
		t.Error("UnalignedIndex(400) of 400 samples: want an error")
	}
	// Image 5 of the A stream is file 5's left half, of the B stream its right.
	l5, r5 := halves(t, files[5], 3)
	da, _, errA := d.streamImage(false, 5)
	db, _, errB := d.streamImage(true, 5)
	if errA != nil || errB != nil || !slices.Equal(da.Pix, l5.Pix) || !slices.Equal(db.Pix, r5.Pix) {
		t.Errorf("stream image 5 is not file 5's halves (%v, %v)", errA, errB)
	}

	// The parent folder with data.phase=train finds the same files.
	cfg.Root, cfg.Validate = filepath.Dir(dir), "header"
	if p := openOK(t, cfg); !slices.Equal(p.Files(), files) {
		t.Errorf("facades/ with phase train: %d files", len(p.Files()))
	}
}

// TestUnalignedRandomCropsAndDrawOrder: with resize_and_crop and flips, each
// side gets its own crop and flip, drawn after the B pick, and a sample is
// the same whoever builds it.
func TestUnalignedRandomCropsAndDrawOrder(t *testing.T) {
	dir := facadesTrain(t)
	cfg := DefaultConfig(Unaligned)
	cfg.Root, cfg.Validate, cfg.LoadSize, cfg.CropSize, cfg.OutputNC = dir, "header", 143, 128, 1
	d := openOK(t, cfg)
	a, b, u := d.Shape()
	if a != [3]int{3, 128, 128} || b != [3]int{1, 128, 128} || !u {
		t.Fatalf("shapes %v %v", a, b)
	}
	for _, serial := range []bool{false, true} {
		cfg.SerialBatches = serial
		d := openOK(t, cfg)
		for _, i := range []int{0, 17, 399} {
			s, err := d.Sample(i, 4, 9)
			if err != nil {
				t.Fatal(err)
			}
			// Rebuild it by hand: the B pick (none with serial_batches), then
			// A's crop and flip, then B's.
			r := newRNG(4, 9, uint64(i))
			ib := i
			if !serial {
				ib = r.Intn(400)
			}
			la, _ := halves(t, d.Files()[i], 3)
			_, rb := halves(t, d.FilesB()[ib], 1)
			wa, err := d.tf.Apply(la, drawParams(r))
			if err != nil {
				t.Fatal(err)
			}
			wb, err := d.tf.Apply(rb, drawParams(r))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(s.A.Pix, wa.Pix) || !slices.Equal(s.B.Pix, wb.Pix) || s.B.C != 1 {
				t.Fatalf("serial_batches=%v sample %d: not (B pick, A crop+flip, B crop+flip) from the sample's rng", serial, i)
			}
		}
	}
}

// TestUnalignedMaxSamplesHoldsOut: max_samples cuts both the A and the B list
// to their first N files, so files N.. are never used.
func TestUnalignedMaxSamplesHoldsOut(t *testing.T) {
	dir := facadesTrain(t)
	cfg := DefaultConfig(Unaligned)
	cfg.Root, cfg.Validate = dir, "header"
	all := openOK(t, cfg).Files()
	cfg.MaxSamples = 350
	d := openOK(t, cfg)
	if na, nb := d.Streams(); d.Len() != 350 || na != 350 || nb != 350 || !slices.Equal(d.Files(), all[:350]) || !slices.Equal(d.FilesB(), all[:350]) {
		t.Fatalf("len %d, %d A files, %d B files", d.Len(), len(d.Files()), len(d.FilesB()))
	}
	maxB := 0
	for epoch := range uint64(5) {
		for i := range d.Len() {
			ia, ib, err := d.UnalignedIndex(i, 999, epoch)
			if err != nil {
				t.Fatal(err)
			}
			if ia != i || ib < 0 || ib >= 350 {
				t.Fatalf("epoch %d sample %d: indices %d, %d", epoch, i, ia, ib)
			}
			maxB = max(maxB, ib)
		}
	}
	if maxB < 340 {
		t.Errorf("largest B index %d in 1750 picks", maxB)
	}
	// The loader goes through 350 samples an epoch.
	cfg.BatchSize, cfg.Workers = 50, 2
	cfg.Preprocess, cfg.CropSize = Crop, 64
	l, err := OpenLoader(context.Background(), cfg, 1, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	n := 0
	for {
		bt, err := l.Next(context.Background())
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range bt.Indices {
			if i >= 350 {
				t.Fatalf("sample index %d", i)
			}
		}
		n += bt.N()
		bt.Release()
	}
	if n != 350 {
		t.Errorf("an epoch has %d samples", n)
	}
}

// TestUnalignedSerialBatches: sample i pairs A[i] with B[i mod |B|].
func TestUnalignedSerialBatches(t *testing.T) {
	dir := facadesTrain(t)
	cfg := DefaultConfig(Unaligned)
	cfg.Root, cfg.Validate, cfg.Preprocess, cfg.NoFlip, cfg.SerialBatches = dir, "header", PreprocessNone, true, true
	d := openOK(t, cfg)
	for _, i := range []int{0, 1, 123, 399} {
		ia, ib, err := d.UnalignedIndex(i, 5, 6)
		if err != nil || ia != i || ib != i {
			t.Fatalf("sample %d: indices %d, %d (%v)", i, ia, ib, err)
		}
		s, err := d.Sample(i, 5, 6)
		if err != nil {
			t.Fatal(err)
		}
		l, r := halves(t, d.Files()[i], 3)
		if !slices.Equal(s.A.Pix, l.Pix) || !slices.Equal(s.B.Pix, r.Pix) {
			t.Fatalf("sample %d is not the pair of file %d", i, i)
		}
	}
	// Two folders of different lengths: B wraps around.
	two := t.TempDir()
	for i := range 5 {
		write(t, filepath.Join(two, "trainA", string(rune('a'+i))+".png"), encode(t, "png", gradient(30, 30)))
	}
	for i := range 3 {
		write(t, filepath.Join(two, "trainB", string(rune('a'+i))+".png"), encode(t, "png", gradient(30, 30)))
	}
	cfg.Root, cfg.Preprocess = two, Crop
	cfg.CropSize = 16
	d = openOK(t, cfg)
	for i := range 5 {
		if ia, ib, _ := d.UnalignedIndex(i, 0, 0); ia != i || ib != i%3 {
			t.Errorf("sample %d: %d, %d", i, ia, ib)
		}
	}
	// More B than A: A wraps around, and every B is used, in order
	// (UnalignedDataset: index % A_size; with serial_batches index_B =
	// index % B_size, over max(A_size, B_size) samples).
	more := t.TempDir()
	for i := range 3 {
		write(t, filepath.Join(more, "trainA", string(rune('a'+i))+".png"), encode(t, "png", gradient(30, 30)))
	}
	for i := range 5 {
		b := image.NewGray(image.Rect(0, 0, 30, 30))
		for p := range b.Pix {
			b.Pix[p] = uint8(40 * i)
		}
		write(t, filepath.Join(more, "trainB", string(rune('a'+i))+".png"), encode(t, "png", b))
	}
	cfg.Root = more
	d = openOK(t, cfg)
	if d.Len() != 5 {
		t.Fatalf("%d samples, want 5", d.Len())
	}
	for i := range 5 {
		if ia, ib, _ := d.UnalignedIndex(i, 0, 0); ia != i%3 || ib != i {
			t.Errorf("sample %d: %d, %d, want %d, %d", i, ia, ib, i%3, i)
		}
		s, err := d.Sample(i, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if s.B.Pix[0] != uint8(40*i) {
			t.Errorf("sample %d's B is trainB's file of %d, want file %d", i, s.B.Pix[0]/40, i)
		}
	}
	// and so do the references' draws (a random crop: they are drawn)
	drs, err := d.ReferenceDraws([]int{0, 1, 2, 3, 4}, 2, 1, 3)
	if err != nil || len(drs) != 5 {
		t.Fatalf("reference draws: %v %v", drs, err)
	}
	for i, dr := range drs {
		if dr.B != i {
			t.Errorf("reference draws: sample %d pairs B %d, want %d", i, dr.B, i)
		}
	}
}

// TestUnalignedABErrors: no layout found names all three; an image too
// small for the crop names the file. (An odd width is cut at int(w/2), each
// half its own image.)
func TestUnalignedABErrors(t *testing.T) {
	empty := t.TempDir()
	write(t, filepath.Join(empty, "notes.txt"), []byte("no images"))
	cfg := DefaultConfig(Unaligned)
	cfg.Root = empty
	_, err := Open(context.Background(), cfg, nil)
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Key != "data.root" {
		t.Fatalf("want a data.root error, got %v", err)
	}
	for _, want := range []string{empty, "trainA/ and trainB/", "A/ and B/", "A|B images", "train/"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("want %q in %v", want, err)
		}
	}
	// Only trainA/: the missing trainB/ is named.
	onlyA := t.TempDir()
	write(t, filepath.Join(onlyA, "trainA", "a.png"), encode(t, "png", gradient(30, 30)))
	cfg.Root = onlyA
	if _, err := Open(context.Background(), cfg, nil); err == nil || !strings.Contains(err.Error(), filepath.Join(onlyA, "trainB")) {
		t.Errorf("trainA/ without trainB/: %v", err)
	}

	dir := t.TempDir()
	write(t, filepath.Join(dir, "train", "a.png"), encode(t, "png", gradient(64, 32)))
	write(t, filepath.Join(dir, "train", "b.png"), encode(t, "png", gradient(64, 32)))
	write(t, filepath.Join(dir, "train", "odd.png"), encode(t, "png", gradient(65, 32)))
	odd := write(t, filepath.Join(dir, "train", "c.png"), encode(t, "png", gradient(40, 20)))
	cfg.Root, cfg.Preprocess, cfg.CropSize = dir, Crop, 32
	_, err = Open(context.Background(), cfg, nil)
	if err == nil || !strings.Contains(err.Error(), odd+": data.crop_size 32 is larger than the image 20x20") {
		t.Errorf("an image too small: %v", err)
	}
	// skip_invalid drops it from both streams, also when only headers are read.
	cfg.Validate, cfg.SkipInvalid = "header", true
	d, err := Open(context.Background(), cfg, &OpenOptions{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Files()) != 3 || !slices.Equal(d.FilesB(), d.Files()) || slices.Contains(d.Files(), odd) || len(d.Skipped()) != 1 {
		t.Fatalf("skip_invalid keeps %v / %v", d.Files(), d.FilesB())
	}
	// odd.png's halves, 32 and 33 wide, without a crop: A and B images of
	// their own sizes.
	cfg.Preprocess = PreprocessNone
	cfg.NoneMultiple = 1
	if d, err = Open(context.Background(), cfg, &OpenOptions{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}); err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(d.Files(), func(f string) bool { return strings.HasSuffix(f, "odd.png") })
	smp, err := d.SampleWith(i, Draws{B: i})
	if err != nil {
		t.Fatal(err)
	}
	if smp.A.W != 32 || smp.B.W != 33 {
		t.Errorf("odd.png's halves: %d and %d wide, want 32 and 33", smp.A.W, smp.B.W)
	}
}

// TestDomainFolderAsRootRefused: data.root set to one of two domain folders
// (datasets/NAME/trainA beside trainB, or A beside B) is refused, naming
// the folder that holds them: read as A|B images each photo of the one
// domain was cut in halves and trained on as both domains, with an info
// line alone, where the references (joining trainA to it) fail. A folder
// whose name ends in A without a B beside it is A|B images as before, and so
// are such folders side by side whose images are twice as wide as high
// (pairs: setA/ and setB/ of A|B images). So are a domain folder of pairs
// kept in two folders (pairs/A, whose train/ was read) and its split
// (pairs/A/train beside pairs/B/train), which were read as A|B images.
func TestDomainFolderAsRootRefused(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"trainA/1.png", "trainA/2.png", "trainB/1.png", "A/1.png", "B/1.png", "photosA/1.png",
		"pairs/A/train/1.png", "pairs/B/train/1.png"} {
		write(t, filepath.Join(dir, f), encode(t, "png", gradient(40, 40)))
	}
	// A|B images in folders named alike (their names their own), and pairs
	// kept in two folders whose images are street scenes of 2:1 (the
	// sketch and its photo of one name)
	for _, f := range []string{"setA/1.png", "setB/7.png", "street/A/train/x.png", "street/B/train/x.png"} {
		write(t, filepath.Join(dir, f), encode(t, "png", gradient(80, 40)))
	}
	for _, kind := range []string{Unaligned, Aligned} {
		for _, c := range []struct{ root, other string }{{"trainA", "trainB"}, {"trainB", "trainA"}, {"A", "B"}} {
			cfg := DefaultConfig(kind)
			cfg.Root, cfg.Preprocess, cfg.CropSize = filepath.Join(dir, c.root), Crop, 16
			_, err := Open(context.Background(), cfg, nil)
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Key != "data.root" {
				t.Errorf("%s, data.root %s/: want a data.root error, got %v", kind, c.root, err)
				continue
			}
			for _, want := range []string{"is the domain folder " + c.root + "/ of " + dir + ", beside " + c.other + "/", "cut in halves", "set data.root to " + dir} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%s, data.root %s/: want %q in %v", kind, c.root, want, err)
				}
			}
		}
		for _, c := range []struct{ root, base, other string }{{"pairs/A", "A", "B"}, {"pairs/B/train", "B/train", "A/train"}, {"street/A/train", "A/train", "B/train"}} {
			cfg := DefaultConfig(kind)
			cfg.Root, cfg.Preprocess, cfg.CropSize = filepath.Join(dir, c.root), Crop, 16
			_, err := Open(context.Background(), cfg, &OpenOptions{Logger: slog.New(slog.DiscardHandler)})
			want := "is the domain folder " + c.base + "/ of " + filepath.Join(dir, strings.Split(c.root, "/")[0]) + ", beside " + c.other + "/"
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s, data.root %s/: want %q, got %v", kind, c.root, want, err)
			}
		}
		for _, root := range []string{"photosA", "setA"} {
			cfg := DefaultConfig(kind)
			cfg.Root, cfg.Preprocess, cfg.CropSize = filepath.Join(dir, root), Crop, 16
			if _, err := Open(context.Background(), cfg, &OpenOptions{Logger: slog.New(slog.DiscardHandler)}); err != nil {
				t.Errorf("%s, data.root %s/ (no photosB/ beside it, or A|B images): %v", kind, root, err)
			}
		}
	}
	// data.root . in trainA/ is the same folder.
	t.Chdir(filepath.Join(dir, "trainA"))
	cfg := DefaultConfig(Unaligned)
	cfg.Root, cfg.Preprocess, cfg.CropSize = ".", Crop, 16
	if _, err := Open(context.Background(), cfg, nil); err == nil || !strings.Contains(err.Error(), "is the domain folder trainA/ of "+dir+", beside trainB/") {
		t.Errorf("data.root . in trainA/: want it refused as the domain folder, got %v", err)
	}
}

// fashionByPixels maps each Fashion-MNIST image (its 784 bytes) of the given
// split to the labels of the images with those pixels, read straight from
// the IDX files.
func fashionByPixels(t *testing.T, root, stem string) (map[string][]uint8, [][]byte, []uint8) {
	t.Helper()
	im, err := ReadIDX(filepath.Join(root, stem+"-images-idx3-ubyte.gz"))
	if err != nil {
		t.Fatal(err)
	}
	lb, err := ReadIDX(filepath.Join(root, stem+"-labels-idx1-ubyte.gz"))
	if err != nil {
		t.Fatal(err)
	}
	n, sz := im.Dims[0], im.Dims[1]*im.Dims[2]
	m := make(map[string][]uint8, n)
	imgs := make([][]byte, n)
	for i := range n {
		p := im.Data[i*sz : (i+1)*sz]
		imgs[i] = p
		m[string(p)] = append(m[string(p)], lb.Data[i])
	}
	return m, imgs, lb.Data
}

// TestUnalignedFashionDomains: classes 7 (sneaker) vs 9 (ankle boot) of
// Fashion-MNIST as the A and B domains.
func TestUnalignedFashionDomains(t *testing.T) {
	root := fashionRoot(t)
	byPix, imgs, labels := fashionByPixels(t, root, "train")
	var class7, class9 []int // IDX indices in file order
	for i, l := range labels {
		switch l {
		case 7:
			class7 = append(class7, i)
		case 9:
			class9 = append(class9, i)
		}
	}
	only := func(pix []uint8, want uint8) bool {
		ls, ok := byPix[string(pix)]
		if !ok {
			return false
		}
		for _, l := range ls {
			if l != want {
				return false
			}
		}
		return true
	}
	cfg := DefaultConfig(Unaligned)
	cfg.Root = "" // defaults to Debian's Fashion-MNIST
	cfg.ClassesA, cfg.ClassesB = "7", "9"
	cfg.Preprocess, cfg.NoFlip = PreprocessNone, true
	d := openOK(t, cfg)
	a, b, u := d.Shape()
	if d.Len() != max(len(class7), len(class9)) || a != [3]int{1, 28, 28} || b != a || !u {
		t.Fatalf("len %d (classes 7: %d, 9: %d), shapes %v %v", d.Len(), len(class7), len(class9), a, b)
	}
	if na, nb := d.Streams(); na != len(class7) || nb != len(class9) {
		t.Fatalf("streams %d, %d", na, nb)
	}
	if !d.HasLabels() || d.Files() != nil || d.FilesB() != nil {
		t.Fatal("IDX domains: want labels and no files")
	}
	ibs := map[int]bool{}
	for i := 0; i < d.Len(); i += 97 {
		s, err := d.Sample(i, 1, 2)
		if err != nil {
			t.Fatal(err)
		}
		if s.Label != 7 {
			t.Fatalf("sample %d: label %d", i, s.Label)
		}
		if !slices.Equal(s.A.Pix, imgs[class7[i%len(class7)]]) {
			t.Fatalf("sample %d: A is not class 7's image %d", i, i%len(class7))
		}
		if !only(s.B.Pix, 9) {
			t.Fatalf("sample %d: B is not a class 9 image (labels %v)", i, byPix[string(s.B.Pix)])
		}
		_, ib, _ := d.UnalignedIndex(i, 1, 2)
		if !slices.Equal(s.B.Pix, imgs[class9[ib]]) {
			t.Fatalf("sample %d: B is not class 9's image %d", i, ib)
		}
		ibs[ib] = true
	}
	if len(ibs) < 55 {
		t.Errorf("%d different B images in 62 samples", len(ibs))
	}

	// Names, any case, and lists with repeats give the same domains.
	for _, names := range [][2]string{{"sneaker", "ankle-boot"}, {"Sneaker", "Ankle Boot"}, {" 7 ,SNEAKER", "ankle_boot,9"}} {
		cfg.ClassesA, cfg.ClassesB = names[0], names[1]
		e := openOK(t, cfg)
		for _, i := range []int{0, 1234} {
			s1, _ := d.Sample(i, 3, 0)
			s2, err := e.Sample(i, 3, 0)
			if err != nil || !slices.Equal(s1.A.Pix, s2.A.Pix) || !slices.Equal(s1.B.Pix, s2.B.Pix) {
				t.Fatalf("%q: sample %d differs from 7 vs 9 (%v)", names, i, err)
			}
		}
	}
	cfg.ClassesA, cfg.ClassesB = "t-shirt/top,tshirt,trouser", "pullover, dress ,coat,sandal,shirt,bag"
	if e := openOK(t, cfg); e.Len() != 6*6000 || len(e.idxA) != 2*6000 {
		t.Errorf("two classes vs six: %d samples, %d A images", e.Len(), len(e.idxA))
	}

	// max_samples cuts both domains to their first N images.
	cfg.ClassesA, cfg.ClassesB, cfg.MaxSamples = "7", "9", 100
	m := openOK(t, cfg)
	first9 := map[string]bool{}
	for _, j := range class9[:100] {
		first9[string(imgs[j])] = true
	}
	if na, nb := m.Streams(); m.Len() != 100 || na != 100 || nb != 100 {
		t.Fatalf("max_samples 100: %d samples", m.Len())
	}
	for i := range 100 {
		s, err := m.Sample(i, 8, 1)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(s.A.Pix, imgs[class7[i]]) || !first9[string(s.B.Pix)] {
			t.Fatalf("max_samples 100, sample %d: an image past the first 100 of its class", i)
		}
	}

	// BtoA: Sample.A is the class 9 image, and the label is its label.
	cfg.MaxSamples, cfg.Direction = 0, "BtoA"
	r := openOK(t, cfg)
	s, err := r.Sample(10, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if s.Label != 9 || !only(s.A.Pix, 9) || !slices.Equal(s.B.Pix, imgs[class7[10]]) {
		t.Errorf("BtoA: label %d", s.Label)
	}

	// The test split (data.phase test, or val) has 1000 of each.
	cfg.Direction = "AtoB"
	for _, phase := range []string{"test", "val"} {
		cfg.Phase = phase
		if e := openOK(t, cfg); e.Len() != 1000 {
			t.Errorf("phase %s: %d samples", phase, e.Len())
		}
	}
}

// TestUnalignedFashionTransforms: CycleGAN's resize_and_crop on 28x28
// images, 1 or 3 channels, and batches from the loader with the A labels.
func TestUnalignedFashionTransforms(t *testing.T) {
	fashionRoot(t)
	cfg := DefaultConfig(Unaligned)
	cfg.ClassesA, cfg.ClassesB = "sandal", "sneaker"
	cfg.LoadSize, cfg.CropSize, cfg.MaxSamples = 32, 32, 64
	d := openOK(t, cfg)
	if a, b, _ := d.Shape(); a != [3]int{1, 32, 32} || b != a {
		t.Fatalf("load 32 crop 32: %v %v", a, b)
	}
	flips := map[string]bool{}
	for epoch := range uint64(20) {
		s, err := d.Sample(3, 0, epoch)
		if err != nil {
			t.Fatal(err)
		}
		if s.A.W != 32 || s.A.H != 32 || s.A.C != 1 || s.Label != 5 {
			t.Fatalf("sample: %dx%dx%d label %d", s.A.W, s.A.H, s.A.C, s.Label)
		}
		flips[string(s.A.Pix)] = true
	}
	if len(flips) != 2 {
		t.Errorf("load=crop: want the image and its mirror, got %d versions", len(flips))
	}
	cfg.LoadSize, cfg.CropSize, cfg.InputNC, cfg.OutputNC = 36, 32, 3, 3
	d = openOK(t, cfg)
	if a, b, _ := d.Shape(); a != [3]int{3, 32, 32} || b != a {
		t.Fatalf("3 channels: %v %v", a, b)
	}
	s, err := d.Sample(0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for p := 0; p < len(s.B.Pix); p += 3 {
		if s.B.Pix[p] != s.B.Pix[p+1] || s.B.Pix[p] != s.B.Pix[p+2] {
			t.Fatal("3-channel B of a gray image is not gray")
		}
	}
	cfg.BatchSize, cfg.Workers = 16, 2
	l, err := OpenLoader(context.Background(), cfg, 7, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	bt, err := l.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer bt.Release()
	if ta, tb := bt.Tensor("A"), bt.Tensor("B"); ta == nil || tb == nil || ta.Shape != [4]int{16, 3, 32, 32} || tb.Shape != ta.Shape {
		t.Fatalf("batch tensors %v", bt.Tensors)
	}
	for _, lab := range bt.Labels {
		if lab != 5 {
			t.Fatalf("batch labels %v", bt.Labels)
		}
	}
}

// TestUnalignedConfigErrors: every bad data.classes_A / data.classes_B /
// data.serial_batches setting is refused naming its key and value.
func TestUnalignedConfigErrors(t *testing.T) {
	base := DefaultConfig(Unaligned)
	base.Root = DefaultFashionRoot
	for _, c := range []struct {
		name   string
		edit   func(*Config)
		key    string
		values []string // substrings of the message
	}{
		{"number out of range", func(c *Config) { c.ClassesA, c.ClassesB = "7,11", "9" }, "data.classes_A", []string{`"7,11"`, "class 11 is out of range", "0..9"}},
		{"negative", func(c *Config) { c.ClassesA, c.ClassesB = "7", "-1" }, "data.classes_B", []string{`"-1"`, "out of range"}},
		{"unknown name", func(c *Config) { c.ClassesA, c.ClassesB = "sneakers", "9" }, "data.classes_A", []string{`"sneakers"`, `unknown fashion-mnist class "sneakers"`, "ankle-boot"}},
		{"empty entry", func(c *Config) { c.ClassesA, c.ClassesB = "7,", "9" }, "data.classes_A", []string{`"7,"`, "empty class"}},
		{"name on mnist", func(c *Config) { c.ClassesA, c.ClassesB, c.Source = "sneaker", "9", MNIST }, "data.classes_A", []string{`"sneaker"`, "mnist classes are the numbers 0..9"}},
		{"overlap", func(c *Config) { c.ClassesA, c.ClassesB = "7,bag", "8,9" }, "data.classes_B", []string{`"8,9"`, "shares class 8 (bag)", `data.classes_A "7,bag"`}},
		{"overlap by name", func(c *Config) { c.ClassesA, c.ClassesB = "sneaker", "7" }, "data.classes_B", []string{"shares class 7 (sneaker)"}},
		{"only A", func(c *Config) { c.ClassesA = "7" }, "data.classes_B", []string{"must be set together with data.classes_A \"7\""}},
		{"only B", func(c *Config) { c.ClassesB = "9" }, "data.classes_A", []string{"must be set together with data.classes_B \"9\""}},
		{"other dataset", func(c *Config) { c.Dataset, c.ClassesA, c.ClassesB = Aligned, "7", "9" }, "data.classes_A", []string{`"7"`, "only applies to data.dataset=unaligned", "not aligned"}},
		{"folder source", func(c *Config) { c.ClassesA, c.ClassesB, c.Source = "7", "9", Folder }, "data.source", []string{`"folder"`, "must be fashion-mnist, mnist or cifar10"}},
		{"serial_batches elsewhere", func(c *Config) { c.Dataset, c.SerialBatches = Aligned, true }, "data.serial_batches", []string{"only applies to data.dataset=unaligned", "data.shuffle=false"}},
	} {
		cfg := base
		c.edit(&cfg)
		_, err := Open(context.Background(), cfg, nil)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Key != c.key {
			t.Errorf("%s: want a %s error, got %v", c.name, c.key, err)
			continue
		}
		if !strings.Contains(err.Error(), "data: "+c.key+": ") {
			t.Errorf("%s: %v does not start with the key", c.name, err)
		}
		for _, v := range c.values {
			if !strings.Contains(err.Error(), v) {
				t.Errorf("%s: want %q in %v", c.name, v, err)
			}
		}
	}
	// ParseClasses and ClassName, for the tools that read these keys.
	set, err := ParseClasses("Ankle Boot, 0,tshirt", FashionMNIST)
	if err != nil || len(set) != 2 || !set[0] || !set[9] {
		t.Errorf("ParseClasses: %v %v", set, err)
	}
	if _, err := ParseClasses("coat", MNIST); err == nil || !strings.Contains(err.Error(), `"coat" is not a class number`) {
		t.Errorf("ParseClasses(coat, mnist): %v", err)
	}
	if ClassName(FashionMNIST, 9) != "ankle-boot" || ClassName(MNIST, 9) != "9" || ClassName(FashionMNIST, 0) != "t-shirt/top" {
		t.Error("ClassName")
	}
	// Good lists pass Check.
	for _, v := range [][2]string{{"0", "1"}, {"T-Shirt/Top", "ankle boot"}, {"1,2,3", "4, 5"}} {
		cfg := base
		cfg.ClassesA, cfg.ClassesB = v[0], v[1]
		if err := cfg.Check(); err != nil {
			t.Errorf("%q: %v", v, err)
		}
	}
	// mnist numbers are fine (whether the files are there is Open's business).
	cfg := base
	cfg.ClassesA, cfg.ClassesB, cfg.Source, cfg.Root = "0", "1,2", MNIST, t.TempDir()
	if err := cfg.Check(); err != nil {
		t.Errorf("mnist 0 vs 1,2: %v", err)
	}
	if _, err := Open(context.Background(), cfg, nil); err == nil || !strings.Contains(err.Error(), "train-images-idx3-ubyte") {
		t.Errorf("mnist without files: %v", err)
	}
}

// TestUnalignedMissingDomainNamed: a data.root with one domain folder and
// not the other (trainA/ without trainB/, testA/ without testB/, A/
// without B/) is refused naming data.root, the folder it has and the one
// it lacks; one named in another case (trainb/) is named with its rename.
// The refusal was the missing folder's bare "no such folder", which named
// neither, and the case-insensitive check of the other layouts never ran.
func TestUnalignedMissingDomainNamed(t *testing.T) {
	for _, c := range []struct {
		phase string
		dirs  []string
		want  []string
	}{
		{"train", []string{"trainA"}, []string{"has trainA/ but no trainB/", "images in %s/trainB"}},
		{"train", []string{"trainA", "trainb"}, []string{"has trainA/ but no trainB/", "rename trainb/ to trainB/"}},
		{"train", []string{"TrainA", "trainB"}, []string{"has trainB/ but no trainA/", "rename TrainA/ to trainA/"}},
		{"test", []string{"trainA", "trainB", "testA"}, []string{"has testA/ but no testB/", "images in %s/testB"}},
		{"train", []string{"A"}, []string{"has A/ but no B/", "images in %s/B"}},
	} {
		root := t.TempDir()
		for _, d := range c.dirs {
			write(t, filepath.Join(root, d, "a.png"), encode(t, "png", gradient(30, 30)))
		}
		cfg := DefaultConfig(Unaligned)
		cfg.Root, cfg.Phase = root, c.phase
		_, err := Open(context.Background(), cfg, nil)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Key != "data.root" || ce.Value != root {
			t.Errorf("%v (phase %s): want a data.root error naming %s, got %v", c.dirs, c.phase, root, err)
			continue
		}
		for _, w := range c.want {
			if w = strings.ReplaceAll(w, "%s", root); !strings.Contains(err.Error(), w) {
				t.Errorf("%v (phase %s): want %q in %v", c.dirs, c.phase, w, err)
			}
		}
	}
}
