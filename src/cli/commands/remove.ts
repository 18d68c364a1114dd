import { systemClock } from '../../lib/clock.js';
import { parseDuration } from '../../lib/duration.js';
import { ShipitError } from '../../lib/errors.js';
import { describeLock } from '../../rollout/lock.js';
import { checkRemovable, describeRemoval, planRemoval, removalFailure, removeApp, type HostRemoval } from '../../rollout/remove.js';
import { askToConfirm, canAsk } from '../confirm.js';
import { closeFleet, connectReachable, loadEnvironment, selectHosts } from '../fleet.js';
import type { RemoveOptions } from '../options.js';
import { isDeadLocalRun, lockInfo } from '../session.js';
import { unreachableError, type UnreachableHost } from '../unreachable.js';

/**
 * `shipit remove <env> [--yes]`: stops and disables the app's units, deletes the unit files shipit wrote and the
 * app's deployTo, on every host, under the deploy lock. Without --yes it only says what it would remove and exits 2.
 * Needs no secrets (nothing is sent). Hosts that cannot be reached are reported, the others done, and it exits 3:
 * running it again when they are back finishes the job (a host with nothing left says so).
 */
export async function removeCommand(env: string, options: RemoveOptions): Promise<void> {
  const config = await loadEnvironment(env, options, { secrets: 'optional' });
  // Before any connection: a deployTo like /srv is refused whatever the hosts hold.
  checkRemovable(config);
  const targets = selectHosts(config, options.host);
  const names = targets.map((t) => t.name);
  const { hosts, unreachable } = await connectReachable(config, targets, options);
  let rows: Row[];
  try {
    const plans = await planRemoval({ config, hosts });
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
    }
    const outcome = await removeApp({
      config,
      hosts,
      lock: lockInfo(null, options.message ?? `removing ${config.app}`),
      lockWaitMs: options.lockWait ? parseDuration(options.lockWait) : 0,
      isStaleLock: isDeadLocalRun,
      clock: systemClock,
      // The only event of the lock worth a line: a stale lock (a killed run's) it removed, said aloud as a deploy says it.
      emit: (event) => {
        if (event.type === 'host.lock_stale') process.stderr.write(`${event.host}: removed a stale lock (${event.holder}): the run that took it is gone\n`);
      },
    });
    const failedOn = new Set(outcome.failed.map((f) => f.host));
    rows = names.map((host) => (failedOn.has(host) ? { host, unreachable: null, plan: null, failed: true } : row(host, outcome.removed.get(host), unreachable)));
    print(options, env, config.app, rows, true);
    if (outcome.failed.length > 0) throw removalFailure(outcome.failed);
    if (unreachable.length > 0) {
      const error = unreachableError(unreachable, names.length);
      throw new ShipitError('CONNECT_FAILED', `${error.message}; nothing was removed there`, {
        hint: `run \`shipit remove ${env} --yes\` again once they can be reached${error.hint ? `; ${error.hint}` : ''}`,
      });
    }
  } finally {
    await closeFleet(hosts);
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
