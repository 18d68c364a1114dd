// What a failed restart's error quotes of the app on SshHost (a scripted transport): the host sends the app's
// lines long (remote/scripts.ts why()), and the deployer redacts the config's secrets before it cuts them.
import { SshHost } from '../../../src/host/ssh-host.js';
import { APP_REASON } from '../../../src/lib/app-reason.js';
import { createRedactor } from '../../../src/lib/redact.js';
import type { ExecResult, Transport } from '../../../src/ssh/transport.js';

const layout = { deployTo: '/srv/hello', app: 'hello', serviceUser: 'hello' };
const SECRET = 'pg-pass-0123456789abcdef';

/** Answers every command with `result`. */
class Failing implements Transport {
  readonly name = 'web1';
  readonly bytesSent = 0;
  constructor(private readonly result: ExecResult) {}
  async exec(): Promise<ExecResult> {
    return this.result;
  }
  async httpGet(): Promise<never> {
    throw new Error('no probes here');
  }
  async close(): Promise<void> {}
}

const activateError = async (stderr: string, redact?: (text: string) => string) => {
  const ssh = new SshHost('web1', new Failing({ code: 1, stdout: '', stderr }), { layout, sshUser: 'deploy', port: 8000, commandTimeoutMs: 60_000, warmShells: false });
  const error = await ssh.activate('r2', { timeoutMs: 30_000, ...(redact ? { redact } : {}) }).catch((e: unknown) => e as Error);
  return (error as Error).message;
};

describe('SshHost.activate: the app lines of a failed restart', () => {
  it('a secret straddling the cut at 400 characters is redacted whole, then the line is cut', async () => {
    // The secret starts 10 characters before the cut: cut first, its first 10 characters would be printed.
    const line = `${'x'.repeat(APP_REASON.chars - 10 - 'error: login '.length)}error: login ${SECRET} refused ${'y'.repeat(600)}`;
    expect(line.indexOf(SECRET)).toBe(APP_REASON.chars - 10);
    const message = await activateError(`hello.service: Main process exited, code=exited, status=3\napp: ${line}\n`, createRedactor([SECRET]));
    expect(message).not.toContain(SECRET.slice(0, 10));
    const app = message.split(' | ').at(-1)!;
    // 390 characters, then the 10 of [redacted]: the shown length.
    expect(app).toBe(`app: ${line.slice(0, APP_REASON.chars - 10)}[redacted]...`);
    expect(message).toMatch(/^web1: activate r2 failed \(exit 1\): hello\.service: Main process exited, code=exited, status=3 \| app: x+error: login \[redacted\]/);
  });

  it('cuts long lines to 400 characters without a redactor; systemd lines are left as they are', async () => {
    const message = await activateError(`app: ${'z'.repeat(3000)}\n`);
    expect(message).toBe(`web1: activate r2 failed (exit 1): app: ${'z'.repeat(APP_REASON.chars)}...`);
  });
});
