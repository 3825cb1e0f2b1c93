/**
 * Reading an index for search or export without loading it whole: the table is streamed in the batches
 * LanceDB reads. Reading never repairs or locks; a killed run's index is searchable as far as it was
 * committed (every LanceDB commit is whole, so that is exactly the table's latest version).
 *
 * Nothing damaged is answered from: `open` checks the table opens, its vectors have the index's width and
 * a finished index holds the rows index.json counts; `chunks` checks every row it yields is finite and
 * unit-norm. A damaged index is refused with a line saying what is wrong and how to repair it, instead
 * of silently giving fewer results or a `null` cosine.
 */
import type * as lancedb from '@lancedb/lancedb';
import * as path from 'node:path';
import { UserError } from '../errors.js';
import { damagedIfThrows, INFO_FILE, readInfo, type IndexInfo } from './index-store.js';
import { rowProblem } from './rows.js';
import { hasTable, openExistingTable, scanRows, scanVectors, TABLE_DIR, tableEmbedDim, type RowBatch, type StoreEntry, type VectorBatch } from './table.js';
import { approximateNearest, hasVectorIndex, type Neighbour } from './vector-index.js';

export class IndexReader {
  private constructor(
    readonly dir: string,
    readonly info: IndexInfo,
    /** Committed rows readable now. */
    readonly count: number,
    /** Whether the table has an approximate vector index (trained by `index` past ANN_MIN_ROWS rows). */
    readonly vectorIndexed: boolean,
    private readonly table: lancedb.Table,
  ) {}

  get embedDim(): number {
    return this.info.embedDim;
  }

  static async open(dir: string): Promise<IndexReader> {
    const info = await readInfo(dir);
    if (info === undefined) throw new UserError(`${dir}: not an index (no index.json); build one with \`biomedclip index IMAGES_DIR --out ${dir}\``, 2);
    const rerun = `re-run \`biomedclip index ${info.root} --out ${dir}\``;
    // No table yet: a run killed before its first commit, or a table deleted by hand (index makes it again).
    if (!hasTable(dir)) throw new UserError(`${path.join(dir, TABLE_DIR)}: missing; ${rerun}`);
    const table = await damagedIfThrows(dir, info, () => openExistingTable(dir));
    try {
      const width = await damagedIfThrows(dir, info, () => tableEmbedDim(table));
      if (width !== info.embedDim)
        throw new UserError(`${dir}: damaged index: rows have ${width} values, ${INFO_FILE} says ${info.embedDim}; rebuild the index`);
      const count = await damagedIfThrows(dir, info, () => table.countRows());
      if (info.complete && count !== info.count) {
        throw new UserError(`${dir}: damaged index: ${INFO_FILE} says ${info.count} images but the table holds ${count}; ${rerun} to repair it`);
      }
      const indexed = await damagedIfThrows(dir, info, () => hasVectorIndex(table));
      return new IndexReader(dir, info, count, indexed, table);
    } catch (err) {
      table.close();
      throw err;
    }
  }

  /**
   * Yields the committed rows in batches: `vectors` is [entries.length, E] row-major. A row that is not
   * finite or not unit-norm (rows.ts) makes the index damaged.
   */
  async *chunks(): AsyncGenerator<RowBatch> {
    const e = this.embedDim;
    const scan = scanRows(this.table, e);
    for (;;) {
      const next = await damagedIfThrows(this.dir, this.info, () => scan.next());
      if (next.done) return;
      const { entries, vectors } = next.value;
      entries.forEach((entry, r) => this.checkRow(entry.path, vectors.subarray(r * e, (r + 1) * e)));
      yield next.value;
    }
  }

  /**
   * Yields every row's vector (paths on demand: table.ts scanVectors), for a scan that checks each row
   * itself with `checkRow` (search.ts fuses the check into its dot product).
   */
  async *vectorChunks(): AsyncGenerator<VectorBatch> {
    const scan = scanVectors(this.table, this.embedDim);
    for (;;) {
      const next = await damagedIfThrows(this.dir, this.info, () => scan.next());
      if (next.done) return;
      yield next.value;
    }
  }

  /** Refuses the index when the row of `path` cannot be used (rows.ts). */
  checkRow(path: string, vector: Float32Array): void {
    const problem = rowProblem(vector);
    // `index` checks rows with the same rowProblem and embeds a bad one again, so rerunning it repairs this.
    if (problem !== undefined)
      throw new UserError(
        `${this.dir}: damaged index: the row of ${path} ${problem}; re-run \`biomedclip index ${this.info.root} --out ${this.dir}\` to embed it again`,
      );
  }

  /**
   * The `k` rows nearest to `query` by the approximate vector index (only when `vectorIndexed`). The rows
   * it returns get the same damage check as `chunks`; the rows it skips are not read, which is the point.
   */
  async approximate(query: Float32Array, k: number): Promise<Neighbour[]> {
    const found = await damagedIfThrows(this.dir, this.info, () => approximateNearest(this.table, query, k));
    for (const { entry, vector } of found) this.checkRow(entry.path, vector);
    return found;
  }

  /** The absolute path of an indexed image. */
  resolve(entry: Pick<StoreEntry, 'path'>): string {
    return path.join(this.info.root, ...entry.path.split('/'));
  }

  async close(): Promise<void> {
    this.table.close();
  }
}
