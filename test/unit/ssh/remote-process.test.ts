// The exact command lines shipit sends to sshd: they document what runs on a host.
import { execFileSync } from 'node:child_process';
import { exitCodeOf, killCommand, takePidLine, wrapCommand } from '../../../src/ssh/remote-process.js';

describe('wrapCommand', () => {
  it('prints the process group id, then execs the command under timeout (deadline + 5 s margin)', () => {
    expect(wrapCommand('systemctl restart app', 30_000)).toBe(
      `exec sh -c 'echo $$; exec timeout -k 3 35 sh -c "$1"' shipit 'systemctl restart app'`,
    );
  });

  it('rounds the deadline up to 0.1 s and uses 0 (no deadline) without a timeout', () => {
    expect(wrapCommand('true', 1_234)).toContain('timeout -k 3 6.3 sh');
    expect(wrapCommand('true', undefined)).toContain('timeout -k 3 0 sh');
  });

  it('passes any command through intact, as one argument', () => {
    const command = `printf '%s\\n' "it's" $HOME; echo "$1"`;
    const out = execFileSync('sh', ['-c', wrapCommand(command, 5_000)], { encoding: 'utf8', env: { ...process.env, HOME: '/h' } });
    const [pid, ...rest] = out.split('\n');
    expect(Number(pid)).toBeGreaterThan(1);
    expect(rest.join('\n')).toBe("it's\n/h\n\n");
  });
});

describe('killCommand', () => {
  it('TERMs the group, waits up to 3 s for it to go, then KILLs it, in a syntax dash accepts', () => {
    expect(killCommand(4242)).toBe(
      `exec sh -c 'kill -s TERM -- -4242 2>/dev/null; i=0; while kill -s 0 -- -4242 2>/dev/null && [ $i -lt 30 ]; do sleep 0.1; i=$((i+1)); done; kill -s KILL -- -4242 2>/dev/null; true'`,
    );
    // Against a group that does not exist it is quick and still exits 0.
    execFileSync('dash', ['-c', killCommand(999_999)]);
  });

  it('refuses pids that would signal everything', () => {
    expect(() => killCommand(0)).toThrow();
    expect(() => killCommand(1)).toThrow();
    expect(() => killCommand(-5)).toThrow();
    expect(() => killCommand(Number.NaN)).toThrow();
  });
});

describe('exitCodeOf', () => {
  it('is the exit status, or 128 + the signal number, or null when sshd sent neither', () => {
    expect(exitCodeOf(0, undefined)).toBe(0);
    expect(exitCodeOf(3, undefined)).toBe(3);
    expect(exitCodeOf(null, 'SIGKILL')).toBe(137);
    expect(exitCodeOf(null, 'TERM')).toBe(143);
    expect(exitCodeOf(undefined, undefined)).toBeNull();
  });
});

describe('takePidLine', () => {
  it('waits for a full line, then splits it from the output that follows', () => {
    expect(takePidLine(Buffer.from('123'))).toBeNull();
    const split = takePidLine(Buffer.from('123\nhello\n'))!;
    expect(split.pid).toBe(123);
    expect(split.rest.toString()).toBe('hello\n');
  });

  it('yields pid 0 (nothing to kill) for a line that is not a pid', () => {
    expect(takePidLine(Buffer.from('sh: 1: timeout: not found\n'))!.pid).toBe(0);
    expect(takePidLine(Buffer.from('1\n'))!.pid).toBe(0);
  });
});
