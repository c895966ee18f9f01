/**
 * "Did you mean …?" for misspelt keywords: the closest candidate by optimal-string-alignment distance
 * (Levenshtein plus adjacent transpositions), if it is at most 2 edits away.
 */

/** Largest distance for which a suggestion is made. */
export const MAX_SUGGESTION_DISTANCE = 2;

/**
 * Optimal-string-alignment distance between `a` and `b`, or `limit + 1` as soon as it is known to exceed
 * `limit` (so a long hostile word costs O(length × limit) at most, never a full matrix).
 */
export function editDistance(a: string, b: string, limit = MAX_SUGGESTION_DISTANCE): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let prev2: number[] = [];
  let prev: number[] = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row: number[] = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      let d = Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a.charCodeAt(i - 1) === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === b.charCodeAt(j - 1)) {
        d = Math.min(d, (prev2[j - 2] ?? 0) + 1);
      }
      row.push(d);
      if (d < rowMin) rowMin = d;
    }
    if (rowMin > limit) return limit + 1;
    prev2 = prev;
    prev = row;
  }
  return prev[b.length] ?? limit + 1;
}

/**
 * The candidate closest to `word` (at most {@link MAX_SUGGESTION_DISTANCE} edits, and at most one edit per
 * three letters of `word`), first in `candidates` order on ties; undefined when none is close.
 */
export function suggest(word: string, candidates: Iterable<string>): string | undefined {
  if (word.length === 0) return undefined;
  let best: string | undefined;
  let bestDistance = MAX_SUGGESTION_DISTANCE + 1;
  for (const candidate of candidates) {
    if (candidate === word) continue;
    // A one-letter typo in a two-letter word would match half the list: require some shared substance.
    if (candidate.length <= 2 || word.length <= 2) continue;
    // Short words allow fewer edits: 'foo' is not a typo of 'log'.
    const allowed = Math.min(MAX_SUGGESTION_DISTANCE, Math.max(1, Math.floor(word.length / 3)));
    const d = editDistance(word, candidate, Math.min(allowed, bestDistance));
    if (d > allowed) continue;
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}
