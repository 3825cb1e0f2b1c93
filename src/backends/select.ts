/**
 * Choosing the TF.js backend. `tensorflow` (libtensorflow through @tensorflow/tfjs-node-gpu on CUDA or
 * @tensorflow/tfjs-node on CPU) is an optional install the user makes; `webgpu` (Dawn, src/backends/webgpu.ts)
 * comes with the optional `webgpu` package and is the default only on a real GPU; `wasm` (XNNPACK kernels)
 * and `cpu` (plain JavaScript) always work. The default is the fastest one that loads.
 */
import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../errors.js';
import './policies.js'; // sets each backend's policy (weight layout, attention products, loading)
import { registerWasm } from './wasm-threads.js';
import { registerWebGPU } from './webgpu.js';

export type BackendName = 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';
export const BACKENDS: BackendName[] = ['tensorflow', 'webgpu', 'wasm', 'cpu'];

export interface BackendOptions {
  /**
   * Threads of the wasm backend's XNNPACK pool (default 1; above 1 loads the package's threaded build,
   * src/backends/wasm-threads.ts). Other backends ignore it: cpu is single-threaded JavaScript,
   * tensorflow and webgpu size their own parallelism.
   */
  threads?: number;
}

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

/** `explicit`: the user named this backend (webgpu then accepts a software adapter). */
async function register(name: BackendName, threads: number, explicit: boolean): Promise<boolean> {
  switch (name) {
    case 'tensorflow':
      return tf.findBackendFactory(name) != null || (await loadTensorflow()) !== null;
    case 'webgpu':
      return tf.findBackendFactory(name) != null || registerWebGPU(explicit);
    case 'wasm':
      await registerWasm(threads);
      return true;
    case 'cpu':
      await import('@tensorflow/tfjs-backend-cpu');
      return true;
  }
}

function checkThreads(threads: number): void {
  if (!Number.isInteger(threads) || threads < 1)
    throw new UserError(`--threads ${threads}: expected a positive integer (this machine has ${availableParallelism()} cores)`, 2);
}

/**
 * Activates `requested`, or the fastest available backend when undefined. Throws a UserError naming the
 * install command when an explicitly requested backend is missing.
 */
export async function useBackend(requested?: string, opts: BackendOptions = {}): Promise<BackendName> {
  const threads = opts.threads ?? 1;
  checkThreads(threads);
  // Production mode skips per-op debug checks and the "install tfjs-node" banner, which would otherwise
  // be printed into the user's --json output.
  tf.enableProdMode();
  if (requested !== undefined) {
    if (!BACKENDS.includes(requested as BackendName)) {
      throw new UserError(`unknown backend '${requested}'; valid backends: ${BACKENDS.join(', ')}`, 2); // a bad argument: exit 2
    }
    const name = requested as BackendName;
    if (!(await register(name, threads, true)) || !(await tf.setBackend(name))) throw new UserError(`backend '${name}' is not available; ${installHint(name)}`);
    await tf.ready();
    return name;
  }
  for (const name of BACKENDS) {
    try {
      if ((await register(name, threads, false)) && (await tf.setBackend(name))) {
        await tf.ready();
        return name;
      }
    } catch {
      // a backend that fails to initialise (e.g. wasm without its binary) falls through to the next
    }
  }
  throw new UserError('no TF.js backend could be initialised; reinstall with `npm ci`');
}

function installHint(name: BackendName): string {
  if (name === 'tensorflow') return 'install it with `npm install @tensorflow/tfjs-node` (CPU) or `@tensorflow/tfjs-node-gpu` (CUDA), or use --backend wasm';
  if (name === 'webgpu')
    return 'it needs the optional packages `webgpu` and `@tensorflow/tfjs-backend-webgpu` (`npm install webgpu @tensorflow/tfjs-backend-webgpu`) and a WebGPU adapter (a GPU with Vulkan/Metal/D3D12 drivers, or Mesa\'s EGL + OpenGL ES for the software one: README, "Backends"); or use --backend wasm';
  return 'reinstall with `npm ci`, or use --backend cpu';
}
