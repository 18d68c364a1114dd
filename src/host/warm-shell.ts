import { PassThrough, pipeline } from 'node:stream';
import { WARM_SHELL, privileged, warmShellInput } from '../remote/scripts.js';
import type { ExecOptions, ExecResult, HeldStart, Transport } from '../ssh/transport.js';

/**
 * How long a warm shell may wait for its step plus run it: the host's own deadline for it (a step whose
 * timeout would end later runs in a command of its own).
 */
export const WARM_SHELL_DEADLINE_MS = 30 * 60_000;

/**
 * A root shell started on a host before its next step is known (scripts.WARM_SHELL), run once. Opening an SSH
 * session, sudo and a shell cost ~55 ms on an idle lab host and 100+ ms on a busy one; a deploy's rollout used
 * to pay that on its critical path for every host's activation, and once more in the finish.
 */
export class WarmShell {
  private readonly input = new PassThrough();
  private begin!: (start: HeldStart | null) => void;
  private readonly result: Promise<ExecResult>;
  private readonly startedAt = performance.now();
  /** Used, closed, or ended by itself (the connection went away, sudo refused). */
  private done = false;

  constructor(transport: Transport, sshUser: string) {
    const start = new Promise<HeldStart | null>((resolve) => (this.begin = resolve));
    this.result = transport.exec(privileged(WARM_SHELL, sshUser), { stdin: this.input, held: { start, hostDeadlineMs: WARM_SHELL_DEADLINE_MS } });
    const ended = () => {
      this.done = true;
    };
    this.result.then(ended, ended);
  }

  /** Whether a step bound by `timeoutMs` can run here: still waiting, and done before the host's deadline. */
  fits(timeoutMs: number): boolean {
    return !this.done && performance.now() - this.startedAt + timeoutMs < WARM_SHELL_DEADLINE_MS;
  }

  /** Runs `body` (as `sh -c` would) with `stdin`; settles like Transport.exec. Once. */
  run(body: string, stdin: ExecOptions['stdin'], start: HeldStart): Promise<ExecResult> {
    this.done = true;
    this.input.write(warmShellInput(body));
    if (stdin === undefined) this.input.end();
    else if (typeof stdin === 'string' || Buffer.isBuffer(stdin)) this.input.end(stdin);
    else {
      // As for a command of its own: a broken source (a tar that failed) fails the step, and a step that ends or
      // is stopped before reading it all stops the source (a tar producer would otherwise wait forever).
      pipeline(stdin, this.input, () => {});
    }
    this.begin(start);
    return this.result;
  }

  /**
   * Unused: the shell reads the end of its stdin and exits (scripts.WARM_SHELL_UNUSED). Resolves with its exit
   * code when it has (null: it was used, or failed); callers need not wait.
   */
  close(): Promise<number | null> {
    if (this.done) return Promise.resolve(null);
    this.done = true;
    this.begin(null);
    this.input.end();
    return this.result.then(
      (r) => r.code,
      () => null,
    );
  }
}
