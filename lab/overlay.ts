// A host's root: an overlay of the shared read-only rootfs (lower) and the host's own upper/work dirs.
import { mkdir } from 'node:fs/promises';
import { run } from './exec.js';
import { overlayDirs } from './paths.js';

export async function mountOverlay(name: string, lower: string): Promise<string> {
  const { upper, work, merged } = overlayDirs(name);
  for (const dir of [upper, work, merged]) await mkdir(dir, { recursive: true });
  await run(['mount', '-t', 'overlay', `shipitlab-${name}`, '-o', `lowerdir=${lower},upperdir=${upper},workdir=${work}`, merged]);
  return merged;
}
