// Scale: shipit's prepare (connect, lock, inspect, upload, stage) on 3 and on 12 hosts, side by side on a
// 12-host lab (web1..web3 and web1..web12 deployed alternately), for a first deploy (everything sent) and a
// redeploy (one file changed); and what 12 booted hosts cost in memory. The lab is grown to 12 only when no
// jest runs (other engineers' end-to-end tests use web1..web3), and put back to 3 hosts right after.
import { labPssMiB, memAvailableMiB } from '../../lab/memory.js';
import { SMALL, setVersion, writeArtifact } from '../lib/artifact.js';
import { labUp, onHosts, waitForNoJest, type LabInfo } from '../lib/lab.js';
import { CLIENT_NS, ensureNamespace, wireCounters, wireDelta } from '../lib/netns.js';
import { machineBusyMs, processCpuMs, waitForQuiet } from '../lib/measure.js';
import { forgetHosts, phaseDurations, runShipit, wipeAppScript, writeShipitConfig } from '../lib/shipit.js';
import { bytes, log, median, seconds, table, workDir } from '../lib/util.js';
import { SAME_READINESS } from '../speed/tools.js';

export interface ScaleRun {
  hosts: number;
  kind: 'first deploy' | 'redeploy';
  round: number;
  exitCode: number;
  /** connect + lock + inspect + prepare, from shipit's phase events. */
  prepareMs: number;
  phases: Record<string, number>;
  wallMs: number;
  wireUp: number;
  peakRssMiB: number;
  /**
   * CPU time from shipit's start to the end of its prepare phase: shipit's own process, and the rest of the
   * machine (/proc/stat), i.e. the lab hosts' sshd, sudo, shells, tar, sha256sum (and whatever else ran).
   */
  cpu?: { deployerMs: number; restMs: number; windowMs: number };
}

export interface ScaleResult {
  skipped?: string;
  memory?: { before: { availableMiB: number }; with12: { availableMiB: number; labPssMiB: number } };
  bootMs?: number;
  /** How long each deploy waited for a quiet machine (waitForQuiet). */
  quietWaitMs?: { median: number; max: number };
  runs: ScaleRun[];
}

const PREPARE_PHASES = ['connect', 'lock', 'inspect', 'prepare'];

export async function scale(lab: LabInfo, rounds: number): Promise<{ result: ScaleResult; report: string }> {
  if (!(await waitForNoJest(10 * 60_000))) {
    const skipped = 'a jest process kept running for 10 minutes: the lab was not resized';
    return { result: { skipped, runs: [] }, report: `\nScale: skipped (${skipped})\n` };
  }
  const before = { availableMiB: memAvailableMiB() };
  const started = Date.now();
  let big: LabInfo;
  try {
    big = await labUp(12);
  } catch (error) {
    await labUp(3).catch(() => undefined);
    throw error;
  }
  const result: ScaleResult = { runs: [], bootMs: Date.now() - started };
  try {
    await ensureNamespace(CLIENT_NS, big.bridge);
    await new Promise((r) => setTimeout(r, 5_000));
    result.memory = {
      before,
      with12: { availableMiB: memAvailableMiB(), labPssMiB: await labPssMiB(big.hosts.map((h) => h.netns), big.hosts.map((h) => h.nspawnPid)) },
    };
    log(`scale: 12 hosts up in ${seconds(result.bootMs ?? NaN)}; lab PSS ${result.memory.with12.labPssMiB} MiB; MemAvailable ${before.availableMiB} → ${result.memory.with12.availableMiB} MiB`);
    const artifactDir = workDir('scale', 'artifact');
    writeArtifact(artifactDir, SMALL, 'v1');
    const fleets = [3, 12].map((n) => ({
      n,
      app: `bench-scale${n}`,
      hosts: big.hosts.slice(0, n),
      project: writeShipitConfig(workDir('apps', `bench-scale${n}`), big, {
        app: `bench-scale${n}`,
        port: 8230 + n,
        hosts: big.hosts.slice(0, n),
        artifactDir,
        health: SAME_READINESS(60),
        rollout: "{ canary: 0, maxParallel: '100%' }",
      }),
    }));
    let version = 1;
    const quietMs: number[] = [];
    for (let round = 0; round <= rounds; round++) {
      for (const kind of ['first deploy', 'redeploy'] as const) {
        for (const fleet of round % 2 ? [...fleets].reverse() : fleets) {
          if (kind === 'first deploy') {
            await onHosts(big, fleet.hosts, wipeAppScript(fleet.app));
            forgetHosts(fleet.app);
          }
          setVersion(artifactDir, `v${++version}`);
          // The deploy before returned once every host was ready, but the hosts' apps may still be starting their
          // other workers (12 × gunicorn + uvicorn): each deploy starts on a quiet machine, so that no such tail
          // counts in its time or its CPU. (Measured on 12-03: it changed the medians little.)
          quietMs.push(await waitForQuiet());
          const w0 = wireCounters(CLIENT_NS);
          const busy0 = machineBusyMs();
          let cpu: ScaleRun['cpu'];
          const run = await runShipit(fleet.project, ['deploy', 'bench', '--json'], {
            onLine: (text, atMs, pid) => {
              if (cpu !== undefined || !text.includes('"phase.finished"') || !text.includes('"phase":"prepare"')) return;
              const busy = machineBusyMs() - busy0;
              const deployerMs = processCpuMs(pid);
              cpu = { deployerMs, restMs: busy - deployerMs, windowMs: atMs };
            },
          });
          const wire = wireDelta(w0, wireCounters(CLIENT_NS));
          const phases = phaseDurations(run);
          const prepareMs = PREPARE_PHASES.reduce((s, p) => s + (phases[p] ?? NaN), 0);
          result.runs.push({ hosts: fleet.n, kind, round, exitCode: run.exitCode, prepareMs, phases, wallMs: run.wallMs, wireUp: wire.up, peakRssMiB: run.peakRssMiB, cpu });
          log(
            `scale: round ${round} ${kind} on ${fleet.n} hosts: prepare ${seconds(prepareMs)} (${PREPARE_PHASES.map((p) => `${p} ${Math.round(phases[p] ?? NaN)}`).join(', ')}), ` +
              `${bytes(wire.up)} up, CPU in the ${Math.round(cpu?.windowMs ?? NaN)} ms from start to prepared: shipit ${Math.round(cpu?.deployerMs ?? NaN)} ms, ` +
              `the rest ${Math.round(cpu?.restMs ?? NaN)} ms, exit ${run.exitCode}`,
          );
          // What failed, in shipit's own words (its --json error event and stderr): a bare exit code says nothing.
          if (run.exitCode !== 0) log(`scale: round ${round} ${kind} on ${fleet.n} hosts FAILED: ${run.stderr.trim().split('\n').slice(-5).join(' | ')} ${run.stdout.trim().split('\n').slice(-3).join(' | ')}`);
        }
      }
    }
    result.quietWaitMs = { median: median(quietMs), max: Math.max(...quietMs) };
  } finally {
    await labUp(3);
  }
  return { result, report: renderScale(result, rounds) };
}

const ms = (n: number): string => (Number.isFinite(n) ? `${Math.round(n).toLocaleString('en-US')} ms` : '–');

export function renderScale(result: ScaleResult, rounds: number): string {
  const rows: (string | number)[][] = [];
  for (const kind of ['first deploy', 'redeploy'] as const) {
    const at = (n: number) => result.runs.filter((r) => r.hosts === n && r.kind === kind && r.round > 0 && r.exitCode === 0);
    const m = (n: number, f: (r: ScaleRun) => number) => median(at(n).map(f));
    const p3 = m(3, (r) => r.prepareMs);
    const p12 = m(12, (r) => r.prepareMs);
    rows.push([
      kind,
      seconds(p3),
      seconds(p12),
      `${(p12 / p3).toFixed(2)}×`,
      PREPARE_PHASES.map((p) => `${p} ${Math.round(m(3, (r) => r.phases[p] ?? NaN))}→${Math.round(m(12, (r) => r.phases[p] ?? NaN))} ms`).join(', '),
      `${bytes(m(3, (r) => r.wireUp))} → ${bytes(m(12, (r) => r.wireUp))}`,
      `${m(3, (r) => r.peakRssMiB).toFixed(0)} → ${m(12, (r) => r.peakRssMiB).toFixed(0)} MiB`,
      `${ms(m(3, (r) => r.cpu?.deployerMs ?? NaN))} → ${ms(m(12, (r) => r.cpu?.deployerMs ?? NaN))}`,
      `${ms(m(3, (r) => r.cpu?.restMs ?? NaN))} → ${ms(m(12, (r) => r.cpu?.restMs ?? NaN))}`,
      `${ms(m(3, (r) => r.cpu?.windowMs ?? NaN))} → ${ms(m(12, (r) => r.cpu?.windowMs ?? NaN))}`,
    ]);
  }
  const mem = result.memory
    ? `12 lab hosts booted in ${seconds(result.bootMs ?? NaN)}; their processes' PSS ${result.memory.with12.labPssMiB} MiB; machine MemAvailable ${result.memory.before.availableMiB} MiB (3 hosts) → ${result.memory.with12.availableMiB} MiB (12 hosts)\n`
    : '';
  const quiet = result.quietWaitMs === undefined ? '' : ` Each deploy started once the machine was quiet (waited ${ms(result.quietWaitMs.median)} median, ${ms(result.quietWaitMs.max)} at most).`;
  const cpuNote =
    'CPU to prepared: from shipit\'s start to the end of its prepare phase, shipit\'s own process (utime+stime) and the rest of the machine ' +
    `(/proc/stat: the hosts' sshd, sudo, shells, tar, sha256sum, the kernel's writeback); the hosts share the machine's 2 cores with shipit.${quiet}\n`;
  return `${table(
    `Prepare phase (connect+lock+inspect+prepare) on 3 vs 12 hosts, side by side on a 12-host lab; median of ${rounds}`,
    ['deploy', '3 hosts', '12 hosts', 'ratio', 'phases (3→12)', 'bytes up (3→12)', 'peak RSS (3→12)', 'CPU to prepared: shipit (3→12)', 'the rest (3→12)', 'start to prepared (3→12)'],
    rows,
  )}${cpuNote}${mem}`;
}
