# Makes the fixtures Go cannot encode itself (run with Debian's /usr/bin/python3):
# a CMYK JPEG (Go's image/jpeg writes only gray and YCbCr) and a WebP
# (golang.org/x/image/webp only decodes).
from PIL import Image

im = Image.new('CMYK', (16, 16))
px = im.load()
for y in range(16):
    for x in range(16):
        px[x, y] = (0, 255, 255, 0) if x < 8 else ((255, 0, 0, 128) if y < 8 else (0, 0, 0, 0))
im.save('cmyk.jpg', quality=95)  # PIL reads back (255,0,0), (0,127,127), (255,255,255)

im = Image.new('RGB', (16, 12))
px = im.load()
for y in range(12):
    for x in range(16):
        px[x, y] = (x * 16, y * 20, 128)
im.save('rgb.webp', lossless=True)
