/**
 * `search` verifies the index before answering (issue 10, item 4; issue 23 for the LanceDB table): a
 * table whose files are missing, truncated or garbage, a count that disagrees, a NaN or non-unit row are
 * each refused with one line that says what is wrong and how to repair it, never an answer with fewer
 * results (or a NaN row ranked with cosine `null`). The command each line suggests works; an interrupted
 * index stays searchable as far as it was committed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { writeDemoModel } from '../src/demo/demo-model.js';
import { cliInProcess, EXAMPLE_IMAGES } from './helpers.js';
import { indexRows, overwriteRow } from './index-rows.js';

let dir = '';
let images = '';
let model = '';
let pristine = '';
const E = 64; // the demo model's embedding width

const cli = (...args: string[]) => cliInProcess(...args, '--backend', 'cpu', '--quiet');

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'biomedclip-damage-'));
  model = path.join(dir, 'model');
  await writeDemoModel(model);
  images = path.join(dir, 'images');
  mkdirSync(images);
  copyFileSync(EXAMPLE_IMAGES.squamous, path.join(images, 'a.jpeg'));
  copyFileSync(EXAMPLE_IMAGES.adenocarcinoma, path.join(images, 'b.jpg'));
  copyFileSync(EXAMPLE_IMAGES.squamous, path.join(images, 'c.jpeg'));
  pristine = path.join(dir, 'pristine');
  const built = await cli('index', images, '--out', pristine, '--model', model);
  assert.equal(built.code, 0, built.errors.join('\n'));
});

after(() => rmSync(dir, { recursive: true, force: true }));

let copies = 0;
/** A fresh copy of the finished three-image index, damaged by `damage`. */
async function damagedCopy(damage: (index: string) => void | Promise<void>): Promise<string> {
  const index = path.join(dir, `copy-${copies++}`);
  cpSync(pristine, index, { recursive: true });
  await damage(index);
  return index;
}

/** search refuses with exactly one error line matching `pattern`, and prints nothing; returns the line. */
async function refused(index: string, pattern: RegExp): Promise<string> {
  const r = await cli('search', index, 'tumor', '--json');
  assert.equal(r.code, 1, `search answered from a damaged index: ${r.out}`);
  assert.equal(r.errors.length, 1);
  assert.match(r.errors[0], /damaged index: /);
  assert.match(r.errors[0], pattern);
  assert.equal(r.out, '');
  console.log(r.errors[0]);
  return r.errors[0];
}

/** Runs the `biomedclip index ...` command `line` suggests, with NEW_INDEX made concrete; it must succeed. */
async function suggestedWorks(line: string, damaged: string): Promise<void> {
  const suggested = /`biomedclip (index [^`]*)`/.exec(line);
  assert.ok(suggested, line);
  const command = suggested[1].replace('NEW_INDEX', path.join(dir, `rebuilt-${copies++}`)).split(' ');
  const r = await cliInProcess(...command, '--model', model, '--backend', 'cpu', '--quiet');
  assert.equal(r.code, 0, `${command.join(' ')}: ${r.errors.join('\n')}`);
  const target = command[command.indexOf('--out') + 1];
  const search = await cli('search', target, 'tumor', '--json');
  assert.equal(search.code, 0, `search ${target} after the fix of ${damaged}: ${search.errors.join('\n')}`);
  assert.equal(JSON.parse(search.out).results.length, 3);
}

const dataFiles = (index: string) => readdirSync(path.join(index, 'rows.lance', 'data')).map((f) => path.join(index, 'rows.lance', 'data', f));
const versionFiles = (index: string) =>
  readdirSync(path.join(index, 'rows.lance', '_versions'))
    .filter((f) => f.endsWith('.manifest'))
    .map((f) => path.join(index, 'rows.lance', '_versions', f));

test('the undamaged index answers with every image', async () => {
  const r = await cli('search', pristine, 'tumor', '--json');
  assert.equal(r.code, 0);
  const result = JSON.parse(r.out);
  assert.equal(result.complete, true);
  assert.equal(result.results.length, 3);
});

test('a table whose files are gone, truncated or garbage is refused; the rebuild the line suggests works', async () => {
  const cases: [string, (i: string) => void][] = [
    ['data files deleted', (i) => dataFiles(i).forEach((f) => rmSync(f))],
    ['data files truncated', (i) => dataFiles(i).forEach((f) => truncateSync(f, 100))],
    ['version manifests overwritten', (i) => versionFiles(i).forEach((f) => writeFileSync(f, 'garbage\n'))],
  ];
  for (const [what, damage] of cases) {
    const index = await damagedCopy(damage);
    const line = await refused(index, /its table rows\.lance cannot be read \(.+\); rebuild it with `biomedclip index .* --out NEW_INDEX`, then delete /);
    assert.ok(line.length < 600, `${what}: one readable line (${line.length} chars)`);
    await suggestedWorks(line, what);
  }
});

test('a missing table or a count that disagrees with index.json is refused; re-running index repairs it', async () => {
  const missing = await damagedCopy((i) => rmSync(path.join(i, 'rows.lance'), { recursive: true }));
  const r = await cli('search', missing, 'tumor');
  assert.equal(r.code, 1);
  assert.match(r.errors[0], /rows\.lance: missing; re-run `biomedclip index .* --out .*`/);
  const counted = await damagedCopy((i) => {
    const info = JSON.parse(readFileSync(path.join(i, 'index.json'), 'utf8'));
    writeFileSync(path.join(i, 'index.json'), JSON.stringify({ ...info, count: 5 }));
  });
  await refused(counted, /index\.json says 5 images but the table holds 3; re-run `biomedclip index .* --out .*` to repair it/);
  for (const index of [missing, counted]) {
    const repaired = await cliInProcess('index', images, '--out', index, '--model', model, '--backend', 'cpu', '--json');
    assert.equal(repaired.code, 0, repaired.errors.join('\n'));
    assert.equal(JSON.parse(repaired.out).count, 3);
    const again = await cli('search', index, 'tumor', '--json');
    assert.equal(again.code, 0, again.errors.join('\n'));
    assert.equal(JSON.parse(again.out).results.length, 3);
  }
});

test('a NaN row or a row that is not unit-norm is refused, naming its image; index embeds it again', async () => {
  const setRow = async (i: string, file: string, edit: (v: Float32Array) => void) => {
    const row = (await indexRows(i, E)).find((x) => x.path === file);
    assert.ok(row);
    edit(row.embedding);
    await overwriteRow(i, row, row.embedding);
  };
  const nan = await damagedCopy((i) => setRow(i, 'b.jpg', (v) => (v[3] = NaN)));
  await refused(nan, /the row of b\.jpg holds NaN or Inf; re-run `biomedclip index .* --out .*` to embed it again/);
  const scaled = await damagedCopy((i) => setRow(i, 'c.jpeg', (v) => v.forEach((x, k) => (v[k] = 2 * x))));
  await refused(scaled, /the row of c\.jpeg is not unit-norm \(norm 2/);
  // index checks rows as search does: it embeds the bad row again instead of calling it "already indexed".
  for (const index of [nan, scaled]) {
    const repaired = await cliInProcess('index', images, '--out', index, '--model', model, '--backend', 'cpu', '--json');
    assert.equal(repaired.code, 0, repaired.errors.join('\n'));
    const json = JSON.parse(repaired.out);
    assert.equal(json.repaired.length, 1);
    assert.equal(json.alreadyIndexed, 2);
    const r = await cli('search', index, 'tumor', '--json');
    assert.equal(r.code, 0, r.errors.join('\n'));
    assert.equal(JSON.parse(r.out).results.length, 3);
  }
});

test('an interrupted index (killed run: index.json behind the table) is searchable as far as it was committed', async () => {
  const index = await damagedCopy((i) => {
    const info = JSON.parse(readFileSync(path.join(i, 'index.json'), 'utf8'));
    writeFileSync(path.join(i, 'index.json'), JSON.stringify({ ...info, complete: false, count: 2 }));
  });
  const r = await cli('search', index, 'tumor', '--json');
  assert.equal(r.code, 0, r.errors.join('\n'));
  const result = JSON.parse(r.out);
  assert.equal(result.complete, false);
  assert.equal(result.count, 3);
  assert.equal(result.results.length, 3);
});

test('an index of the older .npy store is refused with the rebuild command, which works', async () => {
  const old = path.join(dir, 'v1.index');
  mkdirSync(old);
  const info = JSON.parse(readFileSync(path.join(pristine, 'index.json'), 'utf8'));
  writeFileSync(path.join(old, 'index.json'), JSON.stringify({ ...info, version: 1 }));
  writeFileSync(path.join(old, 'manifest.jsonl'), '');
  writeFileSync(path.join(old, 'embeddings.npy'), '');
  const r = await cli('search', old, 'tumor');
  assert.equal(r.code, 1);
  assert.equal(r.errors.length, 1);
  assert.match(
    r.errors[0],
    /an index of an older version \(embeddings\.npy \+ manifest\.jsonl\).*rebuild it into a new folder with `biomedclip index .* --out NEW_INDEX`/,
  );
  await suggestedWorks(r.errors[0], 'v1');
});
