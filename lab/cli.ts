// `npm run lab -- up [N] | down | status [--json]`: the lab's only entry point; prints errors once and exits.
import { LabError, log } from './exec.js';

const USAGE = `usage: npm run lab -- <command>
  up [N]           tear down any existing lab, then boot N hosts (default 3): web1..webN on 10.213.37.11..
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
      const count = rest[0] === undefined ? 3 : Number(rest[0]);
      const info = await withLabLock('up', () => labUp(count));
      process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
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
