import type { RolloutConfig } from '../config/types.js';
import type { HostReleases, ReleaseMeta } from '../host/types.js';
import { ShipitError } from '../lib/errors.js';
import { uniquelyNearest } from '../lib/nearest.js';

/** Hosts per batch after the canary: a count, or a share of the fleet rounded down (at least 1). */
export function batchSize(maxParallel: RolloutConfig['maxParallel'], fleetSize: number): number {
  if (typeof maxParallel === 'number') return Math.max(1, Math.min(maxParallel, fleetSize));
  const percent = Number(maxParallel.slice(0, -1));
  return Math.max(1, Math.floor((fleetSize * percent) / 100));
}

/** Canary hosts first, alone; then the rest in batches of `maxParallel`. Order is the config's host order. */
export function planBatches(hosts: readonly string[], rollout: Pick<RolloutConfig, 'canary' | 'maxParallel'>): string[][] {
  const batches: string[][] = [];
  const canary = Math.min(rollout.canary, hosts.length);
  if (canary > 0) batches.push(hosts.slice(0, canary));
  const size = batchSize(rollout.maxParallel, hosts.length);
  for (let i = canary; i < hosts.length; i += size) batches.push(hosts.slice(i, i + size));
  return batches;
}

/**
 * The release `shipit rollback` returns to: with `to`, that one (it must be staged on every host and not bad);
 * otherwise the newest release older than the current one that is good and present on every host. `env` names
 * the environment in the hints, so they can be pasted as they are.
 */
export function pickRollbackTarget(fleet: ReadonlyMap<string, HostReleases>, env: string, to?: string): string {
  const states = [...fleet.entries()];
  const currents = new Set(states.map(([, s]) => s.current));
  const onEvery = (id: string) => states.every(([, s]) => s.releases.some((r) => r.id === id));
  if (to !== undefined) {
    const missing = states.filter(([, s]) => !s.releases.some((r) => r.id === to)).map(([h]) => h);
    if (missing.length > 0) {
      // A mistyped id (no host has it) gets the one meant, when one release every host has is nearer than the others.
      const everywhere = new Set(states.flatMap(([, s]) => s.releases.map((r) => r.id)).filter(onEvery));
      const guess = missing.length === states.length ? uniquelyNearest(to, everywhere, () => 2) : undefined;
      throw new ShipitError('USAGE', `release ${to} is not present on ${missing.join(', ')}${guess === undefined ? '' : ` (did you mean ${guess}?)`}`, {
        hint: `run \`shipit releases ${env}\` to see which releases every host has`,
      });
    }
    const bad = states.find(([, s]) => s.releases.find((r) => r.id === to)?.state === 'bad');
    if (bad) {
      throw new ShipitError('USAGE', `release ${to} is marked bad on ${bad[0]}; rollback never picks a bad release`);
    }
    return to;
  }
  // The newest current on the fleet: hosts that disagree (a half-finished run) roll back past the newest.
  const newestCurrent = [...currents].filter((c): c is string => c !== null).sort().at(-1);
  const candidates = new Set<string>();
  for (const [, s] of states) for (const r of s.releases) if (r.state === 'good') candidates.add(r.id);
  const target = [...candidates]
    .filter((id) => newestCurrent === undefined || id < newestCurrent)
    .filter((id) => states.every(([, s]) => s.releases.find((r) => r.id === id)?.state === 'good'))
    .filter(onEvery)
    .sort()
    .at(-1);
  if (target === undefined && newestCurrent === undefined) {
    // Not "no good release older than the current one": there is no current one (never deployed, or removed).
    throw new ShipitError('USAGE', `nothing to roll back: no host runs a release (${states.map(([h]) => h).join(', ')})`, {
      hint: `\`shipit deploy ${env}\` makes the first release; \`shipit releases ${env}\` lists what the hosts have`,
    });
  }
  if (target === undefined) {
    throw new ShipitError('USAGE', `no good release older than ${newestCurrent ?? 'the current one'} is present on every host`, {
      hint: `run \`shipit releases ${env}\` and pick one with \`shipit rollback ${env} --to <id>\``,
    });
  }
  return target;
}

/**
 * Releases to delete on one host: keep the `keep` newest non-bad releases, always the current one and the
 * newest good one; bad releases do not count toward `keep` (Deployer#814) and only the newest bad one is kept,
 * for inspection. Staged releases never activated count like good ones. `fleetLastBad`: the newest release
 * marked bad on any host of the fleet, kept instead of this host's own newest bad one: a host that missed a
 * later failure's mark (it was unreachable at the finish) would otherwise keep an older bad release for good,
 * which every other host pruned, and `shipit releases` would say the hosts disagree ever after.
 */
export function planPrune(releases: readonly ReleaseMeta[], current: string | null, keep: number, fleetLastBad?: string): string[] {
  const sorted = [...releases].sort((a, b) => (a.id < b.id ? 1 : -1));
  const lastGood = sorted.find((r) => r.state === 'good')?.id;
  const lastBad = fleetLastBad ?? sorted.find((r) => r.state === 'bad')?.id;
  const kept = new Set<string>();
  for (const r of sorted) {
    if (r.state !== 'bad' && kept.size < keep) kept.add(r.id);
  }
  return sorted
    .filter((r) => !kept.has(r.id) && r.id !== current && r.id !== lastGood && r.id !== lastBad)
    .map((r) => r.id);
}

/**
 * A release id that sorts by time as a string: 20261125T130501Z, or in a second that has it already the next of
 * 20261125T130501Z-02 … -99 (two digits: ids are compared as strings, where `-10` would sort before `-2`; a 100th
 * release in one second takes the next second). With `after`, an id that sorts after it: a release whose id was
 * taken while it waited for the lock gets a later one, even when this machine's clock is behind the other's.
 */
export function newReleaseId(now: Date, existing: ReadonlySet<string>, after = ''): string {
  const afterSecond = secondOf(after);
  let second = Math.floor(now.getTime() / 1000) * 1000;
  if (afterSecond !== null && afterSecond > second) second = afterSecond;
  for (; ; second += 1000) {
    const base = new Date(second).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    for (let n = 1; n < 100; n++) {
      const id = n === 1 ? base : `${base}-${String(n).padStart(2, '0')}`;
      if (id > after && !existing.has(id)) return id;
    }
  }
}

/** The second a release id names (ms since the epoch), or null for an id not of newReleaseId's form. */
function secondOf(id: string): number | null {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z/.exec(id);
  return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : null;
}

/**
 * A release's id is chosen at its build, before the hosts' releases are known: a deploy that waited for the lock
 * behind one built in the same second has the same one. Where it is taken (a release other than a staged one has
 * it: a staged one is this run's own, staged with its lock, or a dead run's that never went out), and the id it
 * goes out under then: in the build's second (`createdAt`, as the id says when the release was built) after the
 * taken one (`-02`), even when that came from a machine whose clock is ahead. Null when it is free everywhere.
 */
export function planRename(id: string, createdAt: string, fleet: ReadonlyMap<string, Pick<HostReleases, 'releases'>>): { to: string; takenOn: string[] } | null {
  const takenOn = [...fleet].filter(([, state]) => state.releases.some((r) => r.id === id && r.state !== 'staged')).map(([name]) => name);
  if (takenOn.length === 0) return null;
  const existing = new Set([...fleet.values()].flatMap((state) => state.releases.map((r) => r.id)));
  return { to: newReleaseId(new Date(createdAt), existing, id), takenOn };
}

/** The newest release marked bad on any host (planPrune's `fleetLastBad`), or undefined. */
export function newestBad(fleet: Iterable<readonly ReleaseMeta[]>): string | undefined {
  let newest: string | undefined;
  for (const releases of fleet) for (const r of releases) if (r.state === 'bad' && (newest === undefined || r.id > newest)) newest = r.id;
  return newest;
}
