import type { Host, HostReleases, LockInfo, RecordedState, ReleaseSpec } from '../host/types.js';
import type { Clock } from '../lib/clock.js';
import { ShipitError } from '../lib/errors.js';
import type { Emit } from './events.js';

export function describeLock(lock: LockInfo): string {
  const message = lock.message ? `: "${lock.message}"` : '';
  // pid 0 with a token: taken with `shipit lock acquire`, held by no process.
  const holder = lock.pid > 0 ? ` (pid ${lock.pid})` : lock.token ? ' (by hand)' : '';
  return `${lock.by}${holder} since ${lock.at}${lock.release ? `, deploying ${lock.release}` : ''}${message}`;
}

/**
 * Takes the lock on every host (Kamal: atomic mkdir with who/when/message), all or nothing: when any host
 * is held by someone else, the ones we got are released again, and with `waitMs` we retry until it frees.
 * Returns the state each host reported with its lock (hosts that did not are absent: inspect them).
 */
export async function lockFleet(
  hosts: ReadonlyMap<string, Host>,
  info: LockInfo,
  options: {
    /** The environment's name, for hints the operator can paste (`shipit lock status production`). */
    env: string;
    waitMs: number;
    clock: Clock;
    emit: Emit;
    signal?: AbortSignal;
    /** True for a lock whose holder is known to be gone (a run of ours that died, from this same machine). */
    isStale?: (holder: LockInfo) => boolean;
    /** A release the hosts may stage as they lock (Host.lock); released locks discard it again. */
    release?: ReleaseSpec;
  },
): Promise<Map<string, HostReleases>> {
  const { clock, signal } = options;
  const giveUpAt = clock.now() + options.waitMs;
  const cleared = new Set<string>();
  // Per host whose stale lock we removed: the release that dead run was deploying (see markAbandoned).
  const abandoned = new Map<string, string>();
  for (;;) {
    signal?.throwIfAborted();
    const attempts = await Promise.allSettled(
      [...hosts].map(async ([name, host]) => ({ name, result: await host.lock(info, options.release, signal) })),
    );
    const got = attempts.flatMap((a) => (a.status === 'fulfilled' && a.value.result.acquired ? [a.value.name] : []));
    const errors = attempts.filter((a): a is PromiseRejectedResult => a.status === 'rejected');
    const held = attempts.flatMap((a) =>
      a.status === 'fulfilled' && !a.value.result.acquired ? [{ name: a.value.name, holder: a.value.result.holder }] : [],
    );
    if (errors.length === 0 && held.length === 0) {
      for (const name of got) options.emit({ type: 'host.locked', host: name });
      const states = new Map(attempts.flatMap((a) => (a.status === 'fulfilled' && a.value.result.acquired && a.value.result.state ? [[a.value.name, a.value.result.state] as const] : [])));
      await markAbandoned(hosts, states, abandoned);
      return states;
    }
    // Hosts whose lock failed too, where the command may have taken the lock first: one that was cut off (Ctrl-C
    // while it ran, staging or not), and one that staged (it runs long enough to fail after taking it). Unlocking
    // with our token is a no-op where we do not hold it. Not after a plain lock's timeout: the unlock would wait
    // as long again on a host that stopped answering.
    const failed = [...hosts.keys()].filter((_, i) => {
      const attempt = attempts[i]!;
      return attempt.status === 'rejected' && (options.release !== undefined || (attempt.reason instanceof ShipitError && attempt.reason.code === 'ABORTED'));
    });
    await unlockFleet(new Map([...hosts].filter(([name]) => got.includes(name) || failed.includes(name))), info.token);
    if (errors.length > 0) throw errors[0]!.reason;
    // A lock left behind by a dead run of ours (its connection to that host was lost before it could unlock)
    // is removed once per host, said aloud, and the whole fleet is tried again at once.
    const stale = held.filter(({ name, holder }) => !cleared.has(name) && options.isStale?.(holder) === true);
    if (stale.length > 0) {
      for (const { name, holder } of stale) {
        cleared.add(name);
        if (holder.release) abandoned.set(name, holder.release);
        await hosts.get(name)!.unlock(holder.token, { force: true });
        options.emit({ type: 'host.lock_stale', host: name, holder: describeLock(holder) });
      }
      continue;
    }
    if (clock.now() >= giveUpAt) {
      const first = held[0]!;
      throw new ShipitError('LOCK_HELD', `${first.name}: deploy lock held by ${describeLock(first.holder)}`, {
        host: first.name,
        hint: lockHeldHint(first.holder, options.waitMs, options.env),
      });
    }
    await clock.sleep(Math.min(2_000, Math.max(0, giveUpAt - clock.now())), signal);
  }
}

/**
 * A run that died holding the lock (SIGKILL, OOM, a lost laptop) never recorded its release: it stays `staged` on
 * every host, also where it was switched to and served, and `shipit releases` would call it "never activated" for
 * as long as it is kept. Once we hold the lock, such a release is marked `interrupted` (as a Ctrl-C'd deploy's is):
 * never picked by a plain rollback, still allowed with `rollback --to`. A release the dead run had recorded
 * already (good, bad) is left as it is, and a host where it is still staged takes the state the run recorded on
 * the other hosts: a run that lost one host (its link cut, rebooted) records its release `bad` everywhere else,
 * and "interrupted" there alone would leave the hosts disagreeing about it for as long as it is kept. The states
 * we return are updated to match.
 */
async function markAbandoned(hosts: ReadonlyMap<string, Host>, states: Map<string, HostReleases>, abandoned: ReadonlyMap<string, string>): Promise<void> {
  const recorded = (id: string): RecordedState =>
    ([...states.values()].flatMap((s) => s.releases).find((r) => r.id === id && r.state !== 'staged')?.state as RecordedState | undefined) ?? 'interrupted';
  // Bookkeeping only: a host where marking fails keeps the release `staged` and the run goes on (a throw here would
  // leave the locks we just took behind, since the caller's cleanup starts once lockFleet has returned).
  await Promise.allSettled(
    [...abandoned].map(async ([name, id]) => {
      const state = states.get(name);
      const release = state?.releases.find((r) => r.id === id);
      if (state === undefined || release === undefined || release.state !== 'staged') return;
      const mark = recorded(id);
      await hosts.get(name)!.record(id, mark, null);
      states.set(name, { ...state, releases: state.releases.map((r) => (r.id === id ? { ...r, state: mark } : r)) });
    }),
  );
}

/** What to do about a lock someone else holds: a run's ends by itself, one taken by hand waits for its holder. */
export function lockHeldHint(holder: LockInfo, waitMs: number, env: string): string {
  const status = `see \`shipit lock status ${env}\``;
  if (holder.pid === 0) {
    return `it was taken by hand (\`shipit lock acquire\`): ask ${holder.by} to release it with \`shipit lock release ${env}\`, or, if it is abandoned, \`shipit lock release ${env} --force\`; ${status}`;
  }
  const wait = waitMs > 0 ? 'pass a longer `--lock-wait`' : 'pass `--lock-wait 5m`';
  return `wait for that ${holder.release ? 'deploy' : 'run'} to finish, ${wait}, or ${status}`;
}

/** Releases our lock everywhere we can; never throws (it runs in finally blocks). */
export async function unlockFleet(hosts: ReadonlyMap<string, Host>, token: string): Promise<string[]> {
  const results = await Promise.allSettled([...hosts.values()].map((host) => host.unlock(token)));
  return [...hosts.keys()].filter((_, i) => results[i]!.status === 'rejected');
}
