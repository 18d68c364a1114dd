/**
 * Which of a failed service's own log lines say why it failed, for error messages: the activation's (an awk on
 * the host, remote/scripts.ts WHY_FUNCTION) and the readiness gate's (rollout/gate.ts appSaid) pick them alike.
 * The pattern is a POSIX ERE as well, so awk runs the same one: the runtime's JSON `"level":"error"` and
 * "halting: …", a Python exception, "failed".
 */
export const APP_REASON = {
  pattern: /[Ee]rror|Exception|halting|[Ff]ailed/,
  /**
   * The runtime's info and debug lines never say why: one that mentions an error in passing (the restarted
   * master's `"sd_notify_error":…` at start) pushed the worker's uncaught exception out of the 3 lines shown.
   */
  quiet: /"level":"(debug|info)"/,
  lines: 3,
  /** What is shown of a line: the deployer cuts there, after it redacted the line (cutAppLine). */
  chars: 400,
  /**
   * What a host sends of a line (remote/scripts.ts WHY_FUNCTION): a bound on the bytes, far enough past `chars`
   * that a secret that straddles `chars` arrives whole and is redacted, instead of its first part being printed.
   */
  hostChars: 4096,
} as const;

/** One line of the app's as shown: the config's secrets taken out first, then cut at APP_REASON.chars. */
export function cutAppLine(line: string, redact: (text: string) => string): string {
  return cut(redact(line));
}

const cut = (line: string) => (line.length > APP_REASON.chars ? `${line.slice(0, APP_REASON.chars)}...` : line);

/** The last APP_REASON.lines lines that match the pattern (else the last lines at all), each cut at APP_REASON.chars. */
export function pickAppReason(lines: readonly string[]): string[] {
  const shown = lines.map(cut);
  const telling = shown.filter((line) => APP_REASON.pattern.test(line) && !APP_REASON.quiet.test(line));
  return (telling.length > 0 ? telling : shown).slice(-APP_REASON.lines);
}
