import type { Readable } from 'node:stream';

/** One file of a release, as recorded in its manifest. */
export interface ManifestEntry {
  /** Relative path, '/'-separated, no leading './'. */
  path: string;
  /** Permission bits, e.g. 0o644. */
  mode: number;
  size: number;
  sha256: string;
}

export type ReleaseState = 'staged' | 'good' | 'bad';

/** What the host records about a release in `<deployTo>/.shipit/releases/<id>/meta.json`. */
export interface ReleaseMeta {
  id: string;
  createdAt: string;
  /** user@machine of the deployer. */
  by: string;
  revision: string | null;
  state: ReleaseState;
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
}

export interface HostState {
  /** Release id `current` points at, or null on a host never deployed to. */
  current: string | null;
  releases: ReleaseMeta[];
  lock: LockInfo | null;
  service: ServiceState;
}

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
}

export interface Prerequisite {
  check: string;
  message: string;
}

export interface PrepareReport {
  filesSent: number;
  filesReused: number;
  bytesSent: number;
  /** Base release whose files were reused, if any. */
  base: string | null;
  /** True when the release was already fully staged (an idempotent re-run). */
  alreadyStaged: boolean;
}

export interface ActivateOptions {
  signal?: AbortSignal;
  timeoutMs: number;
}

/**
 * The narrow interface the rollout drives. SshHost implements it with remote commands; MemoryHost implements
 * all of it in memory, with fault injection, for scenario tests. Every method is idempotent.
 */
export interface Host {
  readonly name: string;
  inspect(signal?: AbortSignal): Promise<HostState>;
  /** Takes the deploy lock (atomic mkdir). Returns the holder when someone else has it. */
  lock(info: LockInfo): Promise<{ acquired: true } | { acquired: false; holder: LockInfo }>;
  /** Releases the lock if `token` holds it (or always, with force). Returns the lock that was removed. */
  unlock(token: string, options?: { force?: boolean }): Promise<LockInfo | null>;
  prepare(release: ReleaseSpec, signal?: AbortSignal): Promise<PrepareReport>;
  /** Removes a staged (never activated) release. Never removes the current one. */
  discard(id: string): Promise<void>;
  /** Points `current` at `id` (installing that release's units) and restarts the service; null = stop and
   * deactivate (the host had nothing before). Resolves when systemctl returns. */
  activate(id: string | null, options: ActivateOptions): Promise<void>;
  /** HTTP GET on 127.0.0.1:<port><path> from the host's side: the status code. */
  probe(path: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<number>;
  service(signal?: AbortSignal): Promise<ServiceState>;
  /** Marks a release good or bad and appends the audit line (when given). */
  record(id: string, state: 'good' | 'bad', history: HistoryEntry | null): Promise<void>;
  /** Removes old releases (files, manifest, units). Never the current one. */
  prune(ids: string[]): Promise<void>;
  close(): Promise<void>;
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
