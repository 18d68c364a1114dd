/**
 * Builds the worker's HTTP server around the user's app: keep-alive timeout, optional access log, connection
 * tracking for a clean drain, and a 500 instead of a dead worker when a handler throws.
 */
import http, { type Server } from 'node:http';
import type { LoadedApp } from './app-loader.js';
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
  accessLog: boolean;
  lingerMs: number;
}

export async function buildServer(app: LoadedApp, options: ServerOptions): Promise<{ server: Server; tracker: ConnectionTracker }> {
  let server: Server;
  if (app.kind === 'handler') {
    const handler = app.handler;
    server = http.createServer((req, res) => {
      const fail = (error: unknown): void => {
        options.log('error', 'request handler threw', { method: req.method, path: pathOf(req.url), error: errorFields(error) });
        if (!res.headersSent) {
          res.writeHead(500, { 'content-type': 'text/plain', connection: 'close' });
          res.end('internal server error\n');
        } else {
          res.destroy();
        }
      };
      try {
        const result = handler(req, res);
        if (result instanceof Promise) result.catch(fail);
      } catch (error) {
        fail(error);
      }
    });
    if (options.keepAliveMs > 0) server.keepAliveTimeout = options.keepAliveMs;
  } else {
    const created: unknown = await app.createServer();
    if (typeof (created as Server | undefined)?.listen !== 'function' || typeof (created as Server).on !== 'function') {
      throw new AppShapeError('createServer() must return an http.Server (not yet listening)');
    }
    server = created as Server;
    if (options.keepAliveExplicit && options.keepAliveMs > 0) server.keepAliveTimeout = options.keepAliveMs;
  }
  if (options.accessLog) attachAccessLog(server, options);
  const tracker = new ConnectionTracker(server, { clock: options.clock, keepAliveMs: options.keepAliveMs, lingerMs: options.lingerMs });
  return { server, tracker };
}

function attachAccessLog(server: Server, options: ServerOptions): void {
  server.on('request', (req, res) => {
    const started = options.clock.now();
    res.once('close', () => {
      options.log('info', 'request', {
        method: req.method,
        path: pathOf(req.url),
        status: res.statusCode,
        duration_ms: Math.round((options.clock.now() - started) * 10) / 10,
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
