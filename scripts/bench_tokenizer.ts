/**
 * Tokenizer throughput: how long 10,000 zero-shot labels take to become padded id rows.
 *
 *   node dist/scripts/bench_tokenizer.js [--vocab FILE] [--count N] [--pad-to N|longest]
 *
 * Labels are the test corpus (test/fixtures/tokenizer/labels.txt) repeated with a counter appended, so
 * WordPiece cannot hit any cache. Prints one warm-up and the median of five runs; this is a benchmark to
 * read, never a timed test.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { WordPieceTokenizer } from '../src/tokenizer/index.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SHARED = process.env.BIOMEDCLIP_SHARED ?? path.resolve(REPO, '..', 'shared');

function labels(count: number): string[] {
  const base = fs
    .readFileSync(path.join(REPO, 'test', 'fixtures', 'tokenizer', 'labels.txt'), 'utf8')
    .split('\n')
    .filter((l) => l.length > 0 && !l.startsWith('#'));
  return Array.from({ length: count }, (_, i) => `${base[i % base.length]} ${i}`);
}

function timeOnce(tok: WordPieceTokenizer, texts: string[], padTo: number | 'longest'): number {
  const t0 = process.hrtime.bigint();
  tok.encode(texts, { padTo });
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

function main(): void {
  const { values } = parseArgs({
    options: {
      vocab: { type: 'string', default: path.join(SHARED, 'data', 'model-files', 'biomedbert-vocab.txt') },
      count: { type: 'string', default: '10000' },
      'pad-to': { type: 'string', default: 'longest' },
    },
  });
  const padTo = values['pad-to'] === 'longest' ? 'longest' : Number(values['pad-to']);
  const t0 = process.hrtime.bigint();
  const tok = WordPieceTokenizer.fromVocabFile(values.vocab);
  const loadS = Number(process.hrtime.bigint() - t0) / 1e9;
  const texts = labels(Number(values.count));
  timeOnce(tok, texts, padTo); // warm-up: JIT and lazily built tables
  const runs = Array.from({ length: 5 }, () => timeOnce(tok, texts, padTo)).sort((a, b) => a - b);
  const median = runs[2];
  console.log(`vocab load: ${(loadS * 1000).toFixed(0)} ms (${tok.vocabSize} tokens)`);
  console.log(
    `tokenize ${texts.length} labels (padTo ${padTo}): median ${(median * 1000).toFixed(0)} ms ` +
      `= ${Math.round(texts.length / median).toLocaleString('en-US')} labels/s ` +
      `(runs ${runs.map((r) => (r * 1000).toFixed(0)).join(', ')} ms; Node ${process.version})`,
  );
}

main();
