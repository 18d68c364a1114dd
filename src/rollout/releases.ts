import type { HostReleases, ReleaseState } from '../host/types.js';

/**
 * `shipit releases`: what the hosts know about each release, and where they disagree. Pure.
 *
 * A release's fleet-wide state:
 * - current: `current` points at it on every host;
 * - bad: marked bad on some host (a failed deploy or rollback target); rollback never picks it;
 * - interrupted: its deploy was stopped (Ctrl-C, SIGTERM) and every host went back, or it was killed and a later
 *   run removed its stale lock (lockFleet); `rollback --to` may pick it;
 * - partial: current on some hosts only, missing on some, or staged and never finished (a deploy that is running
 *   or was killed);
 * - good: good and present everywhere.
 */
export type FleetReleaseState = 'current' | 'good' | 'bad' | 'interrupted' | 'partial';

export interface ReleaseRow {
  id: string;
  createdAt: string;
  by: string;
  revision: string | null;
  state: FleetReleaseState;
  /** Per host that has it: its state there. */
  states: Record<string, ReleaseState>;
  currentOn: string[];
  presentOn: string[];
  missingOn: string[];
}

export interface ReleaseReport {
  hosts: string[];
  /** Per host: the release `current` points at (null: nothing deployed). */
  current: Record<string, string | null>;
  /** Newest first (ids sort by time). */
  releases: ReleaseRow[];
  /** One sentence per disagreement between hosts; empty when the fleet is consistent. */
  disagreements: string[];
}

export function buildReleaseReport(fleet: ReadonlyMap<string, HostReleases>): ReleaseReport {
  const hosts = [...fleet.keys()];
  const current = Object.fromEntries([...fleet].map(([h, s]) => [h, s.current] as const));
  const ids = new Set<string>();
  for (const state of fleet.values()) for (const r of state.releases) ids.add(r.id);
  // `current` may point at a release whose files are gone (removed by hand): it is still a release of the host.
  for (const state of fleet.values()) if (state.current !== null) ids.add(state.current);

  const releases = [...ids].sort().reverse().map((id): ReleaseRow => {
    const metas = [...fleet].flatMap(([h, s]) => s.releases.filter((r) => r.id === id).map((r) => ({ host: h, meta: r })));
    const first = metas[0]?.meta;
    const states = Object.fromEntries(metas.map((m) => [m.host, m.meta.state] as const));
    const presentOn = hosts.filter((h) => h in states);
    const currentOn = hosts.filter((h) => current[h] === id);
    const missingOn = hosts.filter((h) => !(h in states));
    const row = { id, createdAt: first?.createdAt ?? '', by: first?.by ?? '', revision: first?.revision ?? null, states, currentOn, presentOn, missingOn };
    return { ...row, state: fleetState(row, hosts.length) };
  });
  return { hosts, current, releases, disagreements: findDisagreements(hosts, current, releases) };
}

function fleetState(row: Omit<ReleaseRow, 'state'>, hostCount: number): FleetReleaseState {
  const states = Object.values(row.states);
  if (row.currentOn.length === hostCount && row.missingOn.length === 0) return 'current';
  if (states.includes('bad')) return 'bad';
  if (states.includes('interrupted') && row.currentOn.length === 0) return 'interrupted';
  if (row.currentOn.length > 0 || row.missingOn.length > 0 || states.includes('staged')) return 'partial';
  return 'good';
}

function findDisagreements(hosts: string[], current: Record<string, string | null>, releases: ReleaseRow[]): string[] {
  const out: string[] = [];
  const byCurrent = new Map<string, string[]>();
  for (const h of hosts) {
    const key = current[h] ?? '';
    byCurrent.set(key, [...(byCurrent.get(key) ?? []), h]);
  }
  if (byCurrent.size > 1) {
    const groups = [...byCurrent].map(([id, on]) => `${on.join(', ')} ${id === '' ? 'not deployed' : `on ${id}`}`);
    out.push(`hosts run different releases: ${groups.join('; ')}`);
  }
  for (const r of releases) {
    const where = r.currentOn.length > 0 ? ` (current on ${r.currentOn.join(', ')})` : '';
    if (r.presentOn.length === 0) {
      out.push(`release ${r.id} is current on ${r.currentOn.join(', ')} but its files or metadata are gone there`);
      continue;
    }
    if (r.missingOn.length > 0) out.push(`release ${r.id} is missing on ${r.missingOn.join(', ')}${where}`);
    const distinct = new Set(Object.values(r.states));
    if (distinct.size > 1) {
      const parts = [...distinct].map((s) => `${s} on ${r.presentOn.filter((h) => r.states[h] === s).join(', ')}`);
      out.push(`release ${r.id} is ${parts.join(', ')}`);
    }
    const stagedOn = r.presentOn.filter((h) => r.states[h] === 'staged' && !r.currentOn.includes(h));
    if (stagedOn.length > 0 && distinct.size === 1) out.push(`release ${r.id} is staged but was never activated on ${stagedOn.join(', ')} (a deploy running now, or one that was killed)`);
  }
  return out;
}

/**
 * The table: newest first; `*` marks the hosts where a release is current. Hosts that could not be read are
 * listed after it with why: the table covers only the others.
 */
export function formatReleaseTable(report: ReleaseReport, unreachable: readonly { host: string; reason: string }[] = []): string {
  const header = ['RELEASE', 'STATE', 'CREATED', 'BY', 'REVISION', 'HOSTS (* = current)'];
  const rows = report.releases.map((r) => [
    r.id,
    r.state,
    r.createdAt ? r.createdAt.replace(/\.\d+Z$/, 'Z') : '-',
    r.by || '-',
    r.revision ?? '-',
    report.hosts
      .filter((h) => r.presentOn.includes(h) || r.currentOn.includes(h))
      .map((h) => `${h}${r.currentOn.includes(h) ? '*' : ''}`)
      .join(' ') + (r.missingOn.length > 0 ? `  (missing on ${r.missingOn.join(', ')})` : ''),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((l) => l[i]!.length)));
  const lines = [header, ...rows].map((cols) => cols.map((c, i) => (i === cols.length - 1 ? c : c.padEnd(widths[i]!))).join('  '));
  if (report.releases.length === 0 && report.hosts.length > 0) lines.push(`(no release on ${report.hosts.join(', ')})`);
  if (report.disagreements.length > 0) lines.push('', 'hosts disagree:', ...report.disagreements.map((d) => `  ! ${d}`));
  if (unreachable.length > 0) lines.push('', 'hosts unreachable (not in the table):', ...unreachable.map((u) => `  ! ${u.host}: ${u.reason}`));
  return `${lines.join('\n')}\n`;
}
