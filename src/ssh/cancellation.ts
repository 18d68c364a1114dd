/**
 * One operation's reasons to stop early, merged: its own timeout, the caller's AbortSignal, or a failure
 * noticed along the way (e.g. the stdin stream broke). The first reason wins and is what the caller sees.
 */
export class Cancellation {
  reason: Error | null = null;
  private readonly controller = new AbortController();
  private readonly listeners: Array<(reason: Error) => void> = [];
  private timer: NodeJS.Timeout | undefined;
  private signal: AbortSignal | undefined;
  private onAbort: (() => void) | undefined;
  private disposed = false;

  constructor(
    timeoutMs: number | undefined,
    signal: AbortSignal | undefined,
    onTimeout: () => Error,
    onAborted: () => Error,
  ) {
    this.arm(timeoutMs, signal, onTimeout, onAborted);
  }

  /**
   * Starts the timeout and listens to the signal: at construction, or later for an operation that waits before
   * its work begins (a held command). Once per instance with a timeout or a signal.
   */
  arm(timeoutMs: number | undefined, signal: AbortSignal | undefined, onTimeout: () => Error, onAborted: () => Error): void {
    // Settled already (a held command that ended before it was started): a timer now would only keep the
    // process alive.
    if (this.reason || this.disposed) return;
    if (signal?.aborted) {
      this.fail(onAborted());
      return;
    }
    if (timeoutMs !== undefined && timeoutMs > 0) this.timer = setTimeout(() => this.fail(onTimeout()), timeoutMs);
    if (signal) {
      this.signal = signal;
      this.onAbort = () => this.fail(onAborted());
      signal.addEventListener('abort', this.onAbort, { once: true });
    }
  }

  /** Aborted as soon as there is a reason: pass it to anything that waits (queues, opens). */
  get abortSignal(): AbortSignal {
    return this.controller.signal;
  }

  fail(reason: Error): void {
    if (this.reason) return;
    this.reason = reason;
    this.dispose();
    this.controller.abort(reason);
    for (const listener of this.listeners.splice(0)) listener(reason);
  }

  /** Calls `listener` once with the reason; right away if there already is one. */
  onCancel(listener: (reason: Error) => void): void {
    if (this.reason) listener(this.reason);
    else this.listeners.push(listener);
  }

  /** Stops the timer and the signal listener; call when the operation settles. */
  dispose(): void {
    this.disposed = true;
    clearTimeout(this.timer);
    if (this.onAbort) this.signal?.removeEventListener('abort', this.onAbort);
  }
}
