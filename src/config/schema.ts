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
import * as z from 'zod';
import {
  APP_NAME,
  PYTHON_DOTTED,
  bindSchema,
  durationSchema,
  envKeySchema,
  envSchema,
  hostPathSchema,
  httpPathSchema,
  ipSchema,
  maxParallelSchema,
  portSchema,
  secondsSchema,
  secretsSchema,
  userSchema,
  workersSchema,
} from './fields.js';
import { npmSchema, pythonSchema } from './deps-schema.js';
import { hostSchema, hostsSchema } from './host-schema.js';
import { checkServerRules } from './server-rules.js';

export { ENV_KEY } from './fields.js';

// ---------------------------------------------------------------------------------------------------------
// Sections

/**
 * Always left out, before build.exclude's own patterns (config/resolve.ts): the local secrets a project directory
 * holds. A list of one's own adds to these; only a negation without wildcards (`!.env.example`), or the pair itself negated (`!.env.*`), ships one (build/exclude.ts).
 */
export const SECRET_EXCLUDES: readonly string[] = ['.env', '.env.*'];

export const buildSchema = z
  .strictObject({
    command: z.string().min(1, 'is empty: omit it to ship build.dir as it is').optional().describe('Build command run locally before shipping (e.g. "npm run build"); omit to ship build.dir as it is.'),
    dir: z.string().min(1, 'is empty: expected a directory like "dist" or "."').default('.').describe('The directory that ships, relative to the config file.'),
    exclude: z
      .array(
        z
          .string()
          .min(1, 'is empty: expected a pattern like "*.log" or "tmp/"')
          .refine((pattern) => pattern === '' || pattern.replace(/^!/, '').replace(/^\/+|\/+$/g, '') !== '', { error: '%v names no file: expected a pattern like "*.log", "tmp/" or "!.env.example"' }),
        { error: '%v is not a list of patterns: expected e.g. ["*.log", "tmp/"]' },
      )
      .default([])
      .describe(
        'Files of build.dir that never ship, as .gitignore patterns: a name matches at any depth ("*.log"), a path with a slash from build.dir ("/tmp", "docs/drafts"), "*" within a name, "**" across directories, a trailing "/" directories only. Added to what is always left out: ".env" and ".env.*" (local secrets); "!pattern" ships again what an earlier pattern left out (the last match decides); a .env file only by a negation without wildcards, e.g. "!.env.example", or by the pair itself negated ("!.env", "!.env.*"). .git, __pycache__ and the config file never ship.',
      ),
    gitignore: z
      .boolean({ error: '%v is not true or false' })
      .default(true)
      .describe(
        'When build.dir is inside a git work tree, leave out what git ignores there (.gitignore at any level, .git/info/exclude, core.excludesFile), as npm publish does; files git tracks ship. A build.dir that git ignores as a whole (a build output like dist/) ships whole. false: ship what build.exclude lets through, ignored files included (e.g. assets build.command writes into an ignored directory of build.dir ".").',
      ),
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
      .describe('"auto" (the host\'s CPU count when the service starts), a number, or an expression of cpu like "2*cpu+1" or "cpu/2" (integer division). Every app on a host takes its own count: two apps on "auto" start twice as many workers as the host has CPUs, so give apps that share hosts a share each, e.g. "cpu/2". On one host, a systemd drop-in overrides it (`systemctl edit <app>.service`: [Service] Environment=WORKERS=4); server.env cannot set WORKERS.'),
    timeout: secondsSchema.prefault(30).describe('Seconds: gunicorn kills a worker silent that long (--timeout).'),
    gracefulTimeout: secondsSchema.prefault(20).describe('Seconds a stopping server drains requests before it is killed, at every restart, reload and stop: a request still running then is cut (gunicorn --graceful-timeout, the node runtime\'s SHIPIT_GRACEFUL_TIMEOUT; TimeoutStopSec is 10 s more).'),
    keepAlive: secondsSchema.prefault(5).describe('Seconds to hold an idle keep-alive connection (gunicorn --keep-alive).'),
    forwardedAllowIps: z
      .array(ipSchema)
      .default(['127.0.0.1'])
      .describe('Proxies trusted to set X-Forwarded-* headers (gunicorn --forwarded-allow-ips); your load balancer\'s addresses, or ["*"].'),
    env: envSchema.default({}).describe('Plain environment variables, written to <deployTo>/shared/env (mode 0640).'),
    secrets: secretsSchema
      .default({})
      .describe('Secret environment variables, written to <deployTo>/shared/secrets.env (mode 0600) and never printed; each value 8 characters or more (a shorter one is refused: redacting it would garble output). Read them from the environment: { DATABASE_URL: process.env.DATABASE_URL }.'),
    user: userSchema.optional().describe('Unprivileged system user the service runs as (default: the app name).'),
    notify: z.boolean().default(false).describe('preset "command": the command sends READY=1 with sd_notify (Type=notify); otherwise Type=exec.'),
    python: pythonSchema.optional(),
    npm: npmSchema.optional(),
  })
  // Runs even when a field failed (`when`), so that a missing module shows up next to a bad port.
  .superRefine(checkServerRules, { when: () => true })
  .describe('The service on each host.');

export const healthSchema = z
  .strictObject({
    liveness: httpPathSchema.default('/healthz').describe('HTTP path that answers 2xx while the process is alive.'),
    readiness: httpPathSchema.optional().describe('HTTP path that answers 2xx when the app can serve traffic (default: the liveness path). A host counts as ready after `successes` answers in a row.'),
    interval: durationSchema.prefault('1s').describe('Time between probes.'),
    timeout: durationSchema.prefault('2s').describe('Time one probe may take.'),
    successes: z.number().int().min(1).default(2).describe('Consecutive 2xx answers needed before a host counts as ready.'),
    minHealthyTime: durationSchema.prefault('5s').describe('A ready host must stay healthy this long before the rollout moves on.'),
    healthyDeadline: durationSchema.prefault('60s').describe('A host that is not healthy this long after its restart has failed (its release is reverted). The node preset derives the time a new worker has to boot from it (SHIPIT_BOOT_TIMEOUT: 50 s of 60 s), so raise it for an app that boots slowly.'),
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
    configFile: z
      .string()
      .min(1)
      .optional()
      .describe(
        'OpenSSH client config read for host aliases (HostName, User, Port, IdentityFile, IdentitiesOnly, ProxyJump, Include); default ~/.ssh/config then /etc/ssh/ssh_config, "none" reads none; --ssh-config overrides. User and port written in hosts win over it.',
      ),
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
export const environmentConfigSchema = baseConfigSchema.extend({ hosts: hostsSchema }).superRefine((config, ctx) => {
  // Across sections: a rollout cannot progress sooner than a host can count as healthy.
  if (config.rollout.progressDeadline <= config.health.minHealthyTime) {
    ctx.addIssue({ code: 'custom', path: ['rollout', 'progressDeadline'], message: 'must be longer than health.minHealthyTime: no host can become healthy sooner' });
  }
});
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
