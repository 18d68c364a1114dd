import { editDistance } from '../runtime/edit-distance.js';

export { editDistance };

interface NearestOptions {
  ignoreCase?: boolean;
}

/** The candidates within `maxDistance` edits of `name` (never the name itself), nearest first, then alphabetical. */
function ranked(name: string, candidates: Iterable<string>, maxDistance: (nameLength: number, candidateLength: number) => number, { ignoreCase = false }: NearestOptions): Array<{ candidate: string; distance: number }> {
  const fold = (s: string) => (ignoreCase ? s.toLowerCase() : s);
  const near: Array<{ candidate: string; distance: number }> = [];
  for (const candidate of candidates) {
    if (candidate === name) continue;
    const distance = editDistance(fold(name), fold(candidate));
    if (distance <= maxDistance(name.length, candidate.length)) near.push({ candidate, distance });
  }
  return near.sort((a, b) => a.distance - b.distance || a.candidate.localeCompare(b.candidate));
}

/**
 * The candidate nearest to `name` within `maxDistance` edits (nearest first, then alphabetical; the name itself
 * never), for "did you mean". `maxDistance` gets the two lengths compared.
 */
export function nearest(name: string, candidates: Iterable<string>, maxDistance: (nameLength: number, candidateLength: number) => number, options: NearestOptions = {}): string | undefined {
  return ranked(name, candidates, maxDistance, options)[0]?.candidate;
}

/**
 * `nearest`, but only when no other candidate is as near: among numbered names (web1, web2, web3) a `web9` is
 * as near to each, and naming one would be a guess, not a typo's fix.
 */
export function uniquelyNearest(name: string, candidates: Iterable<string>, maxDistance: (nameLength: number, candidateLength: number) => number, options: NearestOptions = {}): string | undefined {
  const [best, next] = ranked(name, candidates, maxDistance, options);
  return best !== undefined && (next === undefined || next.distance > best.distance) ? best.candidate : undefined;
}

/** How far a typo may be from the name it meant: 2 edits, more for long names (a third of the length). */
export const typoDistance = (length: number) => Math.max(2, Math.floor(length / 3));
