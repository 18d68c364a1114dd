// `lab status [--json]`: what is up, per host.
import { processAlive, systemState } from './container.js';
import { LabError } from './exec.js';
import { readLabFile, type LabInfo } from './lab-file.js';
import { labPssMiB } from './memory.js';
import { findLeftovers, isClean } from './teardown.js';

export interface HostStatus {
  name: string;
  address: string;
  nspawnPid: number;
  state: string;
}

export async function hostStatuses(info: LabInfo): Promise<HostStatus[]> {
  return Promise.all(
    [...info.hosts, ...(info.isolated?.hosts ?? [])].map(async (h) => ({
      name: h.name,
      address: h.address,
      nspawnPid: h.nspawnPid,
      state: processAlive(h.nspawnPid) ? await systemState(h.netns) : 'stopped',
    })),
  );
}

export function renderTable(rows: HostStatus[]): string {
  const lines = [['HOST', 'ADDRESS', 'NSPAWN PID', 'STATE'], ...rows.map((r) => [r.name, r.address, String(r.nspawnPid), r.state])];
  const widths = lines[0]!.map((_, col) => Math.max(...lines.map((l) => l[col]!.length)));
  return lines.map((l) => l.map((cell, col) => cell.padEnd(widths[col]!)).join('  ').trimEnd()).join('\n');
}

/** Prints the status; returns the exit code (0 = up and every host running). */
export async function labStatus(json: boolean): Promise<number> {
  const info = readLabFile();
  if (!info) {
    const left = await findLeftovers();
    if (json) throw new LabError('the lab is not up', 'run `npm run lab -- up 3`');
    process.stdout.write(isClean(left) ? 'lab: down\n' : `lab: down, with leftovers (\`npm run lab -- down\` removes them): ${JSON.stringify(left)}\n`);
    return 1;
  }
  if (json) {
    process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
    return 0;
  }
  const rows = await hostStatuses(info);
  const all = [...info.hosts, ...(info.isolated?.hosts ?? [])];
  const pss = await labPssMiB(all.map((h) => h.netns), all.map((h) => h.nspawnPid));
  process.stdout.write(`lab: ${info.hosts.length} host(s) on ${info.bridge} (${info.subnet}), up since ${info.createdAt}, ${pss} MiB PSS\n`);
  if (info.isolated) {
    const { bridge, subnet, jumpHost, jumpAddress, hosts } = info.isolated;
    process.stdout.write(`isolated: ${hosts.map((h) => h.name).join(', ')} on ${bridge} (${subnet}), only through ${jumpHost} (${jumpAddress})\n`);
  }
  process.stdout.write(`${renderTable(rows)}\n`);
  process.stdout.write(`identity: ${info.identityFile}  known_hosts: ${info.knownHostsFile}\n`);
  return rows.every((r) => r.state === 'running') ? 0 : 1;
}
