import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBuild } from '../../../src/build/build.js';
import { REDACTED, createRedactor } from '../../../src/lib/redact.js';
import { ShipitError } from '../../../src/lib/errors.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'shipit-build-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const build = (command: string) => ({ command, dir: join(dir, 'dist') });

async function failure(promise: Promise<void>): Promise<ShipitError> {
  const error = await promise.then(() => null, (e: unknown) => e);
  if (!(error instanceof ShipitError)) throw new Error(`expected a ShipitError, got ${String(error)}`);
  return error;
}

describe('runBuild', () => {
  it('runs the command through the shell in the given directory', async () => {
    await runBuild(build('mkdir -p dist && echo "$PWD" > dist/where'), dir);
    expect(readFileSync(join(dir, 'dist/where'), 'utf8').trim()).toBe(dir);
  });

  it('does nothing without a command', async () => {
    await expect(runBuild({ command: undefined, dir }, dir)).resolves.toBeUndefined();
  });

  it('fails with the exit code and the last 15 lines of stdout and stderr, interleaved', async () => {
    const error = await failure(runBuild(build('for i in $(seq 1 20); do echo "out $i"; done; sleep 0.2; echo "boom" >&2; exit 3'), dir));
    expect(error.code).toBe('BUILD_FAILED');
    const lines = error.message.split('\n');
    expect(lines[0]).toBe('build command `for i in $(seq 1 20); do echo "out $i"; done; sleep 0.2; echo "boom" >&2; exit 3` failed (exit 3):');
    expect(lines.slice(1)).toEqual([...Array.from({ length: 14 }, (_, i) => `out ${i + 7}`), 'boom']);
    expect(error.hint).toMatch(/run the build command yourself/);
  });

  it('redacts the secrets a failing build prints, also in a line too long to keep whole', async () => {
    const secret = 'tok_live_Q7xZ9mK2pL4vB8nR';
    const redact = createRedactor([secret]);
    const printed = await failure(runBuild(build(`set -x; curl -u "ci:${secret}" https://x.invalid 2>/dev/null; exit 2`), dir, { redact }));
    expect(printed.message).toContain(`+ curl -u ci:${REDACTED} https://x.invalid`);
    expect(printed.message).not.toContain('Q7xZ9');
    // A line longer than 64 KiB is not held whole: its start is kept, redacted before it is cut.
    const long = await failure(runBuild(build(`printf '%s' '${secret}'; head -c 65530 /dev/zero | tr '\\0' a; echo; echo done; exit 1`), dir, { redact }));
    expect(long.message).toBe(`build command \`${long.message.split('`')[1]}\` failed (exit 1):\n${REDACTED}${'a'.repeat(1014)} … [line cut]\ndone`);
  });

  it('quotes no part of a secret when the last line is too long to keep and has no newline', async () => {
    // The old tail kept the last 64 KiB and dropped up to its first newline: with none, it started inside the secret.
    const secret = 'tok_live_Q7xZ9mK2pL4vB8nR';
    const error = await failure(runBuild(build(`printf '%s' '${secret}'; head -c 65530 /dev/zero | tr '\\0' a; exit 1`), dir, { redact: createRedactor([secret]) }));
    expect(error.message).not.toMatch(/4vB8nR|B8nR/);
    expect(error.message.split('\n').slice(1)).toEqual([`${REDACTED}${'a'.repeat(1014)} … [line cut]`]);
  });

  it('keeps a line whole when a line of the other stream is written between two pieces of it, so its secret is redacted', async () => {
    const secret = 'tok_live_Q7xZ9mK2pL4vB8nR';
    const script = `printf 'token tok_live_Q7x'; sleep 0.2; printf 'oops\\n' >&2; sleep 0.2; printf 'Z9mK2pL4vB8nR\\n'; exit 1`;
    const error = await failure(runBuild(build(script), dir, { redact: createRedactor([secret]) }));
    expect(error.message.split('\n').slice(1)).toEqual(['oops', `token ${REDACTED}`]);
  });

  it('cuts a long line to 1024 characters once it is redacted, so the cut cannot keep the start of a secret', async () => {
    const secret = 'tok_live_Q7xZ9mK2pL4vB8nR';
    const error = await failure(runBuild(build(`printf '%s%s\\n' "$(head -c 1020 /dev/zero | tr '\\0' a)" '${secret}'; echo last >&2; exit 1`), dir, { redact: createRedactor([secret]) }));
    expect(error.message.split('\n').slice(1)).toEqual([`${'a'.repeat(1020)}${REDACTED.slice(0, 4)} … [line cut]`, 'last']);
  });

  it('--verbose: echoes the output by whole lines, redacted, even when a secret arrives in two writes', async () => {
    const secret = 'p"a$s \'w`o\\rd 9!';
    const lines: string[] = [];
    writeFileSync(join(dir, 'secret.txt'), secret);
    const script = `S=$(cat secret.txt); printf 'token: %s' "\${S%% *}"; sleep 0.2; printf ' %s\\n' "\${S#* }"; printf 'err %s\\n' "$S" >&2; printf 'no newline'`;
    await runBuild(build(script), dir, { redact: createRedactor([secret]), echo: (line) => lines.push(line) });
    expect(lines.sort()).toEqual([`err ${REDACTED}`, 'no newline', `token: ${REDACTED}`]);
  });

  it('gives a command that reads stdin an end of file instead of waiting forever', async () => {
    const error = await failure(runBuild(build('read answer || { echo "no answer"; exit 4; }'), dir));
    expect(error.message).toMatch(/failed \(exit 4\):\nno answer$/);
  });

  it('stops the command when the signal aborts, and says it was interrupted', async () => {
    const abort = new AbortController();
    const started = Date.now();
    const running = runBuild(build('echo started; exec sleep 30'), dir, { signal: abort.signal });
    setTimeout(() => abort.abort(), 200);
    const error = await failure(running);
    expect(error.message).toBe('build command `echo started; exec sleep 30` failed (interrupted):\nstarted');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('on Ctrl-C or SIGTERM stops the whole build (what its shell started too) and ends as interrupted (130)', async () => {
    const pidFile = join(dir, 'child.pid');
    // A build whose shell waits on a child of its own: killing the shell alone would leave the child running.
    const running = runBuild(build(`sleep 30 & echo $! > ${pidFile}; wait`), dir);
    const childPid = async () => {
      for (;;) {
        try {
          const text = readFileSync(pidFile, 'utf8').trim();
          if (text) return Number(text);
        } catch {
          // not yet written
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    const pid = await childPid();
    process.emit('SIGTERM', 'SIGTERM');
    const error = await failure(running);
    expect(error.exitCode).toBe(130);
    expect(error.message).toBe('interrupted by SIGTERM during the build (stopped it): nothing on the hosts was touched');
    const alive = () => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 100 && alive(); i++) await new Promise((r) => setTimeout(r, 20));
    expect(alive()).toBe(false);
    // The handlers are gone once the build ended.
    expect(process.listeners('SIGTERM').length).toBe(0);
  });
});
