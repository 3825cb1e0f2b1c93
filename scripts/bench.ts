/**
 * `npm run bench`: what a user gets from each backend with default settings (every core), beside the
 * PyTorch reference on all cores, and optionally ONNX Runtime (`--onnx`, scripts/bench_onnx.ts). Measurement
 * only; docs/performance.md keeps the figures and what bought them.
 *
 *   npm run bench -- [--model DIR] [--backends wasm,cpu] [--workers N] [--threads N] [--no-torch] [--onnx]
 *   npm run bench -- --help
 *
 * Without --model, a full-size random-weight model is generated with the PyTorch reference into a temp dir
 * (speed does not depend on the weights' values). Each backend runs in its own child process, so each
 * peak RSS is that backend's alone.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BiomedCLIP, type BatchRunner } from '../src/api/biomedclip.js';
import { BACKENDS, useBackend } from '../src/backends/select.js';
import { wasmThreads } from '../src/backends/wasm-threads.js';
import { webgpuAdapterName } from '../src/backends/webgpu.js';
import { pipeline } from '../src/parallel/pipeline.js';
import { makeRandomFullModel } from './random_model.js';
import { BENCH_CASES, type BenchReport, fromCaseList, msPerCall, randomIds, randomPixels, table } from './bench_report.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const PYTHON = process.env.BIOMEDCLIP_PYTHON ?? '/usr/bin/python3';

const HELP = `Usage: npm run bench -- [options]

Per backend, with default settings (every core): model load time, one image's latency, bulk images/s
(batches of 8 on the worker pool), 10-token labels/s (batches of 32) and 256-token texts/s (batches of 8),
peak RSS and what each pool worker adds to it; beside the PyTorch reference on all cores, with ratios.

Options:
  --model DIR        model directory (default: a full-size random-weight model made by the PyTorch
                     reference in a temp dir; needs Debian's python3-torch)
  --backends LIST    comma-separated, of ${BACKENDS.join(',')} (default: all; absent ones are reported)
  --workers N        pool workers (default: the library's, one per core on wasm and cpu)
  --threads N        wasm threads per model (default: the library's)
  --seconds S        time each case at least this long (default 2)
  --no-torch         skip the PyTorch side
  --onnx             add ONNX Runtime (scripts/bench_onnx.ts: exports the reference with torch and installs
                     onnxruntime-node into .cache/, not into the package; needs the npm registry once)
  --explain-backends L  backends for the seconds-per-explanation table that follows (default wasm;
                     scripts/bench_explain.ts, same model); 'none' skips it

Examples:
  npm run bench -- --backends wasm
  npm run bench -- --model ./biomedclip --backends wasm,webgpu --onnx`;

/** Items/s of `batches` batches through a runner, `window` at a time, as a bulk command runs them. */
async function bulkRate<T>(runner: BatchRunner, make: () => T, run: (x: T) => Promise<unknown>, batch: number, seconds: number): Promise<number> {
  const batches = Math.max(2 * runner.window, 4);
  const round = () => pipeline(Array.from({ length: batches }, make), runner.window, { prepare: async (x) => x, run, consume: () => undefined });
  return (batches * batch * 1000) / (await msPerCall(round, seconds));
}

interface WorkerOptions {
  model: string;
  backend: string;
  workers?: number;
  threads?: number;
  seconds: number;
}

/** One backend, in this (child) process. */
async function measure(o: WorkerOptions): Promise<BenchReport> {
  const cores = availableParallelism();
  await useBackend(o.backend, { threads: o.threads ?? cores }); // as BiomedCLIP.load does; timed apart from loading
  const t0 = performance.now();
  const clip = await BiomedCLIP.load(o.model, { backend: o.backend, workers: o.workers, threads: o.threads });
  const loadS = (performance.now() - t0) / 1000;
  const s = clip.config.vision.imageSize;
  const vocab = clip.config.text.vocabSize;
  try {
    const here = await clip.batchRunner(false);
    const latencyMs = await msPerCall(() => here.embedPixels(randomPixels(1, s)), o.seconds);
    const longTexts = (8 * 1000) / (await msPerCall(() => here.embedIds(randomIds(8, 256, vocab)), o.seconds));
    const rssOneModel = process.memoryUsage().rss;
    const bulk = await clip.batchRunner(true); // starts the pool (not timed: once per process)
    const images = await bulkRate(
      bulk,
      () => randomPixels(8, s),
      (px) => bulk.embedPixels(px),
      8,
      o.seconds,
    );
    const labels = await bulkRate(
      bulk,
      () => randomIds(32, 10, vocab),
      (ids) => bulk.embedIds(ids),
      32,
      o.seconds,
    );
    const { workers, workerThreads } = clip.parallelism;
    const peak = process.resourceUsage().maxRSS * 1024;
    const pool = workers > 1 ? `${workers} workers × ${workerThreads} thr` : '';
    const single =
      o.backend === 'wasm'
        ? `1 image: ${wasmThreads()} thr`
        : o.backend === 'webgpu'
          ? (webgpuAdapterName ?? '').split(' (')[0]
          : o.backend === 'tensorflow'
            ? 'native threads'
            : '';
    return {
      backend: o.backend,
      setup: [pool, single].filter((x) => x !== '').join('; '),
      load_s: loadS,
      latency_ms: latencyMs,
      images_per_s: images,
      labels_per_s: labels,
      long_texts_per_s: longTexts,
      peak_rss_bytes: peak,
      rss_per_worker_bytes: workers > 1 ? Math.max(0, peak - rssOneModel) / workers : undefined,
    };
  } finally {
    clip.dispose();
  }
}

function child(args: string[]): BenchReport | string {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), ...args], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) return (r.stderr || r.stdout).trim().split('\n').pop() ?? 'failed';
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as BenchReport;
}

function fail(message: string): never {
  console.error(`bench: error: ${message}`);
  process.exit(2);
}

function options() {
  try {
    return parseArgs({
      options: {
        model: { type: 'string' },
        backends: { type: 'string' },
        workers: { type: 'string' },
        threads: { type: 'string' },
        seconds: { type: 'string', default: '2' },
        'no-torch': { type: 'boolean' },
        onnx: { type: 'boolean' },
        'explain-backends': { type: 'string' },
        worker: { type: 'string' },
        help: { type: 'boolean' },
      },
    }).values;
  } catch (err) {
    fail(`${(err as Error).message.split('\n')[0]}; see npm run bench -- --help`);
  }
}

function positive(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!(n > 0) || (flag !== 'seconds' && !Number.isInteger(n))) fail(`--${flag} ${value}: expected a positive ${flag === 'seconds' ? 'number' : 'integer'}`);
  return n;
}

async function main(): Promise<void> {
  const values = options();
  if (values.help) return console.log(HELP);
  const workers = positive('workers', values.workers);
  const threads = positive('threads', values.threads);
  const seconds = positive('seconds', values.seconds)!;
  const backends = values.backends?.split(',') ?? BACKENDS;
  const unknown = backends.filter((b) => !(BACKENDS as string[]).includes(b));
  if (unknown.length > 0) fail(`--backends: unknown backend '${unknown[0]}'; valid: ${BACKENDS.join(', ')}`);
  if (values.worker) {
    console.log(JSON.stringify(await measure({ model: values.model!, backend: values.worker, workers, threads, seconds })));
    return;
  }
  let model = values.model;
  let tmp: string | undefined;
  if (!model) {
    tmp = mkdtempSync(path.join(tmpdir(), 'biomedclip-bench-'));
    model = path.join(tmp, 'model');
    console.error('bench: generating a full-size random-weight model with the PyTorch reference...');
    makeRandomFullModel(model);
  }
  try {
    const reports: BenchReport[] = [];
    const passOn = [
      ...(values.workers ? ['--workers', values.workers] : []),
      ...(values.threads ? ['--threads', values.threads] : []),
      '--seconds',
      String(seconds),
    ];
    for (const b of backends) {
      console.error(`bench: ${b}...`);
      const r = child(['--worker', b, '--model', model, ...passOn]);
      if (typeof r === 'string') console.error(`bench: ${b} unavailable: ${r}`);
      else reports.push(r);
    }
    const cores = availableParallelism();
    if (!values['no-torch']) {
      console.error('bench: pytorch reference...');
      const out = execFileSync(
        PYTHON,
        [
          path.join(ROOT, 'scripts/reference/bench_reference.py'),
          '--model',
          model,
          '--threads',
          String(cores),
          '--min-seconds',
          String(seconds),
          ...BENCH_CASES.torchArgs,
        ],
        { encoding: 'utf8' },
      );
      reports.push(fromCaseList(JSON.parse(out), `${cores} thr`));
    }
    if (values.onnx) {
      console.error('bench: onnxruntime...');
      const out = execFileSync(process.execPath, [path.join(ROOT, 'dist/scripts/bench_onnx.js'), '--model', model, '--seconds', String(seconds)], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      reports.push(JSON.parse(out.trim().split('\n').pop()!) as BenchReport);
    }
    const what = tmp ? 'full-size BiomedCLIP (random weights)' : `model ${model}`;
    console.log(`${what}, ${cores} cores; ratios to PyTorch on all cores:\n${table(reports)}`);
    const explainBackends = values['explain-backends'] ?? 'wasm';
    if (explainBackends !== 'none') {
      const script = path.join(ROOT, 'dist', 'scripts', 'bench_explain.js');
      spawnSync(process.execPath, [script, '--model', model, '--backends', explainBackends], { stdio: 'inherit' });
    }
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
