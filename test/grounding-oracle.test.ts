/**
 * The grounding evaluation's numbers and geometry against independent libraries (test/support/
 * grounding_reference.py): the map upsampling against PyTorch's F.interpolate(bilinear,
 * align_corners=False); the target region against torchvision's Resize(224, NEAREST) + CenterCrop(224)
 * applied by Pillow to a mask drawn from the boxes (and to free-form masks), on square, landscape,
 * portrait and extreme images with boxes crossing the crop's edges; and every measure against NumPy
 * (pointing game, CNR, IoU, Dice), scikit-learn (roc_auc_score) and SciPy (the Euclidean distance
 * transform, for the grown region behind pointingChance) on random maps with and without ties.
 *
 * Tolerances: regions, pointing hits, IoU and Dice must be identical (they are counts and comparisons of
 * the same float64 values); CNR, AUROC and the pointing chance 1e-12 (float64 on both sides, different
 * summation order); the upsampled map 1e-6 · max|map| (PyTorch computes its weights and sums in float32, we
 * in float64 rounded once to float32: a few float32 ulps).
 */
// test tier: full (PyTorch, torchvision, scikit-learn and SciPy oracle: /usr/bin/python3)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { centerGaussianMap, uniformMap } from '../src/eval/grounding/baselines.js';
import { DEFAULT_GROUNDING, measureRow, type GroundingOptions } from '../src/eval/grounding/measures.js';
import { growRegion, peakIndex, pointingChance, pointingHit } from '../src/eval/grounding/pointing.js';
import { boxesToCrop, maskToCrop, type Box, type Region } from '../src/eval/grounding/region.js';
import { upsampleBilinear } from '../src/eval/grounding/upsample.js';
import { mulberry32 } from '../src/util/random.js';
import { REPO_ROOT, TORCH_PYTHON } from './helpers.js';

const SIZE = 224;
const TOL = 1e-12;
const UPSAMPLE_TOL = 1e-6;

/** Runs test/support/grounding_reference.py on `cases`. */
function reference(cases: object[]): any[] {
  const script = path.join(REPO_ROOT, 'test', 'support', 'grounding_reference.py');
  const r = spawnSync(TORCH_PYTHON, [script], { input: JSON.stringify(cases), encoding: 'utf8', maxBuffer: 1 << 28 });
  assert.equal(r.status, 0, `grounding_reference.py failed (python3-torch, -torchvision, -sklearn and -scipy are needed; see .ci/run):\n${r.stderr}`);
  return JSON.parse(r.stdout);
}

const b64 = (a: Float32Array | Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
const f32 = (s: string) => {
  const buf = Buffer.from(s, 'base64');
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
};
const u8 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));

/** rows × cols values: a smooth random field (a 14 × 14 patch map looks like this), or quantised to quarters (ties). */
function randomMap(rows: number, cols: number, seed: number, opts: { ties?: boolean; scale?: number } = {}): Float32Array {
  const next = mulberry32(seed);
  const [fx, fy, phase] = [1 + 3 * next(), 1 + 3 * next(), 6 * next()];
  return Float32Array.from({ length: rows * cols }, (_, i) => {
    const [x, y] = [i % cols, Math.floor(i / cols)];
    const v = Math.sin((fx * x) / cols + phase) * Math.cos((fy * y) / rows) + 0.5 * next() - 0.25;
    return opts.ties ? Math.round(v * 4) / 4 : v * (opts.scale ?? 1);
  });
}

test('upsampleBilinear equals torch F.interpolate(bilinear, align_corners=False)', () => {
  const shapes: Array<[number, number, number, number]> = [
    [14, 14, SIZE, 1],
    [14, 14, SIZE, 2],
    [14, 14, 100, 3], // a size that 14 does not divide
    [7, 9, SIZE, 4], // rectangular
    [1, 1, 16, 5],
    [14, 14, SIZE, 6],
  ];
  const maps = shapes.map(([r, c, , seed]) => randomMap(r, c, seed, { scale: seed === 6 ? 1e4 : 1 }));
  const refs = reference(shapes.map(([rows, cols, size], i) => ({ kind: 'upsample', map: b64(maps[i]), rows, cols, size })));
  shapes.forEach(([rows, cols, size], i) => {
    const ours = upsampleBilinear(maps[i], rows, cols, size);
    const torch = f32(refs[i].out);
    const scale = Math.max(...Array.from(maps[i], Math.abs));
    let [worst, exact] = [0, 0];
    torch.forEach((t, j) => {
      worst = Math.max(worst, Math.abs(ours[j] - t));
      if (ours[j] === t) exact++;
    });
    console.log(
      `upsample ${rows}x${cols} -> ${size}: max|diff| ${worst.toExponential(2)} = ${(worst / scale).toExponential(2)} · max|map| ` +
        `(tolerance ${UPSAMPLE_TOL} · max|map|), ${exact}/${torch.length} values bit-identical`,
    );
    assert.ok(worst <= UPSAMPLE_TOL * scale, `upsample ${rows}x${cols} -> ${size}: ${worst}`);
  });
});

/** Boxes around and across the crop's edges of a width × height image, with fractional and empty ones. */
function randomBoxes(width: number, height: number, seed: number): Box[] {
  const next = mulberry32(seed);
  const boxes: Box[] = [];
  for (let i = 0; i < 4; i++) {
    const [x0, y0] = [Math.floor((next() * 1.2 - 0.1) * width), Math.floor((next() * 1.2 - 0.1) * height)];
    const [w, h] = [Math.ceil(next() * width * 0.6), Math.ceil(next() * height * 0.6)];
    boxes.push(i === 3 ? { x0: x0 + 0.5, y0: y0 + 0.25, x1: x0 + w + 0.75, y1: y0 + h - 0.5 } : { x0, y0, x1: x0 + w, y1: y0 + h });
  }
  return boxes;
}

/** A blob mask: pixels within a random ellipse, plus random speckle. */
function randomMask(width: number, height: number, seed: number): Uint8Array {
  const next = mulberry32(seed);
  const [cx, cy, rx, ry] = [next() * width, next() * height, (0.1 + 0.4 * next()) * width, (0.1 + 0.4 * next()) * height];
  return Uint8Array.from({ length: width * height }, (_, i) => {
    const [x, y] = [i % width, Math.floor(i / width)];
    return ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1 || next() < 0.02 ? 1 + Math.floor(next() * 254) : 0;
  });
}

const IMAGES: Array<[number, number]> = [
  [300, 200], // landscape: the crop drops 56 resized columns each side
  [200, 500], // portrait: 168 resized rows dropped at the top
  [275, 183], // odd sizes: 336 x 224 after the resize
  [224, 224], // no resize at all
  [1000, 997], // a nearly square image: a 1-pixel odd excess
  [4000, 50], // extreme: 17920 x 224 resized
  [37, 61], // enlarged
  [320, 480], // W/W' = 10/7: pixel centres land exactly on pixel borders (where Pillow's accumulation decides)
  [192, 256], // 6/7, likewise, enlarged
];

test("boxesToCrop and maskToCrop equal torchvision's Resize(NEAREST) + CenterCrop on a drawn mask, pixel for pixel", () => {
  const cases: Array<{ width: number; height: number; boxes?: Box[]; mask?: Uint8Array }> = [];
  IMAGES.forEach(([width, height], i) => {
    for (let k = 0; k < 3; k++) cases.push({ width, height, boxes: randomBoxes(width, height, 100 * i + k) });
    cases.push({ width, height, boxes: [{ x0: 0, y0: 0, x1: width, y1: height }] }); // the whole image
    cases.push({ width, height, mask: randomMask(width, height, 100 * i + 50) });
  });
  // wholly outside the crop: the landscape image's left 50 columns and the portrait's bottom rows
  cases.push({ width: 300, height: 200, boxes: [{ x0: 0, y0: 0, x1: 50, y1: 200 }] });
  cases.push({ width: 200, height: 500, boxes: [{ x0: 0, y0: 350, x1: 200, y1: 500 }] });
  const refs = reference(
    cases.map((c) => ({
      kind: 'region',
      width: c.width,
      height: c.height,
      size: SIZE,
      ...(c.boxes ? { boxes: c.boxes.map((b) => [b.x0, b.y0, b.x1, b.y1]) } : { mask: b64(c.mask!) }),
    })),
  );
  let [pixels, closedForm, tensorPath, empty] = [0, 0, 0, 0];
  cases.forEach((c, i) => {
    const ours = c.boxes ? boxesToCrop(c.boxes, c.width, c.height, SIZE) : maskToCrop(c.mask!, c.width, c.height, SIZE);
    const theirs = u8(refs[i].inside);
    const what = `${c.width}x${c.height} ${c.boxes ? JSON.stringify(c.boxes) : 'mask'}`;
    const area = theirs.reduce((a, b) => a + b, 0);
    if (area === 0) {
      assert.equal(ours, null, `${what}: torchvision's crop is empty, so the region is null`);
      empty++;
    } else {
      assert.ok(ours !== null, `${what}: torchvision's crop has ${area} pixels`);
      const differ = theirs.reduce((n, v, j) => n + (v !== ours.inside[j] ? 1 : 0), 0);
      assert.equal(differ, 0, `${what}: ${differ} pixels differ from torchvision`);
      assert.equal(ours.area, area, `${what}: area`);
    }
    pixels += SIZE * SIZE;
    closedForm += refs[i].closed_form;
    tensorPath += refs[i].tensor_path;
  });
  console.log(
    `regions: ${cases.length} cases (${empty} wholly outside the crop), 0 of ${pixels} crop pixels differ from torchvision (required: 0); ` +
      `the closed form floor((c + 0.5) · W/W') would differ in ${closedForm}, torchvision's tensor path (torch 'nearest') in ${tensorPath}`,
  );
});

/** A region on the crop: boxes on a random image size, or a thresholded random field, or everything. */
function regions(): Array<[string, Region]> {
  const out: Array<[string, Region]> = [];
  IMAGES.slice(0, 3).forEach(([w, h], i) => {
    const r = boxesToCrop(randomBoxes(w, h, 7 + i), w, h, SIZE);
    if (r) out.push([`boxes on ${w}x${h}`, r]);
  });
  const field = upsampleBilinear(randomMap(14, 14, 99), 14, 14, SIZE);
  const blob = Uint8Array.from(field, (v) => (v > 0.6 ? 1 : 0));
  out.push(['thresholded field', { size: SIZE, inside: blob, area: blob.reduce((a, b) => a + b, 0) }]);
  out.push(['one pixel', { size: SIZE, inside: Uint8Array.from({ length: SIZE * SIZE }, (_, j) => (j === 120 * SIZE + 30 ? 1 : 0)), area: 1 }]);
  out.push(['the whole crop', { size: SIZE, inside: new Uint8Array(SIZE * SIZE).fill(1), area: SIZE * SIZE }]);
  return out;
}

test('the measures equal NumPy, scikit-learn and SciPy on random maps (ties, constants, baselines) and regions', () => {
  const maps: Array<[string, Float32Array]> = [
    ['random 14x14, upsampled', upsampleBilinear(randomMap(14, 14, 11), 14, 14, SIZE)],
    ['random 14x14 in quarters (ties), upsampled', upsampleBilinear(randomMap(14, 14, 12, { ties: true }), 14, 14, SIZE)],
    ['quarters at full resolution (many ties)', randomMap(SIZE, SIZE, 13, { ties: true })],
    ['uniform baseline', uniformMap(SIZE)],
    ['centred Gaussian baseline', centerGaussianMap(SIZE)],
  ];
  const optionSets: GroundingOptions[] = [DEFAULT_GROUNDING, { tolerance: 0, threshold: 0.3 }, { tolerance: 7.5, threshold: 0.75 }];
  const cases: Array<{ name: string; map: Float32Array; region: Region; opts: GroundingOptions }> = [];
  for (const [rName, region] of regions())
    maps.forEach(([mName, map], m) => cases.push({ name: `${mName} / ${rName}`, map, region, opts: optionSets[m % optionSets.length] }));
  const refs = reference(cases.map((c) => ({ kind: 'measures', map: b64(c.map), inside: b64(c.region.inside), size: SIZE, ...c.opts })));
  const worst = { cnr: 0, auroc: 0, chance: 0 };
  let hits = 0;
  cases.forEach((c, i) => {
    const ref = refs[i];
    const ours = measureRow(c.map, c.region, c.opts);
    const what = `${c.name} (tolerance ${c.opts.tolerance}, threshold ${c.opts.threshold})`;
    assert.equal(peakIndex(c.map), ref.peak, `${what}: peak`);
    assert.equal(ours.hit, ref.hit, `${what}: pointing hit`);
    assert.equal(ours.iou, ref.iou, `${what}: IoU`);
    assert.equal(ours.dice, ref.dice, `${what}: Dice`);
    for (const key of ['cnr', 'auroc'] as const) {
      if (ref[key] === null || ours[key] === null) assert.equal(ours[key], ref[key], `${what}: ${key}`);
      else {
        const d = Math.abs(ours[key]! - ref[key]);
        worst[key] = Math.max(worst[key], d);
        assert.ok(d <= TOL, `${what}: ${key} ${ours[key]} vs ${ref[key]}`);
      }
    }
    const chance = pointingChance(c.region, c.opts.tolerance);
    worst.chance = Math.max(worst.chance, Math.abs(chance - ref.chance));
    assert.ok(Math.abs(chance - ref.chance) <= TOL, `${what}: pointing chance ${chance} vs ${ref.chance}`);
    if (ours.hit) hits++;
  });
  console.log(
    `measures: ${cases.length} map/region cases (${hits} hits), pointing, IoU and Dice identical; max|diff| CNR ${worst.cnr.toExponential(2)}, ` +
      `AUROC ${worst.auroc.toExponential(2)}, pointing chance ${worst.chance.toExponential(2)} (tolerance ${TOL})`,
  );
});

test('the pointing game equals NumPy for a peak at every pixel around a region (the tolerance boundary included)', () => {
  const region = boxesToCrop([{ x0: 140, y0: 90, x1: 150, y1: 96 }], 300, 200, SIZE)!;
  const peaks = Array.from({ length: SIZE * SIZE }, (_, i) => i);
  const tolerances = [0, 1, 15, 15.5];
  const refs = reference(tolerances.map((tolerance) => ({ kind: 'pointing', inside: b64(region.inside), size: SIZE, tolerance, peaks })));
  tolerances.forEach((tolerance, t) => {
    const ref = refs[t];
    const grown = growRegion(region, tolerance);
    let hits = 0;
    for (const p of peaks) {
      const at = `tolerance ${tolerance}: peak at (${p % SIZE}, ${Math.floor(p / SIZE)})`;
      const hit = pointingHit(p, region, tolerance);
      assert.equal(hit, ref.hits[p], at);
      assert.equal(grown[p] === 1, ref.hits[p], `${at}, grown region`);
      if (p % 211 === 0) {
        // and through measureRow, on a map whose only maximum is there
        const map = new Float32Array(SIZE * SIZE);
        map[p] = 1;
        assert.equal(measureRow(map, region, { tolerance, threshold: 0.5 }).hit, ref.hits[p], `${at}, measureRow`);
      }
      if (hit) hits++;
    }
    console.log(`pointing sweep, tolerance ${tolerance}: ${hits} of ${peaks.length} peak positions hit (region ${region.area} pixels), all equal NumPy's`);
  });
});
