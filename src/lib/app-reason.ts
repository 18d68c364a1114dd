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
  chars: 400,
} as const;

/** The last APP_REASON.lines lines that match the pattern (else the last lines at all), each cut at APP_REASON.chars. */
export function pickAppReason(lines: readonly string[]): string[] {
  const cut = lines.map((line) => (line.length > APP_REASON.chars ? `${line.slice(0, APP_REASON.chars)}...` : line));
  const telling = cut.filter((line) => APP_REASON.pattern.test(line) && !APP_REASON.quiet.test(line));
  return (telling.length > 0 ? telling : cut).slice(-APP_REASON.lines);
}
