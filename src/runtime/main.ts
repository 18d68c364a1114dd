/**
 * shipit runtime: a pre-fork HTTP server for Node apps, what Gunicorn is for Python. One master supervises one
 * worker per CPU (node:cluster; the workers accept on one shared socket), replaces workers that die or hang, drains on SIGTERM, reloads
 * workers one at a time on SIGHUP, and tells systemd the truth about readiness (sd_notify).
 *
 * Started by systemd as `node <release>/.shipit/runtime/main.js` with cwd = the release. It runs on the hosts'
 * Node (Debian 12's nodejs 18.19 and newer) and imports only node: builtins, plus `sd-notify` when present.
 * Workers are forked from this same file.
 *
 * Shipping: `npm run build` bundles this file and what it imports into dist/runtime/main.js (reload-wait.ts into
 * reload-wait.js; scripts/bundle-runtime.mjs says why one file), which shipit puts into <release>/.shipit/runtime/
 * together with a package.json saying {"type":"module"}: they are ES modules, and Node 18 takes the module type
 * from the nearest package.json, which may be the app's own (CommonJS) one. `sd-notify` is a native addon tied to the Node ABI it
 * was built for: install it on the host (or a host-identical builder) into the release's node_modules, or point
 * SHIPIT_SD_NOTIFY at it; without it the runtime uses systemd-notify (NotifyAccess=all) and says so in its log.
 *
 * ## Environment (the contract)
 *
 * | variable                  | default | meaning |
 * |---------------------------|---------|---------|
 * | SHIPIT_APP                | —       | required: the app's entry file, relative to the app directory (or absolute). It exports `default`/`handler` (req, res) or `createServer()`, and optionally `ready()` and `shutdown()` (app-loader.ts). |
 * | SHIPIT_APP_DIR            | cwd     | the app directory, resolved with realpath at every worker fork: point it at a `current` symlink and a SIGHUP reload runs the release the symlink points to now. |
 * | WORKERS                   | auto    | `auto` = CPU count at start (os.availableParallelism, else os.cpus().length), or a whole number 1–1024. |
 * | PORT                      | 8000    | TCP port (0 = any free port). Ignored under socket activation. |
 * | HOST                      | all     | address to bind; unset = every interface (IPv6 and IPv4). Ignored under socket activation. |
 * | SHIPIT_TIMEOUT            | 30      | seconds a serving worker may go without a heartbeat (event loop blocked) before SIGKILL; 0 = never. Booting is bounded by SHIPIT_BOOT_TIMEOUT instead. |
 * | SHIPIT_GRACEFUL_TIMEOUT   | 30      | seconds a draining worker may finish in-flight requests before SIGKILL. Keep TimeoutStopSec= above it. |
 * | SHIPIT_BOOT_TIMEOUT       | 60      | seconds a new worker has to import, pass ready() and listen; 0 = no limit. The node unit sets it below the deploy's restart limit, from health.healthyDeadline (50 s for the default 60 s; src/units/render.ts nodeBootTimeoutSeconds). |
 * | SHIPIT_KEEP_ALIVE         | 5       | HTTP keep-alive idle timeout in seconds (Node's default); 0 = no keep-alive. Applied to a createServer() server only when set. |
 * | SHIPIT_KEEPALIVE_REQUESTS | 0       | requests per keep-alive connection (opt-in; e.g. 1000, nginx's default): the response to the Nth says `Connection: close` and the connection closes after it, so clients reconnect and long-lived keep-alive connections (a balancer's) spread over the workers again; 0 = never (default: on 2 cores it cost +2.7% instructions per request and no req/s). A whole number. Applies to createServer() apps too. |
 * | SHIPIT_BACKLOG            | 511     | the accept queue passed to listen(), also re-applied to the socket systemd passes (the node unit sets the .socket's Backlog=, 4096). |
 * | SHIPIT_ACCESS_LOG         | 0       | 1 = one JSON line per request: method, path (no query), status, duration_ms; written in batches, one write() per event-loop turn. |
 * | SHIPIT_LOG_LEVEL          | info    | debug, info, warn or error. |
 * | SHIPIT_SD_NOTIFY          | —       | path to the `sd-notify` package when it is not in the app's node_modules. |
 * | SHIPIT_SCHEDULING         | auto    | `shared` (workers accept on the shared socket), `round-robin` (the primary accepts and deals connections out), or `auto` = shared (trade-offs: config.ts resolveScheduling). |
 * | SHIPIT_BALANCE            | auto    | under shared scheduling with 2+ workers: when one worker holds clearly more than its share of the busy keep-alive connections, the master has it answer that many requests with `Connection: close` and hand the clients' new connections over to the least-busy worker (balance.ts, handoff.ts). `auto` (or 1) does so only while the machine has half a CPU idle (from /proc/stat; with no idle core, spreading gains nothing and costs CPU), `always` whatever the load, `off` (or 0) never. |
 *
 * ## Arguments
 * `--name <app>` (or `--name=<app>`): the app's name in the process titles, `shipit-runtime: <app> master` and
 * `shipit-runtime: <app> worker <slot>` (title.ts: why an argument and not a variable). The node unit passes the
 * app's name; without it the titles are `shipit-runtime: master` and `shipit-runtime: worker <slot>`. The app's
 * code sees process.argv without it.
 *
 * Set by systemd and honoured: LISTEN_FDS/LISTEN_PID (socket activation: fd 3, used only when LISTEN_PID is our
 * pid; removed from the environment either way), NOTIFY_SOCKET, WATCHDOG_USEC/WATCHDOG_PID. Workers never see
 * NOTIFY_SOCKET or WATCHDOG_*: only the master talks to systemd.
 *
 * ## Signals
 * SIGTERM, SIGINT: graceful stop (STOPPING=1, drain, SIGKILL after the graceful timeout, exit 0).
 * SIGHUP: rolling reload (RELOADING=1 … READY=1), new worker first, old one drained once the new one serves.
 *
 * ## Exit codes (exit-codes.ts)
 * 0 stopped · 1 unexpected error · 2 invalid environment · 3 a worker failed to boot · 4 the app could not be
 * loaded · 5 socket activation: every worker left the socket (systemd restarts us with it).
 */
import cluster from 'node:cluster';
import os from 'node:os';
import { systemClock } from './clock.js';
import { balancing, parseRuntimeConfig, resolveScheduling, RuntimeConfigError, type RuntimeConfig } from './config.js';
import { RuntimeExit } from './exit-codes.js';
import { batchLines, createLogger, errorFields, journalPrefixWanted, type LogFn } from './log.js';
import { createNotifier, watchdogPingIntervalMs } from './notify.js';
import { runPrimary } from './primary.js';
import { type ListenTarget, WorkerEnv } from './protocol.js';
import { takeListenFds, unsetListenEnv } from './socket-activation.js';
import { processTitle, takeNameArg, type TitleRole } from './title.js';
import { runWorker } from './worker.js';

function cpuCount(): number {
  // os.availableParallelism (Node >= 18.14) follows the CPU affinity mask; os.cpus() lists every CPU.
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

function loadConfig(): { config: RuntimeConfig; name: string | undefined; args: string[] } {
  try {
    const { name, rest } = takeNameArg(process.argv.slice(2));
    return { config: parseRuntimeConfig(process.env, cpuCount()), name, args: rest };
  } catch (error) {
    if (error instanceof RuntimeConfigError) {
      createLogger({ level: 'info', pid: process.pid, syslogPrefix: journalPrefixWanted(process.env) })('error', `invalid ${error.key.startsWith('--') ? 'argument' : 'environment'}: ${error.message}`, { key: error.key, exit_code: error.exitCode });
      process.exit(error.exitCode);
    }
    throw error;
  }
}

/**
 * Sets the title and says so when Linux cut it (title.ts): a cut title no longer matches the `pgrep -f` pattern
 * someone would write for this process.
 */
function setTitle(role: TitleRole, name: string | undefined, log: LogFn): void {
  const title = processTitle(role, name);
  process.title = title;
  if (process.title !== title) {
    log('warn', 'process title cut short: Linux keeps it within the length of the command line that started the process', { title, shown: process.title });
  }
}

function startPrimary(config: RuntimeConfig, name: string | undefined): void {
  const log = createLogger({ level: config.logLevel, pid: process.pid, syslogPrefix: journalPrefixWanted(process.env) });
  // process.argv keeps `--name`: node:cluster forks workers with process.argv.slice(2), so they get the name, and
  // the room for it in their own titles.
  setTitle({ kind: 'master' }, name, log);
  process.on('uncaughtException', (error) => {
    log('error', 'master crashed', { error: errorFields(error) });
    process.exit(RuntimeExit.unexpected);
  });

  const activation = takeListenFds(process.env, process.pid);
  unsetListenEnv(process.env);
  if (activation.ignored !== undefined) log('warn', `socket activation ignored: ${activation.ignored}`);
  if (activation.extra > 0) log('warn', 'systemd passed more than one socket; only fd 3 is used', { ignored_fds: activation.extra });
  // Must be set before the first fork; it overrides NODE_CLUSTER_SCHED_POLICY.
  const scheduling = resolveScheduling(config.scheduling);
  cluster.schedulingPolicy = scheduling === 'shared' ? cluster.SCHED_NONE : cluster.SCHED_RR;
  const listen: ListenTarget =
    activation.fd !== undefined
      ? { fd: activation.fd, inherited: scheduling === 'shared' }
      : config.host === undefined
        ? { port: config.port }
        : { port: config.port, host: config.host };

  const notifier = createNotifier({ env: process.env, appDir: config.appDir ?? process.cwd(), log });
  log('info', 'shipit runtime master', {
    node: process.version,
    name,
    app: config.app,
    workers: config.workers,
    workers_from: config.workersFrom,
    listen: 'fd' in listen ? `fd ${listen.fd} (socket activation${listen.inherited === true ? ', inherited by each worker' : ''})` : `${listen.host ?? '*'}:${listen.port}`,
    scheduling,
    keepalive_requests: config.keepAliveRequests,
    balance: balancing(config) ?? 'off',
    notify: notifier.kind,
  });
  runPrimary({
    config,
    listen,
    clock: systemClock,
    log,
    notifier,
    watchdogIntervalMs: watchdogPingIntervalMs(process.env, process.pid),
    onExit: (code) => process.exit(code),
    balance: balancing(config),
  });
}

async function startWorker(config: RuntimeConfig, name: string | undefined, args: string[]): Promise<void> {
  const slot = Number(process.env[WorkerEnv.slot] ?? '0');
  const log: LogFn = createLogger({ level: config.logLevel, pid: process.pid, worker: slot, syslogPrefix: journalPrefixWanted(process.env) });
  setTitle({ kind: 'worker', slot }, name, log);
  // Before the app is imported: `--name` is the runtime's option, not the app's. Changing the array leaves the
  // title alone (it lives in the argv strings' memory, not in process.argv).
  process.argv.splice(2, Infinity, ...args);
  let accessLog: LogFn | undefined;
  if (config.accessLog) {
    const batch = batchLines((chunk) => void process.stdout.write(chunk), setImmediate);
    // Workers leave through process.exit(); stdout to a pipe or a file is written synchronously in 'exit'.
    process.on('exit', batch.flush);
    accessLog = createLogger({ level: config.logLevel, pid: process.pid, worker: slot, write: batch.push });
  }
  await runWorker({
    config,
    listen: JSON.parse(process.env[WorkerEnv.listen] ?? '{}') as ListenTarget,
    keepAliveExplicit: (process.env.SHIPIT_KEEP_ALIVE ?? '') !== '',
    clock: systemClock,
    log,
    accessLog,
    balance: balancing(config) !== undefined,
  });
}

const { config, name, args } = loadConfig();
if (cluster.isPrimary) startPrimary(config, name);
else await startWorker(config, name, args);
