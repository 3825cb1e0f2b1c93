/**
 * `npm run bench:labels`: the memory case of issue 10, zero-shot classification of one image against very
 * many labels at full size. Before texts were batched and label embeddings streamed, 1,000 labels reached
 * 2.9 GB; the target is 10,000 labels under 2.5 GB peak RSS. Measurement only: it prints figures.
 *
 *   npm run bench:labels -- [--model DIR] [--labels N] [--long K] [--templates N] [--backend NAME]
 *
 * Without --model, a full-size random-weight model is generated with the PyTorch reference into a temp dir
 * (memory does not depend on the weights' values). Peak RSS is the process's maximum resident set
 * (getrusage), reported after loading the model and after classifying.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BiomedCLIP } from '../src/api/biomedclip.js';
import { makeRandomFullModel } from './random_model.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const IMAGE = path.join(ROOT, 'assets', 'examples', 'squamous_cell_carcinoma_histopathology.jpeg');

const HELP = `Usage: npm run bench:labels -- [options]

Peak memory and time of classifying one image against N labels (issue 10's memory case) at full size.

Options:
  --model DIR       model directory (default: a full-size random-weight model made by the PyTorch
                    reference in a temp dir; needs Debian's python3-torch)
  --labels N        number of distinct labels (default 10000)
  --long K          of which K are 300-word labels, truncated to the 256-token context: the widest
                    batches (default 1, the issue's case of short labels plus one very long one)
  --templates N     prompt templates per label (default 1: open_clip's "this is a photo of {}")
  --backend NAME    tensorflow | wasm | cpu (default: the fastest available)

Example:
  npm run bench:labels -- --labels 1000 --backend wasm`;

const ORGANS = ['lung', 'liver', 'kidney', 'breast', 'colon', 'brain', 'skin', 'bone', 'heart', 'prostate'];
const FINDINGS = ['adenocarcinoma', 'squamous cell carcinoma', 'inflammation', 'fibrosis', 'necrosis', 'metastasis', 'normal tissue', 'hemorrhage'];

/** N distinct labels ("grade 3 fibrosis of the liver, case 1234"), the last `long` of them 300 words long. */
function makeLabels(n: number, long: number): string[] {
  return Array.from({ length: n }, (_, i) => {
    const label = `grade ${i % 4} ${FINDINGS[i % FINDINGS.length]} of the ${ORGANS[Math.floor(i / FINDINGS.length) % ORGANS.length]}, case ${i}`;
    return i < n - long ? label : `${label}: ${Array.from({ length: 300 }, (_, w) => ORGANS[(w * 7 + i) % ORGANS.length]).join(' ')}`;
  });
}

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;
const peakRss = () => process.resourceUsage().maxRSS * 1024;

function count(flag: string, value: string | undefined, fallback: number, min = 1): number {
  const n = value === undefined ? fallback : Number(value);
  if (!Number.isInteger(n) || n < min || n > 1_000_000) {
    console.error(`bench:labels: error: --${flag} ${value}: expected an integer from ${min} to 1,000,000`);
    process.exit(2);
  }
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      labels: { type: 'string' },
      long: { type: 'string' },
      templates: { type: 'string' },
      backend: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) return console.log(HELP);
  const n = count('labels', values.labels, 10_000);
  const long = Math.min(n, count('long', values.long, 1, 0));
  const templates = Array.from({ length: count('templates', values.templates, 1) }, (_, i) => (i === 0 ? 'this is a photo of {}' : `this is image ${i} of {}`));
  let model = values.model;
  let tmp: string | undefined;
  if (!model) {
    tmp = mkdtempSync(path.join(tmpdir(), 'biomedclip-bench-labels-'));
    model = tmp;
    console.error('bench:labels: generating a full-size random-weight model with the PyTorch reference...');
    makeRandomFullModel(model, { vocab: true });
  }
  try {
    const t0 = performance.now();
    const clip = await BiomedCLIP.load(model, { backend: values.backend });
    const loaded = { seconds: (performance.now() - t0) / 1000, peak: peakRss() };
    let done = 0;
    let widest = [0, 0];
    const encodeText = clip.model.encodeText.bind(clip.model);
    clip.model.encodeText = (ids, hooks) => {
      if (ids.shape[0] * ids.shape[1] > widest[0] * widest[1]) widest = ids.shape;
      if (++done % 10 === 0) console.error(`bench:labels: ${done} text batches (this one [${ids.shape}]), peak RSS ${mb(peakRss())}`);
      return encodeText(ids, hooks);
    };
    const t1 = performance.now();
    const [scores] = await clip.classify([IMAGE], makeLabels(n, long), { templates });
    const seconds = (performance.now() - t1) / 1000;
    const report = {
      backend: clip.backend,
      labels: n,
      long_labels: long,
      templates: templates.length,
      text_batches: done,
      widest_batch: widest,
      load_s: +loaded.seconds.toFixed(1),
      peak_rss_after_load_bytes: loaded.peak,
      classify_s: +seconds.toFixed(1),
      labels_per_s: +((n * templates.length) / seconds).toFixed(2),
      peak_rss_bytes: peakRss(),
      top_label: scores[0].label.slice(0, 60),
    };
    clip.dispose();
    console.log(JSON.stringify(report));
    console.log(
      `${n} labels (${long} of 300 words) x ${templates.length} template(s) on ${report.backend}: classify ${report.classify_s} s (${report.labels_per_s} prompts/s), peak RSS ${mb(loaded.peak)} after loading, ${mb(report.peak_rss_bytes)} in all (target < 2.5 GB at 10,000 labels)`,
    );
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
