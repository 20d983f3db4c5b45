package data

// WebP files (LSUN's images, and any in an image folder) are decoded by
// libwebp as PIL does, with libwebp's fancy chroma upsampling and its own
// YUV to RGB conversion: Go's x/image/webp upsamples chroma by repetition, a
// few levels away from what the reference trains on. PIL takes the first
// frame of its animation decoder in RGBA and drops the alpha; a still image
// decoded straight to RGB has those pixels, without the canvas. libwebp is
// linked statically, as libjpeg is.

/*
#cgo LDFLAGS: -l:libwebpdemux.a -l:libwebp.a -lm -lpthread
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <webp/decode.h>
#include <webp/demux.h>

static const char *gogan_webp_status(VP8StatusCode st) {
	switch (st) {
	case VP8_STATUS_OUT_OF_MEMORY: return "out of memory";
	case VP8_STATUS_INVALID_PARAM: return "invalid parameter";
	case VP8_STATUS_BITSTREAM_ERROR: return "corrupt bitstream";
	case VP8_STATUS_UNSUPPORTED_FEATURE: return "unsupported feature";
	case VP8_STATUS_NOT_ENOUGH_DATA: return "truncated";
	default: return "cannot decode";
	}
}

// gogan_webp_decode decodes src's first frame as RGB (w*h*3 malloc'd bytes
// the caller frees), or with header_only only fills w and h.
// An image of more than max_pixels pixels is refused before any is decoded,
// with w and h set and msg empty. On failure it returns NULL with msg set.
static unsigned char *gogan_webp_decode(const uint8_t *src, size_t n, int header_only,
                                        unsigned long long max_pixels, int *w, int *h,
                                        char *msg, size_t msglen) {
	WebPBitstreamFeatures f;
	msg[0] = 0;
	VP8StatusCode st = WebPGetFeatures(src, n, &f);
	if (st != VP8_STATUS_OK) {
		snprintf(msg, msglen, "%s", gogan_webp_status(st));
		return NULL;
	}
	*w = f.width;
	*h = f.height;
	if (header_only) return (unsigned char *)1; // not NULL: success
	if ((unsigned long long)f.width * f.height > max_pixels) return NULL;
	if (!f.has_animation) {
		WebPDecoderConfig config;
		if (!WebPInitDecoderConfig(&config)) {
			snprintf(msg, msglen, "libwebp version mismatch");
			return NULL;
		}
		size_t stride = (size_t)f.width * 3, size = stride * f.height;
		unsigned char *out = malloc(size);
		if (!out) {
			snprintf(msg, msglen, "out of memory for %dx%d pixels", f.width, f.height);
			return NULL;
		}
		config.output.colorspace = MODE_RGB;
		config.output.is_external_memory = 1;
		config.output.u.RGBA.rgba = out;
		config.output.u.RGBA.stride = (int)stride;
		config.output.u.RGBA.size = size;
		st = WebPDecode(src, n, &config);
		if (st != VP8_STATUS_OK) {
			snprintf(msg, msglen, "%s", gogan_webp_status(st));
			free(out);
			return NULL;
		}
		return out;
	}
	WebPData data = {src, n};
	WebPAnimDecoderOptions opt;
	if (!WebPAnimDecoderOptionsInit(&opt)) {
		snprintf(msg, msglen, "libwebp version mismatch");
		return NULL;
	}
	opt.color_mode = MODE_RGBA;
	opt.use_threads = 0;
	WebPAnimDecoder *dec = WebPAnimDecoderNew(&data, &opt);
	if (!dec) {
		snprintf(msg, msglen, "truncated or corrupt");
		return NULL;
	}
	WebPAnimInfo info;
	uint8_t *frame;
	int ts;
	if (!WebPAnimDecoderGetInfo(dec, &info) || !WebPAnimDecoderGetNext(dec, &frame, &ts)) {
		snprintf(msg, msglen, "truncated or corrupt");
		WebPAnimDecoderDelete(dec);
		return NULL;
	}
	size_t pixels = (size_t)info.canvas_width * info.canvas_height;
	unsigned char *out = malloc(pixels * 3);
	if (!out) {
		snprintf(msg, msglen, "out of memory for %ux%u pixels", info.canvas_width, info.canvas_height);
		WebPAnimDecoderDelete(dec);
		return NULL;
	}
	for (size_t i = 0; i < pixels; i++) memcpy(out + 3 * i, frame + 4 * i, 3);
	*w = info.canvas_width;
	*h = info.canvas_height;
	WebPAnimDecoderDelete(dec);
	return out;
}
*/
import "C"

import (
	"bytes"
	"image"
	"image/color"
	"slices"
	"unsafe"
)

// isWebP reports whether b starts with a WebP file's RIFF header.
func isWebP(b []byte) bool {
	return len(b) >= 12 && bytes.Equal(b[:4], []byte("RIFF")) && bytes.Equal(b[8:12], []byte("WEBP"))
}

func webpErr(path, msg string) error {
	if msg == "truncated" {
		return fileErr(path, "truncated WebP image (unexpected end of file)")
	}
	return fileErr(path, "corrupt WebP image: %s", msg)
}

// decodeWebP decodes a WebP file's bytes as PIL's Image.open(path).convert()
// to c channels (1: "L", 3: "RGB") does: an alpha channel is dropped.
func decodeWebP(path string, b []byte, c int) (*Image, error) {
	var w, h C.int
	var msg [256]C.char
	p := C.gogan_webp_decode((*C.uint8_t)(unsafe.Pointer(&b[0])), C.size_t(len(b)), 0, C.ulonglong(maxPixels(len(b))),
		&w, &h, &msg[0], C.size_t(len(msg)))
	if p == nil {
		if err := checkPixels(path, int(w), int(h), len(b)); msg[0] == 0 && err != nil {
			return nil, err // refused for its size
		}
		return nil, webpErr(path, C.GoString(&msg[0]))
	}
	defer C.free(unsafe.Pointer(p))
	if w <= 0 || h <= 0 {
		return nil, fileErr(path, "image has no pixels (%dx%d)", w, h)
	}
	pix := slices.Clone(unsafe.Slice((*uint8)(unsafe.Pointer(p)), int(w)*int(h)*3))
	return toChannels(&Image{W: int(w), H: int(h), C: 3, Pix: pix}, c), nil
}

// webpHeader reads a WebP's size from its first bytes b without decoding
// it; short says that b ends before the header does.
func webpHeader(path string, b []byte) (cfg image.Config, short bool, err error) {
	if len(b) == 0 {
		return cfg, true, fileErr(path, "empty WebP image (0 bytes)")
	}
	var w, h C.int
	var msg [256]C.char
	if C.gogan_webp_decode((*C.uint8_t)(unsafe.Pointer(&b[0])), C.size_t(len(b)), 1, 0, &w, &h, &msg[0], C.size_t(len(msg))) == nil {
		m := C.GoString(&msg[0])
		return cfg, m == "truncated", webpErr(path, m)
	}
	// Decoded as RGB (never a map of ids), whatever the bitstream holds.
	return image.Config{Width: int(w), Height: int(h), ColorModel: color.RGBAModel}, false, nil
}
