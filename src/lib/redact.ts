/**
 * Redaction of secret values from anything that may be printed or logged: error messages, remote stderr,
 * event payloads. The rule is "never print a secret", so over-redaction (a short secret that also occurs in
 * ordinary text) is accepted; under-redaction is not.
 */
export const REDACTED = '[redacted]';

/**
 * A function replacing every spelling of every secret by [redacted]. Longest secret first, so overlaps cannot
 * leak. A secret is matched by secretPattern, which spells out no list of encodings but lets each character take
 * any of the forms the encoders met on its way to output give it, in any mix (a run of backslashes: all written
 * as backslashes, or all in other forms).
 */
export function createRedactor(secrets: Iterable<string | undefined>): (text: string) => string {
  const values = new Set<string>();
  for (const secret of secrets) if (typeof secret === 'string' && secret !== '') values.add(secret);
  if (values.size === 0) return (text) => text;
  const sorted = [...values].sort((a, b) => b.length - a.length);
  const groups: GroupNames = { next: 0 };
  const pattern = new RegExp(sorted.map((secret) => secretPattern(secret, groups)).join('|'), 'g');
  return (text) => text.replace(pattern, REDACTED);
}

/**
 * One backslash in the pattern, always with a bounded count: 1, 2, 4 or 8 of them spell one (escaped up to three
 * times over; a run of them in the secret: backslashRunPattern), 0, 1, 3 or 7 put one before a character. Unbounded (`\\*`) made a long run of backslashes in
 * output (an app logging a request path full of them) quadratic: 30,000 took 1.5 s, and `shipit logs` would hang on
 * a megabyte of them.
 */
const BACKSLASHES = '\\\\';

/**
 * A regular expression (source) matching `value` as it may be printed, one character at a time:
 * - as is, or after the backslashes an escaper puts before it (up to three escapings: BACKSLASHES above) (JSON, a systemd EnvironmentFile or sh
 *   double quotes, Python's repr() with `\'` and `\\`, any of them JSON-escaped again by `--json`);
 * - a control character as its one-letter escape (`\n`), any character as `\uXXXX` (JSON encoders that
 *   escape non-ASCII or HTML characters, Python's json.dumps);
 * - percent-encoded, upper or lower case, whichever characters the encoder chose to encode (encodeURIComponent
 *   leaves `'` and `!`, Python's quote() encodes them: a database URL built by the app), a space also as `+`
 *   (forms, quote_plus);
 * - a `'` as sh single-quotes it (`'\''`, `'"'"'`: `set -x` in a failing build.command, shlex.quote);
 * - as an HTML entity: `&amp;` `&lt;` `&gt;` `&quot;` `&apos;`, or any character as `&#NN;` / `&#xHH;` (a Django,
 *   Starlette, Werkzeug or Jinja error page, whose excerpt a failed readiness probe prints, writes `&#x27;` or
 *   `&#39;` for `'`, `&quot;` or `&#34;` for `"`).
 * Letters and digits are taken as they are: a backslash before one is another character (`\n`).
 */
export function secretPattern(value: string, groups: GroupNames = { next: 0 }): string {
  let out = '';
  const chars = [...value];
  let afterRun = false;
  for (let i = 0; i < chars.length; i++) {
    const char = chars[i]!;
    if (/^[A-Za-z0-9]$/.test(char)) {
      out += char;
      afterRun = false;
      continue;
    }
    if (char === '\\') {
      let run = 1;
      while (chars[i + run] === '\\') run++;
      i += run - 1;
      out += backslashRunPattern(run, groups);
      afterRun = true;
      continue;
    }
    out += `(?:${characterForms(char, afterRun).join('|')})`;
    afterRun = false;
  }
  return out;
}

/** Names for the capture groups of the patterns that go into one RegExp (they must differ across secrets). */
export interface GroupNames {
  next: number;
}

/**
 * A run of `count` backslashes in the secret, as ONE group: written as 1 to 8 backslashes each (any mix is between
 * count and 8 × count of them), or each in one of its other forms (`\u005c`, `%5C`, `&#92;`). With a group per
 * backslash, k of them in a row nested: each position of a long run of backslashes in output tried 8^k ways to split
 * it (a secret starting with 4 backslashes took 2.9 s on 100 KB of them).
 *
 * The backslashes are taken atomically, as many as there are up to 8 × count: a lookahead captures them (a
 * lookahead is never re-entered to capture fewer) and a backreference consumes exactly that. Otherwise the run and
 * the next character's own leading backslashes (`\"` after `\\`) could split the output's backslashes between them
 * in up to 8 ways per such pair, 8^pairs in all (a secret of four `\"` took 166 ms on 2.7 KB). What the next
 * character's forms need of backslashes the run may have taken already: they take none or more (characterForms'
 * afterRun).
 */
function backslashRunPattern(count: number, groups: GroupNames): string {
  const name = `b${groups.next++}`;
  const others = characterForms('\\', false).join('|');
  return `(?:(?=(?<${name}>${BACKSLASHES}{${count},${8 * count}}))\\k<${name}>|(?:${others})${count > 1 ? `{${count}}` : ''})`;
}

/**
 * The forms of one non-alphanumeric character (below), except a backslash's own: backslashRunPattern spells runs of
 * it. None of them matches backslashes alone. `afterRun`: the character follows a run of backslashes in the secret,
 * which took every backslash there: a form that starts with some takes none or more.
 */
function characterForms(char: string, afterRun: boolean): string[] {
  const code = char.codePointAt(0)!;
  const some = afterRun ? 0 : 1;
  const forms = char === '\\' ? htmlEntities(char) : [`${BACKSLASHES}{0,7}${asWritten(char)}`];
  const units = code > 0xffff ? [0xd800 + ((code - 0x10000) >> 10), 0xdc00 + ((code - 0x10000) & 0x3ff)] : [code];
  forms.push(units.map((unit, index) => `${BACKSLASHES}{${index === 0 ? some : 1},8}u${hexPattern(unit.toString(16).padStart(4, '0'))}`).join(''));
  forms.push([...Buffer.from(char, 'utf8')].map((byte) => `%${hexPattern(byte.toString(16).padStart(2, '0'))}`).join(''));
  const short = SHORT_ESCAPES[char];
  if (short !== undefined) forms.push(`${BACKSLASHES}{${some},8}${short}`);
  if (char === ' ') forms.push('\\+');
  if (char === "'") {
    // `'\''` always has its backslash (none would make `'''` a form of one quote, and a run of quotes ambiguous);
    // `'"'"'` has none until JSON escapes its double quotes.
    const [q, qq] = [asWritten("'"), asWritten('"')];
    forms.push(`${q}${BACKSLASHES}{${some},7}${q}${q}`, `${q}${BACKSLASHES}{0,7}${qq}${q}${BACKSLASHES}{0,7}${qq}${q}`);
  }
  return forms;
}

/** JSON's (and C's, Python's) one-letter escapes of control characters. */
const SHORT_ESCAPES: Record<string, string> = { '\n': 'n', '\r': 'r', '\t': 't', '\b': 'b', '\f': 'f' };

/** HTML's named entities for the characters its escapers escape (html.escape, Django, MarkupSafe, he). */
const HTML_NAMES: Record<string, string> = { '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' };

/** A character as is or as an HTML entity. */
function asWritten(char: string): string {
  return `(?:${[escapeRegExp(char), ...htmlEntities(char)].join('|')})`;
}

/**
 * A character as HTML entities: its name if it has one of HTML_NAMES (either case: `&QUOT;` is HTML5 too), and its
 * code point in decimal or hex, with a few leading zeros (`&#x0027;`). Quantifiers bounded, so the pattern stays linear.
 */
function htmlEntities(char: string): string[] {
  const code = char.codePointAt(0)!;
  const entities = [`&#0{0,6}${code}`, `&#[xX]0{0,6}${hexPattern(code.toString(16))}`];
  const name = HTML_NAMES[char];
  if (name !== undefined) entities.push(`&${[...name].map((c) => `[${c}${c.toUpperCase()}]`).join('')}`);
  return entities.map((entity) => `${entity};`);
}

/** Hex digits in either case. */
function hexPattern(hex: string): string {
  return [...hex].map((digit) => (/[a-f]/.test(digit) ? `[${digit}${digit.toUpperCase()}]` : digit)).join('');
}

/**
 * The secrets of the config this process loaded (config/load.ts), for the last line of defence: the CLI's final
 * error message (cli/main.ts report), which may quote a host's output.
 */
const loaded = new Set<string>();
let redactLoaded: (text: string) => string = (text) => text;

export function rememberSecrets(secrets: Iterable<string | undefined>): void {
  for (const secret of secrets) if (typeof secret === 'string' && secret !== '') loaded.add(secret);
  redactLoaded = createRedactor(loaded);
}

/** Redacts the secrets of every config this process loaded. */
export function redactLoadedSecrets(text: string): string {
  return redactLoaded(text);
}

/** Replaces every secret value in `text` by [redacted]. */
export function redactSecrets(text: string, secrets: Iterable<string | undefined>): string {
  return createRedactor(secrets)(text);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
