/**
 * The evaluation metrics against scikit-learn (Debian's python3-sklearn) and NumPy on generated
 * predictions: distinct scores, many ties, a class never predicted, a binary problem and a single-class
 * subset; bootstrap intervals against np.percentile over the same resamples; retrieval ranks, Recall@K and
 * the median rank against a NumPy ranking, with tied candidates; and a dataset whose classes are perfectly
 * separable in a fixed embedding scoring 1 everywhere. Tolerance 1e-12 (both sides compute in float64
 * from the same numbers; only summation order differs).
 */
// test tier: full (scikit-learn oracle: /usr/bin/python3)
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { bootstrap, bootstrapSamples } from '../src/eval/bootstrap.js';
import { calibration } from '../src/eval/calibration.js';
import { classificationMetrics, selectRows, type Predictions } from '../src/eval/metrics.js';
import { medianRank, recallAtK, retrievalRanks } from '../src/eval/ranks.js';
import { zeroShotProbabilities } from '../src/eval/zero-shot.js';
import { mulberry32 } from '../src/util/random.js';
import { REPO_ROOT, TORCH_PYTHON, unitRows } from './helpers.js';

const TOL = 1e-12;

before(async () => {
  await tf.setBackend('cpu');
});

/** Runs the Python reference on `cases` (see test/support/eval_reference.py). */
function reference(cases: object[]): any[] {
  const script = path.join(REPO_ROOT, 'test', 'support', 'eval_reference.py');
  const r = spawnSync(TORCH_PYTHON, [script], { input: JSON.stringify(cases), encoding: 'utf8', maxBuffer: 1 << 28 });
  assert.equal(r.status, 0, `eval_reference.py failed (is python3-sklearn installed? see .ci/run):\n${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** Rows of `k` probabilities: softmax of random logits, or (ties) multiples of 1/4 summing to 1. */
function makeCase(n: number, k: number, seed: number, opts: { ties?: boolean; never?: number; only?: number } = {}): Predictions {
  const next = mulberry32(seed);
  const truth = new Int32Array(n);
  const probs = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    truth[i] = opts.only ?? Math.floor(next() * k);
    const row = new Float64Array(k);
    if (opts.ties) {
      for (let q = 0; q < 4; q++) row[Math.floor(next() * k)] += 0.25;
    } else {
      for (let c = 0; c < k; c++) row[c] = Math.exp(3 * next() + (c === truth[i] ? 1.5 * next() : 0));
      if (opts.never !== undefined) row[opts.never] = 1e-3 * row[opts.never];
      const sum = row.reduce((a, b) => a + b, 0);
      row.forEach((v, c) => (row[c] = v / sum));
    }
    probs.set(row, i * k);
  }
  return { classes: k, truth, probs };
}

function rowsOf(p: Predictions): number[][] {
  return Array.from(p.truth, (_, i) => Array.from(p.probs.subarray(i * p.classes, (i + 1) * p.classes)));
}

function close(actual: number | null, expected: number | null, what: string): void {
  if (expected === null || actual === null) return assert.equal(actual, expected, what);
  assert.ok(Math.abs(actual - expected) <= TOL, `${what}: ${actual} vs ${expected}`);
}

const CASES: Array<[string, Predictions]> = [
  ['distinct scores, 4 classes', makeCase(300, 4, 1)],
  ['ties (probabilities in quarters), 4 classes', makeCase(300, 4, 2, { ties: true })],
  ['class 3 never predicted', makeCase(200, 4, 3, { never: 3 })],
  ['binary', makeCase(150, 2, 4)],
  ['binary with ties', makeCase(150, 2, 5, { ties: true })],
  ['single-class subset (all items of class 1)', makeCase(60, 3, 6, { only: 1 })],
];

test('classification metrics equal scikit-learn (ties, a never-predicted class, binary, single class)', () => {
  const bootstrapOpts = { resamples: 200, seed: 7 };
  const inputs = CASES.map(([, p]) => ({
    kind: 'classification',
    truth: Array.from(p.truth),
    probs: rowsOf(p),
    k: p.classes,
    topk: [1, 2, 3],
    resamples: [...bootstrapSamples(p.truth.length, bootstrapOpts.resamples, bootstrapOpts.seed)].map((r) => Array.from(r)),
  }));
  const refs = reference(inputs);
  let worst = 0;
  CASES.forEach(([name, p], c) => {
    const ref = refs[c];
    const m = classificationMetrics(p, [1, 2, 3]);
    assert.deepEqual(m.confusion, ref.confusion, `${name}: confusion matrix`);
    for (const key of ['accuracy', 'balanced_accuracy', 'macro_f1', 'auroc_macro'] as const) close(m[key], ref[key], `${name}: ${key}`);
    m.per_class.forEach((s, k) => {
      close(s.precision, ref.precision[k], `${name}: precision[${k}]`);
      close(s.recall, ref.recall[k], `${name}: recall[${k}]`);
      close(s.f1, ref.f1[k], `${name}: f1[${k}]`);
      assert.equal(s.support, ref.support[k], `${name}: support[${k}]`);
      close(s.auroc, ref.auroc_per_class[k], `${name}: auroc[${k}]`);
      worst = Math.max(worst, Math.abs((s.auroc ?? 0) - (ref.auroc_per_class[k] ?? 0)));
    });
    // roc_auc_score itself where it is defined; where it raises, our macro is over the defined classes.
    if (typeof ref.sklearn_auroc_macro === 'number') close(m.auroc_macro, ref.sklearn_auroc_macro, `${name}: roc_auc_score ovr macro`);
    else
      assert.ok(
        p.truth.every((t) => t === p.truth[0]),
        `${name}: sklearn raised ${ref.sklearn_auroc_macro}`,
      );
    for (const k of ['1', '2', '3']) {
      close(m.top_k_accuracy[k], ref.topk_stable[k], `${name}: top-${k} (stable ranks)`);
      if (!name.includes('ties') && ref.topk_sklearn[k] !== undefined) close(m.top_k_accuracy[k], ref.topk_sklearn[k], `${name}: top-${k} (sklearn)`);
    }
    close(m.top_k_accuracy['1'], m.accuracy, `${name}: top-1 = accuracy`);
    close(calibration(p).ece, ref.ece, `${name}: ECE`);
    const boot = bootstrap(p.truth.length, bootstrapOpts, (rows) => {
      const r = classificationMetrics(selectRows(p, rows), []);
      return { accuracy: r.accuracy, balanced_accuracy: r.balanced_accuracy, macro_f1: r.macro_f1, auroc_macro: r.auroc_macro };
    });
    for (const key of ['accuracy', 'balanced_accuracy', 'macro_f1', 'auroc_macro']) {
      const ours = boot.ci[key];
      const theirs = ref.ci[key];
      if (theirs === null) assert.equal(ours, null, `${name}: CI ${key}`);
      else ours!.forEach((v, j) => close(v, theirs[j], `${name}: CI ${key}[${j}]`));
    }
  });
  assert.equal(CASES[2][1].truth.length, 200);
  assert.equal(classificationMetrics(CASES[2][1]).per_class[3].precision, 0, 'never-predicted class has precision 0');
  assert.equal(classificationMetrics(CASES[5][1]).auroc_macro, null, 'single-class subset: AUROC undefined');
  console.log(`classification metrics: ${CASES.length} cases equal scikit-learn; max |AUROC diff| ${worst.toExponential(2)} (tolerance ${TOL})`);
});

test('bootstrap intervals are seeded: same seed, same interval; another seed, another', () => {
  const p = CASES[0][1];
  const stat = (rows: Int32Array) => ({ accuracy: classificationMetrics(selectRows(p, rows), []).accuracy });
  const a = bootstrap(p.truth.length, { resamples: 100, seed: 1 }, stat);
  const b = bootstrap(p.truth.length, { resamples: 100, seed: 1 }, stat);
  const c = bootstrap(p.truth.length, { resamples: 100, seed: 2 }, stat);
  assert.deepEqual(a.ci, b.ci);
  assert.notDeepEqual(a.ci, c.ci);
  const acc = classificationMetrics(p).accuracy;
  assert.ok(a.ci.accuracy![0] <= acc && acc <= a.ci.accuracy![1], 'the interval holds the point estimate');
});

test('retrieval ranks, Recall@K and median rank equal a NumPy ranking (several positives, tied candidates)', async () => {
  const next = mulberry32(11);
  const dim = 16;
  const candidates = unitRows(60, dim, next);
  candidates.copyWithin(10 * dim, 3 * dim, 4 * dim); // candidate 10 = candidate 3: exact ties
  candidates.copyWithin(25 * dim, 3 * dim, 4 * dim); // and candidate 25
  const positives = Array.from({ length: 40 }, (_, i) => (i % 5 === 0 ? [i, i + 20] : i % 7 === 0 ? [10, 25] : [i]));
  // Each query = its first correct candidate plus noise, so ranks spread from 1 to dozens.
  const noise = unitRows(40, dim, next);
  const queries = new Float32Array(40 * dim).map((_, x) => candidates[positives[Math.floor(x / dim)][0] * dim + (x % dim)] + 2.5 * noise[x]);
  const ks = [1, 5, 10];
  const [ref] = reference([{ kind: 'retrieval', queries: rowsOfDim(queries, dim), candidates: rowsOfDim(candidates, dim), positives, ks }]);
  const tensorsBefore = tf.memory().numTensors;
  const ranks = await retrievalRanks({ queries, candidates, dim, positives });
  assert.equal(tf.memory().numTensors, tensorsBefore, 'retrievalRanks leaves no tensors behind');
  assert.deepEqual(Array.from(ranks), ref.ranks);
  for (const k of ks) assert.equal(recallAtK(ranks, k), ref.recall[String(k)], `R@${k}`);
  assert.equal(medianRank(ranks), ref.median_rank);
  console.log(
    `retrieval: 40 queries x 60 candidates, ranks equal NumPy's; R@1/5/10 ${ks.map((k) => recallAtK(ranks, k).toFixed(3)).join('/')}, median rank ${medianRank(ranks)}`,
  );
});

function rowsOfDim(flat: Float32Array, dim: number): number[][] {
  return Array.from({ length: flat.length / dim }, (_, i) => Array.from(flat.subarray(i * dim, (i + 1) * dim)));
}

test('classes perfectly separable in a fixed embedding give accuracy, balanced accuracy, F1 and AUROC of 1', async () => {
  const next = mulberry32(5);
  const dim = 32;
  const classes = 4;
  const prototypes = unitRows(classes, dim, next);
  // Each image = its class prototype plus small noise: nearer its own class text than any other.
  const n = 80;
  const images = new Float32Array(n * dim);
  const truth = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    truth[i] = i % classes;
    for (let j = 0; j < dim; j++) images[i * dim + j] = prototypes[truth[i] * dim + j] + 0.05 * (next() - 0.5);
    const row = images.subarray(i * dim, (i + 1) * dim);
    const norm = Math.hypot(...row);
    row.forEach((v, j) => (row[j] = v / norm));
  }
  await tf.setBackend('cpu');
  const probs = await zeroShotProbabilities(images, prototypes, dim, 100);
  const m = classificationMetrics({ classes, truth, probs });
  assert.equal(m.accuracy, 1);
  assert.equal(m.balanced_accuracy, 1);
  assert.equal(m.macro_f1, 1);
  assert.equal(m.auroc_macro, 1);
  assert.deepEqual(
    m.confusion,
    [0, 1, 2, 3].map((t) => [0, 1, 2, 3].map((p) => (p === t ? n / classes : 0))),
  );
});
