import type { JournalBatch, JournalEntry } from '../host/types.js';

/** A journal entry and the host it came from. */
export interface HostEntry extends JournalEntry {
  host: string;
}

/**
 * All hosts' entries in one stream ordered by time (the hosts' clocks: run NTP). Ties keep the hosts' order and
 * each host's own order, so merging is stable and a host's lines never swap.
 */
export function mergeByTime(batches: ReadonlyMap<string, readonly JournalEntry[]>): HostEntry[] {
  const tagged = [...batches].flatMap(([host, entries], h) => entries.map((entry, i) => ({ entry: { ...entry, host }, h, i })));
  tagged.sort((a, b) => a.entry.timeUs - b.entry.timeUs || a.h - b.h || a.i - b.i);
  return tagged.map((t) => t.entry);
}

/** The newest `lines` entries of a merged stream (all when undefined). */
export function newest<T>(entries: readonly T[], lines: number | undefined): T[] {
  if (lines === undefined) return [...entries];
  return lines === 0 ? [] : entries.slice(-lines);
}

/**
 * Merges streams that arrive in batches (following several hosts at once). An entry is released only once
 * every host still followed has read its journal past the entry's time (`readAtUs`), so a host that answers
 * late cannot have an older line still on its way. A host that drops out stops holding the others back.
 * An entry that arrives after its moment was released (journald wrote it late) is released at once.
 */
export class JournalMerger {
  private readonly readAt = new Map<string, number>();
  private pending: HostEntry[] = [];
  private order: string[];

  constructor(hosts: readonly string[]) {
    this.order = [...hosts];
    for (const host of hosts) this.readAt.set(host, 0);
  }

  add(host: string, batch: JournalBatch): void {
    this.readAt.set(host, Math.max(this.readAt.get(host) ?? 0, batch.readAtUs));
    const merged = mergeByTime(new Map([[host, batch.entries]]));
    this.pending.push(...merged);
  }

  /** The host is no longer followed: its watermark no longer counts. */
  drop(host: string): void {
    this.readAt.delete(host);
    this.order = this.order.filter((h) => h !== host);
  }

  /** The instant up to which every followed host has been read (Infinity when none is left). */
  watermark(): number {
    return Math.min(...this.readAt.values());
  }

  /** Entries at or before the watermark, in time order; they are removed from the buffer. */
  take(): HostEntry[] {
    const limit = this.watermark();
    const ready = this.pending.filter((e) => e.timeUs <= limit);
    this.pending = this.pending.filter((e) => e.timeUs > limit);
    return this.sort(ready);
  }

  /** Everything still buffered, in time order (at the end of a run). */
  drain(): HostEntry[] {
    const all = this.sort(this.pending);
    this.pending = [];
    return all;
  }

  private sort(entries: HostEntry[]): HostEntry[] {
    const rank = (host: string) => {
      const i = this.order.indexOf(host);
      return i < 0 ? Number.MAX_SAFE_INTEGER : i;
    };
    return entries
      .map((entry, i) => ({ entry, i }))
      .sort((a, b) => a.entry.timeUs - b.entry.timeUs || rank(a.entry.host) - rank(b.entry.host) || a.i - b.i)
      .map((t) => t.entry);
  }
}
