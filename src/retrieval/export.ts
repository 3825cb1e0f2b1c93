/**
 * `biomedclip index export INDEX --npy DIR`: the index as plain files, for NumPy, FAISS and scripts that
 * do not use LanceDB. The layout is the one the index itself had before it moved to LanceDB:
 *
 *   DIR/embeddings.npy   float32 [N, E], row i the L2-normalized embedding of manifest line i
 *   DIR/manifest.jsonl   {"row","path","size","mtimeMs","sha256"}, one line per row, in row order
 *   DIR/index.json       the index's index.json, with format "biomedclip-index-export" and count N
 *
 * The rows are streamed from the table (memory holds one batch), and everything is written into a
 * temporary folder beside DIR that is renamed onto it at the end: DIR appears whole or not at all.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors.js';
import { IndexReader } from './index-reader.js';
import { encodeNpyHeader, NPY_HEADER_BYTES } from './npy.js';

export const EXPORT_FORMAT = 'biomedclip-index-export';

/** One line of the exported manifest.jsonl. */
export interface ManifestEntry {
  /** Row of `embeddings.npy` that holds this file's embedding. */
  row: number;
  /** Path relative to the index's image root, with '/' separators on every platform. */
  path: string;
  size: number;
  mtimeMs: number;
  sha256: string;
}

export interface ExportResult {
  index: string;
  out: string;
  count: number;
  embedDim: number;
}

/** Writes the export of index `indexDir` into `outDir` (which must be new or an empty folder). */
export async function exportIndex(indexDir: string, outDir: string): Promise<ExportResult> {
  const existing = await fs.readdir(outDir).catch(() => undefined);
  if (existing !== undefined && existing.length > 0) throw new UserError(`--npy ${outDir}: not empty; pass a new or empty folder for the export`, 2);
  const reader = await IndexReader.open(indexDir);
  const tmp = path.join(path.dirname(path.resolve(outDir)), `.${path.basename(outDir)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await fs.mkdir(tmp, { recursive: true });
    const count = await writeRows(reader, tmp);
    const info = { ...reader.info, format: EXPORT_FORMAT, count, exportedFrom: path.resolve(indexDir), exported: new Date().toISOString() };
    await fs.writeFile(path.join(tmp, 'index.json'), JSON.stringify(info, null, 2) + '\n');
    if (existing !== undefined) await fs.rmdir(outDir);
    await fs.rename(tmp, outDir);
    return { index: indexDir, out: outDir, count, embedDim: reader.embedDim };
  } catch (err) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw err;
  } finally {
    await reader.close();
  }
}

/** Streams the rows into embeddings.npy and manifest.jsonl; the .npy shape is written last, when known. */
async function writeRows(reader: IndexReader, dir: string): Promise<number> {
  const npy = await fs.open(path.join(dir, 'embeddings.npy'), 'w');
  const manifest = await fs.open(path.join(dir, 'manifest.jsonl'), 'w');
  let count = 0;
  try {
    await npy.write(encodeNpyHeader(0, reader.embedDim), 0, NPY_HEADER_BYTES, 0);
    for await (const { entries, vectors } of reader.chunks()) {
      const bytes = new Uint8Array(vectors.buffer, vectors.byteOffset, vectors.byteLength); // little-endian on every Node platform
      await npy.write(bytes, 0, bytes.length, NPY_HEADER_BYTES + count * reader.embedDim * 4); // at explicit offsets: a positioned write moves no file pointer
      const lines = entries.map((e, i): ManifestEntry => ({ row: count + i, path: e.path, size: e.size, mtimeMs: e.mtimeMs, sha256: e.sha256 }));
      await manifest.write(lines.map((l) => JSON.stringify(l) + '\n').join(''));
      count += entries.length;
    }
    await npy.write(encodeNpyHeader(count, reader.embedDim), 0, NPY_HEADER_BYTES, 0);
  } finally {
    await npy.close();
    await manifest.close();
  }
  return count;
}
