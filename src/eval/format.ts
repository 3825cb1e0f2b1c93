/**
 * The human-readable forms of an evaluation: the table printed on the terminal and report.md. Both start
 * with what produced the numbers (model, templates, preprocessing, n) so they cannot be quoted without it.
 */
import type { ClassifyReport } from './classify.js';
import { provenanceLines } from './provenance.js';
import type { RetrievalReport } from './retrieval.js';

const f4 = (v: number | null): string => (v === null ? 'n/a' : v.toFixed(4));

/** A rank: whole, or a half when it is the mean of two middle ranks (or a bootstrap percentile). */
const rank = (v: number | null): string => (v === null ? 'n/a' : Number.isInteger(v) ? String(v) : v.toFixed(1));

function withCi(value: number | null, ci: [number, number] | null | undefined, f = f4): string {
  return ci ? `${f(value)} [${f(ci[0])}, ${f(ci[1])}]` : f(value);
}

/** Rows of [metric, value with interval] for the headline classification metrics. */
function classifyHeadline(r: ClassifyReport): string[][] {
  const ci = r.ci95 ?? {};
  const rows = [['accuracy', withCi(r.accuracy, ci.accuracy)]];
  for (const [k, v] of Object.entries(r.top_k_accuracy)) if (k !== '1') rows.push([`top-${k} accuracy`, f4(v)]);
  rows.push(['balanced accuracy', withCi(r.balanced_accuracy, ci.balanced_accuracy)]);
  rows.push(['macro-F1', withCi(r.macro_f1, ci.macro_f1)]);
  rows.push(['AUROC (one-vs-rest, macro)', withCi(r.auroc_macro, ci.auroc_macro)]);
  rows.push(['ECE (10 bins)', f4(r.ece)]);
  return rows;
}

function perClassRows(r: ClassifyReport): string[][] {
  return Object.entries(r.per_class).map(([c, s]) => [c, f4(s.precision), f4(s.recall), f4(s.f1), String(s.support), f4(s.auroc)]);
}

function ciNote(r: { bootstrap: ClassifyReport['bootstrap'] }): string {
  return r.bootstrap ? `[95% bootstrap interval: ${r.bootstrap.resamples} resamples, seed ${r.bootstrap.seed}]` : '(no intervals: --bootstrap 0)';
}

/** Plain columns for the terminal. */
export function classifyText(r: ClassifyReport): string {
  const pad = (rows: string[][]) => {
    const widths = rows[0].map((_, j) => Math.max(...rows.map((row) => row[j].length)));
    return rows.map((row) => row.map((cell, j) => (j === 0 ? cell.padEnd(widths[j]) : cell.padStart(widths[j]))).join('  ')).join('\n');
  };
  return [
    ...provenanceLines(r),
    '',
    pad(classifyHeadline(r)),
    ciNote(r),
    '',
    pad([['class', 'precision', 'recall', 'f1', 'support', 'auroc'], ...perClassRows(r)]),
  ].join('\n');
}

const mdTable = (header: string[], rows: string[][]): string =>
  [
    `| ${header.join(' | ')} |`,
    `|${header.map((_, j) => (j === 0 ? '---' : '---:')).join('|')}|`,
    ...rows.map((r) => `| ${r.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`),
  ].join('\n');

export function classifyMarkdown(r: ClassifyReport): string {
  return [
    '# Zero-shot classification',
    '',
    ...provenanceLines(r).map((l) => `- ${l}`),
    `- data: ${r.data.source} (${r.data.layout}, ${r.data.classes.length} classes)${r.skipped.length > 0 ? `; ${r.skipped.length} unreadable files skipped (listed in metrics.json)` : ''}`,
    '',
    mdTable(['metric', 'value'], classifyHeadline(r)),
    '',
    ciNote(r),
    '',
    mdTable(['class', 'precision', 'recall', 'F1', 'support', 'AUROC'], perClassRows(r)),
    '',
    '![confusion matrix](confusion.svg)',
    '',
    '![reliability diagram](calibration.svg)',
    '',
    'Files: [metrics.json](metrics.json) (every number above, the prompts and the confusion counts),',
    '[predictions.csv](predictions.csv) (each image: label, predicted class, one probability per class).',
    '',
  ].join('\n');
}

function retrievalRows(r: RetrievalReport): string[][] {
  const ci = r.ci95 ?? {};
  const keys = Object.keys(r.image_to_text).filter((k) => k.startsWith('recall@'));
  return (['image_to_text', 'text_to_image'] as const).map((dir) => [
    dir === 'image_to_text' ? 'image → text' : 'text → image',
    ...keys.map((k) => withCi(r[dir][k], ci[`${dir}.${k}`])),
    withCi(r[dir].median_rank, ci[`${dir}.median_rank`], rank),
    String(r[dir].queries),
  ]);
}

function retrievalHeader(r: RetrievalReport): string[] {
  const keys = Object.keys(r.image_to_text).filter((k) => k.startsWith('recall@'));
  return ['direction', ...keys.map((k) => `R@${k.slice(7)}`), 'median rank', 'queries'];
}

export function retrievalText(r: RetrievalReport): string {
  const rows = [retrievalHeader(r), ...retrievalRows(r)];
  const widths = rows[0].map((_, j) => Math.max(...rows.map((row) => row[j].length)));
  return [
    ...provenanceLines(r),
    `pairs: ${r.n}, distinct images: ${r.images}, distinct captions: ${r.captions}`,
    '',
    ...rows.map((row) => row.map((c, j) => (j === 0 ? c.padEnd(widths[j]) : c.padStart(widths[j]))).join('  ')),
    ciNote(r),
  ].join('\n');
}

export function retrievalMarkdown(r: RetrievalReport): string {
  return [
    '# Cross-modal retrieval',
    '',
    ...provenanceLines(r).map((l) => `- ${l}`),
    `- data: ${r.data.source}: ${r.n} pairs, ${r.images} distinct images, ${r.captions} distinct captions`,
    '',
    mdTable(retrievalHeader(r), retrievalRows(r)),
    '',
    ciNote(r),
    '',
    'Files: [metrics.json](metrics.json), [ranks.csv](ranks.csv) (every query with the rank of its correct match).',
    '',
  ].join('\n');
}
