/**
 * The index's rows in a LanceDB table (`INDEX/rows.lance`), one row per embedded file:
 *
 *   path      text     relative to the index's root, '/' separators (the key: merge-insert matches on it)
 *   size      float64  bytes when embedded          } a later run re-embeds a file whose size or mtime
 *   mtime_ms  float64  modification time (ms)       } changed, as make and rsync decide
 *   sha256    text     hex digest of the bytes embedded (of the UTF-8 text, for a text store)
 *   vector    fixed-size list of E float32, L2-normalized (dot product = cosine)
 *
 * Why LanceDB and not files of our own: every write (an append, a merge-insert replacing changed rows, a
 * delete) is one atomic commit of a new table version, so a killed run leaves the last committed version
 * whole with no repair pass; a changed file's row is replaced without rewriting the rest; Python reads
 * the table with `lancedb.connect(INDEX).open_table("rows")`; and the same table takes an approximate
 * vector index when a collection outgrows an exact scan. See docs/retrieval.md.
 */
import './lance-log.js'; // before LanceDB loads
import * as lancedb from '@lancedb/lancedb';
import * as arrow from 'apache-arrow';
import { existsSync } from 'node:fs';
import * as path from 'node:path';

export const TABLE_NAME = 'rows';
/** The table's folder inside the index directory (LanceDB names it after the table). */
export const TABLE_DIR = `${TABLE_NAME}.lance`;
/** Schema metadata key holding the index's identity (format, model fingerprint), for readers without index.json. */
export const METADATA_KEY = 'biomedclip';

/** One stored file's identity (the row without its vector). */
export interface StoreEntry {
  path: string;
  size: number;
  mtimeMs: number;
  sha256: string;
}

/** A slice of the table: entries[i]'s embedding is vectors[i*E .. (i+1)*E). */
export interface RowBatch {
  entries: StoreEntry[];
  vectors: Float32Array;
}

function schema(embedDim: number, metadata: Record<string, string>): arrow.Schema {
  return new arrow.Schema(
    [
      new arrow.Field('path', new arrow.Utf8(), false),
      new arrow.Field('size', new arrow.Float64(), false),
      new arrow.Field('mtime_ms', new arrow.Float64(), false),
      new arrow.Field('sha256', new arrow.Utf8(), false),
      new arrow.Field('vector', new arrow.FixedSizeList(embedDim, new arrow.Field('item', new arrow.Float32(), true)), false),
    ],
    new Map(Object.entries(metadata)),
  );
}

/** Whether `dir` holds the table (a folder that does not is a new index, or not an index). */
export function hasTable(dir: string): boolean {
  return existsSync(path.join(dir, TABLE_DIR));
}

/**
 * The LanceDB database of index `dir`. The path is made absolute: LanceDB reads a relative path that
 * starts with "db" (`dbscans/`) as the address of its cloud service.
 */
async function connect(dir: string): Promise<lancedb.Connection> {
  return lancedb.connect(path.resolve(dir));
}

/**
 * Opens the table of index `dir`, creating it empty (with `metadata` in its schema) when missing. Shards
 * starting together may all create it: LanceDB lets one creation commit, and the others open that table.
 */
export async function openTable(dir: string, embedDim: number, metadata: Record<string, string>): Promise<lancedb.Table> {
  const db = await connect(dir);
  try {
    return await db.createEmptyTable(TABLE_NAME, schema(embedDim, metadata), { existOk: true });
  } catch (err) {
    if (!hasTable(dir)) throw err;
    return db.openTable(TABLE_NAME); // created by another shard between the check and the commit
  }
}

/** Opens the existing table of index `dir` for reading. */
export async function openExistingTable(dir: string): Promise<lancedb.Table> {
  const db = await connect(dir);
  return db.openTable(TABLE_NAME);
}

/** The width of the table's vector column (undefined if it has none of the expected type). */
export async function tableEmbedDim(table: lancedb.Table): Promise<number | undefined> {
  const field = (await table.schema()).fields.find((f) => f.name === 'vector');
  // A type check by id, not instanceof: LanceDB may hand back classes of its own copy of apache-arrow.
  return field && arrow.DataType.isFixedSizeList(field.type) ? (field.type as arrow.FixedSizeList).listSize : undefined;
}

function records(entries: StoreEntry[], vectors: Float32Array): Record<string, unknown>[] {
  const e = vectors.length / entries.length;
  return entries.map((x, i) => ({
    path: x.path,
    size: x.size,
    mtime_ms: x.mtimeMs,
    sha256: x.sha256,
    vector: Array.from(vectors.subarray(i * e, (i + 1) * e)),
  }));
}

/**
 * Writes `entries` with their vectors ([n, E] row-major) in one commit: a path already in the table has
 * its row replaced, the others are appended, so a path is never stored twice. A merge-insert joins the
 * batch against the whole `path` column, so its cost grows with the table: for rows known to be new,
 * `appendRows`.
 */
export async function upsertRows(table: lancedb.Table, entries: StoreEntry[], vectors: Float32Array): Promise<void> {
  await table.mergeInsert('path').whenMatchedUpdateAll().whenNotMatchedInsertAll().execute(records(entries, vectors));
}

/**
 * Appends rows in one commit, in time independent of the table's size. The caller guarantees no path is
 * in the table already (the writer knows every row of its files: index-store.ts).
 */
export async function appendRows(table: lancedb.Table, entries: StoreEntry[], vectors: Float32Array): Promise<void> {
  await table.add(records(entries, vectors));
}

/** A SQL string literal (DataFusion: a quote inside is doubled). */
function literal(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

/** Deletes the rows of `paths`, 500 per commit (a long IN list is one predicate LanceDB parses). */
export async function deleteRows(table: lancedb.Table, paths: string[]): Promise<void> {
  for (let start = 0; start < paths.length; start += 500) {
    await table.delete(
      `path IN (${paths
        .slice(start, start + 500)
        .map(literal)
        .join(', ')})`,
    );
  }
}

/**
 * Streams the table in the batches LanceDB reads (bounded memory at any size); `withVectors` false reads
 * only the small columns (what a writer needs to know what is indexed).
 */
export async function* scanRows(table: lancedb.Table, embedDim: number, withVectors = true): AsyncGenerator<RowBatch> {
  const columns = ['path', 'size', 'mtime_ms', 'sha256', ...(withVectors ? ['vector'] : [])];
  for await (const batch of table.query().select(columns)) {
    const n = batch.numRows;
    const col = (name: string) => batch.getChild(name) as arrow.Vector;
    const [paths, sizes, mtimes, shas] = ['path', 'size', 'mtime_ms', 'sha256'].map(col);
    const entries: StoreEntry[] = [];
    for (let i = 0; i < n; i++) entries.push({ path: paths.get(i), size: sizes.get(i), mtimeMs: mtimes.get(i), sha256: shas.get(i) });
    yield { entries, vectors: withVectors ? flatVectors(col('vector'), n, embedDim) : new Float32Array(0) };
  }
}

/** One batch of a vectors-only scan: `n` rows' vectors ([n, E] row-major) and their paths, decoded on demand. */
export interface VectorBatch {
  n: number;
  vectors: Float32Array;
  path(i: number): string;
}

/**
 * Streams only `path` and `vector`, for the exact search: a row's path is decoded from Arrow only when
 * asked (for the few rows a search keeps), which at a million rows is most of the scan's time saved.
 */
export async function* scanVectors(table: lancedb.Table, embedDim: number): AsyncGenerator<VectorBatch> {
  for await (const batch of table.query().select(['path', 'vector'])) {
    const n = batch.numRows;
    const paths = batch.getChild('path') as arrow.Vector;
    yield { n, vectors: flatVectors(batch.getChild('vector') as arrow.Vector, n, embedDim), path: (i) => paths.get(i) };
  }
}

/** The values of a fixed-size-list column as one [n, E] array (a view of one chunk, else copied). */
function flatVectors(column: arrow.Vector, n: number, e: number): Float32Array {
  if (column.data.length === 1) {
    const [data] = column.data;
    const child = data.children[0];
    const first = child.offset + data.offset * e;
    return (child.values as Float32Array).subarray(first, first + n * e);
  }
  const out = new Float32Array(n * e);
  let row = 0;
  for (const data of column.data) {
    const child = data.children[0];
    const values = child.values as Float32Array;
    const first = child.offset + data.offset * e;
    out.set(values.subarray(first, first + data.length * e), row * e);
    row += data.length;
  }
  return out;
}
