/**
 * Bad inputs give defined results, broken vocab files give one clear UserError line, and the `tokenize`
 * command prints what the issue specifies. Broken vocabs are written to a temp dir and removed afterwards.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { REPO_ROOT, SHARED_DIR } from './helpers.js';
import { WordPieceTokenizer } from '../src/tokenizer/index.js';
import { UserError } from '../src/errors.js';

const MODEL_FILES = path.join(SHARED_DIR, 'data', 'model-files');
const VOCAB = path.join(MODEL_FILES, 'biomedbert-vocab.txt');
const tok = WordPieceTokenizer.fromVocabFile(VOCAB);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'biomedclip-tok-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function realIds(text: string): number[] {
  return tok.encode([text], { padTo: 'longest' }).inputIds[0];
}

test('empty, whitespace-only, NUL and lone-surrogate texts have defined ids', () => {
  assert.deepEqual(realIds(''), [2, 3]);
  assert.deepEqual(realIds(' \t\n\u00a0\u3000 '), [2, 3]);
  assert.deepEqual(realIds('\x00\x00'), [2, 3]);
  assert.deepEqual(realIds('a\x00b'), realIds('ab'), 'NUL is removed, not a separator');
  assert.deepEqual(realIds('\ud800'), [2, 3], 'lone surrogate → U+FFFD (ftfy) → dropped (BERT)');
  assert.deepEqual(realIds('lung\udc00 nodule'), realIds('lung nodule'));
  const enc = tok.encode(['\ud800x'], { padTo: 'longest' });
  assert.deepEqual(enc.offsets[0][1], [1, 2], 'offsets skip the dropped surrogate');
});

test('a 1 MB string tokenizes to exactly the context length, with no crash', () => {
  const words = ['adenocarcinoma', 'Ã©', '&alpha;', 'β', '…', '\u00a0', '😀', 'x'.repeat(150)];
  let big = '';
  for (let i = 0; big.length < 1_000_000; i++) big += words[i % words.length] + ' ';
  const started = process.hrtime.bigint();
  const enc = tok.encode([big]);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  assert.equal(enc.inputIds[0].length, 256);
  assert.equal(enc.inputIds[0][255], 3);
  assert.ok(enc.attentionMask[0].every((m) => m === 1));
  console.log(`1 MB text: ${(big.length / 1e6).toFixed(2)} M code units tokenized in ${ms.toFixed(0)} ms (not a timed test)`);
});

function writeVocab(name: string, content: string): string {
  const p = path.join(tmp, name);
  fs.writeFileSync(p, content);
  return p;
}

/** Asserts `fn` throws a UserError whose message is one line and matches `re`. */
function throwsOneLine(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof UserError, `expected UserError, got ${String(err)}`);
    assert.ok(!err.message.includes('\n'), 'one line');
    assert.match(err.message, re);
    return true;
  });
}

test('broken vocab.txt files are one-line UserErrors', () => {
  const ok = '[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nlung\n##s\n';
  assert.equal(WordPieceTokenizer.fromVocabFile(writeVocab('ok.txt', ok)).vocabSize, 7);
  assert.deepEqual(WordPieceTokenizer.fromVocabFile(writeVocab('crlf.txt', ok.replace(/\n/g, '\r\n'))).tokens([5]), ['lung']);
  throwsOneLine(() => WordPieceTokenizer.fromVocabFile(writeVocab('empty.txt', '')), /empty/);
  throwsOneLine(() => WordPieceTokenizer.fromVocabFile(writeVocab('blank.txt', '\n\n \n')), /empty/);
  throwsOneLine(() => WordPieceTokenizer.fromVocabFile(writeVocab('dup.txt', ok + 'lung\n')), /"lung" twice \(lines 6 and 8\)/);
  throwsOneLine(
    () => WordPieceTokenizer.fromVocabFile(writeVocab('nospecial.txt', 'lung\n##s\n')),
    /lacks the special token\(s\) \[PAD\] \[UNK\] \[CLS\] \[SEP\]/,
  );
  throwsOneLine(() => WordPieceTokenizer.fromVocabFile(writeVocab('gap.txt', '[PAD]\n\n[UNK]\n[CLS]\n[SEP]\n')), /line 2 is empty/);
  throwsOneLine(() => WordPieceTokenizer.fromVocabFile(path.join(tmp, 'missing.txt')), /cannot read .*ENOENT/);
  throwsOneLine(() => WordPieceTokenizer.fromVocabFile(tmp), /cannot read .*EISDIR/);
});

test('broken tokenizer.json files are one-line UserErrors', () => {
  interface TokJson {
    model: { type: string; vocab: Record<string, number> };
    normalizer: { type: string };
  }
  const real = JSON.parse(fs.readFileSync(path.join(MODEL_FILES, 'tokenizer.json'), 'utf8')) as TokJson;
  const variant = (name: string, edit: (j: TokJson) => void): string => {
    const j = structuredClone(real);
    edit(j);
    return writeVocab(name, JSON.stringify(j));
  };
  throwsOneLine(() => WordPieceTokenizer.fromTokenizerJson(writeVocab('bad.json', '{"model": ')), /not valid JSON/);
  throwsOneLine(() => WordPieceTokenizer.fromTokenizerJson(variant('bpe.json', (j) => (j.model.type = 'BPE'))), /no WordPiece model \(found BPE\)/);
  throwsOneLine(() => WordPieceTokenizer.fromTokenizerJson(variant('ids.json', (j) => (j.model.vocab.lung = 0))), /id 0 is used by both/);
  throwsOneLine(() => WordPieceTokenizer.fromTokenizerJson(variant('nopad.json', (j) => delete j.model.vocab['[PAD]'])), /outside|lacks/);
  throwsOneLine(() => WordPieceTokenizer.fromTokenizerJson(variant('norm.json', (j) => (j.normalizer = { type: 'NFKC' }))), /only BertNormalizer/);
});

/** Runs the command module in a child process, as the CLI would, and returns its exit code and output. */
function runTokenize(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const mod = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'commands', 'tokenize.js');
  const script = `const {command}=await import(${JSON.stringify(mod)});
try { process.exitCode = await command.run(JSON.parse(process.argv[1])); }
catch (e) { console.error('biomedclip: error: ' + e.message); process.exitCode = e.exitCode ?? 1; }`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(args)], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('tokenize --json prints ids, mask and tokens padded to the context length by default', () => {
  const r = runTokenize(['--vocab', VOCAB, '--json', '--', 'a chest X-ray', '', '-80 °C']);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { input_ids: number[][]; attention_mask: number[][]; tokens: string[][] };
  assert.deepEqual(Object.keys(out), ['input_ids', 'attention_mask', 'tokens']);
  assert.ok(out.input_ids.every((row) => row.length === 256));
  assert.deepEqual(
    out.input_ids.map((r) => r.slice(0, 7)),
    tok.encode(['a chest X-ray', '', '-80 °C']).inputIds.map((r) => r.slice(0, 7)),
  );
  assert.deepEqual(out.tokens[1].slice(0, 3), ['[CLS]', '[SEP]', '[PAD]']);
  const longest = runTokenize([
    '--vocab',
    path.join(MODEL_FILES, 'tokenizer.json'),
    '--pad-to',
    'longest',
    '--context-length',
    '4',
    '--json',
    'benign lung tissue sample',
  ]);
  assert.deepEqual(JSON.parse(longest.stdout).tokens, [['[CLS]', 'benign', 'lung', '[SEP]']]);
});

test('tokenize reports bad flags (exit 2) and missing files (exit 1) as one error line', () => {
  for (const [args, re, code] of [
    [['--vocab', VOCAB, '--pad-to', 'wide', 'x'], /--pad-to wide: expected an integer from 2 to 512/, 2],
    [['--vocab', VOCAB, '--context-length', '1', 'x'], /--context-length 1: expected an integer from 2 to 512/, 2],
    [['--vocab', VOCAB, '--pad-to', '3', 'a long caption here'], /cannot pad to 3/, 1],
    [['--vocab', VOCAB], /no TEXT given/, 2],
    [['--vocab', path.join(tmp, 'nope.txt'), 'x'], /cannot read/, 1],
    [['--model', tmp, 'x'], /neither vocab\.txt nor tokenizer\.json/, 1],
  ] as Array<[string[], RegExp, number]>) {
    const r = runTokenize(args);
    assert.equal(r.status, code, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(r.stderr, re);
  }
});
