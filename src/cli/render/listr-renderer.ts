import { Listr, type ListrBaseClassOptions, type ListrRendererValue, type ListrTaskWrapper } from 'listr2';
import type { Phase, RolloutEvent } from '../../rollout/events.js';
import { describeEvent, describeUntouched, type RolloutFinished } from './describe.js';
import type { Renderer } from './renderer.js';

interface HostRow {
  title: string;
  failed: string | null;
  /** An event of this host came in this phase: otherwise the phase never touched it (see skipUntouched). */
  touched: boolean;
  /** What the host's latest event says (the title, without `note`). */
  latest: string;
  /** The app's start warnings (host.app_warnings), kept on the row whatever the host's later events say. */
  note: string;
  /** Set when the phase ended without touching the host: the row then reads skipped, not done. */
  skipped: string | null;
  task: ListrTaskWrapper<unknown, never, never> | null;
  done: Promise<void>;
  finish: () => void;
}

/** Phases whose rows are per host. The others are one line each. */
const PER_HOST: ReadonlySet<Phase> = new Set(['prepare', 'rollout']);

/**
 * The TTY view: one listr2 task per phase, with a sub-task per host for prepare and rollout whose title follows
 * that host's latest event. Events arrive synchronously; listr2 draws asynchronously, so phases are chained.
 */
export class ListrRenderer implements Renderer {
  private chain: Promise<void> = Promise.resolve();
  private rows = new Map<string, HostRow>();
  private endPhase: (() => void) | null = null;
  /** The rollout.finished of the current phase: where the hosts it never reached are left. */
  private finished: RolloutFinished | null = null;
  readonly showsEvents = true;

  /**
   * `safe` redacts the config's secrets from every title and line, as the plain and JSON renderers do: a host's
   * failure quotes the app's last log lines, which may hold one. `listr`: options for listr2 beyond ours (tests
   * give a renderer that writes where they read).
   */
  constructor(
    private readonly hosts: readonly string[],
    private readonly safe: (text: string) => string = (text) => text,
    private readonly listr: Partial<ListrBaseClassOptions<unknown, ListrRendererValue, ListrRendererValue>> = {},
  ) {}

  emit(event: RolloutEvent): void {
    if (event.type === 'phase.started') return this.startPhase(event.phase);
    if (event.type === 'phase.finished') return this.finishPhase();
    if (event.type === 'rollout.finished') this.finished = event;
    // The id the deploy goes out under, when it is not the one printed at its start: a line of its own.
    if (event.type === 'release.renamed') return this.info(describeEvent(event));
    if (!('host' in event)) return;
    const row = this.rows.get(event.host);
    if (!row) return;
    row.touched = true;
    // The app's warnings: a short note on the row they came after ("ready on …"), which stays there while the
    // release does, and the warnings themselves in full as a line of their own once the phase's rows are done (up
    // to 5 × 400 characters: a row that long would wrap over the screen and break listr2's redraw).
    if (event.type === 'host.app_warnings') {
      row.note = ` · the app warned at start (${event.lines.length + event.more}, printed below)`;
      this.info(`${event.host}: ${describeEvent(event)}`);
    } else {
      // Moved again (a revert): the warnings were the release's it leaves.
      if (event.type === 'host.activating') row.note = '';
      row.latest = `${event.host}: ${describeEvent(event)}`;
    }
    row.title = this.safe(`${row.latest}${row.note}`);
    if (event.type === 'host.failed' || event.type === 'host.prepare_failed' || event.type === 'host.revert_failed') row.failed = row.title;
    if (row.task) row.task.title = row.title;
  }

  /**
   * Ends the phase's rows. A row no event reached (the failed run stopped before the host's batch, or a
   * rollback left it on the target already) is skipped, saying where the host is: finished as it was, it read
   * `✔ web2: waiting`, as if that host were done.
   */
  private finishPhase(): void {
    for (const [host, row] of this.rows) {
      if (!row.touched && row.skipped === null) {
        row.skipped = row.title = `${host}: ${describeUntouched(host, this.finished)}`;
        if (row.task) row.task.title = row.title;
      }
      row.finish();
    }
    this.endPhase?.();
  }

  private startPhase(phase: Phase): void {
    let end!: () => void;
    const ended = new Promise<void>((resolve) => (end = resolve));
    this.endPhase = end;
    this.finished = null;
    this.rows = new Map();
    if (PER_HOST.has(phase)) {
      for (const host of this.hosts) {
        let finish!: () => void;
        const done = new Promise<void>((resolve) => (finish = resolve));
        this.rows.set(host, { title: `${host}: waiting`, latest: `${host}: waiting`, note: '', failed: null, touched: false, skipped: null, task: null, done, finish });
      }
    }
    const rows = [...this.rows.values()];
    const list = new Listr(
      [
        {
          title: phase,
          task: async (_ctx, task) => {
            if (rows.length === 0) return ended;
            return task.newListr(
              rows.map((row) => ({
                title: row.title,
                task: async (_c: unknown, sub: ListrTaskWrapper<unknown, never, never>) => {
                  row.task = sub;
                  sub.title = row.title;
                  await row.done;
                  if (row.failed) throw new Error(row.failed);
                  if (row.skipped !== null) sub.skip();
                },
              })),
              { concurrent: true, exitOnError: false },
            );
          },
        },
      ],
      { exitOnError: false, rendererOptions: { collapseSubtasks: false, collapseErrors: false }, ...this.listr },
    );
    this.chain = this.chain.then(() => list.run().then(() => undefined, () => undefined));
  }

  info(line: string): void {
    this.chain = this.chain.then(() => void process.stdout.write(`${this.safe(line)}\n`));
  }

  async close(): Promise<void> {
    this.finishPhase();
    await this.chain;
  }
}
