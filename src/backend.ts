/**
 * Choosing the TF.js backend. `tensorflow` (libtensorflow through @tensorflow/tfjs-node-gpu on CUDA or
 * @tensorflow/tfjs-node on CPU) is the fastest but is an optional install the user makes; `wasm` (XNNPACK
 * kernels) and `cpu` (plain JavaScript) always work. The default is the fastest one that loads.
 */
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from './errors.js';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export const BACKENDS: BackendName[] = ['tensorflow', 'wasm', 'cpu'];

/** The npm packages that provide the `tensorflow` backend, GPU first. */
const NODE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'];

async function loadTensorflow(): Promise<string | null> {
  for (const pkg of NODE_PACKAGES) {
    try {
      await import(pkg); // registers the 'tensorflow' backend with the shared tfjs-core
      return pkg;
    } catch {
      // not installed (the usual case): try the next one
    }
  }
  return null;
}

async function register(name: BackendName): Promise<boolean> {
  if (tf.findBackendFactory(name) != null) return true;
  switch (name) {
    case 'tensorflow':
      return (await loadTensorflow()) !== null;
    case 'wasm':
      await import('@tensorflow/tfjs-backend-wasm');
      return true;
    case 'cpu':
      await import('@tensorflow/tfjs-backend-cpu');
      return true;
  }
}

/**
 * Activates `requested`, or the fastest available backend when undefined. Throws a UserError naming the
 * install command when an explicitly requested backend is missing.
 */
export async function useBackend(requested?: string): Promise<BackendName> {
  // Production mode skips per-op debug checks and the "install tfjs-node" banner, which would otherwise
  // be printed into the user's --json output.
  tf.enableProdMode();
  if (requested !== undefined) {
    if (!BACKENDS.includes(requested as BackendName)) {
      throw new UserError(`unknown backend '${requested}'; valid backends: ${BACKENDS.join(', ')}`);
    }
    const name = requested as BackendName;
    if (!(await register(name)) || !(await tf.setBackend(name))) {
      const fix = name === 'tensorflow' ? 'install it with `npm install @tensorflow/tfjs-node` (CPU) or `@tensorflow/tfjs-node-gpu` (CUDA), or' : '';
      throw new UserError(`backend '${name}' is not available; ${fix} use --backend wasm or --backend cpu`);
    }
    await tf.ready();
    return name;
  }
  for (const name of BACKENDS) {
    try {
      if ((await register(name)) && (await tf.setBackend(name))) {
        await tf.ready();
        return name;
      }
    } catch {
      // a backend that fails to initialise (e.g. wasm without its binary) falls through to the next
    }
  }
  throw new UserError('no TF.js backend could be initialised; reinstall with `npm ci`');
}
