/**
 * Loading weights straight into the wasm backend's heap. `tf.tensor(array)` on wasm copies the array into
 * the heap, so loading the model that way allocates, zeroes and copies every weight twice; at full size
 * (784 MB) that second pass costs about as much as reading the file. Here the backend allocates the tensor
 * (`write(null, ...)`, its public KernelBackend method) and the caller fills the heap memory in place.
 */
import * as tf from '@tensorflow/tfjs-core';

interface WasmBackendInternals {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { get(id: object): { memoryOffset: number } | undefined };
}

/**
 * A float32 tensor of `shape` whose values `fill` writes in place, or null when the active backend is not
 * wasm (the caller then builds the tensor from an array). Nothing may allocate on the backend while `fill`
 * runs: growing the heap would move the memory `fill` writes to.
 */
export async function fillWasmTensor(shape: number[], fill: (dest: Float32Array) => Promise<void>): Promise<tf.Tensor | null> {
  if (tf.getBackend() !== 'wasm') return null;
  const backend = tf.backend() as unknown as tf.KernelBackend & WasmBackendInternals;
  const size = shape.reduce((a, b) => a * b, 1);
  const dataId = backend.write(null as unknown as Float32Array, shape, 'float32'); // allocates heap memory, copies nothing
  const tensor = tf.engine().makeTensorFromDataId(dataId, shape, 'float32', backend);
  try {
    const offset = backend.dataIdMap.get(dataId)!.memoryOffset;
    await fill(new Float32Array(backend.wasm.HEAPU8.buffer, offset, size));
    return tensor;
  } catch (err) {
    tensor.dispose();
    throw err;
  }
}
