/**
 * Fleiss' κ for `counts[i][j]` = raters who put item i in category j, every item rated by the same
 * number of raters (Fleiss 1971). NaN when undefined: fewer than 2 raters or items, or all ratings
 * in one category (chance agreement 1).
 */
export function fleissKappa(counts: readonly (readonly number[])[]): number {
  const N = counts.length;
  if (N < 1) return Number.NaN;
  const n = counts[0]!.reduce((a, b) => a + b, 0);
  if (n < 2) return Number.NaN;
  const k = counts[0]!.length;
  const colSums = new Array<number>(k).fill(0);
  let pBar = 0;
  counts.forEach((row, i) => {
    const total = row.reduce((a, b) => a + b, 0);
    if (row.length !== k || total !== n) {
      throw new RangeError(
        `Fleiss' κ: item ${i} has ${total} ratings in ${row.length} categories, expected ${n} in ${k}`,
      );
    }
    let sq = 0;
    row.forEach((c, j) => {
      sq += c * c;
      colSums[j]! += c;
    });
    pBar += (sq - n) / (n * (n - 1));
  });
  pBar /= N;
  const pe = colSums.reduce((s, c) => s + (c / (N * n)) ** 2, 0);
  if (pe >= 1) return Number.NaN;
  return (pBar - pe) / (1 - pe);
}
