import type { HostState } from '../../host/types.js';
import { errorMessage } from '../../lib/error-message.js';
import { describeLock } from '../../rollout/lock.js';
import { closeFleet, connectFleet, loadEnvironment, selectHosts } from '../fleet.js';
import type { GlobalOptions } from '../options.js';

export interface HostStatus {
  host: string;
  current: string | null;
  unit: string;
  since: string | null;
  workers: number;
  /** HTTP status of the readiness path now, or null with `readyError`. */
  ready: number | null;
  readyError: string | null;
  lock: string | null;
  state: HostState | null;
}

/** `shipit status <env>`: per host, what runs, since when, how many workers, ready now, who holds the lock. */
export async function statusCommand(env: string, options: GlobalOptions): Promise<void> {
  const config = await loadEnvironment(env, options);
  const hosts = await connectFleet(config, selectHosts(config, options.host), options);
  try {
    const rows = await Promise.all(
      [...hosts].map(async ([name, host]): Promise<HostStatus> => {
        const [state, probe] = await Promise.all([
          host.inspect(),
          host.probe(config.health.readiness, { timeoutMs: config.health.timeout }).then(
            (status) => ({ status, error: null }),
            (error: unknown) => ({ status: null, error: errorMessage(error) }),
          ),
        ]);
        return {
          host: name,
          current: state.current,
          unit: `${state.service.active}/${state.service.sub}`,
          since: state.service.since,
          workers: state.service.workers,
          ready: probe.status,
          readyError: probe.error,
          lock: state.lock ? describeLock(state.lock) : null,
          state,
        };
      }),
    );
    if (options.json) {
      process.stdout.write(`${JSON.stringify({ environment: env, app: config.app, hosts: rows.map(({ state: _s, ...r }) => r) })}\n`);
    } else {
      process.stdout.write(formatStatusTable(rows));
    }
  } finally {
    await closeFleet(hosts);
  }
}

export function formatStatusTable(rows: HostStatus[]): string {
  const header = ['HOST', 'RELEASE', 'UNIT', 'SINCE', 'WORKERS', 'READY', 'LOCK'];
  const lines = rows.map((r) => [
    r.host,
    r.current ?? '-',
    r.unit,
    r.since ?? '-',
    String(r.workers),
    r.ready !== null ? String(r.ready) : `no (${r.readyError})`,
    r.lock ?? '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  return [header, ...lines].map((cols) => cols.map((c, i) => (i === cols.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}
