/**
 * Which identities to offer, in the order OpenSSH offers them: the agent's keys first (under IdentitiesOnly only
 * those that are also identity files), then key files
 * (`ssh.identityFiles`, or the default ~/.ssh/id_ed25519, id_ecdsa, id_rsa that exist). Keys are parsed up
 * front so that an encrypted key without its passphrase is reported by name instead of failing mid-handshake.
 */
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import type { AgentAuthMethod, ParsedKey, PublicKeyAuthMethod } from 'ssh2';
import type { SshConfig } from '../config/types.js';
import { agentLimitedTo } from './filtered-agent.js';

// ssh2 is CommonJS: named imports work under jest's transform but not in real Node ESM (REFERENCE.md).
const { utils } = ssh2;

export interface Identity {
  /** What the user recognises: `agent (/run/user/1000/ssh-agent.sock)`, `~/.ssh/id_ed25519`. */
  label: string;
  /** The ssh2 auth method for a user name. */
  method(username: string): AgentAuthMethod | PublicKeyAuthMethod;
}

export interface IdentityPlan {
  identities: Identity[];
  /** Identities that could not be offered, with why: shown when authentication fails. */
  skipped: string[];
  /** Configured key files that do not exist (as the user wrote them, `~` kept): a wrong path, not a key to authorize. */
  missing: string[];
  /** Configured or default key files refused for their permissions (as `ssh` refuses them): chmod 600 fixes them. */
  tooOpen: string[];
}

export const DEFAULT_KEY_FILES = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

export interface IdentityEnvironment {
  env: NodeJS.ProcessEnv;
  home: string;
}

export type IdentityOptions = Pick<SshConfig, 'agent' | 'identityFiles' | 'passphraseEnv'> & {
  /** IdentitiesOnly (SSH config): the agent offers only its keys that are also identity files. */
  identitiesOnly?: boolean;
};

export function planIdentities(ssh: IdentityOptions, where: IdentityEnvironment = { env: process.env, home: homedir() }): IdentityPlan {
  const identities: Identity[] = [];
  const skipped: string[] = [];
  const missing: string[] = [];
  const tooOpen: string[] = [];
  const tilde = (path: string) => (path.startsWith(where.home + '/') ? `~${path.slice(where.home.length)}` : path);

  const explicit = ssh.identityFiles.length > 0;
  const files = explicit
    ? ssh.identityFiles.map((f) => (f === '~' || f.startsWith('~/') ? join(where.home, f.slice(1)) : f))
    : DEFAULT_KEY_FILES.map((f) => join(where.home, '.ssh', f));
  const passphrase = ssh.passphraseEnv === undefined ? undefined : where.env[ssh.passphraseEnv];

  if (ssh.agent) {
    const socket = where.env.SSH_AUTH_SOCK;
    if (!socket) skipped.push('agent (SSH_AUTH_SOCK is not set)');
    else if (!ssh.identitiesOnly) identities.push({ label: `agent (${socket})`, method: (username) => ({ type: 'agent', username, agent: socket }) });
    else {
      const allowed = files.map((file) => publicBlobOf(file, passphrase)).filter((blob): blob is Buffer => blob !== undefined);
      if (allowed.length === 0) skipped.push(`agent (${socket}): IdentitiesOnly, and no identity file has a public key to match`);
      else {
        const agent = agentLimitedTo(socket, allowed);
        identities.push({ label: `agent (${socket}, IdentitiesOnly: its keys among the identity files)`, method: (username) => ({ type: 'agent', username, agent }) });
      }
    }
  }

  for (const file of files) {
    let data: Buffer;
    try {
      data = readFileSync(file);
    } catch (error) {
      // Missing default keys are normal (OpenSSH skips them silently); a configured one is worth a mention.
      const code = (error as NodeJS.ErrnoException).code;
      if (explicit) skipped.push(`${tilde(file)} (${code ?? 'unreadable'})`);
      if (explicit && code === 'ENOENT') missing.push(tilde(file));
      continue;
    }
    const parsed = parsePrivateKey(data, passphrase);
    if (typeof parsed === 'string') {
      skipped.push(`${tilde(file)} (${parsed}${/passphrase/.test(parsed) ? `: ${passphraseAdvice(ssh.passphraseEnv, passphrase)}` : ''})`);
      continue;
    }
    // OpenSSH ignores a private key of ours that others may read ("UNPROTECTED PRIVATE KEY FILE", sshkey_perm_ok):
    // so do we, saying so, rather than log in with a key `ssh` refuses and leave it readable unnoticed.
    const mode = openPermissions(file);
    if (mode !== undefined) {
      skipped.push(`${tilde(file)} (permissions ${mode} are too open: ssh ignores it too)`);
      tooOpen.push(tilde(file));
      continue;
    }
    identities.push({ label: tilde(file), method: (username) => ({ type: 'publickey', username, key: parsed }) });
  }
  return { identities, skipped, missing, tooOpen };
}

/** The mode (e.g. "0644") of a key file owned by this user that its group or others may access, else undefined. */
function openPermissions(file: string): string | undefined {
  try {
    const st = statSync(file);
    if (typeof process.getuid === 'function' && st.uid === process.getuid() && (st.mode & 0o077) !== 0) {
      return `0${(st.mode & 0o777).toString(8)}`;
    }
  } catch {
    // read a moment ago: a file that vanished since is left to the key's parse
  }
  return undefined;
}

/**
 * The public key blob of an identity file, to match agent keys against: from `<file>.pub` (what OpenSSH reads
 * for an encrypted key), else from the private key itself when it can be read.
 */
function publicBlobOf(file: string, passphrase: string | undefined): Buffer | undefined {
  try {
    const blob64 = readFileSync(`${file}.pub`, 'utf8').trim().split(/\s+/)[1];
    if (blob64) return Buffer.from(blob64, 'base64');
  } catch {
    // no .pub: try the private key
  }
  try {
    const parsed = parsePrivateKey(readFileSync(file), passphrase);
    return typeof parsed === 'string' ? undefined : parsed.getPublicSSH();
  } catch {
    return undefined;
  }
}

/** A parsed private key, or why not, worded for the user. Never includes the passphrase. */
function parsePrivateKey(data: Buffer, passphrase: string | undefined): ParsedKey | string {
  const result = utils.parseKey(data, passphrase);
  const key = Array.isArray(result) ? (result[0] as ParsedKey | undefined) : result;
  if (key === undefined) return 'no key in file';
  if (key instanceof Error) {
    if (/no passphrase given/.test(key.message)) return 'encrypted, no passphrase';
    if (/bad passphrase/i.test(key.message)) return 'wrong passphrase';
    return `unusable: ${key.message}`;
  }
  if (!key.isPrivateKey()) return 'not a private key';
  return key;
}

function passphraseAdvice(name: string | undefined, value: string | undefined): string {
  if (name === undefined) return 'set ssh.passphraseEnv to the name of an environment variable holding it';
  return value === undefined ? `set $${name}` : `check $${name}`;
}
