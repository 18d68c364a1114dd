import { randomBytes } from 'node:crypto';
import type { ResolvedConfig } from '../config/types.js';
import { sensitiveValues } from '../config/sensitive.js';
import type { LockInfo } from '../host/types.js';
import { systemClock } from '../lib/clock.js';
import { formatDuration, parseDuration } from '../lib/duration.js';
import { ExitCode, isShipitError, ShipitError } from '../lib/errors.js';
import { createRedactor } from '../lib/redact.js';
import { interrupted, interruptedBeforeSwitching, type FleetContext, type Outcome } from '../rollout/deploy.js';
import type { RolloutEvent } from '../rollout/events.js';
import type { SshHost } from '../host/ssh-host.js';
import { closeFleet, commandLogger, connectInBackground, selectHosts, type PendingFleet } from './fleet.js';
import { whoAmI } from './identity.js';
import type { GlobalOptions } from './options.js';
import { JsonRenderer, PlainRenderer, pickRenderMode, type Renderer } from './render/renderer.js';

/** listr2 is loaded only for a TTY: CI and --json runs never pay for it (start time, memory). */
export async function makeRenderer(options: GlobalOptions, hosts: readonly string[], secrets: readonly string[]): Promise<Renderer> {
  const mode = pickRenderMode(options);
  const safe = createRedactor(secrets);
  if (mode === 'json') return new JsonRenderer((line) => process.stdout.write(`${safe(line)}\n`), (line) => process.stderr.write(`${safe(line)}\n`));
  if (mode === 'plain') return new PlainRenderer((line) => process.stdout.write(`${safe(line)}\n`));
  const { ListrRenderer } = await import('./render/listr-renderer.js');
  return new ListrRenderer(hosts, safe);
}

/**
 * The hosts a fleet operation has moved off the release they ran before it, from its events: what a forced quit
 * (a third Ctrl-C) leaves behind. A host counts from its first activation until it is back (reverted, or ready on
 * what it ran before).
 */
export class MovedHosts {
  private readonly moved = new Map<string, { before: string | null; to: string | null }>();

  observe(event: RolloutEvent): void {
    if (event.type === 'host.activating') {
      const was = this.moved.get(event.host);
      this.moved.set(event.host, { before: was ? was.before : event.previous, to: event.release });
    } else if (event.type === 'host.reverted' || (event.type === 'host.ready' && event.release === this.moved.get(event.host)?.before)) {
      this.moved.delete(event.host);
    }
  }

  /** `web1 (ran A, moving to B)` for each host not back where it was. */
  describe(): string[] {
    return [...this.moved].map(([host, { before, to }]) => `${host} (ran ${before ?? 'no release'}, ${to === null ? 'being stopped' : `moving to ${to}`})`);
  }
}

/** What the signal trap says: an operation that restores what it touched, or one that lets what it sent finish. */
export interface TrapWords {
  /** The first signal's line, after `SIGINT: `. */
  stopping: string;
  /** The second signal's line. */
  still: string;
  /** A forced quit's lines, `hosts` being those left in a state nobody knows (see trapSignals). */
  quit(hosts: string[], env: string): string[];
}

/** deploy and rollback: an interrupted rollout restores the hosts it moved. */
export const RESTORING: TrapWords = {
  stopping: 'stopping; restoring touched hosts and releasing the lock (Ctrl-C twice more to quit at once)',
  still: 'still restoring hosts; one more Ctrl-C quits now and may leave hosts on different releases',
  quit: (hosts, env) => [
    `quit: the fleet may be inconsistent; not restored: ${hosts.join(', ')}; the deploy lock stays held`,
    `hint: run \`shipit status ${env}\` to see where every host is, then \`shipit rollback ${env}\` (the lock is stale once this process is gone)`,
  ],
};

/**
 * Ctrl-C and SIGTERM abort the run; the operation then cleans up (`words` says how: a rollout restores what it
 * touched) and releases the lock before exiting. A second Ctrl-C says so instead of killing; a third one exits at
 * once: 130 when `moved` names no host, else 6 (the fleet may be inconsistent), naming those hosts and, in its
 * hint, the environment `env`.
 */
export function trapSignals(
  abort: AbortController,
  env: string,
  say: (line: string) => void,
  { moved = () => [], exit = (code) => process.exit(code), words = RESTORING }: { moved?: () => string[]; exit?: (code: number) => void; words?: TrapWords } = {},
): () => void {
  let count = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    count++;
    if (count === 1) {
      say(`${signal}: ${words.stopping}`);
      abort.abort(new ShipitError('ABORTED', `interrupted by ${signal}`));
    } else if (count === 2) {
      say(words.still);
    } else {
      const hosts = moved();
      if (hosts.length === 0) return exit(ExitCode.interrupted);
      for (const line of words.quit(hosts, env)) say(line);
      exit(ExitCode.failedInconsistent);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

export function lockInfo(release: string | null, message: string | undefined): LockInfo {
  return {
    by: whoAmI(),
    pid: process.pid,
    at: new Date().toISOString(),
    release,
    message: message ?? '',
    token: randomBytes(8).toString('hex'),
  };
}

/**
 * A lock taken by a shipit run on this machine, as this user, whose process no longer exists: it died or lost
 * its connection before it could unlock that host. Manual locks (pid 0) and other machines' are never stale.
 */
export function isDeadLocalRun(holder: LockInfo): boolean {
  if (holder.pid <= 0 || holder.by !== whoAmI() || holder.pid === process.pid) return false;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Starts connecting to the selected hosts, commands logged to the renderer with --verbose (see runFleetOperation).
 * The operations switch hosts one batch after another: each host keeps a warm shell for its next step.
 */
export function connectForOperation(config: ResolvedConfig, options: GlobalOptions, renderer: Renderer): PendingFleet {
  return connectInBackground(config, selectHosts(config, options.host), {
    ...options,
    onCommand: commandLogger(options, createRedactor(sensitiveValues(config.server)), (line) => renderer.info(line)),
    warmShells: true,
  });
}

/**
 * Connects (or takes the connections `pending` started earlier), runs a fleet operation with rendering, signals
 * and cleanup; returns its outcome. The connect phase is what the operation waits for its connections, from
 * here: with `pending`, the handshakes may be done already.
 */
export async function runFleetOperation(
  config: ResolvedConfig,
  options: GlobalOptions & { lockWait?: string; message?: string },
  release: string | null,
  operation: (ctx: FleetContext) => Promise<Outcome>,
  renderer: Renderer,
  pending: PendingFleet = connectForOperation(config, options, renderer),
): Promise<Outcome> {
  const { abort } = pending;
  const moved = new MovedHosts();
  const untrap = trapSignals(abort, config.environment, (line) => renderer.info(line), { moved: () => moved.describe() });
  const emit = (event: RolloutEvent) => {
    moved.observe(event);
    renderer.emit(event);
  };
  let hosts: Map<string, SshHost> | undefined;
  try {
    const started = Date.now();
    emit({ type: 'phase.started', phase: 'connect' });
    hosts = await pending.hosts.finally(() => emit({ type: 'phase.finished', phase: 'connect', durationMs: Date.now() - started }));
    return await operation({
      config,
      hosts,
      lock: lockInfo(release, options.message),
      lockWaitMs: options.lockWait ? parseDuration(options.lockWait) : 0,
      isStaleLock: isDeadLocalRun,
      clock: systemClock,
      emit,
      signal: abort.signal,
    });
  } catch (error) {
    // Ctrl-C while connecting or locking: the step that was cut off ("Aborted `sudo -n sh -c …`") is not news.
    if (interrupted(abort.signal) && isShipitError(error) && error.code === 'ABORTED' && moved.describe().length === 0) throw interruptedBeforeSwitching(abort.signal);
    throw error;
  } finally {
    untrap();
    if (hosts) await closeFleet(hosts);
  }
}

/** The final summary, and the error that carries the documented exit code when it failed; its hints name `env`. */
export function finish(outcome: Outcome, action: 'deploy' | 'rollback', env: string, renderer: Renderer): void {
  const total = Object.values(outcome.durations).reduce((a, b) => a + (b ?? 0), 0);
  const phases = Object.entries(outcome.durations)
    .map(([name, ms]) => `${name} ${formatDuration(ms ?? 0)}`)
    .join(', ');
  // "rollback of X" read as if X were undone; X is the release the fleet goes back to.
  const what = action === 'rollback' ? `rollback to ${outcome.release}` : `deploy of ${outcome.release}`;
  if (outcome.result === 'success') {
    renderer.info(`${what} succeeded on ${Object.keys(outcome.hosts).length} host(s) in ${formatDuration(total)} (${phases})`);
    return;
  }
  const where = releasesOf(outcome.hosts);
  const failure = describeFailure(outcome, renderer.showsEvents);
  if (outcome.result === 'failed-restored') {
    // Before the rollout (a prepare that failed) no host moved: "back on" would say they had.
    // A first deploy: what it left on the hosts, so that nobody wonders about a /srv/<app> without a service.
    // After prepare failed, the unlock removed what the run made on a host that held no release (scripts.ts
    // UNDO_FIRST_CONTACT_LOCKED); after the rollout failed, the release stays, marked bad, as every failed release does.
    const state =
      outcome.durations.rollout === undefined
        ? `nothing was switched: ${stillRunning(outcome.hosts)}${where === null ? '; what this run created on the hosts that held no release of the app (deployTo, the service user) was removed, except a dependency set it built, which the next deploy reuses' : ''}`
        : where === null
          ? `no host runs a release, as before; the hosts keep ${outcome.release} (marked bad) in deployTo, with the service user, for inspection (\`shipit releases ${env}\`); its units were removed`
          : `every host is back on the release it ran before: ${where}`;
    throw new ShipitError('DEPLOY_FAILED_RESTORED', `${what} failed: ${failure}\n${state}`, {
      // The config collides with a host (another environment's units): a config error, as plan reports it.
      ...(outcome.conflict ? { exitCode: ExitCode.config } : {}),
      hint:
        outcome.durations.rollout === undefined
          ? (outcome.hint ?? 'fix what the error names and deploy again')
          : outcome.interrupted === true
            ? action === 'rollback'
              ? `${outcome.release} keeps its state (the stop says nothing about it): \`shipit rollback ${env} --to ${outcome.release}\` tries again`
              : `the release is marked interrupted (not bad): deploy again, or \`shipit rollback ${env} --to ${outcome.release}\``
            : `the release is marked bad and rollback will never pick it; \`shipit logs ${env} --since 10m\` shows the service's journal from every host`,
    });
  }
  // A host whose switch failed or was cut off may be on either release: say which it was being moved to, not that it is there.
  const unsure = outcome.uncertain ?? [];
  const now = unsure.length === 0 ? where : releasesOf(Object.fromEntries(Object.entries(outcome.hosts).map(([host, release]) => [host, unsure.includes(host) ? `${release ?? 'none'}?` : release])));
  const unsureNote = unsure.length === 0 ? '' : ` (?: its switch to that release failed or was cut off, so not known; \`shipit status ${env}\` reads it once the host answers)`;
  throw new ShipitError(
    'DEPLOY_FAILED_INCONSISTENT',
    `${what} failed: ${failure}\nthe fleet may be inconsistent; hosts not restored: ${outcome.unrestored.join(', ') || '(unknown)'}; now: ${now ?? 'no host runs a release'}${unsureNote}`,
    {
      // After a failed rollback some hosts run its target, others what they ran before: a plain rollback would pick a
      // release older than every host's current one, past the target (seen on the lab), so name the target.
      hint:
        action === 'rollback'
          ? `fix the named hosts, then run \`shipit status ${env}\` and \`shipit rollback ${env} --to ${outcome.release}\` to finish this rollback`
          : `fix the named hosts, then run \`shipit status ${env}\` and \`shipit rollback ${env}\``,
    },
  );
}

/** What the hosts run, none having moved: one release when they agree. */
function stillRunning(hosts: Record<string, string | null>): string {
  const releases = new Set(Object.values(hosts));
  const [only] = releases;
  if (releases.size === 1 && only !== undefined) return only === null ? 'no host runs a release yet' : `every host still runs ${only}`;
  return `every host still runs what it ran: ${releasesOf(hosts)}`;
}

/** `web1=r1 web2=r2`, a host that runs no release as `web3=none`; null when none runs one. */
function releasesOf(hosts: Record<string, string | null>): string | null {
  const entries = Object.entries(hosts);
  if (entries.every(([, release]) => release === null)) return null;
  return entries.map(([host, release]) => `${host}=${release ?? 'none'}`).join(' ');
}

/**
 * Why it failed, for the final error. When the failing hosts' own lines said why (plain or listr2 output), they
 * are named instead: a reason (often an app's traceback) is printed once. In JSON mode the error is the only
 * text, so it carries the reason; the events carry it too.
 */
export function describeFailure(outcome: Pick<Outcome, 'failure' | 'failedOn' | 'durations'>, shownByEvents: boolean): string {
  if (!shownByEvents || outcome.failedOn.length === 0) return outcome.failure ?? 'unknown failure';
  const hosts = outcome.failedOn.join(', ');
  const above = outcome.failedOn.length === 1 ? 'its line above says why' : 'their lines above say why';
  return outcome.durations.rollout === undefined ? `prepare failed on ${hosts} (${above})` : `${hosts} failed (${above})`;
}
