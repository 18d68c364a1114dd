import type { HealthConfig } from '../config/types.js';
import type { Host, ServiceState } from '../host/types.js';
import type { Clock } from '../lib/clock.js';
import { pickAppReason } from '../lib/app-reason.js';
import { excerptBody } from '../lib/body-excerpt.js';
import { formatDuration } from '../lib/duration.js';

/**
 * How long the readiness path may answer 404 on every probe before the gate gives up. Under the presets an app that
 * answers at all has loaded its routes (the node runtime is ready only after the app's ready(); uvicorn runs lifespan
 * startup before it serves), so a steady 404 is a health.readiness path the app does not serve: a typo that would
 * otherwise cost the whole healthyDeadline (a minute by default) before the revert. Not for `command` (rollFleet).
 */
export const NOT_FOUND_GIVE_UP_MS = 5000;

export class GateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GateError';
  }
}

/**
 * The readiness gate of one host, after a restart (Nomad's healthy_deadline + min_healthy_time, Kubernetes'
 * successThreshold): `successes` consecutive 2xx from the readiness path, then still healthy for
 * `minHealthyTime`, all within `healthyDeadline`. The unit state is read on every round as well: Gunicorn says
 * READY=1 before its workers boot (REFERENCE.md), so a release that crashes at import is caught by the unit
 * failing or restarting, long before a probe would time out.
 */
export async function waitForReady(
  host: Host,
  health: HealthConfig,
  options: {
    clock: Clock;
    signal?: AbortSignal;
    baseline: ServiceState;
    /** Redacts the config's secrets from a probe's body before it is cut short for the message (notReady). */
    redact: (text: string) => string;
    /** A readiness path answering 404 for NOT_FOUND_GIVE_UP_MS ends the wait (only where an app that answers has loaded its routes). */
    notFoundEnds?: boolean;
  },
): Promise<void> {
  const { clock, signal, baseline, redact } = options;
  const deadline = clock.now() + health.healthyDeadline;
  let consecutive = 0;
  let healthySince: number | null = null;
  let last = 'no probe answered yet';
  let notFoundSince: number | null = null;
  // The baseline was read right after the restart: the first round's state, so that round waits only for
  // the probe (an app that is ready at once answers in a few ms; systemctl show takes 40-100 ms).
  let fresh: ServiceState | null = baseline;
  for (;;) {
    signal?.throwIfAborted();
    const known = fresh;
    fresh = null;
    const [service, probe] = await Promise.all([
      known ?? host.service(signal),
      // The port the host's socket reported after the restart: a revert across a port change probes the old one.
      host.probe(health.readiness, { timeoutMs: health.timeout, signal, ...(baseline.port ? { port: baseline.port } : {}) }).then(
        (response) => ({ ...response, error: null as string | null }),
        (error: unknown) => ({ status: 0, body: '', error: error instanceof Error ? error.message : String(error) }),
      ),
    ]);
    signal?.throwIfAborted();
    if (service.active === 'failed') {
      throw new GateError(`service failed (${service.sub}) after restart${await appSaid(host, baseline, redact, signal)}; see \`shipit logs\``);
    }
    if (service.restarts > baseline.restarts) {
      throw new GateError(`service crashed and was restarted by systemd ${service.restarts - baseline.restarts} time(s)${await appSaid(host, baseline, redact, signal)}`);
    }
    const now = clock.now();
    if (probe.status >= 200 && probe.status < 300) {
      consecutive++;
      if (consecutive >= health.successes) {
        healthySince ??= now;
        if (now - healthySince >= health.minHealthyTime) return;
      }
    } else {
      consecutive = 0;
      healthySince = null;
      last = probe.error ?? notReady(health.readiness, probe.status, probe.body, redact);
    }
    notFoundSince = probe.status === 404 && options.notFoundEnds === true ? (notFoundSince ?? now) : null;
    if (notFoundSince !== null && now - notFoundSince >= NOT_FOUND_GIVE_UP_MS) {
      throw new GateError(
        `${last}, on every probe for ${formatDuration(now - notFoundSince)}: the app serves no ${health.readiness}; ` +
          'set health.readiness to a path it answers 2xx on when ready (or serve that path)',
      );
    }
    if (now >= deadline) {
      throw new GateError(`not ready within ${formatDuration(health.healthyDeadline)}: ${last}`);
    }
    await clock.sleep(Math.min(health.interval, Math.max(0, deadline - now)), signal);
  }
}

/**
 * `GET /readyz answered 503: {"db": "unreachable"}`: the status and what the app said with it, the body's first
 * 200 bytes on one line (excerptBody), redacted before it is cut. Only the last failing round's is kept: what the
 * app says when the deadline passes is the state it was left in.
 */
export function notReady(path: string, status: number, body: string, redact: (text: string) => string): string {
  const excerpt = excerptBody(body, redact);
  return `GET ${path} answered ${status}${excerpt === '' ? '' : `: ${excerpt}`}`;
}

/**
 * Why the service crashed, in its own words, for the gate's failure message: its last 3 journal lines since the
 * restart that name an error (else its last 3), systemd's own lines left out, each cut at 400 characters. Empty when
 * the journal cannot be read. `redact` takes the config's secrets out before the cut: the renderers redact again,
 * but cannot recognise a secret the cut left half of (an app that logs its database URL in a long line).
 */
export async function appSaid(host: Host, baseline: ServiceState, redact: (text: string) => string, signal?: AbortSignal): Promise<string> {
  try {
    const since = baseline.since === null ? NaN : Date.parse(baseline.since);
    // At most 5 s: a wedged host must not hold the failure (and the revert behind it) for a command timeout.
    const limit = AbortSignal.timeout(5000);
    const batch = await host.journal({ lines: 200, since: Number.isFinite(since) ? { epochUs: since * 1000 } : { secondsAgo: 120 } }, signal ? AbortSignal.any([signal, limit]) : limit);
    const lines = pickAppReason(batch.entries.filter((e) => e.identifier !== 'systemd' && e.pid !== 1).map((e) => redact(e.message)));
    return lines.length === 0 ? '' : `; the app said: ${lines.join(' | ')}`;
  } catch {
    return '';
  }
}
