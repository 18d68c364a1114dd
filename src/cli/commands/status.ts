import { describeElsewhere } from '../../host/units-elsewhere.js';
import type { HostState } from '../../host/types.js';
import { errorMessage } from '../../lib/error-message.js';
import { describeLock } from '../../rollout/lock.js';
import { loadEnvironment, readReachable } from '../fleet.js';
import type { GlobalOptions } from '../options.js';
import { isDeadLocalRun } from '../session.js';
import { unreachableError, type UnreachableHost } from '../unreachable.js';

export interface HostStatus {
  host: string;
  /** Why the host could not be read (every other field is then null), or null. */
  unreachable: string | null;
  current: string | null;
  /** The release the service's main process runs, when it runs one and it is not `current` (repointed by hand). */
  runs?: string | null;
  unit: string | null;
  since: string | null;
  workers: number | null;
  /** HTTP status of the readiness path now, or null with `readyError`. */
  ready: number | null;
  readyError: string | null;
  lock: string | null;
  /** The lock's run (ours, on this machine) is gone: killed, or cut off before it could unlock (isDeadLocalRun). */
  lockStale?: boolean;
  state: HostState | null;
}

/**
 * `shipit status <env>`: per host, what runs, since when, how many workers, ready now, who holds the lock.
 * A host that cannot be reached gets a row saying why; the command then exits 3, after printing every row.
 */
export async function statusCommand(env: string, options: GlobalOptions): Promise<void> {
  const config = await loadEnvironment(env, options, { secrets: 'optional' });
  const { hosts, results, unreachable } = await readReachable(config, options, async (host): Promise<HostStatus> => {
    const [state, probe] = await Promise.all([
      host.inspect(),
      host.probe(config.health.readiness, { timeoutMs: config.health.timeout }).then(
        ({ status }) => ({ status, error: null }),
        (error: unknown) => ({ status: null, error: errorMessage(error) }),
      ),
    ]);
    return {
      host: host.name,
      unreachable: null,
      current: state.current,
      // A service serving another environment's deployTo runs that one's release, not something `current` was repointed from.
      runs: state.service.runs != null && state.service.runs !== state.current && state.unitsElsewhere === undefined ? state.service.runs : null,
      unit: `${state.service.active}/${state.service.sub}`,
      since: state.service.since,
      workers: state.service.workers,
      ready: probe.status,
      readyError: probe.error,
      lock: state.lock ? describeLock(state.lock) : null,
      lockStale: state.lock !== null && isDeadLocalRun(state.lock),
      state,
    };
  });
  const rows = statusRows(hosts, results, unreachable);
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ environment: env, app: config.app, hosts: rows.map(({ state: _s, ...r }) => r) })}\n`);
  } else {
    process.stdout.write(formatStatusTable(rows));
    if (rows.every((r) => r.unreachable === null && r.current === null)) {
      process.stdout.write(`\n${config.app} has not been deployed to ${env} yet: \`shipit deploy ${env}\` makes its first release\n`);
    }
    const notes = statusNotes(rows, env);
    if (notes.length > 0) process.stdout.write(`\n${notes.join('\n')}\n`);
  }
  if (unreachable.length > 0) throw unreachableError(unreachable, hosts.length);
}

/** One row per host in config order: what was read, or why it could not be. */
export function statusRows(hosts: readonly string[], read: ReadonlyMap<string, HostStatus>, unreachable: readonly UnreachableHost[]): HostStatus[] {
  const why = new Map(unreachable.map((u) => [u.host, u.reason] as const));
  return hosts.map(
    (host) =>
      read.get(host) ?? {
        host,
        unreachable: why.get(host) ?? 'not read',
        current: null,
        runs: null,
        unit: null,
        since: null,
        workers: null,
        ready: null,
        readyError: null,
        lock: null,
        lockStale: false,
        state: null,
      },
  );
}

/**
 * What the table alone does not say, after it: hosts that run different releases, and a lock whose run is gone (a
 * deploy killed mid-rollout leaves both), with what to do about it.
 */
export function statusNotes(rows: readonly HostStatus[], env: string): string[] {
  const notes: string[] = [];
  const read = rows.filter((r) => r.unreachable === null);
  const byRelease = new Map<string, string[]>();
  for (const r of read) byRelease.set(r.current ?? '', [...(byRelease.get(r.current ?? '') ?? []), r.host]);
  if (byRelease.size > 1) notes.push(`hosts run different releases: ${[...byRelease].map(([id, on]) => `${on.join(', ')} ${id === '' ? 'not deployed' : `on ${id}`}`).join('; ')}`);
  for (const r of read) {
    // Two configs with one deployTo: the row shows the other app's release (and a "runs" that is this app's own
    // service, elsewhere), and deploy and rollback refuse, so that is what to say.
    if (r.state?.foreignUnit) {
      notes.push(`${r.host}: this app's deployTo holds another app's releases (${r.state.foreignUnit}): the RELEASE column is that app's; give this app its own deployTo (the default is /srv/<app>)`);
      continue;
    }
    // Two environments of one app on this host: the SERVICE columns are the other one's (units are named after app).
    if (r.state?.unitsElsewhere) {
      notes.push(
        `${r.host}: the app's units serve ${describeElsewhere(r.state.unitsElsewhere)}, another environment's deployTo, not this one's: the UNIT, SINCE, WORKERS and READY columns are that environment's; ` +
          'give each environment on shared hosts its own `app` (deploy and rollback refuse until then)',
      );
      continue;
    }
    if (r.runs) {
      notes.push(
        `${r.host}: \`current\` points at ${r.current ?? 'nothing'} but the service still runs ${r.runs} (\`current\` was changed without a restart): ` +
          `\`shipit deploy ${env}\` or \`shipit rollback ${env}\` restarts it on the release they move it to`,
      );
    }
  }
  const stale = read.filter((r) => r.lockStale === true);
  if (stale.length > 0) {
    notes.push(
      `the lock on ${stale.map((r) => r.host).join(', ')} is stale: the run that took it is gone (killed, or cut off before it could unlock); ` +
        `\`shipit deploy ${env}\` or \`shipit rollback ${env}\` removes it and moves every host to one release`,
    );
  }
  return notes;
}

/** The table; an unreachable host's row says so, and why, from the RELEASE column on. */
export function formatStatusTable(rows: HostStatus[]): string {
  const header = ['HOST', 'RELEASE', 'UNIT', 'SINCE', 'WORKERS', 'READY', 'LOCK'];
  const lines = rows.map((r) =>
    r.unreachable !== null
      ? [r.host, `unreachable: ${r.unreachable}`]
      : [
          r.host,
          `${r.current ?? 'not deployed'}${r.runs ? ` (runs ${r.runs})` : ''}`,
          r.unit ?? '-',
          r.since ?? '-',
          String(r.workers ?? '-'),
          // Nothing of the app's answers on a host it was never deployed to: that the probe failed says nothing.
          r.ready !== null ? String(r.ready) : r.current === null ? '-' : `no (${r.readyError})`,
          r.lock === null ? '-' : `${r.lock}${r.lockStale === true ? ' (stale)' : ''}`,
        ],
  );
  // Only the host name of an unreachable row counts for the widths: its reason runs to the end of the line.
  const widths = header.map((h, i) => Math.max(h.length, ...lines.filter((l) => i === 0 || l.length === header.length).map((l) => l[i]!.length)));
  return [header, ...lines].map((cols) => cols.map((c, i) => (i === cols.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}
