/**
 * The explanation commands on the demo model (real image size and tokenizer, toy width): explain's JSON
 * has exactly the fields of the contract and equals the library's maps; --out writes a PNG whose left
 * panel is the crop the model saw; ablate, lens and sanity print their tables as JSON; bad input gives
 * one error line, a non-zero exit and no picture; and every command leaves tf.memory() as it found it.
 * Two cases run `biomedclip` as a child process; the rest run its main() in this process (the same code and
 * messages, without a CPU-second of start-up per case).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { PNG } from 'pngjs';
import { BiomedCLIP } from '../src/api/biomedclip.js';
import { preprocessImage } from '../src/image/index.js';
import { cli as runCli, cliInProcess, EXAMPLE_IMAGES, oneErrorLine, tempDemoModel } from './helpers.js';

const IMAGE = EXAMPLE_IMAGES.adenocarcinoma;
const TEXT = 'adenocarcinoma with glandular structures';
const { dir, model } = tempDemoModel('biomedclip-explain-');

const OPTIONS = ['--model', model, '--backend', 'wasm', '--quiet'];

/** `biomedclip ARGS` in this process. */
function run(...args: string[]) {
  return cliInProcess(...args, ...OPTIONS);
}

async function json(...args: string[]) {
  const r = await run(...args, '--json');
  assert.equal(r.code, 0, r.stderr.join('\n'));
  return JSON.parse(r.out);
}

test('explain --json: exactly the contract fields per pair, the library maps, a text map only where the method has one', async () => {
  const child = runCli('explain', IMAGE, '--text', TEXT, '--text', 'normal tissue', '--method', 'relevance', ...OPTIONS, '--json'); // as a user runs it
  assert.equal(child.status, 0, child.stderr);
  const out = JSON.parse(child.stdout);
  assert.equal(out.length, 2, 'one object per image-text pair');
  const [first] = out;
  assert.deepEqual(
    Object.keys(first).sort(),
    ['grid', 'image', 'image_map', 'logit', 'method', 'model', 'text', 'text_map', 'tokens'].sort(),
    'contract fields (+ the demo label)',
  );
  assert.deepEqual(first.grid, [14, 14]);
  assert.equal(first.image_map.length, 196);
  assert.equal(first.tokens[0], '[CLS]');
  assert.equal(first.tokens.at(-1), '[SEP]');
  assert.equal(first.text_map.length, first.tokens.length);
  const clip = await BiomedCLIP.load(model, { backend: 'wasm' });
  const { explanations } = await clip.explain(IMAGE, TEXT, ['relevance']);
  clip.dispose();
  const diff = Math.max(...first.image_map.map((v: number, i: number) => Math.abs(v - explanations[0].imageMap[i])));
  assert.ok(diff <= 1e-6, `CLI vs library image map: ${diff}`);
  const gradcam = (await json('explain', IMAGE, '--text', TEXT, '--method', 'gradcam'))[0];
  assert.equal(gradcam.text_map, null);
  assert.ok(
    gradcam.image_map.every((v: number) => v >= 0),
    'Grad-CAM is a ReLU',
  );
});

test('explain --out writes a PNG: the crop the model saw, the map over it, a legend', async () => {
  const file = path.join(dir, 'map.png');
  const r = await run('explain', IMAGE, '--text', TEXT, '--method', 'rollout', '--out', file);
  assert.equal(r.code, 0, r.stderr.join('\n'));
  assert.match(r.out, /top patches \(row, col\)/);
  const png = PNG.sync.read(readFileSync(file));
  const crop = (await preprocessImage(IMAGE)).crop;
  assert.ok(png.width >= 2 * 224 && png.height > 224, `${png.width}x${png.height}`);
  let same = 0;
  let blended = 0;
  for (let y = 0; y < 224; y++) {
    for (let x = 0; x < 224; x++) {
      const left = ((8 + y) * png.width + 8 + x) * 4;
      const right = ((8 + y) * png.width + 16 + 224 + x) * 4;
      if ([0, 1, 2].every((c) => png.data[left + c] === crop[(y * 224 + x) * 3 + c])) same++;
      if ([0, 1, 2].some((c) => png.data[right + c] !== crop[(y * 224 + x) * 3 + c])) blended++;
    }
  }
  assert.equal(same, 224 * 224, 'left panel = the crop');
  assert.ok(blended > 0.9 * 224 * 224, 'right panel = the crop blended with the map');
});

test('ablate, lens and sanity print their tables as JSON', async () => {
  const ablation = await json('ablate', IMAGE, '--text', TEXT);
  assert.deepEqual(
    ablation.tables.map((t: { tower: string; mode: string }) => `${t.tower}.${t.mode}`),
    ['image.zero', 'image.mean', 'text.zero', 'text.mean'],
  );
  for (const t of ablation.tables) assert.deepEqual([t.delta.length, t.delta[0].length], [2, 2], 'layers × heads of the demo');
  const lens = await json('lens', IMAGE, '--labels', 'adenocarcinoma,normal tissue');
  assert.equal(lens.layers.length, 2);
  assert.ok(Math.abs(lens.layers[1].probability.reduce((a: number, b: number) => a + b) - 1) < 1e-6);
  const sanity = await json('sanity', IMAGE, '--labels', 'adenocarcinoma,normal tissue', '--target', 'adenocarcinoma', '--method', 'gradcam', '--step', '24');
  assert.deepEqual(
    sanity.randomization.map((r: { step: string }) => r.step),
    ['visual.head.proj + visual.trunk.norm', 'visual.trunk.blocks.1', 'visual.trunk.blocks.0', 'visual.trunk.patch_embed + cls_token + pos_embed'],
  );
  assert.equal(sanity.deletion.metric, 'probability');
  assert.equal(sanity.deletion.curve.length, 10, '0, 24, ..., 192 and 196 patches removed');
  assert.deepEqual(
    sanity.prompt.map((p: { kind: string }) => p.kind),
    ['unrelated', 'shuffled'],
  );
  const rollout = await json('sanity', IMAGE, '--text', TEXT, '--method', 'rollout', '--checks', 'prompt');
  assert.ok(
    rollout.prompt.every((p: { spearman: number }) => p.spearman === 1),
    'rollout never sees the text',
  );
});

test('bad input: one error line, a non-zero exit, no picture', async () => {
  const file = path.join(dir, 'bad', 'out.png');
  const cases: Array<[string[], number, RegExp]> = [
    [['explain', path.join(dir, 'missing.jpg'), '--text', TEXT, '--out', file], 1, /missing\.jpg/],
    [['explain', IMAGE, '--text', TEXT, '--method', 'saliency'], 2, /--method saliency: expected one of attention, rollout/],
    [['explain', IMAGE, '--text', TEXT, '--method', 'attention', '--layer', '7'], 2, /--layer 7: must be an integer from 0 to 1/],
    [['explain', IMAGE, '--text', TEXT, '--method', 'rollout', '--head', '0'], 2, /--head applies only to --method attention; --method rollout ignores it/],
    [['explain', IMAGE, '--text', TEXT, '--layer', '1'], 2, /--layer applies only to --method attention or gradcam; --method relevance ignores it/],
    [
      ['sanity', IMAGE, '--text', TEXT, '--method', 'legrad', '--discard-ratio', '0.5'],
      2,
      /--discard-ratio applies only to --method rollout; --method legrad ignores it/,
    ],
    [['explain', IMAGE, '--text', TEXT, '--top', '1000000000'], 2, /--top 1000000000: expected an integer from 1 to 196 \(the model's 196 patches\)/],
    [['explain', IMAGE, '--text', TEXT, '--out', path.join(dir, 'map.jpg')], 2, /expected a \.png/],
    [['explain', IMAGE, '--labels', 'a,b', '--target', 'c'], 2, /--target 'c' is not one of --labels/],
    [['explain', IMAGE], 2, /no text given/],
    [['sanity', IMAGE, '--text', TEXT], 2, /missing --method/],
    [
      ['sanity', IMAGE, '--text', TEXT, '--method', 'gradcam', '--checks', 'deletion', '--step', '196'],
      2,
      /--step 196: expected an integer from 1 to 24 \(a curve over 196 patches needs at least 10 points .*; 196 leaves 2\)/,
    ],
    [
      ['sanity', IMAGE, '--text', TEXT, '--method', 'gradcam', '--checks', 'deletion', '--step', '25'],
      2,
      /--step 25: expected an integer from 1 to 24 .*; 25 leaves 9\)/,
    ],
    [['sanity', IMAGE, '--text', TEXT, '--method', 'gradcam', '--checks', 'prompt', '--step', '4'], 2, /--step applies only to the deletion check/],
    [['ablate', IMAGE, IMAGE, '--text', TEXT], 2, /exactly one image/],
  ];
  for (const [args, code, message] of cases) {
    const r = await run(...args);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr.join('\n')}`);
    assert.equal(r.errors.length, 1, r.stderr.join('\n'));
    assert.match(r.errors[0], message);
  }
  assert.ok(!existsSync(path.dirname(file)) || readdirSync(path.dirname(file)).length === 0, 'no partial picture');
});

test('explain IMG BAD: the bad second image fails before the first is explained (nothing on stdout)', () => {
  const r = runCli('explain', IMAGE, path.join(dir, 'missing-second.jpg'), '--text', TEXT, '--model', model, '--backend', 'wasm', '--quiet');
  oneErrorLine(r, 1, /missing-second\.jpg: cannot read image file \(ENOENT\)/);
});

test('explain, ablate, lens and sanity leave tf.memory().numTensors unchanged', async () => {
  const commands = ['explain', 'ablate', 'lens', 'sanity'];
  const runs: Record<string, string[]> = {
    explain: [IMAGE, '--text', TEXT, '--method', 'legrad'],
    ablate: [IMAGE, '--text', TEXT, '--tower', 'image', '--mode', 'mean'],
    lens: [IMAGE, '--text', TEXT],
    sanity: [IMAGE, '--text', TEXT, '--method', 'relevance', '--step', '24'],
  };
  const log = console.log;
  try {
    for (const [k, name] of commands.entries()) {
      const { command } = await import(`../src/cli/commands/${name}.js`);
      const args = [...runs[name], '--model', model, '--backend', 'wasm', '--quiet', '--json'];
      console.log = () => {};
      if (k === 0) await command.run(args); // warm-up: backend and kernel set-up allocate once
      const before = tf.memory().numTensors;
      assert.equal(await command.run(args), 0);
      console.log = log;
      assert.equal(tf.memory().numTensors, before, `${name} leaked tensors`);
    }
  } finally {
    console.log = log;
  }
});
