import type { HealthConfig, RolloutConfig } from '../config/types.js';
import type { Host } from '../host/types.js';
import type { Clock } from '../lib/clock.js';
import { errorMessage, hostMessage } from '../lib/error-message.js';
import { NotSentError, isShipitError } from '../lib/errors.js';
import { readAppWarnings } from './app-warnings.js';
import type { Emit, RolloutResult } from './events.js';
import { waitForReady } from './gate.js';

export interface RolloutInput {
  /** The release every host must end on; per host, what it ran before is in `previous`. */
  release: string;
  batches: string[][];
  hosts: ReadonlyMap<string, Host>;
  /** The journal: what each host ran before we touched it (null: nothing). */
  previous: ReadonlyMap<string, string | null>;
  health: HealthConfig;
  rollout: Pick<RolloutConfig, 'stagger' | 'progressDeadline' | 'autoRevert'>;
  /** Bound on one `systemctl restart`. */
  restartTimeoutMs: number;
  clock: Clock;
  emit: Emit;
  signal?: AbortSignal;
  /** Redacts the config's secrets from what the gate quotes of an app's answer (see waitForReady). */
  redact: (text: string) => string;
  /** The app has loaded its routes whenever it answers (waitForReady's `notFoundEnds`). */
  routesLoadedWhenServing: boolean;
  /** Per release, the readiness path it was deployed with (ReleaseMeta.readiness), where it differs from `health`'s. */
  readiness?: ReadonlyMap<string, string>;
  /**
   * A deploy's forward move: once the first host of the first batch (the canary) passed its gate, its journal since
   * the activation began is read once for the app's start warnings (host.app_warnings). Not for a rollback.
   */
  appWarnings?: boolean;
}

export interface RolloutOutcome {
  result: RolloutResult;
  /** Why it failed, in one line. */
  failure: string | null;
  /**
   * It failed because a host's connection was lost (link cut, reboot, sshd killed), not because the release did
   * anything wrong: a rollback does not mark its target bad for that (see rollback.ts).
   */
  hostLost?: boolean;
  /**
   * The host whose own failure `failure` is (its host.failed event says the same; at most one here, several
   * when a deploy's prepare fails on several hosts: Outcome.failedOn), so a renderer that printed
   * that event need not print the reason again; empty when the run was stopped from outside a host (progress
   * deadline, Ctrl-C, a host lost between batches).
   */
  failedOn: string[];
  /** The release each host ends on (as far as we know). */
  hosts: Record<string, string | null>;
  touched: string[];
  /** Hosts that could not be put back. */
  unrestored: string[];
  /**
   * Hosts whose switch was sent and failed or was never answered (the connection died under it), and not reverted:
   * `current` may point at either release there, so `hosts` gives the one it was being switched to and says no more.
   */
  uncertain: string[];
}

/**
 * The only loop that awaits I/O while the fleet changes. Batch by batch: switch and restart each host of the
 * batch, gate it; any failure (gate, restart, lost host, progress deadline, abort) stops the batch, and with
 * autoRevert every touched host — the failing one included — goes back to what it ran before, gated the same
 * way. Reverting ignores the caller's abort signal: a Ctrl-C must not leave the fleet half-switched.
 */
export async function runRollout(input: RolloutInput): Promise<RolloutOutcome> {
  const { clock, emit, release } = input;
  const started = clock.now();
  const where: Record<string, string | null> = Object.fromEntries(input.previous);
  const touched: string[] = [];
  // Switched (the host answered its activation) or maybe switched (it never answered): what `where` cannot say.
  const uncertain = new Set<string>();
  const run = new AbortController();
  const onOuterAbort = () => run.abort(input.signal?.reason ?? new Error('interrupted'));
  if (input.signal?.aborted) onOuterAbort();
  input.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const watchdog = watchProgress(input, run);
  // A host lost while others are gated fails the run at once, not when its turn comes (its switch would not be sent).
  let lost = false;
  const unwatch = [...input.hosts].map(
    ([name, host]) =>
      host.onLost?.((error) => {
        if (!run.signal.aborted) lost = true;
        run.abort(new Error(hostMessage(name, errorMessage(error))));
      }) ?? (() => {}),
  );

  // `current` on the host now points at `to` (sure), or may (the activation was sent, its answer never came).
  const switched = (name: string, to: string | null, sure: boolean) => {
    where[name] = to;
    if (sure) uncertain.delete(name);
    else uncertain.add(name);
  };

  let failure: string | null = null;
  // The first host of the run that failed by itself (not cut off by the run being stopped): the reason.
  let first = null as { host: string; error: unknown } | null;
  try {
    for (const [index, batch] of input.batches.entries()) {
      run.signal.throwIfAborted();
      if (index > 0 && input.rollout.stagger > 0) await clock.sleep(input.rollout.stagger, run.signal);
      const batchStarted = clock.now();
      emit({ type: 'batch.started', batch: index + 1, of: input.batches.length, hosts: batch });
      const batchRun = new AbortController();
      const batchSignal = AbortSignal.any([run.signal, batchRun.signal]);
      const results = await Promise.allSettled(
        batch.map(async (name) => {
          touched.push(name);
          try {
            const started = await moveHost(input, name, input.previous.get(name) ?? null, release, batchSignal, (sure) => switched(name, release, sure));
            watchdog.progress();
            if (input.appWarnings && index === 0 && name === batch[0] && started !== null) await reportAppWarnings(input, name, release, started, batchSignal);
          } catch (caught) {
            // A switch that never reached the host left it as it was: nothing there to revert.
            const error = caught instanceof SwitchNotSent ? caught.cause : caught;
            if (caught instanceof SwitchNotSent && touched.includes(name)) touched.splice(touched.indexOf(name), 1);
            // Cut off by the progress deadline or an interruption: that is the reason, not the step it cut off.
            // Cut off by another host of its batch failing: say so, not that host's reason again (printed once,
            // on that host's line, and not as if this host had failed the same way).
            if (!run.signal.aborted && first === null) first = { host: name, error };
            const why = run.signal.aborted ? errorMessage(run.signal.reason) : first!.host === name ? errorMessage(error) : `stopped: ${first!.host} failed`;
            emit({ type: 'host.failed', host: name, release, error: why });
            batchRun.abort(error);
            throw error;
          }
        }),
      );
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw run.signal.aborted ? run.signal.reason : (first?.error ?? failed.reason);
      // Stopped while every host of the batch had passed (an interruption or a lost connection during the canary's
      // journal read, which ignores its own failure): the run is stopped all the same, also after its last batch.
      run.signal.throwIfAborted();
      emit({ type: 'batch.finished', batch: index + 1, durationMs: clock.now() - batchStarted });
    }
  } catch (error) {
    failure = errorMessage(error);
    if (first !== null && error !== first.error) first = null;
    if (isLostConnection(first?.error ?? error)) lost = true;
  } finally {
    watchdog.stop();
    for (const stop of unwatch) stop();
    input.signal?.removeEventListener('abort', onOuterAbort);
  }

  if (failure === null) {
    emit({ type: 'rollout.finished', result: 'success', release, durationMs: clock.now() - started, hosts: where });
    return { result: 'success', failure: null, failedOn: [], hosts: where, touched, unrestored: [], uncertain: [] };
  }

  // Without autoRevert every touched host stays where the failure left it.
  let unrestored = [...touched];
  if (input.rollout.autoRevert) {
    emit({ type: 'rollback.started', reason: failure, hosts: touched });
    const reverted = await Promise.allSettled(
      touched.map(async (name) => {
        const back = input.previous.get(name) ?? null;
        try {
          await moveHost(input, name, release, back, undefined, (sure) => switched(name, back, sure));
          emit({ type: 'host.reverted', host: name, release: back });
        } catch (error) {
          emit({ type: 'host.revert_failed', host: name, release: back, error: errorMessage(error) });
          throw error;
        }
      }),
    );
    unrestored = touched.filter((_, i) => reverted[i]!.status === 'rejected');
  }
  const result: RolloutResult = input.rollout.autoRevert && unrestored.length === 0 ? 'failed-restored' : 'failed-inconsistent';
  emit({ type: 'rollout.finished', result, release, durationMs: clock.now() - started, hosts: where });
  return { result, failure, hostLost: lost, failedOn: first === null ? [] : [first.host], hosts: where, touched, unrestored, uncertain: unrestored.filter((name) => uncertain.has(name)) };
}

/**
 * Switch one host from `from` to `release` (null: deactivate), restart, and gate; resolves with when (the clock's
 * time) its activation began, or null after a deactivation. `switched` hears where `current`
 * went as soon as that is known (true), or that the switch was sent and its answer lost (false), so that a host
 * that then fails and cannot be put back is reported on the release it is really on.
 */
async function moveHost(
  input: RolloutInput,
  name: string,
  from: string | null,
  release: string | null,
  signal: AbortSignal | undefined,
  switched: (sure: boolean) => void,
): Promise<number | null> {
  const { clock, emit } = input;
  const host = input.hosts.get(name)!;
  const started = clock.now();
  emit({ type: 'host.activating', host: name, release, previous: from });
  const state = await host.activate(release, { timeoutMs: input.restartTimeoutMs, signal, redact: input.redact }).catch((error: unknown) => {
    if (error instanceof NotSentError) throw new SwitchNotSent(error);
    // The step failed before `current` was switched (the release is not there, its units do not install) or after
    // (the restart), or it was cut off by a lost connection (heard here, or by the run, which then aborts it): only
    // the host can say which.
    switched(false);
    throw error;
  });
  switched(true);
  // Back to nothing (a failed first deploy's revert) is a stop: no restart, no readiness to wait for.
  if (release === null) return null;
  emit({ type: 'host.restarted', host: name, durationMs: clock.now() - started });
  const baseline = state ?? (await host.service(signal));
  // A revert or rollback to a release deployed with another readiness path is gated on the path it serves.
  const readiness = input.readiness?.get(release) ?? input.health.readiness;
  const health = readiness === input.health.readiness ? input.health : { ...input.health, readiness };
  await waitForReady(host, health, { clock, signal, baseline, redact: input.redact, notFoundEnds: input.routesLoadedWhenServing });
  emit({ type: 'host.ready', host: name, release, durationMs: clock.now() - started });
  return started;
}

/**
 * The app's start warnings on a host that passed its gate (rollout/app-warnings.ts): one journal read, emitted when
 * there is any. It never fails the deploy: a read that fails (the host busy, the connection lost, which the run
 * hears of by itself, the batch stopped by another host, a read cut off at APP_WARNINGS.readTimeoutMs) is ignored,
 * as if the app had said nothing.
 */
async function reportAppWarnings(input: RolloutInput, name: string, release: string, started: number, signal: AbortSignal): Promise<void> {
  try {
    const { lines, more } = await readAppWarnings(input.hosts.get(name)!, { sinceMs: input.clock.now() - started, redact: input.redact, clock: input.clock, signal });
    if (lines.length > 0) input.emit({ type: 'host.app_warnings', host: name, release, lines, more });
  } catch {
    // Ignored on purpose: the warnings are a courtesy; the host is ready and the deploy goes on.
  }
}

/** The host's connection died (keepalives unanswered, reset, reboot): the release did nothing wrong. */
const isLostConnection = (error: unknown) => isShipitError(error) && error.code === 'CONNECT_FAILED';

/** The switch of a host never left the deployer (its connection was lost before): the host runs what it ran. */
class SwitchNotSent extends Error {
  constructor(override readonly cause: NotSentError) {
    super(cause.message);
  }
}

/** Aborts the run when no host has become healthy for `progressDeadline` (Nomad's progress_deadline). */
function watchProgress(input: RolloutInput, run: AbortController): { progress(): void; stop(): void } {
  const { clock } = input;
  const limit = input.rollout.progressDeadline;
  let last = clock.now();
  const stopped = new AbortController();
  void (async () => {
    try {
      for (;;) {
        await clock.sleep(last + limit - clock.now(), AbortSignal.any([stopped.signal, run.signal]));
        if (clock.now() - last >= limit) {
          run.abort(new Error(`no progress within the progress deadline (${Math.round(limit / 1000)} s)`));
          return;
        }
      }
    } catch {
      // stopped, or the run ended
    }
  })();
  return {
    progress: () => {
      last = clock.now();
    },
    stop: () => stopped.abort(),
  };
}
