/**
 * Every explanation method and the viewer's data on the webgpu backend (Mesa's llvmpipe where there is no
 * GPU, as the parity tests of model-tiny.test.ts), against cpu's maps. webgpu cannot read a tensor
 * synchronously in Node (dataSync/arraySync fail with "OffscreenCanvas is not defined"), so this is the
 * test that library code reads tensors only asynchronously. BIOMEDCLIP_TEST_BACKENDS without webgpu skips it.
 */
// test tier: full (webgpu on Mesa's software adapter)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BiomedCLIP } from '../src/api/biomedclip.js';
import { METHODS, type Method } from '../src/inspect/explain.js';
import { collectView } from '../src/view/data.js';
import { EXAMPLE_IMAGES, testBackends } from './helpers.js';

const IMAGE = EXAMPLE_IMAGES.adenocarcinoma;
const TEXT = 'adenocarcinoma with glandular structures';
const skip = testBackends(['webgpu']).includes('webgpu') ? false : 'BIOMEDCLIP_TEST_BACKENDS leaves webgpu out';

async function maps(backend: string): Promise<Map<Method, Float32Array>> {
  const clip = await BiomedCLIP.load('demo', { backend });
  try {
    const out = new Map<Method, Float32Array>();
    for (const method of METHODS) out.set(method, (await clip.explain(IMAGE, TEXT, [method])).explanations[0].imageMap);
    return out;
  } finally {
    clip.dispose();
  }
}

test("every explanation method runs on webgpu and gives cpu's map", { skip }, async () => {
  const cpu = await maps('cpu');
  const gpu = await maps('webgpu');
  for (const method of METHODS) {
    const [a, b] = [cpu.get(method)!, gpu.get(method)!];
    const scale = Math.max(...a.map(Math.abs));
    const diff = Math.max(...a.map((v, i) => Math.abs(v - b[i])));
    console.log(`${method}: webgpu vs cpu max|diff| ${diff.toExponential(2)} (max|map| ${scale.toExponential(2)})`);
    assert.ok(b.every(Number.isFinite), method);
    assert.ok(diff <= 1e-3 * scale + 1e-6, `${method}: ${diff} vs ${scale}`);
  }
});

test("the viewer's data (lens probabilities, legrad) is collected on webgpu", { skip }, async () => {
  const clip = await BiomedCLIP.load('demo', { backend: 'webgpu' });
  try {
    const view = await collectView(clip, { images: [IMAGE], texts: [], labels: ['tumor', 'normal tissue'], methods: ['legrad'] });
    const last = view.images[0].lens!.layers.at(-1)!.probability!;
    assert.ok(Math.abs(last.reduce((x, y) => x + y, 0) - 1) < 1e-4);
    assert.equal(view.explanations.length, 2);
  } finally {
    clip.dispose();
  }
});
