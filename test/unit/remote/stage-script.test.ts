// The stage and check scripts run for real, by /bin/sh on this machine, on a layout under a temporary
// directory: the framing of stdin, the hard links, the composed manifest and the checks are behaviour, not text.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { openArtifactTar, scanArtifact, type Artifact } from '../../../src/build/artifact.js';
import { sha256Hex } from '../../../src/host/manifest-cache.js';
import { manifestDelta } from '../../../src/host/parse.js';
import * as scripts from '../../../src/remote/scripts.js';

const SECRETS = 'DATABASE_URL="postgres://u:hunter2@db/app"\n';

function run(body: string, stdin: Buffer = Buffer.alloc(0)) {
  const r = spawnSync('sh', ['-c', body], { input: stdin });
  return { code: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/** The check without its systemd line: this machine's init may not be systemd (the lab tests that part). */
const checkBody = (...args: Parameters<typeof scripts.checkScript>) => {
  const body = scripts.checkScript(...args);
  const withoutSystemd = body.replace(/^command -v systemctl .*$/m, ':');
  expect(withoutSystemd).not.toBe(body);
  return withoutSystemd;
};

function writeTree(dir: string, files: Record<string, string | { content: string; mode: number }>): void {
  rmSync(dir, { recursive: true, force: true });
  for (const [path, spec] of Object.entries(files)) {
    const { content, mode } = typeof spec === 'string' ? { content: spec, mode: 0o644 } : spec;
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
    chmodSync(join(dir, path), mode);
  }
}

async function tarOf(artifact: Artifact, paths: string[]): Promise<Buffer> {
  if (paths.length === 0) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  for await (const chunk of openArtifactTar(artifact, paths)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** One deploy's prepare, as SshHost does it: check (for the base manifest), then one stage command. */
async function stage(root: string, user: string, id: string, artifactDir: string, options: { corrupt?: boolean; env?: string; secrets?: string } = {}) {
  const secrets = options.secrets ?? SECRETS;
  const layout = { deployTo: join(root, 'srv'), app: 'demo', serviceUser: user };
  const check = run(checkBody(layout, id, [], 1));
  expect(check.code).toBe(0);
  const lines = check.stdout.split('\n');
  const baseLine = lines.find((l) => l.startsWith('base '));
  const [, base = null, sha] = baseLine?.split(' ') ?? [];
  const baseText = baseLine ? gunzipSync(Buffer.from(lines[lines.indexOf(baseLine) + 1]!, 'base64')).toString() : '';
  if (baseLine) expect(sha256Hex(baseText)).toBe(sha);
  const artifact = await scanArtifact(artifactDir);
  const delta = manifestDelta(artifact.files, baseText.split('\n').filter(Boolean));
  const sent = options.corrupt ? delta.sent.replace(/\t[0-9a-f]{64}\t/, `\t${'0'.repeat(64)}\t`) : delta.sent;
  const body = scripts.stageScript(layout, id, {
    env: options.env ?? 'LOG_LEVEL="info"\n',
    base: delta.reuse > 0 ? base : null,
    dropBytes: Buffer.byteLength(delta.drop),
    sentBytes: Buffer.byteLength(sent),
    sentFiles: delta.send.length,
    finalize: { metaJson: JSON.stringify({ id, state: 'staged' }), units: [{ name: 'demo.service', content: '[Service]\n' }] },
  });
  const stdin = Buffer.concat([Buffer.from(scripts.secretsInput(secrets) + delta.drop + sent), await tarOf(artifact, delta.send.map((f) => f.path))]);
  return { result: run(body, stdin), delta, base, release: join(layout.deployTo, 'releases', id), meta: join(layout.deployTo, '.shipit/releases', id), layout };
}

const ino = (path: string) => statSync(path).ino;

describe('stageScript on a real shell', () => {
  let root: string;
  let art: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'shipit-stage-'));
    art = join(root, 'art');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('stages a first release from the tar alone, with the manifest the deployer computed', async () => {
    writeTree(art, { 'app/main.py': 'print(1)\n', 'run.sh': { content: '#!/bin/sh\n', mode: 0o755 }, 'my file.txt': 'x' });
    const { result, delta, base, release, meta } = await stage(root, 'root', 'r1', art);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(base).toBeNull();
    expect(result.stdout).toBe(`manifest\t${sha256Hex(delta.manifest)}\n`);
    expect(readFileSync(join(meta, 'manifest.tsv'), 'utf8')).toBe(delta.manifest);
    expect(readFileSync(join(release, 'my file.txt'), 'utf8')).toBe('x');
    // The service's group reads (and runs) what the artifact lets it; other users nothing.
    expect(statSync(join(release, 'run.sh')).mode & 0o777).toBe(0o750);
    expect(statSync(join(release, 'my file.txt')).mode & 0o777).toBe(0o640);
    expect(statSync(join(release, 'app')).mode & 0o777).toBe(0o750);
    // The env goes with the release, into shared/ only when it is activated (a failed deploy leaves shared/ alone).
    expect(readFileSync(join(meta, 'secrets.env'), 'utf8')).toBe(SECRETS);
    expect(statSync(join(meta, 'secrets.env')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(meta, 'env'), 'utf8')).toBe('LOG_LEVEL="info"\n');
    expect(statSync(join(meta, 'env')).mode & 0o777).toBe(0o640);
    expect(existsSync(join(root, 'srv/shared/env')) || existsSync(join(root, 'srv/shared/secrets.env'))).toBe(false);
    expect(existsSync(join(meta, 'units/demo.service'))).toBe(true);
  });

  it("puts a release's env in shared/ when it is activated, and the env of the one before when that one is again", async () => {
    writeTree(art, { 'a.txt': 'one' });
    const first = await stage(root, 'root', 'r1', art, { env: 'GREETING="one"\n', secrets: 'TOKEN="first"\n' });
    expect(first.result.code).toBe(0);
    const activate = (id: string) => {
      const r = run(scripts.installEnvScript(first.layout, id));
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      run(`ln -sfn releases/${id} ${join(root, 'srv/current')}`);
    };
    const shared = () => ({
      env: readFileSync(join(root, 'srv/shared/env'), 'utf8'),
      secrets: readFileSync(join(root, 'srv/shared/secrets.env'), 'utf8'),
      modes: ['env', 'secrets.env'].map((f) => (statSync(join(root, 'srv/shared', f)).mode & 0o777).toString(8)),
    });
    activate('r1');
    expect(shared()).toEqual({ env: 'GREETING="one"\n', secrets: 'TOKEN="first"\n', modes: ['640', '600'] });
    writeTree(art, { 'a.txt': 'two' });
    const second = await stage(root, 'root', 'r2', art, { env: 'GREETING="two"\n', secrets: 'TOKEN="second"\n' });
    expect(second.result.code).toBe(0);
    expect(shared().env).toBe('GREETING="one"\n'); // staged only
    activate('r2');
    expect(shared()).toEqual({ env: 'GREETING="two"\n', secrets: 'TOKEN="second"\n', modes: ['640', '600'] });
    activate('r1'); // a revert, or a rollback
    expect(shared()).toEqual({ env: 'GREETING="one"\n', secrets: 'TOKEN="first"\n', modes: ['640', '600'] });
    expect(readFileSync(join(second.meta, 'env'), 'utf8')).toBe('GREETING="two"\n'); // each release keeps its own
  });

  it('activates a release that has an env but no secrets file (kept from an older shipit), even without shared/.next', async () => {
    writeTree(art, { 'a.txt': 'one' });
    const first = await stage(root, 'root', 'r1', art, { env: 'GREETING="kept"\n' });
    expect(first.result.code).toBe(0);
    rmSync(join(first.meta, 'secrets.env'));
    rmSync(join(root, 'srv/shared/.next'), { recursive: true, force: true });
    writeFileSync(join(root, 'srv/shared/secrets.env'), 'TOKEN="now"\n', { mode: 0o600 });
    const r = run(scripts.installEnvScript(first.layout, 'r1'));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(readFileSync(join(root, 'srv/shared/env'), 'utf8')).toBe('GREETING="kept"\n');
    expect(readFileSync(join(root, 'srv/shared/secrets.env'), 'utf8')).toBe('TOKEN="now"\n');
  });

  it('keeps the env a release staged by an older shipit runs with (shared/), so that a revert to it restores it', async () => {
    writeTree(art, { 'a.txt': 'one' });
    const first = await stage(root, 'root', 'r1', art);
    expect(first.result.code).toBe(0);
    // As an older shipit left it: no env with the release, shared/ holding what it runs with.
    rmSync(join(first.meta, 'env'));
    rmSync(join(first.meta, 'secrets.env'));
    mkdirSync(join(root, 'srv/shared'), { recursive: true });
    writeFileSync(join(root, 'srv/shared/env'), 'GREETING="old"\n', { mode: 0o640 });
    writeFileSync(join(root, 'srv/shared/secrets.env'), 'TOKEN="old"\n', { mode: 0o600 });
    run(`ln -sfn releases/r1 ${join(root, 'srv/current')}`);
    expect(run(scripts.installEnvScript(first.layout, 'r1')).code).toBe(0); // nothing of its own: shared/ stays
    expect(readFileSync(join(root, 'srv/shared/env'), 'utf8')).toBe('GREETING="old"\n');
    writeTree(art, { 'a.txt': 'two' });
    const second = await stage(root, 'root', 'r2', art, { env: 'GREETING="new"\n' });
    expect(second.result.stderr).toBe('');
    expect(second.result.code).toBe(0);
    expect(readFileSync(join(first.meta, 'env'), 'utf8')).toBe('GREETING="old"\n');
    expect(readFileSync(join(first.meta, 'secrets.env'), 'utf8')).toBe('TOKEN="old"\n');
    expect(statSync(join(first.meta, 'secrets.env')).mode & 0o777).toBe(0o600);
    run(scripts.installEnvScript(first.layout, 'r2'));
    expect(readFileSync(join(root, 'srv/shared/env'), 'utf8')).toBe('GREETING="new"\n');
    run(scripts.installEnvScript(first.layout, 'r1'));
    expect(readFileSync(join(root, 'srv/shared/env'), 'utf8')).toBe('GREETING="old"\n');
    expect(readFileSync(join(root, 'srv/shared/secrets.env'), 'utf8')).toBe('TOKEN="old"\n');
  });

  it('links unchanged files from the base, sends changed, new and re-moded ones, and drops deleted ones', async () => {
    writeTree(art, { 'a.txt': 'same', 'b.txt': 'old', 'c.txt': 'gone soon', 'd.sh': 'echo', 'deep/e/f.txt': 'deep' });
    const first = await stage(root, 'root', 'r1', art);
    expect(first.result.code).toBe(0);
    run(`ln -sfn releases/r1 ${join(root, 'srv/current')}`);
    writeTree(art, { 'a.txt': 'same', 'b.txt': 'new', 'd.sh': { content: 'echo', mode: 0o755 }, 'deep/e/f.txt': 'deep', 'n.txt': 'added' });
    const second = await stage(root, 'root', 'r2', art);
    expect(second.result.stderr).toBe('');
    expect(second.result.code).toBe(0);
    expect(second.base).toBe('r1');
    expect(second.delta.send.map((f) => f.path).sort()).toEqual(['b.txt', 'd.sh', 'n.txt']);
    expect(second.delta.drop.split('\n').filter(Boolean).sort()).toEqual(['b.txt', 'c.txt', 'd.sh']);
    expect(second.result.stdout).toBe(`manifest\t${sha256Hex(second.delta.manifest)}\n`);
    expect(readFileSync(join(second.meta, 'manifest.tsv'), 'utf8')).toBe(second.delta.manifest);
    // Unchanged files share the base's inode; the changed one does not, and the base's copy is untouched.
    expect(ino(join(second.release, 'a.txt'))).toBe(ino(join(first.release, 'a.txt')));
    expect(ino(join(second.release, 'deep/e/f.txt'))).toBe(ino(join(first.release, 'deep/e/f.txt')));
    expect(ino(join(second.release, 'b.txt'))).not.toBe(ino(join(first.release, 'b.txt')));
    expect(readFileSync(join(first.release, 'b.txt'), 'utf8')).toBe('old');
    expect(readFileSync(join(second.release, 'b.txt'), 'utf8')).toBe('new');
    expect(statSync(join(second.release, 'd.sh')).mode & 0o777).toBe(0o750);
    expect(statSync(join(first.release, 'd.sh')).mode & 0o777).toBe(0o640);
    expect(existsSync(join(second.release, 'c.txt'))).toBe(false);
    // The next deploy finds r2's manifest as the base and reuses everything.
    run(`ln -sfn releases/r2 ${join(root, 'srv/current')}`);
    const third = await stage(root, 'root', 'r3', art);
    expect(third.result.code).toBe(0);
    expect(third.delta.send).toEqual([]);
    expect(third.delta.reuse).toBe(5);
  });

  it('copies instead of linking when the base belongs to another service group', async () => {
    writeTree(art, { 'a.txt': 'same', 'b.txt': 'old' });
    const first = await stage(root, 'root', 'r1', art);
    run(`ln -sfn releases/r1 ${join(root, 'srv/current')}`);
    writeTree(art, { 'a.txt': 'same', 'b.txt': 'new' });
    const second = await stage(root, 'daemon', 'r2', art);
    expect(second.result.code).toBe(0);
    expect(second.delta.reuse).toBe(1);
    expect(ino(join(second.release, 'a.txt'))).not.toBe(ino(join(first.release, 'a.txt')));
    expect(readFileSync(join(second.release, 'a.txt'), 'utf8')).toBe('same');
    expect(statSync(join(first.release, 'a.txt')).gid).toBe(0);
  });

  it('refuses a release whose sent files do not match their checksums, and nothing becomes visible', async () => {
    writeTree(art, { 'a.txt': 'one', 'b.txt': 'two' });
    const { result, release, meta } = await stage(root, 'root', 'r1', art, { corrupt: true });
    expect(result.code).toBe(4);
    expect(result.stderr).toContain('checksum mismatch in the staged release');
    expect(existsSync(release)).toBe(false);
    expect(existsSync(meta)).toBe(false);
  });
});

describe('stageScript with the check folded in (the deployer read the current release with the lock)', () => {
  let root: string;
  let art: string;
  const layoutIn = (r: string) => ({ deployTo: join(r, 'srv'), app: 'demo', serviceUser: 'root' });
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'shipit-stage-'));
    art = join(root, 'art');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  /** The stage of `id` on top of r1 as the deployer would send it, assuming `current` (systemd line left out). */
  async function foldedStage(id: string, current: { release: string; manifest: string } | null, prerequisites: { check: string; message: string }[] = []) {
    const layout = layoutIn(root);
    const baseText = current === null ? '' : readFileSync(join(root, 'srv/.shipit/releases/r1/manifest.tsv'), 'utf8');
    const artifact = await scanArtifact(art);
    const delta = manifestDelta(artifact.files, baseText.split('\n').filter(Boolean));
    const body = scripts
      .stageScript(layout, id, {
        env: 'LOG_LEVEL="debug"\n',
        base: delta.reuse > 0 ? 'r1' : null,
        dropBytes: Buffer.byteLength(delta.drop),
        sentBytes: Buffer.byteLength(delta.sent),
        sentFiles: delta.send.length,
        finalize: { metaJson: JSON.stringify({ id, state: 'staged' }), units: [] },
        checks: { prerequisites, diskKiB: 1, current },
      })
      .replace(/^command -v systemctl .*$/m, ':');
    const stdin = Buffer.concat([Buffer.from(scripts.secretsInput('NEW="x"\n') + delta.drop + delta.sent), await tarOf(artifact, delta.send.map((f) => f.path))]);
    return { result: run(body, stdin), delta };
  }

  it('stages when the current release and its manifest are the ones assumed', async () => {
    writeTree(art, { 'a.txt': 'same', 'b.txt': 'old' });
    expect((await stage(root, 'root', 'r1', art)).result.code).toBe(0);
    run(`ln -sfn releases/r1 ${join(root, 'srv/current')}`);
    const manifest = sha256Hex(readFileSync(join(root, 'srv/.shipit/releases/r1/manifest.tsv')));
    writeTree(art, { 'a.txt': 'same', 'b.txt': 'new' });
    const { result, delta } = await foldedStage('r2', { release: 'r1', manifest });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`manifest\t${sha256Hex(delta.manifest)}\n`);
    expect(delta.reuse).toBe(1);
    expect(readFileSync(join(root, 'srv/releases/r2/b.txt'), 'utf8')).toBe('new');
    expect(ino(join(root, 'srv/releases/r2/a.txt'))).toBe(ino(join(root, 'srv/releases/r1/a.txt')));
  });

  it('changes nothing and says "base changed" (exit 5) when the host is not as assumed', async () => {
    writeTree(art, { 'a.txt': 'same' });
    expect((await stage(root, 'root', 'r1', art)).result.code).toBe(0);
    run(`ln -sfn releases/r1 ${join(root, 'srv/current')}`);
    const manifest = sha256Hex(readFileSync(join(root, 'srv/.shipit/releases/r1/manifest.tsv')));
    const listing = () => run(`cd ${root}/srv && find . | sort; cat shared/env shared/secrets.env`).stdout;
    const before = listing();
    for (const current of [{ release: 'r1', manifest: 'f'.repeat(64) }, { release: 'r0', manifest }, null]) {
      const { result } = await foldedStage('r2', current);
      expect(result.code).toBe(scripts.STAGE_BASE_CHANGED);
      expect(result.stdout).toBe('base changed\n');
      expect(listing()).toBe(before);
    }
  });

  it('exits 3 with the missing prerequisites before touching anything', async () => {
    writeTree(art, { 'a.txt': 'x' });
    const { result } = await foldedStage('r1', null, [{ check: 'command -v no-such-tool-here', message: 'no-such-tool-here is not installed' }]);
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('prereq: no-such-tool-here is not installed\n');
    expect(existsSync(join(root, 'srv'))).toBe(false);
  });
});

describe('checkScript on a real shell', () => {
  it("checks free disk under the deploy dir (or its nearest existing parent) as df's Available column reports it", () => {
    const root = mkdtempSync(join(tmpdir(), 'shipit-check-'));
    try {
      const layout = { deployTo: join(root, 'srv/not/yet'), app: 'demo', serviceUser: 'root' };
      const dfKiB = Number(run(`df -Pk ${root} | awk 'NR==2 {print $4}'`).stdout.trim());
      expect(dfKiB).toBeGreaterThan(0);
      expect(run(checkBody(layout, 'r1', [], 1)).code).toBe(0);
      const tooBig = run(checkBody(layout, 'r1', [], 2 ** 50));
      expect(tooBig.code).toBe(3);
      const [, avail, under] = /^prereq: only (\d+) KiB free under (\S+), the release needs 1125899906842624 KiB$/.exec(tooBig.stdout.trim()) ?? [];
      expect(under).toBe(root);
      expect(Math.abs(Number(avail) - dfKiB)).toBeLessThan(dfKiB / 100 + 1024); // free space moves a little meanwhile
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('sends the base manifest only when the deployer does not know that exact one', () => {
    const root = mkdtempSync(join(tmpdir(), 'shipit-check-'));
    try {
      const layout = { deployTo: join(root, 'srv'), app: 'demo', serviceUser: 'root' };
      const manifest = 'a.txt\t0644\t' + 'a'.repeat(64) + '\t4\n';
      mkdirSync(join(root, 'srv/releases/r1'), { recursive: true });
      mkdirSync(join(root, 'srv/.shipit/releases/r1'), { recursive: true });
      writeFileSync(join(root, 'srv/.shipit/releases/r1/manifest.tsv'), manifest);
      run(`ln -sfn releases/r1 ${join(root, 'srv/current')}`);
      const sha = sha256Hex(manifest);
      const unknown = run(checkBody(layout, 'r2', [], 1, [{ release: 'r0', sha256: sha }]));
      const [line, payload] = unknown.stdout.split('\n');
      expect(line).toBe(`base r1 ${sha}`);
      expect(gunzipSync(Buffer.from(payload!, 'base64')).toString()).toBe(manifest);
      const known = run(checkBody(layout, 'r2', [], 1, [{ release: 'r1', sha256: sha }]));
      expect(known.stdout).toBe(`base r1 ${sha}\n`);
      const stale = run(checkBody(layout, 'r2', [], 1, [{ release: 'r1', sha256: 'b'.repeat(64) }]));
      expect(stale.stdout.split('\n')).toHaveLength(3);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('lockScript with a stage (the lock and the stage in one command)', () => {
  let root: string;
  let art: string;
  const layoutIn = (r: string) => ({ deployTo: join(r, 'srv'), app: 'demo', serviceUser: 'root' });
  const INFO = JSON.stringify({ by: 'alice@laptop', at: '2026-12-03T00:00:00Z', pid: 1, token: 'tok-1', release: 'r2', message: 'naïve ünïcode' });
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'shipit-lockstage-'));
    art = join(root, 'art');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  /** r1 staged and current; the artifact then changed to `next`. Returns r1's manifest sha256. */
  async function deployedR1(next: Record<string, string>): Promise<string> {
    writeTree(art, { 'a.txt': 'same', 'b.txt': 'old' });
    expect((await stage(root, 'root', 'r1', art)).result.code).toBe(0);
    run(`ln -sfn releases/r1 ${join(root, 'srv/current')}`);
    writeTree(art, next);
    return sha256Hex(readFileSync(join(root, 'srv/.shipit/releases/r1/manifest.tsv')));
  }

  /** The lock command staging r2 on the guessed base r1, as SshHost.lock sends it (systemd line left out). */
  async function lockAndStage(guess: { release: string; manifest: string }) {
    const baseText = readFileSync(join(root, 'srv/.shipit/releases/r1/manifest.tsv'), 'utf8');
    const artifact = await scanArtifact(art);
    const delta = manifestDelta(artifact.files, baseText.split('\n').filter(Boolean));
    const checks = { prerequisites: [], diskKiB: 1, current: guess };
    const body = scripts
      .lockScript(layoutIn(root), {
        id: 'r2',
        infoBytes: Buffer.byteLength(INFO),
        plan: {
          env: 'LOG_LEVEL="debug"\n',
          base: 'r1',
          dropBytes: Buffer.byteLength(delta.drop),
          sentBytes: Buffer.byteLength(delta.sent),
          sentFiles: delta.send.length,
          finalize: { metaJson: JSON.stringify({ id: 'r2', state: 'staged' }), units: [] },
          checks,
        },
      })
      .replace(/^command -v systemctl .*$/m, ':');
    const stdin = Buffer.concat([Buffer.from(INFO + scripts.secretsInput(SECRETS) + delta.drop + delta.sent), await tarOf(artifact, delta.send.map((f) => f.path))]);
    return { result: run(body, stdin), delta };
  }

  const lockInfo = () => readFileSync(join(root, 'srv/.shipit/lock/info.json'), 'utf8');

  it('takes the lock, reports the releases, then stages from the rest of stdin', async () => {
    const manifest = await deployedR1({ 'a.txt': 'same', 'b.txt': 'new' });
    const { result, delta } = await lockAndStage({ release: 'r1', manifest });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const [head, tail] = result.stdout.split('staging\n');
    expect(head).toMatch(new RegExp(`^acquired\ncurrent\tr1\nrelease\t.*\nmanifest\t${manifest}\n$`));
    expect(tail).toBe(`manifest\t${sha256Hex(delta.manifest)}\n`);
    // The lock info is exactly its bytes (multi-byte characters included), the rest went to the stage.
    expect(lockInfo()).toBe(INFO);
    expect(readFileSync(join(root, 'srv/.shipit/releases/r2/secrets.env'), 'utf8')).toBe(SECRETS);
    expect(readFileSync(join(root, 'srv/releases/r2/b.txt'), 'utf8')).toBe('new');
    expect(ino(join(root, 'srv/releases/r2/a.txt'))).toBe(ino(join(root, 'srv/releases/r1/a.txt')));
  });

  it('stages nothing under a lock someone else holds, and leaves that lock as it was', async () => {
    const manifest = await deployedR1({ 'a.txt': 'same', 'b.txt': 'new' });
    const theirs = JSON.stringify({ by: 'bob@ci', at: 'x', pid: 9, token: 'tok-bob' });
    mkdirSync(join(root, 'srv/.shipit/lock'));
    writeFileSync(join(root, 'srv/.shipit/lock/info.json'), theirs);
    const { result } = await lockAndStage({ release: 'r1', manifest });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`held\n${theirs}`);
    expect(lockInfo()).toBe(theirs);
    expect(existsSync(join(root, 'srv/releases/r2'))).toBe(false);
    expect(existsSync(join(root, 'srv/releases/.r2.tmp'))).toBe(false);
    expect(existsSync(join(root, 'srv/.shipit/releases/r2')) || existsSync(join(root, 'srv/.shipit/releases/r2.tmp'))).toBe(false);
  });

  it('takes the lock and writes nothing else when the guessed base is not the current release', async () => {
    await deployedR1({ 'a.txt': 'same', 'b.txt': 'new' });
    const listing = () => run(`cd ${root}/srv && find . -path ./.shipit/lock -prune -o -print | sort; cat shared/env shared/secrets.env`).stdout;
    const before = listing();
    const { result } = await lockAndStage({ release: 'r1', manifest: 'f'.repeat(64) });
    expect(result.code).toBe(scripts.STAGE_BASE_CHANGED);
    expect(result.stdout).toMatch(/^acquired\n[^]*\nstaging\nbase changed\n$/);
    expect(lockInfo()).toBe(INFO);
    expect(listing()).toBe(before);
  });

  it('says "exists" and stages nothing when the release name is taken on the host', async () => {
    const manifest = await deployedR1({ 'a.txt': 'same', 'b.txt': 'new' });
    mkdirSync(join(root, 'srv/releases/r2'));
    writeFileSync(join(root, 'srv/releases/r2/keep.txt'), 'mine');
    const { result } = await lockAndStage({ release: 'r1', manifest });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^acquired\n[^]*\nexists\n$/);
    expect(result.stdout).not.toContain('staging');
    expect(readFileSync(join(root, 'srv/releases/r2/keep.txt'), 'utf8')).toBe('mine');
    expect(existsSync(join(root, 'srv/releases/r2/b.txt'))).toBe(false);
  });
});

describe('the stage checks free inodes (a filesystem with space but no inodes fails tar midway)', () => {
  let root: string;
  let bin: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'shipit-inodes-'));
    bin = join(root, 'bin');
    mkdirSync(bin);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  /** `stat -f` reports plenty of space and `free` of `total` inodes; every other stat is the real one. */
  function fakeStat(free: number, total: number): NodeJS.ProcessEnv {
    const real = run('command -v stat').stdout.trim();
    writeFileSync(join(bin, 'stat'), `#!/bin/sh\nif [ "$1" = -f ]; then echo "100000000 4096 ${free} ${total}"; exit 0; fi\nexec ${real} "$@"\n`);
    chmodSync(join(bin, 'stat'), 0o755);
    return { ...process.env, PATH: `${bin}:${process.env.PATH}` };
  }

  function stageWith(env: NodeJS.ProcessEnv, checks: boolean) {
    const layout = { deployTo: join(root, 'srv'), app: 'demo', serviceUser: 'root' };
    const sent = `a.txt\t0644\t${sha256Hex('x')}\t1\n`;
    const body = scripts
      .stageScript(layout, 'r1', {
        env: '',
        base: null,
        dropBytes: 0,
        sentBytes: Buffer.byteLength(sent),
        sentFiles: 0,
        finalize: null,
        inodes: 50,
        ...(checks ? { checks: { prerequisites: [], diskKiB: 1, current: null } } : {}),
      })
      .replace(/^command -v systemctl .*$/m, ':');
    const r = spawnSync('sh', ['-c', body], { input: scripts.secretsInput('') + sent, env });
    return { code: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
  }

  it.each([false, true])('refuses before writing anything when fewer are free than the stage creates (checks folded in: %s)', (checks) => {
    const result = stageWith(fakeStat(10, 1000), checks);
    expect(result.code).toBe(3);
    expect(result.stdout).toBe(`prereq: only 10 inodes free under ${root}, the release needs 50\n`);
    expect(existsSync(join(root, 'srv'))).toBe(false);
  });

  it('goes on with enough free, and on filesystems that report no fixed inode count (btrfs: 0 total)', () => {
    for (const [free, total] of [[50, 1000], [0, 0]] as const) {
      const result = stageWith(fakeStat(free, total), false);
      expect(result.stdout).not.toMatch(/prereq/);
      expect(existsSync(join(root, 'srv/.shipit/releases/r1.tmp/sent.tsv'))).toBe(true);
      rmSync(join(root, 'srv'), { recursive: true, force: true });
    }
  });
});
