import type { HistoryEntry, HostReleases } from '../host/types.js';
import { ShipitError } from '../lib/errors.js';
import { refuseUnitsElsewhere } from './units-elsewhere.js';
import { inspectFleet, interrupted, phase, rollFleet, type FleetContext, type Outcome } from './deploy.js';
import { lockFleet, unlockFleet } from './lock.js';
import { pickRollbackTarget } from './plan.js';

/**
 * `shipit rollback`: the newest good release older than current that every host has (or `--to`), rolled
 * and gated like a deploy; if the target fails its gate the fleet returns to where it was. Hosts already on
 * the target are left alone.
 */
export async function rollback(ctx: FleetContext, to?: string): Promise<Outcome> {
  const { config, hosts, clock, emit, signal } = ctx;
  const durations: Outcome['durations'] = {};
  // What to roll back to is found by a read-only inspect before the lock (one command per host, over the
  // connection the rollback uses anyway: no login of its own): `--to` a release some host lacks, a bad one or
  // the one every host runs, and with no `--to` a fleet with no good release older than the current one on
  // every host, fail at once instead of after taking the lock, or after waiting for someone else's
  // (--lock-wait), or with exit 4 when it is held. Nothing earlier knows the hosts' releases (connecting runs
  // nothing). The hosts may change before we hold the lock: the state the lock returns is checked again below.
  const seen = await inspectFleet(hosts, signal);
  refuseForeign(seen, config.app, config.deployTo);
  refuseUnitsElsewhere(seen, config.app, config.deployTo);
  pickMoving(seen, hosts, to, config.environment);
  const locked = await phase(ctx, durations, 'lock', () => lockFleet(hosts, ctx.lock, { env: config.environment, waitMs: ctx.lockWaitMs, clock, emit, signal, isStale: ctx.isStaleLock }));
  // Hosts whose record released the lock already.
  const unlocked = new Set<string>();
  try {
    const fleet = await phase(ctx, durations, 'inspect', () => inspectFleet(hosts, signal, locked));
    const { target, previous, moving } = pickMoving(fleet, hosts, to, config.environment);
    const outcome = await phase(ctx, durations, 'rollout', () =>
      rollFleet(ctx, target, new Map(moving.map((name) => [name, previous.get(name) ?? null])), fleet),
    );
    const at = new Date(clock.now()).toISOString();
    await phase(ctx, durations, 'finish', async () => {
      await Promise.allSettled(
        moving.map(async (name) => {
          const entry: HistoryEntry = {
            release: target,
            at,
            by: ctx.lock.by,
            revision: fleet.get(name)!.releases.find((r) => r.id === target)?.revision ?? null,
            action: 'rollback',
            result: outcome.result,
            previous: previous.get(name) ?? null,
            durations: { ...durations },
            ...(outcome.failure ? { error: outcome.failure } : {}),
          };
          // A target that cannot become ready is marked bad, so the next rollback looks past it. A rollback stopped
          // by Ctrl-C or SIGTERM, or failed only because a host was lost (link cut, reboot), says nothing about its
          // target: it keeps the state it had (marked interrupted or bad, the next plain rollback went past it to an
          // older release, and `rollback --to` refused a bad one).
          const before = fleet.get(name)!.releases.find((r) => r.id === target)?.state;
          const kept = before === 'good' || before === 'interrupted' ? before : 'interrupted';
          const state = outcome.result === 'success' ? 'good' : interrupted(ctx.signal) || outcome.hostLost === true ? kept : 'bad';
          await hosts.get(name)!.record(target, state, entry, { unlock: ctx.lock.token });
          unlocked.add(name);
        }),
      );
    });
    const hostsAfter = { ...Object.fromEntries(previous), ...outcome.hosts };
    return { ...outcome, hosts: hostsAfter, release: target, durations, prepared: {}, interrupted: outcome.result !== 'success' && interrupted(ctx.signal) };
  } finally {
    await unlockFleet(new Map([...hosts].filter(([name]) => !unlocked.has(name))), ctx.lock.token);
  }
}

/**
 * Two configs given one deployTo: this app's rollback would pick the other app's releases (activation refuses
 * them, but only after the lock, and its revert is refused the same way). Refused here, before the lock; `shipit
 * remove` refuses the same way (it would delete the other app's directory).
 */
export function refuseForeign(fleet: ReadonlyMap<string, Pick<HostReleases, 'foreignUnit'>>, app: string, deployTo: string): void {
  const foreign = [...fleet].filter(([, state]) => state.foreignUnit !== undefined);
  if (foreign.length === 0) return;
  const [host, state] = foreign[0]!;
  throw new ShipitError('USAGE', `${host}: ${deployTo} holds another app's releases (${state.foreignUnit}), not ${app}'s`, {
    hint: `deployTo must be this app's own directory (the default is /srv/${app}); nothing was changed`,
  });
}

/** The release to return to (pickRollbackTarget), what each host runs now, and the hosts not on it already. */
function pickMoving(fleet: ReadonlyMap<string, HostReleases>, hosts: ReadonlyMap<string, unknown>, to: string | undefined, env: string) {
  const target = pickRollbackTarget(fleet, env, to);
  const previous = new Map([...fleet].map(([name, state]) => [name, state.current] as const));
  const moving = [...hosts.keys()].filter((name) => previous.get(name) !== target);
  if (moving.length === 0) {
    throw new ShipitError('USAGE', `every host already runs ${target}`, { hint: `pick another release with \`shipit rollback ${env} --to <id>\`` });
  }
  return { target, previous, moving };
}
