import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/**
 * The directory of shipit's own package.json (beside units/ and dist/). Found by walking up from this module,
 * which is src/lib/package-root.ts (tests, tsx), dist/src/lib/package-root.js (tsc's output) or inlined into
 * dist/shipit.cjs (the bundle the CLI runs): one answer for every layout instead of a relative path per caller.
 */
export function packageRoot(): string {
  if (root !== undefined) return root;
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown };
      if (pkg.name === 'shipit') return (root = dir);
    } catch {
      // no package.json here, or not ours: keep walking up
    }
    if (dirname(dir) === dir) throw new Error(`shipit's package.json was not found above ${start}`);
  }
}

/** Whether this code runs from the TypeScript sources (tests, tsx) rather than from dist/. */
export const fromSource = (): boolean => import.meta.url.endsWith('.ts');
