// node client-keepalive.mjs PORT N: exactly N keep-alive requests, one at a time on one connection (as one of wrk's
// connections does); exits 1 if any did not get the hello answer. count-worker.sh's KEEPALIVE=1 uses it.
import net from 'node:net';

const [port, n] = process.argv.slice(2).map(Number);
const request = Buffer.from('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
const socket = net.connect(port, '127.0.0.1');
let done = 0;
let got = '';
socket.on('connect', () => socket.write(request));
socket.on('data', (d) => {
  got += d;
  // The hello answer ends with its 6-byte body; one response at a time, so it is the whole of it.
  if (!got.endsWith('hello\n')) return;
  if (!got.startsWith('HTTP/1.1 200')) {
    console.error(`request ${done + 1}: ${got.slice(0, 80)}`);
    process.exit(1);
  }
  got = '';
  done += 1;
  if (done === n) {
    socket.end();
    process.exit(0);
  }
  socket.write(request);
});
socket.on('error', (error) => {
  console.error(error.message);
  process.exit(1);
});
