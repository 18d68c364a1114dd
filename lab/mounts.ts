// Mount bookkeeping from /proc/mounts: what is mounted under a directory, and unmounting it deepest first.
import { readFileSync } from 'node:fs';
import { run, tryRun } from './exec.js';

/** /proc/mounts escapes space, tab, newline and backslash as octal (\040 …). */
function unescapeMountPath(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

export function mountPointsUnder(dir: string): string[] {
  const prefix = dir.replace(/\/+$/, '');
  return readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[1])
    .filter((field): field is string => Boolean(field))
    .map(unescapeMountPath)
    .filter((mountPoint) => mountPoint === prefix || mountPoint.startsWith(`${prefix}/`));
}

/**
 * Unmounts everything at or below `dir`, children before parents (a container may have mounted things inside
 * its root, and debootstrap mounts /proc and /sys in its target). Falls back to a lazy unmount for a busy one.
 */
export async function unmountAllUnder(dir: string): Promise<void> {
  for (let pass = 0; pass < 5; pass += 1) {
    const points = [...new Set(mountPointsUnder(dir))].sort((a, b) => b.length - a.length);
    if (points.length === 0) return;
    for (const point of points) {
      const result = await tryRun(['umount', point]);
      if (!result.ok && mountPointsUnder(point).includes(point)) await tryRun(['umount', '--lazy', point]);
    }
  }
  const left = mountPointsUnder(dir);
  if (left.length > 0) await run(['umount', '--recursive', '--lazy', dir]);
}
