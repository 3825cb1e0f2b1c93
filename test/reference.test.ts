/**
 * The committed tiny PyTorch-reference fixture is well-formed: both safetensors files parse, their tensors
 * tile the data buffer exactly, and golden.safetensors holds exactly the hook points `biomedclip summary
 * --json` lists (the TS modules' own declarations), each with its declared shape. The file is parsed here
 * without src/, so a broken fixture fails here and not only in the parity tests; the Python reference
 * derives its points from its own modules, so this is where the two independent descriptions meet.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { FIXTURES, REPO_ROOT } from './helpers.js';

const TINY = path.join(FIXTURES, 'tiny');

interface TensorInfo {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

interface Parsed {
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
  data: Buffer;
}

const ITEM_SIZE: Record<string, number> = { F32: 4, I64: 8 };

/** Parses a safetensors file: u64 LE header length, JSON header, then the data buffer. */
function parseSafetensors(file: string): Parsed {
  const bytes = readFileSync(file);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  assert.equal(headerLength % 8, 0, `${file}: header padded to a multiple of 8`);
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, unknown>;
  const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
  delete header.__metadata__;
  const tensors = new Map(Object.entries(header as Record<string, TensorInfo>));
  return { tensors, metadata, data: bytes.subarray(8 + headerLength) };
}

/** Each tensor's byte range matches dtype × shape, and the ranges tile the data buffer with no gap. */
function assertTiled(p: Parsed, file: string): void {
  let offset = 0;
  for (const [name, t] of p.tensors) {
    const size = ITEM_SIZE[t.dtype];
    assert.ok(size !== undefined, `${file}: ${name} has unexpected dtype ${t.dtype}`);
    const count = t.shape.reduce((a, b) => a * b, 1);
    assert.deepEqual(t.data_offsets, [offset, offset + count * size], `${file}: ${name} offsets`);
    offset += count * size;
  }
  assert.equal(offset, p.data.length, `${file}: data buffer length`);
}

function floats(p: Parsed, name: string): Float32Array {
  const t = p.tensors.get(name);
  assert.ok(t, `missing ${name}`);
  const [begin, end] = t.data_offsets;
  const copy = Uint8Array.prototype.slice.call(p.data, begin, end); // aligned copy for the typed view
  return new Float32Array(copy.buffer, 0, (end - begin) / 4);
}

interface TinyDims {
  embed: number;
  W: number;
  L: number;
  H: number;
  S: number;
  TW: number;
  TL: number;
  TH: number;
  TI: number;
  P: number;
}

function tinyDims(): TinyDims {
  const cfg = JSON.parse(readFileSync(path.join(TINY, 'open_clip_config.json'), 'utf8'));
  const m = cfg.model_cfg;
  const v = m.vision_cfg;
  const t = m.text_cfg.hf_model_config;
  const grid = v.image_size / v.patch_size;
  return {
    embed: m.embed_dim,
    W: v.width,
    L: v.layers,
    H: v.width / v.head_width,
    S: grid * grid + 1,
    TW: t.hidden_size,
    TL: t.num_hidden_layers,
    TH: t.num_attention_heads,
    TI: t.intermediate_size,
    P: Math.floor((t.hidden_size + m.embed_dim) / 2),
  };
}

/** The hook points TS declares (`summary --json`), in forward order, with `B` and `T` still symbolic. */
function declaredHooks(): Array<{ name: string; shape: Array<number | string>; kind: string }> {
  const cli = path.join(REPO_ROOT, 'bin', 'biomedclip.js');
  const r = spawnSync(process.execPath, [cli, 'summary', '--config', path.join(TINY, 'open_clip_config.json'), '--json'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout).hooks;
}

test('tiny fixture: model.safetensors is well-formed F32 with open_clip keys', () => {
  const file = path.join(TINY, 'model.safetensors');
  const p = parseSafetensors(file);
  assertTiled(p, file);
  for (const [name, t] of p.tensors) assert.equal(t.dtype, 'F32', name);
  const d = tinyDims();
  assert.deepEqual(p.tensors.get('logit_scale')?.shape, []);
  assert.deepEqual(p.tensors.get('visual.trunk.pos_embed')?.shape, [1, d.S, d.W]);
  assert.deepEqual(p.tensors.get('visual.trunk.blocks.0.attn.qkv.weight')?.shape, [3 * d.W, d.W]);
  assert.deepEqual(p.tensors.get('text.proj.0.weight')?.shape, [d.P, d.TW]);
  assert.deepEqual(p.tensors.get('text.proj.2.weight')?.shape, [d.embed, d.P]);
  // logit_scale, cls_token, pos_embed, patch conv weight+bias; 12 per block; final norm; head.proj;
  // 5 embedding tensors; 16 per BERT layer; proj.0 and proj.2 (the full model has 351 = 5+144+2+1+5+192+2).
  assert.equal(p.tensors.size, 5 + 12 * d.L + 2 + 1 + 5 + 16 * d.TL + 2);
  assert.ok(![...p.tensors.keys()].some((k) => k.includes('position_ids') || k.includes('pooler')));
});

test('tiny fixture: golden.safetensors holds inputs, outputs and every hook with its contract shape', () => {
  const file = path.join(TINY, 'golden.safetensors');
  const p = parseSafetensors(file);
  assertTiled(p, file);
  const d = tinyDims();
  const ids = p.tensors.get('inputs.input_ids');
  const pixels = p.tensors.get('inputs.pixel_values');
  assert.ok(ids && pixels);
  assert.equal(ids.dtype, 'I64');
  const [B, N, T] = [pixels.shape[0], ids.shape[0], ids.shape[1]];
  assert.deepEqual(pixels.shape, [2, 3, 64, 64]);
  assert.deepEqual(ids.shape, [3, 17]);
  const outputs: [string, number[]][] = [
    ['outputs.image_features', [B, d.embed]],
    ['outputs.text_features', [N, d.embed]],
    ['outputs.logits_per_image', [B, N]],
    ['outputs.logit_scale', []],
  ];
  for (const [name, shape] of outputs) assert.deepEqual(p.tensors.get(name)?.shape, shape, name);
  const hooks = declaredHooks();
  const bind = (shape: Array<number | string>, tower: string) => shape.map((x) => (x === 'B' ? (tower === 'visual' ? B : N) : x === 'T' ? T : x));
  const goldenHooks = [...p.tensors.keys()].filter((n) => !n.startsWith('inputs.') && !n.startsWith('outputs.'));
  assert.deepEqual(
    goldenHooks,
    hooks.map((h) => h.name),
    'the same hook points, in the same forward order',
  );
  for (const h of hooks) {
    const t = p.tensors.get(h.name)!;
    assert.equal(t.dtype, 'F32', h.name);
    assert.deepEqual(t.shape, bind(h.shape, h.name.split('.')[0]), h.name);
  }
  console.log(`golden holds all ${hooks.length} declared hook points with their declared shapes`);
  assert.equal(p.tensors.size, hooks.length + outputs.length + 2, 'no tensors beyond inputs, outputs and hooks');
  assert.match(p.metadata.logit_scale ?? '', /raw parameter/);
  assert.ok(Math.abs(floats(p, 'outputs.logit_scale')[0] - Math.log(100)) < 1e-6);
});

test('tiny fixture: attention probabilities are softmax rows and padding keys get exactly 0', () => {
  const p = parseSafetensors(path.join(TINY, 'golden.safetensors'));
  const ids = p.tensors.get('inputs.input_ids');
  assert.ok(ids);
  const idBytes = Uint8Array.prototype.slice.call(p.data, ids.data_offsets[0], ids.data_offsets[1]);
  const idValues = Array.from(new BigInt64Array(idBytes.buffer), Number); // [N, T] row-major
  const [N, T] = ids.shape;
  const probs = floats(p, 'text.transformer.encoder.layer.0.attention.self.probs'); // [N, H, T, T]
  const H = probs.length / (N * T * T);
  let worstRowSum = 0;
  for (let n = 0; n < N; n++) {
    assert.equal(idValues[n * T], 2, 'each text starts with [CLS]=2');
    for (let row = 0; row < H * T; row++) {
      let sum = 0;
      for (let k = 0; k < T; k++) {
        const w = probs[(n * H * T + row) * T + k];
        sum += w;
        if (idValues[n * T + k] === 0) assert.equal(w, 0, `text ${n}: padding key ${k} has weight ${w}`);
      }
      worstRowSum = Math.max(worstRowSum, Math.abs(sum - 1));
    }
  }
  console.log(`worst |row sum - 1| of text probs: ${worstRowSum.toExponential(2)} (tolerance 1e-5)`);
  assert.ok(worstRowSum < 1e-5);
});

test('tiny fixture: README names the command that regenerates it', () => {
  const readme = path.join(TINY, 'README.md');
  assert.ok(existsSync(readme));
  assert.match(readFileSync(readme, 'utf8'), /make_reference\.py --size tiny --seed 0 --out test\/fixtures\/tiny/);
});
