// The baseline: the smallest hand-written node:cluster server, same handler (hello.mjs) and worker count. Like
// most hand-written ones it neither respawns a dead worker nor reloads. The bench runs it twice: with
// NODE_CLUSTER_SCHED_POLICY=none (Node's documented switch: workers accept on the shared socket, the scheduling
// the shipit runtime uses), the reference the runtime is measured against; and with Node's default, round-robin.
//   NODE_CLUSTER_SCHED_POLICY=none WORKERS=2 PORT=18201 node bench/runtime/plain-cluster.mjs
import cluster from 'node:cluster';
import http from 'node:http';
import handler from './hello.mjs';

const workers = Number(process.env.WORKERS ?? '2');
if (cluster.isPrimary) {
  for (let i = 0; i < workers; i += 1) cluster.fork();
  process.on('SIGTERM', () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill();
    process.exit(0);
  });
} else {
  http.createServer(handler).listen(Number(process.env.PORT), '127.0.0.1');
}
