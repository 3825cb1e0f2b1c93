/**
 * The messages of issue 10 (item 10) and `--labels` (item 8): each case is one error line that names the
 * problem and the fix, with the right exit code (2 for bad flags) and no output file; `--labels` follows
 * CSV quoting and repeated flags append. The commands run through the CLI's main() in this process (the same
 * code, exit codes and messages as `biomedclip`, without a CPU-second of start-up per case); one runs as a
 * child process, to see the line on a real stderr with nothing on stdout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { labelsOption, splitLabels } from '../src/cli/labels.js';
import { UserError } from '../src/errors.js';
import { cli as childCli, cliInProcess as cli, EXAMPLE_IMAGES, oneErrorLine as oneError, tempDemoModel } from './helpers.js';

const { dir, model: demo } = tempDemoModel('biomedclip-messages-');

test('--labels: CSV quoting, doubled quotes, repeated flags append; empty, unclosed and repeated labels refused', () => {
  assert.deepEqual(splitLabels('a,"b,c",d'), ['a', 'b,c', 'd']);
  assert.deepEqual(splitLabels(' tumor , "say ""hi"", twice" ,x'), ['tumor', 'say "hi", twice', 'x']);
  assert.deepEqual(splitLabels('5" nodule'), ['5" nodule'], 'a quote inside an unquoted label is literal');
  assert.deepEqual(labelsOption(['a,b', '"c, d"', 'e']), ['a', 'b', 'c, d', 'e']);
  const refused = (values: string[], pattern: RegExp) =>
    assert.throws(
      () => labelsOption(values),
      (e: unknown) => e instanceof UserError && e.exitCode === 2 && pattern.test(e.message),
    );
  refused(['a,,b'], /label 2 is empty/);
  refused(['a,b,'], /label 3 is empty/);
  refused(['a,"b,c'], /quote opened at character 3 is never closed/);
  refused(['"b" c'], /unexpected text after the quoted label "b"/);
  refused(['a,b', 'b'], /"b" is given twice/);
  refused([''], /no labels given/);
});

test('classify and lens: quoted labels and repeated --labels reach the model as written', async () => {
  const r = await cli('classify', EXAMPLE_IMAGES.squamous, '--model', demo, '--backend', 'cpu', '--labels', 'a,"b,c",d', '--labels', 'e', '--json', '--quiet');
  assert.equal(r.code, 0, r.stderr.join('\n'));
  assert.deepEqual(
    JSON.parse(r.out)[0]
      .scores.map((s: { label: string }) => s.label)
      .sort(),
    ['a', 'b,c', 'd', 'e'],
  );
  const lens = await cli('lens', EXAMPLE_IMAGES.squamous, '--model', demo, '--backend', 'cpu', '--labels', 'a,"b,c"', '--labels', 'd', '--json', '--quiet');
  assert.equal(lens.code, 0, lens.stderr.join('\n'));
  assert.deepEqual(JSON.parse(lens.out).texts, ['this is a photo of a', 'this is a photo of b,c', 'this is a photo of d']);
});

test('a model without vocab.txt: the text error says how to add one, not a flag embed does not have', async () => {
  const novocab = path.join(dir, 'novocab');
  mkdirSync(novocab);
  for (const f of ['model.safetensors', 'open_clip_config.json']) copyFileSync(path.join(demo, f), path.join(novocab, f));
  const line = oneError(
    await cli('embed', '--model', novocab, '--backend', 'cpu', '--text', 'tumor'),
    1,
    /neither vocab\.txt nor tokenizer\.json exists.*biomedclip convert CHECKPOINT --out .* --vocab vocab\.txt/,
  );
  assert.doesNotMatch(line, /pass --vocab/);
  assert.equal((await cli('embed', '--model', novocab, '--backend', 'cpu', '--image', EXAMPLE_IMAGES.squamous, '--quiet')).code, 0, 'images need no vocab');
});

test('convert --config with a binary file names it without printing its bytes', async () => {
  const line = oneError(
    await cli('convert', path.join(demo, 'model.safetensors'), '--out', path.join(dir, 'never'), '--config', EXAMPLE_IMAGES.squamous),
    1,
    /squamous_cell_carcinoma_histopathology\.jpeg: not a JSON file \(binary data, not UTF-8 text\); pass the checkpoint's open_clip_config\.json/,
  );
  assert.doesNotMatch(line, /[\u0000-\u0008\ufffd]/, 'no raw bytes');
  writeFileSync(path.join(dir, 'text.json'), 'this is { not json');
  const text = oneError(await cli('summary', '--config', path.join(dir, 'text.json')), 1, /text\.json: not valid JSON \(18 bytes that do not parse\)/);
  assert.doesNotMatch(text, /this is/);
  assert.equal(existsSync(path.join(dir, 'never')), false);
});

test('preprocess --out DIR, or in a missing directory: one line, exit 2, before any work', async () => {
  oneError(await cli('preprocess', EXAMPLE_IMAGES.squamous, '--out', dir), 2, /--out .*: is a directory; pass a file path, e\.g\. .*out\.safetensors/);
  oneError(
    await cli('preprocess', EXAMPLE_IMAGES.squamous, '--out', path.join(dir, 'missing', 'x.safetensors')),
    2,
    /the directory .*missing does not exist; create it first/,
  );
  oneError(await cli('preprocess', EXAMPLE_IMAGES.squamous, '--out', path.join(dir, 'x.safetensors'), '--png', dir), 2, /--png .*: is a directory/);
  oneError(await cli('trace', '--model', demo, '--text', 'x', '--out', dir), 2, /--out .*: is a directory/);
  assert.equal(existsSync(path.join(dir, 'x.safetensors')), false);
});

test('--json with --csv is refused instead of silently picking JSON', async () => {
  oneError(
    childCli('classify', EXAMPLE_IMAGES.squamous, '--model', demo, '--labels', 'a,b', '--json', '--csv'),
    2,
    /--json and --csv exclude each other; pick one/,
  );
  oneError(await cli('embed', '--model', demo, '--text', 'a', '--json', '--csv'), 2, /--json and --csv exclude each other/);
  oneError(await cli('search', dir, 'x', '--json', '--csv'), 2, /--json and --csv exclude each other/);
});

test('--pad-to beyond the model is a usage error (exit 2), in the library too', async () => {
  oneError(await cli('embed', '--model', demo, '--text', 'a', '--pad-to', '100000'), 2, /--pad-to 100000/);
  const { BiomedCLIP } = await import('../src/api/biomedclip.js');
  const clip = await BiomedCLIP.load(demo, { backend: 'cpu' });
  try {
    await assert.rejects(clip.encodeTexts(['a'], { padTo: 100000 }), (e: unknown) => e instanceof UserError && e.exitCode === 2);
  } finally {
    clip.dispose();
  }
});

test('--templates: a path that is not there is named as a missing file, not as an unknown set; classify reads a templates file', async () => {
  const missing = oneError(
    await cli('classify', EXAMPLE_IMAGES.squamous, '--model', demo, '--labels', 'a,b', '--templates', './missing.txt'),
    2,
    /--templates \.\/missing\.txt: the file does not exist \(looked in .*missing\.txt\); pass an existing file with one template per line/,
  );
  assert.doesNotMatch(missing, /unknown template set/);
  oneError(await cli('classify', EXAMPLE_IMAGES.squamous, '--model', demo, '--labels', 'a,b', '--templates', 'my-prompts.txt'), 2, /the file does not exist/);
  oneError(
    await cli('classify', EXAMPLE_IMAGES.squamous, '--model', demo, '--labels', 'a,b', '--templates', 'pcamm'),
    2,
    /"pcamm": unknown template set; use one of biomedclip, openclip-default/,
  );
  const file = path.join(dir, 'templates.txt');
  writeFileSync(file, '# two prompts\nan image of {}\n{} in a slide\n');
  const r = await cli('classify', EXAMPLE_IMAGES.squamous, '--model', demo, '--backend', 'cpu', '--labels', 'a,b', '--templates', file, '--json', '--quiet');
  assert.equal(r.code, 0, r.stderr.join('\n'));
  assert.equal(JSON.parse(r.out)[0].scores.length, 2);
});

test('--max-pixels: every command that reads images takes it, and the too-large error names it', async () => {
  const img = EXAMPLE_IMAGES.squamous;
  const runs: string[][] = [
    ['classify', img, '--labels', 'a,b'],
    ['embed', '--image', img],
    ['trace', '--image', img, '--out', path.join(dir, 'never.safetensors')],
    ['explain', img, '--text', 'x'],
    ['ablate', img, '--text', 'x'],
    ['lens', img, '--text', 'x'],
    ['sanity', img, '--text', 'x', '--method', 'attention', '--checks', 'prompt'],
    ['view', img, '--text', 'x', '--out', path.join(dir, 'never.html')],
  ];
  for (const args of runs) {
    const r = await cli(...args, '--model', demo, '--backend', 'cpu', '--quiet', '--max-pixels', '1000');
    const line = r.errors[0] ?? r.stderr.join('\n');
    assert.equal(r.code, 1, `${args[0]}: ${r.stderr.join('\n')}`);
    assert.match(line, /above the limit of 1000 .*raise the limit \(--max-pixels N/, args[0]);
  }
  for (const f of ['never.safetensors', 'never.html']) assert.equal(existsSync(path.join(dir, f)), false, `${f}: no partial output`);
  oneError(
    await cli('explain', img, '--text', 'x', '--model', demo, '--max-pixels', '99999999999'),
    2,
    /--max-pixels 99999999999: expected an integer from 1 to 1,073,741,824/,
  );
  oneError(await cli('summary', '--model', demo, '--max-pixels', '1000'), 2, /--max-pixels: `biomedclip summary` reads no image files; drop it/);
});
