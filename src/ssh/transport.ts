import type { Readable } from 'node:stream';

/** What one SSH connection to one host offers. One connection per host for a whole run; everything shares it. */
export interface ExecOptions {
  /** Bytes, text, or a stream (e.g. a tar of the release) piped to the command's stdin, then EOF. */
  stdin?: string | Buffer | Readable;
  /** Fails the command with a TIMEOUT ShipitError after this long (the remote process is killed). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface HttpResponse {
  status: number;
  body: string;
}

export interface Transport {
  readonly name: string;
  /** Runs one shell command line (already quoted). Never rejects for a non-zero exit: look at `code`. */
  exec(command: string, options?: ExecOptions): Promise<ExecResult>;
  /** GET `path` on 127.0.0.1:`port` of the host, tunnelled through the SSH connection (direct-tcpip). */
  httpGet(port: number, path: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<HttpResponse>;
  /** Bytes written to the connection's channels so far (stdin payloads, requests): for measurements. */
  readonly bytesSent: number;
  close(): Promise<void>;
}
