/**
 * `eval` on the inputs of issue 19 that used to pass silently or fail with a raw Node error: a report or a
 * cache folder inside the data, a report folder holding the user's own files, duplicate and contradictory
 * CSV rows, classes with the same prompt, class names that are predictions.csv's own column names, paths
 * that cannot be written, a missing image named by a CSV, and a Recall@K beyond the candidates. Each bad
 * input is one error line naming the path (or rows, or classes) and the fix, with nothing written.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs, existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { parseCsv } from '../src/eval/csv.js';
import { UserError } from '../src/errors.js';
import { mulberry32 } from '../src/util/random.js';
import { cliInProcess } from './helpers.js';

let tmp: string;
// wasm, the default backend without a GPU: these checks do not depend on it, and it embeds in a fifth of cpu's time.
const MODEL = ['--model', 'demo', '--backend', 'wasm', '--bootstrap', '0', '--quiet'];

function png(seed: number): Buffer {
  const next = mulberry32(seed);
  const img = new PNG({ width: 24, height: 24 });
  for (let p = 0; p < img.data.length; p++) img.data[p] = p % 4 === 3 ? 255 : Math.floor(255 * next());
  return PNG.sync.write(img);
}

/** A class-per-folder dataset of `classes`, two images each. */
async function dataset(name: string, classes: string[]): Promise<string> {
  const dir = path.join(tmp, name);
  for (const [c, cls] of classes.entries()) {
    await fs.mkdir(path.join(dir, cls), { recursive: true });
    for (let i = 0; i < 2; i++) await fs.writeFile(path.join(dir, cls, `img${i}.png`), png(10 * c + i));
  }
  return dir;
}

/** Exactly one error line matching `pattern`, exit `code`, nothing on stdout. */
function refused(r: { code: number; out: string; errors: string[] }, code: number, pattern: RegExp): void {
  assert.equal(r.code, code, r.errors.join('\n'));
  assert.equal(r.errors.length, 1, r.errors.join('\n'));
  assert.match(r.errors[0], pattern);
  assert.equal(r.out, '');
}

before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'biomedclip-eval-inputs-'));
});

after(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

test('a report and a cache inside the data folder are not read as classes or images on the next run', async () => {
  const data = await dataset('inside', ['normal', 'tumor', 'necrosis']);
  const saved = process.env.XDG_CACHE_HOME;
  process.env.XDG_CACHE_HOME = path.join(data, 'usercache'); // the default cache, inside the data
  try {
    for (const run of [1, 2]) {
      const r = await cliInProcess('eval', 'classify', data, '--classes-from-folders', '--out', path.join(data, 'report'), '--json', ...MODEL);
      assert.equal(r.code, 0, `run ${run}: ${r.errors.join('\n')}`);
      const json = JSON.parse(r.out);
      assert.equal(json.n, 6, `run ${run}`);
      assert.deepEqual(json.data.classes, ['necrosis', 'normal', 'tumor'], `run ${run}`);
    }
    // Later runs not told about that report (no --out, or another one) still leave it out, and say so.
    const later = await cliInProcess('eval', 'classify', data, '--classes-from-folders', '--cache', path.join(tmp, 'inside.cache'), '--json', ...MODEL);
    assert.equal(JSON.parse(later.out).n, 6, 'an earlier report inside the data is not read back');
    const index = await cliInProcess('index', data, '--out', path.join(tmp, 'inside.index'), '--json', ...MODEL.slice(0, 4));
    assert.equal(JSON.parse(index.out).count, 6, 'index leaves out our reports and caches too');
    const outputs = (JSON.parse(index.out).outputs as string[]).map((o) => path.relative(data, o)).sort();
    assert.deepEqual(
      outputs.map((o) => o.split(path.sep)[0]),
      ['report', 'usercache', 'usercache'],
    );
    assert.deepEqual(
      outputs.slice(1).map((o) => path.basename(o)),
      ['images', 'texts'],
      "the default cache's two stores",
    );
    const other = await dataset('inside-cache', ['normal', 'tumor', 'necrosis']);
    const withCache = ['eval', 'classify', other, '--classes-from-folders', '--cache', path.join(other, 'tumor', 'cache'), '--json', ...MODEL];
    for (const run of [1, 2]) assert.equal(JSON.parse((await cliInProcess(...withCache)).out).n, 6, `--cache inside a class folder, run ${run}`);
  } finally {
    if (saved === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = saved;
  }
});

test('--out: a report folder holding other files, or a report of the other task, is refused and left as it was', async () => {
  const data = await dataset('owned', ['normal', 'tumor']);
  const out = path.join(tmp, 'owned.report');
  const args = ['eval', 'classify', data, '--classes-from-folders', '--cache', path.join(tmp, 'owned.cache'), '--out', out, ...MODEL];
  assert.equal((await cliInProcess(...args)).code, 0);
  assert.equal((await cliInProcess(...args)).code, 0, 'our own report of the same kind is replaced');
  for (const name of ['confusion.png', 'calibration.png']) writeFileSync(path.join(out, name), png(0)); // an earlier version's charts
  assert.equal((await cliInProcess(...args)).code, 0, 'a report with the PNG charts of earlier versions is ours too');
  assert.deepEqual(
    (await fs.readdir(out)).filter((n) => n.endsWith('.png')),
    [],
    'and is replaced whole',
  );
  writeFileSync(path.join(out, 'notes.txt'), 'my notes');
  refused(await cliInProcess(...args), 2, /--out .*owned\.report: .*notes\.txt.* not part of a classification report; move .* or pass another --out/);
  assert.equal(readFileSync(path.join(out, 'notes.txt'), 'utf8'), 'my notes');

  await fs.rm(path.join(out, 'notes.txt'));
  writeFileSync(path.join(tmp, 'owned.csv'), 'image,caption\nowned/normal/img0.png,normal\nowned/tumor/img0.png,tumor\n');
  const retrieval = await cliInProcess(
    'eval',
    'retrieval',
    path.join(tmp, 'owned.csv'),
    '--recall-at',
    '1',
    '--cache',
    path.join(tmp, 'owned.cache2'),
    '--out',
    out,
    ...MODEL,
  );
  refused(retrieval, 2, /--out .*owned\.report: holds a classification report, not a retrieval one; pass another --out/);
  assert.ok(existsSync(path.join(out, 'predictions.csv')), 'the classify report is kept');
});

test('duplicate CSV rows, one image under two labels and two classes with the same prompt are refused', async () => {
  await dataset('dup', ['normal', 'tumor']);
  const labels = path.join(tmp, 'dup.json');
  writeFileSync(labels, JSON.stringify({ normal: 'normal tissue', tumor: 'tumor' }));
  const csv = (name: string, rows: string[]) => {
    const file = path.join(tmp, name);
    writeFileSync(file, ['image,label', ...rows].join('\n') + '\n');
    return file;
  };
  const base = ['dup/normal/img0.png,normal', 'dup/tumor/img0.png,tumor'];
  const classify = (file: string, labelFile = labels) => cliInProcess('eval', 'classify', file, '--labels-file', labelFile, ...MODEL);
  refused(
    await classify(csv('twice.csv', [...base, 'dup/normal/img0.png,normal'])),
    1,
    /twice\.csv:4: the same row as line 2 \(dup\/normal\/img0\.png, normal\); remove the duplicate/,
  );
  refused(
    await classify(csv('both.csv', [...base, 'dup/normal/img0.png,tumor'])),
    1,
    /both\.csv:4: dup\/normal\/img0\.png is labelled 'tumor' here and 'normal' on line 2; keep one label per image/,
  );
  writeFileSync(path.join(tmp, 'same.json'), JSON.stringify({ normal: 'tissue', tumor: ['tumor', 'tissue'] }));
  refused(
    await classify(csv('ok.csv', base), path.join(tmp, 'same.json')),
    1,
    /classes 'normal' and 'tumor' share the description "tissue".*give each class its own/,
  );

  const folders = await dataset('dup-folders', ['squamous_cell', 'squamous cell']);
  refused(
    await cliInProcess('eval', 'classify', folders, '--classes-from-folders', ...MODEL),
    1,
    /classes 'squamous cell' and 'squamous_cell' share the description "squamous cell"/,
  );

  writeFileSync(path.join(tmp, 'captions.csv'), 'image,caption\ndup/normal/img0.png,normal\ndup/tumor/img0.png,tumor\ndup/normal/img0.png,normal\n');
  refused(await cliInProcess('eval', 'retrieval', path.join(tmp, 'captions.csv'), '--recall-at', '1', ...MODEL), 1, /captions\.csv:4: the same row as line 2/);
});

test("classes named like predictions.csv's own columns get their own prefixed columns", async () => {
  const data = await dataset('columns', ['image', 'model', 'label']);
  const out = path.join(tmp, 'columns.report');
  const r = await cliInProcess('eval', 'classify', data, '--classes-from-folders', '--cache', path.join(tmp, 'columns.cache'), '--out', out, ...MODEL);
  assert.equal(r.code, 0, r.errors.join('\n'));
  const [header, first] = readFileSync(path.join(out, 'predictions.csv'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(','));
  assert.deepEqual(header, ['image', 'label', 'predicted', 'p:image', 'p:label', 'p:model', 'model']);
  assert.match(first[0], /\.png$/, 'the image column holds the image');
  assert.ok(
    Math.abs(
      first
        .slice(3, 6)
        .map(Number)
        .reduce((a, b) => a + b, 0) - 1,
    ) < 1e-6,
    'the p: columns are the probabilities',
  );
});

test('paths that cannot be used: one line naming the path the user gave and the fix', async () => {
  const data = await dataset('paths', ['normal', 'tumor']);
  const file = path.join(tmp, 'a-file');
  writeFileSync(file, 'not a folder');
  const classify = (...extra: string[]) => cliInProcess('eval', 'classify', data, '--classes-from-folders', ...extra, ...MODEL);
  refused(await classify('--cache', file), 2, /--cache .*a-file: is a file; pass a folder for the embedding cache/);
  // A path below a regular file can be written by nobody, root included (chmod would not stop root).
  refused(await classify('--cache', path.join(file, 'cache')), 2, /--cache .*a-file\/cache: cannot create .*a-file is a file.*pass --cache DIR/);
  refused(await classify('--out', path.join(file, 'report')), 2, /--out .*a-file\/report: cannot create .*a-file is a file.*pass another --out/);
  const saved = process.env.XDG_CACHE_HOME;
  process.env.XDG_CACHE_HOME = path.join(file, 'cache'); // an unwritable home cache
  try {
    refused(await classify(), 1, /cannot create the evaluation cache .*a-file\/cache.*pass --cache DIR/);
  } finally {
    if (saved === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = saved;
  }
  writeFileSync(path.join(tmp, 'missing.csv'), 'image,label\npaths/normal/img0.png,normal\npaths/tumor/gone.png,tumor\n');
  writeFileSync(path.join(tmp, 'paths.json'), JSON.stringify({ normal: 'normal', tumor: 'tumor' }));
  refused(
    await cliInProcess('eval', 'classify', path.join(tmp, 'missing.csv'), '--labels-file', path.join(tmp, 'paths.json'), ...MODEL),
    1,
    /missing\.csv:3: no image at paths\/tumor\/gone\.png \(1 of 2 rows name a missing file\); fix the path \(relative to the CSV's folder\)/,
  );

  refused(await cliInProcess('index', data, '--out', file, ...MODEL.slice(0, 4)), 2, /--out .*a-file: is a file; pass a folder for the index/);
  refused(
    await cliInProcess('index', data, '--out', path.join(file, 'idx'), ...MODEL.slice(0, 4)),
    2,
    /--out .*a-file\/idx: cannot create .*a-file is a file.*pass another --out/,
  );
});

test('--recall-at beyond the number of candidates is refused, naming the count', async () => {
  await dataset('recall', ['normal', 'tumor', 'necrosis']);
  writeFileSync(path.join(tmp, 'recall.csv'), 'image,caption\nrecall/normal/img0.png,normal\nrecall/tumor/img0.png,tumor\nrecall/necrosis/img0.png,necrosis\n');
  const run = (...extra: string[]) =>
    cliInProcess('eval', 'retrieval', path.join(tmp, 'recall.csv'), '--cache', path.join(tmp, 'recall.cache'), ...extra, ...MODEL);
  refused(
    await run('--recall-at', '1,1000000000'),
    2,
    /--recall-at 1000000000: more than the 3 candidates \(3 images, 3 distinct captions\); pass K of at most 3/,
  );
  const json = JSON.parse((await run('--json')).out); // the default 1,5,10: those beyond the set are left out
  assert.deepEqual(
    Object.keys(json.image_to_text).filter((k) => k.startsWith('recall@')),
    ['recall@1'],
  );
});

test('a damaged cache says to delete it (it is only a cache), and that works', async () => {
  const data = await dataset('damaged-cache', ['normal', 'tumor']);
  const cache = path.join(tmp, 'damaged.cache');
  const args = ['eval', 'classify', data, '--classes-from-folders', '--cache', cache, ...MODEL];
  assert.equal((await cliInProcess(...args)).code, 0);
  writeFileSync(path.join(cache, 'images', 'index.json'), '{"format": "biomedcl');
  refused(
    await cliInProcess(...args),
    1,
    /the evaluation cache .*damaged\.cache is damaged \(.*index\.json: not valid JSON \(damaged\)\); delete .*damaged\.cache .* or pass another --cache/,
  );
  await fs.rm(cache, { recursive: true });
  assert.equal((await cliInProcess(...args)).code, 0);
});

test('CSV (csv-parse): BOM, mixed line endings, quoted commas, line breaks and quotes, literal quotes; each row knows its first line', () => {
  const text = '\ufeffimage,label\r\na.png,"x, y"\r\n\r\nb.png,"multi\nline"\nc.png,5" nodule\nd.png,"say ""hi"""';
  assert.deepEqual(parseCsv(text, 'f.csv'), [
    { line: 1, fields: ['image', 'label'] },
    { line: 2, fields: ['a.png', 'x, y'] },
    { line: 4, fields: ['b.png', 'multi\nline'] },
    { line: 6, fields: ['c.png', '5" nodule'] },
    { line: 7, fields: ['d.png', 'say "hi"'] },
  ]);
  assert.throws(
    () => parseCsv('image,label\na,b\n"x,y\nz\n', 'f.csv'),
    (e: unknown) => e instanceof UserError && /^f\.csv: a quoted field is never closed \(the file ends inside it, at line 4\); close the quote/.test(e.message),
  );
});
