/**
 * The grounding report in words: the table printed on the terminal and report.md. Both start with what
 * produced the numbers (model, preprocessing, n, the measures' settings) so they cannot be quoted
 * without it; the baselines sit under the methods, marked, so each method is read against them.
 */
import { provenanceLines } from '../provenance.js';
import type { GroundingReport } from './run.js';
import { MEASURES, type MeasureName } from './summary.js';

const f3 = (v: number | null): string => (v === null ? 'n/a' : v.toFixed(3));

const HEADERS: Record<MeasureName, string> = {
  pointing_accuracy: 'pointing',
  mean_cnr: 'CNR',
  mean_auroc: 'AUROC',
  mean_iou: 'IoU',
  mean_dice: 'Dice',
};

function withCi(value: number | null, ci: [number, number] | null | undefined): string {
  return ci ? `${f3(value)} [${f3(ci[0])}, ${f3(ci[1])}]` : f3(value);
}

const label = (r: GroundingReport, method: string) => (r.baselines.includes(method) ? `${method} (baseline)` : method);

function mainRows(r: GroundingReport): string[][] {
  return r.methods.map((m) => {
    const s = r.metrics[m];
    return [label(r, m), String(s.n), ...MEASURES.map((k) => withCi(s[k], s.ci95?.[k]))];
  });
}

const MAIN_HEADER = ['method', 'n', ...MEASURES.map((k) => HEADERS[k])];

function settings(r: GroundingReport): string {
  const o = r.options;
  return `measured on the ${o.crop}x${o.crop} crop, maps upsampled from ${o.grid.join('x')} bilinearly; pointing game within ${o.tolerance} px of the region; IoU and Dice at ${o.threshold} of the min-max normalised map`;
}

/** The pointing game's reference: how often a point dropped at random would hit. */
function chanceNote(r: GroundingReport): string {
  return `pointing by chance (a uniformly random point within ${r.options.tolerance} px of the region): ${f3(r.pointing_chance)}`;
}

function ciNote(r: GroundingReport): string {
  return r.bootstrap ? `[95% bootstrap interval over rows: ${r.bootstrap.resamples} resamples, seed ${r.bootstrap.seed}]` : '(no intervals: --bootstrap 0)';
}

function skippedNote(r: GroundingReport): string[] {
  return r.skipped.length > 0 ? [`skipped: ${r.skipped.length} of ${r.data.rows} rows (listed above and in metrics.json "skipped")`] : [];
}

/** Plain columns for the terminal. */
export function groundingText(r: GroundingReport): string {
  const rows = [MAIN_HEADER, ...mainRows(r)];
  const widths = rows[0].map((_, j) => Math.max(...rows.map((row) => row[j].length)));
  return [
    ...provenanceLines(r),
    settings(r),
    ...skippedNote(r),
    '',
    ...rows.map((row) => row.map((c, j) => (j === 0 ? c.padEnd(widths[j]) : c.padStart(widths[j]))).join('  ')),
    ciNote(r),
    chanceNote(r),
  ].join('\n');
}

const mdTable = (header: string[], rows: string[][]): string =>
  [
    `| ${header.join(' | ')} |`,
    `|${header.map((_, j) => (j === 0 ? '---' : '---:')).join('|')}|`,
    ...rows.map((row) => `| ${row.map((c) => c.replace(/\|/g, '\\|').replace(/\n/g, ' ')).join(' | ')} |`),
  ].join('\n');

/** One line per group: its rows, then each method's pointing accuracy and mean AUROC. */
function groupTable(r: GroundingReport): string {
  const header = ['group', 'n', ...r.methods.map((m) => `${m}: pointing / AUROC`)];
  const rows = Object.entries(r.groups).map(([g, x]) => [
    g,
    String(x.n),
    ...r.methods.map((m) => `${f3(x.methods[m].pointing_accuracy)} / ${f3(x.methods[m].mean_auroc)}`),
  ]);
  return mdTable(header, rows);
}

export function groundingMarkdown(r: GroundingReport, figures: string[]): string {
  return [
    '# Grounding: do the maps point at the region?',
    '',
    ...provenanceLines(r).map((l) => `- ${l}`),
    `- data: ${r.data.source} (${r.data.form}), ${r.data.rows} rows`,
    ...skippedNote(r).map((l) => `- ${l}`),
    `- ${settings(r)}`,
    '',
    mdTable(MAIN_HEADER, mainRows(r)),
    '',
    ciNote(r),
    '',
    chanceNote(r),
    '',
    'pointing: share of rows whose map maximum falls in the region (grown by the tolerance); CNR: contrast',
    "to noise of the normalised map, inside against outside; AUROC: the map's values as a score for inside;",
    'IoU, Dice: the thresholded map against the region. The baselines need no model: a constant map and a',
    'Gaussian centred on the crop. Definitions: docs/eval.md, "Grounding".',
    '',
    `## By ${r.group_by === 'group' ? 'group' : 'text'}`,
    '',
    groupTable(r),
    '',
    '## Best and worst rows',
    '',
    "Each method's rows with the highest and lowest AUROC: the crop, the map over it, the region in red, the",
    "map's maximum as a white cross.",
    '',
    ...figures.flatMap((f) => [`![${f}](figure-${f}.png)`, '']),
    'Files: [metrics.json](metrics.json) (every number above, per-group means, skipped rows),',
    '[rows.csv](rows.csv) (each row and method: every measure), [maps.npy](maps.npy) (float32',
    '[rows, methods, grid, grid]: the raw maps, methods in the order of the table).',
    '',
  ].join('\n');
}
