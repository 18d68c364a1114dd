import { spawn } from 'node:child_process';
import type { BuildConfig } from '../config/types.js';
import { ShipitError } from '../lib/errors.js';
import { createOutputTail } from './output-tail.js';

/** Lines of the build's output (stdout and stderr, each by whole lines, in the order they ended) that a failure shows. */
const TAIL_LINES = 15;
/** A line a failure shows is cut to this many characters (after redaction): a minified bundle must not fill the screen. */
const TAIL_LINE_CHARS = 1024;
/**
 * A line longer than this (a progress bar redrawn with \r) is echoed in pieces: redacted, then all but its last
 * OVERLAP characters, which hold the start of any secret the output has not finished yet. The tail keeps the start
 * of its first piece.
 */
const LINE_BYTES = 64 * 1024;
const OVERLAP = 4 * 1024;

export interface BuildOutputOptions {
  /** --verbose: each line of the build's output as it comes (stdout and stderr), redacted. */
  echo?: (line: string) => void;
  /** Applied to what is echoed and to the output a failure quotes: a build may print the secrets it has in its environment. */
  redact?: (text: string) => string;
}

/**
 * Runs the configured build command locally, in the config file's directory, through the shell. node:child_process
 * rather than execa: this runs on every deploy, and execa costs ~16 MB of memory to load. stdin is /dev/null, so
 * a command that asks a question fails instead of hanging.
 */
export async function runBuild(build: Pick<BuildConfig, 'command' | 'dir'>, cwd: string, options: { signal?: AbortSignal } & BuildOutputOptions = {}): Promise<void> {
  if (!build.command) return;
  // Ctrl-C or SIGTERM (a cancelled CI job) while the build runs: the build's whole process group is stopped,
  // not left running into build.dir behind us, and the deploy ends as interrupted (130): no host was touched.
  const interrupt = new AbortController();
  const onSignal = (name: NodeJS.Signals) => interrupt.abort(name);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const redact = options.redact ?? ((text: string) => text);
  let result: ShellResult;
  try {
    result = await runShell(build.command, cwd, { ...options, redact, signal: options.signal ? AbortSignal.any([options.signal, interrupt.signal]) : interrupt.signal });
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
    const lines = tail.join('\n');
    throw new ShipitError('BUILD_FAILED', redact(`build command \`${build.command}\` failed (${how})${lines ? `:\n${lines}` : ''}`), {
      hint: 'run the build command yourself in the config directory to see the whole output',
    });
  }
}

interface ShellResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last lines of stdout and stderr, redacted (createOutputTail). */
  tail: string[];
  canceled: boolean;
}

function runShell(command: string, cwd: string, options: { signal?: AbortSignal; echo?: (line: string) => void; redact: (text: string) => string }): Promise<ShellResult> {
  return new Promise((resolve) => {
    const tail = createOutputTail({ lines: TAIL_LINES, lineChars: TAIL_LINE_CHARS, redact: options.redact });
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
    // Echoed and kept for the tail by whole lines, one stream's at a time, so that the caller's redaction sees every
    // secret whole: written in two pieces, with a line of the other stream between them, it is still one line here.
    const { echo, redact } = options;
    const collect = () => {
      let pending = '';
      // The line being read outgrew LINE_BYTES: its start is in the tail already, the rest is only echoed.
      let long = false;
      const endLine = (line: string) => {
        if (!long) tail.add(line);
        echo?.(redact(line));
        long = false;
      };
      const flush = () => {
        if (pending !== '') endLine(pending);
        pending = '';
      };
      const onData = (text: string) => {
        pending += text;
        let newline: number;
        while ((newline = pending.indexOf('\n')) !== -1) {
          endLine(pending.slice(0, newline));
          pending = pending.slice(newline + 1);
        }
        if (pending.length > LINE_BYTES) {
          pending = redact(pending);
          const piece = pending.slice(0, -OVERLAP);
          echo?.(piece);
          if (!long) tail.addStart(piece);
          long = true;
          pending = pending.slice(-OVERLAP);
        }
      };
      return { onData, flush };
    };
    const out = collect();
    const err = collect();
    child.stdout.setEncoding('utf8').on('data', out.onData);
    child.stderr.setEncoding('utf8').on('data', err.onData);
    const done = (result: Omit<ShellResult, 'tail' | 'canceled'>, lastLine?: string) => {
      options.signal?.removeEventListener('abort', onAbort);
      out.flush();
      err.flush();
      if (lastLine !== undefined) tail.add(lastLine);
      resolve({ ...result, tail: tail.quote(), canceled });
    };
    // No shell (ENOENT for the shell itself, e.g. a cwd that vanished): reported like a failing command.
    child.on('error', (error) => done({ code: -1, signal: null }, error.message));
    child.on('close', (code, signal) => done({ code, signal }));
  });
}
