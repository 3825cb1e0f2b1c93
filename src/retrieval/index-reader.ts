/**
 * Reading an index for search without loading it whole: embeddings are streamed in chunks of rows and
 * only the manifest lines of the winning rows are kept. Reading never repairs or locks; a killed run's
 * index is searchable as far as it was committed (rows with a manifest line and their full data).
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors.js';
import { EMBEDDINGS_FILE, MANIFEST_FILE, readBytes, readInfo, type IndexInfo } from './index-store.js';
import { scanManifest, type ManifestEntry } from './manifest.js';
import { NPY_HEADER_BYTES, parseNpyHeader } from './npy.js';

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
      if (header.cols !== info.embedDim) throw new UserError(`${npyPath}: rows have ${header.cols} values, index.json says ${info.embedDim}; rebuild the index`);
      const rowsOnDisk = Math.floor(((await npy.stat()).size - header.dataOffset) / (info.embedDim * 4));
      const scan = await scanManifest(path.join(dir, MANIFEST_FILE), undefined, rowsOnDisk);
      return new IndexReader(dir, info, scan.lines, npy, header.dataOffset);
    } catch (err) {
      await npy.close();
      throw err;
    }
  }

  /** Yields the committed rows in chunks: `data` is [rows, E] row-major, `start` the first row's index. */
  async *chunks(chunkRows = 4096): AsyncGenerator<{ start: number; data: Float32Array }> {
    const e = this.embedDim;
    for (let start = 0; start < this.count; start += chunkRows) {
      const n = Math.min(chunkRows, this.count - start);
      const data = new Float32Array(n * e); // a fresh buffer: aligned for the float view
      await this.npy.read(new Uint8Array(data.buffer), 0, n * e * 4, this.dataOffset + start * e * 4);
      yield { start, data };
    }
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
