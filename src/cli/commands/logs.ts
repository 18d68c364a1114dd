import { systemClock } from '../../lib/clock.js';
import { errorMessage } from '../../lib/error-message.js';
import { ShipitError } from '../../lib/errors.js';
import { createRedactor } from '../../lib/redact.js';
import { entryJson, formatEntry } from '../../journal/format.js';
import { readJournals } from '../../journal/read.js';
import { parseSince } from '../../journal/since.js';
import { closeFleet, connectReachable, loadEnvironment, selectHosts, unredactedNote } from '../fleet.js';
import type { LogsOptions } from '../options.js';
import { combineFailures } from '../unreachable.js';
import { sensitiveValues } from '../../config/sensitive.js';

/** Lines shown when neither -n nor --since says otherwise. */
export const DEFAULT_LINES = 100;
/** How often each followed host's journal is read again. */
export const FOLLOW_INTERVAL_MS = 500;

/**
 * `shipit logs <env>`: the service's journal on every host, merged by time, each line prefixed with its host;
 * `-f` keeps following every host until Ctrl-C, which ends it with exit 0 (the read in flight on each host is
 * killed). A host that cannot be reached, or fails, is reported on stderr and the others go on (exit 3 at the end
 * without -f). Secret values are redacted.
 */
export async function logsCommand(env: string, options: LogsOptions): Promise<void> {
  const config = await loadEnvironment(env, options, { secrets: 'optional' });
  const targets = selectHosts(config, options.host);
  const since = options.since === undefined ? undefined : parseSince(options.since);
  const lines = parseLines(options.lines) ?? (since ? undefined : DEFAULT_LINES);
  const redact = createRedactor(sensitiveValues(config.server));
  const note = unredactedNote(config.unsetSecrets);
  if (note) process.stderr.write(note);
  const width = Math.max(...targets.map((t) => t.name.length));

  const abort = new AbortController();
  const stop = () => abort.abort(new ShipitError('ABORTED', 'stopped'));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  // `shipit logs -f | head`: a closed pipe ends the run like Ctrl-C.
  const onPipeError = (error: NodeJS.ErrnoException) => (error.code === 'EPIPE' ? stop() : undefined);
  process.stdout.on('error', onPipeError);
  const lost: string[] = [];
  const reportLost = (host: string, what: string, error: unknown) => {
    lost.push(host);
    const rest = targets.length - lost.length;
    process.stderr.write(`${redact(`${host}: ${what}: ${errorMessage(error)}`)}${rest > 0 ? ` (going on with the other ${rest} host(s))` : ''}\n`);
  };
  try {
    const { hosts, unreachable } = await connectReachable(config, targets, { ...options, signal: abort.signal });
    // Nobody to read: the connection errors themselves, as when every host fails in the middle.
    if (hosts.size === 0) throw combineFailures(unreachable.map((u) => u.error));
    for (const u of unreachable) reportLost(u.host, 'cannot read the journal', u.error);
    try {
      await readJournals(hosts, {
        lines,
        since,
        follow: options.follow ?? false,
        intervalMs: FOLLOW_INTERVAL_MS,
        clock: systemClock,
        signal: abort.signal,
        onEntries: (entries) => {
          if (entries.length === 0 || abort.signal.aborted) return;
          const text = entries.map((e) => (options.json ? entryJson(e, redact) : formatEntry(e, width, redact))).join('\n');
          process.stdout.write(`${text}\n`);
        },
        onHostLost: (host, error) => reportLost(host, 'cannot read the journal any more', error),
      });
    } finally {
      await closeFleet(hosts);
    }
  } catch (error) {
    // Ctrl-C is how following ends: not an error, even while still connecting.
    if (!abort.signal.aborted) throw error;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    process.stdout.off('error', onPipeError);
  }
  if (lost.length > 0 && !options.follow) {
    throw new ShipitError('CONNECT_FAILED', `the journal of ${lost.join(', ')} could not be read (the other hosts' lines are above)`);
  }
}

function parseLines(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new ShipitError('USAGE', `-n ${JSON.stringify(text)}: not a number of lines`, { hint: 'e.g. -n 200' });
  return Number(text);
}
