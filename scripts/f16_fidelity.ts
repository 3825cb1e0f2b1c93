/**
 * What float16 weights cost in fidelity: converts a model directory's F32 weights to F16 exactly as
 * `biomedclip convert --dtype f16` does, loads both models, and compares what users get from them: image and
 * text features, their normalized embeddings, and zero-shot probabilities. Measurement only;
 * docs/performance.md ("float16 weights") keeps the figures, test/f16-fidelity.test.ts holds the demo model
 * to a tolerance with the same function.
 *
 *   node dist/scripts/f16_fidelity.js [--model DIR] [--backend wasm|cpu]
 *
 * Without --model, a full-size random-weight model is generated with the PyTorch reference into a temp dir
 * (as `npm run bench` does; needs Debian's python3-torch), with the bundled BiomedBERT vocab for the texts.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BiomedCLIP } from '../src/api/biomedclip.js';
import type { BackendName } from '../src/backends/select.js';
import { convertCheckpoint } from '../src/convert/convert.js';
import { WEIGHTS_FILE } from '../src/model-files.js';
import { diffArrays } from '../src/parity/compare.js';
import { makeRandomFullModel } from './random_model.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The model card's two example images and a few captions and labels of the kind users send. */
export const FIDELITY_INPUTS = {
  images: [
    path.join(ROOT, 'assets', 'examples', 'adenocarcinoma_histopathology.jpg'),
    path.join(ROOT, 'assets', 'examples', 'squamous_cell_carcinoma_histopathology.jpeg'),
  ],
  texts: ['adenocarcinoma histopathology', 'a chest X-ray showing pleural effusion', 'brain MRI, axial T2-weighted slice of a glioma'],
  labels: ['adenocarcinoma histopathology', 'squamous cell carcinoma histopathology', 'brain MRI', 'chest X-ray', 'bone X-ray'],
};

/** One comparison, f16 against f32: the largest difference, the largest reference value, the cosine. */
export interface Difference {
  maxAbs: number;
  /** max |f32 value|, to read maxAbs against. */
  scale: number;
  cosine: number;
}

export interface F16Fidelity {
  bytesF32: number;
  bytesF16: number;
  imageFeatures: Difference;
  textFeatures: Difference;
  /** The L2-normalized embeddings of images and texts together (what search and classify compare). */
  embeddings: Difference;
  /** Zero-shot probabilities of every image over the labels (scale 1). */
  probabilities: Difference;
  /** exp(logit_scale) of each model. */
  logitScale: { f32: number; f16: number };
}

interface Outputs {
  image: Float32Array[];
  text: Float32Array[];
  embeddings: Float32Array[];
  probabilities: number[];
  logitScale: number;
}

async function run(dir: string, backend: BackendName): Promise<Outputs> {
  const clip = await BiomedCLIP.load(dir, { backend, workers: 1 });
  try {
    const images = await clip.encodeImages(FIDELITY_INPUTS.images);
    const texts = await clip.encodeTexts(FIDELITY_INPUTS.texts);
    const scores = await clip.classify(FIDELITY_INPUTS.images, FIDELITY_INPUTS.labels);
    return {
      image: images.map((e) => e.features),
      text: texts.map((e) => e.features),
      embeddings: [...images, ...texts].map((e) => e.embedding),
      // In label order (classify sorts each image's scores by probability).
      probabilities: scores.flatMap((s) => FIDELITY_INPUTS.labels.map((l) => s.find((x) => x.label === l)!.probability)),
      logitScale: clip.logitScale,
    };
  } finally {
    clip.dispose();
  }
}

function difference(half: ArrayLike<number>[], full: ArrayLike<number>[]): Difference {
  const a = half.flatMap((x) => Array.from(x));
  const b = full.flatMap((x) => Array.from(x));
  const { maxAbs, cosine } = diffArrays(a, b);
  return { maxAbs, scale: Math.max(...b.map(Math.abs)), cosine };
}

/**
 * Converts `modelDir` (F32 weights) to F16 into `workDir/f16` with the converter itself, then runs both models
 * one after the other (one model in memory at a time) on `backend`.
 */
export async function f16Fidelity(modelDir: string, workDir: string, backend: BackendName = 'wasm'): Promise<F16Fidelity> {
  const report = await convertCheckpoint({ checkpoint: path.join(modelDir, WEIGHTS_FILE), outDir: path.join(workDir, 'f16'), dtype: 'f16' });
  const full = await run(modelDir, backend);
  const half = await run(path.join(workDir, 'f16'), backend);
  return {
    bytesF32: statSync(path.join(modelDir, WEIGHTS_FILE)).size,
    bytesF16: report.bytes,
    imageFeatures: difference(half.image, full.image),
    textFeatures: difference(half.text, full.text),
    embeddings: difference(half.embeddings, full.embeddings),
    probabilities: difference([half.probabilities], [full.probabilities]),
    logitScale: { f32: full.logitScale, f16: half.logitScale },
  };
}

/** The figures as docs/performance.md shows them. */
export function fidelityTable(r: F16Fidelity): string {
  const row = (what: string, d: Difference) => `| ${what} | ${d.maxAbs.toExponential(2)} | ${d.scale.toPrecision(3)} | ${d.cosine.toFixed(8)} |`;
  return [
    `model.safetensors: ${r.bytesF32.toLocaleString('en-US')} bytes as f32, ${r.bytesF16.toLocaleString('en-US')} as f16 (${((100 * r.bytesF16) / r.bytesF32).toFixed(1)} %)`,
    `exp(logit_scale): ${r.logitScale.f32} as f32, ${r.logitScale.f16} as f16`,
    '',
    '| f16 against f32 | max abs difference | max abs value (f32) | cosine |',
    '|---|---|---|---|',
    row(`image features (${FIDELITY_INPUTS.images.length} images)`, r.imageFeatures),
    row(`text features (${FIDELITY_INPUTS.texts.length} texts)`, r.textFeatures),
    row('normalized embeddings', r.embeddings),
    row(`zero-shot probabilities (${FIDELITY_INPUTS.labels.length} labels)`, r.probabilities),
  ].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { model: { type: 'string' }, backend: { type: 'string', default: 'wasm' }, help: { type: 'boolean' } } });
  if (values.help) return console.log('Usage: node dist/scripts/f16_fidelity.js [--model DIR] [--backend wasm|cpu]');
  const work = mkdtempSync(path.join(tmpdir(), 'biomedclip-f16-'));
  try {
    let model = values.model;
    if (model === undefined) {
      model = path.join(work, 'f32');
      console.error('f16_fidelity: generating a full-size random-weight model with the PyTorch reference...');
      makeRandomFullModel(model, { vocab: true });
    }
    const t0 = performance.now();
    const result = await f16Fidelity(model, work, values.backend as BackendName);
    console.log(`${values.model ?? 'full-size BiomedCLIP (random weights)'}, ${values.backend} backend, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    console.log(fidelityTable(result));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) await main();
