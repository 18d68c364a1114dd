// `npm run lab -- up [N] [--isolated M] | isolate [M] | down | status [--json]`: the lab's only entry point;
// prints errors once and exits.
import { LabError, log } from './exec.js';

const USAGE = `usage: npm run lab -- <command>
  up [N] [--isolated M]
                   tear down any existing lab, then boot N hosts (default 3): web1..webN on 10.213.37.11..;
                   with --isolated M, also web<N+1>..web<N+M> on bridge shipitlab1 (10.213.38.0/24), which
                   this machine cannot reach: only through web1 (10.213.38.11 there), e.g. ssh -J
  isolate [M]      add M isolated hosts (default 1) to the running lab, without restarting the others
  down             stop and remove everything the lab made (idempotent)
  status [--json]  host table, or the lab description (lab.json) as JSON`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'up': {
      const [{ labUp }, { checkPrerequisites }, { withLabLock }] = await Promise.all([
        import('./up.js'),
        import('./prerequisites.js'),
        import('./lock.js'),
      ]);
      await checkPrerequisites();
      const { positional, isolated } = parseUpArgs(rest);
      const count = positional === undefined ? 3 : Number(positional);
      const info = await withLabLock('up', () => labUp(count, isolated));
      process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
      return 0;
    }
    case 'isolate': {
      const [{ startIsolatedHosts }, { checkPrerequisites }, { withLabLock }, { readLabFile, writeLabFile }] = await Promise.all([
        import('./isolated.js'),
        import('./prerequisites.js'),
        import('./lock.js'),
        import('./lab-file.js'),
      ]);
      await checkPrerequisites();
      const count = rest[0] === undefined ? 1 : Number(rest[0]);
      const info = await withLabLock('isolate', async () => {
        const current = readLabFile();
        if (!current) throw new LabError('the lab is not up', 'run `npm run lab -- up 3 --isolated 1` instead');
        const next = await startIsolatedHosts(current, count);
        await writeLabFile(next);
        return next;
      });
      process.stdout.write(`${JSON.stringify(info.isolated, null, 2)}\n`);
      return 0;
    }
    case 'down': {
      const [{ teardown }, { checkPrerequisites }, { withLabLock }] = await Promise.all([
        import('./teardown.js'),
        import('./prerequisites.js'),
        import('./lock.js'),
      ]);
      await checkPrerequisites();
      await withLabLock('down', teardown);
      log('down: nothing of the lab is left');
      return 0;
    }
    case 'status': {
      const { labStatus } = await import('./status.js');
      return labStatus(rest.includes('--json'));
    }
    case undefined:
    case '-h':
    case '--help':
      process.stdout.write(`${USAGE}\n`);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`unknown command: ${command}\n${USAGE}\n`);
      return 2;
  }
}

/** `up` arguments: an optional host count and `--isolated M` (or `--isolated=M`), in any order. */
function parseUpArgs(args: string[]): { positional: string | undefined; isolated: number } {
  let positional: string | undefined;
  let isolated = 0;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--isolated' || arg.startsWith('--isolated=')) {
      const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : args[++i];
      isolated = Number(value);
      if (value === undefined || !Number.isInteger(isolated) || isolated < 0) throw new RangeError(`--isolated takes a host count, got ${value ?? 'nothing'}`);
    } else if (positional === undefined && !arg.startsWith('-')) {
      positional = arg;
    } else {
      throw new RangeError(`up: unexpected argument ${arg}`);
    }
  }
  return { positional, isolated };
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof LabError || error instanceof RangeError) {
      process.stderr.write(`lab: error: ${error.message}\n`);
      if (error instanceof LabError && error.hint) process.stderr.write(`lab: hint: ${error.hint}\n`);
    } else {
      process.stderr.write(`lab: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    }
    process.exit(1);
  },
);
