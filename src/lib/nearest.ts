/**
 * The candidate nearest to `name` within `maxDistance` edits (nearest first, then alphabetical; the name itself
 * never), for "did you mean". `maxDistance` gets the two lengths compared.
 */
export function nearest(
  name: string,
  candidates: Iterable<string>,
  maxDistance: (nameLength: number, candidateLength: number) => number,
  { ignoreCase = false } = {},
): string | undefined {
  const fold = (s: string) => (ignoreCase ? s.toLowerCase() : s);
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    if (candidate === name) continue;
    const distance = editDistance(fold(name), fold(candidate));
    if (distance > maxDistance(name.length, candidate.length)) continue;
    if (distance < bestDistance || (distance === bestDistance && best !== undefined && candidate.localeCompare(best) < 0)) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/**
 * `nearest`, but only when no other candidate is as near: among numbered names (web1, web2, web3) a `web9` is
 * as near to each, and naming one would be a guess, not a typo's fix.
 */
export function uniquelyNearest(
  name: string,
  candidates: Iterable<string>,
  maxDistance: (nameLength: number, candidateLength: number) => number,
  { ignoreCase = false } = {},
): string | undefined {
  const list = [...candidates];
  const best = nearest(name, list, maxDistance, { ignoreCase });
  if (best === undefined) return undefined;
  const fold = (s: string) => (ignoreCase ? s.toLowerCase() : s);
  const distance = editDistance(fold(name), fold(best));
  return list.some((c) => c !== best && c !== name && editDistance(fold(name), fold(c)) === distance) ? undefined : best;
}

/** How far a typo may be from the name it meant: 2 edits, more for long names (a third of the length). */
export const typoDistance = (length: number) => Math.max(2, Math.floor(length / 3));

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours (mian → main: 1). */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}
