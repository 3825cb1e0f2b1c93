/**
 * The evaluation's embedding cache, kept in the store `biomedclip index` writes (src/retrieval/), so it
 * inherits its guarantees: one batch committed at a time (a killed run resumes where it stopped), one
 * writer at a time, one model per store (checked by fingerprint), a LanceDB table Python reads.
 *
 *   CACHE/images/   an index of the dataset's images: `biomedclip search CACHE/images "query"` works on it,
 *                   and an index built earlier with `biomedclip index DATA --out CACHE/images` is reused
 *   CACHE/texts/    the same format for prompts and captions; each row's `path` (and `sha256`) is the
 *                   sha256 of the text's UTF-8 bytes (texts are not files) and `size` its byte length
 *
 * Re-running with other prompts or templates re-embeds only the new texts; changed images are embedded
 * again and images that are gone are dropped (refresh.ts), so the cache never needs deleting by hand.
 * The default CACHE is one folder per dataset folder and model under the user cache (`$XDG_CACHE_HOME` or
 * ~/.cache, `biomedclip-ts/eval/`).
 */
import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import * as path from 'node:path';
import type { Embedding } from '../embed/embed.js';
import { UserError } from '../errors.js';
import { concat, embedInto, type IndexingModel } from '../retrieval/build.js';
import { modelFingerprint } from '../weights/fingerprint.js';
import { IndexReader } from '../retrieval/index-reader.js';
import { INDEX_VERSION, IndexWriter, readInfo, type IndexModel, type SkippedFile } from '../retrieval/index-store.js';
import { refreshStore } from '../retrieval/refresh.js';
import { describeFsError } from '../util/writable.js';

/** The `root` of a text store: texts have no folder, this string only marks the store's kind. */
const TEXT_ROOT = 'texts (path = sha256 of the UTF-8 text)';

export interface StoreProgress {
  /** When a phase starts: what it embeds, how many (0: all cached), the cache, and how many are committed at any moment. */
  onStart?: (what: 'images' | 'texts', phase: { total: number; cacheDir: string; committed: () => number }) => void;
  /** After each committed batch: what is being embedded, items done and items to do in this run. */
  onProgress?: (what: 'images' | 'texts', done: number, total: number) => void;
  onSkip?: (skipped: SkippedFile) => void;
  /** Items per forward pass and per commit (default 16 images, 32 texts). */
  batchSize?: number;
}

/**
 * What the cache needs from a model (the `BiomedCLIP` facade has it): what indexing needs, to embed the
 * images into the image store, and text embeddings for the text store.
 */
export interface CachingModel extends IndexingModel {
  encodeTexts(texts: string[]): Promise<Embedding[]>;
}

export interface Embedded {
  /** key (image path relative to the root, or text) → unit embedding. */
  embeddings: Map<string, Float32Array>;
  /** Embedded by this run / found in the cache. */
  embedded: number;
  cached: number;
  skipped: SkippedFile[];
}

export async function storeModel(clip: Pick<CachingModel, 'modelDir'>): Promise<IndexModel> {
  return { dir: clip.modelDir, fingerprint: await modelFingerprint(clip.modelDir) };
}

/** `$XDG_CACHE_HOME/biomedclip-ts/eval` (or ~/.cache/...): the folder holding every default cache. */
export function cacheBase(): string {
  return path.join(process.env.XDG_CACHE_HOME || path.join(homedir(), '.cache'), 'biomedclip-ts', 'eval');
}

/** `$XDG_CACHE_HOME/biomedclip-ts/eval/<hash of the image folder and model>`. */
export function defaultCacheDir(root: string, model: IndexModel): string {
  // The store's version is part of the key: a default cache of the older .npy store is left alone (a new
  // folder is made) instead of refused on every run.
  const key = createHash('sha256').update(`${root}\n${model.fingerprint}\nstore v${INDEX_VERSION}`).digest('hex').slice(0, 16);
  return path.join(cacheBase(), key);
}

/**
 * Embeddings of the images `paths` (relative to `root`), embedding only those not cached yet. The cache is
 * first brought up to date (refresh.ts): images changed since they were cached are embedded again, and
 * rows of images that are gone are dropped, so a touched or re-copied dataset never stops the run.
 */
export async function imageEmbeddings(clip: CachingModel, cacheDir: string, root: string, paths: string[], opts: StoreProgress = {}): Promise<Embedded> {
  const dir = path.join(cacheDir, 'images');
  const model = await storeModel(clip);
  await checkStore(cacheDir, dir, root, model);
  const { writer, recovery } = await openStore(cacheDir, dir, root, model, clip.config.embedDim);
  const skipped: SkippedFile[] = [];
  const skip = (s: SkippedFile) => {
    skipped.push(s);
    opts.onSkip?.(s);
  };
  let complete = false;
  try {
    const unique = [...new Set(paths)];
    const fresh = await refreshStore(writer, root, recovery.badRows, { prune: true });
    const wanted = new Set(unique);
    const again = [...fresh.changed, ...fresh.repaired].filter((p) => wanted.has(p));
    const todo = [...again, ...unique.filter((p) => !writer.indexed.has(p))];
    opts.onStart?.('images', { total: todo.length, cacheDir, committed: () => writer.committedNow });
    await embedInto(clip, writer, root, todo, opts.batchSize ?? 16, { skip, onProgress: (done, total) => opts.onProgress?.('images', done, total) });
    complete = true;
    const stored = await readStore(dir);
    const embeddings = new Map(unique.filter((p) => stored.has(p)).map((p) => [p, stored.get(p) as Float32Array]));
    return { embeddings, embedded: todo.length - skipped.length, cached: unique.length - todo.length, skipped };
  } finally {
    await writer.close({ skipped, complete });
  }
}

/** Opens a store, saying which --cache could not be created instead of Node's raw mkdir error. */
async function openStore(cacheDir: string, dir: string, root: string, model: IndexModel, embedDim: number): ReturnType<typeof IndexWriter.open> {
  try {
    return await IndexWriter.open(dir, { root, model, embedDim, vectorIndex: false });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (err instanceof UserError || code === undefined) throw err;
    throw new UserError(`cannot write the evaluation cache ${cacheDir} (${describeFsError(err, dir)}); pass --cache DIR in a folder you can write to`);
  }
}

/** Unit embeddings of `texts`, embedding only those not cached yet (shortest first: less padding). */
export async function textEmbeddings(clip: CachingModel, cacheDir: string, texts: string[], opts: StoreProgress = {}): Promise<Embedded> {
  const dir = path.join(cacheDir, 'texts');
  const model = await storeModel(clip);
  await checkStore(cacheDir, dir, TEXT_ROOT, model);
  const { writer, recovery } = await openStore(cacheDir, dir, TEXT_ROOT, model, clip.config.embedDim);
  let complete = false;
  try {
    // A text row search would refuse is dropped, and so embedded again below (texts have no file to stat).
    await writer.drop(recovery.badRows);
    const unique = [...new Set(texts)];
    const todo = unique.filter((t) => !writer.indexed.has(sha256(t))).sort((a, b) => a.length - b.length);
    const batch = opts.batchSize ?? 32;
    opts.onStart?.('texts', { total: todo.length, cacheDir, committed: () => writer.committedNow });
    for (let start = 0; start < todo.length; start += batch) {
      const part = todo.slice(start, start + batch);
      const emb = await clip.encodeTexts(part);
      await writer.commit(
        part.map((t) => ({ path: sha256(t), size: Buffer.byteLength(t), mtimeMs: 0, sha256: sha256(t) })),
        concat(emb.map((e) => e.embedding)),
      );
      opts.onProgress?.('texts', Math.min(todo.length, start + batch), todo.length);
    }
    complete = true;
    const byHash = await readStore(dir);
    const embeddings = new Map(unique.map((t) => [t, byHash.get(sha256(t)) as Float32Array]));
    return { embeddings, embedded: todo.length, cached: unique.length - todo.length, skipped: [] };
  } finally {
    await writer.close({ skipped: [], complete });
  }
}

/** A store of another folder or another model is refused with the eval's own words (not index's --out). */
async function checkStore(cacheDir: string, dir: string, root: string, model: IndexModel): Promise<void> {
  const info = await readInfo(dir).catch((err: unknown) => {
    // index's advice (rebuild into a new --out) means nothing here: a cache can simply be deleted.
    if (!(err instanceof UserError)) throw err;
    throw new UserError(
      `the evaluation cache ${cacheDir} is damaged (${err.message.split(';')[0]}); delete ${cacheDir} (it only holds embeddings, made again on the next run) or pass another --cache`,
    );
  });
  if (info === undefined) return;
  if (info.root !== root) throw new UserError(`--cache ${cacheDir}: caches ${info.root}, not ${root}; pass another --cache, or leave it out`);
  if (info.model.fingerprint !== model.fingerprint)
    throw new UserError(`--cache ${cacheDir}: made with another model (${info.model.dir}); pass --model ${info.model.dir}, another --cache, or leave it out`);
}

/** Every committed row of a store: stored path → embedding. */
async function readStore(dir: string): Promise<Map<string, Float32Array>> {
  const reader = await IndexReader.open(dir);
  try {
    const e = reader.embedDim;
    const out = new Map<string, Float32Array>();
    for await (const { entries, vectors } of reader.chunks()) entries.forEach((entry, r) => out.set(entry.path, vectors.subarray(r * e, (r + 1) * e)));
    return out;
  } finally {
    await reader.close();
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
