import { chmodSync, copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { planIdentities } from '../../../src/ssh/identities.js';
import { generateKey, makeTempDir } from './support/keygen.js';

let tmp: ReturnType<typeof makeTempDir>;
let home: string;
beforeAll(() => {
  tmp = makeTempDir();
  home = join(tmp.dir, 'home');
  mkdirSync(join(home, '.ssh'), { recursive: true });
  const ed = generateKey(tmp.dir, 'ed', 'ed25519');
  const rsa = generateKey(tmp.dir, 'rsa', 'rsa', 's3cret');
  copyFileSync(ed.path, join(home, '.ssh', 'id_ed25519'));
  copyFileSync(rsa.path, join(home, '.ssh', 'id_rsa'));
});
afterAll(() => tmp.cleanup());

const labels = (plan: ReturnType<typeof planIdentities>) => plan.identities.map((i) => i.label);

describe('planIdentities', () => {
  it('offers the agent first, then the default keys that exist, in OpenSSH order', () => {
    const plan = planIdentities(
      { agent: true, identityFiles: [], passphraseEnv: 'PASS' },
      { env: { SSH_AUTH_SOCK: '/run/agent.sock', PASS: 's3cret' }, home },
    );
    expect(labels(plan)).toEqual(['agent (/run/agent.sock)', '~/.ssh/id_ed25519', '~/.ssh/id_rsa']);
    expect(plan.skipped).toEqual([]);
    expect(plan.identities[0]!.method('deploy')).toEqual({ type: 'agent', username: 'deploy', agent: '/run/agent.sock' });
    expect(plan.identities[1]!.method('deploy')).toMatchObject({ type: 'publickey', username: 'deploy' });
  });

  it('says why an identity cannot be offered, never the passphrase', () => {
    const noAgent = planIdentities({ agent: true, identityFiles: [], passphraseEnv: undefined }, { env: {}, home });
    expect(labels(noAgent)).toEqual(['~/.ssh/id_ed25519']);
    expect(noAgent.skipped).toEqual([
      'agent (SSH_AUTH_SOCK is not set)',
      '~/.ssh/id_rsa (encrypted, no passphrase: set ssh.passphraseEnv to the name of an environment variable holding it)',
    ]);
    const unset = planIdentities({ agent: false, identityFiles: [], passphraseEnv: 'PASS' }, { env: {}, home });
    expect(unset.skipped).toEqual(['~/.ssh/id_rsa (encrypted, no passphrase: set $PASS)']);
    const wrong = planIdentities({ agent: false, identityFiles: [], passphraseEnv: 'PASS' }, { env: { PASS: 'hunter2' }, home });
    expect(wrong.skipped).toEqual(['~/.ssh/id_rsa (wrong passphrase: check $PASS)']);
  });

  it('uses only the configured files when there are some (with ~ expanded), and names missing ones', () => {
    const plan = planIdentities(
      { agent: false, identityFiles: ['~/.ssh/id_ed25519', join(tmp.dir, 'ed.pub'), '~/.ssh/nope'], passphraseEnv: undefined },
      { env: {}, home },
    );
    expect(labels(plan)).toEqual(['~/.ssh/id_ed25519']);
    expect(plan.skipped).toEqual([`${join(tmp.dir, 'ed.pub')} (not a private key)`, '~/.ssh/nope (ENOENT)']);
    expect(plan.missing).toEqual(['~/.ssh/nope']);
  });

  it('refuses a private key others can read, as ssh does (UNPROTECTED PRIVATE KEY FILE)', () => {
    const open = join(home, '.ssh', 'id_open');
    copyFileSync(join(home, '.ssh', 'id_ed25519'), open);
    chmodSync(open, 0o644);
    const plan = planIdentities({ agent: false, identityFiles: ['~/.ssh/id_open', '~/.ssh/id_ed25519'], passphraseEnv: undefined }, { env: {}, home });
    expect(labels(plan)).toEqual(['~/.ssh/id_ed25519']);
    expect(plan.skipped).toEqual(['~/.ssh/id_open (permissions 0644 are too open: ssh ignores it too)']);
    expect(plan.tooOpen).toEqual(['~/.ssh/id_open']);
    expect(plan.missing).toEqual([]);
    chmodSync(open, 0o600);
    expect(labels(planIdentities({ agent: false, identityFiles: ['~/.ssh/id_open'], passphraseEnv: undefined }, { env: {}, home }))).toEqual(['~/.ssh/id_open']);
  });
});
