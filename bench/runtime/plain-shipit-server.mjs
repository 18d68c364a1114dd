// Diagnostic server for `--diagnose`: the hand-written node:cluster server of plain-cluster.mjs, except that each
// worker takes one piece of the shipit runtime (and nothing else: no supervision, no IPC of its own):
//   SHIPIT_PIECE=buildServer  its HTTP server from the runtime's buildServer (http-server.js: the handler wrapper and
//                             the connection tracker that makes drains lossless);
//   SHIPIT_PIECE=tracker      http.createServer(handler) plus the runtime's ConnectionTracker alone.
// Against plain-cluster.mjs they price the worker side of the runtime piece by piece; against the runtime, the rest.
//   SHIPIT_RUNTIME_DIR=<compiled src/runtime> SHIPIT_PIECE=tracker WORKERS=2 PORT=18308 node bench/runtime/plain-shipit-server.mjs
import cluster from 'node:cluster';
import http from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import handler from './hello.mjs';

const workers = Number(process.env.WORKERS ?? '2');
if (cluster.isPrimary) {
  for (let i = 0; i < workers; i += 1) cluster.fork();
  process.on('SIGTERM', () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill();
    process.exit(0);
  });
} else {
  const runtime = (file) => import(pathToFileURL(join(process.env.SHIPIT_RUNTIME_DIR, file)).href);
  const { systemClock } = await runtime('clock.js');
  let server;
  if (process.env.SHIPIT_PIECE === 'tracker') {
    const { ConnectionTracker } = await runtime('connection-drain.js');
    server = http.createServer(handler);
    new ConnectionTracker(server, { clock: systemClock, keepAliveMs: 5000, keepAliveRequests: 0, lingerMs: 1000 });
  } else {
    const { buildServer } = await runtime('http-server.js');
    ({ server } = await buildServer(
      { kind: 'handler', handler, ready: undefined, shutdown: undefined },
      { clock: systemClock, log: () => undefined, keepAliveMs: 5000, keepAliveExplicit: false, keepAliveRequests: 0, accessLog: undefined, lingerMs: 1000 },
    ));
  }
  server.listen(Number(process.env.PORT), '127.0.0.1');
}
