/**
 * Reading an index for search without loading it whole: embeddings are streamed in chunks of rows and
 * only the manifest lines of the winning rows are kept. Reading never repairs or locks; a killed run's
 * index is searchable as far as it was committed (rows with a manifest line and their full data).
 *
 * Nothing damaged is answered from: `open` checks every manifest line (each must be the next row's entry),
 * the row counts of index.json, the manifest and the .npy header, and the .npy's exact size; `chunks`
 * checks every row it yields is finite and unit-norm. A damaged index is refused with a line saying what
 * is wrong and how to repair it, instead of silently giving fewer results or a `null` cosine.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors.js';
import { EMBEDDINGS_FILE, INFO_FILE, MANIFEST_FILE, readBytes, readInfo, type IndexInfo } from './index-store.js';
import { scanManifest, type ManifestEntry } from './manifest.js';
import { NPY_HEADER_BYTES, parseNpyHeader } from './npy.js';
import { rowProblem } from './rows.js';

export class IndexReader {
  private constructor(
    readonly dir: string,
    readonly info: IndexInfo,
    /** Committed rows readable now. */
    readonly count: number,
    private readonly npy: fs.FileHandle,
    private readonly dataOffset: number,
  ) {}

  get embedDim(): number {
    return this.info.embedDim;
  }

  static async open(dir: string): Promise<IndexReader> {
    const info = await readInfo(dir);
    if (info === undefined) throw new UserError(`${dir}: not an index (no index.json); build one with \`biomedclip index IMAGES_DIR --out ${dir}\``, 2);
    const npyPath = path.join(dir, EMBEDDINGS_FILE);
    const npy = await fs.open(npyPath, 'r').catch(() => {
      throw new UserError(`${npyPath}: missing; rerun \`biomedclip index ${info.root} --out ${dir}\``);
    });
    try {
      const header = parseNpyHeader(await readBytes(npy, 0, NPY_HEADER_BYTES), npyPath);
      if (header.cols !== info.embedDim)
        throw new UserError(`${npyPath}: rows have ${header.cols} values, index.json says ${info.embedDim}; rebuild the index`);
      const rows = await verify(dir, info, header, (await npy.stat()).size);
      return new IndexReader(dir, info, rows, npy, header.dataOffset);
    } catch (err) {
      await npy.close();
      throw err;
    }
  }

  /**
   * Yields the committed rows in chunks: `data` is [rows, E] row-major, `start` the first row's index.
   * A row that is not finite or not unit-norm (rows.ts) makes the index damaged.
   */
  async *chunks(chunkRows = 4096): AsyncGenerator<{ start: number; data: Float32Array }> {
    const e = this.embedDim;
    for (let start = 0; start < this.count; start += chunkRows) {
      const n = Math.min(chunkRows, this.count - start);
      const data = new Float32Array(n * e); // a fresh buffer: aligned for the float view
      await this.npy.read(new Uint8Array(data.buffer), 0, n * e * 4, this.dataOffset + start * e * 4);
      for (let r = 0; r < n; r++) {
        const problem = rowProblem(data.subarray(r * e, (r + 1) * e));
        if (problem !== undefined) await this.badRow(start + r, problem);
      }
      yield { start, data };
    }
  }

  private async badRow(row: number, problem: string): Promise<never> {
    const entry = (await this.entries([row])).get(row);
    // `index` checks rows with the same rowProblem and embeds a bad one again, so rerunning it repairs this.
    throw new UserError(
      `${this.dir}: damaged index: row ${row} (${entry?.path ?? '?'}) ${problem}; re-run \`biomedclip index ${this.info.root} --out ${this.dir}\` to embed it again`,
    );
  }

  /** The manifest entries of `rows` (one pass over the manifest, keeping only those). */
  async entries(rows: Iterable<number>): Promise<Map<number, ManifestEntry>> {
    const want = new Set(rows);
    const found = new Map<number, ManifestEntry>();
    await scanManifest(path.join(this.dir, MANIFEST_FILE), (m) => want.has(m.row) && found.set(m.row, m), this.count);
    return found;
  }

  /** The absolute path of an indexed image. */
  resolve(entry: ManifestEntry): string {
    return path.join(this.info.root, ...entry.path.split('/'));
  }

  close(): Promise<void> {
    return this.npy.close();
  }
}

/**
 * Checks that the index's three files agree and every manifest line is the next row's entry; returns the
 * committed rows. A finished index (`complete`) must agree exactly; an interrupted one may have a torn last
 * manifest line and uncommitted rows after the last line, as a killed run leaves them.
 */
async function verify(dir: string, info: IndexInfo, header: { rows: number; dataOffset: number }, npyBytes: number): Promise<number> {
  const damaged = (what: string): never => {
    throw new UserError(`${dir}: damaged index: ${what}; re-run \`biomedclip index ${info.root} --out ${dir}\` to repair it`);
  };
  const rowBytes = info.embedDim * 4;
  const scan = await scanManifest(path.join(dir, MANIFEST_FILE));
  if (scan.stop === 'invalid') damaged(`${MANIFEST_FILE} line ${scan.lines + 1} is not the entry of row ${scan.lines}`);
  const dataRows = Math.floor((npyBytes - header.dataOffset) / rowBytes);
  if (scan.lines > dataRows) damaged(`${MANIFEST_FILE} lists ${scan.lines} images but ${EMBEDDINGS_FILE} holds ${dataRows} rows`);
  if (scan.lines < info.count) damaged(`${INFO_FILE} says ${info.count} images but ${MANIFEST_FILE} lists ${scan.lines}`);
  if (info.complete) {
    if (scan.stop === 'torn') damaged(`${MANIFEST_FILE} ends in a torn line`);
    if (scan.lines !== info.count) damaged(`${INFO_FILE} says ${info.count} images but ${MANIFEST_FILE} lists ${scan.lines}`);
    if (header.rows !== info.count) damaged(`the ${EMBEDDINGS_FILE} header says ${header.rows} rows, ${INFO_FILE} ${info.count}`);
    const expected = header.dataOffset + info.count * rowBytes;
    if (npyBytes !== expected) damaged(`${EMBEDDINGS_FILE} is ${npyBytes} bytes, ${expected} for ${info.count} rows`);
  }
  return scan.lines;
}
