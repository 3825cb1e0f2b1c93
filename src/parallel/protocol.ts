/**
 * The messages between the main thread and a pool worker (src/parallel/worker.ts). Arrays travel as
 * transferred buffers, never copied through structured clone.
 */
import type { FlatEmbeddings, HostIds } from '../embed/embed.js';
import type { HostTensor } from '../host-tensor.js';
import type { ExplainOptions, Explanation, HostPair, Method } from '../inspect/explain.js';

/** What each worker is started with (`workerData`). */
export interface WorkerSetup {
  modelDir: string;
  backend: string;
  threads: number;
  /** As LoadOptions.allowNonfinite: the workers load what the main thread loaded. */
  allowNonfinite?: boolean;
}

/** Embed a batch of pixels or of token ids: answered with FlatEmbeddings. */
export type EmbedTask = { kind: 'pixels'; px: HostTensor } | { kind: 'ids'; ids: HostIds };
/** Explain one pair with `methods` (src/inspect/explain.ts): answered with Explanation[] (host arrays). */
export type ExplainTask = { kind: 'explain'; pair: HostPair; methods: readonly Method[]; options: ExplainOptions };
export type Task = EmbedTask | ExplainTask;

/** What the worker answers a task with. */
export type Result<T extends Task> = T extends ExplainTask ? Explanation[] : FlatEmbeddings;

/** main -> worker */
export type Request = { id: number } & Task;

/** worker -> main */
export type Reply =
  | { type: 'ready' }
  | { type: 'failed'; message: string; userError: boolean } // could not load: the pool cannot start
  | { type: 'done'; id: number; result: FlatEmbeddings | Explanation[] }
  // userError: the task's input was at fault (a bad --layer, say); the main thread raises a UserError again
  | { type: 'error'; id: number; message: string; userError: boolean };

/**
 * The buffers of a task or a result, to hand over with postMessage's transfer list: each once (two arrays
 * may share one buffer, and a buffer named twice is an error).
 */
export function transferables(x: Task | FlatEmbeddings | Explanation[]): ArrayBuffer[] {
  const arrays = Array.isArray(x)
    ? x.flatMap((e) => (e.textMap ? [e.imageMap, e.textMap] : [e.imageMap]))
    : !('kind' in x)
      ? [x.features, x.embedding]
      : x.kind === 'pixels'
        ? [x.px.data]
        : x.kind === 'ids'
          ? [x.ids.data]
          : [x.pair.pixels.data, x.pair.ids.data];
  return [...new Set(arrays.map((a) => a.buffer as ArrayBuffer))];
}
