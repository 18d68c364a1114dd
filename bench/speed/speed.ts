// Deploy speed against the alternatives: same hosts, artifact, units, order and readiness condition, in one
// run. Rounds interleave the tools (in a rotating order, so no tool always runs first or right after a noisy
// neighbour), each round deploys a new version (one file changed), and each round also measures what the
// hosts alone spend restarting, so overhead = wall time − that floor is paired in time.
import { writeArtifact, setVersion, SMALL } from '../lib/artifact.js';
import { countLogins, onHosts, type LabInfo } from '../lib/lab.js';
import { CLIENT_NS, wireCounters, wireDelta } from '../lib/netns.js';
import { baselineShipit, phaseDurations, syncReleaseTree, type ShipitRun } from '../lib/shipit.js';
import { bytes, log, median, mib, seconds, table, workDir } from '../lib/util.js';
import { measureFloor, type Floor } from './floor.js';
import { ansibleTool, opensshTool, shipitTool, shipitjsTool, type DeployTool, type ToolContext } from './tools.js';

export interface SpeedRun {
  tool: string;
  round: number;
  exitCode: number;
  wallMs: number;
  floorMs: number;
  peakRssMiB: number;
  peakTreePssMiB: number;
  wireUp: number;
  wireDown: number;
  loginsPerHost: number[];
  shipitPhases?: Record<string, number>;
  shipitBytesSent?: number;
}

export interface SpeedResult {
  runs: SpeedRun[];
  floors: Floor[];
  summary: Record<string, { wallMs: number; floorMs: number; overheadMs: number; peakRssMiB: number; peakTreePssMiB: number; wireUp: number; wireDown: number; logins: number; failures: number }>;
}

function releaseId(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace('.', '').replace('Z', '');
}

export async function speed(lab: LabInfo, rounds: number): Promise<{ result: SpeedResult; report: string }> {
  const hosts = lab.hosts.slice(0, 3);
  const artifactDir = workDir('speed', 'artifact');
  writeArtifact(artifactDir, SMALL, 'v0');
  const releaseDir = workDir('speed', 'release');
  const ctx: ToolContext = { lab, hosts, artifactDir, releaseDir, readyTimeoutS: 30 };
  const floorTool = opensshTool(ctx, 'OpenSSH script, all at once', 'bench-sp-sshp', 8206, true);
  const tools: DeployTool[] = [
    shipitTool(ctx, 'shipit, one host at a time', 'bench-sp-shipit', 8201, '{ canary: 1, maxParallel: 1 }', false),
    shipitTool(ctx, 'shipit, maxParallel 100%', 'bench-sp-shipitp', 8202, "{ canary: 0, maxParallel: '100%' }", true),
    shipitjsTool(ctx, 'bench-sp-shipitjs', 8203),
    ansibleTool(ctx, 'bench-sp-ansible', 8204),
    opensshTool(ctx, 'OpenSSH script (hand-written)', 'bench-sp-ssh', 8205, false),
    floorTool,
  ];
  const base = await baselineShipit();
  if (base) tools.splice(1, 0, shipitTool(ctx, `shipit ${base.revision} (baseline), one host at a time`, 'bench-sp-shipitb', 8207, '{ canary: 1, maxParallel: 1 }', false, base.bin));
  log(`speed: setting up ${tools.length} apps on ${hosts.map((h) => h.name).join(', ')}`);
  for (const tool of tools) await tool.setup();

  const runs: SpeedRun[] = [];
  const floors: Floor[] = [];
  for (let round = 0; round <= rounds; round++) {
    setVersion(artifactDir, `v${round + 1}`);
    await syncReleaseTree((tools[0] as DeployTool & { project: string }).project, artifactDir, releaseDir);
    const order = tools.map((_, i) => tools[(i + round) % tools.length]!);
    for (const tool of order) {
      const w0 = wireCounters(CLIENT_NS);
      const t0 = Date.now();
      const run = await tool.deploy(releaseId());
      const t1 = Date.now();
      const wire = wireDelta(w0, wireCounters(CLIENT_NS));
      const served = await onHosts(lab, hosts, `curl -fsS --max-time 5 http://127.0.0.1:${tool.port}/readyz`, { allowFail: true });
      const ok = run.exitCode === 0 && served.every((s) => s.stdout.includes(`"version":"v${round + 1}"`));
      if (!ok) log(`speed: ${tool.name} round ${round} FAILED (exit ${run.exitCode}): ${run.stderr.trim().split('\n').slice(-5).join(' | ')} ${run.stdout.trim().split('\n').slice(-5).join(' | ')}`);
      const logins = await countLogins(lab, hosts, CLIENT_NS.address, t0, t1);
      const shipit = 'events' in run ? (run as ShipitRun) : undefined;
      runs.push({
        tool: tool.name,
        round,
        exitCode: ok ? run.exitCode : run.exitCode || 99,
        wallMs: run.wallMs,
        floorMs: NaN,
        peakRssMiB: run.peakRssMiB,
        peakTreePssMiB: run.peakTreePssMiB,
        wireUp: wire.up,
        wireDown: wire.down,
        loginsPerHost: logins,
        ...(shipit
          ? {
              shipitPhases: phaseDurations(shipit),
              shipitBytesSent: shipit.events.filter((e) => e.type === 'host.prepared').reduce((s, e) => s + Number(e.bytesSent), 0),
            }
          : {}),
      });
      log(`speed: round ${round} ${tool.name}: ${seconds(run.wallMs)}, ${bytes(wire.up)} up, logins ${logins.join('/')}, rss ${run.peakRssMiB} MiB`);
    }
    const floor = await measureFloor(lab, hosts, floorTool.app, floorTool.port);
    floors.push(floor);
    for (const r of runs.filter((x) => x.round === round)) r.floorMs = tools.find((t) => t.name === r.tool)!.parallel ? floor.parallelMs : floor.serialMs;
    log(`speed: round ${round} floor: serial ${seconds(floor.serialMs)} (${floor.perHost.map((m) => seconds(m)).join(' + ')}), all at once ${seconds(floor.parallelMs)}`);
  }

  const summary: SpeedResult['summary'] = {};
  for (const tool of tools) {
    const measured = runs.filter((r) => r.tool === tool.name && r.round > 0);
    const good = measured.filter((r) => r.exitCode === 0);
    summary[tool.name] = {
      wallMs: median(good.map((r) => r.wallMs)),
      floorMs: median(good.map((r) => r.floorMs)),
      overheadMs: median(good.map((r) => r.wallMs - r.floorMs)),
      peakRssMiB: median(good.map((r) => r.peakRssMiB)),
      peakTreePssMiB: median(good.map((r) => r.peakTreePssMiB)),
      wireUp: median(good.map((r) => r.wireUp)),
      wireDown: median(good.map((r) => r.wireDown)),
      logins: Math.max(...good.flatMap((r) => r.loginsPerHost)),
      failures: measured.length - good.length,
    };
  }
  return { result: { runs, floors, summary }, report: renderSpeed(summary, rounds) };
}

export function renderSpeed(summary: SpeedResult['summary'], rounds: number): string {
  const shipitRolling = summary['shipit, one host at a time'];
  const rows = Object.entries(summary).map(([name, s]) => [
    name,
    seconds(s.wallMs),
    seconds(s.floorMs),
    seconds(s.overheadMs),
    shipitRolling && name !== 'shipit, one host at a time' && !name.includes('100%') && !name.includes('all at once') ? `${(shipitRolling.wallMs / s.wallMs).toFixed(2)}×` : '',
    mib(s.peakRssMiB),
    mib(s.peakTreePssMiB),
    bytes(s.wireUp),
    bytes(s.wireDown),
    String(s.logins),
    s.failures ? String(s.failures) : '',
  ]);
  return table(
    `Deploy speed: 3 hosts, ${SMALL.bytes / 1e6} MB / ${SMALL.files}-file artifact, one file changed per deploy; median of ${rounds} runs after a warm-up`,
    ['tool', 'wall', 'restart+ready on hosts', 'overhead', 'shipit ÷ tool', 'peak RSS', 'tree PSS', 'bytes up', 'bytes down', 'logins/host', 'failed'],
    rows,
  );
}
