package serve

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"strings"
	"time"

	"gogan/data"
)

// httpError is an error with the status code it answers with.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func errorf(code int, format string, args ...any) *httpError {
	return &httpError{code: code, msg: fmt.Sprintf(format, args...)}
}

// An upload must keep up a pace (Options.MinUploadRate) after this grace
// period: a client that stops sending, or trickles, does not hold one of the
// slots that bound the uploads in memory (the server's 5-minute read
// timeout would).
const uploadGrace = 10 * time.Second

// pacedBody reads a request body under a read deadline that moves with the
// bytes received: grace, then 1/rate seconds per byte (rate 0: no deadline
// of its own), and notes whether the body was read to its end.
type pacedBody struct {
	r        io.Reader
	rc       *http.ResponseController
	start    time.Time
	n        int64
	grace    time.Duration
	rate     float64
	timedOut bool
	eof      bool
}

func (p *pacedBody) Read(b []byte) (int, error) {
	if p.rate > 0 {
		p.rc.SetReadDeadline(p.start.Add(p.grace + time.Duration(float64(p.n)/p.rate*float64(time.Second))))
	}
	n, err := p.r.Read(b)
	p.n += int64(n)
	if err == io.EOF {
		p.eof = true
	}
	if err != nil && p.rate > 0 && errors.Is(err, os.ErrDeadlineExceeded) {
		p.timedOut = true
		return n, errorf(http.StatusRequestTimeout, "upload too slow: under %s/s on average after the first %s; send it again over a faster link", humanBytes(int64(p.rate)), p.grace)
	}
	return n, err
}

// leaveUnread bounds what net/http reads of a body that the handler does
// not read (a route that takes none, an upload refused before it is read):
// up to 256 KB of it before it answers, to keep the connection, under the
// request's read deadline. From now on, that is grace: a client trickling
// such a body does not hold its connection for the 5-minute read timeout.
func leaveUnread(w http.ResponseWriter, grace time.Duration) {
	http.NewResponseController(w).SetReadDeadline(time.Now().Add(grace))
}

// dropUpload reads an upload refused before it is read (the uploads are
// full) to its end, at the upload's pace and up to limit, and drops it:
// left on the wire, more than 256 KB of it made net/http close the
// connection at once, and a client that sends its whole body before it
// reads the answer (a script; curl asks first, with Expect: 100-continue)
// met a reset instead of the answer. One that asks first, or declares more
// than limit, is answered without it.
func dropUpload(w http.ResponseWriter, r *http.Request, limit int64, grace time.Duration, rate float64) {
	if r.ContentLength > limit || r.Header.Get("Expect") != "" {
		leaveUnread(w, grace)
		return
	}
	rc := http.NewResponseController(w)
	pb := &pacedBody{r: r.Body, rc: rc, start: time.Now(), grace: grace, rate: rate}
	io.Copy(io.Discard, io.LimitReader(pb, limit+64<<10))
	switch {
	case pb.timedOut:
	case pb.eof:
		if rate > 0 {
			rc.SetReadDeadline(time.Time{})
		}
	default:
		leaveUnread(w, grace)
	}
}

// readUpload reads an uploaded image: the request body itself (curl
// --data-binary @x.png), or the first file of a multipart/form-data body
// (curl -F image=@x.png, an HTML form). More than limit bytes is a 413, a
// body slower than rate bytes per second after grace a 408 (rate 0: no
// floor).
//
// What it leaves unread of the body (refused, or past the limit) is read by
// net/http before it answers, up to 256 KB, to keep the connection: a
// deadline grace from then bounds that, so that a client trickling the rest
// does not hold the connection (once the body is read to its end the
// deadline is lifted, as net/http then waits on the connection for the
// client to go away).
func readUpload(w http.ResponseWriter, r *http.Request, limit int64, grace time.Duration, rate float64) ([]byte, error) {
	rc := http.NewResponseController(w)
	pb := &pacedBody{r: r.Body, rc: rc, start: time.Now(), grace: grace, rate: rate}
	defer func() {
		switch {
		case pb.timedOut: // an expired deadline must stay: net/http reads the body's rest before answering
		case pb.eof:
			if rate > 0 {
				rc.SetReadDeadline(time.Time{})
			}
		default:
			leaveUnread(w, grace)
		}
	}()
	tooLarge := errorf(http.StatusRequestEntityTooLarge,
		"upload larger than the limit of %s (--max-upload %d bytes)", humanBytes(limit), limit)
	if r.ContentLength > limit {
		return nil, tooLarge
	}
	if ce := r.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		return nil, errorf(http.StatusUnsupportedMediaType, "Content-Encoding %s: send the image as it is (PNG and JPEG are compressed already)", ce)
	}
	// multipart adds a few hundred bytes of headers around the file.
	body := http.MaxBytesReader(w, io.NopCloser(pb), limit+64<<10)
	var b []byte
	var err error
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "multipart/form-data" {
		b, err = firstPart(multipart.NewReader(body, params["boundary"]), r.ContentLength, limit)
		if err == nil {
			// the form's other parts, read (under the same pace and
			// limit) and dropped
			_, err = io.Copy(io.Discard, body)
		}
	} else {
		b, err = readAll(body, r.ContentLength, limit)
	}
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe), err == nil && int64(len(b)) > limit:
		return nil, tooLarge
	case err != nil:
		var he *httpError
		if errors.As(err, &he) {
			return nil, he
		}
		return nil, errorf(http.StatusBadRequest, "reading the upload: %v", err)
	case len(b) == 0:
		return nil, errorf(http.StatusBadRequest, "empty upload: send a PNG or JPEG image as the request body (curl --data-binary @drawing.png) or as a multipart form file")
	}
	return b, nil
}

// readAll reads r to its end, up to limit+1 bytes (more is the caller's
// 413), into one buffer of size bytes when that is known (a Content-Length):
// io.ReadAll's doubling would hold up to twice the upload. A client that
// declares a length and stalls holds that buffer until the pace cuts it off,
// within the same bound (--max-upload per upload place) as one that sent it.
func readAll(r io.Reader, size, limit int64) ([]byte, error) {
	var buf bytes.Buffer
	if size > 0 && size <= limit {
		buf.Grow(int(size) + bytes.MinRead) // ReadFrom keeps MinRead free
	}
	_, err := buf.ReadFrom(io.LimitReader(r, limit+1))
	return buf.Bytes(), err
}

// firstPart reads the first file of a multipart form (or its first part);
// size is the whole body's, when known.
func firstPart(mr *multipart.Reader, size, limit int64) ([]byte, error) {
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return nil, errorf(http.StatusBadRequest, "multipart form without a file: send the image as a form file (curl -F image=@drawing.png)")
		}
		if err != nil {
			var mbe *http.MaxBytesError
			var he *httpError // too slow: a 408
			if errors.As(err, &mbe) || errors.As(err, &he) {
				return nil, err
			}
			return nil, errorf(http.StatusBadRequest, "the body is not the multipart form its Content-Type says (%v): send the image as a form file (curl -F image=@drawing.png), or as the body itself with Content-Type image/png (curl --data-binary @drawing.png)", err)
		}
		if p.FileName() == "" && p.FormName() != "image" {
			continue
		}
		return readAll(p, size, limit) // over limit: the caller answers 413
	}
}

// decodeUpload decodes an uploaded image to c channels with the data
// package's decoders, which translate and training use too (libjpeg for
// JPEG, as PIL; bounded against decompression bombs). An image of more than
// maxPixels pixels is a 413; anything not decodable a 400 naming the problem.
func decodeUpload(b []byte, c int, maxPixels int64) (*data.Image, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil && sniffExt(b) == ".webp" {
		// image knows no WebP: libwebp reads its header (the decoder
		// answers for a corrupt one below)
		cfg, _ = data.DecodeConfig("upload.webp", b)
		format, err = "webp", nil
	}
	if err == nil {
		if p := int64(cfg.Width) * int64(cfg.Height); p > maxPixels {
			return nil, errorf(http.StatusRequestEntityTooLarge, "%s image of %dx%d = %d pixels: more than the limit of %d pixels (--max-pixels)",
				strings.ToUpper(format), cfg.Width, cfg.Height, p, maxPixels)
		}
	}
	// Decoded where it is held: no temporary file to write (or leave
	// behind), named by the format the bytes start with (the decoders'
	// messages name the format expected).
	im, err := data.DecodeImage("upload"+sniffExt(b), b, c)
	if err != nil {
		var fe *data.FileError
		if errors.As(err, &fe) {
			err = fe.Err // the name is made up: it means nothing to the client
		}
		return nil, errorf(http.StatusBadRequest, "cannot read the upload as an image (%d bytes): %v; send a PNG or JPEG", len(b), err)
	}
	if p := int64(im.W) * int64(im.H); p > maxPixels {
		return nil, errorf(http.StatusRequestEntityTooLarge, "image of %dx%d = %d pixels: more than the limit of %d pixels (--max-pixels)", im.W, im.H, p, maxPixels)
	}
	return im, nil
}

// humanBytes writes n bytes as KiB or MiB when it divides evenly enough.
func humanBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// sniffExt is the file extension of the image format b starts with, or "".
func sniffExt(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return ".png"
	case bytes.HasPrefix(b, []byte{0xff, 0xd8, 0xff}):
		return ".jpg"
	case bytes.HasPrefix(b, []byte("GIF8")):
		return ".gif"
	case bytes.HasPrefix(b, []byte("BM")):
		return ".bmp"
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return ".webp"
	case bytes.HasPrefix(b, []byte("II*\x00")), bytes.HasPrefix(b, []byte("MM\x00*")):
		return ".tif"
	}
	return ""
}
