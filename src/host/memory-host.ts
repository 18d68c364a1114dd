import type { Clock } from '../lib/clock.js';
import { planDepsPrune } from './deps-prune.js';
import { diffEnvFiles } from './env-changes.js';
import { NotSentError, ShipitError } from '../lib/errors.js';
import { PREREQ_OUT } from '../remote/scripts.js';
import { describeElsewhere } from './units-elsewhere.js';
import type {
  ActivateOptions,
  HistoryEntry,
  Host,
  HostState,
  EnvFiles,
  Installed,
  JournalBatch,
  JournalEntry,
  JournalQuery,
  LockInfo,
  LockResult,
  ManifestEntry,
  PrepareReport,
  RecordAfter,
  ReleaseMeta,
  ReleaseSpec,
  RenderedFile,
  ProbeResponse,
  ServiceState,
  RecordedState,
  RemovalReport,
  UnitsElsewhere,
} from './types.js';

/** Faults a scenario can inject. Each is consulted at the moment the operation runs. */
export interface Faults {
  /** The host cannot be reached at all (every call rejects). */
  unreachable?: boolean;
  prepareFails?: string;
  /** The hint the prepare failure carries. */
  prepareHint?: string;
  /** Releases whose readiness probe never answers 2xx. */
  neverReady?: Set<string>;
  /** Per release, the one readiness path it serves: any other answers 404 (default: every path). */
  servesReadiness?: Map<string, string>;
  /** What a release that is not ready answers its readiness probe with (default: an empty body). */
  notReadyBody?: string;
  /** The status a release that is not ready answers with (default 503; 404: it serves no such path). */
  notReadyStatus?: number;
  /** Releases that crash right after start (the unit fails, systemd restarts it). */
  crashes?: Set<string>;
  /** `systemctl restart` blocks this long (ms of the fake clock) before it returns. */
  restartTakes?: number;
  /** Releases whose `systemctl restart` never returns. */
  restartHangs?: Set<string>;
  /** Milliseconds after start before the readiness probe answers 2xx. */
  bootTakes?: number;
  /** The connection drops during activate. */
  dropOnActivate?: boolean;
  /** The connection drops right after this release was switched to and restarted (its answer arrives first). */
  dropAfterSwitchTo?: string;
  /** The lock command takes the lock, but its answer is lost (the run cut it off: Ctrl-C while it ran). */
  lockAnswerLost?: boolean;
  /** Building a missing dependency set fails with this message (a set already there is still reused). */
  depsFail?: string;
  /** Reading the journal fails with this message. */
  journalFails?: string;
  /** A journal read never answers (journald stuck) until it is aborted. */
  journalHangs?: boolean;
}

/**
 * A line written to the service's journal (priority: syslog's, 6 when not given; pid: the main process's when not
 * given; systemd's own lines about the unit come from PID 1).
 */
export interface AppLine {
  message: string;
  priority?: number;
  pid?: number;
  identifier?: string;
}

/**
 * A complete in-memory host (STYLE.md, habit 5): every Host method works on a data model, with faults that
 * scenario tests switch on. Time comes from the injected clock.
 */
export class MemoryHost implements Host {
  current: string | null = null;
  releases = new Map<string, { meta: ReleaseMeta; files: ManifestEntry[]; units?: RenderedFile[]; deps?: string[]; env?: EnvFiles }>();
  /** shared/env and shared/secrets.env: the env of the release activated last (null: never written). */
  sharedEnv: EnvFiles | null = null;
  /** Dependency sets on the host, `<kind>/<set>` (the set id is the key's start: no interpreter to hash with here). */
  depsSets = new Set<string>();
  /** /etc/systemd/system: the units of the release activated last (activate installs them, like the script). */
  units = new Map<string, string>();
  /** The service's journal, oldest first; `log()` appends to it. */
  journalEntries: JournalEntry[] = [];
  private journalSeq = 0;
  lockInfo: LockInfo | null = null;
  /** Another app's service unit among deployTo's releases (inspect's foreignUnit): two configs with one deployTo. */
  foreignUnit?: string;
  /** The app's units serve another deployTo in use (inspect's unitsElsewhere): another environment of the app here. */
  unitsElsewhere?: UnitsElsewhere;
  history: HistoryEntry[] = [];
  /** What deployTo is on this host, when not what the model implies (a directory once anything was written). */
  deployToKind?: 'symlink' | 'other';
  /** Top-level entries of deployTo that shipit does not create (someone's data). */
  extraEntries: string[] = [];
  /** Unit files of the app that shipit did not write (an admin's), by name: never touched. */
  otherUnits = new Set<string>();
  /** The release the running process serves (what the app's /readyz would report). */
  serving: string | null = null;
  /** Per release, what its processes log as they start (before systemd hears READY=1) and as they stop. */
  appLogs = new Map<string, { start?: AppLine[]; stop?: AppLine[] }>();
  private startedAt = 0;
  private restarts = 0;
  /** Each start gets a main process of its own, as on a real host. */
  private pid = 1000;
  /** Each start is an invocation of the unit (systemd's InvocationID); its processes' entries carry it. */
  private invocation = 0;
  private readonly invocationOf = new Map<string, number>();
  private active: 'active' | 'failed' | 'inactive' = 'inactive';
  /** Every mutating call, for assertions on what was touched. */
  readonly calls: string[] = [];
  /** The journal reads, as asked (read-only, so not in `calls`): what a scenario counts round trips by. */
  readonly journalQueries: JournalQuery[] = [];
  /** Releases offered with a lock (Host.lock), in order. */
  readonly offered: string[] = [];

  constructor(
    readonly name: string,
    private readonly clock: Clock,
    public faults: Faults = {},
  ) {
  }

  async service(): Promise<ServiceState> {
    return this.serviceState();
  }

  private readonly lostListeners = new Set<(error: Error) => void>();

  /** The connection drops now: later calls never reach the host, and the rollout hears of it (onLost). */
  loseConnection(): void {
    this.faults.unreachable = true;
    const error = new ShipitError('CONNECT_FAILED', `${this.name}: connection lost`, { host: this.name });
    for (const listener of [...this.lostListeners]) listener(error);
  }

  onLost(listener: (error: Error) => void): () => void {
    this.lostListeners.add(listener);
    return () => void this.lostListeners.delete(listener);
  }

  private reach(): void {
    // As SshHost's: a call after the loss never reaches the host.
    if (this.faults.unreachable) throw new NotSentError(new ShipitError('CONNECT_FAILED', `${this.name}: connection lost`, { host: this.name }));
  }

  async inspect(): Promise<HostState> {
    this.reach();
    return {
      current: this.current,
      releases: [...this.releases.values()].map((r) => ({ ...r.meta })),
      lock: this.lockInfo ? { ...this.lockInfo } : null,
      ...(this.foreignUnit === undefined ? {} : { foreignUnit: this.foreignUnit }),
      ...(this.unitsElsewhere === undefined ? {} : { unitsElsewhere: { ...this.unitsElsewhere } }),
      service: this.serviceState(),
    };
  }

  async lock(info: LockInfo, release?: ReleaseSpec): Promise<LockResult> {
    this.reach();
    // An SshHost may stage an offered release with its lock; this one stages in prepare alone.
    if (release) this.offered.push(release.meta.id);
    if (this.lockInfo && this.lockInfo.token !== info.token) return { acquired: false, holder: { ...this.lockInfo } };
    this.lockInfo = { ...info };
    this.calls.push('lock');
    if (this.faults.lockAnswerLost) throw new ShipitError('ABORTED', `Aborted lock on ${this.name}`, { host: this.name });
    const { service: _service, ...releases } = await this.inspect();
    return { acquired: true, state: releases };
  }

  async unlock(token: string, options: { force?: boolean } = {}): Promise<LockInfo | null> {
    this.reach();
    const held = this.lockInfo;
    if (!held) return null;
    if (held.token !== token && !options.force) {
      throw new ShipitError('LOCK_HELD', `${this.name}: lock held by ${held.by}`, { host: this.name });
    }
    this.lockInfo = null;
    this.calls.push('unlock');
    return held;
  }

  async prepare(release: ReleaseSpec, signal?: AbortSignal): Promise<PrepareReport> {
    this.reach();
    // As SshHost's commands are: cut off when the run is aborted (Ctrl-C), before anything is staged.
    if (signal?.aborted) throw new ShipitError('ABORTED', `Aborted prepare on ${this.name}`, { host: this.name });
    this.calls.push(`prepare ${release.meta.id}`);
    // As SshHost's prerequisite check (src/build/release.ts unitsOwn): the units serve another environment's deployTo,
    // reported with the release's own message for it (its exit 2), where the host's check puts its output.
    const conflict = release.prerequisites.find((p) => p.conflict);
    if (this.unitsElsewhere && conflict) {
      const message = (conflict.messages?.[2] ?? conflict.message).replaceAll(PREREQ_OUT, describeElsewhere(this.unitsElsewhere));
      throw new ShipitError('CONFIG_CONFLICT', `${this.name}: ${message}`, { host: this.name });
    }
    if (this.faults.prepareFails) {
      throw new ShipitError('REMOTE_FAILED', `${this.name}: ${this.faults.prepareFails}`, { host: this.name, ...(this.faults.prepareHint === undefined ? {} : { hint: this.faults.prepareHint }) });
    }
    const existing = this.releases.get(release.meta.id);
    // A release staged already gets its env as configured now, as SshHost writes it.
    if (existing) existing.env = { env: release.env, secrets: release.secrets };
    if (existing) return { filesSent: 0, filesReused: existing.files.length, bytesSent: 0, base: null, alreadyStaged: true, sentPaths: [] };
    const base = this.current ? this.releases.get(this.current) : undefined;
    const have = new Set(base?.files.map((f) => `${f.path}\0${f.sha256}\0${f.mode}`) ?? []);
    const send = release.files.filter((f) => !have.has(`${f.path}\0${f.sha256}\0${f.mode}`));
    const deps = (release.deps ?? []).map((d) => ({ kind: d.kind, set: d.key.slice(0, 16), created: !this.depsSets.has(`${d.kind}/${d.key.slice(0, 16)}`), durationMs: 0 }));
    if (this.faults.depsFail && deps.some((d) => d.created)) throw new ShipitError('DEPS_FAILED', `${this.name}: ${this.faults.depsFail}`, { host: this.name });
    for (const d of deps) this.depsSets.add(`${d.kind}/${d.set}`);
    this.releases.set(release.meta.id, { meta: { ...release.meta, state: 'staged' }, files: [...release.files], units: [...release.units], deps: deps.map((d) => `${d.kind}/${d.set}`), env: { env: release.env, secrets: release.secrets } });
    return {
      filesSent: send.length,
      filesReused: release.files.length - send.length,
      bytesSent: send.reduce((sum, f) => sum + f.size, 0),
      base: base?.meta.id ?? null,
      alreadyStaged: false,
      sentPaths: send.map((f) => f.path),
      ...(release.deps ? { deps } : {}),
    };
  }

  async discard(id: string): Promise<void> {
    this.reach();
    if (id === this.current) return;
    this.calls.push(`discard ${id}`);
    this.releases.delete(id);
    for (const set of planDepsPrune([...this.depsSets], [...this.releases.values()].map((r) => r.deps ?? []))) this.depsSets.delete(set);
  }

  async activate(id: string | null, options: ActivateOptions): Promise<ServiceState | null> {
    this.reach();
    this.calls.push(`activate ${id}`);
    if (id !== null && !this.releases.has(id)) {
      throw new ShipitError('REMOTE_FAILED', `${this.name}: release ${id} is not staged here`, { host: this.name });
    }
    if (this.faults.dropOnActivate) {
      this.faults.unreachable = true;
      throw new ShipitError('CONNECT_FAILED', `${this.name}: connection lost`, { host: this.name });
    }
    this.current = id;
    if (this.active === 'active' && this.serving !== null) for (const line of this.appLogs.get(this.serving)?.stop ?? []) this.log(line.message, line);
    if (id === null) {
      this.active = 'inactive';
      this.serving = null;
      this.units.clear();
      this.log('Stopped.', { identifier: 'systemd', pid: 1 });
      return null;
    }
    const activated = this.releases.get(id)!;
    for (const unit of activated.units ?? []) this.units.set(unit.name, unit.content);
    if (activated.env) this.sharedEnv = activated.env;
    const takes = this.faults.restartHangs?.has(id) ? Infinity : (this.faults.restartTakes ?? 0);
    if (takes > options.timeoutMs) {
      await this.clock.sleep(options.timeoutMs, options.signal);
      throw new ShipitError('TIMEOUT', `${this.name}: systemctl restart did not return within ${options.timeoutMs} ms`, { host: this.name });
    }
    if (takes > 0) await this.clock.sleep(takes, options.signal);
    this.active = 'active';
    this.serving = id;
    this.startedAt = this.clock.now();
    this.pid += 10;
    this.invocation++;
    for (const line of this.appLogs.get(id)?.start ?? []) this.log(line.message, line);
    this.log(`Started ${id}.`, { identifier: 'systemd', pid: 1 });
    const state = this.serviceState();
    if (this.faults.dropAfterSwitchTo === id) this.loseConnection();
    return state;
  }

  /** Appends a journal entry stamped with the fake clock (tests use it as the app's output). */
  log(message: string, options: { identifier?: string; pid?: number; priority?: number; atUs?: number } = {}): JournalEntry {
    const entry: JournalEntry = {
      cursor: `s=mem;i=${++this.journalSeq}`,
      timeUs: options.atUs ?? Math.round(this.clock.now() * 1000),
      priority: options.priority ?? 6,
      identifier: options.identifier ?? 'app',
      pid: options.pid ?? this.pid + this.restarts,
      message,
    };
    this.journalEntries.push(entry);
    // systemd's own lines about the unit (PID 1) belong to no start of it.
    if (entry.pid !== 1) this.invocationOf.set(entry.cursor, this.invocation);
    return entry;
  }

  async journal(query: JournalQuery, signal?: AbortSignal): Promise<JournalBatch> {
    this.reach();
    this.journalQueries.push(query);
    if (this.faults.journalHangs) await new Promise((_, reject) => (signal?.aborted ? reject(signal.reason) : signal?.addEventListener('abort', () => reject(signal.reason), { once: true })));
    if (this.faults.journalFails) throw new ShipitError('REMOTE_FAILED', `${this.name}: ${this.faults.journalFails}`, { host: this.name });
    const readAtUs = Math.round(this.clock.now() * 1000);
    let entries = this.journalEntries;
    if (query.afterCursor !== undefined) {
      const at = entries.findIndex((e) => e.cursor === query.afterCursor);
      return { entries: entries.slice(at + 1), readAtUs };
    }
    if (query.since !== undefined) {
      const from = 'epochUs' in query.since ? query.since.epochUs : readAtUs - query.since.secondsAgo * 1e6;
      entries = entries.filter((e) => e.timeUs >= from);
    }
    if (query.thisStart) entries = entries.filter((e) => this.invocationOf.get(e.cursor) === this.invocation);
    if (query.maxPriority !== undefined) entries = entries.filter((e) => e.priority <= query.maxPriority!);
    if (query.lines !== undefined) entries = query.lines === 0 ? [] : entries.slice(-query.lines);
    return { entries: [...entries], readAtUs };
  }

  async installed(query: { units: readonly string[]; env?: EnvFiles }): Promise<Installed> {
    this.reach();
    return {
      units: query.units.map((name) => ({ name, content: this.units.get(name) ?? null })),
      env: query.env ? diffEnvFiles(this.sharedEnv, query.env) : [],
    };
  }

  async probe(path: string): Promise<ProbeResponse> {
    this.reach();
    if (this.active !== 'active' || this.serving === null) throw new Error('connection refused');
    const served = this.faults.servesReadiness?.get(this.serving);
    if (served !== undefined && served !== path) return { status: 404, body: '' };
    if (this.faults.crashes?.has(this.serving)) return { status: 502, body: '' };
    const notReady = { status: this.faults.notReadyStatus ?? 503, body: this.faults.notReadyBody ?? '' };
    if (this.faults.neverReady?.has(this.serving)) return notReady;
    if (this.clock.now() - this.startedAt < (this.faults.bootTakes ?? 0)) return notReady;
    return { status: 200, body: 'ok' };
  }

  private serviceState(): ServiceState {
    this.reach();
    // A crashing release: systemd restarts it over and over while we look.
    if (this.active === 'active' && this.serving !== null && this.faults.crashes?.has(this.serving)) this.restarts++;
    return {
      active: this.active,
      sub: this.active === 'active' ? 'running' : 'dead',
      mainPid: this.active === 'active' ? this.pid + this.restarts : 0,
      restarts: this.restarts,
      since: this.active === 'active' ? new Date(this.startedAt).toISOString() : null,
      workers: this.active === 'active' ? 2 : 0,
      runs: this.active === 'active' ? this.serving : null,
    };
  }

  async record(id: string, state: RecordedState, history: HistoryEntry | null, after: RecordAfter = {}): Promise<void> {
    this.reach();
    const release = this.releases.get(id);
    if (release) release.meta.state = state;
    if (history) this.history.push(history);
    this.calls.push(`record ${id} ${state}`);
    if (after.prune && after.prune.length > 0) await this.prune(after.prune);
    if (after.unlock !== undefined && this.lockInfo?.token === after.unlock) {
      this.lockInfo = null;
      this.calls.push('unlock');
    }
  }

  async prune(ids: string[]): Promise<void> {
    this.reach();
    for (const id of ids) if (id !== this.current) this.releases.delete(id);
    for (const set of planDepsPrune([...this.depsSets], [...this.releases.values()].map((r) => r.deps ?? []))) this.depsSets.delete(set);
    this.calls.push(`prune ${ids.join(',')}`);
  }

  /** Whether deployTo exists as shipit's directory: anything of the app's written there, or a lock taken. */
  private get hasDir(): boolean {
    return this.current !== null || this.releases.size > 0 || this.lockInfo !== null || this.sharedEnv !== null || this.depsSets.size > 0 || this.history.length > 0 || this.extraEntries.length > 0;
  }

  async removal(units: readonly string[], token?: string, signal?: AbortSignal): Promise<RemovalReport> {
    this.reach();
    // As SshHost's commands are: cut off when the run is aborted (Ctrl-C), before anything is read or removed.
    if (signal?.aborted) throw new ShipitError('ABORTED', `Aborted removal on ${this.name}`, { host: this.name });
    const dir = this.deployToKind ?? (this.hasDir ? 'directory' : 'absent');
    const entries = dir !== 'directory' ? [] : [...(this.releases.size > 0 ? ['releases'] : []), ...(this.current ? ['current'] : []), ...(this.sharedEnv ? ['shared'] : []), ...(this.depsSets.size > 0 ? ['deps'] : []), '.shipit'];
    const report: RemovalReport = {
      dir,
      entries,
      extra: dir === 'directory' ? [...this.extraEntries] : [],
      ...(this.foreignUnit === undefined ? {} : { foreignUnit: this.foreignUnit }),
      ...(this.unitsElsewhere === undefined ? {} : { unitsElsewhere: { ...this.unitsElsewhere } }),
      current: this.current,
      releases: this.releases.size,
      lock: this.lockInfo ? { ...this.lockInfo } : null,
      units: [
        // Units serving another environment's deployTo are that environment's: reported, never removed.
        ...units.filter((name) => this.units.has(name)).map((name) => ({ name, owner: this.unitsElsewhere ? ('elsewhere' as const) : ('shipit' as const), active: this.active })),
        ...[...this.otherUnits].map((name) => ({ name, owner: 'other' as const, active: 'inactive' })),
      ],
    };
    if (token === undefined) return report;
    if (dir !== 'directory' || report.extra.length > 0 || report.foreignUnit !== undefined || this.lockInfo?.token !== token) return { ...report, removed: false };
    this.calls.push('remove');
    if (this.unitsElsewhere === undefined) {
      this.units.clear();
      this.active = 'inactive';
      this.serving = null;
    }
    this.current = null;
    this.releases.clear();
    this.sharedEnv = null;
    this.depsSets.clear();
    this.history = [];
    this.lockInfo = null;
    return { ...report, removed: true };
  }

  async close(): Promise<void> {}
}
