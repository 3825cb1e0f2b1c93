/**
 * index.json, the sidecar of an index: what is true of the whole index (format, image root, model
 * fingerprint, embedding width, whether the last run finished, the files it skipped, the shards that have
 * finished, the rows the vector index was trained on). Rows live in the LanceDB table (table.ts); this
 * file is small, rewritten whole and atomically, under the writers' info lock (lock.ts) when shards share
 * an index.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic.js';
import { FINGERPRINT_PREFIX } from '../weights/fingerprint.js';
import { shardOf, type Shard } from './shard.js';

export const INDEX_FORMAT = 'biomedclip-index';
/** 2: the LanceDB table; 1 was manifest.jsonl + embeddings.npy (refused: rebuild). */
export const INDEX_VERSION = 2;
export const INFO_FILE = 'index.json';

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
  /** Absolute path of the images directory; stored paths are relative to it. */
  root: string;
  model: IndexModel;
  embedDim: number;
  dtype: 'float32';
  normalized: true;
  /** Rows committed when this file was last written (the table is the authority after a kill). */
  count: number;
  /** False while a run is in progress or after a kill: run `biomedclip index` again to finish. */
  complete: boolean;
  /** Files the last run could not embed, with the reason. */
  skipped: SkippedFile[];
  /** The rows the vector index was trained on, when `index` has trained one (vector-index.ts). */
  vectorIndex?: { rows: number };
  /** Set by sharded runs: their number, and the shards that have finished since the last change of N. */
  shards?: { count: number; done: number[] };
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
  if (info.format === INDEX_FORMAT && info.version === 1) {
    throw new UserError(
      `${file}: an index of an older version (embeddings.npy + manifest.jsonl), not read since the store moved to LanceDB; rebuild it into a new folder with \`biomedclip index ${info.root ?? 'IMAGES_DIR'} --out NEW_INDEX\``,
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

/** What identifies the index a writer opens: checked against index.json, or written into a new one. */
export interface InfoOptions {
  root: string;
  model: IndexModel;
  embedDim: number;
}

/** What a starting run leaves of the shards record: a shard run restarts its own shard (or all, for a new N). */
export function startedShards(info: IndexInfo, shard: Shard | undefined): IndexInfo['shards'] {
  if (shard === undefined) return undefined;
  const done = info.shards?.count === shard.count ? info.shards.done.filter((k) => k !== shard.index) : [];
  return { count: shard.count, done };
}

/**
 * index.json after a run: its skipped files replace those of its own shard (or all); a shard that ran to
 * the end joins `done`, and the index is complete when every shard of N has.
 */
export function finishedInfo(now: IndexInfo, shard: Shard | undefined, result: { skipped: SkippedFile[]; complete: boolean }): IndexInfo {
  const updated = new Date().toISOString();
  if (shard === undefined) return { ...now, shards: undefined, skipped: result.skipped, complete: result.complete, updated };
  const others = now.skipped.filter((s) => shardOf(s.path, shard.count) !== shard.index);
  const done = new Set(now.shards?.count === shard.count ? now.shards.done : []);
  if (result.complete) done.add(shard.index);
  const shards = { count: shard.count, done: [...done].sort((a, b) => a - b) };
  return { ...now, shards, skipped: [...others, ...result.skipped], complete: done.size === shard.count, updated };
}

export async function createInfo(dir: string, opts: InfoOptions): Promise<IndexInfo> {
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

export function checkCompatible(dir: string, info: IndexInfo, opts: InfoOptions): void {
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
