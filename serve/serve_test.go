package serve

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"log/slog"
	"math"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	torch "gogan/cgo"
	"gogan/config"
	"gogan/data"
	"gogan/gan"
	_ "gogan/gan/all"
	"gogan/infer"
	"gogan/runfolder"
	"gogan/trainer"
)

// fakeEngine stands in for libtorch: translate inverts the input, generate
// paints each latent's first value as a gray level. gate, when set, holds
// each pass until a value arrives; passes records the pass sizes.
type fakeEngine struct {
	size    int
	entered atomic.Int32 // passes started
	gate    chan struct{}
	mu      sync.Mutex
	passes  []int
	panic   bool
}

func (e *fakeEngine) record(n int) {
	e.entered.Add(1)
	if e.gate != nil {
		<-e.gate
	}
	e.mu.Lock()
	e.passes = append(e.passes, n)
	e.mu.Unlock()
}

func (e *fakeEngine) translate(ims []*data.Image) ([]*image.NRGBA, error) {
	e.record(len(ims))
	if e.panic {
		panic("boom")
	}
	var out []*image.NRGBA
	for _, im := range ims {
		o := image.NewNRGBA(image.Rect(0, 0, im.W, im.H))
		for p := 0; p < im.W*im.H; p++ {
			v := 255 - im.Pix[p*im.C]
			o.Pix[p*4], o.Pix[p*4+1], o.Pix[p*4+2], o.Pix[p*4+3] = v, v, v, 255
		}
		out = append(out, o)
	}
	return out, nil
}

func (e *fakeEngine) generate(ls []latent) ([]*image.NRGBA, error) {
	e.record(len(ls))
	var out []*image.NRGBA
	for _, l := range ls {
		o := image.NewNRGBA(image.Rect(0, 0, e.size, e.size))
		v := uint8(min(max(128+l.z[0]*40, 0), 255))
		for p := 0; p < e.size*e.size; p++ {
			o.Pix[p*4], o.Pix[p*4+1], o.Pix[p*4+2], o.Pix[p*4+3] = v, v, v, 255
		}
		out = append(out, o)
	}
	return out, nil
}

func (e *fakeEngine) close() {}

func (e *fakeEngine) sizes() []int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]int(nil), e.passes...)
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

func translateModel(eval bool) *Model {
	return &Model{Recipe: "pix2pix", Kind: KindTranslate, Role: "G", Direction: "AtoB", NetG: "unet_test", Norm: "batch",
		Size: 8, InputNC: 3, OutputNC: 3, Eval: eval}
}

// fakeServer is a Server of a label-map translator on e (quiet unless o
// logs), closed at the test's end, for tests that run Serve themselves.
func fakeServer(t *testing.T, e *fakeEngine, o Options) *Server {
	t.Helper()
	if o.Logger == nil {
		o.Logger = quiet()
	}
	s, err := newServer(translateModel(true), &Inputs{Analysis: Analysis{Kind: InputLabels}, Source: "test"},
		func() (engine, error) { return e, nil }, func() string { return "fake" }, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func testServer(t *testing.T, m *Model, e *fakeEngine, o Options) *httptest.Server {
	t.Helper()
	in := &Inputs{Analysis: Analysis{Kind: InputLabels, Colours: DefaultLabelPalette, Background: DefaultLabelPalette[0], Pen: DefaultLabelPalette[1]},
		Source: "test", Examples: []*data.Image{data.NewImage(m.Size, m.Size, m.InputNC)}}
	if m.Kind == KindGenerate {
		in = nil
	}
	o.Logger = quiet()
	s, err := newServer(m, in, func() (engine, error) { return e, nil }, func() string { return "fake" }, o)
	if err != nil {
		t.Fatal(err)
	}
	s.uploadGrace = time.Minute // tests that hold bodies open on a busy machine are not about the pace
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() { ts.Close(); s.Close() })
	return ts
}

func pngBytes(t *testing.T, w, h int, v uint8) []byte {
	t.Helper()
	im := image.NewGray(image.Rect(0, 0, w, h))
	for i := range im.Pix {
		im.Pix[i] = v
	}
	var b bytes.Buffer
	if err := png.Encode(&b, im); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func post(t *testing.T, url, ctype string, body []byte) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Post(url, ctype, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// request sends a request without a body and returns the response with
// its body read.
func request(t *testing.T, method, url string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestTranslateAPI(t *testing.T) {
	e := &fakeEngine{}
	ts := testServer(t, translateModel(true), e, Options{MaxUpload: 4096, MaxPixels: 10000})

	// A 20x10 gray image of level 10 comes back resized to 8x8, inverted.
	resp, b := post(t, ts.URL+"/translate", "image/png", pngBytes(t, 20, 10, 10))
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("translate: %d %s", resp.StatusCode, b)
	}
	im, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if sz := im.Bounds().Size(); sz != (image.Point{8, 8}) {
		t.Errorf("output %v, want 8x8", sz)
	}
	if r, _, _, _ := im.At(3, 3).RGBA(); r>>8 != 245 {
		t.Errorf("output pixel %d, want 245", r>>8)
	}
	if st := resp.Header.Get("Server-Timing"); !strings.Contains(st, "infer;dur=") || resp.Header.Get("X-Gogan-Batch") != "1" {
		t.Errorf("headers: Server-Timing %q, X-Gogan-Batch %q", st, resp.Header.Get("X-Gogan-Batch"))
	}

	// The same as a multipart form file.
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	fw, _ := mw.CreateFormFile("image", "drawing.png")
	fw.Write(pngBytes(t, 8, 8, 0))
	mw.Close()
	if resp, b := post(t, ts.URL+"/translate", mw.FormDataContentType(), mp.Bytes()); resp.StatusCode != 200 {
		t.Errorf("multipart: %d %s", resp.StatusCode, b)
	}

	for _, c := range []struct {
		name, ctype string
		body        []byte
		code        int
		want        string
	}{
		{"text", "text/plain", []byte("hello, world"), 400, "not a supported image (text file?)"},
		{"truncated", "image/png", pngBytes(t, 64, 64, 7)[:60], 400, "cannot read the upload as an image (60 bytes): truncated PNG image"},
		{"empty", "image/png", nil, 400, "empty upload"},
		{"too large", "image/png", make([]byte, 5000), 413, "larger than the limit of 4 KiB (--max-upload 4096 bytes)"},
		{"too many pixels", "image/png", pngBytes(t, 200, 100, 0), 413, "200x100 = 20000 pixels: more than the limit of 10000 pixels (--max-pixels)"},
		{"a PNG said to be a form", "multipart/form-data; boundary=x", pngBytes(t, 8, 8, 0), 400, "the body is not the multipart form its Content-Type says"},
		// curl -d @drawing.png: newlines dropped, sent as a urlencoded form
		{"curl -d", "application/x-www-form-urlencoded", bytes.ReplaceAll(pngBytes(t, 8, 8, 0), []byte("\n"), nil), 400,
			"sent as application/x-www-form-urlencoded (curl -d, which drops a file's newlines): send the file as it is with curl --data-binary @drawing.png"},
	} {
		resp, b := post(t, ts.URL+"/translate", c.ctype, c.body)
		if resp.StatusCode != c.code || !strings.Contains(string(b), c.want) {
			t.Errorf("%s: %d %q, want %d with %q", c.name, resp.StatusCode, b, c.code, c.want)
		}
	}
	// curl --data-binary @drawing.png without -H sends the same Content-Type:
	// a damaged file sent so, its newlines intact, is answered with its own
	// fault, not with curl -d's.
	if resp, b := post(t, ts.URL+"/translate", "application/x-www-form-urlencoded", pngBytes(t, 64, 64, 7)[:60]); resp.StatusCode != 400 ||
		!strings.Contains(string(b), "truncated PNG image") || strings.Contains(string(b), "curl -d") {
		t.Errorf("truncated PNG sent by curl --data-binary: %d %q, want 400 saying it is truncated, not blaming curl -d", resp.StatusCode, b)
	}
	// A compressed body (Content-Encoding) is refused as such.
	req, _ := http.NewRequest("POST", ts.URL+"/translate", bytes.NewReader(pngBytes(t, 8, 8, 0)))
	req.Header.Set("Content-Type", "image/png")
	req.Header.Set("Content-Encoding", "gzip")
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnsupportedMediaType || !strings.Contains(string(b), "Content-Encoding gzip: send the image as it is") {
			t.Errorf("gzip: %d %s", resp.StatusCode, b)
		}
	}
	// Wrong methods and the other kind's endpoints.
	for _, c := range []struct {
		method, path string
		code         int
		want         string
	}{
		{"GET", "/translate", 405, "GET /translate: method not allowed; use POST"},
		{"POST", "/healthz", 405, "use GET"},
		{"DELETE", "/", 405, "use GET"},
		{"GET", "/sample?seed=1", 404, "this server runs a pix2pix generator (image to image)"},
		{"GET", "/nothing", 404, "GET /nothing: no such page; this server answers GET / (the page), POST /translate, GET /example, GET /info and GET /healthz"},
		{"HEAD", "/nothing", 404, ""},
	} {
		resp, b := request(t, c.method, ts.URL+c.path)
		if resp.StatusCode != c.code || !strings.Contains(string(b), c.want) {
			t.Errorf("%s %s: %d %q, want %d with %q", c.method, c.path, resp.StatusCode, b, c.code, c.want)
		}
		if c.code == 405 && resp.Header.Get("Allow") == "" {
			t.Errorf("%s %s: 405 without Allow", c.method, c.path)
		}
	}
	// After all that, the server still answers.
	resp, err = http.Get(ts.URL + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	var h map[string]any
	json.NewDecoder(resp.Body).Decode(&h)
	resp.Body.Close()
	if h["status"] != "ok" || h["kind"] != "translate" {
		t.Errorf("healthz: %v", h)
	}
	var info Info
	resp, _ = http.Get(ts.URL + "/info")
	json.NewDecoder(resp.Body).Decode(&info)
	resp.Body.Close()
	if info.Size != 8 || info.Input != InputLabels || len(info.Palette) != 12 || info.Palette[0].Hex != "#0030ff" || info.Mode != "eval" || !info.Batching {
		t.Errorf("info: %+v", info)
	}
	for _, p := range []string{"/", "/static/app.js", "/static/style.css", "/example?i=3"} {
		resp, err := http.Get(ts.URL + p)
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("GET %s: %v %v", p, resp, err)
		}
		resp.Body.Close()
	}
}

// TestBatching: jobs that wait while a pass runs share the next one (up to
// max batch, each getting its own output); with train-mode BatchNorm they do
// not.
func TestBatching(t *testing.T) {
	for _, eval := range []bool{true, false} {
		e := &fakeEngine{gate: make(chan struct{})}
		w, err := startWorker(func() (engine, error) { return e, nil }, 64, 4, translateModel(eval).Batchable())
		if err != nil {
			t.Fatal(err)
		}
		var jobs []*job
		for i := 0; i < 7; i++ {
			im := data.NewImage(2, 2, 3)
			im.Pix[0] = uint8(10 * i)
			j := &job{ctx: context.Background(), ims: []*data.Image{im}}
			if err := w.submit(j); err != nil {
				t.Fatal(err)
			}
			jobs = append(jobs, j)
			if i == 0 {
				// the worker takes job 0 alone and waits at the gate (a
				// fixed 50 ms could pass before it did on a loaded machine,
				// and job 0 then shared a pass with those after it)
				waitUntil(t, func() bool { return e.entered.Load() == 1 })
			}
		}
		replied := make(chan struct{})
		go func() {
			for {
				select {
				case e.gate <- struct{}{}:
				case <-replied:
					return
				}
			}
		}()
		for i, j := range jobs {
			r := <-j.reply
			if r.err != nil {
				t.Fatal(r.err)
			}
			if got := r.out[0].Pix[0]; got != uint8(255-10*i) {
				t.Errorf("eval %v: job %d got the output of another (pixel %d)", eval, i, got)
			}
		}
		close(replied)
		w.stop()
		want := []int{1, 4, 2}
		if !eval {
			want = []int{1, 1, 1, 1, 1, 1, 1}
		}
		if got := e.sizes(); !equalInts(got, want) {
			t.Errorf("eval %v: passes %v, want %v", eval, got, want)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestQueueFull: with the generator busy and --queue requests waiting, the
// next one is a 503; the waiting ones are answered when it frees.
func TestQueueFull(t *testing.T) {
	e := &fakeEngine{gate: make(chan struct{})}
	ts := testServer(t, translateModel(true), e, Options{Queue: 1})
	codes := make(chan int, 2)
	send := func() {
		resp, err := http.Post(ts.URL+"/translate", "image/png", bytes.NewReader(pngBytes(t, 8, 8, 0)))
		if err != nil {
			codes <- -1
			return
		}
		resp.Body.Close()
		codes <- resp.StatusCode
	}
	go send()
	waitUntil(t, func() bool { return e.entered.Load() == 1 }) // the first is in the generator
	go send()
	waitUntil(t, func() bool {
		resp, err := http.Get(ts.URL + "/healthz")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var h struct{ Queued int }
		json.NewDecoder(resp.Body).Decode(&h)
		return h.Queued == 1
	})
	resp, b := post(t, ts.URL+"/translate", "image/png", pngBytes(t, 8, 8, 0))
	if resp.StatusCode != 503 || !strings.Contains(string(b), "busy: 1 requests are waiting for the generator (--queue 1)") {
		t.Errorf("third request: %d %s", resp.StatusCode, b)
	}
	if ra := resp.Header.Get("Retry-After"); ra != "1" { // what clients and proxies wait for before trying again
		t.Errorf("third request: 503 with Retry-After %q, want 1 (second)", ra)
	}
	close(e.gate)
	for range 2 {
		if c := <-codes; c != 200 {
			t.Errorf("a waiting request got %d", c)
		}
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10 s")
		}
	}
}

// TestEnginePanicIsAnError: a failing generator answers 500 and the server
// goes on.
func TestEnginePanicIsAnError(t *testing.T) {
	e := &fakeEngine{panic: true}
	ts := testServer(t, translateModel(true), e, Options{})
	resp, b := post(t, ts.URL+"/translate", "image/png", pngBytes(t, 8, 8, 0))
	if resp.StatusCode != 500 || !strings.Contains(string(b), "generator failed: boom") {
		t.Errorf("%d %s", resp.StatusCode, b)
	}
	e.panic = false
	if resp, b := post(t, ts.URL+"/translate", "image/png", pngBytes(t, 8, 8, 0)); resp.StatusCode != 200 {
		t.Errorf("after a failure: %d %s", resp.StatusCode, b)
	}
}

func TestGenerateAPI(t *testing.T) {
	m := &Model{Recipe: "dcgan", Kind: KindGenerate, Role: "G", NetG: "dcgan", Norm: "batch", Size: 4, OutputNC: 1, Gen: infer.Generator{Generation: gan.Generation{Role: "G", Noise: []int64{10, 1, 1}}}, Eval: true}
	ts := testServer(t, m, &fakeEngine{size: 4}, Options{})
	get := func(p string) (*http.Response, []byte) {
		resp, err := http.Get(ts.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	_, a := get("/sample?seed=5")
	_, a2 := get("/sample?seed=5")
	_, b := get("/sample?seed=6")
	if !bytes.Equal(a, a2) || bytes.Equal(a, b) {
		t.Errorf("samples: seed 5 twice equal %v, seed 5 and 6 differ %v", bytes.Equal(a, a2), !bytes.Equal(a, b))
	}
	for _, c := range []struct {
		path string
		w, h int
	}{{"/sample?seed=1&n=3", 3*6 + 2, 8}, {"/sample?seed=1&n=10", 8*6 + 2, 2*6 + 2}, {"/interpolate?a=1&b=2&steps=5", 5*6 + 2, 8}} {
		resp, b := get(c.path)
		im, err := png.Decode(bytes.NewReader(b))
		if resp.StatusCode != 200 || err != nil {
			t.Fatalf("%s: %d %s", c.path, resp.StatusCode, b)
		}
		if sz := im.Bounds().Size(); sz.X != c.w || sz.Y != c.h {
			t.Errorf("%s: %v, want %dx%d", c.path, sz, c.w, c.h)
		}
	}
	// The interpolation starts at a's sample and ends at b's.
	_, s1 := get("/sample?seed=1")
	_, s2 := get("/sample?seed=2")
	_, strip := get("/interpolate?a=1&b=2&steps=3")
	first, _ := png.Decode(bytes.NewReader(s1))
	last, _ := png.Decode(bytes.NewReader(s2))
	st, _ := png.Decode(bytes.NewReader(strip))
	if st.At(2, 2) != first.At(0, 0) || st.At(2+2*6, 2) != last.At(0, 0) {
		t.Errorf("interpolation ends %v %v, samples %v %v", st.At(2, 2), st.At(14, 2), first.At(0, 0), last.At(0, 0))
	}
	for _, c := range []struct {
		path string
		code int
		want string
	}{
		{"/sample?seed=x", 400, `seed="x": want an integer`},
		{"/sample?n=0", 400, "want 1 to 64 samples"},
		{"/interpolate?steps=40", 400, "steps=40: want 2 to 16"},
		{"/samples", 404, "GET /samples: no such page; this server answers GET / (the page), GET /sample, GET /interpolate, GET /info and GET /healthz"},
	} {
		resp, b := get(c.path)
		if resp.StatusCode != c.code || !strings.Contains(string(b), c.want) {
			t.Errorf("%s: %d %q", c.path, resp.StatusCode, b)
		}
	}
	resp, b2 := post(t, ts.URL+"/translate", "image/png", pngBytes(t, 4, 4, 0))
	if resp.StatusCode != 404 || !strings.Contains(string(b2), "GET /sample and GET /interpolate") {
		t.Errorf("translate on DCGAN: %d %s", resp.StatusCode, b2)
	}
}

func TestSlerp(t *testing.T) {
	a, b := Latent(1, 100), Latent(2, 100)
	norm := func(z []float32) float64 {
		s := 0.0
		for _, v := range z {
			s += float64(v) * float64(v)
		}
		return math.Sqrt(s)
	}
	for i, v := range Slerp(a, b, 0) {
		if math.Abs(float64(v-a[i])) > 1e-5 {
			t.Fatalf("t=0: %v != %v", v, a[i])
		}
	}
	for i, v := range Slerp(a, b, 1) {
		if math.Abs(float64(v-b[i])) > 1e-5 {
			t.Fatalf("t=1: %v != %v", v, b[i])
		}
	}
	// Halfway, the norm stays that of the ends (lerp would shrink it by ~1/sqrt 2).
	if m, na, nb := norm(Slerp(a, b, 0.5)), norm(a), norm(b); math.Abs(m-(na+nb)/2) > 0.05*m {
		t.Errorf("halfway norm %.2f, ends %.2f %.2f", m, na, nb)
	}
}

func TestFindPalette(t *testing.T) {
	rgb := func(c Colour) [3]uint8 { return [3]uint8{c.R, c.G, c.B} }
	// A label map: three flat colours, with a noisy border and a blend.
	lab := data.NewImage(60, 60, 3)
	cols := []Colour{{R: 0, G: 48, B: 255}, {R: 255, G: 80, B: 0}, {R: 192, G: 255, B: 63}}
	for y := 0; y < 60; y++ {
		for x := 0; x < 60; x++ {
			c := cols[0]
			switch {
			case x >= 40:
				c = cols[2]
			case x >= 20:
				c = cols[1]
			}
			if x == 19 || x == 39 { // a JPEG-ish border: off by a few levels
				c.R, c.G = c.R^3, c.G^2
			}
			p := (y*60 + x) * 3
			lab.Pix[p], lab.Pix[p+1], lab.Pix[p+2] = c.R, c.G, c.B
		}
	}
	an := FindPalette([]*data.Image{lab})
	if an.Kind != InputLabels || len(an.Colours) != 3 {
		t.Fatalf("label map: %s with %d colours %+v", an.Kind, len(an.Colours), an.Colours)
	}
	for i := range cols {
		found := false
		for _, c := range an.Colours {
			found = found || rgb(c) == rgb(cols[i])
		}
		if !found {
			t.Errorf("label colour %s missing from %+v", cols[i].Hex(), an.Colours)
		}
	}
	// A sketch: dark strokes on white.
	sk := data.NewImage(50, 50, 1)
	for i := range sk.Pix {
		sk.Pix[i] = 255
		if i%50 == 10 || i/50 == 25 {
			sk.Pix[i] = 0
		}
	}
	an = FindPalette([]*data.Image{sk})
	if an.Kind != InputSketch || an.Background.Hex() != "#ffffff" || an.Pen.Hex() != "#000000" {
		t.Errorf("sketch: %s, background %s, pen %s", an.Kind, an.Background.Hex(), an.Pen.Hex())
	}
	// A photo-like gradient.
	ph := data.NewImage(64, 64, 3)
	for y := 0; y < 64; y++ {
		for x := 0; x < 64; x++ {
			p := (y*64 + x) * 3
			ph.Pix[p], ph.Pix[p+1], ph.Pix[p+2] = uint8(4*x), uint8(4*y), uint8(2*(x+y))
		}
	}
	if an = FindPalette([]*data.Image{ph}); an.Kind != InputImage {
		t.Errorf("gradient: %s", an.Kind)
	}
	if cs, err := ParsePalette("#000000, ff8000"); err != nil || len(cs) != 2 || cs[1].Hex() != "#ff8000" {
		t.Errorf("ParsePalette: %v %v", cs, err)
	}
	if _, err := ParsePalette("#12345"); err == nil {
		t.Error("ParsePalette took #12345")
	}
}

// TestFacadesPalette: the CMP facades label maps give the 12 label colours
// of DefaultLabelPalette, and the photos are photos.
func TestFacadesPalette(t *testing.T) {
	root, _ := filepath.Abs(filepath.Join("..", "..", "shared", "data", "facades"))
	if _, err := os.Stat(filepath.Join(root, "train")); err != nil {
		t.Skipf("no facades pairs at %s: %v", root, err)
	}
	for _, dir := range []string{"BtoA", "AtoB"} {
		cfg, err := config.LoadConfig("../configs/pix2pix-facades.yaml", []string{"data.root=" + root, "data.direction=" + dir})
		if err != nil {
			t.Fatal(err)
		}
		m := &Model{Config: cfg, Recipe: "pix2pix", Kind: KindTranslate, Direction: dir, PairDirection: dir, Size: 256, InputNC: 3}
		in, err := ReadInputs(context.Background(), m, "")
		if err != nil {
			t.Fatal(err)
		}
		if dir == "AtoB" {
			if in.Kind != InputImage {
				t.Errorf("facade photos: %s (exact %.2f)", in.Kind, in.Exact)
			}
			continue
		}
		if in.Kind != InputLabels || len(in.Colours) != len(DefaultLabelPalette) || len(in.Examples) != 8 {
			t.Fatalf("facade labels: %s, %d colours, %d examples", in.Kind, len(in.Colours), len(in.Examples))
		}
		for i, c := range in.Colours {
			if c.Hex() != DefaultLabelPalette[i].Hex() {
				t.Errorf("colour %d: %s, DefaultLabelPalette has %s", i, c.Hex(), DefaultLabelPalette[i].Hex())
			}
		}
		if ex := in.Examples[0]; ex.W != 256 || ex.H != 256 || ex.C != 3 {
			t.Errorf("example %v", ex)
		}
	}
	// A root that is not there falls back to the defaults, saying why.
	cfg, _ := config.LoadConfig("../configs/pix2pix-facades.yaml", []string{"data.root=/nonexistent/facades"})
	m := &Model{Config: cfg, Recipe: "pix2pix", Kind: KindTranslate, Direction: "BtoA", PairDirection: "BtoA", Size: 256, InputNC: 3}
	in, err := inputsFor(context.Background(), m, Options{})
	if err != nil || in.Kind != InputLabels || !strings.HasPrefix(in.Source, "default palette: the training data could not be read") ||
		!strings.Contains(in.Source, "/nonexistent/facades") {
		t.Errorf("fallback: %v %+v", err, in)
	}
}

// TestCycleGANInputsEachOnce: a CycleGAN's page shows its generator's
// training inputs, the images of its input domain each once. Unaligned data
// has max(|A|, |B|) samples, each A[i mod |A|] with a random B: read as
// samples, 3 A images came as 5 (2 twice) and the B side as 5 random picks,
// and the page said "from 5 training inputs" either way.
func TestCycleGANInputsEachOnce(t *testing.T) {
	root := t.TempDir()
	levels := map[string][]uint8{"trainA": {10, 60, 110}, "trainB": {140, 170, 200, 230, 250}}
	for dir, vs := range levels {
		if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
			t.Fatal(err)
		}
		for i, v := range vs {
			if err := os.WriteFile(filepath.Join(root, dir, fmt.Sprintf("%d.png", i)), pngBytes(t, 40, 40, v), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	cfg, err := config.LoadConfig("../configs/cyclegan-facades.yaml", []string{"data.root=" + root, "data.load_size=36", "data.crop_size=32"})
	if err != nil {
		t.Fatal(err)
	}
	for dir, side := range map[string]string{"AtoB": "trainA", "BtoA": "trainB"} {
		m := &Model{Config: cfg, Recipe: "cyclegan", Kind: KindTranslate, Direction: dir, PairDirection: dir, Size: 32, InputNC: 3}
		in, err := ReadInputs(context.Background(), m, "")
		if err != nil {
			t.Fatal(err)
		}
		want := levels[side]
		if w := fmt.Sprintf("from %d training inputs in %s", len(want), root); in.Source != w {
			t.Errorf("%s: source %q, want %q", dir, in.Source, w)
		}
		var got []uint8
		for _, ex := range in.Examples {
			got = append(got, ex.Pix[0])
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: examples of gray levels %v, want %s's %v, each once", dir, got, side, want)
		}
	}
}

// TestInputsReadOnlyTheInputSide: the page reads its generator's input
// domain alone. Serving BtoA, the A files (here all failing to decode, their
// headers fine) are not read: read as samples, every sample failed on its A
// and the page fell back to the default palette ("no readable training
// inputs"), where the B inputs were all fine.
func TestInputsReadOnlyTheInputSide(t *testing.T) {
	levels := []uint8{140, 170, 200}
	for _, c := range []struct{ recipe, conf, a, b string }{
		{"cyclegan", "../configs/cyclegan-facades.yaml", "trainA", "trainB"},
		{"pix2pix", "../configs/pix2pix-facades.yaml", "A/train", "B/train"},
	} {
		root := t.TempDir()
		for i, v := range levels {
			for dir, b := range map[string][]byte{c.a: pngBytes(t, 40, 40, 20), c.b: pngBytes(t, 40, 40, v)} {
				if dir == c.a {
					b = b[:len(b)/2] // a header, half the pixels
				}
				if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(root, dir, fmt.Sprintf("%d.png", i)), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		cfg, err := config.LoadConfig(c.conf, []string{"data.root=" + root})
		if err != nil {
			t.Fatal(err)
		}
		m := &Model{Config: cfg, Recipe: c.recipe, Kind: KindTranslate, Direction: "BtoA", PairDirection: "BtoA", Size: 32, InputNC: 3}
		in, err := ReadInputs(context.Background(), m, "")
		if err != nil {
			t.Fatalf("%s: %v", c.recipe, err)
		}
		var got []uint8
		for _, ex := range in.Examples {
			got = append(got, ex.Pix[0])
		}
		if !slices.Equal(got, levels) {
			t.Errorf("%s: examples of gray levels %v, want %s's %v", c.recipe, got, c.b, levels)
		}
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[int64]string{10 << 20: "10 MiB", 4096: "4 KiB", 1536 << 10: "1.5 MiB", 1000: "1000 bytes"} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestUploadsBounded: bodies still arriving count against the uploads the
// server holds; past the bound the next one is a 503 at once, and the
// server answers again once they end.
func TestUploadsBounded(t *testing.T) {
	e := &fakeEngine{gate: make(chan struct{})}
	close(e.gate)
	ts := testServer(t, translateModel(true), e, Options{Queue: 1, MaxBatch: 1})
	bound := 1 + 1 + 2*runtime.GOMAXPROCS(0)
	release := fillUploads(t, ts, bound) // every body has begun arriving
	resp, b := post(t, ts.URL+"/translate", "image/png", pngBytes(t, 8, 8, 0))
	if resp.StatusCode != 503 || !strings.Contains(string(b), fmt.Sprintf("busy: %d uploads are in progress", bound)) {
		t.Errorf("an upload past the bound: %d %s", resp.StatusCode, b)
	}
	if ra := resp.Header.Get("Retry-After"); ra != "1" {
		t.Errorf("an upload past the bound: 503 with Retry-After %q, want 1 (second)", ra)
	}
	for _, c := range release() { // one at a time: the queue (1) is not what this tests
		if c != 200 {
			t.Errorf("an upload that was in progress got %d", c)
		}
	}
	if resp, b := post(t, ts.URL+"/translate", "image/png", pngBytes(t, 8, 8, 0)); resp.StatusCode != 200 {
		t.Errorf("after the uploads ended: %d %s", resp.StatusCode, b)
	}
}

// TestSlowUploadsAreCut: an upload that stops arriving (or trickles) past
// the grace period is answered 408 and gives its slot back; one that keeps
// the pace is read whole.
func TestSlowUploadsAreCut(t *testing.T) {
	e := &fakeEngine{gate: make(chan struct{})}
	close(e.gate)
	m := translateModel(true)
	in := &Inputs{Analysis: Analysis{Kind: InputLabels, Colours: DefaultLabelPalette, Background: DefaultLabelPalette[0], Pen: DefaultLabelPalette[1]},
		Source: "test", Examples: []*data.Image{data.NewImage(m.Size, m.Size, m.InputNC)}}
	s, err := newServer(m, in, func() (engine, error) { return e, nil }, func() string { return "fake" }, Options{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	s.uploadGrace, s.uploadRate = 500*time.Millisecond, 2000
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() { ts.Close(); s.Close() })

	small := pngBytes(t, 8, 8, 0)
	pr, pw := io.Pipe()
	defer pw.Close()
	start := time.Now()
	go pw.Write(small[:10]) // then nothing (pw is the first pipe's here: the goroutine takes it now)
	resp, err := http.Post(ts.URL+"/translate", "image/png", pr)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(b), "upload too slow") {
		t.Errorf("a stalled upload: %d %s", resp.StatusCode, b)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("a stalled upload was cut after %v, want about the grace period", d)
	}
	if len(s.uploads) != 0 {
		t.Errorf("%d upload slots still held", len(s.uploads))
	}

	// The same stall with a Content-Length (curl --data-binary, fetch):
	// net/http reads a short body's rest before it answers, so the expired
	// deadline must stay for the 408 to go out.
	c, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /translate HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 100000\r\n\r\n%s", small[:10])
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil || resp.StatusCode != http.StatusRequestTimeout {
		t.Errorf("a stalled upload of a declared length: %v %v, want 408 within 5 s", resp, err)
	}
	// and a multipart form that stalls inside a part's headers
	c2, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	fmt.Fprintf(c2, "POST /translate HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=xyz\r\nContent-Length: 100000\r\n\r\n--xyz\r\nContent-Disposition: form-da")
	c2.SetReadDeadline(time.Now().Add(5 * time.Second))
	if resp, err := http.ReadResponse(bufio.NewReader(c2), nil); err != nil || resp.StatusCode != http.StatusRequestTimeout {
		t.Errorf("a stalled multipart upload: %v %v, want 408 within 5 s", resp, err)
	}

	// 1000 bytes/s, half the pace asked for, in 100-byte pieces past the grace
	slow := make([]byte, 3000)
	copy(slow, small)
	if code, b := postPaced(t, ts.URL+"/translate", slow, 100, 100*time.Millisecond); code != http.StatusRequestTimeout {
		t.Errorf("a trickling upload: %d %s", code, b)
	}

	// the pace kept past the grace period: a noise PNG of about 16 KB at
	// 20,000 bytes/s (ten times the pace, so a busy machine's late sleeps
	// do not matter), in 1000-byte pieces
	noise := image.NewGray(image.Rect(0, 0, 128, 128))
	x := uint32(1)
	for i := range noise.Pix {
		x = x*1103515245 + 12345
		noise.Pix[i] = uint8(x >> 16)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, noise); err != nil || buf.Len() < 12000 {
		t.Fatalf("noise PNG of %d bytes: %v", buf.Len(), err)
	}
	if code, b := postPaced(t, ts.URL+"/translate", buf.Bytes(), 1000, 50*time.Millisecond); code != 200 {
		t.Errorf("an upload keeping the pace: %d %s", code, b)
	}

	// --min-upload-rate 0 (Options' negative): a trickle is read whole
	free, err := newServer(m, in, func() (engine, error) { return e, nil }, func() string { return "fake" }, Options{Logger: quiet(), MinUploadRate: -1})
	if err != nil {
		t.Fatal(err)
	}
	free.uploadGrace = 500 * time.Millisecond
	fts := httptest.NewServer(free.Handler())
	t.Cleanup(func() { fts.Close(); free.Close() })
	if code, b := postPaced(t, fts.URL+"/translate", slow[:1500], 100, 100*time.Millisecond); code != 200 {
		t.Errorf("a trickling upload without a floor: %d %s", code, b)
	}
}

// postPaced posts body in pieces of the given size, one every gap, and
// returns the answer's status and body.
func postPaced(t *testing.T, url string, body []byte, piece int, gap time.Duration) (int, string) {
	t.Helper()
	pr, pw := io.Pipe()
	go func() {
		for i := 0; i < len(body); i += piece {
			if _, err := pw.Write(body[i:min(i+piece, len(body))]); err != nil {
				return // the server answered and closed
			}
			time.Sleep(gap)
		}
		pw.Close()
	}()
	resp, err := http.Post(url, "image/png", pr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestServeAPrunedCheckpoint: given a run folder, serve opens its newest
// checkpoint; when the run (still training) removes it before its weights
// are read, serve opens the newest again instead of failing.
func TestServeAPrunedCheckpoint(t *testing.T) {
	run := trainTinyEdges(t, "train.checkpoint_every=1", "train.keep_checkpoints=2")
	var opened []string
	openedHook = func(m *Model) {
		opened = append(opened, filepath.Base(m.Checkpoint.Dir))
		if len(opened) == 1 {
			os.RemoveAll(m.Checkpoint.Dir) // as the run's pruning would
		}
	}
	defer func() { openedHook = nil }()
	s, err := New(context.Background(), Options{Checkpoint: run, Eval: true, Device: "cpu", Logger: quiet()})
	if err != nil {
		t.Fatalf("serve of a run whose checkpoint went: %v", err)
	}
	s.Close()
	if want := []string{"step-00000002", "step-00000001"}; !slices.Equal(opened, want) {
		t.Errorf("opened %v, want %v", opened, want)
	}
	// a checkpoint folder given itself is not swapped for another
	openedHook = func(m *Model) { os.RemoveAll(m.Checkpoint.Dir) }
	ck := filepath.Join(run, "checkpoints", "step-00000001")
	if _, err := New(context.Background(), Options{Checkpoint: ck, Eval: true, Device: "cpu", Logger: quiet()}); err == nil || !strings.Contains(err.Error(), "was removed while it was read") {
		t.Errorf("serve of a checkpoint folder removed while read: %v", err)
	}
}

// TestHasWeightsOfALyingHeader: a weights file whose header length says
// more than the file holds is not a safetensors file, found without
// allocating the length it claims (up to 100 MB).
func TestHasWeightsOfALyingHeader(t *testing.T) {
	ck := runfolder.Checkpoint{Dir: t.TempDir()}
	b := binary.LittleEndian.AppendUint64(nil, 100<<20-1)
	os.WriteFile(ck.WeightsPath(), append(b, `{"G.w":`...), 0o644)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	err := hasWeights(ck, "G", []string{"G", "D"})
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "not a safetensors file or truncated: header length 104857599, file has 15 bytes") {
		t.Errorf("a header claiming 100 MB in a 15-byte file: %v", err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
		t.Errorf("allocated %d bytes for it", got)
	}
}

// TestUploadsNeedNoTempDir: an upload is decoded where it is held, in
// memory: a $TMPDIR that cannot be written (a read-only or full disk, a
// service's private /tmp gone) costs no request, and nothing of an upload
// is left on disk however its request ends.
func TestUploadsNeedNoTempDir(t *testing.T) {
	t.Setenv("TMPDIR", filepath.Join(t.TempDir(), "gone"))
	ts := testServer(t, translateModel(true), &fakeEngine{}, Options{})
	if resp, b := post(t, ts.URL+"/translate", "image/png", pngBytes(t, 20, 10, 10)); resp.StatusCode != 200 {
		t.Errorf("an upload with $TMPDIR unwritable: %d %s", resp.StatusCode, b)
	}
	// The decoders' messages still name the format the bytes start with.
	if resp, b := post(t, ts.URL+"/translate", "image/png", pngBytes(t, 64, 64, 7)[:60]); resp.StatusCode != 400 || !strings.Contains(string(b), "truncated PNG image") {
		t.Errorf("a truncated PNG with $TMPDIR unwritable: %d %s", resp.StatusCode, b)
	}
}

// logBuffer collects a server's log while a test reads it.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestStopFinishesRequestsInProgress: told to stop with a request in the
// generator, the server says at once that it is stopping and how many
// requests it waits for, refuses new connections, answers the request in
// progress, and returns without an error.
func TestStopFinishesRequestsInProgress(t *testing.T) {
	e := &fakeEngine{gate: make(chan struct{})}
	var log logBuffer
	s := fakeServer(t, e, Options{Logger: slog.New(slog.NewTextHandler(&log, nil))})
	var once sync.Once
	release := func() { once.Do(func() { close(e.gate) }) }
	defer release() // a failing test does not leave the worker held
	addr, cancel, served := startServe(t, s)
	url := "http://" + addr
	code := make(chan int, 1)
	go func() {
		resp, err := http.Post(url+"/translate", "image/png", bytes.NewReader(pngBytes(t, 8, 8, 0)))
		if err != nil {
			code <- -1
			return
		}
		resp.Body.Close()
		code <- resp.StatusCode
	}()
	waitUntil(t, func() bool { return e.entered.Load() == 1 }) // in the generator
	cancel()
	// Said while the request is still held in the generator.
	waitUntil(t, func() bool { return strings.Contains(log.String(), "stopping") })
	if l := log.String(); !strings.Contains(l, "no new connections; finishing 1 request in progress (up to 30s)") {
		t.Errorf("the log on stopping:\n%s", l)
	}
	if e.entered.Load() != 1 || len(code) != 0 {
		t.Fatal("the request ended before the gate opened")
	}
	waitUntil(t, func() bool { // the listener is closed
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	release()
	if c := <-code; c != 200 {
		t.Errorf("the request in progress got %d", c)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve: %v", err)
	}
}

// TestListenErrors: an address in use or malformed is refused before the
// model loads, naming it and saying what to do.
func TestListenErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, c := range []struct{ addr, want string }{
		{busy.Addr().String(), "--addr " + busy.Addr().String() + ": the address is in use (another gogan serve, or another server, listens there): stop it, or give another port (--addr 127.0.0.1:0 picks a free one)"},
		{"8080", `--addr 8080: want HOST:PORT (127.0.0.1:8080 for this machine only, :8080 for every interface)`},
	} {
		err := Run(context.Background(), c.addr, Options{Checkpoint: filepath.Join(t.TempDir(), "no-run")}, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("--addr %s: %v\nwant %q", c.addr, err, c.want)
		}
	}
}

// TestManyRequestsLeakNothing runs a real generator under a load of
// concurrent requests, good, bad and abandoned: every good one gets its own
// drawing's output, and afterwards no libtorch tensor, upload place or
// queued job is left behind.
func TestManyRequestsLeakNothing(t *testing.T) {
	run := trainTinyEdges(t, "model.norm=instance", "model.no_dropout=true")
	s, err := New(context.Background(), Options{Checkpoint: run, Eval: true, Device: "cpu", Threads: 1, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	// Distinct drawings, each alone first.
	const kinds = 8
	bodies := make([][]byte, kinds)
	alone := make([]image.Image, kinds)
	for k := range kinds {
		im := image.NewGray(image.Rect(0, 0, 32, 32))
		for i := range im.Pix {
			im.Pix[i] = 255
		}
		for x := 2 + k*3; x < 30; x++ { // a stroke whose start and row depend on k
			im.Pix[(4+k*3)*32+x] = 0
		}
		var b bytes.Buffer
		png.Encode(&b, im)
		bodies[k] = b.Bytes()
		resp, out := post(t, ts.URL+"/translate", "image/png", bodies[k])
		if resp.StatusCode != 200 {
			t.Fatalf("drawing %d: %d %s", k, resp.StatusCode, out)
		}
		alone[k], _ = png.Decode(bytes.NewReader(out))
	}
	live := torch.LiveTensors()
	const n, clients = 240, 12
	var wg sync.WaitGroup
	var next atomic.Int32
	for range clients {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				k := i % kinds
				switch i % 10 {
				case 7: // not an image
					if resp, b := post(t, ts.URL+"/translate", "image/png", []byte("not a picture")); resp.StatusCode != 400 {
						t.Errorf("request %d, not an image: %d %s", i, resp.StatusCode, b)
					}
					continue
				case 9: // a client that gives up at once
					ctx, cancel := context.WithCancel(context.Background())
					req, _ := http.NewRequestWithContext(ctx, "POST", ts.URL+"/translate", bytes.NewReader(bodies[k]))
					cancel()
					if resp, err := http.DefaultClient.Do(req); err == nil {
						resp.Body.Close()
					}
					continue
				}
				resp, b := post(t, ts.URL+"/translate", "image/png", bodies[k])
				if resp.StatusCode != 200 {
					t.Errorf("request %d: %d %s", i, resp.StatusCode, b)
					continue
				}
				out, err := png.Decode(bytes.NewReader(b))
				if err != nil {
					t.Errorf("request %d: %v", i, err)
					continue
				}
				if d := maxLevelDiff(alone[k], out); d > 2 {
					t.Errorf("request %d (drawing %d, pass of %s): output differs from the drawing's own by %d levels", i, k, resp.Header.Get("X-Gogan-Batch"), d)
				}
			}
		})
	}
	wg.Wait()
	// One more behind whatever an abandoned request left queued.
	if resp, b := post(t, ts.URL+"/translate", "image/png", bodies[0]); resp.StatusCode != 200 {
		t.Fatalf("last request: %d %s", resp.StatusCode, b)
	}
	if got := torch.LiveTensors(); got != live {
		t.Errorf("%d live tensors after %d requests, %d before", got, n, live)
	}
	if q, u := s.w.queued(), len(s.uploads); q != 0 || u != 0 {
		t.Errorf("after the requests: %d queued, %d upload places held", q, u)
	}
	distinct := 0
	for k := range kinds {
		if !slices.ContainsFunc(alone[:k], func(o image.Image) bool { return maxLevelDiff(o, alone[k]) <= 2 }) {
			distinct++
		}
	}
	if distinct < kinds/2 {
		t.Errorf("only %d of %d drawings give distinct outputs: a mix-up would go unseen", distinct, kinds)
	}
}

// trainTinyEdges trains two steps of a tiny edges->garment pix2pix on the
// CPU, with sets added, and returns its run folder.
func trainTinyEdges(t *testing.T, sets ...string) string {
	t.Helper()
	run := filepath.Join(t.TempDir(), "run")
	cfg, err := config.LoadConfig("../configs/pix2pix-fashion-edges.yaml", append([]string{"out=" + run, "device=cpu", "threads=2", "data.max_samples=8",
		"data.batch_size=4", "model.ngf=4", "model.ndf=4", "train.max_steps=2", "logging.tensorboard=false"}, sets...))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := trainer.Train(context.Background(), cfg, trainer.RunOptions{Quiet: true}); err != nil {
		t.Fatal(err)
	}
	return run
}

// maxLevelDiff is the largest difference of two same-sized images' levels.
func maxLevelDiff(a, b image.Image) int {
	if a.Bounds() != b.Bounds() {
		return 256
	}
	d := 0
	for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
		for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
			ar, ag, ab, _ := a.At(x, y).RGBA()
			br, bg, bb, _ := b.At(x, y).RGBA()
			for _, p := range [][2]uint32{{ar, br}, {ag, bg}, {ab, bb}} {
				d = max(d, abs(int(p[0]>>8)-int(p[1]>>8)))
			}
		}
	}
	return d
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// bigAnswerSize is bigAnswerServer's side: an answer (12 MB of noise)
// larger than the sockets hold.
const bigAnswerSize = 2048

// bigAnswerServer serves a translate model of bigAnswerSize, logging into
// log.
func bigAnswerServer(t *testing.T, log *logBuffer) *Server {
	t.Helper()
	m := translateModel(true)
	m.Size = bigAnswerSize
	s, err := newServer(m, &Inputs{Analysis: Analysis{Kind: InputImage}, Source: "test"},
		func() (engine, error) { return &fakeEngine{}, nil }, func() string { return "fake" }, Options{Logger: slog.New(slog.NewTextHandler(log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestResponseNotTakenIsDropped: a client that sends a request and never
// reads the answer (a hung script, a frozen tab) holds its handler only
// until the write deadline, not for ever (nor a stopping server's 30 s).
func TestResponseNotTakenIsDropped(t *testing.T) {
	var log logBuffer
	s := bigAnswerServer(t, &log)
	defer s.Close()
	s.writeWait = 300 * time.Millisecond
	s.uploadRate = 1 << 40 // the answer's own time: nothing
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	body := noisePNG(bigAnswerSize)
	c, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /translate HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: %d\r\n\r\n", body.Len())
	if _, err := c.Write(body.Bytes()); err != nil {
		t.Fatal(err)
	}
	// never read
	defer func() { t.Log(log.String()) }() // the log, should it fail
	waitUntil(t, func() bool { return strings.Contains(log.String(), "the client did not take the answer") })
	waitUntil(t, func() bool { return s.active.Load() == 0 })
	if l := log.String(); !strings.Contains(l, "status=200") || !strings.Contains(l, "within 300ms") {
		t.Errorf("log:\n%s", l)
	}
	// The deadline is the answer's own: a connection kept alive answers a
	// request that comes after it (a page's next drawing) as before.
	var reused []bool
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = append(reused, i.Reused) }}
	client := &http.Client{Transport: &http.Transport{}}
	for i := range 2 {
		if i == 1 {
			time.Sleep(2 * s.writeWait) // the condition: past the first answer's deadline
		}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "POST", ts.URL+"/translate", bytes.NewReader(pngBytes(t, 8, 8, 0)))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("request %d on a kept-alive connection: %v", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || len(b) == 0 {
			t.Fatalf("request %d on a kept-alive connection: %d, %d bytes", i, resp.StatusCode, len(b))
		}
	}
	if !slices.Equal(reused, []bool{false, true}) {
		t.Errorf("connections reused: %v, want the second request on the first's", reused)
	}
}

// noisePNG is a size x size gray PNG of incompressible noise (xorshift):
// the fake engine answers with as many bytes.
func noisePNG(size int) *bytes.Buffer {
	noise := image.NewGray(image.Rect(0, 0, size, size))
	x := uint64(88172645463325252)
	for i := range noise.Pix {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		noise.Pix[i] = uint8(x >> 32)
	}
	var body bytes.Buffer
	png.Encode(&body, noise)
	return &body
}

// TestSlowReaderGetsTheWholeAnswer: the answer's deadline grows with its
// size at the upload floor's pace, so a client on a slow link that reads
// all the while gets a large answer whole, though it takes longer than
// the wait for a client that never reads.
func TestSlowReaderGetsTheWholeAnswer(t *testing.T) {
	m := translateModel(true)
	m.Size = 2048 // 12 MB
	var log logBuffer
	s, err := newServer(m, &Inputs{Analysis: Analysis{Kind: InputImage}, Source: "test"},
		func() (engine, error) { return &fakeEngine{}, nil }, func() string { return "fake" }, Options{Logger: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.writeWait = 300 * time.Millisecond
	s.uploadRate = 4 << 20 // 12 MB: 3 s more
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	resp, err := http.Post(ts.URL+"/translate", "image/png", noisePNG(m.Size))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	start := time.Now()
	n := 0
	buf := make([]byte, 256<<10)
	for {
		k, err := resp.Body.Read(buf)
		n += k
		if err != nil {
			break
		}
		time.Sleep(25 * time.Millisecond) // about 10 MB/s, well under the deadline's pace
	}
	took := time.Since(start)
	if want, _ := strconv.Atoi(resp.Header.Get("Content-Length")); resp.StatusCode != 200 || n != want || want < 10<<20 {
		t.Errorf("a slow reader got %d of %d bytes (status %d) in %v\n%s", n, want, resp.StatusCode, took, log.String())
	}
	if took < s.writeWait {
		t.Logf("the answer took %v, less than the %v wait: the check proves nothing on this run", took, s.writeWait)
	}
}

// TestUploadReadOnce: a body of known length is read into one buffer of
// its size, not grown by doubling: the uploads the server holds at once
// cost their bytes, not up to twice as many.
func TestUploadReadOnce(t *testing.T) {
	if raceEnabled {
		t.Skip("allocations under -race are not those of a build (bytes.Buffer's grow allocates twice)")
	}
	const size = 4 << 20
	body := bytes.Repeat([]byte{7}, size)
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	fw, _ := mw.CreateFormFile("image", "drawing.png")
	fw.Write(body)
	mw.Close()
	for _, c := range []struct {
		ctype string
		body  []byte
	}{{"image/png", body}, {mw.FormDataContentType(), mp.Bytes()}} {
		r := httptest.NewRequest("POST", "/translate", bytes.NewReader(c.body))
		r.Header.Set("Content-Type", c.ctype)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		b, err := readUpload(httptest.NewRecorder(), r, 10<<20, 0, 0)
		runtime.ReadMemStats(&after)
		if err != nil || len(b) != size {
			t.Fatalf("%s: read %d bytes, %v", c.ctype, len(b), err)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > size*5/4 {
			t.Errorf("%s: reading a %d-byte upload allocated %d bytes", c.ctype, size, n)
		}
	}
}

// TestHasWeightsOfARemovedCheckpoint: weights gone since the checkpoint was
// validated (a training run pruned it) read as a removed checkpoint, which
// serve answers by opening the newest one again.
func TestHasWeightsOfARemovedCheckpoint(t *testing.T) {
	ck := runfolder.Checkpoint{Dir: filepath.Join(t.TempDir(), "step-00000001")}
	if err := hasWeights(ck, "G", []string{"G", "D"}); !errors.Is(err, runfolder.ErrRemoved) {
		t.Errorf("a checkpoint without its weights: %v, want it read as removed", err)
	}
}
