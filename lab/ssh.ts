// OpenSSH client argv for reaching a lab host exactly as a careful user would: strict host key checking against
// the lab's known_hosts, the lab key only, no prompts, no user ssh config.
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
