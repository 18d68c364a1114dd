/**
 * HTTP GET to 127.0.0.1:port on the host through a direct-tcpip channel (what `ssh -L` uses). The app is
 * probed from the host's own loopback, so the check needs no open port and sees exactly what the local
 * socket serves. sshd connects on our behalf: "connection refused" comes back as an immediate channel open
 * failure, which we report as a failed probe rather than waiting for the timeout.
 */
import type { ClientChannel } from 'ssh2';
import { ShipitError } from '../lib/errors.js';
import type { HttpResponse } from './transport.js';
import type { Connection } from './connection.js';
import { Cancellation } from './cancellation.js';
import { aborted } from './connect-errors.js';
import { HttpResponseReader, formatRequest } from './http-probe.js';

export function probeFailed(conn: Connection, url: string, reason: string, cause?: unknown): ShipitError {
  const prohibited = /prohibited/i.test(reason);
  return new ShipitError('REMOTE_FAILED', `Probe ${url} on ${conn.target.name} failed: ${reason}`, {
    host: conn.target.name,
    cause,
    hint: prohibited
      ? 'sshd on the host refuses TCP forwarding: set `AllowTcpForwarding local` (or yes) for this user in sshd_config.'
      : 'Is the service running and listening on that port on the host? See `systemctl status` and `journalctl -u` there.',
  });
}

export function runProbe(
  conn: Connection,
  port: number,
  path: string,
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<HttpResponse> {
  const url = `http://127.0.0.1:${port}${path}`;
  let request: string;
  try {
    request = formatRequest(port, path);
  } catch (error) {
    return Promise.reject(new ShipitError('USAGE', (error as Error).message, { host: conn.target.name, hint: 'Fix the health check path in the config.' }));
  }
  const cancel = new Cancellation(
    options.timeoutMs,
    options.signal,
    () =>
      new ShipitError('TIMEOUT', `Probe ${url} on ${conn.target.name} got no complete response within ${options.timeoutMs} ms`, {
        host: conn.target.name,
        hint: 'The app accepted the connection but did not answer in time: is it overloaded or stuck? Raise health.timeout if it is just slow.',
      }),
    () => aborted(conn.target, `probe ${url}`),
  );
  const failure = conn.failure();
  if (failure) cancel.fail(failure);

  return new Promise<HttpResponse>((resolve, reject) => {
    let channel: ClientChannel | undefined;
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      cancel.dispose();
      channel?.close();
      outcome();
    };
    cancel.onCancel((reason) => settle(() => reject(reason)));
    if (settled) return;

    const reader = new HttpResponseReader();
    const finish = () => {
      try {
        const response = reader.finish();
        settle(() => resolve(response));
      } catch (error) {
        settle(() => reject(conn.failure() ?? probeFailed(conn, url, (error as Error).message, error)));
      }
    };
    conn.openForward(port).then(
      (opened) => {
        if (settled) return void opened.close();
        channel = opened;
        opened.on('data', (chunk: Buffer) => {
          try {
            if (reader.push(chunk)) finish();
          } catch (error) {
            settle(() => reject(probeFailed(conn, url, (error as Error).message, error)));
          }
        });
        opened.stderr.resume();
        opened.on('error', () => {});
        // EOF from the app ends the response; sshd sends CHANNEL_CLOSE only after our EOF, which we never send.
        opened.on('end', finish);
        opened.on('close', finish);
        conn.countSent(Buffer.byteLength(request));
        // No EOF after the request: some servers treat a half-closed connection as a client that went away.
        opened.write(request);
      },
      (error: Error) => settle(() => reject(conn.failure() ?? probeFailed(conn, url, openFailureReason(error), error))),
    );
  });
}

/** ssh2 says "(SSH) Channel open failure: Connection refused"; keep the sshd part. */
function openFailureReason(error: Error & { reason?: number }): string {
  return error.message.replace(/^\(SSH\) Channel open failure: /, '').toLowerCase() || 'channel open failure';
}
