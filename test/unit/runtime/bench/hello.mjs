// The "hello" handler for bench.sh, run by the shipit runtime.
export default function handler(req, res) {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '6' });
  res.end('hello\n');
}
