/**
 * Where a model's embedding batches and explanations run: in this thread, or on a pool of workers that each hold their own
 * copy of the model (src/parallel/). The facade owns one `BatchRunners` per loaded model; it starts the
 * pool on the first bulk call (workers take seconds to load their copies, so a single batch never waits
 * for them) and keeps it until `dispose()`. How many workers, and how many wasm threads each, is settled
 * once at load from the options and the machine (`resolveParallelism`).
 */
import type { BackendName } from '../backends/select.js';
import type { BatchRunner, ExplainRunner } from './core.js';
import { checkedRows, embedIdBatch, embedPixelBatch, type FlatEmbeddings } from '../embed/embed.js';
import { rowNames } from '../embed/batches.js';
import { UserError } from '../errors.js';
import { explainHost } from '../inspect/explain.js';
import type { BiomedCLIPModel } from '../model/clip.js';
import { defaultWorkerCount, WorkerPool } from '../parallel/pool.js';
import type { EmbedTask } from '../parallel/protocol.js';

/** Parallelism settings resolved from LoadModelOptions for the backend in use. */
export interface Parallelism {
  workers: number;
  /** wasm threads of each pool worker's model. */
  workerThreads: number;
  allowNonfinite?: boolean;
  /** Why the default pool is smaller than one worker per core, noted when the pool starts. */
  limit?: string;
}

/** A count option (`--workers`, `--threads`, `--max-pixels`): undefined, or a positive integer. */
export function positive(name: string, value: number | undefined): number | undefined {
  if (value !== undefined && (!Number.isInteger(value) || value < 1)) throw new UserError(`--${name} ${value}: expected a positive integer`, 2);
  return value;
}

/**
 * The pool's size for `backend`: the `workers` asked for, or by default one per core on wasm and cpu (as
 * many as `freeBytes` holds, at about 2.2 × the weights' float32 bytes each: defaultWorkerCount) and 1 on
 * tensorflow and webgpu, which parallelize by themselves. Each worker's wasm threads: `threads`, or the
 * cores shared out among the workers.
 */
export function resolveParallelism(
  opts: { workers?: number; threads?: number; allowNonfinite?: boolean },
  backend: BackendName,
  machine: { cores: number; freeBytes: number; weightBytes: number },
): Parallelism {
  const pooled = backend === 'wasm' || backend === 'cpu';
  const fit = pooled && opts.workers === undefined ? defaultWorkerCount(machine.cores, machine.weightBytes, machine.freeBytes) : undefined;
  const workers = positive('workers', opts.workers) ?? fit?.workers ?? 1;
  const threads = positive('threads', opts.threads);
  return { workers, workerThreads: threads ?? Math.max(1, Math.floor(machine.cores / workers)), allowNonfinite: opts.allowNonfinite, limit: fit?.limit };
}

/** One model's runners: in this thread, or on its worker pool (started on first bulk use, once). */
export class BatchRunners {
  private pool: Promise<WorkerPool> | undefined;

  constructor(
    private readonly model: BiomedCLIPModel,
    private readonly source: { modelDir: string; backend: BackendName },
    readonly parallelism: Parallelism,
    private readonly onNote?: (message: string) => void,
  ) {}

  /**
   * How to run many batches: on the worker pool for `bulk` work when this model has more than one worker
   * (starting the pool on first use), in this thread otherwise.
   */
  async runner(bulk: boolean): Promise<BatchRunner> {
    const pool = bulk ? await this.startPool() : undefined;
    return {
      window: pool?.capacity ?? 1,
      embedPixels: async (px, names) => checkedRows(await this.runBatch({ kind: 'pixels', px }, pool), names ?? rowNames('image', px.shape[0])),
      embedIds: async (ids, names) => checkedRows(await this.runBatch({ kind: 'ids', ids }, pool), names ?? rowNames('text', ids.shape[0])),
    };
  }

  /**
   * How to explain many pairs: on the worker pool for `bulk` work when this model has more than one worker
   * (each worker runs `explain` on its own copy, the code and defaults of this thread), here otherwise.
   */
  async explainRunner(bulk: boolean): Promise<ExplainRunner> {
    const pool = bulk ? await this.startPool() : undefined;
    return {
      window: pool?.capacity ?? 1,
      explain: (pair, methods, options = {}) =>
        pool ? pool.run({ kind: 'explain', pair, methods, options }) : explainHost(this.model, pair, methods, options),
    };
  }

  /** Stops the pool, if one was started (a process with a running pool does not exit). */
  close(): void {
    void this.pool?.then(
      (p) => p.close(),
      () => undefined, // a pool that failed to start has nothing to stop
    );
    this.pool = undefined;
  }

  /** The pool (started on first use, once), or undefined when this model runs with one worker. */
  private async startPool(): Promise<WorkerPool | undefined> {
    const { workers, workerThreads, allowNonfinite } = this.parallelism;
    if (workers < 2) return undefined;
    if (!this.pool && this.parallelism.limit) this.onNote?.(this.parallelism.limit);
    this.pool ??= WorkerPool.start({ modelDir: this.source.modelDir, backend: this.source.backend, threads: workerThreads, workers, allowNonfinite });
    return this.pool;
  }

  private runBatch(task: EmbedTask, pool: WorkerPool | undefined): Promise<FlatEmbeddings> {
    if (pool) return pool.run(task);
    return task.kind === 'pixels' ? embedPixelBatch(this.model, task.px) : embedIdBatch(this.model, task.ids);
  }
}
