/**
 * The pieces of the image pipeline on their own: torchvision's size and crop arithmetic, raw-pixel input,
 * the 16-bit policy, the pixel limit, and the `preprocess` CLI (files written whole, errors on one line).
 * Pixel parity with Pillow itself is in image-parity.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { SHARED_DIR } from './helpers.js';
import { centerCropWindow, resizedSize, roundHalfEven } from '../src/image/crop.js';
import { DEFAULT_PREPROCESS, preprocessImage, type RawImage } from '../src/image/index.js';
import { UserError } from '../src/errors.js';
import { command } from '../src/cli/commands/preprocess.js';

const IMAGES = path.join(SHARED_DIR, 'data', 'images');
const CT = path.join(IMAGES, '15_DERIVED_ct_small_16bit_gray.png');
const RGBA = path.join(IMAGES, '10_txv_rsna_pathology_mask_figure_rgba.png');

test('round half to even, as Python round()', () => {
  assert.deepEqual([0.5, 1.5, 2.5, 3.5, -0.5, 1.2, 1.7, 3].map(roundHalfEven), [0, 2, 2, 4, 0, 1, 2, 3]);
});

test('torchvision Resize(224) keeps the aspect ratio with a truncating int()', () => {
  assert.deepEqual(resizedSize(275, 183, 224), { width: 336, height: 224 });
  assert.deepEqual(resizedSize(4000, 50, 224), { width: 17920, height: 224 });
  assert.deepEqual(resizedSize(50, 4000, 224), { width: 224, height: 17920 });
  assert.deepEqual(resizedSize(1, 1, 224), { width: 224, height: 224 });
  assert.deepEqual(resizedSize(224, 300, 224), { width: 224, height: 300 });
});

test('CenterCrop offsets round half to even: excess 1 -> 0, 3 -> 2, 5 -> 2', () => {
  assert.equal(centerCropWindow(225, 224, 224).x0, 0);
  assert.equal(centerCropWindow(227, 224, 224).x0, 2);
  assert.equal(centerCropWindow(224, 229, 224).y0, 2);
  assert.equal(centerCropWindow(336, 224, 224).x0, 56);
});

/** Decodes a PNG with pngjs into a RawImage of 1, 3 or 4 channels. */
function rawFromPng(file: string, channels: 1 | 3 | 4): RawImage {
  const png = PNG.sync.read(readFileSync(file));
  const n = png.width * png.height;
  const data = new Uint8Array(n * channels);
  for (let p = 0; p < n; p++) for (let c = 0; c < channels; c++) data[p * channels + c] = png.data[p * 4 + c];
  return { data, width: png.width, height: png.height, channels };
}

test('raw RGBA and gray pixels give exactly what the same pixels from a file give', async () => {
  const fromFile = await preprocessImage(RGBA);
  const fromRaw = await preprocessImage(rawFromPng(RGBA, 4));
  assert.equal(fromRaw.mode, 'RGBA');
  assert.deepEqual(fromRaw.pixelValues, fromFile.pixelValues);
  const gray = path.join(IMAGES, '08_skimage_cell_gray.png');
  const grayRaw = await preprocessImage(rawFromPng(gray, 1));
  assert.equal(grayRaw.mode, 'L');
  assert.deepEqual(grayRaw.crop, (await preprocessImage(gray)).crop);
  const bytes = await preprocessImage(readFileSync(gray)); // encoded bytes (a Buffer)
  assert.deepEqual(bytes.crop, grayRaw.crop);
});

test('raw input with a wrong size or channel count is a one-line UserError', async () => {
  const bad: RawImage[] = [
    { data: new Uint8Array(11), width: 2, height: 2, channels: 3 },
    { data: new Uint8Array(0), width: 0, height: 0, channels: 1 },
    { data: new Uint8Array(4), width: 2, height: 1, channels: 2 as 1 },
  ];
  for (const raw of bad) await assert.rejects(preprocessImage(raw), UserError);
});

test('16-bit gray: Pillow saturation warns; rescale stretches and stays silent', async () => {
  const warnings: string[] = [];
  const pillow = await preprocessImage(CT, DEFAULT_PREPROCESS, { onWarning: (m) => warnings.push(m) });
  assert.equal(pillow.mode, 'I');
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /128\.\.2191.*--sixteen-bit rescale/);
  const white = pillow.crop.filter((v) => v === 255).length / pillow.crop.length;
  assert.ok(white > 0.8, `saturated CT should be mostly white, got ${white}`);
  const quiet: string[] = [];
  const rescaled = await preprocessImage(CT, DEFAULT_PREPROCESS, { sixteenBit: 'rescale', onWarning: (m) => quiet.push(m) });
  assert.equal(quiet.length, 0);
  const spread = new Set(rescaled.crop).size;
  assert.ok(spread > 150, `rescaled CT should use most gray levels, got ${spread}`);
});

test('the pixel limit is checked from the header, before decoding', async () => {
  await assert.rejects(preprocessImage(RGBA, DEFAULT_PREPROCESS, { maxPixels: 1000 }), /above the limit of 1000/);
});

test('missing file: one line naming it', async () => {
  await assert.rejects(preprocessImage('/nonexistent/x.png'), /\/nonexistent\/x\.png: cannot read image file \(ENOENT\)/);
});

test('preprocess CLI writes pixel_values [1,3,224,224] and a crop PNG; failures leave no file', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'biomedclip-pre-'));
  try {
    const out = path.join(dir, 'x.safetensors');
    const crop = path.join(dir, 'x.png');
    const log = console.log;
    console.log = () => {};
    try {
      assert.equal(await command.run([RGBA, '--out', out, '--png', crop, '--json']), 0);
    } finally {
      console.log = log;
    }
    const file = readFileSync(out);
    const headerLen = Number(file.readBigUInt64LE(0));
    const header = JSON.parse(file.subarray(8, 8 + headerLen).toString('utf8'));
    assert.deepEqual(header.pixel_values.shape, [1, 3, 224, 224]);
    assert.equal(header.pixel_values.dtype, 'F32');
    const expected = await preprocessImage(RGBA);
    const data = file.subarray(8 + headerLen);
    const stored = new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
    assert.deepEqual(stored, expected.pixelValues);
    const png = PNG.sync.read(readFileSync(crop));
    assert.deepEqual([png.width, png.height], [224, 224]);
    const bad = path.join(dir, 'bad.safetensors');
    await assert.rejects(command.run([path.join(IMAGES, '12_nm_wholebody_bone_12bit_sof1.jpg'), '--out', bad]), UserError);
    await assert.rejects(command.run([RGBA, '--out', bad, '--decoder', 'gpu']), /--decoder must be one of/);
    await assert.rejects(command.run([RGBA]), /needs --out/);
    assert.equal(existsSync(bad), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
