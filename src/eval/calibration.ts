/**
 * Calibration of the zero-shot probabilities: does a prediction made with confidence 0.8 come true 80% of
 * the time? Items are binned by the probability of their predicted class (their confidence) into equal-width
 * bins; each bin's accuracy against its mean confidence is the reliability diagram, and the gap averaged
 * over bins, weighted by their share of the items, is the expected calibration error (ECE; Guo et al.,
 * "On Calibration of Modern Neural Networks", ICML 2017).
 */
import { predictedClasses, type Predictions } from './metrics.js';

export interface CalibrationBin {
  /** Confidence range: (lo, hi], the first bin also holds confidence 0. */
  lo: number;
  hi: number;
  count: number;
  /** Mean confidence and accuracy of the bin's items; null when it is empty. */
  confidence: number | null;
  accuracy: number | null;
}

export interface Calibration {
  ece: number;
  bins: CalibrationBin[];
}

export function calibration(p: Predictions, binCount = 10): Calibration {
  const k = p.classes;
  const predicted = predictedClasses(p);
  const count = new Array<number>(binCount).fill(0);
  const confSum = new Array<number>(binCount).fill(0);
  const correct = new Array<number>(binCount).fill(0);
  for (let i = 0; i < p.truth.length; i++) {
    const conf = p.probs[i * k + predicted[i]];
    let b = 0; // bin (b/B, (b+1)/B]: count the inner edges below conf (not ceil(conf·B): 0.3·10 > 3)
    while (b < binCount - 1 && (b + 1) / binCount < conf) b++;
    count[b]++;
    confSum[b] += conf;
    if (predicted[i] === p.truth[i]) correct[b]++;
  }
  const n = p.truth.length;
  let ece = 0;
  const bins = count.map((c, b) => {
    const confidence = c > 0 ? confSum[b] / c : null;
    const accuracy = c > 0 ? correct[b] / c : null;
    if (c > 0) ece += (c / n) * Math.abs((accuracy as number) - (confidence as number));
    return { lo: b / binCount, hi: (b + 1) / binCount, count: c, confidence, accuracy };
  });
  return { ece, bins };
}
