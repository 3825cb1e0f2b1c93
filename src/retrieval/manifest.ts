/**
 * `manifest.jsonl`: one JSON line per embedded image, in row order, appended after that row's embedding is
 * on disk. A line is therefore the commit marker of its row: a run killed at any point leaves a manifest
 * whose complete lines all have their embeddings, plus at most one torn line at the end, which the next
 * run detects (no trailing newline, bad JSON or a wrong row number) and cuts off.
 */
import { promises as fs } from 'node:fs';

export interface ManifestEntry {
  /** Row of `embeddings.npy` that holds this image's embedding. */
  row: number;
  /** Path relative to the index's image root, with '/' separators on every platform. */
  path: string;
  /** File size in bytes and modification time when embedded: a later run can tell the file changed. */
  size: number;
  mtimeMs: number;
}

export interface ManifestScan {
  /** Number of valid lines (rows 0..lines-1). */
  lines: number;
  /** Byte length of those valid lines; anything after it is a torn tail. */
  validBytes: number;
  /** The file's size in bytes (0 when missing). */
  fileBytes: number;
  /**
   * Why the scan stopped: 'end' of a file of whole lines, 'torn' at a last line without its newline (a write
   * cut short), 'invalid' at a complete line that is not the next row's entry (damage), or 'max' lines read.
   */
  stop: 'end' | 'torn' | 'invalid' | 'max';
}

function parseLine(line: string, row: number): ManifestEntry | undefined {
  try {
    const e = JSON.parse(line) as Partial<ManifestEntry>;
    if (e.row !== row || typeof e.path !== 'string' || typeof e.size !== 'number' || typeof e.mtimeMs !== 'number') return undefined;
    return { row: e.row, path: e.path, size: e.size, mtimeMs: e.mtimeMs };
  } catch {
    return undefined;
  }
}

/**
 * Streams the manifest in 1 MiB chunks (memory stays bounded for millions of lines), calling `visit` for
 * each valid line, and stops at the first invalid line or at `maxLines`.
 */
export async function scanManifest(file: string, visit?: (e: ManifestEntry) => void, maxLines = Infinity): Promise<ManifestScan> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { lines: 0, validBytes: 0, fileBytes: 0, stop: 'end' };
    throw err;
  }
  try {
    const fileBytes = (await handle.stat()).size;
    const buf = Buffer.alloc(1 << 20);
    let carry = Buffer.alloc(0);
    let lines = 0;
    let validBytes = 0;
    let position = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buf, 0, buf.length, position);
      if (bytesRead === 0) return { lines, validBytes, fileBytes, stop: carry.length > 0 ? 'torn' : 'end' }; // no newline after `carry`
      position += bytesRead;
      let data = Buffer.concat([carry, buf.subarray(0, bytesRead)]);
      let nl: number;
      while ((nl = data.indexOf(0x0a)) >= 0) {
        if (lines >= maxLines) return { lines, validBytes, fileBytes, stop: 'max' };
        const entry = parseLine(data.subarray(0, nl).toString('utf8'), lines);
        if (entry === undefined) return { lines, validBytes, fileBytes, stop: 'invalid' };
        visit?.(entry);
        lines++;
        validBytes += nl + 1;
        data = data.subarray(nl + 1);
      }
      carry = Buffer.from(data);
    }
  } finally {
    await handle.close();
  }
}

/** The lines for `entries`, ready to append in one write. */
export function manifestLines(entries: ManifestEntry[]): string {
  return entries.map((e) => JSON.stringify(e) + '\n').join('');
}
