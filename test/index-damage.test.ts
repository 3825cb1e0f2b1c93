/**
 * `search` verifies the index before answering (issue 10, item 4): a truncated embeddings.npy, a garbage
 * or torn manifest line, a count that disagrees, a NaN or non-unit row are each refused with one line that
 * says what is wrong and how to repair it, where search used to exit 0, call the index complete and
 * silently return fewer results (or rank a NaN row with cosine `null`). Re-running `index` repairs the
 * structural damage; an interrupted index stays searchable as far as it was committed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync, cpSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { writeDemoModel } from '../src/demo/demo-model.js';
import { NPY_HEADER_BYTES } from '../src/retrieval/npy.js';
import { cliInProcess, EXAMPLE_IMAGES } from './helpers.js';

let dir = '';
let images = '';
let model = '';
let pristine = '';
const E = 64; // the demo model's embedding width

const cli = (...args: string[]) => cliInProcess(...args, '--backend', 'cpu', '--quiet');

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'biomedclip-damage-'));
  model = path.join(dir, 'model');
  await writeDemoModel(model);
  images = path.join(dir, 'images');
  mkdirSync(images);
  copyFileSync(EXAMPLE_IMAGES.squamous, path.join(images, 'a.jpeg'));
  copyFileSync(EXAMPLE_IMAGES.adenocarcinoma, path.join(images, 'b.jpg'));
  copyFileSync(EXAMPLE_IMAGES.squamous, path.join(images, 'c.jpeg'));
  pristine = path.join(dir, 'pristine');
  const built = await cli('index', images, '--out', pristine, '--model', model);
  assert.equal(built.code, 0, built.errors.join('\n'));
});

after(() => rmSync(dir, { recursive: true, force: true }));

let copies = 0;
/** A fresh copy of the finished three-image index, damaged by `damage`. */
function damagedCopy(damage: (index: string) => void): string {
  const index = path.join(dir, `copy-${copies++}`);
  cpSync(pristine, index, { recursive: true });
  damage(index);
  return index;
}

/** search refuses with exactly one error line matching `pattern`, and prints nothing. */
async function refused(index: string, pattern: RegExp): Promise<void> {
  const r = await cli('search', index, 'tumor', '--json');
  assert.equal(r.code, 1, `search answered from a damaged index: ${r.out}`);
  assert.equal(r.errors.length, 1);
  assert.match(r.errors[0], /damaged index: /);
  assert.match(r.errors[0], pattern);
  assert.equal(r.out, '');
  console.log(r.errors[0]);
}

const manifest = (index: string) => path.join(index, 'manifest.jsonl');
const npy = (index: string) => path.join(index, 'embeddings.npy');

test('the undamaged index answers with every image', async () => {
  const r = await cli('search', pristine, 'tumor', '--json');
  assert.equal(r.code, 0);
  const result = JSON.parse(r.out);
  assert.equal(result.complete, true);
  assert.equal(result.results.length, 3);
});

test('a truncated embeddings.npy is refused, and re-running index repairs it', async () => {
  const index = damagedCopy((i) => truncateSync(npy(i), NPY_HEADER_BYTES + 2 * E * 4 + 10));
  await refused(index, /manifest\.jsonl lists 3 images but embeddings\.npy holds 2 rows; re-run `biomedclip index .* --out .*` to repair it/);
  const repaired = await cli('index', images, '--out', index, '--model', model);
  assert.equal(repaired.code, 0, repaired.errors.join('\n'));
  const r = await cli('search', index, 'tumor', '--json');
  assert.equal(r.code, 0, r.errors.join('\n'));
  assert.equal(JSON.parse(r.out).results.length, 3);
});

test('a garbage manifest line, a torn last line and a count that disagrees are refused', async () => {
  await refused(
    damagedCopy((i) => {
      const lines = readFileSync(manifest(i), 'utf8').split('\n');
      lines[1] = '{"row":1,"path":"b.jpg","si#garbage';
      writeFileSync(manifest(i), lines.join('\n'));
    }),
    /manifest\.jsonl line 2 is not the entry of row 1/,
  );
  await refused(
    damagedCopy((i) => {
      const text = readFileSync(manifest(i), 'utf8');
      writeFileSync(manifest(i), text.slice(0, text.length - 10));
    }),
    /index\.json says 3 images but manifest\.jsonl lists 2/,
  );
  await refused(
    damagedCopy((i) => appendFileSync(manifest(i), '{"row":3,"path":"d.jpg"')),
    /manifest\.jsonl ends in a torn line/,
  );
  await refused(
    damagedCopy((i) => appendFileSync(manifest(i), readFileSync(manifest(i), 'utf8'))), // two writers' lines, doubled
    /manifest\.jsonl line 4 is not the entry of row 3/,
  );
  await refused(
    damagedCopy((i) => appendFileSync(npy(i), Buffer.alloc(E * 4))),
    /embeddings\.npy is \d+ bytes, \d+ for 3 rows/,
  );
});

test('a NaN row or a row that is not unit-norm is refused, naming the row and its image; index embeds it again', async () => {
  const setRow = (i: string, row: number, edit: (v: Float32Array) => void) => {
    const bytes = readFileSync(npy(i));
    const v = new Float32Array(bytes.buffer.slice(bytes.byteOffset + NPY_HEADER_BYTES + row * E * 4, bytes.byteOffset + NPY_HEADER_BYTES + (row + 1) * E * 4));
    edit(v);
    Buffer.from(v.buffer).copy(bytes, NPY_HEADER_BYTES + row * E * 4);
    writeFileSync(npy(i), bytes);
  };
  const nan = damagedCopy((i) => setRow(i, 1, (v) => (v[3] = NaN)));
  await refused(nan, /row 1 \(b\.jpg\) holds NaN or Inf; re-run `biomedclip index .* --out .*` to embed it again/);
  const scaled = damagedCopy((i) => setRow(i, 2, (v) => v.forEach((x, k) => (v[k] = 2 * x))));
  await refused(scaled, /row 2 \(c\.jpeg\) is not unit-norm \(norm 2/);
  // index checks rows as search does: it embeds the bad row again instead of calling it "already indexed".
  for (const index of [nan, scaled]) {
    const repaired = await cliInProcess('index', images, '--out', index, '--model', model, '--backend', 'cpu', '--json');
    assert.equal(repaired.code, 0, repaired.errors.join('\n'));
    const json = JSON.parse(repaired.out);
    assert.equal(json.repaired.length, 1);
    assert.equal(json.alreadyIndexed, 2);
    const r = await cli('search', index, 'tumor', '--json');
    assert.equal(r.code, 0, r.errors.join('\n'));
    assert.equal(JSON.parse(r.out).results.length, 3);
  }
});

test('an interrupted index (killed run: torn tail, uncommitted rows) is searchable as far as it was committed', async () => {
  const index = damagedCopy((i) => {
    const info = JSON.parse(readFileSync(path.join(i, 'index.json'), 'utf8'));
    writeFileSync(path.join(i, 'index.json'), JSON.stringify({ ...info, complete: false, count: 2 }));
    appendFileSync(npy(i), Buffer.alloc(E * 4 + 7)); // an uncommitted row and part of another
    appendFileSync(manifest(i), '{"row":3,"pa'); // a torn line
  });
  assert.ok(statSync(npy(index)).size > NPY_HEADER_BYTES + 3 * E * 4);
  const r = await cli('search', index, 'tumor', '--json');
  assert.equal(r.code, 0, r.errors.join('\n'));
  const result = JSON.parse(r.out);
  assert.equal(result.complete, false);
  assert.equal(result.count, 3);
  assert.equal(result.results.length, 3);
});
