// The baseline: the smallest hand-written node:cluster server, same handler (hello.mjs) and worker count. Like
// most hand-written ones it neither respawns a dead worker nor reloads. The bench runs it twice: with
// NODE_CLUSTER_SCHED_POLICY=none (Node's documented switch: workers accept on the shared socket, the scheduling
// the shipit runtime uses), the reference the runtime is measured against; and with Node's default, round-robin.
//   NODE_CLUSTER_SCHED_POLICY=none WORKERS=2 PORT=18201 node bench/runtime/plain-cluster.mjs
// APP_STARTUP=N: each worker first imports N small generated modules and writes one line to stdout, as an app's
// startup does. Nothing of it runs per request, yet it costs a request ~2.7% more instructions (count-worker.sh,
// bench/RESULTS.md "What an app's startup costs a request"): Node's EventEmitter and stream functions, shared by
// every emitter in the process, meet more object shapes and their inline caches go megamorphic.
import cluster from 'node:cluster';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import handler from './hello.mjs';

const workers = Number(process.env.WORKERS ?? '2');
const startupModules = Number(process.env.APP_STARTUP ?? '0');
if (cluster.isPrimary) {
  for (let i = 0; i < workers; i += 1) cluster.fork();
  process.on('SIGTERM', () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill();
    process.exit(0);
  });
} else {
  if (startupModules > 0) {
    const dir = mkdtempSync(join(tmpdir(), 'plain-startup-'));
    for (let i = 0; i < startupModules; i += 1) writeFileSync(join(dir, `m${i}.mjs`), `export const m${i} = ${i};\n`);
    for (let i = 0; i < startupModules; i += 1) await import(pathToFileURL(join(dir, `m${i}.mjs`)).href);
    rmSync(dir, { recursive: true, force: true });
  }
  http.createServer(handler).listen(Number(process.env.PORT), '127.0.0.1', () => {
    if (startupModules > 0) process.stdout.write(`worker ${process.pid} listening\n`);
  });
}
