// One worker-equivalent process for counting instructions (count.sh): no cluster, the hello handler, and
//   VARIANT=plain        http.createServer(handler), as plain-cluster.mjs's workers;
//   VARIANT=buildserver  the runtime's buildServer (http-server.js), as plain-shipit-server.mjs's buildServer piece;
//   VARIANT=tracker      http.createServer(handler) plus the ConnectionTracker alone;
//   VARIANT=worker       buildServer plus the handoff listener a balancing worker adds (worker.ts).
// RT = a directory of the compiled runtime (count.sh compiles src/runtime there). Prints "listening PORT".
import http from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import handler from '../hello.mjs';

const variant = process.env.VARIANT;
const runtime = (file) => import(pathToFileURL(join(process.env.RT, file)).href);
let server;
if (variant === 'plain') {
  server = http.createServer(handler);
} else {
  const { systemClock } = await runtime('clock.js');
  if (variant === 'tracker') {
    const { ConnectionTracker } = await runtime('connection-drain.js');
    server = http.createServer(handler);
    new ConnectionTracker(server, { clock: systemClock, keepAliveMs: 5000, keepAliveRequests: 0, lingerMs: 1000 });
  } else {
    const { buildServer } = await runtime('http-server.js');
    let tracker;
    ({ server, tracker } = await buildServer(
      { kind: 'handler', handler, ready: undefined, shutdown: undefined },
      { clock: systemClock, log: () => undefined, keepAliveMs: 5000, keepAliveExplicit: false, keepAliveRequests: 0, accessLog: undefined, lingerMs: 1000 },
    ));
    if (variant === 'worker') {
      const { attachHandoff } = await runtime('handoff.js');
      attachHandoff(server, tracker, systemClock, () => undefined);
    }
  }
}
server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log(`listening ${server.address().port}`));
process.on('SIGTERM', () => process.exit(0));
