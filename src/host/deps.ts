import type { Readable } from 'node:stream';
import { errorMessage } from '../lib/error-message.js';
import { ShipitError } from '../lib/errors.js';
import * as depsScripts from '../remote/deps-scripts.js';
import type { Layout } from '../remote/layout.js';
import type { ExecResult } from '../ssh/transport.js';
import type { DepsReport, DepsSpec, NodeTarget } from './deps-types.js';

/** The subset of SshHost's remote step that dependency sets use (same shape, so SshHost passes its own `run`). */
export interface DepsStep {
  label: string;
  body: string;
  mutates: boolean;
  stdin?: () => Readable;
  stdinNote?: string;
  dryStdout?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
  allow?: number[];
}

export interface EnsureDepsOptions {
  host: string;
  layout: Layout;
  /** The release being staged: its temporary directory gets the links. */
  id: string;
  signal?: AbortSignal;
  /** A dry run never builds anything on the deployer either. */
  dryRun: boolean;
  /** pip or unpacking a large set may take a while; default 15 minutes. */
  installTimeoutMs?: number;
}

const INSTALL_TIMEOUT_MS = 15 * 60_000;

/**
 * Makes every dependency set of the release exist on the host, then links the staged release to them: one
 * read-only command when every set is already there, plus one install per missing set. Called before the
 * release is finalized, so a release is never visible without its sets; a failure here fails prepare.
 */
export async function ensureDeps(run: (step: DepsStep) => Promise<ExecResult>, specs: readonly DepsSpec[], options: EnsureDepsOptions): Promise<DepsReport[]> {
  const { host, layout, id, signal } = options;
  const probe = await run({
    label: 'check dependency sets',
    body: depsScripts.depsProbeScript(layout, specs),
    mutates: false,
    signal,
    allow: [0, 3],
  });
  if (probe.code === 3) {
    const missing = probe.stdout.split('\n').filter((l) => l.startsWith('prereq: ')).map((l) => l.slice(8));
    throw new ShipitError('PREREQUISITE_MISSING', `${host}: ${missing.join('; ')}`, { host });
  }
  const found = parseProbe(probe.stdout, specs.length);
  const reports: DepsReport[] = [];
  for (const [i, spec] of specs.entries()) {
    const { set, present, target } = found[i]!;
    const started = performance.now();
    if (!present) await install(run, spec, set, target, options);
    reports.push({ kind: spec.kind, set, created: !present, durationMs: Math.round(performance.now() - started) });
  }
  await run({ label: 'link dependency sets', body: depsScripts.depsLinkScript(layout, id, reports), mutates: true, signal });
  return reports;
}

async function install(run: (step: DepsStep) => Promise<ExecResult>, spec: DepsSpec, set: string, target: NodeTarget | null, options: EnsureDepsOptions): Promise<void> {
  const { host, layout, signal } = options;
  const timeoutMs = options.installTimeoutMs ?? INSTALL_TIMEOUT_MS;
  if (spec.kind === 'python') {
    const bytes = spec.files.reduce((sum, f) => sum + f.size, 0);
    const result = await run({
      label: `install python dependency set ${set}`,
      body: depsScripts.pythonInstallScript(layout, set, spec),
      mutates: true,
      stdin: () => spec.openTar(),
      stdinNote: `gzipped tar of requirements.txt${spec.files.length > 1 ? ` and ${spec.files.length - 1} wheel(s)` : ''}, ${bytes} bytes before compression`,
      signal,
      timeoutMs,
      allow: [0, 4, 5, 6],
    });
    if (result.code === 0) return;
    const undefinedName = result.code === 6 ? /^undefined (\S+) (\S+)$/m.exec(result.stderr) : null;
    if (undefinedName) {
      throw new ShipitError('DEPS_FAILED', `${host}: installing the Python dependencies failed: ${undefinedName[1]} defines no ${undefinedName[2]}`, {
        host,
        hint: 'check the spelling of server.workerClass (e.g. uvicorn.workers.UvicornWorker, or uvicorn_worker.UvicornWorker with uvicorn ≥ 0.30)',
      });
    }
    const why =
      result.code === 6
        ? missingModule(result.stderr, spec)
        : result.code === 4
          ? 'the shipped requirements or wheels arrived corrupted'
          : `pip failed:\n${pipError(result.stderr)}`;
    throw new ShipitError('DEPS_FAILED', `${host}: installing the Python dependencies failed: ${why}`, {
      host,
      hint: spec.offline ? 'every requirement, and each of its dependencies, needs a wheel in server.python.wheelhouse (pip download/wheel -r requirements.txt -w <wheelhouse>)' : undefined,
    });
  }
  if (target === null) throw new Error('node set without a target');
  const built = options.dryRun ? { openTar: (): Readable => { throw new Error('dry run'); }, files: 0, bytes: 0 } : await spec.build(target).catch((error: unknown) => {
    throw new ShipitError('DEPS_FAILED', `${host}: node_modules for Node ABI ${target.abi} (${target.platform}): ${errorMessage(error)}`, { host });
  });
  const result = await run({
    label: `install node dependency set ${set}`,
    body: depsScripts.nodeInstallScript(layout, set),
    mutates: true,
    stdin: () => built.openTar(),
    stdinNote: `gzipped tar of node_modules built on this machine for Node ABI ${target.abi} (${target.platform})`,
    signal,
    timeoutMs,
    allow: [0, 5],
  });
  if (result.code === 0) return;
  const addons = result.stdout
    .split('\n')
    .filter((l) => l.startsWith('addon\t'))
    .map((l) => {
      const [, path = '', error = ''] = l.split('\t');
      // The absolute path in Node's message repeats what the package and path already say.
      return `${packageOf(path)} (${path.replace(/^node_modules\//, '')}): ${error.replace(/ '\/[^']*\.node'/, '').replace(/\s+/g, ' ').trim()}`;
    });
  throw new ShipitError('DEPS_FAILED', `${host}: native addons do not load with this host's node (ABI ${target.abi}): ${addons.join('; ')}`, {
    host,
    hint: 'build node_modules where the Node version matches the hosts (same major version), or use packages with prebuilt N-API binaries',
  });
}

interface Probed {
  set: string;
  present: boolean;
  target: NodeTarget | null;
}

function parseProbe(stdout: string, count: number): Probed[] {
  const found: Probed[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^(\d+) ([0-9a-f]{16}) (have|need)(?: (\S+) (\S+)(?: (\S+))?)?$/.exec(line.trim());
    if (!m) continue;
    const target = m[4] && m[5] ? { abi: m[4], platform: m[5], ...(m[6] ? { version: m[6] } : {}) } : null;
    found[Number(m[1])] = { set: m[2]!, present: m[3] === 'have', target };
  }
  for (let i = 0; i < count; i++) if (!found[i]) throw new Error(`dependency probe gave no answer for set ${i}: ${stdout.trim()}`);
  return found;
}

/** pip's own error lines when it printed some, else the end of its output. */
export function pipError(stderr: string): string {
  const lines = stderr.trim().split('\n');
  const errors = lines.filter((l) => /^ERROR:/.test(l));
  return (errors.length > 0 ? errors : lines.slice(-10)).join('\n');
}

function missingModule(stderr: string, spec: Extract<DepsSpec, { kind: 'python' }>): string {
  const module = /missing (\S+)/.exec(stderr)?.[1] ?? '?';
  const hint = spec.imports.find((i) => i.module === module)?.hint ?? '';
  return `the virtualenv cannot import ${module}${hint ? `: ${hint}` : ''}`;
}

/** The package a file under node_modules belongs to: the last node_modules/<name> or node_modules/@scope/<name>. */
export function packageOf(path: string): string {
  const parts = path.split('/');
  let name = path;
  for (let i = 0; i < parts.length - 1; i++) {
    if (parts[i] !== 'node_modules') continue;
    name = parts[i + 1]!.startsWith('@') && parts[i + 2] ? `${parts[i + 1]}/${parts[i + 2]}` : parts[i + 1]!;
  }
  return name;
}
