/**
 * The safetensors API in one import: dtypes and conversions, the lazy validating reader, the atomic
 * (and streaming) writer. Split by concern into dtype.ts, header.ts, reader.ts and writer.ts.
 */
export { type DType, DTYPE_SIZE, isDType, elementCount, f16ToF32, bf16ToF32, f32ToF16 } from './dtype.js';
export { type TensorInfo, MAX_HEADER_SIZE } from './header.js';
export { SafetensorsFile } from './reader.js';
export { type TensorSpec, type TensorToWrite, writeSafetensors, SafetensorsWriter } from './writer.js';
