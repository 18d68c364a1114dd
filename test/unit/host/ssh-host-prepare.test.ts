// SshHost.prepare's protocol with the host, on a scripted transport: when the host's current manifest comes
// back (and when it does not), what is sent, and that a staged manifest differing from the deployer's fails.
import { gzipSync } from 'node:zlib';
import { Readable } from 'node:stream';
import { memoryManifestCache, sha256Hex } from '../../../src/host/manifest-cache.js';
import { formatManifest, manifestDelta } from '../../../src/host/parse.js';
import { SshHost, stageInodes } from '../../../src/host/ssh-host.js';
import { ShipitError } from '../../../src/lib/errors.js';
import type { ManifestEntry, ReleaseSpec } from '../../../src/host/types.js';
import type { ExecOptions, ExecResult, Transport } from '../../../src/ssh/transport.js';

const layout = { deployTo: '/srv/hello', app: 'hello', serviceUser: 'hello' };
const BASE: ManifestEntry[] = [
  { path: 'app/main.py', mode: 0o644, size: 3, sha256: 'a'.repeat(64) },
  { path: 'app/VERSION', mode: 0o644, size: 2, sha256: 'b'.repeat(64) },
];
const BASE_TEXT = formatManifest(BASE);
const NEXT: ManifestEntry[] = [BASE[0]!, { path: 'app/VERSION', mode: 0o644, size: 2, sha256: 'c'.repeat(64) }];

/** Answers the check as a host whose current release is r1, and the stage with the manifest sha it is told to. */
class ScriptedHost implements Transport {
  readonly name = 'web1';
  readonly bytesSent = 0;
  readonly commands: string[] = [];
  stagedSha: (expected: string) => string = (expected) => expected;
  /** What a stage with the check folded in answers. */
  foldedStage: 'ok' | 'base changed' | 'prereq' | 'conflict' = 'ok';
  async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    this.commands.push(command);
    if (command.includes('mkdir "$S/lock"')) {
      return ok(`acquired\ncurrent\treleases/r1\nrelease\t{"id":"r1","createdAt":"x","by":"bob","revision":null,"state":"good"}\nmanifest\t${sha256Hex(BASE_TEXT)}\n`);
    }
    if (command.includes('head -c') && command.includes('base changed')) {
      if (this.foldedStage === 'base changed') return { code: 5, stdout: 'base changed\n', stderr: '' };
      if (this.foldedStage === 'prereq') return { code: 3, stdout: 'prereq: gunicorn is not installed\n', stderr: '' };
      if (this.foldedStage === 'conflict') return { code: 3, stdout: 'prereq: shop.service serves /srv/shop\nprereq-conflict\nprereq: gunicorn is not installed\n', stderr: '' };
    }
    if (command.includes('prereq: systemd') && !command.includes('head -c')) {
      const sha = sha256Hex(BASE_TEXT);
      const known = command.includes(`r1 ${sha}`);
      return ok(`base r1 ${sha}\n${known ? '' : `${gzipSync(BASE_TEXT).toString('base64')}\n`}`);
    }
    if (command.includes('head -c')) {
      if (options.stdin instanceof Readable) for await (const _ of options.stdin) void _;
      return ok(`manifest\t${this.stagedSha(sha256Hex(manifestDelta(NEXT, BASE_TEXT.trim().split('\n')).manifest))}\n`);
    }
    return ok('');
  }
  async httpGet(): Promise<never> {
    throw new Error('no probe in prepare');
  }
  async close(): Promise<void> {}
}

const ok = (stdout: string): ExecResult => ({ code: 0, stdout, stderr: '' });

/** `inner`, counting every stdin byte handed to it in bytesSent, as the SSH transport counts its channels' data. */
function counting(inner: Transport): Transport & { bytesSent: number } {
  const transport = {
    name: inner.name,
    bytesSent: 0,
    async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
      let stdin = options.stdin;
      if (stdin instanceof Readable) {
        const chunks: Buffer[] = [];
        for await (const chunk of stdin) chunks.push(Buffer.from(chunk as Buffer));
        stdin = Buffer.concat(chunks);
      }
      if (stdin !== undefined) transport.bytesSent += Buffer.byteLength(stdin);
      return inner.exec(command, { ...options, ...(stdin === undefined ? {} : { stdin }) });
    },
    httpGet: inner.httpGet.bind(inner),
    close: inner.close.bind(inner),
  };
  return transport;
}

function release(): ReleaseSpec {
  return {
    meta: { id: 'r2', createdAt: 'x', by: 'alice@laptop', revision: null, state: 'staged' },
    files: NEXT,
    openTar: () => Readable.from([Buffer.from('tar')]),
    units: [{ name: 'hello.service', content: '[Service]\n' }],
    env: '',
    secrets: 'TOKEN="s3cret"\n',
    prerequisites: [],
    diskBytes: 0,
  };
}

describe('SshHost.prepare and the manifest cache', () => {
  it('asks the host for its manifest once; the next deploy names it by sha256 and the host sends only the sum', async () => {
    const manifests = memoryManifestCache();
    const transport = new ScriptedHost();
    const host = new SshHost('web1', transport, { layout, sshUser: 'root', port: 8000, commandTimeoutMs: 1000, manifests });
    const first = await host.prepare(release());
    expect(first).toMatchObject({ filesSent: 1, filesReused: 1, base: 'r1', sentPaths: ['app/VERSION'] });
    // The base manifest that came back, and the release's own, are cached under their sha256.
    expect(await manifests.read('hello', 'r1', sha256Hex(BASE_TEXT))).toBe(BASE_TEXT);
    const staged = manifestDelta(NEXT, BASE_TEXT.trim().split('\n')).manifest;
    expect(await manifests.read('hello', 'r2', sha256Hex(staged))).toBe(staged);

    transport.commands.length = 0;
    await host.prepare(release());
    expect(transport.commands[0]).toContain(`r1 ${sha256Hex(BASE_TEXT)}`);
  });

  it('fails, naming the host, when the manifest staged on the host is not the release\'s', async () => {
    const transport = new ScriptedHost();
    transport.stagedSha = () => 'd'.repeat(64);
    const host = new SshHost('web1', transport, { layout, sshUser: 'root', port: 8000, commandTimeoutMs: 1000, manifests: memoryManifestCache() });
    await expect(host.prepare(release())).rejects.toThrow(/^web1: the manifest staged on the host \(sha256 d{64}\) is not the release's/);
  });

  it('asks the host again when a cached manifest it named has gone from the cache', async () => {
    const manifests = memoryManifestCache();
    await manifests.put('hello', 'r1', BASE_TEXT);
    manifests.entries.clear();
    manifests.known = async () => [{ release: 'r1', sha256: sha256Hex(BASE_TEXT) }];
    const transport = new ScriptedHost();
    const host = new SshHost('web1', transport, { layout, sshUser: 'root', port: 8000, commandTimeoutMs: 1000, manifests });
    expect(await host.prepare(release())).toMatchObject({ filesSent: 1, filesReused: 1 });
    const checks = transport.commands.filter((c) => c.includes('prereq: systemd'));
    expect(checks).toHaveLength(2);
    expect(checks[1]).not.toContain(`r1 ${sha256Hex(BASE_TEXT)}`);
  });
});

describe('SshHost.prepare after the lock (the check folded into the stage)', () => {
  const lockInfo = { by: 'alice@laptop', pid: 1, at: 'x', release: 'r2', message: '', token: 't1' };
  const isCheck = (c: string) => c.includes('prereq: systemd') && !c.includes('head -c');
  const isStage = (c: string) => c.includes('head -c');

  /** A host locked by this run, whose current release r1's manifest the deployer has cached. */
  async function lockedWithCachedBase(foldedStage: ScriptedHost['foldedStage'] = 'ok') {
    const manifests = memoryManifestCache();
    await manifests.put('hello', 'r1', BASE_TEXT);
    const transport = new ScriptedHost();
    transport.foldedStage = foldedStage;
    const host = new SshHost('web1', transport, { layout, sshUser: 'root', port: 8000, commandTimeoutMs: 1000, manifests });
    await host.lock(lockInfo);
    return { transport, host };
  }

  it('stages in one command when the lock named the current release and the cache has its manifest', async () => {
    const { transport, host } = await lockedWithCachedBase();
    expect(await host.prepare(release())).toMatchObject({ filesSent: 1, filesReused: 1, base: 'r1', sentPaths: ['app/VERSION'] });
    expect(transport.commands.filter(isCheck)).toHaveLength(0);
    const [stage] = transport.commands.filter(isStage);
    // The stage checks the prerequisites and the assumed current release itself.
    expect(stage).toContain('prereq: systemd');
    expect(stage).toContain(sha256Hex(BASE_TEXT));
    // The lock's knowledge is used once: a second prepare (without a new lock) checks first.
    transport.commands.length = 0;
    await host.prepare(release());
    expect(transport.commands.filter(isCheck)).toHaveLength(1);
  });

  it('checks first when the cache lacks the manifest the lock named, and on a dry run', async () => {
    const transport = new ScriptedHost();
    const host = new SshHost('web1', transport, { layout, sshUser: 'root', port: 8000, commandTimeoutMs: 1000, manifests: memoryManifestCache() });
    await host.lock(lockInfo);
    await host.prepare(release());
    expect(transport.commands.filter(isCheck)).toHaveLength(1);

    const manifests = memoryManifestCache();
    await manifests.put('hello', 'r1', BASE_TEXT);
    const dry = new ScriptedHost();
    const dryHost = new SshHost('web1', dry, { layout, sshUser: 'root', port: 8000, commandTimeoutMs: 1000, manifests, dryRun: () => {} });
    await dryHost.lock(lockInfo);
    await dryHost.prepare(release());
    expect(dry.commands.filter(isCheck)).toHaveLength(1);
  });

  it('checks and stages again when the host says its current release is not the one assumed', async () => {
    const { transport, host } = await lockedWithCachedBase('base changed');
    expect(await host.prepare(release())).toMatchObject({ filesSent: 1, filesReused: 1, base: 'r1' });
    expect(transport.commands.map((c) => (isCheck(c) ? 'check' : isStage(c) ? 'stage' : 'other'))).toEqual(['other', 'stage', 'check', 'stage']);
  });

  it('a conflict among them (another environment\'s units) is a config error (exit 2), whatever else is missing', async () => {
    const { host } = await lockedWithCachedBase('conflict');
    const error = await host.prepare(release()).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'CONFIG_CONFLICT', exitCode: 2, message: 'web1: shop.service serves /srv/shop; gunicorn is not installed' });
  });

  it('reports missing prerequisites from the folded check as the check would', async () => {
    const { host } = await lockedWithCachedBase('prereq');
    await expect(host.prepare(release())).rejects.toMatchObject({ code: 'PREREQUISITE_MISSING', message: 'web1: gunicorn is not installed' });
  });
});

describe('SshHost.record at the end of a run', () => {
  it('marks, prunes (releases and unused dependency sets) and releases its own lock in one command', async () => {
    const transport = new ScriptedHost();
    const host = new SshHost('web1', transport, { layout, sshUser: 'deploy', port: 8000, commandTimeoutMs: 1000, manifests: null });
    await host.record('r2', 'good', null, { prune: ['r0'], unlock: 't1' });
    expect(transport.commands).toHaveLength(1);
    const [command] = transport.commands;
    expect(command).toMatch(/^sudo -n sh -c /);
    const order = ['"state":"good"', 'for r in r0; do', '"$D"/deps/python/*', '"token":"t1"'].map((needle) => command!.indexOf(needle));
    expect(order.every((at) => at >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });
});

describe('SshHost.lock staging the release in the same command', () => {
  const lockInfo = { by: 'alice@laptop', pid: 1, at: 'x', release: 'r2', message: '', token: 't1' };
  const DESTINATION = 'web1: deploy@10.0.0.1:22';
  const stagedSha = sha256Hex(manifestDelta(NEXT, BASE_TEXT.trim().split('\n')).manifest);
  const LOCKED = `acquired\ncurrent\tr1\nrelease\t{"id":"r1","createdAt":"x","by":"bob","revision":null,"state":"good"}\nmanifest\t${sha256Hex(BASE_TEXT)}\n`;

  /** Answers the lock command with a stage as a host in `mode` would; everything else as ScriptedHost. */
  class LockStageHost extends ScriptedHost {
    mode: 'ok' | 'base changed' | 'held' | 'prereq' | 'exists' | 'read-only' | 'aborted' = 'ok';
    stdins: Buffer[] = [];
    override async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
      if (!command.includes('echo staging')) return super.exec(command, options);
      this.commands.push(command);
      const chunks: Buffer[] = [];
      if (Buffer.isBuffer(options.stdin)) chunks.push(options.stdin);
      else if (options.stdin instanceof Readable) for await (const c of options.stdin) chunks.push(Buffer.from(c as Buffer));
      this.stdins.push(Buffer.concat(chunks));
      switch (this.mode) {
        case 'ok':
          return ok(`${LOCKED}staging\nmanifest\t${stagedSha}\n`);
        case 'base changed':
          return { code: 5, stdout: `${LOCKED}staging\nbase changed\n`, stderr: '' };
        case 'prereq':
          return { code: 3, stdout: `${LOCKED}staging\nprereq: gunicorn is not installed\n`, stderr: '' };
        case 'exists':
          return ok(`${LOCKED}exists\n`);
        case 'held':
          return ok('held\n{"by":"bob@ci","pid":2,"at":"y","token":"tb"}');
        case 'aborted':
          throw new ShipitError('ABORTED', 'web1: interrupted');
        case 'read-only':
          return { code: 1, stdout: '', stderr: "mkdir: cannot create directory '/srv/hello/.shipit': Read-only file system\n" };
      }
    }
  }

  const kind = (c: string) =>
    c.includes('echo staging') ? 'lock+stage'
    : c.includes('mkdir "$S/lock"') ? 'lock'
    : c.includes('rm -rf "$D/releases/.r2.tmp"') ? 'discard'
    : c.includes('"token":"t1"') ? 'unlock'
    : c.includes('prereq: systemd') && !c.includes('head -c') ? 'check'
    : c.includes('head -c') ? 'stage'
    : c.includes('systemctl restart') ? 'activate'
    : 'other';

  /** A host this deployer left running r1 (the manifest cached), in `mode`. */
  async function hostRunningR1(mode: LockStageHost['mode'] = 'ok', options: { destination?: string; dryRun?: boolean; wrap?: (t: Transport) => Transport } = {}) {
    const manifests = memoryManifestCache();
    await manifests.put('hello', 'r1', BASE_TEXT);
    await manifests.setRunning('hello', DESTINATION, { release: 'r1', sha256: sha256Hex(BASE_TEXT) });
    const transport = new LockStageHost();
    transport.mode = mode;
    const host = new SshHost('web1', options.wrap?.(transport) ?? transport, {
      layout,
      sshUser: 'root',
      port: 8000,
      commandTimeoutMs: 1000,
      manifests,
      destination: 'destination' in options ? options.destination : DESTINATION,
      ...(options.dryRun ? { dryRun: () => {} } : {}),
    });
    return { manifests, transport, host };
  }

  it('locks and stages in one command, and prepare then returns that without asking the host again', async () => {
    const { transport, host, manifests } = await hostRunningR1();
    const locked = await host.lock(lockInfo, release());
    expect(locked).toMatchObject({ acquired: true, state: { current: 'r1' } });
    expect(await host.prepare(release())).toMatchObject({ filesSent: 1, filesReused: 1, base: 'r1', sentPaths: ['app/VERSION'], withLock: true });
    expect(transport.commands.map(kind)).toEqual(['lock+stage']);
    // One stdin: the lock info first (its byte count is in the script), then the secrets and the stage's parts.
    const info = JSON.stringify(lockInfo);
    expect(transport.commands[0]).toContain(`head -c ${Buffer.byteLength(info)} > "$S/lock/info.json"`);
    expect(transport.stdins[0]!.toString().startsWith(`${info}15\nTOKEN="s3cret"\n`)).toBe(true);
    expect(transport.commands[0]).not.toContain('s3cret');
    // The staged manifest is cached like any stage's.
    expect(await manifests.read('hello', 'r2', stagedSha)).not.toBeNull();
  });

  it('stages after the lock as before when the guess was wrong, when nothing is known, and on a dry run', async () => {
    const changed = await hostRunningR1('base changed');
    await changed.host.lock(lockInfo, release());
    const report = await changed.host.prepare(release());
    expect(report).toMatchObject({ filesSent: 1, base: 'r1' });
    expect(report.withLock).toBeUndefined();
    // The lock named r1 (whose manifest is cached): the stage with the folded check, as without a guess.
    expect(changed.transport.commands.map(kind)).toEqual(['lock+stage', 'stage']);

    const unknown = await hostRunningR1('ok', { destination: undefined });
    await unknown.host.lock(lockInfo, release());
    await unknown.host.prepare(release());
    expect(unknown.transport.commands.map(kind)).toEqual(['lock', 'stage']);

    const dry = await hostRunningR1('ok', { dryRun: true });
    await dry.host.lock(lockInfo, release());
    expect(dry.transport.commands.map(kind)).toEqual([]);
  });

  it('does not guess for a release that is the one the host runs', async () => {
    const { transport, host, manifests } = await hostRunningR1();
    await manifests.setRunning('hello', DESTINATION, { release: 'r2', sha256: stagedSha });
    await manifests.put('hello', 'r2', manifestDelta(NEXT, BASE_TEXT.trim().split('\n')).manifest);
    await host.lock(lockInfo, release());
    expect(transport.commands.map(kind)).toEqual(['lock']);
  });

  it('reports a held lock without staging anything, and a failed stage from prepare', async () => {
    const held = await hostRunningR1('held');
    expect(await held.host.lock(lockInfo, release())).toEqual({ acquired: false, holder: expect.objectContaining({ by: 'bob@ci' }) });

    const prereq = await hostRunningR1('prereq');
    expect(await prereq.host.lock(lockInfo, release())).toMatchObject({ acquired: true });
    await expect(prereq.host.prepare(release())).rejects.toMatchObject({ code: 'PREREQUISITE_MISSING', message: 'web1: gunicorn is not installed' });
    expect(prereq.transport.commands.map(kind)).toEqual(['lock+stage']);

    const readOnly = await hostRunningR1('read-only');
    await expect(readOnly.host.lock(lockInfo, release())).rejects.toMatchObject({
      code: 'REMOTE_FAILED',
      message: "web1: lock failed (exit 1): mkdir: cannot create directory '/srv/hello/.shipit': Read-only file system",
    });

    const exists = await hostRunningR1('exists');
    await exists.host.lock(lockInfo, release());
    await exists.host.prepare(release());
    expect(exists.transport.commands.map(kind)).toEqual(['lock+stage', 'stage']);
  });

  it('the bytes a prepare reports do not count the secrets: a secret\'s length is not told by them', async () => {
    // On a redeploy that sends no file the figure is little more than the secrets: it must not change with them.
    const reported = async (secrets: string, path: 'lock' | 'check') => {
      let wire!: ReturnType<typeof counting>;
      const { host } = await hostRunningR1('ok', { wrap: (t) => (wire = counting(t)) });
      const spec = { ...release(), secrets };
      if (path === 'lock') await host.lock(lockInfo, spec);
      const report = await host.prepare(spec);
      expect(report.withLock === true).toBe(path === 'lock');
      // What went on stdin did carry them: the report leaves them out, and nothing else.
      expect(wire.bytesSent - report.bytesSent).toBe(Buffer.byteLength(`${Buffer.byteLength(secrets)}\n${secrets}`));
      return report.bytesSent;
    };
    for (const path of ['lock', 'check'] as const) {
      expect(await reported('TOKEN="a-longer-secret-value-of-many-characters"\n', path)).toBe(await reported('TOKEN="s3cret99"\n', path));
    }
  });

  it('discards what the lock staged when the lock is released before prepare (another host was held)', async () => {
    const { transport, host } = await hostRunningR1();
    await host.lock(lockInfo, release());
    await host.unlock('t1');
    expect(transport.commands.map(kind)).toEqual(['lock+stage', 'discard', 'unlock']);
    // A lock command stopped midway (Ctrl-C, a lost link) may have taken the lock and staged part of it.
    const aborted = await hostRunningR1('aborted');
    await expect(aborted.host.lock(lockInfo, release())).rejects.toMatchObject({ message: 'web1: interrupted' });
    await aborted.host.unlock('t1');
    expect(aborted.transport.commands.map(kind)).toEqual(['lock+stage', 'discard', 'unlock']);
    // Once: a later unlock only unlocks.
    await host.unlock('t1');
    expect(transport.commands.map(kind)).toEqual(['lock+stage', 'discard', 'unlock', 'unlock']);
  });

  it('remembers what an activation left running for the next deploy, and forgets it when that is unknown', async () => {
    const { host, manifests } = await hostRunningR1();
    await host.lock(lockInfo, release());
    await host.prepare(release());
    await host.activate('r2', { timeoutMs: 1000 });
    expect(await manifests.running('hello', DESTINATION)).toEqual({ release: 'r2', sha256: stagedSha });
    // Reverted to r1, whose sha256 the lock reported.
    await host.activate('r1', { timeoutMs: 1000 });
    expect(await manifests.running('hello', DESTINATION)).toEqual({ release: 'r1', sha256: sha256Hex(BASE_TEXT) });
    await host.activate('r0', { timeoutMs: 1000 });
    expect(await manifests.running('hello', DESTINATION)).toBeNull();
    await host.activate('r2', { timeoutMs: 1000 });
    await host.activate(null, { timeoutMs: 1000 });
    expect(await manifests.running('hello', DESTINATION)).toBeNull();
  });

  it('after a rollback to a release this run did not stage, the next deploy still stages with its lock', async () => {
    // The rollback's run: the host runs r3; r1 (an earlier deploy's, its manifest cached) is the target.
    const R3_TEXT = formatManifest([{ path: 'app/main.py', mode: 0o644, size: 1, sha256: 'e'.repeat(64) }]);
    const manifests = memoryManifestCache();
    await manifests.put('hello', 'r1', BASE_TEXT);
    await manifests.put('hello', 'r3', R3_TEXT);
    await manifests.setRunning('hello', DESTINATION, { release: 'r3', sha256: sha256Hex(R3_TEXT) });
    class RollbackHost extends ScriptedHost {
      override async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
        if (!command.includes('mkdir "$S/lock"')) return super.exec(command, options);
        this.commands.push(command);
        const meta = (id: string) => `release\t{"id":"${id}","createdAt":"x","by":"bob","revision":null,"state":"good"}`;
        return ok(`acquired\ncurrent\tr3\n${meta('r1')}\n${meta('r3')}\nmanifest\t${sha256Hex(R3_TEXT)}\n`);
      }
    }
    const rollback = new SshHost('web1', new RollbackHost(), { layout, sshUser: 'root', port: 8000, commandTimeoutMs: 1000, manifests, destination: DESTINATION });
    await rollback.lock({ ...lockInfo, release: 'r1' });
    await rollback.activate('r1', { timeoutMs: 1000 });
    expect(await manifests.running('hello', DESTINATION)).toEqual({ release: 'r1', sha256: sha256Hex(BASE_TEXT) });

    const transport = new LockStageHost();
    const next = new SshHost('web1', transport, { layout, sshUser: 'root', port: 8000, commandTimeoutMs: 1000, manifests, destination: DESTINATION });
    await next.lock(lockInfo, release());
    expect(await next.prepare(release())).toMatchObject({ base: 'r1', withLock: true });
    expect(transport.commands.map(kind)).toEqual(['lock+stage']);
  });

  it('keeps the manifests of what the host keeps through many other deploys (the lock retains them)', async () => {
    const { host, manifests } = await hostRunningR1();
    // Forty failed deploys' manifests since r1 was cached (32 are kept), a lock of the host that keeps r1 midway.
    for (let i = 0; i < 20; i++) await manifests.put('hello', `bad${i}`, `f\t0644\t${i}\t1\n`);
    await host.lock(lockInfo, release());
    for (let i = 20; i < 40; i++) await manifests.put('hello', `bad${i}`, `f\t0644\t${i}\t1\n`);
    expect(await manifests.find('hello', 'bad0')).toBeNull();
    expect(await manifests.find('hello', 'r1')).toBe(sha256Hex(BASE_TEXT));
  });
});

describe('stageInodes', () => {
  it('counts files sent and every directory, not the files hard-linked from the base', () => {
    const file = (path: string) => ({ path, mode: 0o644, sha256: 'a'.repeat(64), size: 1 });
    const release = { files: [file('a/b/c.txt'), file('a/d.txt'), file('e.txt')], units: [{ name: 'demo.service', content: '' }] };
    // 2 sent; the release dir, a/, a/b/; 10 of its own under .shipit and scratch, 10 around it; 1 unit.
    expect(stageInodes(release, 2)).toBe(2 + 3 + 20 + 1);
    expect(stageInodes(release, 0)).toBe(3 + 20 + 1);
  });
});
