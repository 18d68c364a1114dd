import type { RolloutEvent } from '../../rollout/events.js';
import { describeEvent, describeUntouched } from './describe.js';

export interface Renderer {
  /**
   * Whether a person reads each event as text here (plain lines, the listr2 tree): a failure a host's line
   * already gave is then not printed again by the final error (STYLE.md, habit 4). Not in JSON mode, where the
   * error on stderr is the only text.
   */
  readonly showsEvents: boolean;
  emit(event: RolloutEvent): void;
  /** A line that is not an event (summary, hints). Goes to stderr in JSON mode so stdout stays pure JSON. */
  info(line: string): void;
  /** Waits until everything is drawn. */
  close(): Promise<void>;
}

export type RenderMode = 'tty' | 'plain' | 'json';

/** TTY and not CI → listr2 tree; otherwise plain timestamped lines; --json → one JSON object per line. */
export function pickRenderMode(options: { json?: boolean }, stream: { isTTY?: boolean } = process.stdout, env = process.env): RenderMode {
  if (options.json) return 'json';
  if (!stream.isTTY || env.CI === 'true' || env.CI === '1' || env.TERM === 'dumb') return 'plain';
  return 'tty';
}

const hostOf = (event: RolloutEvent): string | null => ('host' in event ? event.host : null);

/** `2026-11-25T13:01:02.345Z web1  ready on … (6.2 s)`: greppable, non-animated, one line per event. */
export class PlainRenderer implements Renderer {
  readonly showsEvents = true;

  constructor(
    private readonly write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Hosts with an event since the rollout phase started: the others were never touched by it. */
  private moved = new Set<string>();

  emit(event: RolloutEvent): void {
    if (event.type === 'phase.started' && event.phase === 'rollout') this.moved.clear();
    const host = hostOf(event);
    if (host !== null) this.moved.add(host);
    // A failed run's hosts that its rollout never reached get a line of their own, saying where they are:
    // without one, a reader of the log cannot tell them from hosts whose lines went by.
    if (event.type === 'rollout.finished') {
      for (const name of Object.keys(event.hosts).filter((h) => !this.moved.has(h))) this.line(name, describeUntouched(name, event));
    }
    // The rollout's end is said by rollout.finished, with how it ended; its phase line would repeat the time.
    if (event.type === 'phase.finished' && event.phase === 'rollout') return;
    this.line(host, describeEvent(event));
  }

  private line(host: string | null, text: string): void {
    this.write(`${this.now().toISOString()} ${host ? `${host.padEnd(10)} ` : ''}${text}`);
  }

  info(line: string): void {
    this.write(line);
  }

  async close(): Promise<void> {}
}

/** One JSON object per line on stdout, each with `ts`; nothing else goes to stdout in this mode. */
export class JsonRenderer implements Renderer {
  readonly showsEvents = false;

  constructor(
    private readonly write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
    private readonly writeInfo: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
    private readonly now: () => Date = () => new Date(),
  ) {}

  emit(event: RolloutEvent): void {
    this.write(JSON.stringify({ ts: this.now().toISOString(), ...event }));
  }

  info(line: string): void {
    this.writeInfo(line);
  }

  async close(): Promise<void> {}
}
