/**
 * `biomedclip studio --out DIR`: the explorer as static files. The folder holds what `serve` answers, at the
 * same relative URLs and with the same bytes (checked against a running serve(), file by file, both ways),
 * so the page's relative fetches (model/, tfjs/, examples/index.json, assets/, source/) find the same files
 * on any static host. Without a model there is no model/ and the line says so; a rerun replaces what studio
 * wrote and keeps what it did not; an --out it would harm (a file, a foreign site, the folder the user is
 * in) is one line, exit 2, and nothing written.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ensureDemoModel } from '../src/demo/demo-model.js';
import { studioFiles } from '../src/studio/files.js';
import { serve, type RunningServer } from '../src/studio/serve.js';
import { cliInProcess } from './helpers.js';
import { request } from './support/http.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'biomedclip-studio-'));
let modelDir: string;
let server: RunningServer;

before(async () => {
  modelDir = await ensureDemoModel();
  server = await serve({ modelDir, port: 0, host: '127.0.0.1' });
});

after(async () => {
  await server?.close();
  rmSync(tmp, { recursive: true, force: true });
});

/** Every file under `dir`, as slash-separated paths relative to it, sorted. */
function walk(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]))
    .sort();
}

/** The rule for bad input: exit `code`, one error line matching `pattern`, nothing on stdout. */
async function refused(args: string[], code: number, pattern: RegExp): Promise<void> {
  const r = await cliInProcess('studio', ...args);
  assert.equal(r.code, code, r.errors.join('\n'));
  assert.equal(r.errors.length, 1, r.errors.join('\n'));
  assert.match(r.errors[0], pattern);
  assert.equal(r.out, '', 'nothing on stdout');
}

/** Names beside `dir` that a write left behind (replaceDirectory's staging and swap folders). */
function leftovers(dir: string): string[] {
  return readdirSync(path.dirname(dir)).filter((n) => n.startsWith(`.${path.basename(dir)}.`));
}

test('studio --demo writes the layout serve answers: the same files at the same URLs, byte for byte', async () => {
  const site = path.join(tmp, 'site');
  const r = await cliInProcess('studio', '--out', site, '--demo');
  assert.equal(r.code, 0, r.errors.join('\n'));
  assert.equal(r.out, `biomedclip studio: wrote ${site}`);
  const files = walk(site);
  const source = walk(studioFiles().source).map((f) => `source/${f}`);
  const expected = [
    'assets/explorer.css',
    'assets/explorer.js',
    'assets/style.css',
    'examples/adenocarcinoma_histopathology.jpg',
    'examples/index.json',
    'examples/squamous_cell_carcinoma_histopathology.jpeg',
    'index.html',
    'model/fingerprint.json',
    'model/model.safetensors',
    'model/open_clip_config.json',
    'model/vocab.txt',
    ...source,
    'tfjs/tfjs-backend-wasm-simd.wasm',
    'tfjs/tfjs-backend-wasm-threaded-simd.wasm',
    'tfjs/tfjs-backend-wasm.wasm',
  ].sort();
  assert.deepEqual(files, expected);
  for (const dir of ['model', 'image', 'tokenizer']) assert.ok(source.includes(`source/${dir}/index.ts`), dir);
  // Each file is what serve answers at the same relative URL: the page fetches the same bytes from both.
  for (const file of files) {
    const r = await request(server.url, `/${file}`);
    assert.equal(r.status, 200, file);
    assert.ok(r.body.equals(readFileSync(path.join(site, file))), `${file}: the bytes serve answers`);
  }
  assert.deepEqual(JSON.parse(readFileSync(path.join(site, 'examples', 'index.json'), 'utf8')), [
    'adenocarcinoma_histopathology.jpg',
    'squamous_cell_carcinoma_histopathology.jpeg',
  ]);
  // The page's own references resolve inside the folder (a data: URL is no file: the empty favicon).
  const html = readFileSync(path.join(site, 'index.html'), 'utf8');
  const refs = [...html.matchAll(/(?:href|src)="([^"]+)"/g)].map((m) => m[1]).filter((r) => !r.startsWith('data:'));
  assert.deepEqual(refs.sort(), ['assets/explorer.css', 'assets/explorer.js', 'assets/style.css']);
  for (const model of ['model.safetensors', 'vocab.txt', 'open_clip_config.json', 'fingerprint.json']) {
    assert.ok(readFileSync(path.join(site, 'model', model)).equals(readFileSync(path.join(modelDir, model))), model);
  }
  assert.deepEqual(leftovers(site), []);
});

test('without --model: no model/ folder, and the line says where one goes', async () => {
  const site = path.join(tmp, 'bare');
  const r = await cliInProcess('studio', '--out', site);
  assert.equal(r.code, 0, r.errors.join('\n'));
  assert.equal(r.out, `biomedclip studio: wrote ${site} (no model: put a model directory at model/)`);
  assert.equal(existsSync(path.join(site, 'model')), false);
  assert.ok(existsSync(path.join(site, 'index.html')) && existsSync(path.join(site, 'tfjs', 'tfjs-backend-wasm.wasm')));
});

test("a rerun replaces studio's files and keeps the user's: a foreign file, and a model/ put there by hand", async () => {
  const site = path.join(tmp, 'rerun');
  assert.equal((await cliInProcess('studio', '--out', site, '--demo')).code, 0);
  writeFileSync(path.join(site, 'notes.txt'), 'mine');
  writeFileSync(path.join(site, 'assets', 'old.js'), 'a file of an older build');
  writeFileSync(path.join(site, 'examples', 'gone.jpg'), 'an example no longer shipped');
  writeFileSync(path.join(site, 'model', 'extra.bin'), 'not a model file');
  let r = await cliInProcess('studio', '--out', site, '--demo');
  assert.equal(r.code, 0, r.errors.join('\n'));
  assert.equal(readFileSync(path.join(site, 'notes.txt'), 'utf8'), 'mine');
  assert.equal(existsSync(path.join(site, 'assets', 'old.js')), false, 'a stale file of ours is gone');
  assert.equal(existsSync(path.join(site, 'examples', 'gone.jpg')), false);
  assert.equal(existsSync(path.join(site, 'model', 'extra.bin')), false, 'with --demo, model/ is ours: replaced whole');
  assert.ok(existsSync(path.join(site, 'model', 'model.safetensors')));

  // The line of a run without --model invites the user to put a model at model/: the next such run keeps it.
  writeFileSync(path.join(site, 'model', 'vocab.txt'), 'a vocabulary the user put there');
  r = await cliInProcess('studio', '--out', site);
  assert.equal(r.code, 0, r.errors.join('\n'));
  assert.equal(r.out, `biomedclip studio: wrote ${site} (model/ kept as it was)`);
  assert.equal(readFileSync(path.join(site, 'model', 'vocab.txt'), 'utf8'), 'a vocabulary the user put there');
  assert.equal(readFileSync(path.join(site, 'notes.txt'), 'utf8'), 'mine');
  assert.deepEqual(leftovers(site), []);
});

test('missing --out, or an --out that is a file or lies under one: one line, exit 2, nothing written', async () => {
  await refused(['--demo'], 2, /--out DIR is required/);
  const file = path.join(tmp, 'a-file');
  writeFileSync(file, 'precious');
  await refused(['--out', file, '--demo'], 2, /--out .*a-file: is a file; pass a folder/);
  assert.equal(readFileSync(file, 'utf8'), 'precious', 'the file is untouched (the swap used to delete it)');
  assert.deepEqual(leftovers(file), []);
  await refused(['--out', path.join(file, 'site')], 2, /part of the path is a file/);
  await refused(['--out', path.join(tmp, 'never'), '--model', '/nonexistent'], 1, /--model \/nonexistent: no such directory/);
  assert.equal(existsSync(path.join(tmp, 'never')), false, 'a failed run creates no --out');
  await refused(['--out', path.join(tmp, 'x'), '--bogus'], 2, /unknown option '--bogus'; see `biomedclip studio --help`/);
});

test("an --out holding another site's index.html or assets/ is refused, untouched", async () => {
  const web = path.join(tmp, 'webroot');
  mkdirSync(path.join(web, 'assets'), { recursive: true });
  writeFileSync(path.join(web, 'index.html'), '<h1>my site</h1>');
  writeFileSync(path.join(web, 'assets', 'logo.png'), 'logo');
  await refused(
    ['--out', web, '--demo'],
    2,
    /--out .*webroot: holds index\.html, assets of another site \(no explorer studio wrote\), which studio would replace/,
  );
  assert.deepEqual(walk(web), ['assets/logo.png', 'index.html']);
  assert.deepEqual(leftovers(web), []);
  // A folder of other things, none with a name studio writes, is fine: they are kept beside the explorer.
  const shared = path.join(tmp, 'shared');
  mkdirSync(shared);
  writeFileSync(path.join(shared, '.htaccess'), 'Header set X-Test 1');
  assert.equal((await cliInProcess('studio', '--out', shared)).code, 0);
  assert.equal(readFileSync(path.join(shared, '.htaccess'), 'utf8'), 'Header set X-Test 1');
});

test('an --out that holds the current folder is refused (the swap would leave the shell in a deleted folder)', async () => {
  const here = path.join(tmp, 'here');
  mkdirSync(path.join(here, 'inner'), { recursive: true });
  const cwd = process.cwd();
  try {
    process.chdir(path.join(here, 'inner'));
    await refused(['--out', '..'], 2, /holds the folder you are in/);
    process.chdir(here);
    await refused(['--out', '.'], 2, /holds the folder you are in/);
  } finally {
    process.chdir(cwd);
  }
  assert.deepEqual(readdirSync(here), ['inner']);
  assert.ok(statSync(here).isDirectory());
});

test('`biomedclip help studio` prints the usage', async () => {
  const r = await cliInProcess('help', 'studio');
  assert.equal(r.code, 0);
  assert.match(r.out, /^Usage: biomedclip studio --out DIR \[--model DIR \| --demo\]/);
});
