/**
 * @module sidecar/config/did-you-mean
 * Edit distance and "did you mean" suggestions for unknown keys. Case differences count as nothing
 * (`listenaddress` is clearly `listenAddress`); the threshold grows slowly with the word's length.
 */

/** Levenshtein distance with adjacent transpositions counted as one edit (optimal string alignment). */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => {
    const row = new Array<number>(cols).fill(0);
    row[0] = i;
    return row;
  });
  for (let j = 0; j < cols; j++) (d[0] as number[])[j] = j;
  for (let i = 1; i < rows; i++) {
    const row = d[i] as number[];
    const prev = d[i - 1] as number[];
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        v = Math.min(v, ((d[i - 2] as number[])[j - 2] as number) + 1);
      }
      row[j] = v;
    }
  }
  return (d[rows - 1] as number[])[cols - 1] as number;
}

/** How many edits still count as a typo of a word of this length. */
export function typoThreshold(length: number): number {
  return Math.max(1, Math.min(3, Math.floor(length / 4)));
}

/** The closest candidate within the typo threshold (case-insensitive), or undefined. */
export function closest(
  word: string,
  candidates: Iterable<string>,
): { match: string; distance: number } | undefined {
  const w = word.toLowerCase();
  let best: { match: string; distance: number } | undefined;
  for (const c of candidates) {
    const dist = editDistance(w, c.toLowerCase());
    if (dist > typoThreshold(Math.max(w.length, c.length))) continue;
    if (!best || dist < best.distance) best = { match: c, distance: dist };
  }
  return best;
}
