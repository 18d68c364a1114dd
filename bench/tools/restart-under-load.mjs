// A diagnostic, not part of `npm run bench`: restarts one lab host's service again and again (each time once the
// last start answers /readyz, then 0.5 s more) under a direct load of 12 loops, each a new connection per request,
// and reports what failed and when, relative to the restart before it. It found (2026-12-04, 21:55 UTC) that a
// gunicorn-preset restart resets the connections that arrive during the stop, ~25 ms after `systemctl restart`
// began (or 0.27 s with the stop's 0.25 s wait forced on): 15 of 28,758 requests in 40 restarts at ~840 req/s.
// The cause (strace): a connection accepted just before asyncio's Server.close() was dropped by the transport's
// Server._attach and reset at the worker's exit. Since the preset stops accepting first and closes after, 0 of
// 67,322 in 100 restarts.
//
//   node bench/tools/restart-under-load.mjs 10.213.37.11 8000 40 hello     (after `npm run demo`)
import { spawn } from 'node:child_process';
import http from 'node:http';

const [host = '10.213.37.11', port = '8000', restarts = '40', app = 'hello'] = process.argv.slice(2);
const failures = [];
let ok = 0;
let stopped = false;

function request() {
  return new Promise((resolve) => {
    const fail = (what) => {
      failures.push({ at: Date.now() / 1000, what });
      resolve();
    };
    const req = http.get({ host, port: Number(port), path: '/', agent: false, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('error', (error) => fail(error.code ?? error.message));
      res.on('end', () => (res.statusCode >= 200 && res.statusCode < 300 ? (ok++, resolve()) : fail(`HTTP ${res.statusCode}`)));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (error) => fail(error.code ?? error.message));
  });
}

const loops = Array.from({ length: 12 }, async () => {
  while (!stopped) await request();
});
const script = [
  `for i in $(seq ${Number(restarts)}); do`,
  '  echo "restart $(date +%s.%3N)"',
  `  systemctl restart ${app}.service`,
  `  until curl -sf -o /dev/null http://127.0.0.1:${Number(port)}/readyz; do sleep 0.05; done`,
  '  sleep 0.5',
  'done',
].join('\n');
const ssh = spawn(
  'ssh',
  ['-o', 'StrictHostKeyChecking=yes', '-o', 'UserKnownHostsFile=/var/lib/shipit-lab/known_hosts', '-o', 'BatchMode=yes', '-i', '/var/lib/shipit-lab/id_ed25519', `root@${host}`, script],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
let out = '';
ssh.stdout.on('data', (chunk) => (out += chunk));
await new Promise((resolve) => ssh.on('exit', resolve));
stopped = true;
await Promise.all(loops);
const starts = [...out.matchAll(/restart (\d+\.\d+)/g)].map((m) => Number(m[1]));
const after = (at) => {
  const before = starts.filter((s) => s <= at).at(-1);
  return before === undefined ? null : Math.round((at - before) * 1000);
};
console.log(JSON.stringify({ restarts: starts.length, ok, failed: failures.length, failures: failures.map((f) => ({ what: f.what, msAfterRestart: after(f.at) })) }, null, 1));
