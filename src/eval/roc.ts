/**
 * The area under the ROC curve of one binary problem, computed as the Mann-Whitney U statistic: the
 * probability that a random positive item scores higher than a random negative one, ties counting half.
 * Ranking all scores once and giving tied scores their average rank makes this exact and O(n log n); it
 * equals the trapezoidal area under scikit-learn's ROC curve, ties included.
 */

/** AUROC of `scores` for the items flagged in `positive`; null when every item is positive or none is. */
export function aurocBinary(positive: ArrayLike<number>, scores: ArrayLike<number>): number | null {
  const n = scores.length;
  let nPos = 0;
  for (let i = 0; i < n; i++) nPos += positive[i] ? 1 : 0;
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) return null;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  // Sum of the positives' 1-based ranks, each run of equal scores sharing the mean of its ranks.
  let rankSumPos = 0;
  for (let start = 0; start < n;) {
    let end = start + 1;
    while (end < n && scores[order[end]] === scores[order[start]]) end++;
    const midrank = (start + 1 + end) / 2; // mean of the ranks start+1 .. end
    for (let j = start; j < end; j++) if (positive[order[j]]) rankSumPos += midrank;
    start = end;
  }
  const u = rankSumPos - (nPos * (nPos + 1)) / 2; // pairs (positive, negative) won by the positive
  return u / (nPos * nNeg);
}
