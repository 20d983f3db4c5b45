// Package serve is gogan serve: an HTTP server with one web page that runs a
// checkpoint's generator as the user draws. For image-to-image models
// (pix2pix, CycleGAN) the page has a drawing canvas suited to the model's
// input (pen and eraser for sketches, a palette of label colours for label
// maps, upload for photos) and shows the output beside it; for DCGAN a grid
// of samples and latent interpolation. The same server answers a small API:
// POST /translate, GET /sample, GET /interpolate, GET /info, GET /healthz.
//
// Inference runs on one goroutine per device, locked to its OS thread (as
// libtorch wants), which takes requests from a queue and puts those that are
// waiting together into one forward pass.
package serve

import (
	"bytes"
	"cmp"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"math/rand/v2"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"gogan/data"
	"gogan/infer"
	"gogan/report"
	"gogan/runfolder"
)

//go:embed static
var static embed.FS

// Options configure a server.
type Options struct {
	Checkpoint string // checkpoint folder or run folder
	Direction  string // CycleGAN: AtoB (G_A) or BtoA (G_B); "" = the recipe's first
	Eval       bool   // eval mode (translate's --eval); DCGAN always runs in eval mode
	Device     string // auto, cpu, cuda:N
	Threads    int    // libtorch CPU threads; 0 = all cores
	// DataRoot overrides the config's data.root for the palette and the
	// examples ("" = the config's).
	DataRoot string
	// Palette overrides the colours found in the data: #rrggbb,...
	Palette string
	// Input overrides the kind of input the page offers: auto, labels,
	// sketch or image.
	Input     string
	MaxUpload int64 // bytes of one upload
	MaxPixels int64 // pixels of one decoded upload
	MaxBatch  int   // items in one forward pass
	Queue     int   // requests waiting for the device before 503
	// MinUploadRate is the pace in bytes per second an upload must keep on
	// average after its first 10 seconds (408 below it): 0 = the default,
	// below 0 = none (the server's 5-minute read timeout still holds).
	MinUploadRate int64
	// MaxConns is how many connections the server holds at once; past
	// it, new ones wait in the kernel's backlog until one closes.
	MaxConns int
	Logger   *slog.Logger
	// stopHint ends the line logged on stopping (Main: what a second
	// signal does).
	stopHint string
}

// Defaults for the limits.
const (
	DefaultMaxUpload = 10 << 20
	DefaultMaxPixels = 4096 * 4096
	DefaultMaxBatch  = 8
	DefaultQueue     = 64
	// DefaultMinUploadRate lets a 1 MB photo take 40 s: a trickling client
	// does not hold an upload place for minutes.
	DefaultMinUploadRate = 32 << 10
	// DefaultMaxConns bounds the connections (each a goroutine, buffers and
	// a file descriptor): far more than the uploads and the queue hold.
	DefaultMaxConns  = 1024
	maxSamplesPerGet = 64
	maxInterpSteps   = 16
)

// Server serves one generator.
type Server struct {
	opts    Options
	model   *Model
	inputs  *Inputs // translate only
	device  string
	w       *worker
	log     *slog.Logger
	decode  chan struct{} // bounds concurrent decodes
	uploads chan struct{} // bounds the uploads held in memory at once
	conns   chan struct{} // bounds the connections held at once (Serve)
	open    atomic.Int64  // connections held (conns counts Accept's place too)
	handler http.Handler
	// the pace uploads must keep (uploadGrace, Options.MinUploadRate; 0 =
	// none; tests shorten them)
	uploadGrace time.Duration
	uploadRate  float64
	active      atomic.Int64 // requests in progress, for the line logged on stopping
	// writeWait is how long a client has to take an answer (answerWait;
	// tests shorten it)
	writeWait time.Duration
}

// New opens the checkpoint, reads the training data's colours (falling back
// to defaults, with the reason, when it cannot) and starts the device
// goroutine with the generator loaded.
func New(ctx context.Context, o Options) (*Server, error) {
	_, serr := os.Stat(filepath.Join(o.Checkpoint, runfolder.StateFile))
	runFolder := serr != nil // not a checkpoint folder itself
	for tries := 1; ; tries++ {
		s, err := newFromCheckpoint(ctx, o)
		// A run still training prunes the checkpoint just opened: given the
		// run folder, serve the newest one instead.
		if errors.Is(err, runfolder.ErrRemoved) && tries < 3 && runFolder {
			cmp.Or(o.Logger, slog.Default()).Warn("gogan serve: the checkpoint was removed while it was read (the run is training); opening the newest", "run", o.Checkpoint)
			continue
		}
		return s, err
	}
}

// openedHook, when set (tests), runs after the model is opened, before
// the rest is read.
var openedHook func(*Model)

func newFromCheckpoint(ctx context.Context, o Options) (*Server, error) {
	m, err := OpenModel(o.Checkpoint, o.Direction, o.Eval)
	if err == nil && openedHook != nil {
		openedHook(m)
	}
	if err != nil {
		return nil, err
	}
	var in *Inputs
	if m.Kind == KindTranslate {
		if in, err = inputsFor(ctx, m, o); err != nil {
			return nil, err
		}
	} else if err := noDrawingFlags(m, o); err != nil {
		return nil, err
	}
	var device string
	newEngine := func() (engine, error) {
		e, err := newTorchEngine(m, o.Device, o.Threads)
		if err == nil {
			device = e.(*torchEngine).Device().String()
		}
		return e, err
	}
	return newServer(m, in, newEngine, func() string { return device }, o)
}

// inputsFor finds what the page offers for drawing: the training data's
// colours, overridden by --palette and --input.
func inputsFor(ctx context.Context, m *Model, o Options) (*Inputs, error) {
	in, err := ReadInputs(ctx, m, o.DataRoot)
	if err != nil && o.DataRoot != "" {
		// given on purpose: not read is an error (the run's own
		// data.root, gone since, falls back to the defaults below)
		return nil, fmt.Errorf("--data-root %s: %w", o.DataRoot, err)
	}
	if err != nil {
		in = defaultInputs(m, err)
	}
	if o.Palette != "" {
		cs, err := ParsePalette(o.Palette)
		if err != nil {
			return nil, fmt.Errorf("--palette: %w", err)
		}
		in.Colours, in.Source = cs, "given by --palette"
		in.Background, in.Pen = cs[0], farthest(cs, cs[0])
		if len(cs) > 1 {
			in.Pen = cs[1]
		}
	}
	switch o.Input {
	case "", "auto":
	case InputLabels, InputSketch, InputImage:
		in.Kind = o.Input
	default:
		return nil, fmt.Errorf("--input %q: want auto, labels, sketch or image", o.Input)
	}
	if len(in.Colours) == 0 { // a photo set with no dominant colours
		in.Colours = []Colour{{}, {R: 255, G: 255, B: 255}}
		in.Background, in.Pen = in.Colours[1], in.Colours[0]
	}
	return in, nil
}

// noDrawingFlags refuses the flags of the drawing page given for a
// generator that draws from noise: its page shows samples, so --input,
// --palette and --data-root would be ignored, whatever their values.
func noDrawingFlags(m *Model, o Options) error {
	for _, f := range []struct{ flag, v string }{{"--input", o.Input}, {"--palette", o.Palette}, {"--data-root", o.DataRoot}} {
		if f.v != "" && !(f.flag == "--input" && f.v == "auto") {
			return fmt.Errorf("checkpoint %s is a %s run: its page shows samples drawn from noise, with no canvas to draw on, so %s %s means nothing to it; leave it out",
				m.Checkpoint.Dir, m.Recipe, f.flag, f.v)
		}
	}
	return nil
}

func newServer(m *Model, in *Inputs, newEngine func() (engine, error), device func() string, o Options) (*Server, error) {
	if o.MaxUpload <= 0 {
		o.MaxUpload = DefaultMaxUpload
	}
	if o.MaxPixels <= 0 {
		o.MaxPixels = DefaultMaxPixels
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = DefaultMaxBatch
	}
	if o.Queue <= 0 {
		o.Queue = DefaultQueue
	}
	if o.MinUploadRate == 0 {
		o.MinUploadRate = DefaultMinUploadRate
	}
	if o.MaxConns <= 0 {
		o.MaxConns = DefaultMaxConns
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	w, err := startWorker(newEngine, o.Queue, o.MaxBatch, m.Batchable())
	if err != nil {
		return nil, err
	}
	s := &Server{opts: o, model: m, inputs: in, device: device(), w: w, log: o.Logger,
		decode: make(chan struct{}, runtime.GOMAXPROCS(0)), uploads: make(chan struct{}, o.Queue+o.MaxBatch+2*runtime.GOMAXPROCS(0)),
		conns:       make(chan struct{}, o.MaxConns),
		uploadGrace: uploadGrace, uploadRate: float64(max(0, o.MinUploadRate)), writeWait: answerWait}
	s.handler = s.routes()
	return s, nil
}

// Handler is the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Close waits for the queued requests and frees the generator.
func (s *Server) Close() { s.w.stop() }

// Serve answers on ln until ctx is done, then stops accepting connections
// and waits (up to 30 s) for the requests in progress to finish. It holds
// at most Options.MaxConns connections at once.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	ln = &limitListener{Listener: ln, slots: s.conns, open: &s.open, done: make(chan struct{})}
	hs := &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 5 * time.Minute, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	if n := s.active.Load(); n > 0 {
		s.log.Info(fmt.Sprintf("gogan serve: stopping: no new connections; finishing %s in progress (up to %v%s)",
			data.Count(int(n), "request"), shutdownWait, s.opts.stopHint))
	} else {
		s.log.Info("gogan serve: stopping: no requests in progress")
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownWait)
	defer cancel()
	err := hs.Shutdown(sctx)
	<-errc
	if errors.Is(err, context.DeadlineExceeded) {
		hs.Close()
		return fmt.Errorf("stopped after waiting %v for the requests in progress; those still running were cut off (their clients get no answer)", shutdownWait)
	}
	return err
}

// limitListener accepts a connection only while fewer than cap(slots) are
// open: past that, Accept waits for one to close, and new connections wait
// in the kernel's backlog (each held one is a goroutine, buffers and a file
// descriptor: idle or trickling clients by the thousand would otherwise
// take the process's descriptors, and then every client's connection).
type limitListener struct {
	net.Listener
	slots chan struct{}
	// open counts the connections held (nil: not counted): slots cannot,
	// as Accept takes a place before a connection comes, and holds it
	// while it waits (/healthz counted one more than held below the cap)
	open *atomic.Int64
	done chan struct{}
	once sync.Once
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	if l.open != nil {
		l.open.Add(1)
	}
	return &limitConn{Conn: c, slots: l.slots, open: l.open}, nil
}

func (l *limitListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// limitConn gives its slot back when it is closed (once).
type limitConn struct {
	net.Conn
	slots chan struct{}
	open  *atomic.Int64
	once  sync.Once
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		if c.open != nil {
			c.open.Add(-1)
		}
		<-c.slots
	})
	return err
}

// CloseWrite half-closes the connection where it can: net/http sends its
// FIN so, before it closes a connection whose request body it left unread,
// for the client to read the answer as an answer and not meet a reset
// (golang.org/issue/3595); a wrapper that hid it lost that.
func (c *limitConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

// answerWait is how long a client has to take an answer once it is ready,
// besides the answer's bytes at the upload floor's pace: one that never
// reads (a hung script, a frozen tab) does not hold its handler, or a
// stopping server, for ever.
const answerWait = time.Minute

// shutdownWait is how long a stopping server lets requests in progress finish.
const shutdownWait = 30 * time.Second

// Describe is one line saying what is served, for the log.
func (s *Server) Describe() string {
	m := s.model
	mode := "train mode"
	if m.Eval {
		mode = "eval mode"
	}
	if m.Kind == KindGenerate {
		classes := ""
		if m.Gen.Classes > 0 {
			classes = fmt.Sprintf(", %d classes", m.Gen.Classes)
		}
		return fmt.Sprintf("%s generator %s (%s, nz %d%s, %dx%d, %s) of %s on %s", m.Recipe, m.Role, m.NetG, m.NZ(), classes, m.Size, m.Size, mode, m.Checkpoint.Dir, s.device)
	}
	in := s.inputs
	return fmt.Sprintf("%s %s generator %s (%s, %dx%d, %d->%d channels, %s) of %s on %s; input: %s, %d colours %s",
		m.Recipe, m.Direction, m.Role, m.NetG, m.Size, m.Size, m.InputNC, m.OutputNC, mode, m.Checkpoint.Dir, s.device,
		in.Kind, len(in.Colours), in.Source)
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	page, _ := fs.Sub(static, "static")
	files := http.FileServerFS(page)
	mux.Handle("/static/", only("GET", http.StripPrefix("/static/", files)))
	mux.Handle("/{$}", only("GET", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := fs.ReadFile(page, "index.html")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(b)
	})))
	answers := "POST /translate, GET /example"
	if s.model.Kind == KindGenerate {
		answers = "GET /sample, GET /interpolate"
	}
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpErr(w, errorf(http.StatusNotFound, "%s %s: no such page; this server answers GET / (the page), %s, GET /info and GET /healthz", r.Method, r.URL.Path, answers))
	}))
	mux.Handle("/healthz", only("GET", http.HandlerFunc(s.healthz)))
	mux.Handle("/info", only("GET", http.HandlerFunc(s.info)))
	if s.model.Kind == KindTranslate {
		mux.Handle("/translate", only("POST", http.HandlerFunc(s.translate)))
		mux.Handle("/example", only("GET", http.HandlerFunc(s.example)))
		mux.Handle("/sample", s.wrongKind("GET /sample and GET /interpolate draw from noise"))
		mux.Handle("/interpolate", s.wrongKind("GET /sample and GET /interpolate draw from noise"))
	} else {
		mux.Handle("/sample", only("GET", http.HandlerFunc(s.sample)))
		mux.Handle("/interpolate", only("GET", http.HandlerFunc(s.interpolate)))
		mux.Handle("/translate", s.wrongKind("POST /translate translates images"))
		mux.Handle("/example", s.wrongKind("GET /example shows a training input"))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.active.Add(1)
		defer s.active.Add(-1)
		if r.ContentLength != 0 && !(r.Method == "POST" && r.URL.Path == "/translate" && s.model.Kind == KindTranslate) {
			leaveUnread(w, s.uploadGrace) // a body that no other route reads
		}
		mux.ServeHTTP(w, r)
	})
}

// only answers 405, naming the allowed method, to any other method (HEAD
// goes with GET).
func only(method string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method && !(method == "GET" && r.Method == "HEAD") {
			allow := method
			if method == "GET" {
				allow = "GET, HEAD"
			}
			w.Header().Set("Allow", allow)
			httpErr(w, errorf(http.StatusMethodNotAllowed, "%s %s: method not allowed; use %s", r.Method, r.URL.Path, method))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// wrongKind answers 404 to an endpoint that the other kind of model has.
func (s *Server) wrongKind(what string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind, use := "image to image", "POST /translate"
		if s.model.Kind == KindGenerate {
			kind, use = "noise to image", "GET /sample and GET /interpolate"
		}
		httpErr(w, errorf(http.StatusNotFound, "%s: this server runs a %s generator (%s), and %s; it answers %s", r.URL.Path, s.model.Recipe, kind, what, use))
	})
}

func httpErr(w http.ResponseWriter, err error) {
	var he *httpError
	if !errors.As(err, &he) {
		he = &httpError{code: http.StatusInternalServerError, msg: err.Error()}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if he.code == http.StatusServiceUnavailable {
		// busy (the queue or the uploads are full) or stopping: clients
		// and proxies that retry wait this long first instead of at once
		w.Header().Set("Retry-After", "1")
	}
	w.WriteHeader(he.code)
	fmt.Fprintln(w, "gogan serve:", he.msg)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, map[string]any{"status": "ok", "recipe": s.model.Recipe, "kind": s.model.Kind, "device": s.device, "queued": s.w.queued(),
		"uploads": len(s.uploads), "connections": s.open.Load()})
}

// PaletteEntry is one colour of the page's palette.
type PaletteEntry struct {
	Hex   string  `json:"hex"`
	Share float64 `json:"share"` // of the training inputs' pixels; 0 when given
}

// Info is what GET /info answers: the model and what the page offers.
type Info struct {
	Recipe         string         `json:"recipe"`
	Kind           string         `json:"kind"`
	Checkpoint     string         `json:"checkpoint"`
	Step           int            `json:"step"`
	Direction      string         `json:"direction,omitempty"`
	NetG           string         `json:"netG"`
	Norm           string         `json:"norm"`
	Size           int            `json:"size"`
	InputNC        int            `json:"input_nc,omitempty"`
	OutputNC       int            `json:"output_nc"`
	NZ             int            `json:"nz,omitempty"`
	Classes        int            `json:"classes,omitempty"`     // a class-conditional generator's
	ClassNames     []string       `json:"class_names,omitempty"` // and their names, where its dataset has them
	Mode           string         `json:"mode"`
	Device         string         `json:"device"`
	Batching       bool           `json:"batching"`
	MaxBatch       int            `json:"max_batch"`
	MaxUploadBytes int64          `json:"max_upload_bytes"`
	MaxPixels      int64          `json:"max_pixels"`
	Input          string         `json:"input,omitempty"`
	Palette        []PaletteEntry `json:"palette,omitempty"`
	Background     string         `json:"background,omitempty"`
	Pen            string         `json:"pen,omitempty"`
	PaletteSource  string         `json:"palette_source,omitempty"`
	Examples       int            `json:"examples"`
}

// Info describes the server.
func (s *Server) Info() Info {
	m := s.model
	in := Info{Recipe: m.Recipe, Kind: m.Kind, Checkpoint: m.Checkpoint.Dir, Step: m.Checkpoint.Step, Direction: m.Direction,
		NetG: m.NetG, Norm: m.Norm, Size: m.Size, OutputNC: m.OutputNC, Mode: "train", Device: s.device,
		Batching: m.Batchable(), MaxBatch: s.opts.MaxBatch, MaxUploadBytes: s.opts.MaxUpload, MaxPixels: s.opts.MaxPixels}
	if m.Eval {
		in.Mode = "eval"
	}
	if m.Kind == KindGenerate {
		in.NZ, in.Classes, in.ClassNames = m.NZ(), m.Gen.Classes, m.Gen.Names
		return in
	}
	in.InputNC = m.InputNC
	p := s.inputs
	in.Input, in.PaletteSource, in.Examples = p.Kind, p.Source, len(p.Examples)
	in.Background, in.Pen = p.Background.Hex(), p.Pen.Hex()
	for _, c := range p.Colours {
		in.Palette = append(in.Palette, PaletteEntry{Hex: c.Hex(), Share: math.Round(c.Share*1e4) / 1e4})
	}
	return in
}

func (s *Server) info(w http.ResponseWriter, r *http.Request) { writeJSON(w, s.Info()) }

// timing collects a request's phases for the log and Server-Timing.
type timing struct {
	start                         time.Time
	decode, queue, infer, encode  time.Duration
	batch                         int
	inW, inH                      int
	outW, outH, bytesIn, bytesOut int
}

func ms(d time.Duration) float64 { return math.Round(float64(d.Microseconds())/10) / 100 }

func (t *timing) header(w http.ResponseWriter) {
	w.Header().Set("Server-Timing", fmt.Sprintf("decode;dur=%g, queue;dur=%g, infer;dur=%g, encode;dur=%g, total;dur=%g",
		ms(t.decode), ms(t.queue), ms(t.infer), ms(t.encode), ms(time.Since(t.start))))
	w.Header().Set("X-Gogan-Batch", strconv.Itoa(t.batch))
}

// logRequest writes one line per request: status and latency by phase.
func (s *Server) logRequest(r *http.Request, t *timing, status int, err error) {
	attrs := []any{"status", status, "total_ms", ms(time.Since(t.start))}
	if t.inW > 0 {
		attrs = append(attrs, "in", fmt.Sprintf("%dx%d", t.inW, t.inH), "bytes_in", t.bytesIn)
	}
	if t.batch > 0 {
		attrs = append(attrs, "decode_ms", ms(t.decode), "queue_ms", ms(t.queue), "infer_ms", ms(t.infer),
			"encode_ms", ms(t.encode), "batch", t.batch, "out", fmt.Sprintf("%dx%d", t.outW, t.outH))
	}
	if err != nil {
		attrs = append(attrs, "error", err.Error())
		s.log.Warn(r.Method+" "+r.URL.Path, attrs...)
		return
	}
	s.log.Info(r.Method+" "+r.URL.Path, attrs...)
}

// fail answers an error and logs the request.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, t *timing, err error) {
	code := http.StatusInternalServerError
	var he *httpError
	if errors.As(err, &he) {
		code = he.code
	}
	httpErr(w, err)
	s.logRequest(r, t, code, err)
}

// run submits a job and waits for its result.
func (s *Server) run(r *http.Request, t *timing, j *job) ([]*image.NRGBA, error) {
	j.ctx = r.Context()
	if err := s.w.submit(j); errors.Is(err, errBusy) {
		return nil, errorf(http.StatusServiceUnavailable, "busy: %d requests are waiting for the generator (--queue %d); try again", s.w.queued(), s.opts.Queue)
	} else if err != nil {
		return nil, errorf(http.StatusServiceUnavailable, "%v", err)
	}
	select {
	case res := <-j.reply:
		t.queue, t.infer, t.batch = res.queue, res.infer, res.batch
		if res.err != nil {
			if r.Context().Err() != nil {
				return nil, errorf(499, "client went away")
			}
			return nil, fmt.Errorf("generator: %w", res.err)
		}
		return res.out, nil
	case <-r.Context().Done():
		return nil, errorf(499, "client went away")
	}
}

// writePNG answers with a PNG image.
func (s *Server) writePNG(w http.ResponseWriter, r *http.Request, t *timing, img image.Image) {
	t0 := time.Now()
	var buf bytes.Buffer
	if err := report.EncodePNG(img)(&buf); err != nil {
		s.fail(w, r, t, err)
		return
	}
	t.encode = time.Since(t0)
	b := img.Bounds()
	t.outW, t.outH, t.bytesOut = b.Dx(), b.Dy(), buf.Len()
	t.header(w)
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	// On top of writeWait, the answer's own time at the slowest pace an
	// upload may keep: a large answer over a slow link is not cut off.
	pace := s.uploadRate
	if pace <= 0 {
		pace = DefaultMinUploadRate
	}
	wait := (s.writeWait + time.Duration(float64(buf.Len())/pace*float64(time.Second))).Round(time.Millisecond)
	http.NewResponseController(w).SetWriteDeadline(time.Now().Add(wait))
	if _, err := w.Write(buf.Bytes()); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			err = fmt.Errorf("the client did not take the answer within %v: %w", wait, err)
		} else {
			err = fmt.Errorf("the client went away while the answer was sent: %w", err)
		}
		s.logRequest(r, t, http.StatusOK, err)
		return
	}
	s.logRequest(r, t, http.StatusOK, nil)
}

// translate: POST /translate, an image in (PNG or JPEG; the body or a
// multipart form file), the generator's output out as PNG. The input is
// converted to the model's channels and resized to its size as gogan
// translate does.
func (s *Server) translate(w http.ResponseWriter, r *http.Request) {
	t := &timing{start: time.Now()}
	// Bodies are read whole before they queue: bound how many are held
	// at once (each up to --max-upload), or open connections bound nothing.
	select {
	case s.uploads <- struct{}{}:
	default:
		dropUpload(w, r, s.opts.MaxUpload, s.uploadGrace, s.uploadRate)
		s.fail(w, r, t, errorf(http.StatusServiceUnavailable, "busy: %d uploads are in progress (--queue %d plus the decoders); try again", cap(s.uploads), s.opts.Queue))
		return
	}
	b, err := readUpload(w, r, s.opts.MaxUpload, s.uploadGrace, s.uploadRate)
	if err != nil {
		<-s.uploads
		s.fail(w, r, t, err)
		return
	}
	t.bytesIn = len(b)
	im, err := s.decodeInput(r, b, t)
	<-s.uploads // the body is decoded: the queue bounds the rest
	t.decode = time.Since(t.start)
	if err != nil {
		s.fail(w, r, t, formHint(r, b, err))
		return
	}
	out, err := s.run(r, t, &job{ims: []*data.Image{im}})
	if err != nil {
		s.fail(w, r, t, err)
		return
	}
	s.writePNG(w, r, t, out[0])
}

// formHint adds to a body that is not an image, sent as a urlencoded form,
// what most likely sent it so: curl -d @file, which also drops the file's
// newlines. A body that still holds a newline was not sent so (curl
// --data-binary without -H sends that Content-Type too, and a PNG's
// signature holds one): its own error is the answer.
func formHint(r *http.Request, body []byte, err error) error {
	var he *httpError
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" || !errors.As(err, &he) || he.code != http.StatusBadRequest ||
		bytes.IndexByte(body, '\n') >= 0 {
		return err
	}
	return errorf(he.code, "%s; sent as application/x-www-form-urlencoded (curl -d, which drops a file's newlines): send the file as it is with curl --data-binary @drawing.png",
		strings.TrimSuffix(he.msg, "; send a PNG or JPEG"))
}

// decodeInput decodes an upload and fits it to the model in one of the
// decode slots, which it gives back however that ends: a slot lost to a
// panic would leave every later request waiting.
func (s *Server) decodeInput(r *http.Request, b []byte, t *timing) (im *data.Image, err error) {
	select {
	case s.decode <- struct{}{}:
	case <-r.Context().Done():
		return nil, errorf(499, "client went away")
	}
	defer func() { <-s.decode }()
	defer func() {
		if p := recover(); p != nil {
			size := "" // known once decoded
			if t.inW > 0 {
				size = fmt.Sprintf(" (%dx%d)", t.inW, t.inH)
			}
			slog.Error("decoding an upload panicked", "panic", fmt.Sprint(p), "size", size)
			im, err = nil, errorf(http.StatusInternalServerError, "the image%s could not be decoded and resized: %v", size, p)
		}
	}()
	if im, err = decodeUpload(b, s.model.InputNC, s.opts.MaxPixels); err != nil {
		return nil, err
	}
	t.inW, t.inH = im.W, im.H
	return fitInput(im, s.model.Size, s.model.InputNC), nil
}

// example: GET /example?i=N, training input N (mod the count) at the
// model's size, as the page's starting drawing.
func (s *Server) example(w http.ResponseWriter, r *http.Request) {
	t := &timing{start: time.Now()}
	ex := s.inputs.Examples
	if len(ex) == 0 {
		s.fail(w, r, t, errorf(http.StatusNotFound, "no training examples: %s", s.inputs.Source))
		return
	}
	i, err := intParam(r, "i", 0)
	if err != nil {
		s.fail(w, r, t, err)
		return
	}
	k := int(((i % int64(len(ex))) + int64(len(ex))) % int64(len(ex)))
	im := ex[k]
	s.writePNG(w, r, t, im.NRGBA())
}

// sample: GET /sample?seed=S[&n=K][&class=C], K samples (default 1) from
// the latents of seeds S, S+1, ...; one PNG (a grid of 8 per row for K > 1).
// A class-conditional generator draws each of class C, or of its seed's
// class (seed mod its classes) where C is not given.
func (s *Server) sample(w http.ResponseWriter, r *http.Request) {
	t := &timing{start: time.Now()}
	seed, err := intParam(r, "seed", 1)
	var n int64
	if err == nil {
		n, err = intParam(r, "n", 1)
	}
	if err == nil && (n < 1 || n > maxSamplesPerGet) {
		err = errorf(http.StatusBadRequest, "n=%d: want 1 to %d samples", n, maxSamplesPerGet)
	}
	var class int
	if err == nil {
		class, err = s.classParam(r)
	}
	if err != nil {
		s.fail(w, r, t, err)
		return
	}
	zs := make([]latent, n)
	for i := range zs {
		zs[i] = s.latent(seed+int64(i), class)
	}
	s.drawLatents(w, r, t, zs, 8)
}

// interpolate: GET /interpolate?a=S&b=T[&steps=N][&class=C], N images
// (default 8) along the great circle from seed S's latent to seed T's
// (spherical interpolation, which keeps the intermediate latents at the norm
// Gaussian latents have), as one row; a class-conditional generator's all
// of class C, or of seed S's class.
func (s *Server) interpolate(w http.ResponseWriter, r *http.Request) {
	t := &timing{start: time.Now()}
	a, err := intParam(r, "a", 1)
	var b, steps int64
	if err == nil {
		b, err = intParam(r, "b", 2)
	}
	if err == nil {
		steps, err = intParam(r, "steps", 8)
	}
	if err == nil && (steps < 2 || steps > maxInterpSteps) {
		err = errorf(http.StatusBadRequest, "steps=%d: want 2 to %d", steps, maxInterpSteps)
	}
	var class int
	if err == nil {
		class, err = s.classParam(r)
	}
	if err != nil {
		s.fail(w, r, t, err)
		return
	}
	za, zb := s.latent(a, class), s.latent(b, class)
	zs := make([]latent, steps)
	for i := range zs {
		zs[i] = latent{z: Slerp(za.z, zb.z, float64(i)/float64(steps-1)), class: za.class}
	}
	s.drawLatents(w, r, t, zs, int(steps))
}

// drawLatents runs the generator on the latents zs and answers with its
// images as one PNG, perRow to a row: how /sample and /interpolate both end
// once they have their latents.
func (s *Server) drawLatents(w http.ResponseWriter, r *http.Request, t *timing, zs []latent, perRow int) {
	out, err := s.run(r, t, &job{zs: zs})
	if err != nil {
		s.fail(w, r, t, err)
		return
	}
	s.writePNG(w, r, t, strip(out, perRow))
}

// param is the request's query parameter name; a query that does not parse
// (a bad %-escape, a ';' separator, too many parameters) is a 400: r.URL.Query
// drops what it cannot parse, and the defaults answered in its place (seed
// 1's samples for seed=%zz).
func param(r *http.Request, name string) (string, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return "", errorf(http.StatusBadRequest, "the query string does not parse: %v", err)
	}
	return q.Get(name), nil
}

func intParam(r *http.Request, name string, def int64) (int64, error) {
	v, err := param(r, name)
	if err != nil {
		return 0, err
	}
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, errorf(http.StatusBadRequest, "%s=%q: want an integer", name, v)
	}
	return n, nil
}

// latent is one image's draw: its latent vector and, for a generator that
// takes a class, its class.
type latent struct {
	z     []float32
	class int
}

// latent is seed's draw, of class where it is one (not infer.EachClass),
// else of seed's own class: seed mod the classes, so that a seed's sample is
// the same alone and in a grid.
func (s *Server) latent(seed int64, class int) latent {
	l := latent{z: Latent(seed, s.model.NZ()), class: class}
	if c := int64(s.model.Gen.Classes); c > 0 && class == infer.EachClass {
		l.class = int((seed%c + c) % c)
	}
	return l
}

// classParam is the request's class=C, or infer.EachClass where it has none.
func (s *Server) classParam(r *http.Request) (int, error) {
	v, err := param(r, "class")
	if err != nil {
		return 0, err
	}
	c, err := s.model.Gen.Class(v)
	if err != nil {
		return 0, errorf(http.StatusBadRequest, "class=%s: %v", v, err)
	}
	return c, nil
}

// Latent is seed's latent vector: n standard normal values from a PCG
// generator seeded with it, the same on every device and machine.
func Latent(seed int64, n int) []float32 {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x6f67616e)) // "gogan"
	z := make([]float32, n)
	for i := range z {
		z[i] = float32(rng.NormFloat64())
	}
	return z
}

// Slerp interpolates spherically from a (t = 0) to b (t = 1), linearly when
// they are (anti)parallel.
func Slerp(a, b []float32, t float64) []float32 {
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	out := make([]float32, len(a))
	cos := dot / math.Sqrt(na*nb)
	omega := math.Acos(min(max(cos, -1), 1))
	if so := math.Sin(omega); na == 0 || nb == 0 || so < 1e-6 {
		for i := range a {
			out[i] = float32((1-t)*float64(a[i]) + t*float64(b[i]))
		}
		return out
	}
	so := math.Sin(omega)
	wa, wb := math.Sin((1-t)*omega)/so, math.Sin(t*omega)/so
	for i := range a {
		out[i] = float32(wa*float64(a[i]) + wb*float64(b[i]))
	}
	return out
}

// strip lays images out in rows of perRow with 2 pixels of black between
// them (torchvision's make_grid padding); one image is returned as is.
func strip(ims []*image.NRGBA, perRow int) *image.NRGBA {
	if len(ims) == 1 {
		return ims[0]
	}
	const pad = 2
	cols := min(perRow, len(ims))
	rows := (len(ims) + cols - 1) / cols
	w, h := ims[0].Bounds().Dx(), ims[0].Bounds().Dy()
	out := image.NewNRGBA(image.Rect(0, 0, cols*(w+pad)+pad, rows*(h+pad)+pad))
	draw.Draw(out, out.Bounds(), image.Black, image.Point{}, draw.Src)
	for i, im := range ims {
		x, y := pad+(i%cols)*(w+pad), pad+(i/cols)*(h+pad)
		draw.Draw(out, image.Rect(x, y, x+w, y+h), im, im.Bounds().Min, draw.Src)
	}
	return out
}

// Main is gogan serve: Run until SIGINT or SIGTERM. A second signal quits at
// once.
func Main(addr string, o Options, stdout io.Writer) error {
	if err := o.checkFlags(); err != nil {
		return err
	}
	if o.MinUploadRate == 0 {
		o.MinUploadRate = -1 // the flag's 0: no floor
	}
	o.stopHint = "; a second signal quits at once"
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // the default action again for a second signal
	}()
	return Run(ctx, addr, o, stdout)
}

// checkFlags refuses the command line's limits that mean nothing (the
// library's zero values take the defaults).
func (o Options) checkFlags() error {
	var bad []string
	if o.Threads < 0 {
		bad = append(bad, fmt.Sprintf("--threads %d: want 0 (all cores) or more", o.Threads))
	}
	if o.MinUploadRate < 0 {
		bad = append(bad, fmt.Sprintf("--min-upload-rate %d: want bytes per second, or 0 for no floor", o.MinUploadRate))
	}
	for _, f := range []struct {
		name string
		v    int64
	}{{"--max-upload", o.MaxUpload}, {"--max-pixels", o.MaxPixels}, {"--max-batch", int64(o.MaxBatch)}, {"--queue", int64(o.Queue)}, {"--max-conns", int64(o.MaxConns)}} {
		if f.v < 1 {
			bad = append(bad, fmt.Sprintf("%s %d: want at least 1", f.name, f.v))
		}
	}
	if len(bad) > 0 {
		return errors.New(strings.Join(bad, "; "))
	}
	return nil
}

// listenError says what is wrong with --addr and what to do.
func listenError(addr string, err error) error {
	if _, _, serr := net.SplitHostPort(addr); serr != nil {
		return fmt.Errorf("--addr %s: want HOST:PORT (127.0.0.1:8080 for this machine only, :8080 for every interface): %w", addr, err)
	}
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return fmt.Errorf("--addr %s: the address is in use (another gogan serve, or another server, listens there): stop it, or give another port (--addr 127.0.0.1:0 picks a free one): %w", addr, err)
	case errors.Is(err, syscall.EACCES):
		return fmt.Errorf("--addr %s: not allowed to listen there (ports below 1024 need root or CAP_NET_BIND_SERVICE): give a port of 1024 or more: %w", addr, err)
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return fmt.Errorf("--addr %s: no interface of this machine has that address: give one of its own (127.0.0.1, or none for every interface): %w", addr, err)
	}
	return fmt.Errorf("--addr %s: cannot listen: %w", addr, err)
}

// opened is what New returned.
type opened struct {
	s   *Server
	err error
}

func (o opened) close() {
	if o.s != nil {
		o.s.Close()
	}
}

// Run is the whole of gogan serve: it opens the model, listens on addr,
// prints "serving on http://ADDR" on stdout, and serves until ctx is done
// (SIGINT or SIGTERM), then finishes the requests in progress and frees the
// generator. ctx done while the model loads returns at once, without
// serving.
func Run(ctx context.Context, addr string, o Options, stdout io.Writer) error {
	// Listen first, so that a bad or busy address fails before the model
	// loads; connections wait in the backlog until it has.
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return listenError(addr, err)
	}
	// The model loads while a signal is watched for: SIGINT or SIGTERM then
	// stops at once, without serving; a server opened after that is freed.
	loading := make(chan opened, 1)
	go func() {
		s, err := New(ctx, o)
		loading <- opened{s, err}
	}()
	var op opened
	select {
	case op = <-loading:
	case <-ctx.Done():
		go func() { (<-loading).close() }()
	}
	if ctx.Err() != nil {
		op.close()
		ln.Close()
		fmt.Fprintln(stdout, "stopped before serving")
		return nil
	}
	if op.err != nil {
		ln.Close()
		return op.err
	}
	s := op.s
	defer s.Close()
	s.log.Info("gogan serve: " + s.Describe())
	if in := s.inputs; in != nil && strings.HasPrefix(in.Source, "default") {
		s.log.Warn("gogan serve: " + in.Source + "; --data-root DIR reads another copy of it")
	}
	fmt.Fprintf(stdout, "serving on http://%s\n", ln.Addr())
	if f, ok := stdout.(interface{ Sync() error }); ok {
		f.Sync()
	}
	err = s.Serve(ctx, ln)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	if ctx.Err() != nil {
		fmt.Fprintln(stdout, "stopped")
	}
	return err
}
