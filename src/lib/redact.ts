/**
 * Redaction of secret values from anything that may be printed or logged: error messages, remote stderr,
 * event payloads. The rule is "never print a secret", so over-redaction (a short secret that also occurs in
 * ordinary text) is accepted; under-redaction is not.
 */
export const REDACTED = '[redacted]';

/**
 * The spellings a secret can take on its way to a host and back in output: as written, JSON-escaped, escaped
 * for a systemd EnvironmentFile / sh double quotes, and URL-encoded (database URLs are often printed encoded);
 * then each of those JSON-escaped once more, since `--json` output encodes what it prints (a line an app logged
 * as JSON, with the secret JSON-escaped in it, is escaped again in `shipit logs --json`'s message field).
 */
export function secretSpellings(value: string): string[] {
  if (value === '') return [];
  const spellings = new Set<string>([value, jsonEscaped(value), value.replace(/[\\"$`]/g, (char) => `\\${char}`), encodeURIComponent(value)]);
  for (const spelling of [...spellings]) spellings.add(jsonEscaped(spelling));
  return [...spellings].filter((spelling) => spelling !== '');
}

const jsonEscaped = (text: string) => JSON.stringify(text).slice(1, -1);

/** A function replacing every spelling of every secret by [redacted]. Longest first, so overlaps cannot leak. */
export function createRedactor(secrets: Iterable<string | undefined>): (text: string) => string {
  const needles = new Set<string>();
  for (const secret of secrets) {
    if (typeof secret === 'string') for (const spelling of secretSpellings(secret)) needles.add(spelling);
  }
  const sorted = [...needles].sort((a, b) => b.length - a.length);
  if (sorted.length === 0) return (text) => text;
  const pattern = new RegExp(sorted.map(escapeRegExp).join('|'), 'g');
  return (text) => text.replace(pattern, REDACTED);
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
