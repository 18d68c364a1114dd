import type { Layout } from '../remote/layout.js';
import * as scripts from '../remote/scripts.js';
import type { ExecOptions, ExecResult, Transport } from '../ssh/transport.js';
import { ShipitError } from '../lib/errors.js';
import { diffManifest, formatManifest, parseLock, parseManifest, parseReleases, parseServiceLines, splitTagged } from './parse.js';
import type { ActivateOptions, HistoryEntry, Host, HostState, LockInfo, PrepareReport, ReleaseSpec, ServiceState } from './types.js';

export interface SshHostOptions {
  layout: Layout;
  sshUser: string;
  /** The app's port on the host, for readiness probes through the SSH connection. */
  port: number;
  commandTimeoutMs: number;
  /** Called after every remote command (for --verbose): a label, the duration, the exit code. */
  onCommand?: (info: { host: string; label: string; command: string; durationMs: number; code: number }) => void;
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

  /** Runs a script as root; rejects with a ShipitError naming the host when it exits non-zero (unless allowed). */
  private async run(label: string, body: string, exec: ExecOptions = {}, allow: number[] = [0]): Promise<ExecResult> {
    const command = scripts.privileged(body, this.options.sshUser);
    const started = performance.now();
    const result = await this.transport.exec(command, { timeoutMs: this.options.commandTimeoutMs, ...exec });
    this.options.onCommand?.({ host: this.name, label, command, durationMs: performance.now() - started, code: result.code });
    if (SUDO_DENIED.test(result.stderr)) {
      throw new ShipitError('SUDO_DENIED', `${this.name}: ${this.options.sshUser} may not run privileged steps with sudo without a password`, {
        host: this.name,
        hint: `add a sudoers rule on the host, e.g. /etc/sudoers.d/shipit: "${this.options.sshUser} ALL=(root) NOPASSWD: /bin/sh"`,
      });
    }
    if (!allow.includes(result.code)) {
      const detail = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-5).join(' | ');
      throw new ShipitError('REMOTE_FAILED', `${this.name}: ${label} failed (exit ${result.code})${detail ? `: ${detail}` : ''}`, { host: this.name });
    }
    return result;
  }

  async inspect(signal?: AbortSignal): Promise<HostState> {
    const { stdout } = await this.run('inspect', scripts.inspectScript(this.options.layout), { signal });
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
    const { stdout } = await this.run('lock', scripts.lockScript(this.options.layout), { stdin: JSON.stringify(info) });
    const [first, ...rest] = stdout.split('\n');
    if (first === 'acquired') return { acquired: true };
    return { acquired: false, holder: parseLock(rest.join('\n').trim())! };
  }

  async unlock(token: string, options: { force?: boolean } = {}): Promise<LockInfo | null> {
    const result = await this.run('unlock', scripts.unlockScript(this.options.layout, token, options.force ?? false), {}, [0, 3]);
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
    const check = await this.run('check prerequisites', scripts.checkScript(layout, id, release.prerequisites, diskKiB), { signal }, [0, 3]);
    if (check.code === 3) {
      const missing = check.stdout.split('\n').filter((l) => l.startsWith('prereq: ')).map((l) => l.slice(8));
      throw new ShipitError('PREREQUISITE_MISSING', `${this.name}: ${missing.join('; ')}`, { host: this.name });
    }
    const lines = check.stdout.split('\n');
    const alreadyStaged = lines[0] === 'staged';
    const baseAt = lines.findIndex((l) => l.startsWith('base '));
    const base = baseAt >= 0 ? lines[baseAt]!.slice(5) : null;
    const baseFiles = baseAt >= 0 ? parseManifest(lines.slice(baseAt + 1)) : [];
    await this.run('write shared env and secrets', scripts.sharedFilesScript(layout, release.env), { stdin: release.secrets, signal });
    if (alreadyStaged) {
      return { filesSent: 0, filesReused: release.files.length, bytesSent: this.transport.bytesSent - bytesBefore, base, alreadyStaged };
    }
    const { reuse, send } = diffManifest(release.files, base === id ? [] : baseFiles);
    const reuseList = reuse.map((f) => `${f.path}\0`).join('');
    await this.run('stage reused files', scripts.stageScript(layout, id, reuse.length > 0 ? base : null), { stdin: reuseList, signal });
    if (send.length > 0) {
      await this.run('upload', scripts.uploadScript(layout, id), { stdin: release.openTar(send.map((f) => f.path)), signal });
    }
    const meta = JSON.stringify({ ...release.meta, state: 'staged' });
    await this.run('verify and finalize', scripts.finalizeScript(layout, id, meta, release.units), { stdin: formatManifest(release.files), signal });
    return {
      filesSent: send.length,
      filesReused: reuse.length,
      bytesSent: this.transport.bytesSent - bytesBefore,
      base,
      alreadyStaged,
    };
  }

  async discard(id: string): Promise<void> {
    await this.run('discard', scripts.discardScript(this.options.layout, id));
  }

  async activate(id: string | null, options: ActivateOptions): Promise<void> {
    const body = id === null ? scripts.deactivateScript(this.options.layout) : scripts.activateScript(this.options.layout, id);
    await this.run(id === null ? 'deactivate' : `activate ${id}`, body, { timeoutMs: options.timeoutMs, signal: options.signal });
  }

  async probe(path: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<number> {
    const response = await this.transport.httpGet(this.options.port, path, options);
    return response.status;
  }

  async service(signal?: AbortSignal): Promise<ServiceState> {
    const { stdout } = await this.run('service state', scripts.serviceScript(this.options.layout), { signal });
    return parseServiceLines(splitTagged(stdout).get('svc') ?? []);
  }

  async record(id: string, state: 'good' | 'bad', history: HistoryEntry | null): Promise<void> {
    await this.run(`mark ${id} ${state}`, scripts.recordScript(this.options.layout, id, state, history === null ? null : JSON.stringify(history)));
  }

  async prune(ids: string[]): Promise<void> {
    await this.run(`prune ${ids.join(' ')}`, scripts.pruneScript(this.options.layout, ids));
  }

  async close(): Promise<void> {
    await this.transport.close();
  }
}
