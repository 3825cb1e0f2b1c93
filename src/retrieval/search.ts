/**
 * Exhaustive cosine search over an index: the query embedding is L2-normalized and so is every row, so a
 * dot product is the cosine similarity, exactly what `embed` output gives by hand. The logit is CLIP's
 * exp(logit_scale) · cosine, the number zero-shot classification feeds to its softmax. Exact search is
 * linear in the index size (an exact scan of the LanceDB table, streamed batch by batch); an approximate
 * index for collections of many millions is planned (issue 23).
 */
import type { IndexReader } from './index-reader.js';
import type { StoreEntry } from './table.js';

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
  entry: StoreEntry;
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

/** The `k` rows most similar to `query` (a normalized embedding of the index's dimension). */
export async function searchIndex(reader: IndexReader, query: Float32Array, k: number, logitScale: number): Promise<Hit[]> {
  const e = reader.embedDim;
  if (query.length !== e) throw new Error(`search: query has ${query.length} values, index rows have ${e}`);
  const top: Scored[] = [];
  for await (const { entries, vectors } of reader.chunks()) {
    entries.forEach((entry, r) => {
      let dot = 0;
      for (let j = 0; j < e; j++) dot += query[j] * vectors[r * e + j];
      insert(top, { entry, cosine: dot }, k);
    });
  }
  return top.map((t, i) => ({ rank: i + 1, path: t.entry.path, file: reader.resolve(t.entry), cosine: t.cosine, logit: logitScale * t.cosine }));
}
