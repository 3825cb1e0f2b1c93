/**
 * The pthread worker script of tfjs-backend-wasm's threaded build, as a file Node's worker_threads can run.
 *
 * The package ships the script only as a string (`wasmWorkerContents`) that its browser path turns into a
 * Blob URL, which Node's workers cannot load. Emscripten's script itself supports Node (it reads
 * `require`, `__filename` and worker_threads' parentPort), so this CommonJS file runs it unchanged, given
 * those two names the way Node's module wrapper gives them to any CommonJS file.
 */
const { wasmWorkerContents } = require('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js') as { wasmWorkerContents: string };
// The string comes from a template literal, in which the script's "\n" escapes became real newlines;
// the package restores them the same way before making its Blob.
new Function('require', '__filename', wasmWorkerContents.replace(/\n/g, '\\n'))(require, __filename);
