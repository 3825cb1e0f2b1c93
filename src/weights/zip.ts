/**
 * A minimal, defensive zip reader for `torch.save` archives: it reads the central directory (zip64 too,
 * for checkpoints over 4 GB), then individual records by positional reads, so a 784 MB checkpoint is never
 * loaded whole. torch writes every record uncompressed ("stored"); deflate is accepted only for small
 * records (the pickle, the version) and only up to a size cap, so a zip bomb cannot inflate memory.
 * Every record's CRC-32 is checked, so a corrupted download is caught instead of converted.
 */
import { promises as fs } from 'node:fs';
import { inflateRawSync } from 'node:zlib';
import { UserError } from '../errors.js';
import { readFully } from './file-source.js';

export interface ZipEntry {
  name: string;
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

/** The biggest record this reader will inflate (a real data.pkl is ~100 KB for BiomedCLIP). */
export const MAX_INFLATED = 64 * 1024 * 1024;
const MAX_CENTRAL_DIR = 64 * 1024 * 1024;
const EOCD_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const CENTRAL_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;

const FIX = 'the file is truncated or corrupt: download it again';

export class ZipFile {
  readonly path: string;
  readonly entries: ReadonlyMap<string, ZipEntry>;
  private readonly handle: fs.FileHandle;
  private readonly size: number;

  private constructor(path: string, handle: fs.FileHandle, size: number, entries: ZipEntry[]) {
    this.path = path;
    this.handle = handle;
    this.size = size;
    this.entries = new Map(entries.map((e) => [e.name, e]));
  }

  /** Reads the central directory of an already opened file. The caller keeps ownership of `handle`. */
  static async fromHandle(path: string, handle: fs.FileHandle): Promise<ZipFile> {
    const { size } = await handle.stat();
    const fail = (problem: string): never => {
      throw new UserError(`${path}: ${problem}; ${FIX}`);
    };
    const tailLen = Math.min(size, 65557); // EOCD (22 bytes) + the longest possible comment
    const tail = new Uint8Array(tailLen);
    await readFully(handle, tail, size - tailLen, path);
    const view = new DataView(tail.buffer);
    let eocd = -1;
    for (let i = tailLen - 22; i >= 0; i--) {
      if (view.getUint32(i, true) === EOCD_SIG) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) fail('no zip end-of-central-directory record (truncated download?)');
    let count = view.getUint16(eocd + 10, true);
    let cdSize = view.getUint32(eocd + 12, true);
    let cdOffset = view.getUint32(eocd + 16, true);
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      ({ count, cdSize, cdOffset } = await readZip64End(handle, path, size, size - tailLen + eocd, fail));
    }
    if (cdSize > MAX_CENTRAL_DIR || cdOffset + cdSize > size) fail(`zip central directory (${cdSize} bytes at ${cdOffset}) is out of bounds`);
    const cd = new Uint8Array(cdSize);
    await readFully(handle, cd, cdOffset, path);
    return new ZipFile(path, handle, size, parseCentralDirectory(cd, count, size, fail));
  }

  /** Where a record's bytes start (after its local header) and how many there are. */
  async dataRange(entry: ZipEntry): Promise<{ start: number; length: number }> {
    const local = new Uint8Array(30);
    if (entry.localHeaderOffset + 30 > this.size) this.fail(`record ${entry.name} starts past the end`);
    await readFully(this.handle, local, entry.localHeaderOffset, this.path);
    const view = new DataView(local.buffer);
    if (view.getUint32(0, true) !== LOCAL_SIG) this.fail(`record ${entry.name} has no local header`);
    const start = entry.localHeaderOffset + 30 + view.getUint16(26, true) + view.getUint16(28, true);
    if (start + entry.compressedSize > this.size) this.fail(`record ${entry.name} runs past the end of the file`);
    return { start, length: entry.compressedSize };
  }

  /**
   * The record's uncompressed bytes, CRC-checked. `maxSize` bounds what a caller is willing to allocate,
   * checked against the declared size before reading and enforced while inflating.
   */
  async read(entry: ZipEntry, maxSize: number): Promise<Uint8Array> {
    if (entry.size > maxSize) this.fail(`record ${entry.name} claims ${entry.size} bytes, more than the ${maxSize} allowed`);
    const { start, length } = await this.dataRange(entry);
    let bytes: Uint8Array;
    if (entry.method === 0) {
      if (length !== entry.size) this.fail(`stored record ${entry.name} has mismatched sizes`);
      bytes = new Uint8Array(length);
      await readFully(this.handle, bytes, start, this.path);
    } else {
      if (entry.size > MAX_INFLATED) this.fail(`compressed record ${entry.name} is too large (${entry.size} bytes); torch.save writes storages uncompressed`);
      const packed = new Uint8Array(length);
      await readFully(this.handle, packed, start, this.path);
      bytes = this.inflate(entry, packed);
    }
    if (crc32(bytes) !== entry.crc32) this.fail(`record ${entry.name} fails its CRC-32 check`);
    return bytes;
  }

  private inflate(entry: ZipEntry, packed: Uint8Array): Uint8Array {
    try {
      // maxOutputLength stops a bomb at the declared size instead of after gigabytes.
      const out = inflateRawSync(packed, { maxOutputLength: Math.max(1, entry.size) });
      if (out.length !== entry.size) this.fail(`record ${entry.name} inflates to ${out.length} bytes, not the declared ${entry.size}`);
      return new Uint8Array(out.buffer, out.byteOffset, out.length);
    } catch (err) {
      if (err instanceof UserError) throw err;
      this.fail(`record ${entry.name} does not inflate to its declared ${entry.size} bytes (${(err as Error).message})`);
    }
  }

  private fail(problem: string): never {
    throw new UserError(`${this.path}: ${problem}; ${FIX}`);
  }
}

async function readZip64End(
  handle: fs.FileHandle,
  path: string,
  size: number,
  eocdPos: number,
  fail: (p: string) => never,
): Promise<{ count: number; cdSize: number; cdOffset: number }> {
  if (eocdPos < 20) fail('zip64 locator missing');
  const loc = new Uint8Array(20);
  await readFully(handle, loc, eocdPos - 20, path);
  const lv = new DataView(loc.buffer);
  if (lv.getUint32(0, true) !== ZIP64_LOCATOR_SIG) fail('zip64 locator missing');
  const recPos = Number(lv.getBigUint64(8, true));
  if (recPos + 56 > size) fail('zip64 end record out of bounds');
  const rec = new Uint8Array(56);
  await readFully(handle, rec, recPos, path);
  const rv = new DataView(rec.buffer);
  if (rv.getUint32(0, true) !== ZIP64_EOCD_SIG) fail('zip64 end record missing');
  const big = (off: number) => {
    const v = rv.getBigUint64(off, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail('zip64 field out of range');
    return Number(v);
  };
  return { count: big(32), cdSize: big(40), cdOffset: big(48) };
}

function parseCentralDirectory(cd: Uint8Array, count: number, fileSize: number, fail: (p: string) => never): ZipEntry[] {
  const view = new DataView(cd.buffer);
  const decoder = new TextDecoder('utf-8', { fatal: false });
  const entries: ZipEntry[] = [];
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cd.length || view.getUint32(p, true) !== CENTRAL_SIG) fail('zip central directory is damaged');
    const flags = view.getUint16(p + 8, true);
    const method = view.getUint16(p + 10, true);
    const nameLen = view.getUint16(p + 28, true);
    const extraLen = view.getUint16(p + 30, true);
    const commentLen = view.getUint16(p + 32, true);
    if (p + 46 + nameLen + extraLen + commentLen > cd.length) fail('zip central directory is damaged');
    const name = decoder.decode(cd.subarray(p + 46, p + 46 + nameLen));
    if (flags & 1) fail(`record ${name} is encrypted`);
    if (method !== 0 && method !== 8) fail(`record ${name} uses zip compression method ${method}; only stored and deflate are read`);
    const sizes = {
      compressedSize: view.getUint32(p + 20, true),
      size: view.getUint32(p + 24, true),
      localHeaderOffset: view.getUint32(p + 42, true),
    };
    applyZip64Extra(view, p + 46 + nameLen, extraLen, sizes, fail);
    if (sizes.localHeaderOffset + sizes.compressedSize > fileSize) fail(`record ${name} lies outside the file`);
    entries.push({ name, method, crc32: view.getUint32(p + 16, true), ...sizes });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** Zip64 stores the real 64-bit values, in this order, for each 32-bit field that reads 0xffffffff. */
function applyZip64Extra(
  view: DataView,
  start: number,
  length: number,
  s: { compressedSize: number; size: number; localHeaderOffset: number },
  fail: (p: string) => never,
): void {
  for (let q = start; q + 4 <= start + length; ) {
    const id = view.getUint16(q, true);
    const len = view.getUint16(q + 2, true);
    if (id === 0x0001) {
      let r = q + 4;
      const next = (): number => {
        if (r + 8 > q + 4 + len) fail('zip64 extra field is too short');
        const v = Number(view.getBigUint64(r, true));
        r += 8;
        return v;
      };
      if (s.size === 0xffffffff) s.size = next();
      if (s.compressedSize === 0xffffffff) s.compressedSize = next();
      if (s.localHeaderOffset === 0xffffffff) s.localHeaderOffset = next();
    }
    q += 4 + len;
  }
}

let crcTable: Int32Array | undefined;

/** CRC-32 (IEEE, as zip uses), table-driven; Node 20's zlib has no crc32 export yet. */
export function crc32(bytes: Uint8Array): number {
  const table = (crcTable ??= Int32Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c;
  }));
  let crc = -1;
  for (let i = 0; i < bytes.length; i++) crc = table[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}
