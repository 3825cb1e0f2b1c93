/**
 * The writer trains the approximate vector index itself (issue 23): a finished run that leaves
 * ANN_MIN_ROWS - 1 rows trains none, and the run that brings the table to ANN_MIN_ROWS does; later rows
 * are still found; a run that stops early (Ctrl-C, a failed batch) trains nothing, since the index is
 * trained once the rows are all there. Rows are synthetic unit vectors committed through IndexWriter,
 * as `index` commits embeddings.
 */
// test tier: full (100 000 rows written in 1 112 commits and an IVF-PQ index trained: about 25 s of CPU)
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { IndexReader } from '../src/retrieval/index-reader.js';
import { IndexWriter } from '../src/retrieval/index-store.js';
import { searchIndex } from '../src/retrieval/search.js';
import { openExistingTable } from '../src/retrieval/table.js';
import { ANN_MIN_ROWS } from '../src/retrieval/vector-index.js';
import { mulberry32 } from '../src/util/random.js';
import { unitRows } from './helpers.js';

const E = 16;
const root = mkdtempSync(path.join(tmpdir(), 'biomedclip-ann-threshold-'));
after(() => rmSync(root, { recursive: true, force: true }));
const model = { dir: 'synthetic', fingerprint: 'sha256:synthetic' };

async function run(index: string, first: number, n: number, complete = true): Promise<void> {
  const images = path.join(root, 'images');
  mkdirSync(images, { recursive: true });
  const { writer } = await IndexWriter.open(index, { root: images, model, embedDim: E });
  const rows = unitRows(n, E, mulberry32(first));
  // 90 rows a commit: 1 112 commits for the first run, so the writer tidies the table while it writes.
  for (let start = 0; start < n; start += 90) {
    const count = Math.min(90, n - start);
    const entries = Array.from({ length: count }, (_, i) => ({ path: `r${first + start + i}.png`, size: 0, mtimeMs: 0, sha256: '' }));
    await writer.commit(entries, rows.subarray(start * E, (start + count) * E));
  }
  await writer.close({ skipped: [], complete });
}

async function vectorIndexed(index: string): Promise<boolean> {
  const reader = await IndexReader.open(index);
  try {
    return reader.vectorIndexed;
  } finally {
    await reader.close();
  }
}

test('a finished run that brings the table to ANN_MIN_ROWS trains the vector index; fewer rows or an unfinished run do not', async () => {
  const index = path.join(root, 'grow.index');
  await run(index, 0, ANN_MIN_ROWS - 1);
  assert.equal(await vectorIndexed(index), false, `${ANN_MIN_ROWS - 1} rows: exact search`);
  const table = await openExistingTable(index);
  const { numFragments } = (await table.stats()).fragmentStats;
  table.close();
  console.log(`# ${Math.ceil((ANN_MIN_ROWS - 1) / 90)} commits of 90 rows: ${numFragments} fragment(s) after the run`);
  assert.ok(numFragments <= 2, 'the writer compacts as it goes and when it finishes');
  await run(index, ANN_MIN_ROWS - 1, 1, false);
  assert.equal(await vectorIndexed(index), false, 'an unfinished run trains nothing');
  await run(index, ANN_MIN_ROWS, 1);
  assert.equal(await vectorIndexed(index), true, `${ANN_MIN_ROWS + 1} rows after a finished run: the vector index`);
  const trainedOn = () => JSON.parse(readFileSync(path.join(index, 'index.json'), 'utf8')).vectorIndex;
  assert.deepEqual(trainedOn(), { rows: ANN_MIN_ROWS + 1 }, 'index.json records what it was trained on (retrained at 4x)');

  // A row committed after training is found by the approximate search (LanceDB scans unindexed rows too).
  await run(index, 5_000_000, 1);
  assert.deepEqual(trainedOn(), { rows: ANN_MIN_ROWS + 1 }, 'one more row: not retrained');
  const reader = await IndexReader.open(index);
  try {
    const query = unitRows(1, E, mulberry32(5_000_000));
    const { hits, method } = await searchIndex(reader, query, 1, 100);
    assert.deepEqual([method, hits[0].path], ['approximate', 'r5000000.png']);
    console.log(`# a row added after training: found first by the approximate search, cosine ${hits[0].cosine}`);
  } finally {
    await reader.close();
  }
});
