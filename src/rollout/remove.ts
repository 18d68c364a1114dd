import { APP_NAME } from '../config/fields.js';
import type { ResolvedConfig } from '../config/types.js';
import type { LockInfo, RemovalReport } from '../host/types.js';
import { describeElsewhere } from '../host/units-elsewhere.js';
import { errorMessage } from '../lib/error-message.js';
import { ShipitError } from '../lib/errors.js';
import { SHIPIT_ENTRIES } from '../remote/remove-scripts.js';
import { renderUnits } from '../units/render.js';
import { lockFleet, unlockFleet } from './lock.js';
import { refuseForeign } from './rollback.js';
import type { FleetContext } from './deploy.js';

/**
 * `shipit remove <env>`: takes the app off its hosts. Plan (read every host, refuse what is not clearly this app's)
 * then apply (under the deploy lock, each host re-reads and removes in one command: src/remote/remove-scripts.ts).
 */

/** What removing the app does on one host, from what the host said (RemovalReport). */
export interface HostRemoval {
  host: string;
  /** Nothing of the app's is there (never deployed, or removed already): not an error. */
  nothing: boolean;
  /** shipit's unit files, stopped, disabled and deleted. */
  units: { name: string; active: string }[];
  /** Unit files of the app's names that shipit did not write: left alone. */
  kept: string[];
  /**
   * The app's units serving another deployTo in use (another environment of the app on this host): left alone, so
   * that removing staging never stops production. `units` then names none; `describeElsewhere`'s text.
   */
  servesElsewhere?: { units: string[]; where: string };
  /** The service's state directory (/var/lib/<app>), kept: the app's data. */
  state: string | null;
  /** The service user named after the app, kept (it may own files elsewhere): `userdel` it when it is not needed. */
  user: string | null;
  /** deployTo, deleted; null when there is none. */
  dir: string | null;
  releases: number;
  current: string | null;
  /** Who holds the deploy lock there now (the preview), or null. */
  lock: LockInfo | null;
}

/** The unit files shipit installs for the app: what `shipit units` lists. */
export function removalUnits(config: ResolvedConfig): string[] {
  return renderUnits(config).map((u) => u.name);
}

/** Top directories a deployTo of two segments must not be under: the system's own (`/usr/local`, `/etc/ssh`, `/var/lib`). */
const SYSTEM_TOPS = new Set(['bin', 'boot', 'dev', 'etc', 'lib', 'lib32', 'lib64', 'libx32', 'proc', 'run', 'sbin', 'sys', 'usr', 'var']);

/**
 * Refusals that need no host. The config's schema already refuses a relative deployTo, `/` and an invalid app name
 * for every command; removing is checked again here, because this is the command that deletes deployTo: a
 * directory with fewer than two segments (`/srv`, `/opt`) or a system one (`/usr/local`, `/var/lib`) holds more
 * than one app, whatever its entries say at this moment.
 */
export function checkRemovable(config: Pick<ResolvedConfig, 'app' | 'deployTo'> & { environment?: string }): void {
  const { app, deployTo } = config;
  const env = config.environment ?? '<env>';
  if (!APP_NAME.test(app)) {
    throw new ShipitError('USAGE', `app: ${JSON.stringify(app)} is not an app name shipit deploys: remove would not know which units are the app's`, {
      hint: 'app must be lowercase letters, digits and dashes, starting with a letter, as it was when the app was deployed',
    });
  }
  const segments = deployTo.split('/').filter((s) => s !== '');
  const bad =
    !deployTo.startsWith('/') || segments.some((s) => s === '.' || s === '..')
      ? 'is not an absolute, normalized path'
      : segments.length === 0
        ? 'is the root directory'
        : segments.length < 2
        ? 'is a top-level directory, which holds more than one app'
        : segments.length === 2 && SYSTEM_TOPS.has(segments[0]!)
          ? "is one of the system's own directories"
          : null;
  if (bad !== null) {
    throw new ShipitError('USAGE', `deployTo: ${JSON.stringify(deployTo)} ${bad}: shipit remove deletes deployTo, and only a directory of the app's own like /srv/${app}`, {
      hint: `nothing was changed; if the app really lives there, remove its units and files by hand (\`shipit units ${env}\` names the units)`,
    });
  }
}

/**
 * What removal does on `host`, or the refusal, naming the host and the field: deployTo a symlink (never followed) or
 * not a directory, holding entries shipit does not create (someone's data), or another app's releases.
 */
export function planHostRemoval(config: Pick<ResolvedConfig, 'app' | 'deployTo'>, host: string, report: RemovalReport): HostRemoval {
  const { app, deployTo } = config;
  if (report.dir === 'symlink' || report.dir === 'other') {
    throw new ShipitError('USAGE', `${host}: deployTo ${deployTo} is ${report.dir === 'symlink' ? 'a symbolic link' : 'not a directory'}: shipit remove deletes only a directory of the app's own, never what a link points to`, {
      host,
      hint: `nothing was changed; set deployTo to the directory itself, or remove ${app} there by hand`,
    });
  }
  refuseForeign(new Map([[host, report]]), app, deployTo);
  if (report.extra.length > 0) {
    const shown = report.extra.slice(0, 5).join(', ') + (report.extra.length > 5 ? `, … (${report.extra.length} in all)` : '');
    throw new ShipitError('USAGE', `${host}: deployTo ${deployTo} holds entries shipit did not create (${shown}): they may be someone's data, so it is not removed`, {
      host,
      hint: `nothing was changed; move them out of ${deployTo} (shipit creates only ${SHIPIT_ENTRIES.join(', ')} there) and run it again`,
    });
  }
  const units = report.units.filter((u) => u.owner === 'shipit');
  const dir = report.dir === 'directory' ? deployTo : null;
  return {
    host,
    // A directory holding only .shipit is the one a lock creates (or leaves): nothing was deployed there.
    nothing: units.length === 0 && report.releases === 0 && report.entries.every((e) => e === '.shipit'),
    units: units.map(({ name, active }) => ({ name, active })),
    kept: report.units.filter((u) => u.owner === 'other').map((u) => u.name),
    ...(report.unitsElsewhere ? { servesElsewhere: { units: report.units.filter((u) => u.owner === 'elsewhere').map((u) => u.name), where: describeElsewhere(report.unitsElsewhere) } } : {}),
    // /var/lib/<app> is the StateDirectory= of the units, i.e. of the environment they serve when that is another one:
    // its live data, not to be offered for `rm -r`.
    state: report.unitsElsewhere ? null : (report.state ?? null),
    // Another environment's units run as it too (one app name, one user): not offered for `userdel` then.
    user: report.unitsElsewhere ? null : (report.user ?? null),
    dir,
    releases: report.releases,
    current: report.current,
    lock: report.lock,
  };
}

/** A removal runs with what a deploy runs with: the fleet, its lock, the clock, events and Ctrl-C's signal. */
export type RemoveContext = FleetContext;

/** Reads every host and plans its removal (read-only); a host that refuses fails the whole command: nothing changes. */
export async function planRemoval(ctx: Pick<RemoveContext, 'config' | 'hosts' | 'signal'>): Promise<Map<string, HostRemoval>> {
  checkRemovable(ctx.config);
  const units = removalUnits(ctx.config);
  const reports = await Promise.all([...ctx.hosts].map(async ([name, host]) => [name, await host.removal(units, undefined, ctx.signal)] as const));
  return new Map(reports.map(([name, report]) => [name, planHostRemoval(ctx.config, name, report)]));
}

export interface RemovalOutcome {
  /** What was removed per host (read under the lock, just before). */
  removed: Map<string, HostRemoval>;
  /** Hosts where it failed or was refused under the lock, with why: nothing of theirs is counted removed. */
  failed: { host: string; error: unknown }[];
}

/**
 * Under the deploy lock on every host (all or nothing, as a deploy takes it; `lockWaitMs` waits for a holder), each
 * host re-reads and removes in one command. The lock goes with deployTo; where a host refused or failed, it is
 * released again.
 *
 * Ctrl-C (`signal`): until the removals are sent, it stops the run and every lock it may hold is released (a lock
 * command cut off may have taken it: unlocking with our token is a no-op where we do not), nothing removed. Once
 * sent they are not cut off: a removal is one command that the host finishes anyway (without a pty, closing the
 * channel does not stop it), and cutting it off would only lose what it did and race its `rm -rf` with our unlock.
 */
export async function removeApp(ctx: RemoveContext): Promise<RemovalOutcome> {
  const { config, hosts, clock, emit, signal } = ctx;
  checkRemovable(config);
  const units = removalUnits(config);
  const done = new Set<string>();
  try {
    await lockFleet(hosts, ctx.lock, { env: config.environment, waitMs: ctx.lockWaitMs, clock, emit, signal, isStale: ctx.isStaleLock });
    if (signal?.aborted) throw interruptedBeforeRemoving(signal, config.environment);
    const names = [...hosts.keys()];
    for (const host of names) emit({ type: 'host.removing', host });
    const results = await Promise.allSettled(
      names.map((name) =>
        hosts
          .get(name)!
          .removal(units, ctx.lock.token)
          .finally(() => emit({ type: 'host.removal_finished', host: name })),
      ),
    );
    const removed = new Map<string, HostRemoval>();
    const failed: RemovalOutcome['failed'] = [];
    results.forEach((result, i) => {
      const host = names[i]!;
      if (result.status === 'rejected') return failed.push({ host, error: result.reason });
      try {
        const plan = planHostRemoval(config, host, result.value);
        if (result.value.removed !== true) throw new ShipitError('REMOTE_FAILED', `${host}: the deploy lock taken for the removal was no longer this run's: nothing was removed`, { host });
        done.add(host);
        removed.set(host, plan);
      } catch (error) {
        failed.push({ host, error });
      }
    });
    return { removed, failed };
  } finally {
    await unlockFleet(new Map([...hosts].filter(([name]) => !done.has(name))), ctx.lock.token);
  }
}

/** Ctrl-C before any host's removal was sent: exit 130, in the operator's words, whatever step it cut off. */
export function interruptedBeforeRemoving(signal: AbortSignal, env: string): ShipitError {
  const reason = signal.reason instanceof Error ? signal.reason.message : 'interrupted';
  return new ShipitError('ABORTED', `${reason} before any host's removal was sent: nothing was removed (the deploy lock was released)`, {
    hint: `run \`shipit remove ${env} --yes\` again when ready`,
  });
}

/** One line per host: what removal did, or would do (`preview`). */
export function describeRemoval(plan: HostRemoval, preview: boolean): string {
  // Where nothing else was there, nothing was removed: it simply is (still) there.
  const kept = preview || plan.nothing ? 'is' : 'was';
  const state =
    (plan.state === null ? '' : `; ${plan.state} (the app's data) ${kept} kept: \`rm -r ${plan.state}\` if it is not needed`) +
    (plan.user === null ? '' : `; the service user ${plan.user} ${kept} kept: \`userdel ${plan.user}\` if nothing else runs as it or owns files`);
  if (plan.nothing) {
    const left = plan.dir !== null && preview ? ` (only ${plan.dir}/.shipit, which would be removed)` : '';
    return `nothing deployed${left}${plan.kept.length > 0 ? `; ${plan.kept.join(', ')} not written by shipit: left alone` : ''}${elsewhereNote(plan)}${state}`;
  }
  const parts = [
    ...plan.units.map((u) => `${u.name}${preview ? ` (${u.active})` : ''}`),
    ...(plan.dir === null ? [] : [`${plan.dir}${plan.releases > 0 ? ` (${plan.releases} release(s)${plan.current ? `, current ${plan.current}` : ''})` : ''}`]),
  ];
  const others = plan.kept.length > 0 ? `; ${plan.kept.join(', ')} not written by shipit: left alone` : '';
  return `${preview ? 'would remove' : 'removed'}: ${parts.join(', ')}${others}${elsewhereNote(plan)}${state}`;
}

/** Units of the app that serve another environment's deployTo: named, and left alone. */
function elsewhereNote(plan: HostRemoval): string {
  const e = plan.servesElsewhere;
  if (e === undefined || e.units.length === 0) return '';
  return `; ${e.units.join(', ')} serve ${e.where} (another environment of the app): left alone`;
}

/** The failures of several hosts as one error: the first one's code and hint, every host's message. */
export function removalFailure(failed: RemovalOutcome['failed']): ShipitError {
  const first = failed[0]!.error;
  const code = first instanceof ShipitError ? first.code : 'REMOTE_FAILED';
  return new ShipitError(code, failed.map((f) => errorMessage(f.error)).join('\n'), { hint: first instanceof ShipitError ? first.hint : undefined });
}
