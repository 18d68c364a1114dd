/**
 * Events out, not prints (STYLE.md, habit 7): the rollout emits these; the CLI renders them as a listr2 tree,
 * plain lines or JSON. Tests assert the sequence. Never put secret values in an event.
 */
import type { DepsReport } from '../host/deps-types.js';

export type Phase = 'connect' | 'build' | 'lock' | 'inspect' | 'prepare' | 'rollout' | 'revert' | 'finish';

export type RolloutEvent =
  | { type: 'phase.started'; phase: Phase }
  | { type: 'phase.finished'; phase: Phase; durationMs: number }
  | { type: 'host.locked'; host: string }
  | { type: 'host.lock_stale'; host: string; holder: string }
  /** The release's id was taken on `takenOn` while it waited for the lock (a deploy in the same second): it goes out as `to`. */
  | { type: 'release.renamed'; from: string; to: string; takenOn: string[] }
  | { type: 'host.prepared'; host: string; filesSent: number; filesReused: number; bytesSent: number; durationMs: number; deps?: DepsReport[]; withLock?: boolean }
  | { type: 'host.prepare_failed'; host: string; error: string }
  | { type: 'batch.started'; batch: number; of: number; hosts: string[] }
  /** `previous`: the release the host is switched from (in a revert, the failed one). */
  | { type: 'host.activating'; host: string; release: string | null; previous: string | null }
  | { type: 'host.restarted'; host: string; durationMs: number }
  | { type: 'host.ready'; host: string; release: string | null; durationMs: number }
  /**
   * What the app logged at warning priority or worse as it started on the canary, once it passed its gate (the
   * runtime's JSON reduced to its `msg`, redacted, deduplicated, each cut): it serves, but maybe not as meant.
   * `more`: distinct lines left out.
   */
  | { type: 'host.app_warnings'; host: string; release: string; lines: string[]; more: number }
  | { type: 'host.failed'; host: string; release: string | null; error: string }
  | { type: 'batch.finished'; batch: number; durationMs: number }
  | { type: 'rollback.started'; reason: string; hosts: string[] }
  | { type: 'host.reverted'; host: string; release: string | null }
  | { type: 'host.revert_failed'; host: string; release: string | null; error: string }
  /** `shipit remove`: the host's removal command was sent; once sent it is never cut off (a Ctrl-C lets it finish). */
  | { type: 'host.removing'; host: string }
  | { type: 'host.removal_finished'; host: string }
  | { type: 'rollout.finished'; result: RolloutResult; release: string; durationMs: number; hosts: Record<string, string | null> };

export type RolloutResult = 'success' | 'failed-restored' | 'failed-inconsistent';

export type Emit = (event: RolloutEvent) => void;

export const noEmit: Emit = () => {};
