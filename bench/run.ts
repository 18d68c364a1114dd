// `npm run bench [-- zero-downtime|speed|incremental|scale ...] [--runs N]`: the benchmark suite of issue 6 on
// the local lab. Prints tables; writes everything measured to bench/results/<time>.json (and latest.json).
// Needs root (the lab, network namespaces); installs the bench-only Debian packages it uses.
import { execa } from 'execa';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { incremental } from './incremental/incremental.js';
import { labUp, readLab, type LabInfo } from './lib/lab.js';
import { BALANCER_NS, CLIENT_NS, deleteNamespace, ensureNamespace } from './lib/netns.js';
import { snapshotShipit } from './lib/shipit.js';
import { RESULTS, log } from './lib/util.js';
import { scale } from './scale/scale.js';
import { speed } from './speed/speed.js';
import { zeroDowntime } from './zero-downtime/zero-downtime.js';

const SCENARIOS = ['zero-downtime', 'speed', 'incremental', 'scale'] as const;
type Scenario = (typeof SCENARIOS)[number];
/** Debian packages the bench alone needs (the test suite does not): compared tools and rsync. */
const BENCH_PACKAGES = ['ansible-core', 'rsync', 'haproxy', 'curl'];

function parseArgs(argv: string[]): { scenarios: Scenario[]; runs: number } {
  let runs = 5;
  const scenarios: Scenario[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--runs') runs = Number(argv[++i]);
    else if ((SCENARIOS as readonly string[]).includes(a)) scenarios.push(a as Scenario);
    else throw new Error(`unknown argument ${a}: expected ${SCENARIOS.join(', ')} or --runs N`);
  }
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs needs a positive whole number');
  return { scenarios: scenarios.length ? scenarios : [...SCENARIOS], runs };
}

async function ensurePackages(): Promise<void> {
  const missing: string[] = [];
  for (const p of BENCH_PACKAGES) {
    const r = await execa('dpkg-query', ['-W', '-f=${Status}', p], { reject: false });
    if (!String(r.stdout).includes('install ok installed')) missing.push(p);
  }
  if (missing.length === 0) return;
  log(`apt-get install ${missing.join(' ')}`);
  const install = () => execa('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, reject: false });
  if ((await install()).exitCode !== 0) {
    await execa('apt-get', ['update', '-q']);
    await execa('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  }
}

async function machine(): Promise<Record<string, string>> {
  const version = async (argv: string[]) => String((await execa(argv[0]!, argv.slice(1), { reject: false, all: true })).all ?? '').split('\n')[0]!.trim();
  return {
    cpu: `${cpus().length} × ${cpus()[0]?.model ?? '?'}`,
    memory: `${Math.round(totalmem() / 2 ** 30)} GiB`,
    kernel: (await version(['uname', '-r'])),
    os: /PRETTY_NAME="(.*)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? '?',
    node: process.version,
    ansible: await version(['ansible-playbook', '--version']),
    haproxy: await version(['haproxy', '-v']),
    rsync: await version(['rsync', '--version']),
    openssh: await version(['ssh', '-V']),
  };
}

async function main(): Promise<void> {
  // `npm run bench -- runtime [options]`: issue 5's Node runtime benchmark, on this machine alone (no lab).
  if (process.argv[2] === 'runtime') return (await import('./runtime/run.js')).main(process.argv.slice(3));
  const { scenarios, runs } = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('run the bench as root (the lab and its network namespaces need it)');
  await ensurePackages();
  let lab: LabInfo;
  try {
    lab = readLab();
  } catch {
    lab = await labUp(3);
  }
  if (lab.hosts.length < 3) lab = await labUp(3);
  const shipit = await snapshotShipit();
  await ensureNamespace(CLIENT_NS, lab.bridge);
  await ensureNamespace(BALANCER_NS, lab.bridge);
  const started = new Date();
  const results: Record<string, unknown> = { startedAt: started.toISOString(), shipit: shipit.revision, machine: await machine(), runs, scenarios };
  const reports: string[] = [];
  const save = () => {
    mkdirSync(RESULTS, { recursive: true });
    const text = `${JSON.stringify(results, null, 2)}\n`;
    writeFileSync(join(RESULTS, `${started.toISOString().replace(/[:.]/g, '-')}.json`), text);
    writeFileSync(join(RESULTS, 'latest.json'), text);
  };
  try {
    for (const scenario of scenarios) {
      log(`=== ${scenario}`);
      const { result, report } =
        scenario === 'zero-downtime'
          ? await zeroDowntime(lab)
          : scenario === 'speed'
            ? await speed(lab, runs)
            : scenario === 'incremental'
              ? await incremental(lab, Math.max(3, Math.min(runs, 5)))
              : await scale(lab, Math.max(3, Math.min(runs, 5)));
      results[scenario] = result;
      reports.push(report);
      process.stdout.write(report);
      save();
      lab = readLab();
    }
  } finally {
    await deleteNamespace(CLIENT_NS);
    await deleteNamespace(BALANCER_NS);
    save();
  }
  const m = results.machine as Record<string, string>;
  process.stdout.write(`\n${'='.repeat(100)}\nMachine: ${m.cpu}, ${m.memory}, ${m.os}, kernel ${m.kernel}; shipit ${shipit.revision}\n${reports.join('')}`);
  process.stdout.write(`\nresults: bench/results/latest.json\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
