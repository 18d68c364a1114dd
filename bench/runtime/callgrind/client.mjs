// node client.mjs PORT N C: exactly N `Connection: close` requests, C at a time, each on a fresh connection (as
// wrk's close mode); exits 1 if any did not get the hello answer. C=1 keeps the server's path the same for each.
import net from 'node:net';

const [port, n, c] = process.argv.slice(2).map(Number);
const request = Buffer.from('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
let started = 0;
let done = 0;
let failed = 0;
function next() {
  if (started >= n) return;
  started += 1;
  const socket = net.connect(port, '127.0.0.1');
  let got = '';
  socket.on('connect', () => socket.write(request));
  socket.on('data', (d) => (got += d));
  socket.on('error', () => (failed += 1));
  socket.on('close', () => {
    if (!got.startsWith('HTTP/1.1 200') || !got.endsWith('hello\n')) failed += 1;
    done += 1;
    if (done === n) {
      if (failed > 0) console.error(`${failed} of ${n} failed`);
      process.exit(failed > 0 ? 1 : 0);
    }
    next();
  });
}
for (let i = 0; i < c; i += 1) next();
