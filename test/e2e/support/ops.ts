import { execa } from 'execa';
import type { LabInfo } from './lab.js';
import { onHost } from './remote.js';

/** Polls `check` every 200 ms until it holds, or fails after `timeoutMs`. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 60_000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} not met within ${timeoutMs} ms`);
}

/**
 * Cuts the SSH connection that the local process `pid` holds to `address`, from the host's side: finds the
 * connection's local port with `ss`, then on the host the sshd processes serving that peer port, and kills
 * exactly those. Other suites' connections to the same host are left alone.
 */
export async function dropConnection(lab: LabInfo, address: string, pid: number): Promise<number> {
  const local = await execa('ss', ['-tnpH', 'state', 'established', 'dst', `${address}:22`]);
  const ports = local.stdout
    .split('\n')
    .filter((line) => line.includes(`pid=${pid},`))
    .map((line) => /\s\S+:(\d+)\s+\S+:22\s/.exec(line)?.[1])
    .filter((p): p is string => p !== undefined);
  if (ports.length === 0) throw new Error(`process ${pid} has no SSH connection to ${address}`);
  const remote = await onHost(lab, address, ports.map((port) => `ss -tnpH state established "( sport = :22 and dport = :${port} )"`).join('; '));
  const pids = [...remote.matchAll(/pid=(\d+)/g)].map((m) => m[1]!);
  if (pids.length === 0) throw new Error(`no sshd on ${address} serves ports ${ports.join(', ')}`);
  await onHost(lab, address, `kill ${[...new Set(pids)].join(' ')}`);
  return ports.length;
}

/**
 * Everything a deploy of `app` could change on a host, as text: every path under /srv/<app> and every unit
 * file or symlink named after the app under /etc/systemd/system (type, mode, owner, size, mtime, content hash),
 * the service user, the units' state as systemd has it, and the lock. Equal snapshots = nothing changed.
 */
export async function snapshotHost(lab: LabInfo, address: string, app: string): Promise<string> {
  return onHost(
    lab,
    address,
    [
      `echo "## files"`,
      `find /srv/${app} /etc/systemd/system -xdev \\( -path '/srv/${app}*' -o -name '${app}.*' \\) -printf '%p %y %m %u:%g %s %T@ %l\\n' 2>/dev/null | sort`,
      `echo "## content"`,
      `find /srv/${app} /etc/systemd/system -xdev -type f \\( -path '/srv/${app}/*' -o -name '${app}.*' \\) -exec sha256sum {} + 2>/dev/null | sort`,
      `echo "## user"`,
      `getent passwd ${app} || echo "no user ${app}"`,
      `echo "## units"`,
      `systemctl show -p Id -p LoadState -p ActiveState -p SubState -p MainPID -p NRestarts -p ActiveEnterTimestamp -p InvocationID -p UnitFileState -p FragmentPath ${app}.service ${app}.socket`,
      `echo "## lock"`,
      `ls -la --time-style=full-iso /srv/${app}/.shipit/lock 2>&1 || true`,
    ].join('; '),
  );
}
