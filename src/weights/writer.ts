/**
 * Writing safetensors files atomically: bytes go to a temporary file beside the target and are renamed
 * onto it only when complete, so a crash or a thrown error never leaves a truncated model behind.
 *
 * `SafetensorsWriter` streams: the header (which fixes every offset) is written up front from the tensors'
 * names, dtypes and shapes, then each tensor's bytes in that order, one at a time. `convert` uses it to
 * turn a 784 MB checkpoint into a model file while holding about one tensor in memory.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { outputError, tempPathFor } from '../util/atomic.js';
import { DTYPE_SIZE, elementCount, isDType, type DType } from './dtype.js';
import { encodeHeader } from './header.js';

export interface TensorSpec {
  name: string;
  dtype: DType;
  shape: number[];
}

export interface TensorToWrite extends TensorSpec {
  /** Little-endian, C-contiguous elements (typed arrays on every Node platform are little-endian). */
  data: ArrayBufferView;
}

/** Byte length of a spec, after checking it is writable; a programming error here is a plain Error. */
function specBytes(t: TensorSpec): number {
  if (!isDType(t.dtype)) throw new Error(`safetensors writer: tensor "${t.name}" has unknown dtype ${String(t.dtype)}`);
  const count = elementCount(t.shape);
  if (count === undefined) throw new Error(`safetensors writer: tensor "${t.name}" has invalid shape [${t.shape}]`);
  return count * DTYPE_SIZE[t.dtype];
}

function checkNames(specs: readonly TensorSpec[]): void {
  const seen = new Set<string>();
  for (const { name } of specs) {
    if (name === '__metadata__') throw new Error('safetensors writer: "__metadata__" cannot be a tensor name');
    if (seen.has(name)) throw new Error(`safetensors writer: duplicate tensor name "${name}"`);
    seen.add(name);
  }
}

function asBytes(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/**
 * Writes `tensors` to `path` atomically. Tensors are stored largest element size first (stable otherwise),
 * like the reference writer, so that with the 8-byte-padded header every tensor starts aligned to its
 * element size and readers that map the file can view it in place.
 */
export async function writeSafetensors(
  path: string,
  tensors: TensorToWrite[],
  metadata: Record<string, string> = {},
): Promise<void> {
  const ordered = [...tensors].sort((a, b) => DTYPE_SIZE[b.dtype] - DTYPE_SIZE[a.dtype]);
  const writer = await SafetensorsWriter.create(path, ordered, metadata);
  try {
    for (const t of ordered) await writer.write(t.name, t.data);
    await writer.commit();
  } catch (err) {
    await writer.abort();
    throw err;
  }
}

/** Streaming writer: create (header), write each tensor in the announced order, then commit or abort. */
export class SafetensorsWriter {
  readonly path: string;
  private readonly tmp: string;
  private handle: fs.FileHandle | undefined;
  private readonly specs: { name: string; byteLength: number }[];
  private next = 0;
  private position: number;
  /** Bytes are written in order, so the file's sha256 comes for free (`sha256` after commit). */
  private readonly hash = createHash('sha256');
  private digest: string | undefined;

  private constructor(path: string, tmp: string, handle: fs.FileHandle, specs: { name: string; byteLength: number }[], start: number) {
    this.path = path;
    this.tmp = tmp;
    this.handle = handle;
    this.specs = specs;
    this.position = start;
  }

  /** Validates the specs, opens a temporary file beside `path` and writes the header. */
  static async create(path: string, specs: readonly TensorSpec[], metadata: Record<string, string> = {}): Promise<SafetensorsWriter> {
    checkNames(specs);
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new Error(`safetensors writer: metadata "${k}" is not a string`);
    }
    const infos = specs.map((s) => ({ name: s.name, dtype: s.dtype, shape: s.shape, byteLength: specBytes(s) }));
    const header = encodeHeader(infos, metadata);
    const tmp = tempPathFor(path);
    const handle = await fs.open(tmp, 'wx').catch((err: unknown) => {
      throw outputError(path, err);
    });
    const writer = new SafetensorsWriter(path, tmp, handle, infos, 0);
    try {
      await writer.writeBytes(header);
    } catch (err) {
      await writer.abort();
      throw err;
    }
    return writer;
  }

  /** Appends the next tensor's bytes; the name and byte length must match the announced spec. */
  async write(name: string, data: ArrayBufferView): Promise<void> {
    const spec = this.specs[this.next];
    if (!spec) throw new Error(`safetensors writer: "${name}" written after all announced tensors`);
    if (spec.name !== name) throw new Error(`safetensors writer: expected tensor "${spec.name}" next, got "${name}"`);
    if (data.byteLength !== spec.byteLength) {
      throw new Error(`safetensors writer: "${name}" has ${data.byteLength} bytes, header says ${spec.byteLength}`);
    }
    await this.writeBytes(asBytes(data));
    this.next++;
  }

  /** Flushes to disk and renames onto the target; refuses if a tensor is missing. */
  async commit(): Promise<void> {
    if (this.next !== this.specs.length) {
      throw new Error(`safetensors writer: only ${this.next} of ${this.specs.length} tensors written`);
    }
    const h = this.openHandle();
    await h.sync(); // the rename must not become visible before the data is on disk
    await h.close();
    this.handle = undefined;
    this.digest = this.hash.digest('hex');
    await fs.rename(this.tmp, this.path).catch(async (err: unknown) => {
      await fs.rm(this.tmp, { force: true });
      throw outputError(this.path, err);
    });
  }

  /** The committed file's sha256 (hex). */
  get sha256(): string {
    if (this.digest === undefined) throw new Error(`safetensors writer: ${this.path} is not committed yet`);
    return this.digest;
  }

  /** Drops the temporary file; safe to call after a failure or twice. */
  async abort(): Promise<void> {
    const h = this.handle;
    this.handle = undefined;
    await h?.close().catch(() => undefined);
    await fs.rm(this.tmp, { force: true });
  }

  private openHandle(): fs.FileHandle {
    if (!this.handle) throw new Error(`safetensors writer: ${this.path} already committed or aborted`);
    return this.handle;
  }

  private async writeBytes(bytes: Uint8Array): Promise<void> {
    const h = this.openHandle();
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await h.write(bytes, done, bytes.length - done, this.position + done);
      done += bytesWritten;
    }
    this.hash.update(bytes);
    this.position += bytes.length;
  }
}
