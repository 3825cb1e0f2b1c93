/**
 * `index` run again on a folder that changed (issue 19, items 5, 12, 17; issue 23): a changed file is
 * embedded again into its own row (the count stays), the rows of removed files are kept and reported until
 * `--prune` drops them, and every row still holds the embedding of the file it names. A folder with no images, an index
 * with no rows, an index another run is writing and a damaged index.json each get one line that says what
 * to do, and the command it suggests works.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import * as path from 'node:path';
import { BiomedCLIP } from '../src/api/biomedclip.js';
import { IndexWriter } from '../src/retrieval/index-store.js';
import { acquireLock } from '../src/retrieval/lock.js';
import { modelFingerprint } from '../src/weights/fingerprint.js';
import { parseNpyHeader } from '../src/retrieval/npy.js';
import { deleteAllRows, indexRows } from './index-rows.js';
import { cliInProcess, EXAMPLE_IMAGES, tempDemoModel } from './helpers.js';

const { dir, model, ready } = tempDemoModel('biomedclip-refresh-');
const E = 64; // the demo model's embedding width
let clip: BiomedCLIP;

// wasm, the default backend without a GPU: index and search behave the same on it, and it embeds in a fifth of cpu's time.
const run = (...args: string[]) => cliInProcess(...args, '--model', model, '--backend', 'wasm', '--quiet');

/** Five images: the two examples under several names, so rows differ by content as well as by name. */
function makeImages(name: string): string {
  const images = path.join(dir, name);
  mkdirSync(images, { recursive: true });
  ['a.jpeg', 'c.jpeg', 'e.jpeg'].forEach((f) => copyFileSync(EXAMPLE_IMAGES.squamous, path.join(images, f)));
  ['b.jpg', 'd.jpg'].forEach((f) => copyFileSync(EXAMPLE_IMAGES.adenocarcinoma, path.join(images, f)));
  return images;
}

/** Every row of the index equals the embedding of the file it names, now; the paths, sorted. */
async function rowsMatchFiles(index: string, images: string): Promise<string[]> {
  const rows = await indexRows(index, E);
  assert.equal(new Set(rows.map((r) => r.path)).size, rows.length, 'no path stored twice');
  const direct = await clip.encodeImages(rows.map((m) => path.join(images, m.path)));
  rows.forEach((m, i) => {
    const diff = Math.max(...direct[i].embedding.map((v, k) => Math.abs(v - m.embedding[k])));
    assert.ok(diff < 1e-5, `row ${i} (${m.path}) holds its file's embedding (max diff ${diff})`);
    assert.equal(
      m.sha256,
      createHash('sha256')
        .update(readFileSync(path.join(images, m.path)))
        .digest('hex'),
      `${m.path}: the hash of its bytes`,
    );
  });
  return rows.map((m) => m.path);
}

before(async () => {
  await ready();
  clip = await BiomedCLIP.load(model, { backend: 'wasm' });
});

after(() => clip?.dispose());

test('a changed file is embedded again into its row; removed files keep their rows until --prune; search agrees', async () => {
  const images = makeImages('changing');
  const index = path.join(dir, 'changing.index');
  assert.equal((await run('index', images, '--out', index)).code, 0);
  const before = new Map((await indexRows(index, E)).map((r) => [r.path, r.embedding]));
  copyFileSync(EXAMPLE_IMAGES.adenocarcinoma, path.join(images, 'c.jpeg')); // other bytes under an indexed name
  const r = await run('index', images, '--out', index, '--json');
  assert.equal(r.code, 0, r.errors.join('\n'));
  const json = JSON.parse(r.out);
  assert.deepEqual(json.changed, ['c.jpeg']);
  assert.equal(json.count, 5, 'replaced, not appended');
  const after = new Map((await indexRows(index, E)).map((r) => [r.path, r.embedding]));
  assert.notDeepEqual(after.get('c.jpeg'), before.get('c.jpeg'), "c.jpeg's row holds its new bytes' embedding");
  assert.deepEqual(after.get('a.jpeg'), before.get('a.jpeg'), 'an unchanged row is untouched');

  rmSync(path.join(images, 'a.jpeg'));
  rmSync(path.join(images, 'e.jpeg'));
  const kept = await cliInProcess('index', images, '--out', index, '--model', model, '--backend', 'wasm');
  assert.equal(kept.code, 0, kept.errors.join('\n'));
  assert.deepEqual((await indexRows(index, E)).length, 5, 'without --prune the rows stay');
  assert.ok(
    kept.stderr.some((l) => /2 indexed files no longer exist \(e\.g\. a\.jpeg\): their rows are kept; add --prune to remove them/.test(l)),
    kept.stderr.join('\n'),
  );
  const pruned = await run('index', images, '--out', index, '--prune', '--json');
  assert.equal(pruned.code, 0, pruned.errors.join('\n'));
  const prunedJson = JSON.parse(pruned.out);
  assert.deepEqual([prunedJson.removed.sort(), prunedJson.missing, prunedJson.count], [['a.jpeg', 'e.jpeg'], [], 3]);
  assert.equal(prunedJson.alreadyIndexed, 3);
  assert.deepEqual((await rowsMatchFiles(index, images)).sort(), ['b.jpg', 'c.jpeg', 'd.jpg']);
  const search = await run('search', index, '--image', path.join(images, 'c.jpeg'), '--json');
  assert.equal(search.code, 0, search.errors.join('\n'));
  assert.equal(JSON.parse(search.out).count, 3);
  const again = JSON.parse((await run('index', images, '--out', index, '--json')).out);
  assert.deepEqual([again.added, again.changed.length, again.removed.length, again.alreadyIndexed], [0, 0, 0, 3], 'a third run has nothing to do');
});

test('a folder with no images is an error, and an existing index of it is left as it was', async () => {
  const empty = path.join(dir, 'empty');
  mkdirSync(empty);
  writeFileSync(path.join(empty, 'notes.txt'), 'no images here');
  const r = await run('index', empty, '--out', path.join(dir, 'empty.index'));
  assert.equal(r.code, 1);
  assert.equal(r.errors.length, 1);
  assert.match(r.errors[0], /empty: no images to index \(none named \.jpg .*; 1 files with other extensions\); pass the folder that holds the images/);
  assert.ok(!existsSync(path.join(dir, 'empty.index')), 'no index folder left behind');

  const images = makeImages('emptied');
  const index = path.join(dir, 'emptied.index');
  assert.equal((await run('index', images, '--out', index)).code, 0);
  for (const f of ['a.jpeg', 'b.jpg', 'c.jpeg', 'd.jpg', 'e.jpeg']) rmSync(path.join(images, f));
  assert.equal((await run('index', images, '--out', index)).code, 1);
  assert.equal(JSON.parse(readFileSync(path.join(index, 'index.json'), 'utf8')).count, 5, 'an emptied (unmounted?) folder does not empty the index');
});

test('search on an index with no rows is an error saying what to do', async () => {
  const images = makeImages('no-rows');
  const index = path.join(dir, 'no-rows.index');
  // An empty finished index, as an older version left for an empty folder (index now refuses those).
  const { writer } = await IndexWriter.open(index, { root: images, model: { dir: model, fingerprint: await modelFingerprint(model) }, embedDim: E });
  await writer.close({ skipped: [], complete: true });
  const r = await run('search', index, 'tumor');
  assert.equal(r.code, 1);
  assert.equal(r.errors.length, 1);
  assert.match(r.errors[0], /no-rows\.index: the index holds no images; index a folder that has some into a new folder/);
});

test('search on an index being written names the writer and says to wait', async () => {
  const images = makeImages('writing');
  const index = path.join(dir, 'writing.index');
  assert.equal((await run('index', images, '--out', index)).code, 0);
  const info = JSON.parse(readFileSync(path.join(index, 'index.json'), 'utf8'));
  writeFileSync(path.join(index, 'index.json'), JSON.stringify({ ...info, complete: false }));
  const lock = await acquireLock(index);
  const saved = console.error;
  const lines: string[] = [];
  try {
    console.error = (...a: unknown[]) => void lines.push(a.join(' '));
    const { main } = await import('../src/cli/main.js');
    assert.equal(await main(['search', index, 'tumor', '--model', model, '--backend', 'wasm']), 0);
  } finally {
    console.error = saved;
    await lock.release();
  }
  const note = lines.find((l) => l.includes('incomplete'));
  assert.match(note ?? '', new RegExp(`\`biomedclip index\` \\(process ${process.pid}\\) is still writing it; search again when it has finished`));
  assert.ok(!/finish it with/.test(note ?? ''), 'no advice to run index, which would hit the lock');

  await deleteAllRows(index);
  writeFileSync(path.join(index, 'index.json'), JSON.stringify({ ...info, count: 0, complete: false }));
  const lock2 = await acquireLock(index);
  try {
    const r = await run('search', index, 'tumor');
    assert.equal(r.code, 1);
    assert.match(r.errors[0], new RegExp(`no images yet: \`biomedclip index\` \\(process ${process.pid}\\) is writing it; wait`));
  } finally {
    await lock2.release();
  }
});

test('a damaged index.json: the command the error suggests works', async () => {
  const images = makeImages('json');
  const index = path.join(dir, 'json.index');
  assert.equal((await run('index', images, '--out', index)).code, 0);
  writeFileSync(path.join(index, 'index.json'), '{"format": "biomedclip-ind');
  for (const args of [
    ['search', index, 'tumor'],
    ['index', images, '--out', index],
  ]) {
    const r = await run(...args);
    assert.equal(r.code, 1);
    assert.equal(r.errors.length, 1);
    const suggested = /`biomedclip (index [^`]*)`/.exec(r.errors[0]);
    assert.ok(suggested, r.errors[0]);
    const command = suggested[1]
      .replace('IMAGES_DIR', images)
      .replace('NEW_INDEX', path.join(dir, `json-${args[0]}.index`))
      .split(' ');
    assert.notEqual(command[3], index, 'not the same broken folder');
    const fixed = await run(...command);
    assert.equal(fixed.code, 0, `${command.join(' ')}: ${fixed.errors.join('\n')}`);
  }
});

test('`index export --npy` writes embeddings.npy and manifest.jsonl that hold the table, row for row', async () => {
  const images = makeImages('export');
  const index = path.join(dir, 'export.index');
  assert.equal((await run('index', images, '--out', index)).code, 0);
  const out = path.join(dir, 'export.npy');
  const r = await cliInProcess('index', 'export', index, '--npy', out);
  assert.equal(r.code, 0, r.errors.join('\n'));
  const npy = readFileSync(path.join(out, 'embeddings.npy'));
  const header = parseNpyHeader(npy.subarray(0, 128), 'embeddings.npy');
  assert.deepEqual([header.rows, header.cols], [5, E]);
  const values = new Float32Array(npy.buffer.slice(npy.byteOffset + header.dataOffset, npy.byteOffset + npy.length));
  assert.equal(values.length, 5 * E, 'exactly the rows the header says');
  const lines = readFileSync(path.join(out, 'manifest.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { row: number; path: string; sha256: string });
  const stored = new Map((await indexRows(index, E)).map((x) => [x.path, x]));
  let maxDiff = 0;
  lines.forEach((l, i) => {
    assert.equal(l.row, i);
    assert.equal(l.sha256, stored.get(l.path)?.sha256);
    stored.get(l.path)?.embedding.forEach((v, k) => (maxDiff = Math.max(maxDiff, Math.abs(v - values[i * E + k]))));
  });
  console.log(`export: max |npy row - table row| = ${maxDiff} (tolerance 0)`);
  assert.equal(maxDiff, 0);
  assert.deepEqual(lines.map((l) => l.path).sort(), [...stored.keys()].sort());
  const again = await cliInProcess('index', 'export', index, '--npy', out);
  assert.equal(again.code, 2);
  assert.match(again.errors[0], /export\.npy: not empty; pass a new or empty folder/);
});
