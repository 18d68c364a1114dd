import type { Project } from './project.js';

/** A host.prepared event with the dependency sets it reused or built. */
export interface Prepared {
  type: 'host.prepared';
  host: string;
  deps: { kind: string; set: string; created: boolean; durationMs: number }[];
}

/** `shipit deploy <env> --json`: exit code, wall time, the prepare phase, the release id and the host.prepared events. */
export async function deployJson(project: Project, env = 'production') {
  const started = Date.now();
  const run = await project.shipit(['deploy', env, '--json']);
  const wallMs = Date.now() - started;
  const events = run.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const prepared = events.filter((e): e is Prepared & Record<string, unknown> => e.type === 'host.prepared');
  const release = (events.find((e) => e.type === 'rollout.finished') as { release?: string } | undefined)?.release;
  const prepareMs = (events.find((e) => e.type === 'phase.finished' && e.phase === 'prepare') as { durationMs?: number } | undefined)?.durationMs ?? NaN;
  return { run, wallMs, prepareMs, prepared, release };
}

/** Exit code 0, or a failure that shows what shipit said. */
export function expectSuccess(run: { exitCode?: number; all?: unknown }): void {
  if (run.exitCode !== 0) throw new Error(`shipit exited ${run.exitCode}:\n${String(run.all)}`);
}
