// The lab description (lab.json): the one contract between the lab and everything that uses it (e2e tests,
// demo, benchmarks). Written only once every host has booted and answered SSH; removed by `down`.
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
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
}

export async function writeLabFile(info: LabInfo): Promise<void> {
  await writeFile(LAB_FILE, `${JSON.stringify(info, null, 2)}\n`);
}

export function readLabFile(file = LAB_FILE): LabInfo | undefined {
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as LabInfo;
}
