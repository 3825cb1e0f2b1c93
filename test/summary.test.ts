/**
 * `biomedclip summary`: the public checkpoint's 195,902,721 parameters counted from its real
 * open_clip_config.json (no weights), the config-computed shapes equal to those a real forward pass
 * records, and the module tree's counts adding up.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { useBackend } from '../src/backends/select.js';
import { loadConfigFile } from '../src/model/load.js';
import { loadModel } from '../src/model/load.js';
import { expectedTensorShapes } from '../src/model/spec.js';
import { pointShapes } from '../src/model/spec.js';
import { recordHookShapes, summarize, type SummaryRow } from '../src/model/summary.js';
import { FIXTURES, REPO_ROOT, SHARED_DIR } from './helpers.js';

const TINY = path.join(FIXTURES, 'tiny');
const MODEL_FILES = path.join(SHARED_DIR, 'data', 'model-files');

function summary(...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'biomedclip.js'), 'summary', '--quiet', ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Each row with children holds exactly what its direct children hold. */
function assertCountsAddUp(rows: SummaryRow[]): void {
  for (let i = 0; i < rows.length; i++) {
    const kids = [];
    for (let j = i + 1; j < rows.length && rows[j].depth > rows[i].depth; j++) if (rows[j].depth === rows[i].depth + 1) kids.push(rows[j]);
    if (kids.length === 0) continue;
    assert.equal(
      kids.reduce((a, r) => a + r.parameters, 0),
      rows[i].parameters,
      `children of ${rows[i].name}`,
    );
  }
}

for (const file of ['open_clip_config.json', 'open_clip_config.legacy.json']) {
  test(`the public checkpoint has 195,902,721 parameters, counted from ${file} alone`, () => {
    const r = summary('--config', path.join(MODEL_FILES, file), '--json');
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(out.totals, { visual: 86_191_872, text: 109_710_848, logit_scale: 1, total: 195_902_721 });
    const row = (name: string) => out.rows.find((x: SummaryRow) => x.name === name);
    assert.deepEqual(row('visual.trunk.patch_embed').outputShape, [1, 196, 768]);
    assert.deepEqual(row('visual.trunk.blocks.11.attn.probs').outputShape, [1, 12, 197, 197]);
    assert.deepEqual(row('text.transformer.encoder.layer.0.attention.self.probs').outputShape, [1, 12, 8, 8]);
    assert.equal(row('visual.trunk.blocks.0.attn.qkv').parameters, 2304 * 768 + 2304);
    assert.equal(row('text.transformer.embeddings.word_embeddings').parameters, 30522 * 768);
    assert.equal(row('text.proj').parameters, 640 * 768 + 512 * 640);
    assert.deepEqual(row('visual.trunk.pos_embed').parameterShape, [1, 197, 768]);
    assertCountsAddUp(out.rows);
    // "tensors", the key table scripts/make_torch_fixtures.py builds checkpoints from: 351 keys holding every value.
    const tensors: Array<{ name: string; shape: number[] }> = out.tensors;
    assert.equal(tensors.length, 351);
    const values = tensors.reduce((a, t) => a + t.shape.reduce((p, d) => p * d, 1), 0);
    assert.equal(values, 195_902_721);
    assert.deepEqual(tensors[0], { name: 'logit_scale', shape: [] });
    assert.deepEqual(tensors.find((t) => t.name === 'visual.trunk.blocks.0.attn.qkv.weight')?.shape, [2304, 768], 'Linear weights [out, in]');
  });
}

test('the table prints the totals and honours --depth', () => {
  const r = summary('--config', path.join(MODEL_FILES, 'open_clip_config.json'), '--depth', '1');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /total parameters:\s+195,902,721/);
  assert.match(r.stdout, /^ {2}visual\.trunk\s+-\s+85,798,656$/m);
  assert.doesNotMatch(r.stdout, /blocks/);
});

test('the shapes the modules declare equal those a real forward pass records (tiny model, cpu)', async () => {
  await useBackend('cpu');
  const model = await loadModel(TINY);
  const recorded = recordHookShapes(model);
  const computed = pointShapes(model.config, { images: 1, texts: 1, tokens: 8 });
  assert.deepEqual([...recorded.keys()], [...computed.keys()], 'same hooks in the same forward order');
  for (const [name, shape] of recorded) assert.deepEqual(shape, computed.get(name), name);
  const s = summarize(model.config, recorded);
  assert.equal(s.totals.total, model.parameterCount());
  model.dispose();
});

test('summary --model runs a forward pass; every hook and every tensor is accounted for', () => {
  const r = summary('--model', TINY, '--backend', 'cpu', '--json');
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.match(out.source, /forward pass/);
  const names = new Set(out.rows.map((x: SummaryRow) => x.name));
  for (const key of expectedTensorShapes(loadConfigFile(path.join(TINY, 'open_clip_config.json'))).keys()) {
    const module = key.replace(/\.(weight|bias)$/, '');
    assert.ok(names.has(module), `no row for ${module}`);
  }
  assert.equal(out.rows.filter((x: SummaryRow) => x.name.endsWith('.probs')).length, 4, '2 vision blocks + 2 text layers');
  assertCountsAddUp(out.rows);
});

test('user errors: both sources, a bad depth, a missing config', () => {
  assert.equal(summary('--config', 'x.json', '--model', TINY).code, 2);
  assert.equal(summary('--config', path.join(MODEL_FILES, 'open_clip_config.json'), '--depth', '-1').code, 2);
  const missing = summary('--config', path.join(TINY, 'nope.json'));
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^biomedclip: error: .*nope\.json: cannot read \(ENOENT\); check the path/);
});

test("the parts are exported under 'biomedclip-ts/model': one block built alone declares its keys and points", async () => {
  const m = await import('biomedclip-ts/model');
  const recorder = new m.SpecRecorder();
  const cfg = m.loadConfigFile(path.join(TINY, 'open_clip_config.json'));
  new m.VitBlock(recorder, 'probe.block', cfg.vision);
  assert.deepEqual([...recorder.params.keys()].slice(0, 4), [
    'probe.block.norm1.weight',
    'probe.block.norm1.bias',
    'probe.block.attn.qkv.weight',
    'probe.block.attn.qkv.bias',
  ]);
  assert.deepEqual(recorder.params.get('probe.block.attn.qkv.weight'), [96, 32], 'PyTorch layout [out, in]');
  assert.deepEqual(
    recorder.points.map((p) => p.name),
    ['norm1', 'attn.qkv', 'attn.scores', 'attn.probs', 'attn.context', 'attn.proj', 'attn', 'resid_mid', 'norm2', 'mlp.fc1', 'mlp.act', 'mlp.fc2', 'mlp']
      .map((n) => `probe.block.${n}`)
      .concat('probe.block'),
  );
  assert.deepEqual(
    recorder.points.find((p) => p.name === 'probe.block.attn.probs'),
    { name: 'probe.block.attn.probs', shape: ['B', 2, 17, 17], kind: 'probs' },
  );
});
