/**
 * The evaluation's embedding cache, kept in the store `biomedclip index` writes (src/retrieval/), so it
 * inherits its guarantees: one batch committed at a time (a killed run resumes where it stopped), one
 * writer at a time, one model per store (checked by fingerprint), NumPy-readable files.
 *
 *   CACHE/images/   an index of the dataset's images: `biomedclip search CACHE/images "query"` works on it,
 *                   and an index built earlier with `biomedclip index DATA --out CACHE/images` is reused
 *   CACHE/texts/    the same format for prompts and captions; each manifest `path` is the sha256 of the
 *                   text's UTF-8 bytes (texts are not files) and `size` its byte length
 *
 * Re-running with other prompts or templates re-embeds only the new texts. The default CACHE is one folder
 * per dataset folder and model under the user cache (`$XDG_CACHE_HOME` or ~/.cache, `biomedclip-ts/eval/`).
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { homedir } from 'node:os';
import * as path from 'node:path';
import type { BiomedCLIP } from '../api/biomedclip.js';
import { UserError } from '../errors.js';
import { concat, embedInto } from '../retrieval/build.js';
import { modelFingerprint } from '../retrieval/fingerprint.js';
import { IndexReader } from '../retrieval/index-reader.js';
import { IndexWriter, readInfo, type IndexModel, type SkippedFile } from '../retrieval/index-store.js';

/** The `root` of a text store: texts have no folder, this string only marks the store's kind. */
const TEXT_ROOT = 'texts (manifest path = sha256 of the UTF-8 text)';

export interface StoreProgress {
  /** After each committed batch: what is being embedded, items done and items to do in this run. */
  onProgress?: (what: 'images' | 'texts', done: number, total: number) => void;
  onSkip?: (skipped: SkippedFile) => void;
  /** Items per forward pass and per commit (default 16 images, 32 texts). */
  batchSize?: number;
}

export interface Embedded {
  /** key (image path relative to the root, or text) → unit embedding. */
  embeddings: Map<string, Float32Array>;
  /** Embedded by this run / found in the cache. */
  embedded: number;
  cached: number;
  skipped: SkippedFile[];
}

export async function storeModel(clip: BiomedCLIP): Promise<IndexModel> {
  return { dir: clip.modelDir, fingerprint: await modelFingerprint(clip.modelDir) };
}

/** `$XDG_CACHE_HOME/biomedclip-ts/eval` (or ~/.cache/...): the folder holding every default cache. */
export function cacheBase(): string {
  return path.join(process.env.XDG_CACHE_HOME || path.join(homedir(), '.cache'), 'biomedclip-ts', 'eval');
}

/** `$XDG_CACHE_HOME/biomedclip-ts/eval/<hash of the image folder and model>`. */
export function defaultCacheDir(root: string, model: IndexModel): string {
  const key = createHash('sha256').update(`${root}\n${model.fingerprint}`).digest('hex').slice(0, 16);
  return path.join(cacheBase(), key);
}

/** Embeddings of the images `paths` (relative to `root`), embedding only those not cached yet. */
export async function imageEmbeddings(clip: BiomedCLIP, cacheDir: string, root: string, paths: string[], opts: StoreProgress = {}): Promise<Embedded> {
  const dir = path.join(cacheDir, 'images');
  const model = await storeModel(clip);
  await checkStore(cacheDir, dir, root, model);
  const { writer } = await IndexWriter.open(dir, { root, model, embedDim: clip.config.embedDim });
  const skipped: SkippedFile[] = [];
  const skip = (s: SkippedFile) => {
    skipped.push(s);
    opts.onSkip?.(s);
  };
  let complete = false;
  try {
    const unique = [...new Set(paths)];
    const todo = await uncached(writer, root, unique, skip);
    const gone = skipped.length; // cached, but the file is no longer there
    await embedInto(clip, writer, root, todo, opts.batchSize ?? 16, { skip, onProgress: (done, total) => opts.onProgress?.('images', done, total) });
    complete = true;
    const stored = await readStore(dir);
    const embeddings = new Map(unique.filter((p) => stored.has(p)).map((p) => [p, stored.get(p) as Float32Array]));
    const failed = skipped.length - gone;
    return { embeddings, embedded: todo.length - failed, cached: unique.length - todo.length - gone, skipped };
  } finally {
    await writer.close({ skipped, complete });
  }
}

/**
 * The requested images not in the store yet. Cached ones are checked against the file: one that is gone
 * is skipped (reported), one whose size or mtime changed is an error (its cached embedding is stale).
 */
async function uncached(writer: IndexWriter, root: string, paths: string[], skip: (s: SkippedFile) => void): Promise<string[]> {
  const todo: string[] = [];
  const changed: string[] = [];
  for (const rel of paths) {
    const was = writer.indexed.get(rel);
    if (was === undefined) {
      todo.push(rel);
      continue;
    }
    const now = await fs.stat(path.join(root, rel)).catch(() => undefined);
    if (now === undefined) skip({ path: rel, error: 'no such file (an embedding is cached, but the image is gone)' });
    else if (now.size !== was.size || now.mtimeMs !== was.mtimeMs) changed.push(rel);
  }
  if (changed.length > 0) {
    throw new UserError(`${changed.length} images changed since they were cached in ${writer.dir} (e.g. ${changed[0]}); delete that folder or pass another --cache to embed them again`);
  }
  return todo;
}

/** Unit embeddings of `texts`, embedding only those not cached yet (shortest first: less padding). */
export async function textEmbeddings(clip: BiomedCLIP, cacheDir: string, texts: string[], opts: StoreProgress = {}): Promise<Embedded> {
  const dir = path.join(cacheDir, 'texts');
  const model = await storeModel(clip);
  await checkStore(cacheDir, dir, TEXT_ROOT, model);
  const { writer } = await IndexWriter.open(dir, { root: TEXT_ROOT, model, embedDim: clip.config.embedDim });
  let complete = false;
  try {
    const unique = [...new Set(texts)];
    const todo = unique.filter((t) => !writer.indexed.has(sha256(t))).sort((a, b) => a.length - b.length);
    const batch = opts.batchSize ?? 32;
    for (let start = 0; start < todo.length; start += batch) {
      const part = todo.slice(start, start + batch);
      const emb = await clip.encodeTexts(part);
      await writer.append(part.map((t) => ({ path: sha256(t), size: Buffer.byteLength(t), mtimeMs: 0 })), concat(emb.map((e) => e.embedding)));
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
  const info = await readInfo(dir);
  if (info === undefined) return;
  if (info.root !== root) throw new UserError(`--cache ${cacheDir}: caches ${info.root}, not ${root}; pass another --cache, or leave it out`);
  if (info.model.fingerprint !== model.fingerprint) throw new UserError(`--cache ${cacheDir}: made with another model (${info.model.dir}); pass --model ${info.model.dir}, another --cache, or leave it out`);
}

/** Every committed row of a store: manifest path → embedding. */
async function readStore(dir: string): Promise<Map<string, Float32Array>> {
  const reader = await IndexReader.open(dir);
  try {
    const e = reader.embedDim;
    const rows = new Float32Array(reader.count * e);
    for await (const { start, data } of reader.chunks()) rows.set(data, start * e);
    const entries = await reader.entries(Array.from({ length: reader.count }, (_, i) => i));
    const out = new Map<string, Float32Array>();
    for (const [row, entry] of entries) out.set(entry.path, rows.subarray(row * e, (row + 1) * e));
    return out;
  } finally {
    await reader.close();
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
