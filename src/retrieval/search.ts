/**
 * Exhaustive cosine search over an index: the query embedding is L2-normalized and so is every row, so a
 * dot product is the cosine similarity, exactly what `embed` output gives by hand. The logit is CLIP's
 * exp(logit_scale) · cosine, the number zero-shot classification feeds to its softmax. Exact search is
 * linear in the index size; for collections of many millions load
 * embeddings.npy into FAISS, which is why the index is stored as a plain float32 matrix.
 */
import type { IndexReader } from './index-reader.js';

export interface Hit {
  rank: number;
  row: number;
  /** Path relative to the index root, as in the manifest. */
  path: string;
  /** Absolute path of the image. */
  file: string;
  cosine: number;
  logit: number;
}

interface Scored {
  row: number;
  cosine: number;
}

/** Inserts into `top` (sorted by cosine, descending; ties keep the lower row first), keeping at most k. */
function insert(top: Scored[], item: Scored, k: number): void {
  if (top.length === k && item.cosine <= top[k - 1].cosine) return;
  let i = top.length;
  while (i > 0 && top[i - 1].cosine < item.cosine) i--;
  top.splice(i, 0, item);
  if (top.length > k) top.pop();
}

/** The `k` rows most similar to `query` (a normalized embedding of the index's dimension). */
export async function searchIndex(reader: IndexReader, query: Float32Array, k: number, logitScale: number): Promise<Hit[]> {
  const e = reader.embedDim;
  if (query.length !== e) throw new Error(`search: query has ${query.length} values, index rows have ${e}`);
  const top: Scored[] = [];
  for await (const { start, data } of reader.chunks()) {
    const rows = data.length / e;
    for (let r = 0; r < rows; r++) {
      let dot = 0;
      for (let j = 0; j < e; j++) dot += query[j] * data[r * e + j];
      insert(top, { row: start + r, cosine: dot }, k);
    }
  }
  const entries = await reader.entries(top.map((t) => t.row));
  return top.map((t, i) => {
    const entry = entries.get(t.row);
    if (entry === undefined) throw new Error(`search: row ${t.row} has no manifest line`);
    return { rank: i + 1, row: t.row, path: entry.path, file: reader.resolve(entry), cosine: t.cosine, logit: logitScale * t.cosine };
  });
}
