import type { Layout } from '../remote/layout.js';
import type { StagePlan } from '../remote/scripts.js';
import * as scripts from '../remote/scripts.js';
import { pruneDepsScript } from '../remote/deps-scripts.js';
import { removalScript } from '../remote/remove-scripts.js';
import { ensureDeps } from './deps.js';
import type { DepsReport } from './deps-types.js';
import { fileManifestCache, sha256Hex, type ManifestCache } from './manifest-cache.js';
import { WARM_SHELL_DEADLINE_MS, WarmShell } from './warm-shell.js';
import { envChangesInput, parseEnvChanges } from './env-changes.js';
import type { ExecOptions, ExecResult, Transport } from '../ssh/transport.js';
import { NotSentError, ShipitError } from '../lib/errors.js';
import { cutAppLine } from '../lib/app-reason.js';
import { gunzipSync } from 'node:zlib';
import { PassThrough, type Readable } from 'node:stream';
import {
  manifestDelta,
  type ManifestDelta,
  parseElsewhere,
  parseJournal,
  parseLock,
  parseReleases,
  parseRemoval,
  parseServiceLines,
  parseUnitFiles,
  splitTagged,
} from './parse.js';
import type {
  ActivateOptions,
  DryRunStep,
  HistoryEntry,
  Host,
  HostReleases,
  HostState,
  EnvFiles,
  Installed,
  JournalBatch,
  JournalQuery,
  LockInfo,
  LockResult,
  PrepareReport,
  RecordAfter,
  ReleaseSpec,
  ProbeResponse,
  ServiceState,
  RecordedState,
  RemovalReport,
} from './types.js';

export interface SshHostOptions {
  layout: Layout;
  sshUser: string;
  /** The app's port on the host, for readiness probes through the SSH connection. */
  port: number;
  commandTimeoutMs: number;
  /**
   * Called after every remote command and probe (for --verbose): a label, the duration, and the exit code
   * (for a probe: the HTTP status, or -1 when it got no answer).
   */
  onCommand?: (info: CommandInfo) => void;
  /**
   * Dry run (`shipit plan`, `deploy --dry-run`): steps that change the host are handed here, with the exact
   * command line they would run, instead of being executed; read-only steps (inspect, the prerequisite check,
   * the journal, installed units, probes) still run. Nothing on the host changes.
   */
  dryRun?: (step: DryRunStep) => void;
  /**
   * Keep a warm shell (WarmShell) ready for the next step after a lock, a prepare and an activation: for the
   * commands that go on to switch hosts (deploy, rollback). Never in a dry run.
   */
  warmShells?: boolean;
  /** Manifests the deployer already has (default: the user's cache dir); null = none, always ask the host. */
  manifests?: ManifestCache | null;
  /**
   * The SSH destination as the user configured it (user, address, port, jumps): under it the manifest cache
   * remembers what this deployer last made the host run, so that the next deploy can stage in its lock command.
   */
  destination?: string;
}

export interface CommandInfo {
  host: string;
  kind: 'command' | 'probe';
  label: string;
  command: string;
  durationMs: number;
  code: number;
  /** A probe's response body (unredacted: whoever prints it redacts it, see describeCommand). */
  body?: string;
  /** Ran in a warm shell started before it (see WarmShell). */
  warm?: boolean;
}

/** One remote step: a script run as root, and what a dry run needs to know about it. */
interface Step {
  label: string;
  body: string;
  /** Changes the host: skipped (recorded) in a dry run. */
  mutates: boolean;
  /** A stream is given as a thunk, so that a dry run never opens it (e.g. never spawns the release tar). */
  stdin?: string | Buffer | (() => NonNullable<ExecOptions['stdin']>);
  /** How a dry run shows the stdin (default: its text). Must not contain secret values. */
  stdinNote?: string;
  /** What a dry run pretends the step printed, so the caller goes on as if it had run. */
  dryStdout?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Exit codes that are not failures ('any': the caller reads the code itself). */
  allow?: number[] | 'any';
  /** How each line of a failed step's output reads in its error (default: as it is). */
  failedLine?: (line: string) => string;
}

let defaultManifests: ManifestCache | undefined;

const SUDO_DENIED = /sudo: (a password is required|a terminal is required|.*is not allowed|.*not in the sudoers)/;

/** The Host interface over one SSH connection: each method is one or a few remote scripts (src/remote). */
export class SshHost implements Host {
  constructor(
    readonly name: string,
    private readonly transport: Transport,
    private readonly options: SshHostOptions,
  ) {}

  /** What the host said when this run locked it: prepare's starting point (nothing changes under our lock). */
  private locked: HostReleases | undefined;
  /** What the lock command staged (or how that failed): prepare's result, unless unlock discards it first. */
  private staged: { id: string; delta: ManifestDelta; base: string | null; bytesBefore: number } | { id: string; error: unknown } | undefined;
  /** Manifest sha256 of releases seen in this run (locked as current, or staged): what setRunning records. */
  private readonly manifestOf = new Map<string, string>();
  /** Started for the next step (options.warmShells), or null. */
  private warmShell: WarmShell | null = null;
  private closed = false;
  /** This run holds the host's lock (see holdingLock). */
  private holding = false;

  private get manifestCache(): ManifestCache | null {
    if (this.options.manifests !== undefined) return this.options.manifests;
    return (defaultManifests ??= fileManifestCache());
  }

  get bytesSent(): number {
    return this.transport.bytesSent;
  }

  /**
   * Bytes of secrets.env handed to the connection so far. A prepare reports what it sent without them
   * (wireBytes): on a redeploy that sends no file the count is little else, so anyone who knows the scripts'
   * sizes could read the secrets' length off the `N B on the wire` line or the host.prepared event.
   */
  private secretBytesSent = 0;

  private wireBytes(): number {
    return this.transport.bytesSent - this.secretBytesSent;
  }

  /** `secrets` as a step's stdin, counted in secretBytesSent when the step hands it to the connection. */
  private secretsStdin(secrets: string, rest: () => Readable | Buffer = () => Buffer.alloc(0)): () => Readable | Buffer {
    return () => {
      const head = Buffer.from(scripts.secretsInput(secrets));
      this.secretBytesSent += head.length;
      const tail = rest();
      return Buffer.isBuffer(tail) ? Buffer.concat([head, tail]) : prefixed(head, tail);
    };
  }

  /** Runs a step as root; rejects with a ShipitError naming the host when it exits non-zero (unless allowed). */
  private async run(step: Step): Promise<ExecResult> {
    const { label } = step;
    const command = scripts.privileged(step.body, this.options.sshUser);
    if (step.mutates && this.options.dryRun) {
      const stdin = step.stdinNote ?? (typeof step.stdin === 'string' ? step.stdin : step.stdin === undefined ? null : '(binary data)');
      this.options.dryRun({ host: this.name, label, command, stdin });
      return { code: 0, stdout: step.dryStdout ?? '', stderr: '' };
    }
    // Lost before it was sent: the host never saw it (a switch not sent needs no revert, runRollout).
    const lost = this.transport.failure?.();
    if (lost) throw new NotSentError(lost, this.name);
    const stdin = typeof step.stdin === 'function' ? step.stdin() : step.stdin;
    const timeoutMs = step.timeoutMs ?? this.options.commandTimeoutMs;
    const warm = this.takeWarmShell(timeoutMs);
    const started = performance.now();
    const running = warm
      ? warm.run(step.body, stdin, { timeoutMs, signal: step.signal, command })
      : this.transport.exec(command, {
          timeoutMs,
          ...(stdin === undefined ? {} : { stdin }),
          ...(step.signal ? { signal: step.signal } : {}),
        });
    // The next step's shell starts while this one runs (a gate round, the finish, a revert follow).
    this.warmUp();
    const result = await running;
    this.options.onCommand?.({
      host: this.name,
      kind: 'command',
      label,
      command,
      durationMs: performance.now() - started,
      code: result.code,
      ...(warm ? { warm: true } : {}),
    });
    if (SUDO_DENIED.test(result.stderr)) {
      throw new ShipitError('SUDO_DENIED', `${this.name}: ${this.options.sshUser} may not run privileged steps with sudo without a password`, {
        host: this.name,
        hint: `add a sudoers rule on the host, e.g. /etc/sudoers.d/shipit: "${this.options.sshUser} ALL=(root) NOPASSWD: /bin/sh"`,
      });
    }
    if (step.allow !== 'any' && !(step.allow ?? [0]).includes(result.code)) throw this.failed(label, result, step.failedLine);
    return result;
  }

  /** The warm shell, if one is waiting and the step (bound by `timeoutMs`; none: no) fits its deadline. */
  private takeWarmShell(timeoutMs: number): WarmShell | null {
    const warm = this.warmShell;
    this.warmShell = null;
    if (warm === null) return null;
    if (timeoutMs > 0 && warm.fits(timeoutMs)) return warm;
    void warm.close();
    return null;
  }

  /**
   * Between taking the lock and releasing it, a run that switches hosts (options.warmShells) has a warm shell
   * waiting for the host's next step: the stage, the activation, each gate round's state, the finish or a
   * revert. After a lock that also staged the release, from prepare on: the fleet's other hosts are still
   * running their lock commands then, and on hosts that share CPUs (the lab) starting shells beside them made
   * the lock phase ~50 ms longer.
   */
  private holdingLock(): void {
    this.holding = true;
  }

  /** The step that releases the lock is the last: none waits after it. */
  private releasingLock(): void {
    this.holding = false;
  }

  private warmUp(): void {
    if (!this.holding || !this.options.warmShells || this.options.dryRun || this.warmShell !== null || this.closed) return;
    // Steps without a time limit, or with one beyond a warm shell's deadline, run cold: none would be used.
    const { commandTimeoutMs } = this.options;
    if (!(commandTimeoutMs > 0 && commandTimeoutMs < WARM_SHELL_DEADLINE_MS)) return;
    this.warmShell = new WarmShell(this.transport, this.options.sshUser);
  }

  private closeWarmShell(): void {
    void this.warmShell?.close();
    this.warmShell = null;
  }

  private failed(label: string, result: ExecResult, line: (text: string) => string = (text) => text): ShipitError {
    const detail = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-5).map(line).join(' | ');
    return new ShipitError('REMOTE_FAILED', `${this.name}: ${label} failed (exit ${result.code})${detail ? `: ${detail}` : ''}`, { host: this.name });
  }

  async inspect(signal?: AbortSignal): Promise<HostState> {
    const { stdout } = await this.run({ label: 'inspect', body: scripts.inspectScript(this.options.layout), mutates: false, signal });
    return parseInspect(stdout);
  }

  async lock(info: LockInfo, release?: ReleaseSpec, signal?: AbortSignal): Promise<LockResult> {
    const guess = release === undefined ? null : await this.guessBase(release);
    if (release === undefined || guess === null) {
      const { stdout } = await this.run({ label: 'lock', body: scripts.lockScript(this.options.layout), mutates: true, stdin: JSON.stringify(info), dryStdout: 'acquired\n' });
      const locked = this.lockResult(stdout, info);
      if (locked.acquired) {
        this.holdingLock();
        // A lock that staged nothing is short on every host, and its next step follows at once (rollback's
        // activations have no prepare before them).
        this.warmUp();
        // Local bookkeeping, after the warm shell is on its way.
        await this.retainKept();
      }
      return locked;
    }
    // The lock and the stage in one command (lockScript's `then`), from the base this host was left running.
    const id = release.meta.id;
    const bytesBefore = this.wireBytes();
    const checks = { prerequisites: release.prerequisites, diskKiB: Math.ceil(release.diskBytes / 1024), current: guess.current };
    const staging = this.stagePlan(release, guess.base, guess.baseLines, checks);
    const infoJson = Buffer.from(JSON.stringify(info));
    const result = await this.run({
      label: `lock, stage ${id}`,
      body: scripts.lockScript(this.options.layout, { id, plan: { ...staging.plan, checks }, infoBytes: infoJson.length }),
      mutates: true,
      allow: 'any',
      stdin: () => {
        const rest = staging.stdin();
        return Buffer.isBuffer(rest) ? Buffer.concat([infoJson, rest]) : prefixed(infoJson, rest);
      },
      signal,
    }).catch((error: unknown) => {
      // Aborted or cut off midway: the lock may be ours and a partial stage there; unlock removes both.
      this.staged = { id, error };
      throw error;
    });
    // Neither taken nor held: the lock itself failed (its own words are on stderr).
    if (!/^(acquired|held)\n/.test(result.stdout)) throw this.failed('lock', result);
    const at = result.stdout.search(/^staging$/m);
    const locked = this.lockResult(at < 0 ? result.stdout : result.stdout.slice(0, at), info);
    if (!locked.acquired) return locked;
    this.holdingLock();
    await this.retainKept();
    if (at < 0) {
      // `exists`: the release's name is taken there (prepare's ordinary path says what to do); anything else
      // failed before the stage began, with the lock taken.
      if (result.code !== 0 || !/^exists$/m.test(result.stdout)) this.staged = { id, error: this.failed('lock', result) };
      return locked;
    }
    const stage = { ...result, stdout: result.stdout.slice(at + 'staging\n'.length) };
    try {
      const delta = await this.stageResult(stage, staging, guess.base, true);
      if (delta !== null) this.staged = { id, delta, base: guess.base, bytesBefore };
    } catch (error) {
      this.staged = { id, error };
    }
    return locked;
  }

  /**
   * Keeps the cached manifests of what the host keeps (not the bad ones: no rollback returns there) from being
   * pruned: a rollback may move the host to any of them, and the next deploy then stages on it with its lock.
   */
  private async retainKept(): Promise<void> {
    const kept = this.locked?.releases.filter((r) => r.state !== 'bad').map((r) => r.id) ?? [];
    if (kept.length > 0 && !this.options.dryRun) await this.manifestCache?.retain(this.options.layout.app, kept);
  }

  /** What lockScript printed up to its stage: `acquired` and the host's releases, or `held` and the holder. */
  private lockResult(stdout: string, info: LockInfo): LockResult {
    const [first, ...rest] = stdout.split('\n');
    // A dry run prints `acquired` alone: the state is then read by inspect.
    if (first === 'acquired') {
      this.locked = rest.some((line) => line.startsWith('current\t')) ? { ...parseReleasesState(splitTagged(rest.join('\n'))), lock: info } : undefined;
      if (this.locked?.current && this.locked.currentManifest) this.manifestOf.set(this.locked.current, this.locked.currentManifest);
      return this.locked ? { acquired: true, state: this.locked } : { acquired: true };
    }
    if (first === 'held') return { acquired: false, holder: parseLock(rest.join('\n').trim())! };
    throw new ShipitError('REMOTE_FAILED', `${this.name}: lock printed ${JSON.stringify(first)}, not acquired or held`, { host: this.name });
  }

  /**
   * The base to stage on in the lock command: the release this deployer last made the host run, when its
   * manifest is in the cache. Never for a dry run. Wrong guesses cost the bytes sent: the stage's checks find
   * the host's current release not the guessed one and write nothing (prepare then stages as usual).
   */
  private async guessBase(release: ReleaseSpec): Promise<{ base: string; baseLines: string[]; current: { release: string; manifest: string } } | null> {
    const manifests = this.manifestCache;
    const { destination } = this.options;
    if (this.options.dryRun || !manifests || destination === undefined) return null;
    const running = await manifests.running(this.options.layout.app, destination);
    if (running === null || running.release === release.meta.id) return null;
    const text = await manifests.read(this.options.layout.app, running.release, running.sha256);
    if (text === null) return null;
    return { base: running.release, baseLines: manifestLines(text), current: { release: running.release, manifest: running.sha256 } };
  }

  async unlock(token: string, options: { force?: boolean } = {}): Promise<LockInfo | null> {
    // Staged by the lock command, then never deployed (another host was locked, or the deploy stopped).
    const staged = this.staged;
    this.staged = undefined;
    if (staged !== undefined) await this.discard(staged.id).catch(() => undefined);
    this.releasingLock();
    const result = await this.run({ label: 'unlock', body: scripts.unlockScript(this.options.layout, token, options.force ?? false), mutates: true, allow: [0, 3] });
    const info = result.stdout.trim() ? parseLock(result.stdout.trim()) : null;
    if (result.code === 3) {
      throw new ShipitError('LOCK_HELD', `${this.name}: the lock is held by ${info?.by ?? 'someone else'}, not by this run`, {
        host: this.name,
        hint: 'pass --force to release someone else\'s lock',
      });
    }
    return info;
  }

  async prepare(release: ReleaseSpec, signal?: AbortSignal): Promise<PrepareReport> {
    this.warmUp();
    const { layout } = this.options;
    const id = release.meta.id;
    // Staged by the lock command already (or failed there).
    const early = this.staged;
    this.staged = undefined;
    if (early?.id === id) {
      this.locked = undefined;
      if ('error' in early) throw early.error;
      return { ...(await this.prepared(release, early.delta, early.base, early.bytesBefore, signal)), withLock: true };
    }
    const bytesBefore = this.wireBytes();
    const diskKiB = Math.ceil(release.diskBytes / 1024);
    // Known from the lock: the check runs inside the stage command (one round trip less per host).
    const known = await this.baseFromLock(release);
    if (known) {
      const checks = { prerequisites: release.prerequisites, diskKiB, current: known.current };
      const staged = await this.stage(release, known.base, known.baseLines, signal, checks);
      if (staged !== null) return this.prepared(release, staged, known.base, bytesBefore, signal);
    }
    const check = await this.checkAndReadBase(release, diskKiB, signal);
    if (check.alreadyStaged) {
      await this.run({
        label: 'write the release env and secrets',
        body: scripts.releaseEnvScript(layout, id, release.env),
        mutates: true,
        stdin: () => {
          this.secretBytesSent += Buffer.byteLength(release.secrets);
          return release.secrets;
        },
        stdinNote: secretsNote(release.secrets),
        signal,
      });
      return { filesSent: 0, filesReused: release.files.length, bytesSent: this.wireBytes() - bytesBefore, base: check.base, alreadyStaged: true, sentPaths: [] };
    }
    const base = check.base === id ? null : check.base;
    const staged = (await this.stage(release, base, check.baseLines, signal))!;
    return this.prepared(release, staged, check.base, bytesBefore, signal);
  }

  /**
   * The base for a release when the lock told us everything the check would: the host's current release and
   * its manifest's sha256, with that manifest in our cache (or no current release at all). Only once per lock,
   * never for a dry run (the check must run there: it is what a dry run shows) or a release already there.
   */
  private async baseFromLock(release: ReleaseSpec): Promise<{ base: string | null; baseLines: string[]; current: { release: string; manifest: string } | null } | null> {
    const state = this.locked;
    this.locked = undefined;
    if (!state || this.options.dryRun || state.releases.some((r) => r.id === release.meta.id)) return null;
    if (state.current === null) return { base: null, baseLines: [], current: null };
    const manifests = this.manifestCache;
    if (!state.currentManifest || !manifests) return null;
    const text = await manifests.read(this.options.layout.app, state.current, state.currentManifest);
    if (text === null) return null;
    return { base: state.current, baseLines: manifestLines(text), current: { release: state.current, manifest: state.currentManifest } };
  }

  /**
   * Sends what `base` lacks and stages the release (stageScript); null when `checks` found the host's current
   * release not the one assumed (nothing was changed then).
   */
  private async stage(
    release: ReleaseSpec,
    base: string | null,
    baseLines: string[],
    signal: AbortSignal | undefined,
    checks?: StagePlan['checks'],
  ): Promise<ManifestDelta | null> {
    const staging = this.stagePlan(release, base, baseLines, checks);
    const stage = await this.run({
      label: 'stage',
      body: scripts.stageScript(this.options.layout, release.meta.id, staging.plan),
      mutates: true,
      allow: checks ? [0, 3, scripts.STAGE_BASE_CHANGED] : [0, 3],
      stdin: staging.stdin,
      stdinNote: staging.stdinNote,
      dryStdout: `manifest\t${staging.expectedSha}\n`,
      signal,
    });
    return this.stageResult(stage, staging, base, checks !== undefined);
  }

  /** What a stage of `release` on `base` sends (one stdin: secrets, manifest lines, then the tar) and expects. */
  private stagePlan(release: ReleaseSpec, base: string | null, baseLines: string[], checks?: StagePlan['checks']) {
    const delta = manifestDelta(release.files, base === null ? [] : baseLines);
    const head = Buffer.from(delta.drop + delta.sent);
    const tarBytes = delta.send.reduce((sum, f) => sum + f.size, 0);
    const plan: StagePlan = {
      env: release.env,
      base: delta.reuse > 0 ? base : null,
      dropBytes: Buffer.byteLength(delta.drop),
      sentBytes: Buffer.byteLength(delta.sent),
      sentFiles: delta.send.length,
      inodes: stageInodes(release, delta.send.length),
      // Dependency sets are linked into the staged release before it becomes visible.
      finalize: release.deps ? null : { metaJson: JSON.stringify({ ...release.meta, state: 'staged' }), units: release.units },
      ...(checks ? { checks } : {}),
    };
    return {
      id: release.meta.id,
      delta,
      expectedSha: sha256Hex(delta.manifest),
      plan,
      stdin: this.secretsStdin(release.secrets, () => (delta.send.length > 0 ? prefixed(head, release.openTar(delta.send.map((f) => f.path))) : head)),
      stdinNote: [
        secretsNote(release.secrets),
        `${delta.dropCount} path(s) of ${base ?? 'no base'} not reused`,
        `manifest lines of ${delta.send.length} file(s) sent`,
        `gzipped tar of ${delta.send.length} file(s), ${tarBytes} bytes before compression; ${delta.reuse} file(s) linked from ${base ?? 'no base'}`,
      ].join('; '),
    };
  }

  /** The stage's exit and output read: the delta staged, null for a base that changed, or a ShipitError. */
  private async stageResult(stage: ExecResult, staging: ReturnType<SshHost['stagePlan']>, base: string | null, checked: boolean): Promise<ManifestDelta | null> {
    // The checks' own exits say so on stdout; any other command of the script may exit 3 or 5 as well.
    // Also unchecked: the stage checks free inodes itself, knowing how many files it sends.
    if (stage.code === 3 && /^prereq: /m.test(stage.stdout)) throw prerequisitesMissing(this.name, stage.stdout);
    if (checked && stage.code === scripts.STAGE_BASE_CHANGED && /^base changed$/m.test(stage.stdout)) return null;
    if (stage.code !== 0) throw this.failed('stage', stage);
    const staged = splitTagged(stage.stdout).get('manifest')?.[0];
    if (staged !== staging.expectedSha) {
      throw new ShipitError('REMOTE_FAILED', `${this.name}: the manifest staged on the host (sha256 ${staged ?? 'missing'}) is not the release's (${staging.expectedSha})`, {
        host: this.name,
        hint: `the base release ${base ?? ''} may have been modified on the host; deploy again to send every file`,
      });
    }
    if (!this.options.dryRun) {
      this.manifestOf.set(staging.id, staging.expectedSha);
      await this.manifestCache?.put(this.options.layout.app, staging.id, staging.delta.manifest);
    }
    return staging.delta;
  }

  /** After staging: dependency sets linked in and the release finalized, when it has any; the report. */
  private async prepared(release: ReleaseSpec, delta: ManifestDelta, base: string | null, bytesBefore: number, signal: AbortSignal | undefined): Promise<PrepareReport> {
    const { layout } = this.options;
    const id = release.meta.id;
    let deps: DepsReport[] | undefined;
    if (release.deps) {
      deps = await ensureDeps((step) => this.run(step), release.deps, { host: this.name, layout, id, signal, dryRun: !!this.options.dryRun });
      await this.run({
        label: 'finalize',
        body: scripts.finalizeScript(layout, id, JSON.stringify({ ...release.meta, state: 'staged' }), release.units),
        mutates: true,
        signal,
      });
    }
    return {
      filesSent: delta.send.length,
      filesReused: delta.reuse,
      bytesSent: this.wireBytes() - bytesBefore,
      base,
      alreadyStaged: false,
      sentPaths: delta.send.map((f) => f.path),
      ...(deps ? { deps } : {}),
    };
  }

  /**
   * The prerequisite check, which also names the base release and its manifest's sha256; the manifest's text
   * comes from the deployer's cache when it has that exact one, else from the host (gzipped).
   */
  private async checkAndReadBase(release: ReleaseSpec, diskKiB: number, signal: AbortSignal | undefined): Promise<{ alreadyStaged: boolean; base: string | null; baseLines: string[] }> {
    const { layout } = this.options;
    const manifests = this.manifestCache;
    for (let attempt = 0; ; attempt++) {
      const known = attempt === 0 && manifests ? await manifests.known(layout.app) : [];
      const check = await this.run({
        label: 'check prerequisites',
        body: scripts.checkScript(layout, release.meta.id, release.prerequisites, diskKiB, known),
        mutates: false,
        signal,
        allow: [0, 3],
      });
      if (check.code === 3) throw prerequisitesMissing(this.name, check.stdout);
      const lines = check.stdout.split('\n');
      const alreadyStaged = lines[0] === 'staged';
      const baseAt = lines.findIndex((l) => l.startsWith('base '));
      if (baseAt < 0) return { alreadyStaged, base: null, baseLines: [] };
      const [, base, sha] = lines[baseAt]!.split(' ');
      const sent = lines[baseAt + 1] ?? '';
      let text: string | null;
      if (sent !== '') {
        text = gunzipSync(Buffer.from(sent, 'base64')).toString('utf8');
        if (sha256Hex(text) !== sha) throw new ShipitError('REMOTE_FAILED', `${this.name}: the manifest of ${base} arrived damaged`, { host: this.name });
        if (manifests && !this.options.dryRun) await manifests.put(layout.app, base!, text);
      } else {
        // Known to the deployer: read it from the cache (gone since it was listed: ask the host once more).
        text = manifests ? await manifests.read(layout.app, base!, sha!) : null;
        if (text === null) {
          if (attempt === 0) continue;
          throw new ShipitError('REMOTE_FAILED', `${this.name}: no manifest for the base release ${base}`, { host: this.name });
        }
      }
      return { alreadyStaged, base: base!, baseLines: manifestLines(text) };
    }
  }

  async discard(id: string): Promise<void> {
    // A set built for the discarded release (on a host whose prepare passed) is used by no kept release.
    // One command: the second script's preamble only sets the same variables again.
    await this.run({ label: 'discard, prune unused dependency sets', body: `${scripts.discardScript(this.options.layout, id)}\n${pruneDepsScript(this.options.layout)}`, mutates: true });
  }

  async activate(id: string | null, options: ActivateOptions): Promise<ServiceState | null> {
    const body = id === null ? scripts.deactivateScript(this.options.layout) : scripts.activateScript(this.options.layout, id, options.timeoutMs);
    const redact = options.redact ?? ((text: string) => text);
    const { stdout } = await this.run({
      label: id === null ? 'deactivate' : `activate ${id}`,
      body,
      mutates: true,
      timeoutMs: options.timeoutMs,
      signal: options.signal,
      // why() sends the app's lines long (APP_REASON.hostChars): redacted here, then cut to what is shown.
      failedLine: (line) => (line.startsWith('app: ') ? `app: ${cutAppLine(line.slice('app: '.length), redact)}` : line),
    });
    await this.rememberRunning(id);
    const svc = splitTagged(stdout).get('svc');
    // A dry run prints nothing: the caller then reads the state itself.
    return id === null || svc === undefined ? null : parseServiceLines(svc);
  }

  async probe(path: string, options: { timeoutMs: number; signal?: AbortSignal; port?: number }): Promise<ProbeResponse> {
    const port = options.port ?? this.options.port;
    const started = performance.now();
    const report = (code: number, body?: string) =>
      this.options.onCommand?.({
        host: this.name,
        kind: 'probe',
        label: `GET 127.0.0.1:${port}${path}`,
        command: `GET ${path}`,
        durationMs: performance.now() - started,
        code,
        ...(body === undefined ? {} : { body }),
      });
    try {
      const response = await this.transport.httpGet(port, path, options);
      report(response.status, response.body);
      return response;
    } catch (error) {
      report(-1);
      throw error;
    }
  }

  async journal(query: JournalQuery, signal?: AbortSignal): Promise<JournalBatch> {
    const { stdout } = await this.run({ label: 'journal', body: scripts.journalScript(this.options.layout, query), mutates: false, signal });
    return parseJournal(stdout, query.afterCursor === undefined && query.lines !== undefined);
  }

  async installed(query: { units: readonly string[]; env?: EnvFiles }, signal?: AbortSignal): Promise<Installed> {
    const { layout } = this.options;
    const { env } = query;
    // One command: the env comparison rides on the read plan makes anyway (each script's preamble only sets the same variables again).
    const { stdout } = await this.run({
      label: env ? 'installed units, env changes' : 'installed units',
      body: [scripts.unitFilesScript(layout, query.units), ...(env ? [scripts.envChangesScript(layout)] : [])].join('\n'),
      mutates: false,
      ...(env ? { stdin: envChangesInput(env) } : {}),
      signal,
    });
    return { units: parseUnitFiles(stdout, query.units), env: env ? parseEnvChanges(stdout) : [] };
  }

  async service(signal?: AbortSignal): Promise<ServiceState> {
    const { stdout } = await this.run({ label: 'service state', body: scripts.serviceScript(this.options.layout), mutates: false, signal });
    return parseServiceLines(splitTagged(stdout).get('svc') ?? []);
  }

  async record(id: string, state: RecordedState, history: HistoryEntry | null, after: RecordAfter = {}): Promise<void> {
    const { layout } = this.options;
    const prune = after.prune ?? [];
    const body = [
      scripts.recordScript(layout, id, state, history === null ? null : JSON.stringify(history), prune),
      // Each script's preamble only sets the same variables again.
      ...(prune.length > 0 ? [pruneDepsScript(layout)] : []),
      ...(after.unlock !== undefined ? [scripts.releaseOwnLockScript(layout, after.unlock)] : []),
    ].join('\n');
    const label = [`mark ${id} ${state}`, ...(prune.length > 0 ? [`prune ${prune.join(' ')}, unused dependency sets`] : []), ...(after.unlock !== undefined ? ['unlock'] : [])].join(', ');
    if (after.unlock !== undefined) this.releasingLock();
    await this.run({ label, body, mutates: true });
  }

  async prune(ids: string[]): Promise<void> {
    await this.run({ label: `prune ${ids.join(' ')}, unused dependency sets`, body: `${scripts.pruneScript(this.options.layout, ids)}\n${pruneDepsScript(this.options.layout)}`, mutates: true });
  }

  /** Records what the host now runs for the next deploy's guess (guessBase); forgets it when unknown. */
  private async rememberRunning(id: string | null): Promise<void> {
    const { destination } = this.options;
    if (this.options.dryRun || destination === undefined) return;
    // A release this run did not stage nor find current (a rollback's target): its cached manifest, if any.
    const sha256 = id === null ? undefined : (this.manifestOf.get(id) ?? (await this.manifestCache?.find(this.options.layout.app, id)) ?? undefined);
    await this.manifestCache?.setRunning(this.options.layout.app, destination, id === null || sha256 === undefined ? null : { release: id, sha256 });
  }

  async removal(units: readonly string[], token?: string, signal?: AbortSignal): Promise<RemovalReport> {
    const removing = token !== undefined;
    if (removing) this.releasingLock();
    const { stdout } = await this.run({
      label: removing ? 'remove units and deploy directory' : 'read what remove would remove',
      body: removalScript(this.options.layout, units, token ?? null),
      mutates: removing,
      signal,
      // 3: refused (the report says why); it changed nothing.
      allow: removing ? [0, 3] : [0],
    });
    const report = parseRemoval(stdout, removing);
    // The next deploy starts from nothing here: no base to guess.
    if (report.removed === true) await this.rememberRunning(null);
    return report;
  }

  onLost(listener: (error: Error) => void): () => void {
    return this.transport.onLost?.(listener) ?? (() => {});
  }

  async close(): Promise<void> {
    this.closed = true;
    this.closeWarmShell();
    await this.transport.close();
  }
}

/** What inspectScript prints. */
function parseInspect(stdout: string): HostState {
  const tagged = splitTagged(stdout);
  const foreign = tagged.get('foreign')?.[0];
  const elsewhere = parseElsewhere(stdout);
  return { ...parseReleasesState(tagged), ...(foreign ? { foreignUnit: foreign } : {}), ...(elsewhere ? { unitsElsewhere: elsewhere } : {}), service: parseServiceLines(tagged.get('svc') ?? []) };
}

/** The releases part of inspectScript's lines, also what lockScript prints after `acquired`. */
function parseReleasesState(tagged: ReturnType<typeof splitTagged>): HostReleases {
  const manifest = tagged.get('manifest')?.[0];
  return {
    current: tagged.get('current')?.[0]?.split('/').pop() || null,
    releases: parseReleases(tagged.get('release') ?? []),
    lock: parseLock(tagged.get('lock')?.[0]),
    ...(/^[0-9a-f]{64}$/.test(manifest ?? '') ? { currentManifest: manifest } : {}),
  };
}

const manifestLines = (text: string) => text.split('\n').filter((l) => l !== '');

/** The `prereq:` lines of a check that exited 3. */
/**
 * The inodes a deploy creates on the host: each file sent, each directory of the release (cp -l makes new
 * ones around the links), the release's own files under .shipit (env, secrets, manifest, meta, units and the
 * stage's scratch files: 10 and the units), and what a first deploy adds around it (releases/, shared/ and
 * shared/.next/, .shipit/releases/, shared/env and secrets.env, the `current` link and its temporary, the
 * history: 10). Files hard-linked from the base take none. Measured on the lab: with the activation's 10 left
 * out, a host with just enough for the stage passed the check and its activation failed (ENOSPC in shared/).
 */
export function stageInodes(release: Pick<ReleaseSpec, 'files' | 'units'>, sentFiles: number): number {
  const dirs = new Set<string>(['']);
  for (const f of release.files) {
    for (let i = f.path.indexOf('/'); i !== -1; i = f.path.indexOf('/', i + 1)) dirs.add(f.path.slice(0, i));
  }
  return sentFiles + dirs.size + 20 + release.units.length;
}

function prerequisitesMissing(host: string, stdout: string): ShipitError {
  const lines = stdout.split('\n');
  const missing = lines.filter((l) => l.startsWith('prereq: ')).map((l) => l.slice(8));
  // The config colliding with the host (another environment's units, another app's deployTo): a config error,
  // whatever else is missing.
  const conflict = lines.includes(scripts.PREREQ_CONFLICT);
  return new ShipitError(conflict ? 'CONFIG_CONFLICT' : 'PREREQUISITE_MISSING', `${host}: ${missing.join('; ')}`, { host });
}

/** How a dry run shows the secrets part of a stdin: how many, never their values. */
function secretsNote(secrets: string): string {
  return `secrets.env (${countLines(secrets)} variable(s), values never shown)`;
}

/** `head` then everything `tail` streams: one stdin for a command that reads a few parts and then a tar. */
function prefixed(head: Buffer, tail: Readable): Readable {
  const out = new PassThrough();
  out.write(head);
  tail.on('error', (error) => out.destroy(error));
  tail.pipe(out);
  return out;
}

/** Variables in an EnvironmentFile text (comments and blank lines aside). */
function countLines(text: string): number {
  return text.split('\n').filter((line) => /^\s*[A-Za-z_]/.test(line)).length;
}
