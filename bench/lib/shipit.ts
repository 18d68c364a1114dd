// shipit as the bench drives it: a snapshot of the built CLI (so that a rebuild in the shared tree during a
// long run cannot change what is measured), a deploy.config.ts per bench app written as a user would, runs
// of the real binary with --json, and the units shipit renders (installed unchanged for the other tools).
import { cpSync, existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import type { LabHost, LabInfo } from './lab.js';
import { measure, type MeasuredRun } from './measure.js';
import { CLIENT_NS, inNamespace } from './netns.js';
import { ROOT, log, workDir } from './util.js';
import { cacheDir } from '../../src/lib/cache-dir.js';

export interface ShipitApp {
  app: string;
  port: number;
  hosts: LabHost[];
  /** The artifact directory (build.dir). */
  artifactDir: string;
  health: string;
  rollout: string;
}

export interface ShipitEvent {
  type: string;
  [key: string]: unknown;
}

export interface ShipitRun extends MeasuredRun {
  events: (ShipitEvent & { atMs: number })[];
}

let snapshot: { dir: string; revision: string } | undefined;

/** Builds shipit and copies the CLI aside; returns where its bin/shipit.js is. */
export async function snapshotShipit(): Promise<{ dir: string; revision: string }> {
  if (snapshot) return snapshot;
  log('npm run build (shipit under test)');
  await execa('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
  const revision = String((await execa('git', ['describe', '--always', '--dirty'], { cwd: ROOT, reject: false })).stdout).trim();
  const dir = workDir('shipit');
  for (const part of ['bin', 'dist', 'units', 'package.json']) {
    rmSync(join(dir, part), { recursive: true, force: true });
    cpSync(join(ROOT, part), join(dir, part), { recursive: true });
  }
  if (!existsSync(join(dir, 'node_modules'))) symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  snapshot = { dir, revision };
  return snapshot;
}

let baseline: { bin: string; revision: string } | null | undefined;

/**
 * `SHIPIT_BENCH_BASELINE=<git revision>`: that revision of shipit, built aside (a git worktree sharing this
 * checkout's node_modules), so that a change is measured against what it replaced in the same run. Null when
 * the variable is unset.
 */
export async function baselineShipit(): Promise<{ bin: string; revision: string } | null> {
  if (baseline !== undefined) return baseline;
  const rev = process.env.SHIPIT_BENCH_BASELINE;
  if (!rev) return (baseline = null);
  const revision = String((await execa('git', ['rev-parse', '--short', rev], { cwd: ROOT })).stdout).trim();
  const dir = workDir('baseline', revision);
  if (!existsSync(join(dir, 'bin/shipit.js'))) {
    log(`building the baseline shipit at ${revision}`);
    rmSync(dir, { recursive: true, force: true });
    await execa('git', ['worktree', 'prune'], { cwd: ROOT });
    await execa('git', ['worktree', 'add', '--detach', dir, revision], { cwd: ROOT });
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    await execa('npm', ['run', 'build'], { cwd: dir, stdio: 'ignore' });
  }
  return (baseline = { bin: join(dir, 'bin/shipit.js'), revision });
}

export function shipitBin(): string {
  if (!snapshot) throw new Error('snapshotShipit() first');
  return join(snapshot.dir, 'bin/shipit.js');
}

/** Writes <project>/deploy.config.ts for one bench app; the environment is called `bench`. */
export function writeShipitConfig(projectDir: string, lab: LabInfo, o: ShipitApp): string {
  const hosts = o.hosts.map((h) => `{ host: '${h.address}', user: 'deploy', name: '${h.name}' }`).join(', ');
  writeFileSync(
    join(projectDir, 'deploy.config.ts'),
    `import { defineConfig } from 'shipit';
export default defineConfig({
  app: '${o.app}',
  build: { dir: '${o.artifactDir}' },
  server: {
    preset: 'gunicorn',
    module: 'app.main:app',
    workerClass: 'uvicorn.workers.UvicornWorker',
    port: ${o.port},
    workers: 2,
    gracefulTimeout: 10,
    env: { LOG_LEVEL: 'info' },
  },
  health: ${o.health},
  rollout: ${o.rollout},
  keepReleases: 5,
  ssh: { knownHostsFile: '${lab.knownHostsFile}', identityFiles: ['${lab.identityFile}'], agent: false },
  environments: { bench: { hosts: [${hosts}] } },
});
`,
  );
  return projectDir;
}

/** `shipit <args>` from the project dir, inside the client namespace, as CI would run it (plain output). */
export async function runShipit(
  projectDir: string,
  args: string[],
  options: { namespace?: boolean; bin?: string; onLine?: (text: string, atMs: number, pid: number) => void } = {},
): Promise<ShipitRun> {
  const argv = ['node', options.bin ?? shipitBin(), ...args];
  const run = await measure(options.namespace === false ? argv : inNamespace(CLIENT_NS, argv), {
    cwd: projectDir,
    env: { ...process.env, CI: 'true', NO_COLOR: '1' },
    timeoutMs: 10 * 60_000,
    onLine: options.onLine,
  });
  const events = run.lines.flatMap(({ atMs, text }) => {
    if (!text.startsWith('{')) return [];
    try {
      return [{ ...(JSON.parse(text) as ShipitEvent), atMs }];
    } catch {
      return [];
    }
  });
  return { ...run, events };
}

/** Phase durations (ms) from `phase.finished` events. */
export function phaseDurations(run: ShipitRun): Record<string, number> {
  return Object.fromEntries(run.events.filter((e) => e.type === 'phase.finished').map((e) => [String(e.phase), Number(e.durationMs)]));
}

/** The units shipit renders for a project's config, by shipit's own code (dist/src/units/render.js). */
export async function renderUnitsFor(projectDir: string): Promise<{ name: string; content: string }[]> {
  const dist = join(snapshot?.dir ?? ROOT, 'dist/src');
  const { loadConfig } = (await import(join(dist, 'config/load.js'))) as { loadConfig(o: { cwd: string }): Promise<{ config: unknown; filepath: string }> };
  const { resolveEnvironment } = (await import(join(dist, 'config/resolve.js'))) as { resolveEnvironment(c: unknown, env: string, o: { configFile: string }): unknown };
  const { renderUnits } = (await import(join(dist, 'units/render.js'))) as { renderUnits(c: unknown): { name: string; content: string }[] };
  const { config, filepath } = await loadConfig({ cwd: projectDir });
  return renderUnits(resolveEnvironment(config, 'bench', { configFile: filepath }));
}

/** Removes an app from hosts completely (units, user's files, releases): every scenario starts clean. */
export function wipeAppScript(app: string): string {
  return [
    `systemctl disable --now --quiet ${app}.service ${app}.socket 2>/dev/null || true`,
    `rm -f /etc/systemd/system/${app}.service /etc/systemd/system/${app}.socket`,
    'systemctl daemon-reload',
    `systemctl reset-failed ${app}.service ${app}.socket 2>/dev/null || true`,
    `rm -rf /srv/${app}`,
  ].join('\n');
}

/**
 * Forgets what this deployer left running on an app's hosts (the manifest cache's `hosts/` notes), as for hosts
 * it never deployed to: after wipeAppScript, a "first deploy" must not start from a guess about the wiped hosts.
 */
export function forgetHosts(app: string): void {
  rmSync(join(cacheDir(), 'manifests', app, 'hosts'), { recursive: true, force: true });
}

/**
 * What the other tools ship: the artifact plus the files shipit adds to every release of this preset (e.g.
 * `.shipit/gunicorn.conf.py`, which its unit names), taken from shipit's own code, so that every tool's
 * release tree is byte for byte the one shipit installs.
 */
export async function syncReleaseTree(projectDir: string, artifactDir: string, releaseDir: string): Promise<void> {
  await execa('rsync', ['-a', '--delete', '--exclude=__pycache__', `${artifactDir}/`, `${releaseDir}/`]);
  const dist = join(snapshot?.dir ?? ROOT, 'dist/src');
  if (!existsSync(join(dist, 'build/preset-files.js'))) return;
  const { presetFiles } = (await import(join(dist, 'build/preset-files.js'))) as { presetFiles(c: unknown): Record<string, { content: string; mode?: number }> };
  const { loadConfig } = (await import(join(dist, 'config/load.js'))) as { loadConfig(o: { cwd: string }): Promise<{ config: unknown; filepath: string }> };
  const { resolveEnvironment } = (await import(join(dist, 'config/resolve.js'))) as { resolveEnvironment(c: unknown, env: string, o: { configFile: string }): unknown };
  const { config, filepath } = await loadConfig({ cwd: projectDir });
  for (const [name, file] of Object.entries(presetFiles(resolveEnvironment(config, 'bench', { configFile: filepath })))) {
    mkdirSync(dirname(join(releaseDir, name)), { recursive: true });
    writeFileSync(join(releaseDir, name), file.content, { mode: file.mode ?? 0o644 });
  }
}
