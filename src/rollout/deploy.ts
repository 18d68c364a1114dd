import type { ResolvedConfig } from '../config/types.js';
import { sensitiveValues } from '../config/sensitive.js';
import type { HistoryEntry, Host, HostReleases, LockInfo, PrepareReport, RecordedState, ReleaseSpec } from '../host/types.js';
import type { Clock } from '../lib/clock.js';
import { errorMessage, hostMessage } from '../lib/error-message.js';
import { ShipitError } from '../lib/errors.js';
import { createRedactor } from '../lib/redact.js';
import type { Emit, Phase, RolloutResult } from './events.js';
import { runRollout, type RolloutOutcome } from './execute.js';
import { lockFleet, unlockFleet } from './lock.js';
import { newestBad, planBatches, planPrune, planRename } from './plan.js';

export interface FleetContext {
  config: ResolvedConfig;
  hosts: ReadonlyMap<string, Host>;
  lock: LockInfo;
  lockWaitMs: number;
  /** Recognises locks whose holder is gone (see lockFleet). */
  isStaleLock?: (holder: LockInfo) => boolean;
  clock: Clock;
  emit: Emit;
  signal?: AbortSignal;
}

export interface Outcome {
  result: RolloutResult;
  release: string;
  failure: string | null;
  /** Hosts whose own failure events (host.failed, host.prepare_failed) say why: see RolloutOutcome.failedOn. */
  failedOn: string[];
  hosts: Record<string, string | null>;
  unrestored: string[];
  /** Of `unrestored`, hosts lost as they were being switched: `hosts` names the release they may be on. */
  uncertain?: string[];
  durations: Partial<Record<Phase, number>>;
  prepared: Record<string, PrepareReport>;
  /** Stopped by Ctrl-C or SIGTERM (the release is marked `interrupted`, not bad). */
  interrupted?: boolean;
  /** What to do, when every host that failed to prepare said the same (a misspelt worker class, a wheel to add). */
  hint?: string;
  /**
   * Prepare found the config colliding with a host (CONFIG_CONFLICT: another environment's units, another app's
   * releases in deployTo): exit 2, not 5.
   */
  conflict?: boolean;
}

/** An interruption before any host was switched: exit 130, in the operator's words, not a step's. */
export function interruptedBeforeSwitching(signal: AbortSignal): ShipitError {
  const reason = signal.reason instanceof Error ? signal.reason.message : 'interrupted';
  return new ShipitError('ABORTED', `${reason} before any host was switched: nothing changed on the hosts (what was staged was removed, the lock released)`, {
    hint: 'deploy again when ready',
  });
}

/**
 * The release, under a new id when its own is taken on some host (planRename). What the lock staged under the old
 * id on the other hosts is ours and is removed (a copy that is current there is kept: discard never removes the
 * current release).
 */
async function renameIfTaken(ctx: FleetContext, release: ReleaseSpec, fleet: ReadonlyMap<string, HostReleases>): Promise<ReleaseSpec> {
  const from = release.meta.id;
  const rename = planRename(from, release.meta.createdAt, fleet);
  if (rename === null) return release;
  const { to, takenOn } = rename;
  await Promise.all([...ctx.hosts].filter(([name]) => !takenOn.includes(name)).map(([, host]) => host.discard(from)));
  ctx.emit({ type: 'release.renamed', from, to, takenOn });
  return { ...release, meta: { ...release.meta, id: to } };
}

/** The run was stopped by the operator (Ctrl-C, SIGTERM: session.ts trapSignals), not by a failure. */
export function interrupted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true && signal.reason instanceof ShipitError && signal.reason.code === 'ABORTED';
}

/** Times a phase and emits its start and end. */
export async function phase<T>(ctx: Pick<FleetContext, 'clock' | 'emit'>, durations: Outcome['durations'], name: Phase, body: () => Promise<T>): Promise<T> {
  const started = ctx.clock.now();
  ctx.emit({ type: 'phase.started', phase: name });
  try {
    return await body();
  } finally {
    durations[name] = ctx.clock.now() - started;
    ctx.emit({ type: 'phase.finished', phase: name, durationMs: durations[name]! });
  }
}

/** Every host's releases; `known` (what the hosts said when locked) saves asking them again. */
export async function inspectFleet(hosts: ReadonlyMap<string, Host>, signal?: AbortSignal, known?: ReadonlyMap<string, HostReleases>): Promise<Map<string, HostReleases>> {
  const entries = await Promise.all([...hosts].map(async ([name, host]) => [name, known?.get(name) ?? (await host.inspect(signal))] as const));
  return new Map(entries);
}

/**
 * A deploy: lock → inspect → prepare everywhere → roll batch by batch → record, prune and unlock (one step).
 * Prepare failing anywhere switches nothing anywhere and removes the partial release (result failed-restored; the
 * CLI's final message says nothing was switched).
 */
export async function deploy(ctx: FleetContext, built: ReleaseSpec): Promise<Outcome> {
  const { config, hosts, clock, emit, signal } = ctx;
  let release = built;
  const durations: Outcome['durations'] = {};
  const prepared: Record<string, PrepareReport> = {};
  const locked = await phase(ctx, durations, 'lock', () => lockFleet(hosts, ctx.lock, { env: config.environment, waitMs: ctx.lockWaitMs, clock, emit, signal, isStale: ctx.isStaleLock, release }));
  // Hosts whose last step (record) released the lock already.
  const unlocked = new Set<string>();
  try {
    const fleet = await phase(ctx, durations, 'inspect', () => inspectFleet(hosts, signal, locked));
    release = await renameIfTaken(ctx, release, fleet);
    const id = release.meta.id;
    const previous = new Map([...fleet].map(([name, state]) => [name, state.current] as const));
    const failedPrepare = await phase(ctx, durations, 'prepare', () => prepareFleet(ctx, release, prepared));
    if (failedPrepare !== null) {
      // Stopped by the operator while staging: nothing was switched, what was staged is gone (prepareFleet).
      if (interrupted(signal)) throw interruptedBeforeSwitching(signal!);
      return { result: 'failed-restored', release: id, failure: failedPrepare.failure, failedOn: failedPrepare.failedOn, hosts: Object.fromEntries(previous), unrestored: [], durations, prepared, ...(failedPrepare.hint === undefined ? {} : { hint: failedPrepare.hint }), ...(failedPrepare.conflict ? { conflict: true } : {}) };
    }
    const outcome = await phase(ctx, durations, 'rollout', () => rollFleet(ctx, id, previous, fleet, { appWarnings: true }));
    const at = new Date(clock.now()).toISOString();
    await phase(ctx, durations, 'finish', async () => {
      const good = outcome.result === 'success';
      // Stopped by the operator (Ctrl-C, a cancelled CI job): not known to be bad, so not marked so. A host lost
      // in the rollout (outcome.hostLost) still makes it bad, unlike a rollback's target (rollback.ts): a new
      // release was never proven here, and may be why the host went down.
      const state: RecordedState = good ? 'good' : interrupted(signal) ? 'interrupted' : 'bad';
      // Every host keeps the same newest bad release (planPrune), this one when it just failed.
      const lastBad = newestBad([...[...fleet.values()].map((f) => f.releases), [{ ...release.meta, state }]]);
      await Promise.allSettled(
        [...hosts].map(async ([name, host]) => {
          const entry: HistoryEntry = {
            release: id,
            at,
            by: release.meta.by,
            revision: release.meta.revision,
            action: 'deploy',
            result: outcome.result,
            previous: previous.get(name) ?? null,
            durations: { ...durations },
            ...(outcome.failure ? { error: outcome.failure } : {}),
          };
          const releases = [...fleet.get(name)!.releases.filter((r) => r.id !== id), { ...release.meta, state }];
          const prune = planPrune(releases, outcome.hosts[name] ?? null, config.keepReleases, lastBad);
          await host.record(id, state, entry, { prune, unlock: ctx.lock.token });
          unlocked.add(name);
        }),
      );
    });
    return { ...outcome, release: id, durations, prepared, interrupted: outcome.result !== 'success' && interrupted(signal) };
  } finally {
    await unlockFleet(new Map([...hosts].filter(([name]) => !unlocked.has(name))), ctx.lock.token);
  }
}

/**
 * Moves the hosts named in `previous` (the journal of what each ran before) to `release`, in the config's
 * batches, gated, reverting on failure: the rollout step of both deploy and rollback.
 */
export function rollFleet(
  ctx: FleetContext,
  release: string,
  previous: ReadonlyMap<string, string | null>,
  /** What the hosts hold (their releases' metas say which readiness path each was deployed with). */
  fleet: ReadonlyMap<string, HostReleases>,
  /** A deploy's: report the canary's start warnings (RolloutInput.appWarnings). */
  options: { appWarnings?: boolean } = {},
): Promise<RolloutOutcome> {
  const { config } = ctx;
  const names = [...previous.keys()];
  return runRollout({
    release,
    batches: planBatches(names, config.rollout),
    hosts: new Map([...ctx.hosts].filter(([name]) => previous.has(name))),
    previous,
    health: config.health,
    rollout: config.rollout,
    restartTimeoutMs: config.health.healthyDeadline,
    clock: ctx.clock,
    emit: ctx.emit,
    signal: ctx.signal,
    redact: createRedactor(sensitiveValues(config.server)),
    // The presets serve only once the app is loaded (gunicorn's workers accept after the import and uvicorn's
    // lifespan startup, the node runtime after ready()); a command of one's own may 404 while it starts (a
    // servlet container before its webapp is deployed).
    routesLoadedWhenServing: config.server.preset !== 'command',
    readiness: new Map([...fleet.values()].flatMap((f) => f.releases.flatMap((r) => (r.readiness === undefined ? [] : [[r.id, r.readiness] as const])))),
    appWarnings: options.appWarnings === true,
  });
}

/**
 * Stages the release on every host in parallel. Returns the failure (after cleaning up), with the hosts' hint
 * when they all gave the same one, or null.
 */
async function prepareFleet(ctx: FleetContext, release: ReleaseSpec, reports: Record<string, PrepareReport>): Promise<{ failure: string; failedOn: string[]; hint?: string; conflict?: boolean } | null> {
  const { hosts, clock, emit, signal } = ctx;
  const results = await Promise.allSettled(
    [...hosts].map(async ([name, host]) => {
      const started = clock.now();
      try {
        const report = await host.prepare(release, signal);
        reports[name] = report;
        emit({ type: 'host.prepared', host: name, filesSent: report.filesSent, filesReused: report.filesReused, bytesSent: report.bytesSent, durationMs: clock.now() - started, ...(report.deps ? { deps: report.deps } : {}), ...(report.withLock ? { withLock: true } : {}) });
      } catch (error) {
        emit({ type: 'host.prepare_failed', host: name, error: errorMessage(error) });
        throw error;
      }
    }),
  );
  const failed = [...hosts.keys()].flatMap((name, i) => {
    const r = results[i]!;
    return r.status === 'rejected' ? [{ name, reason: r.reason as unknown }] : [];
  });
  if (failed.length === 0) return null;
  await Promise.allSettled([...hosts.values()].map((host) => host.discard(release.meta.id)));
  const hints = new Set(results.flatMap((r) => (r.status === 'rejected' ? [r.reason instanceof ShipitError ? r.reason.hint : undefined] : [])));
  const [hint] = hints;
  const failures = failed.map(({ name, reason }) => hostMessage(name, errorMessage(reason)));
  const conflict = failed.some(({ reason }) => reason instanceof ShipitError && reason.code === 'CONFIG_CONFLICT');
  return { failure: `prepare failed: ${failures.join('; ')}`, failedOn: failed.map((f) => f.name), ...(hints.size === 1 && hint !== undefined ? { hint } : {}), ...(conflict ? { conflict } : {}) };
}
