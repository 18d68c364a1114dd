import type { LeftOut, LeftOutReason } from '../../build/artifact.js';

/** Paths named per reason; the rest are counted. */
const SHOWN = 5;

const LABELS: Record<LeftOutReason, string> = {
  git: 'ignored by git',
  'build.exclude': 'build.exclude',
  shipit: 'never shipped',
};

/**
 * One line saying what of build.dir did not ship and why, for `shipit deploy` and `shipit plan`: a user who ships
 * a project directory sees that their node_modules or .env stayed home, and a file they expected on the hosts that
 * git ignores is named with the reason. Undefined when nothing was left out.
 */
export function describeLeftOut(leftOut: readonly LeftOut[]): string | undefined {
  const parts: string[] = [];
  for (const reason of Object.keys(LABELS) as LeftOutReason[]) {
    const paths = leftOut.filter((l) => l.reason === reason).map((l) => l.path);
    if (paths.length === 0) continue;
    const more = paths.length > SHOWN ? `, and ${paths.length - SHOWN} more` : '';
    parts.push(`${paths.slice(0, SHOWN).join(', ')}${more} (${LABELS[reason]})`);
  }
  return parts.length > 0 ? `left out of build.dir: ${parts.join('; ')}` : undefined;
}
