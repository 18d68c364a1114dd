import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import type { LabInfo } from './lab.js';

export const ROOT = resolve(import.meta.dirname, '../../..');
export const BIN = join(ROOT, 'bin/shipit.js');

export interface ProjectOptions {
  app: string;
  port: number;
  hosts: LabInfo['hosts'];
  user?: string;
  /** Extra top-level config, as TypeScript object-literal text merged into defineConfig({...}). */
  extra?: string;
  health?: string;
  rollout?: string;
  secret?: string;
  knownHostsFile?: string;
  /** examples/fastapi under gunicorn (default), or examples/node under shipit's runtime. */
  preset?: 'gunicorn' | 'node';
  /** Extra keys of the `ssh` section, as object-literal text (e.g. "configFile: '/tmp/x', keepaliveInterval: '1s'"). */
  ssh?: string;
  /** Extra keys of the `server` section, as object-literal text (e.g. "python: { requirements: 'dist/requirements.txt' },"). */
  server?: string;
  /** The gunicorn preset's server.module (default 'app.main:app'). */
  module?: string;
}

/**
 * A user's project in a temp dir: a copy of examples/fastapi as what ships, and a deploy.config.ts for the lab,
 * written as a user would (it imports defineConfig from 'shipit').
 */
export class Project {
  readonly dir = mkdtempSync(join(tmpdir(), 'shipit-e2e-'));
  readonly appDir = join(this.dir, 'dist');

  constructor(
    readonly lab: LabInfo,
    readonly options: ProjectOptions,
  ) {
    if (!existsSync(join(ROOT, 'dist/src/cli/main.js'))) throw new Error('shipit is not built: run `npm run build` first');
    const example = options.preset === 'node' ? 'examples/node' : 'examples/fastapi';
    cpSync(join(ROOT, example), this.appDir, { recursive: true, filter: (src) => !src.includes('__pycache__') });
    this.writeConfig();
  }

  writeConfig(overrides: Partial<ProjectOptions> = {}): void {
    const o = { ...this.options, ...overrides };
    const hosts = o.hosts.map((h) => `{ host: '${h.address}', user: '${o.user ?? 'deploy'}', name: '${h.name}' }`).join(', ');
    writeFileSync(
      join(this.dir, 'deploy.config.ts'),
      `import { defineConfig } from 'shipit';
export default defineConfig({
  app: '${o.app}',
  build: { dir: 'dist' },
  server: {
    ${o.preset === 'node' ? "preset: 'node',\n    module: 'server.js'," : `preset: 'gunicorn',\n    module: '${o.module ?? 'app.main:app'}',`}
    port: ${o.port},
    workers: 2,
    gracefulTimeout: 10,
    env: { LOG_LEVEL: 'info', RELEASE_NOTE: process.env.E2E_RELEASE_NOTE ?? 'none' },
    secrets: { API_TOKEN: process.env.E2E_API_TOKEN ?? ${JSON.stringify(o.secret ?? 'tok-e2e-5ecret-value')} },
    ${o.server ?? ''}
  },
  health: ${o.health ?? "{ liveness: '/healthz', readiness: '/readyz', interval: '300ms', timeout: '2s', successes: 2, minHealthyTime: '1s', healthyDeadline: '20s' }"},
  rollout: ${o.rollout ?? "{ canary: 1, maxParallel: 1 }"},
  ssh: { knownHostsFile: '${o.knownHostsFile ?? this.lab.knownHostsFile}', identityFiles: ['${this.lab.identityFile}'], agent: false${o.ssh ? `, ${o.ssh}` : ''} },
  ${o.extra ?? ''}
  environments: { production: { hosts: [${hosts}] } },
});
`,
    );
  }

  /** Marks the next release's version (what /readyz reports) and optionally a fault (hang-ready: the node example only). */
  setVersion(version: string, fault?: 'never-ready' | 'crash-on-import' | 'hang-ready'): void {
    const dir = this.options.preset === 'node' ? this.appDir : join(this.appDir, 'app');
    writeFileSync(join(dir, 'VERSION'), `${version}\n`);
    const faultFile = join(dir, 'FAULT');
    if (fault) writeFileSync(faultFile, `${fault}\n`);
    else rmSync(faultFile, { force: true });
  }

  /** Runs the built CLI as CI would: no TTY, CI=true. */
  shipit(args: string[], env: Record<string, string> = {}): ResultPromise<{ reject: false; all: true }> {
    return execa('node', [BIN, ...args], {
      cwd: this.dir,
      reject: false,
      all: true,
      env: { CI: 'true', NO_COLOR: '1', ...env },
      extendEnv: true,
    }) as ResultPromise<{ reject: false; all: true }>;
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
