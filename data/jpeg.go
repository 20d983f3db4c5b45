package data

// JPEG files are decoded by libjpeg-turbo, the library PIL (and so
// torchvision's loaders) decodes them with, with PIL's settings (ISLOW
// integer IDCT, fancy chroma upsampling, libjpeg's own colour conversion):
// the pixels a recipe trains on are then the reference's, bit for bit, which
// Go's image/jpeg does not give (its IDCT and upsampling differ by a few
// levels, tens at edges). libjpeg is linked statically so that a gogan binary
// built here needs no libjpeg where it runs.

/*
#cgo LDFLAGS: -l:libjpeg.a
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <jpeglib.h>
#include <jerror.h>

typedef struct {
	struct jpeg_error_mgr pub;
	jmp_buf jump;
	char msg[JMSG_LENGTH_MAX];
	int truncated;
} gogan_jerr;

// gogan_max_scans bounds a progressive JPEG's scans: each one passes over the
// whole image, so thousands in a small file would take minutes (djpeg's
// -maxscans option stops them the same way).
enum { gogan_max_scans = 500 };

static void gogan_progress(j_common_ptr c) {
	j_decompress_ptr d = (j_decompress_ptr)c;
	if (d->input_scan_number > gogan_max_scans) {
		gogan_jerr *e = (gogan_jerr *)c->err;
		snprintf(e->msg, sizeof e->msg, "more than %d progressive scans", gogan_max_scans);
		longjmp(e->jump, 1);
	}
}

static void gogan_jerr_exit(j_common_ptr c) {
	gogan_jerr *e = (gogan_jerr *)c->err;
	(*c->err->format_message)(c, e->msg);
	longjmp(e->jump, 1);
}

// Warnings are not errors, except the end of the data arriving early: PIL
// refuses a truncated JPEG ("image file is truncated"), libjpeg pads it grey.
static void gogan_jerr_message(j_common_ptr c, int level) {
	gogan_jerr *e = (gogan_jerr *)c->err;
	if (level < 0 && c->err->msg_code == JWRN_JPEG_EOF) e->truncated = 1;
}

// gogan_jpeg_decode decodes src. With header_only it fills only w, h and
// comps. Otherwise it returns malloc'd pixels: comps 1 (grey), 3 (RGB) or
// 4 (CMYK, un-inverted as PIL does whether or not the file has an Adobe
// marker), the caller frees them; an
// image of more than max_pixels pixels is refused before any is decoded,
// with w and h set and msg empty. On failure it returns NULL with msg set.
static unsigned char *gogan_jpeg_decode(const unsigned char *src, unsigned long n, int header_only,
                                        unsigned long long max_pixels,
                                        int *w, int *h, int *comps, char *msg, size_t msglen) {
	struct jpeg_decompress_struct cinfo;
	gogan_jerr jerr;
	unsigned char *volatile out = NULL;
	memset(&cinfo, 0, sizeof cinfo);
	cinfo.err = jpeg_std_error(&jerr.pub);
	jerr.pub.error_exit = gogan_jerr_exit;
	jerr.pub.emit_message = gogan_jerr_message;
	jerr.truncated = 0;
	msg[0] = 0;
	if (setjmp(jerr.jump)) {
		// An error after the data ran out is the truncation's doing.
		snprintf(msg, msglen, "%s", jerr.truncated ? "truncated" : jerr.msg);
		jpeg_destroy_decompress(&cinfo);
		free(out);
		return NULL;
	}
	jpeg_create_decompress(&cinfo);
	struct jpeg_progress_mgr progress = {.progress_monitor = gogan_progress};
	cinfo.progress = &progress; // after jpeg_create_decompress, which clears cinfo
	jpeg_mem_src(&cinfo, src, n);
	jpeg_read_header(&cinfo, TRUE);
	*w = cinfo.image_width;
	*h = cinfo.image_height;
	int cmyk = 0;
	switch (cinfo.jpeg_color_space) {
	case JCS_GRAYSCALE:
		cinfo.out_color_space = JCS_GRAYSCALE;
		*comps = 1;
		break;
	case JCS_CMYK:
	case JCS_YCCK:
		cinfo.out_color_space = JCS_CMYK;
		cmyk = 1;
		*comps = 4;
		break;
	default:
		cinfo.out_color_space = JCS_RGB;
		*comps = 3;
	}
	if (header_only) {
		jpeg_destroy_decompress(&cinfo);
		return (unsigned char *)1; // not NULL: success
	}
	if ((unsigned long long)cinfo.image_width * cinfo.image_height > max_pixels) {
		jpeg_destroy_decompress(&cinfo);
		return NULL;
	}
	jpeg_start_decompress(&cinfo);
	size_t stride = (size_t)cinfo.output_width * cinfo.output_components;
	out = malloc(stride * cinfo.output_height);
	if (!out) {
		snprintf(msg, msglen, "out of memory for %ux%u pixels", cinfo.output_width, cinfo.output_height);
		jpeg_destroy_decompress(&cinfo);
		return NULL;
	}
	while (cinfo.output_scanline < cinfo.output_height && !jerr.truncated) {
		JSAMPROW row = out + stride * cinfo.output_scanline;
		jpeg_read_scanlines(&cinfo, &row, 1);
	}
	if (jerr.truncated) {
		snprintf(msg, msglen, "truncated");
		jpeg_destroy_decompress(&cinfo);
		free(out);
		return NULL;
	}
	jpeg_finish_decompress(&cinfo);
	jpeg_destroy_decompress(&cinfo);
	// PIL reads every CMYK JPEG as Adobe writes them, inverted (its rawmode
	// "CMYK;I", "assume adobe conventions"), with or without an Adobe marker.
	if (cmyk) {
		for (size_t i = 0; i < stride * (size_t)*h; i++) out[i] = 255 - out[i];
	}
	return out;
}
*/
import "C"

import (
	"bytes"
	"image"
	"slices"
	"unsafe"
)

// isJPEG reports whether b starts with a JPEG's SOI marker.
func isJPEG(b []byte) bool { return bytes.HasPrefix(b, []byte{0xff, 0xd8, 0xff}) }

// jpegErr turns libjpeg's message into a file error like the other decoders'.
func jpegErr(path string, msg string) error {
	if msg == "truncated" {
		return fileErr(path, "truncated JPEG image (unexpected end of file)")
	}
	return fileErr(path, "corrupt JPEG image: %s", msg)
}

// decodeJPEG decodes a JPEG file's bytes as PIL's Image.open(path).convert()
// to c channels (1: "L", 3: "RGB") does.
func decodeJPEG(path string, b []byte, c int) (*Image, error) {
	im, err := jpegPixels(path, b)
	if err != nil {
		return nil, err
	}
	if im.C == 4 { // PIL mode "CMYK": its convert goes through RGB
		cm := &image.CMYK{Pix: im.Pix, Stride: 4 * im.W, Rect: image.Rect(0, 0, im.W, im.H)}
		return toImage(cm, c), nil
	}
	// PIL mode "L" or "RGB"
	return toChannels(im, c), nil
}

// jpegPixels decodes a JPEG file's bytes to the image PIL opens: C is 1
// (mode "L"), 3 ("RGB") or 4 ("CMYK", Adobe's inversion undone).
func jpegPixels(path string, b []byte) (*Image, error) {
	var w, h, comps C.int
	var msg [C.JMSG_LENGTH_MAX]C.char
	p := C.gogan_jpeg_decode((*C.uchar)(unsafe.Pointer(&b[0])), C.ulong(len(b)), 0, C.ulonglong(maxPixels(len(b))),
		&w, &h, &comps, &msg[0], C.size_t(len(msg)))
	if p == nil {
		if err := checkPixels(path, int(w), int(h), len(b)); msg[0] == 0 && err != nil {
			return nil, err // refused for its size
		}
		return nil, jpegErr(path, C.GoString(&msg[0]))
	}
	defer C.free(unsafe.Pointer(p))
	if w <= 0 || h <= 0 {
		return nil, fileErr(path, "image has no pixels (%dx%d)", w, h)
	}
	pix := slices.Clone(unsafe.Slice((*uint8)(unsafe.Pointer(p)), int(w)*int(h)*int(comps)))
	return &Image{W: int(w), H: int(h), C: int(comps), Pix: pix}, nil
}

// jpegHeader reads a JPEG's size and colour model without decoding it.
func jpegHeader(path string, b []byte) (image.Config, error) {
	var w, h, comps C.int
	var msg [C.JMSG_LENGTH_MAX]C.char
	if C.gogan_jpeg_decode((*C.uchar)(unsafe.Pointer(&b[0])), C.ulong(len(b)), 1, 0, &w, &h, &comps, &msg[0], C.size_t(len(msg))) == nil {
		return image.Config{}, jpegErr(path, C.GoString(&msg[0]))
	}
	return image.Config{Width: int(w), Height: int(h)}, nil
}
