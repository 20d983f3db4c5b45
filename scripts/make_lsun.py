"""Writes small LSUN databases in LSUN's layout, for tests and demos (no download here).

Usage: /usr/bin/python3 scripts/make_lsun.py ROOT [--classes bedroom,church_outdoor]
           [--phase train] [--count N] [--seed S] [--photos DIR]

For each category, ROOT/{category}_{phase}_lmdb/ (ROOT/test_lmdb/ for --phase test) is
an LMDB database as LSUN distributes them: each value a WebP image (quality 75, the
shorter side 256 pixels, the longer 256..400), each key the 40 hex digits of a SHA-1
(of the seed, the database and the image's number: every key differs), as LSUN's image
ids are. With --photos the images are crops of the JPEGs there (the
facades photos, the left halves of their A|B files), otherwise drawings. torchvision's
LSUN reads the result with py-lmdb (Debian python3-lmdb).
"""
import argparse
import glob
import hashlib
import io
import os
import random

import lmdb
from PIL import Image, ImageDraw


def drawing(rng, w, h):
    im = Image.new("RGB", (w, h), tuple(rng.randrange(256) for _ in range(3)))
    dr = ImageDraw.Draw(im)
    for _ in range(12):
        x0, y0 = rng.randrange(w), rng.randrange(h)
        box = [x0, y0, x0 + rng.randrange(10, 120), y0 + rng.randrange(10, 120)]
        fill = tuple(rng.randrange(256) for _ in range(3))
        (dr.ellipse if rng.random() < 0.5 else dr.rectangle)(box, fill=fill)
    return im


def image(rng, photos):
    w, h = 256, rng.randrange(256, 401)
    if rng.random() < 0.5:
        w, h = h, w
    if not photos:
        return drawing(rng, w, h)
    ab = Image.open(rng.choice(photos)).convert("RGB")
    photo = ab.crop((0, 0, ab.width // 2, ab.height))
    return photo.resize((w, h), Image.BICUBIC)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("root")
    p.add_argument("--classes", default="bedroom")
    p.add_argument("--phase", default="train")
    p.add_argument("--count", type=int, default=40)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--photos", default="")
    a = p.parse_args()
    rng = random.Random(a.seed)
    photos = sorted(glob.glob(os.path.join(a.photos, "*.jpg"))) if a.photos else []
    os.makedirs(a.root, exist_ok=True)
    names = ["test"] if a.phase == "test" else [c + "_" + a.phase for c in a.classes.split(",")]
    for name in names:
        env = lmdb.open(os.path.join(a.root, name + "_lmdb"), map_size=1 << 32)
        with env.begin(write=True) as txn:
            for i in range(a.count):
                b = io.BytesIO()
                image(rng, photos).save(b, "WEBP", quality=75)
                key = hashlib.sha1(("%d/%s/%d" % (a.seed, name, i)).encode()).hexdigest()
                txn.put(key.encode(), b.getvalue())
        env.close()


if __name__ == "__main__":
    main()
