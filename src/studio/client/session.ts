/**
 * The model in the page: fetch a model directory's files (fetch-model.ts), choose a backend, build the
 * model from the bytes with the same loader as Node (load-weights.ts: the same strict checks, the same
 * per-backend layout step) and wrap it in ClipCore, the same class the CLI's commands run. So the page
 * computes what `biomedclip embed` and `classify` compute, to float precision.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ClipCore } from '../../api/core.js';
import { usePageBackend, type PageBackend, type PageBackendInfo } from '../../backends/client/page.js';
import { isDemoConfig } from '../../demo/marker.js';
import { DEFAULT_CONFIG, parseOpenClipConfig, type ClipConfig } from '../../model/config.js';
import { loadWeights } from '../../model/load-weights.js';
import { WordPieceTokenizer } from '../../tokenizer/index.js';
import { SafetensorsFile } from '../../weights/reader.js';
import { fetchModel, type FetchProgress } from './fetch-model.js';

export interface Session {
  clip: ClipCore;
  config: ClipConfig;
  backend: PageBackendInfo;
  /** Bytes of the weights file, and whether they came from the page's cache. */
  weightBytes: number;
  cached: boolean;
  /** Milliseconds: fetching (or reading the cache), and building the model on the backend. */
  timing: { fetch: number; build: number };
}

export interface SessionOptions {
  /** URL folder of the model directory (ends in /). */
  modelBase: string;
  /** URL folder of tfjs-backend-wasm's binaries. */
  wasmBase: string;
  backend: PageBackend | 'auto';
  onProgress: FetchProgress;
  onNote?: (message: string) => void;
}

export async function openSession(opts: SessionOptions): Promise<Session> {
  const backend = await usePageBackend(opts.backend, opts.wasmBase);
  const t0 = performance.now();
  const files = await fetchModel(opts.modelBase, opts.onProgress);
  const t1 = performance.now();
  const config = files.config === undefined ? DEFAULT_CONFIG : parseOpenClipConfig(files.config, `${opts.modelBase}open_clip_config.json`);
  const weights = await SafetensorsFile.fromBytes(`${opts.modelBase}model.safetensors`, files.weights);
  let model;
  try {
    model = await loadWeights(weights, config, { onNote: opts.onNote });
  } finally {
    await weights.close();
  }
  const { vocab } = files; // the closure below must not keep `files`, and with it the weights' bytes, alive
  const clip = await ClipCore.create({
    model,
    modelDir: opts.modelBase,
    isDemo: isDemoConfig(files.config),
    tokenizer: () => WordPieceTokenizer.fromVocabText(vocab, `${opts.modelBase}vocab.txt`),
    onNote: opts.onNote,
  });
  return { clip, config, backend, weightBytes: files.weights.length, cached: files.cached, timing: { fetch: t1 - t0, build: performance.now() - t1 } };
}

/** Frees the model's tensors (switching backends or models starts a new session). */
export function closeSession(session: Session): void {
  session.clip.dispose();
  tf.disposeVariables();
}
