/**
 * The identity of a model directory's weights, so an index never mixes embeddings of two models and search
 * refuses a query model that differs from the indexing one, even by one weight in the middle of the file.
 *
 * It covers the whole weights file: the sha256 of every byte of `model.safetensors`, combined with the config.
 * Hashing 784 MB takes a few seconds, so it is done once: `convert` (and `download`, through it) hashes the
 * bytes as it writes them and stores the digest in `DIR/fingerprint.json` with its provenance. Later commands
 * read it back, trusting it only while the weights file keeps the size and modification time recorded beside
 * the digest; a missing or stale record (a model copied by hand, weights replaced) is recomputed and stored.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { fileDigest } from '../util/digest.js';
import { writeFileAtomic } from '../util/atomic.js';
import { CONFIG_FILE, FINGERPRINT_FILE, WEIGHTS_FILE } from '../model-files.js';

const FORMAT = 'biomedclip-fingerprint';

/** Prefix of fingerprints over the whole file; older indexes hold 'sha256-sampled:' (first/last 64 KiB only). */
export const FINGERPRINT_PREFIX = 'sha256:';

interface StoredFingerprint {
  format: typeof FORMAT;
  version: 1;
  /** The weights file as hashed: a record whose size or mtime no longer match is stale. */
  weights: { file: string; size: number; mtimeMs: number; sha256: string };
  /** Where the weights came from (the converter's source file, its sha256, the converter version...). */
  provenance?: Record<string, string>;
  created: string;
}

/** Records the sha256 of `dir`'s weights file (computed by the caller while writing it) and its provenance. */
export async function writeFingerprint(dir: string, sha256: string, provenance?: Record<string, string>): Promise<void> {
  const { size, mtimeMs } = await fs.stat(path.join(dir, WEIGHTS_FILE));
  const record: StoredFingerprint = { format: FORMAT, version: 1, weights: { file: WEIGHTS_FILE, size, mtimeMs, sha256 }, provenance, created: new Date().toISOString() };
  await writeFileAtomic(path.join(dir, FINGERPRINT_FILE), JSON.stringify(record, null, 2) + '\n');
}

async function readStored(dir: string): Promise<StoredFingerprint | undefined> {
  try {
    const record = JSON.parse(await fs.readFile(path.join(dir, FINGERPRINT_FILE), 'utf8')) as Partial<StoredFingerprint>;
    const w = record.weights;
    if (record.format !== FORMAT || record.version !== 1 || typeof w?.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(w.sha256)) return undefined;
    return record as StoredFingerprint;
  } catch {
    return undefined; // missing or unreadable: recomputed
  }
}

/** The sha256 of `dir`'s whole weights file, from fingerprint.json while it is current, else hashed (and stored). */
export async function weightsSha256(dir: string): Promise<string> {
  const { size, mtimeMs } = await fs.stat(path.join(dir, WEIGHTS_FILE));
  const stored = await readStored(dir);
  if (stored !== undefined && stored.weights.size === size && stored.weights.mtimeMs === mtimeMs) return stored.weights.sha256;
  const sha256 = await fileDigest(path.join(dir, WEIGHTS_FILE), 'sha256');
  // A read-only model directory cannot keep the record: then the hash is simply recomputed next time.
  await writeFingerprint(dir, sha256, stored?.weights.sha256 === sha256 ? stored.provenance : undefined).catch(() => undefined);
  return sha256;
}

/** `sha256:` + 32 hex digits over the config (or the built-in default) and the weights file's sha256. */
export async function modelFingerprint(modelDir: string): Promise<string> {
  const hash = createHash('sha256');
  hash.update(await fs.readFile(path.join(modelDir, CONFIG_FILE)).catch(() => Buffer.from('default-config')));
  hash.update(await weightsSha256(modelDir));
  return `${FINGERPRINT_PREFIX}${hash.digest('hex').slice(0, 32)}`;
}
