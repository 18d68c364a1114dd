/**
 * The shell scripts behind ExecStart=. Every script ends in `exec`, so the server replaces /bin/sh: it keeps the
 * main PID, which systemd wrote into LISTEN_PID (sd_listen_fds(3) only hands over the socket when they match)
 * and which Type=notify/NotifyAccess=main accept READY=1 from.
 */
import type { ResolvedConfig, WorkersSetting } from '../config/types.js';
import { parseWorkers } from '../config/workers.js';
import { ShipitError } from '../lib/errors.js';
import { GUNICORN_CONF, NODE_RUNTIME_MAIN } from '../build/preset-files.js';
import { VENV_DIR } from '../build/python-deps.js';
import { shWord } from './escape.js';

/** The socket's accept queue; gunicorn re-applies its --backlog to the inherited socket, so both get this. */
export const BACKLOG = 4096;

/**
 * The CPUs this service may use at start: nproc follows CPUAffinity= and cgroup cpusets, but also OMP_NUM_THREADS
 * and OMP_THREAD_LIMIT, which numerical apps often set to 1 in their environment; those are cleared for it.
 */
const NPROC = '$(OMP_NUM_THREADS= OMP_THREAD_LIMIT= nproc)';

export interface WorkersShell {
  /** Statements run before the server, joined with '; '. */
  prelude: string[];
  /** A double-quoted shell word: WORKERS from the environment, else the configured count. */
  value: string;
  /** One line for the unit, saying how the count is chosen. */
  comment: string;
}

export function workersShell(setting: WorkersSetting): WorkersShell {
  const plan = parseWorkers(setting);
  if (plan === undefined) throw new ShipitError('CONFIG_INVALID', `server.workers: ${JSON.stringify(setting)} is not a worker count`);
  switch (plan.kind) {
    case 'auto':
      return {
        prelude: [],
        value: `"\${WORKERS:-${NPROC}}"`,
        comment: 'Workers: $WORKERS if set (a drop-in on this host: Environment=WORKERS=N), else the number of CPUs this service may use (nproc, at start).',
      };
    case 'fixed':
      return { prelude: [], value: `"\${WORKERS:-${plan.count}}"`, comment: `Workers: $WORKERS if set (a drop-in on this host: Environment=WORKERS=N), else ${plan.count}.` };
    case 'expression':
      return {
        prelude: [`cpu=${NPROC}`, `w=$((${plan.expression.replaceAll('cpu', '$cpu')}))`, '[ "$w" -ge 1 ] || w=1'],
        value: '"${WORKERS:-$w}"',
        comment: `Workers: $WORKERS if set (a drop-in on this host: Environment=WORKERS=N), else ${plan.expression} with cpu = the CPUs this service may use (nproc, at start), at least 1.`,
      };
  }
}

/** Gunicorn takes the socket from LISTEN_FDS (gunicorn/systemd.py listen_fds), so there is no --bind. */
export function gunicornScript(config: ResolvedConfig, workers: WorkersShell): string {
  const { server } = config;
  const args = [
    // With server.python: the release's virtualenv (its set was checked to import gunicorn when it was built).
    config.server.python ? `exec ${VENV_DIR}/bin/python -m gunicorn` : 'exec gunicorn',
    // Shipped in every release by shipit (src/build/preset-files.ts): a uvicorn graceful-shutdown fix, and
    // it still runs the app's own ./gunicorn.conf.py. Relative to WorkingDirectory=current.
    `--config ${GUNICORN_CONF}`,
    `--name ${shWord(config.app)}`,
    `--worker-class ${shWord(server.workerClass)}`,
    `--workers ${workers.value}`,
    `--timeout ${server.timeout}`,
    `--graceful-timeout ${server.gracefulTimeout}`,
    `--keep-alive ${server.keepAlive}`,
    `--forwarded-allow-ips ${shWord(forwardedAllowIps(server.forwardedAllowIps, server.bind).join(','))}`,
    `--backlog ${BACKLOG}`,
    // The heartbeat files live in the RuntimeDirectory: ProtectSystem=strict leaves nothing else writable.
    `--worker-tmp-dir /run/${config.app}`,
    '--access-logfile -',
    '--error-logfile -',
    shWord(server.module),
  ];
  return [...workers.prelude, args.join(' ')].join('; ');
}

/**
 * shipit's clustered Node runtime, shipped in the release (src/build/preset-files.ts); WORKERS exported for it.
 * `--name <app>` puts the app in its process titles (`shipit-runtime: <app> worker 2`), and, being an argument,
 * makes the room for it: Linux keeps a title within the argv it was started with (src/runtime/title.ts).
 */
export function nodeScript(config: ResolvedConfig, workers: WorkersShell): string {
  return [...workers.prelude, `export WORKERS=${workers.value}`, `exec node ${NODE_RUNTIME_MAIN} --name ${shWord(config.app)}`].join('; ');
}

/** The user's command line, verbatim for /bin/sh, with WORKERS exported (PORT comes from Environment=). */
export function commandScript(config: ResolvedConfig, workers: WorkersShell): string {
  const venv = config.server.python ? [`export PATH="$PWD/${VENV_DIR}/bin:$PATH" VIRTUAL_ENV="$PWD/${VENV_DIR}"`] : [];
  return [...workers.prelude, ...venv, `export WORKERS=${workers.value}`, `exec ${config.server.module}`].join('; ');
}

/**
 * On a dual-stack socket IPv4 peers appear as ::ffff:a.b.c.d, which gunicorn and uvicorn compare as text: each
 * trusted IPv4 address is listed in that form too, or a local proxy's X-Forwarded-For would be ignored.
 */
export function forwardedAllowIps(ips: readonly string[], bind: string): string[] {
  if (!bind.includes(':')) return [...ips];
  const mapped = ips.filter((ip) => /^\d+\.\d+\.\d+\.\d+$/.test(ip)).map((ip) => `::ffff:${ip}`);
  return [...new Set([...ips, ...mapped])];
}
