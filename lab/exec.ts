// The lab's only way to run a program: argv arrays, never a shell line, so nothing needs quoting.
import { execa } from 'execa';

export class LabError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'LabError';
  }
}

export interface RunResult {
  ok: boolean;
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string;
  timeoutMs?: number;
  env?: Record<string, string>;
  /** Stream the child's output to ours (long steps such as debootstrap). */
  inherit?: boolean;
}

/** Runs argv and returns its outcome; never rejects for a non-zero exit or a missing binary. */
export async function tryRun(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const [file, ...args] = argv;
  if (!file) throw new LabError('tryRun: empty argv');
  const result = await execa(file, args, {
    reject: false,
    input: options.input,
    timeout: options.timeoutMs,
    env: options.env,
    stdin: options.input === undefined ? 'ignore' : undefined,
    stdout: options.inherit ? 'inherit' : 'pipe',
    stderr: options.inherit ? 'inherit' : 'pipe',
  });
  return {
    ok: result.exitCode === 0,
    exitCode: result.exitCode ?? -1,
    stdout: typeof result.stdout === 'string' ? result.stdout : '',
    stderr: typeof result.stderr === 'string' ? result.stderr : (result.originalMessage ?? ''),
  };
}

/** Runs argv; a non-zero exit is a LabError naming the command and its stderr. Returns trimmed stdout. */
export async function run(argv: readonly string[], options: RunOptions = {}): Promise<string> {
  const result = await tryRun(argv, options);
  if (!result.ok) {
    const detail = result.stderr.trim() || result.stdout.trim();
    throw new LabError(`\`${argv.join(' ')}\` exited ${result.exitCode}${detail ? `: ${detail}` : ''}`);
  }
  return result.stdout.trim();
}

export function log(message: string): void {
  process.stderr.write(`lab: ${message}\n`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function seconds(startedAt: bigint): string {
  return `${(Number(process.hrtime.bigint() - startedAt) / 1e9).toFixed(1)} s`;
}
