/**
 * `biomedclip eval grounding` end to end with the demo model on generated images (non-square both ways,
 * so the regions go through a real resize and centre crop): the report folder's files agree with each
 * other (rows.csv's means are metrics.json's, maps.npy has the shape and order metrics.json names) and
 * with `explain --json` (every map equal, 0 difference), bad rows are one stderr line each and counted,
 * a killed run resumes computing only what was not cached, Ctrl-C says how to resume, and bad files
 * and flags are one error before any work.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fs, existsSync, readFileSync, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { BiomedCLIP } from '../src/api/biomedclip.js';
import { command as evalCommand } from '../src/cli/commands/eval.js';
import { command as explainCommand } from '../src/cli/commands/explain.js';
import { parseCsv } from '../src/eval/csv.js';
import { loadGroundingData } from '../src/eval/grounding/data.js';
import { evalGrounding } from '../src/eval/grounding/run.js';
import { MEASURES } from '../src/eval/grounding/summary.js';
import { mulberry32 } from '../src/util/random.js';
import { ensureDemoModel } from '../src/demo/demo-model.js';
import { DEFAULT_PREPROCESS, type PreprocessOptions } from '../src/image/index.js';
import type { HostPair, Method } from '../src/inspect/explain.js';
import { REPO_ROOT, runCommand } from './helpers.js';

let tmp: string;
const MODEL = ['--model', 'demo', '--backend', 'wasm']; // as explain's tests: the cpu backend is several times slower
const METHODS = ['attention', 'gradcam'];
/** The rows that can be scored, in CSV order: [image, text]. */
const GOOD = [
  ['wide.png', 'left pleural effusion'],
  ['tall.png', 'nodule'],
  ['square.png', 'cardiomegaly'],
];

/** A w × h PNG of seeded noise (RGB, or gray with `gray`). */
function png(w: number, h: number, seed: number, pixel?: (x: number, y: number) => number): Buffer {
  const next = mulberry32(seed);
  const img = new PNG({ width: w, height: h });
  for (let p = 0; p < w * h; p++) {
    const v = pixel?.(p % w, Math.floor(p / w));
    for (let c = 0; c < 3; c++) img.data[p * 4 + c] = v ?? Math.floor(255 * next());
    img.data[p * 4 + 3] = 255;
  }
  return PNG.sync.write(img);
}

before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'biomedclip-grounding-'));
  await fs.writeFile(path.join(tmp, 'wide.png'), png(40, 30, 1));
  await fs.writeFile(path.join(tmp, 'tall.png'), png(30, 50, 2));
  await fs.writeFile(path.join(tmp, 'square.png'), png(32, 32, 3));
  await fs.writeFile(
    path.join(tmp, 'mask.png'),
    png(40, 30, 0, (x, y) => (x >= 10 && x < 25 && y >= 5 && y < 20 ? 255 : 0)),
  );
  await fs.writeFile(
    path.join(tmp, 'small-mask.png'),
    png(20, 20, 0, () => 255),
  );
  await fs.writeFile(
    path.join(tmp, 'boxes.csv'),
    [
      'image,text,x0,y0,x1,y1',
      'wide.png,left pleural effusion,2,3,15,20', // two boxes: one region
      'wide.png,left pleural effusion,28,10,38,25',
      'tall.png,nodule,5,15,25,35',
      'missing.png,nodule,1,2,3,4', // no such image
      'square.png,cardiomegaly,0,0,32,16',
      'wide.png,zero area,10,10,10,20', // x1 = x0
      'tall.png,outside the crop,0,0,30,5', // the crop shows rows 9 to 39 of the tall image
      'square.png,not a number,1,2,three,4',
      'square.png,past the image,20,20,40,30', // the image is 32x32: boxes of a larger copy
    ].join('\n') + '\n',
  );
});

after(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

/** maps.npy as shape and values (float32, C order). */
function readNpy(file: string): { shape: number[]; data: Float32Array } {
  const bytes = readFileSync(file);
  const len = bytes.readUInt16LE(8);
  const header = bytes.subarray(10, 10 + len).toString('latin1');
  assert.match(header, /'descr': '<f4', 'fortran_order': False/);
  assert.equal((10 + len) % 64, 0, 'the header is padded to 64 bytes as NumPy writes it');
  const shape = /'shape': \(([^)]*)\)/
    .exec(header)![1]
    .split(',')
    .filter((s) => s.trim() !== '')
    .map(Number);
  const body = bytes.subarray(10 + len);
  return { shape, data: new Float32Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.length)) };
}

const cache = () => path.join(tmp, 'cache');

test('eval grounding: report files consistent with each other and with explain --json; bad rows skipped with exit 3', async () => {
  const out = path.join(tmp, 'report');
  const csv = path.join(tmp, 'boxes.csv');
  const r = await runCommand(evalCommand, [
    'grounding',
    csv,
    '--method',
    METHODS.join(','),
    '--bootstrap',
    '200',
    '--cache',
    cache(),
    '--out',
    out,
    '--json',
    '--workers',
    '2', // the maps come from the pool; explain --json below runs in this thread
    ...MODEL,
  ]);
  assert.equal(r.code, 3, r.err);
  const json = JSON.parse(r.out);
  assert.equal(json.task, 'grounding');
  assert.equal(json.n, GOOD.length);
  assert.deepEqual(json.methods, [...METHODS, 'uniform', 'center-gaussian']);
  assert.equal(json.data.rows, 8, '10 lines, two of them one row');

  // Each bad row: one stderr line naming the CSV line and the problem, and one entry of "skipped".
  const skips = r.err.split('\n').filter((l) => l.startsWith('biomedclip: skipped'));
  assert.equal(skips.length, 5, r.err);
  assert.equal(json.skipped.length, 5);
  for (const [line, pattern] of [
    [5, /no image at missing\.png/],
    [7, /zero area/],
    [8, /wholly outside the centre crop .*of the 30x50 image it shows pixels x 0 to 29, y 9 to 39\)/],
    [9, /x1 'three' is not a number/],
    [10, /the box \(20, 20\)-\(40, 30\) reaches past the 32x32 image/],
  ] as const) {
    assert.equal(skips.filter((l) => l.startsWith(`biomedclip: skipped ${csv}:${line} `) && pattern.test(l)).length, 1, `line ${line}: ${r.err}`);
  }
  assert.match(r.err, /5 rows could not be scored and were left out of the metrics/);

  const files = (await fs.readdir(out)).sort();
  assert.deepEqual(files, ['figure-attention.png', 'figure-gradcam.png', 'maps.npy', 'metrics.json', 'report.md', 'rows.csv']);
  assert.deepEqual(JSON.parse(readFileSync(path.join(out, 'metrics.json'), 'utf8')), json, 'metrics.json is the --json object');
  const md = readFileSync(path.join(out, 'report.md'), 'utf8');
  for (const m of json.methods) assert.match(md, new RegExp(`\\| ${m}( \\(baseline\\))? \\| 3 \\|`));
  for (const m of METHODS) assert.ok(md.includes(`![${m}](figure-${m}.png)`));

  // rows.csv: one line per row and method; its means are metrics.json's.
  const [header, ...lines] = parseCsv(readFileSync(path.join(out, 'rows.csv'), 'utf8'), 'rows.csv');
  const col = (name: string) => header.fields.indexOf(name);
  assert.equal(lines.length, json.n * json.methods.length);
  for (const m of json.methods) {
    const mine = lines.filter((l) => l.fields[col('method')] === m).map((l) => l.fields);
    assert.equal(mine.length, json.n);
    const mean = (name: string) => {
      const v = mine.map((f) => f[col(name)]).filter((x) => x !== '');
      return v.length === 0 ? null : v.map(Number).reduce((a, b) => a + b, 0) / v.length;
    };
    const fromCsv = { pointing_accuracy: mean('hit'), mean_cnr: mean('cnr'), mean_auroc: mean('auroc'), mean_iou: mean('iou'), mean_dice: mean('dice') };
    for (const k of MEASURES) {
      const want = json.metrics[m][k];
      if (want === null) assert.equal(fromCsv[k], null, `${m} ${k}`);
      else assert.ok(Math.abs(fromCsv[k]! - want) < 1e-12, `${m} ${k}: rows.csv ${fromCsv[k]} vs metrics.json ${want}`);
      const ci = json.metrics[m].ci95[k];
      if (ci !== null) assert.ok(ci[0] <= want + 1e-12 && want <= ci[1] + 1e-12, `${m} ${k}: ${want} within its interval ${ci}`);
    }
  }
  assert.equal(json.metrics.uniform.mean_auroc, 0.5, 'a constant map scores every pixel alike');
  assert.equal(json.metrics.uniform.mean_cnr, 0, 'and has no contrast');
  const chance = lines.filter((l) => l.fields[col('method')] === 'uniform').map((l) => Number(l.fields[col('pointing_chance')]));
  assert.ok(Math.abs(chance.reduce((a, b) => a + b, 0) / chance.length - json.pointing_chance) < 1e-12, 'pointing_chance is the mean of the rows');
  assert.ok(json.pointing_chance > 0 && json.pointing_chance < 1);

  // maps.npy: [rows, methods, 14, 14]; each model method's map is explain --json's image_map, exactly.
  const npy = readNpy(path.join(out, 'maps.npy'));
  assert.deepEqual(npy.shape, [json.n, json.methods.length, 14, 14]);
  let maxDiff = 0;
  for (const [i, [image, text]] of GOOD.entries()) {
    assert.ok(lines.some((l) => l.fields[col('row')] === String(i) && l.fields[col('image')] === image && l.fields[col('text')] === text));
    for (const [k, method] of METHODS.entries()) {
      const e = await runCommand(explainCommand, [path.join(tmp, image), '--text', text, '--method', method, '--json', ...MODEL]);
      const map: number[] = JSON.parse(e.out)[0].image_map;
      const at = (i * json.methods.length + k) * 196;
      for (let p = 0; p < 196; p++) maxDiff = Math.max(maxDiff, Math.abs(npy.data[at + p] - map[p]));
    }
  }
  console.log(`maps.npy vs explain --json image_map: max |diff| ${maxDiff} (tolerance 0)`);
  assert.equal(maxDiff, 0);
});

test('a known answer through the whole run: a map peaking on the box hits and beats both baselines; a NaN map skips its row', async () => {
  // A stand-in for the model (the narrow interface run.ts declares): maps made to order, no network.
  // wide.png (40x30) shows on the crop as x' = 7.45 x - 37, y' = 7.47 y; the box x 2-12, y 2-12 covers
  // crop columns 0-52 and rows 15-89: patches (row 1-5, column 0-3).
  const grid = 14;
  const onBox = new Float32Array(grid * grid);
  for (let r = 1; r <= 5; r++) for (let c = 0; c <= 3; c++) onBox[r * grid + c] = 1 + (r === 3 && c === 1 ? 1 : 0);
  const fake = {
    modelDir: await ensureDemoModel(),
    backend: 'none',
    isDemo: false,
    config: { preprocess: DEFAULT_PREPROCESS, vision: { imageSize: 224, patchSize: 16 } },
    preprocessOptions: (o: PreprocessOptions = {}) => o,
    // The pair carries the text as one token: 1 for 'broken', whose maps are NaN.
    explainInputs: async (_image: string, text: string) => ({
      pixels: { shape: [1, 3, 224, 224], data: new Float32Array(3 * 224 * 224) },
      ids: { shape: [1, 1], data: Int32Array.of(text === 'broken' ? 1 : 0) },
    }),
    explainRunner: async () => ({
      window: 2,
      explain: async (pair: HostPair, methods: readonly Method[]) =>
        methods.map((method) => ({
          method,
          grid: [grid, grid] as [number, number],
          imageMap: pair.ids.data[0] === 1 ? new Float32Array(grid * grid).fill(NaN) : onBox,
          textMap: null,
          logit: 1,
        })),
    }),
  };
  const csv = path.join(tmp, 'known.csv');
  await fs.writeFile(csv, 'image,text,x0,y0,x1,y1\nwide.png,finding,2,2,12,12\nwide.png,broken,2,2,12,12\n');
  const run = await evalGrounding(fake, {
    data: await loadGroundingData(csv),
    methods: ['gradcam'],
    measure: { tolerance: 0, threshold: 0.5 },
    resamples: 0,
    seed: 0,
    cacheDir: path.join(tmp, 'cache-known'),
  });
  const r = run.report;
  assert.equal(r.n, 1);
  assert.deepEqual(
    r.skipped.map((s) => s.error),
    ['the gradcam map holds NaN or Inf; the row cannot be scored'],
  );
  const [m, uniform, gaussian] = r.methods.map((name) => r.metrics[name]);
  assert.equal(m.pointing_accuracy, 1, 'the maximum is inside the box');
  assert.equal(uniform.pointing_accuracy, 0);
  assert.equal(gaussian.pointing_accuracy, 0);
  for (const k of ['mean_cnr', 'mean_auroc'] as const) {
    assert.ok(m[k]! > uniform[k]! && m[k]! > gaussian[k]!, `${k}: ${m[k]} above the baselines' ${uniform[k]} and ${gaussian[k]}`);
  }
  assert.ok(m.mean_auroc! > 0.9, `AUROC ${m.mean_auroc}`);
});

test('one explain call for several methods gives the maps of one call per method (0 difference, all five)', async () => {
  const clip = await BiomedCLIP.load('demo', { backend: 'wasm' });
  try {
    const methods = ['attention', 'rollout', 'relevance', 'gradcam', 'legrad'] as const;
    const image = path.join(tmp, 'tall.png');
    const together = (await clip.explain(image, 'nodule', methods)).explanations;
    let maxDiff = 0;
    for (const [k, m] of methods.entries()) {
      const alone = (await clip.explain(image, 'nodule', [m])).explanations[0];
      for (let p = 0; p < alone.imageMap.length; p++) maxDiff = Math.max(maxDiff, Math.abs(alone.imageMap[p] - together[k].imageMap[p]));
      assert.equal(alone.logit, together[k].logit);
    }
    console.log(`shared explain call vs one per method: max |diff| ${maxDiff} (tolerance 0)`);
    assert.equal(maxDiff, 0);
  } finally {
    clip.dispose();
  }
});

test('the pool with 2 workers gives maps.npy of 1 worker (this thread) exactly, all five methods; a killed pooled run resumes', async () => {
  const data = await loadGroundingData(path.join(tmp, 'boxes.csv'));
  const methods: Method[] = ['attention', 'rollout', 'relevance', 'gradcam', 'legrad'];
  const base = { data, methods, measure: { tolerance: 15, threshold: 0.5 }, resamples: 0, seed: 0 };
  const single = await BiomedCLIP.load('demo', { backend: 'wasm', workers: 1 });
  const pooled = await BiomedCLIP.load('demo', { backend: 'wasm', workers: 2 });
  try {
    assert.equal((await pooled.explainRunner(true)).window, 4, 'two workers, two pairs sent ahead to each');
    const one = await evalGrounding(single, { ...base, cacheDir: path.join(tmp, 'cache-one') });
    let progress = 0;
    const two = await evalGrounding(pooled, { ...base, cacheDir: path.join(tmp, 'cache-two'), onProgress: (done) => (progress = done) });
    assert.equal(progress, 5 * GOOD.length, 'progress counts every map');
    assert.deepEqual(two.report.cache.maps_computed, 5 * GOOD.length);
    assert.deepEqual(
      two.rows.map((r) => [r.item.image, r.item.text]),
      GOOD,
      'rows in CSV order',
    );
    let maxDiff = 0;
    for (let i = 0; i < one.maps.length; i++) maxDiff = Math.max(maxDiff, Math.abs(one.maps[i] - two.maps[i]));
    console.log(`maps.npy, 2 pool workers vs 1 (this thread), wasm: max |diff| ${maxDiff} (tolerance 0)`);
    assert.equal(one.maps.length, two.maps.length);
    assert.equal(maxDiff, 0);
    assert.deepEqual(
      two.rows.map((r) => r.logits),
      one.rows.map((r) => r.logits),
    );

    // Killed after the first row's maps arrive: what arrived is cached (other rows' maps may have arrived
    // too, the pool runs them at once), and the resumed run computes exactly the rest.
    const killedDir = path.join(tmp, 'cache-two-killed');
    const killed = () => {
      throw new Error('killed');
    };
    await assert.rejects(evalGrounding(pooled, { ...base, cacheDir: killedDir, onProgress: killed }), /killed/);
    const resumed = await evalGrounding(pooled, { ...base, cacheDir: killedDir });
    const { maps_computed, maps_cached } = resumed.report.cache;
    assert.equal(maps_computed + maps_cached, 5 * GOOD.length, `${maps_computed} computed + ${maps_cached} cached`);
    assert.ok(maps_cached >= 5, `the first row's maps were kept (${maps_cached})`);
    assert.deepEqual(Array.from(resumed.maps), Array.from(two.maps));
  } finally {
    single.dispose();
    pooled.dispose();
  }
});

test('a killed run resumes from the map cache: nothing cached is computed again', async () => {
  const data = await loadGroundingData(path.join(tmp, 'boxes.csv'));
  const fresh = path.join(tmp, 'cache-killed');
  // In this thread, one row at a time: the kill after the first row keeps exactly that row.
  const clip = await BiomedCLIP.load('demo', { backend: 'wasm', workers: 1 });
  const base = { data, methods: ['attention', 'gradcam'] as const, measure: { tolerance: 15, threshold: 0.5 }, resamples: 0, seed: 0, cacheDir: fresh };
  try {
    const killed = () => {
      throw new Error('killed');
    };
    await assert.rejects(evalGrounding(clip, { ...base, methods: [...base.methods], onProgress: killed }), /killed/);
    const resumed = await evalGrounding(clip, { ...base, methods: [...base.methods] });
    assert.deepEqual(resumed.report.cache, { dir: fresh, maps_computed: 2 * (GOOD.length - 1), maps_cached: 2 }, 'the first row was kept');
    const again = await evalGrounding(clip, { ...base, methods: [...base.methods] });
    assert.deepEqual(again.report.cache, { dir: fresh, maps_computed: 0, maps_cached: 2 * GOOD.length });
    assert.deepEqual(again.report.metrics, resumed.report.metrics);
    assert.deepEqual(Array.from(again.maps), Array.from(resumed.maps));
    // A record torn by a kill mid-write is cut off, and its map computed again.
    const file = path.join(fresh, 'maps-14x14.bin');
    await fs.truncate(file, statSync(file).size - 100);
    const torn = await evalGrounding(clip, { ...base, methods: [...base.methods] });
    assert.deepEqual(torn.report.cache, { dir: fresh, maps_computed: 1, maps_cached: 2 * GOOD.length - 1 });
    assert.deepEqual(Array.from(torn.maps), Array.from(resumed.maps));
  } finally {
    clip.dispose();
  }
});

test('Ctrl-C says how many maps are cached and that the same command resumes; exit 130', async () => {
  const many = path.join(tmp, 'many.csv');
  // Enough rows that the signal lands mid-run on a busy machine (about 0.3 s a map on wasm).
  const rows = Array.from({ length: 16 }, (_, i) => `wide.png,finding ${i},2,3,30,25`);
  await fs.writeFile(many, ['image,text,x0,y0,x1,y1', ...rows].join('\n') + '\n');
  const dir = path.join(tmp, 'cache-ctrl-c');
  const file = path.join(dir, 'maps-14x14.bin');
  const child = spawn(
    process.execPath,
    [path.join(REPO_ROOT, 'bin', 'biomedclip.js'), 'eval', 'grounding', many, '--method', 'attention', '--cache', dir, ...MODEL],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  while (!(existsSync(file) && statSync(file).size > 0) && child.exitCode === null) await new Promise((r) => setTimeout(r, 5));
  child.kill('SIGINT');
  assert.equal(await exited, 130, stderr);
  const line = stderr.split('\n').find((l) => l.startsWith('biomedclip: interrupted'));
  assert.match(line ?? '', new RegExp(`^biomedclip: interrupted: \\d+/16 maps of this run are in the cache ${dir}; run the same command to resume$`));
  const kept = Number(/(\d+)\/16/.exec(line!)![1]);
  assert.ok(kept >= 1 && kept < 16, `the signal must land mid-run (${kept} kept)`);
  const again = await runCommand(evalCommand, ['grounding', many, '--method', 'attention', '--cache', dir, '--bootstrap', '0', '--json', ...MODEL]);
  assert.equal(again.code, 0, again.err);
  // What Ctrl-C says is committed is; a write that completed while the signal was handled may add one.
  const cached = JSON.parse(again.out).cache.maps_cached;
  assert.ok(cached === kept || cached === kept + 1, `said ${kept} kept, the rerun found ${cached}`);
});

test('masks: a mask of the wrong size is a skipped row; a good one is scored; the text table lists every method', async () => {
  const csv = path.join(tmp, 'masks.csv');
  await fs.writeFile(csv, 'image,text,mask,group\nwide.png,effusion,mask.png,fluid\nwide.png,nodule,small-mask.png,mass\n');
  const r = await runCommand(evalCommand, ['grounding', csv, '--method', 'attention', '--bootstrap', '0', '--cache', cache(), ...MODEL]);
  assert.equal(r.code, 3, r.err);
  assert.match(r.err, /skipped .*masks\.csv:3 \(wide\.png, "nodule"\): mask small-mask\.png is 20x20 but the image is 40x30/);
  assert.match(r.out, /^n: 1$/m);
  for (const m of ['attention', 'uniform \\(baseline\\)', 'center-gaussian \\(baseline\\)']) assert.match(r.out, new RegExp(`^${m} +1 `, 'm'));
  const json = JSON.parse(
    (await runCommand(evalCommand, ['grounding', csv, '--method', 'attention', '--bootstrap', '0', '--cache', cache(), '--json', ...MODEL])).out,
  );
  assert.equal(json.group_by, 'group');
  assert.deepEqual(Object.keys(json.groups), ['fluid']);
  assert.equal(json.cache.maps_computed, 0, 'the second run finds its map in the cache');
});

test('bad files and flags: one error before any work, nothing written', async () => {
  const out = path.join(tmp, 'not-written');
  const run = (args: string[]) => runCommand(evalCommand, ['grounding', ...args, '--out', out, '--cache', cache(), ...MODEL]);
  const noText = path.join(tmp, 'no-text.csv');
  await fs.writeFile(noText, 'image,caption,x0,y0,x1,y1\nwide.png,a,1,1,2,2\n');
  await assert.rejects(run([noText]), /no 'text' column .*image,text,x0,y0,x1,y1 \(a box\) or image,text,mask/);
  const both = path.join(tmp, 'both.csv');
  await fs.writeFile(both, 'image,text,x0,y0,x1,y1,mask\n');
  await assert.rejects(run([both]), /both box columns .* and a mask column/);
  await assert.rejects(run([path.join(tmp, 'boxes.csv'), '--method', 'attention,saliency']), /--method attention,saliency: 'saliency' is not a method/);
  await assert.rejects(run([path.join(tmp, 'boxes.csv'), '--threshold', '1.5']), /--threshold 1\.5: expected a number in \[0, 1\)/);
  const foreign = path.join(tmp, 'foreign');
  await fs.mkdir(foreign);
  await fs.writeFile(path.join(foreign, 'notes.txt'), 'mine');
  await assert.rejects(
    runCommand(evalCommand, ['grounding', path.join(tmp, 'boxes.csv'), '--out', foreign, ...MODEL]),
    /--out .*foreign: holds notes\.txt, not part of a grounding report/,
  );
  assert.equal(existsSync(out), false);
});
