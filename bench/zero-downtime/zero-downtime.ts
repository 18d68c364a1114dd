// Zero downtime, measured through a load balancer: HAProxy in front of 3 lab hosts, steady load through it for
// the whole scenario, while in order: a deploy of a new release, a deploy of a release whose readiness never
// passes (automatic rollback), and a rollback. Once with shipit (socket unit), once as users do today: a plain
// unit that binds its own port, rolled by the hand-written OpenSSH script (same order, readiness and revert).
import { setVersion, writeArtifact, SMALL } from '../lib/artifact.js';
import { Balancer } from '../lib/haproxy.js';
import { onHosts, type LabInfo } from '../lib/lab.js';
import type { MeasuredRun } from '../lib/measure.js';
import { BALANCER_NS } from '../lib/netns.js';
import { forgetHosts, renderUnitsFor, runShipit, syncReleaseTree, wipeAppScript, writeShipitConfig } from '../lib/shipit.js';
import { log, seconds, sleep, table, workDir } from '../lib/util.js';
import { Load, type PhaseLoad } from '../load/load.js';
import { opensshTool } from '../speed/tools.js';

const RATE = 300;
const HEALTH = "{ liveness: '/healthz', readiness: '/readyz', interval: '500ms', timeout: '2s', successes: 2, minHealthyTime: '2s', healthyDeadline: '15s' }";
const SHIPIT = { app: 'bench-zd', port: 8210, listen: 8300 };
const PLAIN = { app: 'bench-zd-plain', port: 8211, listen: 8301 };

export interface DirectLoad {
  requests: number;
  non2xx: number;
  connectionErrors: number;
  errors: Record<string, number>;
}

export interface ZeroDowntimeVariant {
  variant: string;
  phases: (PhaseLoad & { exitCode: number | null; expectedExit: number | null; healthChanges: string[]; failedRequests: string[]; direct: DirectLoad })[];
}

/** Beside the balancer, a little load straight at each host: what a client without HAProxy's retries sees. */
const DIRECT_RATE = 30;

/** shipit's service unit without its socket: gunicorn binds the port itself (the baseline). */
function plainUnit(service: { name: string; content: string }, port: number): { name: string; content: string } {
  const app = service.name.replace(/\.service$/, '');
  const edits: [RegExp, string][] = [
    [new RegExp(`^Requires=${app}\\.socket\\n`, 'm'), ''],
    [new RegExp(`^After=${app}\\.socket `, 'm'), 'After='],
    [new RegExp(`^Also=${app}\\.socket\\n?`, 'm'), ''],
    [/exec gunicorn /, `exec gunicorn --bind 0.0.0.0:${port} `],
  ];
  let content = service.content;
  for (const [pattern, replacement] of edits) {
    if (!pattern.test(content)) throw new Error(`plain unit: ${pattern} not found in shipit's ${service.name}`);
    content = content.replace(pattern, replacement);
  }
  return { name: service.name, content: `# bench baseline: shipit's unit without its .socket; gunicorn binds :${port} itself.\n${content}` };
}

interface Step {
  phase: string;
  version?: string;
  fault?: 'never-ready';
  run?: () => Promise<MeasuredRun>;
  expectedExit?: number;
  idleMs?: number;
}

async function underLoad(balancer: Balancer, frontend: string, listen: number, port: number, hosts: LabInfo['hosts'], tree: { project: string; artifactDir: string; releaseDir: string }, steps: Step[]): Promise<ZeroDowntimeVariant['phases']> {
  await balancer.waitAllUp(frontend);
  const load = new Load(`http://${BALANCER_NS.address}:${listen}/`, RATE, 900);
  const direct = hosts.map((h) => new Load(`http://${h.address}:${port}/`, DIRECT_RATE, 900));
  const marks: { exitCode: number | null; expectedExit: number | null; from: number; to: number }[] = [];
  await Promise.all([load, ...direct].map((l) => l.start(steps[0]!.phase)));
  for (const [i, step] of steps.entries()) {
    if (i > 0) for (const l of [load, ...direct]) l.mark(step.phase);
    const from = Date.now();
    if (step.version) {
      setVersion(tree.artifactDir, step.version, step.fault);
      await syncReleaseTree(tree.project, tree.artifactDir, tree.releaseDir);
    }
    let exitCode: number | null = null;
    if (step.run) {
      const run = await step.run();
      exitCode = run.exitCode;
      log(`zero-downtime: ${frontend}: ${step.phase}: exit ${run.exitCode} in ${seconds(run.wallMs)}`);
      if (run.exitCode !== step.expectedExit) log(`zero-downtime: unexpected exit: ${run.stderr.trim().split('\n').slice(-6).join(' | ')}`);
    }
    if (step.idleMs) await sleep(step.idleMs);
    marks.push({ exitCode, expectedExit: step.expectedExit ?? null, from, to: Date.now() });
  }
  const phases = await load.stop();
  const directPhases = await Promise.all(direct.map((l) => l.stop()));
  return phases.map((p, i) => {
    const d: DirectLoad = { requests: 0, non2xx: 0, connectionErrors: 0, errors: {} };
    for (const host of directPhases) {
      const hp = host[i]!;
      d.requests += hp.requests;
      d.non2xx += hp.non2xx;
      d.connectionErrors += hp.connectionErrors;
      for (const [k, v] of Object.entries(hp.errors)) d.errors[k] = (d.errors[k] ?? 0) + v;
    }
    return { ...p, exitCode: marks[i]!.exitCode, expectedExit: marks[i]!.expectedExit, healthChanges: balancer.transitions(marks[i]!.from, marks[i]!.to + 1_000), failedRequests: balancer.failedRequests(frontend, marks[i]!.from, i + 1 < marks.length ? marks[i + 1]!.from : marks[i]!.to + 1_000), direct: d };
  });
}

export async function zeroDowntime(lab: LabInfo): Promise<{ result: ZeroDowntimeVariant[]; report: string }> {
  const hosts = lab.hosts.slice(0, 3);
  const artifactDir = workDir('zero-downtime', 'artifact');
  writeArtifact(artifactDir, SMALL, 'v1');
  const releaseDir = workDir('zero-downtime', 'release');
  const balancer = new Balancer([
    { name: 'shipit', listen: SHIPIT.listen, port: SHIPIT.port, hosts },
    { name: 'plain', listen: PLAIN.listen, port: PLAIN.port, hosts },
  ]);
  const results: ZeroDowntimeVariant[] = [];
  try {
    // shipit: first release without load, then the three phases under load.
    await onHosts(lab, hosts, wipeAppScript(SHIPIT.app));
    forgetHosts(SHIPIT.app);
    const project = writeShipitConfig(workDir('apps', SHIPIT.app), lab, { ...SHIPIT, hosts, artifactDir, health: HEALTH, rollout: '{ canary: 1, maxParallel: 1 }' });
    const first = await runShipit(project, ['deploy', 'bench']);
    if (first.exitCode !== 0) throw new Error(`zero-downtime: first shipit deploy failed: ${first.stdout}${first.stderr}`);
    // The baseline's hosts, set up now so that the balancer starts with both backends.
    const plainUnits = (await renderUnitsFor(writeShipitConfig(workDir('apps', PLAIN.app), lab, { ...PLAIN, hosts, artifactDir, health: HEALTH, rollout: '{ canary: 1, maxParallel: 1 }' })))
      .filter((u) => u.name.endsWith('.service'))
      .map((u) => plainUnit(u, PLAIN.port));
    const tree = { project, artifactDir, releaseDir };
    await syncReleaseTree(project, artifactDir, releaseDir);
    const script = opensshTool({ lab, hosts, artifactDir, releaseDir, readyTimeoutS: 15 }, 'plain', PLAIN.app, PLAIN.port, false, plainUnits);
    await script.setup();
    const ids = { v1: 'r20000101T000001', v2: 'r20000101T000002', bad: 'r20000101T000003' };
    if ((await script.deploy(ids.v1)).exitCode !== 0) throw new Error('zero-downtime: first baseline deploy failed');
    await balancer.start();

    log('zero-downtime: shipit (socket unit) under load');
    const shipit = (args: string[]) => () => runShipit(project, [...args, '--json']);
    results.push({
      variant: 'shipit (socket unit)',
      phases: await underLoad(balancer, 'shipit', SHIPIT.listen, SHIPIT.port, hosts, tree, [
        { phase: 'steady, before', idleMs: 5_000 },
        { phase: 'deploy v2', version: 'v2', run: shipit(['deploy', 'bench']), expectedExit: 0 },
        { phase: 'deploy never-ready → auto-revert', version: 'v3', fault: 'never-ready', run: shipit(['deploy', 'bench']), expectedExit: 5 },
        { phase: 'shipit rollback (→ v1)', run: shipit(['rollback', 'bench']), expectedExit: 0 },
        { phase: 'steady, after', idleMs: 10_000 },
      ]),
    });

    log('zero-downtime: baseline (plain unit, OpenSSH script) under load');
    results.push({
      variant: 'baseline: plain unit binding its port, OpenSSH script',
      phases: await underLoad(balancer, 'plain', PLAIN.listen, PLAIN.port, hosts, tree, [
        { phase: 'steady, before', idleMs: 5_000 },
        { phase: 'deploy v2', version: 'v2', run: () => script.deploy(ids.v2), expectedExit: 0 },
        { phase: 'deploy never-ready → revert', version: 'v3', fault: 'never-ready', run: () => script.deploy(ids.bad), expectedExit: 5 },
        { phase: 'rollback (→ v1)', run: () => script.activate(ids.v1), expectedExit: 0 },
        { phase: 'steady, after', idleMs: 10_000 },
      ]),
    });
  } finally {
    await balancer.stop();
  }
  return { result: results, report: renderZeroDowntime(results) };
}

/** Error kinds without the address they name: "146× ECONNREFUSED". */
function summarize(errors: Record<string, number>): string {
  const kinds: Record<string, number> = {};
  for (const [text, n] of Object.entries(errors)) {
    const kind = /\b(E[A-Z]+)\b/.exec(text)?.[1] ?? text.replace(/\d+\.\d+\.\d+\.\d+(:\d+)?/g, '').trim();
    kinds[kind] = (kinds[kind] ?? 0) + n;
  }
  return Object.entries(kinds).map(([k, n]) => `${n}× ${k}`).join(', ');
}

export function renderZeroDowntime(results: ZeroDowntimeVariant[]): string {
  const ms = (n: number) => (Number.isFinite(n) ? `${n.toFixed(0)} ms` : '–');
  return results
    .map((v) =>
      table(
        `Zero downtime through HAProxy (${RATE} req/s, a new connection per request; retries 3, its default): ${v.variant}`,
        ['phase', 'time', 'exit', 'requests', 'non-2xx', 'conn errors', 'p50', 'p99', 'max', 'HAProxy health changes', `direct to hosts (${DIRECT_RATE}/s each): requests, failed`],
        v.phases.map((p) => [
          p.phase,
          seconds(p.durationMs),
          p.exitCode === null ? '' : `${p.exitCode}${p.exitCode === p.expectedExit ? '' : ' (!)'}`,
          p.requests,
          p.non2xx,
          p.connectionErrors,
          ms(p.p50Ms),
          ms(p.p99Ms),
          ms(p.maxMs),
          p.healthChanges.length === 0 ? 'none' : `${p.healthChanges.length}: ${[...new Set(p.healthChanges.map((c) => c.replace(/^Server be-\w+\//, '').replace(/, reason:.*$/, '')))].join('; ')}`,
          `${p.direct.requests}, ${p.direct.non2xx + p.direct.connectionErrors}${Object.keys(p.direct.errors).length ? ` (${summarize(p.direct.errors)})` : ''}`,
        ]),
      ) + failedLines(v),
    )
    .join('');
}

/** HAProxy's log lines of the requests that failed through it, per phase: which server, its timers, how it ended. */
function failedLines(v: ZeroDowntimeVariant): string {
  const lines = v.phases.flatMap((p) => (p.failedRequests ?? []).slice(0, 5).map((line) => `  ${p.phase}: ${line}`));
  return lines.length === 0 ? '' : `HAProxy's log of the failed requests:\n${lines.join('\n')}\n`;
}
