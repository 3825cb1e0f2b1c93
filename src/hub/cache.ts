/**
 * The hub cache layout of huggingface_hub, so Python tools and biomedclip-ts share downloads:
 *
 *   $HF_HUB_CACHE/models--microsoft--BiomedCLIP-PubMedBERT_256-vit_base_patch16_224/
 *     blobs/<etag>                      the file's bytes, named by content id (sha256 or git sha1)
 *     blobs/<etag>.incomplete           a transfer in progress or interrupted: resumed next time
 *     snapshots/<commit>/<file>         relative symlink → ../../blobs/<etag>
 *     refs/<revision>                   text file: the commit a branch or tag pointed to when last seen
 *
 * Content addressing means two revisions with the same checkpoint store it once, and a snapshot entry
 * only appears once its blob is complete and verified: a snapshot path that exists is always good.
 */
import { copyFile, mkdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { UserError } from '../errors.js';

/** `org/name` → `models--org--name`, huggingface_hub's `repo_folder_name`. */
export function repoFolderName(repo: string): string {
  return ['models', ...repo.split('/')].join('--');
}

/** Rejects revisions and file names that could climb out of the cache folder when used as paths. */
export function checkPathPart(kind: 'revision' | 'file', value: string): void {
  const parts = value.split('/');
  const bad = value === '' || parts.some((p) => p === '' || p === '.' || p === '..') || /[\\\0]/.test(value);
  if (bad) {
    const fix = kind === 'revision' ? 'pass a branch, tag or commit hash with --revision' : 'use a plain relative file path';
    throw new UserError(`invalid ${kind} '${value}': ${fix}`);
  }
}

export class RepoCache {
  readonly root: string;

  constructor(
    hubCache: string,
    readonly repo: string,
  ) {
    this.root = path.join(hubCache, repoFolderName(repo));
  }

  blobPath(etag: string): string {
    return path.join(this.root, 'blobs', etag);
  }

  incompletePath(etag: string): string {
    return `${this.blobPath(etag)}.incomplete`;
  }

  snapshotPath(commit: string, file: string): string {
    return path.join(this.root, 'snapshots', commit, ...file.split('/'));
  }

  refPath(revision: string): string {
    return path.join(this.root, 'refs', ...revision.split('/'));
  }

  /** The commit a branch/tag pointed to when last resolved, if recorded. */
  async readRef(revision: string): Promise<string | undefined> {
    try {
      const commit = (await readFile(this.refPath(revision), 'utf8')).trim();
      return /^[0-9a-f]{40}$/.test(commit) ? commit : undefined;
    } catch {
      return undefined;
    }
  }

  /** Records revision → commit (skipped when the revision is the commit itself, as huggingface_hub does). */
  async writeRef(revision: string, commit: string): Promise<void> {
    if (revision === commit) return;
    if ((await this.readRef(revision)) === commit) return; // unchanged: a read-only cache keeps working
    const file = this.refPath(revision);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(`${file}.tmp-${process.pid}`, commit);
    await rename(`${file}.tmp-${process.pid}`, file);
  }

  /** True when the snapshot entry exists and leads to a file (a dangling symlink does not count). */
  async hasSnapshot(commit: string, file: string): Promise<boolean> {
    return isFile(this.snapshotPath(commit, file));
  }

  async hasBlob(etag: string): Promise<boolean> {
    return isFile(this.blobPath(etag));
  }

  /** Moves a verified `.incomplete` into place as the blob. */
  async commitBlob(etag: string): Promise<void> {
    await rename(this.incompletePath(etag), this.blobPath(etag));
  }

  /**
   * Points snapshots/<commit>/<file> at blobs/<etag> with a relative symlink (the cache folder can then be
   * moved or mounted elsewhere). Where symlinks are not allowed (Windows without developer mode) the blob
   * is copied instead, huggingface_hub's degraded mode.
   */
  async linkSnapshot(etag: string, commit: string, file: string): Promise<string> {
    const link = this.snapshotPath(commit, file);
    const blob = this.blobPath(etag);
    await mkdir(path.dirname(link), { recursive: true });
    await rm(link, { force: true });
    try {
      await symlink(path.relative(path.dirname(link), blob), link);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EACCES') throw err;
      await copyFile(blob, link);
    }
    return link;
  }

  async prepareBlobDir(): Promise<void> {
    await mkdir(path.join(this.root, 'blobs'), { recursive: true });
  }
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}
