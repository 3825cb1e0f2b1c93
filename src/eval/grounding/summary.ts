/**
 * From the per-row measures of one method to the report's numbers: the share of rows the pointing game
 * hits and the means of CNR, AUROC, IoU and Dice, each with a percentile bootstrap interval over rows
 * (bootstrap.ts). Every method is resampled with the same seed, so its intervals come from the same
 * resampled row sets as every other method's: two methods are compared on the same data.
 *
 * CNR and AUROC are undefined on some rows (a region covering the whole crop has no outside; a constant
 * map has no contrast): their means are over the rows where they are defined, and `defined` says how
 * many that is. Every mean here can be recomputed from rows.csv (tested).
 */
import { bootstrap, type BootstrapOptions } from '../bootstrap.js';
import type { RowMeasures } from './measures.js';

export const MEASURES = ['pointing_accuracy', 'mean_cnr', 'mean_auroc', 'mean_iou', 'mean_dice'] as const;
export type MeasureName = (typeof MEASURES)[number];

export type Means = Record<MeasureName, number | null>;

export interface MethodSummary extends Means {
  /** Rows measured. */
  n: number;
  /** Rows on which CNR and AUROC are defined (the denominators of their means). */
  defined: { cnr: number; auroc: number };
  /** 95% interval of each measure; null without --bootstrap, or for a measure no resample defined. */
  ci95: Record<MeasureName, [number, number] | null> | null;
}

/** The means over `rows` (indices into `m`; all rows when omitted). */
export function means(m: RowMeasures[], rows?: ArrayLike<number>): Means {
  const pick = rows === undefined ? m : Array.from(rows, (i) => m[i]);
  const mean = (values: Array<number | null>): number | null => {
    const defined = values.filter((v): v is number => v !== null && Number.isFinite(v));
    return defined.length === 0 ? null : defined.reduce((a, b) => a + b, 0) / defined.length;
  };
  return {
    pointing_accuracy: mean(pick.map((r) => (r.hit ? 1 : 0))),
    mean_cnr: mean(pick.map((r) => r.cnr)),
    mean_auroc: mean(pick.map((r) => r.auroc)),
    mean_iou: mean(pick.map((r) => r.iou)),
    mean_dice: mean(pick.map((r) => r.dice)),
  };
}

export function summarize(m: RowMeasures[], boot: BootstrapOptions | null): MethodSummary {
  const defined = { cnr: m.filter((r) => r.cnr !== null).length, auroc: m.filter((r) => r.auroc !== null).length };
  const ci = boot && boot.resamples > 0 && m.length > 0 ? bootstrap(m.length, boot, (rows) => means(m, rows)).ci : null;
  return {
    n: m.length,
    ...means(m),
    defined,
    ci95: ci && (Object.fromEntries(MEASURES.map((k) => [k, ci[k] ?? null])) as MethodSummary['ci95']),
  };
}

/** Per group (in order of first appearance): its row count and each method's means, no intervals. */
export function groupBreakdown(groups: string[], methods: string[], measures: RowMeasures[][]): Record<string, { n: number; methods: Record<string, Means> }> {
  const rowsOf = new Map<string, number[]>();
  for (const [i, g] of groups.entries()) {
    const rows = rowsOf.get(g);
    if (rows) rows.push(i);
    else rowsOf.set(g, [i]);
  }
  return Object.fromEntries(
    [...rowsOf].map(([g, rows]) => [g, { n: rows.length, methods: Object.fromEntries(methods.map((name, k) => [name, means(measures[k], rows)])) }]),
  );
}
