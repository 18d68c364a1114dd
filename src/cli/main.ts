import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { ExitCode, isShipitError } from '../lib/errors.js';
import { missingDependency } from '../lib/error-message.js';
import { packageRoot } from '../lib/package-root.js';
import { redactLoadedSecrets } from '../lib/redact.js';
import { dropOutputWhenReaderCloses } from './closed-output.js';

/**
 * argv → typed options → one library call. Command modules are imported lazily so `shipit --help` stays fast,
 * and this is the single place that prints errors and exits (STYLE.md, habits 3 and 4).
 */
const collect = (value: string, previous: string[] = []) => [...previous, value];

function version(): string {
  try {
    return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function withGlobals(command: Command): Command {
  return command
    .option('-c, --config <path>', 'config file (default: deploy.config.ts and the other places cosmiconfig searches)')
    .option('--host <name>', 'act on this host only (repeatable)', collect)
    .option('--json', 'one JSON object per line on stdout, nothing else')
    .option('-v, --verbose', 'show every remote command with its timing')
    .option('--accept-new-host-keys', 'record the keys of hosts not yet in known_hosts (a changed key is always refused)')
    .option('--ssh-config <path>', 'OpenSSH client config for host aliases and ProxyJump (default ~/.ssh/config, then /etc/ssh/ssh_config; "none" reads none)');
}

export function buildProgram(): Command {
  const program = new Command('shipit')
    .description('Deploy built artifacts to Linux hosts over SSH: hardened systemd units, rolling restarts gated on readiness, automatic rollback.')
    .version(version())
    // Usage errors (unknown option, missing <env>) throw instead of exiting 1, and exit 2 like config errors.
    .exitOverride()
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
    .option('--dry-run', 'only show what the deploy would do, exactly like `shipit plan`: nothing changes on any host')
    .action(async (env: string, options) =>
      options.dryRun ? (await import('./commands/plan.js')).planCommand(env, options) : (await import('./commands/deploy.js')).deployCommand(env, options),
    );

  withGlobals(program.command('plan <env>'))
    .description(
      'what a deploy would do, changing nothing on any host: hosts, batches, files sent or reused, unit file diffs, and every remote command by phase (runs the build locally)',
    )
    .option('--skip-build', 'plan with build.dir as it is, without running build.command')
    .option('-m, --message <text>', 'the lock message the deploy would record')
    .action(async (env: string, options) => (await import('./commands/plan.js')).planCommand(env, options));

  withGlobals(program.command('rollback <env>'))
    .description('return every host to the newest good release before the current one (or --to), rolled and gated like a deploy')
    .option('--to <release>', 'the release id to return to')
    .option('--lock-wait <duration>', 'wait this long for another deploy\'s lock')
    .option('-m, --message <text>', 'why: recorded in the lock')
    .action(async (env: string, options) => (await import('./commands/rollback.js')).rollbackCommand(env, options));

  withGlobals(program.command('status <env>'))
    .description('per host: current release, unit state and since when, workers, readiness now, lock holder')
    .action(async (env: string, options) => (await import('./commands/status.js')).statusCommand(env, options));

  withGlobals(program.command('releases <env>'))
    .description('every release on the hosts: id, time, who, git revision, state (current/good/bad/interrupted/partial), on which hosts; flags hosts that disagree')
    .action(async (env: string, options) => (await import('./commands/releases.js')).releasesCommand(env, options));

  withGlobals(program.command('logs <env>'))
    .description("the service's journal from every host, merged in time order, each line prefixed with its host; secrets redacted")
    .option('-f, --follow', 'keep printing new lines from every host until Ctrl-C (exit 0); a host that drops out is reported and the others go on')
    .option('--since <time>', 'from this long ago (10m, 2h, 1h30m) or from a time ("2026-11-25 13:00", ISO 8601)')
    .option('-n, --lines <count>', 'the newest <count> lines across the hosts (default 100, or all since --since)')
    .addHelpText('after', '\n--json prints one object per line: host, time (ISO), timeUs, priority, identifier, pid, message.')
    .action(async (env: string, options) => (await import('./commands/logs.js')).logsCommand(env, options));

  const lock = program
    .command('lock')
    .description('the deploy lock by hand, for maintenance windows: while held, deploys and rollbacks fail fast naming the holder (exit 4)');
  withGlobals(lock.command('status <env>'))
    .description('who holds the lock on each host, since when, and why')
    .action(async (env: string, options) => (await import('./commands/lock.js')).lockStatusCommand(env, options));
  withGlobals(lock.command('acquire <env>'))
    .description('take the lock on every host and keep it after this command ends, until `shipit lock release`')
    .option('-m, --message <text>', 'why: shown to anyone whose deploy it stops')
    .option('--wait <duration>', 'wait this long for a lock someone else holds (e.g. 5m)')
    .action(async (env: string, options) => (await import('./commands/lock.js')).lockAcquireCommand(env, options));
  withGlobals(lock.command('release <env>'))
    .description('release your lock on every host; someone else\'s (or a deploy still running) only with --force')
    .option('--force', 'release the lock whoever holds it, and say whose it was')
    .action(async (env: string, options) => (await import('./commands/lock.js')).lockReleaseCommand(env, options));

  withGlobals(program.command('remove <env>'))
    .description("take the app off every host: stop and disable its units, delete the unit files shipit wrote and its deployTo (without --yes: only says what it would remove, exit 2)")
    .option('--yes', 'really remove (without it nothing changes)')
    .option('--lock-wait <duration>', 'wait this long for another deploy\'s lock (e.g. 5m)')
    .option('-m, --message <text>', 'why: recorded in the lock while it runs')
    .action(async (env: string, options) => (await import('./commands/remove.js')).removeCommand(env, options));

  withGlobals(program.command('units <env>'))
    .description('print the systemd units a deploy would install, rendered from the config; touches no host')
    .action(async (env: string, options) => (await import('./commands/units.js')).unitsCommand(env, options));

  program
    .command('init')
    .description('write a commented deploy.config.ts for a preset in the current directory (never overwrites one)')
    .addOption(new Option('--preset <preset>', 'how the app runs').choices(['gunicorn', 'node', 'command']).default('gunicorn'))
    .option('--app <name>', 'the app name (default: from the directory name)')
    .action(async (options) => (await import('./commands/init.js')).initCommand(options));

  program.addOption(new Option('--no-color', 'no colours (NO_COLOR is respected too)').hideHelp());
  return program;
}

export async function main(argv: string[]): Promise<void> {
  dropOutputWhenReaderCloses(process.stdout);
  dropOutputWhenReaderCloses(process.stderr);
  try {
    await buildProgram().parseAsync(argv);
    process.exitCode = ExitCode.ok;
  } catch (error) {
    process.exitCode = report(error);
  }
}

/** Prints an error once, with its hint, and returns the documented exit code. */
export function report(error: unknown, write: (text: string) => void = (t) => process.stderr.write(t)): number {
  // commander already printed it (and the help, or the version, which are not errors).
  if (error instanceof CommanderError) return error.exitCode === 0 ? ExitCode.ok : ExitCode.config;
  if (isShipitError(error)) {
    // Messages never hold secrets by design; a host's output quoted in one might (e.g. an app's last log lines).
    write(redactLoadedSecrets(`error: ${error.message}\n`));
    if (error.hint) write(redactLoadedSecrets(`hint: ${error.hint}\n`));
    return error.exitCode;
  }
  const missing = missingDependency(error);
  if (missing !== null) {
    write(`error: shipit's dependencies are incomplete (${missing})\nhint: run \`npm ci\` in the shipit package, or reinstall it\n`);
    return ExitCode.unexpected;
  }
  write(`unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  return ExitCode.unexpected;
}
