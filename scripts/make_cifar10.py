"""Writes a small CIFAR-10 in the python version's layout, for tests (no download here).

Usage: /usr/bin/python3 scripts/make_cifar10.py ROOT [--per-batch N] [--test N] [--seed S] [--tar]

ROOT/cifar-10-batches-py/ gets data_batch_1..5 (N random 32x32 colour images each,
labels cycling 0..9), test_batch and batches.meta, pickled as the published files
are: Python 2's cPickle, protocol 2, str (bytes) keys and the array's raw data as
BINSTRING. With --tar the folder is packed into ROOT/cifar-10-python.tar.gz instead,
as torchvision downloads it. torchvision's CIFAR10 reads the result (with its md5
check skipped: these are other bytes).
"""
import argparse
import io
import os
import pickle
import shutil
import tarfile

import numpy as np


class Py2Pickler(pickle._Pickler):
    """Python 2's cPickle: bytes (Python 2's str) as SHORT_BINSTRING / BINSTRING."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_bytes(self, obj):
        n = len(obj)
        self.write((b"U" + bytes([n])) if n < 256 else (b"T" + n.to_bytes(4, "little")))
        self.write(obj)
        self.memoize(obj)

    dispatch[bytes] = save_bytes


def dump(obj, path):
    b = io.BytesIO()
    Py2Pickler(b, protocol=2).dump(obj)
    with open(path, "wb") as f:
        f.write(b.getvalue())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root")
    ap.add_argument("--per-batch", type=int, default=8)
    ap.add_argument("--test", type=int, default=6)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tar", action="store_true")
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    d = os.path.join(a.root, "cifar-10-batches-py")
    os.makedirs(d, exist_ok=True)
    k = 0
    for name, n in [("data_batch_%d" % i, a.per_batch) for i in range(1, 6)] + [("test_batch", a.test)]:
        # Smooth random images (a random field upsampled), so that resizing shows.
        small = rng.integers(0, 256, (n, 3, 8, 8)).astype(np.float64)
        big = np.kron(small, np.ones((1, 1, 4, 4))) + rng.normal(0, 12, (n, 3, 32, 32))
        data = np.clip(big, 0, 255).astype(np.uint8).reshape(n, 3072)
        labels = [(k + i) % 10 for i in range(n)]
        k += n
        dump({b"batch_label": name.encode(), b"labels": labels, b"data": data,
              b"filenames": [b"img_%05d.png" % (k + i) for i in range(n)]}, os.path.join(d, name))
    dump({b"num_cases_per_batch": a.per_batch, b"label_names": [b"airplane", b"automobile", b"bird", b"cat", b"deer",
         b"dog", b"frog", b"horse", b"ship", b"truck"], b"num_vis": 3072}, os.path.join(d, "batches.meta"))
    if a.tar:
        with tarfile.open(os.path.join(a.root, "cifar-10-python.tar.gz"), "w:gz") as t:
            t.add(d, arcname="cifar-10-batches-py")
        shutil.rmtree(d)


if __name__ == "__main__":
    main()
