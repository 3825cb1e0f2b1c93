/**
 * Building (or resuming) an index: list the images (of one shard, for an array job: shard.ts), bring the
 * index up to date with them (embed changed files and unusable rows again; with `prune`, drop the rows of
 * files that are gone: refresh.ts), skip those already committed, and embed the rest in batches,
 * committing each batch before the next is read. Memory holds one batch of pixels and embeddings plus the
 * list of paths, whatever the number of images. Files that cannot be read or decoded are reported through
 * `onSkip` and in the result, and never stop the run.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { BatchRunner } from '../api/core.js';
import { oneLine, UserError } from '../errors.js';
import type { HostTensor } from '../host-tensor.js';
import type { PreprocessConfig } from '../image/index.js';
import { IMAGE_EXTENSIONS, listImages } from './files.js';
import { modelFingerprint } from '../weights/fingerprint.js';
import { IndexWriter, type IndexInfo, type SkippedFile, type StoreEntry } from './index-store.js';
import { refreshStore } from './refresh.js';
import { inShard, type Shard } from './shard.js';
import { chunks, pipeline } from '../parallel/pipeline.js';

export interface BuildOptions {
  imagesDir: string;
  outDir: string;
  /** Images per forward pass and per commit (default 16). */
  batchSize?: number;
  /** Embed only this shard's files (the other shards' processes embed theirs into the same table). */
  shard?: Shard;
  /** Drop the rows of indexed files that are gone (without it they are reported as `missing` and kept). */
  prune?: boolean;
  /**
   * Once the index is open and brought up to date: images up to date already, to embed now, in all, and
   * how many of those to embed are committed at any moment (for what Ctrl-C says).
   */
  onStart?: (counts: { indexed: number; todo: number; total: number; committed: () => number }) => void;
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
  /** New images embedded by this run. */
  added: number;
  /** Images found up to date, committed by an earlier (possibly killed) run. */
  alreadyIndexed: number;
  /** The shard this run embedded (absent: every file), and how many files of the folder are its. */
  shard?: { index: number; count: number; source: string; files: number };
  /** False until every shard of the index has finished (always true for an unsharded run that ends). */
  complete: boolean;
  /** Indexed files whose size or mtime changed since: embedded again into their rows. */
  changed: string[];
  /** Indexed files whose row held NaN, Inf or a non-unit vector: embedded again into their rows. */
  repaired: string[];
  /** Indexed files no longer there whose rows were dropped (`prune`). */
  removed: string[];
  /** Indexed files no longer there whose rows were kept (no `prune`). */
  missing: string[];
  skipped: SkippedFile[];
  /** Files ignored for not having an image extension. */
  otherFiles: number;
  /** Folders under the images that earlier biomedclip runs wrote (indexes, reports, caches): not indexed. */
  outputs: string[];
  model: IndexInfo['model'];
}

/**
 * What indexing needs from a model (the `BiomedCLIP` facade has it): where it came from (the index records
 * its fingerprint), its embedding size and input size, its preprocessing, and a batch runner.
 */
export interface IndexingModel {
  readonly modelDir: string;
  readonly config: { readonly embedDim: number; readonly preprocess: PreprocessConfig };
  /** Image files as [N, 3, S, S] pixels, preprocessed as open_clip's eval transform does. */
  pixelValues(images: string[]): Promise<HostTensor>;
  batchRunner(bulk: boolean): Promise<BatchRunner>;
}

export async function buildIndex(clip: IndexingModel, opts: BuildOptions): Promise<BuildResult> {
  const batchSize = opts.batchSize ?? 16;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new UserError(`--batch-size ${batchSize}: expected a positive integer`, 2);
  const root = path.resolve(opts.imagesDir);
  const out = path.resolve(opts.outDir);
  const listing = await listImages(root, [out]);
  // Checked before the index is opened: an empty (or unmounted) folder must not empty an existing index.
  if (listing.images.length === 0) {
    const others = listing.otherFiles > 0 ? `; ${listing.otherFiles} files with other extensions` : '';
    throw new UserError(
      `${opts.imagesDir}: no images to index (none named ${[...IMAGE_EXTENSIONS].join(' ')}${others}); pass the folder that holds the images`,
    );
  }
  const model = { dir: clip.modelDir, fingerprint: await modelFingerprint(clip.modelDir) };
  const { writer, recovery } = await IndexWriter.open(out, { root, model, embedDim: clip.config.embedDim, shard: opts.shard });
  const mine = listing.images.filter((p) => inShard(p, opts.shard));
  const skipped: SkippedFile[] = [];
  let ran = false;
  let info: IndexInfo | undefined;
  try {
    const fresh = await refreshStore(writer, root, recovery.badRows, { present: new Set(mine), prune: opts.prune ?? false });
    const again = [...fresh.changed, ...fresh.repaired];
    const added = mine.filter((p) => !writer.indexed.has(p));
    const todo = [...again, ...added];
    const skip = (s: SkippedFile) => {
      skipped.push(s);
      opts.onSkip?.(s);
    };
    opts.onStart?.({ indexed: mine.length - todo.length, todo: todo.length, total: mine.length, committed: () => writer.committedNow });
    await embedInto(clip, writer, root, todo, batchSize, { skip, onProgress: opts.onProgress });
    ran = true;
    info = await writer.close({ skipped, complete: true });
    const failed = new Set(skipped.map((s) => s.path));
    return {
      index: out,
      root,
      count: info.count,
      embedDim: clip.config.embedDim,
      added: added.filter((p) => !failed.has(p)).length,
      alreadyIndexed: mine.length - todo.length,
      ...(opts.shard ? { shard: { ...opts.shard, files: mine.length } } : {}),
      complete: info.complete,
      changed: fresh.changed,
      repaired: fresh.repaired,
      removed: opts.prune ? fresh.removed : [],
      missing: opts.prune ? [] : fresh.removed,
      skipped,
      otherFiles: listing.otherFiles,
      outputs: listing.outputs,
      model,
    };
  } finally {
    if (!ran) await writer.close({ skipped, complete: false });
  }
}

/**
 * Embeds the images `todo` (paths relative to `root`) into `writer`, `batchSize` at a time: decoded here,
 * several batches at once on the worker pool, each committed in order after all before it, so a killed
 * run resumes where its commits end. An image already in `writer` gets its row replaced. Unreadable files
 * go to `skip`; `onProgress` counts images handled.
 */
export async function embedInto(
  clip: IndexingModel,
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
    run: async (decoded) => ({
      ...decoded,
      embeddings: decoded.px
        ? await runner.embedPixels(
            decoded.px,
            decoded.entries.map((e) => path.join(root, e.path)),
          )
        : [],
    }),
    consume: async ({ entries, embeddings }, batch) => {
      if (entries.length > 0) await writer.commit(entries, concat(embeddings.map((e) => e.embedding))); // [n, E]
      on.onProgress?.((done += batch.length), todo.length);
    },
  });
}

/** Decodes each file of the batch, reporting the unreadable ones: the readable ones' entries and pixels. */
async function decodeBatch(
  clip: IndexingModel,
  root: string,
  batch: string[],
  skip: (s: SkippedFile) => void,
): Promise<{ entries: StoreEntry[]; px: HostTensor | null }> {
  const entries: StoreEntry[] = [];
  const pixels: Float32Array[] = [];
  for (const rel of batch) {
    const full = path.join(root, rel);
    try {
      const stat = await fs.stat(full);
      const px = await clip.pixelValues([full]); // [1, 3, S, S]
      // A second read of a file just decoded comes from the page cache: the hash costs far less than the decode.
      const sha256 = createHash('sha256')
        .update(await fs.readFile(full))
        .digest('hex');
      entries.push({ path: rel, size: stat.size, mtimeMs: stat.mtimeMs, sha256 });
      pixels.push(px.data);
    } catch (err) {
      skip({ path: rel, error: oneLine(err) });
    }
  }
  if (entries.length === 0) return { entries, px: null };
  const s = clip.config.preprocess.imageSize;
  return { entries, px: { shape: [entries.length, 3, s, s], data: concat(pixels) } };
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
