// The baseline for bench.sh: the smallest hand-written node:cluster server with the same handler and worker count.
import cluster from 'node:cluster';
import http from 'node:http';

const workers = Number(process.env.WORKERS ?? '2');
if (cluster.isPrimary) {
  for (let i = 0; i < workers; i += 1) cluster.fork();
  process.on('SIGTERM', () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill();
    process.exit(0);
  });
} else {
  http
    .createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '6' });
      res.end('hello\n');
    })
    .listen(Number(process.env.PORT), '127.0.0.1');
}
