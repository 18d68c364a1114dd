/**
 * The config schema: the one source of truth for every key's type, default and description (`shipit init` and
 * the docs read `.describe()` texts through `listConfigKeys()`).
 *
 * Error messages are predicates about the offending value; `%v` stands for that value and is filled in by
 * errors.ts, which never shows values under `secrets`. Example: `"web 2" is not a valid host: expected ...`.
 *
 * Three schemas are built from the same field schemas:
 * - `environmentConfigSchema`: ONE environment after merging its overrides: defaults, transforms (durations to
 *   ms) and the cross-field rules. resolve.ts parses with it.
 * - `configFileSchema`: the file as written: every key optional (an environment may supply it) except `app`
 *   and `environments`; checks each value where it is written. validate.ts parses with it.
 * - the override schema of `environments.<name>`: the same, plus the required `hosts`.
 */
import { isIP } from 'node:net';
import * as z from 'zod';
import { tryParseDuration } from '../lib/duration.js';
import { findControlOperator } from './command-line.js';
import { SSH_USER, defaultHostName, isValidHostAddress, parseHostString } from './hosts.js';
import { MAX_WORKERS, parseWorkers } from './workers.js';
import type { HostTarget } from './types.js';

// ---------------------------------------------------------------------------------------------------------
// Leaf schemas

export const APP_NAME = /^[a-z][a-z0-9-]*$/;
export const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const UNIX_USER = /^[a-z_][a-z0-9_-]{0,31}$/;
const PYTHON_DOTTED = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const GUNICORN_APP = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*(?:\(\))?$/;
const SAFE_PATH_CHARS = /^[A-Za-z0-9._+@/-]+$/;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u0008\u000a-\u001f\u007f]/;

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
};

const durationSchema = z
  .union([z.string(), z.number()], { error: '%v is not a duration: expected milliseconds or a string like "500ms", "5s", "2m", "1h"' })
  .refine((value) => tryParseDuration(value) !== undefined, {
    error: '%v is not a duration: expected milliseconds or a string like "500ms", "5s", "2m", "1h"',
  })
  .transform((value) => tryParseDuration(value) as number);

/** Whole seconds, written as a number of seconds (Gunicorn's unit) or as a duration string ('30s', '2m'). */
const secondsSchema = z
  .union([z.number(), z.string()], { error: '%v is not a number of seconds: expected e.g. 30 or "30s"' })
  .refine(
    (value) => {
      const seconds = typeof value === 'number' ? value : (tryParseDuration(value) ?? NaN) / 1000;
      return Number.isInteger(seconds) && seconds >= 1;
    },
    { error: '%v is not a whole number of seconds ≥ 1: expected e.g. 30 or "30s"' },
  )
  .transform((value) => (typeof value === 'number' ? value : (tryParseDuration(value) as number) / 1000));

const portSchema = z.number().int().min(1).max(65_535);

const envKeySchema = z
  .string()
  .regex(ENV_KEY, '%v is not a valid environment variable name: expected letters, digits and _, not starting with a digit');

const httpPathSchema = z
  .string()
  .regex(/^\/[^\s"'\\]*$/, '%v is not an HTTP path: expected a path starting with "/" and without spaces or quotes, like "/healthz"');

const ipSchema = z.string().refine((value) => value === '*' || isValidIp(value), {
  error: '%v is not an IP address: expected an IPv4 or IPv6 address, or "*" to trust every proxy',
});

/** Host-side paths: absolute, and safe to write unquoted in unit files and shell commands. */
const hostPathSchema = z
  .string()
  .refine((value) => value.startsWith('/'), { error: '%v is not an absolute path: expected a path on the hosts like "/srv/hello"' })
  .refine((value) => SAFE_PATH_CHARS.test(value), {
    error: '%v contains characters shipit does not put in unit files (spaces, quotes, $, %, \\): expected letters, digits and . _ + @ / -',
  })
  .refine((value) => !value.split('/').some((segment) => segment === '..' || segment === '.'), {
    error: '%v must not contain "." or ".." segments',
  })
  .refine((value) => value.replace(/\/+$/, '') !== '', { error: '%v is the root directory: expected a directory of its own like "/srv/hello"' })
  .refine((value) => !/^\/(?:tmp|var\/tmp|proc|sys|dev|run)(?:\/|$)/.test(value), {
    error: '%v is under a directory the service cannot use (PrivateTmp=, ProtectSystem=): expected e.g. "/srv/<app>"',
  });

const noControlChars = (what: string) =>
  [
    (value: string) => !CONTROL_CHARS.test(value),
    {
      error: `must not contain newlines or control characters (${what} cannot hold them reliably); base64-encode multi-line values such as PEM keys`,
    },
  ] as const;

const envValueSchema = z
  .union([z.string(), z.number(), z.boolean()], { error: '%v is not a string, number or boolean' })
  .transform((value) => String(value))
  .refine(...noControlChars('a systemd EnvironmentFile'));

const secretValueSchema = z
  .string({ error: 'is not a string: secret values must be strings' })
  .refine(...noControlChars('a systemd EnvironmentFile'))
  .optional();

function checkEnvKeys(record: Record<string, unknown>, ctx: z.RefinementCtx): void {
  for (const key of Object.keys(record)) {
    const reason = RESERVED_ENV_KEYS[key];
    if (reason !== undefined) ctx.addIssue({ code: 'custom', path: [key], input: key, message: `is reserved: ${reason}` });
  }
}

const envSchema = z.record(envKeySchema, envValueSchema).superRefine(checkEnvKeys);

/**
 * Secret values are typed `string | undefined` so that `process.env.X` type-checks; an undefined one is an
 * error raised for the environment being deployed only (an unset variable for another environment is fine).
 */
const secretsSchema = z.record(envKeySchema, secretValueSchema).superRefine(
  (record, ctx) => {
    if (!isRecord(record)) return;
    checkEnvKeys(record, ctx);
    for (const [key, value] of Object.entries(record)) {
      if (value === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          params: { unsetSecret: true },
          message: `is not set: set the environment variable it is read from (e.g. \`export ${key}=...\`) before running shipit, or remove the key`,
        });
      }
    }
  },
  // Also when another secret is invalid: every unset one is worth knowing at once.
  { when: () => true },
);

const workersSchema = z
  .union([z.number(), z.string()], { error: `%v is not a worker count: expected "auto", a number, or an expression of cpu like "2*cpu+1"` })
  .refine((value) => parseWorkers(value) !== undefined, {
    error: `%v is not a worker count: expected "auto", an integer 1-${MAX_WORKERS}, or an expression of cpu with + - * and integers like "2*cpu+1"`,
  });

const maxParallelSchema = z
  .union([z.number(), z.string()], { error: '%v is not a batch size: expected a number of hosts or a percentage like "25%"' })
  .refine(
    (value) =>
      typeof value === 'number'
        ? Number.isInteger(value) && value >= 1
        : /^(?:[1-9]\d?|100)%$/.test(value),
    { error: '%v is not a batch size: expected a positive number of hosts or a percentage from "1%" to "100%"' },
  )
  .transform((value) => value as number | `${number}%`);

const bindSchema = z
  .string()
  .refine((value) => isValidIp(value.replace(/^\[(.*)\]$/, '$1')) && value !== '*', {
    error: '%v is not an address to listen on: expected an IPv4 or IPv6 address like "0.0.0.0", "127.0.0.1" or "::"',
  })
  .transform((value) => value.replace(/^\[(.*)\]$/, '$1'));

const userSchema = z
  .string()
  .regex(UNIX_USER, '%v is not a valid user name: expected lowercase letters, digits, _ and -, starting with a letter or _')
  .refine((value) => value !== 'root', { error: '%v is not allowed: the service runs as an unprivileged user' });

// ---------------------------------------------------------------------------------------------------------
// Hosts

const HOST_HELP = 'expected "[user@]host[:port]" or { host, user?, port?, name? } with a DNS name, an IPv4 address or a bracketed IPv6 address';

const hostStringSchema = z
  .string()
  .refine((value) => parseHostString(value) !== undefined, { error: `%v is not a valid host: ${HOST_HELP}` });

const hostObjectSchema = z.strictObject({
  host: z
    .string()
    .refine((value) => isValidHostAddress(value.replace(/^\[(.*)\]$/, '$1')), {
      error: '%v is not a valid host: expected a DNS name, an IPv4 or an IPv6 address',
    })
    .describe('DNS name or IP address to connect to.'),
  user: z.string().regex(SSH_USER, '%v is not a valid SSH user name').optional().describe('SSH user (default root).'),
  port: portSchema.optional().describe('SSH port (default 22).'),
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, '%v is not a valid host name: expected letters, digits and . _ -')
    .optional()
    .describe('Name shown in output and used by --host filters (default: the host).'),
});

export const hostSchema = z
  .union([hostStringSchema, hostObjectSchema], { error: `%v is not a valid host: ${HOST_HELP}` })
  .transform((value): HostTarget => {
    const parsed =
      typeof value === 'string'
        ? (parseHostString(value) as NonNullable<ReturnType<typeof parseHostString>>)
        : { host: value.host.replace(/^\[(.*)\]$/, '$1'), user: value.user, port: value.port, name: value.name };
    const port = parsed.port ?? 22;
    const name = ('name' in parsed ? parsed.name : undefined) ?? defaultHostName(parsed.host, port);
    return { name, host: parsed.host, user: parsed.user ?? 'root', port };
  });

export const hostsSchema = z
  .array(hostSchema)
  .min(1, 'needs at least one host')
  .superRefine((hosts, ctx) => {
    const byName = new Map<string, number>();
    const byAddress = new Map<string, number>();
    hosts.forEach((host, index) => {
      // Entries that failed their own check are left as written; they are reported already.
      if (!isTransformedHost(host)) return;
      const sameName = byName.get(host.name);
      if (sameName !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [index],
          message: `is named "${host.name}" like hosts[${sameName}]: host names must be unique within an environment; set name: to tell them apart`,
        });
      } else byName.set(host.name, index);
      const address = `${host.host.toLowerCase()}:${host.port}`;
      const sameAddress = byAddress.get(address);
      if (sameAddress !== undefined && sameName === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [index],
          message: `is the same machine as hosts[${sameAddress}] (${defaultHostName(host.host, host.port)}): deploying to it twice would race`,
        });
      } else if (sameAddress === undefined) byAddress.set(address, index);
    });
  })
  .describe('Hosts of this environment: "[user@]host[:port]" strings or { host, user?, port?, name? } objects.');

function isTransformedHost(value: unknown): value is HostTarget {
  if (!isRecord(value)) return false;
  return typeof value['name'] === 'string' && typeof value['host'] === 'string' && typeof value['port'] === 'number';
}

// ---------------------------------------------------------------------------------------------------------
// Sections

export const buildSchema = z
  .strictObject({
    command: z.string().min(1, 'is empty: omit it to ship build.dir as it is').optional().describe('Build command run locally before shipping (e.g. "npm run build"); omit to ship build.dir as it is.'),
    dir: z.string().min(1, 'is empty: expected a directory like "dist" or "."').default('.').describe('The directory that ships, relative to the config file.'),
  })
  .describe('What to build locally and which directory ships.');

export const serverSchema = z
  .strictObject({
    preset: z
      .enum(['gunicorn', 'node', 'command'], {
        error: (issue) => `${issue.input === undefined ? 'is required' : '%v is not a preset'}: expected "gunicorn", "node" or "command"`,
      })
      .describe('How the app is run: "gunicorn" (Python ASGI/WSGI via Gunicorn), "node" (shipit\'s clustered Node runtime) or "command" (your own command line).'),
    module: z
      .string()
      .optional()
      .describe('gunicorn: the app, "package.module:app"; node: the entry file, relative to the release; command: the command line.'),
    command: z
      .string()
      .optional()
      .describe(
        'preset "command": the command line, run by /bin/sh with exec (same as module). It must take the listening socket from systemd (LISTEN_FDS, fd 3; e.g. "uvicorn app:app --fd 3") and gets PORT and WORKERS in its environment.',
      ),
    workerClass: z
      .string()
      .regex(PYTHON_DOTTED, '%v is not a Python class path: expected e.g. "uvicorn.workers.UvicornWorker"')
      .default('uvicorn.workers.UvicornWorker')
      .describe('gunicorn --worker-class; use "uvicorn_worker.UvicornWorker" with uvicorn ≥ 0.30, "sync" for WSGI apps.'),
    port: portSchema.default(8000).describe('TCP port the socket unit listens on.'),
    bind: bindSchema.default('0.0.0.0').describe('Address the socket unit listens on; "0.0.0.0" and "::" listen on every IPv4 and IPv6 address.'),
    workers: workersSchema
      .default('auto')
      .describe('"auto" (the host\'s CPU count when the service starts), a number, or an expression of cpu like "2*cpu+1". WORKERS in the environment overrides it.'),
    timeout: secondsSchema.prefault(30).describe('Seconds: gunicorn kills a worker silent that long (--timeout).'),
    gracefulTimeout: secondsSchema.prefault(20).describe('Seconds a stopping server drains requests before it is killed (gunicorn --graceful-timeout; TimeoutStopSec is 10 s more).'),
    keepAlive: secondsSchema.prefault(5).describe('Seconds to hold an idle keep-alive connection (gunicorn --keep-alive).'),
    forwardedAllowIps: z
      .array(ipSchema)
      .default(['127.0.0.1'])
      .describe('Proxies trusted to set X-Forwarded-* headers (gunicorn --forwarded-allow-ips); your load balancer\'s addresses, or ["*"].'),
    env: envSchema.default({}).describe('Plain environment variables, written to <deployTo>/shared/env (mode 0640).'),
    secrets: secretsSchema
      .default({})
      .describe('Secret environment variables, written to <deployTo>/shared/secrets.env (mode 0600) and never printed. Read them from the environment: { DATABASE_URL: process.env.DATABASE_URL }.'),
    user: userSchema.optional().describe('Unprivileged system user the service runs as (default: the app name).'),
    notify: z.boolean().default(false).describe('preset "command": the command sends READY=1 with sd_notify (Type=notify); otherwise Type=exec.'),
  })
  // Runs even when a field failed (`when`), so that a missing module shows up next to a bad port.
  .superRefine(checkServerRules, { when: () => true })
  .describe('The service on each host.');

/** Preset-specific and cross-field rules; `server` may hold invalid field values here, hence the typeof checks. */
function checkServerRules(server: Record<string, unknown>, ctx: z.RefinementCtx): void {
  if (!isRecord(server)) return;
  const preset = server['preset'];
  const module = typeof server['module'] === 'string' ? server['module'] : undefined;
  const command = typeof server['command'] === 'string' ? server['command'] : undefined;
  const issue = (key: string, message: string) => ctx.addIssue({ code: 'custom', path: [key], input: server[key], message });
  if (command !== undefined && module !== undefined && preset === 'command') issue('command', 'is set together with server.module: keep one of them');
  if (command !== undefined && typeof preset === 'string' && preset !== 'command') {
    issue('command', `is only used by preset "command" (preset is "${preset}"): use server.module`);
  }
  if (preset === 'gunicorn') {
    if (server['module'] === undefined) {
      issue('module', 'is required for preset "gunicorn": expected the app as "package.module:app", e.g. "app.main:app"');
    } else if (module === undefined || !GUNICORN_APP.test(module)) {
      issue('module', '%v is not a Gunicorn app: expected "package.module:app", e.g. "app.main:app"');
    }
  } else if (preset === 'node') {
    if (server['module'] === undefined) {
      issue('module', 'is required for preset "node": expected the entry file, e.g. "dist/server.js"');
    } else if (module === undefined || module.startsWith('/') || !SAFE_PATH_CHARS.test(module) || module.split('/').includes('..')) {
      issue('module', '%v is not an entry file: expected a path relative to the release, e.g. "dist/server.js"');
    }
  } else if (preset === 'command') {
    const key = command !== undefined || server['module'] === undefined ? 'command' : 'module';
    const line = command ?? module;
    if (server[key] === undefined) {
      issue(key, 'is required for preset "command": expected the command line to run, e.g. "./bin/server --port $PORT"');
    } else if (line === undefined || line.trim() === '') {
      issue(key, '%v is not a command line: expected e.g. "./bin/server --port $PORT"');
    } else if (CONTROL_CHARS.test(line)) {
      issue(key, 'must be a single line without control characters');
    } else {
      const operator = findControlOperator(line);
      if (operator !== undefined) {
        issue(
          key,
          `%v is not one simple command (it contains "${operator}"): shipit runs it with exec so that it is the service's main process and receives the socket; put the steps in a script in your release and run that`,
        );
      }
    }
  }
  if (server['notify'] === true && typeof preset === 'string' && preset !== 'command') {
    issue('notify', `is only used by preset "command" (preset "${preset}" always uses Type=notify)`);
  }
  const env = server['env'];
  const secrets = server['secrets'];
  if (isRecord(env) && isRecord(secrets)) {
    for (const key of Object.keys(secrets)) {
      if (Object.hasOwn(env, key)) {
        ctx.addIssue({ code: 'custom', path: ['secrets', key], message: 'is set in both server.env and server.secrets: keep it in one of them' });
      }
    }
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export const healthSchema = z
  .strictObject({
    liveness: httpPathSchema.default('/healthz').describe('HTTP path that answers 2xx while the process is alive.'),
    readiness: httpPathSchema.optional().describe('HTTP path that answers 2xx when the app can serve traffic (default: the liveness path). A host counts as ready after `successes` answers in a row.'),
    interval: durationSchema.prefault('1s').describe('Time between probes.'),
    timeout: durationSchema.prefault('2s').describe('Time one probe may take.'),
    successes: z.number().int().min(1).default(2).describe('Consecutive 2xx answers needed before a host counts as ready.'),
    minHealthyTime: durationSchema.prefault('5s').describe('A ready host must stay healthy this long before the rollout moves on.'),
    healthyDeadline: durationSchema.prefault('60s').describe('A host that is not healthy this long after its restart has failed (its release is reverted).'),
  })
  .superRefine((health, ctx) => {
    if (health.healthyDeadline <= health.minHealthyTime) {
      ctx.addIssue({ code: 'custom', path: ['healthyDeadline'], message: 'must be longer than health.minHealthyTime' });
    }
  })
  .describe('How a host proves that its new release serves.');

export const rolloutSchema = z
  .strictObject({
    canary: z.number().int().min(0).default(1).describe('Hosts updated alone first; 0 = no canary batch.'),
    maxParallel: maxParallelSchema.default('25%').describe('Hosts per batch after the canary: a count, or a percentage of the fleet like "25%" (rounded down, at least 1).'),
    stagger: durationSchema.prefault('0s').describe('Pause between batches.'),
    progressDeadline: durationSchema.prefault('10m').describe('The rollout fails if no host becomes healthy for this long.'),
    autoRevert: z.boolean().default(true).describe('On failure, put every touched host back on the release it ran before.'),
  })
  .describe('How the fleet is updated: canary, batches, deadlines.');

export const sshSchema = z
  .strictObject({
    knownHostsFile: z.string().min(1).default('~/.ssh/known_hosts').describe('known_hosts file used to verify host keys (hashed entries supported).'),
    identityFiles: z.array(z.string().min(1)).default([]).describe('Private keys to offer; empty = the agent, then ~/.ssh/id_ed25519, id_ecdsa, id_rsa.'),
    passphraseEnv: envKeySchema.default('SHIPIT_SSH_PASSPHRASE').describe('Environment variable holding the passphrase of encrypted keys.'),
    agent: z.boolean().default(true).describe('Use the SSH agent at $SSH_AUTH_SOCK when it is set.'),
    connectTimeout: durationSchema.prefault('10s').describe('Time to establish an SSH connection.'),
    keepaliveInterval: durationSchema.prefault('5s').describe('SSH keepalive interval; 0 disables keepalives.'),
    commandTimeout: durationSchema.prefault('2m').describe('Default time limit of one remote command.'),
  })
  .describe('How shipit connects to the hosts.');

export const appSchema = z
  .string({ error: (issue) => (issue.input === undefined ? 'is required: the app name, e.g. "hello"' : undefined) })
  .regex(APP_NAME, '%v is not a valid app name: expected lowercase letters, digits and dashes, starting with a letter (it names <app>.service and /srv/<app>)')
  .max(64, '%v is too long: expected at most 64 characters')
  .describe('App name: names the systemd units (<app>.service, <app>.socket), the default deploy directory and service user.');

/** The keys a config file sets at top level and every environment may override. */
export const baseConfigSchema = z.strictObject({
  app: appSchema,
  deployTo: hostPathSchema.optional().describe('Directory on the hosts holding releases/, current and shared/ (default /srv/<app>).'),
  build: buildSchema.prefault({}),
  server: serverSchema,
  health: healthSchema.prefault({}),
  rollout: rolloutSchema.prefault({}),
  keepReleases: z.number().int().min(2, '%v is too small: keep at least 2 releases so there is one to roll back to').default(5).describe('Releases kept on each host, the current one included.'),
  ssh: sshSchema.prefault({}),
});

/** One environment after its overrides are merged in: parses to (almost) the ResolvedConfig shape. */
export const environmentConfigSchema = baseConfigSchema.extend({ hosts: hostsSchema });
export type EnvironmentConfig = z.output<typeof environmentConfigSchema>;

// ---------------------------------------------------------------------------------------------------------
// The file as written: every key optional (an environment may supply it), checked where it is written.

/** Same checks, no defaults, every key optional, recursively through objects (arrays and records excepted). */
export function deepPartial(schema: z.ZodType): z.ZodType {
  const inner = unwrap(schema);
  if (inner instanceof z.ZodObject) {
    const shape: Record<string, z.ZodType> = {};
    for (const [key, field] of Object.entries(inner.shape as Record<string, z.ZodType>)) shape[key] = deepPartial(field).optional();
    return z.strictObject(shape);
  }
  return inner;
}

/** Strips optional/default/prefault wrappers (not refinements or transforms). */
function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  while (current instanceof z.ZodOptional || current instanceof z.ZodDefault || current instanceof z.ZodPrefault) {
    current = current.unwrap() as z.ZodType;
  }
  return current;
}

export const ENVIRONMENT_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

const overridesShape = (deepPartial(baseConfigSchema) as z.ZodObject).shape as Record<string, z.ZodType>;

export const environmentOverrideSchema = z
  .strictObject({ ...overridesShape, hosts: hostsSchema })
  .describe('Keys of this environment: hosts (required) and overrides of any top-level key (objects merge deeply, arrays replace).');

export const configFileSchema = z.strictObject({
  ...overridesShape,
  app: appSchema,
  environments: z
    .record(
      z.string().regex(ENVIRONMENT_NAME, '%v is not a valid environment name: expected letters, digits, _ and -'),
      environmentOverrideSchema,
    )
    .refine((environments) => Object.keys(environments).length > 0, {
      error: 'is empty: define at least one environment, e.g. environments: { production: { hosts: ["deploy@web1.example.com"] } }',
    })
    .describe('Deploy targets by name (e.g. production, staging): each lists its hosts and may override any top-level key.'),
});

// ---------------------------------------------------------------------------------------------------------
// Types for users (defineConfig) and code

export type DeepPartial<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

type BaseConfigInput = z.input<typeof baseConfigSchema>;
/** A host as written: '[user@]host[:port]' or { host, user?, port?, name? }. */
export type HostInput = z.input<typeof hostSchema>;
/** Keys any environment may override. */
export type ConfigOverrides = DeepPartial<BaseConfigInput>;
export type EnvironmentInput = ConfigOverrides & { hosts: HostInput[] };
/** What `deploy.config.ts` exports (`defineConfig`'s argument). */
export type ShipitConfigInput = ConfigOverrides & { app: string; environments: Record<string, EnvironmentInput> };

// ---------------------------------------------------------------------------------------------------------
// Descriptions for `shipit init` and the docs

export interface ConfigKeyInfo {
  /** e.g. 'server.workers', 'environments.<name>.hosts'. */
  path: string;
  description: string;
  /** The default as a user would write it, when the key has one. */
  default?: unknown;
  required: boolean;
}

/** Every documented key of the config file, depth-first in schema order. */
export function listConfigKeys(): ConfigKeyInfo[] {
  const keys: ConfigKeyInfo[] = [];
  const visit = (schema: z.ZodType, path: string, required: boolean) => {
    let fallback: unknown;
    let isRequired = required;
    let current = schema;
    let description = schema.description;
    while (current instanceof z.ZodOptional || current instanceof z.ZodDefault || current instanceof z.ZodPrefault) {
      if (current instanceof z.ZodOptional) isRequired = false;
      else {
        isRequired = false;
        fallback = (current.def as { defaultValue: unknown }).defaultValue;
      }
      current = current.unwrap() as z.ZodType;
      description ??= current.description;
    }
    if (path !== '') keys.push({ path, description: description ?? '', required: isRequired, ...(fallback === undefined ? {} : { default: fallback }) });
    if (current instanceof z.ZodObject) {
      for (const [key, field] of Object.entries(current.shape as Record<string, z.ZodType>)) {
        visit(field, path === '' ? key : `${path}.${key}`, true);
      }
    }
  };
  visit(baseConfigSchema, '', true);
  keys.push({ path: 'environments', description: configFileSchema.shape.environments.description ?? '', required: true });
  keys.push({ path: 'environments.<name>.hosts', description: hostsSchema.description ?? '', required: true });
  return keys;
}

// ---------------------------------------------------------------------------------------------------------

function isValidIp(value: string): boolean {
  return isIP(value) !== 0;
}
