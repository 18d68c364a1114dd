/**
 * Quoting for the two languages a unit's ExecStart goes through: systemd's command-line syntax
 * (systemd.syntax(7) "Quoting", systemd.service(5) "Command lines") and then /bin/sh.
 */
import { ShipitError } from '../lib/errors.js';

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * One systemd command-line argument holding `text` exactly: single-quoted, with C escapes for \ and ', `$$` so
 * systemd does not substitute variables (the shell does), and `%%` so it does not expand specifiers.
 */
export function systemdArg(text: string): string {
  if (CONTROL.test(text)) throw new ShipitError('INTERNAL', 'a unit command line cannot contain control characters');
  const escaped = text.replace(/[\\'$%]/g, (char) => (char === '\\' ? '\\\\' : char === "'" ? "\\'" : char + char));
  return `'${escaped}'`;
}

/** A POSIX sh word: the project's one quoting function (src/remote/quote.ts), under the name units use. */
export { quote as shWord } from '../remote/quote.js';

/** `ExecStart=` value running `script` with /bin/sh. */
export function shExecStart(script: string): string {
  return `/bin/sh -c ${systemdArg(script)}`;
}
