import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { ConnectionTracker, pickIdleToClose, type ConnectionState } from '../../../src/runtime/connection-drain.js';
import { buildServer } from '../../../src/runtime/http-server.js';
import { FakeClock } from './fake-clock.js';
import { openRaw } from './raw-http.js';

const busy: ConnectionState = { busy: true, idleSince: undefined };
const idle = (since: number): ConnectionState => ({ busy: false, idleSince: since });

describe('pickIdleToClose', () => {
  it('closes connections idle for the linger time since the drain began, never busy ones', () => {
    const connections: Array<[string, ConnectionState]> = [
      ['busy', busy],
      ['idle-long-before-drain', idle(0)],
      ['idle-since-after-drain', idle(1500)],
      ['idle-just-now', idle(1900)],
    ];
    // drain began at 1000; linger 500
    expect(pickIdleToClose(connections, 1400, 1000, 500)).toEqual([]);
    expect(pickIdleToClose(connections, 1500, 1000, 500)).toEqual(['idle-long-before-drain']);
    expect(pickIdleToClose(connections, 2000, 1000, 500)).toEqual(['idle-long-before-drain', 'idle-since-after-drain']);
  });
});

/** A real server on loopback, a fake clock for the linger, and requests whose end the test controls. */
type Make = (clock: FakeClock, handler: http.RequestListener) => Promise<{ server: http.Server; tracker: ConnectionTracker }>;

async function setUp(make: Make) {
  const clock = new FakeClock();
  const held = new Map<string, () => void>();
  const handler: http.RequestListener = (req, res) => {
    const url = req.url ?? '/';
    if (url.startsWith('/hold')) {
      // /hold-headers sends its headers at once (keep-alive is then decided) and the body when released.
      if (url.startsWith('/hold-headers')) res.writeHead(200, { 'content-type': 'text/plain' });
      held.set(url, () => res.end('held'));
    } else {
      res.end('fast');
    }
  };
  const { server, tracker } = await make(clock, handler);
  let connections = 0;
  const sockets: net.Socket[] = [];
  server.on('connection', (socket: net.Socket) => {
    connections += 1;
    sockets.push(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const agents: http.Agent[] = [];
  const agent = (): http.Agent => {
    const a = new http.Agent({ keepAlive: true, maxSockets: 1 });
    agents.push(a);
    return a;
  };
  const get = (path: string, via: http.Agent | false): Promise<{ body: string; connection: string | undefined }> =>
    new Promise((resolve, reject) => {
      http
        .get({ port, host: '127.0.0.1', path, agent: via }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ body, connection: res.headers.connection }));
        })
        .on('error', reject);
    });
  const release = async (path: string): Promise<void> => {
    for (let i = 0; i < 100 && !held.has(path); i += 1) await tick(10);
    held.get(path)!();
  };
  let closed = false;
  const drain = (): void => {
    net.Server.prototype.close.call(server, () => (closed = true));
    tracker.beginDrain(50);
  };
  /** Real time passes for the sockets; the fake clock moves with it so the sweeps see the linger pass. */
  const wait = async (ms: number): Promise<void> => {
    for (let t = 0; t < ms; t += 10) {
      await tick(10);
      clock.advance(10);
    }
  };
  const cleanUp = (): void => {
    tracker.dispose();
    for (const a of agents) a.destroy();
    server.closeAllConnections();
    server.close();
  };
  return { clock, server, port, tracker, get, agent, release, drain, wait, closed: () => closed, connections: () => connections, sockets, cleanUp };
}

const tick = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The `Connection` header of the first response on a new connection. */
async function connectionHeaderOfNewClient(port: number): Promise<string | undefined> {
  const c = await openRaw(port);
  try {
    c.send('/fast');
    return (await c.next())?.headers.connection;
  } finally {
    c.destroy();
  }
}

const variants: Array<[string, Make]> = [
  [
    'its own request listener (an app from createServer())',
    async (clock, handler) => {
      const server = http.createServer(handler);
      return { server, tracker: new ConnectionTracker(server, { clock, keepAliveMs: 5000, keepAliveRequests: 0, lingerMs: 1000 }) };
    },
  ],
  [
    "buildServer's handler wrapper (a handler app)",
    async (clock, handler) =>
      buildServer(
        { kind: 'handler', handler, ready: undefined, shutdown: undefined },
        { clock, log: () => undefined, keepAliveMs: 5000, keepAliveExplicit: false, keepAliveRequests: 0, accessLog: undefined, lingerMs: 1000 },
      ),
  ],
];

describe.each(variants)('ConnectionTracker on a real server, via %s', (_name, make) => {
  it('answers in-flight requests with Connection: close, waits for them, and closes idle keep-alive connections after the linger', async () => {
    const t = await setUp(make);
    try {
      expect(await t.get('/fast', t.agent())).toEqual({ body: 'fast', connection: 'keep-alive' }); // leaves one idle connection
      const inFlight = t.get('/hold', t.agent()); // a keep-alive client: only the drain makes it close
      await tick(50);
      expect(t.tracker.size).toBe(2);

      t.drain();
      await t.wait(500);
      expect(t.tracker.size).toBe(2); // the idle one is still given its chance to send a request
      expect(t.closed()).toBe(false);
      await t.release('/hold');
      expect(await inFlight).toEqual({ body: 'held', connection: 'close' });
      await t.wait(700); // linger over: the idle keep-alive connection is closed
      for (let i = 0; i < 50 && !t.closed(); i += 1) await tick(10);
      expect(t.closed()).toBe(true);
      for (let i = 0; i < 50 && t.tracker.size > 0; i += 1) await tick(10); // a socket's 'close' may follow the server's
      expect(t.tracker.size).toBe(0);
    } finally {
      t.cleanUp();
    }
  });

  it('keeps a connection whose response already said keep-alive until it has been idle for the linger after that response', async () => {
    const t = await setUp(make);
    try {
      const a = t.agent();
      const streaming = t.get('/hold-headers', a); // headers (keep-alive) out before the drain, body after
      await tick(50);
      t.drain();
      await t.wait(1500); // well past the linger since the drain began: still busy, so still open
      expect(t.tracker.size).toBe(1);
      await t.release('/hold-headers');
      expect(await streaming).toEqual({ body: 'held', connection: 'keep-alive' });
      await t.wait(300);
      expect(t.tracker.size).toBe(1); // idle now, but only for 300 ms: its client may be sending the next request
      // …which it does, on the same connection: answered, and told to close.
      expect(await t.get('/fast', a)).toEqual({ body: 'fast', connection: 'close' });
      for (let i = 0; i < 50 && !t.closed(); i += 1) await tick(10);
      expect(t.closed()).toBe(true);
    } finally {
      t.cleanUp();
    }
  });

  it('answers every request pipelined before the drain: the last one says Connection: close, the ones before it keep-alive', async () => {
    const t = await setUp(make);
    const c = await openRaw(t.port);
    try {
      c.send('/hold1', '/hold2'); // the second waits in Node's queue behind the first
      await tick(50);
      t.drain();
      await t.wait(200);
      await t.release('/hold1');
      expect(await c.next()).toMatchObject({ status: 200, body: 'held', headers: { connection: 'keep-alive' } });
      await t.release('/hold2');
      expect(await c.next()).toMatchObject({ status: 200, body: 'held', headers: { connection: 'close' } });
      await c.serverEnded();
      for (let i = 0; i < 50 && !t.closed(); i += 1) await tick(10);
      expect(t.closed()).toBe(true);
    } finally {
      c.destroy();
      t.cleanUp();
    }
  });

  it('keeps no finished response reachable from an idle keep-alive connection', async () => {
    const t = await setUp(make);
    const c = await openRaw(t.port);
    try {
      c.send('/fast', '/fast'); // pipelined: the second is remembered while it waits
      expect((await c.next())?.body).toBe('fast');
      expect((await c.next())?.body).toBe('fast');
      c.send('/fast'); // not pipelined: nothing is remembered any more
      expect((await c.next())?.headers.connection).toBe('keep-alive');
      await tick(20);
      expect(t.sockets).toHaveLength(1);
      const socket = t.sockets[0] as unknown as Record<string | symbol, unknown>;
      const kept = Object.getOwnPropertySymbols(socket).filter((k) => socket[k] instanceof http.ServerResponse);
      expect(kept).toEqual([]);
      expect(socket._httpMessage).toBeNull(); // Node's own: nothing in flight
    } finally {
      c.destroy();
      t.cleanUp();
    }
  });

  it('closes such a connection once it has been idle for the linger after its response', async () => {
    const t = await setUp(make);
    try {
      const streaming = t.get('/hold-headers', t.agent());
      await tick(50);
      t.drain();
      await t.wait(200);
      await t.release('/hold-headers');
      expect(await streaming).toEqual({ body: 'held', connection: 'keep-alive' });
      await t.wait(800);
      expect(t.closed()).toBe(false); // 800 ms idle < linger, although 1000 ms since the drain began
      await t.wait(400);
      for (let i = 0; i < 50 && !t.closed(); i += 1) await tick(10);
      expect(t.closed()).toBe(true);
    } finally {
      t.cleanUp();
    }
  });

});

describe('ConnectionTracker bookkeeping', () => {
  it('counts connections as clients open and close them in any order, and the drain closes every idle one left', async () => {
    const t = await setUp(async (clock, handler) => {
      const server = http.createServer(handler);
      return { server, tracker: new ConnectionTracker(server, { clock, keepAliveMs: 5000, keepAliveRequests: 0, lingerMs: 1000 }) };
    });
    const settle = async (size: number): Promise<void> => {
      for (let i = 0; i < 100 && t.tracker.size !== size; i += 1) await tick(10);
      expect(t.tracker.size).toBe(size);
    };
    try {
      const agents = Array.from({ length: 6 }, () => t.agent());
      for (const a of agents) expect(await t.get('/fast', a)).toEqual({ body: 'fast', connection: 'keep-alive' });
      await settle(6);
      // Clients close, one at a time so the order is known: from the middle, the first, then one that moved.
      for (const [i, left] of [[1, 5], [0, 4], [5, 3], [3, 2]] as const) {
        agents[i]!.destroy();
        await settle(left);
      }
      expect(await t.get('/fast', agents[4]!)).toEqual({ body: 'fast', connection: 'keep-alive' }); // still the same connection
      await settle(2);
      t.drain();
      await t.wait(1200);
      for (let i = 0; i < 50 && !t.closed(); i += 1) await tick(10);
      expect(t.closed()).toBe(true);
      await settle(0);
    } finally {
      t.cleanUp();
    }
  });
});

describe('ConnectionTracker without keep-alive', () => {
  it('says Connection: close on every response when keepAliveMs is 0', async () => {
    const t = await setUp(async (clock, handler) => {
      const server = http.createServer(handler);
      return { server, tracker: new ConnectionTracker(server, { clock, keepAliveMs: 0, keepAliveRequests: 1000, lingerMs: 1000 }) };
    });
    try {
      const a = t.agent();
      expect(await t.get('/fast', a)).toEqual({ body: 'fast', connection: 'close' });
      expect(await t.get('/fast', a)).toEqual({ body: 'fast', connection: 'close' });
    } finally {
      t.cleanUp();
    }
  });
});

/** The variants above, with a given keepAliveRequests (SHIPIT_KEEPALIVE_REQUESTS). */
const recycling: Array<[string, (keepAliveRequests: number) => Make]> = [
  [
    'its own request listener (an app from createServer())',
    (keepAliveRequests) => async (clock, handler) => {
      const server = http.createServer(handler);
      return { server, tracker: new ConnectionTracker(server, { clock, keepAliveMs: 5000, keepAliveRequests, lingerMs: 1000 }) };
    },
  ],
  [
    "buildServer's handler wrapper (a handler app)",
    (keepAliveRequests) => async (clock, handler) =>
      buildServer(
        { kind: 'handler', handler, ready: undefined, shutdown: undefined },
        { clock, log: () => undefined, keepAliveMs: 5000, keepAliveExplicit: false, keepAliveRequests, accessLog: undefined, lingerMs: 1000 },
      ),
  ],
];

describe.each(recycling)('keep-alive recycling (keepAliveRequests) on a real server, via %s', (_name, withLimit) => {
  it('says Connection: close on the Nth response of a connection and the server closes it; the responses before keep it alive', async () => {
    const t = await setUp(withLimit(3));
    const c = await openRaw(t.port);
    try {
      for (let i = 1; i <= 2; i += 1) {
        c.send('/fast');
        expect(await c.next()).toMatchObject({ status: 200, body: 'fast', headers: { connection: 'keep-alive' } });
      }
      expect(c.ended).toBe(false);
      c.send('/fast');
      expect(await c.next()).toMatchObject({ status: 200, body: 'fast', headers: { connection: 'close' } });
      await c.serverEnded(); // the server's FIN, not ours
      for (let i = 0; i < 50 && t.tracker.size > 0; i += 1) await tick(10);
      expect(t.tracker.size).toBe(0);

      // The count belongs to the connection: the client's next one starts from 1 again.
      expect(await connectionHeaderOfNewClient(t.port)).toBe('keep-alive');
    } finally {
      c.destroy();
      t.cleanUp();
    }
  });

  it('never closes a connection for its request count when keepAliveRequests is 0', async () => {
    const t = await setUp(withLimit(0));
    const c = await openRaw(t.port);
    try {
      for (let i = 1; i <= 1200; i += 1) {
        c.send('/fast');
        const response = await c.next();
        if (response?.headers.connection !== 'keep-alive') throw new Error(`response ${i}: ${JSON.stringify(response)}`);
      }
      expect(c.ended).toBe(false);
      expect(t.connections()).toBe(1);
    } finally {
      c.destroy();
      t.cleanUp();
    }
  });

  it('answers requests pipelined behind the Nth with nothing: the connection closes after the Nth response (no 503, unlike maxRequestsPerSocket)', async () => {
    const t = await setUp(withLimit(2));
    const c = await openRaw(t.port);
    try {
      c.send('/fast', '/fast', '/fast', '/fast');
      expect((await c.next())?.headers.connection).toBe('keep-alive');
      expect(await c.next()).toMatchObject({ status: 200, headers: { connection: 'close' } });
      expect(await c.next()).toBeUndefined(); // the server closed: the client retries the rest on a new connection
      await c.serverEnded();
    } finally {
      c.destroy();
      t.cleanUp();
    }
  });

  it('fails no request of clients that reconnect when told to close (http.Agent with keep-alive)', async () => {
    const t = await setUp(withLimit(3));
    try {
      const clients = Array.from({ length: 4 }, () => t.agent());
      const bodies = await Promise.all(
        clients.map(async (a) => {
          const out: string[] = [];
          for (let i = 0; i < 10; i += 1) out.push((await t.get('/fast', a)).body);
          return out;
        }),
      );
      expect(bodies.flat()).toEqual(Array(40).fill('fast'));
      expect(t.connections()).toBe(4 * 4); // requests 1-3, 4-6, 7-9 and 10 of each client: a connection each
    } finally {
      t.cleanUp();
    }
  });
});

describe.each(variants)('balancing: active connections and shedding (balance.ts), via %s', (_name, make) => {
  it('counts the connections open before the last count that began a request since, not idle or new ones', async () => {
    const t = await setUp(make);
    const [a, b, c] = await Promise.all([openRaw(t.port), openRaw(t.port), openRaw(t.port)]);
    try {
      for (let i = 0; i < 50 && t.tracker.size < 3; i += 1) await tick(10);
      expect(t.tracker.activeSince()).toBe(0); // open, but no request yet
      for (const conn of [a!, b!]) {
        conn.send('/fast');
        await conn.next();
      }
      b!.send('/fast');
      await b!.next();
      expect(t.tracker.activeSince()).toBe(2);
      expect(t.tracker.activeSince()).toBe(0); // nothing since
      c!.send('/fast');
      await c!.next();
      // A connection opened since the last count is not counted yet, however busy: one per request never is.
      const d = await openRaw(t.port);
      d.send('/fast');
      await d.next();
      expect(t.tracker.activeSince()).toBe(1);
      d.send('/fast');
      await d.next();
      expect(t.tracker.activeSince()).toBe(1);
      d.destroy();
    } finally {
      for (const conn of [a, b, c]) conn?.destroy();
      t.cleanUp();
    }
  });

  it('answers the next N requests with Connection: close after shed(N) and closes those connections; then keeps alive again', async () => {
    const t = await setUp(make);
    const conns = await Promise.all([openRaw(t.port), openRaw(t.port), openRaw(t.port)]);
    try {
      for (let i = 0; i < 50 && t.tracker.size < 3; i += 1) await tick(10);
      t.tracker.shed(2);
      const said: Array<string | undefined> = [];
      for (const conn of conns) {
        conn.send('/fast');
        said.push((await conn.next())?.headers.connection);
      }
      expect(said).toEqual(['close', 'close', 'keep-alive']);
      await conns[0]!.serverEnded();
      await conns[1]!.serverEnded();
      conns[2]!.send('/fast');
      expect((await conns[2]!.next())?.headers.connection).toBe('keep-alive');
      expect(conns[2]!.ended).toBe(false);
      // Never more than are open: shed(10) with one connection closes that one only, not the next client's.
      t.tracker.shed(10);
      conns[2]!.send('/fast');
      expect((await conns[2]!.next())?.headers.connection).toBe('close');
      expect(await connectionHeaderOfNewClient(t.port)).toBe('keep-alive');
    } finally {
      for (const conn of conns) conn.destroy();
      t.cleanUp();
    }
  });
});
