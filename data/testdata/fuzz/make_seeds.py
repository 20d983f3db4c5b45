# Writes the JPEG seeds of FuzzDecodeJPEG that Go cannot encode (run with
# Debian's /usr/bin/python3, which has PIL): progressive, 4:2:2, greyscale
# progressive and CMYK files of 16x12 pixels.
import io, os
from PIL import Image


def seed(target, name, *values):
    d = os.path.join(os.path.dirname(os.path.abspath(__file__)), target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'w') as f:
        f.write('go test fuzz v1\n')
        for v in values:
            if isinstance(v, bool):
                f.write('bool(%s)\n' % str(v).lower())
            else:
                f.write('[]byte("' + ''.join(chr(c) if 32 <= c < 127 and c not in (34, 92) else '\\x%02x' % c for c in v) + '")\n')


im = Image.new('RGB', (16, 12))
px = im.load()
for y in range(12):
    for x in range(16):
        px[x, y] = (x * 16, y * 20, (x * y * 3) % 256)
for name, mode, kw in (('progressive', 'RGB', dict(progressive=True, quality=80)),
                       ('subsampling-422', 'RGB', dict(subsampling=1, quality=75)),
                       ('gray-progressive', 'L', dict(progressive=True, quality=90)),
                       ('cmyk', 'CMYK', dict(quality=90))):
    b = io.BytesIO()
    im.convert(mode).save(b, 'JPEG', **kw)
    seed('FuzzDecodeJPEG', name, b.getvalue(), mode == 'L')
