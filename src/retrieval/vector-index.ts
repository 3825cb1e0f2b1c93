/**
 * Approximate nearest-neighbour search for large indexes: LanceDB's IVF-PQ index on the `vector` column.
 *
 * An exact search reads every row (linear in the collection: about 2 GB of float32 at a million images);
 * IVF-PQ reads a few partitions instead. It is trained with k-means into `partitions` clusters of the rows
 * (IVF: a query visits only the `nprobes` clusters whose centroids are nearest to it), and each vector is
 * compressed by product quantization (PQ: its 512 values cut into sub-vectors, each stored as the 8-bit id
 * of its nearest of 256 learned codes) so a partition scans fast. PQ distances are approximate, so the
 * best `k · REFINE_FACTOR` candidates are re-scored with their stored float32 vectors before the top `k`
 * are kept: the cosines `search` prints are exact, only the candidate set is approximate. The recall this
 * gives (against exact search) and the latency are measured by `npm run bench:index` (docs/performance.md).
 *
 * Rows committed after the index was trained are not lost: LanceDB scans them exactly beside the index, and
 * the writer's tidying (`optimize()`) adds them to the index's partitions without retraining; once the
 * table has grown fourfold since training, the run that finishes trains it again (index-store.ts).
 */
import './lance-log.js'; // before LanceDB loads
import * as lancedb from '@lancedb/lancedb';
import type * as arrow from 'apache-arrow';
import type { StoreEntry } from './table.js';

/**
 * Below this many rows `index` builds no approximate index and `search` scans exactly: an exact scan of
 * 100 000 rows answers in under a second (0.8 s on 2 cores), and k-means on fewer rows learns poor partitions (LanceDB
 * warns below 256 rows per partition). Measured: docs/performance.md, "Search at a million rows".
 */
export const ANN_MIN_ROWS = 100_000;
/**
 * IVF partitions visited per query: more is slower and closer to exact. With REFINE_FACTOR, chosen on a
 * million clustered rows (1,000 partitions): 100 and 30 gave recall@10 0.991-0.995 at 17-21 ms in two
 * builds of the index; 50 and 30 gave 0.965-0.979 at 13 ms (k-means starts at random, so builds differ),
 * too close to the 0.95 aimed at; 20 and 10, 0.87-0.90 (docs/performance.md, "Search at a million rows").
 */
export const NPROBES = 100;
/** Candidates re-scored exactly per result wanted (`k · REFINE_FACTOR` rows read in float32). */
export const REFINE_FACTOR = 30;
/**
 * k-means passes and rows sampled per partition (LanceDB's defaults: 50 and 256). Training is most of the
 * build and grows as (SAMPLE_RATE · partitions) × partitions × passes; 10 passes on 64 rows per partition
 * let a million rows build in under 4 minutes on the 2-core VM (100,000 rows: about a minute), with the
 * recall above.
 */
export const KMEANS_ITERATIONS = 10;
export const SAMPLE_RATE = 64;
const COLUMN = 'vector';

/** Whether the table has an approximate index on its vectors. */
export async function hasVectorIndex(table: lancedb.Table): Promise<boolean> {
  return (await table.listIndices()).some((ix) => ix.columns.includes(COLUMN));
}

/**
 * Trains an IVF-PQ index on the table's vectors (replacing one there): √rows partitions (LanceDB's own
 * rule: partitions of a few hundred to a few thousand rows), sub-vectors of 16 values (E/16 of them: the
 * width LanceDB's SIMD kernels take). Dot product, because the rows are unit vectors: dot = cosine.
 */
export async function buildVectorIndex(table: lancedb.Table, rows: number, embedDim: number): Promise<void> {
  const config = lancedb.Index.ivfPq({
    distanceType: 'dot',
    numPartitions: Math.max(1, Math.round(Math.sqrt(rows))),
    numSubVectors: embedDim % 16 === 0 ? embedDim / 16 : embedDim / 8,
    maxIterations: KMEANS_ITERATIONS,
    sampleRate: SAMPLE_RATE,
  });
  await table.createIndex(COLUMN, { config, replace: true });
}

export interface Neighbour {
  entry: StoreEntry;
  /** The stored vector (read for the exact re-score and for the caller's damage check). */
  vector: Float32Array;
  cosine: number;
}

/**
 * The `k` rows nearest to `query` by the approximate index (re-scored exactly; see the file comment),
 * best first. Without an index LanceDB would scan every row, which the exact scan of search.ts does with
 * the damage checks of index-reader.ts: call this only when `hasVectorIndex`.
 */
export async function approximateNearest(table: lancedb.Table, query: Float32Array, k: number): Promise<Neighbour[]> {
  const batches = await table
    .vectorSearch(query)
    .column(COLUMN)
    .distanceType('dot')
    .nprobes(NPROBES)
    .refineFactor(REFINE_FACTOR)
    .limit(k)
    .select(['path', 'size', 'mtime_ms', 'sha256', COLUMN, '_distance'])
    .toArrow();
  const out: Neighbour[] = [];
  for (const row of batches.toArray() as { path: string; size: number; mtime_ms: number; sha256: string; vector: arrow.Vector }[]) {
    const vector = Float32Array.from(row.vector.toArray() as Float32Array);
    let dot = 0;
    for (let j = 0; j < vector.length; j++) dot += query[j] * vector[j];
    out.push({ entry: { path: row.path, size: row.size, mtimeMs: row.mtime_ms, sha256: row.sha256 }, vector, cosine: dot });
  }
  // LanceDB ranks by its own float arithmetic; ours decides ties and the order printed.
  return out.sort((a, b) => b.cosine - a.cosine);
}
