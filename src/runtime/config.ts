/**
 * The runtime's configuration, parsed from environment variables (the contract is documented at the top of
 * main.ts). Pure: the environment and the CPU count are passed in, so tests need no process state.
 */
import { RuntimeExit } from './exit-codes.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type Scheduling = 'auto' | 'round-robin' | 'shared';

export interface RuntimeConfig {
  /** SHIPIT_APP: the app's entry file, relative to the app directory (or absolute). */
  app: string;
  /** SHIPIT_APP_DIR: resolved (realpath) again at each worker fork; undefined = the master's cwd. */
  appDir: string | undefined;
  workers: number;
  /** Where `workers` came from, for the start-up log line. */
  workersFrom: 'auto' | 'WORKERS';
  /** PORT; ignored when systemd passes a socket. */
  port: number;
  /** HOST; undefined = Node's default (every interface, IPv6 and IPv4). */
  host: string | undefined;
  /** SHIPIT_TIMEOUT: a worker silent (no heartbeat) this long is killed. 0 = never. */
  timeoutMs: number;
  /** SHIPIT_GRACEFUL_TIMEOUT: how long a draining worker may finish in-flight requests before SIGKILL. */
  gracefulTimeoutMs: number;
  /** SHIPIT_BOOT_TIMEOUT: a worker must serve (imported, ready() passed, listening) within this. 0 = never. */
  bootTimeoutMs: number;
  /** SHIPIT_KEEP_ALIVE: HTTP keep-alive idle timeout. 0 = no keep-alive (every response closes). */
  keepAliveMs: number;
  /**
   * SHIPIT_KEEPALIVE_REQUESTS: the response to a connection's Nth request says `Connection: close` and the
   * connection is closed after it (nginx's keepalive_requests); 0 (the default) = never for this reason. Off by
   * default: measured on 2 cores it cost 2.7% more instructions per request and was slower in 10-s keep-alive runs
   * (bench/RESULTS.md, Node runtime); it is for long-lived connections piled on one worker, e.g. behind a balancer.
   * See connection-drain.ts.
   */
  keepAliveRequests: number;
  accessLog: boolean;
  logLevel: LogLevel;
  /** SHIPIT_SD_NOTIFY: explicit path to the `sd-notify` package (or its index.js). */
  sdNotifyPath: string | undefined;
  /** SHIPIT_SCHEDULING: how connections reach workers (see resolveScheduling). */
  scheduling: Scheduling;
  /**
   * SHIPIT_BALANCE: spread keep-alive connections piled on one worker (balance.ts). `auto` (default; also 1) only
   * while a CPU idles, `always` whatever the load, `off` (also 0) never.
   */
  balance: 'auto' | 'always' | 'off';
  /**
   * SHIPIT_BACKLOG: the accept queue given to listen(). Node's listen() applies its own (511) when none is given,
   * also to a socket inherited from systemd, where listen() again on a listening socket replaces the queue length
   * the .socket unit set (Backlog=4096): connections arriving while the service restarts then overflowed at 511.
   * The node unit passes the socket unit's value, as the gunicorn preset passes --backlog.
   */
  backlog: number;
}

export const defaults = {
  port: 8000,
  timeoutSec: 30,
  gracefulTimeoutSec: 30,
  bootTimeoutSec: 60,
  keepAliveSec: 5,
  /** Off (see keepAliveRequests above); nginx's keepalive_requests is 1000, for a service that wants it. */
  keepAliveRequests: 0,
  /** Node's own default for listen(). */
  backlog: 511,
} as const;

export class RuntimeConfigError extends Error {
  readonly exitCode = RuntimeExit.config;
  constructor(readonly key: string, message: string) {
    super(`${key}: ${message}`);
    this.name = 'RuntimeConfigError';
  }
}

type Env = Record<string, string | undefined>;

export function parseRuntimeConfig(env: Env, cpuCount: number): RuntimeConfig {
  const app = nonEmpty(env.SHIPIT_APP);
  if (app === undefined) {
    throw new RuntimeConfigError('SHIPIT_APP', 'is not set: give the app entry file relative to the release, e.g. SHIPIT_APP=server.js');
  }
  const workers = parseWorkers(env.WORKERS, cpuCount);
  return {
    app,
    appDir: nonEmpty(env.SHIPIT_APP_DIR),
    workers: workers.count,
    workersFrom: workers.from,
    port: parsePort(env.PORT),
    host: nonEmpty(env.HOST),
    timeoutMs: parseSeconds('SHIPIT_TIMEOUT', env.SHIPIT_TIMEOUT, defaults.timeoutSec),
    gracefulTimeoutMs: parseSeconds('SHIPIT_GRACEFUL_TIMEOUT', env.SHIPIT_GRACEFUL_TIMEOUT, defaults.gracefulTimeoutSec),
    bootTimeoutMs: parseSeconds('SHIPIT_BOOT_TIMEOUT', env.SHIPIT_BOOT_TIMEOUT, defaults.bootTimeoutSec),
    keepAliveMs: parseSeconds('SHIPIT_KEEP_ALIVE', env.SHIPIT_KEEP_ALIVE, defaults.keepAliveSec),
    keepAliveRequests: parseKeepAliveRequests(env.SHIPIT_KEEPALIVE_REQUESTS),
    accessLog: parseFlag('SHIPIT_ACCESS_LOG', env.SHIPIT_ACCESS_LOG),
    logLevel: parseLogLevel(env.SHIPIT_LOG_LEVEL),
    sdNotifyPath: nonEmpty(env.SHIPIT_SD_NOTIFY),
    scheduling: parseScheduling(env.SHIPIT_SCHEDULING),
    balance: parseBalance(env.SHIPIT_BALANCE),
    backlog: parseBacklog(env.SHIPIT_BACKLOG),
  };
}

/**
 * node:cluster's two ways to get connections to workers (measured with 2 workers under closed-loop load, see
 * test/unit/runtime and `npm run bench -- runtime`):
 *
 * - shared (SCHED_NONE): every worker accepts on the same listening socket itself, as Gunicorn's workers do. A
 *   stopping worker just stops accepting and the kernel keeps queued connections for whoever accepts next, also a
 *   runtime restarted on the socket systemd holds: 0 failed requests in 6 of 6 restarts. A new connection costs
 *   one accept() in the worker that takes it: with `Connection: close` the runtime used 0.4-0.5x the CPU per
 *   request of round-robin and served 1.2-1.8x the requests per second; with keep-alive the two are even.
 *   Keep-alive connections can gather on one worker (87/13 with 8 connections on 2 workers; 17/33 to 30/20
 *   with 50), which matters only when a few long-lived connections carry most of the traffic.
 * - round-robin (SCHED_RR): the primary accepts and hands each connection to the next worker over IPC: an even
 *   spread, also of long keep-alive connections, for ~55 µs of the primary's CPU per connection plus the
 *   worker's side of the hand-off. At a final stop the primary accepts until the last worker leaves, then
 *   closes what it still holds (round_robin_handle.js `remove`): a restart behind a held socket reset 1-4
 *   requests in every run. A connection in transit to a worker that dies hangs until the client gives up.
 *
 * `auto` is shared, with or without socket activation (where lossless restarts are the point of a .socket unit);
 * SHIPIT_SCHEDULING=round-robin is there for apps whose traffic comes over a few long keep-alive connections.
 */
export function resolveScheduling(scheduling: Scheduling): 'round-robin' | 'shared' {
  return scheduling === 'auto' ? 'shared' : scheduling;
}

/**
 * Whether the master balances keep-alive connections (balance.ts): only where the kernel decides which worker
 * takes a connection (shared accept) and there is another worker to take it. Round-robin deals them evenly.
 */
export function balancing(config: Pick<RuntimeConfig, 'balance' | 'scheduling' | 'workers'>): 'auto' | 'always' | undefined {
  if (config.balance === 'off' || resolveScheduling(config.scheduling) !== 'shared' || config.workers < 2) return undefined;
  return config.balance;
}

function parseBalance(raw: string | undefined): RuntimeConfig['balance'] {
  const value = raw?.trim().toLowerCase();
  if (value === undefined || value === '' || value === 'auto') return 'auto';
  if (value === 'always') return 'always';
  if (value === 'off') return 'off';
  try {
    return parseFlag('SHIPIT_BALANCE', value) ? 'auto' : 'off';
  } catch {
    throw new RuntimeConfigError('SHIPIT_BALANCE', `${JSON.stringify(raw)} is not one of auto, always, off (or 1, 0)`);
  }
}

function parseScheduling(raw: string | undefined): Scheduling {
  const value = raw?.trim().toLowerCase();
  if (value === undefined || value === '') return 'auto';
  if (value === 'auto' || value === 'round-robin' || value === 'shared') return value;
  throw new RuntimeConfigError('SHIPIT_SCHEDULING', `${JSON.stringify(raw)} is not one of auto, round-robin, shared`);
}

/** `auto` (or unset) = the CPU count at start; otherwise a positive integer. */
export function parseWorkers(raw: string | undefined, cpuCount: number): { count: number; from: 'auto' | 'WORKERS' } {
  const value = raw?.trim();
  if (value === undefined || value === '' || value === 'auto') return { count: Math.max(1, cpuCount), from: 'auto' };
  if (!/^[0-9]+$/.test(value) || Number(value) < 1 || Number(value) > 1024) {
    throw new RuntimeConfigError('WORKERS', `${JSON.stringify(raw)} is not valid: use "auto" (one per CPU) or a whole number from 1 to 1024`);
  }
  return { count: Number(value), from: 'WORKERS' };
}

function parsePort(raw: string | undefined): number {
  const value = raw?.trim();
  if (value === undefined || value === '') return defaults.port;
  if (!/^[0-9]+$/.test(value) || Number(value) > 65535) {
    throw new RuntimeConfigError('PORT', `${JSON.stringify(raw)} is not a TCP port (0-65535)`);
  }
  return Number(value);
}

/** Seconds as a non-negative decimal (`0.5` is allowed, so tests can use short timeouts); returns ms. */
function parseSeconds(key: string, raw: string | undefined, fallbackSec: number): number {
  const value = raw?.trim();
  if (value === undefined || value === '') return fallbackSec * 1000;
  if (!/^[0-9]+(\.[0-9]+)?$/.test(value)) {
    throw new RuntimeConfigError(key, `${JSON.stringify(raw)} is not a number of seconds (e.g. 30 or 0.5)`);
  }
  return Math.round(Number(value) * 1000);
}

/** A whole number of requests; 0 = no limit. */
function parseKeepAliveRequests(raw: string | undefined): number {
  const value = raw?.trim();
  if (value === undefined || value === '') return defaults.keepAliveRequests;
  if (!/^[0-9]{1,9}$/.test(value)) {
    throw new RuntimeConfigError(
      'SHIPIT_KEEPALIVE_REQUESTS',
      `${JSON.stringify(raw)} is not a whole number of requests (e.g. 1000; 0 = keep a connection open whatever its request count)`,
    );
  }
  return Number(value);
}

function parseBacklog(raw: string | undefined): number {
  const value = raw?.trim();
  if (value === undefined || value === '') return defaults.backlog;
  if (!/^[0-9]{1,9}$/.test(value) || Number(value) < 1) {
    throw new RuntimeConfigError('SHIPIT_BACKLOG', `${JSON.stringify(raw)} is not a positive whole number of connections (e.g. 4096, the socket unit's Backlog=)`);
  }
  return Number(value);
}

function parseFlag(key: string, raw: string | undefined, fallback = false): boolean {
  const value = raw?.trim().toLowerCase();
  if (value === undefined || value === '') return fallback;
  if (value === '0' || value === 'false' || value === 'no') return false;
  if (value === '1' || value === 'true' || value === 'yes') return true;
  throw new RuntimeConfigError(key, `${JSON.stringify(raw)} is not a flag: use 1 or 0`);
}

function parseLogLevel(raw: string | undefined): LogLevel {
  const value = raw?.trim().toLowerCase();
  if (value === undefined || value === '') return 'info';
  if (value === 'debug' || value === 'info' || value === 'warn' || value === 'error') return value;
  throw new RuntimeConfigError('SHIPIT_LOG_LEVEL', `${JSON.stringify(raw)} is not one of debug, info, warn, error`);
}

function nonEmpty(raw: string | undefined): string | undefined {
  return raw === undefined || raw.trim() === '' ? undefined : raw;
}
