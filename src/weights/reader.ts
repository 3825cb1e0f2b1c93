/**
 * Reading safetensors files lazily: `open` reads and validates only the header; each tensor is read on
 * demand with one positional read straight into its final typed array. Nothing keeps the file's bytes, so
 * loading the 784 MB model holds at most one tensor's copy in JS beside what the backend owns. The bytes
 * come from a ByteSource: a file in Node, or (in the page) the fetched file in memory.
 */
import { UserError } from '../errors.js';
import { bytesSource, type ByteSource } from './byte-source.js';
import { openFileSource } from './file-source.js';
import { DTYPE_SIZE, bf16ToF32, f16ToF32 } from './dtype.js';
import { checkHeaderLength, parseHeader, type TensorInfo } from './header.js';

export class SafetensorsFile {
  readonly path: string;
  readonly metadata: Record<string, string>;
  /** In file (offset) order. */
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  private source: ByteSource | undefined;

  private constructor(source: ByteSource, metadata: Record<string, string>, tensors: TensorInfo[]) {
    this.path = source.name;
    this.source = source;
    this.metadata = metadata;
    this.tensors = new Map(tensors.map((t) => [t.name, t]));
  }

  /** Opens `path`, reads and validates its header; every problem is a one-line UserError. */
  static async open(path: string): Promise<SafetensorsFile> {
    return SafetensorsFile.fromSource(await openFileSource(path));
  }

  /** A whole file already in memory (the page's fetched weights); `name` names it in errors. */
  static fromBytes(name: string, bytes: Uint8Array): Promise<SafetensorsFile> {
    return SafetensorsFile.fromSource(bytesSource(name, bytes));
  }

  /** Reads and validates the header of `source`; the file takes ownership of it (`close` closes it). */
  static async fromSource(source: ByteSource): Promise<SafetensorsFile> {
    const { name, size } = source;
    try {
      // Typed arrays are viewed in host byte order; safetensors is little-endian, as is every platform
      // we know of. Refuse rather than silently misread on a big-endian host.
      if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new UserError(`${name}: big-endian hosts are not supported`);
      const head = new Uint8Array(Math.min(8, size));
      await source.read(head, 0);
      const n = checkHeaderLength(name, head, size);
      const json = new Uint8Array(n);
      await source.read(json, 8);
      const header = parseHeader(name, json, size);
      return new SafetensorsFile(source, header.metadata, header.tensors);
    } catch (err) {
      await source.close();
      throw err;
    }
  }

  info(name: string): TensorInfo {
    const t = this.tensors.get(name);
    if (!t) throw new UserError(`${this.path}: no tensor named "${name}"; list the file's tensors to check the name`);
    return t;
  }

  /** The tensor's bytes, little-endian, C order. */
  async readRaw(name: string): Promise<Uint8Array> {
    const t = this.info(name);
    return this.readInto(t, new Uint8Array(t.byteLength));
  }

  /**
   * The tensor as float32: F32 as stored, F16 and BF16 widened exactly, F64 rounded to nearest; other dtypes
   * are refused. `scratch`, when large enough, receives an F32, F16 or BF16 tensor instead of a new array (a
   * view of it is returned): a loader that copies each tensor elsewhere at once saves allocating and zeroing
   * one, and a half-precision tensor is widened straight into it (only its 2-byte form is read beside it).
   */
  async readFloat32(name: string, scratch?: Float32Array): Promise<Float32Array> {
    const t = this.info(name);
    const count = t.byteLength / DTYPE_SIZE[t.dtype];
    const out = () => (scratch !== undefined && scratch.length >= count ? scratch.subarray(0, count) : new Float32Array(count));
    if (t.dtype === 'F32') {
      const dest = out();
      await this.readInto(t, new Uint8Array(dest.buffer, dest.byteOffset, dest.byteLength));
      return dest;
    }
    if (t.dtype === 'F16' || t.dtype === 'BF16') {
      const half = new Uint16Array(count);
      await this.readInto(t, new Uint8Array(half.buffer));
      return t.dtype === 'F16' ? f16ToF32(half, out()) : bf16ToF32(half, out());
    }
    if (t.dtype === 'F64') {
      const wide = new Float64Array(count);
      await this.readInto(t, new Uint8Array(wide.buffer));
      return Float32Array.from(wide);
    }
    throw new UserError(
      `${this.path}: tensor "${name}" is ${t.dtype}, not a float type; re-create the file with \`biomedclip convert\``,
    );
  }

  /**
   * The tensor as int32: I32 as stored, I64 narrowed (token ids and other small integers; a value outside the
   * int32 range is refused, never wrapped); other dtypes are refused. The bytes come from a fresh, aligned
   * buffer, so the typed views need no copy.
   */
  async readInt32(name: string): Promise<Int32Array> {
    const t = this.info(name);
    if (t.dtype !== 'I64' && t.dtype !== 'I32') {
      throw new UserError(`${this.path}: tensor "${name}" is ${t.dtype}; token ids must be I64 or I32`);
    }
    const raw = await this.readRaw(name);
    if (t.dtype === 'I32') return new Int32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
    const wide = new BigInt64Array(raw.buffer, raw.byteOffset, raw.byteLength / 8);
    const out = new Int32Array(wide.length);
    for (let i = 0; i < wide.length; i++) {
      // Narrowing must not wrap: an id of 2^31 would silently become a negative one.
      if (wide[i] > 2147483647n || wide[i] < -2147483648n) {
        throw new UserError(`${this.path}: tensor "${name}" holds ${wide[i]} at index ${i}, outside the int32 range; token ids must be below 2^31`);
      }
      out[i] = Number(wide[i]);
    }
    return out;
  }

  async close(): Promise<void> {
    const source = this.source;
    this.source = undefined;
    await source?.close();
  }

  private async readInto(t: TensorInfo, dest: Uint8Array): Promise<Uint8Array> {
    if (!this.source) throw new UserError(`${this.path}: file already closed; open it again`);
    await this.source.read(dest, t.byteOffset);
    return dest;
  }
}
