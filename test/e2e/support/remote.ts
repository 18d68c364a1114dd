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

/** Removes every trace of `app` from a host, so a test starts from a clean one. */
export async function wipeApp(lab: LabInfo, address: string, app: string): Promise<void> {
  await onHost(
    lab,
    address,
    [
      `systemctl disable --now ${app}.service ${app}.socket 2>/dev/null || true`,
      `rm -rf /srv/${app} /etc/systemd/system/${app}.service /etc/systemd/system/${app}.socket`,
      'systemctl daemon-reload',
      `systemctl reset-failed ${app}.service ${app}.socket 2>/dev/null || true`,
    ].join('; '),
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
