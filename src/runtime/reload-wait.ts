/**
 * The node unit's ExecReload=: `node .shipit/runtime/reload-wait.js` (MAINPID from systemd's environment).
 * Sends the master SIGHUP, then waits until the master's reload report (reload-report.ts) says that signal was
 * answered: exit 0 when the rolling reload completed, 1 with the reason on stderr (journald, and `systemctl
 * reload` fails) when the new workers could not boot (the old ones keep serving), the master was stopping, or it
 * exited. systemd bounds the wait with TimeoutStartSec= (which also applies to ExecReload=).
 *
 * With two reloads at once, each waits for the first reload that began after its signal: a later signal
 * arriving before that reload began is answered by the same one (the master coalesces queued SIGHUPs).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { readReloadReport, reloadReportDir } from './reload-report.js';

/** A healthy master writes that it received the signal within milliseconds (its loop runs every event). */
const ACK_TIMEOUT_MS = 5000;
const POLL_MS = 20;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function main(): Promise<number> {
  const pid = Number(process.env.MAINPID ?? process.argv[2]);
  if (!Number.isInteger(pid) || pid <= 1) {
    process.stderr.write('reload: no main process to signal (MAINPID is not set: is the service running?)\n');
    return 1;
  }
  const dir = reloadReportDir(process.env);
  const before = dir === undefined ? undefined : readReloadReport(dir, pid);
  process.kill(pid, 'SIGHUP');
  if (dir === undefined) {
    process.stdout.write('reload: SIGHUP sent; not waiting for it (no RUNTIME_DIRECTORY to read the answer from)\n');
    return 0;
  }
  const mine = (before?.requested ?? 0) + 1;
  const ackBy = Date.now() + ACK_TIMEOUT_MS;
  for (;;) {
    const report = readReloadReport(dir, pid);
    if (report !== undefined && report.answered >= mine) {
      if (report.result === 'done') {
        process.stdout.write(`reload: complete, generation ${report.generation}\n`);
        return 0;
      }
      process.stderr.write(`reload failed: ${report.message ?? 'no reason given'}\n`);
      return 1;
    }
    if (!alive(pid)) {
      process.stderr.write(`reload failed: the runtime (pid ${pid}) exited before the reload completed\n`);
      return 1;
    }
    if ((report?.requested ?? 0) < mine && Date.now() > ackBy) {
      process.stderr.write(`reload failed: the runtime (pid ${pid}) did not take the SIGHUP within ${ACK_TIMEOUT_MS / 1000} s (no report in ${dir})\n`);
      return 1;
    }
    await sleep(POLL_MS);
  }
}

process.exitCode = await main();
