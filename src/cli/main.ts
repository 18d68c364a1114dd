import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { ExitCode, isShipitError } from '../lib/errors.js';

/**
 * argv → typed options → one library call. Command modules are imported lazily so `shipit --help` stays fast,
 * and this is the single place that prints errors and exits (STYLE.md, habits 3 and 4).
 */
const collect = (value: string, previous: string[] = []) => [...previous, value];

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function withGlobals(command: Command): Command {
  return command
    .option('-c, --config <path>', 'config file (default: deploy.config.ts and the other places cosmiconfig searches)')
    .option('--host <name>', 'act on this host only (repeatable)', collect)
    .option('--json', 'one JSON object per line on stdout, nothing else')
    .option('-v, --verbose', 'show every remote command with its timing')
    .option('--accept-new-host-keys', 'record the keys of hosts not yet in known_hosts (a changed key is always refused)');
}

export function buildProgram(): Command {
  const program = new Command('shipit')
    .description('Deploy built artifacts to Linux hosts over SSH: hardened systemd units, rolling restarts gated on readiness, automatic rollback.')
    .version(version())
    .showHelpAfterError()
    .addHelpText(
      'after',
      '\nExit codes: 0 success, 1 unexpected error, 2 config or usage error, 3 connection or host-key error,\n4 lock held, 5 failed but every host restored, 6 failed and the fleet may be inconsistent, 130 interrupted.',
    );

  withGlobals(program.command('deploy <env>'))
    .description('build, upload, and roll the new release out batch by batch, reverting every touched host if it fails')
    .option('--lock-wait <duration>', 'wait this long for another deploy\'s lock (e.g. 5m)')
    .option('-m, --message <text>', 'why: recorded in the lock and shown to anyone who finds it held')
    .option('--skip-build', 'ship build.dir as it is, without running build.command')
    .action(async (env: string, options) => (await import('./commands/deploy.js')).deployCommand(env, options));

  withGlobals(program.command('rollback <env>'))
    .description('return every host to the newest good release before the current one (or --to), rolled and gated like a deploy')
    .option('--to <release>', 'the release id to return to')
    .option('--lock-wait <duration>', 'wait this long for another deploy\'s lock')
    .option('-m, --message <text>', 'why: recorded in the lock')
    .action(async (env: string, options) => (await import('./commands/rollback.js')).rollbackCommand(env, options));

  withGlobals(program.command('status <env>'))
    .description('per host: current release, unit state and since when, workers, readiness now, lock holder')
    .action(async (env: string, options) => (await import('./commands/status.js')).statusCommand(env, options));

  program.addOption(new Option('--no-color', 'no colours (NO_COLOR is respected too)').hideHelp());
  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
    process.exitCode = ExitCode.ok;
  } catch (error) {
    process.exitCode = report(error);
  }
}

/** Prints an error once, with its hint, and returns the documented exit code. */
export function report(error: unknown, write: (text: string) => void = (t) => process.stderr.write(t)): number {
  if (isShipitError(error)) {
    write(`error: ${error.message}\n`);
    if (error.hint) write(`hint: ${error.hint}\n`);
    return error.exitCode;
  }
  write(`unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  return ExitCode.unexpected;
}
