// A TCP relay between the client and the test sshd, to break the connection on purpose: `cut()` resets it
// (host rebooted, connection reset), `blackhole()` silently drops everything (cable pulled, host frozen).
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface Relay {
  port: number;
  cut(): void;
  blackhole(): void;
  close(): Promise<void>;
}

export async function startRelay(targetPort: number): Promise<Relay> {
  const sockets = new Set<Socket>();
  let dropping = false;
  const server: Server = createServer((inbound) => {
    const outbound = connect(targetPort, '127.0.0.1');
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
    }
    inbound.on('data', (chunk) => dropping || outbound.write(chunk));
    outbound.on('data', (chunk) => dropping || inbound.write(chunk));
    inbound.on('end', () => outbound.end());
    outbound.on('end', () => inbound.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    cut: () => sockets.forEach((s) => s.resetAndDestroy()),
    blackhole: () => void (dropping = true),
    close: () =>
      new Promise<void>((resolve) => {
        sockets.forEach((s) => s.destroy());
        server.close(() => resolve());
      }),
  };
}
