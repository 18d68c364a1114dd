import { spawn } from 'node:child_process';
import type { BuildConfig } from '../config/types.js';
import { ShipitError } from '../lib/errors.js';

/** Lines of the build's output (stdout and stderr, interleaved) that a failure shows. */
const TAIL_LINES = 15;
/** Output kept for that tail: a chatty build must not grow the deployer's memory. */
const TAIL_BYTES = 64 * 1024;

/**
 * Runs the configured build command locally, in the config file's directory, through the shell. node:child_process
 * rather than execa: this runs on every deploy, and execa costs ~16 MB of memory to load. stdin is /dev/null, so
 * a command that asks a question fails instead of hanging.
 */
export async function runBuild(build: Pick<BuildConfig, 'command' | 'dir'>, cwd: string, options: { signal?: AbortSignal; verbose?: boolean } = {}): Promise<void> {
  if (!build.command) return;
  // Ctrl-C or SIGTERM (a cancelled CI job) while the build runs: the build's whole process group is stopped,
  // not left running into build.dir behind us, and the deploy ends as interrupted (130): no host was touched.
  const interrupt = new AbortController();
  const onSignal = (name: NodeJS.Signals) => interrupt.abort(name);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let result: ShellResult;
  try {
    result = await runShell(build.command, cwd, { ...options, signal: options.signal ? AbortSignal.any([options.signal, interrupt.signal]) : interrupt.signal });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const { code, signal, tail, canceled } = result;
  if (interrupt.signal.aborted) {
    throw new ShipitError('ABORTED', `interrupted by ${String(interrupt.signal.reason)} during the build (stopped it): nothing on the hosts was touched`);
  }
  if (code !== 0 || canceled) {
    const how = canceled ? 'interrupted' : code === null ? `killed by ${signal}` : `exit ${code}`;
    const lines = tail.trim().split('\n').slice(-TAIL_LINES).join('\n');
    throw new ShipitError('BUILD_FAILED', `build command \`${build.command}\` failed (${how})${lines ? `:\n${lines}` : ''}`, {
      hint: 'run the build command yourself in the config directory to see the whole output',
    });
  }
}

interface ShellResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The end of stdout and stderr as they arrived. */
  tail: string;
  canceled: boolean;
}

function runShell(command: string, cwd: string, options: { signal?: AbortSignal; verbose?: boolean }): Promise<ShellResult> {
  return new Promise((resolve) => {
    let tail = '';
    let canceled = false;
    // Its own process group, so that stopping it reaches what the shell started (`npm run build` → tsc).
    const child = spawn(command, { cwd, shell: true, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const onAbort = () => {
      canceled = true;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGTERM');
      } catch {
        child.kill('SIGTERM');
      }
    };
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
    const collect = (echo: NodeJS.WriteStream) => (text: string) => {
      if (options.verbose) echo.write(text);
      tail = (tail + text).slice(-TAIL_BYTES);
    };
    child.stdout.setEncoding('utf8').on('data', collect(process.stdout));
    child.stderr.setEncoding('utf8').on('data', collect(process.stderr));
    const done = (result: Omit<ShellResult, 'tail' | 'canceled'>) => {
      options.signal?.removeEventListener('abort', onAbort);
      resolve({ ...result, tail, canceled });
    };
    // No shell (ENOENT for the shell itself, e.g. a cwd that vanished): reported like a failing command.
    child.on('error', (error) => {
      tail += `${error.message}\n`;
      done({ code: -1, signal: null });
    });
    child.on('close', (code, signal) => done({ code, signal }));
  });
}
