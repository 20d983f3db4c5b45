# Writes the seeds of FuzzParseCIFARBatch (run with Debian's /usr/bin/python3,
# which has NumPy): CIFAR-10 python batches of one or two images, pickled as
# the published files are (Python 2's cPickle, protocol 2, the array's bytes as
# BINSTRING), and as Python 3 pickles them (protocol 2: bytes through
# _codecs.encode; protocol 4: framed, memoized).
import io, os, pickle, sys
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'scripts'))
from make_cifar10 import Py2Pickler

d = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'FuzzParseCIFARBatch')


def seed(name, b):
    with open(os.path.join(d, name), 'w') as f:
        f.write('go test fuzz v1\n[]byte("' + ''.join(chr(c) if 32 <= c < 127 and c not in (34, 92) else '\\x%02x' % c for c in b) + '")\n')


def batch(n, keys=bytes):
    data = (np.arange(n * 3072) % 251).astype(np.uint8).reshape(n, 3072)
    return {keys(b'batch_label'): keys(b'training batch 1 of 5'), keys(b'labels'): [i % 10 for i in range(n)],
            keys(b'data'): data, keys(b'filenames'): [keys(b'a_%d.png' % i) for i in range(n)]}


b = io.BytesIO()
Py2Pickler(b, protocol=2).dump(batch(1))
seed('py2-protocol2', b.getvalue())
seed('py3-protocol2', pickle.dumps(batch(1, lambda k: k.decode()), protocol=2))
seed('py3-protocol4-two', pickle.dumps(batch(2, lambda k: k.decode()), protocol=4))
