// `npm run bench -- runtime [options]` (or `npx tsx bench/runtime/run.ts [options]`): issue 5's benchmark of the
// Node runtime (src/runtime) on this machine alone: loopback traffic only, no lab, no root unless `wrk` must be
// installed (apt-get). Three servers with the same hello handler (hello.mjs) and worker count run side by side: the
// shipit runtime (compiled from src/runtime as shipped), a minimal hand-written node:cluster server
// (plain-cluster.mjs) and PM2 in cluster mode (pm2-worker.mjs, a devDependency, with a private PM2_HOME). In one run:
//   - requests/s and p99 latency (wrk --latency), keep-alive and `Connection: close`, interleaved rounds in a
//     rotating order, median per server, ratios against the hand-written server with the runtime's scheduling
//     (shared accept; also shown with Node's default, round-robin); and the CPU time per request of each
//     server's processes in the same runs (/proc), which a busy machine disturbs far less than req/s; and how the
//     connections were spread over the workers in each run (/proc: which worker holds which of wrk's keep-alive
//     connections, and each worker's share of the CPU), since with shared accept they can all land on one worker;
//     the runtime also runs with SHIPIT_KEEPALIVE_REQUESTS=1000, to show what recycling connections is worth;
//   - failed requests while the server reloads under load (shipit: SIGHUP to the master; PM2: `pm2 reload`);
//   - time to replace a worker killed with SIGKILL: until a worker with a new pid answers (the server has its
//     full worker count again), polled with a fresh connection every 5 ms.
// Prints tables and writes bench/results/runtime.json (gitignored). ≈ 4 minutes by default (servers restart every
// 2 rounds); `--diagnose` adds variants that show where the time goes (minutes more). Options: see parseArgs.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
const HERE = import.meta.dirname;
const ROOT = resolve(HERE, '../..');
const RESULTS = resolve(ROOT, 'bench/results');
const WORK = resolve(process.env.SHIPIT_BENCH_WORK ?? '/var/tmp/shipit-bench', 'runtime');
const PM2_NAME = 'shipit-bench-hello';

// ---------------------------------------------------------------------------------------------------------------
// options

/**
 * keep-alive and close: the hello handler, so that the servers' own cost per request shows. app: keep-alive to
 * GET /work, ~0.2 ms of CPU per request (hello.mjs), where the app's CPU limits req/s and not wrk's: how the
 * connections are spread over the workers then decides how many cores serve.
 */
type Mode = 'keep-alive' | 'close' | 'app' | 'pile-up';
const MODES: Mode[] = ['keep-alive', 'close', 'app', 'pile-up'];
const MODE_LABEL: Record<Mode, string> = {
  'keep-alive': 'keep-alive',
  close: 'close',
  app: 'an app, 0.2 ms of CPU per request, 8 keep-alive connections',
  'pile-up': 'the same app, the pool connecting while a worker is busy',
};
/**
 * pile-up: the app mode, with one worker stopped (SIGSTOP) for PILE_UP_STOP_MS as wrk connects, as a worker
 * busy with a long request or a GC pause would be. Under shared accept the other worker takes every connection;
 * the runtime's balancing (src/runtime/balance.ts) moves them back, round-robin deals them out from the start.
 */
const PILE_UP_STOP_MS = 100;
/**
 * The app mode's connections: few long-lived ones, like a load balancer's pool to one host (HAProxy, nginx's
 * upstream keepalive), where one worker may hold them all while another core idles (with 50, every worker
 * nearly always gets a few, and closed-loop load then keeps every core busy however uneven the spread).
 */
const APP_CONNECTIONS = 8;
const connectionsFor = (mode: Mode, o: Options): number => (mode === 'app' || mode === 'pile-up' ? APP_CONNECTIONS : o.connections);

export interface Options {
  workers: number;
  rounds: number;
  /** wrk duration of one throughput measurement (wrk takes whole seconds). */
  seconds: number;
  connections: number;
  /** Reloads per server and connection mode. */
  reloads: number;
  /** Kills per server: one per worker slot, the servers restarted between passes (see killTest). */
  killPasses: number;
  /** Also measure shipit variants that show where its time goes (round-robin, no heartbeat, access log, pieces). */
  diagnose: boolean;
  /** A built runtime to measure instead of compiling src/runtime (e.g. dist/runtime/main.js, what ships). */
  entry: string | undefined;
  /** Measure only these servers (keys; the hand-written one is always kept as the reference). */
  only: string[] | undefined;
  modes: Mode[];
  /** Fresh server processes every N rounds of throughput (0 = the same ones throughout). */
  restartEvery: number;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { workers: 2, rounds: 6, seconds: 2, connections: 50, reloads: 2, killPasses: 2, diagnose: false, entry: undefined, only: undefined, modes: [...MODES], restartEvery: 2 };
  const int = (name: string, raw: string | undefined, min: number): number => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) throw new Error(`${name} needs a whole number ≥ ${min}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--rounds') o.rounds = int(a, argv[++i], 1);
    else if (a === '--seconds') o.seconds = int(a, argv[++i], 1);
    else if (a === '--connections') o.connections = int(a, argv[++i], 1);
    else if (a === '--workers') o.workers = int(a, argv[++i], 1);
    else if (a === '--reloads') o.reloads = int(a, argv[++i], 0);
    else if (a === '--kill-passes') o.killPasses = int(a, argv[++i], 0);
    else if (a === '--diagnose') o.diagnose = true;
    else if (a === '--restart-every') o.restartEvery = int(a, argv[++i], 0);
    else if (a === '--entry') o.entry = resolve(argv[++i] ?? '');
    else if (a === '--only') o.only = (argv[++i] ?? '').split(',').filter(Boolean);
    else if (a === '--modes') {
      o.modes = (argv[++i] ?? '').split(',').filter(Boolean) as Mode[];
      if (o.modes.length === 0 || o.modes.some((m) => !MODES.includes(m))) throw new Error(`--modes takes ${MODES.join(',')}`);
    } else throw new Error(`unknown argument ${a}: expected --rounds N, --seconds S, --connections C, --workers W, --reloads N, --kill-passes N, --restart-every N, --diagnose, --only KEY,…, --modes keep-alive,close, --entry FILE`);
  }
  return o;
}

// ---------------------------------------------------------------------------------------------------------------
// small helpers

const t0 = Date.now();
function log(message: string): void {
  process.stderr.write(`[bench runtime +${((Date.now() - t0) / 1000).toFixed(0).padStart(3)}s] ${message}\n`);
}
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
const round = (n: number, digits = 0) => (Number.isFinite(n) ? Math.round(n * 10 ** digits) / 10 ** digits : null);
const fmtInt = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');
const fmtMs = (n: number) => (Number.isFinite(n) ? (n < 10 ? `${n.toFixed(2)} ms` : `${n.toFixed(1)} ms`) : '–');
const fmtRatio = (n: number) => (Number.isFinite(n) ? `${n.toFixed(3)}×` : '–');

/** Rotate so each server leads in turn: round r starts with item r. */
function rotate<T>(items: T[], by: number): T[] {
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/** GET /pid on a fresh connection: the answering worker's pid, or undefined (refused, reset, timed out, non-200). */
function getPid(port: number, timeoutMs: number): Promise<number | undefined> {
  return new Promise((done) => {
    let settled = false;
    const finish = (v: number | undefined) => {
      if (!settled) {
        settled = true;
        done(v);
      }
    };
    const req = http.get({ host: '127.0.0.1', port, path: '/pid', agent: false, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => finish(res.statusCode === 200 && /^\d+$/.test(body) ? Number(body) : undefined));
      res.on('error', () => finish(undefined));
    });
    req.setTimeout(timeoutMs, () => {
      req.destroy();
      finish(undefined);
    });
    req.on('error', () => finish(undefined));
  });
}

/** The pids of the workers answering on `port`, polled until `count` distinct ones answered. */
async function workerPids(port: number, count: number, timeoutMs = 20_000): Promise<number[]> {
  const seen = new Set<number>();
  const deadline = Date.now() + timeoutMs;
  while (seen.size < count) {
    if (Date.now() > deadline) throw new Error(`port ${port}: only ${seen.size} of ${count} workers answered within ${timeoutMs} ms`);
    const pid = await getPid(port, 1000);
    if (pid !== undefined) seen.add(pid);
    else await sleep(50);
  }
  return [...seen];
}

/** USER_HZ, the unit of utime/stime in /proc/<pid>/stat: 100 on every Linux architecture Node runs on. */
const CLK_TCK = 100;

function procStat(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' '); // [0] = state (field 3), [1] = ppid, [11] = utime, [12] = stime
  } catch {
    return undefined;
  }
}

/** utime + stime of a process, all its threads, in ms; 0 once it is gone. */
function cpuMs(pid: number): number {
  const f = procStat(pid);
  return f === undefined ? 0 : ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
}

function ppidOf(pid: number): number | undefined {
  const f = procStat(pid);
  return f === undefined ? undefined : Number(f[1]);
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      for (const c of readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/)) if (c !== '') out.push(Number(c));
    }
  } catch {
    // gone
  }
  return out;
}

/** CPU time a server used so far: its master (for PM2: the daemon, which is the cluster primary) and the workers. */
function serverCpu(master: number): { masterMs: number; workersMs: number; workers: number; perWorker: Map<number, number> } {
  const workers = childrenOf(master);
  const perWorker = new Map(workers.map((w) => [w, cpuMs(w)] as const));
  return { masterMs: cpuMs(master), workersMs: [...perWorker.values()].reduce((n, ms) => n + ms, 0), workers: workers.length, perWorker };
}

/**
 * Inodes of the server side of the ESTABLISHED TCP connections on `port`. Asked of the kernel through `ss`
 * (netlink, filtered in the kernel), not read from /proc/net/tcp: after the `Connection: close` runs that table
 * holds tens of thousands of TIME_WAIT entries, and reading it under load pushed samples past the end of the run.
 */
async function establishedInodes(port: number): Promise<Set<string>> {
  const { stdout } = await execFileP('ss', ['-tnHe', 'state', 'established', `( sport = :${port} )`], { maxBuffer: 16 * 1024 * 1024 });
  return new Set([...stdout.matchAll(/\bino:(\d+)/g)].map((m) => m[1]!));
}

/**
 * How many of the connections on `port` each worker holds right now: the workers' socket fds matched against
 * the kernel's list of connections. Under shared accept the kernel decides which worker accepts a connection; the count
 * shows when one worker holds all of wrk's keep-alive connections and the other idles.
 */
async function connectionsPerWorker(port: number, workers: number[]): Promise<number[]> {
  const inodes = await establishedInodes(port);
  return workers.map((pid) => {
    let n = 0;
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      return 0;
    }
    for (const fd of fds) {
      try {
        const link = readlinkSync(`/proc/${pid}/fd/${fd}`);
        if (link.startsWith('socket:[') && inodes.has(link.slice(8, -1))) n++;
      } catch {
        // closed meanwhile
      }
    }
    return n;
  });
}

/** The environment servers start with: ours, without what a parent (tsx, systemd) may have set for us. */
function serverEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const key of ['NODE_OPTIONS', 'NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID', 'LISTEN_FDS', 'LISTEN_PID', 'LISTEN_FDNAMES', 'NODE_CLUSTER_SCHED_POLICY']) {
    if (!(key in extra)) delete env[key];
  }
  return env;
}

function waitExit(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      done();
    }, timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      done();
    });
  });
}

// ---------------------------------------------------------------------------------------------------------------
// wrk

export interface WrkResult {
  requests: number;
  rps: number;
  /** From wrk's latency distribution (--latency), ms. */
  p50Ms: number;
  p99Ms: number;
  errors: { connect: number; read: number; write: number; timeout: number; non2xx: number };
  failed: number;
}

function toMs(value: string, unit: string): number {
  const n = Number(value);
  return unit === 'us' ? n / 1000 : unit === 'ms' ? n : unit === 's' ? n * 1000 : unit === 'm' ? n * 60_000 : NaN;
}

export function parseWrk(out: string): WrkResult {
  const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? NaN);
  const pct = (p: string) => {
    const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(out);
    return m ? toMs(m[1]!, m[2]!) : NaN;
  };
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = {
    connect: Number(sock?.[1] ?? 0),
    read: Number(sock?.[2] ?? 0),
    write: Number(sock?.[3] ?? 0),
    timeout: Number(sock?.[4] ?? 0),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
  };
  const result: WrkResult = {
    requests: num(/(\d+) requests in /),
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    p50Ms: pct('50'),
    p99Ms: pct('99'),
    errors,
    failed: errors.connect + errors.read + errors.write + errors.timeout + errors.non2xx,
  };
  if (!Number.isFinite(result.rps) || !Number.isFinite(result.p99Ms)) throw new Error(`could not read wrk's output:\n${out}`);
  return result;
}

async function wrk(port: number, seconds: number, connections: number, mode: Mode): Promise<WrkResult> {
  const path = mode === 'app' || mode === 'pile-up' ? '/work' : '/';
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', ...(mode === 'close' ? ['-H', 'Connection: close'] : []), `http://127.0.0.1:${port}${path}`];
  const { stdout } = await execFileP('wrk', args, { timeout: (seconds + 30) * 1000 });
  return parseWrk(stdout);
}

async function ensureWrk(): Promise<string> {
  const version = async () => {
    const r = await execFileP('wrk', ['--version']).catch((e: { stdout?: string; code?: unknown }) => e);
    return typeof r.stdout === 'string' && r.stdout.startsWith('wrk') ? r.stdout.split('\n')[0]!.replace(/ Copyright.*/, '').trim() : undefined;
  };
  const found = await version();
  if (found !== undefined) return found;
  if (process.getuid?.() !== 0) throw new Error('wrk is not installed: apt-get install wrk (or run the bench as root, it installs it)');
  log('apt-get install wrk');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => execFileP('apt-get', ['install', '-y', '-q', '--no-install-recommends', 'wrk'], { env });
  await install().catch(async () => {
    await execFileP('apt-get', ['update', '-q'], { env });
    await install();
  });
  const installed = await version();
  if (installed === undefined) throw new Error('wrk still missing after apt-get install wrk');
  return installed;
}

// ---------------------------------------------------------------------------------------------------------------
// the servers

interface Server {
  key: string;
  label: string;
  port: number;
  /** The comparison proper (shipit, plain, pm2) or a diagnostic shipit variant. */
  main: boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Rolling reload; resolves when the tool says it finished, with ms since it was asked. */
  reload?: () => Promise<number>;
  /** What the tool itself logged about replacement workers since the last call (shipit: boot_ms). */
  bootTimes?: () => number[];
  /** After the last stop (PM2: kill its daemon). */
  shutdown?: () => Promise<void>;
}

/** tsc's modules of src/runtime (compileRuntime), which --diagnose's hand-written servers import pieces of. */
const RUNTIME_MODULES = join(WORK, 'runtime-tsc');

/**
 * The runtime compiled from src/runtime as it is shipped: tsc's ES modules, bundled by the build's own
 * scripts/bundle-runtime.mjs into one main.js next to a {"type":"module"} package.json.
 */
async function compileRuntime(): Promise<string> {
  const compiled = RUNTIME_MODULES;
  const out = join(WORK, 'runtime-dist');
  // Afresh: tsc's modules of an earlier version of this bench lay here, and --diagnose must not import stale ones.
  rmSync(compiled, { recursive: true, force: true });
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const sources = readdirSync(join(ROOT, 'src/runtime')).filter((f) => f.endsWith('.ts')).map((f) => join(ROOT, 'src/runtime', f));
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  await execFileP(process.execPath, [tsc, '--outDir', compiled, '--rootDir', join(ROOT, 'src/runtime'), '--target', 'ES2022', '--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--lib', 'ES2023', '--types', 'node', '--strict', '--skipLibCheck', '--esModuleInterop', ...sources], { cwd: ROOT });
  const { bundleRuntime } = (await import(pathToFileURL(join(ROOT, 'scripts/bundle-runtime.mjs')).href)) as { bundleRuntime: (from: string, to: string) => Promise<void> };
  await bundleRuntime(compiled, out);
  writeFileSync(join(out, 'package.json'), '{"type":"module"}\n');
  return join(out, 'main.js');
}

/** Reads the JSON log lines the shipit master and workers write to `file`, from where the last call stopped. */
function logReader(file: string): { next(): Record<string, unknown>[]; reset(): void } {
  let offset = 0;
  const next = () => {
    if (!existsSync(file)) return [];
    const size = statSync(file).size;
    if (size <= offset) return [];
    const fd = openSync(file, 'r');
    const buf = Buffer.alloc(size - offset);
    let read = 0;
    try {
      read = readSync(fd, buf, 0, buf.length, offset);
    } finally {
      closeSync(fd);
    }
    const text = buf.subarray(0, read).toString('utf8');
    const end = text.lastIndexOf('\n');
    if (end === -1) return [];
    offset += Buffer.byteLength(text.slice(0, end + 1));
    const records: Record<string, unknown>[] = [];
    for (const line of text.slice(0, end).split('\n')) {
      try {
        records.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not a log record (e.g. a Node warning)
      }
    }
    return records;
  };
  return { next, reset: () => void (offset = 0) };
}

async function waitForRecord(reader: { next(): Record<string, unknown>[] }, match: (r: Record<string, unknown>) => boolean, timeoutMs: number, what: string): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const hit = reader.next().find(match);
    if (hit !== undefined) return hit;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

function shipitServer(key: string, label: string, port: number, entry: string, workers: number, env: Record<string, string>, main: boolean): Server {
  let child: ChildProcess | undefined;
  const logFile = join(WORK, `${key}.log`);
  const reader = logReader(logFile);
  const bootMs: number[] = [];
  const collect = (records: Record<string, unknown>[]) => {
    for (const r of records) if (r.msg === 'worker serving' && typeof r.boot_ms === 'number') bootMs.push(r.boot_ms);
    return records;
  };
  const tracked = { next: () => collect(reader.next()), reset: reader.reset, skip: () => void collect(reader.next()) };
  return {
    key,
    label,
    port,
    main,
    async start() {
      writeFileSync(logFile, '');
      reader.reset();
      const fd = openSync(logFile, 'a');
      child = spawn(process.execPath, [entry], {
        cwd: HERE,
        env: serverEnv({ SHIPIT_APP: 'hello.mjs', WORKERS: String(workers), PORT: String(port), HOST: '127.0.0.1', ...env }),
        stdio: ['ignore', fd, fd],
      });
      closeSync(fd);
      const exited = new Promise<never>((_, reject) => child!.once('exit', (code) => reject(new Error(`${label} exited with ${code} at start; see ${logFile}`))));
      await Promise.race([waitForRecord(tracked, (r) => r.msg === 'ready: every worker serves', 20_000, `${label}: ready`), exited]);
      bootMs.length = 0;
    },
    async stop() {
      if (child === undefined) return;
      child.kill('SIGTERM');
      await waitExit(child, 10_000);
      child = undefined;
    },
    async reload() {
      tracked.skip();
      const started = performance.now();
      child!.kill('SIGHUP');
      await waitForRecord(tracked, (r) => r.msg === 'reload complete' || r.msg === 'reload failed; keeping the workers that serve', 30_000, `${label}: reload complete`);
      const ms = performance.now() - started;
      bootMs.length = 0;
      return ms;
    },
    bootTimes() {
      tracked.skip();
      return bootMs.splice(0);
    },
  };
}

function plainServer(key: string, label: string, port: number, script: string, workers: number, env: Record<string, string>, main: boolean): Server {
  let child: ChildProcess | undefined;
  return {
    key,
    label,
    port,
    main,
    async start() {
      child = spawn(process.execPath, [join(HERE, script)], { cwd: HERE, env: serverEnv({ WORKERS: String(workers), PORT: String(port), ...env }), stdio: 'ignore' });
      await workerPids(port, workers);
    },
    async stop() {
      if (child === undefined) return;
      child.kill('SIGTERM');
      await waitExit(child, 10_000);
      child = undefined;
    },
  };
}

type Pm2 = typeof import('pm2');

async function loadPm2(): Promise<{ pm2: Pm2; version: string }> {
  // PM2 reads PM2_HOME when it is loaded: a private one, so the bench never touches a PM2 the machine runs.
  process.env.PM2_HOME = join(WORK, 'pm2-home');
  mkdirSync(process.env.PM2_HOME, { recursive: true });
  const mod = (await import('pm2')) as unknown as { default: Pm2 };
  const version = (JSON.parse(readFileSync(join(ROOT, 'node_modules/pm2/package.json'), 'utf8')) as { version: string }).version;
  return { pm2: mod.default, version };
}

function pm2Server(pm2: Pm2, version: string, port: number, workers: number): Server {
  const call = <T>(fn: (cb: (err: unknown, value: T) => void) => void): Promise<T> =>
    new Promise((ok, fail) => fn((err, value) => (err ? fail(err instanceof Error ? err : new Error(JSON.stringify(err))) : ok(value))));
  let connected = false;
  return {
    key: 'pm2',
    label: `PM2 ${version} cluster mode`,
    port,
    main: true,
    async start() {
      if (!connected) {
        await call<void>((cb) => pm2.connect((err) => cb(err, undefined)));
        connected = true;
      }
      await call((cb) =>
        pm2.start(
          { name: PM2_NAME, script: join(HERE, 'pm2-worker.mjs'), cwd: HERE, instances: workers, exec_mode: 'cluster', env: { PORT: String(port) } as never },
          cb,
        ),
      );
      await workerPids(port, workers);
    },
    async stop() {
      if (!connected) return;
      await call((cb) => pm2.delete(PM2_NAME, cb)).catch(() => undefined);
    },
    async reload() {
      const started = performance.now();
      await call((cb) => pm2.reload(PM2_NAME, cb));
      return performance.now() - started;
    },
    async shutdown() {
      if (!connected) return;
      // Bounded in case the daemon never answers; then close our connection to it (see the end of main).
      await new Promise<void>((done) => {
        const timer = setTimeout(done, 10_000);
        pm2.killDaemon(() => {
          clearTimeout(timer);
          done();
        });
      });
      pm2.disconnect();
      connected = false;
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// measurements

interface ThroughputRun extends WrkResult {
  round: number;
  server: string;
  mode: Mode;
  /** CPU time the server's processes used during the run, per request (µs): the cluster primary, the workers. */
  masterUsPerReq: number;
  workersUsPerReq: number;
  /** Each worker's share of the workers' CPU time in the run, largest first (1/workers each = an even spread). */
  workerCpuShares: number[];
  /** keep-alive only: connections held by each worker (largest first) at 1/4, 1/2 and 3/4 of the run. */
  connectionSamples: number[][];
  /** When each sample was taken, ms after wrk was started (wrk itself needs a few ms to connect). */
  connectionSampleMs: number[];
}

/** When connectionsPerWorker samples a keep-alive run, as fractions of its duration. */
const SPREAD_SAMPLES = [0.25, 0.5, 0.75];

/**
 * Every server is started afresh every `o.restartEvery` rounds (and warmed up again): measured on 2026-12-03, two
 * instances of the same code kept a CPU-per-request difference of ~8% through all 10 rounds of a run (what V8
 * compiled in each worker, where its memory landed), which rounds of the same processes cannot average out.
 */
async function throughput(servers: Server[], o: Options): Promise<ThroughputRun[]> {
  const masters = new Map<string, number>();
  const warmUp = async (): Promise<void> => {
    log(`warm-up: 1 s per server and mode`);
    for (const mode of o.modes) for (const s of servers) await wrk(s.port, 1, connectionsFor(mode, o), mode);
    for (const s of servers) {
      const [worker] = await workerPids(s.port, 1);
      const master = ppidOf(worker!);
      if (master === undefined || serverCpu(master).workers !== o.workers) throw new Error(`${s.label}: cannot find its cluster primary (worker ${worker})`);
      masters.set(s.key, master);
    }
  };
  await warmUp();
  const runs: ThroughputRun[] = [];
  for (let r = 0; r < o.rounds; r++) {
    if (r > 0 && o.restartEvery > 0 && r % o.restartEvery === 0) {
      log(`restarting every server (fresh processes every ${o.restartEvery} rounds)`);
      for (const s of servers) await s.stop();
      for (const s of servers) await s.start();
      await warmUp();
    }
    for (const mode of o.modes) {
      for (const s of rotate(servers, r)) {
        const master = masters.get(s.key)!;
        const before = serverCpu(master);
        const stopped = mode === 'pile-up' ? [...before.perWorker.keys()].sort((a, b) => a - b)[1] : undefined;
        if (stopped !== undefined) process.kill(stopped, 'SIGSTOP');
        const running = wrk(s.port, o.seconds, connectionsFor(mode, o), mode);
        if (stopped !== undefined) {
          await sleep(PILE_UP_STOP_MS);
          process.kill(stopped, 'SIGCONT');
        }
        // Connections are counted in keep-alive runs only: with `Connection: close` each lives one request, and
        // the kernel then lists thousands of TIME_WAIT entries.
        const connectionSamples: number[][] = [];
        const connectionSampleMs: number[] = [];
        if (mode !== 'close') {
          const started = performance.now();
          for (const fraction of SPREAD_SAMPLES) {
            await sleep(Math.max(0, started + fraction * o.seconds * 1000 - performance.now()));
            connectionSampleMs.push(Math.round(performance.now() - started));
            connectionSamples.push((await connectionsPerWorker(s.port, [...before.perWorker.keys()])).sort((a, b) => b - a));
          }
        }
        const result = await running;
        const after = serverCpu(master);
        if (after.workers !== o.workers) throw new Error(`${s.label}: ${after.workers} workers during the run, not ${o.workers}`);
        const perReq = (ms: number) => (ms * 1000) / result.requests;
        runs.push({
          round: r + 1,
          server: s.key,
          mode,
          ...result,
          masterUsPerReq: perReq(after.masterMs - before.masterMs),
          workersUsPerReq: perReq(after.workersMs - before.workersMs),
          workerCpuShares: [...after.perWorker]
            .map(([pid, ms]) => (ms - (before.perWorker.get(pid) ?? 0)) / (after.workersMs - before.workersMs))
            .sort((a, b) => b - a),
          connectionSamples,
          connectionSampleMs,
        });
      }
    }
    log(`throughput round ${r + 1}/${o.rounds} done`);
  }
  return runs;
}

interface ReloadRun extends WrkResult {
  server: string;
  mode: Mode;
  rep: number;
  reloadMs: number;
  /** The reload finished while wrk was still sending (else the window did not cover it). */
  covered: boolean;
}

const RELOAD_LOAD_S = 4;
const RELOAD_AT_MS = 1000;

async function reloadTest(servers: Server[], o: Options): Promise<ReloadRun[]> {
  const runs: ReloadRun[] = [];
  const reloadable = servers.filter((s) => s.reload !== undefined);
  for (let rep = 0; rep < o.reloads; rep++) {
    for (const mode of o.modes.filter((m) => m === 'keep-alive' || m === 'close')) {
      for (const s of rotate(reloadable, rep)) {
        const load = wrk(s.port, RELOAD_LOAD_S, o.connections, mode);
        await sleep(RELOAD_AT_MS);
        const reloadMs = await s.reload!();
        const result = await load;
        runs.push({ server: s.key, mode, rep: rep + 1, reloadMs, covered: RELOAD_AT_MS + reloadMs < RELOAD_LOAD_S * 1000 - 200, ...result });
        log(`reload ${s.key} ${mode}: ${result.failed} failed of ${result.requests} (reload ${Math.round(reloadMs)} ms)`);
        await sleep(300);
      }
    }
  }
  return runs;
}

interface KillRun {
  server: string;
  pass: number;
  victim: number;
  /** kill -9 → a worker with a new pid answered; undefined: not within the limit (no respawn). */
  replacedMs: number | undefined;
  /** Polls that got no answer meanwhile (the surviving worker serves them). */
  failedPolls: number;
  polls: number;
  /** What the tool logged (shipit: the replacement's boot_ms, fork → serving). */
  toolBootMs: number[];
}

const KILL_LIMIT_MS = 3000;
const POLL_EVERY_MS = 5;
const POLL_TIMEOUT_MS = 2000;

/**
 * Polls overlap: a new one every POLL_EVERY_MS whatever the earlier ones do. Under node:cluster's round-robin a
 * connection the primary handed to the worker just killed is never answered; a poll loop that waited for it would
 * measure its own timeout instead of the replacement.
 */
async function killOne(s: Server, pids: number[], pass: number, victim: number): Promise<KillRun> {
  s.bootTimes?.();
  const known = new Set(pids);
  let polls = 0;
  let failedPolls = 0;
  let replacedMs: number | undefined;
  const pending = new Set<Promise<void>>();
  const started = performance.now();
  process.kill(victim, 'SIGKILL');
  while (replacedMs === undefined && performance.now() - started < KILL_LIMIT_MS) {
    polls++;
    const poll = getPid(s.port, POLL_TIMEOUT_MS).then((pid) => {
      if (pid === undefined) failedPolls++;
      else if (!known.has(pid)) replacedMs ??= performance.now() - started;
    });
    pending.add(poll);
    void poll.then(() => pending.delete(poll));
    await sleep(POLL_EVERY_MS);
  }
  await Promise.all(pending); // settle (or time out) the polls still out, so failures are counted
  await sleep(100); // let the tool's own log line arrive
  const toolBootMs = s.bootTimes?.() ?? [];
  return { server: s.key, pass, victim, replacedMs, failedPolls, polls, toolBootMs };
}

/**
 * Kill -9 each worker once per pass, the servers interleaved. One kill per slot per pass on purpose: shipit backs
 * off a slot that dies again within 30 s of serving (100 ms, then doubling, backoff.ts), so a second kill of the
 * same slot measures the backoff, not the replacement; the servers are restarted between passes. The hand-written
 * server does not respawn: it is killed once, at the end.
 */
async function killTest(servers: Server[], o: Options): Promise<KillRun[]> {
  const runs: KillRun[] = [];
  const respawning = servers.filter((s) => s.key !== 'plain');
  for (let pass = 0; pass < o.killPasses; pass++) {
    if (pass > 0) {
      for (const s of respawning) {
        await s.stop();
        await s.start();
      }
    }
    const pids = new Map<string, number[]>();
    for (const s of respawning) pids.set(s.key, await workerPids(s.port, o.workers));
    for (let slot = 0; slot < o.workers; slot++) {
      for (const s of rotate(respawning, pass + slot)) {
        const before = await workerPids(s.port, o.workers);
        const victim = pids.get(s.key)![slot]!;
        if (!before.includes(victim)) throw new Error(`${s.key}: worker ${victim} no longer answers`);
        const run = await killOne(s, before, pass + 1, victim);
        runs.push(run);
        log(`kill -9 ${s.key} worker ${victim}: ${run.replacedMs === undefined ? 'not replaced' : `new worker answers after ${Math.round(run.replacedMs)} ms`}`);
        await sleep(200);
      }
    }
  }
  const plain = servers.find((s) => s.key === 'plain');
  if (plain !== undefined && o.killPasses > 0) {
    const before = await workerPids(plain.port, o.workers);
    const run = await killOne(plain, before, 1, before[0]!);
    runs.push(run);
    log(`kill -9 plain worker ${before[0]}: ${run.replacedMs === undefined ? `not replaced within ${KILL_LIMIT_MS} ms` : `replaced after ${Math.round(run.replacedMs)} ms`}`);
  }
  return runs;
}

// ---------------------------------------------------------------------------------------------------------------
// report

interface Summary {
  server: string;
  label: string;
  mode: Mode;
  rps: number;
  p99Ms: number;
  p50Ms: number;
  /** rps ÷ the hand-written server's (ratio of medians), and the per-round ratios' range. */
  vsPlain: number;
  vsPlainRounds: [number, number];
  vsPm2: number;
  failed: number;
  masterUsPerReq: number;
  workersUsPerReq: number;
  /** CPU per request ÷ the hand-written server's (ratio of medians; lower is better). */
  cpuVsPlain: number;
  /** Per round: the connections the busiest worker held at mid-run (keep-alive; undefined in close mode). */
  busiestConnections: (number | undefined)[];
  /** Rounds in which one worker held ≥ 90% of the connections, at each of SPREAD_SAMPLES (keep-alive). */
  lopsidedRounds: number[];
  /** The busiest worker's share of the workers' CPU time: median and largest over the rounds. */
  busiestCpuShare: number;
  busiestCpuShareMax: number;
}

/** One worker holds at least this share of the connections: the others are (nearly) idle. */
const LOPSIDED = 0.9;

function summarize(servers: Server[], runs: ThroughputRun[]): Summary[] {
  const out: Summary[] = [];
  for (const mode of MODES) {
    const of = (key: string) => runs.filter((r) => r.server === key && r.mode === mode);
    const med = (key: string, f: (r: ThroughputRun) => number) => median(of(key).map(f));
    for (const s of servers) {
      const perRound = of(s.key).map((r) => r.rps / (of('plain').find((p) => p.round === r.round)?.rps ?? NaN));
      out.push({
        server: s.key,
        label: s.label,
        mode,
        rps: med(s.key, (r) => r.rps),
        p99Ms: med(s.key, (r) => r.p99Ms),
        p50Ms: med(s.key, (r) => r.p50Ms),
        vsPlain: med(s.key, (r) => r.rps) / med('plain', (r) => r.rps),
        vsPlainRounds: [Math.min(...perRound), Math.max(...perRound)],
        vsPm2: med(s.key, (r) => r.rps) / med('pm2', (r) => r.rps),
        failed: of(s.key).reduce((n, r) => n + r.failed, 0),
        masterUsPerReq: med(s.key, (r) => r.masterUsPerReq),
        workersUsPerReq: med(s.key, (r) => r.workersUsPerReq),
        cpuVsPlain: med(s.key, (r) => r.masterUsPerReq + r.workersUsPerReq) / med('plain', (r) => r.masterUsPerReq + r.workersUsPerReq),
        // A sample that found no connection at all (wrk not connected yet, or already done) says nothing.
        busiestConnections: of(s.key).map((r) => (r.connectionSamples[1]?.some((n) => n > 0) ? r.connectionSamples[1]![0] : undefined)),
        lopsidedRounds: SPREAD_SAMPLES.map(
          (_, i) =>
            of(s.key).filter((r) => {
              const sample = r.connectionSamples[i];
              const total = sample?.reduce((n, c) => n + c, 0) ?? 0;
              return sample !== undefined && total > 0 && sample[0]! >= LOPSIDED * total;
            }).length,
        ),
        busiestCpuShare: med(s.key, (r) => r.workerCpuShares[0] ?? NaN),
        busiestCpuShareMax: Math.max(...of(s.key).map((r) => r.workerCpuShares[0] ?? NaN)),
      });
    }
  }
  return out;
}

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(3, h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  return [line(head), `| ${widths.map((w, i) => (i === 0 ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`)).join(' | ')} |`, ...rows.map(line)].join('\n');
}

function report(servers: Server[], o: Options, summary: Summary[], reloads: ReloadRun[], kills: KillRun[], header: string): string {
  const lines: string[] = [header, ''];
  const rows = servers.map((s) => {
    const ka = summary.find((x) => x.server === s.key && x.mode === 'keep-alive')!;
    const cl = summary.find((x) => x.server === s.key && x.mode === 'close')!;
    const range = (x: Summary) => (s.key === 'plain' || !Number.isFinite(x.rps) ? '' : ` (${x.vsPlainRounds[0].toFixed(2)}–${x.vsPlainRounds[1].toFixed(2)})`);
    return [
      s.label,
      fmtInt(ka.rps),
      `${fmtRatio(ka.vsPlain)}${range(ka)}`,
      fmtMs(ka.p99Ms),
      fmtInt(cl.rps),
      `${fmtRatio(cl.vsPlain)}${range(cl)}`,
      fmtMs(cl.p99Ms),
      String(ka.failed + cl.failed),
    ];
  });
  lines.push(
    `Throughput: median of ${o.rounds} interleaved rounds of \`wrk -t1 -c${o.connections} -d${o.seconds}s --latency\` per server and mode` +
      `${o.restartEvery > 0 && o.restartEvery < o.rounds ? `, every server started afresh every ${o.restartEvery} rounds` : ''}; ` +
      '× = req/s ÷ the hand-written server\'s with shared accept, the runtime\'s default scheduling (ratio of medians; per-round range in brackets).',
    '',
    table(['server', 'keep-alive req/s', '× plain', 'p99', 'Connection: close req/s', '× plain', 'p99', 'failed'], rows),
    '',
  );
  const rr = (key: string, mode: Mode) => summary.find((x) => x.server === key && x.mode === mode)?.rps ?? NaN;
  if (servers.some((s) => s.key === 'shipit-rr') && servers.some((s) => s.key === 'plain-rr')) {
    lines.push(
      `Both with round-robin: shipit ÷ hand-written = ${fmtRatio(rr('shipit-rr', 'keep-alive') / rr('plain-rr', 'keep-alive'))} keep-alive, ` +
        `${fmtRatio(rr('shipit-rr', 'close') / rr('plain-rr', 'close'))} \`Connection: close\` (ratio of medians).`,
      '',
    );
  }
  const us = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '–');
  const cpuRows = servers.map((s) => {
    const cells: string[] = [s.label];
    for (const mode of ['keep-alive', 'close'] as const) {
      const x = summary.find((y) => y.server === s.key && y.mode === mode)!;
      cells.push(us(x.masterUsPerReq), us(x.workersUsPerReq), us(x.masterUsPerReq + x.workersUsPerReq), fmtRatio(x.cpuVsPlain));
    }
    return cells;
  });
  lines.push(
    'CPU per request in the same runs (µs; utime+stime from /proc, median): the primary that accepts and deals connections (PM2: its daemon), the workers; × = total ÷ the hand-written server\'s. Less sensitive to other load on the machine than req/s.',
    '',
    table(['server', 'keep-alive: primary', 'workers', 'total', '× plain', 'close: primary', 'workers', 'total', '× plain'], cpuRows),
    '',
  );
  const pct = (n: number) => (Number.isFinite(n) ? `${Math.round(n * 100)}%` : '–');
  const spreadRows = servers.map((s) => {
    const ka = summary.find((x) => x.server === s.key && x.mode === 'keep-alive')!;
    const cl = summary.find((x) => x.server === s.key && x.mode === 'close')!;
    return [
      s.label,
      ka.busiestConnections.map((n) => (n === undefined ? '–' : String(n))).join(' '),
      ka.lopsidedRounds.join(' / '),
      `${pct(ka.busiestCpuShare)} (${pct(ka.busiestCpuShareMax)})`,
      `${pct(cl.busiestCpuShare)} (${pct(cl.busiestCpuShareMax)})`,
    ];
  });
  if (o.modes.includes('keep-alive')) {
    const at = SPREAD_SAMPLES.map((f) => `${(f * o.seconds).toFixed(1)} s`).join(' / ');
    lines.push(
      `How the connections were spread over the ${o.workers} workers in the same runs: the ${o.connections} keep-alive connections the busiest worker held at mid-run, ` +
        `round by round (the workers' socket fds in /proc against \`ss\`'s established connections); the rounds in which one worker held ≥ ${LOPSIDED * 100}% of them at ${at}; ` +
        `and the busiest worker's share of the workers' CPU time (median, largest in brackets; ${pct(1 / o.workers)} = even).`,
      '',
      table(['server', 'keep-alive: busiest worker\'s connections per round', `one worker ≥ ${LOPSIDED * 100}% (rounds)`, 'busiest CPU share keep-alive', 'close'], spreadRows),
      '',
    );
  }

  for (const mode of (['app', 'pile-up'] as const).filter((m) => o.modes.includes(m))) {
    const appRows = servers.map((s) => {
      const x = summary.find((y) => y.server === s.key && y.mode === mode)!;
      return [
        s.label,
        fmtInt(x.rps),
        s.key === 'plain' ? fmtRatio(x.vsPlain) : `${fmtRatio(x.vsPlain)} (${x.vsPlainRounds[0].toFixed(2)}–${x.vsPlainRounds[1].toFixed(2)})`,
        fmtMs(x.p99Ms),
        x.busiestConnections.map((n) => (n === undefined ? '–' : String(n))).join(' '),
        x.lopsidedRounds.join(' / '),
        `${pct(x.busiestCpuShare)} (${pct(x.busiestCpuShareMax)})`,
        String(x.failed),
      ];
    });
    lines.push(
      mode === 'app'
        ? `An app that computes, behind a balancer's pool: \`wrk -t1 -c${APP_CONNECTIONS}\` keep-alive to GET /work (~0.2 ms of CPU per request, the same loop in every server), in the same rounds; ` +
            `its CPU, not wrk's, limits req/s, so a worker holding all ${APP_CONNECTIONS} connections leaves the other core idle. Columns as above.`
        : `The same, with the pool connecting while a worker is busy: one worker stopped (SIGSTOP) for ${PILE_UP_STOP_MS} ms as wrk connects, as a long request or a GC pause would hold it; ` +
            'under shared accept the other worker takes every connection, and keeps them unless something moves them.',
      '',
      table(['server', 'req/s', '× plain', 'p99', `busiest worker's connections (of ${APP_CONNECTIONS}) per round`, `one worker ≥ ${LOPSIDED * 100}% (rounds)`, 'busiest CPU share', 'failed'], appRows),
      '',
    );
  }

  const reloadRows: string[][] = [];
  for (const s of servers.filter((x) => x.reload !== undefined)) {
    for (const mode of MODES) {
      const rs = reloads.filter((r) => r.server === s.key && r.mode === mode);
      if (rs.length === 0) continue;
      const failed = rs.reduce((n, r) => n + r.failed, 0);
      const requests = rs.reduce((n, r) => n + r.requests, 0);
      const kinds = (['connect', 'read', 'write', 'timeout', 'non2xx'] as const)
        .map((k) => [k, rs.reduce((n, r) => n + r.errors[k], 0)] as const)
        .filter(([, n]) => n > 0)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ');
      reloadRows.push([
        s.label,
        mode,
        `${rs.length}`,
        `${fmtInt(failed)} of ${fmtInt(requests)}${kinds ? ` (${kinds})` : ''}`,
        rs.map((r) => `${(r.reloadMs / 1000).toFixed(2)} s${r.covered ? '' : ' (!)'}`).join(', '),
      ]);
    }
  }
  if (reloadRows.length > 0) {
    lines.push(
      `Reload under load: \`wrk -c${o.connections} -d${RELOAD_LOAD_S}s\`, the reload asked for at +${RELOAD_AT_MS / 1000} s (shipit: kill -HUP master; PM2: pm2 reload). ` +
        'Failed = socket errors + non-2xx as wrk counts them. The hand-written server has no reload.',
      '',
      table(['server', 'connections', 'reloads', 'failed requests', 'reload took'], reloadRows),
      '',
    );
  }

  const killRows: string[][] = [];
  for (const s of servers) {
    const ks = kills.filter((k) => k.server === s.key);
    if (ks.length === 0) continue;
    const done = ks.map((k) => k.replacedMs).filter((x): x is number => x !== undefined);
    const boot = ks.flatMap((k) => k.toolBootMs);
    killRows.push([
      s.label,
      `${ks.length}`,
      done.length === 0 ? `never (not within ${KILL_LIMIT_MS / 1000} s: no respawn)` : `${fmtMs(median(done))} (${done.map((d) => Math.round(d)).join(', ')})${done.length < ks.length ? `, ${ks.length - done.length} never` : ''}`,
      boot.length > 0 ? `${fmtMs(median(boot))}` : '',
      `${ks.reduce((n, k) => n + k.failedPolls, 0)} of ${ks.reduce((n, k) => n + k.polls, 0)}`,
    ]);
  }
  if (killRows.length > 0) {
    lines.push(
      'Replacing a killed worker: kill -9 one worker, then GET /pid on a fresh connection every 5 ms (overlapping) until a new pid answers (full worker count again); one kill per worker slot per pass. Unanswered polls: connections node:cluster handed to the dead worker (timed out after 2 s).',
      '',
      table(['server', 'kills', 'kill -9 → new worker answers: median (each)', "tool's own boot_ms", 'polls unanswered meanwhile'], killRows),
      '',
    );
  }
  return lines.join('\n');
}

/** Issue 5's targets. (Replacing a killed worker has none: its table is the figure.) */
function targets(summary: Summary[], reloads: ReloadRun[]): { target: string; measured: string; met: boolean }[] {
  const get = (server: string, mode: Mode) => summary.find((s) => s.server === server && s.mode === mode && Number.isFinite(s.rps));
  const out: { target: string; measured: string; met: boolean }[] = [];
  for (const mode of MODES) {
    const s = get('shipit', mode);
    const p = get('pm2', mode);
    if (s === undefined) continue;
    out.push({
      target: `req/s ≥ 0.98× the hand-written server (${MODE_LABEL[mode]})`,
      measured: `${s.vsPlain.toFixed(3)}× (CPU per request ${s.cpuVsPlain.toFixed(3)}×)`,
      met: s.vsPlain >= 0.98,
    });
    if (p === undefined) continue;
    out.push({ target: `req/s ≥ PM2 (${MODE_LABEL[mode]})`, measured: `${s.vsPm2.toFixed(3)}× PM2 (p99 ${fmtMs(s.p99Ms)} vs ${fmtMs(p.p99Ms)})`, met: s.vsPm2 >= 1 });
  }
  const shipitReloads = reloads.filter((r) => r.server === 'shipit');
  if (shipitReloads.length === 0) return out;
  const failed = shipitReloads.reduce((n, r) => n + r.failed, 0);
  out.push({
    target: '0 failed requests during a reload',
    measured: `${failed} of ${shipitReloads.reduce((n, r) => n + r.requests, 0).toLocaleString('en-US')} in ${shipitReloads.length} reloads`,
    met: failed === 0 && shipitReloads.length > 0 && shipitReloads.every((r) => r.covered),
  });
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// main

async function revision(): Promise<string> {
  const head = await execFileP('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).then((r) => r.stdout.trim(), () => '?');
  const dirty = await execFileP('git', ['status', '--porcelain', '--', 'src/runtime'], { cwd: ROOT }).then((r) => r.stdout.trim() !== '', () => false);
  return `${head}${dirty ? ' + uncommitted src/runtime changes' : ''}`;
}

export async function main(argv: string[]): Promise<void> {
  const o = parseArgs(argv);
  mkdirSync(WORK, { recursive: true });
  const wrkVersion = await ensureWrk();
  const startedAt = new Date();
  const load: { before: (number | null)[]; after?: (number | null)[] } = { before: loadavg().map((n) => round(n, 1)) };
  log(o.entry ? `runtime: ${o.entry}` : 'compiling src/runtime (tsc, as shipped)');
  // --diagnose's pieces come from tsc's modules of src/runtime, also when --entry names a bundle to measure.
  const compiled = o.entry === undefined || o.diagnose ? await compileRuntime() : undefined;
  const entry = o.entry ?? compiled!;
  const { pm2, version: pm2Version } = await loadPm2();

  const W = o.workers;
  // The reference is the hand-written server with the scheduling the runtime uses by default (workers accept on
  // the shared socket, config.ts resolveScheduling), so that × prices the runtime and not the scheduling policy;
  // the same script with Node's default (round-robin) shows what the policy alone is worth. Only the environment
  // differs: plain-cluster.mjs stays the minimal server anyone would write.
  const SHARED = { NODE_CLUSTER_SCHED_POLICY: 'none' };
  let servers: Server[] = [
    shipitServer('shipit', 'shipit runtime', 18301, entry, W, {}, true),
    // Recycling on (it is off by default): what closing connections after 1000 requests, which the hand-written
    // server does not do, changes in the keep-alive figures.
    shipitServer('shipit-recycle', 'shipit, SHIPIT_KEEPALIVE_REQUESTS=1000 (recycling)', 18310, entry, W, { SHIPIT_KEEPALIVE_REQUESTS: '1000' }, false),
    plainServer('plain', 'hand-written node:cluster (shared accept)', 18302, 'plain-cluster.mjs', W, SHARED, true),
    pm2Server(pm2, pm2Version, 18303, W),
    plainServer('plain-rr', "hand-written, Node's default round-robin", 18304, 'plain-cluster.mjs', W, {}, false),
  ];
  if (o.diagnose) {
    servers.push(
      shipitServer('shipit-rr', 'shipit, SHIPIT_SCHEDULING=round-robin', 18305, entry, W, { SHIPIT_SCHEDULING: 'round-robin' }, false),
      shipitServer('shipit-no-heartbeat', 'shipit, SHIPIT_TIMEOUT=0 (no heartbeat)', 18306, entry, W, { SHIPIT_TIMEOUT: '0' }, false),
      shipitServer('shipit-no-balance', 'shipit, SHIPIT_BALANCE=0 (no balancing)', 18311, entry, W, { SHIPIT_BALANCE: '0' }, false),
      shipitServer('shipit-balance-always', 'shipit, SHIPIT_BALANCE=always (also with no CPU idle)', 18312, entry, W, { SHIPIT_BALANCE: 'always' }, false),
      shipitServer('shipit-access-log', 'shipit, SHIPIT_ACCESS_LOG=1 (to a file)', 18307, entry, W, { SHIPIT_ACCESS_LOG: '1' }, false),
      plainServer('plain-buildserver', "hand-written + shipit's buildServer", 18308, 'plain-shipit-server.mjs', W, { ...SHARED, SHIPIT_RUNTIME_DIR: RUNTIME_MODULES, SHIPIT_PIECE: 'buildServer' }, false),
      plainServer('plain-tracker', "hand-written + shipit's ConnectionTracker", 18309, 'plain-shipit-server.mjs', W, { ...SHARED, SHIPIT_RUNTIME_DIR: RUNTIME_MODULES, SHIPIT_PIECE: 'tracker' }, false),
    );
  }
  if (o.only !== undefined) servers = servers.filter((s) => s.key === 'plain' || o.only!.includes(s.key));

  const machine = {
    cpu: `${cpus().length} × ${cpus()[0]?.model ?? '?'}`,
    memory: `${Math.round(totalmem() / 2 ** 30)} GiB`,
    kernel: (await execFileP('uname', ['-r'])).stdout.trim(),
    os: /PRETTY_NAME="(.*)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? '?',
    node: process.version,
    wrk: wrkVersion,
    pm2: pm2Version,
  };
  const shipit = await revision();
  const results: Record<string, unknown> = { startedAt: startedAt.toISOString(), shipit, machine, options: o, load };
  const save = () => {
    mkdirSync(RESULTS, { recursive: true });
    writeFileSync(join(RESULTS, 'runtime.json'), `${JSON.stringify(results, null, 2)}\n`);
  };

  const stopAll = async () => {
    for (const s of servers) await s.stop().catch(() => undefined);
    for (const s of servers) await s.shutdown?.().catch(() => undefined);
  };
  const onSignal = () => void stopAll().then(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    for (const s of servers) {
      log(`starting ${s.label} on 127.0.0.1:${s.port}`);
      await s.start();
    }
    const runs = await throughput(servers, o);
    results.throughput = runs;
    const summary = summarize(servers, runs);
    results.summary = summary.map((s) => ({
      ...s,
      rps: round(s.rps),
      p99Ms: round(s.p99Ms, 2),
      p50Ms: round(s.p50Ms, 2),
      vsPlain: round(s.vsPlain, 3),
      vsPm2: round(s.vsPm2, 3),
      masterUsPerReq: round(s.masterUsPerReq, 2),
      workersUsPerReq: round(s.workersUsPerReq, 2),
      cpuVsPlain: round(s.cpuVsPlain, 3),
      busiestCpuShare: round(s.busiestCpuShare, 3),
      busiestCpuShareMax: round(s.busiestCpuShareMax, 3),
    }));
    save();

    const main = servers.filter((s) => s.main);
    const reloads = await reloadTest(main, o);
    results.reload = reloads;
    save();
    const kills = await killTest(main, o);
    results.kill = kills;
    load.after = loadavg().map((n) => round(n, 1));

    const header =
      `Machine: ${machine.cpu}, ${machine.memory}, ${machine.os}, kernel ${machine.kernel}; Node ${machine.node}, ${machine.wrk}, PM2 ${machine.pm2}; ` +
      `shipit ${shipit}; ${W} workers each, all servers up side by side on 127.0.0.1; load average ${load.before[0]} before, ${load.after?.[0]} after.`;
    const text = report(servers, o, summary, reloads, kills, header);
    const t = targets(summary, reloads);
    results.targets = t;
    const targetText = table(['target', 'measured', ''], t.map((x) => [x.target, x.measured, x.met ? 'met' : 'MISSED']));
    process.stdout.write(`\n${text}\n${targetText}\n\nresults: bench/results/runtime.json\n`);
  } finally {
    await stopAll();
    save();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  // Everything is printed and saved. PM2 7.0.4's client leaves a ref'd timer behind even after killDaemon and
  // disconnect (process.getActiveResourcesInfo() shows a Timeout), which kept \`npm run bench -- runtime\` alive
  // forever (bench/run.ts returns rather than exits) and with it the flock on /tmp/shipit-bench.lock. Unref'd: a
  // process with nothing else left exits at once as before.
  setTimeout(() => process.exit(0), 2000).unref();
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`bench runtime: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
