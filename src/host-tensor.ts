/**
 * A tensor on the host: a shape and its float32 values in row-major order. What the library API returns
 * and what traces, references and parity reports hold, so callers never manage TF.js memory.
 */
export interface HostTensor {
  shape: number[];
  data: Float32Array;
}
