import type { Layout } from '../remote/layout.js';
import * as scripts from '../remote/scripts.js';
import { pruneDepsScript } from '../remote/deps-scripts.js';
import { ensureDeps } from './deps.js';
import type { ExecOptions, ExecResult, Transport } from '../ssh/transport.js';
import { ShipitError } from '../lib/errors.js';
import {
  diffManifest,
  formatManifest,
  parseJournal,
  parseLock,
  parseManifest,
  parseReleases,
  parseServiceLines,
  parseUnitFiles,
  splitTagged,
} from './parse.js';
import type {
  ActivateOptions,
  DryRunStep,
  HistoryEntry,
  Host,
  HostState,
  InstalledUnit,
  JournalBatch,
  JournalQuery,
  LockInfo,
  PrepareReport,
  ReleaseSpec,
  ServiceState,
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
}

export interface CommandInfo {
  host: string;
  kind: 'command' | 'probe';
  label: string;
  command: string;
  durationMs: number;
  code: number;
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
  /** Exit codes that are not failures. */
  allow?: number[];
}

const SUDO_DENIED = /sudo: (a password is required|a terminal is required|.*is not allowed|.*not in the sudoers)/;

/** The Host interface over one SSH connection: each method is one or a few remote scripts (src/remote). */
export class SshHost implements Host {
  constructor(
    readonly name: string,
    private readonly transport: Transport,
    private readonly options: SshHostOptions,
  ) {}

  get bytesSent(): number {
    return this.transport.bytesSent;
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
    const stdin = typeof step.stdin === 'function' ? step.stdin() : step.stdin;
    const started = performance.now();
    const result = await this.transport.exec(command, {
      timeoutMs: step.timeoutMs ?? this.options.commandTimeoutMs,
      ...(stdin === undefined ? {} : { stdin }),
      ...(step.signal ? { signal: step.signal } : {}),
    });
    this.options.onCommand?.({ host: this.name, kind: 'command', label, command, durationMs: performance.now() - started, code: result.code });
    if (SUDO_DENIED.test(result.stderr)) {
      throw new ShipitError('SUDO_DENIED', `${this.name}: ${this.options.sshUser} may not run privileged steps with sudo without a password`, {
        host: this.name,
        hint: `add a sudoers rule on the host, e.g. /etc/sudoers.d/shipit: "${this.options.sshUser} ALL=(root) NOPASSWD: /bin/sh"`,
      });
    }
    if (!(step.allow ?? [0]).includes(result.code)) {
      const detail = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-5).join(' | ');
      throw new ShipitError('REMOTE_FAILED', `${this.name}: ${label} failed (exit ${result.code})${detail ? `: ${detail}` : ''}`, { host: this.name });
    }
    return result;
  }

  async inspect(signal?: AbortSignal): Promise<HostState> {
    const { stdout } = await this.run({ label: 'inspect', body: scripts.inspectScript(this.options.layout), mutates: false, signal });
    const tagged = splitTagged(stdout);
    const current = tagged.get('current')?.[0]?.split('/').pop() || null;
    return {
      current,
      releases: parseReleases(tagged.get('release') ?? []),
      lock: parseLock(tagged.get('lock')?.[0]),
      service: parseServiceLines(tagged.get('svc') ?? []),
    };
  }

  async lock(info: LockInfo): Promise<{ acquired: true } | { acquired: false; holder: LockInfo }> {
    const { stdout } = await this.run({ label: 'lock', body: scripts.lockScript(this.options.layout), mutates: true, stdin: JSON.stringify(info), dryStdout: 'acquired\n' });
    const [first, ...rest] = stdout.split('\n');
    if (first === 'acquired') return { acquired: true };
    return { acquired: false, holder: parseLock(rest.join('\n').trim())! };
  }

  async unlock(token: string, options: { force?: boolean } = {}): Promise<LockInfo | null> {
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
    const { layout } = this.options;
    const id = release.meta.id;
    const bytesBefore = this.transport.bytesSent;
    const diskKiB = Math.ceil(release.diskBytes / 1024);
    const check = await this.run({ label: 'check prerequisites', body: scripts.checkScript(layout, id, release.prerequisites, diskKiB), mutates: false, signal, allow: [0, 3] });
    if (check.code === 3) {
      const missing = check.stdout.split('\n').filter((l) => l.startsWith('prereq: ')).map((l) => l.slice(8));
      throw new ShipitError('PREREQUISITE_MISSING', `${this.name}: ${missing.join('; ')}`, { host: this.name });
    }
    const lines = check.stdout.split('\n');
    const alreadyStaged = lines[0] === 'staged';
    const baseAt = lines.findIndex((l) => l.startsWith('base '));
    const base = baseAt >= 0 ? lines[baseAt]!.slice(5) : null;
    const baseFiles = baseAt >= 0 ? parseManifest(lines.slice(baseAt + 1)) : [];
    await this.run({
      label: 'write shared env and secrets',
      body: scripts.sharedFilesScript(layout, release.env),
      mutates: true,
      stdin: release.secrets,
      stdinNote: `secrets.env (${countLines(release.secrets)} variable(s), values never shown)`,
      signal,
    });
    if (alreadyStaged) {
      return { filesSent: 0, filesReused: release.files.length, bytesSent: this.transport.bytesSent - bytesBefore, base, alreadyStaged, sentPaths: [] };
    }
    const { reuse, send } = diffManifest(release.files, base === id ? [] : baseFiles);
    const reuseList = reuse.map((f) => `${f.path}\0`).join('');
    await this.run({
      label: 'stage reused files',
      body: scripts.stageScript(layout, id, reuse.length > 0 ? base : null),
      mutates: true,
      stdin: reuseList,
      stdinNote: reuse.length > 0 ? `${reuse.length} path(s) to copy from ${base}, NUL-separated` : '(nothing)',
      signal,
    });
    if (send.length > 0) {
      const bytes = send.reduce((sum, f) => sum + f.size, 0);
      await this.run({
        label: 'upload',
        body: scripts.uploadScript(layout, id),
        mutates: true,
        stdin: () => release.openTar(send.map((f) => f.path)),
        stdinNote: `gzipped tar of ${send.length} file(s), ${bytes} bytes before compression`,
        signal,
      });
    }
    // Dependency sets (server.python, server.npm) exist and are linked before the release becomes visible.
    const deps = release.deps ? await ensureDeps((step) => this.run(step), release.deps, { host: this.name, layout, id, signal, dryRun: !!this.options.dryRun }) : undefined;
    const meta = JSON.stringify({ ...release.meta, state: 'staged' });
    await this.run({
      label: 'verify and finalize',
      body: scripts.finalizeScript(layout, id, meta, release.units),
      mutates: true,
      stdin: formatManifest(release.files),
      stdinNote: `manifest.tsv of ${release.files.length} file(s) (path, mode, sha256, size)`,
      signal,
    });
    return {
      filesSent: send.length,
      filesReused: reuse.length,
      bytesSent: this.transport.bytesSent - bytesBefore,
      base,
      alreadyStaged,
      sentPaths: send.map((f) => f.path),
      ...(deps ? { deps } : {}),
    };
  }

  async discard(id: string): Promise<void> {
    await this.run({ label: 'discard', body: scripts.discardScript(this.options.layout, id), mutates: true });
    // A set built for the discarded release (on a host whose prepare passed) is used by no kept release.
    await this.run({ label: 'prune unused dependency sets', body: pruneDepsScript(this.options.layout), mutates: true });
  }

  async activate(id: string | null, options: ActivateOptions): Promise<void> {
    const body = id === null ? scripts.deactivateScript(this.options.layout) : scripts.activateScript(this.options.layout, id);
    await this.run({ label: id === null ? 'deactivate' : `activate ${id}`, body, mutates: true, timeoutMs: options.timeoutMs, signal: options.signal });
  }

  async probe(path: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<number> {
    const started = performance.now();
    const report = (code: number) =>
      this.options.onCommand?.({
        host: this.name,
        kind: 'probe',
        label: `GET 127.0.0.1:${this.options.port}${path}`,
        command: `GET ${path}`,
        durationMs: performance.now() - started,
        code,
      });
    try {
      const response = await this.transport.httpGet(this.options.port, path, options);
      report(response.status);
      return response.status;
    } catch (error) {
      report(-1);
      throw error;
    }
  }

  async journal(query: JournalQuery, signal?: AbortSignal): Promise<JournalBatch> {
    const { stdout } = await this.run({ label: 'journal', body: scripts.journalScript(this.options.layout, query), mutates: false, signal });
    return parseJournal(stdout, query.afterCursor === undefined && query.lines !== undefined);
  }

  async installedUnits(names: readonly string[], signal?: AbortSignal): Promise<InstalledUnit[]> {
    const { stdout } = await this.run({ label: 'installed units', body: scripts.unitFilesScript(this.options.layout, names), mutates: false, signal });
    return parseUnitFiles(stdout, names);
  }

  async service(signal?: AbortSignal): Promise<ServiceState> {
    const { stdout } = await this.run({ label: 'service state', body: scripts.serviceScript(this.options.layout), mutates: false, signal });
    return parseServiceLines(splitTagged(stdout).get('svc') ?? []);
  }

  async record(id: string, state: 'good' | 'bad', history: HistoryEntry | null): Promise<void> {
    await this.run({ label: `mark ${id} ${state}`, body: scripts.recordScript(this.options.layout, id, state, history === null ? null : JSON.stringify(history)), mutates: true });
  }

  async prune(ids: string[]): Promise<void> {
    await this.run({ label: `prune ${ids.join(' ')}`, body: scripts.pruneScript(this.options.layout, ids), mutates: true });
    await this.run({ label: 'prune unused dependency sets', body: pruneDepsScript(this.options.layout), mutates: true });
  }

  async close(): Promise<void> {
    await this.transport.close();
  }
}

/** Variables in an EnvironmentFile text (comments and blank lines aside). */
function countLines(text: string): number {
  return text.split('\n').filter((line) => /^\s*[A-Za-z_]/.test(line)).length;
}
