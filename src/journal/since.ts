import type { JournalQuery } from '../host/types.js';
import { tryParseDuration } from '../lib/duration.js';
import { ShipitError } from '../lib/errors.js';

/**
 * `--since`: a duration back from now by each host's clock ('10m', '1h30m'), or an absolute time Date can read
 * ('2026-11-25 13:00', '2026-11-25T13:00:00Z'; without a zone it is the deployer's local time). journalctl of
 * systemd 252 reads neither ISO 'T…Z' nor '10m' ago as such, so both become what it reads (-600s, @epoch).
 */
export function parseSince(text: string, now: () => number = Date.now): NonNullable<JournalQuery['since']> {
  const ms = tryParseDuration(text);
  if (ms !== undefined && !/^\d+$/.test(text.trim())) return { secondsAgo: Math.ceil(ms / 1000) };
  if (/^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(text.trim())) {
    // A date alone would be read as UTC midnight, a date and time as local time: make both local.
    const at = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(text.trim()) ? `${text.trim()}T00:00` : text.trim().replace(' ', 'T'));
    if (Number.isFinite(at) && at <= now() + 86_400_000) return { epochUs: Math.max(0, at) * 1000 };
  }
  throw new ShipitError('USAGE', `--since ${JSON.stringify(text)}: not a duration or a time`, {
    hint: 'use a duration back from now like 10m, 2h, 1h30m, or a time like "2026-11-25 13:00" or 2026-11-25T13:00:00Z',
  });
}
