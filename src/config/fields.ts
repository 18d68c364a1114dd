/**
 * Leaf schemas of the config: one value each (a duration, a port, an env map, a path on the hosts). Messages are
 * predicates about the offending value, `%v` standing for it (filled in by errors.ts, never under `secrets`).
 */
import { isIP } from 'node:net';
import * as z from 'zod';
import { tryParseDuration } from '../lib/duration.js';
import { MAX_WORKERS, neverAWorker, parseWorkers } from './workers.js';
import { MIN_SECRET_LENGTH, tooShortToRedact } from './sensitive.js';

export const APP_NAME = /^[a-z][a-z0-9-]*$/;
export const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const UNIX_USER = /^[a-z_][a-z0-9_-]{0,31}$/;
export const PYTHON_DOTTED = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$/;
export const GUNICORN_APP = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*(?:\(\))?$/;
export const SAFE_PATH_CHARS = /^[A-Za-z0-9._+@/-]+$/;
// eslint-disable-next-line no-control-regex
export const CONTROL_CHARS = /[\u0000-\u0008\u000a-\u001f\u007f]/;

/**
 * Variables the units set themselves: a value in `env` would silently fight them (EnvironmentFile= wins over
 * Environment=) or break socket activation.
 */
export const RESERVED_ENV_KEYS: Record<string, string> = {
  PORT: 'set server.port instead',
  WORKERS: 'set server.workers instead',
  LISTEN_PID: 'systemd sets it for socket activation',
  LISTEN_FDS: 'systemd sets it for socket activation',
  LISTEN_FDNAMES: 'systemd sets it for socket activation',
  NOTIFY_SOCKET: 'systemd sets it for sd_notify',
  // The node preset's unit sets these from server.*; a value in shared/env would override the unit's
  // (EnvironmentFile= wins over Environment=) behind the checks made on server.module and the rest.
  SHIPIT_APP: 'set server.module instead',
  SHIPIT_APP_DIR: 'the unit sets it to the current release',
  SHIPIT_TIMEOUT: 'set server.timeout instead',
  SHIPIT_GRACEFUL_TIMEOUT: 'set server.gracefulTimeout instead',
  SHIPIT_KEEP_ALIVE: 'set server.keepAlive instead',
  // Derived so that the runtime's "not serving after N ms" comes before the deploy's restart limit
  // (src/units/render.ts nodeBootTimeoutSeconds); a value here would undo that.
  SHIPIT_BOOT_TIMEOUT: 'the unit derives it from health.healthyDeadline: raise that for an app that boots slowly',
};

export const durationSchema = z
  .union([z.string(), z.number()], { error: '%v is not a duration: expected milliseconds or a string like "500ms", "5s", "2m", "1h"' })
  .refine((value) => tryParseDuration(value) !== undefined, {
    error: '%v is not a duration: expected milliseconds or a string like "500ms", "5s", "2m", "1h"',
  })
  .transform((value) => tryParseDuration(value) as number);

/** Whole seconds, written as a number of seconds (Gunicorn's unit) or as a duration string ('30s', '2m'). */
export const secondsSchema = z
  .union([z.number(), z.string()], { error: '%v is not a number of seconds: expected e.g. 30 or "30s"' })
  .refine(
    (value) => {
      const seconds = typeof value === 'number' ? value : (tryParseDuration(value) ?? NaN) / 1000;
      return Number.isInteger(seconds) && seconds >= 1;
    },
    { error: '%v is not a whole number of seconds ≥ 1: expected e.g. 30 or "30s"' },
  )
  .transform((value) => (typeof value === 'number' ? value : (tryParseDuration(value) as number) / 1000));

export const portSchema = z.number().int().min(1).max(65_535);

export const envKeySchema = z
  .string()
  .regex(ENV_KEY, '%v is not a valid environment variable name: expected letters, digits and _, not starting with a digit');

export const httpPathSchema = z
  .string()
  .regex(/^\/[^\s"'\\]*$/, '%v is not an HTTP path: expected a path starting with "/" and without spaces or quotes, like "/healthz"');

export const ipSchema = z.string().refine((value) => value === '*' || isValidIp(value), {
  error: '%v is not an IP address: expected an IPv4 or IPv6 address, or "*" to trust every proxy',
});

/** Host-side paths: absolute, and safe to write unquoted in unit files and shell commands. */
export const hostPathSchema = z
  .string()
  .refine((value) => value.startsWith('/'), { error: '%v is not an absolute path: expected a path on the hosts like "/srv/hello"' })
  .refine((value) => SAFE_PATH_CHARS.test(value), {
    error: '%v contains characters shipit does not put in unit files (spaces, quotes, $, %, \\): expected letters, digits and . _ + @ / -',
  })
  .refine((value) => !value.split('/').some((segment) => segment === '..' || segment === '.'), {
    error: '%v must not contain "." or ".." segments',
  })
  .refine((value) => value.replace(/\/+$/, '') !== '', { error: '%v is the root directory: expected a directory of its own like "/srv/hello"' })
  // Doubled slashes joined first (resolve.ts normalizeHostPath spells it so): `//tmp/hello` is /tmp/hello.
  .refine((value) => !/^\/(?:tmp|var\/tmp|proc|sys|dev|run)(?:\/|$)/.test(value.replace(/\/{2,}/g, '/')), {
    error: '%v is under a directory the service cannot use (PrivateTmp=, ProtectSystem=): expected e.g. "/srv/<app>"',
  });

const noControlChars = (what: string) =>
  [
    (value: string) => !CONTROL_CHARS.test(value),
    {
      error: `must not contain newlines or control characters (${what} cannot hold them reliably); base64-encode multi-line values such as PEM keys`,
    },
  ] as const;

export const envValueSchema = z
  .union([z.string(), z.number(), z.boolean()], { error: '%v is not a string, number or boolean' })
  .transform((value) => String(value))
  .refine(...noControlChars('a systemd EnvironmentFile'));

export const secretValueSchema = z
  .string({ error: 'is not a string: secret values must be strings' })
  .refine(...noControlChars('a systemd EnvironmentFile'))
  .refine((value) => !tooShortToRedact(value), {
    error: `is shorter than ${MIN_SECRET_LENGTH} characters, too short to keep out of shipit's output (every occurrence of it in plan, logs and errors would be redacted): if it is not secret, move it to server.env; if it is, use a longer value`,
  })
  .optional();

function checkEnvKeys(record: Record<string, unknown>, ctx: z.RefinementCtx): void {
  for (const key of Object.keys(record)) {
    const reason = RESERVED_ENV_KEYS[key];
    if (reason !== undefined) ctx.addIssue({ code: 'custom', path: [key], input: key, message: `is reserved: ${reason}` });
  }
}

export const envSchema = z.record(envKeySchema, envValueSchema).superRefine(checkEnvKeys);

/**
 * Secret values are typed `string | undefined` so that `process.env.X` type-checks; an undefined one is an
 * error raised for the environment being deployed only (an unset variable for another environment is fine).
 */
export const secretsSchema = z.record(envKeySchema, secretValueSchema).superRefine(
  (record, ctx) => {
    if (!isRecord(record)) return;
    checkEnvKeys(record, ctx);
    for (const [key, value] of Object.entries(record)) {
      if (value === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          params: { unsetSecret: true },
          message: `is not set: the config gives it no value, usually a process.env variable not exported here (for \`${key}: process.env.${key}\`, run \`export ${key}=...\`); set the variable it reads before running shipit, or remove the key`,
        });
      }
    }
  },
  // Also when another secret is invalid: every unset one is worth knowing at once.
  { when: () => true },
);

export const workersSchema = z
  .union([z.number(), z.string()], { error: `%v is not a worker count: expected "auto", a number, or an expression of cpu like "2*cpu+1"` })
  .refine((value) => parseWorkers(value) !== undefined, {
    error: `%v is not a worker count: expected "auto", an integer 1-${MAX_WORKERS}, or an expression of cpu with + - * / and integers like "2*cpu+1" or "cpu/2"`,
  })
  // The unit clamps a count below 1 to 1 (for 'cpu-1' on a 1-CPU host); an expression below 1 everywhere is a
  // mistake that would otherwise run 1 worker on every host without a word.
  .superRefine((value, ctx) => {
    const never = neverAWorker(value);
    if (never === undefined) return;
    ctx.addIssue({
      code: 'custom',
      message: `%v gives no worker on any host (${never.atOne} at 1 CPU, ${never.atMost} at 256 CPUs), so every host would run 1 worker: write an expression that is at least 1 on a large host, like "cpu" or "2*cpu+1", a fixed count like 4, or "auto" (one per CPU)`,
    });
  });

export const maxParallelSchema = z
  .union([z.number(), z.string()], { error: '%v is not a batch size: expected a number of hosts or a percentage like "25%"' })
  .refine(
    (value) =>
      typeof value === 'number'
        ? Number.isInteger(value) && value >= 1
        : /^(?:[1-9]\d?|100)%$/.test(value),
    { error: '%v is not a batch size: expected a positive number of hosts or a percentage from "1%" to "100%"' },
  )
  .transform((value) => value as number | `${number}%`);

export const bindSchema = z
  .string()
  .refine((value) => isValidIp(value.replace(/^\[(.*)\]$/, '$1')) && value !== '*', {
    error: '%v is not an address to listen on: expected an IPv4 or IPv6 address like "0.0.0.0", "127.0.0.1" or "::"',
  })
  .transform((value) => value.replace(/^\[(.*)\]$/, '$1'));

export const userSchema = z
  .string()
  .regex(UNIX_USER, '%v is not a valid user name: expected lowercase letters, digits, _ and -, starting with a letter or _')
  .refine((value) => value !== 'root', { error: '%v is not allowed: the service runs as an unprivileged user' });

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isValidIp(value: string): boolean {
  return isIP(value) !== 0;
}
