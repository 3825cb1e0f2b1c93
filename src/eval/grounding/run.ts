/**
 * `biomedclip eval grounding`, end to end: each row's region on the crop (regions.ts), each (row,
 * method) map exactly as `explain --json` gives `image_map` (the model's own `explain`, the same code
 * path and defaults; cached, cache.ts), the maps upsampled to the crop and measured (measures.ts), two
 * baselines that need no model measured the same way, and the summary with intervals (summary.ts).
 * Returns the report object (`--json`, metrics.json) and what the report's files need.
 *
 * Explanations run on the model's explain runner: on the worker pool when it has more than one worker
 * (each worker explains one pair at a time on its own copy of the model), in this thread otherwise. Rows
 * go through src/parallel's pipeline: each is read and preprocessed here while up to `window` are being
 * explained, each map is cached as soon as it arrives, and the rows are taken in CSV order. The methods
 * missing for a row share one call (one forward pass for the attention-based ones); the maps equal one
 * call per method, as `explain` makes, and the pool's equal this thread's (tested).
 */
import * as path from 'node:path';
import { UserError } from '../../errors.js';
import { preprocessImage, resolveDecoder, type PreprocessConfig, type PreprocessOptions } from '../../image/index.js';
import type { Explanation, HostPair, Method } from '../../inspect/explain.js';
import { pipeline } from '../../parallel/pipeline.js';
import { modelInfo, preprocessingInfo, type DescribedModel, type ModelInfo, type PreprocessingInfo } from '../provenance.js';
import { storeModel } from '../store.js';
import { centerGaussianMap, uniformMap } from './baselines.js';
import { contentHash, defaultMapCacheDir, MapCache, mapKey } from './cache.js';
import type { GroundingData, GroundingItem, SkippedRow } from './data.js';
import { measureRow, type GroundingOptions, type RowMeasures } from './measures.js';
import { pointingChance } from './pointing.js';
import type { Region } from './region.js';
import { itemRegion } from './regions.js';
import { groupBreakdown, summarize, type Means, type MethodSummary } from './summary.js';
import { upsampleBilinear } from './upsample.js';

/** The maps that need no model, measured as extra methods: a constant (chance) and a centred prior. */
export const BASELINES = ['uniform', 'center-gaussian'] as const;

/** What grounding needs from a model (the `BiomedCLIP` facade has it). */
export interface ExplainingModel extends DescribedModel {
  readonly modelDir: string;
  /** The TF.js backend the model runs on (part of the cache key: backends differ in the last bits). */
  readonly backend: string;
  readonly config: { readonly preprocess: PreprocessConfig; readonly vision: { readonly imageSize: number; readonly patchSize: number } };
  preprocessOptions(opts?: PreprocessOptions): PreprocessOptions;
  /** The pair as `explain` reads it (preprocessed pixels, token ids), made in this thread. */
  explainInputs(image: string, text: string): Promise<HostPair>;
  /** Where pairs are explained (`explain`'s defaults): the pool for `bulk` work, or this thread. */
  explainRunner(bulk: boolean): Promise<{ window: number; explain(pair: HostPair, methods: readonly Method[]): Promise<Explanation[]> }>;
}

export interface GroundingEvalOptions {
  data: GroundingData;
  methods: Method[];
  measure: GroundingOptions;
  /** Bootstrap resamples (0: no intervals) and their seed. */
  resamples: number;
  seed: number;
  /** The map cache's folder (default: per model under the evaluation cache, cache.ts). */
  cacheDir?: string;
  /** Maps to compute (0: all cached), the cache, and how many are in it at any moment (for Ctrl-C). */
  onStart?: (phase: { total: number; cacheDir: string; committed: () => number }) => void;
  /** After each row's maps are cached: maps done and to do in this run. */
  onProgress?: (done: number, total: number) => void;
  onSkip?: (skipped: SkippedRow) => void;
}

export interface GroundingReport {
  task: 'grounding';
  /** Rows measured (image-text pairs with their regions). */
  n: number;
  /**
   * The pointing accuracy of a point placed uniformly at random: the mean share of the crop within
   * --tolerance of each row's region. What a map with no preference "points" at by chance.
   */
  pointing_chance: number;
  /** Every method, the baselines last: the order of metrics, rows.csv and maps.npy's second axis. */
  methods: string[];
  baselines: string[];
  metrics: Record<string, MethodSummary>;
  /** What the breakdown groups by, and per group its rows and each method's means. */
  group_by: 'group' | 'text';
  groups: Record<string, { n: number; methods: Record<string, Means> }>;
  options: { tolerance: number; threshold: number; crop: number; grid: [number, number]; upsampling: string; explain: string };
  bootstrap: { resamples: number; seed: number; level: number } | null;
  model: ModelInfo;
  preprocessing: PreprocessingInfo;
  data: { source: string; form: 'boxes' | 'masks'; rows: number };
  skipped: SkippedRow[];
  cache: { dir: string; maps_computed: number; maps_cached: number };
}

/** One measured row: the item, its region, and per method (report order) its measures and map's logit. */
export interface MeasuredRow {
  item: GroundingItem;
  region: Region;
  measures: RowMeasures[];
  /** The explained logit per model method (null for the baselines). */
  logits: Array<number | null>;
  /** The share of the crop within --tolerance of the region (pointing.ts's pointingChance). */
  chance: number;
}

export interface GroundingRun {
  report: GroundingReport;
  rows: MeasuredRow[];
  /** float32 [rows, methods, grid, grid]: maps.npy. */
  maps: Float32Array;
  grid: number;
  /** The crops of the rows the figures show, by row index. */
  crops: Map<number, Uint8Array>;
  /** Per model method: the rows the figures show, best first, then the worst. */
  figures: Array<{ method: string; best: number[]; worst: number[] }>;
}

/** Rows shown per method and per end (best, worst). */
const FIGURE_ROWS = 3;

export async function evalGrounding(clip: ExplainingModel, opts: GroundingEvalOptions): Promise<GroundingRun> {
  const { data, methods } = opts;
  const size = clip.config.preprocess.imageSize;
  const grid = clip.config.vision.imageSize / clip.config.vision.patchSize;
  const skipped = [...data.skipped];
  const skip = (s: SkippedRow) => {
    skipped.push(s);
    opts.onSkip?.(s);
  };
  data.skipped.forEach((s) => opts.onSkip?.(s));
  const pre = clip.preprocessOptions({});
  const located: Array<{ item: GroundingItem; region: Region }> = [];
  for (const item of data.items) {
    const r = await itemRegion(data.root, item, size, pre);
    if ('error' in r) skip({ lines: item.lines, image: item.image, text: item.text, error: r.error });
    else located.push({ item, region: r.region });
  }

  const model = await storeModel(clip);
  const cacheDir = opts.cacheDir ?? defaultMapCacheDir(model.fingerprint);
  const cache = await MapCache.open(cacheDir, grid, grid);
  let computed: Map<GroundingItem, Explained>;
  try {
    const keys = await mapKeys(located, data.root, methods, {
      fingerprint: model.fingerprint,
      decoder: await resolveDecoder(pre.decoder),
      backend: clip.backend,
    });
    const rows = located.map(({ item }) => ({ item, keys: keys.get(item)!, missing: methods.filter((_, k) => !cache.has(keys.get(item)![k])) }));
    const total = rows.reduce((s, r) => s + r.missing.length, 0);
    opts.onStart?.({ total, cacheDir, committed: () => cache.added });
    computed = await explainRows(clip, cache, {
      root: data.root,
      methods,
      rows,
      onSkip: ({ item }, error) => skip({ lines: item.lines, image: item.image, text: item.text, error }),
      onMaps: () => opts.onProgress?.(cache.added, total),
    });
  } finally {
    await cache.close();
  }
  const kept = located.filter(({ item }) => {
    const maps = computed.get(item);
    const bad = maps?.findIndex((m) => !m.map.every(Number.isFinite)) ?? -1;
    // A map holding NaN or Inf has no maximum, ranking or normalisation: the row cannot be scored.
    if (bad >= 0) skip({ lines: item.lines, image: item.image, text: item.text, error: `the ${methods[bad]} map holds NaN or Inf; the row cannot be scored` });
    return maps !== undefined && bad < 0;
  });
  if (kept.length === 0)
    throw new UserError(`${data.source}: none of the ${data.items.length + data.skipped.length} rows could be scored; see the skipped rows above`);
  const measured = measure(kept, computed, methods, grid, opts.measure);
  const names = [...methods, ...BASELINES];
  const boot = opts.resamples > 0 ? { resamples: opts.resamples, seed: opts.seed } : null;
  const report: GroundingReport = {
    task: 'grounding',
    n: kept.length,
    pointing_chance: measured.rows.reduce((sum, r) => sum + r.chance, 0) / kept.length,
    methods: names,
    baselines: [...BASELINES],
    metrics: Object.fromEntries(
      names.map((name, k) => [
        name,
        summarize(
          measured.rows.map((r) => r.measures[k]),
          boot,
        ),
      ]),
    ),
    group_by: data.groupColumn ? 'group' : 'text',
    groups: groupBreakdown(
      kept.map(({ item }) => item.group),
      names,
      names.map((_, k) => measured.rows.map((r) => r.measures[k])),
    ),
    options: {
      tolerance: opts.measure.tolerance,
      threshold: opts.measure.threshold,
      crop: size,
      grid: [grid, grid],
      upsampling: "bilinear, align_corners=False (PyTorch's F.interpolate)",
      explain: 'the defaults of `biomedclip explain` for each method',
    },
    bootstrap: boot && { ...boot, level: 0.95 },
    model: modelInfo(clip, model),
    preprocessing: await preprocessingInfo(clip),
    data: { source: data.source, form: data.form, rows: data.items.length + data.skipped.length },
    skipped: skipped.sort((a, b) => a.lines[0] - b.lines[0]),
    cache: { dir: cacheDir, maps_computed: cache.added, maps_cached: cache.hits },
  };
  const figures = figureRows(measured.rows, methods);
  const crops = new Map<number, Uint8Array>();
  for (const row of new Set(figures.flatMap((f) => [...f.best, ...f.worst]))) {
    crops.set(row, (await preprocessImage(path.resolve(data.root, measured.rows[row].item.image), clip.config.preprocess, pre)).crop);
  }
  return { report, rows: measured.rows, maps: measured.maps, grid, crops, figures };
}

/** A row's maps per model method, in `methods` order, with the logit each explained. */
type Explained = Array<{ map: Float32Array; logit: number }>;

/** Every (row, method)'s cache key; each image's bytes are hashed once. */
async function mapKeys(
  located: Array<{ item: GroundingItem }>,
  root: string,
  methods: Method[],
  common: { fingerprint: string; decoder: string; backend: string },
): Promise<Map<GroundingItem, string[]>> {
  const hashes = new Map<string, string>();
  const keys = new Map<GroundingItem, string[]>();
  for (const { item } of located) {
    if (!hashes.has(item.image)) hashes.set(item.image, await contentHash(path.resolve(root, item.image)));
    const image = hashes.get(item.image)!;
    keys.set(
      item,
      methods.map((method) => mapKey({ ...common, image, text: item.text, method, options: '{}' })),
    );
  }
  return keys;
}

/** One row's maps to get: its item, its cache keys (in `methods` order) and the methods not cached. */
interface Row {
  item: GroundingItem;
  keys: string[];
  missing: Method[];
}

/**
 * Every row's maps, by item: from the cache, the `missing` methods computed in one `explain` call per row
 * on the runner, `window` rows in flight (the next rows read and preprocessed here meanwhile). Each fresh
 * map is cached as it arrives, whatever the order (so a kill loses only what was in flight), then
 * `onMaps` runs. Rows are taken in CSV order; `onSkip` gets those that cannot be scored, with the
 * reason: an image the pipeline cannot decode is a UserError, as in `eval classify`.
 */
async function explainRows(
  clip: ExplainingModel,
  cache: MapCache,
  job: { root: string; methods: Method[]; rows: Row[]; onSkip: (row: Row, error: string) => void; onMaps: () => void },
): Promise<Map<GroundingItem, Explained>> {
  const { methods } = job;
  const runner = await clip.explainRunner(job.rows.filter((r) => r.missing.length > 0).length > 1);
  const out = new Map<GroundingItem, Explained>();
  // Once the run has failed, maps still arriving from the pool are not written: the cache is closing.
  let stopped = false;
  const explainRow = async (row: Row, pair: HostPair): Promise<Map<Method, { map: Float32Array; logit: number }>> => {
    const explanations = await runner.explain(pair, row.missing);
    const fresh = new Map<Method, { map: Float32Array; logit: number }>();
    for (const e of explanations) {
      if (stopped) break;
      await cache.put(row.keys[methods.indexOf(e.method)], e.imageMap, e.logit);
      fresh.set(e.method, { map: e.imageMap, logit: e.logit });
    }
    if (!stopped) job.onMaps();
    return fresh;
  };
  try {
    await pipeline(job.rows, runner.window, {
      prepare: async (row) => {
        if (row.missing.length === 0) return { row };
        return { row, pair: await userErrorAsReason(() => clip.explainInputs(path.resolve(job.root, row.item.image), row.item.text)) };
      },
      run: async ({ row, pair }) => (pair === undefined || 'error' in pair ? pair : userErrorAsReason(() => explainRow(row, pair))),
      consume: (fresh, row) => {
        if (fresh !== undefined && 'error' in fresh) return job.onSkip(row, fresh.error);
        const maps = methods.map((method, k) => {
          const found = fresh?.get(method) ?? cache.get(row.keys[k]);
          if (found === undefined) throw new Error(`grounding: no map for ${row.item.image} / ${method} after explaining it`);
          return found;
        });
        out.set(row.item, maps);
      },
    });
  } finally {
    stopped = true;
  }
  return out;
}

/** `fn`'s value, or its UserError's message as the row's skip reason; other errors stop the run. */
async function userErrorAsReason<T>(fn: () => Promise<T>): Promise<T | { error: string }> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof UserError) return { error: err.message };
    throw err;
  }
}

/** Every row's measures per method (baselines last) and the maps.npy array. */
function measure(
  kept: Array<{ item: GroundingItem; region: Region }>,
  computed: Map<GroundingItem, Explained>,
  methods: Method[],
  grid: number,
  opts: GroundingOptions,
): { rows: MeasuredRow[]; maps: Float32Array } {
  const size = kept[0].region.size;
  const cells = grid * grid;
  const count = methods.length + BASELINES.length;
  const baselines = [uniformMap(grid), centerGaussianMap(grid)];
  const upBaselines = baselines.map((b) => upsampleBilinear(b, grid, grid, size));
  const maps = new Float32Array(kept.length * count * cells);
  const rows = kept.map(({ item, region }, i) => {
    const explained = computed.get(item)!;
    const all = [...explained.map((e) => e.map), ...baselines];
    all.forEach((m, k) => maps.set(m, (i * count + k) * cells));
    const measures = [
      ...explained.map((e) => measureRow(upsampleBilinear(e.map, grid, grid, size), region, opts)),
      ...upBaselines.map((up) => measureRow(up, region, opts)),
    ];
    const logits = [...explained.map((e) => e.logit), ...BASELINES.map(() => null)];
    return { item, region, measures, logits, chance: pointingChance(region, opts.tolerance) };
  });
  return { rows, maps };
}

/**
 * The rows each model method's figure shows: the best and the worst by AUROC (ties by CNR; rows where
 * AUROC is undefined are neither).
 */
function figureRows(rows: MeasuredRow[], methods: Method[]): GroundingRun['figures'] {
  return methods.map((method, k) => {
    const scored = rows
      .map((r, i) => ({ i, auroc: r.measures[k].auroc, cnr: r.measures[k].cnr ?? 0 }))
      .filter((r): r is { i: number; auroc: number; cnr: number } => r.auroc !== null)
      .sort((a, b) => b.auroc - a.auroc || b.cnr - a.cnr || a.i - b.i);
    const best = scored.slice(0, Math.min(FIGURE_ROWS, Math.ceil(scored.length / 2))).map((r) => r.i);
    const worst = scored
      .slice(best.length)
      .slice(-FIGURE_ROWS)
      .reverse()
      .map((r) => r.i);
    return { method, best, worst };
  });
}
