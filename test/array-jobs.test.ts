/**
 * The array-job recipes of docs/retrieval.md run as written (issue 23): the Slurm batch script and the
 * Kubernetes Indexed Job's container command are read out of the doc and run, one process per task, with
 * the variables the scheduler would set (SLURM_ARRAY_TASK_ID/COUNT, SLURM_CPUS_PER_TASK;
 * JOB_COMPLETION_INDEX). The only substitutions are the ones a cluster makes: the folders (the script's
 * IMAGES/INDEX/MODEL variables; the volume's mount point /data) and `biomedclip` on PATH. Each recipe must
 * leave one complete index holding every image once, which `search` answers from.
 */
// test tier: full (32 processes each loading TensorFlow.js and the model: about a minute of CPU)
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { mulberry32 } from '../src/util/random.js';
import { cliInProcess, REPO_ROOT, tempDemoModel } from './helpers.js';
import { indexRows } from './index-rows.js';

const { dir, model } = tempDemoModel('biomedclip-array-jobs-');
const N_IMAGES = 20;
const doc = readFileSync(path.join(REPO_ROOT, 'docs', 'retrieval.md'), 'utf8');
let bin = '';

before(() => {
  // The cluster's /data volume: figures and the model under it, as the recipes expect.
  const figures = path.join(dir, 'data', 'figures');
  mkdirSync(figures, { recursive: true });
  for (let i = 0; i < N_IMAGES; i++) {
    const next = mulberry32(500 + i);
    const img = new PNG({ width: 12, height: 12 });
    for (let p = 0; p < img.data.length; p++) img.data[p] = p % 4 === 3 ? 255 : Math.floor(255 * next());
    writeFileSync(path.join(figures, `fig${i}.png`), PNG.sync.write(img));
  }
  bin = path.join(dir, 'bin');
  mkdirSync(bin);
  // `biomedclip` on PATH, as `npm link` (or a global install) puts it.
  writeFileSync(path.join(bin, 'biomedclip'), `#!/bin/sh\nexec "${process.execPath}" "${path.join(REPO_ROOT, 'bin', 'biomedclip.js')}" "$@"\n`);
  chmodSync(path.join(bin, 'biomedclip'), 0o755);
});

/** The fenced block of `lang` that follows `heading` in the doc. */
function block(heading: string, lang: string): string {
  const after = doc.slice(doc.indexOf(heading));
  const m = new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(after);
  assert.ok(m, `docs/retrieval.md: a ${lang} block under ${heading}`);
  return m[1];
}

/** Runs `argv` with `env`, at most `limit` at a time; every exit code. */
async function runAll(tasks: { argv: string[]; env: Record<string, string> }[], limit = 4): Promise<{ code: number | null; stderr: string }[]> {
  const results: { code: number | null; stderr: string }[] = [];
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      const [cmd, ...args] = tasks[i].argv;
      const child = spawn(cmd, args, { env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, ...tasks[i].env }, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      results[i] = { code: await new Promise((resolve) => child.on('exit', resolve)), stderr };
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return results;
}

async function assertComplete(index: string, shards: number): Promise<void> {
  const info = JSON.parse(readFileSync(path.join(index, 'index.json'), 'utf8'));
  assert.deepEqual([info.complete, info.count, info.shards.count, info.shards.done.length], [true, N_IMAGES, shards, shards]);
  const rows = await indexRows(index, 64);
  assert.equal(new Set(rows.map((r) => r.path)).size, N_IMAGES, 'every image once');
  const r = await cliInProcess('search', index, 'a figure', '--json', '--backend', 'wasm', '--quiet');
  assert.equal(r.code, 0, r.stderr.join('\n'));
  assert.equal(JSON.parse(r.out).count, N_IMAGES);
}

test('the Slurm script of docs/retrieval.md, one process per array task, builds one complete index', async () => {
  const script = path.join(dir, 'index.sbatch');
  writeFileSync(script, block('### Slurm', 'sh'));
  const tasks = Number(/#SBATCH --array=0-(\d+)/.exec(readFileSync(script, 'utf8'))?.[1]) + 1;
  const index = path.join(dir, 'data', 'pmc-oa.index');
  const env = { IMAGES: path.join(dir, 'data', 'figures'), INDEX: index, MODEL: model, SLURM_ARRAY_TASK_COUNT: String(tasks), SLURM_CPUS_PER_TASK: '1' };
  const results = await runAll(Array.from({ length: tasks }, (_, k) => ({ argv: ['bash', script], env: { ...env, SLURM_ARRAY_TASK_ID: String(k) } })));
  assert.deepEqual(
    results.map((r) => r.code),
    new Array(tasks).fill(0),
    results.map((r) => r.stderr).join('\n'),
  );
  await assertComplete(index, tasks);
});

test('the Kubernetes Indexed Job of docs/retrieval.md, one process per completion index, builds one complete index', async () => {
  const yaml = block('### Kubernetes', 'yaml');
  const completions = Number(/completions: (\d+)/.exec(yaml)?.[1]);
  const command = JSON.parse(/command: (\[.*\])/.exec(yaml)?.[1] ?? '[]') as string[];
  assert.equal(command[0], 'biomedclip');
  // The volume's mount point, /data, is this test's data folder; the model sits where the manifest says.
  const mounted = command.map((a) => a.replace(/^\/data\//, `${path.join(dir, 'data')}/`));
  const modelDir = mounted[mounted.indexOf('--model') + 1];
  cpSync(model, modelDir, { recursive: true });
  const results = await runAll(Array.from({ length: completions }, (_, k) => ({ argv: mounted, env: { JOB_COMPLETION_INDEX: String(k) } })));
  assert.deepEqual(
    results.map((r) => r.code),
    new Array(completions).fill(0),
    results.map((r) => r.stderr).join('\n'),
  );
  await assertComplete(mounted[mounted.indexOf('--out') + 1], completions);
});
