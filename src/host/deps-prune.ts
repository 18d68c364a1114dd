/**
 * Sets to delete on one host: those no remaining release links to (`links`: the sets each release links to, as
 * `<kind>/<set>`). The same rule as the host-side sweep (src/remote/deps-scripts.ts pruneDepsScript).
 */
export function planDepsPrune(sets: readonly string[], links: readonly (readonly string[])[]): string[] {
  const used = new Set(links.flat());
  return sets.filter((s) => !used.has(s));
}
