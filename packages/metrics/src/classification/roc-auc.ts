/**
 * Area under the ROC curve of `scores` for the rows where `positive` is true, as the Mann–Whitney
 * statistic with tied scores given their average rank (so a tie counts one half, as sklearn's
 * `roc_auc_score`). NaN when there are no positives or no negatives (AUC is undefined then).
 */
export function rocAuc(scores: ArrayLike<number>, positive: ArrayLike<boolean>): number {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let nPos = 0;
  let rankSumPos = 0;
  for (let start = 0; start < n; ) {
    let end = start + 1;
    while (end < n && scores[order[end]!] === scores[order[start]!]) end++;
    const avgRank = (start + 1 + end) / 2; // ranks start..end-1 (1-based: start+1..end)
    for (let t = start; t < end; t++) {
      if (positive[order[t]!]) {
        nPos++;
        rankSumPos += avgRank;
      }
    }
    start = end;
  }
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) return Number.NaN;
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}
