/**
 * Reading `torch.save` checkpoints (the zip format of torch >= 1.6) without Python and without executing
 * anything. The archive holds `<name>/data.pkl` (the pickled state dict), `<name>/data/<key>` (one raw
 * record per storage), `<name>/version` and, since torch 1.13's successors, `<name>/byteorder`.
 *
 * The pickle is read by the restricted reader in pickle.ts with an allowlist of exactly what a state dict
 * needs: OrderedDict, `torch._utils._rebuild_tensor_v2`, `_rebuild_parameter` and the typed storage
 * classes. A tensor is a view: (storage, element offset, size, stride); views are gathered into
 * contiguous little-endian bytes on read, one tensor at a time, so memory stays near one tensor.
 */
import { promises as fs } from 'node:fs';
import { UserError } from '../errors.js';
import { bf16ToF32, DTYPE_SIZE, f16ToF32, type DType } from './dtype.js';
import { PickleError, PyCallable, PyDict, PyExternal, PyTuple, describe, unpickle, type PyValue } from './pickle.js';
import { gatherStrided, swapBytes, viewExtent, type StridedView } from './strided.js';
import { openForReading, readFully } from './file-source.js';
import { ZipFile, type ZipEntry } from './zip.js';

/** torch storage classes by name, and the safetensors dtype of their elements. */
const STORAGE_DTYPES: Record<string, DType> = {
  FloatStorage: 'F32',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  DoubleStorage: 'F64',
  LongStorage: 'I64',
  IntStorage: 'I32',
  ShortStorage: 'I16',
  CharStorage: 'I8',
  ByteStorage: 'U8',
  BoolStorage: 'BOOL',
};

interface StorageRef {
  key: string;
  dtype: DType;
  numel: number;
}

export interface TorchTensorInfo extends StridedView {
  name: string;
  dtype: DType;
  storage: StorageRef;
}

const MAX_PICKLE = 64 * 1024 * 1024;
const RESAVE = 're-save it with torch >= 1.6: python3 -c "import torch; torch.save(torch.load(\'IN\'), \'OUT\')"';

export class TorchCheckpoint {
  readonly path: string;
  /** In the pickle's order (the state dict's order). */
  readonly tensors: ReadonlyMap<string, TorchTensorInfo>;
  readonly byteOrder: 'little' | 'big';
  private readonly zip: ZipFile;
  private readonly prefix: string;
  private handle: fs.FileHandle | undefined;
  private cached: { key: string; bytes: Uint8Array } | undefined;

  private constructor(path: string, handle: fs.FileHandle, zip: ZipFile, prefix: string, byteOrder: 'little' | 'big', tensors: TorchTensorInfo[]) {
    this.path = path;
    this.handle = handle;
    this.zip = zip;
    this.prefix = prefix;
    this.byteOrder = byteOrder;
    this.tensors = new Map(tensors.map((t) => [t.name, t]));
  }

  /** Opens a checkpoint and reads its pickle; tensor bytes are read later, on demand. */
  static async open(path: string): Promise<TorchCheckpoint> {
    const handle = await openForReading(path, 'checkpoint');
    try {
      await checkMagic(path, handle);
      const zip = await ZipFile.fromHandle(path, handle);
      const prefix = findPrefix(path, zip);
      const byteOrder = await readByteOrder(path, zip, prefix);
      const pkl = await zip.read(entry(path, zip, `${prefix}data.pkl`), MAX_PICKLE);
      const tensors = readStateDict(path, pkl);
      return new TorchCheckpoint(path, handle, zip, prefix, byteOrder, tensors);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  info(name: string): TorchTensorInfo {
    const t = this.tensors.get(name);
    if (!t) throw new UserError(`${this.path}: no tensor named "${name}"`);
    return t;
  }

  /** The tensor's elements, C-contiguous and little-endian, whatever its strides and byte order on disk. */
  async readRaw(name: string): Promise<Uint8Array> {
    const t = this.info(name);
    const end = viewExtent(t);
    if (end > t.storage.numel) {
      throw new UserError(`${this.path}: tensor "${name}" needs ${end} elements of storage ${t.storage.key}, which has ${t.storage.numel}; the checkpoint is corrupt: re-save or download it again`);
    }
    const storage = await this.storageBytes(t);
    const out = gatherStrided(storage, t, DTYPE_SIZE[t.dtype]);
    if (this.byteOrder === 'big') swapBytes(out, DTYPE_SIZE[t.dtype]);
    return out;
  }

  /** The tensor as float32: F32 as stored, F16/BF16 widened exactly, F64 rounded to nearest. */
  async readFloat32(name: string): Promise<Float32Array> {
    const t = this.info(name);
    const raw = await this.readRaw(name);
    switch (t.dtype) {
      case 'F32': return new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
      case 'F16': return f16ToF32(new Uint16Array(raw.buffer, raw.byteOffset, raw.byteLength / 2));
      case 'BF16': return bf16ToF32(new Uint16Array(raw.buffer, raw.byteOffset, raw.byteLength / 2));
      case 'F64': return Float32Array.from(new Float64Array(raw.buffer, raw.byteOffset, raw.byteLength / 8));
      default: throw new UserError(`${this.path}: tensor "${name}" is ${t.dtype}, not a float type`);
    }
  }

  async close(): Promise<void> {
    const h = this.handle;
    this.handle = undefined;
    this.cached = undefined;
    await h?.close();
  }

  /**
   * A storage record's bytes, CRC-checked, after checking it is long enough for the tensor's furthest
   * element. One storage is cached because views sharing a storage (q/k/v slices) are usually adjacent.
   */
  private async storageBytes(t: TorchTensorInfo): Promise<Uint8Array> {
    if (!this.handle) throw new UserError(`${this.path}: checkpoint already closed`);
    if (this.cached?.key === t.storage.key) return this.cached.bytes;
    const e = entry(this.path, this.zip, `${this.prefix}data/${t.storage.key}`);
    const declared = t.storage.numel * DTYPE_SIZE[t.dtype];
    if (e.size < declared) {
      throw new UserError(`${this.path}: storage ${t.storage.key} has ${e.size} bytes but declares ${t.storage.numel} ${t.dtype} elements; the checkpoint is corrupt: re-save or download it again`);
    }
    if (e.method !== 0) throw new UserError(`${this.path}: storage ${t.storage.key} is compressed; torch.save writes storages uncompressed: ${RESAVE}`);
    const bytes = await this.zip.read(e, e.size);
    this.cached = { key: t.storage.key, bytes };
    return bytes;
  }
}

/** Zip starts with "PK\3\4"; the legacy format starts with a pickle (0x80) or is a tar archive. */
async function checkMagic(path: string, handle: fs.FileHandle): Promise<void> {
  const { size } = await handle.stat();
  const head = new Uint8Array(Math.min(size, 512));
  await readFully(handle, head, 0, path);
  if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return;
  const tar = head.length >= 262 && Buffer.from(head.subarray(257, 262)).toString('latin1') === 'ustar';
  if (head[0] === 0x80 || tar) {
    throw new UserError(`${path}: legacy (pre-1.6) torch.save format, which is read only by running its pickle; ${RESAVE}`);
  }
  throw new UserError(`${path}: not a PyTorch zip checkpoint (nor safetensors); pass the .bin/.pt written by torch.save`);
}

/** All records live under one top-level folder (the archive name); data.pkl tells which. */
function findPrefix(path: string, zip: ZipFile): string {
  const pkls = [...zip.entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pkls.length !== 1) {
    throw new UserError(`${path}: expected one <archive>/data.pkl record, found ${pkls.length}; this zip is not a torch.save checkpoint`);
  }
  return pkls[0].slice(0, -'data.pkl'.length);
}

function entry(path: string, zip: ZipFile, name: string): ZipEntry {
  const e = zip.entries.get(name);
  if (!e) throw new UserError(`${path}: record ${name} is missing; the checkpoint is incomplete: download it again`);
  return e;
}

/** `byteorder` is absent in files from torch < 1.14 (always little-endian then). */
async function readByteOrder(path: string, zip: ZipFile, prefix: string): Promise<'little' | 'big'> {
  const e = zip.entries.get(`${prefix}byteorder`);
  if (!e) return 'little';
  const text = new TextDecoder().decode(await zip.read(e, 16)).trim();
  if (text !== 'little' && text !== 'big') throw new UserError(`${path}: byteorder record says "${text}", expected little or big`);
  return text;
}

/** Unpickles data.pkl with the state-dict allowlist and lists its tensors. */
function readStateDict(path: string, pkl: Uint8Array): TorchTensorInfo[] {
  let root: PyValue;
  try {
    root = unpickle(pkl, stateDictHooks());
  } catch (err) {
    if (err instanceof PickleError) throw new UserError(`${path}: data.pkl refused: ${err.message}; only plain state dicts (torch.save(model.state_dict())) are read`);
    throw err;
  }
  if (!(root instanceof PyDict)) throw new UserError(`${path}: data.pkl holds a ${describe(root)}, not a state dict`);
  // Training checkpoints wrap the weights: {"state_dict": {...}, "epoch": ...}.
  const inner = root.map.get('state_dict');
  const dict = inner instanceof PyDict ? inner : root;
  const out: TorchTensorInfo[] = [];
  for (const [key, value] of dict.map) {
    if (typeof key !== 'string') throw new UserError(`${path}: state dict key ${String(key)} is not a string`);
    if (!(value instanceof PyExternal) || value.kind !== 'tensor') {
      throw new UserError(`${path}: state dict entry "${key}" is a ${describe(value)}, not a tensor`);
    }
    out.push({ ...(value.value as Omit<TorchTensorInfo, 'name'>), name: key });
  }
  return out;
}

function stateDictHooks() {
  const storages = new Map<string, StorageRef>();
  return {
    resolveGlobal(module: string, name: string): PyCallable {
      const q = `${module}.${name}`;
      if (q === 'collections.OrderedDict') return new PyCallable(q, orderedDict);
      if (q === 'torch._utils._rebuild_tensor_v2') return new PyCallable(q, rebuildTensor);
      if (q === 'torch._utils._rebuild_parameter') return new PyCallable(q, rebuildParameter);
      if (module === 'torch' && name in STORAGE_DTYPES) return new PyCallable(q, () => fail(`${q} cannot be called`));
      throw new PickleError(`it refers to the global ${q}, which a state dict never needs (nothing was run)`);
    },
    persistentLoad(pid: PyValue): PyValue {
      return new PyExternal('storage', storageRef(pid, storages));
    },
  };
}

function fail(msg: string): never {
  throw new PickleError(msg);
}

function orderedDict(args: PyValue[]): PyValue {
  if (args.length !== 0) fail('OrderedDict called with arguments');
  return new PyDict();
}

/** ('storage', torch.XStorage, key, location, numel): the persistent id torch writes for each storage. */
function storageRef(pid: PyValue, seen: Map<string, StorageRef>): StorageRef {
  if (!(pid instanceof PyTuple) || pid.items.length !== 5 || pid.items[0] !== 'storage') fail('persistent id is not a storage reference');
  const [, type, key, , numel] = pid.items;
  if (!(type instanceof PyCallable) || !type.qualname.startsWith('torch.')) fail('storage reference without a storage type');
  const dtype = STORAGE_DTYPES[type.qualname.slice('torch.'.length)];
  if (!dtype) fail(`persistent id names ${type.qualname}, not a storage type`);
  if (typeof key !== 'string' || !/^[0-9A-Za-z_.-]{1,64}$/.test(key)) fail('storage key is malformed');
  if (typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0) fail(`storage ${key} has an invalid size`);
  const prev = seen.get(key);
  if (prev && (prev.dtype !== dtype || prev.numel !== numel)) fail(`storage ${key} is declared twice with different types`);
  const ref = prev ?? { key, dtype, numel };
  seen.set(key, ref);
  return ref;
}

function intList(v: PyValue, what: string): number[] {
  if (!(v instanceof PyTuple)) fail(`${what} is a ${describe(v)}, not a tuple`);
  return v.items.map((d) => {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) fail(`${what} holds an invalid value`);
    return d;
  });
}

/** _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]) */
function rebuildTensor(args: PyValue[]): PyValue {
  if (args.length < 6 || args.length > 7) fail(`_rebuild_tensor_v2 called with ${args.length} arguments`);
  const [storage, offset] = args;
  if (!(storage instanceof PyExternal) || storage.kind !== 'storage') fail('_rebuild_tensor_v2 without a storage');
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) fail('tensor storage offset is invalid');
  const shape = intList(args[2], 'tensor size');
  const stride = intList(args[3], 'tensor stride');
  if (stride.length !== shape.length) fail('tensor size and stride differ in length');
  const ref = storage.value as StorageRef;
  return new PyExternal('tensor', { dtype: ref.dtype, storage: ref, offset, shape, stride });
}

/** _rebuild_parameter(data, requires_grad, backward_hooks): a Parameter is its tensor for our purposes. */
function rebuildParameter(args: PyValue[]): PyValue {
  const data = args[0];
  if (args.length !== 3 || !(data instanceof PyExternal) || data.kind !== 'tensor') fail('_rebuild_parameter without a tensor');
  return data;
}
