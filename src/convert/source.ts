/**
 * One view over the two checkpoint formats `convert` accepts: PyTorch zip checkpoints (`.bin`/`.pt`) and
 * safetensors files (open_clip can save those). The format is told by the file's first bytes, not its
 * name, so a mislabelled download still converts (or fails with the right message).
 */
import type { DType } from '../weights/dtype.js';
import { SafetensorsFile } from '../weights/reader.js';
import { openForReading } from '../weights/file-source.js';
import { TorchCheckpoint } from '../weights/torch.js';

export interface SourceTensor {
  name: string;
  dtype: DType;
  shape: number[];
}

export interface TensorSource {
  format: 'torch-zip' | 'safetensors';
  /** In file order. */
  tensors: SourceTensor[];
  readFloat32(name: string): Promise<Float32Array>;
  close(): Promise<void>;
}

async function firstBytes(path: string, n: number): Promise<Uint8Array> {
  const handle = await openForReading(path, 'checkpoint');
  try {
    const buf = new Uint8Array(n);
    const { bytesRead } = await handle.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** Opens `path` as whichever format it is. */
export async function openTensorSource(path: string): Promise<TensorSource> {
  const head = await firstBytes(path, 9);
  // safetensors: an 8-byte little-endian length, then the JSON header's "{" (zip files start with "PK").
  const isSafetensors = head.length === 9 && head[8] === 0x7b && !(head[0] === 0x50 && head[1] === 0x4b);
  if (isSafetensors) return asSource('safetensors', await SafetensorsFile.open(path));
  return asSource('torch-zip', await TorchCheckpoint.open(path));
}

/** Both readers have the same surface (tensors by name, readFloat32, close); only name/dtype/shape are copied. */
function asSource(
  format: TensorSource['format'],
  reader: { tensors: ReadonlyMap<string, SourceTensor>; readFloat32(name: string): Promise<Float32Array>; close(): Promise<void> },
): TensorSource {
  return {
    format,
    tensors: [...reader.tensors.values()].map(({ name, dtype, shape }) => ({ name, dtype, shape })),
    readFloat32: (name) => reader.readFloat32(name),
    close: () => reader.close(),
  };
}
