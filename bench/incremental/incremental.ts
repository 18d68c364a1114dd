// Incremental upload: redeploy after changing one file of a ~20 MB / ~2,000-file artifact to 3 hosts. shipit
// (what it sends, and how long until every host has the new release staged) against rsync over OpenSSH making
// the same thing — a new complete release directory next to the previous one (--copy-dest: unchanged files are
// copied on the host) — and against rsync's best case, updating one directory in place.
import { execa } from 'execa';
import { LARGE, setVersion, writeArtifact } from '../lib/artifact.js';
import { onHosts, type LabInfo } from '../lib/lab.js';
import { measure } from '../lib/measure.js';
import { CLIENT_NS, inNamespace, wireCounters, wireDelta } from '../lib/netns.js';
import { forgetHosts, phaseDurations, runShipit, wipeAppScript, writeShipitConfig } from '../lib/shipit.js';
import { bytes, log, median, seconds, table, workDir } from '../lib/util.js';
import { SAME_READINESS } from '../speed/tools.js';

const APP = 'bench-inc';
const RSYNC_DIR = '/srv/bench-inc-rsync';

export interface IncrementalRun {
  tool: string;
  round: number;
  exitCode: number;
  /** Until every host has the release staged (shipit: the prepare phase's end as seen by the caller). */
  stagedMs: number;
  wallMs: number;
  wireUp: number;
  wireDown: number;
  shipitBytesSent?: number;
  shipitPhases?: Record<string, number>;
}

export async function incremental(lab: LabInfo, rounds: number): Promise<{ result: { runs: IncrementalRun[]; artifactBytes: number; summary: Record<string, Record<string, number>> }; report: string }> {
  const hosts = lab.hosts.slice(0, 3);
  const artifactDir = workDir('incremental', 'artifact');
  writeArtifact(artifactDir, LARGE, 'v1');
  const artifactBytes = Number(String((await execa('du', ['-sb', artifactDir])).stdout).split('\t')[0]);
  const project = writeShipitConfig(workDir('apps', APP), lab, { app: APP, port: 8220, hosts, artifactDir, health: SAME_READINESS(30), rollout: "{ canary: 0, maxParallel: '100%' }" });
  const ssh = `ssh -F none -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${lab.knownHostsFile} -o IdentitiesOnly=yes -i ${lab.identityFile}`;
  const rsyncAll = (args: (host: string) => string[]) =>
    measure(inNamespace(CLIENT_NS, ['bash', '-c', `${hosts.map((h) => `rsync ${args(h.address).map((a) => `'${a}'`).join(' ')} &`).join('\n')}\nfail=0; for j in $(jobs -p); do wait $j || fail=1; done; exit $fail`]));

  log(`incremental: first deploy of ${bytes(artifactBytes)} / ${LARGE.files} files (not measured)`);
  await onHosts(lab, hosts, `${wipeAppScript(APP)}\nrm -rf ${RSYNC_DIR}; mkdir -p ${RSYNC_DIR}/releases ${RSYNC_DIR}/inplace; chown -R deploy:deploy ${RSYNC_DIR}`);
  forgetHosts(APP);
  const first = await runShipit(project, ['deploy', 'bench', '--json']);
  if (first.exitCode !== 0) throw new Error(`incremental: first shipit deploy failed: ${first.stderr}`);
  let previous = 'r0';
  const base = ['-a', '--compress', '--delete', '-e', ssh];
  for (const target of [`releases/${previous}/`, 'inplace/']) {
    const r = await rsyncAll((h) => [...base, `${artifactDir}/`, `deploy@${h}:${RSYNC_DIR}/${target}`]);
    if (r.exitCode !== 0) throw new Error(`incremental: first rsync failed: ${r.stderr}`);
  }

  const runs: IncrementalRun[] = [];
  for (let round = 1; round <= rounds; round++) {
    setVersion(artifactDir, `v${round + 1}`);
    const next = `r${round}`;
    const tools: [string, () => Promise<Omit<IncrementalRun, 'tool' | 'round' | 'wireUp' | 'wireDown'>>][] = [
      [
        'shipit deploy (to staged on every host)',
        async () => {
          const run = await runShipit(project, ['deploy', 'bench', '--json']);
          const prepared = run.events.find((e) => e.type === 'phase.finished' && e.phase === 'prepare');
          return {
            exitCode: run.exitCode,
            stagedMs: prepared?.atMs ?? NaN,
            wallMs: run.wallMs,
            shipitBytesSent: run.events.filter((e) => e.type === 'host.prepared').reduce((s, e) => s + Number(e.bytesSent), 0),
            shipitPhases: phaseDurations(run),
          };
        },
      ],
      [
        'rsync -az, new release dir (--copy-dest=previous)',
        async () => {
          const run = await rsyncAll((h) => [...base, `--copy-dest=${RSYNC_DIR}/releases/${previous}/`, `${artifactDir}/`, `deploy@${h}:${RSYNC_DIR}/releases/${next}/`]);
          return { exitCode: run.exitCode, stagedMs: run.wallMs, wallMs: run.wallMs };
        },
      ],
      [
        'rsync -az, one directory updated in place',
        async () => {
          const run = await rsyncAll((h) => [...base, `${artifactDir}/`, `deploy@${h}:${RSYNC_DIR}/inplace/`]);
          return { exitCode: run.exitCode, stagedMs: run.wallMs, wallMs: run.wallMs };
        },
      ],
    ];
    for (let i = 0; i < tools.length; i++) {
      const [tool, go] = tools[(i + round) % tools.length]!;
      const w0 = wireCounters(CLIENT_NS);
      const r = await go();
      const wire = wireDelta(w0, wireCounters(CLIENT_NS));
      runs.push({ tool, round, ...r, wireUp: wire.up, wireDown: wire.down });
      log(`incremental: round ${round} ${tool}: staged in ${seconds(r.stagedMs)}, ${bytes(wire.up)} up (exit ${r.exitCode})`);
    }
    previous = next;
  }

  const summary: Record<string, Record<string, number>> = {};
  for (const tool of new Set(runs.map((r) => r.tool))) {
    const good = runs.filter((r) => r.tool === tool && r.exitCode === 0);
    summary[tool] = {
      stagedMs: median(good.map((r) => r.stagedMs)),
      wireUp: median(good.map((r) => r.wireUp)),
      wireDown: median(good.map((r) => r.wireDown)),
      shareOfArtifact: median(good.map((r) => r.wireUp)) / (artifactBytes * hosts.length),
      ...(good[0]?.shipitBytesSent !== undefined
        ? {
            shipitBytesSent: median(good.map((r) => r.shipitBytesSent!)),
            prepareMs: median(good.map((r) => r.shipitPhases?.prepare ?? NaN)),
            wallMs: median(good.map((r) => r.wallMs)),
          }
        : {}),
      failures: runs.filter((r) => r.tool === tool).length - good.length,
    };
  }
  const report = table(
    `Incremental redeploy: one file changed in a ${bytes(artifactBytes)} / ${LARGE.files}-file artifact, 3 hosts; median of ${rounds}`,
    ['tool', 'staged on every host', 'bytes up (wire)', 'share of 3× artifact', 'bytes down', 'notes'],
    Object.entries(summary).map(([tool, s]) => [
      tool,
      seconds(s.stagedMs!),
      bytes(s.wireUp!),
      `${(s.shareOfArtifact! * 100).toFixed(2)}%`,
      bytes(s.wireDown!),
      s.prepareMs !== undefined ? `prepare phase ${seconds(s.prepareMs)}; SSH payload ${bytes(s.shipitBytesSent!)}; whole deploy ${seconds(s.wallMs!)}` : '',
    ]),
  );
  return { result: { runs, artifactBytes, summary }, report };
}
