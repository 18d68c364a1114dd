// How much memory the lab's hosts use: the sum of PSS (shared pages split between sharers) over every process
// in the lab's namespaces and the nspawn processes, plus the machine-wide MemAvailable for comparison.
import { readFileSync } from 'node:fs';
import { namespacePids } from './network.js';

function pssKiB(pid: number): number {
  try {
    const match = /^Pss:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return match?.[1] ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

export async function labPssMiB(netnses: string[], extraPids: number[] = []): Promise<number> {
  const pids = new Set(extraPids);
  for (const ns of netnses) for (const pid of await namespacePids(ns)) pids.add(pid);
  let total = 0;
  for (const pid of pids) total += pssKiB(pid);
  return Math.round(total / 1024);
}

export function memAvailableMiB(): number {
  const match = /^MemAvailable:\s+(\d+) kB$/m.exec(readFileSync('/proc/meminfo', 'utf8'));
  return Math.round(Number(match?.[1] ?? 0) / 1024);
}
