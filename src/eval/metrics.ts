/**
 * Classification metrics of a zero-shot run, defined as scikit-learn defines them (and tested against it):
 * from the true class of each item and its row of class probabilities, nothing else. Conventions that
 * matter when results are compared with other tools:
 *
 * - The predicted class is the most probable one; ties go to the class listed first (NumPy's argmax).
 * - Top-k counts a hit when the true class is among the k most probable, ties again broken toward the
 *   class listed first, so top-1 always equals accuracy (scikit-learn's `top_k_accuracy_score` breaks ties
 *   toward the class listed last instead; the two agree whenever scores are distinct).
 * - Precision of a class never predicted, and recall of a class with no items, are 0 (scikit-learn's
 *   `zero_division=0`). Macro-F1 averages over the classes that occur as truth or prediction, balanced
 *   accuracy over the classes that occur as truth (both scikit-learn's defaults).
 * - AUROC is one-vs-rest per class and needs items in and out of the class; the macro average is over
 *   the classes where it is defined, and null when none is (a single-class subset).
 */
import { aurocBinary } from './roc.js';

/** What a run produced: `probs` is [n, K] row-major, `truth[i]` the class index of item i. */
export interface Predictions {
  classes: number;
  truth: Int32Array;
  probs: Float64Array;
}

export interface ClassStats {
  precision: number;
  recall: number;
  f1: number;
  support: number;
  /** One-vs-rest AUROC; null when the items are all in or all out of the class. */
  auroc: number | null;
}

export interface ClassificationMetrics {
  n: number;
  accuracy: number;
  /** k → fraction of items whose true class is among the k most probable. */
  top_k_accuracy: Record<string, number>;
  balanced_accuracy: number;
  macro_f1: number;
  auroc_macro: number | null;
  per_class: ClassStats[];
  /** confusion[t][p]: items of true class t predicted as p (scikit-learn's orientation). */
  confusion: number[][];
}

/** Argmax of each row; the first maximum wins. */
export function predictedClasses(p: Predictions): Int32Array {
  const n = p.truth.length;
  const k = p.classes;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (p.probs[i * k + c] > p.probs[i * k + best]) best = c;
    out[i] = best;
  }
  return out;
}

export function confusionMatrix(truth: ArrayLike<number>, predicted: ArrayLike<number>, classes: number): number[][] {
  const m = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (let i = 0; i < truth.length; i++) m[truth[i]][predicted[i]]++;
  return m;
}

/** 1-based rank of the true class in item i's row: higher probabilities first, ties by class order. */
export function trueClassRank(p: Predictions, i: number): number {
  const k = p.classes;
  const t = p.truth[i];
  const pt = p.probs[i * k + t];
  let rank = 1;
  for (let c = 0; c < k; c++) {
    const pc = p.probs[i * k + c];
    if (pc > pt || (pc === pt && c < t)) rank++;
  }
  return rank;
}

export function topKAccuracy(p: Predictions, k: number): number {
  let hits = 0;
  for (let i = 0; i < p.truth.length; i++) if (trueClassRank(p, i) <= k) hits++;
  return hits / p.truth.length;
}

const ratio = (a: number, b: number): number => (b === 0 ? 0 : a / b);

/** Precision, recall, F1 and support per class from a confusion matrix (AUROC filled in by the caller). */
function classStats(confusion: number[][]): Omit<ClassStats, 'auroc'>[] {
  const k = confusion.length;
  return confusion.map((row, c) => {
    const tp = row[c];
    const support = row.reduce((a, b) => a + b, 0);
    let predicted = 0;
    for (let t = 0; t < k; t++) predicted += confusion[t][c];
    const precision = ratio(tp, predicted);
    const recall = ratio(tp, support);
    return { precision, recall, f1: ratio(2 * precision * recall, precision + recall), support };
  });
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Every metric of one set of predictions; `topK` lists the k of the top-k accuracies to report. */
export function classificationMetrics(p: Predictions, topK: number[] = [1, 5]): ClassificationMetrics {
  const n = p.truth.length;
  if (n === 0) throw new Error('metrics: no items');
  const predicted = predictedClasses(p);
  const confusion = confusionMatrix(p.truth, predicted, p.classes);
  const stats = classStats(confusion);
  const auroc = aurocPerClass(p);
  const perClass = stats.map((s, c) => ({ ...s, auroc: auroc[c] }));
  let correct = 0;
  for (let i = 0; i < n; i++) if (predicted[i] === p.truth[i]) correct++;
  const occurs = perClass.map((s, c) => s.support > 0 || confusion.some((row) => row[c] > 0));
  const definedAuroc = auroc.filter((a): a is number => a !== null);
  return {
    n,
    accuracy: correct / n,
    top_k_accuracy: Object.fromEntries(topK.map((k) => [String(k), topKAccuracy(p, k)])),
    balanced_accuracy: mean(perClass.filter((s) => s.support > 0).map((s) => s.recall)),
    macro_f1: mean(perClass.filter((_, c) => occurs[c]).map((s) => s.f1)),
    auroc_macro: definedAuroc.length > 0 ? mean(definedAuroc) : null,
    per_class: perClass,
    confusion,
  };
}

/** One-vs-rest AUROC of each class: items of the class against all others, scored by its probability. */
export function aurocPerClass(p: Predictions): Array<number | null> {
  const n = p.truth.length;
  const k = p.classes;
  const scores = new Float64Array(n);
  const positive = new Uint8Array(n);
  return Array.from({ length: k }, (_, c) => {
    for (let i = 0; i < n; i++) {
      scores[i] = p.probs[i * k + c];
      positive[i] = p.truth[i] === c ? 1 : 0;
    }
    return aurocBinary(positive, scores);
  });
}

/** The predictions of the items `rows` (a bootstrap resample, a subset), rows may repeat. */
export function selectRows(p: Predictions, rows: ArrayLike<number>): Predictions {
  const k = p.classes;
  const truth = new Int32Array(rows.length);
  const probs = new Float64Array(rows.length * k);
  for (let j = 0; j < rows.length; j++) {
    truth[j] = p.truth[rows[j]];
    probs.set(p.probs.subarray(rows[j] * k, rows[j] * k + k), j * k);
  }
  return { classes: k, truth, probs };
}
