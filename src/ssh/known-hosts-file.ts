/**
 * The known_hosts file on disk. Reading a missing file gives no entries (every host is then unknown, which
 * is refused unless --accept-new-host-keys); appending creates it like ssh does (directory 0700, file 0600).
 */
import { appendFileSync, mkdirSync, openSync, closeSync, readFileSync, fstatSync, readSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseKnownHosts, type ParsedKnownHosts } from './known-hosts.js';

export function readKnownHostsFile(path: string): ParsedKnownHosts {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], problems: [] };
    throw error;
  }
  return parseKnownHosts(text);
}

/**
 * Appends one line. A single append(2) of a short line is atomic with respect to other appenders (O_APPEND),
 * so several hosts accepted concurrently, or an `ssh` run at the same time, cannot interleave.
 */
export function appendKnownHost(path: string, line: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  appendFileSync(path, (endsWithoutNewline(path) ? '\n' : '') + line + '\n', { mode: 0o600 });
}

function endsWithoutNewline(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return false;
  }
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return false;
    const last = Buffer.alloc(1);
    readSync(fd, last, 0, 1, size - 1);
    return last[0] !== 0x0a;
  } finally {
    closeSync(fd);
  }
}
