/**
 * A model directory is replaced as a whole or not at all (issue 10, item 2): converting into a directory
 * that holds a working model, a conversion that fails partway, or is killed, leaves the previous model
 * loading exactly as before; the next run removes what a killed one left; files the user put in the
 * directory survive a replacement. Checkpoints come from scripts/make_torch_fixtures.py (Debian's torch).
 */
// test tier: full (PyTorch-made checkpoints: /usr/bin/python3 with torch)
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { useBackend } from '../src/backends/select.js';
import { convertCheckpoint, type ConvertOptions } from '../src/convert/convert.js';
import { loadModel } from '../src/model/load.js';
import { recoverDirectory } from '../src/util/atomic-dir.js';
import { REPO_ROOT, TORCH_PYTHON } from './helpers.js';
import { makeTorchFixtures } from './fixtures/weights/make.js';

let fx = '';
let work = '';

before(async () => {
  await useBackend('cpu');
  fx = makeTorchFixtures();
  work = mkdtempSync(path.join(os.tmpdir(), 'model-dir-replace-'));
  process.on('exit', () => rmSync(work, { recursive: true, force: true }));
});

function convert(checkpoint: string, outDir: string, extra: Partial<ConvertOptions> = {}) {
  return convertCheckpoint({
    checkpoint: path.join(fx, checkpoint),
    outDir,
    config: path.join(fx, 'open_clip_config.json'),
    vocab: path.join(fx, 'vocab.txt'),
    ...extra,
  });
}

/** Every file of a directory with its bytes, to prove it is exactly as before. */
function snapshot(dir: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(dir)
      .sort()
      .map((f) => [f, readFileSync(path.join(dir, f)).toString('base64')]),
  );
}

/** No staging directory beside `dir` and no temporary file inside it. */
function noTemporaries(dir: string): void {
  const beside = readdirSync(path.dirname(dir)).filter((f) => f.startsWith(`.${path.basename(dir)}.`));
  assert.deepEqual(beside, [], 'no staging or old directory beside the model');
  if (existsSync(dir))
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.includes('.tmp-')),
      [],
      'no temporary file inside it',
    );
}

async function loads(dir: string): Promise<void> {
  const model = await loadModel(dir);
  model.dispose();
}

/** A pid that no longer exists: a process that ran and exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

test('a conversion that fails partway (CRC error) leaves the previous model exactly as it was', async () => {
  const dir = path.join(work, 'failing');
  await convert('tiny.pt', dir);
  const before = snapshot(dir);
  // The failing run brings its own config (same shapes, another preprocessing mean): it must not replace the old one.
  const other = JSON.parse(readFileSync(path.join(fx, 'open_clip_config.json'), 'utf8'));
  other.preprocess_cfg.mean = [0.5, 0.5, 0.5];
  writeFileSync(path.join(work, 'other_config.json'), JSON.stringify(other));
  await assert.rejects(convert('hostile_corrupt.pt', dir, { config: path.join(work, 'other_config.json') }), /CRC-32/);
  assert.deepEqual(snapshot(dir), before);
  await loads(dir);
  noTemporaries(dir);
  // Refused before writing (absurd config): --out is not even created.
  const fresh = path.join(work, 'never-created');
  await assert.rejects(convert('tiny_huge_vocab.pt', fresh, { config: path.join(fx, 'huge_vocab_config.json') }), /beyond the limit/);
  assert.equal(existsSync(fresh), false, 'a refused conversion leaves no --out directory, not even its config');
  noTemporaries(fresh);
});

test('a successful replacement swaps every model file together and keeps the files the user put there', async () => {
  const dir = path.join(work, 'replaced');
  await convert('tiny.pt', dir);
  writeFileSync(path.join(dir, 'NOTES.md'), 'my notes\n');
  copyFileSync(path.join(fx, 'tiny.pt'), path.join(dir, 'tiny.pt'));
  mkdirSync(path.join(dir, 'extra'));
  writeFileSync(path.join(dir, 'extra', 'a.txt'), 'a');
  // The new model has no vocab: the old vocab.txt must not survive beside weights it does not belong to.
  const alone = path.join(work, 'alone');
  mkdirSync(alone);
  copyFileSync(path.join(fx, 'tiny_f16.pt'), path.join(alone, 'tiny_f16.pt'));
  const report = await convert('tiny_f16.pt', dir, { checkpoint: path.join(alone, 'tiny_f16.pt'), vocab: undefined, dtype: 'f16' });
  assert.deepEqual(readdirSync(dir).sort(), ['NOTES.md', 'extra', 'fingerprint.json', 'model.safetensors', 'open_clip_config.json', 'tiny.pt']);
  assert.equal(readFileSync(path.join(dir, 'NOTES.md'), 'utf8'), 'my notes\n');
  assert.equal(readFileSync(path.join(dir, 'extra', 'a.txt'), 'utf8'), 'a');
  assert.equal(JSON.parse(readFileSync(path.join(dir, 'fingerprint.json'), 'utf8')).weights.sha256, report.sha256);
  await loads(dir);
  // Converting a checkpoint that lives in --out itself keeps the checkpoint.
  await convert('tiny.pt', dir, { checkpoint: path.join(dir, 'tiny.pt') });
  assert.deepEqual(readFileSync(path.join(dir, 'tiny.pt')), readFileSync(path.join(fx, 'tiny.pt')));
  await loads(dir);
  noTemporaries(dir);
});

test('leftovers of killed runs are cleaned by the next run; a run killed mid-swap is undone', async () => {
  const dir = path.join(work, 'killed');
  await convert('tiny.pt', dir);
  const before = snapshot(dir);
  const pid = deadPid();
  // Killed while building: a staging directory beside the model and (older versions) a temporary file inside.
  mkdirSync(path.join(work, `.killed.tmp-${pid}-0badc0de`));
  writeFileSync(path.join(work, `.killed.tmp-${pid}-0badc0de`, 'model.safetensors'), 'partial');
  writeFileSync(path.join(dir, `.model.safetensors.tmp-${pid}-12345678`), Buffer.alloc(1 << 20));
  const notes: string[] = [];
  await convert('tiny.pt', dir, { onNote: (m) => notes.push(m) });
  assert.ok(
    notes.some((n) => /removed 2 temporary file\(s\) left by killed runs/.test(n)),
    notes.join(' | '),
  );
  noTemporaries(dir);
  // Killed between the two renames of the swap: the model is away under its old-name; recovery restores it.
  const old = path.join(work, `.killed.old-${pid}-feedf00d`);
  const snap = snapshot(dir);
  assert.deepEqual(Object.keys(snap), Object.keys(before));
  renameSync(dir, old);
  recoverDirectory(dir);
  assert.deepEqual(snapshot(dir), snap);
  await loads(dir);
  noTemporaries(dir);
});

test('convert killed with SIGKILL while writing: the previous model still loads; the next run cleans up', async () => {
  // A checkpoint big enough (word embedding 400,000 x 32 = 51 MB) that the kill lands while it is written.
  const big = path.join(work, 'big');
  mkdirSync(big);
  const script = `
import collections, json, sys, torch
cfg = json.load(open(sys.argv[1])); cfg['model_cfg']['text_cfg']['hf_model_config']['vocab_size'] = 400000
json.dump(cfg, open(sys.argv[2] + '/open_clip_config.json', 'w'))
sd = torch.load(sys.argv[3])
sd['text.transformer.embeddings.word_embeddings.weight'] = torch.randn(400000, 32) * 0.02
torch.save(sd, sys.argv[2] + '/big.pt')
`;
  const py = spawnSync(TORCH_PYTHON, ['-c', script, path.join(fx, 'open_clip_config.json'), big, path.join(fx, 'tiny.pt')], { encoding: 'utf8' });
  assert.equal(py.status, 0, py.stderr);
  const dir = path.join(work, 'sigkill');
  await convert('tiny.pt', dir);
  const before = snapshot(dir);
  const child = spawn(
    process.execPath,
    [path.join(REPO_ROOT, 'bin', 'biomedclip.js'), 'convert', path.join(big, 'big.pt'), '--out', dir, '--config', path.join(big, 'open_clip_config.json')],
    { stdio: 'ignore' },
  );
  const staging = () => readdirSync(work).find((f) => f.startsWith(`.sigkill.tmp-${child.pid}-`));
  const deadline = Date.now() + 60_000;
  // Wait until the new model file is being written inside the staging directory, then kill.
  for (;;) {
    const s = staging();
    const partial = s && readdirSync(path.join(work, s)).find((f) => f.startsWith('.model.safetensors.tmp-'));
    if (partial && statSync(path.join(work, s, partial)).size > 0) break;
    assert.ok(Date.now() < deadline && child.exitCode === null, 'the conversion was caught while writing');
    await new Promise((r) => setTimeout(r, 2));
  }
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  assert.ok(staging(), 'the killed run left its staging directory');
  assert.deepEqual(snapshot(dir), before, 'the previous model is untouched');
  await loads(dir);
  await convert('tiny.pt', dir);
  noTemporaries(dir);
});
