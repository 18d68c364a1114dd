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
export async function runBuild(build: BuildConfig, cwd: string, options: { signal?: AbortSignal; verbose?: boolean } = {}): Promise<void> {
  if (!build.command) return;
  const { code, signal, tail, canceled } = await runShell(build.command, cwd, options);
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
    const child = spawn(command, { cwd, shell: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const onAbort = () => {
      canceled = true;
      child.kill('SIGTERM');
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
