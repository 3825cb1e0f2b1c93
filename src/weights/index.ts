/** Weights I/O: safetensors reading and writing (see safetensors.ts) and the PyTorch checkpoint reader. */
export * from './safetensors.js';
