#!/usr/bin/python3
"""Reference pixels for the image preprocessing tests, made by Pillow + torchvision exactly as open_clip does.

Run with Debian's interpreter (it has python3-pil 9.4 and python3-torchvision 0.14):

    /usr/bin/python3 scripts/make_image_fixtures.py OUT_DIR [--synthetic] [IMAGE ...]

For every IMAGE (and, with --synthetic, for the synthetic images this script first writes to OUT_DIR/synthetic)
it runs open_clip's eval transform for BiomedCLIP and writes, beside a manifest.json:

    <key>.crop.u8    the 224x224 RGB crop as Pillow holds it just before ToTensor (uint8, HWC)
    <key>.pix.f32    pixel_values after ToTensor + Normalize (float32 little-endian, CHW)

Images Pillow refuses get an "error" entry in the manifest instead, so the tests can check that we refuse them too.

Why these transforms: open_clip `transform.py` `image_transform(image_size=224, is_train=False,
resize_mode='shortest', interpolation='bicubic')` builds, for a square size, exactly
Compose([Resize(224, BICUBIC), CenterCrop(224), _convert_to_rgb, ToTensor(), Normalize(mean, std)]),
and BiomedCLIP's open_clip_config.json sets mean/std to the OpenAI CLIP values below.
"""
import io
import json
import os
import struct
import sys
import zlib

import numpy as np
from PIL import Image
from png_fixtures import png_variants  # scripts/, beside this file
from torchvision.transforms import CenterCrop, Compose, InterpolationMode, Normalize, Resize, ToTensor

SIZE = 224
MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)


def _convert_to_rgb(image):
    # open_clip's own helper (transform.py): a plain convert, no alpha compositing.
    return image.convert('RGB')


UP_TO_RGB = Compose([Resize(SIZE, interpolation=InterpolationMode.BICUBIC), CenterCrop(SIZE), _convert_to_rgb])
TO_PIXELS = Compose([ToTensor(), Normalize(mean=MEAN, std=STD)])


def reference(path, out_dir, key):
    """Runs the open_clip eval Compose on one file and writes its crop and pixel_values."""
    try:
        with Image.open(path) as im:
            im.load()
            mode, size = im.mode, im.size
            rgb = UP_TO_RGB(im)
    except Exception as exc:  # noqa: BLE001 -- the manifest records whatever Pillow refuses with
        return {'key': key, 'path': path, 'error': f'{type(exc).__name__}: {exc}'}
    crop = np.asarray(rgb, dtype=np.uint8)
    pixels = TO_PIXELS(rgb).numpy().astype('<f4')
    assert crop.shape == (SIZE, SIZE, 3) and pixels.shape == (3, SIZE, SIZE)
    crop.tofile(os.path.join(out_dir, key + '.crop.u8'))
    pixels.tofile(os.path.join(out_dir, key + '.pix.f32'))
    return {'key': key, 'path': path, 'mode': mode, 'width': size[0], 'height': size[1]}


def png_chunk(kind, data):
    return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data) & 0xFFFFFFFF)


def raw_png(width, height, rows, bit_depth=8, color_type=0):
    """A PNG written by hand, for headers Pillow will not write (0x0, absurd sizes)."""
    ihdr = struct.pack('>IIBBBBB', width, height, bit_depth, color_type, 0, 0, 0)
    return (b'\x89PNG\r\n\x1a\n' + png_chunk(b'IHDR', ihdr) + png_chunk(b'IDAT', zlib.compress(rows))
            + png_chunk(b'IEND', b''))


def write_synthetic(out_dir):
    """Writes the synthetic images (edge sizes, every PNG mode, JPEG variants, hostile files); returns paths."""
    d = os.path.join(out_dir, 'synthetic')
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(1234)

    def noise(h, w, c):
        # Smooth-ish noise: real edges and flat areas, so both rounding and clipping paths get exercised.
        base = rng.integers(0, 256, size=(h, w, c), dtype=np.uint8)
        ramp = (np.arange(w)[None, :, None] * 255 // max(w - 1, 1)).astype(np.uint8)
        return np.where(rng.random((h, w, 1)) < 0.5, base, ramp).astype(np.uint8)

    files = {}

    def save(name, image, **kw):
        p = os.path.join(d, name)
        image.save(p, **kw)
        files[name] = p

    save('rgb_1x1.png', Image.fromarray(noise(1, 1, 3), 'RGB'))
    save('rgb_224x224.png', Image.fromarray(noise(224, 224, 3), 'RGB'))
    save('rgb_4000x50.png', Image.fromarray(noise(50, 4000, 3), 'RGB'))
    save('rgb_50x4000.jpg', Image.fromarray(noise(4000, 50, 3), 'RGB'), quality=90)
    save('rgb_333x517_420.jpg', Image.fromarray(noise(517, 333, 3), 'RGB'), quality=85, subsampling=2)
    save('rgb_517x333_422.jpg', Image.fromarray(noise(333, 517, 3), 'RGB'), quality=85, subsampling=1)
    save('rgb_1001x999_progressive.jpg', Image.fromarray(noise(999, 1001, 3), 'RGB'), progressive=True)
    save('rgb_225x224.png', Image.fromarray(noise(224, 225, 3), 'RGB'))
    save('l_301x225.png', Image.fromarray(noise(225, 301, 1)[:, :, 0], 'L'))
    save('l_301x225.jpg', Image.fromarray(noise(225, 301, 1)[:, :, 0], 'L'))
    save('cmyk_300x200.jpg', Image.fromarray(noise(200, 300, 4), 'CMYK'))
    save('bilevel_301x227.png', Image.fromarray(noise(227, 301, 1)[:, :, 0] > 127).convert('1'))
    la = noise(300, 257, 2)
    save('la_257x300.png', Image.fromarray(la, 'LA'))
    rgba = noise(401, 299, 4)
    rgba[:100, :, 3] = 0  # fully transparent rows keep their hidden colour only through Pillow's rules
    save('rgba_299x401.png', Image.fromarray(rgba, 'RGBA'))
    pal = Image.fromarray(noise(181, 263, 3), 'RGB').quantize(colors=37)
    save('p_263x181_trns.png', pal, transparency=bytes(range(0, 37 * 6, 6))[:37])
    save('rgb_299x211_trns.png', Image.fromarray(noise(211, 299, 3), 'RGB'), transparency=(0, 0, 0))
    g16 = (rng.integers(0, 4096, size=(317, 451)) + np.arange(451)[None, :] * 8).astype(np.uint16)
    save('i16_451x317.png', Image.fromarray(g16.astype(np.int32), 'I'))  # Pillow writes mode I as 16-bit PNG
    g16_low = rng.integers(0, 200, size=(100, 130)).astype(np.int32)
    save('i16_low_130x100.png', Image.fromarray(g16_low, 'I'))

    # 16-bit RGB, 16-bit RGBA and 2-bit gray: Pillow cannot write them, so write the PNG rows by hand.
    def rows16(arr):
        h = arr.shape[0]
        return b''.join(b'\x00' + arr[y].astype('>u2').tobytes() for y in range(h))

    rgb16 = rng.integers(0, 65536, size=(150, 233, 3)).astype(np.uint16)
    write_bytes(d, files, 'rgb16_233x150.png', raw_png(233, 150, rows16(rgb16), 16, 2))
    rgba16 = rng.integers(0, 65536, size=(260, 190, 4)).astype(np.uint16)
    write_bytes(d, files, 'rgba16_190x260.png', raw_png(190, 260, rows16(rgba16), 16, 6))
    la16 = rng.integers(0, 65536, size=(123, 245, 2)).astype(np.uint16)
    write_bytes(d, files, 'la16_245x123.png', raw_png(245, 123, rows16(la16), 16, 4))
    g2 = rng.integers(0, 4, size=(97, 128)).astype(np.uint8)
    packed = (g2[:, 0::4] << 6) | (g2[:, 1::4] << 4) | (g2[:, 2::4] << 2) | g2[:, 3::4]
    write_bytes(d, files, 'l2bit_128x97.png', raw_png(128, 97, b''.join(b'\x00' + r.tobytes() for r in packed), 2, 0))
    # Adam7, every filter type, low-bit palette, tRNS of each kind: written by hand (png_fixtures.py).
    for name, data in png_variants(rng, noise).items():
        write_bytes(d, files, name, data)

    # EXIF orientation 6 ("rotate 90"): Pillow ignores it in this pipeline, and so must we.
    exif = Image.Exif()
    exif[0x0112] = 6
    save('rgb_320x240_exif6.jpg', Image.fromarray(noise(240, 320, 3), 'RGB'), exif=exif.tobytes())

    write_other_formats(d, files, noise, rng)

    # Hostile files: every one must be refused with one clear line.
    good_jpg = open(files['rgb_333x517_420.jpg'], 'rb').read()
    write_bytes(d, files, 'bad_truncated.jpg', good_jpg[: len(good_jpg) // 2])
    good_png = open(files['rgb_4000x50.png'], 'rb').read()
    write_bytes(d, files, 'bad_truncated.png', good_png[: len(good_png) // 2])
    write_bytes(d, files, 'bad_garbage.png', b'\x89PNG\r\n\x1a\n' + rng.integers(0, 256, 200, dtype=np.uint8).tobytes())
    write_bytes(d, files, 'bad_not_an_image.jpg', b'hello, this is text, not a JPEG\n')
    write_bytes(d, files, 'bad_empty.png', b'')
    write_bytes(d, files, 'bad_zero_size.png', raw_png(0, 0, b''))
    write_bytes(d, files, 'bad_huge_100000x100000.png', raw_png(100000, 100000, b'\x00' * 1000))
    return files


def bmp_file(width, height, bits, rows, header=40, compression=0, masks=None, palette=b'', colors=0, top_down=False):
    """A BMP written by hand (Pillow writes only 1/8/24-bit and BI_RGB): `rows` are the stored rows, in file order."""
    body = b''.join(rows)
    if header == 12:
        dib = struct.pack('<IHHHH', 12, width, height, 1, bits)
    else:
        dib = struct.pack('<IiiHHIIiiII', header, width, -height if top_down else height, 1, bits, compression,
                          len(body), 2835, 2835, colors, 0)
        if header > 40:
            dib += struct.pack('<4I', *(masks or (0, 0, 0, 0))) + b'\0' * (header - 56)
        elif masks:
            dib += struct.pack('<3I', *masks[:3])
    offset = 14 + len(dib) + len(palette)
    return b'BM' + struct.pack('<IHHI', offset + len(body), 0, 0, offset) + dib + palette + body


def gif_lzw_literal(indices, min_code_size):
    """GIF image data whose every index is sent as a literal after a clear code: a valid, simple LZW stream."""
    clear, size = 1 << min_code_size, min_code_size + 1
    codes = [c for i in indices for c in (clear, i)] + [clear + 1]
    bits = ''.join(format(c, '0%db' % size)[::-1] for c in codes)
    data = bytes(int(bits[i:i + 8][::-1], 2) for i in range(0, len(bits), 8))  # least significant bit first
    blocks = b''.join(bytes([len(data[i:i + 255])]) + data[i:i + 255] for i in range(0, len(data), 255))
    return bytes([min_code_size]) + blocks + b'\0'


def write_other_formats(d, files, noise, rng):
    """BMP, GIF, TIFF and WebP variants: each decoded as Pillow decodes it (issue 10, item 7)."""
    save = lambda name, image, **kw: (image.save(os.path.join(d, name), **kw), files.__setitem__(name, os.path.join(d, name)))
    rgb = Image.fromarray(noise(203, 301, 3), 'RGB')
    rgba = noise(190, 257, 4)
    rgba[:40, :, 3] = 0
    gray = Image.fromarray(noise(211, 283, 1)[:, :, 0], 'L')
    pal = rgb.quantize(colors=61)
    # BMP as Pillow writes it: 24-bit, 8-bit palette and grey, 1-bit, and RGBA (stored BGRA, read back as RGB).
    save('bmp_rgb24_301x203.bmp', rgb)
    save('bmp_p8_301x203.bmp', pal)
    save('bmp_l8_283x211.bmp', gray)
    save('bmp_1bit_283x211.bmp', gray.point(lambda v: 255 if v > 127 else 0).convert('1'))
    save('bmp_rgba_as_rgb_257x190.bmp', Image.fromarray(rgba, 'RGBA'))
    # BMP variants Pillow reads but does not write.
    w, h = 97, 61
    px = noise(h, w, 4)
    pad = lambda row: row + b'\0' * (-len(row) % 4)
    v15 = (px[..., 0] >> 3).astype(np.uint16) << 10 | (px[..., 1] >> 3).astype(np.uint16) << 5 | (px[..., 2] >> 3)
    write_bytes(d, files, 'bmp_555_97x61.bmp', bmp_file(w, h, 16, [pad(r.astype('<u2').tobytes()) for r in v15[::-1]]))
    v16 = (px[..., 0] >> 3).astype(np.uint16) << 11 | (px[..., 1] >> 2).astype(np.uint16) << 5 | (px[..., 2] >> 3)
    write_bytes(d, files, 'bmp_565_topdown_97x61.bmp', bmp_file(w, h, 16, [pad(r.astype('<u2').tobytes()) for r in v16], compression=3, masks=(0xF800, 0x7E0, 0x1F), top_down=True))
    bgra = px[..., [2, 1, 0, 3]].copy()
    bgra[:20, :, 3] = 0
    write_bytes(d, files, 'bmp_bgra_v5_97x61.bmp', bmp_file(w, h, 32, [r.tobytes() for r in bgra[::-1]], header=124, compression=3, masks=(0xFF0000, 0xFF00, 0xFF, 0xFF000000)))
    write_bytes(d, files, 'bmp_bgrx_v4_97x61.bmp', bmp_file(w, h, 32, [r.tobytes() for r in bgra[::-1]], header=108))
    idx4 = rng.integers(0, 16, size=(h, w)).astype(np.uint8)
    idx4[0, :4] = 15  # indices past the 10-colour palette read Pillow's default entries
    pal16 = rng.integers(0, 256, size=(10, 4), dtype=np.uint8).tobytes()
    packed = lambda row: pad(bytes((row[i] << 4) | (row[i + 1] if i + 1 < len(row) else 0) for i in range(0, len(row), 2)))
    write_bytes(d, files, 'bmp_p4_short_palette_97x61.bmp', bmp_file(w, h, 4, [packed(r) for r in idx4[::-1]], palette=pal16, colors=10))
    write_bytes(d, files, 'bmp_os2_p8_97x61.bmp', bmp_file(w, h, 8, [pad(r.tobytes()) for r in (idx4 * 3)[::-1]], header=12,
                                                           palette=rng.integers(0, 256, size=256 * 3, dtype=np.uint8).tobytes()))
    # RLE8 and RLE4: runs, absolute runs, end-of-line and end-of-bitmap codes.
    pal256 = rng.integers(0, 256, size=(256, 4), dtype=np.uint8).tobytes()
    rle8 = b''
    for y in range(h):
        row = (idx4[y] * 7 + y).astype(np.uint8)
        rle8 += bytes([20, int(row[0])]) + bytes([0, 40]) + row[20:60].tobytes() + bytes([w - 60, int(row[61])]) + b'\0\0'
    write_bytes(d, files, 'bmp_rle8_97x61.bmp', bmp_file(w, h, 8, [rle8 + b'\0\1'], compression=1, palette=pal256, colors=256))
    rle4 = b''
    for y in range(h):
        rle4 += bytes([30, 0x3A]) + bytes([0, 20]) + bytes((k % 16) << 4 | ((k + y) % 16) for k in range(10)) + bytes([w - 50, 0x7C]) + b'\0\0'
    write_bytes(d, files, 'bmp_rle4_97x61.bmp', bmp_file(w, h, 4, [rle4 + b'\0\1'], compression=2, palette=pal16 + pal16[:24], colors=16))
    # GIF: palette, grey (opens as L), transparency, interlaced, animated (first frame), and by hand: a
    # first frame smaller than the screen with a local palette and transparency, indices past the palette.
    save('gif_p_301x203.gif', pal)
    save('gif_p_interlaced_transparent_301x203.gif', pal, transparency=5, interlace=True)
    save('gif_l_283x211.gif', gray)
    frames = [rgb.quantize(colors=32), Image.fromarray(noise(203, 301, 3), 'RGB').quantize(colors=32)]
    save('gif_animated_301x203.gif', frames[0], save_all=True, append_images=frames[1:], duration=100)
    fw, fh = 40, 30
    local = rng.integers(0, 256, size=4 * 3, dtype=np.uint8).tobytes()
    indices = rng.integers(0, 8, size=fw * fh).tolist()  # 2-bit palette (4 entries), indices up to 7
    gce = b'!\xf9\x04\x01\x00\x00\x02\x00'  # transparency index 2
    descriptor = b',' + struct.pack('<4H', 7, 9, fw, fh) + bytes([0x80 | 1])
    gif = b'GIF89a' + struct.pack('<HH', 60, 50) + bytes([0, 0, 0]) + gce + descriptor + local + gif_lzw_literal(indices, 3) + b';'
    write_bytes(d, files, 'gif_offset_frame_local_palette_60x50.gif', gif)
    # TIFF: compressions, modes, multi-page (first page), and 16-bit grey (Pillow's resize refuses I;16).
    for comp in ('raw', 'tiff_lzw', 'tiff_deflate', 'packbits'):
        save('tiff_rgb_%s_301x203.tif' % comp, rgb, compression=comp)
    save('tiff_rgb_jpeg_301x203.tif', rgb, compression='jpeg')
    save('tiff_l_283x211.tif', gray, compression='tiff_lzw')
    save('tiff_1bit_283x211.tif', gray.point(lambda v: 255 if v > 127 else 0).convert('1'))
    save('tiff_p_301x203.tif', pal)
    save('tiff_rgba_257x190.tif', Image.fromarray(rgba, 'RGBA'), compression='tiff_deflate')
    save('tiff_cmyk_301x203.tif', rgb.convert('CMYK'))
    save('tiff_multipage_301x203.tif', rgb, save_all=True, append_images=[frames[1].convert('RGB')])
    save('tiff_i16_283x211.tif', Image.fromarray((np.asarray(gray, dtype=np.uint16) * 200)))
    # WebP: lossy and lossless, with and without alpha, animated (first frame).
    save('webp_lossy_rgb_301x203.webp', rgb, quality=80)
    save('webp_lossy_rgba_257x190.webp', Image.fromarray(rgba, 'RGBA'), quality=80)
    save('webp_lossless_rgb_301x203.webp', rgb, lossless=True)
    save('webp_lossless_rgba_257x190.webp', Image.fromarray(rgba, 'RGBA'), lossless=True)
    save('webp_animated_301x203.webp', rgb, save_all=True, append_images=[frames[1].convert('RGB')], duration=100)
    # Truncated files of each format are refused.
    for name in ('bmp_rgb24_301x203.bmp', 'gif_p_301x203.gif', 'tiff_rgb_raw_301x203.tif', 'webp_lossy_rgb_301x203.webp'):
        data = open(files[name], 'rb').read()
        write_bytes(d, files, 'bad_truncated_' + name, data[: len(data) // 2])


def write_bytes(d, files, name, data):
    p = os.path.join(d, name)
    with open(p, 'wb') as f:
        f.write(data)
    files[name] = p


def main(argv):
    if not argv or argv[0].startswith('-'):
        sys.exit('usage: make_image_fixtures.py OUT_DIR [--synthetic] [IMAGE ...]')
    out_dir = argv[0]
    os.makedirs(out_dir, exist_ok=True)
    images = {os.path.basename(p): p for p in argv[1:] if p != '--synthetic'}
    if '--synthetic' in argv[1:]:
        images.update(write_synthetic(out_dir))
    entries = [reference(p, out_dir, key) for key, p in sorted(images.items())]
    versions = {'pillow': Image.__version__, 'torchvision': __import__('torchvision').__version__}
    with open(os.path.join(out_dir, 'manifest.json'), 'w') as f:
        json.dump({'size': SIZE, 'mean': MEAN, 'std': STD, 'versions': versions, 'images': entries}, f, indent=1)
    print(f'{len(entries)} images ({sum("error" in e for e in entries)} refused by Pillow) -> {out_dir}')


if __name__ == '__main__':
    main(sys.argv[1:])
