/**
 * `biomedclip eval retrieval`, end to end, following the paper's protocol: embed every image and caption
 * of an `image,caption` CSV (through the cache), then rank, for each image, all captions of the set by
 * cosine similarity (image→text), and for each caption all images (text→image). Recall@K and the median
 * rank of the correct match are reported both ways.
 *
 * An image listed on several rows is one candidate (and one query) whose correct captions are all of its
 * rows'; identical caption texts are one candidate. Each row is one text→image query.
 */
import { UserError } from '../errors.js';
import type { SkippedFile } from '../retrieval/index-store.js';
import { bootstrap, type BootstrapResult } from './bootstrap.js';
import type { CaptionData } from './dataset.js';
import { modelInfo, preprocessingInfo, type DescribedModel, type ModelInfo, type PreprocessingInfo } from './provenance.js';
import { medianRank, recallAtK, retrievalRanks } from './ranks.js';
import { defaultCacheDir, imageEmbeddings, storeModel, textEmbeddings, type CachingModel, type StoreProgress } from './store.js';

export interface RetrievalEvalOptions extends StoreProgress {
  /** The image-caption pairs (`loadCaptionData`), read and checked before the model is loaded. */
  data: CaptionData;
  cacheDir?: string;
  /** The K of Recall@K (the paper: 1, 5, 10). */
  ks: number[];
  resamples: number;
  seed: number;
}

export type DirectionMetrics = Record<string, number> & { queries: number; median_rank: number };

export interface RetrievalReport {
  task: 'cross-modal retrieval';
  /** Image-caption rows evaluated. */
  n: number;
  images: number;
  captions: number;
  image_to_text: DirectionMetrics;
  text_to_image: DirectionMetrics;
  ci95: BootstrapResult['ci'] | null;
  bootstrap: Omit<BootstrapResult, 'ci'> | null;
  model: ModelInfo;
  preprocessing: PreprocessingInfo;
  data: { source: string };
  skipped: SkippedFile[];
  cache: { dir: string; images_embedded: number; images_cached: number; texts_embedded: number; texts_cached: number };
}

/** What retrieval evaluation needs from a model (the `BiomedCLIP` facade has it): the cache's embeddings and provenance. */
export type RetrievalModel = CachingModel & DescribedModel;

export interface RetrievalRun {
  report: RetrievalReport;
  /** Every query's rank: image→text per image, text→image per row. */
  ranks: Array<{ direction: 'image_to_text' | 'text_to_image'; query: string; rank: number }>;
}

export async function evalRetrieval(clip: RetrievalModel, opts: RetrievalEvalOptions): Promise<RetrievalRun> {
  const data = opts.data;
  const model = await storeModel(clip);
  const cacheDir = opts.cacheDir ?? defaultCacheDir(data.root, model);
  const texts = await textEmbeddings(
    clip,
    cacheDir,
    data.pairs.map((p) => p.caption),
    opts,
  );
  const images = await imageEmbeddings(
    clip,
    cacheDir,
    data.root,
    data.pairs.map((p) => p.path),
    opts,
  );
  const pairs = data.pairs.filter((p) => images.embeddings.has(p.path));
  if (pairs.length === 0) throw new UserError(`${data.source}: none of the images could be read; see the skipped files above`);

  const imageIds = firstSeen(pairs.map((p) => p.path));
  const captionIds = firstSeen(pairs.map((p) => p.caption));
  const dim = clip.config.embedDim;
  const imageRows = rows(
    [...imageIds.keys()].map((p) => images.embeddings.get(p) as Float32Array),
    dim,
  );
  const captionRows = rows(
    [...captionIds.keys()].map((c) => texts.embeddings.get(c) as Float32Array),
    dim,
  );
  const captionsOf: number[][] = Array.from({ length: imageIds.size }, () => []);
  for (const p of pairs) captionsOf[imageIds.get(p.path) as number].push(captionIds.get(p.caption) as number);

  const i2t = await retrievalRanks({ queries: imageRows, candidates: captionRows, dim, positives: captionsOf.map((c) => [...new Set(c)]) });
  const rowQueries = rows(
    pairs.map((p) => texts.embeddings.get(p.caption) as Float32Array),
    dim,
  );
  const t2i = await retrievalRanks({ queries: rowQueries, candidates: imageRows, dim, positives: pairs.map((p) => [imageIds.get(p.path) as number]) });

  const summary = (ranks: Int32Array): DirectionMetrics => {
    const out: Record<string, number> = { queries: ranks.length };
    for (const k of opts.ks) out[`recall@${k}`] = recallAtK(ranks, k);
    out.median_rank = medianRank(ranks);
    return out as DirectionMetrics;
  };
  const boot = opts.resamples > 0 ? resampleBoth(i2t, t2i, opts) : null;
  const report: RetrievalReport = {
    task: 'cross-modal retrieval',
    n: pairs.length,
    images: imageIds.size,
    captions: captionIds.size,
    image_to_text: summary(i2t),
    text_to_image: summary(t2i),
    ci95: boot?.ci ?? null,
    bootstrap: boot && { resamples: boot.resamples, seed: boot.seed, level: boot.level, valid: boot.valid },
    model: modelInfo(clip, model),
    preprocessing: await preprocessingInfo(clip),
    data: { source: data.source },
    skipped: images.skipped,
    cache: { dir: cacheDir, images_embedded: images.embedded, images_cached: images.cached, texts_embedded: texts.embedded, texts_cached: texts.cached },
  };
  const ranks = [
    ...[...imageIds.keys()].map((query, i) => ({ direction: 'image_to_text' as const, query, rank: i2t[i] })),
    ...pairs.map((p, i) => ({ direction: 'text_to_image' as const, query: p.caption, rank: t2i[i] })),
  ];
  return { report, ranks };
}

/** Intervals for Recall@K and the median rank: each direction's queries resampled, candidates fixed. */
function resampleBoth(i2t: Int32Array, t2i: Int32Array, opts: RetrievalEvalOptions): BootstrapResult {
  const both = (
    [
      ['image_to_text', i2t],
      ['text_to_image', t2i],
    ] as const
  ).map(([name, ranks]) =>
    bootstrap(ranks.length, { resamples: opts.resamples, seed: opts.seed }, (rows) => {
      const r = Int32Array.from(rows, (x) => ranks[x]);
      const out: Record<string, number> = {};
      for (const k of opts.ks) out[`${name}.recall@${k}`] = recallAtK(r, k);
      out[`${name}.median_rank`] = medianRank(r);
      return out;
    }),
  );
  return { ...both[0], ci: { ...both[0].ci, ...both[1].ci }, valid: { ...both[0].valid, ...both[1].valid } };
}

/** value → index of its first occurrence, in order of first occurrence. */
function firstSeen(values: string[]): Map<string, number> {
  const ids = new Map<string, number>();
  for (const v of values) if (!ids.has(v)) ids.set(v, ids.size);
  return ids;
}

function rows(vectors: Float32Array[], dim: number): Float32Array {
  const out = new Float32Array(vectors.length * dim);
  vectors.forEach((v, i) => out.set(v, i * dim));
  return out;
}
