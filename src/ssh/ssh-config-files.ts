/**
 * The I/O behind ssh-config.ts: which files to read, reading them, Include globs, and this machine's facts
 * (home, user, uid, host name) for tokens. `--ssh-config none` reads nothing, like `ssh -F none`.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { homedir, hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { ShipitError } from '../lib/errors.js';
import { expandTilde } from './ssh-tokens.js';
import type { SshConfigContext, SshConfigReader, SshConfigSource } from './ssh-config.js';

export const SYSTEM_SSH_CONFIG = '/etc/ssh/ssh_config';

/**
 * `explicit` is --ssh-config (or ssh.configFile): that file only, and it must exist, like `ssh -F`; `none`
 * reads no file. Otherwise ~/.ssh/config (if any) then /etc/ssh/ssh_config (if any), like plain `ssh`.
 */
export function sshConfigSource(explicit: string | undefined, home = homedir(), files: SshConfigReader = fileReader): SshConfigSource {
  // Every host and every jump host resolves through the same files: read each once per run.
  const reader = cachedReader(files);
  if (explicit === undefined) return { userFile: join(home, '.ssh', 'config'), systemFile: SYSTEM_SSH_CONFIG, reader };
  if (explicit === 'none') return { userFile: undefined, systemFile: undefined, reader };
  const path = expandTilde(explicit, home);
  if (reader.read(path) === undefined) {
    throw new ShipitError('USAGE', `SSH config file ${explicit} does not exist`, {
      hint: 'Check the --ssh-config path; `--ssh-config none` reads no SSH config at all.',
    });
  }
  return { userFile: path, systemFile: undefined, reader };
}

export function localSshContext(defaultUser: string, env: NodeJS.ProcessEnv = process.env): SshConfigContext {
  let localUser = env.USER ?? 'unknown';
  let uid = process.getuid?.() ?? 0;
  let home = homedir();
  try {
    const info = userInfo();
    localUser = info.username;
    uid = info.uid;
    home = info.homedir || home;
  } catch {
    // no passwd entry (some containers): keep what the environment says
  }
  return { home: env.HOME ?? home, localUser, uid, localHost: hostname(), env, defaultUser };
}

function cachedReader(reader: SshConfigReader): SshConfigReader {
  const texts = new Map<string, string | undefined>();
  const globs = new Map<string, string[]>();
  return {
    read: (path) => (texts.has(path) ? texts.get(path) : (texts.set(path, reader.read(path)), texts.get(path))),
    glob: (pattern) => globs.get(pattern) ?? (globs.set(pattern, reader.glob(pattern)), globs.get(pattern)!),
  };
}

export const fileReader: SshConfigReader = {
  read(path) {
    try {
      return readFileSync(path, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return undefined;
      throw new ShipitError('CONFIG_INVALID', `cannot read SSH config ${path}: ${(error as Error).message}`, {
        hint: 'Make it readable, or point --ssh-config elsewhere (`none` reads no SSH config).',
      });
    }
  },
  glob: globFiles,
};

/** glob(3) for Include: `*`, `?` and `[...]` within a path segment; dotfiles only by an explicit `.`; sorted. */
export function globFiles(pattern: string): string[] {
  const absolute = pattern.startsWith('/');
  const segments = pattern.split('/').filter((s) => s !== '');
  let paths = [absolute ? '/' : '.'];
  for (const [i, segment] of segments.entries()) {
    const last = i === segments.length - 1;
    const next: string[] = [];
    for (const dir of paths) {
      if (!/[*?[]/.test(segment)) {
        next.push(join(dir, segment));
        continue;
      }
      const matcher = segmentMatcher(segment);
      let entries: string[];
      try {
        entries = readdirSync(dir);
      } catch {
        continue;
      }
      for (const entry of entries.sort()) {
        if (entry.startsWith('.') && !segment.startsWith('.')) continue;
        if (matcher.test(entry)) next.push(join(dir, entry));
      }
    }
    paths = last ? next : next.filter(isDirectory);
  }
  return paths.filter(isFile).sort();
}

function segmentMatcher(segment: string): RegExp {
  let source = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i]!;
    if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else if (c === '[') {
      const close = segment.indexOf(']', i + 2);
      if (close === -1) {
        source += '\\[';
        continue;
      }
      let body = segment.slice(i + 1, close);
      if (body.startsWith('!')) body = `^${body.slice(1)}`;
      source += `[${body.replace(/\\/g, '\\\\')}]`;
      i = close;
    } else source += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
