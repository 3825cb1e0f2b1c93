/**
 * The grounding measures and geometry on hand-made cases whose answers are worked out in the comments:
 * the pointing game at its tolerance boundary (Euclidean, not square) and its tie rule, CNR and AUROC by
 * hand, IoU and Dice of exact masks, the baselines, the bilinear upsampling on tiny maps, and boxes and
 * masks carried into the crop of non-square images across the crop's edges. The same functions against
 * NumPy, scikit-learn, PyTorch and torchvision: test/grounding-oracle.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { centerGaussianMap, uniformMap } from '../src/eval/grounding/baselines.js';
import { auroc, contrastToNoise, DEFAULT_GROUNDING, measureRow, overlap } from '../src/eval/grounding/measures.js';
import { growRegion, peakIndex, pointingChance, pointingHit } from '../src/eval/grounding/pointing.js';
import { boxesToCrop, boxIsEmpty, maskToCrop, type Region } from '../src/eval/grounding/region.js';
import { upsampleBilinear } from '../src/eval/grounding/upsample.js';

const TOL = 1e-12;

/** A size × size region of the pixels where `inside(x, y)`. */
function regionOf(size: number, inside: (x: number, y: number) => boolean): Region {
  const flags = Uint8Array.from({ length: size * size }, (_, i) => (inside(i % size, Math.floor(i / size)) ? 1 : 0));
  return { size, inside: flags, area: flags.reduce((a, b) => a + b, 0) };
}

/** A size × size map of 0 with `value` at each listed pixel. */
function spikes(size: number, points: Array<[number, number]>, value = 1): Float32Array {
  const map = new Float32Array(size * size);
  for (const [x, y] of points) map[y * size + x] = value;
  return map;
}

const near = (actual: number | null, expected: number, what: string) =>
  assert.ok(actual !== null && Math.abs(actual - expected) <= TOL, `${what}: ${actual} vs ${expected}`);

test('boxIsEmpty: zero or negative width or height, or NaN', () => {
  assert.equal(boxIsEmpty({ x0: 1, y0: 1, x1: 2, y1: 2 }), false);
  assert.equal(boxIsEmpty({ x0: 1, y0: 1, x1: 1, y1: 5 }), true);
  assert.equal(boxIsEmpty({ x0: 1, y0: 5, x1: 4, y1: 2 }), true);
  assert.equal(boxIsEmpty({ x0: NaN, y0: 0, x1: 4, y1: 2 }), true);
});

test('pointing game: Euclidean tolerance, hit exactly at the boundary, miss just past it', () => {
  const region = regionOf(64, (x, y) => x === 20 && y === 20);
  // 9 right and 12 down: distance exactly 15
  assert.equal(measureRow(spikes(64, [[29, 32]]), region, { tolerance: 15, threshold: 0.5 }).hit, true);
  assert.equal(measureRow(spikes(64, [[29, 32]]), region, { tolerance: 14.99, threshold: 0.5 }).hit, false);
  // 11 right and 11 down: 15.56 away, although only 11 on either axis (a square tolerance would hit)
  assert.equal(measureRow(spikes(64, [[31, 31]]), region, DEFAULT_GROUNDING).hit, false);
  // 15 straight up: hit; 16: miss
  assert.equal(pointingHit(5 * 64 + 20, region, 15), true);
  assert.equal(pointingHit(4 * 64 + 20, region, 15), false);
  // tolerance 0: only the region itself
  assert.equal(pointingHit(20 * 64 + 20, region, 0), true);
  assert.equal(pointingHit(20 * 64 + 21, region, 0), false);
  assert.throws(() => pointingHit(0, region, -1), /tolerance/);
});

test('pointing game ties: the first maximum in row-major order decides', () => {
  const region = regionOf(64, (x, y) => x >= 40 && y >= 40);
  // equal maxima at (60, 5) (first: row 5) and (50, 50) (inside): the first is 35+ away, so a miss
  const missFirst = spikes(64, [
    [60, 5],
    [50, 50],
  ]);
  assert.equal(peakIndex(missFirst), 5 * 64 + 60);
  assert.equal(measureRow(missFirst, region, DEFAULT_GROUNDING).hit, false);
  // the same two maxima with the inside one first in row-major order (row 45 before row 50): a hit
  const hitFirst = spikes(64, [
    [50, 45],
    [2, 50],
  ]);
  assert.equal(measureRow(hitFirst, region, DEFAULT_GROUNDING).hit, true);
  // a constant map points at the top-left pixel
  assert.equal(peakIndex(uniformMap(64)), 0);
  assert.equal(
    measureRow(
      uniformMap(64),
      regionOf(64, (x, y) => x < 3 && y < 3),
      DEFAULT_GROUNDING,
    ).hit,
    true,
  );
});

test('a map peaked inside the region: hit, AUROC 1, high CNR, above both baselines', () => {
  const size = 56;
  const region = regionOf(size, (x, y) => x >= 10 && x < 30 && y >= 20 && y < 40);
  // inside: 2 + a ripple; outside: a ripple below 1, so every inside value beats every outside value
  const map = Float32Array.from({ length: size * size }, (_, i) => (region.inside[i] ? 2 : 0) + 0.5 + 0.4 * Math.sin(i));
  const m = measureRow(map, region, DEFAULT_GROUNDING);
  assert.equal(m.hit, true);
  assert.equal(m.auroc, 1);
  assert.ok(m.cnr !== null && m.cnr > 3, `CNR ${m.cnr}`);
  const uniform = measureRow(uniformMap(size), region, DEFAULT_GROUNDING);
  assert.deepEqual(uniform, { hit: false, cnr: 0, auroc: 0.5, iou: 0, dice: 0 });
  const gaussian = measureRow(centerGaussianMap(size), region, DEFAULT_GROUNDING);
  assert.ok(gaussian.auroc !== null && gaussian.auroc < 1 && gaussian.cnr !== null && gaussian.cnr < m.cnr!);
  // the inside's min-max normalised values are all ≥ 0.5 and the outside's below, so the threshold finds the box
  assert.equal(m.iou, 1);
  assert.equal(m.dice, 1);
});

test('AUROC by hand: the Mann-Whitney count with ties as halves (what roc_auc_score gives)', () => {
  // scikit-learn's documented example: y = [0, 0, 1, 1], scores [0.1, 0.4, 0.35, 0.8] -> 0.75
  near(auroc([0.1, 0.4, 0.35, 0.8], Uint8Array.from([0, 0, 1, 1])), 0.75, 'sklearn example');
  // inside {1, 2} vs outside {1, 0}: (1,1) tie ½, (1,0) 1, (2,1) 1, (2,0) 1 -> 3.5 / 4
  near(auroc([1, 1, 2, 0], Uint8Array.from([1, 0, 1, 0])), 0.875, 'ties');
  near(auroc([3, 3, 3, 3], Uint8Array.from([1, 0, 0, 1])), 0.5, 'all tied');
  near(auroc([0, 1, 2, 3], Uint8Array.from([1, 1, 0, 0])), 0, 'reversed');
  assert.equal(auroc([0, 1], Uint8Array.from([1, 1])), null, 'no outside');
  assert.equal(auroc([0, 1], Uint8Array.from([0, 0])), null, 'no inside');
});

test('CNR by hand, and its zero and null cases', () => {
  // inside {0.8, 1.0}: mean 0.9, variance 0.01; outside {0, 0.2}: mean 0.1, variance 0.01 -> 0.8 / sqrt(0.02)
  near(contrastToNoise([0.8, 1.0, 0, 0.2], Uint8Array.from([1, 1, 0, 0])), 0.8 / Math.sqrt(0.02), 'hand case');
  assert.equal(contrastToNoise([0, 0, 0, 0], Uint8Array.from([1, 1, 0, 0])), 0, 'constant map: no contrast');
  assert.equal(contrastToNoise([0.2, 0.8, 0.8, 0.2], Uint8Array.from([1, 1, 0, 0])), 0, 'equal means');
  assert.equal(contrastToNoise([1, 1, 0, 0], Uint8Array.from([1, 1, 0, 0])), null, 'two-valued: infinite');
  assert.equal(contrastToNoise([1, 0.5, 0, 0], Uint8Array.from([1, 1, 1, 1])), null, 'no outside');
  // measureRow normalises first: a map scaled and shifted has the same CNR (up to the scaled map's float32
  // rounding, 1e-6)
  const region = regionOf(8, (x) => x < 3);
  const map = Float32Array.from({ length: 64 }, (_, i) => ((i * 37) % 11) / 10 + (region.inside[i] ? 0.3 : 0));
  const [cnr, scaled] = [
    measureRow(map, region, DEFAULT_GROUNDING).cnr!,
    measureRow(
      map.map((v) => 100 * v - 7),
      region,
      DEFAULT_GROUNDING,
    ).cnr!,
  ];
  assert.ok(Math.abs(cnr - scaled) <= 1e-6 * cnr, `affine invariance: ${scaled} vs ${cnr}`);
});

test('IoU and Dice of exact masks, the threshold inclusive', () => {
  const size = 32;
  const region = regionOf(size, (x, y) => x >= 5 && x < 15 && y >= 5 && y < 15); // 100 pixels
  // the map selects the same rows, columns 10..19: 50 shared, union 150 -> IoU 1/3, Dice 100/200
  const map = Float32Array.from({ length: size * size }, (_, i) => {
    const [x, y] = [i % size, Math.floor(i / size)];
    return x >= 10 && x < 20 && y >= 5 && y < 15 ? 1 : 0;
  });
  const m = measureRow(map, region, DEFAULT_GROUNDING);
  near(m.iou, 1 / 3, 'IoU');
  near(m.dice, 0.5, 'Dice');
  // a value of exactly the threshold is selected: a map of 0, 0.5 and 1 at threshold 0.5 selects both
  const half = Float32Array.from(region.inside, (v, i) => (v ? 1 : i === 0 ? 0.5 : 0));
  const o = overlap(Float64Array.from(half), region.inside, 0.5);
  near(o.iou, 100 / 101, 'IoU with the threshold pixel');
  near(o.dice, 200 / 201, 'Dice with the threshold pixel');
});

test('measureRow refuses a map of the wrong size, a non-finite value and an empty region', () => {
  const region = regionOf(4, (x) => x === 0);
  assert.throws(() => measureRow(new Float32Array(15), region, DEFAULT_GROUNDING), /16|4 x 4/);
  assert.throws(() => measureRow(new Float32Array(16).fill(NaN), region, DEFAULT_GROUNDING), /finite/);
  assert.throws(
    () =>
      measureRow(
        new Float32Array(16),
        regionOf(4, () => false),
        DEFAULT_GROUNDING,
      ),
    /empty/,
  );
  // the whole crop as the region: CNR and AUROC undefined, the pointing game always hits
  const all = measureRow(
    Float32Array.from({ length: 16 }, (_, i) => i),
    regionOf(4, () => true),
    DEFAULT_GROUNDING,
  );
  assert.deepEqual([all.hit, all.cnr, all.auroc], [true, null, null]);
});

test('growRegion and pointingChance: the disc around a pixel, clipped at the edge', () => {
  const size = 21;
  const centre = regionOf(size, (x, y) => x === 10 && y === 10);
  // radius 1: the pixel and its 4 neighbours; radius 1.5: the 3 x 3 block (diagonals are 1.41 away)
  near(pointingChance(centre, 1), 5 / (size * size), 'radius 1');
  near(pointingChance(centre, 1.5), 9 / (size * size), 'radius 1.5');
  // radius 5: the lattice points of a disc of radius 5 number 81
  near(pointingChance(centre, 5), 81 / (size * size), 'radius 5');
  // at a corner, a quarter of it (with the axes): x, y ≥ 0 and x² + y² ≤ 25 -> 26 points
  near(
    pointingChance(
      regionOf(size, (x, y) => x === 0 && y === 0),
      5,
    ),
    26 / (size * size),
    'corner',
  );
  // the grown region is exactly where pointingHit hits
  const blob = regionOf(size, (x, y) => (x - 4) ** 2 + (y - 14) ** 2 < 6 || (x === 17 && y < 3));
  const grown = growRegion(blob, 3.2);
  grown.forEach((g, i) => assert.equal(g === 1, pointingHit(i, blob, 3.2), `pixel ${i}`));
});

test('baselines: a constant map and a centred Gaussian with σ = 0.25 · size', () => {
  assert.ok(uniformMap(10).every((v) => v === 1));
  const g = centerGaussianMap(8); // centre 3.5, σ = 2
  const at = (x: number, y: number) => g[y * 8 + x];
  assert.ok(Math.abs(at(3, 3) - Math.exp(-0.5 / 8)) < 1e-7, 'next to the centre: distance² 0.5');
  assert.ok(Math.abs(at(0, 7) - Math.exp(-24.5 / 8)) < 1e-7, 'corner: distance² 2 · 3.5²');
  assert.equal(at(3, 3), at(4, 4));
  assert.equal(at(1, 2), at(6, 5)); // symmetric about the centre
  assert.equal(peakIndex(g), 3 * 8 + 3);
  assert.ok(Math.abs(centerGaussianMap(8, 0.5)[0] - Math.exp(-24.5 / 32)) < 1e-7, 'σ = 4');
});

test('upsampleBilinear: half-pixel centres and clamped edges on tiny maps', () => {
  // [a, b] -> 4: positions (o + 0.5) / 2 - 0.5 = -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1)
  assert.deepEqual(Array.from(upsampleBilinear([0, 4], 1, 2, 4)), [0, 1, 3, 4, 0, 1, 3, 4, 0, 1, 3, 4, 0, 1, 3, 4]); // every row alike
  const two = upsampleBilinear([0, 4, 8, 12], 2, 2, 4);
  assert.deepEqual(Array.from(two.subarray(0, 4)), [0, 1, 3, 4]);
  assert.deepEqual(Array.from(two.subarray(4, 8)), [2, 3, 5, 6]); // a quarter of the way down: + 0.25 · 8
  assert.ok(upsampleBilinear([7], 1, 1, 5).every((v) => v === 7));
  assert.throws(() => upsampleBilinear([1, 2, 3], 2, 2, 4), /3 values/);
});

test('boxes into the crop of a 300 x 200 image: the left edge crosses the crop, a box left of it is null', () => {
  // 300 x 200 -> Resize(224) -> 336 x 224, CenterCrop(224) drops 56 columns each side; crop column c shows
  // original column floor((c + 56.5) · 300 / 336): c = 0 -> 50, c = 10 -> 59, c = 11 -> 60, c = 223 -> 249.
  const r = boxesToCrop([{ x0: 0, y0: 0, x1: 60, y1: 200 }], 300, 200, 224)!;
  assert.equal(r.area, 11 * 224, 'crop columns 0..10, every row');
  assert.equal(r.inside[10], 1);
  assert.equal(r.inside[11], 0);
  assert.equal(boxesToCrop([{ x0: 0, y0: 0, x1: 50, y1: 200 }], 300, 200, 224), null, 'columns 0..49 are all cropped away');
  assert.equal(boxesToCrop([{ x0: 0, y0: 0, x1: 51, y1: 200 }], 300, 200, 224)!.area, 224, 'column 50 is crop column 0');
  assert.equal(boxesToCrop([{ x0: 250, y0: 0, x1: 400, y1: 10 }], 300, 200, 224), null, 'right of the crop, even past the image');
  // the union of overlapping boxes counts shared pixels once; an empty box adds nothing
  const a = boxesToCrop([{ x0: 0, y0: 0, x1: 60, y1: 200 }], 300, 200, 224)!;
  const u = boxesToCrop(
    [
      { x0: 0, y0: 0, x1: 60, y1: 200 },
      { x0: 55, y0: 0, x1: 65, y1: 200 },
      { x0: 100, y0: 100, x1: 100, y1: 150 },
    ],
    300,
    200,
    224,
  )!;
  assert.ok(u.area > a.area && u.area < a.area + boxesToCrop([{ x0: 55, y0: 0, x1: 65, y1: 200 }], 300, 200, 224)!.area);
  assert.equal(boxesToCrop([{ x0: 100, y0: 100, x1: 100, y1: 150 }], 300, 200, 224), null, 'only an empty box');
  // a fractional edge takes whole pixels from its ceiling: x0 = 58.2 is the same as 59
  assert.deepEqual(
    boxesToCrop([{ x0: 58.2, y0: 0, x1: 60, y1: 200 }], 300, 200, 224)!.inside,
    boxesToCrop([{ x0: 59, y0: 0, x1: 60, y1: 200 }], 300, 200, 224)!.inside,
  );
});

test('boxes into the crop of a 200 x 500 image: a box across the bottom edge is clipped', () => {
  // 200 x 500 -> 224 x 560, CenterCrop drops 168 rows at the top; crop row r shows original row
  // floor((r + 168.5) · 500 / 560): r = 212 -> 339, r = 213 -> 340, r = 223 -> 349 (rows 350+ are cut).
  // Columns: floor((c + 0.5) · 200 / 224): c = 21 -> 19, c = 22 -> 20, c = 44 -> 39, c = 45 -> 40.
  const r = boxesToCrop([{ x0: 20, y0: 340, x1: 40, y1: 600 }], 200, 500, 224)!;
  assert.equal(r.area, 11 * 23, 'rows 213..223, columns 22..44');
  assert.equal(r.inside[213 * 224 + 22], 1);
  assert.equal(r.inside[212 * 224 + 22], 0);
  assert.equal(r.inside[213 * 224 + 21], 0);
  assert.equal(r.inside[223 * 224 + 44], 1);
  assert.equal(r.inside[223 * 224 + 45], 0);
  assert.equal(boxesToCrop([{ x0: 0, y0: 0, x1: 200, y1: 150 }], 200, 500, 224), null, 'the top 150 rows are cut');
});

test('maskToCrop: the same rule as boxes, nonzero = inside, null when nothing of it is in the crop', () => {
  const [w, h] = [300, 200];
  const box = { x0: 40, y0: 30, x1: 120, y1: 90 };
  const mask = Uint8Array.from({ length: w * h }, (_, i) => {
    const [x, y] = [i % w, Math.floor(i / w)];
    return x >= box.x0 && x < box.x1 && y >= box.y0 && y < box.y1 ? 7 : 0;
  });
  assert.deepEqual(maskToCrop(mask, w, h, 224), boxesToCrop([box], w, h, 224));
  const outside = new Uint8Array(w * h);
  outside[5 * w + 10] = 255; // column 10 is cropped away
  assert.equal(maskToCrop(outside, w, h, 224), null);
  assert.throws(() => maskToCrop(new Uint8Array(10), w, h, 224), /300 x 200/);
  assert.throws(() => boxesToCrop([box], 0, h, 224), /width/);
});
