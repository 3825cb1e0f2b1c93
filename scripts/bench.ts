/**
 * `npm run bench`: throughput and memory of the TS model on every available backend, beside the PyTorch
 * reference measured the same way (same thread count, same cases), with ratios. Measurement only.
 *
 *   npm run bench -- [--model DIR] [--backends wasm,cpu] [--threads N] [--image-batches 1,8] [--no-torch]
 *   npm run bench -- --help
 *
 * Without --model, a full-size random-weight model is generated with the PyTorch reference into a temp dir
 * (speed does not depend on the weights' values). Each backend runs in its own child process, so each peak
 * RSS is that backend's alone.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { BACKENDS, useBackend } from '../src/backend.js';
import { loadModel } from '../src/model/load.js';
import type { BiomedCLIPModel } from '../src/model/clip.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const PYTHON = process.env.BIOMEDCLIP_PYTHON ?? '/usr/bin/python3';

interface Case { name: string; batch: number; iterations: number; ms_per_batch: number; embeddings_per_s: number }
/** `threads` is what the backend really used: wasm in Node has no thread support (1), cpu is plain JS (1),
 * tensorflow sizes its own pool ('native'); only PyTorch takes --threads. */
interface Report { backend: string; threads: number | string; load_s: number; peak_rss_bytes: number; cases: Case[] }

const HELP = `Usage: npm run bench -- [options]

Embeddings per second and peak memory of the TS model on each backend, beside the PyTorch reference on
the same cases (image batches, 8 short labels, 8 texts of 256 tokens), with ratios to PyTorch.

Options:
  --model DIR            model directory (default: a full-size random-weight model made by the
                         PyTorch reference in a temp dir; needs Debian's python3-torch)
  --backends LIST        comma-separated, of tensorflow,wasm,cpu (default: all; absent ones are reported)
  --threads N            PyTorch's thread count (default: all cores); pass 1 to compare with the
                         single-threaded wasm and cpu backends thread for thread
  --image-batches LIST   image batch sizes (default 1,8; batch 8 on cpu takes minutes at full size)
  --no-torch             skip the PyTorch side
  --explain-backends L   backends for the seconds-per-explanation table that follows (default wasm;
                         scripts/bench_explain.ts, same model); 'none' skips it

Examples:
  npm run bench -- --backends wasm --image-batches 1
  npm run bench -- --model ./biomedclip --threads 1`;

/** Threads the current backend computes with (see Report.threads). */
async function threadsUsed(backend: string): Promise<number | string> {
  if (backend === 'wasm') return (await import('@tensorflow/tfjs-backend-wasm')).getThreadsCount();
  return backend === 'cpu' ? 1 : 'native';
}

/** Times `run` (after one warm-up call) for at least one batch and about 2 seconds. */
async function timeCase(name: string, batch: number, run: () => tf.Tensor): Promise<Case> {
  const once = async () => {
    const out = run();
    await out.data(); // forces the backend to finish
    out.dispose();
  };
  await once();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < 1 || performance.now() - start < 2000) {
    const t0 = performance.now();
    await once();
    times.push(performance.now() - t0);
  }
  const mean = times.reduce((a, b) => a + b) / times.length;
  return { name, batch, iterations: times.length, ms_per_batch: +mean.toFixed(2), embeddings_per_s: +((batch * 1000) / mean).toFixed(3) };
}

function randomIds(batch: number, tokens: number, vocab: number): tf.Tensor2D {
  const ids = new Int32Array(batch * tokens);
  for (let i = 0; i < ids.length; i++) ids[i] = i % tokens === 0 ? 2 : i % tokens === tokens - 1 ? 3 : 5 + Math.floor(Math.random() * (vocab - 5));
  return tf.tensor2d(ids, [batch, tokens], 'int32');
}

async function worker(model: string, backend: string, imageBatches: number[]): Promise<Report> {
  await useBackend(backend);
  const t0 = performance.now();
  const m: BiomedCLIPModel = await loadModel(model);
  const load_s = +((performance.now() - t0) / 1000).toFixed(3);
  const s = m.config.vision.imageSize;
  const cases: Case[] = [];
  for (const batch of imageBatches) {
    const px = tf.randomNormal([batch, 3, s, s]) as tf.Tensor4D;
    cases.push(await timeCase(`image batch ${batch}`, batch, () => tf.tidy(() => m.encodeImage(px))));
    px.dispose();
  }
  for (const [tokens, label] of [[8, '8-token labels'], [256, '256-token texts']] as const) {
    const ids = randomIds(8, tokens, m.config.text.vocabSize);
    cases.push(await timeCase(`text ${label}`, 8, () => tf.tidy(() => m.encodeText(ids))));
    ids.dispose();
  }
  m.dispose();
  return { backend, threads: await threadsUsed(backend), load_s, peak_rss_bytes: process.resourceUsage().maxRSS * 1024, cases };
}

function child(args: string[]): Report | string {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), ...args], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) return (r.stderr || r.stdout).trim().split('\n').pop() ?? 'failed';
  return JSON.parse(r.stdout) as Report;
}

function table(reports: Report[]): string {
  const torch = reports.find((r) => r.backend === 'pytorch');
  const names = reports[0].cases.map((c) => c.name);
  const rows = [['backend', 'load s', 'peak RSS MB', ...names.map((n) => `${n} /s`)]];
  for (const r of reports) {
    const ratio = (i: number) => {
      const ref = torch?.cases.find((c) => c.name === r.cases[i].name);
      return ref && r !== torch ? ` (${(r.cases[i].embeddings_per_s / ref.embeddings_per_s).toFixed(2)}x)` : '';
    };
    rows.push([`${r.backend} (${r.threads} thr)`, r.load_s.toFixed(2), (r.peak_rss_bytes / 2 ** 20).toFixed(0), ...names.map((n) => {
      const i = r.cases.findIndex((c) => c.name === n);
      return i < 0 ? '-' : `${r.cases[i].embeddings_per_s.toFixed(2)}${ratio(i)}`;
    })]);
  }
  const widths = rows[0].map((_, j) => Math.max(...rows.map((row) => row[j].length)));
  return rows.map((row) => row.map((c, j) => c.padEnd(widths[j])).join('  ')).join('\n');
}

function fail(message: string): never {
  console.error(`bench: error: ${message}`);
  process.exit(2);
}

function options() {
  try {
    return parseArgs({
      options: { model: { type: 'string' }, backends: { type: 'string' }, threads: { type: 'string' }, 'no-torch': { type: 'boolean' }, worker: { type: 'string' }, 'image-batches': { type: 'string' }, 'explain-backends': { type: 'string' }, help: { type: 'boolean' } },
    }).values;
  } catch (err) {
    fail(`${(err as Error).message.split('\n')[0]}; see npm run bench -- --help`);
  }
}

async function main(): Promise<void> {
  const values = options();
  if (values.help) return console.log(HELP);
  const threads = Number(values.threads ?? availableParallelism());
  if (!Number.isInteger(threads) || threads < 1) fail(`--threads ${values.threads}: expected a positive integer`);
  // Batch 8 on the pure-JS cpu backend takes minutes; `--image-batches 1` keeps a quick run quick.
  const imageBatchesArg = values['image-batches'] ?? '1,8';
  const imageBatches = imageBatchesArg.split(',').map(Number);
  if (!imageBatches.every((b) => Number.isInteger(b) && b >= 1)) fail(`--image-batches ${imageBatchesArg}: expected positive integers, e.g. 1,8`);
  const backends = values.backends?.split(',') ?? BACKENDS;
  const unknown = backends.filter((b) => !(BACKENDS as string[]).includes(b));
  if (unknown.length > 0) fail(`--backends: unknown backend '${unknown[0]}'; valid: ${BACKENDS.join(', ')}`);
  if (values.worker) {
    console.log(JSON.stringify(await worker(values.model!, values.worker, imageBatches)));
    return;
  }
  let model = values.model;
  let tmp: string | undefined;
  if (!model) {
    tmp = mkdtempSync(path.join(tmpdir(), 'biomedclip-bench-'));
    model = tmp;
    console.error('bench: generating a full-size random-weight model with the PyTorch reference...');
    execFileSync(PYTHON, [path.join(ROOT, 'scripts/reference/make_reference.py'), '--size', 'full', '--seed', '0', '--out', model], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  try {
    const reports: Report[] = [];
    for (const b of backends) {
      console.error(`bench: ${b}...`);
      const r = child(['--worker', b, '--model', model, '--image-batches', imageBatchesArg]);
      if (typeof r === 'string') console.error(`bench: ${b} unavailable: ${r}`);
      else reports.push(r);
    }
    if (!values['no-torch']) {
      console.error('bench: pytorch reference...');
      const out = execFileSync(PYTHON, [path.join(ROOT, 'scripts/reference/bench_reference.py'), '--model', model, '--threads', String(threads), '--image-batches', imageBatchesArg], { encoding: 'utf8' });
      reports.push(JSON.parse(out) as Report);
    }
    const what = tmp ? 'full-size BiomedCLIP (random weights)' : `model ${model}`;
    console.log(`Embeddings per second (ratio to PyTorch; PyTorch given ${threads} threads), ${what}:\n${table(reports)}`);
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
