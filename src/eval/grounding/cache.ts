/**
 * The grounding evaluation's map cache: every explanation map computed, kept so that a killed run
 * resumes without recomputing one and a rerun with other measures (--tolerance, --threshold, another
 * CSV over the same images) runs no model at all.
 *
 * A map is keyed by what determines it: the model's weight fingerprint, the image's content (sha256 of
 * the file's bytes, so a renamed or copied image is still found and an edited one is not), the
 * decoder that read it, the backend that ran the model, the text, the method and its options, and this format's version (bumped when a
 * method's computation changes). The cache is one append-only file per grid size of records
 *
 *   [32-byte sha256 key][float64 logit][rows · cols float32 map]   (little-endian)
 *
 * each written with one write call as soon as its map is computed. A kill can tear at most the last
 * record, which the next open cuts off. The default folder is `grounding/<fingerprint>` under the
 * evaluation cache base (store.ts's cacheBase); `--cache DIR` puts it elsewhere. Deleting it is safe:
 * it holds only maps, made again on the next run.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { UserError } from '../../errors.js';
import { describeFsError } from '../../util/writable.js';
import { cacheBase } from '../store.js';

/** Part of every key: a change to how a method computes its map makes earlier maps misses, not wrong hits. */
const FORMAT_VERSION = 1;
const KEY_BYTES = 32;
/** The logit is kept as the double `explain` reports; the map is float32 as computed. */
const LOGIT_BYTES = 8;

export interface MapKeyParts {
  fingerprint: string;
  /** sha256 of the image file's bytes (hex). */
  image: string;
  /** The decoder that reads the image ('sharp' or 'js'): JPEG pixels may differ between them. */
  decoder: string;
  /** The TF.js backend: backends round differently (last bits), and a map is `explain`'s on this one. */
  backend: string;
  text: string;
  method: string;
  /** The method's options, as JSON ('{}': the defaults `explain` uses). */
  options: string;
}

export function mapKey(p: MapKeyParts): string {
  const fields = [`v${FORMAT_VERSION}`, p.fingerprint, p.image, p.decoder, p.backend, p.method, p.options, p.text];
  return createHash('sha256').update(fields.join('\0'), 'utf8').digest('hex');
}

/** The default cache folder for a model: one per weight fingerprint. */
export function defaultMapCacheDir(fingerprint: string): string {
  return path.join(cacheBase(), 'grounding', fingerprint.replace(/[^0-9a-z]+/gi, '-'));
}

export interface CachedMap {
  map: Float32Array;
  logit: number;
}

export class MapCache {
  /** Maps found in the cache / computed and added by this process. */
  hits = 0;
  added = 0;
  /** The last append: appends go one after another, so a kill tears at most one record. */
  private tail: Promise<void> = Promise.resolve();

  private constructor(
    readonly dir: string,
    private readonly file: string,
    private readonly cells: number,
    private readonly maps: Map<string, CachedMap>,
    private readonly handle: FileHandle,
  ) {}

  /** Opens (creating) the cache for rows × cols maps in `dir`, reading every record into memory. */
  static async open(dir: string, rows: number, cols: number): Promise<MapCache> {
    const file = path.join(dir, `maps-${rows}x${cols}.bin`);
    const cells = rows * cols;
    const size = KEY_BYTES + LOGIT_BYTES + 4 * cells;
    try {
      await fs.mkdir(dir, { recursive: true });
      const bytes = await fs.readFile(file).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return Buffer.alloc(0);
        throw err;
      });
      const whole = bytes.length - (bytes.length % size);
      if (whole < bytes.length) await fs.truncate(file, whole); // a record torn by a kill
      const maps = new Map<string, CachedMap>();
      for (let at = 0; at < whole; at += size) {
        const key = bytes.subarray(at, at + KEY_BYTES).toString('hex');
        const view = new DataView(bytes.buffer, bytes.byteOffset + at + KEY_BYTES, LOGIT_BYTES + 4 * cells);
        const map = new Float32Array(cells);
        for (let i = 0; i < cells; i++) map[i] = view.getFloat32(LOGIT_BYTES + 4 * i, true);
        maps.set(key, { map, logit: view.getFloat64(0, true) });
      }
      return new MapCache(dir, file, cells, maps, await fs.open(file, 'a'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === undefined) throw err;
      throw new UserError(`cannot use the grounding map cache ${dir} (${describeFsError(err, dir)}); pass --cache DIR in a folder you can write to`);
    }
  }

  /** Maps in the cache (from earlier runs and this one). */
  get size(): number {
    return this.maps.size;
  }

  has(key: string): boolean {
    return this.maps.has(key);
  }

  /** The cached map for `key`, counting a hit. */
  get(key: string): CachedMap | undefined {
    const found = this.maps.get(key);
    if (found !== undefined) this.hits++;
    return found;
  }

  /**
   * Appends one map; it is in the file (and survives a kill) when this resolves. Maps arriving together
   * (from pool workers) are written one after another, each with one write call.
   */
  put(key: string, map: Float32Array, logit: number): Promise<void> {
    const written = this.tail.then(() => this.append(key, map, logit));
    this.tail = written.catch(() => undefined);
    return written;
  }

  private async append(key: string, map: Float32Array, logit: number): Promise<void> {
    if (map.length !== this.cells) throw new Error(`map cache ${this.file}: a map of ${map.length} values, expected ${this.cells}`);
    const record = Buffer.alloc(KEY_BYTES + LOGIT_BYTES + 4 * this.cells);
    record.write(key, 0, 'hex');
    record.writeDoubleLE(logit, KEY_BYTES);
    for (let i = 0; i < this.cells; i++) record.writeFloatLE(map[i], KEY_BYTES + LOGIT_BYTES + 4 * i);
    await this.handle.write(record);
    this.maps.set(key, { map: Float32Array.from(map), logit });
    this.added++;
  }

  async close(): Promise<void> {
    await this.tail;
    await this.handle.close();
  }
}

/** sha256 of a file's bytes (hex): an image's identity in the keys. */
export async function contentHash(file: string): Promise<string> {
  return createHash('sha256')
    .update(await fs.readFile(file))
    .digest('hex');
}
