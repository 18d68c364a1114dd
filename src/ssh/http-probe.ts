/**
 * The minimal HTTP/1.1 client used for readiness probes through a direct-tcpip channel (RFC 9112). We speak
 * it ourselves rather than through node:http because the "socket" is an SSH channel and because a probe
 * must never hang: it is complete as soon as the status and a capped body are in, whatever the server does
 * with `Connection: close`.
 */
import type { HttpResponse } from './transport.js';

/** Probe bodies are for humans reading a failure (`/up` says why it is not up), not for data. */
export const MAX_PROBE_BODY = 64 * 1024;
const MAX_HEAD = 16 * 1024;

export function formatRequest(port: number, path: string): string {
  // The path goes verbatim into the request line: refuse anything that could split it (header injection).
  if (!/^\/[\x21-\x7e]*$/.test(path)) throw new Error(`probe path must start with / and contain no spaces or controls: ${JSON.stringify(path)}`);
  return (
    `GET ${path} HTTP/1.1\r\n` +
    `Host: 127.0.0.1:${port}\r\n` +
    `User-Agent: shipit-probe\r\n` +
    `Accept: */*\r\n` +
    `Connection: close\r\n\r\n`
  );
}

type BodyMode = { kind: 'none' } | { kind: 'length'; remaining: number } | { kind: 'chunked'; remaining: number } | { kind: 'eof' };

/** Incremental response reader: push() chunks until it returns true, or call finish() at EOF. */
export class HttpResponseReader {
  private pending: Buffer = Buffer.alloc(0);
  private status: number | null = null;
  private mode: BodyMode = { kind: 'eof' };
  private readonly body: Buffer[] = [];
  private bodyLength = 0;
  private complete = false;
  truncated = false;

  constructor(private readonly maxBody = MAX_PROBE_BODY) {}

  /** Feeds bytes; true once the response is complete (or the body cap is reached): stop reading. */
  push(chunk: Buffer): boolean {
    if (this.complete) return true;
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    if (this.status === null && !this.readHead()) return false;
    this.readBody();
    return this.complete;
  }

  /** The response so far. At EOF a body shorter than announced is accepted: the status is what probes need. */
  finish(): HttpResponse {
    if (this.status === null) throw new Error(this.pending.length === 0 ? 'empty reply from server' : 'malformed HTTP response');
    return { status: this.status, body: Buffer.concat(this.body).toString('utf8') };
  }

  private readHead(): boolean {
    const end = this.pending.indexOf('\r\n\r\n');
    if (end === -1) {
      if (this.pending.length > MAX_HEAD) throw new Error('HTTP response head too large');
      return false;
    }
    const [statusLine = '', ...headerLines] = this.pending.subarray(0, end).toString('latin1').split('\r\n');
    const match = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(statusLine);
    if (!match) throw new Error(`malformed HTTP status line: ${JSON.stringify(statusLine.slice(0, 80))}`);
    this.pending = this.pending.subarray(end + 4);
    const status = Number(match[1]);
    // Interim 1xx responses precede the real one; a GET without Expect should not get them, but skip them.
    if (status < 200) return this.pending.length > 0 && this.readHead();
    this.status = status;
    const headers = new Map<string, string>();
    for (const line of headerLines) {
      const colon = line.indexOf(':');
      if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    const length = headers.get('content-length');
    if (status === 204 || status === 304) this.mode = { kind: 'none' };
    else if (/\bchunked\b/i.test(headers.get('transfer-encoding') ?? '')) this.mode = { kind: 'chunked', remaining: -1 };
    else if (length !== undefined && /^\d+$/.test(length)) this.mode = { kind: 'length', remaining: Number(length) };
    return true;
  }

  private readBody(): void {
    const mode = this.mode;
    if (mode.kind === 'none') return void (this.complete = true);
    if (mode.kind === 'eof') return this.take(this.pending.length);
    if (mode.kind === 'length') {
      const n = Math.min(mode.remaining, this.pending.length);
      mode.remaining -= n;
      this.take(n);
      if (mode.remaining === 0) this.complete = true;
      return;
    }
    // chunked: remaining = bytes of the current chunk still to read (+2 for its CRLF); -1 = expecting a size line.
    while (!this.complete) {
      if (mode.remaining === -1) {
        const eol = this.pending.indexOf('\r\n');
        if (eol === -1) return;
        const size = parseInt(this.pending.subarray(0, eol).toString('latin1'), 16);
        if (Number.isNaN(size)) throw new Error('malformed chunked encoding');
        this.pending = this.pending.subarray(eol + 2);
        if (size === 0) return void (this.complete = true); // trailers ignored
        mode.remaining = size + 2;
      }
      const n = Math.min(mode.remaining, this.pending.length);
      if (n === 0) return;
      // The last two bytes of each chunk are its CRLF, not data.
      const data = Math.max(0, Math.min(n, mode.remaining - 2));
      this.take(data, n);
      mode.remaining -= n;
      if (mode.remaining === 0) mode.remaining = -1;
    }
  }

  /** Keeps `keep` bytes of pending as body (up to the cap) and drops `consume` bytes from pending. */
  private take(keep: number, consume = keep): void {
    const room = this.maxBody - this.bodyLength;
    if (keep > room) this.truncated = true;
    const kept = Math.min(keep, room);
    if (kept > 0) {
      this.body.push(this.pending.subarray(0, kept));
      this.bodyLength += kept;
    }
    this.pending = this.pending.subarray(consume);
    if (this.truncated) this.complete = true;
  }
}
