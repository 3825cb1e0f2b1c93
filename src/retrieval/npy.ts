/**
 * The NumPy `.npy` format (version 1.0) for one float32 matrix, written so that rows can be appended.
 *
 * A `.npy` file is a magic string, a little-endian uint16 header length, a Python-dict header naming the
 * dtype and shape, then the raw C-order data. We always pad the header to a fixed 128 bytes (NumPy pads to
 * a multiple of 64, so 128 is a legal size), which leaves room for any row count: appending rows only
 * rewrites the shape in place, never moves the data. `np.load(path, mmap_mode='r')` and `faiss` (via NumPy)
 * read the result directly.
 */
import { UserError } from '../errors.js';

const MAGIC = Uint8Array.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY
/** Bytes before the data: magic (6) + version (2) + header length (2) + the padded header dict. */
export const NPY_HEADER_BYTES = 128;

/** The fixed-size header of a little-endian float32 C-order [rows, cols] matrix. */
export function encodeNpyHeader(rows: number, cols: number): Uint8Array {
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${cols}), }`;
  const dictBytes = NPY_HEADER_BYTES - 10;
  // The dict is padded with spaces and must end in '\n' (NumPy's reader requires it).
  if (dict.length + 1 > dictBytes) throw new Error(`npy: shape (${rows}, ${cols}) does not fit the fixed header`);
  const out = new Uint8Array(NPY_HEADER_BYTES);
  out.set(MAGIC, 0);
  out[6] = 1; // format version 1.0: header length is a uint16
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, dictBytes, true);
  out.set(Buffer.from(dict.padEnd(dictBytes - 1, ' ') + '\n', 'latin1'), 10);
  return out;
}

/** Reads [rows, cols] back from a header we (or NumPy, for float32 C-order) wrote; `file` names errors. */
export function parseNpyHeader(bytes: Uint8Array, file: string): { rows: number; cols: number; dataOffset: number } {
  const fix = 'rebuild it with `biomedclip index IMAGES_DIR --out INDEX`';
  if (bytes.length < 10 || !MAGIC.every((b, i) => bytes[i] === b)) throw new UserError(`${file}: not a .npy file; ${fix}`);
  if (bytes[6] !== 1) throw new UserError(`${file}: .npy version ${bytes[6]}.${bytes[7]} is not supported (expected 1.0); ${fix}`);
  const len = new DataView(bytes.buffer, bytes.byteOffset).getUint16(8, true);
  const dict = Buffer.from(bytes.subarray(10, 10 + len)).toString('latin1');
  if (!/'descr':\s*'<f4'/.test(dict) || !/'fortran_order':\s*False/.test(dict)) {
    throw new UserError(`${file}: expected little-endian float32 in C order, header is ${dict.trim()}; ${fix}`);
  }
  const shape = /'shape':\s*\((\d+),\s*(\d+)\)/.exec(dict);
  if (!shape) throw new UserError(`${file}: expected a 2-D matrix, header is ${dict.trim()}; ${fix}`);
  return { rows: Number(shape[1]), cols: Number(shape[2]), dataOffset: 10 + len };
}

/**
 * A whole little-endian float32 C-order array of any shape as the bytes of a .npy file, its header padded
 * to a multiple of 64 bytes as NumPy pads it (the evaluation's maps.npy: [rows, methods, 14, 14]).
 */
export function npyFloat32(shape: number[], data: Float32Array): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new Error(`npy: shape (${shape.join(', ')}) holds ${count} values, not ${data.length}`);
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims}), }`;
  const headerBytes = Math.ceil((10 + dict.length + 1) / 64) * 64;
  const out = new Uint8Array(headerBytes + 4 * count);
  out.set(MAGIC, 0);
  out[6] = 1;
  new DataView(out.buffer).setUint16(8, headerBytes - 10, true);
  out.set(Buffer.from(dict.padEnd(headerBytes - 11, ' ') + '\n', 'latin1'), 10);
  const view = new DataView(out.buffer, headerBytes);
  for (let i = 0; i < count; i++) view.setFloat32(4 * i, data[i], true);
  return out;
}
