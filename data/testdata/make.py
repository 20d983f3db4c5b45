# Makes the fixtures Go cannot encode itself (run with Debian's /usr/bin/python3):
# a CMYK JPEG (Go's image/jpeg writes only gray and YCbCr) and WebPs (lossless,
# lossy with alpha, animated: seeds of the decoders' fuzz target).
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

rgba = Image.new('RGBA', (9, 7))
px = rgba.load()
for y in range(7):
    for x in range(9):
        px[x, y] = (x * 28, y * 36, 200, 40 * y)
rgba.save('lossy-alpha.webp', quality=50)
frames = [Image.new('RGB', (6, 5), c) for c in ((250, 0, 0), (0, 0, 250))]
frames[0].save('animated.webp', save_all=True, append_images=frames[1:], duration=50)
