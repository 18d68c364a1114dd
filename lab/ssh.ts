// OpenSSH client argv for reaching a lab host exactly as a careful user would: strict host key checking against
// the lab's known_hosts, the lab key only, no prompts, no user ssh config.
import { LabError, sleep, tryRun } from './exec.js';
import { IDENTITY_FILE, KNOWN_HOSTS_FILE } from './paths.js';
export interface LabSshAccess {
  identityFile: string;
  knownHostsFile: string;
}

/** `command` is one remote shell line (ssh hands it to the remote user's shell). */
export function sshArgv(access: LabSshAccess, address: string, user: string, command: string, port = 22): string[] {
  return [
    'ssh',
    '-F', 'none',
    '-o', 'BatchMode=yes',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', `UserKnownHostsFile=${access.knownHostsFile}`,
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'IdentitiesOnly=yes',
    '-o', 'ConnectTimeout=5',
    '-o', 'LogLevel=ERROR',
    '-i', access.identityFile,
    '-p', String(port),
    `${user}@${address}`,
    command,
  ];
}

/** `argv` run inside a network namespace (e.g. the jump host's, to reach the isolated bridge). */
export function inNamespace(netns: string | undefined, argv: string[]): string[] {
  return netns === undefined ? argv : ['ip', 'netns', 'exec', netns, ...argv];
}

/** Waits for sshd to let root in; `fromNetns` runs ssh from there (isolated hosts: the jump host's namespace). */
export async function waitForSsh(name: string, address: string, deadline: number, fromNetns?: string): Promise<void> {
  const argv = inNamespace(fromNetns, sshArgv({ identityFile: IDENTITY_FILE, knownHostsFile: KNOWN_HOSTS_FILE }, address, 'root', 'true'));
  for (;;) {
    const result = await tryRun(argv, { timeoutMs: 10_000 });
    if (result.ok) return;
    if (Date.now() > deadline) throw new LabError(`${name}: sshd did not answer: ${result.stderr.trim()}`);
    await sleep(250);
  }
}
