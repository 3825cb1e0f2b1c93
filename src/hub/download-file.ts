/**
 * One file from the hub into the cache, the way huggingface_hub's `hf_hub_download` does it:
 *
 * 1. a commit-hash revision whose snapshot entry exists needs no network at all;
 * 2. HEAD the resolve URL for commit, ETag, size and download location (metadata.ts);
 * 3. record refs/<revision> → commit; reuse the blob if another revision already fetched it;
 * 4. GET the location into blobs/<etag>.incomplete, resuming what an earlier run left (transfer.ts);
 * 5. verify the bytes against the ETag (and the pinned sha256 for the default revision); a mismatch
 *    deletes the download, since resuming a corrupt prefix could never succeed;
 * 6. rename to blobs/<etag> and link snapshots/<commit>/<file> to it.
 * Without network, a branch revision falls back to the commit its ref last pointed to, if cached.
 */
import { rm } from 'node:fs/promises';
import { UserError } from '../errors.js';
import { checkPathPart, RepoCache } from './cache.js';
import { HttpStatusError, networkToUserError, statusToUserError, type HubContext } from './errors.js';
import { NetworkError } from './http.js';
import { fetchMetadata, MetadataError, resolveUrl, type FileMetadata } from './metadata.js';
import { COMMIT_HASH, type HubFile } from './pins.js';
import type { HubSettings } from './settings.js';
import { transferToFile } from './transfer.js';
import { ChecksumError, verifyFile } from './verify.js';

export interface DownloadFileOptions {
  settings: HubSettings;
  revision: string;
  /** A known sha256 of the file at one commit: checked on top of the ETag when the revision resolves there. */
  pin?: { commit: string; sha256: string };
  /** The command line that retries, for error messages. */
  retryCommand?: string;
  progress?: boolean;
  retries?: number;
  retryDelayMs?: number;
  timeoutMs?: number;
  onNote?: (message: string) => void;
}

export interface DownloadedFile {
  repo: string;
  file: string;
  revision: string;
  commit: string;
  /** The snapshot path (a symlink into blobs/); read files through this path. */
  path: string;
  /** Content id from the hub; undefined when served from cache without asking the hub. */
  etag: string | undefined;
  size: number | undefined;
  /** 'downloaded' (fetched now), 'resumed' (continued a partial file), 'cached' (no transfer). */
  source: 'downloaded' | 'resumed' | 'cached';
  /** What the bytes were checked against, e.g. ['sha256 (LFS oid)', 'pinned sha256']; empty when cached. */
  verified: string[];
}

/** Downloads (or finds in cache) `spec.file` of `spec.repo` at `opts.revision`; returns its snapshot path. */
export async function hubDownload(spec: HubFile, opts: DownloadFileOptions): Promise<DownloadedFile> {
  try {
    return await downloadIntoCache(spec, opts);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (err instanceof UserError || code === undefined || !CACHE_WRITE_ERRORS.has(code)) throw err;
    throw new UserError(
      `cannot write the hub cache ${opts.settings.hubCache} (${code}): point HF_HOME (or HF_HUB_CACHE) at a writable folder with about 1 GB free, then rerun`,
    );
  }
}

/** File-system failures that mean "this cache folder is unusable", not a bug. */
const CACHE_WRITE_ERRORS = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOSPC', 'EDQUOT', 'ENOTDIR', 'EEXIST', 'EISDIR']);

async function downloadIntoCache(spec: HubFile, opts: DownloadFileOptions): Promise<DownloadedFile> {
  checkPathPart('revision', opts.revision);
  checkPathPart('file', spec.file);
  const cache = new RepoCache(opts.settings.hubCache, spec.repo);
  const ctx = context(spec, opts);
  if (COMMIT_HASH.test(opts.revision) && (await cache.hasSnapshot(opts.revision, spec.file))) {
    return cached(spec, opts.revision, opts.revision, cache);
  }
  const meta = await metadataOrOffline(spec, opts, cache, ctx);
  if ('source' in meta) return meta; // offline, served from a cached snapshot
  await cache.writeRef(opts.revision, meta.commit);
  if (await cache.hasSnapshot(meta.commit, spec.file)) return cached(spec, opts.revision, meta.commit, cache, meta);
  if (!(await cache.hasBlob(meta.etag))) {
    const resumed = await fetchBlob(spec, meta, cache, opts, ctx);
    const verified = await verifyOrDelete(spec, meta, cache, opts, ctx);
    await cache.commitBlob(meta.etag);
    const path = await cache.linkSnapshot(meta.etag, meta.commit, spec.file);
    return { ...base(spec, opts.revision, meta), path, source: resumed ? 'resumed' : 'downloaded', verified };
  }
  const path = await cache.linkSnapshot(meta.etag, meta.commit, spec.file);
  return { ...base(spec, opts.revision, meta), path, source: 'cached', verified: [] };
}

function context(spec: HubFile, opts: DownloadFileOptions): HubContext {
  return {
    repo: spec.repo,
    file: spec.file,
    revision: opts.revision,
    endpoint: opts.settings.endpoint,
    withToken: opts.settings.token !== undefined,
    retryCommand: opts.retryCommand ?? 'biomedclip download',
  };
}

/** HEAD the hub; when it cannot be reached, fall back to the snapshot the revision's ref points at. */
async function metadataOrOffline(spec: HubFile, opts: DownloadFileOptions, cache: RepoCache, ctx: HubContext): Promise<FileMetadata | DownloadedFile> {
  const url = resolveUrl(opts.settings.endpoint, spec.repo, opts.revision, spec.file);
  try {
    return await fetchMetadata(url, { authorization: authHeader(opts), timeoutMs: opts.timeoutMs ?? 10_000 });
  } catch (err) {
    if (err instanceof HttpStatusError) throw statusToUserError(err, ctx);
    if (err instanceof MetadataError) {
      throw new UserError(`${opts.settings.endpoint} does not answer like a Hugging Face hub (${err.message}): check --endpoint or HF_ENDPOINT`);
    }
    if (!(err instanceof NetworkError)) throw err;
    const commit = await cache.readRef(opts.revision);
    if (commit !== undefined && (await cache.hasSnapshot(commit, spec.file))) {
      opts.onNote?.(`${spec.file}: ${opts.settings.endpoint} unreachable (${err.code}); using the cached copy of '${opts.revision}' (${commit.slice(0, 10)})`);
      return cached(spec, opts.revision, commit, cache);
    }
    throw networkToUserError(err, ctx);
  }
}

/** Transfers into blobs/<etag>.incomplete; returns whether an earlier partial file was continued. */
async function fetchBlob(spec: HubFile, meta: FileMetadata, cache: RepoCache, opts: DownloadFileOptions, ctx: HubContext): Promise<boolean> {
  await cache.prepareBlobDir();
  try {
    const result = await transferToFile(meta.location, cache.incompletePath(meta.etag), {
      size: meta.size,
      authorization: authHeader(opts),
      authOrigin: new URL(opts.settings.endpoint).origin,
      retries: opts.retries,
      retryDelayMs: opts.retryDelayMs,
      timeoutMs: opts.timeoutMs,
      label: `download ${spec.file}`,
      progress: opts.progress,
      onNote: opts.onNote,
    });
    if (result.resumedFrom > 0) opts.onNote?.(`${spec.file}: resumed an interrupted download at byte ${result.resumedFrom}`);
    return result.resumedFrom > 0;
  } catch (err) {
    if (err instanceof HttpStatusError) throw statusToUserError(err, ctx);
    if (err instanceof NetworkError) {
      const kept = `the partial file ${cache.incompletePath(meta.etag)} is kept and resumed next time`;
      throw new UserError(`download of ${spec.repo}/${spec.file} failed (${err.message}); ${kept}: rerun \`${ctx.retryCommand}\``);
    }
    throw err;
  }
}

async function verifyOrDelete(spec: HubFile, meta: FileMetadata, cache: RepoCache, opts: DownloadFileOptions, ctx: HubContext): Promise<string[]> {
  const part = cache.incompletePath(meta.etag);
  try {
    const pinned = opts.pin !== undefined && opts.pin.commit === meta.commit ? opts.pin.sha256 : undefined;
    const result = await verifyFile(part, meta.etag, pinned);
    if (result.checked.length === 0) opts.onNote?.(`${spec.file}: ETag '${meta.etag}' is not a content hash; bytes not verified`);
    return result.checked;
  } catch (err) {
    if (!(err instanceof ChecksumError)) throw err;
    await rm(part, { force: true });
    throw new UserError(`checksum mismatch for ${spec.repo}/${spec.file}: ${err.message}; the corrupted download was deleted: rerun \`${ctx.retryCommand}\``);
  }
}

function authHeader(opts: DownloadFileOptions): string | undefined {
  return opts.settings.token === undefined ? undefined : `Bearer ${opts.settings.token}`;
}

function base(spec: HubFile, revision: string, meta: FileMetadata): Omit<DownloadedFile, 'path' | 'source' | 'verified'> {
  return { repo: spec.repo, file: spec.file, revision, commit: meta.commit, etag: meta.etag, size: meta.size };
}

function cached(spec: HubFile, revision: string, commit: string, cache: RepoCache, meta?: FileMetadata): DownloadedFile {
  return {
    repo: spec.repo,
    file: spec.file,
    revision,
    commit,
    path: cache.snapshotPath(commit, spec.file),
    etag: meta?.etag,
    size: meta?.size,
    source: 'cached',
    verified: [],
  };
}
