"""PNG files written by hand for the image tests: what Pillow cannot write (Adam7 interlacing, 16-bit colour,
low-bit gray and palette, every filter type, IDAT split over chunks), so that both decoders meet them.

Imported by make_image_fixtures.py. The encoder follows the PNG spec (ISO/IEC 15948) directly: rows are packed
(bits high to low below 8 bits, big-endian at 16), each row is filtered with its own filter type, cycling
through all five, and an interlaced image is stored as Adam7's seven passes, each filtered as an image of its own.
"""
import struct
import zlib

import numpy as np

SIGNATURE = b'\x89PNG\r\n\x1a\n'
# Adam7 passes as (x0, y0, dx, dy).
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def chunk(kind, data):
    return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data) & 0xFFFFFFFF)


def pack_row(values, bit_depth):
    """One row of samples (flattened) -> bytes: big-endian pairs at 16 bits, packed high bits first below 8."""
    if bit_depth == 16:
        return values.astype('>u2').tobytes()
    if bit_depth == 8:
        return values.astype(np.uint8).tobytes()
    per_byte = 8 // bit_depth
    padded = np.concatenate([values.astype(np.uint8), np.zeros(-len(values) % per_byte, np.uint8)])
    shifts = np.arange(per_byte - 1, -1, -1) * bit_depth
    return (padded.reshape(-1, per_byte) << shifts).sum(axis=1).astype(np.uint8).tobytes()


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def filter_rows(rows, bpp, first_type):
    """Filters each row with type (first_type + row) % 5; the row above the first is all zeros."""
    out = bytearray()
    prev = bytes(len(rows[0]))
    for y, row in enumerate(rows):
        kind = (first_type + y) % 5
        line = bytearray([kind])
        for i, x in enumerate(row):
            a = row[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            line.append((x - (0, a, b, (a + b) // 2, paeth(a, b, c))[kind]) & 0xFF)
        out += line
        prev = row
    return bytes(out)


def encode_png(pixels, bit_depth, color_type, interlace=False, plte=None, trns=None, idat_chunks=1):
    """pixels: (h, w) or (h, w, channels) samples as stored (palette indices for colour type 3)."""
    h, w = pixels.shape[:2]
    samples = pixels.reshape(h, w, -1)
    bpp = max(1, samples.shape[2] * bit_depth // 8)
    data = b''
    for index, (x0, y0, dx, dy) in enumerate(ADAM7 if interlace else [(0, 0, 1, 1)]):
        sub = samples[y0::dy, x0::dx]
        if sub.shape[0] and sub.shape[1]:  # an empty pass has no bytes at all, not even filter types
            data += filter_rows([pack_row(r.reshape(-1), bit_depth) for r in sub], bpp, index)
    z = zlib.compress(data, 9)
    cuts = [len(z) * k // idat_chunks for k in range(idat_chunks + 1)]
    out = SIGNATURE + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, bit_depth, color_type, 0, 0, int(interlace)))
    out += chunk(b'PLTE', plte) if plte is not None else b''
    out += chunk(b'tRNS', trns) if trns is not None else b''
    out += b''.join(chunk(b'IDAT', z[cuts[k]:cuts[k + 1]]) for k in range(idat_chunks))
    return out + chunk(b'IEND', b'')


def png_variants(rng, noise):
    """name -> PNG bytes: each filter type, Adam7 at every bit depth and colour type, tRNS of each kind."""
    u16 = lambda *shape: rng.integers(0, 65536, size=shape).astype(np.uint16)
    low = lambda h, w, bits: rng.integers(0, 1 << bits, size=(h, w)).astype(np.uint8)
    palette = rng.integers(0, 256, size=13 * 3, dtype=np.uint8).tobytes()
    return {
        'png_rgb_filters_3idat_137x71.png': encode_png(noise(71, 137, 3), 8, 2, idat_chunks=3),
        'png_rgb_adam7_131x83.png': encode_png(noise(83, 131, 3), 8, 2, interlace=True),
        'png_rgb_adam7_3x2.png': encode_png(noise(2, 3, 3), 8, 2, interlace=True),  # passes 2, 3, 5 empty
        'png_rgb_adam7_1x1.png': encode_png(noise(1, 1, 3), 8, 2, interlace=True),
        'png_rgba_adam7_97x61.png': encode_png(noise(61, 97, 4), 8, 6, interlace=True),
        'png_rgba16_adam7_61x45.png': encode_png(u16(45, 61, 4), 16, 6, interlace=True),
        'png_rgb16_trns_filters_59x43.png': encode_png(u16(43, 59, 3), 16, 2, trns=struct.pack('>3H', 1, 2, 3)),
        'png_la_adam7_67x59.png': encode_png(noise(59, 67, 2), 8, 4, interlace=True),
        'png_la16_adam7_45x39.png': encode_png(u16(39, 45, 2), 16, 4, interlace=True),
        'png_i16_adam7_77x53.png': encode_png((rng.integers(0, 3000, size=(53, 77)) + 40).astype(np.uint16), 16, 0, interlace=True),
        'png_l8_trns_filters_89x61.png': encode_png(noise(61, 89, 1), 8, 0, trns=struct.pack('>H', 17)),
        'png_l4bit_adam7_99x65.png': encode_png(low(65, 99, 4), 4, 0, interlace=True),
        'png_l2bit_filters_75x33.png': encode_png(low(33, 75, 2), 2, 0),
        'png_l1bit_adam7_101x67.png': encode_png(low(67, 101, 1), 1, 0, interlace=True),
        'png_p8_filters_trns_73x51.png': encode_png(low(51, 73, 8) % 13, 8, 3, plte=palette, trns=bytes(range(0, 250, 25))),
        'png_p4_adam7_trns_83x59.png': encode_png(low(59, 83, 4) % 13, 4, 3, interlace=True, plte=palette, trns=bytes([0, 90, 180])),
        'png_p2_filters_71x47.png': encode_png(low(47, 71, 2), 2, 3, plte=palette[:12]),
        'png_p1_adam7_97x41.png': encode_png(low(41, 97, 1), 1, 3, interlace=True, plte=palette[:6]),
    }
