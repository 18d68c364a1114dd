import type { SshHost } from '../../host/ssh-host.js';
import { systemClock } from '../../lib/clock.js';
import { parseDuration } from '../../lib/duration.js';
import { ShipitError } from '../../lib/errors.js';
import { describeLock } from '../../rollout/lock.js';
import { interrupted } from '../../rollout/deploy.js';
import type { RolloutEvent } from '../../rollout/events.js';
import { checkRemovable, describeRemoval, interruptedBeforeRemoving, planRemoval, removalFailure, removeApp, type HostRemoval } from '../../rollout/remove.js';
import { askToConfirm, canAsk } from '../confirm.js';
import { closeFleet, connectReachable, loadEnvironment, selectHosts } from '../fleet.js';
import type { RemoveOptions } from '../options.js';
import { isDeadLocalRun, lockInfo, trapSignals, type TrapWords } from '../session.js';
import { unreachableError, type UnreachableHost } from '../unreachable.js';

/**
 * `shipit remove <env> [--yes]`: stops and disables the app's units, deletes the unit files shipit wrote and the
 * app's deployTo, on every host, under the deploy lock. Without --yes it only says what it would remove and exits 2.
 * Needs no secrets (nothing is sent). Hosts that cannot be reached are reported, the others done, and it exits 3:
 * running it again when they are back finishes the job (a host with nothing left says so).
 *
 * Once it may remove (--yes, or confirmed), Ctrl-C and SIGTERM are trapped (trapSignals, REMOVING): before any host's
 * removal was sent, the run stops, the lock is released and it exits 130 saying nothing was removed; once sent, the
 * removals finish and each host's line says what was removed.
 */
export async function removeCommand(env: string, options: RemoveOptions): Promise<void> {
  const config = await loadEnvironment(env, options, { secrets: 'optional' });
  // Before any connection: a deployTo like /srv is refused whatever the hosts hold.
  checkRemovable(config);
  const targets = selectHosts(config, options.host);
  const names = targets.map((t) => t.name);
  const abort = new AbortController();
  const sent = new SentRemovals();
  const trap = () => trapSignals(abort, env, (line) => process.stderr.write(`${line}\n`), { moved: () => sent.running(), words: REMOVING });
  // A preview changes nothing: Ctrl-C there (or at the question) just ends it.
  let untrap = options.yes ? trap() : null;
  try {
    const { hosts, unreachable } = await connectReachable(config, targets, { ...options, signal: abort.signal });
    try {
      await removeFrom({ env, config, options, names, hosts, unreachable, signal: abort.signal, sent, confirmedNow: () => (untrap ??= trap()) });
    } finally {
      await closeFleet(hosts);
    }
  } catch (error) {
    // Ctrl-C while connecting, reading or locking: the step that was cut off is not news, nothing was removed.
    if (interrupted(abort.signal) && !sent.any) throw interruptedBeforeRemoving(abort.signal, env);
    throw error;
  } finally {
    untrap?.();
  }
}

/** What the trap says for a removal: removals already sent are let finish (see removeApp). */
export const REMOVING: TrapWords = {
  stopping: 'stopping: no removal is sent from now on; those already sent finish, then the lock is released (Ctrl-C twice more to quit at once)',
  still: 'still waiting for the removals already sent and releasing the lock; one more Ctrl-C quits now and may leave the deploy lock held',
  quit: (hosts, env) => [
    `quit: not known whether the app was removed from ${hosts.join(', ')}; the deploy lock may stay held there`,
    `hint: run \`shipit remove ${env} --yes\` again: it finishes the job (the lock is stale once this process is gone)`,
  ],
};

/** The hosts whose removal was sent, and those of them still running: what a forced quit leaves unknown. */
class SentRemovals {
  private readonly sent = new Set<string>();
  private readonly finished = new Set<string>();

  observe(event: RolloutEvent): void {
    if (event.type === 'host.removing') this.sent.add(event.host);
    if (event.type === 'host.removal_finished') this.finished.add(event.host);
  }

  get any(): boolean {
    return this.sent.size > 0;
  }

  running(): string[] {
    return [...this.sent].filter((host) => !this.finished.has(host)).map((host) => `${host} (removal running)`);
  }
}

interface RemoveRun {
  env: string;
  config: Awaited<ReturnType<typeof loadEnvironment>>;
  options: RemoveOptions;
  /** Every selected host, in the config's order (the rows). */
  names: string[];
  hosts: Map<string, SshHost>;
  unreachable: UnreachableHost[];
  signal: AbortSignal;
  sent: SentRemovals;
  /** Called once a person confirmed at the terminal: from then on Ctrl-C is trapped as with --yes. */
  confirmedNow: () => void;
}

/** Plans on the reachable hosts, then previews (and asks), or removes and says what was removed per host. */
async function removeFrom({ env, config, options, names, hosts, unreachable, signal, sent, confirmedNow }: RemoveRun): Promise<void> {
  let rows: Row[];
  const plans = await planRemoval({ config, hosts, signal });
  if (!options.yes) {
    rows = names.map((host) => row(host, plans.get(host), unreachable));
    print(options, env, config.app, rows, false);
    const some = rows.filter((r) => r.plan && !r.plan.nothing).map((r) => r.host);
    const held = rows.filter((r) => r.plan?.lock && !isDeadLocalRun(r.plan.lock));
    // A person at a terminal may confirm by typing the environment's name; CI and scripts pass --yes.
    const asked = some.length > 0 && canAsk(options);
    const confirmed = asked && (await askToConfirm(`remove ${config.app} from ${some.join(', ')}? type "${env}" to confirm: `, env));
    if (!confirmed && unreachable.length > 0) throw unreachableError(unreachable, names.length);
    // Nothing anywhere: there is nothing to confirm, and a script checking that the app is gone gets 0.
    if (some.length === 0) return;
    if (!confirmed) throw new ShipitError('USAGE', asked ? `nothing was removed: the answer was not "${env}"` : 'nothing was removed: `shipit remove` deletes the app from its hosts only with --yes', {
      hint:
        `to remove ${config.app} from ${some.join(', ')}, run \`shipit remove ${env} --yes\`${held.length > 0 ? ` (the deploy lock on ${held.map((r) => r.host).join(', ')} is held: it will wait with --lock-wait, or fail)` : ''}`,
    });
    confirmedNow();
  }
  const outcome = await removeApp({
    config,
    hosts,
    lock: lockInfo(null, options.message ?? `removing ${config.app}`),
    lockWaitMs: options.lockWait ? parseDuration(options.lockWait) : 0,
    isStaleLock: isDeadLocalRun,
    clock: systemClock,
    signal,
    emit: (event) => {
      sent.observe(event);
      // The only event of the lock worth a line: a stale lock (a killed run's) it removed, said aloud as a deploy says it.
      if (event.type === 'host.lock_stale') process.stderr.write(`${event.host}: removed a stale lock (${event.holder}): the run that took it is gone\n`);
    },
  });
  const failedOn = new Set(outcome.failed.map((f) => f.host));
  rows = names.map((host) => (failedOn.has(host) ? { host, unreachable: null, plan: null, failed: true } : row(host, outcome.removed.get(host), unreachable)));
  print(options, env, config.app, rows, true);
  if (interrupted(signal)) {
    const reason = signal.reason instanceof Error ? signal.reason.message : 'interrupted';
    process.stderr.write(`${reason} after the removal was sent to ${[...hosts.keys()].join(', ')}: it was let finish (each host's line above says what was removed)\n`);
  }
  if (outcome.failed.length > 0) throw removalFailure(outcome.failed);
  if (unreachable.length > 0) {
    const error = unreachableError(unreachable, names.length);
    throw new ShipitError('CONNECT_FAILED', `${error.message}; nothing was removed there`, {
      hint: `run \`shipit remove ${env} --yes\` again once they can be reached${error.hint ? `; ${error.hint}` : ''}`,
    });
  }
}

interface Row {
  host: string;
  unreachable: string | null;
  plan: HostRemoval | null;
  failed?: boolean;
}

function row(host: string, plan: HostRemoval | undefined, unreachable: readonly UnreachableHost[]): Row {
  const why = unreachable.find((u) => u.host === host)?.reason;
  return { host, unreachable: why ?? (plan ? null : 'not read'), plan: plan ?? null };
}

function print(options: RemoveOptions, env: string, app: string, rows: Row[], done: boolean): void {
  if (options.json) {
    const hosts = rows.map(({ host, unreachable, plan, failed }) => ({
      host,
      unreachable,
      failed: failed === true,
      nothing: plan?.nothing ?? null,
      units: plan?.units.map((u) => u.name) ?? [],
      // On a host with nothing deployed, the directory removed is only the one the lock made.
      dir: plan && !plan.nothing ? plan.dir : null,
      releases: plan?.releases ?? 0,
      current: plan?.current ?? null,
      kept: plan?.kept ?? [],
      state: plan?.state ?? null,
      user: plan?.user ?? null,
      lock: plan?.lock && !done ? describeLock(plan.lock) : null,
    }));
    process.stdout.write(`${JSON.stringify({ environment: env, app, removed: done, hosts })}\n`);
    return;
  }
  const width = Math.max(...rows.map((r) => r.host.length));
  for (const r of rows) {
    const text =
      r.unreachable !== null
        ? `unreachable: ${r.unreachable}`
        : r.failed
          ? 'not removed (see the error below)'
          : `${describeRemoval(r.plan!, !done)}${!done && r.plan!.lock ? `; deploy lock held by ${describeLock(r.plan!.lock)}` : ''}`;
    process.stdout.write(`${r.host.padEnd(width)}  ${text}\n`);
  }
  if (done) {
    const count = rows.filter((r) => r.plan && !r.plan.nothing).length;
    process.stdout.write(`${count === 0 ? `${app} was on no reachable host of ${env}: nothing to remove` : `removed ${app} from ${count} host(s) of ${env}`}\n`);
  }
}
