/**
 * Issue 22's promise: every number of an `eval grounding` report is reproducible from its files by a reader
 * with NumPy. A report of all five methods and both baselines on non-square images, with boxes that cross
 * the crop's edge and a row made of two boxes, is recomputed by test/support/grounding_reproduce.py from
 * maps.npy and the data CSV alone (torch's F.interpolate, torchvision's Resize + CenterCrop on the boxes'
 * mask, NumPy and scikit-learn for the measures) and compared with rows.csv and metrics.json.
 */
// test tier: full (PyTorch, torchvision, scikit-learn and SciPy oracle: /usr/bin/python3)
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { cli, EXAMPLE_IMAGES, REPO_ROOT, TORCH_PYTHON } from './helpers.js';

const dir = mkdtempSync(path.join(tmpdir(), 'biomedclip-grounding-reproduce-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('every row of rows.csv and every mean of metrics.json is recomputed from maps.npy and the CSV (1e-9)', () => {
  copyFileSync(EXAMPLE_IMAGES.adenocarcinoma, path.join(dir, 'adeno.jpg')); // 220 × 166
  copyFileSync(EXAMPLE_IMAGES.squamous, path.join(dir, 'squamous.jpeg')); // 275 × 183
  // Both images are wider than tall, so the crop cuts their sides: the first box crosses the left edge,
  // the adeno row is the union of two boxes (the second reaching the right edge), the last lies in the crop.
  const rows = [
    'image,text,x0,y0,x1,y1',
    'adeno.jpg,tumor glands,0,20,120,140',
    'adeno.jpg,tumor glands,150,100,220,166',
    'squamous.jpeg,keratin pearl,2,30,60,120',
    'squamous.jpeg,nuclei,100,40,180,150',
  ];
  const data = path.join(dir, 'data.csv');
  writeFileSync(data, `${rows.join('\n')}\n`);
  const out = path.join(dir, 'report');
  const run = cli('eval', 'grounding', data, '--demo', '--backend', 'cpu', '--bootstrap', '50', '--out', out, '--quiet');
  assert.equal(run.status, 0, run.stderr);
  const script = path.join(REPO_ROOT, 'test', 'support', 'grounding_reproduce.py');
  const py = spawnSync(TORCH_PYTHON, [script, data, out], { encoding: 'utf8' });
  assert.equal(py.status, 0, py.stderr);
  const result = JSON.parse(py.stdout) as { rows: number; methods: number; max_diff: Record<string, number> };
  console.log(
    `recomputed ${result.rows} row × method lines of ${result.methods} methods: max |diff| ${JSON.stringify(result.max_diff)} (tolerance 1e-9; hits exact)`,
  );
  assert.equal(result.methods, 7, 'five methods and two baselines');
  assert.equal(result.rows, 3 * 7);
  assert.equal(result.max_diff.hit, 0);
  for (const [k, v] of Object.entries(result.max_diff)) assert.ok(v <= 1e-9, `${k}: ${v}`);
});
