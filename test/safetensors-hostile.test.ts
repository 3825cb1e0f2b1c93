/**
 * Hostile and damaged safetensors files: each must be refused at `open` with one UserError line that
 * names the file, without crashing and without allocating anything near the size the file claims.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../src/errors.js';
import { SafetensorsFile, MAX_HEADER_SIZE } from '../src/weights/index.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'st-hostile-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

/** A file from an 8-byte length (default: the real header length), header bytes and data bytes. */
function craft(name: string, header: string | Uint8Array, data: Uint8Array | number = 0, declared?: bigint): string {
  const h = typeof header === 'string' ? Buffer.from(header, 'utf8') : Buffer.from(header);
  const d = typeof data === 'number' ? Buffer.alloc(data) : Buffer.from(data);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(declared ?? BigInt(h.length));
  const file = path.join(dir, `${name}.safetensors`);
  writeFileSync(file, Buffer.concat([len, h, d]));
  return file;
}

const f32 = (shape: number[], begin: number, end: number) => ({ dtype: 'F32', shape, data_offsets: [begin, end] });

async function refused(file: string, pattern: RegExp): Promise<void> {
  await assert.rejects(SafetensorsFile.open(file), (err: unknown) => {
    assert.ok(err instanceof UserError, `expected UserError, got ${String(err)}`);
    assert.ok(!err.message.includes('\n'), 'one line');
    assert.ok(err.message.startsWith(file + ': '), `names the file: ${err.message}`);
    assert.match(err.message, pattern);
    console.log(`${path.basename(file)}: ${err.message.slice(file.length + 2)}`);
    return true;
  });
}

test('header length past the end of the file', () => refused(craft('past-end', '{}', 0, 1000n), /runs past the end/));

test('100 MB header length: refused before any allocation', async () => {
  const before = process.memoryUsage().arrayBuffers;
  await refused(craft('huge-header', '{}', 0, BigInt(MAX_HEADER_SIZE) + 1n), /exceeds the 100000000-byte maximum/);
  await refused(craft('u64-max', '{}', 0, 2n ** 64n - 1n), /exceeds/);
  // A length within the cap but past the end is refused from the file size, still without reading it.
  await refused(craft('99mb-header', '{}', 0, BigInt(MAX_HEADER_SIZE)), /runs past the end/);
  const grown = process.memoryUsage().arrayBuffers - before;
  console.log(`arrayBuffers grew by ${grown} bytes`);
  assert.ok(grown < 4 * 1024 * 1024, `arrayBuffers grew by ${grown} bytes`);
});

test('file shorter than the length prefix, or a zero-length header', async () => {
  const tiny = path.join(dir, 'tiny.safetensors');
  writeFileSync(tiny, Buffer.from([1, 2, 3, 4, 5]));
  await refused(tiny, /only 5 bytes, too short/);
  await refused(craft('zero-header', new Uint8Array(0)), /too short for a JSON object/);
});

test('non-UTF-8 header', () => refused(craft('bad-utf8', new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])), /not valid UTF-8/));

test('header that is not JSON, or not an object', async () => {
  await refused(craft('not-json', '{"a": '), /not valid JSON/);
  await refused(craft('array', '[1, 2]   '), /does not start with "\{"/);
  await refused(craft('null-entry', '{"a": null}'), /"a" is not a JSON object/);
});

test('unknown dtype', () =>
  refused(craft('dtype', JSON.stringify({ a: { dtype: 'F8_E4M3', shape: [4], data_offsets: [0, 4] } }), 4), /unsupported dtype "F8_E4M3"/));

test('shape and byte size disagree', () =>
  refused(craft('size-mismatch', JSON.stringify({ a: f32([2, 3], 0, 20) }), 20), /spans 20 bytes but F32 \[2,3\] needs 24/));

test('shape that overflows the element count, or is not integral', async () => {
  await refused(craft('overflow', JSON.stringify({ a: f32([2 ** 40, 2 ** 40], 0, 4) }), 4), /invalid shape/);
  await refused(craft('neg-shape', JSON.stringify({ a: f32([-1], 0, 4) }), 4), /invalid shape/);
  await refused(craft('frac-shape', JSON.stringify({ a: f32([1.5], 0, 4) }), 4), /invalid shape/);
});

test('overlapping offsets', () => refused(craft('overlap', JSON.stringify({ a: f32([2], 0, 8), b: f32([2], 4, 12) }), 12), /overlaps/));

test('offsets that end before they begin, or leave a gap', async () => {
  await refused(craft('reversed', JSON.stringify({ a: f32([1], 8, 4) }), 8), /end before they begin/);
  await refused(craft('gap', JSON.stringify({ a: f32([1], 0, 4), b: f32([1], 8, 12) }), 12), /gap/);
  await refused(craft('bad-offsets', JSON.stringify({ a: { dtype: 'F32', shape: [1], data_offsets: [0] } }), 4), /invalid "data_offsets"/);
});

test('keys listed out of offset order are fine (the reference sorts by offset)', async () => {
  const data = new Uint8Array(new Float32Array([1, 2]).buffer);
  const st = await SafetensorsFile.open(craft('reordered', JSON.stringify({ b: f32([1], 4, 8), a: f32([1], 0, 4) }), data));
  assert.deepEqual([...st.tensors.keys()], ['a', 'b']);
  assert.deepEqual(await st.readFloat32('b'), new Float32Array([2]));
  await st.close();
});

test('truncated data, and trailing bytes', async () => {
  await refused(craft('truncated', JSON.stringify({ a: f32([4], 0, 16) }), 10), /past the 10-byte data \(truncated file\?\)/);
  await refused(craft('trailing', JSON.stringify({ a: f32([1], 0, 4) }), 9), /cover 4 of 9 data bytes \(trailing bytes\)/);
});

test('__metadata__ must map strings to strings', async () => {
  await refused(craft('meta-num', JSON.stringify({ __metadata__: { a: 1 } })), /"__metadata__" value for "a" is not a string/);
  await refused(craft('meta-list', JSON.stringify({ __metadata__: ['x'] })), /"__metadata__" is not a JSON object/);
});

test('a missing file is a UserError too', () =>
  assert.rejects(SafetensorsFile.open(path.join(dir, 'absent.safetensors')), (e: unknown) => e instanceof UserError && /ENOENT/.test(e.message)));
