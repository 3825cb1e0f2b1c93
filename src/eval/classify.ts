/**
 * `biomedclip eval classify`, end to end: read the labelled data, embed the images and the class prompts
 * (through the cache), score zero-shot, and compute every metric with its bootstrap interval. Returns one
 * plain object, the same that `--json` prints and `metrics.json` holds, plus the per-item predictions.
 */
import { bootstrap, type BootstrapResult } from './bootstrap.js';
import { calibration, type Calibration } from './calibration.js';
import type { ClassificationData } from './dataset.js';
import { classificationMetrics, predictedClasses, selectRows, type ClassificationMetrics, type ClassStats, type Predictions } from './metrics.js';
import { classPromptTexts, type Templates } from './prompts.js';
import { modelInfo, preprocessingInfo, type DescribedModel, type ModelInfo, type PreprocessingInfo } from './provenance.js';
import { defaultCacheDir, imageEmbeddings, storeModel, textEmbeddings, type CachingModel, type StoreProgress } from './store.js';
import { classEmbeddings, zeroShotProbabilities } from './zero-shot.js';
import { UserError } from '../errors.js';
import type { SkippedFile } from '../retrieval/index-store.js';

export interface ClassifyEvalOptions extends StoreProgress {
  /** The labelled images (`loadClassificationData`), read and checked before the model is loaded. */
  data: ClassificationData;
  templates: Templates;
  /** Embedding cache folder (default: per dataset and model under the user cache). */
  cacheDir?: string;
  /** The k of the top-k accuracies (k ≥ the number of classes is left out: always 1). */
  topK: number[];
  /** Bootstrap resamples (0: no intervals) and their seed. */
  resamples: number;
  seed: number;
}

/** The report object: `--json` output and metrics.json. */
export interface ClassifyReport extends Omit<ClassificationMetrics, 'per_class' | 'confusion'> {
  task: 'zero-shot classification';
  ece: number;
  per_class: Record<string, ClassStats>;
  confusion_matrix: { rows: 'true class'; columns: 'predicted class'; classes: string[]; counts: number[][] };
  calibration: Calibration['bins'];
  ci95: BootstrapResult['ci'] | null;
  bootstrap: Omit<BootstrapResult, 'ci'> | null;
  model: ModelInfo;
  templates: Templates;
  prompts: Record<string, string[]>;
  preprocessing: PreprocessingInfo;
  data: { source: string; layout: 'folder' | 'csv'; classes: string[] };
  skipped: SkippedFile[];
  cache: { dir: string; images_embedded: number; images_cached: number; texts_embedded: number; texts_cached: number };
}

/**
 * What zero-shot evaluation needs from a model (the `BiomedCLIP` facade has it): the cache's embeddings,
 * provenance, and the temperature exp(logit_scale) of the CLIP head.
 */
export type ClassifyingModel = CachingModel & DescribedModel & { readonly logitScale: number };

export interface ClassifyRun {
  report: ClassifyReport;
  /** Per evaluated image, in data order: path (relative to the data), classes and probabilities. */
  predictions: Array<{ image: string; label: string; predicted: string; probs: number[] }>;
}

export async function evalClassify(clip: ClassifyingModel, opts: ClassifyEvalOptions): Promise<ClassifyRun> {
  const data = opts.data;
  const model = await storeModel(clip);
  const cacheDir = opts.cacheDir ?? defaultCacheDir(data.root, model);
  const prompts = classPromptTexts(data.descriptions, opts.templates.templates);
  const texts = await textEmbeddings(clip, cacheDir, prompts.flat(), opts);
  const images = await imageEmbeddings(
    clip,
    cacheDir,
    data.root,
    data.items.map((i) => i.path),
    opts,
  );
  const items = data.items.filter((i) => images.embeddings.has(i.path));
  if (items.length === 0) throw new UserError(`${data.source}: none of the ${data.items.length} images could be read; see the skipped files above`);

  const dim = clip.config.embedDim;
  const classes = classEmbeddings(
    prompts.map((ps) => ps.map((t) => texts.embeddings.get(t) as Float32Array)),
    dim,
  );
  const imageRows = new Float32Array(items.length * dim); // [n, E]
  items.forEach((item, i) => imageRows.set(images.embeddings.get(item.path) as Float32Array, i * dim));
  const p: Predictions = {
    classes: data.classes.length,
    truth: Int32Array.from(items, (i) => i.label),
    probs: await zeroShotProbabilities(imageRows, classes, dim, clip.logitScale),
  };
  const topK = opts.topK.filter((k) => k < data.classes.length || k === 1);
  const m = classificationMetrics(p, topK);
  const cal = calibration(p);
  const boot = opts.resamples > 0 ? bootstrap(items.length, { resamples: opts.resamples, seed: opts.seed }, (rows) => headline(selectRows(p, rows))) : null;
  const report: ClassifyReport = {
    task: 'zero-shot classification',
    n: m.n,
    accuracy: m.accuracy,
    top_k_accuracy: m.top_k_accuracy,
    balanced_accuracy: m.balanced_accuracy,
    macro_f1: m.macro_f1,
    auroc_macro: m.auroc_macro,
    ece: cal.ece,
    per_class: Object.fromEntries(data.classes.map((c, k) => [c, m.per_class[k]])),
    confusion_matrix: { rows: 'true class', columns: 'predicted class', classes: data.classes, counts: m.confusion },
    calibration: cal.bins,
    ci95: boot?.ci ?? null,
    bootstrap: boot && { resamples: boot.resamples, seed: boot.seed, level: boot.level, valid: boot.valid },
    model: modelInfo(clip, model),
    templates: opts.templates,
    prompts: Object.fromEntries(data.classes.map((c, k) => [c, prompts[k]])),
    preprocessing: await preprocessingInfo(clip),
    data: { source: data.source, layout: data.layout, classes: data.classes },
    skipped: images.skipped,
    cache: { dir: cacheDir, images_embedded: images.embedded, images_cached: images.cached, texts_embedded: texts.embedded, texts_cached: texts.cached },
  };
  const predicted = predictedClasses(p);
  const k = data.classes.length;
  const predictions = items.map((item, i) => ({
    image: item.path,
    label: data.classes[item.label],
    predicted: data.classes[predicted[i]],
    probs: Array.from(p.probs.subarray(i * k, (i + 1) * k)),
  }));
  return { report, predictions };
}

/** The metrics that get intervals. */
function headline(p: Predictions): Record<string, number | null> {
  const m = classificationMetrics(p, []);
  return { accuracy: m.accuracy, balanced_accuracy: m.balanced_accuracy, macro_f1: m.macro_f1, auroc_macro: m.auroc_macro };
}
