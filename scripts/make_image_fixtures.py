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

    # EXIF orientation 6 ("rotate 90"): Pillow ignores it in this pipeline, and so must we.
    exif = Image.Exif()
    exif[0x0112] = 6
    save('rgb_320x240_exif6.jpg', Image.fromarray(noise(240, 320, 3), 'RGB'), exif=exif.tobytes())

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
