import { formatDuration } from '../../lib/duration.js';
import type { RolloutEvent } from '../../rollout/events.js';

export type RolloutFinished = Extract<RolloutEvent, { type: 'rollout.finished' }>;

const kib = (bytes: number) => (bytes < 10_240 ? `${bytes} B` : `${(bytes / 1024).toFixed(0)} KiB`);

/**
 * A host's error as its own line or row says it: that line already starts with the host's name, so a message
 * that starts with it too (`web2: stage failed …`, as SshHost words its errors) loses it there. The events keep
 * the whole message (--json, the final error).
 */
function ownError(event: { host: string; error: string }): string {
  return event.error.startsWith(`${event.host}: `) ? event.error.slice(event.host.length + 2) : event.error;
}

/**
 * What a host the rollout phase never moved is left on, for its line or row: a failed run's untouched hosts must
 * not read as done. `finished` is the phase's rollout.finished (null: the phase ended without one); a host it
 * does not list was never to be moved (a rollback leaves hosts already on the target alone).
 */
export function describeUntouched(host: string, finished: RolloutFinished | null): string {
  if (finished === null) return 'not touched';
  if (!(host in finished.hosts)) return `not moved: already on ${finished.release}`;
  const on = finished.hosts[host];
  // A first deploy's: there is no release to be "still on".
  return `not touched: ${on ? `still on ${on}` : 'nothing deployed there yet'} (the rollout stopped before its batch)`;
}

/** One human line per event (plain renderer, and titles of the listr2 tree). Never secret values. */
const ROLLOUT_RESULT_WORDS: Record<RolloutFinished['result'], string> = {
  success: 'succeeded',
  'failed-restored': 'failed, every touched host restored,',
  'failed-inconsistent': 'failed, the fleet may be inconsistent,',
};

export function describeEvent(event: RolloutEvent): string {
  switch (event.type) {
    case 'phase.started':
      return `${event.phase}…`;
    case 'phase.finished':
      return `${event.phase} done in ${formatDuration(event.durationMs)}`;
    case 'host.locked':
      return 'locked';
    case 'host.lock_stale':
      return `removed a stale lock of a run that is gone: ${event.holder}`;
    case 'release.renamed':
      return `release ${event.from} exists already on ${event.takenOn.join(', ')} (deployed in the same second): deploying as ${event.to}`;
    case 'host.prepared':
      return `staged: ${event.filesSent} files sent, ${event.filesReused} reused, ${kib(event.bytesSent)} on the wire (${event.withLock ? 'with the lock' : formatDuration(event.durationMs)})${(event.deps ?? []).map((d) => `; ${d.kind} deps ${d.set} ${d.created ? `built (${formatDuration(d.durationMs)})` : 'reused'}`).join('')}`;
    case 'host.prepare_failed':
      return `prepare failed: ${ownError(event)}`;
    case 'batch.started':
      return `batch ${event.batch}/${event.of}: ${event.hosts.join(', ')}`;
    case 'host.activating':
      if (event.release === null) return 'stopping (it ran no release before)';
      return event.previous === null ? `switching to ${event.release} (first release), restarting` : `switching ${event.previous} → ${event.release}, restarting`;
    case 'host.restarted':
      return `restarted in ${formatDuration(event.durationMs)}, waiting for readiness`;
    case 'host.ready':
      return `ready on ${event.release} (${formatDuration(event.durationMs)})`;
    case 'host.app_warnings':
      return describeAppWarnings(event);
    case 'host.failed':
      return `FAILED on ${event.release}: ${ownError(event)}`;
    case 'batch.finished':
      return `batch ${event.batch} healthy in ${formatDuration(event.durationMs)}`;
    case 'rollback.started':
      // Not the reason: the failing host's line just said it, or the final error does (it is in --json).
      return `rolling back ${event.hosts.join(', ')} to the release each ran before`;
    case 'host.reverted':
      return event.release === null ? 'reverted: no release running, as before' : `reverted to ${event.release}`;
    case 'host.revert_failed':
      return `REVERT FAILED (${event.release === null ? 'stopping it: it ran no release before' : `to ${event.release}`}): ${ownError(event)}`;
    case 'host.removing':
      return 'removing';
    case 'host.removal_finished':
      return 'removal finished';
    case 'rollout.finished':
      // In words: the result's id (failed-restored) read as jargon in CI logs. The exit code and --json keep the id.
      return `rollout ${ROLLOUT_RESULT_WORDS[event.result]} in ${formatDuration(event.durationMs)}`;
  }
}

/**
 * `the app warned at start: server.js: export onReady is not called …`: one line (greppable, like every event's),
 * its warnings separated by ` | `, which the runtime's sentences do not use.
 */
function describeAppWarnings(event: Extract<RolloutEvent, { type: 'host.app_warnings' }>): string {
  const more = event.more > 0 ? ` (and ${event.more} more: \`shipit logs\` shows them all)` : '';
  return `the app warned at start: ${event.lines.join(' | ')}${more}`;
}
