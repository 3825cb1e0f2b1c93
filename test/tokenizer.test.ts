/**
 * Token-id parity with an independent implementation: @huggingface/tokenizers (tokenizers.js, a JS port of
 * HF's Rust tokenizers) built from BiomedBERT's tokenizer.json exactly as BertTokenizerFast is configured.
 * The oracle has no ftfy step, so it gets our cleaned text (the cleaning has its own tests); it has no
 * truncation, so its ids are truncated the way HF truncates. Tolerance: none, ids must be equal.
 *
 * Where tokenizers.js and the Rust original disagree (docs/tokenizer.md, "Known differences"), we test the
 * Rust behaviour with hand-derived tokens instead.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { FIXTURES, SHARED_DIR } from './helpers.js';
import { WordPieceTokenizer, cleanText } from '../src/tokenizer/index.js';

const MODEL_FILES = path.join(SHARED_DIR, 'data', 'model-files');
const VOCAB = path.join(MODEL_FILES, 'biomedbert-vocab.txt');
const TOKENIZER_JSON = path.join(MODEL_FILES, 'tokenizer.json');

function loadOracle(): Tokenizer {
  const json: unknown = JSON.parse(fs.readFileSync(TOKENIZER_JSON, 'utf8'));
  const config: unknown = JSON.parse(fs.readFileSync(path.join(MODEL_FILES, 'tokenizer_config.json'), 'utf8'));
  return new Tokenizer(json as object, config as object);
}

interface AwkwardRow {
  text: string;
  why: string;
}

function corpus(): { awkward: string[]; labels: string[] } {
  const rows = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'tokenizer', 'awkward.json'), 'utf8')) as AwkwardRow[];
  const labels = fs
    .readFileSync(path.join(FIXTURES, 'tokenizer', 'labels.txt'), 'utf8')
    .split('\n')
    .filter((l) => l.length > 0 && !l.startsWith('#'));
  return { awkward: rows.map((r) => r.text), labels };
}

/** Texts where tokenizers.js differs from Rust: tested below against the Rust tokens instead. */
const KNOWN_ORACLE_DIFFERENCES = new Set(['ΑΣ ΟΔΟΣ σς', '𠀀𠀁 a𠀀b']);

/** The oracle's ids for one text, truncated like HF (keep [CLS] + first N-2 pieces + [SEP]). */
function oracleIds(oracle: Tokenizer, text: string, contextLength: number): number[] {
  const ids = oracle.encode(cleanText(text)).ids;
  if (ids.length <= contextLength) return ids;
  return [...ids.slice(0, contextLength - 1), ids[ids.length - 1]];
}

const tokVocab = WordPieceTokenizer.fromVocabFile(VOCAB);
const tokJson = WordPieceTokenizer.fromTokenizerJson(TOKENIZER_JSON);

test('ids equal the oracle on every awkward string and biomedical label/caption', () => {
  const oracle = loadOracle();
  const { awkward, labels } = corpus();
  const texts = [...awkward, ...labels].filter((t) => !KNOWN_ORACLE_DIFFERENCES.has(t));
  assert.ok(labels.length >= 300, `expected a few hundred labels, found ${labels.length}`);
  let mismatches = 0;
  for (const tok of [tokVocab, tokJson]) {
    const enc = tok.encode(texts, { padTo: 'longest' });
    texts.forEach((text, i) => {
      const ours = enc.inputIds[i].filter((_, k) => enc.attentionMask[i][k] === 1);
      const theirs = oracleIds(oracle, text, 256);
      if (JSON.stringify(ours) !== JSON.stringify(theirs)) mismatches++;
      assert.deepEqual(ours, theirs, `ids differ for ${JSON.stringify(text)}`);
    });
  }
  console.log(`oracle parity: ${texts.length} texts x 2 vocab sources, ${mismatches} mismatching (tolerance 0)`);
});

test('long captions are truncated to the context length keeping [SEP], and match the oracle', () => {
  const oracle = loadOracle();
  const { labels } = corpus();
  const caption = labels.slice(200).join(' '); // well over 256 pieces
  for (const n of [256, 77, 8, 2]) {
    const enc = tokVocab.encode([caption], { contextLength: n });
    assert.equal(enc.inputIds[0].length, n);
    assert.deepEqual(enc.inputIds[0], oracleIds(oracle, caption, n));
    assert.equal(enc.inputIds[0][n - 1], tokVocab.sepId);
  }
});

test('Rust behaviour where tokenizers.js differs: per-character lowercase and astral CJK', () => {
  // Rust lowercases char by char: a word-final capital sigma becomes σ, not ς (String.toLowerCase picks ς).
  assert.deepEqual(tokVocab.encode(['ΑΣ ΟΔΟΣ σς'], { padTo: 'longest' }).tokens[0], [
    '[CLS]', 'α', '##σ', 'ο', '##δ', '##ο', '##σ', 'σ', '##ς', '[SEP]',
  ]); // prettier-ignore
  // Rust pads CJK ideographs beyond the BMP with spaces too; tokenizers.js only looks at UTF-16 units.
  assert.deepEqual(tokVocab.encode(['𠀀𠀁 a𠀀b'], { padTo: 'longest' }).tokens[0], [
    '[CLS]', '[UNK]', '[UNK]', 'a', '[UNK]', 'b', '[SEP]',
  ]); // prettier-ignore
});

test('default encoding is padded to 256 like open_clip, with mask and null offsets on padding', () => {
  const enc = tokVocab.encode(['adenocarcinoma', 'squamous cell carcinoma']);
  assert.equal(enc.inputIds.length, 2);
  for (let r = 0; r < 2; r++) {
    assert.equal(enc.inputIds[r].length, 256);
    const real = enc.attentionMask[r].filter((m) => m === 1).length;
    assert.deepEqual(enc.inputIds[r].slice(real), new Array(256 - real).fill(0));
    assert.ok(enc.offsets[r].slice(real).every((o) => o === null));
    assert.ok(enc.tokens[r].slice(real).every((t) => t === '[PAD]'));
  }
  assert.deepEqual(enc.tokens[1].slice(0, 5), ['[CLS]', 'squamous', 'cell', 'carcinoma', '[SEP]']);
});

test('padTo longest and padTo N; too small a padTo is a UserError', () => {
  const texts = ['a', 'benign lung tissue', ''];
  const longest = tokVocab.encode(texts, { padTo: 'longest' });
  assert.ok(longest.inputIds.every((r) => r.length === 5));
  assert.deepEqual(longest.inputIds[2], [2, 3, 0, 0, 0]);
  const fixed = tokVocab.encode(texts, { padTo: 12 });
  assert.ok(fixed.inputIds.every((r) => r.length === 12));
  assert.throws(() => tokVocab.encode(texts, { padTo: 3 }), { name: 'UserError', message: /pad to 3/ });
  assert.throws(() => tokVocab.encode(texts, { contextLength: 1 }), { name: 'UserError' });
  assert.deepEqual(tokVocab.encode([], { padTo: 'longest' }).inputIds, []);
});

test('offsets point at the words of the ORIGINAL text, through cleaning and normalization', () => {
  const text = '  Ã©t&eacute; “Ki-67”   ﬁbrosis\tＣＴ [MASK] 37°C';
  const enc = tokVocab.encode([text], { padTo: 'longest' });
  const spans = enc.offsets[0].map((o) => (o === null ? null : text.slice(o[0], o[1])));
  assert.deepEqual(spans, [null, 'Ã©t', '&eacute;', '“', 'Ki', '-', '67', '”', 'ﬁbrosis', 'ＣＴ', '[MASK]', '37°C', null]);
  // And on plain text every offset is exactly the token's characters.
  const plain = 'invasive ductal carcinoma, grade 2';
  const p = tokVocab.encode([plain], { padTo: 'longest' });
  p.offsets[0].forEach((o, k) => {
    if (o === null) return;
    assert.equal(plain.slice(o[0], o[1]).toLowerCase(), p.tokens[0][k].replace(/^##/, ''));
  });
});

test('tokens() and decode() invert encode for plain text; unknown ids are a UserError', () => {
  const enc = tokVocab.encode(['the lungs are clear, no pneumothorax.'], { padTo: 'longest' });
  assert.equal(tokVocab.decode(enc.inputIds[0]), 'the lungs are clear, no pneumothorax.');
  assert.deepEqual(tokVocab.tokens([2, 1, 3, 0, 4]), ['[CLS]', '[UNK]', '[SEP]', '[PAD]', '[MASK]']);
  assert.equal(tokVocab.vocabSize, 28895);
  assert.equal(tokVocab.padId, 0);
  assert.throws(() => tokVocab.tokens([30000]), { name: 'UserError', message: /30000/ });
  assert.throws(() => tokVocab.decode([-1]), { name: 'UserError' });
  const oracle = loadOracle();
  const ids = oracle.encode("gleason score 4 + 3 = 7, isn't it?").ids;
  assert.equal(tokVocab.decode(ids), oracle.decode(ids, { skip_special_tokens: true }));
});

test('fromModelDir finds tokenizer.json, and names both files when neither exists', () => {
  const tok = WordPieceTokenizer.fromModelDir(MODEL_FILES);
  assert.deepEqual(tok.encode(['glioma'], { padTo: 'longest' }).inputIds, tokVocab.encode(['glioma'], { padTo: 'longest' }).inputIds);
  assert.throws(() => WordPieceTokenizer.fromModelDir(FIXTURES), {
    name: 'UserError',
    message: /vocab\.txt.*tokenizer\.json.*biomedclip download/,
  });
});
