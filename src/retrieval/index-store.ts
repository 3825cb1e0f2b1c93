/**
 * The on-disk image index: a directory that NumPy, FAISS and a shell can read without this package.
 *
 *   INDEX/index.json      what the index is: format, image root, model fingerprint, embed dim, count, skipped files
 *   INDEX/embeddings.npy  float32 [N, E], one L2-normalized embedding per row (dot product = cosine)
 *   INDEX/manifest.jsonl  row i's image: {"row","path","size","mtimeMs"}, one line per row
 *
 * New rows are appended. Each batch is (1) rows written after the last committed row and flushed,
 * (2) manifest lines appended and flushed (the commit), (3) the .npy shape updated. A kill between any two
 * steps is repaired on the next open: rows without a manifest line are truncated, a torn manifest line is
 * cut, and the shape is rewritten from the manifest. Replacing a row (its file changed) or dropping rows
 * (their files are gone) writes the rows first and then renames a rewritten manifest into place, the one
 * atomic commit; a kill before it leaves rows whose manifest lines name files that are still changed or
 * still gone, so the next run does the same work again. See docs/retrieval.md for why this layout.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors.js';
import { tempPathFor, writeFileAtomic } from '../util/atomic.js';
import { describeNonFinite, findNonFinite } from '../util/finite.js';
import { FINGERPRINT_PREFIX } from '../weights/fingerprint.js';
import { acquireLock, type Lock } from './lock.js';
import { manifestLines, scanManifest, type ManifestEntry } from './manifest.js';
import { encodeNpyHeader, NPY_HEADER_BYTES, parseNpyHeader } from './npy.js';
import { rowProblem } from './rows.js';

export const INDEX_FORMAT = 'biomedclip-index';
export const INDEX_VERSION = 1;
export const INFO_FILE = 'index.json';
export const EMBEDDINGS_FILE = 'embeddings.npy';
export const MANIFEST_FILE = 'manifest.jsonl';

export interface SkippedFile {
  path: string;
  error: string;
}

export interface IndexModel {
  /** The model directory used (search defaults to it). */
  dir: string;
  /** Identifies the weights (see fingerprint.ts): embeddings from different weights never mix. */
  fingerprint: string;
}

export interface IndexInfo {
  format: typeof INDEX_FORMAT;
  version: number;
  /** Absolute path of the images directory; manifest paths are relative to it. */
  root: string;
  model: IndexModel;
  embedDim: number;
  dtype: 'float32';
  normalized: true;
  /** Rows committed when this file was last written (the manifest is the authority after a kill). */
  count: number;
  /** False while a run is in progress or after a kill: run `biomedclip index` again to finish. */
  complete: boolean;
  /** Files the last run could not embed, with the reason. */
  skipped: SkippedFile[];
  updated: string;
}

export async function readInfo(dir: string): Promise<IndexInfo | undefined> {
  const file = path.join(dir, INFO_FILE);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UserError(`${file}: cannot read (${(err as NodeJS.ErrnoException).code}); check permissions`);
  }
  let info: Partial<IndexInfo>;
  try {
    info = JSON.parse(text) as Partial<IndexInfo>;
  } catch {
    // Not `--out ${dir}`: index would read the same broken file and fail again.
    throw new UserError(
      `${file}: not valid JSON (damaged); rebuild the index into a new folder with \`biomedclip index IMAGES_DIR --out NEW_INDEX\`, then delete ${dir}`,
    );
  }
  if (info.format !== INDEX_FORMAT || info.version !== INDEX_VERSION || typeof info.embedDim !== 'number' || !info.model || !info.root) {
    throw new UserError(
      `${file}: not a ${INDEX_FORMAT} v${INDEX_VERSION} index; build one into a new folder with \`biomedclip index IMAGES_DIR --out NEW_INDEX\``,
    );
  }
  return info as IndexInfo;
}

export function writeInfo(dir: string, info: IndexInfo): Promise<void> {
  return writeFileAtomic(path.join(dir, INFO_FILE), JSON.stringify(info, null, 2) + '\n');
}

/** Rows fully present in the .npy data (its size may run ahead of the manifest after a kill). */
function dataRows(fileBytes: number, embedDim: number): number {
  return Math.max(0, Math.floor((fileBytes - NPY_HEADER_BYTES) / (embedDim * 4)));
}

export interface OpenWriterOptions {
  root: string;
  model: IndexModel;
  embedDim: number;
}

/** What `IndexWriter.open` found and repaired. */
export interface Recovery {
  /** Rows already committed by earlier runs. */
  rows: number;
  /** Bytes of uncommitted embeddings and torn manifest text that were cut off. */
  truncatedBytes: number;
  /** Committed rows whose values are unusable (rows.ts: NaN, Inf, not unit-norm): to embed again or drop. */
  badRows: number[];
}

type Entry = Omit<ManifestEntry, 'row'>;

/**
 * Writes an index directory, holding its lock until `close()`. Rows are appended, replaced in place (a
 * file that changed), or dropped (a file that is gone); after each of these the manifest says which
 * image every row holds. See the module comment for the order of writes that makes a kill harmless.
 */
export class IndexWriter {
  /** Committed images: relative path → its row, and its size and mtime when embedded. */
  readonly indexed = new Map<string, ManifestEntry>();
  /**
   * Images committed by this writer (appended or replaced), counted the moment their manifest lines are in
   * the file, before the flush: Ctrl-C ends the process, not the system, so those lines stay and a rerun
   * finds exactly this many (counting after the flush made the message lag behind the file).
   */
  committedNow = 0;

  private constructor(
    readonly dir: string,
    readonly info: IndexInfo,
    private readonly npy: fs.FileHandle,
    private manifest: fs.FileHandle,
    private readonly lock: Lock,
    public count: number,
    /** rowPaths[r]: the image of row r (the manifest, in memory, to rewrite it). */
    private readonly rowPaths: string[],
  ) {}

  static async open(dir: string, opts: OpenWriterOptions): Promise<{ writer: IndexWriter; recovery: Recovery }> {
    await fs.mkdir(dir, { recursive: true });
    const lock = await acquireLock(dir);
    try {
      const info = (await readInfo(dir)) ?? (await createInfo(dir, opts));
      checkCompatible(dir, info, opts);
      const opened = await IndexWriter.recover(dir, info, lock);
      // Incomplete until close() says otherwise: a run killed from here on leaves an index search reads as such.
      await writeInfo(dir, { ...info, count: opened.recovery.rows, complete: false, updated: new Date().toISOString() });
      return opened;
    } catch (err) {
      await lock.release();
      throw err;
    }
  }

  private static async recover(dir: string, info: IndexInfo, lock: Lock): Promise<{ writer: IndexWriter; recovery: Recovery }> {
    const e = info.embedDim;
    const npyPath = path.join(dir, EMBEDDINGS_FILE);
    const manifestPath = path.join(dir, MANIFEST_FILE);
    await removeStaleTemps(dir);
    await fs.writeFile(npyPath, '', { flag: 'a' }); // create if missing, keep if present
    const npy = await fs.open(npyPath, 'r+'); // 'r+' and not 'a': rows are written at explicit offsets
    const npyBytes = (await npy.stat()).size;
    if (npyBytes >= NPY_HEADER_BYTES) parseNpyHeader(await readBytes(npy, 0, NPY_HEADER_BYTES), npyPath);
    // Only rows with both a manifest line and their full data count; everything after them is cut.
    const scan = await scanManifest(manifestPath, undefined, dataRows(npyBytes, e));
    const entries: ManifestEntry[] = [];
    await scanManifest(manifestPath, (m) => entries.push(m), scan.lines);
    const rows = scan.lines;
    const keepNpy = NPY_HEADER_BYTES + rows * e * 4;
    const truncatedBytes = Math.max(0, npyBytes - keepNpy) + (scan.fileBytes - scan.validBytes);
    await npy.truncate(keepNpy);
    await npy.write(encodeNpyHeader(rows, e), 0, NPY_HEADER_BYTES, 0);
    await fs.truncate(manifestPath, scan.validBytes).catch(async () => fs.writeFile(manifestPath, ''));
    const manifest = await fs.open(manifestPath, 'a');
    const writer = new IndexWriter(
      dir,
      info,
      npy,
      manifest,
      lock,
      rows,
      entries.map((m) => m.path),
    );
    for (const m of entries) writer.indexed.set(m.path, m);
    return { writer, recovery: { rows, truncatedBytes, badRows: await writer.findBadRows() } };
  }

  /** Rows search would refuse (the same check, rows.ts), read in chunks of 4096 rows. */
  private async findBadRows(): Promise<number[]> {
    const e = this.info.embedDim;
    const bad: number[] = [];
    for (let start = 0; start < this.count; start += 4096) {
      const n = Math.min(4096, this.count - start);
      const data = new Float32Array(n * e);
      await this.npy.read(new Uint8Array(data.buffer), 0, n * e * 4, NPY_HEADER_BYTES + start * e * 4);
      for (let r = 0; r < n; r++) if (rowProblem(data.subarray(r * e, (r + 1) * e)) !== undefined) bad.push(start + r);
    }
    return bad;
  }

  /**
   * Commits one batch: `rows` is [entries.length, E] row-major, L2-normalized. An entry whose path is
   * already indexed replaces its row (the file changed); the others are appended. When this resolves the
   * batch survives a kill; a kill before it leaves the index as it was (a replaced row may already hold
   * its new values, but its manifest line still has the old size and mtime, so the next run embeds it again).
   */
  async commit(entries: Entry[], rows: Float32Array): Promise<void> {
    const e = this.info.embedDim;
    if (rows.length !== entries.length * e) throw new Error(`index: ${rows.length} values for ${entries.length} rows of ${e}`);
    if (entries.length === 0) return;
    const bad = findNonFinite(rows);
    if (bad)
      throw new Error(
        `index: refusing to store ${describeNonFinite(bad)} (row ${this.count + Math.floor(bad.first / e)}, ${entries[Math.floor(bad.first / e)].path})`,
      );
    let next = this.count;
    const targets = entries.map((x) => this.indexed.get(x.path)?.row ?? next++);
    const replacing = targets.some((t) => t < this.count);
    const bytes = new Uint8Array(rows.buffer, rows.byteOffset, rows.byteLength); // host order: little-endian on every Node platform
    if (!replacing) await this.npy.write(bytes, 0, bytes.length, NPY_HEADER_BYTES + this.count * e * 4);
    else for (const [i, t] of targets.entries()) await this.npy.write(bytes, i * e * 4, e * 4, NPY_HEADER_BYTES + t * e * 4);
    await this.npy.datasync(); // (1) data on disk before its commit line
    const lines = entries.map((x, i) => ({ row: targets[i], ...x }));
    for (const line of lines) {
      this.indexed.set(line.path, line);
      this.rowPaths[line.row] = line.path;
    }
    if (replacing) {
      await this.rewriteManifest(next); // (2) the commit: the new lines in one rename
      this.committedNow += entries.length;
    } else {
      await this.manifest.write(manifestLines(lines));
      this.committedNow += entries.length;
      await this.manifest.datasync(); // (2) the commit
    }
    this.count = next;
    await this.npy.write(encodeNpyHeader(this.count, e), 0, NPY_HEADER_BYTES, 0); // (3) shape for NumPy
  }

  /**
   * Drops the rows of `paths` (images that are gone): each hole is filled with the last row, so the
   * matrix stays dense and rows keep meaning "line r of the manifest". Moved rows are written first, then
   * the shorter manifest is renamed into place (the commit), then the .npy is cut to match. A kill before
   * the rename leaves a dropped image's row holding another image's values under the dropped name: that
   * name is still gone on the next run, which drops it again.
   */
  async drop(paths: Iterable<string>): Promise<number> {
    const e = this.info.embedDim;
    const holes = new Set<number>();
    for (const p of paths) {
      const entry = this.indexed.get(p);
      if (entry === undefined) continue;
      holes.add(entry.row);
      this.indexed.delete(p);
    }
    if (holes.size === 0) return 0;
    // index.json may count fewer rows than the manifest (an interrupted index), never more: lower it first.
    await writeInfo(this.dir, { ...this.info, count: this.count - holes.size, complete: false, updated: new Date().toISOString() });
    const ascending = [...holes].sort((a, b) => a - b);
    const buf = new Uint8Array(e * 4);
    let n = this.count; // rows from n on are cut
    for (let k = 0; k < ascending.length && ascending[k] < n;) {
      const last = --n;
      if (holes.has(last)) continue; // a hole at the end: cutting it is enough
      const hole = ascending[k++];
      await this.npy.read(buf, 0, buf.length, NPY_HEADER_BYTES + last * e * 4);
      await this.npy.write(buf, 0, buf.length, NPY_HEADER_BYTES + hole * e * 4);
      const moved = this.rowPaths[last];
      this.rowPaths[hole] = moved;
      this.indexed.set(moved, { ...(this.indexed.get(moved) as ManifestEntry), row: hole });
    }
    await this.npy.datasync();
    this.rowPaths.length = n;
    await this.rewriteManifest(n); // the commit
    const dropped = this.count - n;
    this.count = n;
    await this.npy.truncate(NPY_HEADER_BYTES + n * e * 4);
    await this.npy.write(encodeNpyHeader(n, e), 0, NPY_HEADER_BYTES, 0);
    return dropped;
  }

  /** Writes the manifest of rows 0..rows-1 from memory to a temporary file, then renames it into place. */
  private async rewriteManifest(rows: number): Promise<void> {
    const target = path.join(this.dir, MANIFEST_FILE);
    const tmp = tempPathFor(target);
    const out = await fs.open(tmp, 'w');
    try {
      for (let start = 0; start < rows; start += 10_000) {
        const part: ManifestEntry[] = [];
        for (let r = start; r < Math.min(rows, start + 10_000); r++) part.push({ ...(this.indexed.get(this.rowPaths[r]) as ManifestEntry), row: r });
        await out.write(manifestLines(part));
      }
      await out.datasync();
    } finally {
      await out.close();
    }
    await fs.rename(tmp, target);
    await this.manifest.close();
    this.manifest = await fs.open(target, 'a');
  }

  /** Writes index.json (count, skipped, complete) and releases the lock. */
  async close(result: { skipped: SkippedFile[]; complete: boolean }): Promise<IndexInfo> {
    const info: IndexInfo = { ...this.info, count: this.count, skipped: result.skipped, complete: result.complete, updated: new Date().toISOString() };
    try {
      await writeInfo(this.dir, info);
    } finally {
      await this.npy.close();
      await this.manifest.close();
      await this.lock.release();
    }
    return info;
  }
}

/** Temporary manifests a killed rewrite left behind (only the lock holder writes them, so none is live). */
async function removeStaleTemps(dir: string): Promise<void> {
  for (const name of await fs.readdir(dir)) if (name.startsWith(`.${MANIFEST_FILE}.tmp-`)) await fs.rm(path.join(dir, name), { force: true });
}

async function createInfo(dir: string, opts: OpenWriterOptions): Promise<IndexInfo> {
  const existing = (await fs.readdir(dir)).filter((n) => !n.startsWith('.'));
  if (existing.length > 0) {
    throw new UserError(`--out ${dir}: directory is not empty and holds no ${INFO_FILE}; pass a new or empty directory for the index`);
  }
  const info: IndexInfo = {
    format: INDEX_FORMAT,
    version: INDEX_VERSION,
    root: opts.root,
    model: opts.model,
    embedDim: opts.embedDim,
    dtype: 'float32',
    normalized: true,
    count: 0,
    complete: false,
    skipped: [],
    updated: new Date().toISOString(),
  };
  await writeInfo(dir, info);
  return info;
}

function checkCompatible(dir: string, info: IndexInfo, opts: OpenWriterOptions): void {
  if (info.root !== opts.root) {
    throw new UserError(`--out ${dir}: this index holds images of ${info.root}, not ${opts.root}; index them into a new --out directory`);
  }
  if (!info.model.fingerprint.startsWith(FINGERPRINT_PREFIX)) {
    throw new UserError(`--out ${dir}: built by an older version whose model fingerprint covered only part of the weights; index into a new --out directory`);
  }
  if (info.model.fingerprint !== opts.model.fingerprint || info.embedDim !== opts.embedDim) {
    throw new UserError(`--out ${dir}: built with another model (${info.model.dir}); pass --model ${info.model.dir} to resume, or a new --out directory`);
  }
}

export async function readBytes(handle: fs.FileHandle, position: number, length: number): Promise<Uint8Array> {
  const buf = new Uint8Array(length);
  const { bytesRead } = await handle.read(buf, 0, length, position);
  return buf.subarray(0, bytesRead);
}
