import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { ConnectionTracker, pickIdleToClose, type ConnectionState } from '../../../src/runtime/connection-drain.js';
import { FakeClock } from './fake-clock.js';

const state = (busy: number, idleSince: number): ConnectionState => ({ busy, idleSince, responses: new Set() });

describe('pickIdleToClose', () => {
  it('closes connections idle for the linger time since the drain began, never busy ones', () => {
    const connections: Array<[string, ConnectionState]> = [
      ['busy', state(1, 0)],
      ['idle-long-before-drain', state(0, 0)],
      ['idle-since-after-drain', state(0, 1500)],
      ['idle-just-now', state(0, 1900)],
    ];
    // drain began at 1000; linger 500
    expect(pickIdleToClose(connections, 1400, 1000, 500)).toEqual([]);
    expect(pickIdleToClose(connections, 1500, 1000, 500)).toEqual(['idle-long-before-drain']);
    expect(pickIdleToClose(connections, 2000, 1000, 500)).toEqual(['idle-long-before-drain', 'idle-since-after-drain']);
  });
});

describe('ConnectionTracker on a real server', () => {
  it('answers in-flight requests with Connection: close and closes idle keep-alive connections after the linger', async () => {
    const clock = new FakeClock();
    let release!: () => void;
    const slow = new Promise<void>((resolve) => (release = resolve));
    const server = http.createServer((req, res) => {
      if (req.url === '/slow') void slow.then(() => res.end('slow'));
      else res.end('fast');
    });
    const tracker = new ConnectionTracker(server, { clock, keepAliveMs: 5000, lingerMs: 1000 });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = (path: string, via: http.Agent | false): Promise<{ body: string; connection: string | undefined }> =>
      new Promise((resolve, reject) => {
        http.get({ port, host: '127.0.0.1', path, agent: via }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ body, connection: res.headers.connection }));
        }).on('error', reject);
      });

    try {
      expect(await get('/fast', agent)).toEqual({ body: 'fast', connection: 'keep-alive' }); // leaves one idle connection
      const inFlight = get('/slow', false);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(tracker.size).toBe(2);

      const closed = new Promise<void>((resolve) => server.once('close', () => resolve()));
      net.Server.prototype.close.call(server);
      tracker.beginDrain();
      clock.advance(500);
      expect(tracker.size).toBe(2); // the idle one is still given its chance to send a request
      release();
      expect(await inFlight).toEqual({ body: 'slow', connection: 'close' });
      clock.advance(600); // linger over: the idle keep-alive connection is closed
      await closed;
      // sockets emit 'close' after libuv closed their handles, which can be after the server's 'close'
      for (let i = 0; i < 50 && tracker.size > 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(tracker.size).toBe(0);
    } finally {
      tracker.dispose();
      agent.destroy();
      server.closeAllConnections();
      server.close();
    }
  });
});
