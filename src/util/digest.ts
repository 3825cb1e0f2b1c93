/**
 * Streaming file hashes: the model fingerprint (sha256 of the whole weights file), a checkpoint's source
 * digest at convert time, and the hub's content ids (hub/verify.ts). Streamed, because the checkpoint does
 * not fit comfortably in memory twice.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';

/** sha256 of the bytes, or git's blob id (sha1 of `"blob <size>\0" + bytes`), which the hub gives for non-LFS files. */
export type DigestKind = 'sha256' | 'git-sha1';

export async function fileDigest(file: string, kind: DigestKind): Promise<string> {
  const hash: Hash = createHash(kind === 'sha256' ? 'sha256' : 'sha1');
  if (kind === 'git-sha1') {
    const { size } = await fs.stat(file);
    hash.update(`blob ${size}\0`); // git hashes a header naming the object type and length, then the bytes
  }
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
  }
  return hash.digest('hex');
}
