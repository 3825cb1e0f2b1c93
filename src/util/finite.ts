/**
 * Non-finite values (NaN, ±Inf) never pass silently: one NaN weight turns every output into NaN, which JSON
 * prints as `null` and a softmax as `NaN%`. Loading, converting, embedding, indexing and searching all ask
 * this one question of their numbers and refuse with a line naming where the first bad value is.
 */

export interface NonFinite {
  /** How many values are NaN or ±Inf. */
  count: number;
  /** Index of the first one, and its value. */
  first: number;
  value: number;
}

/** The non-finite values of `values`, or undefined when every value is finite. */
export function findNonFinite(values: ArrayLike<number>): NonFinite | undefined {
  let count = 0;
  let first = -1;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    // v - v is 0 for every finite v, NaN for NaN and ±Inf: one subtraction instead of Number.isFinite's call.
    if (v - v !== 0) {
      if (count === 0) first = i;
      count++;
    }
  }
  return count === 0 ? undefined : { count, first, value: values[first] };
}

/** "3 non-finite values (first: NaN at index 17)" for error messages. */
export function describeNonFinite(bad: NonFinite): string {
  const noun = bad.count === 1 ? 'value' : 'values';
  return `${bad.count} non-finite ${noun} (first: ${bad.value} at index ${bad.first})`;
}
