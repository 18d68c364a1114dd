// Runs one tool the way a user would and measures it from the outside: wall time, the tool's own peak RSS
// (VmHWM of its main process) and the peak memory of its whole process tree (sum of PSS, so that pages the
// children share with their parent — Ansible's forks, ssh's libraries — are counted once), sampled every 50 ms.
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

export interface MeasuredRun {
  argv: string[];
  exitCode: number;
  wallMs: number;
  stdout: string;
  stderr: string;
  /** Peak RSS of the main process (its kernel high-water mark, last sampled), MiB. */
  peakRssMiB: number;
  /** Peak over samples of the summed PSS of the main process and all its descendants, MiB. */
  peakTreePssMiB: number;
  /** Each stdout line with the time it arrived, ms after spawn (phase timing of `--json` events). */
  lines: { atMs: number; text: string }[];
}

export interface MeasureOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: string;
  timeoutMs?: number;
  /** Called for every stdout line as it arrives, with the tool's pid. */
  onLine?: (text: string, atMs: number, pid: number) => void;
}

const SAMPLE_MS = 50;

function readKiB(file: string, key: RegExp): number {
  try {
    const match = key.exec(readFileSync(file, 'utf8'));
    return match?.[1] ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

/** pid → parent pid for every process (parsed after the last ')' of /proc/<pid>/stat: comm may hold spaces). */
function parentMap(): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // the process exited while we looked
    }
  }
  return children;
}

export function processTree(root: number): number[] {
  const children = parentMap();
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** CPU time (ms) a process used, with that of its children it has waited for: /proc/<pid>/stat utime..cstime. */
export function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command name: state is field 3, utime..cstime are fields 14..17.
    return [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0) * TICK_MS;
  } catch {
    return NaN;
  }
}

/** The CPU time (ms) the whole machine spent busy so far (/proc/stat: every state but idle and iowait, all CPUs). */
export function machineBusyMs(): number {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
  return (total - cpu[3]! - cpu[4]!) * TICK_MS;
}

/**
 * Waits until the machine is quiet: busy under `fraction` of its CPUs over a 500 ms window (the lab hosts' apps
 * still booting workers after a deploy that has already returned, say), at most `maxMs`. Returns how long it waited.
 */
export async function waitForQuiet(fraction = 0.15, maxMs = 15_000): Promise<number> {
  const cpus = (readFileSync('/proc/stat', 'utf8').match(/^cpu\d+ /gm) ?? []).length || 1;
  const started = performance.now();
  for (;;) {
    const before = machineBusyMs();
    await new Promise((r) => setTimeout(r, 500));
    const busy = machineBusyMs() - before;
    if (busy < fraction * cpus * 500 || performance.now() - started >= maxMs) return performance.now() - started;
  }
}

/** USER_HZ: /proc counts CPU time in 1/100 s on Linux. */
const TICK_MS = 10;

export function treePssKiB(root: number): number {
  return processTree(root).reduce((sum, pid) => sum + readKiB(`/proc/${pid}/smaps_rollup`, /^Pss:\s+(\d+) kB$/m), 0);
}

export function measure(argv: string[], options: MeasureOptions = {}): Promise<MeasuredRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(argv[0]!, argv.slice(1), { cwd: options.cwd, env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const pid = child.pid;
    if (pid === undefined) {
      reject(new Error(`cannot start ${argv[0]}`));
      return;
    }
    let stdout = '';
    let stderr = '';
    let partial = '';
    const lines: MeasuredRun['lines'] = [];
    let peakRssKiB = 0;
    let peakTreeKiB = 0;
    const sample = () => {
      peakRssKiB = Math.max(peakRssKiB, readKiB(`/proc/${pid}/status`, /^VmHWM:\s+(\d+) kB$/m));
      peakTreeKiB = Math.max(peakTreeKiB, treePssKiB(pid));
    };
    const timer = setInterval(sample, SAMPLE_MS);
    const killer = options.timeoutMs ? setTimeout(() => child.kill('SIGTERM'), options.timeoutMs) : undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      const at = performance.now() - started;
      stdout += chunk.toString();
      const parts = (partial + chunk.toString()).split('\n');
      partial = parts.pop() ?? '';
      for (const text of parts) {
        lines.push({ atMs: at, text });
        options.onLine?.(text, at, pid);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdin.end(options.input ?? '');
    child.on('error', reject);
    // Wall time ends when the tool exits, not when its pipes close: a daemonized helper (an OpenSSH
    // ControlPersist master) may hold them open for a minute after the tool is done.
    let wallMs = 0;
    let done = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      if (done) return;
      done = true;
      clearInterval(timer);
      if (killer) clearTimeout(killer);
      if (partial) lines.push({ atMs: wallMs, text: partial });
      resolve({
        argv,
        exitCode: code ?? (signal ? 128 : -1),
        wallMs,
        stdout,
        stderr,
        peakRssMiB: Math.round((peakRssKiB / 1024) * 10) / 10,
        peakTreePssMiB: Math.round((peakTreeKiB / 1024) * 10) / 10,
        lines,
      });
    };
    child.on('exit', (code, signal) => {
      wallMs = performance.now() - started;
      clearInterval(timer);
      const grace = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        finish(code, signal);
      }, 2_000);
      child.on('close', () => {
        clearTimeout(grace);
        finish(code, signal);
      });
    });
    sample();
  });
}
