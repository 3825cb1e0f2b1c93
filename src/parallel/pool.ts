/**
 * A pool of worker_threads, each with its own backend and its own copy of the model, for bulk work:
 * batches go to whichever worker is free, results come back to the caller's promise of that batch, so
 * callers keep input order by awaiting in order.
 *
 * Why workers and not only threads: tfjs-backend-wasm's thread pool speeds up XNNPACK's kernels only
 * (the Linear products); a worker runs the whole forward pass, softmax, GELU, LayerNorm and attention
 * included, so N workers on N cores give close to N times the images per second (docs/performance.md).
 * The price is memory: each worker holds the model (~0.8 GB at full size) and a heap that keeps its largest
 * batch's activations (1.65 GB a worker in all at full size on wasm, measured by `npm run bench`).
 */
import { Worker } from 'node:worker_threads';
import { UserError } from '../errors.js';
import { transferables, type Reply, type Result, type Task, type WorkerSetup } from './protocol.js';

export interface PoolOptions extends WorkerSetup {
  workers: number;
}

interface Pending {
  task: Task;
  resolve: (r: Result<Task>) => void;
  reject: (e: Error) => void;
}

/** Batches sent ahead to each worker, so it never waits for a busy main thread between two batches. */
const DEPTH = 2;

class Slot {
  readonly outstanding = new Map<number, Pending>();

  constructor(
    readonly index: number,
    readonly worker: Worker,
  ) {}
}

export class WorkerPool {
  private readonly waiting: Pending[] = [];
  private nextId = 0;
  private broken: Error | null = null;

  private constructor(private readonly slots: Slot[]) {
    for (const slot of slots) {
      slot.worker.on('message', (reply: Reply) => this.onReply(slot, reply));
      slot.worker.on('error', (err) => this.fail(new Error(`pool worker ${slot.index} crashed: ${err.message}`)));
      slot.worker.on('exit', (code) => this.fail(new Error(`pool worker ${slot.index} exited (code ${code})`)));
    }
  }

  /** Starts `workers` workers and waits until every one has loaded the model (in parallel). */
  static async start(opts: PoolOptions): Promise<WorkerPool> {
    const setup: WorkerSetup = { modelDir: opts.modelDir, backend: opts.backend, threads: opts.threads, allowNonfinite: opts.allowNonfinite };
    const url = new URL('./worker.js', import.meta.url);
    // execArgv: []: the parent's node flags (e.g. --input-type of `node -e`) are not for a worker script.
    const workers = Array.from({ length: opts.workers }, () => new Worker(url, { workerData: setup, execArgv: [] }));
    try {
      await Promise.all(workers.map((w, i) => ready(w, i)));
    } catch (err) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw err;
    }
    return new WorkerPool(workers.map((w, i) => new Slot(i, w)));
  }

  get size(): number {
    return this.slots.length;
  }

  /** Batches worth keeping submitted: enough for every worker to have its next batch waiting. */
  get capacity(): number {
    return this.slots.length * DEPTH;
  }

  /** Runs one task (a batch to embed, a pair to explain) on the next free worker; its buffers are transferred. */
  run<T extends Task>(task: T): Promise<Result<T>> {
    if (this.broken) return Promise.reject(this.broken);
    return new Promise<Result<T>>((resolve, reject) => {
      this.waiting.push({ task, resolve: resolve as (r: Result<Task>) => void, reject });
      this.dispatch();
    });
  }

  /** Stops every worker; batches not yet finished are rejected. */
  async close(): Promise<void> {
    this.fail(new Error('the worker pool was closed'));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      while (this.waiting.length > 0 && slot.outstanding.size < DEPTH) {
        const pending = this.waiting.shift()!;
        const id = this.nextId++;
        slot.outstanding.set(id, pending);
        slot.worker.postMessage({ id, ...pending.task }, transferables(pending.task));
      }
    }
  }

  private onReply(slot: Slot, reply: Reply): void {
    if (reply.type !== 'done' && reply.type !== 'error') return;
    const pending = slot.outstanding.get(reply.id);
    if (!pending) return;
    slot.outstanding.delete(reply.id);
    if (reply.type === 'done') pending.resolve(reply.result);
    else pending.reject(reply.userError ? new UserError(reply.message) : new Error(reply.message));
    this.dispatch();
  }

  /** A worker died or the pool closed: every batch not yet finished fails with `err`, and so do later ones. */
  private fail(err: Error): void {
    if (this.broken) return;
    this.broken = err;
    for (const slot of this.slots) {
      for (const p of slot.outstanding.values()) p.reject(err);
      slot.outstanding.clear();
    }
    for (const p of this.waiting.splice(0)) p.reject(err);
  }
}

/** Resolves when worker `i` reports its model loaded; rejects with its error (a UserError stays one). */
function ready(worker: Worker, i: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onMessage = (reply: Reply) => {
      if (reply.type === 'ready') resolve();
      else if (reply.type === 'failed') reject(reply.userError ? new UserError(reply.message) : new Error(`pool worker ${i}: ${reply.message}`));
      else return;
      worker.off('message', onMessage);
    };
    worker.on('message', onMessage);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`pool worker ${i} exited (code ${code}) before loading the model`)));
  });
}

/**
 * Memory one pool worker takes, from the model's float32 parameter bytes: its copy of the weights and about
 * as much again of wasm heap that keeps its largest batch's activations (measured at full size: 1.65 GB per
 * worker for 784 MB of weights). Slightly over, so that the estimate errs towards fewer workers.
 */
export function workerBytes(paramBytes: number): number {
  return 2.2 * paramBytes;
}

/**
 * The default pool size: one worker per core, but never more than the memory now available can hold, so a
 * many-core machine with little memory per core slows down instead of running out of memory. Returns the
 * count, and why it is below `cores` when it is (for a note).
 */
export function defaultWorkerCount(cores: number, paramBytes: number, availableBytes: number): { workers: number; limit?: string } {
  const fit = Math.max(1, Math.floor(availableBytes / workerBytes(paramBytes)));
  if (fit >= cores) return { workers: cores };
  const gb = (n: number) => (n / 2 ** 30).toFixed(1);
  return {
    workers: fit,
    limit: `${fit} pool worker(s) instead of one per core (${cores}): each takes about ${gb(workerBytes(paramBytes))} GB and ${gb(availableBytes)} GB is available; --workers N overrides`,
  };
}
