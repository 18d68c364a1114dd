/**
 * Builds the worker's HTTP server around the user's app: keep-alive timeout, optional access log, connection
 * tracking for a clean drain, and a 500 instead of a dead worker when a handler throws.
 *
 * Everything here sits on every request's path, so it is kept to what the plain `http.createServer(handler)`
 * does plus a few stores: for a handler app the tracker's bookkeeping runs inside our own request listener
 * (one listener, as in a hand-written server: a second one costs an emitter dispatch per request), and nothing
 * of ours is allocated per request unless the handler throws or returns a promise.
 */
import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import net from 'node:net';
import type { LoadedApp, RequestHandler } from './app-loader.js';
import { AppShapeError } from './app-loader.js';
import type { Clock } from './clock.js';
import { ConnectionTracker } from './connection-drain.js';
import { errorFields, type LogFn } from './log.js';

export interface ServerOptions {
  clock: Clock;
  log: LogFn;
  keepAliveMs: number;
  /** Whether SHIPIT_KEEP_ALIVE was set: a server from createServer() keeps its own setting otherwise. */
  keepAliveExplicit: boolean;
  /** SHIPIT_KEEPALIVE_REQUESTS: the response to a connection's Nth request closes it; 0 = never. */
  keepAliveRequests: number;
  /** Where the access log goes (SHIPIT_ACCESS_LOG=1), one line per request; undefined = no access log. */
  accessLog: LogFn | undefined;
  lingerMs: number;
}

export async function buildServer(app: LoadedApp, options: ServerOptions): Promise<{ server: Server; tracker: ConnectionTracker }> {
  let server: Server;
  if (app.kind === 'handler') {
    server = http.createServer();
    if (options.keepAliveMs > 0) server.keepAliveTimeout = options.keepAliveMs;
  } else {
    const created: unknown = await app.createServer();
    if (typeof (created as Server | undefined)?.listen !== 'function' || typeof (created as Server).on !== 'function') {
      throw new AppShapeError('createServer() must return an http.Server (not yet listening)');
    }
    server = created as Server;
    if (options.keepAliveExplicit && options.keepAliveMs > 0) server.keepAliveTimeout = options.keepAliveMs;
  }
  const tracker = new ConnectionTracker(server, {
    clock: options.clock,
    keepAliveMs: options.keepAliveMs,
    keepAliveRequests: options.keepAliveRequests,
    lingerMs: options.lingerMs,
    // An app's own server has its own 'request' listeners: the tracker prepends one. Ours calls it itself.
    requests: app.kind === 'handler' ? 'caller' : 'listener',
  });
  if (app.kind === 'handler') server.on('request', serveWith(app.handler, tracker.onRequest, options.log));
  if (options.accessLog !== undefined) attachAccessLog(server, options.accessLog, options.clock);
  return { server, tracker };
}

/**
 * What a handler that returned a server is told (and the 500 says, so that a deploy's gate quotes it): a server
 * factory exported as the handler, whose source app-loader.ts could not read (bound, wrapped with ...args).
 */
const SERVER_RETURNED =
  'the request handler returned an http.Server: it is a server factory, which must be exported as createServer (export function createServer() { … }), not as the default export or handler';

/** The one 'request' listener of a handler app: the tracker's bookkeeping, then the app, with errors answered. */
function serveWith(handler: RequestHandler, track: (req: IncomingMessage, res: ServerResponse) => void, log: LogFn) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    track(req, res);
    try {
      const result: unknown = handler(req, res);
      // An async handler's failure is answered, and a server it resolves to (an async wrapper of a server factory
      // taken for a handler) is said as a plain function's is. In this order: `result !== undefined` first, with
      // the promise handled in settle(), counted ~1,500 instructions more per connection for a handler returning
      // nothing (count-worker.sh, three runs each), though neither branch ran. Those counts had 3,000 connections
      // of warm-up, after which TurboFan still compiled onRequest, an unnamed function (likely this listener) and
      // ~10 of Node's inside the counted window (--trace-opt): the order likely moved what was compiled there, not
      // what a request costs (bench/RESULTS.md, 2026-12-05 05:18). Not recounted.
      if (result instanceof Promise) {
        result.then(
          (value: unknown) => void (value instanceof net.Server && answerServerReturned(value, res, log)),
          (error: unknown) => answerFailure(req, res, error, log),
        );
      } else if (result !== undefined) settle(result, res, log);
    } catch (error) {
      answerFailure(req, res, error, log);
    }
  };
}

/** What a handler returned that is no promise: a server (a server factory taken for a handler) gets a 500 saying so. */
function settle(result: unknown, res: ServerResponse, log: LogFn): void {
  if (result instanceof net.Server) answerServerReturned(result, res, log);
}

let serverReturnedLogged = false;

/** A 500 that says why, logged once per worker: every request would say the same. The server made is closed. */
function answerServerReturned(made: net.Server, res: ServerResponse, log: LogFn): void {
  if (!serverReturnedLogged) {
    serverReturnedLogged = true;
    log('error', SERVER_RETURNED);
  }
  if (made.listening) made.close();
  if (!res.headersSent) {
    res.writeHead(500, { 'content-type': 'text/plain', connection: 'close' });
    res.end(`${SERVER_RETURNED}\n`);
  }
}

function answerFailure(req: IncomingMessage, res: ServerResponse, error: unknown, log: LogFn): void {
  log('error', 'request handler threw', { method: req.method, path: pathOf(req.url), error: errorFields(error) });
  if (!res.headersSent) {
    res.writeHead(500, { 'content-type': 'text/plain', connection: 'close' });
    res.end('internal server error\n');
  } else {
    res.destroy();
  }
}

function attachAccessLog(server: Server, accessLog: LogFn, clock: Clock): void {
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const started = clock.now();
    res.once('close', () => {
      accessLog('info', 'request', {
        method: req.method,
        path: pathOf(req.url),
        status: res.statusCode,
        duration_ms: Math.round((clock.now() - started) * 10) / 10,
        ...(res.writableFinished ? {} : { aborted: true }),
      });
    });
  });
}

/** The path without the query string: query strings often carry tokens, and logs outlive them. */
function pathOf(url: string | undefined): string {
  const raw = url ?? '';
  const q = raw.indexOf('?');
  return q === -1 ? raw : raw.slice(0, q);
}
