/**
 * Weights I/O for the rest of the code: the safetensors reader and writer (safetensors.ts). The PyTorch
 * checkpoint reader (torch.ts, zip.ts, pickle.ts) is imported directly by `convert`, its only user.
 */
export * from './safetensors.js';
