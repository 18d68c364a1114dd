import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RequestHandler } from '../../../src/runtime/app-loader.js';
import { buildServer } from '../../../src/runtime/http-server.js';
import { FakeClock } from './fake-clock.js';

/** buildServer around `handler` on 127.0.0.1, one GET /, its status and body, and what was logged. */
async function getOnce(handler: RequestHandler): Promise<{ status: number; body: string; logged: string[] }> {
  const logged: string[] = [];
  const { server } = await buildServer(
    { kind: 'handler', handler, ready: undefined, shutdown: undefined },
    { clock: new FakeClock(), log: (_level, msg) => void logged.push(msg), keepAliveMs: 5000, keepAliveExplicit: false, keepAliveRequests: 0, accessLog: undefined, lingerMs: 1000 },
  );
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  try {
    const { port } = server.address() as AddressInfo;
    const answer = await new Promise<{ status: number; body: string }>((done, fail) => {
      http
        .get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (body += d));
          res.on('end', () => done({ status: res.statusCode ?? 0, body }));
        })
        .on('error', fail);
    });
    return { ...answer, logged };
  } finally {
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
  }
}

describe("buildServer's answers for a handler app", () => {
  it('answers what the handler answers, whatever it returns (res.end() returns the response)', async () => {
    const handler = (_req: IncomingMessage, res: ServerResponse) => res.end('hello\n');
    expect(await getOnce(handler)).toEqual({ status: 200, body: 'hello\n', logged: [] });
  });

  it('answers 500 when the handler throws, and logs it', async () => {
    const got = await getOnce(() => {
      throw new Error('boom');
    });
    expect(got).toEqual({ status: 500, body: 'internal server error\n', logged: ['request handler threw'] });
  });

  it('answers 500 saying so at once, not never, when the "handler" is a server factory it could not tell from its source', async () => {
    // A wrapper with ...args has length 0 but parameters, so the loader takes it for a handler: it returns a server.
    const createServer = () => http.createServer((_req, res) => res.end('{}'));
    const wrap = (fn: (...args: unknown[]) => unknown) => (...args: unknown[]) => fn(...args);
    const got = await getOnce(wrap(createServer) as RequestHandler);
    expect(got.status).toBe(500);
    expect(got.body).toMatch(/^the request handler returned an http\.Server: it is a server factory, which must be exported as createServer/);
    expect(got.logged).toEqual([expect.stringMatching(/^the request handler returned an http\.Server/)]);
  });

  it('the same for an async wrapper, whose promise resolves to the server', async () => {
    const got = await getOnce((async (..._args: unknown[]) => http.createServer()) as unknown as RequestHandler);
    expect(got.status).toBe(500);
    expect(got.body).toMatch(/^the request handler returned an http\.Server/);
  });

  it('answers 500 when an async handler rejects', async () => {
    const got = await getOnce(async () => {
      throw new Error('boom');
    });
    expect(got).toMatchObject({ status: 500, body: 'internal server error\n' });
  });
});
