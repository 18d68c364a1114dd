// Steady load for a whole scenario and its phases: the parent marks phase boundaries on the wall clock; each
// request counts in the phase during which it was sent.
import { fork, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { percentile } from '../lib/util.js';

export interface PhaseLoad {
  phase: string;
  durationMs: number;
  requests: number;
  non2xx: number;
  connectionErrors: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Error kinds with their counts. */
  errors: Record<string, number>;
}

type LoadRecord = [number, number, number, number];

export class Load {
  private marks: { phase: string; at: number }[] = [];
  private readonly child: ChildProcess;
  private readonly started: Promise<void>;

  constructor(url: string, rate: number, maxSeconds: number) {
    this.child = fork(resolve(import.meta.dirname, 'child.ts'), [url, String(rate), String(maxSeconds)], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.started = new Promise((ok, fail) => {
      this.child.once('message', () => ok());
      this.child.once('exit', (code) => fail(new Error(`load generator exited (${code}) before starting`)));
    });
  }

  async start(firstPhase: string): Promise<void> {
    await this.started;
    this.mark(firstPhase);
  }

  /** From now on, requests count in `phase`. */
  mark(phase: string): void {
    this.marks.push({ phase, at: Date.now() });
  }

  /** Stops the generator and returns per-phase figures, in phase order (requests sent after `stop` are dropped). */
  async stop(): Promise<PhaseLoad[]> {
    const end = Date.now();
    const data = await new Promise<{ records: LoadRecord[]; errors: string[] }>((ok) => {
      this.child.once('message', (m) => ok(m as { records: LoadRecord[]; errors: string[] }));
      this.child.send('stop');
    });
    const phases = this.marks.map((m, i) => ({ ...m, until: this.marks[i + 1]?.at ?? end, records: [] as LoadRecord[] }));
    for (const r of data.records) {
      const sentAt = r[1] >= 0 ? r[0] - r[1] : r[0];
      const phase = phases.find((p) => sentAt >= p.at && sentAt < p.until);
      phase?.records.push(r);
    }
    return phases.map((p) => {
      const latencies = p.records.filter((r) => r[1] >= 0).map((r) => r[1]);
      const errors: Record<string, number> = {};
      for (const r of p.records) if (r[3] >= 0) errors[data.errors[r[3]]!] = (errors[data.errors[r[3]]!] ?? 0) + 1;
      return {
        phase: p.phase,
        durationMs: p.until - p.at,
        requests: p.records.length,
        non2xx: p.records.filter((r) => r[2] !== 0 && (r[2] < 200 || r[2] >= 300)).length,
        connectionErrors: p.records.filter((r) => r[2] === 0).length,
        p50Ms: percentile(latencies, 50),
        p99Ms: percentile(latencies, 99),
        maxMs: latencies.length ? Math.max(...latencies) : NaN,
        errors,
      };
    });
  }
}
