// One lab host = one `systemd-nspawn --boot` container on an overlay root, inside a prepared network namespace.
// This machine's PID 1 is not systemd, so: --register=no (no machined), --keep-unit (no scope unit), and we
// track the nspawn process ourselves (pid file) instead of using machinectl.
import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync, readdirSync } from 'node:fs';
import { LabError, log, sleep, tryRun, type RunResult } from './exec.js';
import { namespacePids } from './network.js';
import { STATE_DIR } from './paths.js';

export interface BootOptions {
  name: string;
  root: string;
  netns: string;
  logFile: string;
}

export function nspawnArgv(options: BootOptions): string[] {
  return [
    'systemd-nspawn',
    `--directory=${options.root}`,
    `--machine=${options.name}`,
    '--boot',
    '--register=no',
    '--keep-unit',
    `--network-namespace-path=/run/netns/${options.netns}`,
    '--console=passive',
    // Leave the container's own files alone: no journal link into this machine, no copied resolv.conf/zone.
    '--link-journal=no',
    '--resolv-conf=off',
    '--timezone=off',
  ];
}

/** Starts the container detached (own session, output to a log file) and returns the nspawn pid. */
export function bootContainer(options: BootOptions): number {
  const [file, ...args] = nspawnArgv(options);
  const log = openSync(options.logFile, 'a');
  const child = spawn(file!, args, { detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  child.unref();
  if (!child.pid) throw new LabError(`could not start systemd-nspawn for ${options.name}`);
  return child.pid;
}

function readProc(pid: number, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return undefined;
  }
}

export function processAlive(pid: number): boolean {
  const stat = readProc(pid, 'stat');
  if (!stat) return false;
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

/** The container's init: the process in its network namespace that is pid 1 in its own pid namespace. */
export async function findContainerInit(netns: string): Promise<number | undefined> {
  for (const pid of await namespacePids(netns)) {
    const nspid = /^NSpid:\s+(.*)$/m.exec(readProc(pid, 'status') ?? '')?.[1]?.trim().split(/\s+/);
    if (nspid && nspid.length > 1 && nspid[nspid.length - 1] === '1') return pid;
  }
  return undefined;
}

/** Runs argv inside the container (its mount, uts, ipc, net and pid namespaces) without needing sshd. */
export async function execInContainer(initPid: number, argv: string[], timeoutMs = 10_000): Promise<RunResult> {
  return tryRun(['nsenter', `--target=${initPid}`, '--mount', '--uts', '--ipc', '--net', '--pid', '--', ...argv], { timeoutMs });
}

export type BootState = 'running' | 'degraded' | 'starting' | 'stopped' | string;

export async function systemState(netns: string): Promise<BootState> {
  const init = await findContainerInit(netns);
  if (!init) return 'stopped';
  const result = await execInContainer(init, ['systemctl', 'is-system-running']);
  return result.stdout.trim() || 'starting';
}

/** Each failed unit's name with its last journal lines from this boot: why it failed, not only that it did. */
async function failedUnitsReport(init: number): Promise<{ units: string[]; report: string }> {
  const failed = await execInContainer(init, ['systemctl', '--failed', '--no-legend', '--plain']);
  const units = failed.stdout.split('\n').map((line) => line.trim().split(/\s+/)[0] ?? '').filter((unit) => unit !== '');
  const parts: string[] = [];
  for (const unit of units) {
    const journal = await execInContainer(init, ['journalctl', '-b', '-u', unit, '--no-pager', '-n', '15', '-o', 'short-monotonic']);
    parts.push(`${unit}:\n${(journal.stdout.trim() || '(no journal lines)').replace(/^/gm, '  ')}`);
  }
  return { units, report: parts.join('\n') || failed.stdout.trim() || '(unknown)' };
}

/**
 * Waits for `systemctl is-system-running` to settle. A unit that fails during boot is started once more: on 2
 * shared cores with several hosts booting at once, a boot-time oneshot failed twice on 2026-12-03 (utmp in
 * `lab up 12`, sysusers in CI's `lab up 3`), a different unit each time, with no journal kept to say why. The host
 * is used only if that brings it to `running`, and the lab prints which unit failed with its journal. Still
 * `degraded` after that: the error lists the failed units with their journal.
 */
export async function waitForBoot(name: string, netns: string, nspawnPid: number, deadline: number): Promise<void> {
  let retried = false;
  for (;;) {
    if (!processAlive(nspawnPid)) throw new LabError(`${name}: systemd-nspawn exited during boot`, `see ${STATE_DIR}/hosts/${name}/nspawn.log`);
    const state = await systemState(netns);
    if (state === 'running') return;
    if (state === 'degraded') {
      // The init gone between the two reads: the next round sees the container stopped (or nspawn exited).
      const init = await findContainerInit(netns);
      if (init) {
        const { units, report } = await failedUnitsReport(init);
        if (retried || units.length === 0) throw new LabError(`${name}: boot finished degraded; failed units:\n${report}`);
        retried = true;
        log(`${name}: failed during boot, starting once more:\n${report}`);
        await execInContainer(init, ['systemctl', 'reset-failed', ...units]);
        await execInContainer(init, ['systemctl', 'start', ...units], 60_000);
        continue;
      }
    }
    if (Date.now() > deadline) throw new LabError(`${name}: not booted before the deadline (state: ${state})`);
    await sleep(250);
  }
}

/** systemd-nspawn processes whose command line names the lab's state dir: ours, even from a killed run. */
export function findLabNspawnPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const argv = (readProc(Number(entry), 'cmdline') ?? '').split('\0');
    if (argv[0]?.endsWith('systemd-nspawn') && argv.some((arg) => arg.includes(`${STATE_DIR}/`))) pids.push(Number(entry));
  }
  return pids;
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (!processAlive(pid)) return true;
    await sleep(100);
  }
  return !processAlive(pid);
}

/**
 * Stops a container cleanly: SIGTERM to nspawn makes it send SIGRTMIN+3 (halt) to the container's systemd
 * (systemd-nspawn(1), --kill-signal=); after `timeoutMs`, SIGKILL. Returns whether the clean stop worked.
 */
export async function stopContainer(nspawnPid: number, timeoutMs = 20_000): Promise<boolean> {
  if (!processAlive(nspawnPid)) return true;
  try {
    process.kill(nspawnPid, 'SIGTERM');
  } catch {
    return true;
  }
  if (await waitForExit(nspawnPid, timeoutMs)) return true;
  try {
    process.kill(nspawnPid, 'SIGKILL');
  } catch {
    // already gone
  }
  await waitForExit(nspawnPid, 5_000);
  return false;
}

/** Last resort for a namespace whose container outlived nspawn (e.g. nspawn was SIGKILLed). */
export async function killNamespaceProcesses(netns: string): Promise<void> {
  for (const pid of await namespacePids(netns)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  for (let i = 0; i < 50 && (await namespacePids(netns)).length > 0; i += 1) await sleep(100);
}
