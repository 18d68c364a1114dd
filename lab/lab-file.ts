// The lab description (lab.json): the one contract between the lab and everything that uses it (e2e tests,
// demo, benchmarks). Written only once every host has booted and answered SSH; removed by `down`.
import { existsSync, readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { LAB_FILE } from './paths.js';

export type LabUser = 'root' | 'deploy';

export interface LabHost {
  name: string;
  address: string;
  users: LabUser[];
  sshPort: number;
  /** Network namespace the host lives in (`ip netns exec <netns> …` runs next to it). */
  netns: string;
  /** The host's systemd-nspawn process on this machine. */
  nspawnPid: number;
}

export interface LabInfo {
  hosts: LabHost[];
  /** Private key every host authorizes for root and deploy. */
  identityFile: string;
  /** OpenSSH known_hosts listing every host's keys by address. */
  knownHostsFile: string;
  bridge: string;
  subnet: string;
  gateway: string;
  rootfs: string;
  createdAt: string;
  /** Only with `up N --isolated M` (or `isolate M`): hosts the root namespace cannot reach. */
  isolated?: LabIsolated;
}

/**
 * Hosts on a second bridge with no address in the root namespace: reachable only through `jumpHost`, which is
 * on both bridges (its `jumpAddress` on this one). Kept out of `hosts`, which lists what this machine reaches.
 */
export interface LabIsolated {
  bridge: string;
  subnet: string;
  /** Name of the primary host attached to both bridges (web1). */
  jumpHost: string;
  /** The jump host's address on the isolated bridge. */
  jumpAddress: string;
  hosts: LabHost[];
}

/** Written to a temporary file and renamed: a reader (a test starting) never sees half a file. */
export async function writeLabFile(info: LabInfo): Promise<void> {
  const temporary = `${LAB_FILE}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(info, null, 2)}\n`);
  await rename(temporary, LAB_FILE);
}

export function readLabFile(file = LAB_FILE): LabInfo | undefined {
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as LabInfo;
}
