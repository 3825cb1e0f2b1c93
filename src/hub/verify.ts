/**
 * Checks a downloaded file against the content id the hub gave for it.
 *
 * The hub's ETag is a content hash, of one of two kinds (huggingface_hub documents this in `hf_hub_url`):
 * - Git LFS files (the 784 MB checkpoint): the sha256 of the file, 64 hex digits (the LFS "oid");
 * - plain git files (config, vocab): the git blob id, sha1 of `"blob <size>\0" + content`, 40 hex digits.
 * Both are checked, so a truncated, corrupted or tampered file never enters the cache. huggingface_hub
 * itself trusts the transfer; we hash because a half-written checkpoint would otherwise surface much later
 * as a confusing conversion error.
 */

import { fileDigest, type DigestKind } from '../util/digest.js';

/** Which hash an ETag is, or undefined when it is neither (then only the pinned sha256, if any, applies). */
export function etagKind(etag: string): DigestKind | undefined {
  if (/^[0-9a-f]{64}$/.test(etag)) return 'sha256';
  if (/^[0-9a-f]{40}$/.test(etag)) return 'git-sha1';
  return undefined;
}

export interface Verification {
  /** What was checked: the hub's ETag kind, plus 'pinned-sha256' when a pin applied. */
  checked: string[];
  sha256: string | undefined;
}

export class ChecksumError extends Error {
  readonly expected: string;
  readonly actual: string;
  readonly kind: DigestKind;

  constructor(kind: DigestKind, expected: string, actual: string, source: string) {
    super(`${kind} is ${actual}, ${source} says ${expected}`);
    this.name = 'ChecksumError';
    this.kind = kind;
    this.expected = expected;
    this.actual = actual;
  }
}

/**
 * Verifies `file` against the hub ETag and, when given, a pinned sha256. Throws ChecksumError on the first
 * mismatch; the caller deletes the file.
 */
export async function verifyFile(file: string, etag: string, pinnedSha256?: string): Promise<Verification> {
  const checked: string[] = [];
  let sha256: string | undefined;
  const kind = etagKind(etag);
  if (kind !== undefined) {
    const actual = await fileDigest(file, kind);
    if (actual !== etag) throw new ChecksumError(kind, etag, actual, "the hub's ETag");
    checked.push(kind === 'sha256' ? 'sha256 (LFS oid)' : 'git blob sha1');
    if (kind === 'sha256') sha256 = actual;
  }
  if (pinnedSha256 !== undefined) {
    sha256 ??= await fileDigest(file, 'sha256');
    if (sha256 !== pinnedSha256) throw new ChecksumError('sha256', pinnedSha256, sha256, 'the pinned default revision');
    checked.push('pinned sha256');
  }
  return { checked, sha256 };
}
