/**
 * How an index's writes scale with the number of commits (issue 23): a 1M-image index built in batches
 * of 16 is 62 500 commits. Commits batches of synthetic unit vectors and prints, every `--every` commits,
 * the time per commit and the size of the table's manifests (`_versions/`) and data (`data/`):
 *
 *   writer       IndexWriter.commit, as `index` writes: new rows appended, the table tidied (compacted,
 *                old versions deleted) every 1 024 commits
 *   merge-insert every batch a merge-insert and nothing tidied (the store's first version): each commit
 *                joins the batch against the whole path column and writes a manifest listing every
 *                fragment so far, so both time and manifests grow with the commits
 *
 * The bench commits about a hundred times a second, far faster than `index` embeds, so a run of minutes
 * stands for days of indexing; `--keep-ms` shortens how long the writer keeps superseded versions
 * (default 2 minutes) to the same scale, to show the folder's steady state.
 *
 * Not a test: figures for docs/performance.md ("Index writes at scale").
 *   npm run bench:index-writes -- [--commits 3000] [--batch 16] [--dim 512] [--every 500] [--mode writer|merge-insert|both] [--keep-ms MS]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { IndexWriter } from '../src/retrieval/index-store.js';
import { openTable, upsertRows, type StoreEntry } from '../src/retrieval/table.js';
import { mulberry32 } from '../src/util/random.js';

const { values } = parseArgs({
  options: {
    commits: { type: 'string', default: '3000' },
    batch: { type: 'string', default: '16' },
    dim: { type: 'string', default: '512' },
    every: { type: 'string', default: '500' },
    mode: { type: 'string', default: 'both' },
    'keep-ms': { type: 'string' },
  },
});
const COMMITS = Number(values.commits);
const BATCH = Number(values.batch);
const E = Number(values.dim);
const EVERY = Number(values.every);

/** One batch: entries named by commit and row, and [BATCH, E] unit vectors. */
function batch(c: number, next: () => number): { entries: StoreEntry[]; vectors: Float32Array } {
  const vectors = new Float32Array(BATCH * E);
  for (let i = 0; i < BATCH; i++) {
    let norm = 0;
    for (let j = 0; j < E; j++) norm += (vectors[i * E + j] = next() - 0.5) ** 2;
    for (let j = 0; j < E; j++) vectors[i * E + j] /= Math.sqrt(norm);
  }
  return { entries: Array.from({ length: BATCH }, (_, i) => ({ path: `c${c}/r${i}.png`, size: 0, mtimeMs: 0, sha256: '' })), vectors };
}

/** Megabytes under `dir` (du), 0 when it does not exist yet. */
function mb(dir: string): number {
  try {
    return Number(execFileSync('du', ['-sk', dir], { encoding: 'utf8' }).split('\t')[0]) / 1024;
  } catch {
    return 0;
  }
}

async function run(mode: 'writer' | 'merge-insert', root: string): Promise<void> {
  const index = path.join(root, mode);
  const images = path.join(root, 'images');
  mkdirSync(images, { recursive: true });
  const next = mulberry32(1);
  let commit: (c: number) => Promise<void>;
  let close: () => Promise<void>;
  if (mode === 'writer') {
    const keepVersionsMs = values['keep-ms'] === undefined ? undefined : Number(values['keep-ms']);
    const { writer } = await IndexWriter.open(index, {
      root: images,
      model: { dir: 'synthetic', fingerprint: 'sha256:synthetic' },
      embedDim: E,
      keepVersionsMs,
    });
    commit = (c) => {
      const b = batch(c, next);
      return writer.commit(b.entries, b.vectors);
    };
    close = async () => void (await writer.close({ skipped: [], complete: true }));
  } else {
    mkdirSync(index, { recursive: true });
    const table = await openTable(index, E, {});
    commit = (c) => {
      const b = batch(c, next);
      return upsertRows(table, b.entries, b.vectors);
    };
    close = async () => table.close();
  }
  const lance = path.join(index, 'rows.lance');
  console.log(`\n${mode}: ${COMMITS} commits of ${BATCH} rows of ${E} float32`);
  console.log('commits   ms/commit (last window)   _versions MB   data MB');
  let t0 = performance.now();
  for (let c = 0; c < COMMITS; c++) {
    await commit(c);
    if ((c + 1) % EVERY === 0 || c + 1 === COMMITS) {
      const ms = (performance.now() - t0) / ((c % EVERY) + 1);
      console.log(
        `${String(c + 1).padStart(7)}   ${ms.toFixed(1).padStart(22)}   ${mb(path.join(lance, '_versions')).toFixed(1).padStart(12)}   ${mb(path.join(lance, 'data')).toFixed(1).padStart(7)}`,
      );
      t0 = performance.now();
    }
  }
  await close();
}

const root = mkdtempSync(path.join(tmpdir(), 'biomedclip-bench-writes-'));
try {
  console.log(
    `machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores; live data: ${((COMMITS * BATCH * E * 4) / 2 ** 20).toFixed(0)} MB of vectors`,
  );
  const modes = values.mode === 'both' ? (['writer', 'merge-insert'] as const) : [values.mode as 'writer' | 'merge-insert'];
  for (const mode of modes) await run(mode, root);
} finally {
  rmSync(root, { recursive: true, force: true });
}
