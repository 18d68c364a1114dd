import type { ShipitError } from '../lib/errors.js';
import type { Readable } from 'node:stream';

/** What one SSH connection to one host offers. One connection per host for a whole run; everything shares it. */
export interface ExecOptions {
  /** Bytes, text, or a stream (e.g. a tar of the release) piped to the command's stdin, then EOF. */
  stdin?: string | Buffer | Readable;
  /** Fails the command with a TIMEOUT ShipitError after this long (the remote process is killed). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /**
   * A held command: started now, its work waits for the caller (on its stdin, see SshHost's warm shells), so
   * `timeoutMs` and `signal` are ignored and those of `start` apply from when it resolves. null: never started
   * (the caller ends stdin). The host's own deadline (`timeout` on the host) is `hostDeadlineMs` from the start.
   */
  held?: { start: Promise<HeldStart | null>; hostDeadlineMs: number };
}

/** What a held command's work is bound by once it begins; `command` names it in a timeout or abort error. */
export interface HeldStart {
  timeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
  command: string;
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
  /** Why the connection is gone (lost, or closed), or null while it is up. */
  failure?(): ShipitError | null;
  /** Calls `listener` once when the connection is lost (not when closed by us); returns the unsubscribe. */
  onLost?(listener: (error: ShipitError) => void): () => void;
  close(): Promise<void>;
}
