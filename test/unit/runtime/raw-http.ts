/**
 * An HTTP/1.1 client on a bare TCP socket, for tests that must see the wire as it is: which `Connection` header
 * each response carries, whether the server (not the client) ended the connection, and pipelining, none of which
 * http.Agent shows (it closes a socket itself when a response says `Connection: close`). Parses responses with a
 * Content-Length or chunked bodies; every wait is bounded.
 */
import net from 'node:net';

export interface RawResponse {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body: string;
}

export interface RawConnection {
  /** Writes the requests (GET, HTTP/1.1) in one write: more than one = pipelined. */
  send(...paths: string[]): void;
  /** The next response; undefined when the server closed the connection before sending one. */
  next(timeoutMs?: number): Promise<RawResponse | undefined>;
  /** Resolves when the server ended the connection (its FIN arrived); rejects after the timeout. */
  serverEnded(timeoutMs?: number): Promise<void>;
  /** Whether the server has ended the connection so far. */
  readonly ended: boolean;
  destroy(): void;
}

export async function openRaw(port: number): Promise<RawConnection> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => undefined); // a reset after the server closed is not the test's concern
  let buffer = '';
  let ended = false;
  const wakers = new Set<() => void>();
  const wake = (): void => {
    for (const w of [...wakers]) w();
  };
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    wake();
  });
  socket.on('end', () => {
    ended = true;
    wake();
  });

  const waitFor = <T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const attempt = (): void => {
        const value = check();
        if (value === undefined) return;
        clearTimeout(timer);
        wakers.delete(attempt);
        resolve(value);
      };
      const timer = setTimeout(() => {
        wakers.delete(attempt);
        reject(new Error(`${what} within ${timeoutMs} ms; received so far: ${JSON.stringify(buffer)}`));
      }, timeoutMs);
      wakers.add(attempt);
      attempt();
    });

  return {
    send: (...paths) => void socket.write(paths.map((p) => `GET ${p} HTTP/1.1\r\nHost: test\r\n\r\n`).join('')),
    next: (timeoutMs = 5000) =>
      waitFor(
        () => {
          const parsed = parseOne(buffer);
          if (parsed !== undefined) {
            buffer = buffer.slice(parsed.length);
            return { response: parsed.response };
          }
          return ended ? { response: undefined } : undefined;
        },
        timeoutMs,
        'no response',
      ).then((r) => r.response),
    serverEnded: (timeoutMs = 5000) => waitFor(() => (ended ? true : undefined), timeoutMs, 'the server did not end the connection').then(() => undefined),
    get ended() {
      return ended;
    },
    destroy: () => socket.destroy(),
  };
}

/** The first complete response in `text` and how many characters it took, or undefined if incomplete. */
function parseOne(text: string): { response: RawResponse; length: number } | undefined {
  const headEnd = text.indexOf('\r\n\r\n');
  if (headEnd === -1) return undefined;
  const [statusLine, ...lines] = text.slice(0, headEnd).split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1]);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let at = headEnd + 4;
  if (headers['transfer-encoding'] === 'chunked') {
    let body = '';
    for (;;) {
      const sizeEnd = text.indexOf('\r\n', at);
      if (sizeEnd === -1) return undefined;
      const size = parseInt(text.slice(at, sizeEnd), 16);
      if (text.length < sizeEnd + 2 + size + 2) return undefined;
      body += text.slice(sizeEnd + 2, sizeEnd + 2 + size);
      at = sizeEnd + 2 + size + 2;
      if (size === 0) return { response: { status, headers, body }, length: at };
    }
  }
  const length = Number(headers['content-length'] ?? '0');
  if (text.length < at + length) return undefined;
  return { response: { status, headers, body: text.slice(at, at + length) }, length: at + length };
}
