/**
 * The library API: load a model directory once, then embed images and texts, classify zero-shot, and
 * trace activations. Inputs are what users have (file paths, encoded bytes, raw pixels, strings); outputs
 * are plain typed arrays, so callers never manage TF.js memory. Every call leaves `tf.memory()` as it
 * found it (tested).
 *
 * The facade is for users and the CLI. The applications (src/eval, src/retrieval, src/view, src/parity)
 * never import it: each declares the small interface it calls, which this class satisfies structurally.
 * Where batches run (this thread or the worker pool) is runner.ts's; the CLIP head on host vectors, scores.ts's.
 */
import { availableParallelism, freemem } from 'node:os';
import { useBackend, type BackendName } from '../backends/select.js';
import { loadModel } from '../model/load.js';
import { ensureDemoModel, isDemoModel } from '../demo/demo-model.js';
import type { PreprocessOptions } from '../image/index.js';
import { WordPieceTokenizer } from '../tokenizer/index.js';
import { ClipCore, readScale, type BatchRunner, type CoreParts, type ExplainRunner } from './core.js';
import { BatchRunners, positive, resolveParallelism, type Parallelism } from './runner.js';

export type { Embedding } from '../embed/embed.js';
export type { BatchRunner, ExplainRunner } from './core.js';
export type { LabelScore } from './scores.js';

export interface LoadModelOptions {
  /** 'tensorflow' | 'webgpu' | 'wasm' | 'cpu'; the fastest available by default. */
  backend?: string;
  /**
   * Worker threads for bulk work (more than one batch of images, more than 8 batches of texts), each with
   * its own backend and copy of the model (src/parallel/). Default: one per core on wasm and cpu, as many
   * as the available memory holds (about 2.2 × the weights' float32 bytes each; a note says so); 1 (no
   * pool: the work stays in this thread) on tensorflow and webgpu, which parallelize by themselves.
   */
  workers?: number;
  /**
   * wasm's XNNPACK threads per model. Default: every core for this thread's model (one image, a few texts,
   * trace), and cores / workers for each pool worker's.
   */
  threads?: number;
  /** Informational notes (ignored tensors, default config); silent by default. */
  onNote?: (message: string) => void;
  /** Load weights holding NaN/Inf (refused by default); embeddings and scores are still never non-finite. */
  allowNonfinite?: boolean;
  /**
   * Refuse images with more pixels than this, for every image this instance reads (default Pillow's
   * MAX_IMAGE_PIXELS, 89,478,485); a call's own `maxPixels` wins. The CLI's `--max-pixels`.
   */
  maxPixels?: number;
  /**
   * PNG and JPEG decoder for every image this instance reads: 'auto' (sharp, or the pure-JS decoders when
   * sharp cannot load), 'sharp' or 'js' (what the explorer's page uses). The CLI's `--decoder`.
   */
  decoder?: PreprocessOptions['decoder'];
}

export { DEFAULT_TEXT_BATCH, MAX_BATCH, MAX_BATCH_TOKENS } from '../embed/batches.js';
export type { ImageOptions, TextOptions, TraceInputs } from './core.js';
export { DEFAULT_TEMPLATE, fillTemplate } from './templates.js';
export { meanNormalized } from '../embed/embed.js';

/**
 * ClipCore (core.ts: every method, in this thread) plus what needs Node: loading a model directory
 * (or the demo), choosing the backend, and the worker pool that bulk work runs on.
 */
export class BiomedCLIP extends ClipCore {
  /** This thread and the worker pool (runner.ts), started by the first bulk call and kept until `dispose()`. */
  private readonly runners: BatchRunners;

  private constructor(
    parts: CoreParts,
    readonly backend: BackendName,
    readonly parallelism: Parallelism,
  ) {
    super(parts);
    this.runners = new BatchRunners(parts.model, { modelDir: parts.modelDir, backend }, parallelism, parts.onNote);
  }

  /**
   * Loads `dir` (a model directory: model.safetensors, open_clip_config.json, vocab.txt), or `'demo'`: the
   * random-weight demo model, generated on first use, exactly as the CLI's `--model demo`.
   */
  static async load(dir: string, opts: LoadModelOptions = {}): Promise<BiomedCLIP> {
    const cores = availableParallelism();
    const threads = positive('threads', opts.threads);
    const backend = await useBackend(opts.backend, { threads: threads ?? cores });
    const modelDir = dir === 'demo' ? await ensureDemoModel() : dir;
    const model = await loadModel(modelDir, { onNote: opts.onNote, allowNonfinite: opts.allowNonfinite });
    const scale = await readScale(model);
    // os.freemem is Linux's MemAvailable: what can be allocated without swapping.
    const parallelism = resolveParallelism(opts, backend, { cores, freeBytes: freemem(), weightBytes: 4 * model.parameterCount() });
    const parts: CoreParts = {
      model,
      modelDir,
      scale,
      isDemo: isDemoModel(modelDir),
      tokenizer: () => WordPieceTokenizer.fromModelDir(modelDir),
      onNote: opts.onNote,
      imageOptions: { maxPixels: positive('max-pixels', opts.maxPixels), decoder: opts.decoder },
    };
    return new BiomedCLIP(parts, backend, parallelism);
  }

  /**
   * How to run many batches: on the worker pool for `bulk` work when this model has more than one worker
   * (starting the pool on first use), in this thread otherwise.
   */
  override batchRunner(bulk: boolean): Promise<BatchRunner> {
    return this.runners.runner(bulk);
  }

  /**
   * How to explain many pairs (`explainInputs` prepares each): on the worker pool for `bulk` work when this
   * model has more than one worker, in this thread otherwise; the maps are the same either way (tested).
   */
  override explainRunner(bulk: boolean): Promise<ExplainRunner> {
    return this.runners.explainRunner(bulk);
  }

  /** Frees the model and stops the worker pool (a process with a running pool does not exit). */
  override dispose(): void {
    super.dispose();
    this.runners.close();
  }
}
