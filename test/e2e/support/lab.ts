// How e2e tests, the demo and benchmarks find the lab: read its description (lab.json, written by
// `npm run lab -- up N`) and reach its hosts with the OpenSSH client exactly as a careful user would.
import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { readLabFile, type LabHost, type LabInfo, type LabIsolated, type LabUser } from '../../../lab/lab-file.js';
import { LAB_FILE } from '../../../lab/paths.js';
import { sshArgv } from '../../../lab/ssh.js';

export type { LabHost, LabInfo, LabIsolated, LabUser };

const HINT = 'run `npm run lab -- up 3` (as root) first';

/** The running lab's description. Throws when no lab is up, or when lab.json outlived its hosts (a reboot). */
export function readLab(): LabInfo {
  const info = readLabFile();
  if (!info) throw new Error(`the lab is not up (no ${LAB_FILE}): ${HINT}`);
  const gone = [...info.hosts, ...(info.isolated?.hosts ?? [])].filter((h) => !existsSync(`/run/netns/${h.netns}`) || !existsSync(`/proc/${h.nspawnPid}`));
  if (gone.length > 0) throw new Error(`the lab in ${LAB_FILE} is not running (${gone.map((h) => h.name).join(', ')}): ${HINT}`);
  return info;
}

export function labHost(lab: LabInfo, name: string): LabHost {
  const host = lab.hosts.find((h) => h.name === name);
  if (!host) throw new Error(`no host ${name} in the lab (hosts: ${lab.hosts.map((h) => h.name).join(', ')})`);
  return host;
}

/** OpenSSH argv for one remote shell line on `host` as `user` (strict host keys, lab key, no prompts). */
export function labSshArgv(lab: LabInfo, host: LabHost, user: LabUser, command: string): string[] {
  return sshArgv(lab, host.address, user, command, host.sshPort);
}

export interface LabSshResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs one remote shell line; never rejects for a non-zero exit (assert on `exitCode`). */
export async function labSsh(
  lab: LabInfo,
  host: LabHost,
  user: LabUser,
  command: string,
  options: { input?: string | Buffer; timeoutMs?: number; knownHostsFile?: string } = {},
): Promise<LabSshResult> {
  const access = options.knownHostsFile ? { ...lab, knownHostsFile: options.knownHostsFile } : lab;
  const [file, ...args] = sshArgv(access, host.address, user, command, host.sshPort);
  const result = await execa(file!, args, {
    reject: false,
    input: options.input,
    stdin: options.input === undefined ? 'ignore' : undefined,
    timeout: options.timeoutMs ?? 30_000,
  });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout ?? ''), stderr: String(result.stderr ?? '') };
}

/** The hosts only reachable through the jump host (`npm run lab -- up 3 --isolated 1`). */
export function readIsolated(lab: LabInfo): LabIsolated {
  if (!lab.isolated || lab.isolated.hosts.length === 0) {
    throw new Error('the lab has no isolated host: run `npm run lab -- up 3 --isolated 1` (or `npm run lab -- isolate 1` to add one to a running lab)');
  }
  return lab.isolated;
}

/**
 * One remote shell line on an isolated host with the OpenSSH client, run from the jump host's network namespace
 * (which is on the isolated bridge): independent of shipit's own SSH code, ProxyJump included.
 */
export async function isolatedSsh(lab: LabInfo, host: LabHost, user: LabUser, command: string, timeoutMs = 30_000): Promise<LabSshResult> {
  const jump = labHost(lab, readIsolated(lab).jumpHost);
  const [file, ...args] = ['ip', 'netns', 'exec', jump.netns, ...sshArgv(lab, host.address, user, command, host.sshPort)];
  const result = await execa(file!, args, { reject: false, stdin: 'ignore', timeout: timeoutMs });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout ?? ''), stderr: String(result.stderr ?? '') };
}
