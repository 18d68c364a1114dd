// The hello handler every server in bench/runtime runs: the shipit runtime loads it as the app (SHIPIT_APP), the
// hand-written node:cluster server and the PM2 workers pass it to http.createServer. GET /pid answers the worker's
// pid, so the bench can tell when a killed worker has been replaced. GET /work first computes for ~0.2 ms (a fixed
// loop of 200,000 steps: the same work in every server), an app whose CPU, not wrk's, limits the req/s.
const pid = String(process.pid);

function work(steps) {
  let x = 0;
  for (let i = 0; i < steps; i++) x = (Math.imul(x, 31) + i) | 0;
  return x;
}

export default function handler(req, res) {
  if (req.url === '/pid') {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(pid.length) });
    res.end(pid);
    return;
  }
  if (req.url === '/work') {
    const body = `${work(200_000) & 0xff}\n`;
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(body.length) });
    res.end(body);
    return;
  }
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '6' });
  res.end('hello\n');
}
