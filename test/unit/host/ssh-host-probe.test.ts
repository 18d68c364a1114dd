// SshHost.probe on a transport that answers one response: what the gate and --verbose get of it.
import { SshHost, type CommandInfo } from '../../../src/host/ssh-host.js';
import type { ExecResult, HttpResponse, Transport } from '../../../src/ssh/transport.js';

class Answering implements Transport {
  readonly name = 'web1';
  readonly bytesSent = 0;
  readonly asked: [number, string][] = [];
  constructor(private readonly response: HttpResponse | Error) {}
  async exec(): Promise<ExecResult> {
    throw new Error('no commands here');
  }
  async httpGet(port: number, path: string): Promise<HttpResponse> {
    this.asked.push([port, path]);
    if (this.response instanceof Error) throw this.response;
    return this.response;
  }
  async close(): Promise<void> {}
}

function probe(response: HttpResponse | Error) {
  const commands: CommandInfo[] = [];
  const transport = new Answering(response);
  const host = new SshHost('web1', transport, {
    layout: { deployTo: '/srv/hello', app: 'hello', serviceUser: 'hello' },
    sshUser: 'deploy',
    port: 8000,
    commandTimeoutMs: 60_000,
    onCommand: (info) => commands.push(info),
  });
  return { host, commands, transport };
}

describe('SshHost.probe', () => {
  it("returns the status and the app's body, and hands both to --verbose's logger", async () => {
    const { host, commands, transport } = probe({ status: 503, body: '{"db": "unreachable"}' });
    expect(await host.probe('/readyz', { timeoutMs: 2_000, port: 8001 })).toEqual({ status: 503, body: '{"db": "unreachable"}' });
    expect(transport.asked).toEqual([[8001, '/readyz']]);
    expect(commands).toEqual([expect.objectContaining({ kind: 'probe', label: 'GET 127.0.0.1:8001/readyz', code: 503, body: '{"db": "unreachable"}' })]);
  });

  it('a probe with no answer is logged as -1, without a body, and rejects', async () => {
    const { host, commands } = probe(new Error('connection refused'));
    await expect(host.probe('/readyz', { timeoutMs: 2_000 })).rejects.toThrow('connection refused');
    expect(commands).toHaveLength(1);
    expect(commands[0]).toMatchObject({ code: -1, label: 'GET 127.0.0.1:8000/readyz' });
    expect(commands[0]).not.toHaveProperty('body');
  });
});
