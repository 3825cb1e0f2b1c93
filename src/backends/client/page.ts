/**
 * Backends in a web page (the explorer): WebGPU where the browser offers it, wasm otherwise, cpu as the
 * last resort. Unlike Node (select.ts), the browser provides `navigator.gpu` itself, and tfjs-backend-wasm
 * picks its own build: threaded SIMD when the page is cross-origin isolated (`biomedclip serve` sends the
 * two headers that make it so) and the browser can share memory, plain SIMD otherwise. The same policies
 * (../policies.ts) apply as in Node, so the page runs the numbers the CLI runs on the same backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-webgpu';
import '../policies.js';

export type PageBackend = 'webgpu' | 'wasm' | 'cpu';
export const PAGE_BACKENDS: PageBackend[] = ['webgpu', 'wasm', 'cpu'];

export interface PageBackendInfo {
  name: PageBackend;
  /** What the chooser shows beside the name: the adapter, or wasm's threads. */
  detail: string;
}

/** Whether this browser exposes WebGPU at all (it may still find no adapter). */
export function hasWebGPU(): boolean {
  return typeof navigator !== 'undefined' && 'gpu' in navigator;
}

/**
 * Activates `requested` (or the first that works, in PAGE_BACKENDS order). `wasmBase` is the URL folder
 * holding tfjs-backend-wasm's .wasm files. Throws an Error whose message the page shows as it is.
 */
export async function usePageBackend(requested: PageBackend | 'auto', wasmBase: string): Promise<PageBackendInfo> {
  tf.enableProdMode();
  setWasmPaths(wasmBase);
  // Each worker thread of the threaded build is a core the page may use; wasm ignores this without isolation.
  setThreadsCount(Math.max(1, navigator.hardwareConcurrency || 1));
  const order = requested === 'auto' ? PAGE_BACKENDS : [requested];
  const failures: string[] = [];
  for (const name of order) {
    if (name === 'webgpu' && !hasWebGPU()) {
      failures.push('webgpu: this browser has no WebGPU (navigator.gpu is missing)');
      continue;
    }
    try {
      if (await tf.setBackend(name)) {
        await tf.ready();
        return { name, detail: describe(name) };
      }
      failures.push(`${name}: could not start`);
    } catch (err) {
      failures.push(`${name}: ${(err as Error).message}`);
    }
  }
  throw new Error(`no backend could start: ${failures.join('; ')}`);
}

function describe(name: PageBackend): string {
  if (name === 'wasm') return globalThis.crossOriginIsolated ? `threads: ${navigator.hardwareConcurrency || 1}` : 'one thread (page not cross-origin isolated)';
  if (name === 'cpu') return 'plain JavaScript, slow';
  return 'GPU';
}
