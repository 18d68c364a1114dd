/**
 * shared/env and shared/secrets.env in systemd EnvironmentFile= syntax (systemd.exec(5)), which is also valid
 * POSIX sh: every value in double quotes with \ " $ ` escaped by a backslash. systemd's parser (env-file.c)
 * removes exactly those escapes inside double quotes and keeps any other backslash, so every value round-trips.
 * Newlines and other control characters are rejected: systemd would join or split such lines, and config
 * validation already refuses them with a hint.
 */
import { ENV_KEY } from '../config/fields.js';
import { ShipitError } from '../lib/errors.js';

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f]/;

export function renderEnvFile(vars: Readonly<Record<string, string>>): string {
  const lines = ['# Written by shipit on every deploy; edits here are replaced. Set values in the shipit config.'];
  for (const key of Object.keys(vars).sort()) {
    const value = vars[key] as string;
    // Errors name the key only: this function also writes secrets.
    if (!ENV_KEY.test(key)) throw new ShipitError('CONFIG_INVALID', `${JSON.stringify(key)} is not a valid environment variable name`);
    if (typeof value !== 'string') throw new ShipitError('CONFIG_INVALID', `the value of ${key} is not a string`);
    if (CONTROL.test(value)) {
      throw new ShipitError('CONFIG_INVALID', `the value of ${key} contains a newline or control character, which an EnvironmentFile cannot hold`, {
        hint: 'base64-encode multi-line values such as PEM keys',
      });
    }
    lines.push(`${key}="${value.replace(/[\\"$`]/g, (char) => `\\${char}`)}"`);
  }
  return `${lines.join('\n')}\n`;
}
