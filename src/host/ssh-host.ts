import type { Layout } from '../remote/layout.js';
import * as scripts from '../remote/scripts.js';
import { pruneDepsScript } from '../remote/deps-scripts.js';
import { ensureDeps } from './deps.js';
import type { DepsReport } from './deps-types.js';
import { fileManifestCache, sha256Hex, type ManifestCache } from './manifest-cache.js';
import type { ExecOptions, ExecResult, Transport } from '../ssh/transport.js';
import { ShipitError } from '../lib/errors.js';
import { gunzipSync } from 'node:zlib';
import { PassThrough, type Readable } from 'node:stream';
import {
  manifestDelta,
  parseJournal,
  parseLock,
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
  LockResult,
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
  /** Manifests the deployer already has (default: the user's cache dir); null = none, always ask the host. */
  manifests?: ManifestCache | null;
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

let defaultManifests: ManifestCache | undefined;

const SUDO_DENIED = /sudo: (a password is required|a terminal is required|.*is not allowed|.*not in the sudoers)/;

/** The Host interface over one SSH connection: each method is one or a few remote scripts (src/remote). */
export class SshHost implements Host {
  constructor(
    readonly name: string,
    private readonly transport: Transport,
    private readonly options: SshHostOptions,
  ) {}

  private get manifestCache(): ManifestCache | null {
    if (this.options.manifests !== undefined) return this.options.manifests;
    return (defaultManifests ??= fileManifestCache());
  }

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
    return parseInspect(stdout);
  }

  async lock(info: LockInfo): Promise<LockResult> {
    const { stdout } = await this.run({ label: 'lock', body: scripts.lockScript(this.options.layout), mutates: true, stdin: JSON.stringify(info), dryStdout: 'acquired\n' });
    const [first, ...rest] = stdout.split('\n');
    // A dry run prints `acquired` alone: the state is then read by inspect.
    if (first === 'acquired') return rest.some((line) => line.startsWith('current\t')) ? { acquired: true, state: parseInspect(rest.join('\n')) } : { acquired: true };
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
    const manifests = this.manifestCache;
    const id = release.meta.id;
    const bytesBefore = this.transport.bytesSent;
    const diskKiB = Math.ceil(release.diskBytes / 1024);
    const check = await this.checkAndReadBase(release, diskKiB, signal);
    if (check.alreadyStaged) {
      await this.run({
        label: 'write shared env and secrets',
        body: scripts.sharedFilesScript(layout, release.env),
        mutates: true,
        stdin: release.secrets,
        stdinNote: secretsNote(release.secrets),
        signal,
      });
      return { filesSent: 0, filesReused: release.files.length, bytesSent: this.transport.bytesSent - bytesBefore, base: check.base, alreadyStaged: true, sentPaths: [] };
    }
    const base = check.base === id ? null : check.base;
    const delta = manifestDelta(release.files, base === null ? [] : check.baseLines);
    const expectedSha = sha256Hex(delta.manifest);
    const head = Buffer.from(release.secrets + delta.drop + delta.sent);
    const tarBytes = delta.send.reduce((sum, f) => sum + f.size, 0);
    const stage = await this.run({
      label: 'stage',
      body: scripts.stageScript(layout, id, {
        env: release.env,
        secretsBytes: Buffer.byteLength(release.secrets),
        base: delta.reuse > 0 ? base : null,
        dropBytes: Buffer.byteLength(delta.drop),
        sentBytes: Buffer.byteLength(delta.sent),
        sentFiles: delta.send.length,
        // Dependency sets are linked into the staged release before it becomes visible.
        finalize: release.deps ? null : { metaJson: JSON.stringify({ ...release.meta, state: 'staged' }), units: release.units },
      }),
      mutates: true,
      stdin: () => (delta.send.length > 0 ? prefixed(head, release.openTar(delta.send.map((f) => f.path))) : head),
      stdinNote: [
        secretsNote(release.secrets),
        `${delta.dropCount} path(s) of ${base ?? 'no base'} not reused`,
        `manifest lines of ${delta.send.length} file(s) sent`,
        `gzipped tar of ${delta.send.length} file(s), ${tarBytes} bytes before compression; ${delta.reuse} file(s) linked from ${base ?? 'no base'}`,
      ].join('; '),
      dryStdout: `manifest\t${expectedSha}\n`,
      signal,
    });
    const staged = splitTagged(stage.stdout).get('manifest')?.[0];
    if (staged !== expectedSha) {
      throw new ShipitError('REMOTE_FAILED', `${this.name}: the manifest staged on the host (sha256 ${staged ?? 'missing'}) is not the release's (${expectedSha})`, {
        host: this.name,
        hint: `the base release ${base ?? ''} may have been modified on the host; deploy again to send every file`,
      });
    }
    if (!this.options.dryRun) await manifests?.put(layout.app, id, delta.manifest);
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
      bytesSent: this.transport.bytesSent - bytesBefore,
      base: check.base,
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
      if (check.code === 3) {
        const missing = check.stdout.split('\n').filter((l) => l.startsWith('prereq: ')).map((l) => l.slice(8));
        throw new ShipitError('PREREQUISITE_MISSING', `${this.name}: ${missing.join('; ')}`, { host: this.name });
      }
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
      return { alreadyStaged, base: base!, baseLines: text.split('\n').filter((l) => l !== '') };
    }
  }

  async discard(id: string): Promise<void> {
    // A set built for the discarded release (on a host whose prepare passed) is used by no kept release.
    // One command: the second script's preamble only sets the same variables again.
    await this.run({ label: 'discard, prune unused dependency sets', body: `${scripts.discardScript(this.options.layout, id)}\n${pruneDepsScript(this.options.layout)}`, mutates: true });
  }

  async activate(id: string | null, options: ActivateOptions): Promise<ServiceState | null> {
    const body = id === null ? scripts.deactivateScript(this.options.layout) : scripts.activateScript(this.options.layout, id);
    const { stdout } = await this.run({ label: id === null ? 'deactivate' : `activate ${id}`, body, mutates: true, timeoutMs: options.timeoutMs, signal: options.signal });
    const svc = splitTagged(stdout).get('svc');
    // A dry run prints nothing: the caller then reads the state itself.
    return id === null || svc === undefined ? null : parseServiceLines(svc);
  }

  async probe(path: string, options: { timeoutMs: number; signal?: AbortSignal; port?: number }): Promise<number> {
    const port = options.port ?? this.options.port;
    const started = performance.now();
    const report = (code: number) =>
      this.options.onCommand?.({
        host: this.name,
        kind: 'probe',
        label: `GET 127.0.0.1:${port}${path}`,
        command: `GET ${path}`,
        durationMs: performance.now() - started,
        code,
      });
    try {
      const response = await this.transport.httpGet(port, path, options);
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
    await this.run({ label: `prune ${ids.join(' ')}, unused dependency sets`, body: `${scripts.pruneScript(this.options.layout, ids)}\n${pruneDepsScript(this.options.layout)}`, mutates: true });
  }

  async close(): Promise<void> {
    await this.transport.close();
  }
}

/** What inspectScript prints (also after `acquired` from lockScript). */
function parseInspect(stdout: string): HostState {
  const tagged = splitTagged(stdout);
  return {
    current: tagged.get('current')?.[0]?.split('/').pop() || null,
    releases: parseReleases(tagged.get('release') ?? []),
    lock: parseLock(tagged.get('lock')?.[0]),
    service: parseServiceLines(tagged.get('svc') ?? []),
  };
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
