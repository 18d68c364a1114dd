// examples/github-actions/deploy.yml, run the way a GitHub runner runs it, against the lab: its steps are read
// from the YAML and executed in order in a checkout of a user project (each `run:` with the runner's shell,
// `bash --noprofile --norc -eo pipefail`), with no TTY, no stdin, CI=true, a fresh $HOME, no ssh-agent, and
// the two secrets passed as environment variables. `npm ci` really installs shipit (from a local package
// folder, offline). A successful release, then a failing one that triggers the `if: failure()` status step.
import { jest } from '@jest/globals';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { readLab, labHost, type LabHost, type LabInfo } from './support/lab.js';
import { Project, ROOT } from './support/project.js';
import { httpGet, onHost, wipeApp } from './support/remote.js';

jest.setTimeout(300_000);

const APP = 'e2e-ci';
const PORT = 8105;
const WORKFLOW = join(ROOT, 'examples/github-actions/deploy.yml');
const SCRIPT = join(ROOT, 'examples/github-actions/deploy.sh');

// ---------------------------------------------------------------------------------------------------------
// The part of a GitHub runner this needs: the steps of one job, `if:` (success/failure/always), `env:` with
// ${{ secrets.X }}, `run:` through bash. A YAML subset is enough because the example is written in it; the
// parser refuses anything else rather than guess.

interface Step {
  name: string;
  uses?: string;
  run?: string;
  if?: string;
  env: Record<string, string>;
}

function parseSteps(yaml: string): Step[] {
  const lines = yaml.split('\n');
  const start = lines.findIndex((l) => /^\s+steps:\s*$/.test(l));
  if (start === -1) throw new Error('no steps: in the workflow');
  const steps: Step[] = [];
  let itemIndent = -1;
  let current: Step | undefined;
  let inEnv = false;
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === '' || line.trim().startsWith('#')) continue;
    const indent = line.length - line.trimStart().length;
    if (itemIndent === -1) itemIndent = indent;
    if (indent < itemIndent) break;
    let text = line.trim();
    if (indent === itemIndent) {
      if (!text.startsWith('- ')) throw new Error(`unexpected line in steps: ${line}`);
      current = { name: '', env: {} };
      steps.push(current);
      text = text.slice(2);
      inEnv = false;
    } else if (inEnv && indent > itemIndent + 2) {
      const [key, value] = splitKey(text);
      current!.env[key] = value;
      continue;
    } else if (indent > itemIndent + 2) {
      continue; // `with:` values: only setup-node's, checked below
    }
    const [key, value] = splitKey(text);
    inEnv = key === 'env';
    if (key === 'run' && (value === '|' || value === '>')) throw new Error('multi-line run: is not in this subset');
    if (key === 'name' || key === 'uses' || key === 'run' || key === 'if') current![key] = value;
    else if (key !== 'env' && key !== 'with') throw new Error(`step key ${key} is not in this subset`);
  }
  return steps;
}

function splitKey(text: string): [string, string] {
  const colon = text.indexOf(':');
  const value = text.slice(colon + 1).trim();
  return [text.slice(0, colon).trim(), value.replace(/^'(.*)'$/, '$1').replace(/^"(.*)"$/, '$1')];
}

interface StepResult {
  name: string;
  outcome: 'success' | 'failure' | 'skipped';
  exitCode: number | null;
  output: string;
}

async function runJob(steps: Step[], workspace: string, env: Record<string, string>, secrets: Readonly<Record<string, string>>): Promise<StepResult[]> {
  const results: StepResult[] = [];
  let failed = false;
  for (const step of steps) {
    const condition = step.if ?? 'success()';
    const run = condition === 'always()' || (condition === 'failure()' ? failed : condition === 'success()' ? !failed : undefined);
    if (run === undefined) throw new Error(`if: ${condition} is not in this subset`);
    if (!run) {
      results.push({ name: step.name, outcome: 'skipped', exitCode: null, output: '' });
      continue;
    }
    if (step.uses) {
      // The checkout is `workspace`; setup-node provides this machine's node, which must be Node 20+.
      if (step.uses.startsWith('actions/setup-node@')) expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(20);
      // actions/cache: the runner's HOME lives for the whole suite, as a restored ~/.cache/shipit would.
      else if (!step.uses.startsWith('actions/checkout@') && !step.uses.startsWith('actions/cache@')) throw new Error(`uses: ${step.uses} is not simulated`);
      results.push({ name: step.name, outcome: 'success', exitCode: 0, output: '' });
      continue;
    }
    const stepEnv = Object.fromEntries(
      Object.entries(step.env).map(([key, value]) => {
        const secret = /^\$\{\{\s*secrets\.(\w+)\s*\}\}$/.exec(value);
        if (value.includes('${{') && !secret) throw new Error(`expression ${value} is not in this subset`);
        return [key, secret ? (secrets[secret[1]!] ?? '') : value];
      }),
    );
    const script = join(env.RUNNER_TEMP!, `step-${results.length}.sh`);
    writeFileSync(script, `${step.run!}\n`);
    const result = await execa('bash', ['--noprofile', '--norc', '-eo', 'pipefail', script], {
      cwd: workspace,
      env: { ...env, ...stepEnv },
      extendEnv: false,
      stdin: 'ignore',
      all: true,
      reject: false,
      timeout: 240_000,
    });
    const outcome = result.exitCode === 0 ? 'success' : 'failure';
    failed ||= outcome === 'failure';
    results.push({ name: step.name, outcome, exitCode: result.exitCode ?? null, output: String(result.all ?? '') });
  }
  return results;
}

// ---------------------------------------------------------------------------------------------------------

let lab: LabInfo;
let web3: LabHost;
let project: Project;
const tmp = mkdtempSync(join(tmpdir(), 'shipit-e2e-ci-'));
const home = join(tmp, 'home');
const runnerTemp = join(tmp, 'runner-temp');
let runNumber = 0;
let secrets: { SSH_PRIVATE_KEY: string; SSH_KNOWN_HOSTS: string };

/** What the runner gives every step. No SSH_AUTH_SOCK, no TTY; npm offline so nothing leaves the machine. */
function runnerEnv(): Record<string, string> {
  return {
    PATH: process.env.PATH!,
    HOME: home,
    LANG: 'C.UTF-8',
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_ACTOR: 'ci-bot',
    GITHUB_WORKFLOW: 'deploy',
    GITHUB_RUN_NUMBER: String(++runNumber),
    RUNNER_TEMP: runnerTemp,
    npm_config_offline: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
    npm_config_cache: join(tmp, 'npm-cache'),
  };
}

beforeAll(async () => {
  lab = readLab();
  web3 = labHost(lab, 'web3');
  await wipeApp(lab, web3.address, APP);
  mkdirSync(home, { recursive: true });
  mkdirSync(runnerTemp, { recursive: true });
  project = new Project(lab, { app: APP, port: PORT, hosts: [web3] });
  // The user's deploy.config has no ssh section: ~/.ssh/known_hosts and the default keys, as on a laptop.
  const configFile = join(project.dir, 'deploy.config.ts');
  writeFileSync(configFile, readFileSync(configFile, 'utf8').replace(/^\s*ssh: \{.*\},\n/m, ''));
  expect(readFileSync(configFile, 'utf8')).not.toMatch(/ssh:/);

  // The repository as checked out: the workflow and its script where deploy.yml says, a package.json whose
  // build stamps the version, and shipit in devDependencies (a local package folder, so `npm ci` is offline).
  mkdirSync(join(project.dir, '.github/workflows'), { recursive: true });
  mkdirSync(join(project.dir, '.github/shipit'), { recursive: true });
  copyFileSync(WORKFLOW, join(project.dir, '.github/workflows/deploy.yml'));
  copyFileSync(SCRIPT, join(project.dir, '.github/shipit/deploy.sh'));
  const vendor = join(project.dir, 'vendor/shipit');
  mkdirSync(vendor, { recursive: true });
  writeFileSync(join(vendor, 'package.json'), JSON.stringify({ name: 'shipit', version: '0.0.0-e2e', type: 'module', bin: { shipit: 'shipit.js' } }));
  writeFileSync(join(vendor, 'shipit.js'), `#!/usr/bin/env node\nawait import(${JSON.stringify(join(ROOT, 'bin/shipit.js'))});\n`);
  chmodSync(join(vendor, 'shipit.js'), 0o755);
  writeFileSync(
    join(project.dir, 'package.json'),
    JSON.stringify({
      name: 'e2e-ci-app',
      version: '1.0.0',
      private: true,
      scripts: { build: `node -e "require('fs').writeFileSync('dist/app/VERSION', 'ci-' + process.env.GITHUB_RUN_NUMBER + '\\n')"` },
      devDependencies: { shipit: 'file:vendor/shipit' },
    }),
  );
  await execa('npm', ['install', '--package-lock-only'], { cwd: project.dir, env: runnerEnv(), extendEnv: false });
  runNumber = 0;

  secrets = { SSH_PRIVATE_KEY: readFileSync(lab.identityFile, 'utf8'), SSH_KNOWN_HOSTS: readFileSync(lab.knownHostsFile, 'utf8') };
});
afterAll(async () => {
  project?.cleanup();
  rmSync(tmp, { recursive: true, force: true });
  // Free the port and the host for other suites.
  if (web3) await wipeApp(lab, web3.address, APP);
});

const keyLine = () => secrets.SSH_PRIVATE_KEY.split('\n')[2]!;
const summary = (results: StepResult[]) => results.map((r) => `${r.name}: ${r.outcome}`);

describe('examples/github-actions/deploy.yml on the lab', () => {
  it('is a release job: checkout, Node 20, npm ci, build, deploy with the secrets, status only on failure', () => {
    const steps = parseSteps(readFileSync(WORKFLOW, 'utf8'));
    expect(steps.map((s) => [s.name, s.uses ?? s.run, s.if ?? ''])).toEqual([
      ['Check out', 'actions/checkout@v4', ''],
      ['Set up Node 20', 'actions/setup-node@v4', ''],
      ['Install', 'npm ci', ''],
      ['Build', 'npm run build --if-present', ''],
      ["Cache shipit's manifests", 'actions/cache@v4', ''],
      ['Deploy', 'bash .github/shipit/deploy.sh production', ''],
      ['Status after a failed deploy', 'npx --no-install shipit status production', 'failure()'],
    ]);
    expect(steps[5]!.env).toEqual({ SSH_PRIVATE_KEY: '${{ secrets.SSH_PRIVATE_KEY }}', SSH_KNOWN_HOSTS: '${{ secrets.SSH_KNOWN_HOSTS }}' });
    expect(readFileSync(WORKFLOW, 'utf8')).toMatch(/node-version: 20/);
  });

  it('a release deploys: the key and known_hosts come from the secrets at 0600, output is plain, the key never printed', async () => {
    const results = await runJob(parseSteps(readFileSync(join(project.dir, '.github/workflows/deploy.yml'), 'utf8')), project.dir, runnerEnv(), secrets);
    const deploy = results.find((r) => r.name === 'Deploy')!;
    expect({ steps: summary(results), output: deploy.output }).toMatchObject({
      steps: ['Check out: success', 'Set up Node 20: success', 'Install: success', 'Build: success', "Cache shipit's manifests: success", 'Deploy: success', 'Status after a failed deploy: skipped'],
    });
    expect(deploy.output).toMatch(/deploy of \S+ succeeded on 1 host/);
    // Plain lines for a log, not a TTY renderer: no escape sequences, no spinner frames.
    expect(deploy.output).not.toMatch(/\u001b\[/);
    for (const r of results) expect(r.output).not.toContain(keyLine());

    expect(statSync(join(home, '.ssh')).mode & 0o777).toBe(0o700);
    expect(statSync(join(home, '.ssh/id_ed25519')).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, '.ssh/known_hosts')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(home, '.ssh/id_ed25519'), 'utf8')).toBe(`${secrets.SSH_PRIVATE_KEY.trimEnd()}\n`);

    // What the build step stamped is what serves; the audit log names the CI actor.
    expect((await httpGet(web3.address, PORT, '/readyz')).body).toMatchObject({ version: 'ci-1' });
    expect(await onHost(lab, web3.address, `cat /srv/${APP}/.shipit/history.jsonl`)).toContain('ci-bot@github-actions');
  });

  it('a failing release: the deploy step fails (exit 5, every host restored), then the status step shows the fleet', async () => {
    project.setVersion('unused', 'never-ready');
    // Secrets as pasted from a Windows editor (CRLF, extra blank lines) still give a key that parses.
    const crlf = Object.fromEntries(Object.entries(secrets).map(([k, v]) => [k, `${v.replace(/\n/g, '\r\n')}\r\n\r\n`]));
    const results = await runJob(parseSteps(readFileSync(join(project.dir, '.github/workflows/deploy.yml'), 'utf8')), project.dir, runnerEnv(), crlf);
    const deploy = results.find((r) => r.name === 'Deploy')!;
    const status = results.find((r) => r.name === 'Status after a failed deploy')!;
    expect(summary(results)).toEqual([
      'Check out: success',
      'Set up Node 20: success',
      'Install: success',
      'Build: success',
      "Cache shipit's manifests: success",
      'Deploy: failure',
      'Status after a failed deploy: success',
    ]);
    expect(deploy.exitCode).toBe(5);
    expect(deploy.output).toMatch(/every host is back on the release it ran before/);
    expect(status.output).toMatch(/^HOST\s+RELEASE\s+UNIT/m);
    expect(status.output).toMatch(new RegExp(`^web3\\s+\\S+\\s+active/running`, 'm'));
    expect((await httpGet(web3.address, PORT, '/readyz')).body).toMatchObject({ version: 'ci-1' });
    for (const r of results) expect(r.output).not.toContain(keyLine());
  });

  it('refuses to run without the secrets, saying which one is missing', async () => {
    const results = await runJob(parseSteps(readFileSync(WORKFLOW, 'utf8')).filter((s) => s.name === 'Deploy'), project.dir, runnerEnv(), { SSH_KNOWN_HOSTS: 'x' });
    expect(results[0]).toMatchObject({ outcome: 'failure' });
    expect(results[0]!.output).toMatch(/SSH_PRIVATE_KEY: is empty: add the deploy key as the repository secret SSH_PRIVATE_KEY/);
  });
});
