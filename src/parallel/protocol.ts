/**
 * The messages between the main thread and a pool worker (src/parallel/worker.ts). Arrays travel as
 * transferred buffers, never copied through structured clone.
 */
import type { FlatEmbeddings, HostIds } from '../embed/embed.js';
import type { HostTensor } from '../host-tensor.js';

/** What each worker is started with (`workerData`). */
export interface WorkerSetup {
  modelDir: string;
  backend: string;
  threads: number;
  /** As LoadOptions.allowNonfinite: the workers load what the main thread loaded. */
  allowNonfinite?: boolean;
}

export type Task = { kind: 'pixels'; px: HostTensor } | { kind: 'ids'; ids: HostIds };

/** main -> worker */
export type Request = { id: number } & Task;

/** worker -> main */
export type Reply =
  | { type: 'ready' }
  | { type: 'failed'; message: string; userError: boolean } // could not load: the pool cannot start
  | { type: 'done'; id: number; result: FlatEmbeddings }
  | { type: 'error'; id: number; message: string };

/** The buffers of a task or a result, to hand over with postMessage's transfer list. */
export function transferables(x: Task | FlatEmbeddings): ArrayBuffer[] {
  if ('kind' in x) return [x.kind === 'pixels' ? x.px.data.buffer : x.ids.data.buffer] as ArrayBuffer[];
  return [x.features.buffer, x.embedding.buffer] as ArrayBuffer[];
}
