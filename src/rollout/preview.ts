import type { ResolvedConfig } from '../config/types.js';
import type { DryRunStep, EnvChange, Host, HostState, LockInfo, PrepareReport, ReleaseSpec } from '../host/types.js';
import { errorMessage } from '../lib/error-message.js';
import { ShipitError, type ErrorCode } from '../lib/errors.js';
import { unifiedDiff } from '../lib/line-diff.js';
import { SYSTEMD_DIR } from '../remote/scripts.js';
import { describeLock } from './lock.js';
import { newestBad, planBatches, planPrune, planRename } from './plan.js';

/**
 * What a deploy would do, without doing it (`shipit plan`, `shipit deploy --dry-run`). The hosts must be in
 * dry-run mode (SshHost with `dryRun`): their mutating steps hand over the exact command instead of running it,
 * while read-only ones (inspect, the prerequisite check with the base release's manifest, the installed units and
 * which env and secret names would change) run, so the plan knows what would be sent and what each unit file would become. This walks the steps of a
 * successful deploy in order (lock, prepare, each batch, finish, unlock) and then the revert a failure would run.
 */
export type PreviewPhase = 'inspect' | 'lock' | 'prepare' | 'rollout' | 'finish' | 'revert';

export interface PreviewStep extends DryRunStep {
  phase: PreviewPhase;
  /** Rollout batch (1-based) for phase 'rollout'. */
  batch?: number;
  /** Ran now (read-only); otherwise recorded only. */
  readOnly: boolean;
  durationMs?: number;
}

/** Collects the steps of a dry run, tagged with the phase that was running when each was handed over. */
export class DryRunRecorder {
  readonly steps: PreviewStep[] = [];
  private phase: PreviewPhase = 'inspect';
  private batch: number | undefined;

  begin(phase: PreviewPhase, batch?: number): void {
    this.phase = phase;
    this.batch = batch;
  }

  /** For SshHostOptions.dryRun: a mutating step, not run. */
  readonly record = (step: DryRunStep): void => {
    this.steps.push({ ...step, phase: this.phase, ...(this.batch ? { batch: this.batch } : {}), readOnly: false });
  };

  /** For SshHostOptions.onCommand: a read-only step that ran. */
  readonly ran = (info: { host: string; label: string; command: string; durationMs: number }): void => {
    this.steps.push({ host: info.host, label: info.label, command: info.command, stdin: null, phase: this.phase, readOnly: true, durationMs: info.durationMs });
  };
}

export interface UnitChange {
  name: string;
  path: string;
  change: 'new' | 'changed' | 'unchanged';
  /** Unified diff installed → rendered ('' when unchanged). */
  diff: string;
}

export interface HostPreview {
  host: string;
  current: string | null;
  /** The service as it is now (null: the host could not be read): stopped by hand, or running another release than `current`. */
  service: { active: string; sub: string; runs: string | null } | null;
  lock: LockInfo | null;
  /** What prepare would send and reuse; null when the check failed (see blockers). */
  files: { sent: number; reused: number; sentPaths: string[]; base: string | null; alreadyStaged: boolean } | null;
  units: UnitChange[];
  /** Variables of shared/env and shared/secrets.env the deploy would add, change or remove (names only); null when the host could not be read. */
  env: EnvChange[] | null;
  /** Releases the finish step would prune after success. */
  prune: string[];
}

export interface Blocker {
  host: string;
  code: ErrorCode;
  message: string;
}

export interface DeployPreview {
  release: string;
  batches: string[][];
  hosts: HostPreview[];
  steps: PreviewStep[];
  /** Why the deploy would fail before changing anything (lock held, prerequisite missing, host unreadable). */
  blockers: Blocker[];
}

export interface PreviewContext {
  config: ResolvedConfig;
  /** Hosts in dry-run mode, recording into `recorder`. */
  hosts: ReadonlyMap<string, Host>;
  recorder: DryRunRecorder;
  lock: LockInfo;
  signal?: AbortSignal;
}

export async function previewDeploy(ctx: PreviewContext, built: ReleaseSpec): Promise<DeployPreview> {
  const { config, hosts, recorder, signal } = ctx;
  let release = built;
  const names = [...hosts.keys()];
  const blockers: Blocker[] = [];
  const block = (host: string, error: unknown) =>
    blockers.push({ host, code: error instanceof ShipitError ? error.code : 'INTERNAL', message: errorMessage(error) });

  recorder.begin('inspect');
  const unitNames = release.units.map((u) => u.name);
  const seen = await Promise.all(
    names.map(async (name) => {
      const host = hosts.get(name)!;
      try {
        const [state, installed] = await Promise.all([host.inspect(signal), host.installed({ units: unitNames, env: { env: release.env, secrets: release.secrets } }, signal)]);
        return { state, ...installed };
      } catch (error) {
        block(name, error);
        return null;
      }
    }),
  );
  const fleet = new Map<string, HostState>();
  seen.forEach((s, i) => s && fleet.set(names[i]!, s.state));
  for (const [name, state] of fleet) {
    if (state.lock) block(name, new ShipitError('LOCK_HELD', `${name}: deploy lock held by ${describeLock(state.lock)}`));
  }
  // An id taken on a host (a deploy built in the same second): the deploy goes out under the next one, so does this.
  const rename = planRename(release.meta.id, release.meta.createdAt, fleet);
  if (rename !== null) release = { ...release, meta: { ...release.meta, id: rename.to } };
  const id = release.meta.id;

  recorder.begin('lock');
  for (const name of names) await hosts.get(name)!.lock(ctx.lock);

  recorder.begin('prepare');
  const reports = new Map<string, PrepareReport>();
  for (const name of names) {
    if (!fleet.has(name)) continue;
    try {
      reports.set(name, await hosts.get(name)!.prepare(release, signal));
    } catch (error) {
      block(name, error);
    }
  }

  const batches = planBatches(names, config.rollout);
  for (const [index, batch] of batches.entries()) {
    recorder.begin('rollout', index + 1);
    for (const name of batch) await hosts.get(name)!.activate(id, { timeoutMs: config.health.healthyDeadline, signal });
  }

  recorder.begin('finish');
  const prunes = new Map<string, string[]>();
  const at = new Date().toISOString();
  const lastBad = newestBad([...fleet.values()].map((f) => f.releases));
  for (const name of names) {
    const host = hosts.get(name)!;
    const state = fleet.get(name);
    const releases = [...(state?.releases.filter((r) => r.id !== id) ?? []), { ...release.meta, state: 'good' as const }];
    const prune = planPrune(releases, id, config.keepReleases, lastBad);
    prunes.set(name, prune);
    // One step, as a deploy runs it: mark, prune, and release this run's lock.
    await host.record(id, 'good', {
      release: id,
      at,
      by: release.meta.by,
      revision: release.meta.revision,
      action: 'deploy',
      result: 'success',
      previous: state?.current ?? null,
      durations: {},
    }, { prune, unlock: ctx.lock.token });
  }

  recorder.begin('revert');
  for (const name of names) {
    if (fleet.has(name)) await hosts.get(name)!.activate(fleet.get(name)!.current, { timeoutMs: config.health.healthyDeadline, signal });
  }

  const hostPreviews = names.map((name, i): HostPreview => {
    const state = fleet.get(name);
    const report = reports.get(name);
    const installed = seen[i]?.units ?? [];
    return {
      host: name,
      current: state?.current ?? null,
      service: state ? { active: state.service.active, sub: state.service.sub, runs: state.service.runs ?? null } : null,
      lock: state?.lock ?? null,
      files: report
        ? { sent: report.filesSent, reused: report.filesReused, sentPaths: report.sentPaths ?? [], base: report.base, alreadyStaged: report.alreadyStaged }
        : null,
      units: release.units.map((unit) => unitChange(unit.name, installed.find((u) => u.name === unit.name)?.content ?? null, unit.content)),
      env: seen[i]?.env ?? null,
      prune: prunes.get(name) ?? [],
    };
  });
  return { release: id, batches, hosts: hostPreviews, steps: recorder.steps, blockers };
}

export function unitChange(name: string, installed: string | null, rendered: string): UnitChange {
  const path = `${SYSTEMD_DIR}/${name}`;
  if (installed === rendered) return { name, path, change: 'unchanged', diff: '' };
  return {
    name,
    path,
    change: installed === null ? 'new' : 'changed',
    diff: unifiedDiff(installed ?? '', rendered, { before: installed === null ? '/dev/null' : `${path} (installed)`, after: `${path} (this release)` }),
  };
}
