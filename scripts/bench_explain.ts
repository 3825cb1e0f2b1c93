/**
 * Seconds per explanation for each method, beside one forward pass of the same pair (image + text,
 * batch 1, no hooks), so the cost of a method reads as a multiple of the forward pass. `npm run bench`
 * runs it after the embedding benchmark on the same model; alone:
 *
 *   node dist/scripts/bench_explain.js --model DIR [--backends wasm,cpu] [--methods relevance,gradcam]
 *
 * Each backend runs in its own child process. Measurement only.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { BACKENDS, useBackend } from '../src/backends/select.js';
import { explain, METHODS, type Method } from '../src/inspect/explain.js';
import { pairLogit } from '../src/inspect/probe.js';
import { NO_HOOKS } from '../src/model/hooks.js';
import { loadModel } from '../src/model/load.js';

const HELP = `Usage: node dist/scripts/bench_explain.js --model DIR [options]

Seconds per explanation of one image-text pair (a 16-token text) for each method, and one forward pass
of both towers for comparison (the ratio column).

Options:
  --model DIR        model directory (required; npm run bench passes its full-size model)
  --backends LIST    comma-separated, of ${BACKENDS.join(',')} (default: wasm)
  --methods LIST     comma-separated, of ${METHODS.join(',')} (default: all)
  --rounds N         timed rounds after one warm-up round; each case's best is reported (default 3)`;

interface Row {
  name: string;
  seconds: number;
}

async function seconds(run: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await run();
  return (performance.now() - t0) / 1000;
}

/**
 * Every case once per round, interleaved, after one untimed warm-up round; each case's best round is
 * reported: on a shared machine the minimum is the least disturbed by other work, and interleaving keeps
 * a slow spell from landing on one case only.
 */
async function worker(dir: string, backend: string, methods: Method[], rounds: number): Promise<Row[]> {
  await useBackend(backend);
  const model = await loadModel(dir);
  const s = model.config.vision.imageSize;
  const pixels = tf.randomNormal([1, 3, s, s], 0, 1, 'float32', 1) as tf.Tensor4D;
  const ids = tf.tensor2d([[2, ...Array.from({ length: 14 }, (_, i) => 1000 + 37 * i), 3]], undefined, 'int32');
  const cases: Array<[string, () => Promise<unknown>]> = [
    ['forward (image + text)', async () => tf.tidy(() => pairLogit(model, { pixels, ids }, NO_HOOKS)).data()],
    ...methods.map((m): [string, () => Promise<unknown>] => [m, () => explain(model, { pixels, ids }, [m])]),
  ];
  const best = cases.map(() => Infinity);
  for (let round = 0; round <= rounds; round++) {
    for (const [k, [, run]] of cases.entries()) {
      const t = await seconds(run);
      if (round > 0) best[k] = Math.min(best[k], t);
    }
  }
  tf.dispose([pixels, ids]);
  model.dispose();
  return cases.map(([name], k) => ({ name, seconds: best[k] }));
}

function fail(message: string): never {
  console.error(`bench_explain: error: ${message}`);
  process.exit(2);
}

async function main(): Promise<void> {
  let values;
  try {
    values = parseArgs({
      options: {
        model: { type: 'string' },
        backends: { type: 'string' },
        methods: { type: 'string' },
        rounds: { type: 'string' },
        worker: { type: 'string' },
        help: { type: 'boolean' },
      },
    }).values;
  } catch (err) {
    fail(`${(err as Error).message.split('\n')[0]}; see --help`);
  }
  if (values.help) return console.log(HELP);
  if (!values.model) fail('missing --model DIR');
  const methods = (values.methods?.split(',') ?? [...METHODS]) as Method[];
  const unknown = methods.find((m) => !METHODS.includes(m));
  if (unknown) fail(`--methods: unknown method '${unknown}'; valid: ${METHODS.join(', ')}`);
  const rounds = Number(values.rounds ?? 3);
  if (!Number.isInteger(rounds) || rounds < 1) fail(`--rounds ${values.rounds}: expected a positive integer`);
  if (values.worker) {
    console.log(JSON.stringify(await worker(values.model, values.worker, methods, rounds)));
    return;
  }
  const backends = values.backends?.split(',') ?? ['wasm'];
  const bad = backends.find((b) => !(BACKENDS as string[]).includes(b));
  if (bad) fail(`--backends: unknown backend '${bad}'; valid: ${BACKENDS.join(', ')}`);
  for (const b of backends) {
    console.error(`bench_explain: ${b}...`);
    const r = spawnSync(
      process.execPath,
      [fileURLToPath(import.meta.url), '--worker', b, '--model', values.model, '--methods', methods.join(','), '--rounds', String(rounds)],
      { encoding: 'utf8' },
    );
    if (r.status !== 0) {
      console.error(`bench_explain: ${b} unavailable: ${(r.stderr || r.stdout).trim().split('\n').pop()}`);
      continue;
    }
    const rows = JSON.parse(r.stdout) as Row[];
    const forward = rows[0].seconds;
    console.log(
      `Seconds per explanation on ${b}, best of ${rounds} interleaved rounds (one image, a 16-token text; ratio to one forward pass), model ${values.model}:`,
    );
    for (const row of rows) console.log(`  ${row.name.padEnd(24)} ${row.seconds.toFixed(3).padStart(9)} s  ${(row.seconds / forward).toFixed(2).padStart(6)}x`);
  }
}

await main();
