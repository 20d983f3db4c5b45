package serve

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"gogan/data"
	"gogan/gan"
	"gogan/infer"
)

// trickle sends head on a new connection to addr, then one more byte of
// body (each what next gives) every 100 ms until the answer comes, and
// returns the answer's status and body ("" and the error when none comes
// within wait).
func trickle(t *testing.T, addr, head string, next func() string, wait time.Duration) (int, string, error) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, head); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
				if _, err := io.WriteString(c, next()); err != nil {
					return
				}
			}
		}
	}()
	c.SetReadDeadline(time.Now().Add(wait))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

// TestUnreadBodiesAreBounded: a body the server does not read to its end,
// trickled a byte at a time, holds its connection no longer than the
// upload grace (net/http reads up to 256 KB of such a body before it
// answers): the other parts of a multipart form after the file, a chunked
// body past --max-upload, a body refused for its Content-Encoding, and a
// body sent to a route that takes none. Each was answered only when the
// client stopped sending (the first two never: readUpload had lifted the
// connection's read deadline), or at the 5-minute read timeout.
func TestUnreadBodiesAreBounded(t *testing.T) {
	e := &fakeEngine{gate: make(chan struct{})}
	close(e.gate)
	m := translateModel(true)
	in := &Inputs{Analysis: Analysis{Kind: InputLabels, Colours: DefaultLabelPalette, Background: DefaultLabelPalette[0], Pen: DefaultLabelPalette[1]},
		Source: "test", Examples: []*data.Image{data.NewImage(m.Size, m.Size, m.InputNC)}}
	s, err := newServer(m, in, func() (engine, error) { return e, nil }, func() string { return "fake" }, Options{Logger: quiet(), MaxUpload: 1000})
	if err != nil {
		t.Fatal(err)
	}
	s.uploadGrace, s.uploadRate = 500*time.Millisecond, 2000
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() { ts.Close(); s.Close() })
	addr := strings.TrimPrefix(ts.URL, "http://")

	chunk := func(b string) string { return fmt.Sprintf("%x\r\n%s\r\n", len(b), b) }
	png := string(pngBytes(t, 8, 8, 0))
	form := "--xyz\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n" + png +
		"\r\n--xyz\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\n"
	for _, c := range []struct {
		name, head string
		next       func() string
		code       int
		want       string
	}{
		{"a multipart form whose part after the file trickles",
			"POST /translate HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=xyz\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk(form),
			func() string { return chunk("x") }, http.StatusRequestTimeout, "upload too slow"},
		{"a chunked body past --max-upload that trickles on",
			"POST /translate HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk(strings.Repeat("x", 1100)),
			func() string { return chunk("x") }, http.StatusRequestEntityTooLarge, "--max-upload 1000"},
		{"a gzip body that trickles",
			"POST /translate HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nContent-Length: 1000\r\n\r\nx",
			func() string { return "x" }, http.StatusUnsupportedMediaType, "Content-Encoding gzip"},
		{"a body sent to GET /healthz that trickles",
			"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nx",
			func() string { return "x" }, http.StatusOK, `"status": "ok"`},
		{"a chunked body sent to GET /healthz that trickles",
			"GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk("x"),
			func() string { return chunk("x") }, http.StatusOK, `"status": "ok"`},
	} {
		start := time.Now()
		code, b, err := trickle(t, addr, c.head, c.next, 10*time.Second)
		if err != nil {
			t.Errorf("%s: no answer within 10 s (%v)", c.name, err)
			continue
		}
		if code != c.code || !strings.Contains(b, c.want) {
			t.Errorf("%s: %d %s, want %d with %q", c.name, code, b, c.code, c.want)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: answered after %v, want about the grace (0.5 s)", c.name, d)
		}
	}

	// A form whose other parts come at once is read whole and answered.
	resp, b := post(t, ts.URL+"/translate", "multipart/form-data; boundary=xyz", []byte(form+"hello\r\n--xyz--\r\n"))
	if resp.StatusCode != 200 || !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Errorf("a form with a part after the file: %d %.100q", resp.StatusCode, b)
	}
}

// TestWebPPastMaxPixelsIsNotDecoded: a WebP of more than --max-pixels is
// refused (413) from its header, as a PNG or JPEG is, before it is decoded:
// an 8 KB lossless WebP of 9000 x 9000 black pixels made the server decode
// it (about 0.5 GB, twice at once with two decoders) to answer 413 after,
// and one claiming more pixels than its bytes may hold was a 400.
func TestWebPPastMaxPixelsIsNotDecoded(t *testing.T) {
	big, err := os.ReadFile("testdata/black-9000x9000.webp")
	if err != nil {
		t.Fatal(err)
	}
	ts := testServer(t, translateModel(true), &fakeEngine{}, Options{})
	for _, c := range []struct {
		name string
		b    []byte
	}{{"a 9000x9000 WebP", big}, {"its first 200 bytes", big[:200]}} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		resp, b := post(t, ts.URL+"/translate", "image/webp", c.b)
		runtime.ReadMemStats(&after)
		if want := "WEBP image of 9000x9000 = 81000000 pixels: more than the limit of 16777216 pixels (--max-pixels)"; resp.StatusCode != 413 || !strings.Contains(string(b), want) {
			t.Errorf("%s (%d bytes): %d %s, want 413 saying %q", c.name, len(c.b), resp.StatusCode, b, want)
		}
		if d := after.TotalAlloc - before.TotalAlloc; d > 64<<20 {
			t.Errorf("%s (%d bytes): the server allocated %d MB to refuse it", c.name, len(c.b), d>>20)
		}
	}
}

// TestConnectionsBounded: the server holds at most --max-conns connections;
// one more waits (in the kernel's backlog) until one of them closes, and
// is then answered. Idle connections by the thousand each held a goroutine
// and a file descriptor (15,000 took 15,000 of each, and ~190 MB) until the
// process ran out of descriptors, and then no client was answered.
func TestConnectionsBounded(t *testing.T) {
	s := fakeServer(t, &fakeEngine{}, Options{MaxConns: 2})
	addr, cancel, served := startServe(t, s)
	url := "http://" + addr + "/healthz"
	var idle []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		idle = append(idle, c)
	}
	waitUntil(t, func() bool { return len(s.conns) == 2 })
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	if resp, err := client.Get(url); err == nil {
		resp.Body.Close()
		t.Errorf("a third connection, --max-conns 2: %d, want it held until one closes", resp.StatusCode)
	}
	idle[0].Close()
	client.Timeout = 10 * time.Second
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("once one of them closed: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"connections": 2`) {
		t.Errorf("once one of them closed: %d %s, want 200 counting 2 connections", resp.StatusCode, b)
	}
	// A stop with every place taken (Accept waiting) still stops.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	waitUntil(t, func() bool { return len(s.conns) == 2 })
	cancel()
	idle[1].Close()
	c.Close()
	select {
	case err := <-served:
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Error("Serve did not return after the stop")
	}
}

// TestBusyUploadIsAnsweredNotReset: an upload refused because the uploads
// are full (503, Retry-After) is read and dropped before the answer, so a
// client that sends its whole body (8 MB here) before it reads the answer,
// as scripts do, gets the 503: net/http closed the connection on more than
// 256 KB left unread, and such a client met a connection reset (69 of 150
// concurrent 10 MB uploads did) and no Retry-After.
func TestBusyUploadIsAnsweredNotReset(t *testing.T) {
	ts := testServer(t, translateModel(true), &fakeEngine{}, Options{Queue: 1, MaxBatch: 1})
	defer fillUploads(t, ts, 1+1+2*runtime.GOMAXPROCS(0))()

	body := make([]byte, 8<<20)
	c, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(c, "POST /translate HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: %d\r\n\r\n", len(body))
	if _, err := c.Write(body); err != nil {
		t.Fatalf("sending an upload while the uploads are full: %v, want it read and then answered 503", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("the answer to an upload while the uploads are full: %v, want 503", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "1" || !strings.Contains(string(b), "uploads are in progress") {
		t.Errorf("an upload while the uploads are full: %d (Retry-After %q) %s, want 503 with Retry-After 1", resp.StatusCode, resp.Header.Get("Retry-After"), b)
	}
}

// TestBusyUploadNotReadWhenAnsweredFirst: an upload refused because the
// uploads are full is answered (503) without its body when its client
// asked first (Expect: 100-continue, as curl does: no "100 Continue",
// which would have it send the body only to be refused) or declared more
// than --max-upload (read, it would be dropped anyway).
func TestBusyUploadNotReadWhenAnsweredFirst(t *testing.T) {
	ts := testServer(t, translateModel(true), &fakeEngine{}, Options{Queue: 1, MaxBatch: 1, MaxUpload: 1 << 20})
	defer fillUploads(t, ts, 1+1+2*runtime.GOMAXPROCS(0))()
	for _, c := range []struct{ name, head string }{
		{"Expect: 100-continue", "Expect: 100-continue\r\nContent-Length: 1000"},
		{"a body declared past --max-upload", fmt.Sprintf("Content-Length: %d", 1<<20+1)},
	} {
		conn, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		// the body is never sent: the server waits for it for the grace
		// (a minute in testServer) if it reads it
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(conn, "POST /translate HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n%s\r\n\r\n", c.head)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Errorf("%s, while the uploads are full: %v, want a 503 at once", c.name, err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != 503 {
			t.Errorf("%s, while the uploads are full: %d, want 503", c.name, resp.StatusCode)
		}
	}
}

// fillUploads starts bound uploads to ts that hold their places (each has
// sent 10 bytes of its PNG), and returns what sends the rest of each, one
// at a time, and waits for its answer: their statuses (-1: no answer).
func fillUploads(t *testing.T, ts *httptest.Server, bound int) (release func() []int) {
	t.Helper()
	var writers []*io.PipeWriter
	done := make(chan int, bound)
	for range bound {
		pr, pw := io.Pipe()
		writers = append(writers, pw)
		go func() {
			resp, err := http.Post(ts.URL+"/translate", "image/png", pr)
			if err != nil {
				done <- -1
				return
			}
			resp.Body.Close()
			done <- resp.StatusCode
		}()
		pw.Write(pngBytes(t, 8, 8, 0)[:10])
	}
	waitUntil(t, func() bool {
		resp, err := http.Get(ts.URL + "/healthz")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var h struct{ Uploads int }
		json.NewDecoder(resp.Body).Decode(&h)
		return h.Uploads == bound
	})
	return func() []int {
		var codes []int
		for _, pw := range writers {
			pw.Write(pngBytes(t, 8, 8, 0)[10:])
			pw.Close()
			codes = append(codes, <-done)
		}
		return codes
	}
}

// TestMalformedQueryIs400: a query string that does not parse is a 400
// saying why, not an answer for the defaults: r.URL.Query dropped the
// pairs it could not parse, so seed=%zz drew seed 1's samples, n=2;seed=3
// one sample of seed 1, and steps=%G0 the default 8 steps, each a 200.
func TestMalformedQueryIs400(t *testing.T) {
	m := &Model{Recipe: "dcgan", Kind: KindGenerate, Role: "G", NetG: "dcgan", Norm: "batch", Size: 4, OutputNC: 1, Gen: infer.Generator{Generation: gan.Generation{Role: "G", Noise: []int64{10, 1, 1}}}, Eval: true}
	ts := testServer(t, m, &fakeEngine{size: 4}, Options{})
	many := strings.Repeat("x=1&", 20000) + "n=2"
	for _, c := range []struct{ path, want string }{
		{"/sample?seed=%zz&n=2", `invalid URL escape "%zz"`},
		{"/sample?n=2;seed=3", "semicolon"},
		{"/interpolate?a=1&b=2&steps=%G0", `invalid URL escape "%G0"`},
		{"/sample?class=%zz", `invalid URL escape "%zz"`},
		{"/sample?" + many, "the query string does not parse"},
	} {
		resp, b := request(t, "GET", ts.URL+c.path)
		if resp.StatusCode != 400 || !strings.Contains(string(b), c.want) {
			t.Errorf("GET %.60s: %d %.200q, want 400 saying %q", c.path, resp.StatusCode, b, c.want)
		}
	}
	if resp, b := request(t, "GET", ts.URL+"/sample?seed=%35&n=2"); resp.StatusCode != 200 { // a good escape: seed 5
		t.Errorf("GET /sample?seed=%%35&n=2: %d %s", resp.StatusCode, b)
	}
	ts = testServer(t, translateModel(true), &fakeEngine{}, Options{})
	if resp, b := request(t, "GET", ts.URL+"/example?i=%zz"); resp.StatusCode != 400 {
		t.Errorf("GET /example?i=%%zz: %d %s, want 400", resp.StatusCode, b)
	}
}

// TestClientGoneDuringTheAnswer: a client that goes away (a reset) while
// its answer is being sent is logged as gone, not as a client that did not
// take the answer within a minute (the write's broken pipe or reset was
// logged as "the client did not take the answer within 1m0s", a timeout
// that never happened).
func TestClientGoneDuringTheAnswer(t *testing.T) {
	var log logBuffer
	s := bigAnswerServer(t, &log)
	defer s.Close()
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	defer func() { t.Log(log.String()) }() // the log, should it fail
	body := noisePNG(bigAnswerSize)
	c, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "POST /translate HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: %d\r\n\r\n", body.Len())
	if _, err := c.Write(body.Bytes()); err != nil {
		t.Fatal(err)
	}
	// The answer is being written once its first byte has come (the rest
	// waits on the sockets); a fixed sleep, should it end before that on a
	// loaded machine, would reset the connection while the upload is
	// decoded or queued, a client gone before its answer.
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
		t.Fatalf("the answer's first byte: %v", err)
	}
	c.(*net.TCPConn).SetLinger(0)
	c.Close() // a reset
	waitUntil(t, func() bool { return s.active.Load() == 0 })
	if l := log.String(); strings.Contains(l, "did not take the answer") || !strings.Contains(l, "the client went away while the answer was sent") {
		t.Errorf("a client gone while its answer was sent: want it logged so")
	}
}

// startServe starts s.Serve on a new loopback listener: its address, the
// cancel that stops it (also at the test's end) and Serve's result.
func startServe(t *testing.T, s *Server) (addr string, cancel func(), served <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	result := make(chan error, 1)
	go func() { result <- s.Serve(ctx, ln) }()
	return ln.Addr().String(), cancel, result
}

// serveOn starts s.Serve on a new loopback listener and returns its address
// and a stop that cancels it and waits (up to 15 s) for Serve to return.
func serveOn(t *testing.T, s *Server) (addr string, stop func() error) {
	t.Helper()
	addr, cancel, served := startServe(t, s)
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-served:
			return err
		case <-time.After(15 * time.Second):
			return errors.New("Serve did not return within 15 s of the stop")
		}
	}
	t.Cleanup(func() { stop() })
	return addr, stop
}

// TestRefusedBodyConnectionEndsWithFIN: an upload refused with most of its
// body unread (413) is answered, and then the server half-closes the
// connection (FIN) before it closes it, so that the client reads the end
// of the answer and not a reset (golang.org/issue/3595): Serve's
// connection wrapper hid the TCP connection's CloseWrite from net/http,
// and such a client met "connection reset by peer" half a second after
// the answer instead of its end.
func TestRefusedBodyConnectionEndsWithFIN(t *testing.T) {
	s := fakeServer(t, &fakeEngine{}, Options{MaxUpload: 1000})
	addr, _ := serveOn(t, s)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(c, "POST /translate HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: %d\r\n\r\n", 10<<20)
	if _, err := c.Write(make([]byte, 64<<10)); err != nil { // left unread in the server's socket
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Errorf("an upload declaring 10 MB, --max-upload 1000: %d, want 413", resp.StatusCode)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("after the 413: %v, want the connection's end (EOF)", err)
	}
}

// TestHealthzCountsConnectionsHeld: below --max-conns, /healthz counts the
// connections held, its own included: Accept waits for the next one
// holding a place of --max-conns, which it counted as a connection (an
// idle server said 1, one client 2).
func TestHealthzCountsConnectionsHeld(t *testing.T) {
	s := fakeServer(t, &fakeEngine{}, Options{MaxConns: 8})
	addr, stop := serveOn(t, s)
	defer stop()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(c)
	healthz := func(want string) {
		t.Helper()
		io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), want) {
			t.Errorf("GET /healthz: %s, want %s", b, want)
		}
	}
	healthz(`"connections": 1`)
	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, func() bool { return s.open.Load() == 2 })
	healthz(`"connections": 2`)
	idle.Close()
	waitUntil(t, func() bool { return s.open.Load() == 1 })
	healthz(`"connections": 1`)
}

// TestStopWithEveryConnectionHeld: a server holding --max-conns
// connections, idle between requests, stops at once: Accept, waiting for a
// place, gives up when the listener is closed. Were it to wait on, Shutdown
// (which waits for Serve's accept loop before it closes the idle
// connections) would wait for one of them to close of itself, at the idle
// timeout (2 minutes).
func TestStopWithEveryConnectionHeld(t *testing.T) {
	s := fakeServer(t, &fakeEngine{}, Options{MaxConns: 1})
	addr, stop := serveOn(t, s)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Close || !strings.Contains(string(b), `"connections": 1`) {
		t.Fatalf("GET /healthz: %d (close %v) %s, want 200 counting 1 connection, kept alive", resp.StatusCode, resp.Close, b)
	}
	if err := stop(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("stopping with the one place taken by an idle connection: %v", err)
	}
}

// failingListener's Accept fails (as one does when the process is out of
// file descriptors) while fails > 0, then accepts from the Listener.
type failingListener struct {
	net.Listener
	fails int
}

func (l *failingListener) Accept() (net.Conn, error) {
	if l.fails > 0 {
		l.fails--
		return nil, errors.New("accept: too many open files")
	}
	return l.Listener.Accept()
}

// TestFailedAcceptGivesItsPlaceBack: an Accept that fails (out of file
// descriptors, which the bound is there to prevent, or a transient error)
// gives back the place it took, and a connection closed twice (as net/http
// does, Shutdown and its serving goroutine) gives back one: a lost or
// double-counted place would, error after error, leave the server
// accepting nothing, or holding more than --max-conns.
func TestFailedAcceptGivesItsPlaceBack(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := &limitListener{Listener: &failingListener{Listener: inner, fails: 3}, slots: make(chan struct{}, 2), done: make(chan struct{})}
	defer ln.Close()
	for i := range 3 {
		if _, err := ln.Accept(); err == nil {
			t.Fatal("Accept: no error, want the failing listener's")
		}
		if n := len(ln.slots); n != 0 {
			t.Fatalf("after %d failed Accepts: %d places taken, want 0", i+1, n)
		}
	}
	var conns []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		sc, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, sc)
	}
	conns[0].Close()
	conns[0].Close()
	if n := len(ln.slots); n != 1 {
		t.Errorf("2 connections accepted and one closed twice: %d places taken, want 1", n)
	}
	conns[1].Close()
}

// TestAnswerAfterTheGraceIsAnswered: an upload read whole, whose answer
// takes longer than the upload grace (a queue, a slow generator), is
// answered: the pace's read deadline is lifted once the body is read to
// its end, or net/http's wait for the client's next request would time
// out there and cancel the request, as if the client had gone.
func TestAnswerAfterTheGraceIsAnswered(t *testing.T) {
	e := &fakeEngine{gate: make(chan struct{})}
	m := translateModel(true)
	s, err := newServer(m, &Inputs{Analysis: Analysis{Kind: InputImage}, Source: "test"},
		func() (engine, error) { return e, nil }, func() string { return "fake" }, Options{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	s.uploadGrace, s.uploadRate = 200*time.Millisecond, 2000
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() { ts.Close(); s.Close() })
	go func() {
		for e.entered.Load() == 0 {
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(time.Second) // five graces with the generator
		close(e.gate)
	}()
	resp, b := post(t, ts.URL+"/translate", "image/png", pngBytes(t, 8, 8, 0))
	if resp.StatusCode != 200 || !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Errorf("an upload answered a second after it was read (grace 0.2 s): %d %.200q, want 200", resp.StatusCode, b)
	}
}

// TestMaxConnsFlagChecked: --max-conns 0 or less is refused, as the other
// limits are, not taken for the default.
func TestMaxConnsFlagChecked(t *testing.T) {
	o := Options{MaxUpload: 1, MaxPixels: 1, MaxBatch: 1, Queue: 1, MaxConns: 1}
	if err := o.checkFlags(); err != nil {
		t.Fatalf("--max-conns 1: %v", err)
	}
	for _, n := range []int{0, -3} {
		o.MaxConns = n
		if err := o.checkFlags(); err == nil || err.Error() != fmt.Sprintf("--max-conns %d: want at least 1", n) {
			t.Errorf("--max-conns %d: %v, want it refused", n, err)
		}
	}
}
