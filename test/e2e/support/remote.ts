import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { LabInfo } from './lab.js';

const run = promisify(execFile);

/**
 * Test-side access to lab hosts through the OpenSSH client as root: independent of shipit's own SSH code, so
 * assertions about a host's state do not trust the code under test.
 */
export async function onHost(lab: LabInfo, address: string, command: string): Promise<string> {
  const { stdout } = await run(
    'ssh',
    ['-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${lab.knownHostsFile}`, '-i', lab.identityFile, `root@${address}`, command],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  return stdout;
}

/** Accounts a host's packages or the lab own: never the service user of an app, whatever its name. */
const SYSTEM_USERS = ['root', 'daemon', 'bin', 'sys', 'nobody', 'www-data', 'messagebus', 'sshd', 'deploy', 'nosudo', '_apt', 'systemd-network', 'systemd-resolve', 'systemd-timesync'];

/**
 * The shell that deletes the service user shipit created for `app` (src/remote/scripts.ts ensureUserAndDirs:
 * `useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin <app>`, the
 * app's name when the config sets no `server.user`), with its group. Only a user of exactly that shape: a system
 * uid, a group of its own name, no comment, /nonexistent, nologin; anything else of that name is someone's.
 */
export function appUserWipe(app: string): string {
  if (!/^[a-z][a-z0-9-]*$/.test(app)) throw new Error(`app ${JSON.stringify(app)}: not an app name`);
  if (SYSTEM_USERS.includes(app)) return 'true';
  return [
    `if e=$(getent passwd ${app}); then`,
    `  IFS=: read -r _ _ uid gid gecos home shell <<EOF`,
    '$e',
    'EOF',
    `  if [ "$uid" -gt 0 ] && [ "$uid" -lt 1000 ] && [ "$(getent group "$gid" | cut -d: -f1)" = ${app} ] && [ -z "$gecos" ] && [ "$home" = /nonexistent ] && [ "$shell" = /usr/sbin/nologin ]; then`,
    // userdel removes the group with it (USERGROUPS_ENAB); it fails, and so does the wipe, while a process runs as it.
    `    userdel ${app}`,
    '  fi',
    'fi',
  ].join('\n');
}

/**
 * Removes every trace of `app` from a host, so a test starts from a clean one (and the lab does not collect a
 * service user per suite run): its units and their drop-ins, deployTo, and the service user shipit created for it. `user`: the
 * config's `server.user` when a test sets one; a user named explicitly (`www-data`, a shared one) is never deleted.
 */
export async function wipeApp(lab: LabInfo, address: string, app: string, { user = app }: { user?: string } = {}): Promise<void> {
  await onHost(
    lab,
    address,
    [
      `systemctl disable --now ${app}.service ${app}.socket 2>/dev/null || true`,
      // Drop-ins too: a test's (a slow ExecStop) would otherwise apply to the next suite's unit of that name.
      `rm -rf /srv/${app} /var/lib/${app} /etc/systemd/system/${app}.service /etc/systemd/system/${app}.socket /etc/systemd/system/${app}.service.d /etc/systemd/system/${app}.socket.d`,
      'systemctl daemon-reload',
      `systemctl reset-failed ${app}.service ${app}.socket 2>/dev/null || true`,
      user === app ? appUserWipe(app) : 'true',
    ].join('\n'),
  );
}

export interface Served {
  status: number;
  body: Record<string, unknown> | null;
}

/** GET from the deployer to a lab host's address (the lab's own network only). */
export async function httpGet(address: string, port: number, path: string, timeoutMs = 3000): Promise<Served> {
  const response = await fetch(`http://${address}:${port}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
  const text = await response.text();
  let body: Record<string, unknown> | null = null;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = null;
  }
  return { status: response.status, body };
}
