import { Listr, type ListrTaskWrapper } from 'listr2';
import type { Phase, RolloutEvent } from '../../rollout/events.js';
import { describeEvent } from './describe.js';
import type { Renderer } from './renderer.js';

interface HostRow {
  title: string;
  failed: string | null;
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
  readonly showsEvents = true;

  constructor(private readonly hosts: readonly string[]) {}

  emit(event: RolloutEvent): void {
    if (event.type === 'phase.started') return this.startPhase(event.phase);
    if (event.type === 'phase.finished') {
      for (const row of this.rows.values()) row.finish();
      this.endPhase?.();
      return;
    }
    if (!('host' in event)) return;
    const row = this.rows.get(event.host);
    if (!row) return;
    row.title = `${event.host}: ${describeEvent(event)}`;
    if (event.type === 'host.failed' || event.type === 'host.prepare_failed' || event.type === 'host.revert_failed') row.failed = row.title;
    if (row.task) row.task.title = row.title;
  }

  private startPhase(phase: Phase): void {
    let end!: () => void;
    const ended = new Promise<void>((resolve) => (end = resolve));
    this.endPhase = end;
    this.rows = new Map();
    if (PER_HOST.has(phase)) {
      for (const host of this.hosts) {
        let finish!: () => void;
        const done = new Promise<void>((resolve) => (finish = resolve));
        this.rows.set(host, { title: `${host}: waiting`, failed: null, task: null, done, finish });
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
                },
              })),
              { concurrent: true, exitOnError: false },
            );
          },
        },
      ],
      { exitOnError: false, rendererOptions: { collapseSubtasks: false, collapseErrors: false } },
    );
    this.chain = this.chain.then(() => list.run().then(() => undefined, () => undefined));
  }

  info(line: string): void {
    this.chain = this.chain.then(() => void process.stdout.write(`${line}\n`));
  }

  async close(): Promise<void> {
    this.endPhase?.();
    for (const row of this.rows.values()) row.finish();
    await this.chain;
  }
}
