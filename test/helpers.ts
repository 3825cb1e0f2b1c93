/**
 * Shared test utilities: where the repository and ../shared are, and how parity tests report differences.
 */
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Command } from '../src/cli/command.js';
import { writeDemoModel } from '../src/demo/demo-model.js';

/** Repository root (tests run compiled from dist/test/). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The read-only data folder beside the checkout; BIOMEDCLIP_SHARED overrides it. */
export const SHARED_DIR = process.env.BIOMEDCLIP_SHARED ?? path.resolve(REPO_ROOT, '..', 'shared');

export const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures');

/** The model card's two example images, shipped in assets/examples/ (MIT; see assets/README.md). */
export const EXAMPLE_IMAGES = {
  squamous: path.join(REPO_ROOT, 'assets', 'examples', 'squamous_cell_carcinoma_histopathology.jpeg'),
  adenocarcinoma: path.join(REPO_ROOT, 'assets', 'examples', 'adenocarcinoma_histopathology.jpg'),
};

/**
 * A temp directory for this test file, holding the demo model at `model` (written before the file's tests,
 * removed with the directory after them); the paths are known at once, so tests can name them directly.
 * A file's own `before` hook may run first: it awaits `ready()` before using the model.
 */
export function tempDemoModel(prefix: string): { dir: string; model: string; ready: () => Promise<void> } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  const model = path.join(dir, 'demo');
  let written: Promise<void> | undefined;
  const ready = () => (written ??= writeDemoModel(model));
  before(ready);
  after(() => rmSync(dir, { recursive: true, force: true }));
  return { dir, model, ready };
}

/** The Python that has Debian's torch/torchvision/PIL (plain `python3` may be another interpreter). */
export const TORCH_PYTHON = process.env.BIOMEDCLIP_PYTHON ?? '/usr/bin/python3';

/**
 * The backends a parity test runs on: `defaults`, or the comma-separated BIOMEDCLIP_TEST_BACKENDS
 * (scripts/gpu-check.sh sets it to the GPU backends).
 */
export function testBackends(defaults: string[]): string[] {
  return process.env.BIOMEDCLIP_TEST_BACKENDS?.split(',') ?? defaults;
}

/** The parity tool's own comparison (max abs/rel error, cosine), so tests and `biomedclip parity` agree. */
export { diffArrays as diffStats, type ArrayDiff as DiffStats } from '../src/parity/compare.js';
import type { ArrayDiff as DiffStats } from '../src/parity/compare.js';

/** Prints what a parity check saw, so CI logs show the margin and not just pass/fail. */
export function reportDiff(label: string, stats: DiffStats, tolerance: number): void {
  console.log(`${label}: max|diff| ${stats.maxAbs.toExponential(2)} (tolerance ${tolerance.toExponential(0)}), ` + `cosine ${stats.cosine.toFixed(8)}`);
}

/** Runs a CLI command in this process, capturing what it prints on stdout and stderr. */
export async function runCommand(cmd: Command, args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...a: unknown[]) => void out.push(a.join(' '));
  console.error = (...a: unknown[]) => void err.push(a.join(' '));
  try {
    const code = await cmd.run(args);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
  }
}

/** Runs `biomedclip ARGS...` in a child process, as a user would. */
export function cli(...args: string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'biomedclip.js'), ...args], { encoding: 'utf8' });
}

/** What `cliInProcess` gives back: exit code, stdout, the error lines, and every line written to stderr. */
export interface InProcessRun {
  code: number;
  out: string;
  errors: string[];
  stderr: string[];
}

/**
 * Runs the CLI in this process: `main()` is what bin/biomedclip.js runs, so exit codes and messages are the
 * CLI's, without a child process that loads TensorFlow.js and the model again (about a CPU-second each).
 * stdout is what console.log printed; stderr is every line, console.error's and direct writes alike.
 * Keep a child process (`cli`) where the process itself is under test: the launcher, signals, pipes, env.
 */
export async function cliInProcess(...args: string[]): Promise<InProcessRun> {
  const { main } = await import('../src/cli/main.js');
  const out: string[] = [];
  const err: string[] = [];
  const saved = { log: console.log, error: console.error, write: process.stderr.write };
  console.log = (...a: unknown[]) => void out.push(a.join(' '));
  console.error = (...a: unknown[]) => void err.push(a.join(' '));
  // (stdout's own writes stay: under `node --test` they carry the test runner's reports.)
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    err.push(...text.replace(/\n$/, '').split('\n'));
    (rest.find((r) => typeof r === 'function') as (() => void) | undefined)?.(); // the write's callback: done
    return true;
  }) as typeof process.stderr.write;
  try {
    const code = await main(args);
    return { code, out: out.join('\n'), errors: err.filter((l) => l.startsWith('biomedclip: error:')), stderr: err };
  } finally {
    console.log = saved.log;
    console.error = saved.error;
    process.stderr.write = saved.write;
  }
}

/**
 * The rule for bad input: exit `code`, exactly one error line matching `pattern`, nothing on stdout; for a
 * child process (`cli`) or a run in this process (`cliInProcess`).
 */
export function oneErrorLine(r: SpawnSyncReturns<string> | InProcessRun, code: number, pattern: RegExp): string {
  const [status, stdout, stderr] = 'status' in r ? [r.status, r.stdout, r.stderr] : [r.code, r.out, r.stderr.join('\n')];
  assert.equal(status, code, stderr);
  const errors = stderr.split('\n').filter((l) => l.startsWith('biomedclip: error:'));
  assert.equal(errors.length, 1, stderr);
  assert.match(errors[0], pattern);
  assert.equal(stdout, '', 'nothing on stdout');
  return errors[0];
}

/** `count` unit rows ([count, dim], row-major) of dimension `dim`, from a seeded generator. */
export function unitRows(count: number, dim: number, next: () => number): Float32Array {
  const out = new Float32Array(count * dim);
  for (let i = 0; i < count; i++) {
    let norm = 0;
    for (let j = 0; j < dim; j++) norm += (out[i * dim + j] = next() - 0.5) ** 2;
    for (let j = 0; j < dim; j++) out[i * dim + j] /= Math.sqrt(norm);
  }
  return out;
}
