/**
 * The worker's side of balancing (handoff.ts) on a real server in this process: `pass` stands for the message to
 * the master, "the next worker" is a child process that gets the handle over IPC, and a connection "from the
 * master" is a raw handle taken from a second, pausing server.
 */
import { fork } from 'node:child_process';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConnectionTracker } from '../../../src/runtime/connection-drain.js';
import { attachHandoff, HANDOFF_WINDOW_MS } from '../../../src/runtime/handoff.js';
import { FakeClock } from './fake-clock.js';
import { openRaw } from './raw-http.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** node:net's own flag, read for each accepted connection (not in @types/node). */
const paused = (server: net.Server): boolean => (server as net.Server & { pauseOnConnect: boolean }).pauseOnConnect;

type Passed = { handle: unknown; done: (error?: Error) => void };

async function setUp() {
  const clock = new FakeClock();
  const server = http.createServer((_req, res) => res.end('served here'));
  const tracker = new ConnectionTracker(server, { clock, keepAliveMs: 5000, keepAliveRequests: 0, lingerMs: 1000 });
  const passed: Passed[] = [];
  const handoff = attachHandoff(server, tracker, clock, (handle, done) => passed.push({ handle, done }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const waitFor = async (what: () => boolean): Promise<void> => {
    for (let i = 0; i < 200 && !what(); i += 1) await new Promise((r) => setTimeout(r, 5));
    if (!what()) throw new Error('timed out');
  };
  return { clock, server, tracker, handoff, passed, port, waitFor };
}

describe('attachHandoff', () => {
  it('serves connections as usual (not paused) outside a shed window', async () => {
    const t = await setUp();
    const c = await openRaw(t.port);
    try {
      c.send('/');
      expect((await c.next())?.body).toBe('served here');
      expect(paused(t.server)).toBe(false);
      expect(t.passed).toHaveLength(0);
    } finally {
      c.destroy();
      t.server.closeAllConnections();
      t.server.close();
    }
  });

  it('after shed(N) hands the next N accepted connections over unread, closes its copy once sent, then serves again', async () => {
    const t = await setUp();
    const clients: Awaited<ReturnType<typeof openRaw>>[] = [];
    try {
      const listeners = t.server.listenerCount('connection');
      t.handoff.shed(2);
      expect(paused(t.server)).toBe(true);
      for (let i = 0; i < 2; i += 1) {
        const c = await openRaw(t.port);
        clients.push(c);
        c.send('/'); // the request is already on its way: it must stay in the socket for the next worker
      }
      await t.waitFor(() => t.passed.length === 2);
      expect(paused(t.server)).toBe(false); // the window closes with the Nth hand-over
      expect(t.server.listenerCount('connection')).toBe(listeners); // from inside the 'connection' emit
      // The next worker: another process gets the handle over IPC, as from the master, and reads the request
      // that this server never touched.
      const next = fork(path.join(here, 'fixtures/handoff-receiver.mjs'), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      try {
        await new Promise((resolve) => next.once('message', resolve)); // 'up'
        const received = new Promise((resolve) => next.once('message', resolve));
        next.send('connection', t.passed[0]!.handle as net.Socket);
        await received;
        t.passed[0]!.done(); // sent: this server closes its copy
        expect((await clients[0]!.next())?.body).toBe('served by the next worker');
        // A hand-over that could not leave is served here after all.
        t.passed[1]!.done(new Error('channel closed'));
        expect((await clients[1]!.next())?.body).toBe('served here');
        const after = await openRaw(t.port);
        clients.push(after);
        after.send('/');
        expect((await after.next())?.body).toBe('served here');
        expect(t.passed).toHaveLength(2);
      } finally {
        next.kill();
      }
    } finally {
      for (const c of clients) c.destroy();
      t.server.closeAllConnections();
      t.server.close();
    }
  });

  it('closes the window after HANDOFF_WINDOW_MS even when fewer connections came', async () => {
    const t = await setUp();
    try {
      // Outside a window it adds no 'connection' listener: every connection would call it for nothing.
      const listeners = t.server.listenerCount('connection');
      t.handoff.shed(3);
      expect(paused(t.server)).toBe(true);
      expect(t.server.listenerCount('connection')).toBe(listeners + 1);
      t.handoff.shed(2); // a later ask while the window is open: still one listener
      expect(t.server.listenerCount('connection')).toBe(listeners + 1);
      t.clock.advance(HANDOFF_WINDOW_MS);
      expect(paused(t.server)).toBe(false);
      expect(t.server.listenerCount('connection')).toBe(listeners);
      const c = await openRaw(t.port);
      c.send('/');
      expect((await c.next())?.body).toBe('served here');
      c.destroy();
      expect(t.passed).toHaveLength(0);
    } finally {
      t.server.closeAllConnections();
      t.server.close();
    }
  });

  it('serves a connection handed to it, also once it no longer listens (draining)', async () => {
    const t = await setUp();
    // Raw handles "from the master": accepted paused by another server, never read.
    const source = net.createServer({ pauseOnConnect: true });
    const handles: unknown[] = [];
    source.on('connection', (socket) => handles.push((socket as unknown as { _handle: unknown })._handle));
    await new Promise<void>((resolve) => source.listen(0, '127.0.0.1', resolve));
    const sourcePort = (source.address() as AddressInfo).port;
    const clients: Awaited<ReturnType<typeof openRaw>>[] = [];
    try {
      clients.push(await openRaw(sourcePort));
      clients[0]!.send('/');
      await t.waitFor(() => handles.length === 1);
      t.handoff.shed(1); // also while its own window is open, a received connection is served, not passed on
      t.handoff.receive(handles[0]);
      expect((await clients[0]!.next())?.body).toBe('served here');
      expect(t.passed).toHaveLength(0);

      // Draining (a full stop: the master had no other worker for it): served all the same, with
      // Connection: close, and the drain's sweep watches it.
      net.Server.prototype.close.call(t.server);
      t.tracker.beginDrain(50);
      clients.push(await openRaw(sourcePort));
      clients[1]!.send('/');
      await t.waitFor(() => handles.length === 2);
      t.handoff.receive(handles[1]);
      expect(await clients[1]!.next()).toMatchObject({ body: 'served here', headers: { connection: 'close' } });
      await clients[1]!.serverEnded();
      // The keep-alive connection from before the drain is closed after the linger: none is left, the sweep stops.
      t.clock.advance(1200);
      await clients[0]!.serverEnded();
      await t.waitFor(() => t.tracker.size === 0);
      t.clock.advance(100); // the sweep after that finds none and stops
      // One handed over after that, which never sends, is swept all the same (the sweep starts again).
      clients.push(await openRaw(sourcePort));
      await t.waitFor(() => handles.length === 3);
      t.handoff.receive(handles[2]);
      t.clock.advance(1200); // past the linger (1000 ms) since a sweep first saw it idle
      await clients[2]!.serverEnded();
      await t.waitFor(() => t.tracker.size === 0);
      expect(t.passed).toHaveLength(0);
      t.tracker.dispose();
    } finally {
      for (const c of clients) c.destroy();
      t.server.closeAllConnections();
      source.close();
    }
  });
});
