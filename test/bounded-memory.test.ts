/**
 * Memory bounded by design (issue 10, items 5 and 6): texts are embedded in batches of bounded size and
 * length whatever their number, label embeddings are streamed, and every size-like option has a bound with
 * a clear error. The bounds are asserted on the shapes the text tower receives (structure, not timing);
 * the full-size figure (10,000 labels, peak RSS) is measured by `npm run bench:labels`, not here.
 */
// test tier: full (slow: thousands of labels through the text tower)
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { BiomedCLIP, DEFAULT_TEXT_BATCH, MAX_BATCH_TOKENS } from '../src/api/biomedclip.js';
import { textBatches } from '../src/embed/batches.js';
import { LabelEmbeddingCache } from '../src/api/label-cache.js';
import { cli, EXAMPLE_IMAGES, oneErrorLine, tempDemoModel } from './helpers.js';

const { dir, model, ready } = tempDemoModel('biomedclip-bounded-');
let clip: BiomedCLIP;
const notes: string[] = [];
/** [rows, tokens] of every batch the text tower received. */
const batches: number[][] = [];

before(async () => {
  await ready();
  // workers: 1 keeps every batch in this thread, where the spy below sees it; a pool runs the same batches.
  clip = await BiomedCLIP.load(model, { backend: 'cpu', workers: 1, onNote: (m) => notes.push(m) });
  const encodeText = clip.model.encodeText.bind(clip.model);
  clip.model.encodeText = (ids, hooks) => {
    batches.push(ids.shape);
    // Refuse before computing: an unbounded batch would take gigabytes (the bug this test guards against).
    if (ids.shape[0] > DEFAULT_TEXT_BATCH || ids.shape[1] > 256 || ids.shape[0] * ids.shape[1] > MAX_BATCH_TOKENS)
      throw new Error(`unbounded text batch [${ids.shape}]`);
    return encodeText(ids, hooks);
  };
});

after(() => clip?.dispose());

test('2,000 short labels and one 300-word label: batches of at most 32 texts and 2,048 tokens, grouped by length, long one truncated', async () => {
  const labels = Array.from({ length: 2000 }, (_, i) => `finding number ${i}`);
  labels.push(Array.from({ length: 300 }, (_, i) => `word${i % 7}`).join(' '));
  batches.length = 0;
  notes.length = 0;
  const rss = process.memoryUsage().rss;
  const [scores] = await clip.classify([EXAMPLE_IMAGES.squamous], labels);
  console.log(
    `2,001 labels: ${batches.length} text batches, widest [${batches.reduce((w, b) => (b[1] > w[1] ? b : w))}], RSS growth ${((process.memoryUsage().rss - rss) / 2 ** 20).toFixed(0)} MB`,
  );
  assert.equal(scores.length, 2001);
  assert.ok(scores.every((s) => Number.isFinite(s.probability)));
  assert.equal(batches.length, Math.ceil(2000 / DEFAULT_TEXT_BATCH) + 1, 'the long label gets a batch of its own');
  assert.ok(batches.every(([rows, tokens]) => rows <= DEFAULT_TEXT_BATCH && rows * tokens <= MAX_BATCH_TOKENS));
  assert.equal(batches.filter(([, tokens]) => tokens === 256).length, 1, 'only the batch holding the long label is 256 tokens wide');
  assert.ok(
    notes.some((n) => /1 text\(s\) longer than the 256-token context truncated to it, as open_clip does/.test(n)),
    notes.join(' | '),
  );
});

test('batched texts equal texts embedded one by one, in the order given', async () => {
  const texts = ['a much longer caption about squamous cell carcinoma of the lung', 'tumor', 'normal lung tissue', 'adenocarcinoma'];
  const together = await clip.encodeTexts(texts, { batchSize: 2 });
  let max = 0;
  for (const [i, t] of texts.entries()) {
    const [alone] = await clip.encodeTexts([t]);
    for (let j = 0; j < alone.features.length; j++) max = Math.max(max, Math.abs(alone.features[j] - together[i].features[j]));
  }
  console.log(`batched (grouped by length) vs one by one: max|diff| ${max.toExponential(2)} (tolerance 1e-5)`);
  assert.ok(max <= 1e-5);
  const before = tf.memory().numTensors;
  await clip.encodeTexts(texts, { batchSize: 3 });
  assert.equal(tf.memory().numTensors, before);
  // Padded to open_clip's 256 tokens, 32 texts per batch would be 8,192 tokens: the token budget makes it 8.
  batches.length = 0;
  await clip.encodeTexts(
    Array.from({ length: 20 }, (_, i) => `caption ${i}`),
    { padTo: 256 },
  );
  assert.deepEqual(batches, [
    [8, 256],
    [8, 256],
    [4, 256],
  ]);
});

test('label embeddings are streamed: many templates still mean bounded batches; scores for 200,000 labels', async () => {
  batches.length = 0;
  const templates = Array.from({ length: 10 }, (_, i) => `template ${i} of {}`);
  const labels = Array.from({ length: 300 }, (_, i) => `label ${i}`);
  const emb = await clip.labelEmbeddings(labels, templates);
  assert.equal(emb.length, 300);
  assert.ok(batches.every(([rows]) => rows <= DEFAULT_TEXT_BATCH));
  // Softmax over very many labels.
  const many = Array.from({ length: 200_000 }, (_, i) => emb[i % emb.length]);
  const [scores] = await clip.scoreLabels(
    [emb[0]],
    many,
    many.map((_, i) => `l${i}`),
  );
  assert.ok(Math.abs(scores.reduce((s, x) => s + x.probability, 0) - 1) < 1e-3);
});

test('the label cache keeps at most maxLabels labels in all; a larger set is computed but not kept', async () => {
  const cache = new LabelEmbeddingCache(16, 5);
  const model = { labelEmbeddings: async (labels: string[]) => labels.map(() => new Float32Array(4)) };
  await cache.get(model, ['a', 'b', 'c'], ['{}']);
  await cache.get(model, ['d', 'e'], ['{}']);
  assert.equal(cache.size, 2);
  await cache.get(model, ['f'], ['{}']); // 6 labels > 5: the oldest set goes
  assert.equal(cache.size, 2);
  assert.equal((await cache.get(model, ['1', '2', '3', '4', '5', '6'], ['{}'])).length, 6);
  assert.equal(cache.size, 2, 'a set larger than the budget is not kept');
});

test('batch sizes are bounded in the library (0 used to loop forever)', async () => {
  await assert.rejects(clip.encodeImages([EXAMPLE_IMAGES.squamous], { batchSize: 0 }), /batch size 0: expected an integer from 1 to 256/);
  await assert.rejects(clip.encodeTexts(['x'], { batchSize: 1e6 }), /expected an integer from 1 to 256/);
});

test('every size-like option is bounded: exit 2 and one line naming the bound', () => {
  const demo = path.join(dir, 'demo');
  const cases: Array<[string[], RegExp]> = [
    [['tokenize', '--context-length', '100000000', 'x'], /--context-length 100000000: expected an integer from 2 to 512/],
    [['tokenize', '--pad-to', '100000', 'x'], /--pad-to 100000: expected an integer from 2 to 512/],
    [['embed', '--model', demo, '--text', 'x', '--pad-to', '100000'], /--pad-to 100000: expected an integer from 2 to 512/],
    [['trace', '--model', demo, '--text', 'x', '--pad-to', '1', '--out', path.join(dir, 't.safetensors')], /--pad-to 1: expected an integer from 2 to 512/],
    [['index', dir, '--out', path.join(dir, 'idx'), '--model', demo, '--batch-size', '100000'], /--batch-size 100000: expected an integer from 1 to 256/],
    [['index', dir, '--out', path.join(dir, 'idx'), '--model', demo, '--batch-size', '0'], /--batch-size 0: expected an integer from 1 to 256/],
    [['search', dir, 'x', '--top', '1000000000'], /--top 1000000000: expected an integer from 1 to 100,000/],
    [['classify', EXAMPLE_IMAGES.squamous, '--model', demo, '--labels', 'a', '--top', '0'], /--top 0: expected an integer from 1 to 100,000/],
    [
      ['preprocess', EXAMPLE_IMAGES.squamous, '--out', path.join(dir, 'p.safetensors'), '--max-pixels', '99999999999'],
      /--max-pixels 99999999999: expected an integer from 1 to 1,073,741,824/,
    ],
  ];
  for (const [args, pattern] of cases) oneErrorLine(cli(...args), 2, pattern);
});

test('textBatches: shortest first within the size and token bounds; a fixed length keeps the order', () => {
  // Token counts 5, 300 (truncated to the 256 context), 3, 10; two texts a batch.
  assert.deepEqual(textBatches([5, 300, 3, 10], 'longest', 256, 2), [
    [2, 0],
    [3, 1],
  ]);
  // Padded to 256, 2,048 tokens hold 8 texts whatever the size asked, in input order.
  const fixed = textBatches(
    Array.from({ length: 20 }, () => 4),
    256,
    256,
    32,
  );
  assert.deepEqual(
    fixed.map((b) => b.length),
    [8, 8, 4],
  );
  assert.deepEqual(
    fixed.flat(),
    Array.from({ length: 20 }, (_, i) => i),
  );
});
