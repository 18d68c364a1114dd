/**
 * Durations as users write them ('500ms', '5s', '2m', '1h', '1m30s', '1.5s') or as plain milliseconds.
 * Everything downstream of config works in integer milliseconds.
 */
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
type Unit = keyof typeof UNIT_MS;

// One or more <number><unit> parts, largest first is not enforced ('90s' and '1m30s' are both fine).
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;

/** Milliseconds for `input`, or undefined when it is not a duration. Never negative; rounded to whole ms. */
export function tryParseDuration(input: unknown): number | undefined {
  if (typeof input === 'number') {
    return Number.isFinite(input) && input >= 0 ? Math.round(input) : undefined;
  }
  if (typeof input !== 'string') return undefined;
  const text = input.trim();
  if (text === '') return undefined;
  if (/^\d+$/.test(text)) return Number(text); // a bare number in a string is milliseconds, like a number
  PART.lastIndex = 0;
  let total = 0;
  let consumed = 0;
  for (let match = PART.exec(text); match !== null; match = PART.exec(text)) {
    total += Number(match[1]) * UNIT_MS[match[2] as Unit];
    consumed = PART.lastIndex;
  }
  return consumed === text.length && consumed > 0 ? Math.round(total) : undefined;
}

/** Milliseconds for '500ms' | '5s' | '2m' | '1h' | '1m30s' | a number of ms. Throws on anything else. */
export function parseDuration(input: string | number): number {
  const ms = tryParseDuration(input);
  if (ms === undefined) {
    throw new TypeError(
      `${JSON.stringify(input)} is not a duration: expected a number of milliseconds or a string like "500ms", "5s", "2m", "1h"`,
    );
  }
  return ms;
}

/** The shortest exact spelling: 0 → '0s', 1500 → '1.5s', 90_000 → '1m30s', 250 → '250ms'. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) throw new TypeError(`cannot format ${ms} as a duration`);
  let rest = Math.round(ms);
  if (rest === 0) return '0s';
  if (rest < 1_000) return `${rest}ms`;
  const parts: string[] = [];
  for (const unit of ['d', 'h', 'm'] as const) {
    const count = Math.floor(rest / UNIT_MS[unit]);
    if (count > 0) {
      parts.push(`${count}${unit}`);
      rest -= count * UNIT_MS[unit];
    }
  }
  if (rest > 0) {
    // Seconds with up to three decimals keep it exact without a trailing 'ms' part.
    parts.push(`${Number((rest / 1_000).toFixed(3))}s`);
  }
  return parts.join('');
}
