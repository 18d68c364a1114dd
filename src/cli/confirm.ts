import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { pickRenderMode } from './render/renderer.js';

/**
 * Asking before a destructive step, only where a person can answer: stdin and stdout are a terminal, not CI, not
 * --json. Everywhere else the command's own flag (`--yes`) is the only confirmation.
 */
export function canAsk(options: { json?: boolean }, stdin: { isTTY?: boolean } = process.stdin, stdout: { isTTY?: boolean } = process.stdout, env = process.env): boolean {
  return stdin.isTTY === true && pickRenderMode(options, stdout, env) === 'tty';
}

/** Asks `question`; true only when the answer is exactly `expected` (an empty line, anything else or end of input: false). */
export async function askToConfirm(question: string, expected: string, input: Readable = process.stdin, output: Writable = process.stderr): Promise<boolean> {
  const rl = createInterface({ input, output, terminal: false });
  try {
    const answer = await new Promise<string | null>((resolve) => {
      rl.once('close', () => resolve(null));
      rl.question(question, resolve);
    });
    return answer !== null && answer.trim() === expected;
  } finally {
    rl.close();
  }
}
