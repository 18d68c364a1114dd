/**
 * The master's answer to SIGHUPs, as a file `systemctl reload` can wait on (reload-wait.ts, the node unit's
 * ExecReload=). systemd 252 ends a reload job when ExecReload= exits, and `kill -HUP` exits at once, long before
 * the rolling reload has replaced a worker; Type=notify-reload, where systemd itself waits for READY=1, needs
 * systemd 253. So the master writes where the SIGHUPs stand into its RuntimeDirectory= (systemd passes its path
 * as RUNTIME_DIRECTORY; removed when the service stops), and ExecReload= waits until its signal is answered.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ReloadReport } from './arbiter.js';

export const RELOAD_REPORT_FILE = 'reload.json';

export interface PublishedReloadReport extends ReloadReport {
  /** The master that wrote it: a file left by another run is not an answer. */
  pid: number;
}

/** The directory to publish in: the first of RUNTIME_DIRECTORY's (colon-separated) paths, if systemd set one. */
export function reloadReportDir(env: NodeJS.ProcessEnv): string | undefined {
  const first = env.RUNTIME_DIRECTORY?.split(':')[0];
  return first === undefined || first === '' ? undefined : first;
}

/** Replaces the file in one rename, so a reader never sees half of it. */
export function publishReloadReport(dir: string, report: PublishedReloadReport): void {
  const path = join(dir, RELOAD_REPORT_FILE);
  writeFileSync(`${path}.tmp`, `${JSON.stringify(report)}\n`, { mode: 0o640 });
  renameSync(`${path}.tmp`, path);
}

/** The report `pid` published, or undefined (none yet, another run's, unreadable). */
export function readReloadReport(dir: string, pid: number): PublishedReloadReport | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(join(dir, RELOAD_REPORT_FILE), 'utf8'));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const r = parsed as Partial<PublishedReloadReport>;
  if (r.pid !== pid || typeof r.requested !== 'number' || typeof r.answered !== 'number') return undefined;
  return r as PublishedReloadReport;
}
