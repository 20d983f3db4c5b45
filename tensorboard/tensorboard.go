// Package tensorboard writes TensorBoard event files (TFRecord-framed
// tensorboard.Event protos) without TensorFlow.
//
// The protos are hand-encoded with protowire. Field numbers come from
// TensorBoard's tensorboard/compat/proto/{event,summary,tensor,tensor_shape,
// types}.proto; copies of those files are in testdata/proto, where the tests
// decode our output with protoc.
package tensorboard

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/draw"
	"image/png"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers, from tensorboard/compat/proto/*.proto.
const (
	// event.proto, message Event.
	eventWallTime    = 1 // double
	eventStep        = 2 // int64
	eventFileVersion = 3 // string
	eventSummary     = 5 // Summary
	eventSessionLog  = 7 // SessionLog

	// event.proto, message SessionLog.
	sessionLogStatus = 1 // SessionStatus
	sessionStart     = 1 // SessionStatus START

	// summary.proto, message Summary.
	summaryValue = 1 // repeated Summary.Value

	// summary.proto, message Summary.Value.
	valueTag         = 1 // string
	valueSimpleValue = 2 // float
	valueImage       = 4 // Summary.Image
	valueTensor      = 8 // TensorProto
	valueMetadata    = 9 // SummaryMetadata

	// summary.proto, message Summary.Image.
	imageHeight     = 1 // int32
	imageWidth      = 2 // int32
	imageColorspace = 3 // int32
	imageEncoded    = 4 // bytes

	// summary.proto, SummaryMetadata and SummaryMetadata.PluginData.
	metadataPluginData = 1 // PluginData
	pluginName         = 1 // string

	// tensor.proto, message TensorProto.
	tensorDtype     = 1 // DataType
	tensorShape     = 2 // TensorShapeProto
	tensorStringVal = 8 // repeated bytes

	// types.proto, enum DataType.
	dtString = 7 // DT_STRING
)

// fileVersion is what every event file starts with (event.proto).
const fileVersion = "brain.Event:2"

// Writer appends events to one events file. It is safe for concurrent use.
type Writer struct {
	mu   sync.Mutex
	f    *os.File
	path string
}

// Create makes dir if needed and a new file
// dir/events.out.tfevents.<unix seconds>.<hostname>, and writes the first
// event, file_version "brain.Event:2".
func Create(dir string) (*Writer, error) {
	return create(dir, time.Now())
}

// create is Create at a given time, so the tests can make two writers in
// the same second.
func create(dir string, now time.Time) (*Writer, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("tensorboard: %w", err)
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	// %010d as TensorBoard's own writer names them. Another writer in the
	// same dir and second gets ".1", ".2", ...: TensorBoard reads any file
	// whose name contains "tfevents".
	base := filepath.Join(dir, fmt.Sprintf("events.out.tfevents.%010d.%s", sortingLast(dir, now.Unix(), host), host))
	path := base
	var f *os.File
	for i := 1; ; i++ {
		f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if !errors.Is(err, fs.ErrExist) {
			break
		}
		path = fmt.Sprintf("%s.%d", base, i)
	}
	if err != nil {
		return nil, fmt.Errorf("tensorboard: %w", err)
	}
	w := &Writer{f: f, path: path}
	ev := protowire.AppendTag(nil, eventFileVersion, protowire.BytesType)
	ev = protowire.AppendString(ev, fileVersion)
	if err := w.write(0, ev); err != nil {
		f.Close()
		return nil, err
	}
	return w, nil
}

// sortingLast is the time to name a new file in dir with, now unless
// an event file there would sort after that name: then one second past the
// latest such file's. TensorBoard reads a run's files in name order and
// takes each file's SessionLog START as a restart, so a resumed session's
// file read before the killed one's (a run folder copied to a machine whose
// clock is behind) would have all its steps dropped for the dead session's.
func sortingLast(dir string, now int64, host string) int64 {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return now
	}
	own := fmt.Sprintf("events.out.tfevents.%010d.%s", now, host)
	latest := now - 1
	for _, e := range ents {
		name := e.Name()
		if name <= own || strings.HasPrefix(name, own+".") { // ours of this second: ".1", ".2", ...
			continue
		}
		digits, _, _ := strings.Cut(strings.TrimPrefix(name, "events.out.tfevents."), ".")
		if t, err := strconv.ParseInt(digits, 10, 64); err == nil && len(digits) == 10 && t > latest {
			latest = t
		}
	}
	return max(now, latest+1)
}

// Path is the events file's path.
func (w *Writer) Path() string { return w.path }

// Scalar is one scalar summary value.
type Scalar struct {
	Tag   string
	Value float64
}

// Scalars writes one Event at step holding every value, as simple_value
// (float32). An empty values writes nothing.
func (w *Writer) Scalars(step int64, values []Scalar) error {
	if len(values) == 0 {
		return nil
	}
	var sum []byte
	for _, s := range values {
		v := appendTag(nil, s.Tag)
		v = protowire.AppendTag(v, valueSimpleValue, protowire.Fixed32Type)
		v = protowire.AppendFixed32(v, math.Float32bits(float32(s.Value)))
		sum = appendMessage(sum, summaryValue, v)
	}
	return w.summary(step, sum)
}

// Image writes img as a PNG image summary. An *image.Gray is stored as gray
// (colorspace 1); anything else as 8-bit RGB (3), or RGBA (4) when it has
// any transparency.
func (w *Writer) Image(step int64, tag string, img image.Image) error {
	colorspace := 1
	switch m := img.(type) {
	case *image.Gray:
	case *image.RGBA:
		colorspace = rgbOrRGBA(m.Opaque())
	case *image.NRGBA:
		colorspace = rgbOrRGBA(m.Opaque())
	default:
		// Redraw as NRGBA so the PNG encoder writes 8-bit RGB(A), which is
		// what the colorspace says.
		n := image.NewNRGBA(img.Bounds())
		draw.Draw(n, n.Bounds(), img, img.Bounds().Min, draw.Src)
		img, colorspace = n, rgbOrRGBA(n.Opaque())
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return fmt.Errorf("tensorboard: %s: image %q: %w", w.path, tag, err)
	}
	b := img.Bounds()
	im := appendVarint(nil, imageHeight, uint64(b.Dy()))
	im = appendVarint(im, imageWidth, uint64(b.Dx()))
	im = appendVarint(im, imageColorspace, uint64(colorspace))
	im = protowire.AppendTag(im, imageEncoded, protowire.BytesType)
	im = protowire.AppendBytes(im, buf.Bytes())
	v := appendMessage(appendTag(nil, tag), valueImage, im)
	return w.summary(step, appendMessage(nil, summaryValue, v))
}

func rgbOrRGBA(opaque bool) int {
	if opaque {
		return 3
	}
	return 4
}

// Text writes a markdown text summary the way TensorBoard's text plugin
// writes it: plugin_name "text" (its TextPluginData version 0 encodes to
// empty content) and a scalar DT_STRING tensor.
func (w *Writer) Text(step int64, tag, text string) error {
	pd := protowire.AppendTag(nil, pluginName, protowire.BytesType)
	pd = protowire.AppendString(pd, "text")
	md := appendMessage(nil, metadataPluginData, pd)

	t := appendVarint(nil, tensorDtype, dtString)
	t = appendMessage(t, tensorShape, nil) // rank 0: an empty shape
	t = protowire.AppendTag(t, tensorStringVal, protowire.BytesType)
	t = protowire.AppendString(t, text)

	v := appendTag(nil, tag)
	v = appendMessage(v, valueMetadata, md)
	v = appendMessage(v, valueTensor, t)
	return w.summary(step, appendMessage(nil, summaryValue, v))
}

// SessionStart writes a SessionLog START at step: TensorBoard reads every
// START after a run's first as a restart and drops the events of the
// earlier files whose step is step or later (what PyTorch's
// SummaryWriter(purge_step=step) writes). A resumed run writes one at the
// first step it logs, so a session killed after its last checkpoint leaves
// no second line over the steps the resumed one trains again.
func (w *Writer) SessionStart(step int64) error {
	return w.write(step, appendMessage(nil, eventSessionLog, appendVarint(nil, sessionLogStatus, sessionStart)))
}

// Flush fsyncs the file, so what was written survives a crash.
func (w *Writer) Flush() error { return w.onFile((*os.File).Sync) }

// Close closes the file. Records are already written (no buffering), so
// there is nothing to flush; call Flush first to fsync.
func (w *Writer) Close() error { return w.onFile((*os.File).Close) }

// onFile runs op on the file under the lock that write holds, so that it
// never cuts into a record, with its error said as the package's: what
// Flush and Close both do.
func (w *Writer) onFile(op func(*os.File) error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := op(w.f); err != nil {
		return fmt.Errorf("tensorboard: %w", err)
	}
	return nil
}

func appendTag(b []byte, tag string) []byte {
	b = protowire.AppendTag(b, valueTag, protowire.BytesType)
	return protowire.AppendString(b, tag)
}

// appendVarint appends field num with the varint v (int32, int64 and enum
// fields alike), as appendMessage a message field.
func appendVarint(b []byte, num protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func appendMessage(b []byte, num protowire.Number, msg []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, msg)
}

// summary writes an Event holding the encoded Summary sum.
func (w *Writer) summary(step int64, sum []byte) error {
	return w.write(step, appendMessage(nil, eventSummary, sum))
}

// write frames one Event (wall_time and step, then the rest already
// encoded) as a TFRecord and writes it with a single write call, so a
// process killed mid-write leaves every earlier record whole.
func (w *Writer) write(step int64, rest []byte) error {
	// Locked before time.Now so concurrent events land in wall_time order.
	w.mu.Lock()
	defer w.mu.Unlock()
	ev := protowire.AppendTag(nil, eventWallTime, protowire.Fixed64Type)
	now := time.Now()
	ev = protowire.AppendFixed64(ev, math.Float64bits(float64(now.UnixNano())/1e9))
	ev = appendVarint(ev, eventStep, uint64(step))
	ev = append(ev, rest...)

	rec := make([]byte, 0, 8+4+len(ev)+4)
	rec = binary.LittleEndian.AppendUint64(rec, uint64(len(ev)))
	rec = binary.LittleEndian.AppendUint32(rec, maskedCRC(rec[:8]))
	rec = append(rec, ev...)
	rec = binary.LittleEndian.AppendUint32(rec, maskedCRC(ev))
	if _, err := w.f.Write(rec); err != nil {
		return fmt.Errorf("tensorboard: %w", err)
	}
	return nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// maskedCRC is TFRecord's masked CRC32C. The mask keeps a CRC of data that
// itself holds CRCs from being trivially related to them.
func maskedCRC(b []byte) uint32 {
	c := crc32.Checksum(b, castagnoli)
	return (c>>15 | c<<17) + 0xa282ead8
}
