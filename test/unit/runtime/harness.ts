/**
 * Test harness for the runtime as a real process tree: starts `node main` (the TS source through tsx's loader,
 * or the built dist/runtime/main.js, what ships, when RUNTIME_ENTRY points at it), parses its JSON log lines, and sends HTTP requests and
 * bounded load on loopback. Every wait has a deadline; `stop()` kills what is left.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const fixtureApp = path.join(repo, 'test/unit/runtime/fixtures/app.mjs');
const tsxLoader = path.join(repo, 'node_modules/tsx/dist/loader.mjs');

/**
 * argv that starts the runtime: the TS source through tsx's loader, or, when RUNTIME_ENTRY is set (e.g.
 * dist/runtime/main.js), the built JS, run by RUNTIME_NODE if set (e.g. the hosts' Node 18).
 */
export function runtimeCommand(): string[] {
  const entry = process.env.RUNTIME_ENTRY;
  if (entry !== undefined && entry !== '') return [process.env.RUNTIME_NODE ?? process.execPath, path.resolve(repo, entry)];
  return [process.execPath, '--import', tsxLoader, path.join(repo, 'src/runtime/main.ts')];
}

export type LogLine = Record<string, unknown> & { msg?: string; level?: string; pid?: number };

export interface RuntimeProcess {
  child: ChildProcess;
  lines: LogLine[];
  stderr: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first line matching, looking only at lines from index `from` on. */
  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs: number, what?: string, from?: number): Promise<LogLine>;
  count(predicate: (line: LogLine) => boolean): number;
  /** The port the workers listen on, from the first "worker serving" line. */
  port(): Promise<number>;
  signal(signal: NodeJS.Signals): void;
  stop(): Promise<void>;
}

export interface StartOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Replace the command (e.g. the socket holder wrapping the runtime). */
  command?: string[];
  /** argv[0] as the process sees it (spawn's argv0), e.g. `node` as systemd's ExecStart runs it from PATH. */
  argv0?: string;
}

export function startRuntime(options: StartOptions = {}): RuntimeProcess {
  const [bin, ...args] = options.command ?? runtimeCommand();
  const child = spawn(bin!, args, {
    ...(options.argv0 === undefined ? {} : { argv0: options.argv0 }),
    cwd: options.cwd ?? repo,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      SHIPIT_APP: fixtureApp,
      WORKERS: '2',
      PORT: '0',
      HOST: '127.0.0.1',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: LogLine[] = [];
  const stderr: string[] = [];
  const waiters = new Set<() => void>();
  createInterface({ input: child.stdout! }).on('line', (raw) => {
    let line: LogLine;
    try {
      line = JSON.parse(raw) as LogLine;
    } catch {
      line = { raw };
    }
    lines.push(line);
    for (const wake of [...waiters]) wake();
  });
  createInterface({ input: child.stderr! }).on('line', (raw) => void stderr.push(raw));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      resolve({ code, signal });
      for (const wake of [...waiters]) wake();
    }),
  );

  const waitForLog = (predicate: (line: LogLine) => boolean, timeoutMs: number, what = 'log line', from = 0): Promise<LogLine> =>
    new Promise((resolve, reject) => {
      let seen = from;
      const check = (): void => {
        for (; seen < lines.length; seen += 1) {
          if (predicate(lines[seen]!)) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve(lines[seen]!);
            return;
          }
        }
        if (child.exitCode !== null || child.signalCode !== null) {
          clearTimeout(timer);
          waiters.delete(check);
          reject(new Error(`runtime exited (${child.exitCode ?? child.signalCode}) before ${what}; log:\n${tail(lines, stderr)}`));
        }
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no ${what} within ${timeoutMs} ms; log:\n${tail(lines, stderr)}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });

  return {
    child,
    lines,
    stderr,
    exited,
    waitForLog,
    count: (predicate) => lines.filter(predicate).length,
    port: async () => {
      const line = await waitForLog((l) => l.msg === 'worker serving', 15_000, '"worker serving"');
      return Number(String(line.address).split(':').at(-1));
    },
    signal: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

function tail(lines: LogLine[], stderr: string[]): string {
  return [...lines.slice(-25).map((l) => JSON.stringify(l)), ...stderr.slice(-10)].join('\n');
}

export interface Reply {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

export function get(port: number, urlPath: string, options: { agent?: http.Agent | false; timeoutMs?: number } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, agent: options.agent ?? false, timeout: options.timeoutMs ?? 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
  });
}

export interface LoadResult {
  ok: number;
  failed: number;
  errors: string[];
  pids: Set<number>;
  /** Answers per worker pid; a test may clear it to count from a later moment on. */
  byPid: Map<number, number>;
  elapsedMs: number;
}

export interface Load {
  stop(): Promise<LoadResult>;
  /** Live counters while running. */
  readonly result: LoadResult;
}

/**
 * Closed-loop load: `concurrency` loops, each sending its next request when the previous one answered. With
 * `keepAlive` each loop reuses one connection; without, each request opens a fresh one. Stops on stop() or after
 * `maxMs` (a bound, so a broken runtime cannot hang the test).
 */
export function startLoad(
  port: number,
  options: { concurrency: number; keepAlive: boolean; path?: string; maxMs?: number; requestTimeoutMs?: number },
): Load {
  const result: LoadResult = { ok: 0, failed: 0, errors: [], pids: new Set(), byPid: new Map(), elapsedMs: 0 };
  const started = Date.now();
  const deadline = started + (options.maxMs ?? 30_000);
  let stopping = false;
  const agents: http.Agent[] = [];
  const loops = Array.from({ length: options.concurrency }, async () => {
    const agent = options.keepAlive ? new http.Agent({ keepAlive: true, maxSockets: 1 }) : false;
    if (agent) agents.push(agent);
    while (!stopping && Date.now() < deadline) {
      try {
        const reply = await get(port, options.path ?? '/', { agent, timeoutMs: options.requestTimeoutMs ?? 10_000 });
        if (reply.status === 200) {
          result.ok += 1;
          const { pid } = JSON.parse(reply.body) as { pid: number };
          result.pids.add(pid);
          result.byPid.set(pid, (result.byPid.get(pid) ?? 0) + 1);
        } else {
          result.failed += 1;
          result.errors.push(`HTTP ${reply.status}`);
        }
      } catch (error) {
        result.failed += 1;
        result.errors.push((error as NodeJS.ErrnoException).code ?? (error as Error).message);
      }
    }
  });
  return {
    result,
    stop: async () => {
      stopping = true;
      await Promise.all(loops);
      for (const agent of agents) agent.destroy();
      result.elapsedMs = Date.now() - started;
      return result;
    },
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
