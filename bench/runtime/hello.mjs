// The hello handler every server in bench/runtime runs: the shipit runtime loads it as the app (SHIPIT_APP), the
// hand-written node:cluster server and the PM2 workers pass it to http.createServer. GET /pid answers the worker's
// pid, so the bench can tell when a killed worker has been replaced (wrk only ever asks for /).
const pid = String(process.pid);

export default function handler(req, res) {
  if (req.url === '/pid') {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(pid.length) });
    res.end(pid);
    return;
  }
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '6' });
  res.end('hello\n');
}
