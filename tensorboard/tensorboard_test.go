package tensorboard

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The tests read our files back with scripts/tfevents_read.py: its own
// TFRecord parser and CRC32C (python3-crc32c), protoc against TensorBoard's
// .proto files (protobuf-compiler), and PIL for the PNGs.
const (
	python = "/usr/bin/python3" // Debian's, which has python3-crc32c and python3-pil
	reader = "../scripts/tfevents_read.py"
)

type readBack struct {
	Records     int     `json:"records"`
	PartialTail bool    `json:"partial_tail"`
	Events      []event `json:"events"`
}

type event struct {
	WallTime    float64 `json:"wall_time"`
	Step        int64   `json:"step"`
	FileVersion *string `json:"file_version"`
	SessionLog  string  `json:"session_log"`
	Values      []value `json:"values"`
}

type value struct {
	Tag         string `json:"tag"`
	SimpleValue any    `json:"simple_value"` // a float32's value, or "nan", "inf", "-inf"
	Image       *struct {
		Height     int    `json:"height"`
		Width      int    `json:"width"`
		Colorspace int    `json:"colorspace"`
		PNGLen     int    `json:"png_len"`
		PNGWidth   int    `json:"png_width"`
		PNGHeight  int    `json:"png_height"`
		PNGMode    string `json:"png_mode"`
		Pixels     []byte `json:"pixels"`
	} `json:"image"`
	Text *string `json:"text"`
}

// runReader runs the reader on path; err is its exit error, if any.
func runReader(t *testing.T, path string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(python, reader, path)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}

// read reads path back, failing the test unless the reader accepts it.
func read(t *testing.T, path string) readBack {
	t.Helper()
	out, stderr, err := runReader(t, path)
	if err != nil {
		t.Fatalf("%s %s %s: %v\n%s(the reader needs protobuf-compiler, python3-crc32c and python3-pil: run make setup)", python, reader, path, err, stderr)
	}
	var rb readBack
	if err := json.Unmarshal([]byte(out), &rb); err != nil {
		t.Fatalf("reader output: %v\n%s", err, out)
	}
	if len(rb.Events) != rb.Records {
		t.Fatalf("reader says %d records but gives %d events", rb.Records, len(rb.Events))
	}
	return rb
}

// checkFirst checks the file_version event every file starts with.
func checkFirst(t *testing.T, rb readBack) {
	t.Helper()
	if len(rb.Events) == 0 {
		t.Fatal("no events")
	}
	e := rb.Events[0]
	if e.FileVersion == nil || *e.FileVersion != "brain.Event:2" || e.Step != 0 || len(e.Values) != 0 {
		t.Fatalf("first event = %+v, want file_version brain.Event:2 at step 0 and no values", e)
	}
	for i, e := range rb.Events[1:] {
		if e.FileVersion != nil {
			t.Errorf("event %d has file_version %q too", i+1, *e.FileVersion)
		}
	}
}

func TestScalars(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run", "tb") // Create makes the dirs
	before := time.Now()
	w, err := Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	steps := []int64{0, 1, 100, 1 << 40}
	values := [][]Scalar{
		{{"loss/d", 0.1}, {"loss/g", -3.5}, {"lr", 2e-4}},
		{{"loss/d", 1e-8}, {"loss/g", 1e30}, {"lr", 0}},
		{{"loss/d", math.NaN()}, {"loss/g", math.Inf(1)}, {"lr", math.Inf(-1)}},
		{{"loss/d", math.Pi}, {"ünïcode tag/with space", 1.0 / 3}},
	}
	for i, step := range steps {
		if err := w.Scalars(step, values[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Scalars(7, nil); err != nil { // writes nothing
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	after := time.Now()

	host, _ := os.Hostname()
	name := regexp.MustCompile(`^events\.out\.tfevents\.(\d{10})\.` + regexp.QuoteMeta(host) + `$`)
	if filepath.Dir(w.Path()) != dir || !name.MatchString(filepath.Base(w.Path())) {
		t.Errorf("path %s: want %s/events.out.tfevents.<10-digit seconds>.%s", w.Path(), dir, host)
	}

	rb := read(t, w.Path())
	if rb.Records != 1+len(steps) || rb.PartialTail {
		t.Fatalf("records %d partial %v, want %d whole records", rb.Records, rb.PartialTail, 1+len(steps))
	}
	checkFirst(t, rb)
	prev := 0.0
	for i, e := range rb.Events {
		// wall_time is time.Now in seconds; float64 keeps it to well under a ms.
		lo, hi := float64(before.UnixNano())/1e9-1e-3, float64(after.UnixNano())/1e9+1e-3
		if e.WallTime < lo || e.WallTime > hi || e.WallTime < prev {
			t.Errorf("event %d wall_time %f not in [%f, %f] after %f", i, e.WallTime, lo, hi, prev)
		}
		prev = e.WallTime
	}
	for i, e := range rb.Events[1:] {
		if e.Step != steps[i] {
			t.Errorf("event %d step %d, want %d", i+1, e.Step, steps[i])
		}
		if len(e.Values) != len(values[i]) {
			t.Fatalf("event %d has %d values, want %d", i+1, len(e.Values), len(values[i]))
		}
		for j, v := range e.Values {
			want := values[i][j]
			if v.Tag != want.Tag {
				t.Errorf("step %d value %d tag %q, want %q", e.Step, j, v.Tag, want.Tag)
			}
			if !sameFloat32(v.SimpleValue, want.Value) {
				t.Errorf("step %d %s = %v, want float32(%v) = %v", e.Step, want.Tag, v.SimpleValue, want.Value, float32(want.Value))
			}
		}
	}
}

// sameFloat32 says whether the reader's simple_value is exactly float32(want)
// (the reader gives a float32's exact value).
func sameFloat32(got any, want float64) bool {
	w := float32(want)
	switch g := got.(type) {
	case float64:
		return g == float64(w)
	case string:
		return g == "nan" && w != w || g == "inf" && math.IsInf(float64(w), 1) || g == "-inf" && math.IsInf(float64(w), -1)
	}
	return false
}

func TestImage(t *testing.T) {
	gray := image.NewGray(image.Rect(0, 0, 5, 3))
	for i := range gray.Pix {
		gray.Pix[i] = uint8(i * 17)
	}
	rgb := image.NewRGBA(image.Rect(0, 0, 4, 6))
	for i := range rgb.Pix {
		rgb.Pix[i] = uint8(i * 7)
		if i%4 == 3 {
			rgb.Pix[i] = 255
		}
	}
	rgba := image.NewNRGBA(image.Rect(0, 0, 3, 2))
	for i := range rgba.Pix {
		rgba.Pix[i] = uint8(i*31 + 5)
	}
	// an *image.RGBA (premultiplied, as image/draw makes them) with
	// transparency is RGBA too, as the NRGBA one
	faded := image.NewRGBA(image.Rect(0, 0, 2, 3))
	for i := range faded.Pix {
		faded.Pix[i] = uint8(i * 5)
		if i%4 == 3 {
			faded.Pix[i] = 128
		}
	}
	pal := image.NewPaletted(image.Rect(0, 0, 2, 2), color.Palette{color.Black, color.RGBA{200, 10, 30, 255}})
	pal.Pix = []uint8{0, 1, 1, 0}
	sub := rgb.SubImage(image.Rect(1, 2, 4, 5)) // origin not at (0, 0)

	cases := []struct {
		tag        string
		img        image.Image
		colorspace int
		mode       string
	}{
		{"gray", gray, 1, "L"},
		{"rgb", rgb, 3, "RGB"},
		{"rgba", rgba, 4, "RGBA"},
		{"rgba premultiplied", faded, 4, "RGBA"},
		{"paletted", pal, 3, "RGB"},
		{"sub", sub, 3, "RGB"},
	}
	w, err := Create(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		if err := w.Image(int64(10*i), c.tag, c.img); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()

	rb := read(t, w.Path())
	if rb.Records != 1+len(cases) || rb.PartialTail {
		t.Fatalf("records %d partial %v, want %d whole records", rb.Records, rb.PartialTail, 1+len(cases))
	}
	checkFirst(t, rb)
	for i, c := range cases {
		e := rb.Events[1+i]
		if e.Step != int64(10*i) || len(e.Values) != 1 || e.Values[0].Tag != c.tag || e.Values[0].Image == nil {
			t.Fatalf("%s: event %+v, want one image %q at step %d", c.tag, e, c.tag, 10*i)
		}
		im := e.Values[0].Image
		b := c.img.Bounds()
		if im.Width != b.Dx() || im.Height != b.Dy() || im.PNGWidth != b.Dx() || im.PNGHeight != b.Dy() {
			t.Errorf("%s: summary %dx%d, PNG %dx%d, want %dx%d", c.tag, im.Width, im.Height, im.PNGWidth, im.PNGHeight, b.Dx(), b.Dy())
		}
		if im.Colorspace != c.colorspace || im.PNGMode != c.mode {
			t.Errorf("%s: colorspace %d PNG mode %s, want %d %s", c.tag, im.Colorspace, im.PNGMode, c.colorspace, c.mode)
		}
		if want := pixels(c.img, c.colorspace); !bytes.Equal(im.Pixels, want) || im.PNGLen == 0 {
			t.Errorf("%s: PIL decodes %v (png %d bytes), want %v", c.tag, im.Pixels, im.PNGLen, want)
		}
	}
}

// pixels is img row by row as PIL's tobytes gives it for the colorspace:
// L, RGB or RGBA (not premultiplied).
func pixels(img image.Image, colorspace int) []byte {
	var out []byte
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if colorspace == 1 {
				out = append(out, color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y)
				continue
			}
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			out = append(out, c.R, c.G, c.B)
			if colorspace == 4 {
				out = append(out, c.A)
			}
		}
	}
	return out
}

func TestText(t *testing.T) {
	texts := []string{
		"# Run\n\n| key | value |\n|---|---|\n| lr | `2e-4` |\n\n\"quoted\" \\back\\slash\ttab {\n}\n",
		"ünïcode ✓ π, and a NUL \x00 byte",
		"",
	}
	w, err := Create(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range texts {
		if err := w.Text(int64(i+1), "config/markdown", s); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()

	rb := read(t, w.Path())
	if rb.Records != 1+len(texts) || rb.PartialTail {
		t.Fatalf("records %d partial %v, want %d whole records", rb.Records, rb.PartialTail, 1+len(texts))
	}
	checkFirst(t, rb)
	for i, s := range texts {
		e := rb.Events[1+i]
		if e.Step != int64(i+1) || len(e.Values) != 1 || e.Values[0].Tag != "config/markdown" || e.Values[0].Text == nil {
			t.Fatalf("event %+v, want one text at step %d", e, i+1)
		}
		if got := *e.Values[0].Text; got != s {
			t.Errorf("step %d text %q, want %q", i+1, got, s)
		}
	}
}

// TestSessionStart: a SessionLog START at its step, with no values, read
// back as TensorBoard's proto has it.
func TestSessionStart(t *testing.T) {
	w, err := Create(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.SessionStart(1201); err != nil {
		t.Fatal(err)
	}
	w.Close()
	rb := read(t, w.Path())
	checkFirst(t, rb)
	if rb.Records != 2 {
		t.Fatalf("%d records, want 2", rb.Records)
	}
	if e := rb.Events[1]; e.SessionLog != "START" || e.Step != 1201 || len(e.Values) != 0 {
		t.Errorf("event %+v, want a SessionLog START at step 1201", e)
	}
}

// writeThree writes a file of four records and gives its path and the size
// it had before its last record.
func writeThree(t *testing.T) (path string, lastStart int64) {
	t.Helper()
	w, err := Create(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for step := int64(1); step <= 3; step++ {
		if step == 3 {
			fi, err := os.Stat(w.Path())
			if err != nil {
				t.Fatal(err)
			}
			lastStart = fi.Size()
		}
		if err := w.Scalars(step, []Scalar{{"loss", float64(step) / 4}}); err != nil {
			t.Fatal(err)
		}
	}
	return w.Path(), lastStart
}

func TestTruncatedTail(t *testing.T) {
	path, lastStart := writeThree(t)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	end := int64(len(data))
	// Cuts in the length, its CRC, the data and the data's CRC; and one
	// exactly at the record boundary, which is no partial tail.
	for _, n := range []int64{lastStart, lastStart + 1, lastStart + 8, lastStart + 12, lastStart + 13, end - 4, end - 1} {
		cut := filepath.Join(t.TempDir(), filepath.Base(path))
		if err := os.WriteFile(cut, data[:n], 0o644); err != nil {
			t.Fatal(err)
		}
		rb := read(t, cut)
		if rb.Records != 3 || rb.PartialTail != (n != lastStart) {
			t.Errorf("cut to %d of %d bytes: records %d partial %v, want 3 and %v", n, end, rb.Records, rb.PartialTail, n != lastStart)
			continue
		}
		checkFirst(t, rb)
		for i, e := range rb.Events[1:] {
			if e.Step != int64(i+1) || len(e.Values) != 1 || !sameFloat32(e.Values[0].SimpleValue, float64(i+1)/4) {
				t.Errorf("cut to %d: event %+v, want loss %v at step %d", n, e, float64(i+1)/4, i+1)
			}
		}
	}
}

func TestCorruptionFailsLoudly(t *testing.T) {
	path, lastStart := writeThree(t)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		at   int64
		want string
	}{
		{"data", lastStart + 12 + 3, "record 3 at offset " + itoa(lastStart) + " failed data crc32c check"},
		{"data crc", int64(len(data)) - 2, "record 3 at offset " + itoa(lastStart) + " failed data crc32c check"},
		{"length", lastStart, "record 3 at offset " + itoa(lastStart) + " failed header crc32c check"},
		{"first record's data", 12 + 1, "record 0 at offset 0 failed data crc32c check"},
	} {
		bad := bytes.Clone(data)
		bad[c.at] ^= 0x20
		p := filepath.Join(t.TempDir(), filepath.Base(path))
		if err := os.WriteFile(p, bad, 0o644); err != nil {
			t.Fatal(err)
		}
		out, stderr, err := runReader(t, p)
		if err == nil || !strings.Contains(stderr, c.want) {
			t.Errorf("flipped byte in %s: reader err %v, stderr %q, stdout %q; want a failure saying %q", c.name, err, stderr, out, c.want)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestSameSecondGetsOwnFile(t *testing.T) {
	dir := t.TempDir()
	now := time.Unix(1700000000, 0)
	var paths []string
	for range 3 {
		w, err := create(dir, now)
		if err != nil {
			t.Fatal(err)
		}
		// The earlier writers are still open: a second trainer in the same run dir.
		defer w.Close()
		if err := w.Scalars(1, []Scalar{{"x", float64(len(paths))}}); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, w.Path())
	}
	host, _ := os.Hostname()
	base := filepath.Join(dir, "events.out.tfevents.1700000000."+host)
	if want := []string{base, base + ".1", base + ".2"}; strings.Join(paths, " ") != strings.Join(want, " ") {
		t.Fatalf("paths %v, want %v", paths, want)
	}
	for i, p := range paths {
		rb := read(t, p)
		checkFirst(t, rb)
		if rb.Records != 2 || !sameFloat32(rb.Events[1].Values[0].SimpleValue, float64(i)) {
			t.Errorf("%s: %+v, want its own x = %d", p, rb, i)
		}
	}

	// And through Create, which most likely lands in one second too.
	a, err := Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if a.Path() == b.Path() {
		t.Fatalf("two writers share %s", a.Path())
	}
}

func TestConcurrentWritesStayWhole(t *testing.T) {
	w, err := Create(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	const goroutines, each = 4, 25
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				if err := w.Scalars(int64(i), []Scalar{{"g", float64(g)}}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	w.Close()
	rb := read(t, w.Path())
	checkFirst(t, rb)
	if rb.Records != 1+goroutines*each || rb.PartialTail {
		t.Fatalf("records %d partial %v, want %d whole records", rb.Records, rb.PartialTail, 1+goroutines*each)
	}
}

func TestErrorsNameTheFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "plain")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Create(filepath.Join(file, "tb")); err == nil || !strings.Contains(err.Error(), file) {
		t.Errorf("Create under a file: %v, want an error naming %s", err, file)
	}

	w, err := Create(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Image(1, "empty", image.NewGray(image.Rect(0, 0, 0, 0))); err == nil || !strings.Contains(err.Error(), w.Path()) {
		t.Errorf("empty image: %v, want an error naming %s", err, w.Path())
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]func() error{
		"Scalars": func() error { return w.Scalars(1, []Scalar{{"x", 1}}) },
		"Text":    func() error { return w.Text(1, "t", "x") },
		"Start":   func() error { return w.SessionStart(1) },
		"Flush":   w.Flush,
		"Close":   w.Close,
	} {
		if err := f(); err == nil || !strings.Contains(err.Error(), w.Path()) {
			t.Errorf("%s after Close: %v, want an error naming %s", name, err, w.Path())
		}
	}
}

// TestNewFileSortsLast: TensorBoard reads a run's event files in name order
// and takes each file's SessionLog START as a restart, so a resumed
// session's file must sort after the killed one's even where the clock now
// reads earlier (a run folder copied to a machine whose clock is behind,
// or another host's file of the same second). Read first, its steps would
// all be dropped by the older file's START and replaced by the dead
// session's.
func TestNewFileSortsLast(t *testing.T) {
	host, _ := os.Hostname()
	for _, c := range []struct{ name, other string }{
		{"clock behind", "events.out.tfevents.1700003600." + host},
		{"same second, a host sorting after", "events.out.tfevents.1700000000.~zz"},
	} {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, c.other), nil, 0o644)
		w, err := create(dir, time.Unix(1700000000, 0))
		if err != nil {
			t.Fatal(err)
		}
		w.Close()
		if got := filepath.Base(w.Path()); got <= c.other {
			t.Errorf("%s: new file %s sorts before the earlier %s", c.name, got, c.other)
		}
	}
}
