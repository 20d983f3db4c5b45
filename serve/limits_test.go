package serve

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"gogan/data"
	"gogan/gan"
	"gogan/infer"
)

// TestLimitsAtTheirBounds: each limit lets its bound through and refuses
// one more, with the status code it documents: --max-upload in bytes,
// with a Content-Length and without one (a chunked body), --max-pixels,
// GET /sample's n (1 to 64) and GET /interpolate's steps (2 to 16: one step
// has no interpolation, and would divide by zero); and HEAD is answered as
// GET (load balancers' health checks).
func TestLimitsAtTheirBounds(t *testing.T) {
	img := pngBytes(t, 100, 100, 10) // 10000 pixels
	size := int64(len(img))
	for _, c := range []struct {
		name    string
		limit   int64
		chunked bool
		code    int
	}{
		{"at --max-upload", size, false, 200},
		{"one byte over --max-upload", size - 1, false, 413},
		{"at --max-upload, chunked", size, true, 200},
		{"one byte over --max-upload, chunked", size - 1, true, 413},
	} {
		ts := testServer(t, translateModel(true), &fakeEngine{}, Options{MaxUpload: c.limit, MaxPixels: 10000})
		var body io.Reader = bytes.NewReader(img)
		if c.chunked {
			body = io.MultiReader(body) // no length known: sent chunked
		}
		resp, err := http.Post(ts.URL+"/translate", "image/png", body)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.code || c.code == 413 && !strings.Contains(string(b), fmt.Sprintf("--max-upload %d bytes", c.limit)) {
			t.Errorf("%s (%d bytes, limit %d): %d %s, want %d", c.name, size, c.limit, resp.StatusCode, b, c.code)
		}
	}
	ts := testServer(t, translateModel(true), &fakeEngine{}, Options{MaxPixels: 10000})
	for _, c := range []struct {
		w, h, code int
	}{{100, 100, 200}, {101, 100, 413}, {10000, 1, 200}, {1, 10001, 413}} {
		resp, b := post(t, ts.URL+"/translate", "image/png", pngBytes(t, c.w, c.h, 10))
		if resp.StatusCode != c.code {
			t.Errorf("%dx%d image, --max-pixels 10000: %d %s, want %d", c.w, c.h, resp.StatusCode, b, c.code)
		}
	}

	m := &Model{Recipe: "dcgan", Kind: KindGenerate, Role: "G", NetG: "dcgan", Norm: "batch", Size: 4, OutputNC: 1, Gen: infer.Generator{Generation: gan.Generation{Role: "G", Noise: []int64{10, 1, 1}}}, Eval: true}
	ts = testServer(t, m, &fakeEngine{size: 4}, Options{})
	for _, c := range []struct {
		method, path string
		code         int
		want         string
	}{
		{"GET", "/sample?n=1", 200, ""},
		{"GET", "/sample?n=64", 200, ""},
		{"GET", "/sample?n=65", 400, "n=65: want 1 to 64 samples"},
		{"GET", "/interpolate?steps=1", 400, "steps=1: want 2 to 16"},
		{"GET", "/interpolate?steps=2", 200, ""},
		{"GET", "/interpolate?steps=16", 200, ""},
		{"GET", "/interpolate?steps=17", 400, "steps=17: want 2 to 16"},
		{"HEAD", "/healthz", 200, ""},
		{"HEAD", "/info", 200, ""},
		{"HEAD", "/", 200, ""},
		{"HEAD", "/sample?seed=2", 200, ""},
	} {
		resp, b := request(t, c.method, ts.URL+c.path)
		if resp.StatusCode != c.code || !strings.Contains(string(b), c.want) {
			t.Errorf("%s %s: %d %.100q, want %d with %q", c.method, c.path, resp.StatusCode, b, c.code, c.want)
		}
	}
}

// TestGoneClientCostsNoPass: a request whose client has gone by the time
// the worker takes it (the page drops a drawing's request when the next
// stroke comes) is answered with its context's error without a forward
// pass; the one queued behind it still runs.
func TestGoneClientCostsNoPass(t *testing.T) {
	e := &fakeEngine{}
	w, err := startWorker(func() (engine, error) { return e, nil }, 8, 4, true)
	if err != nil {
		t.Fatal(err)
	}
	defer w.stop()
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	j := &job{ctx: gone, ims: []*data.Image{data.NewImage(2, 2, 3), data.NewImage(2, 2, 3)}}
	live := &job{ctx: context.Background(), ims: []*data.Image{data.NewImage(2, 2, 3)}}
	for _, k := range []*job{j, live} {
		if err := w.submit(k); err != nil {
			t.Fatal(err)
		}
	}
	if r := <-j.reply; !errors.Is(r.err, context.Canceled) || r.out != nil {
		t.Errorf("a gone client's job: %v, %d outputs; want context.Canceled", r.err, len(r.out))
	}
	if r := <-live.reply; r.err != nil || len(r.out) != 1 {
		t.Errorf("the job behind it: %v, %d outputs", r.err, len(r.out))
	}
	if got := e.sizes(); !slices.Equal(got, []int{1}) {
		t.Errorf("passes %v, want the live job's alone: [1]", got)
	}
}
