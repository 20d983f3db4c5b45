#!/usr/bin/python3
"""Read a TensorBoard events file independently of gogan's writer.

Usage: /usr/bin/python3 scripts/tfevents_read.py FILE
       /usr/bin/python3 scripts/tfevents_read.py --run DIR

Parses the TFRecord framing, checks both masked CRC32Cs (python3-crc32c),
decodes each record with `protoc --decode=tensorboard.Event` (protobuf-compiler)
against TensorBoard's own .proto files in tensorboard/testdata/proto, checks
that image summaries hold PNGs that decode (python3-pil), and prints JSON:

  {"records": N, "partial_tail": bool, "events": [
     {"wall_time", "step", "file_version"?, "values": [
        {"tag", "simple_value"? | "image": {...} | "text"?}]}]}

A trailing partial record ends the read cleanly (partial_tail true), as
TensorBoard's reader stops there; a CRC mismatch or an undecodable record
exits non-zero. A simple_value is the float32's exact value, or one of the
strings "nan", "inf", "-inf" (JSON has no such numbers). A SessionLog
event has "session_log": its status's name.

--run reads every events file of a run folder's event directory DIR and
prints what TensorBoard would plot, {"python": SERIES, "rust": SERIES}, each
SERIES {tag: [[step, simple_value or null], ...]} in reading order, by the
rules of its two loaders (transcribed from tensorboard's own source):
  python: plugin_event_accumulator.py (--load_fast=false): files read in name
    order; with file_version 2 a run's first SessionLog START marks its
    start and each later one a restart that purges every value, of any tag,
    whose step is the START's or later (_CheckForRestartAndMaybePurge);
  rust: the data server (data/server/reservoir.rs, --load_fast=true): a
    value at step s preempts the values of its own tag at step s or later.
"""

import base64
import io
import json
import math
import os
import struct
import subprocess
import sys

import crc32c
from PIL import Image

PROTO_DIR = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "tensorboard", "testdata", "proto"
)
EVENT_PROTO = "tensorboard/compat/proto/event.proto"


def fail(msg):
    sys.exit("tfevents_read: " + msg)


def masked_crc(data):
    c = crc32c.crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def records(path, buf):
    """The whole records' data, and whether a partial record trails them."""
    out, pos = [], 0
    while pos < len(buf):
        if len(buf) - pos < 12:
            return out, True
        header = buf[pos : pos + 8]
        (length,) = struct.unpack("<Q", header)
        (hcrc,) = struct.unpack("<I", buf[pos + 8 : pos + 12])
        if masked_crc(header) != hcrc:
            fail("%s: record %d at offset %d failed header crc32c check" % (path, len(out), pos))
        end = pos + 12 + length + 4
        if end > len(buf):
            return out, True
        data = buf[pos + 12 : pos + 12 + length]
        (dcrc,) = struct.unpack("<I", buf[end - 4 : end])
        if masked_crc(data) != dcrc:
            fail("%s: record %d at offset %d failed data crc32c check" % (path, len(out), pos))
        out.append(data)
        pos = end
    return out, False


# --- protobuf text format, as protoc --decode prints it ---

ESCAPES = {"n": 10, "r": 13, "t": 9, '"': 34, "'": 39, "\\": 92, "a": 7, "b": 8, "f": 12, "v": 11, "?": 63}


def unquote(s):
    """Bytes of one C-escaped, double-quoted protoc string literal."""
    if len(s) < 2 or s[0] != '"' or s[-1] != '"':
        raise ValueError("not a string literal: " + s)
    s, out, i = s[1:-1], bytearray(), 0
    while i < len(s):
        c = s[i]
        if c != "\\":
            out += c.encode("utf-8")
            i += 1
            continue
        e = s[i + 1]
        if e in ESCAPES:
            out.append(ESCAPES[e])
            i += 2
        elif e in "01234567":
            j = i + 1
            while j < len(s) and j < i + 4 and s[j] in "01234567":
                j += 1
            out.append(int(s[i + 1 : j], 8))
            i = j
        elif e == "x":
            j = i + 2
            while j < len(s) and j < i + 4 and s[j] in "0123456789abcdefABCDEF":
                j += 1
            out.append(int(s[i + 2 : j], 16))
            i = j
        else:
            raise ValueError("unknown escape \\" + e)
    return bytes(out)


def parse_text(text):
    """Parses protoc's text output into {field: [values]}; messages are dicts."""
    stack = [{}]
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if line == "}":
            stack.pop()
        elif line.endswith(" {"):
            msg = {}
            stack[-1].setdefault(line[:-2], []).append(msg)
            stack.append(msg)
        else:
            name, _, value = line.partition(": ")
            stack[-1].setdefault(name, []).append(value)
    if len(stack) != 1:
        raise ValueError("unbalanced braces")
    return stack[0]


def one(msg, name, default=None):
    vals = msg.get(name, [])
    if len(vals) > 1:
        raise ValueError("%s repeated" % name)
    return vals[0] if vals else default


def only(msg, *names):
    """Rejects fields we do not write: protoc names a field we got wrong
    differently, or prints it as a bare number when the proto lacks it."""
    extra = sorted(set(msg) - set(names))
    if extra:
        raise ValueError("unexpected fields %s" % extra)
    return msg


def float32(s):
    """protoc prints a float as its shortest decimal; give its exact value."""
    f = float(s)
    if not math.isfinite(f):
        return s
    return struct.unpack("<f", struct.pack("<f", f))[0]


def decode(data):
    p = subprocess.run(
        ["protoc", "-I", PROTO_DIR, "--decode=tensorboard.Event", EVENT_PROTO],
        input=data,
        capture_output=True,
    )
    if p.returncode != 0:
        raise ValueError("protoc: " + p.stderr.decode(errors="replace").strip())
    return parse_text(p.stdout.decode("utf-8"))


def image(im):
    only(im, "height", "width", "colorspace", "encoded_image_string")
    png = unquote(one(im, "encoded_image_string", '""'))
    img = Image.open(io.BytesIO(png))
    img.load()  # decodes the whole PNG, so a corrupt one fails here
    if img.format != "PNG":
        raise ValueError("image is %s, not PNG" % img.format)
    return {
        "height": int(one(im, "height", "0")),
        "width": int(one(im, "width", "0")),
        "colorspace": int(one(im, "colorspace", "0")),
        "png_len": len(png),
        "png_width": img.width,
        "png_height": img.height,
        "png_mode": img.mode,
        "pixels": base64.b64encode(img.tobytes()).decode(),
    }


def value(v):
    only(v, "tag", "simple_value", "image", "metadata", "tensor")
    out = {"tag": unquote(one(v, "tag", '""')).decode("utf-8")}
    if "simple_value" in v:
        out["simple_value"] = float32(one(v, "simple_value"))
    elif "image" in v:
        out["image"] = image(one(v, "image"))
    elif "tensor" in v:
        md = only(one(v, "metadata", {}), "plugin_data")
        pd = only(one(md, "plugin_data", {}), "plugin_name")
        plugin = unquote(one(pd, "plugin_name", '""')).decode()
        t = only(one(v, "tensor"), "dtype", "tensor_shape", "string_val")
        if plugin != "text" or one(t, "dtype") != "DT_STRING":
            raise ValueError("tensor value is not a text summary")
        if one(t, "tensor_shape", {}).get("dim"):
            raise ValueError("text tensor is not a scalar")
        out["text"] = unquote(one(t, "string_val")).decode("utf-8")
    else:
        raise ValueError("unexpected value: %s" % sorted(v))
    return out


def event(e):
    only(e, "wall_time", "step", "file_version", "summary", "session_log")
    out = {"wall_time": float(one(e, "wall_time", "0")), "step": int(one(e, "step", "0"))}
    if "file_version" in e:
        out["file_version"] = unquote(one(e, "file_version")).decode("utf-8")
    if "session_log" in e:
        sl = only(one(e, "session_log"), "status")
        out["session_log"] = one(sl, "status", "STATUS_UNSPECIFIED")
    summary = only(one(e, "summary", {}), "value")
    out["values"] = [value(v) for v in summary.get("value", [])]
    return out


def read_file(path):
    with open(path, "rb") as f:
        buf = f.read()
    datas, partial = records(path, buf)
    events = []
    for n, data in enumerate(datas):
        try:
            events.append(event(decode(data)))
        except Exception as e:  # PIL and protoc failures alike: fail loudly
            fail("%s: record %d: %s" % (path, n, e))
    return events, partial


def plotted(events):
    """Each loader's series over a run's events (see the module doc)."""
    python, rust = {}, {}
    version, seen_start = None, False
    for e in events:
        if "file_version" in e:
            version = float(e["file_version"].split(":")[-1])
        if e.get("session_log") == "START" and version is not None and version >= 2:
            if seen_start:
                for tag in python:
                    python[tag] = [p for p in python[tag] if p[0] < e["step"]]
            seen_start = True
        for v in e["values"]:
            point = [e["step"], v.get("simple_value")]
            python.setdefault(v["tag"], []).append(point)
            series = [p for p in rust.get(v["tag"], []) if p[0] < e["step"]]
            rust[v["tag"]] = series + [point]
    return {"python": python, "rust": rust}


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--run":
        names = sorted(n for n in os.listdir(sys.argv[2]) if "tfevents" in n)
        events = []
        for n in names:
            events += read_file(os.path.join(sys.argv[2], n))[0]
        json.dump(plotted(events), sys.stdout)
        print()
        return
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    events, partial = read_file(sys.argv[1])
    json.dump({"records": len(events), "partial_tail": partial, "events": events}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
