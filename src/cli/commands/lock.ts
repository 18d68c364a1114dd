import type { Host, LockInfo } from '../../host/types.js';
import { systemClock } from '../../lib/clock.js';
import { parseDuration } from '../../lib/duration.js';
import { ShipitError } from '../../lib/errors.js';
import { inspectFleet } from '../../rollout/deploy.js';
import { noEmit } from '../../rollout/events.js';
import { describeLock, lockFleet } from '../../rollout/lock.js';
import { loadEnvironment, withFleet } from '../fleet.js';
import { whoAmI } from '../identity.js';
import type { GlobalOptions, LockOptions } from '../options.js';
import { isDeadLocalRun, lockInfo } from '../session.js';

/**
 * `shipit lock status|acquire|release <env>`: the deploy lock by hand, for maintenance windows. It is the lock
 * deploys take (`<deployTo>/.shipit/lock` on every host): while it is held, deploys and rollbacks fail fast
 * naming the holder (exit 4). `acquire` holds it until `release`, across runs and machines; releasing
 * someone else's lock needs --force and says whose it was.
 */
type Locks = Map<string, LockInfo | null>;

async function readLocks(hosts: ReadonlyMap<string, Host>): Promise<Locks> {
  const fleet = await inspectFleet(hosts);
  return new Map([...fleet].map(([name, state]) => [name, state.lock] as const));
}

/** Without the token: it is what lets a run release its own lock, and nobody needs to see it. */
const shown = (lock: LockInfo | null) =>
  lock === null ? null : { by: lock.by, pid: lock.pid, at: lock.at, release: lock.release, message: lock.message, stale: isDeadLocalRun(lock) };

/** A lock of a run of ours that is gone (killed, or cut off before it could unlock): the next deploy removes it. */
const STALE = ' (stale: that run is gone; the next deploy or rollback removes it)';

function formatLocks(locks: Locks): string {
  const width = Math.max(4, ...[...locks.keys()].map((h) => h.length));
  const lines = [
    `${'HOST'.padEnd(width)}  LOCK`,
    ...[...locks].map(([host, lock]) => `${host.padEnd(width)}  ${lock ? `${describeLock(lock)}${isDeadLocalRun(lock) ? STALE : ''}` : '-'}`),
  ];
  return `${lines.join('\n')}\n`;
}

export async function lockStatusCommand(env: string, options: GlobalOptions): Promise<void> {
  const config = await loadEnvironment(env, options, { secrets: 'optional' });
  const locks = await withFleet(config, options, readLocks);
  if (options.json) {
    const hosts = [...locks].map(([host, lock]) => ({ host, held: lock !== null, lock: shown(lock) }));
    process.stdout.write(`${JSON.stringify({ environment: env, app: config.app, hosts })}\n`);
  } else {
    process.stdout.write(formatLocks(locks));
  }
}

export async function lockAcquireCommand(env: string, options: LockOptions): Promise<void> {
  const config = await loadEnvironment(env, options, { secrets: 'optional' });
  const me = whoAmI();
  // pid 0: no process holds it; it stays until released by hand.
  const info: LockInfo = { ...lockInfo(null, options.message ?? 'held with `shipit lock acquire`'), by: me, pid: 0 };
  const result = await withFleet(config, options, async (hosts) => {
    const locks = await readLocks(hosts);
    const held = [...locks.values()];
    const manualMine = (lock: LockInfo | null) => lock !== null && lock.by === me && lock.pid === 0;
    // Idempotent: running acquire again while you hold it everywhere changes nothing.
    if (held.every(manualMine)) return { already: true, locks };
    // You hold it on some hosts only (a host joined the environment since): take the others with the same lock.
    const mine = held.find(manualMine);
    const take = mine && held.every((lock) => lock === null || manualMine(lock)) ? mine : info;
    const free = new Map([...hosts].filter(([name]) => take === info || locks.get(name) === null));
    await lockFleet(free, take, { env, waitMs: options.wait ? parseDuration(options.wait) : 0, clock: systemClock, emit: noEmit });
    return { already: false, locks: new Map([...hosts.keys()].map((h) => [h, take] as const)) };
  });
  const names = [...result.locks.keys()].join(', ');
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ environment: env, acquired: !result.already, alreadyHeld: result.already, hosts: [...result.locks.keys()], lock: shown([...result.locks.values()][0] ?? null) })}\n`);
  } else if (result.already) {
    process.stdout.write(`you already hold the lock of ${env} on ${names}: ${describeLock([...result.locks.values()][0]!)}\n`);
  } else {
    process.stdout.write(`locked ${env} on ${names}: deploys and rollbacks fail until \`shipit lock release ${env}\`\n`);
  }
}

export async function lockReleaseCommand(env: string, options: LockOptions): Promise<void> {
  const config = await loadEnvironment(env, options, { secrets: 'optional' });
  const me = whoAmI();
  const released = await withFleet(config, options, async (hosts) => {
    const locks = await readLocks(hosts);
    const others = [...locks].filter(([, lock]) => lock !== null && !isMine(lock, me));
    if (others.length > 0 && !options.force) {
      const [host, lock] = others[0]!;
      throw new ShipitError('LOCK_HELD', `${host}: the lock is held by ${describeLock(lock!)}, not by you (${me})`, {
        host,
        hint: `if that run is gone or the window is over, \`shipit lock release ${env} --force\` removes it`,
      });
    }
    const removed = await Promise.all(
      [...locks].map(async ([host, lock]) => {
        if (lock === null) return null;
        // The token read from the host: only that exact lock is removed, not one taken since.
        // A lock directory without info has no token: only --force gets here with one (it is nobody's).
        return lock.token ? hosts.get(host)!.unlock(lock.token) : hosts.get(host)!.unlock('none', { force: true });
      }),
    );
    return new Map([...locks.keys()].flatMap((host, i) => (removed[i] ? [[host, removed[i]] as const] : [])));
  });
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ environment: env, released: [...released].map(([host, lock]) => ({ host, lock: shown(lock) })) })}\n`);
    return;
  }
  if (released.size === 0) {
    process.stdout.write(`no lock was held on ${env}\n`);
    return;
  }
  const owners = new Map<string, string[]>();
  for (const [host, lock] of released) {
    const whose = describeLock(lock);
    owners.set(whose, [...(owners.get(whose) ?? []), host]);
  }
  for (const [whose, hosts] of owners) {
    const others = !whose.startsWith(`${me} `);
    process.stdout.write(`released ${others ? "someone else's" : 'your'} lock on ${hosts.join(', ')}: it was held by ${whose}\n`);
  }
}

/**
 * Yours: taken by the same user@machine (or CI actor), by hand (`lock acquire` records no process), or by a
 * run of yours that is gone. A deploy of yours still running on this machine holds it: that needs --force.
 */
function isMine(lock: LockInfo, me: string): boolean {
  if (lock.by !== me) return false;
  if (lock.pid === 0) return true;
  try {
    process.kill(lock.pid, 0);
    return false;
  } catch {
    return true;
  }
}
