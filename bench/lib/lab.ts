// The lab as the bench uses it: its description, root commands on hosts (set-up and measurements on the host
// side, from the root namespace so they never count as a tool's logins or bytes), sshd's login count, and
// resizing the lab politely (never while someone's jest runs).
import { execa } from 'execa';
import { readLabFile, type LabHost, type LabInfo } from '../../lab/lab-file.js';
import { sshArgv } from '../../lab/ssh.js';
import { ROOT, log } from './util.js';

export type { LabHost, LabInfo };

export function readLab(): LabInfo {
  const lab = readLabFile();
  if (!lab) throw new Error('the lab is not up: run `npm run lab -- up 3` first (as root)');
  return lab;
}

export interface HostResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A root shell script on one host; rejects on a non-zero exit unless `allowFail`. */
export async function onHost(lab: LabInfo, host: LabHost, script: string, options: { input?: string | Buffer; allowFail?: boolean; timeoutMs?: number } = {}): Promise<HostResult> {
  const [file, ...args] = sshArgv(lab, host.address, 'root', script, host.sshPort);
  const r = await execa(file!, args, { reject: false, input: options.input, stdin: options.input === undefined ? 'ignore' : undefined, timeout: options.timeoutMs ?? 120_000 });
  const result = { code: r.exitCode ?? -1, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
  if (result.code !== 0 && !options.allowFail) throw new Error(`${host.name}: exit ${result.code}: ${result.stderr.trim() || result.stdout.trim()}`);
  return result;
}

export function onHosts(lab: LabInfo, hosts: LabHost[], script: string, options: { input?: string | Buffer; allowFail?: boolean } = {}): Promise<HostResult[]> {
  return Promise.all(hosts.map((h) => onHost(lab, h, script, options)));
}

/** sshd's successful logins from `address` on each host between two wall-clock times (ms since the epoch). */
export async function countLogins(lab: LabInfo, hosts: LabHost[], address: string, sinceMs: number, untilMs: number): Promise<number[]> {
  // journalctl's --since/--until take whole seconds: a tool that ran just before (its last login within the same
  // second) was counted too (the speed bench once showed shipit with 2 logins on web3 that way). The hosts share
  // this machine's clock, so each line's own microsecond timestamp is compared with the window exactly.
  const since = Math.floor(sinceMs / 1000) - 1;
  const until = Math.ceil(untilMs / 1000) + 1;
  const pattern = `Accepted publickey for .* from ${address.replaceAll('.', '\\.')} port`;
  const results = await onHosts(
    lab,
    hosts,
    `journalctl -q -o short-unix -t sshd --since @${since} --until @${until} | awk -v a=${(sinceMs / 1000).toFixed(3)} -v b=${(untilMs / 1000).toFixed(3)} '$1 + 0 >= a + 0 && $1 + 0 <= b + 0 && /${pattern}/ { n++ } END { print n + 0 }'`,
  );
  return results.map((r) => Number(r.stdout.trim() || 0));
}

/** Waits while any jest runs (other engineers' tests use web1..web3); gives up after `maxMs`. */
export async function waitForNoJest(maxMs: number): Promise<boolean> {
  const until = Date.now() + maxMs;
  let said = false;
  for (;;) {
    const r = await execa('pgrep', ['-f', 'jest'], { reject: false });
    if (r.exitCode !== 0) return true;
    if (Date.now() > until) return false;
    if (!said) log(`waiting: a jest process is running (${String(r.stdout).trim().split('\n').join(', ')}); the lab is resized only when none is`);
    said = true;
    await new Promise((resolve) => setTimeout(resolve, 5_000));
  }
}

export async function labUp(count: number): Promise<LabInfo> {
  log(`lab up ${count}`);
  const r = await execa('npx', ['tsx', 'lab/cli.ts', 'up', String(count)], { cwd: ROOT, reject: false, all: true, timeout: 15 * 60_000 });
  if (r.exitCode !== 0) throw new Error(`lab up ${count} failed: ${String(r.all).trim().split('\n').slice(-10).join('\n')}`);
  return readLab();
}
