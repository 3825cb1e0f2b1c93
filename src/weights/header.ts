/**
 * The safetensors header: parsing and validation, kept apart from file I/O so every rule is testable on
 * bytes. Layout: 8-byte little-endian header length N, N bytes of UTF-8 JSON (padded with spaces to a
 * multiple of 8 so the data that follows is aligned), then the tensor bytes.
 *
 * The rules follow the reference implementation (huggingface/safetensors `tensor.rs`): the header is at
 * most 100,000,000 bytes, valid UTF-8, a JSON object starting with `{`; sorted by offset, the tensors'
 * `data_offsets` start at 0, leave no gap and no overlap, and end exactly at the end of the file; each
 * tensor's byte length equals its element count times its dtype size; `__metadata__` maps strings to
 * strings. Anything else is refused before a single tensor byte is read.
 */
import { UserError } from '../errors.js';
import { DTYPE_SIZE, elementCount, isDType, type DType } from './dtype.js';

/** The reference implementation's cap: anything larger is a hostile or corrupt file, not a model. */
export const MAX_HEADER_SIZE = 100_000_000;

export interface TensorInfo {
  name: string;
  dtype: DType;
  shape: number[];
  /** Absolute position of the first byte in the file. */
  byteOffset: number;
  byteLength: number;
}

export interface ParsedHeader {
  metadata: Record<string, string>;
  /** In file (offset) order. */
  tensors: TensorInfo[];
}

const FIX = 'the file is damaged or not a safetensors file: re-create it with `biomedclip convert`';

function fail(file: string, problem: string): never {
  throw new UserError(`${file}: ${problem}; ${FIX}`);
}

/**
 * Checks the 8-byte length prefix against the file size, before the header is read, so a hostile length
 * never turns into a large allocation. Returns N.
 */
export function checkHeaderLength(file: string, prefix: Uint8Array, fileSize: number): number {
  if (fileSize < 8 || prefix.length < 8) fail(file, `only ${fileSize} bytes, too short for the 8-byte header length`);
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_SIZE)) fail(file, `header length ${n} exceeds the ${MAX_HEADER_SIZE}-byte maximum`);
  const len = Number(n);
  if (8 + len > fileSize) fail(file, `header length ${len} runs past the end of the ${fileSize}-byte file`);
  if (len < 2) fail(file, `header length ${len} is too short for a JSON object`);
  return len;
}

/** Parses and validates the N header bytes; `fileSize` bounds the data section. */
export function parseHeader(file: string, bytes: Uint8Array, fileSize: number): ParsedHeader {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    fail(file, 'header is not valid UTF-8');
  }
  if (!text.startsWith('{')) fail(file, 'header does not start with "{"');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    fail(file, `header is not valid JSON (${(err as Error).message})`);
  }
  if (!isPlainObject(json)) fail(file, 'header is not a JSON object');

  let metadata: Record<string, string> = {};
  const raw: RawEntry[] = [];
  for (const [key, value] of Object.entries(json)) {
    if (key === '__metadata__') metadata = parseMetadata(file, value);
    else raw.push(parseEntry(file, key, value));
  }
  const dataStart = 8 + bytes.length;
  return { metadata, tensors: checkLayout(file, raw, fileSize - dataStart, dataStart) };
}

interface RawEntry {
  name: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseMetadata(file: string, value: unknown): Record<string, string> {
  if (!isPlainObject(value)) fail(file, '"__metadata__" is not a JSON object');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') fail(file, `"__metadata__" value for "${k}" is not a string`);
    // defineProperty, not assignment: a key named "__proto__" must stay data, not change the prototype.
    Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function parseEntry(file: string, name: string, value: unknown): RawEntry {
  const where = `tensor "${name}"`;
  if (!isPlainObject(value)) fail(file, `${where} is not a JSON object`);
  const { dtype, shape, data_offsets: offsets } = value;
  if (!isDType(dtype)) fail(file, `${where} has unsupported dtype ${JSON.stringify(dtype)}`);
  if (!Array.isArray(shape)) fail(file, `${where} has no "shape" list`);
  const count = elementCount(shape);
  if (count === undefined) fail(file, `${where} has an invalid shape ${JSON.stringify(shape)}`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    fail(file, `${where} has invalid "data_offsets" ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) fail(file, `${where} has data_offsets [${begin}, ${end}] that end before they begin`);
  const expected = count * DTYPE_SIZE[dtype];
  if (end - begin !== expected) {
    fail(file, `${where} spans ${end - begin} bytes but ${dtype} ${JSON.stringify(shape)} needs ${expected}`);
  }
  return { name, dtype, shape: shape as number[], begin, end };
}

/** Sorted by offset, the tensors must tile the data section exactly: no gap, no overlap, nothing after. */
function checkLayout(file: string, raw: RawEntry[], dataSize: number, dataStart: number): TensorInfo[] {
  const sorted = [...raw].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  for (const t of sorted) {
    if (t.begin < pos) fail(file, `tensor "${t.name}" at [${t.begin}, ${t.end}] overlaps the previous tensor`);
    if (t.begin > pos) fail(file, `tensor "${t.name}" starts at ${t.begin}, leaving a gap after byte ${pos}`);
    if (t.end > dataSize) fail(file, `tensor "${t.name}" ends at ${t.end}, past the ${dataSize}-byte data (truncated file?)`);
    pos = t.end;
  }
  if (pos !== dataSize) {
    fail(file, `tensors cover ${pos} of ${dataSize} data bytes (${pos < dataSize ? 'trailing bytes' : 'truncated file'})`);
  }
  return sorted.map((t) => ({
    name: t.name,
    dtype: t.dtype,
    shape: t.shape,
    byteOffset: dataStart + t.begin,
    byteLength: t.end - t.begin,
  }));
}

/**
 * Serializes a header the way the reference does: `__metadata__` first (only when non-empty), tensors in
 * the given order, offsets relative to the data section, padded with spaces to a multiple of 8 bytes.
 */
export function encodeHeader(
  infos: readonly { name: string; dtype: DType; shape: readonly number[]; byteLength: number }[],
  metadata: Record<string, string> = {},
): Uint8Array {
  // Built as [key, value] pairs, not an object: a tensor named "__proto__" or "0" keeps its place and meaning.
  const entries: [string, unknown][] = [];
  if (Object.keys(metadata).length > 0) entries.push(['__metadata__', metadata]);
  let offset = 0;
  for (const t of infos) {
    entries.push([t.name, { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.byteLength] }]);
    offset += t.byteLength;
  }
  const text = `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`;
  const json = new TextEncoder().encode(text);
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded).fill(0x20, 8);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  return out;
}
