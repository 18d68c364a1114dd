import type { Readable } from 'node:stream';
import type { DepsReport, DepsSpec } from './deps-types.js';

/** One file of a release, as recorded in its manifest. */
export interface ManifestEntry {
  /** Relative path, '/'-separated, no leading './'. */
  path: string;
  /** Permission bits, e.g. 0o644. */
  mode: number;
  size: number;
  sha256: string;
}

/** `interrupted`: a deploy stopped by Ctrl-C or SIGTERM (not known to be bad: rollback --to may pick it). */
export type ReleaseState = 'staged' | 'good' | 'bad' | 'interrupted';
/** What a finished deploy or rollback marks its release. */
export type RecordedState = Exclude<ReleaseState, 'staged'>;

/** What the host records about a release in `<deployTo>/.shipit/releases/<id>/meta.json`. */
export interface ReleaseMeta {
  id: string;
  createdAt: string;
  /** user@machine of the deployer. */
  by: string;
  revision: string | null;
  state: ReleaseState;
  /**
   * health.readiness as the release was deployed: a revert or rollback to it is gated on the path it serves, not on
   * a path a later config names. Releases staged before 2026-12-05 have none (the config's applies).
   */
  readiness?: string;
}

export interface LockInfo {
  /** user@machine */
  by: string;
  pid: number;
  at: string;
  release: string | null;
  message: string;
  /** Random token of the run that holds it: unlock only releases our own lock unless forced. */
  token: string;
}

export interface ServiceState {
  /** systemd ActiveState: active, activating, deactivating, failed, inactive, reloading. */
  active: string;
  sub: string;
  mainPid: number;
  restarts: number;
  /** ISO time the unit entered the active state, when it is active. */
  since: string | null;
  /** Worker processes under the main process, when it runs. */
  workers: number;
  /** The TCP port the app's socket unit listens on, when it has one (what the readiness probe must use). */
  port?: number;
  /**
   * The release the main process runs (its working directory, `<deployTo>/current` resolved when it started), when
   * it runs from one; read by inspect only. Differs from `current` when `current` was repointed without a restart.
   */
  runs?: string | null;
}

/**
 * What a host says about its releases and its lock: all that deploy, rollback and the release listing decide on,
 * and what the lock reports (without the service's state, which no locked command reads: asking systemd for it
 * costs ~25 ms of host CPU, a third of the lock's, measured on the lab).
 */
export interface HostReleases {
  /** Release id `current` points at, or null on a host never deployed to. */
  current: string | null;
  releases: ReleaseMeta[];
  lock: LockInfo | null;
  /** The sha256 of the current release's manifest, when the host said it (with the lock): see prepare. */
  currentManifest?: string;
  /**
   * Inspect only: the service unit of another app whose release is in deployTo (two configs given one deployTo by
   * mistake), e.g. `api.service`; absent when every release there is this app's.
   */
  foreignUnit?: string;
  /** Inspect only: this app's units serve another deployTo in use (another environment of the app on this host). */
  unitsElsewhere?: UnitsElsewhere;
}

/** `<app>.service` (shipit's) serves this deployTo, which still holds releases; `port` is its socket's ListenStream=. */
export interface UnitsElsewhere {
  deployTo: string;
  port: string | null;
}

/** Everything inspect reads: the releases and the service (`shipit status`). */
export interface HostState extends HostReleases {
  service: ServiceState;
}

/** A lock taken comes with the host's releases read under it, when the host could say them. */
export type LockResult = { acquired: true; state?: HostReleases } | { acquired: false; holder: LockInfo };

export interface RenderedFile {
  name: string;
  content: string;
}

/** Everything a host needs to stage one release. */
export interface ReleaseSpec {
  meta: ReleaseMeta;
  files: ManifestEntry[];
  /** Streams a gzipped tar of the given relative paths of the artifact. */
  openTar(paths: string[]): Readable;
  units: RenderedFile[];
  /** Contents of shared/env and shared/secrets.env (secrets: never log). */
  env: string;
  secrets: string;
  /** Shell tests that must pass on the host, with the message shown when one fails. */
  prerequisites: Prerequisite[];
  /** Bytes of free disk the release needs under deployTo. */
  diskBytes: number;
  /** Dependency sets the release links to (src/host/deps.ts); absent = none. */
  deps?: DepsSpec[];
}

export interface Prerequisite {
  check: string;
  message: string;
  /** A message of its own for some of the check's exit codes (one process that can tell two failures apart). */
  messages?: Record<number, string>;
  /**
   * A failure is the config colliding with the host (another environment's units, another app's releases in
   * deployTo), not something to install: the deploy and plan exit 2 (CONFIG_CONFLICT) instead of 5.
   */
  conflict?: boolean;
}

export interface PrepareReport {
  filesSent: number;
  filesReused: number;
  /**
   * What the prepare handed to the connection (scripts, manifest lines, the tar), not counting secrets.env:
   * printed and in the host.prepared event, where it would tell the secrets' length.
   */
  bytesSent: number;
  /** Base release whose files were reused, if any. */
  base: string | null;
  /** True when the release was already fully staged (an idempotent re-run). */
  alreadyStaged: boolean;
  /** Paths of the files sent (new or changed since `base`); the others were copied on the host. */
  sentPaths?: string[];
  /** Dependency sets linked into the release: reused or built. */
  deps?: DepsReport[];
  /** Staged by the lock command (Host.lock with a release), on the base this deployer left running there. */
  withLock?: boolean;
}

export interface ActivateOptions {
  signal?: AbortSignal;
  timeoutMs: number;
  /**
   * Takes the config's secrets out of what a failed restart quotes of the app (its `app:` lines), before they are
   * cut to the length shown (lib/app-reason.ts cutAppLine). Default: none to take out.
   */
  redact?: (text: string) => string;
}

/**
 * The narrow interface the rollout drives. SshHost implements it with remote commands; MemoryHost implements
 * all of it in memory, with fault injection, for scenario tests. Every method is idempotent.
 */
/**
 * What a readiness probe got. The body is for people reading a failure (an app says why it is not ready, as
 * `{"db": "unreachable"}`), capped at MAX_PROBE_BODY; it may hold what the app knows, secrets too: redact it.
 */
export interface ProbeResponse {
  status: number;
  body: string;
}

export interface Host {
  readonly name: string;
  inspect(signal?: AbortSignal): Promise<HostState>;
  /**
   * Takes the deploy lock (atomic mkdir). Returns the holder when someone else has it. With `release`, the host
   * may stage it in the same step, once the lock is taken; prepare then returns that result, and unlock
   * discards it when prepare never came (also after a lock that failed or was aborted midway: `signal` stops
   * such a stage's upload, and the lock may have been taken by then).
   */
  lock(info: LockInfo, release?: ReleaseSpec, signal?: AbortSignal): Promise<LockResult>;
  /**
   * Releases the lock if `token` holds it (or always, with force). Returns the lock that was removed. On a host
   * that then holds no release of the app (a first deploy that failed, a lock taken by hand and released), also
   * removes what shipit's first contact made there: empty directories, deployTo and the service user when shipit
   * created them (scripts.ts UNDO_FIRST_CONTACT).
   */
  unlock(token: string, options?: { force?: boolean }): Promise<LockInfo | null>;
  prepare(release: ReleaseSpec, signal?: AbortSignal): Promise<PrepareReport>;
  /** Removes a staged (never activated) release. Never removes the current one. */
  discard(id: string): Promise<void>;
  /** Points `current` at `id` (installing that release's units) and restarts the service; null = stop and
   * deactivate (the host had nothing before). Resolves when systemctl returns, with the unit's state read
   * right after the restart (the gate's baseline; saves a round trip), or null after a deactivation. */
  activate(id: string | null, options: ActivateOptions): Promise<ServiceState | null>;
  /** HTTP GET on 127.0.0.1:<port><path> from the host's side: the status code and the (capped) body. */
  probe(path: string, options: { timeoutMs: number; signal?: AbortSignal; port?: number }): Promise<ProbeResponse>;
  service(signal?: AbortSignal): Promise<ServiceState>;
  /**
   * Marks a release good or bad and appends the audit line (when given); then, in the same step, removes the
   * `prune` releases (as prune does) and releases the lock `unlock` holds (only that token's: never someone
   * else's). The last step of a deploy or rollback on a host: one round trip instead of three.
   */
  record(id: string, state: RecordedState, history: HistoryEntry | null, after?: RecordAfter): Promise<void>;
  /** Removes old releases (files, manifest, units). Never the current one. */
  prune(ids: string[]): Promise<void>;
  /** Read-only: the service's journal (journalctl -u <app>.service), oldest first. */
  journal(query: JournalQuery, signal?: AbortSignal): Promise<JournalBatch>;
  /**
   * Read-only: the unit files installed under /etc/systemd/system with these names (content null: absent), and,
   * given the env files a release would write, which variables of shared/env and shared/secrets.env that would
   * add, change or remove (names only: no value, length or digest comes back).
   */
  installed(query: { units: readonly string[]; env?: EnvFiles }, signal?: AbortSignal): Promise<Installed>;
  /**
   * Calls `listener` once when the connection to the host is lost (no command reaches it any more); returns the
   * unsubscribe. A command started after that fails with NotSentError: it never reached the host.
   */
  onLost?(listener: (error: Error) => void): () => void;
  /**
   * `shipit remove`: what of the app is on the host (deployTo, its entries, the app's unit files). Read-only
   * without `token`; with the token of the lock this run holds, also removes it all (src/remote/remove-scripts.ts),
   * or, when the host refuses (see RemovalReport), changes nothing and resolves with `refused`.
   */
  removal(units: readonly string[], token?: string, signal?: AbortSignal): Promise<RemovalReport>;
  close(): Promise<void>;
}

/** A unit file of the app under /etc/systemd/system. */
export interface RemovalUnit {
  name: string;
  /**
   * `shipit`: its first line says shipit rendered it; `other`: an admin's or a package's, never touched;
   * `elsewhere`: shipit's, but serving another deployTo in use (another environment of the app), never touched.
   */
  owner: 'shipit' | 'other' | 'elsewhere';
  /** systemd's ActiveState (active, inactive, failed, …). */
  active: string;
}

/** What `removal` read on a host (under the lock, when it removed). */
export interface RemovalReport {
  /** deployTo itself: a symlink or a non-directory is never removed. */
  dir: 'absent' | 'directory' | 'symlink' | 'other';
  /** Top-level entries of deployTo that shipit creates (releases, current, shared, deps, .shipit). */
  entries: string[];
  /** Top-level entries shipit does not create: someone's data, so the directory is not removed. */
  extra: string[];
  /** Another app's service unit among deployTo's releases (two configs given one deployTo). */
  foreignUnit?: string;
  /** The app's units serve another deployTo in use (another environment's): left alone, never stopped or removed. */
  unitsElsewhere?: UnitsElsewhere;
  current: string | null;
  releases: number;
  lock: LockInfo | null;
  units: RemovalUnit[];
  /** The service's state directory (StateDirectory=<app>: /var/lib/<app>) when it exists: the app's data, never removed. */
  state?: string;
  /** The service user, when it exists and is named after the app (shipit's default): kept, never deleted. */
  user?: string;
  /** With a token: true when it removed, false when it refused (and changed nothing). */
  removed?: boolean;
}

/** Which part of the service's journal to read. */
export interface JournalQuery {
  /** At most this many entries: the newest ones (ignored with `afterCursor`). */
  lines?: number;
  /** Entries from this many seconds ago by the host's clock, or from an absolute time (µs since the epoch). */
  since?: { secondsAgo: number } | { epochUs: number };
  /** Every entry after this cursor (following): wins over `lines`. */
  afterCursor?: string;
  /**
   * Only what the unit's own processes logged since it last started: journald's _SYSTEMD_INVOCATION_ID, the
   * unit's current InvocationID, which every process of one start carries (its workers too) and a restart changes.
   * Not an earlier start's lines (the old process's as it stopped), nor systemd's own about the unit. Where systemd
   * gives no invocation ID, the whole unit's entries.
   */
  thisStart?: boolean;
  /** Only entries at this syslog priority or more urgent (4: warning, error, …; journalctl --priority). */
  maxPriority?: number;
}

export interface JournalEntry {
  /** journald's cursor of the entry: where the next read continues. */
  cursor: string;
  /** __REALTIME_TIMESTAMP: µs since the epoch, by the host's clock. */
  timeUs: number;
  /** syslog priority 0 (emerg) – 7 (debug). */
  priority: number;
  /** SYSLOG_IDENTIFIER, else the command name. */
  identifier: string;
  pid: number | null;
  message: string;
}

export interface JournalBatch {
  entries: JournalEntry[];
  /**
   * The host's clock (µs) just before the journal was read: every entry stamped up to this instant is in this
   * batch or an earlier one. Merging the hosts' streams by time waits for every host to pass an instant.
   */
  readAtUs: number;
}

export interface InstalledUnit {
  name: string;
  content: string | null;
}

/** The contents of shared/env and shared/secrets.env (secrets: never log). */
export interface EnvFiles {
  env: string;
  secrets: string;
}

/** A variable a deploy would add to, change in or remove from shared/env (`env`) or shared/secrets.env. */
export interface EnvChange {
  file: 'env' | 'secrets';
  name: string;
  change: 'added' | 'changed' | 'removed';
}

export interface Installed {
  units: InstalledUnit[];
  /** Empty when nothing would change, or when no env files were given. */
  env: EnvChange[];
}

export interface RecordAfter {
  prune?: string[];
  /** The run's lock token. */
  unlock?: string;
}

export interface HistoryEntry {
  release: string;
  at: string;
  by: string;
  revision: string | null;
  action: 'deploy' | 'rollback';
  result: 'success' | 'failed-restored' | 'failed-inconsistent';
  previous: string | null;
  durations: Record<string, number>;
  error?: string;
}

/**
 * A step that changes a host, as a dry run hands it over instead of running it: the exact command line, and
 * what it would read on stdin, described (never secret values).
 */
export interface DryRunStep {
  host: string;
  label: string;
  command: string;
  stdin: string | null;
}
