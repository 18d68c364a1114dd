// The deploy tools compared, each behind one interface: set up its app on the hosts (the same units, rendered
// by shipit, for every tool), then deploy the shared artifact as it is now. Every run happens inside the
// client namespace, so its bytes and logins are its own.
import { execa } from 'execa';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { onHosts, type LabHost, type LabInfo } from '../lib/lab.js';
import { measure, type MeasuredRun } from '../lib/measure.js';
import { CLIENT_NS, inNamespace } from '../lib/netns.js';
import { forgetHosts, renderUnitsFor, runShipit, wipeAppScript, writeShipitConfig, type ShipitRun } from '../lib/shipit.js';
import { ROOT, workDir } from '../lib/util.js';

export interface ToolContext {
  lab: LabInfo;
  hosts: LabHost[];
  /** shipit's build.dir; the scenario bumps its VERSION before each round. */
  artifactDir: string;
  /** The same tree plus the files shipit adds to each release (syncReleaseTree): what the other tools ship. */
  releaseDir: string;
  readyTimeoutS: number;
}

export interface DeployTool {
  name: string;
  app: string;
  port: number;
  /** Restarts every host at once (else one at a time). */
  parallel: boolean;
  setup(): Promise<void>;
  deploy(releaseId: string): Promise<MeasuredRun | ShipitRun>;
}

/** The same readiness condition for every tool: GET /readyz answers 200 once, polled every 200 ms. */
export const SAME_READINESS = (deadlineS: number) =>
  `{ liveness: '/healthz', readiness: '/readyz', interval: '200ms', timeout: '2s', successes: 1, minHealthyTime: '0s', healthyDeadline: '${deadlineS}s' }`;

function projectFor(ctx: ToolContext, app: string, port: number, rollout: string): string {
  return writeShipitConfig(workDir('apps', app), ctx.lab, { app, port, hosts: ctx.hosts, artifactDir: ctx.artifactDir, health: SAME_READINESS(ctx.readyTimeoutS), rollout });
}

/** Units shipit renders for `app`, installed by hand for a tool that does not manage units; fresh app dirs. */
export async function installUnits(ctx: ToolContext, app: string, port: number, units?: { name: string; content: string }[]): Promise<void> {
  const rendered = units ?? (await renderUnitsFor(projectFor(ctx, app, port, '{ canary: 1, maxParallel: 1 }')));
  const write = rendered.map((u) => `printf %s '${Buffer.from(u.content).toString('base64')}' | base64 -d > /etc/systemd/system/${u.name}`);
  await onHosts(
    ctx.lab,
    ctx.hosts,
    [
      wipeAppScript(app),
      `id -u ${app} > /dev/null 2>&1 || useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin ${app}`,
      `mkdir -p /srv/${app}/releases /srv/${app}/shared && chown -R deploy:deploy /srv/${app} && chmod 755 /srv/${app}`,
      ...write,
      'systemctl daemon-reload',
      rendered.some((u) => u.name.endsWith('.socket')) ? `systemctl enable --quiet --now ${app}.socket` : `systemctl enable --quiet ${app}.service`,
    ].join('\n'),
  );
}

export function shipitTool(ctx: ToolContext, name: string, app: string, port: number, rollout: string, parallel: boolean, bin?: string): DeployTool & { project: string } {
  const project = projectFor(ctx, app, port, rollout);
  return {
    name,
    app,
    port,
    parallel,
    project,
    setup: async () => {
      await onHosts(ctx.lab, ctx.hosts, wipeAppScript(app));
      forgetHosts(app);
    },
    deploy: () => runShipit(project, ['deploy', 'bench', '--json'], bin ? { bin } : {}),
  };
}

export function opensshTool(ctx: ToolContext, name: string, app: string, port: number, parallel: boolean, units?: { name: string; content: string }[]): DeployTool & { activate(id: string): Promise<MeasuredRun> } {
  const env = {
    ...process.env,
    APP: app,
    PORT: String(port),
    HOSTS: ctx.hosts.map((h) => h.address).join(' '),
    KEY: ctx.lab.identityFile,
    KNOWN_HOSTS: ctx.lab.knownHostsFile,
    ARTIFACT: ctx.releaseDir,
    READY_TIMEOUT: String(ctx.readyTimeoutS),
    PARALLEL: parallel ? '1' : '0',
  };
  const script = join(ROOT, 'bench/tools/openssh-deploy.sh');
  return {
    name,
    app,
    port,
    parallel,
    setup: () => installUnits(ctx, app, port, units),
    deploy: (id) => measure(inNamespace(CLIENT_NS, ['bash', script, 'deploy', id]), { env }),
    activate: (id) => measure(inNamespace(CLIENT_NS, ['bash', script, 'activate', id]), { env }),
  };
}

export function shipitjsTool(ctx: ToolContext, app: string, port: number): DeployTool {
  // shipit-deploy takes the revision of its workspace from git: a work tree holding a copy of the artifact.
  const workspace = workDir('shipitjs', 'workspace');
  const git = (...args: string[]) => execa('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@localhost', ...args], { cwd: workspace });
  const env = {
    ...process.env,
    BENCH_APP: app,
    BENCH_PORT: String(port),
    BENCH_HOSTS: ctx.hosts.map((h) => h.address).join(' '),
    BENCH_ARTIFACT: workspace,
    BENCH_KEY: ctx.lab.identityFile,
    BENCH_KNOWN_HOSTS: ctx.lab.knownHostsFile,
    BENCH_READY_TIMEOUT: String(ctx.readyTimeoutS),
    FORCE_COLOR: '0',
  };
  return {
    name: 'shipitjs 5.3 (shipit-deploy)',
    app,
    port,
    parallel: false,
    setup: async () => {
      await installUnits(ctx, app, port);
      await git('init', '-q');
    },
    deploy: async () => {
      await execa('rsync', ['-a', '--delete', '--exclude=.git', '--exclude=__pycache__', `${ctx.releaseDir}/`, `${workspace}/`]);
      await git('add', '-A');
      await git('commit', '-q', '--allow-empty', '-m', 'release');
      return measure(inNamespace(CLIENT_NS, ['node', join(ROOT, 'node_modules/shipit-cli/bin/shipit'), '--shipitfile', join(ROOT, 'bench/tools/shipitfile.cjs'), 'bench', 'deploy']), { env, cwd: workDir('shipitjs') });
    },
  };
}

export function ansibleTool(ctx: ToolContext, app: string, port: number): DeployTool {
  const dir = workDir('ansible');
  const inventory = join(dir, 'inventory.ini');
  const config = join(dir, 'ansible.cfg');
  let run = 0;
  return {
    name: 'Ansible (ansible-core 2.14)',
    app,
    port,
    parallel: false,
    setup: async () => {
      await installUnits(ctx, app, port);
      writeFileSync(
        inventory,
        `[bench]\n${ctx.hosts.map((h) => `${h.name} ansible_host=${h.address} ansible_user=deploy ansible_ssh_private_key_file=${ctx.lab.identityFile}`).join('\n')}\n`,
      );
    },
    deploy: async (id) => {
      // A fresh ControlPath directory per run: no run rides on the previous run's persistent connections.
      const control = workDir('ansible', 'cp', String(run++));
      writeFileSync(
        config,
        [
          '[defaults]',
          `inventory = ${inventory}`,
          'host_key_checking = True',
          'forks = 10',
          'interpreter_python = /usr/bin/python3',
          'retry_files_enabled = False',
          '[ssh_connection]',
          // Ansible's default ssh_args plus the lab's known_hosts; pipelining is the documented speed-up.
          `ssh_args = -C -o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=${ctx.lab.knownHostsFile} -o IdentitiesOnly=yes`,
          `control_path_dir = ${control}`,
          'pipelining = True',
          '',
        ].join('\n'),
      );
      const vars = JSON.stringify({ app, port, release: id, artifact: ctx.releaseDir, tarball: join(dir, 'release.tgz'), ready_retries: ctx.readyTimeoutS * 2 });
      const result = await measure(inNamespace(CLIENT_NS, ['ansible-playbook', join(ROOT, 'bench/tools/ansible/deploy.yml'), '-e', vars]), {
        env: { ...process.env, ANSIBLE_CONFIG: config, ANSIBLE_NOCOLOR: '1' },
        cwd: dir,
      });
      // Close the persistent masters Ansible left behind (ControlPersist=60s), by their sockets.
      for (const sock of readdirSync(control)) await execa('ssh', ['-o', `ControlPath=${join(control, sock)}`, '-O', 'exit', 'x'], { reject: false });
      return result;
    },
  };
}
