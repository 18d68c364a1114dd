import { SshHost, stageInodes } from '../../../src/host/ssh-host.js';
import { gzipSync } from 'node:zlib';
import { formatManifest } from '../../../src/host/parse.js';
import { sha256Hex } from '../../../src/host/manifest-cache.js';
import type { ReleaseSpec } from '../../../src/host/types.js';
import * as scripts from '../../../src/remote/scripts.js';
import { DryRunRecorder, previewDeploy } from '../../../src/rollout/preview.js';
import type { ExecOptions, ExecResult, Transport } from '../../../src/ssh/transport.js';
import { formatPlan } from '../../../src/cli/render/plan.js';
import { testConfig } from '../../support/config.js';

const layout = { deployTo: '/srv/hello', app: 'hello', serviceUser: 'hello' };
const OLD = '20261124T100000Z';
const NEW = '20261125T130000Z';
const SECRET = 'postgres://user:hunter2@db/app';

/**
 * A host as the read-only scripts see it: answers inspect, the prerequisite check and the installed units;
 * any other command is a mutation a dry run must never send, and is recorded as one.
 */
class ReadOnlyTransport implements Transport {
  readonly bytesSent = 0;
  readonly executed: string[] = [];
  readonly mutations: string[] = [];
  constructor(
    readonly name: string,
    private readonly state: { current: string | null; lock?: object; serviceUnit?: string; envChanges?: string; service?: string },
  ) {}
  /** What the read of the installed units and env got on stdin. */
  installedStdin: string | undefined;

  async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    if (typeof options.stdin === 'object' && options.stdin !== null && !Buffer.isBuffer(options.stdin)) throw new Error('a stream was opened');
    this.executed.push(command);
    const { current } = this.state;
    if (command.includes('printf "current')) {
      const releases = current ? `release\t${JSON.stringify({ id: current, createdAt: 'x', by: 'bob@ci', revision: null, state: 'good' })}\n` : '';
      const lock = this.state.lock ? `lock\t${JSON.stringify(this.state.lock)}\n` : '';
      return ok(`current\t${current ? `releases/${current}` : ''}\n${lock}${releases}${this.state.service ?? 'svc\tActiveState=active\n'}`);
    }
    if (command.includes('prereq: systemd')) {
      const manifest = formatManifest([{ path: 'app/main.py', mode: 0o644, size: 3, sha256: 'sha-main' }]);
      return ok(current ? `base ${current} ${sha256Hex(manifest)}\n${gzipSync(manifest).toString('base64')}\n` : '');
    }
    if (command.includes('base64 -w0')) {
      const unit = this.state.serviceUnit;
      this.installedStdin = options.stdin?.toString();
      return ok(`${this.state.envChanges ?? ''}` + `absent\thello.socket\n${unit ? `unit\thello.service\t${Buffer.from(unit).toString('base64')}\n` : 'absent\thello.service\n'}`);
    }
    this.mutations.push(command);
    return ok('');
  }
  async httpGet(): Promise<never> {
    throw new Error('no probe in a dry run');
  }
  async close(): Promise<void> {}
}

const ok = (stdout: string): ExecResult => ({ code: 0, stdout, stderr: '' });

function release(): ReleaseSpec {
  return {
    meta: { id: NEW, createdAt: '2026-11-25T13:00:00Z', by: 'alice@laptop', revision: 'abc', state: 'staged' },
    files: [
      { path: 'app/main.py', mode: 0o644, size: 3, sha256: 'sha-main' },
      { path: 'app/VERSION', mode: 0o644, size: 3, sha256: 'sha-v2' },
    ],
    openTar: () => {
      throw new Error('a dry run must not pack the artifact');
    },
    units: [
      { name: 'hello.socket', content: '[Socket]\nListenStream=8000\n' },
      { name: 'hello.service', content: '[Service]\nExecStart=gunicorn -w 4\n' },
    ],
    env: 'LOG_LEVEL="info"\n',
    secrets: `DATABASE_URL="${SECRET}"\n`,
    prerequisites: [],
    diskBytes: 0,
  };
}

function setup(states: Record<string, ConstructorParameters<typeof ReadOnlyTransport>[1]>) {
  const recorder = new DryRunRecorder();
  const transports = new Map(Object.entries(states).map(([name, s]) => [name, new ReadOnlyTransport(name, s)] as const));
  const hosts = new Map(
    [...transports].map(([name, t]) => [
      name,
      new SshHost(name, t, { layout, sshUser: 'root', port: 8000, commandTimeoutMs: 1000, dryRun: recorder.record, onCommand: recorder.ran, manifests: null }),
    ] as const),
  );
  const config = testConfig({ hosts: Object.keys(states).map((name) => ({ name, host: name, user: 'root', port: 22 })) });
  const lock = { by: 'alice@laptop', pid: 42, at: '2026-11-25T13:00:00Z', release: NEW, message: '', token: 'tok-1' };
  return { recorder, transports, hosts, config, lock };
}

describe('dry run of a deploy (shipit plan)', () => {
  it('runs only read-only scripts on the hosts and records the exact commands of every mutating step', async () => {
    const s = setup({ web1: { current: OLD, serviceUnit: '[Service]\nExecStart=gunicorn -w 2\n' }, web2: { current: OLD }, web3: { current: null } });
    const preview = await previewDeploy({ config: s.config, hosts: s.hosts, recorder: s.recorder, lock: s.lock }, release());

    for (const t of s.transports.values()) expect(t.mutations).toEqual([]);
    expect(preview.blockers).toEqual([]);
    expect(preview.batches).toEqual([['web1'], ['web2'], ['web3']]);

    const recorded = (host: string) => preview.steps.filter((st) => st.host === host && !st.readOnly);
    const cmd = (body: string) => scripts.privileged(body, 'root');
    expect(recorded('web1').map((st) => [st.phase, st.label, st.command])).toEqual([
      ['lock', 'lock', cmd(scripts.lockScript(layout))],
      [
        'prepare',
        'stage',
        cmd(
          scripts.stageScript(layout, NEW, {
            env: 'LOG_LEVEL="info"\n',
            base: OLD,
            dropBytes: 0,
            sentBytes: Buffer.byteLength(formatManifest([release().files[1]!])),
            sentFiles: 1,
            inodes: stageInodes(release(), 1),
            finalize: { metaJson: JSON.stringify(release().meta), units: release().units },
          }),
        ),
      ],
      ['rollout', `activate ${NEW}`, cmd(scripts.activateScript(layout, NEW, s.config.health.healthyDeadline))],
      // Mark, prune and unlock in one step, as a deploy runs it.
      ['finish', `mark ${NEW} good, unlock`, expect.stringMatching(/"state":"good"[\s\S]*"token":"tok-1"[\s\S]*rm -rf "\$S\/lock"/)],
      ['revert', `activate ${OLD}`, cmd(scripts.activateScript(layout, OLD, s.config.health.healthyDeadline))],
    ]);
    // A host that ran nothing goes back to nothing.
    expect(recorded('web3').at(-1)).toMatchObject({ phase: 'revert', label: 'deactivate', command: cmd(scripts.deactivateScript(layout)) });
    // What the steps read on stdin is described; secret values never appear.
    expect(JSON.stringify(preview)).not.toContain('hunter2');
    expect(recorded('web1').find((st) => st.label === 'stage')!.stdin).toBe(
      `secrets.env (1 variable(s), values never shown); 0 path(s) of ${OLD} not reused; manifest lines of 1 file(s) sent; ` +
        `gzipped tar of 1 file(s), 3 bytes before compression; 1 file(s) linked from ${OLD}`,
    );
    // The read-only steps did run, and are listed as such.
    expect(preview.steps.filter((st) => st.readOnly && st.host === 'web1').map((st) => st.label).sort()).toEqual(['check prerequisites', 'inspect', 'installed units, env changes']);
  });

  it('says what would be sent or reused per host and diffs every unit file that would change', async () => {
    const s = setup({ web1: { current: OLD, serviceUnit: '[Service]\nExecStart=gunicorn -w 2\n' }, web2: { current: null } });
    const preview = await previewDeploy({ config: s.config, hosts: s.hosts, recorder: s.recorder, lock: s.lock }, release());
    const [web1, web2] = preview.hosts;
    expect(web1!.files).toEqual({ sent: 1, reused: 1, sentPaths: ['app/VERSION'], base: OLD, alreadyStaged: false });
    expect(web2!.files).toMatchObject({ sent: 2, reused: 0, sentPaths: ['app/main.py', 'app/VERSION'] });
    expect(web1!.units.map((u) => [u.name, u.change])).toEqual([
      ['hello.socket', 'new'],
      ['hello.service', 'changed'],
    ]);
    expect(web1!.units[1]!.diff).toBe(
      [
        '--- /etc/systemd/system/hello.service (installed)',
        '+++ /etc/systemd/system/hello.service (this release)',
        '@@ -1,2 +1,2 @@',
        ' [Service]',
        '-ExecStart=gunicorn -w 2',
        '+ExecStart=gunicorn -w 4',
        '',
      ].join('\n'),
    );

    const text = formatPlan(preview, { environment: 'production', files: 2, bytes: 6 });
    expect(text).toContain('web1  now on 20261124T100000Z; send 1 file, reuse 1 from 20261124T100000Z; units: hello.socket new, hello.service changed');
    // A first deploy there, in words: not "now on (nothing)".
    expect(text).toMatch(/^  web2  not deployed yet \(first release\); send 2 files, reuse 0; /m);
    expect(text).toContain('web1: /etc/systemd/system/hello.service (changed)');
    expect(text).toContain('web1, web2: lock  (stdin:');
    expect(text).toContain(`$ ${scripts.privileged(scripts.lockScript(layout), 'root')}`);
  });

  it('says when a host\'s service was stopped by hand (the deploy starts it) or runs another release than `current`', async () => {
    const s = setup({
      web1: { current: OLD, service: 'svc\tActiveState=inactive\nsvc\tSubState=dead\nsvc\tMainPID=0\n' },
      web2: { current: OLD, service: `svc\tActiveState=active\nsvc\tSubState=running\nsvc\tMainPID=812\nsvc\tCwd=/srv/hello/releases/20261123T100000Z\n` },
      web3: { current: OLD, service: `svc\tActiveState=active\nsvc\tSubState=running\nsvc\tMainPID=813\nsvc\tCwd=/srv/hello/releases/${OLD}\n` },
    });
    const preview = await previewDeploy({ config: s.config, hosts: s.hosts, recorder: s.recorder, lock: s.lock }, release());
    const text = formatPlan(preview, { environment: 'production', files: 2, bytes: 6 });
    expect(text).toContain(`web1  now on ${OLD} (service inactive/dead: the deploy starts it); send`);
    expect(text).toContain(`web2  now on ${OLD} (the service runs 20261123T100000Z); send`);
    expect(text).toContain(`web3  now on ${OLD}; send`);
  });

  it('says under the artifact what was left out of build.dir, and when git ignores build.dir as a whole', async () => {
    const s = setup({ web1: { current: OLD } });
    const preview = await previewDeploy({ config: s.config, hosts: s.hosts, recorder: s.recorder, lock: s.lock }, release());
    const text = formatPlan(preview, { environment: 'production', files: 2, bytes: 6, leftOut: 'left out of build.dir: node_modules/ (ignored by git)', gitignore: 'dir-ignored' });
    expect(text).toContain('artifact: 2 files, 1 KiB\n  left out of build.dir: node_modules/ (ignored by git)\n  build.dir is ignored by git as a whole');
  });

  it('shows nothing that depends on the secrets: their length rides on stdin, never in a command', async () => {
    const stageFor = async (secret: string) => {
      const s = setup({ web1: { current: OLD } });
      const preview = await previewDeploy({ config: s.config, hosts: s.hosts, recorder: s.recorder, lock: s.lock }, { ...release(), secrets: `TOKEN="${secret}"\n` });
      const { command, stdin } = preview.steps.find((st) => st.label === 'stage')!;
      return { command, stdin };
    };
    // secrets.env of 17 bytes and of 49: the same command and stdin note, down to the byte.
    const short = await stageFor('s3cret-a');
    expect(await stageFor('s3cret-b'.repeat(5))).toEqual(short);
    expect(short.command).not.toMatch(/head -c 17\b/);
  });

  it('says which env and secret names would change, per host or once for hosts that agree; never a value', async () => {
    const changed = 'env\tchanged\ts DATABASE_URL\nenv\tadded\te NEW_FLAG\nenv\tremoved\te OLD\n';
    const s = setup({ web1: { current: OLD, envChanges: changed }, web2: { current: OLD, envChanges: changed }, web3: { current: OLD } });
    const preview = await previewDeploy({ config: s.config, hosts: s.hosts, recorder: s.recorder, lock: s.lock }, release());
    expect(preview.hosts.map((h) => h.env)).toEqual([
      [
        { file: 'env', name: 'NEW_FLAG', change: 'added' },
        { file: 'env', name: 'OLD', change: 'removed' },
        { file: 'secrets', name: 'DATABASE_URL', change: 'changed' },
      ],
      expect.any(Array),
      [],
    ]);
    // The host compared the lines the deploy would write (sent on stdin, as a stage sends them) with its own.
    expect(s.transports.get('web1')!.installedStdin).toBe(`+e LOG_LEVEL="info"\n+s DATABASE_URL="${SECRET}"\n`);
    const text = formatPlan(preview, { environment: 'production', files: 2, bytes: 6 });
    expect(text).toContain(
      [
        'shared/env and shared/secrets.env against what each host has now (names only, never values):',
        '  web1, web2: env: NEW_FLAG added, OLD removed; secrets: DATABASE_URL changed',
        '  web3: unchanged',
      ].join('\n'),
    );
    expect(text).not.toContain('hunter2');
    expect(JSON.stringify(preview)).not.toContain('hunter2');
  });

  it('an id a host has already (a deploy built in the same second): previewed under the next one, as the deploy goes out, not as a blocker', async () => {
    const s = setup({ web1: { current: NEW }, web2: { current: OLD } });
    const preview = await previewDeploy({ config: s.config, hosts: s.hosts, recorder: s.recorder, lock: s.lock }, release());
    expect(preview.blockers).toEqual([]);
    expect(preview.release).toBe(`${NEW}-02`);
    expect(preview.steps.filter((step) => step.phase === 'rollout').map((step) => [step.host, step.label])).toEqual([
      ['web1', `activate ${NEW}-02`],
      ['web2', `activate ${NEW}-02`],
    ]);
  });

  it('reports what would stop the deploy: a lock someone holds', async () => {
    const s = setup({ web1: { current: OLD, lock: { by: 'bob@ci', pid: 7, at: 'then', release: null, message: 'db migration', token: 'tok-b' } } });
    const preview = await previewDeploy({ config: s.config, hosts: s.hosts, recorder: s.recorder, lock: s.lock }, release());
    expect(preview.blockers).toEqual([{ host: 'web1', code: 'LOCK_HELD', message: 'web1: deploy lock held by bob@ci (pid 7) since then: "db migration"' }]);
    expect(s.transports.get('web1')!.mutations).toEqual([]);
  });
});
