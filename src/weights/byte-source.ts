/**
 * Where a weights file's bytes come from, for the safetensors reader: a file on disk in Node
 * (file-source.ts), or bytes already in memory (a page fetched them, a test made them). The reader asks
 * for one tensor's range at a time, so a file source never holds the whole model in JS.
 */
import { UserError } from '../errors.js';

export interface ByteSource {
  /** Names the source in every error: a path, or a URL in the page. */
  readonly name: string;
  readonly size: number;
  /** Fills `dest` with the bytes from `position` on; a source shorter than asked is a UserError. */
  read(dest: Uint8Array, position: number): Promise<void>;
  close(): Promise<void>;
}

/** The bytes of a whole file already in memory (the page's fetched `model.safetensors`). */
export function bytesSource(name: string, bytes: Uint8Array): ByteSource {
  let open = true;
  return {
    name,
    size: bytes.byteLength,
    async read(dest, position) {
      if (!open) throw new UserError(`${name}: file already closed; open it again`);
      if (position + dest.length > bytes.byteLength) throw new UserError(`${name}: file ended early (truncated download?); fetch it again`);
      dest.set(bytes.subarray(position, position + dest.length));
    },
    async close() {
      open = false;
    },
  };
}
