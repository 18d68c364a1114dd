import type { Host, JournalBatch, JournalEntry, JournalQuery } from '../host/types.js';
import type { Clock } from '../lib/clock.js';
import { errorMessage } from '../lib/error-message.js';
import { ShipitError } from '../lib/errors.js';
import { JournalMerger, mergeByTime, newest, type HostEntry } from './merge.js';

export interface ReadJournalOptions {
  /** Newest entries of the merged stream to show first (each host is asked for as many). */
  lines?: number;
  since?: JournalQuery['since'];
  /** Keep reading new entries until `signal` aborts. */
  follow?: boolean;
  /** Time between two reads of one host's journal while following. */
  intervalMs: number;
  clock: Clock;
  signal?: AbortSignal;
  /** Entries in time order, as they become final. */
  onEntries(entries: HostEntry[]): void;
  /** A host that can no longer be read: the others go on. */
  onHostLost(host: string, error: unknown): void;
}

/**
 * `shipit logs`: every host's journal, merged by time. First the newest `lines` (or everything since `since`)
 * across the fleet; then, following, each host is read again from its cursor every `intervalMs` over its own
 * connection, and the merger releases an entry once every host still followed has been read past its time.
 * A host that fails is reported and dropped; when none is left the run fails. Aborting ends it normally.
 *
 * Following reads (one short `journalctl --after-cursor` per host per interval) instead of streaming
 * `journalctl -f`: the transport returns a command's output when it ends, and reads from a cursor lose nothing
 * between two polls. Aborting kills the read in flight on the host (the transport's kill).
 */
export async function readJournals(hosts: ReadonlyMap<string, Host>, options: ReadJournalOptions): Promise<void> {
  const names = [...hosts.keys()];
  const lost = new Set<string>();
  const first: JournalQuery = { ...(options.lines !== undefined ? { lines: options.lines } : {}), ...(options.since ? { since: options.since } : {}) };
  const initial = await Promise.allSettled(names.map((name) => hosts.get(name)!.journal(first, options.signal)));
  if (options.signal?.aborted) return;
  const batches = new Map<string, JournalEntry[]>();
  const next = new Map<string, JournalQuery>();
  const merger = new JournalMerger(names);
  initial.forEach((result, i) => {
    const name = names[i]!;
    if (result.status === 'rejected') {
      lost.add(name);
      merger.drop(name);
      options.onHostLost(name, result.reason);
      return;
    }
    batches.set(name, result.value.entries);
    // Only the watermark: the entries are printed below, merged across hosts and cut to the newest `lines`.
    merger.add(name, { entries: [], readAtUs: result.value.readAtUs });
    next.set(name, continueAfter(result.value, { since: { epochUs: result.value.readAtUs } }));
  });
  if (lost.size === names.length) throw allLost(names, initial);
  options.onEntries(newest(mergeByTime(batches), options.lines));
  if (!options.follow) return;

  await Promise.all(
    names.filter((name) => !lost.has(name)).map(async (name) => {
      const host = hosts.get(name)!;
      try {
        for (;;) {
          await options.clock.sleep(options.intervalMs, options.signal);
          const batch = await host.journal(next.get(name)!, options.signal);
          next.set(name, continueAfter(batch, next.get(name)!));
          merger.add(name, batch);
          emit(merger, options);
        }
      } catch (error) {
        if (options.signal?.aborted) return;
        lost.add(name);
        merger.drop(name);
        options.onHostLost(name, error);
        emit(merger, options);
      }
    }),
  );
  options.onEntries(merger.drain());
  if (lost.size === names.length) throw allLost(names, []);
}

function emit(merger: JournalMerger, options: ReadJournalOptions): void {
  const ready = merger.take();
  if (ready.length > 0) options.onEntries(ready);
}

/** The next read of one host: after the last entry seen; before any entry, from the instant read up to. */
function continueAfter(batch: JournalBatch, previous: JournalQuery): JournalQuery {
  const last = batch.entries.at(-1);
  if (last) return { afterCursor: last.cursor };
  if (previous.afterCursor !== undefined) return previous;
  return { since: { epochUs: batch.readAtUs } };
}

function allLost(names: string[], results: PromiseSettledResult<unknown>[]): ShipitError {
  const reasons = results.flatMap((r) => (r.status === 'rejected' ? [errorMessage(r.reason)] : []));
  const first = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')?.reason;
  return new ShipitError(first instanceof ShipitError ? first.code : 'CONNECT_FAILED', `no host's journal can be read (${names.join(', ')})${reasons.length ? `: ${reasons.join('; ')}` : ''}`, {
    hint: first instanceof ShipitError ? first.hint : undefined,
  });
}
