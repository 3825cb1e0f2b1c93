/**
 * Every image format `index --help` lists is indexed (issue 10, item 7: .bmp .tif .tiff .webp .gif were all
 * skipped as "not a PNG or JPEG"). The files are the model card's example image saved by Pillow in each
 * format; their pixel parity with Pillow is test/image-parity.test.ts's job.
 */
// test tier: full (Pillow oracle: /usr/bin/python3)
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { writeDemoModel } from '../src/demo/demo-model.js';
import { IMAGE_EXTENSIONS } from '../src/retrieval/files.js';
import { cliInProcess, EXAMPLE_IMAGES, TORCH_PYTHON } from './helpers.js';
import { indexRows } from './index-rows.js';

let dir = '';
let images = '';

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'biomedclip-formats-'));
  images = path.join(dir, 'images');
  mkdirSync(images);
  const save = `
import sys
from PIL import Image
im = Image.open(sys.argv[1]); out = sys.argv[2]
for ext in ('bmp', 'gif', 'tif', 'tiff', 'webp', 'png', 'jpg', 'jpeg'):
    im.save(out + '/example.' + ext)
`;
  const r = spawnSync(TORCH_PYTHON, ['-c', save, EXAMPLE_IMAGES.adenocarcinoma, images], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  await writeDemoModel(path.join(dir, 'demo'));
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('index embeds a file of every extension it lists; none is skipped', async () => {
  assert.deepEqual([...IMAGE_EXTENSIONS].sort(), ['.bmp', '.gif', '.jpeg', '.jpg', '.png', '.tif', '.tiff', '.webp']);
  const r = await cliInProcess('index', images, '--out', path.join(dir, 'index'), '--model', path.join(dir, 'demo'), '--backend', 'cpu', '--json');
  assert.equal(r.code, 0, r.errors.join('\n'));
  const result = JSON.parse(r.out);
  assert.deepEqual(result.skipped, []);
  assert.equal(result.count, IMAGE_EXTENSIONS.size);
  const manifest = (await indexRows(path.join(dir, 'index'), 64)).map((r) => r.path);
  assert.deepEqual(manifest.sort(), [...IMAGE_EXTENSIONS].map((e) => `example${e}`).sort());
});
