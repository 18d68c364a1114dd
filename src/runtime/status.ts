/**
 * The STATUS= line systemd shows in `systemctl status` (sd_notify(3)). Pure; one line, no newlines.
 */
import type { Phase } from './arbiter.js';

export interface StatusInput {
  phase: Phase;
  workers: number;
  serving: number;
  alive: number;
  reloadReplaced: number | undefined;
  haltMessage: string | undefined;
  note: string | undefined;
}

export function renderStatus(s: StatusInput): string {
  const text = ((): string => {
    if (s.phase === 'stopping' || s.phase === 'exited') {
      const draining = `draining ${s.alive} ${plural(s.alive, 'worker')}`;
      return s.haltMessage === undefined ? `stopping: ${draining}` : `${s.haltMessage}; ${draining}`;
    }
    if (s.phase === 'starting') return `starting: ${s.serving} of ${s.workers} ${plural(s.workers, 'worker')} serving`;
    const serving = s.serving >= s.workers ? `${s.serving} ${plural(s.serving, 'worker')} serving` : `${s.serving} of ${s.workers} workers serving`;
    if (s.reloadReplaced !== undefined) return `reloading: ${s.reloadReplaced} of ${s.workers} replaced; ${serving}`;
    return s.note === undefined ? serving : `${serving}; ${s.note}`;
  })();
  return text.replace(/[\r\n]+/g, ' ').slice(0, 400);
}

function plural(n: number, word: string): string {
  return n === 1 ? word : `${word}s`;
}
