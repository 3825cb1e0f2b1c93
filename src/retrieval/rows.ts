/**
 * What makes a stored embedding row usable: finite, and unit-norm (every row is L2-normalized when
 * written, so a dot product is the cosine). `search` refuses an index with a bad row and `index` re-embeds
 * it; both ask this one function, so the two commands can never disagree about the same row.
 */

/** Rows further than this from norm 1 (in squared norm) are damaged: float32 rounding stays far below it. */
export const UNIT_NORM_TOLERANCE = 1e-3;

/** Why `row` cannot be used ('holds NaN or Inf', 'is not unit-norm (norm 2)'), or undefined when it can. */
export function rowProblem(row: Float32Array): string | undefined {
  let norm2 = 0;
  for (let j = 0; j < row.length; j++) norm2 += row[j] * row[j];
  if (Math.abs(norm2 - 1) <= UNIT_NORM_TOLERANCE) return undefined;
  return row.every(Number.isFinite) ? `is not unit-norm (norm ${Math.sqrt(norm2)})` : 'holds NaN or Inf';
}
