/**
 * Cosine search over an index: the query embedding is L2-normalized and so is every row, so a dot product
 * is the cosine similarity, exactly what `embed` output gives by hand. The logit is CLIP's
 * exp(logit_scale) · cosine, the number zero-shot classification feeds to its softmax.
 *
 * Two ways to find the top k. Exact: every row is read (the LanceDB table streamed batch by batch) and
 * scored here, linear in the index size. Approximate: when `index` has trained a vector index (past
 * ANN_MIN_ROWS rows, vector-index.ts), LanceDB visits only the partitions nearest the query, and the
 * cosines of what it returns are exact; a true neighbour can be missed (recall measured in
 * docs/performance.md). `exact` forces the scan.
 */
import type { IndexReader } from './index-reader.js';
import type { StoreEntry } from './table.js';
import { UNIT_NORM_TOLERANCE } from './rows.js';

export interface Hit {
  rank: number;
  /** Path relative to the index root, as stored. */
  path: string;
  /** Absolute path of the image. */
  file: string;
  cosine: number;
  logit: number;
}

interface Scored {
  entry: Pick<StoreEntry, 'path'>;
  cosine: number;
}

/** Inserts into `top` (sorted by cosine, descending; ties keep the row met first), keeping at most k. */
function insert(top: Scored[], item: Scored, k: number): void {
  if (top.length === k && item.cosine <= top[k - 1].cosine) return;
  let i = top.length;
  while (i > 0 && top[i - 1].cosine < item.cosine) i--;
  top.splice(i, 0, item);
  if (top.length > k) top.pop();
}

export type SearchMethod = 'exact' | 'approximate';

/**
 * The `k` rows most similar to `query` (a normalized embedding of the index's dimension): by the vector
 * index when there is one, unless `exact`.
 */
export async function searchIndex(
  reader: IndexReader,
  query: Float32Array,
  k: number,
  logitScale: number,
  opts: { exact?: boolean } = {},
): Promise<{ hits: Hit[]; method: SearchMethod }> {
  if (query.length !== reader.embedDim) throw new Error(`search: query has ${query.length} values, index rows have ${reader.embedDim}`);
  const approximate = reader.vectorIndexed && !opts.exact;
  const top = approximate ? await reader.approximate(query, k) : await exactTop(reader, query, k);
  const hits = top.map((t, i) => ({ rank: i + 1, path: t.entry.path, file: reader.resolve(t.entry), cosine: t.cosine, logit: logitScale * t.cosine }));
  return { hits, method: approximate ? 'approximate' : 'exact' };
}

/**
 * The top `k` by reading and scoring every row. The damage check (finite, unit-norm: rows.ts) rides in the
 * same pass as the dot product, so checking every row costs one multiply-add more per value, not a second
 * pass; a row that fails it is handed to `checkRow` for its message. NaN fails too: no comparison holds.
 */
async function exactTop(reader: IndexReader, query: Float32Array, k: number): Promise<Scored[]> {
  const e = reader.embedDim;
  const top: Scored[] = [];
  for await (const { n, vectors, path } of reader.vectorChunks()) {
    for (let r = 0; r < n; r++) {
      const at = r * e;
      let dot = 0;
      let norm2 = 0;
      for (let j = 0; j < e; j++) {
        const v = vectors[at + j];
        dot += query[j] * v;
        norm2 += v * v;
      }
      if (!(Math.abs(norm2 - 1) <= UNIT_NORM_TOLERANCE)) reader.checkRow(path(r), vectors.subarray(at, at + e));
      if (top.length < k || dot > top[k - 1].cosine) insert(top, { entry: { path: path(r) }, cosine: dot }, k);
    }
  }
  return top;
}
