/**
 * ONNX Runtime on the same model and cases as `npm run bench` (which runs this with `--onnx`): the yardstick
 * of docs/performance.md, since ONNX Runtime is what transformers.js runs on in Node. Dev-only: nothing
 * here is a dependency of the package.
 *
 *   npx tsc -p . && node dist/scripts/bench_onnx.js --model DIR [--seconds 2]
 *
 * 1. Exports the model's towers to ONNX with the PyTorch reference (scripts/reference/export_onnx.py,
 *    Debian's torch) into a temp dir.
 * 2. Installs onnxruntime-node into .cache/onnxruntime-node (git-ignored) on first use, with
 *    ONNXRUNTIME_NODE_INSTALL_CUDA=skip (the CPU runtime is inside the npm package).
 * 3. Times it on all cores; prints one JSON BenchReport line on stdout.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadModelConfig } from '../src/model/load.js';
import { msPerCall, randomIds, randomPixels, type BenchReport } from './bench_report.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const PYTHON = process.env.BIOMEDCLIP_PYTHON ?? '/usr/bin/python3';
const ORT_VERSION = '1.30.0';
const CACHE = path.join(ROOT, '.cache', 'onnxruntime-node');

interface OrtTensor {
  data: Float32Array;
}
interface OrtSession {
  run(feeds: Record<string, unknown>): Promise<Record<string, OrtTensor>>;
}
interface Ort {
  InferenceSession: { create(file: string, options: object): Promise<OrtSession> };
  Tensor: new (type: string, data: Float32Array | BigInt64Array, dims: number[]) => unknown;
}

/** onnxruntime-node from the cache directory, installed there on first use. */
function loadOrt(): Ort {
  if (!existsSync(path.join(CACHE, 'node_modules', 'onnxruntime-node'))) {
    console.error(`bench_onnx: installing onnxruntime-node@${ORT_VERSION} into ${CACHE} (once)...`);
    mkdirSync(CACHE, { recursive: true });
    writeFileSync(path.join(CACHE, 'package.json'), '{ "private": true }\n');
    execFileSync('npm', ['install', '--no-audit', '--no-fund', `onnxruntime-node@${ORT_VERSION}`], {
      cwd: CACHE,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, ONNXRUNTIME_NODE_INSTALL_CUDA: 'skip' },
    });
  }
  return createRequire(path.join(CACHE, 'package.json'))('onnxruntime-node') as Ort;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { model: { type: 'string' }, seconds: { type: 'string', default: '2' } } });
  if (!values.model) throw new Error('bench_onnx: --model DIR is required');
  const seconds = Number(values.seconds);
  const cfg = loadModelConfig(values.model);
  const ort = loadOrt();
  const dir = mkdtempSync(path.join(tmpdir(), 'biomedclip-onnx-'));
  try {
    execFileSync(PYTHON, [path.join(ROOT, 'scripts/reference/export_onnx.py'), '--model', values.model, '--out', dir], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const cores = availableParallelism();
    const options = { intraOpNumThreads: cores, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionProviders: ['cpu'] };
    const t0 = performance.now();
    const [image, text] = await Promise.all(['image', 'text'].map((n) => ort.InferenceSession.create(path.join(dir, `${n}.onnx`), options)));
    const loadS = (performance.now() - t0) / 1000;
    const s = cfg.vision.imageSize;
    const pixels = (batch: number) => {
      const px = randomPixels(batch, s);
      return { pixel_values: new ort.Tensor('float32', px.data, px.shape) };
    };
    const ids = (batch: number, tokens: number) => {
      const x = randomIds(batch, tokens, cfg.text.vocabSize);
      return { input_ids: new ort.Tensor('int64', BigInt64Array.from(x.data, BigInt), x.shape) };
    };
    const latencyMs = await msPerCall(() => image.run(pixels(1)), seconds);
    const images = (8 * 1000) / (await msPerCall(() => image.run(pixels(8)), seconds));
    const labels = (32 * 1000) / (await msPerCall(() => text.run(ids(32, 10)), seconds));
    const longTexts = (8 * 1000) / (await msPerCall(() => text.run(ids(8, 256)), seconds));
    const report: BenchReport = {
      backend: `onnxruntime ${ORT_VERSION}`,
      setup: `${cores} thr`,
      load_s: loadS,
      latency_ms: latencyMs,
      images_per_s: images,
      labels_per_s: labels,
      long_texts_per_s: longTexts,
      peak_rss_bytes: process.resourceUsage().maxRSS * 1024,
    };
    console.log(JSON.stringify(report));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
