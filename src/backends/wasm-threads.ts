/**
 * tfjs-backend-wasm's multi-threaded SIMD build, in Node.
 *
 * The package ships the threaded build but never uses it in Node: its feature check answers "no threads"
 * whenever it runs in Node, and its loader hands Emscripten a Blob URL for the pthread worker script,
 * which Node's worker_threads cannot start. Both are in the package's `init()`, not in the build, so this
 * file creates the Emscripten module itself with the package's public pieces (the factory in `wasm-out/`,
 * the `BackendWasm` class) and registers it under the name 'wasm', where the kernels are registered:
 *   - the worker script is `wasm-pthread.cjs` beside this file (it runs the package's script unchanged);
 *   - tfjs's C++ side sizes its thread pool as min(requested, logical cores / 2), assuming that half the
 *     logical cores are hyper-threads; Emscripten's `instantiateWasm` hook answers the core count with
 *     twice the threads asked for, so that `threads` is what the pool gets.
 * Only XNNPACK's kernels (the matmuls of Linear layers, after load.ts's layout step) use the pool; every
 * other op still runs on the calling thread.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';

const require = createRequire(import.meta.url);
const PACKAGE = '@tensorflow/tfjs-backend-wasm';

/** What `BackendWasm` expects on the Emscripten module: the package's own cwrap table, same names. */
function attachTfjsApi(module: EmscriptenModule): void {
  module.tfjs = {
    init: module.cwrap('init', null, []),
    initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
    getThreadsCount: module.cwrap('get_threads_count', 'number', []),
    registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
    disposeData: module.cwrap('dispose_data', null, ['number']),
    dispose: module.cwrap('dispose', null, []),
  };
}

interface EmscriptenModule {
  cwrap(name: string, ret: string | null, args: string[]): (...a: number[]) => number;
  tfjs?: Record<string, (...a: number[]) => number>;
  PThread: { runningWorkers: Array<{ unref(): void }> };
}

type InstantiateWasm = (imports: { env: Record<string, unknown> }, receive: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void) => object;

type Factory = () => tf.KernelBackend | Promise<tf.KernelBackend>;

/** The package's own (single-threaded SIMD) factory, and the thread count of the factory registered now. */
let packageFactory: Factory | undefined;
let registeredThreads = 1;
/** Threads of the live 'wasm' backend, once one was created: from then on its thread count is fixed. */
let liveThreads: number | undefined;

/**
 * Registers the 'wasm' backend with `threads` threads: the package's own build for 1, the threaded build
 * otherwise. Like tfjs's `setThreadsCount`, it only has an effect before the backend is first created:
 * replacing a live backend would dispose every tensor on it (other models' weights included).
 */
export async function registerWasm(threads: number): Promise<void> {
  const wasmPkg = await import(PACKAGE); // registers the kernels and the single-threaded factory
  if (packageFactory === undefined) packageFactory = tf.findBackendFactory('wasm') as Factory;
  else if (liveThreads !== undefined || threads === registeredThreads) return;
  const single = packageFactory;
  const threaded = threadedFactory(wasmPkg, threads);
  tf.removeBackend('wasm');
  tf.registerBackend(
    'wasm',
    () =>
      withoutEmscriptenHandlers(async () => {
        if (threads > 1) {
          try {
            const backend = await threaded();
            liveThreads = threads;
            return backend;
          } catch {
            // a runtime without shared memory or workers: the single-threaded build still works
          }
        }
        liveThreads = 1;
        return single();
      }),
    2,
  );
  registeredThreads = threads;
}

/**
 * Runs `create` (which instantiates an Emscripten module) and removes the process handlers Emscripten's
 * Node glue installs while it does: `uncaughtException` and `unhandledRejection` listeners that rethrow.
 * A throw from inside an `uncaughtException` handler makes Node print the source line it came from, and
 * that line is the glue's whole minified file (56 KB on the terminal, exit code 7) for any error at all in
 * the program, a closed stdout pipe included. Without them, errors take Node's (or the CLI's) normal path.
 * The package tries the same clean-up, but its filter (`!list.indexOf(l) > -1`) never matches.
 */
export async function withoutEmscriptenHandlers<T>(create: () => Promise<T>): Promise<T> {
  const events: string[] = ['uncaughtException', 'unhandledRejection'];
  const before = new Map(events.map((e) => [e, new Set(process.listeners(e as 'uncaughtException'))]));
  try {
    return await create();
  } finally {
    for (const e of events) {
      for (const listener of process.listeners(e as 'uncaughtException')) {
        if (!before.get(e)!.has(listener)) process.off(e, listener);
      }
    }
  }
}

/** The threads the 'wasm' backend computes with (its XNNPACK pool; 1 on the package's own build). */
export function wasmThreads(): number {
  return liveThreads ?? registeredThreads;
}

function threadedFactory(wasmPkg: typeof import('@tensorflow/tfjs-backend-wasm'), threads: number): Factory {
  const gluePath = require.resolve(`${PACKAGE}/wasm-out/tfjs-backend-wasm-threaded-simd.js`);
  const wasmPath = require.resolve(`${PACKAGE}/dist/tfjs-backend-wasm-threaded-simd.wasm`);
  const workerPath = fileURLToPath(new URL('./wasm-pthread.cjs', import.meta.url));
  const factory = require(gluePath) as (config: object) => Promise<EmscriptenModule>;
  const instantiateWasm: InstantiateWasm = (imports, receive) => {
    imports.env.emscripten_num_logical_cores = () => 2 * threads; // tfjs halves it (see above)
    WebAssembly.instantiate(readFileSync(wasmPath), imports as WebAssembly.Imports).then((r) => receive(r.instance, r.module));
    return {}; // Emscripten's contract for an asynchronous instantiateWasm
  };
  return async () => {
    const module = await factory({
      locateFile: (file: string) => (file.endsWith('.worker.js') ? workerPath : file.endsWith('.wasm') ? wasmPath : file),
      mainScriptUrlOrBlob: gluePath, // what each pthread worker loads: the same factory, as a file path
      instantiateWasm,
    });
    attachTfjsApi(module);
    wasmPkg.setThreadsCount(threads);
    const backend = new wasmPkg.BackendWasm(module as never); // creates the thread pool's pthreads
    // Emscripten keeps a running pthread's worker referenced, and XNNPACK's pool threads run for good:
    // unreferenced, they no longer keep Node alive once the main thread is done (they only ever compute
    // while the main thread waits for them).
    for (const worker of module.PThread.runningWorkers) worker.unref();
    return backend;
  };
}
