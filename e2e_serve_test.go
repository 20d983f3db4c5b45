package main

// gogan serve end to end: the real server in a subprocess on a free port,
// its API over HTTP, and its page driven in headless Chromium through the
// DevTools protocol (mouse events that draw on the canvas as a user does).

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gogan/runfolder"
	"gogan/serve"
)

const serveChromium = "/usr/bin/chromium"

// lockedBuffer collects a subprocess's stderr while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// server is a gogan serve subprocess.
type server struct {
	cmd    *exec.Cmd
	url    string
	stdout *lockedBuffer
	log    *lockedBuffer
	done   chan error
}

// startServe runs gogan serve on a free port and waits for its "serving on"
// line.
func startServe(t *testing.T, args ...string) *server {
	t.Helper()
	cmd := exec.Command(goganBin, append([]string{"serve", "--addr", "127.0.0.1:0", "--device", "cpu", "--threads", "2"}, args...)...)
	s := &server{cmd: cmd, stdout: &lockedBuffer{}, log: &lockedBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = s.log
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			s.stdout.Write([]byte(line + "\n"))
			if u, ok := strings.CutPrefix(line, "serving on "); ok {
				found <- u
			}
		}
		s.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-s.done
		}
	})
	select {
	case s.url = <-found:
		return s
	case err := <-s.done:
		t.Fatalf("gogan serve %v exited before serving: %v\n%s", args, err, s.log.String())
	case <-time.After(2 * time.Minute):
		t.Fatalf("gogan serve %v: no 'serving on' line in 2 minutes\n%s", args, s.log.String())
	}
	return nil
}

// stop sends sig and waits for the exit.
func (s *server) stop(t *testing.T, sig syscall.Signal) error {
	t.Helper()
	s.cmd.Process.Signal(sig)
	select {
	case err := <-s.done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatalf("gogan serve did not stop within 30 s of %v\n%s", sig, s.log.String())
	}
	return nil
}

var httpc = &http.Client{Timeout: 2 * time.Minute}

func do(t *testing.T, method, u, ctype string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := httpc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// edgeDrawing is a w x h white image with a black rectangle outline whose
// corner depends on k: distinct inputs for the batching check.
func edgeDrawing(w, h, k int) *image.Gray {
	im := image.NewGray(image.Rect(0, 0, w, h))
	for i := range im.Pix {
		im.Pix[i] = 255
	}
	x0, y0 := 2+k%5*2, 2+k/5*3
	for x := x0; x < w-3; x++ {
		im.SetGray(x, y0, color.Gray{0})
		im.SetGray(x, h-4, color.Gray{0})
	}
	for y := y0; y < h-3; y++ {
		im.SetGray(x0, y, color.Gray{0})
		im.SetGray(w-4, y, color.Gray{0})
	}
	return im
}

func encodePNG(t *testing.T, im image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, im); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func decodePNG(t *testing.T, b []byte) image.Image {
	t.Helper()
	im, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not a PNG (%d bytes: %.200q): %v", len(b), b, err)
	}
	return im
}

// maxDiff is the largest difference of any channel of any pixel.
func maxDiff(a, b image.Image) int {
	if a.Bounds() != b.Bounds() {
		return 256
	}
	d := 0
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
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

// TestServePix2Pix trains a tiny edges->garment pix2pix and serves it: the
// API with good and bad input, batching of concurrent requests, the page in
// Chromium, refusals at start, and a graceful stop.
func TestServePix2Pix(t *testing.T) {
	base := t.TempDir()
	run := filepath.Join(base, "run")
	// Instance norm and no dropout: after two steps the outputs already
	// depend on the input (eval-mode BatchNorm with two steps of running
	// statistics saturates), and train and eval mode give the same.
	mustTrain(t, smallPix2Pix(run, "train.max_steps=2", "model.norm=instance", "model.no_dropout=true")...)
	s := startServe(t, "--checkpoint", run, "--eval", "--max-upload", "65536", "--max-pixels", "1000000")

	t.Run("API", func(t *testing.T) {
		resp, b := do(t, "GET", s.url+"/healthz", "", nil)
		if resp.StatusCode != 200 || !strings.Contains(string(b), `"status": "ok"`) {
			t.Fatalf("healthz: %d %s", resp.StatusCode, b)
		}
		var info struct {
			Kind, Input, Mode, Device string
			Size                      int
			Palette                   []struct{ Hex string }
			Background, Pen           string
		}
		_, b = do(t, "GET", s.url+"/info", "", nil)
		if err := json.Unmarshal(b, &info); err != nil {
			t.Fatal(err)
		}
		// Fashion-MNIST edges are black strokes on white.
		if info.Kind != "translate" || info.Size != 32 || info.Input != "sketch" || info.Mode != "eval" || info.Device != "cpu" ||
			info.Background != "#ffffff" || info.Pen != "#000000" {
			t.Errorf("info: %s", b)
		}
		// PNG (resized from 40x28), JPEG, and a multipart form file.
		var jb bytes.Buffer
		jpeg.Encode(&jb, edgeDrawing(64, 48, 1), &jpeg.Options{Quality: 90})
		var mp bytes.Buffer
		mw := multipart.NewWriter(&mp)
		fw, _ := mw.CreateFormFile("image", "drawing.png")
		fw.Write(encodePNG(t, edgeDrawing(32, 32, 2)))
		mw.Close()
		for _, c := range []struct {
			name, ctype string
			body        []byte
		}{{"png", "image/png", encodePNG(t, edgeDrawing(40, 28, 0))}, {"jpeg", "image/jpeg", jb.Bytes()}, {"multipart", mw.FormDataContentType(), mp.Bytes()}} {
			resp, b := do(t, "POST", s.url+"/translate", c.ctype, c.body)
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" {
				t.Fatalf("%s: %d %s", c.name, resp.StatusCode, b)
			}
			if sz := decodePNG(t, b).Bounds().Size(); sz != (image.Point{32, 32}) {
				t.Errorf("%s: output %v, want the model's 32x32", c.name, sz)
			}
			if !strings.Contains(resp.Header.Get("Server-Timing"), "infer;dur=") {
				t.Errorf("%s: Server-Timing %q", c.name, resp.Header.Get("Server-Timing"))
			}
		}
		// The server's output is gogan translate --eval's, pixel for pixel
		// (same decoding, resize and generator mode).
		in, outDir := filepath.Join(base, "in"), filepath.Join(base, "translated")
		os.MkdirAll(in, 0o755)
		drawing := encodePNG(t, edgeDrawing(40, 28, 4))
		os.WriteFile(filepath.Join(in, "d.png"), drawing, 0o644)
		if out, err := gogan(t, "translate", "--checkpoint", run, "--input", in, "--out", outDir, "--device", "cpu", "--eval"); err != nil {
			t.Fatalf("translate: %v\n%s", err, out)
		}
		want, _ := os.ReadFile(filepath.Join(outDir, "d.png"))
		_, got := do(t, "POST", s.url+"/translate", "image/png", drawing)
		if d := maxDiff(decodePNG(t, want), decodePNG(t, got)); d != 0 {
			t.Errorf("serve and translate --eval differ by %d levels on the same drawing", d)
		}
		// Bad input: clear errors, and the server goes on.
		big := encodePNG(t, edgeDrawing(1200, 1000, 0))
		for _, c := range []struct {
			name, method, path, ctype string
			body                      []byte
			code                      int
			want                      string
		}{
			{"not an image", "POST", "/translate", "image/png", []byte("this is not a picture\n"), 400, "not a supported image (text file?)"},
			{"truncated", "POST", "/translate", "image/png", encodePNG(t, edgeDrawing(40, 28, 0))[:100], 400, "truncated PNG image (unexpected end of file)"},
			{"too large", "POST", "/translate", "application/octet-stream", make([]byte, 70000), 413, "larger than the limit of 64 KiB (--max-upload 65536 bytes)"},
			{"too many pixels", "POST", "/translate", "image/png", big, 413, "1200x1000 = 1200000 pixels: more than the limit of 1000000 pixels (--max-pixels)"},
			{"wrong method", "GET", "/translate", "", nil, 405, "GET /translate: method not allowed; use POST"},
			{"DCGAN endpoint", "GET", "/sample?seed=1", "", nil, 404, "it answers POST /translate"},
		} {
			resp, b := do(t, c.method, s.url+c.path, c.ctype, c.body)
			if resp.StatusCode != c.code || !strings.Contains(string(b), c.want) {
				t.Errorf("%s: %d %q, want %d with %q", c.name, resp.StatusCode, b, c.code, c.want)
			}
		}
		// A sliver of an image (1 x 900,000, under --max-pixels) resizes
		// without a first pass of the model's width times its height, more
		// times than there are decode slots.
		sliver := image.NewGray(image.Rect(0, 0, 1, 900_000))
		for i := range sliver.Pix {
			sliver.Pix[i] = uint8(i / 3000)
		}
		sliverPNG := encodePNG(t, sliver)
		for range 3 {
			resp, b := do(t, "POST", s.url+"/translate", "image/png", sliverPNG)
			if resp.StatusCode != 200 || decodePNG(t, b).Bounds().Size() != (image.Point{32, 32}) {
				t.Fatalf("a 1x900000 drawing: %d %.200q", resp.StatusCode, b)
			}
		}
		if resp, _ := do(t, "GET", s.url+"/healthz", "", nil); resp.StatusCode != 200 {
			t.Errorf("healthz after bad input: %d", resp.StatusCode)
		}
		log := s.log.String()
		if !regexp.MustCompile(`msg="POST /translate" status=200 total_ms=[0-9.]+ in=40x28 .* infer_ms=[0-9.]+ .*batch=1 out=32x32`).MatchString(log) ||
			!strings.Contains(log, `status=413`) {
			t.Errorf("log lacks the per-request latency lines:\n%s", log)
		}
	})

	t.Run("Batching", func(t *testing.T) {
		// Each of 8 different drawings alone, then all 8 at once: each
		// request gets its own output (eval mode: the same, up to rounding).
		const n = 8
		alone := make([]image.Image, n)
		bodies := make([][]byte, n)
		for k := range n {
			bodies[k] = encodePNG(t, edgeDrawing(32, 32, k))
			_, b := do(t, "POST", s.url+"/translate", "image/png", bodies[k])
			alone[k] = decodePNG(t, b)
		}
		together := make([]image.Image, n)
		batches := make([]int, n)
		var wg sync.WaitGroup
		for k := range n {
			wg.Go(func() {
				resp, err := httpc.Post(s.url+"/translate", "image/png", bytes.NewReader(bodies[k]))
				if err != nil {
					t.Error(err)
					return
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != 200 {
					t.Errorf("request %d: %d %s", k, resp.StatusCode, b)
					return
				}
				together[k], _ = png.Decode(bytes.NewReader(b))
				batches[k], _ = strconv.Atoi(resp.Header.Get("X-Gogan-Batch"))
			})
		}
		wg.Wait()
		distinct := 0
		for k := range n {
			if together[k] == nil {
				continue
			}
			if d := maxDiff(alone[k], together[k]); d > 2 {
				t.Errorf("drawing %d: concurrent output differs from its own by %d levels", k, d)
			}
			same := false
			for j := range k {
				same = same || maxDiff(alone[k], alone[j]) == 0
			}
			if !same {
				distinct++
			}
		}
		if distinct < n/2 {
			t.Errorf("only %d of %d drawings give distinct outputs: a mix-up would go unseen", distinct, n)
		}
		t.Logf("forward passes of the concurrent requests (X-Gogan-Batch): %v", batches)
	})

	t.Run("Browser", func(t *testing.T) {
		b := startBrowser(t, s.url+"/")
		b.waitFor(t, `document.body.dataset.state === "ready" && document.getElementById("output").dataset.state === "ok"`, time.Minute)
		digest0 := b.evalString(t, `document.getElementById("output").dataset.digest`)
		bg := b.evalString(t, `(() => { const d = document.getElementById("input").getContext("2d").getImageData(0, 0, 1, 1).data; return d.join(","); })()`)
		if bg != "255,255,255,255" {
			t.Errorf("blank canvas pixel %s, want the data's white background", bg)
		}
		// Three strokes across the canvas with the mouse, as a user draws.
		r := b.rect(t, "input")
		stroke := func(pts ...[2]float64) {
			at := func(p [2]float64) (float64, float64) { return r.X + p[0]*r.Width, r.Y + p[1]*r.Height }
			x, y := at(pts[0])
			b.mouse(t, "mousePressed", x, y, 1)
			for _, p := range pts[1:] {
				x1, y1 := at(p)
				for i := 1; i <= 6; i++ {
					b.mouse(t, "mouseMoved", x+(x1-x)*float64(i)/6, y+(y1-y)*float64(i)/6, 1)
				}
				x, y = x1, y1
			}
			b.mouse(t, "mouseReleased", x, y, 0)
		}
		stroke([2]float64{0.2, 0.15}, [2]float64{0.8, 0.15}, [2]float64{0.8, 0.85}, [2]float64{0.2, 0.85}, [2]float64{0.2, 0.15})
		stroke([2]float64{0.5, 0.15}, [2]float64{0.5, 0.85})
		stroke([2]float64{0.2, 0.5}, [2]float64{0.8, 0.5})
		drawn := b.evalString(t, `(() => { const c = document.getElementById("input"); const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
			let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i] < 128) n++; return String(n); })()`)
		if n, _ := strconv.Atoi(drawn); n < 40 {
			t.Fatalf("the strokes left %s dark pixels on the canvas", drawn)
		}
		// The page sends the drawing (debounced) and shows the new output.
		b.waitFor(t, fmt.Sprintf(`(() => { const o = document.getElementById("output");
			return o.dataset.state === "ok" && o.dataset.digest !== %q && o.complete; })()`, digest0), time.Minute)
		// Let the last debounced request land, then read what is shown.
		time.Sleep(time.Second)
		b.waitFor(t, `document.getElementById("output").dataset.state === "ok"`, time.Minute)
		w := b.evalString(t, `String(document.getElementById("output").naturalWidth) + "x" + String(document.getElementById("output").naturalHeight)`)
		if w != "32x32" {
			t.Errorf("output image %s, want the model's 32x32", w)
		}
		if st := b.evalString(t, `document.getElementById("status").textContent`); !strings.Contains(st, "32×32 in") {
			t.Errorf("status line %q", st)
		}
		b.screenshot(t, "serve-pix2pix.png")
	})

	t.Run("Refusals", func(t *testing.T) {
		// A folder with no checkpoint, a pix2pix asked for the direction it
		// did not train, and a checkpoint without generator weights.
		stripped := stripGenerator(t, run, filepath.Join(base, "stripped"))
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"--checkpoint", base}, "neither a checkpoint folder"},
			{[]string{"--checkpoint", run, "--direction", "BtoA"}, "translates AtoB, not BtoA: leave --direction out, or give AtoB"},
			{[]string{"--checkpoint", stripped}, "is not a generator checkpoint: its weights hold no G.* tensors (the generator G that gogan serve runs), only D"},
			{[]string{"--checkpoint", run, "--input", "crayons"}, `--input "crayons": want auto, labels, sketch or image`},
			{[]string{"--checkpoint", run, "--data-root", filepath.Join(base, "nonexistent")}, "--data-root " + filepath.Join(base, "nonexistent") + ": "},
			{[]string{"--checkpoint", run, "--queue", "-1", "--threads", "-5", "--min-upload-rate", "-2"}, "--threads -5: want 0 (all cores) or more; --min-upload-rate -2: want bytes per second, or 0 for no floor; --queue -1: want at least 1"},
		} {
			cmd := exec.Command(goganBin, append([]string{"serve", "--addr", "127.0.0.1:0", "--device", "cpu"}, c.args...)...)
			out, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(out), c.want) || strings.Contains(string(out), "serving on") {
				t.Errorf("serve %v: %v\n%s\nwant an error with %q", c.args, err, out, c.want)
			}
		}
	})

	t.Run("Shutdown", func(t *testing.T) {
		// SIGTERM while a request is in flight: it is answered, then the
		// server exits 0.
		res := make(chan int, 1)
		go func() {
			resp, err := httpc.Post(s.url+"/translate", "image/png", bytes.NewReader(encodePNG(t, edgeDrawing(32, 32, 3))))
			if err != nil {
				res <- -1
				return
			}
			resp.Body.Close()
			res <- resp.StatusCode
		}()
		time.Sleep(20 * time.Millisecond)
		if err := s.stop(t, syscall.SIGTERM); err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, s.log.String())
		}
		if code := <-res; code != 200 && code != -1 {
			t.Errorf("request during shutdown: %d", code)
		}
		if !strings.Contains(s.stdout.String(), "stopped") {
			t.Errorf("stdout: %s", s.stdout.String())
		}
	})
}

// stripGenerator copies a run's newest checkpoint with its G.* tensors
// renamed X.* (same lengths, so the offsets hold), written as a checkpoint
// (state.json's checksums anew): a valid checkpoint that holds no generator.
func stripGenerator(t *testing.T, run, dst string) string {
	t.Helper()
	cks, _ := filepath.Glob(filepath.Join(run, "checkpoints", "step-*"))
	if len(cks) == 0 {
		t.Fatal("no checkpoint")
	}
	src := cks[len(cks)-1]
	w, err := os.ReadFile(filepath.Join(src, "weights.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(w[:8])
	hdr := bytes.ReplaceAll(w[8:8+n], []byte(`"G.`), []byte(`"X.`))
	copy(w[8:], hdr)
	var st runfolder.CheckpointState
	b, _ := os.ReadFile(filepath.Join(src, "state.json"))
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil { // WriteCheckpoint makes checkpoints/ in a run folder that exists
		t.Fatal(err)
	}
	ck, err := runfolder.WriteCheckpoint(dst, st, func(out io.Writer) error { _, err := out.Write(w); return err })
	if err != nil {
		t.Fatal(err)
	}
	return ck.Dir
}

// TestServeDCGAN serves a tiny DCGAN: samples are reproducible by seed,
// interpolation has the right size, and the page's grid and interpolation
// work when two samples are clicked in Chromium.
func TestServeDCGAN(t *testing.T) {
	run := filepath.Join(t.TempDir(), "run")
	mustTrain(t, smallDCGAN(run, "train.max_steps=2")...)
	s := startServe(t, "--checkpoint", run)
	_, a := do(t, "GET", s.url+"/sample?seed=7", "", nil)
	_, a2 := do(t, "GET", s.url+"/sample?seed=7", "", nil)
	if sz := decodePNG(t, a).Bounds().Size(); sz != (image.Point{32, 32}) {
		t.Errorf("sample %v, want 32x32", sz)
	}
	if maxDiff(decodePNG(t, a), decodePNG(t, a2)) > 1 {
		t.Error("the same seed gave different samples")
	}
	resp, b := do(t, "GET", s.url+"/interpolate?a=1&b=2&steps=6", "", nil)
	if sz := decodePNG(t, b).Bounds().Size(); resp.StatusCode != 200 || sz != (image.Point{6*34 + 2, 36}) {
		t.Errorf("interpolate: %d, %v", resp.StatusCode, sz)
	}
	resp, b = do(t, "POST", s.url+"/translate", "image/png", encodePNG(t, edgeDrawing(32, 32, 0)))
	if resp.StatusCode != 404 || !strings.Contains(string(b), "this server runs a dcgan generator (noise to image)") {
		t.Errorf("translate on a DCGAN: %d %s", resp.StatusCode, b)
	}

	br := startBrowser(t, s.url+"/")
	br.waitFor(t, `document.body.dataset.state === "ready" && document.getElementById("grid").dataset.loaded === "16"`, time.Minute)
	for _, i := range []int{0, 5} {
		r := br.rectOf(t, fmt.Sprintf(`document.querySelectorAll("#grid img")[%d]`, i))
		x, y := r.X+r.Width/2, r.Y+r.Height/2
		br.mouse(t, "mousePressed", x, y, 1)
		br.mouse(t, "mouseReleased", x, y, 0)
	}
	br.waitFor(t, `document.getElementById("interp").dataset.state === "ok"`, time.Minute)
	if w := br.evalString(t, `String(document.getElementById("interp").naturalWidth)`); w != strconv.Itoa(8*34+2) {
		t.Errorf("interpolation strip %s px wide, want 8 samples of 32 px with padding (%d)", w, 8*34+2)
	}
	br.screenshot(t, "serve-dcgan.png")
	if err := s.stop(t, syscall.SIGINT); err != nil {
		t.Errorf("exit after SIGINT: %v", err)
	}
}

// TestServePageFitsAPhone: serve's page on a phone is laid out at the
// phone's width: the drawing canvas and the output shrink to the screen
// (a stroke drawn there still reaches the model), and the DCGAN page's
// sample grid wraps to fewer columns. The panes were 418 pixels wide and
// the grid eight 128-pixel columns (1,066 pixels), past a phone's edge.
func TestServePageFitsAPhone(t *testing.T) {
	base := t.TempDir()
	p2p, dcgan := filepath.Join(base, "p2p"), filepath.Join(base, "dcgan")
	mustTrain(t, smallPix2Pix(p2p, "train.max_steps=2", "model.norm=instance", "model.no_dropout=true")...)
	mustTrain(t, smallDCGAN(dcgan, "train.max_steps=1")...)

	s := startServe(t, "--checkpoint", p2p, "--eval")
	b := startBrowser(t, "about:blank")
	b.openAsPhone(t, s.url+"/", `document.body.dataset.state === "ready" && document.getElementById("output").dataset.state === "ok"`)
	b.fitsThePhone(t, "the drawing page")
	r := b.rect(t, "input")
	if r.Width < 250 || r.Width != r.Height {
		t.Errorf("the canvas on the phone: %vx%v, want a square of most of its width", r.Width, r.Height)
	}
	digest0 := b.evalString(t, `document.getElementById("output").dataset.digest`)
	b.mouse(t, "mousePressed", r.X+0.2*r.Width, r.Y+0.5*r.Height, 1)
	for i := 1; i <= 8; i++ {
		b.mouse(t, "mouseMoved", r.X+(0.2+0.6*float64(i)/8)*r.Width, r.Y+0.5*r.Height, 1)
	}
	b.mouse(t, "mouseReleased", r.X+0.8*r.Width, r.Y+0.5*r.Height, 0)
	b.waitFor(t, fmt.Sprintf(`(() => { const o = document.getElementById("output");
		return o.dataset.state === "ok" && o.dataset.digest !== %q && o.complete; })()`, digest0), time.Minute)
	b.screenshot(t, "serve-pix2pix-phone.png")

	s = startServe(t, "--checkpoint", dcgan)
	b.openAsPhone(t, s.url+"/", `document.body.dataset.state === "ready" && document.getElementById("grid").dataset.loaded === "16"`)
	b.fitsThePhone(t, "the DCGAN page")
	if r := b.rectOf(t, `document.querySelector("#grid img")`); r.Width < 64 {
		t.Errorf("a sample on the phone is %v pixels wide: too small to see or tap", r.Width)
	}
	b.screenshot(t, "serve-dcgan-phone.png")
}

// TestServePageByKeyboard: the drawing page's upload is reached with Tab
// and opens the file chooser with the space bar, and the picture chosen is
// drawn on the canvas and translated (its file input was display: none,
// which takes it out of the tab order: only a mouse could upload). The
// tools' letters pick them, and a browser's shortcut on a letter (Ctrl+E,
// Ctrl+P, Ctrl+F: search, print, find) leaves the tool as it was: it
// picked the tool of its letter, and the next click on the canvas used it.
func TestServePageByKeyboard(t *testing.T) {
	base := t.TempDir()
	run := filepath.Join(base, "run")
	mustTrain(t, smallPix2Pix(run, "train.max_steps=2", "model.norm=instance", "model.no_dropout=true")...)
	picture := filepath.Join(base, "drawing.png")
	if err := os.WriteFile(picture, encodePNG(t, edgeDrawing(32, 32, 3)), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, "--checkpoint", run, "--eval")
	b := startBrowser(t, s.url+"/")
	b.waitFor(t, `document.body.dataset.state === "ready" && document.getElementById("output").dataset.state === "ok"`, time.Minute)
	digest0 := b.evalString(t, `document.getElementById("output").dataset.digest`)
	b.call(t, "Page.enable", nil)
	b.call(t, "Page.setInterceptFileChooserDialog", map[string]any{"enabled": true})
	var order []string
	for b.evalString(t, `document.activeElement.id`) != "upload" {
		if len(order) == 40 {
			t.Fatalf("Tab does not reach the upload; the page's tab order: %s", strings.Join(order, ", "))
		}
		b.key(t, "Tab", 0)
		order = append(order, b.evalString(t, `(({tagName, id, textContent}) => tagName + (id ? "#" + id : "") + " " + textContent.trim().slice(0, 30))(document.activeElement)`))
	}
	b.key(t, " ", 0)
	for deadline := time.Now().Add(10 * time.Second); !slices.Contains(b.events, "Page.fileChooserOpened"); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the space bar on the focused upload opened no file chooser")
		}
		b.evalString(t, "0") // reads the events that arrived
	}
	// The picture chosen in it.
	var focused struct{ Result struct{ ObjectID string } }
	json.Unmarshal(b.call(t, "Runtime.evaluate", map[string]any{"expression": "document.activeElement"}), &focused)
	b.call(t, "DOM.setFileInputFiles", map[string]any{"files": []string{picture}, "objectId": focused.Result.ObjectID})
	b.waitFor(t, fmt.Sprintf(`(() => { const o = document.getElementById("output");
		return o.dataset.state === "ok" && o.dataset.digest !== %q; })()`, digest0), time.Minute)
	if px := b.evalString(t, `String(document.getElementById("input").getContext("2d").getImageData(16, 2, 1, 1).data[0])`); px != "0" {
		t.Errorf("the canvas at the picture's black edge: %s, want 0", px)
	}

	b.evalString(t, `document.activeElement.blur()`)
	tool := func() string { return b.evalString(t, `document.querySelector("#tools .active").dataset.tool`) }
	for _, k := range []struct {
		key       string
		modifiers int
		want      string
	}{
		{"e", 0, "eraser"},
		{"p", 2, "eraser"}, // Ctrl+P
		{"p", 0, "pen"},
		{"e", 2, "pen"}, // Ctrl+E
		{"e", 4, "pen"}, // Cmd+E
		{"E", 8, "eraser"},
	} {
		b.key(t, k.key, k.modifiers)
		if got := tool(); got != k.want {
			t.Errorf("%q with modifiers %d: the tool is %s, want %s", k.key, k.modifiers, got, k.want)
		}
	}
}

// TestServeStoppedWhileLoading: SIGINT or SIGTERM while serve still loads
// the model (unet_256's 217 MB, a second or two; the port accepts
// connections from before the load) stops it at once, exit status 0, saying
// it stopped before serving. It used to finish loading, print "serving on",
// and only then stop.
func TestServeStoppedWhileLoading(t *testing.T) {
	base := t.TempDir()
	run := filepath.Join(base, "run")
	if out, err := gogan(t, "import", "--config", "configs/pix2pix-facades.yaml", "--pth", savedUnet256(t, base), "--out", run); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		addr := fmt.Sprintf("127.0.0.1:%d", freeTCPPort(t))
		cmd := exec.Command(goganBin, "serve", "--checkpoint", run, "--addr", addr, "--device", "cpu", "--threads", "2")
		var buf bytes.Buffer
		cmd.Stdout, cmd.Stderr = &buf, &buf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		signalWhen(t, cmd, &buf, "listening port", func() bool {
			c, err := net.Dial("tcp", addr)
			if err == nil {
				c.Close()
			}
			return err == nil
		}, sig)
		err := cmd.Wait()
		if o := buf.String(); err != nil || strings.Contains(o, "serving on") || !strings.Contains(o, "stopped before serving") {
			t.Errorf("serve after %v while loading: %v, want exit status 0 and 'stopped before serving' without 'serving on'\n%s", sig, err, o)
		}
	}
}

// ---- a small Chrome DevTools Protocol client over a WebSocket ----------

type browser struct {
	cmd  *exec.Cmd
	conn net.Conn
	br   *bufio.Reader
	id   int
	dir  string
	// events are the names of the events that arrived (of the domains
	// enabled, as Page.enable), in order.
	events []string
}

// startBrowser opens page in headless Chromium and connects to it over the
// DevTools protocol.
func startBrowser(t *testing.T, page string) *browser {
	t.Helper()
	if _, err := os.Stat(serveChromium); err != nil {
		t.Fatalf("%s missing: the serve page test needs Debian's chromium (make setup installs it)", serveChromium)
	}
	dir := t.TempDir()
	cmd := exec.Command(serveChromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
		"--user-data-dir="+dir, "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1",
		"--window-size=1280,1000", page)
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its renderer and GPU processes go with it
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	b := &browser{cmd: cmd, dir: dir}
	t.Cleanup(func() {
		if b.conn != nil {
			b.conn.Close()
		}
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	// Chromium writes the port it chose into DevToolsActivePort.
	var port string
	for deadline := time.Now().Add(time.Minute); port == "" && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if data, err := os.ReadFile(filepath.Join(dir, "DevToolsActivePort")); err == nil {
			if lines := strings.Split(string(data), "\n"); len(lines) > 1 {
				port = strings.TrimSpace(lines[0])
			}
		}
	}
	if port == "" {
		t.Fatalf("chromium: no DevTools port within a minute\n%s", stderr.String())
	}
	var wsURL string
	for deadline := time.Now().Add(30 * time.Second); wsURL == "" && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get("http://127.0.0.1:" + port + "/json/list")
		if err != nil {
			continue
		}
		var targets []struct{ Type, URL, WebSocketDebuggerURL string }
		json.NewDecoder(resp.Body).Decode(&targets)
		resp.Body.Close()
		for _, tg := range targets {
			if tg.Type == "page" && strings.HasPrefix(tg.URL, page) {
				wsURL = tg.WebSocketDebuggerURL
			}
		}
	}
	if wsURL == "" {
		t.Fatalf("chromium: no page target for %s\n%s", page, stderr.String())
	}
	if err := b.dial(wsURL); err != nil {
		t.Fatalf("DevTools websocket %s: %v", wsURL, err)
	}
	return b
}

// dial opens the WebSocket (RFC 6455) to the page target.
func (b *browser) dial(wsURL string) error {
	u, err := url.Parse(wsURL)
	if err != nil {
		return err
	}
	conn, err := net.DialTimeout("tcp", u.Host, 10*time.Second)
	if err != nil {
		return err
	}
	key := make([]byte, 16)
	rand.Read(key)
	k := base64.StdEncoding.EncodeToString(key)
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", u.RequestURI(), u.Host, k)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		conn.Close()
		return err
	}
	h := sha1.Sum([]byte(k + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(h[:]) {
		conn.Close()
		return fmt.Errorf("handshake: %s", resp.Status)
	}
	b.conn, b.br = conn, br
	return nil
}

// send writes one masked text frame.
func (b *browser) send(msg []byte) error {
	hdr := []byte{0x81}
	switch n := len(msg); {
	case n < 126:
		hdr = append(hdr, 0x80|byte(n))
	case n < 1<<16:
		hdr = append(hdr, 0x80|126, byte(n>>8), byte(n))
	default:
		hdr = append(hdr, 0x80|127)
		hdr = binary.BigEndian.AppendUint64(hdr, uint64(n))
	}
	mask := make([]byte, 4)
	rand.Read(mask)
	hdr = append(hdr, mask...)
	body := make([]byte, len(msg))
	for i := range msg {
		body[i] = msg[i] ^ mask[i%4]
	}
	_, err := b.conn.Write(append(hdr, body...))
	return err
}

// recv reads one message (joining fragments; answering pings).
func (b *browser) recv() ([]byte, error) {
	var msg []byte
	for {
		var h [2]byte
		if _, err := io.ReadFull(b.br, h[:]); err != nil {
			return nil, err
		}
		op, n := h[0]&0x0f, uint64(h[1]&0x7f)
		switch n {
		case 126:
			var e [2]byte
			if _, err := io.ReadFull(b.br, e[:]); err != nil {
				return nil, err
			}
			n = uint64(binary.BigEndian.Uint16(e[:]))
		case 127:
			var e [8]byte
			if _, err := io.ReadFull(b.br, e[:]); err != nil {
				return nil, err
			}
			n = binary.BigEndian.Uint64(e[:])
		}
		var mask [4]byte
		if h[1]&0x80 != 0 {
			io.ReadFull(b.br, mask[:])
		}
		p := make([]byte, n)
		if _, err := io.ReadFull(b.br, p); err != nil {
			return nil, err
		}
		if h[1]&0x80 != 0 {
			for i := range p {
				p[i] ^= mask[i%4]
			}
		}
		switch op {
		case 0x8:
			return nil, fmt.Errorf("websocket closed by chromium")
		case 0x9: // ping: pong back (masked, as a client must)
			mask := []byte{0, 0, 0, 0}
			b.conn.Write(append([]byte{0x8a, 0x80 | byte(len(p))}, append(mask, p...)...))
			continue
		case 0xa:
			continue
		}
		msg = append(msg, p...)
		if h[0]&0x80 != 0 {
			return msg, nil
		}
	}
}

// call sends a DevTools command and returns its result.
func (b *browser) call(t *testing.T, method string, params any) json.RawMessage {
	t.Helper()
	b.id++
	id := b.id
	req, _ := json.Marshal(map[string]any{"id": id, "method": method, "params": params})
	b.conn.SetDeadline(time.Now().Add(time.Minute))
	if err := b.send(req); err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	for {
		m, err := b.recv()
		if err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		var r struct {
			ID     int
			Method string
			Result json.RawMessage
			Error  *struct{ Message string }
		}
		if json.Unmarshal(m, &r) != nil || r.ID != id {
			if r.Method != "" {
				b.events = append(b.events, r.Method)
			}
			continue // an event
		}
		if r.Error != nil {
			t.Fatalf("%s: %s", method, r.Error.Message)
		}
		return r.Result
	}
}

// evalString evaluates a JavaScript expression in the page (awaiting a
// promise) and returns its value as a string.
func (b *browser) evalString(t *testing.T, expr string) string {
	t.Helper()
	res := b.call(t, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true})
	var r struct {
		Result struct {
			Type  string
			Value any
		}
		ExceptionDetails *struct{ Text string }
	}
	json.Unmarshal(res, &r)
	if r.ExceptionDetails != nil {
		t.Fatalf("evaluate %s: %s", expr, r.ExceptionDetails.Text)
	}
	switch v := r.Result.Value.(type) {
	case string:
		return v
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}

// waitFor polls a JavaScript condition until it is true, failing with the
// page's state after timeout.
func (b *browser) waitFor(t *testing.T, cond string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if b.evalString(t, "(() => { try { return String(!!("+cond+")); } catch (e) { return String(e); } })()") == "true" {
			return
		}
		if time.Now().After(deadline) {
			state := b.evalString(t, `JSON.stringify({body: document.body.dataset.state, model: document.getElementById("model").textContent,
				output: Object.assign({}, (document.getElementById("output") || {}).dataset), status: (document.getElementById("status") || {}).textContent,
				gen: (document.getElementById("status-gen") || {}).textContent})`)
			t.Fatalf("page: %s not true after %v; page state %s", cond, timeout, state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type rect struct{ X, Y, Width, Height float64 }

func (b *browser) rectOf(t *testing.T, elem string) rect {
	t.Helper()
	var r rect
	js := b.evalString(t, `JSON.stringify((`+elem+`).getBoundingClientRect())`)
	if err := json.Unmarshal([]byte(js), &r); err != nil || r.Width == 0 {
		t.Fatalf("%s: bounding box %s", elem, js)
	}
	return r
}

func (b *browser) rect(t *testing.T, id string) rect {
	return b.rectOf(t, fmt.Sprintf("document.getElementById(%q)", id))
}

// mouse dispatches a mouse event through the browser's input pipeline
// (the page sees pointerdown / pointermove / pointerup).
func (b *browser) mouse(t *testing.T, typ string, x, y float64, buttons int) {
	t.Helper()
	b.call(t, "Input.dispatchMouseEvent", map[string]any{"type": typ, "x": x, "y": y, "button": "left", "buttons": buttons, "clickCount": 1})
}

// screenshot saves the page as PNG under $SERVE_SCREENSHOTS when set
// (to look at it), else in the test's temporary folder.
func (b *browser) screenshot(t *testing.T, name string) {
	t.Helper()
	res := b.call(t, "Page.captureScreenshot", map[string]any{"format": "png"})
	var r struct{ Data string }
	json.Unmarshal(res, &r)
	png, err := base64.StdEncoding.DecodeString(r.Data)
	if err != nil || len(png) == 0 {
		t.Errorf("screenshot: %v", err)
		return
	}
	dir := os.Getenv("SERVE_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	os.WriteFile(filepath.Join(dir, name), png, 0o644)
}

// key presses and releases a key through the browser's input pipeline, as
// a keyboard does: "Tab", " " (the space bar), "Enter" or a letter, with
// modifiers held (DevTools' bits: 1 Alt, 2 Ctrl, 4 Meta, 8 Shift).
func (b *browser) key(t *testing.T, key string, modifiers int) {
	t.Helper()
	code, vk, text := key, 0, ""
	switch key {
	case "Tab":
		vk = 9
	case "Enter":
		vk, text = 13, "\r"
	case " ":
		code, vk, text = "Space", 32, " "
	default:
		code, vk, text = "Key"+strings.ToUpper(key), int(strings.ToUpper(key)[0]), key
	}
	if modifiers&(1|2|4) != 0 {
		text = "" // a shortcut types nothing
	}
	b.call(t, "Input.dispatchKeyEvent", map[string]any{"type": "keyDown", "key": key, "code": code, "windowsVirtualKeyCode": vk, "text": text, "modifiers": modifiers})
	b.call(t, "Input.dispatchKeyEvent", map[string]any{"type": "keyUp", "key": key, "code": code, "windowsVirtualKeyCode": vk, "modifiers": modifiers})
}

// phoneWidth is the width in CSS pixels of the phone the pages are tried
// on (a common one's).
const phoneWidth = 390

// openAsPhone loads page (a URL) as a phone phoneWidth CSS pixels wide lays
// it out: a mobile viewport, where a page without a viewport meta tag is
// laid out 980 pixels wide and shrunk to the screen, and one wider than
// the screen widens the layout past it. It returns once the page has
// loaded and cond (JavaScript) is true.
func (b *browser) openAsPhone(t *testing.T, page, cond string) {
	t.Helper()
	b.call(t, "Emulation.setDeviceMetricsOverride", map[string]any{"width": phoneWidth, "height": 844, "deviceScaleFactor": 3, "mobile": true})
	b.call(t, "Page.navigate", map[string]any{"url": page})
	b.waitFor(t, fmt.Sprintf(`location.href === %q && document.readyState === "complete" && (%s)`, page, cond), time.Minute)
}

// fitsThePhone fails the test unless the page, opened with openAsPhone,
// is laid out at the phone's width and nothing on it is wider (the reader
// would scroll the whole page sideways, or see it shrunk).
func (b *browser) fitsThePhone(t *testing.T, what string) {
	t.Helper()
	var m struct{ Inner, Scroll int }
	js := b.evalString(t, `JSON.stringify({inner: innerWidth, scroll: document.documentElement.scrollWidth})`)
	if err := json.Unmarshal([]byte(js), &m); err != nil {
		t.Fatalf("%s: %s: %v", what, js, err)
	}
	if m.Inner != phoneWidth || m.Scroll > phoneWidth {
		wide := b.evalString(t, fmt.Sprintf(`Array.from(document.querySelectorAll("body *")).filter((e) => e.getBoundingClientRect().right > %d)
			.map((e) => e.tagName + (e.id ? "#" + e.id : "") + " " + Math.round(e.getBoundingClientRect().right)).slice(0, 8).join(", ")`, phoneWidth))
		t.Errorf("%s on a phone %d pixels wide: laid out %d wide, %d with its contents (want both %d); past the screen's edge: %s",
			what, phoneWidth, m.Inner, m.Scroll, phoneWidth, wide)
	}
}

// TestServeSizesAsTranslate: serve's canvas is the side translate gives a
// square input, for a scale_width run the training width (load_size), not
// the crop, whose images the generator never saw alone.
func TestServeSizesAsTranslate(t *testing.T) {
	base := t.TempDir()
	for _, c := range []struct {
		sets []string
		side int
	}{
		{[]string{"data.preprocess=scale_width", "data.load_size=40", "data.crop_size=32"}, 40},
		{[]string{"data.preprocess=resize_and_crop", "data.load_size=40", "data.crop_size=32"}, 32},
	} {
		run := filepath.Join(base, c.sets[0][len("data.preprocess="):])
		mustTrain(t, smallPix2Pix(run, append([]string{"train.max_steps=1", "data.max_samples=16"}, c.sets...)...)...)
		m, err := serve.OpenModel(run, "", true)
		if err != nil {
			t.Fatal(err)
		}
		in, outDir := filepath.Join(run, "in"), filepath.Join(run, "translated")
		os.MkdirAll(in, 0o755)
		os.WriteFile(filepath.Join(in, "d.png"), encodePNG(t, edgeDrawing(m.Size, m.Size, 1)), 0o644)
		if out, err := gogan(t, "translate", "--checkpoint", run, "--input", in, "--out", outDir, "--device", "cpu", "--eval"); err != nil {
			t.Fatalf("translate: %v\n%s", err, out)
		}
		b, _ := os.ReadFile(filepath.Join(outDir, "d.png"))
		if got := decodePNG(t, b).Bounds().Size(); m.Size != c.side || got != (image.Point{c.side, c.side}) {
			t.Errorf("%v: serve's side %d, translate's output of a square %v; want both %d", c.sets, m.Size, got, c.side)
		}
	}
}

// TestServeDCGANRefusesDrawingFlags: --input, --palette and --data-root
// set up the drawing page of an image-to-image generator; given for a
// DCGAN, whose page shows samples, they are refused naming the flag (as
// --direction is), where serve ignored them whatever their values (--input
// bogus, a nonexistent --data-root) and served.
func TestServeDCGANRefusesDrawingFlags(t *testing.T) {
	run := filepath.Join(t.TempDir(), "run")
	mustTrain(t, smallDCGAN(run, "train.max_steps=1")...)
	for _, flag := range [][2]string{{"--input", "sketch"}, {"--input", "bogus"}, {"--palette", "#ff0000,#00ff00"}, {"--data-root", filepath.Join(run, "none")}} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // served: it would not stop
		out, err := exec.CommandContext(ctx, goganBin, "serve", "--addr", "127.0.0.1:0", "--device", "cpu", "--threads", "2", "--checkpoint", run, flag[0], flag[1]).CombinedOutput()
		timedOut := ctx.Err() != nil
		cancel()
		want := "is a dcgan run: its page shows samples drawn from noise, with no canvas to draw on, so " + flag[0] + " " + flag[1] + " means nothing to it"
		if err == nil || timedOut || !strings.HasPrefix(string(out), "gogan: ") || !strings.Contains(string(out), want) {
			t.Errorf("serve %s %s of a DCGAN: %v (timed out: %v), want a refusal saying %q\n%s", flag[0], flag[1], err, timedOut, want, out)
		}
	}
	s := startServe(t, "--checkpoint", run, "--input", "auto") // the default, said
	if err := s.stop(t, syscall.SIGINT); err != nil {
		t.Errorf("exit after SIGINT: %v", err)
	}
}

// TestServeRefusesHDInputsItNames: a pix2pixHD run whose generator takes
// more than an image is refused by serve naming what this run's takes (label
// maps alone for data.no_instance; the instance boundaries only where it
// has them), not always label maps and instance boundaries.
func TestServeRefusesHDInputsItNames(t *testing.T) {
	root := t.TempDir()
	writeHDData(t, root, 1, 32, 32)
	for _, c := range []struct {
		sets      []string
		want, not string
	}{
		{[]string{"data.no_instance=true"}, "takes label maps (data.label_nc 4);", "instance boundaries"},
		{nil, "takes label maps (data.label_nc 4) and instance boundaries (data.no_instance false);", "features"},
	} {
		run := filepath.Join(t.TempDir(), "run")
		args := smallHD(root, "", run, append([]string{"train.max_steps=1", "train.no_vgg_loss=true", "model.netG=global", "train.niter_fix_global=0", "data.workers=1"}, c.sets...)...)
		if o, err := gogan(t, append([]string{"train"}, args...)...); err != nil {
			t.Fatalf("train: %v\n%s", err, o)
		}
		o, err := gogan(t, "serve", "--checkpoint", run, "--addr", "127.0.0.1:0", "--device", "cpu")
		if err == nil || !strings.Contains(o, c.want) || strings.Contains(o, c.not) {
			t.Errorf("%v: want a refusal saying %q (and not %q), got %v\n%s", c.sets, c.want, c.not, err, o)
		}
	}
}
