/**
 * Building (or resuming) an index: list the images, skip those already committed, and embed the rest in
 * batches, committing each batch before the next is read. Memory holds one batch of pixels and embeddings
 * plus the list of paths, whatever the number of images. Files that cannot be read or decoded are reported
 * through `onSkip` and in the result, and never stop the run.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { BiomedCLIP } from '../api/biomedclip.js';
import { oneLine, UserError } from '../errors.js';
import type { HostTensor } from '../host-tensor.js';
import { listImages } from './files.js';
import { modelFingerprint } from './fingerprint.js';
import { IndexWriter, type IndexInfo, type SkippedFile } from './index-store.js';
import type { ManifestEntry } from './manifest.js';
import { chunks, pipeline } from '../parallel/pipeline.js';

export interface BuildOptions {
  imagesDir: string;
  outDir: string;
  /** Images per forward pass and per commit (default 16). */
  batchSize?: number;
  /** After each batch: images handled in this run (embedded or skipped) out of those to do. */
  onProgress?: (done: number, total: number) => void;
  /** Each unreadable file, as it is met. */
  onSkip?: (skipped: SkippedFile) => void;
}

export interface BuildResult {
  index: string;
  root: string;
  /** Rows in the index after this run. */
  count: number;
  embedDim: number;
  /** Images embedded by this run. */
  added: number;
  /** Images found already committed by an earlier (possibly killed) run. */
  alreadyIndexed: number;
  /** Indexed files whose size or mtime changed since: their embeddings are stale (rebuild to refresh). */
  changed: string[];
  /** Indexed files no longer on disk. */
  missing: string[];
  skipped: SkippedFile[];
  /** Files ignored for not having an image extension. */
  otherFiles: number;
  /** Bytes of a killed run's uncommitted tail that were cut off before resuming. */
  truncatedBytes: number;
  model: IndexInfo['model'];
}

type Pending = Omit<ManifestEntry, 'row'>;

export async function buildIndex(clip: BiomedCLIP, opts: BuildOptions): Promise<BuildResult> {
  const batchSize = opts.batchSize ?? 16;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new UserError(`--batch-size ${batchSize}: expected a positive integer`, 2);
  const root = path.resolve(opts.imagesDir);
  const out = path.resolve(opts.outDir);
  const listing = await listImages(root, [out]);
  const model = { dir: clip.modelDir, fingerprint: await modelFingerprint(clip.modelDir) };
  const { writer, recovery } = await IndexWriter.open(out, { root, model, embedDim: clip.config.embedDim });
  const skipped: SkippedFile[] = [];
  let complete = false;
  try {
    const present = new Set(listing.images);
    const todo = listing.images.filter((p) => !writer.indexed.has(p));
    const changed = await changedFiles(root, writer.indexed, present);
    const skip = (s: SkippedFile) => {
      skipped.push(s);
      opts.onSkip?.(s);
    };
    await embedInto(clip, writer, root, todo, batchSize, { skip, onProgress: opts.onProgress });
    complete = true;
    return {
      index: out,
      root,
      count: writer.count,
      embedDim: clip.config.embedDim,
      added: todo.length - skipped.length,
      alreadyIndexed: listing.images.length - todo.length,
      changed,
      missing: [...writer.indexed.keys()].filter((p) => !present.has(p)),
      skipped,
      otherFiles: listing.otherFiles,
      truncatedBytes: recovery.truncatedBytes,
      model,
    };
  } finally {
    await writer.close({ skipped, complete });
  }
}

/**
 * Embeds the images `todo` (paths relative to `root`) into `writer`, `batchSize` at a time: decoded here,
 * several batches at once on the worker pool, each committed in order after all before it, so a killed
 * run resumes where its commits end. Unreadable files go to `skip`; `onProgress` counts images handled.
 */
export async function embedInto(
  clip: BiomedCLIP,
  writer: IndexWriter,
  root: string,
  todo: string[],
  batchSize: number,
  on: { skip: (s: SkippedFile) => void; onProgress?: (done: number, total: number) => void },
): Promise<void> {
  const batches = chunks(todo, batchSize);
  const runner = await clip.batchRunner(batches.length > 1);
  let done = 0;
  await pipeline(batches, runner.window, {
    prepare: (batch) => decodeBatch(clip, root, batch, on.skip),
    // embedPixels refuses non-finite rows, naming the image: index never writes one
    run: async (decoded) => ({ ...decoded, embeddings: decoded.px ? await runner.embedPixels(decoded.px, decoded.entries.map((e) => path.join(root, e.path))) : [] }),
    consume: async ({ entries, embeddings }, batch) => {
      if (entries.length > 0) await writer.append(entries, concat(embeddings.map((e) => e.embedding))); // [n, E]
      on.onProgress?.((done += batch.length), todo.length);
    },
  });
}

/** Decodes each file of the batch, reporting the unreadable ones: the readable ones' entries and pixels. */
async function decodeBatch(clip: BiomedCLIP, root: string, batch: string[], skip: (s: SkippedFile) => void): Promise<{ entries: Pending[]; px: HostTensor | null }> {
  const entries: Pending[] = [];
  const pixels: Float32Array[] = [];
  for (const rel of batch) {
    const full = path.join(root, rel);
    try {
      const stat = await fs.stat(full);
      const px = await clip.pixelValues([full]); // [1, 3, S, S]
      entries.push({ path: rel, size: stat.size, mtimeMs: stat.mtimeMs });
      pixels.push(px.data);
    } catch (err) {
      skip({ path: rel, error: oneLine(err) });
    }
  }
  if (entries.length === 0) return { entries, px: null };
  const s = clip.config.preprocess.imageSize;
  return { entries, px: { shape: [entries.length, 3, s, s], data: concat(pixels) } };
}

async function changedFiles(root: string, indexed: IndexWriter['indexed'], present: Set<string>): Promise<string[]> {
  const changed: string[] = [];
  for (const [rel, was] of indexed) {
    if (!present.has(rel)) continue;
    const now = await fs.stat(path.join(root, rel)).catch(() => undefined);
    if (now && (now.size !== was.size || now.mtimeMs !== was.mtimeMs)) changed.push(rel);
  }
  return changed;
}

export function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
