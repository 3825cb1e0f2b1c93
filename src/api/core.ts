/**
 * BiomedCLIP on one loaded model, in this thread: embed images and texts, classify zero-shot, trace
 * activations, explain a logit. It needs no file system and no threads, so the same code runs in Node
 * (under the facade, biomedclip.ts, which adds loading a directory and the worker pool) and in a web
 * page (the explorer, src/studio/). Inputs are what users have (file paths in Node, encoded bytes, raw
 * pixels, strings); outputs are plain typed arrays, so callers never manage TF.js memory.
 */
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../errors.js';
import { checkImageInput, preprocessImage, type ImageInput, type PreprocessOptions } from '../image/index.js';
import type { BiomedCLIPModel } from '../model/clip.js';
import type { HookOptions } from '../model/hooks.js';
import type { HostTensor } from '../host-tensor.js';
import { explain, explainHost, type ExplainOptions, type Explanation, type HostPair, type Method } from '../inspect/explain.js';
import type { Encoding, WordPieceTokenizer } from '../tokenizer/index.js';
import { chunks, pipeline } from '../parallel/pipeline.js';
import { checkedRows, embedIdBatch, embedPixelBatch, meanNormalized, type Embedding, type HostIds } from '../embed/embed.js';
import { DEFAULT_TEMPLATE, fillTemplate } from './templates.js';
import { batchSize, DEFAULT_TEXT_BATCH, idsTensor, inputName, rowNames, textBatches, textName } from '../embed/batches.js';
import { disposeResult, forward, resultTensors } from './forward.js';
import { LabelEmbeddingCache } from './label-cache.js';
import { disposePair, hostPair, pairInputs } from './pair.js';
import { hostHead, rankLabels, type LabelScore } from './scores.js';

export interface TextOptions {
  /** 'longest' (default: same CLS features, less compute) or a fixed length such as open_clip's 256. */
  padTo?: number | 'longest';
  /**
   * Texts per forward pass (default 32, at most MAX_BATCH), fewer when they are long: a batch also holds at
   * most MAX_BATCH_TOKENS tokens once padded. Bounds memory whatever the number and length of the texts.
   */
  batchSize?: number;
}

/** What a caller running many batches itself (`index`) needs: a runner and how many batches to keep going. */
export interface BatchRunner {
  /** Batches to keep in flight: 1 in this thread, enough to keep every pool worker busy otherwise. */
  window: number;
  /** `names` name the inputs in the error that a non-finite embedding raises. */
  embedPixels(px: HostTensor, names?: string[]): Promise<Embedding[]>;
  embedIds(ids: HostIds, names?: string[]): Promise<Embedding[]>;
}

/**
 * What a caller explaining many pairs itself (`eval grounding`) needs: how many pairs to keep going, and
 * `explain` on a pair already preprocessed (`explainInputs`), on a pool worker or in this thread.
 */
export interface ExplainRunner {
  /** Pairs to keep in flight: 1 in this thread, enough to keep every pool worker busy otherwise. */
  window: number;
  /** `explain`'s maps for the pair; its buffers may be transferred to a worker (do not reuse them). */
  explain(pair: HostPair, methods: readonly Method[], opts?: ExplainOptions): Promise<Explanation[]>;
}

/** Label prompts embedded per step of `labelEmbeddings`: only their template embeddings are held at once. */
const LABEL_STEP_TEXTS = 1024;

export interface ImageOptions extends PreprocessOptions {
  /** Images per forward pass; bounds memory for long lists (default 8, at most MAX_BATCH). */
  batchSize?: number;
  /** Called after each batch (on any worker) with the number of images done. */
  onProgress?: (done: number, total: number) => void;
}

export interface TraceInputs {
  images?: ImageInput[];
  texts?: string[];
  /** Raw model inputs instead of images/texts: [B, 3, S, S] pixels and [N, T] ids. */
  pixelValues?: HostTensor;
  inputIds?: { shape: number[]; data: Int32Array };
}

/**
 * A text list needs more than this many batches before it goes to the pool: a few batches of labels take
 * less time than workers take to load their copies of the model.
 */
const TEXT_POOL_BATCHES = 8;

/** What a ClipCore is made of; `ClipCore.create` reads the temperature itself. */
export interface CoreParts {
  model: BiomedCLIPModel;
  /** Where the model came from: its directory in Node, its URL in a page. Named in errors. */
  modelDir: string;
  /** exp(logit_scale), read from the backend once, not once per score; checked by the `logitScale` getter. */
  scale: number;
  /** True for the random-weight demo model (`--model demo`): its outputs carry no meaning. */
  isDemo: boolean;
  /** The tokenizer, made on first use (image-only work needs no vocabulary). */
  tokenizer: () => WordPieceTokenizer;
  onNote?: (message: string) => void;
  /** Preprocessing options every image read by this instance gets, unless a call gives its own. */
  imageOptions?: Pick<PreprocessOptions, 'maxPixels' | 'decoder'>;
}

export class ClipCore {
  private tokenizerCache: WordPieceTokenizer | undefined;
  /** Zero-shot label embeddings by label set + templates: classifying many images re-embeds no text. */
  private readonly labelCache = new LabelEmbeddingCache(16);
  readonly model: BiomedCLIPModel;
  readonly modelDir: string;
  readonly isDemo: boolean;
  readonly imageOptions: Pick<PreprocessOptions, 'maxPixels' | 'decoder'>;
  protected readonly onNote?: (message: string) => void;

  protected constructor(private readonly parts: CoreParts) {
    this.model = parts.model;
    this.modelDir = parts.modelDir;
    this.isDemo = parts.isDemo;
    this.onNote = parts.onNote;
    this.imageOptions = parts.imageOptions ?? {};
  }

  /** A core over a loaded model (the page's way in; Node users call `BiomedCLIP.load`). */
  static async create(parts: Omit<CoreParts, 'scale'>): Promise<ClipCore> {
    return new ClipCore({ ...parts, scale: await readScale(parts.model) });
  }

  /** The WordPiece tokenizer (made on first use: image-only work needs no vocabulary). */
  get tokenizer(): WordPieceTokenizer {
    this.tokenizerCache ??= this.parts.tokenizer();
    return this.tokenizerCache;
  }

  /** A call's preprocessing options over the instance's (`LoadModelOptions.maxPixels` and `.decoder`). */
  preprocessOptions(opts: PreprocessOptions = {}): PreprocessOptions {
    return { ...opts, maxPixels: opts.maxPixels ?? this.imageOptions.maxPixels, decoder: opts.decoder ?? this.imageOptions.decoder };
  }

  /** exp(logit_scale), the temperature of the logits; refused when it is not finite in float32, as open_clip computes it. */
  get logitScale(): number {
    if (!Number.isFinite(Math.fround(this.parts.scale))) {
      throw new UserError(
        `${this.modelDir}: exp(logit_scale) = ${this.parts.scale} is not a finite float32 temperature, so every logit would be too; the weights are damaged: download or convert them again`,
      );
    }
    return this.parts.scale;
  }

  get config() {
    return this.model.config;
  }

  /**
   * Reads every image and checks its header (format, size, pixel limit) without decoding it; throws the
   * first bad one's UserError. Run before long work so that no image fails after the others were done.
   */
  async checkImages(images: readonly ImageInput[], opts: PreprocessOptions = {}): Promise<void> {
    for (const image of images) await checkImageInput(image, this.preprocessOptions(opts));
  }

  /** Preprocesses images exactly like open_clip's eval transform: [B, 3, S, S] float32. */
  async pixelValues(images: ImageInput[], opts: PreprocessOptions = {}): Promise<HostTensor> {
    const s = this.config.preprocess.imageSize;
    const data = new Float32Array(images.length * 3 * s * s);
    for (let i = 0; i < images.length; i++) {
      const p = await preprocessImage(images[i], this.config.preprocess, this.preprocessOptions(opts));
      data.set(p.pixelValues, i * 3 * s * s);
    }
    return { shape: [images.length, 3, s, s], data };
  }

  /** Token ids for `texts`, padded to the longest (default) or to a fixed length. */
  tokenize(texts: string[], opts: TextOptions = {}): Encoding {
    const contextLength = this.config.text.contextLength;
    const padTo = opts.padTo ?? 'longest';
    if (typeof padTo === 'number' && (padTo < 2 || padTo > this.config.text.maxPositions)) {
      throw new UserError(`--pad-to ${padTo}: must be between 2 and ${this.config.text.maxPositions}`, 2);
    }
    return this.tokenizer.encode(texts, { contextLength: typeof padTo === 'number' ? padTo : contextLength, padTo });
  }

  /**
   * Embeddings of `images`, in input order, `batchSize` at a time. With more than one batch the batches run
   * on the worker pool (every core by default), decoded here while the workers compute.
   */
  async encodeImages(images: ImageInput[], opts: ImageOptions = {}): Promise<Embedding[]> {
    const batches = chunks(
      images.map((image, i) => ({ image, name: inputName(image, i) })),
      batchSize(opts.batchSize, 8),
    );
    const runner = await this.batchRunner(batches.length > 1);
    const out: Embedding[] = [];
    let done = 0;
    await pipeline(batches, runner.window, {
      prepare: async (batch) => ({
        px: await this.pixelValues(
          batch.map((b) => b.image),
          opts,
        ),
        names: batch.map((b) => b.name),
      }),
      run: ({ px, names }) =>
        runner.embedPixels(px, names).then((rows) => {
          opts.onProgress?.((done += rows.length), images.length);
          return rows;
        }),
      consume: (rows) => void out.push(...rows),
    });
    return out;
  }

  /**
   * Embeds texts in batches of bounded size and length, so memory does not grow with their number: texts
   * are grouped by token count (each batch is padded to its longest, so little compute goes to padding)
   * and results come back in the order given; more than TEXT_POOL_BATCHES batches run on the worker pool.
   * Like open_clip, a text longer than the context length (256 tokens for BiomedCLIP, or `padTo`) is
   * truncated to it, keeping [SEP]; a note says so.
   */
  async encodeTexts(texts: string[], opts: TextOptions = {}): Promise<Embedding[]> {
    const batches = this.textBatches(texts, opts.padTo ?? 'longest', batchSize(opts.batchSize, DEFAULT_TEXT_BATCH));
    const runner = await this.batchRunner(batches.length > TEXT_POOL_BATCHES);
    const out = new Array<Embedding>(texts.length);
    await pipeline(batches, runner.window, {
      prepare: async (rows) => ({
        ids: idsTensor(
          this.tokenize(
            rows.map((i) => texts[i]),
            opts,
          ).inputIds,
        ),
        names: rows.map((i) => textName(texts[i])),
      }),
      run: ({ ids, names }) => runner.embedIds(ids, names),
      consume: (emb, rows) => rows.forEach((i, k) => (out[i] = emb[k])),
    });
    return out;
  }

  /** Indices of `texts` in bounded batches (batches.ts), with a note when some will be truncated. */
  private textBatches(texts: string[], padTo: number | 'longest', size: number): number[][] {
    const context = typeof padTo === 'number' ? padTo : this.config.text.contextLength;
    // Token counts up to the position table, to tell truncated texts (and sort) without padding anything.
    const lengths = texts.map((t) => this.tokenizer.encode([t], { contextLength: this.config.text.maxPositions, padTo: 'longest' }).inputIds[0].length);
    const truncated = lengths.filter((n) => n > context).length;
    if (truncated > 0) this.onNote?.(`${truncated} text(s) longer than the ${context}-token context truncated to it, as open_clip does`);
    return textBatches(lengths, padTo, context, size);
  }

  /**
   * Features of already preprocessed pixels [B, 3, S, S], in this thread. `names` (file names, say) name the
   * input whose features come out non-finite, which is an error: no embedding with NaN or Inf leaves this class.
   */
  async embedPixels(px: HostTensor, names?: string[]): Promise<Embedding[]> {
    return checkedRows(await embedPixelBatch(this.model, px), names ?? rowNames('image', px.shape[0]));
  }

  /** Features of already tokenized ids (rows of equal length, [PAD] = 0), in this thread; `names` as for embedPixels. */
  async embedIds(ids: number[][], names?: string[]): Promise<Embedding[]> {
    return checkedRows(await embedIdBatch(this.model, idsTensor(ids)), names ?? rowNames('text', ids.length));
  }

  /**
   * How to run many batches: here, always in this thread (one batch in flight). The Node facade
   * (biomedclip.ts) runs bulk work on its worker pool instead.
   */
  async batchRunner(_bulk: boolean): Promise<BatchRunner> {
    return {
      window: 1,
      embedPixels: (px, names) => this.embedPixels(px, names),
      embedIds: async (ids, names) => checkedRows(await embedIdBatch(this.model, ids), names ?? rowNames('text', ids.shape[0])),
    };
  }

  /**
   * Zero-shot classification as open_clip does it. With several templates each label's text embedding is
   * the mean of its normalized template embeddings, renormalized (the CLIP paper's prompt ensembling).
   */
  async classify(images: ImageInput[], labels: string[], opts: { templates?: string[] } & ImageOptions = {}): Promise<LabelScore[][]> {
    if (labels.length === 0) throw new UserError('no labels given; pass --labels "a,b,c"');
    const templates = opts.templates ?? [DEFAULT_TEMPLATE];
    const labelEmb = await this.labelCache.get(this, labels, templates);
    const imageEmb = await this.encodeImages(images, opts);
    return this.scoreLabels(
      imageEmb.map((e) => e.embedding),
      labelEmb,
      labels,
    );
  }

  /**
   * One normalized embedding per label (template ensemble), streamed: labels are embedded a step at a time
   * and only each label's final embedding is kept, so memory holds one step's prompts, not every label's.
   */
  async labelEmbeddings(labels: string[], templates: string[]): Promise<Float32Array[]> {
    const step = Math.max(1, Math.floor(LABEL_STEP_TEXTS / templates.length));
    const out: Float32Array[] = [];
    for (let start = 0; start < labels.length; start += step) {
      const chunk = labels.slice(start, start + step);
      const emb = await this.encodeTexts(chunk.flatMap((label) => templates.map((t) => fillTemplate(t, label))));
      chunk.forEach((_, i) => out.push(meanNormalized(emb.slice(i * templates.length, (i + 1) * templates.length).map((e) => e.embedding))));
    }
    return out;
  }

  /** For each image: the CLIP head's logits against every label and their softmax, sorted by probability. */
  async scoreLabels(imageEmbeddings: Float32Array[], labelEmbeddings: Float32Array[], labels: string[]): Promise<LabelScore[][]> {
    const { logits, probs } = await this.head(imageEmbeddings, labelEmbeddings, true);
    return rankLabels(logits, probs!, labels);
  }

  /** logits_per_image [images][texts] = exp(logit_scale) · cosine. */
  async similarity(images: ImageInput[], texts: string[]): Promise<number[][]> {
    const img = await this.encodeImages(images);
    const txt = await this.encodeTexts(texts);
    return (
      await this.head(
        img.map((e) => e.features),
        txt.map((e) => e.features),
        false,
      )
    ).logits;
  }

  /** The model's CLIP head on host vectors (scores.ts): [A, B] logits, and their softmax over B if asked. */
  private head(a: Float32Array[], b: Float32Array[], withProbs: boolean): Promise<{ logits: number[][]; probs?: number[][] }> {
    if (a.length > 0 && b.length > 0) void this.logitScale; // refuses a temperature that is not finite in float32: every logit would be too
    return hostHead(a, b, this.model.logit_scale, withProbs);
  }

  /**
   * Runs the given inputs with hooks and returns every captured activation (hook name → tensor), plus
   * `inputs.*` and `outputs.*`, as host arrays. `capture` takes globs (`visual.trunk.blocks.*.attn.probs`).
   */
  async trace(inputs: TraceInputs, opts: TextOptions & PreprocessOptions & HookOptions = {}): Promise<Map<string, HostTensor>> {
    const px = inputs.pixelValues ?? (inputs.images?.length ? await this.pixelValues(inputs.images, opts) : undefined);
    const ids = inputs.inputIds ?? (inputs.texts?.length ? idsTensor(this.tokenize(inputs.texts, opts).inputIds) : undefined);
    const pixelValues = px ? tf.tensor4d(px.data, px.shape as [number, number, number, number]) : undefined;
    const inputIds = ids ? tf.tensor2d(ids.data, ids.shape as [number, number], 'int32') : undefined;
    const result = forward(this.model, { pixelValues, inputIds }, { capture: opts.capture ?? ['*'], edits: opts.edits });
    try {
      const out = new Map<string, HostTensor>();
      if (px) out.set('inputs.pixel_values', px);
      if (ids) out.set('inputs.input_ids', { shape: ids.shape, data: Float32Array.from(ids.data) });
      for (const [name, t] of resultTensors(result)) out.set(name, { shape: t.shape, data: (await t.data()) as Float32Array });
      return out;
    } finally {
      disposeResult(result);
      pixelValues?.dispose();
      inputIds?.dispose();
    }
  }

  /**
   * Explains the logit of one image-text pair with each method (src/inspect/, docs/explain.md); also
   * returns the text's WordPieces and the crop the model saw, for pictures.
   */
  async explain(
    image: ImageInput,
    text: string,
    methods: readonly Method[],
    opts: ExplainOptions & PreprocessOptions = {},
  ): Promise<{ explanations: Explanation[]; tokens: string[]; crop: Uint8Array }> {
    const pair = await pairInputs(this, image, text, opts);
    try {
      return { explanations: await explain(this.model, pair, methods, opts), tokens: pair.tokens, crop: pair.crop };
    } finally {
      disposePair(pair);
    }
  }

  /** One pair as host arrays, preprocessed and tokenized exactly as `explain` does it, for an ExplainRunner. */
  explainInputs(image: ImageInput, text: string, opts: PreprocessOptions = {}): Promise<HostPair> {
    return hostPair(this, image, text, opts);
  }

  /**
   * How to explain many pairs: here, always in this thread (one pair in flight). The Node facade
   * (biomedclip.ts) runs bulk work on its worker pool instead.
   */
  async explainRunner(_bulk: boolean): Promise<ExplainRunner> {
    return { window: 1, explain: (pair, methods, opts) => explainHost(this.model, pair, methods, opts) };
  }

  /** Frees the model's weights. */
  dispose(): void {
    this.model.dispose();
  }
}

/** exp(logit_scale) of a loaded model, read asynchronously (webgpu cannot read synchronously). */
export async function readScale(model: BiomedCLIPModel): Promise<number> {
  return Math.exp((await model.logit_scale.data())[0]);
}
