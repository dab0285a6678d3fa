/**
 * @module sidecar/routing/swrr
 * Smooth weighted round robin (nginx's algorithm): each pick adds every entry's weight to its
 * running score, takes the highest score (ties: the first entry) and subtracts the total from it.
 * Deterministic, and smooth: for weights 20/80 every window of 5 picks holds exactly one of the
 * first. Over `total` picks each entry is chosen exactly `weight` times.
 */

export class SmoothWeighted {
  readonly #weights: Int32Array;
  readonly #current: Int32Array;
  readonly #total: number;
  /** Index of the only non-zero weight, or -1 when there are several (or none). */
  readonly #only: number;

  /** `weights` are non-negative integers; the state can be adopted from a picker with equal weights. */
  constructor(weights: readonly number[], previous?: SmoothWeighted) {
    this.#weights = Int32Array.from(weights);
    this.#total = weights.reduce((s, w) => s + w, 0);
    const nonZero = weights.flatMap((w, i) => (w > 0 ? [i] : []));
    this.#only = nonZero.length === 1 ? nonZero[0]! : -1;
    this.#current = previous?.sameWeights(weights)
      ? Int32Array.from(previous.#current)
      : new Int32Array(weights.length);
  }

  sameWeights(weights: readonly number[]): boolean {
    if (weights.length !== this.#weights.length) return false;
    for (let i = 0; i < weights.length; i++) if (weights[i] !== this.#weights[i]) return false;
    return true;
  }

  /** The next entry's index; -1 when every weight is 0. */
  pick(): number {
    if (this.#only !== -1) return this.#only;
    if (this.#total === 0) return -1;
    const w = this.#weights;
    const c = this.#current;
    let best = -1;
    let bestScore = 0;
    for (let i = 0; i < w.length; i++) {
      if (w[i] === 0) continue;
      c[i]! += w[i]!;
      if (best === -1 || c[i]! > bestScore) {
        best = i;
        bestScore = c[i]!;
      }
    }
    c[best]! -= this.#total;
    return best;
  }
}
