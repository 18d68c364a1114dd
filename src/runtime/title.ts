/**
 * Process titles, as `ps` and `pgrep -f` show them: `shipit-runtime: <name> master` and
 * `shipit-runtime: <name> worker <slot>`. The name is the app's (the node unit passes `--name <app>`), so that with
 * two apps on one host `pgrep -f 'shipit-runtime: shop worker 2'` finds one process, not one per app.
 *
 * Linux bounds the title: Node (libuv's uv_set_process_title) writes it over the process's original argv strings
 * and cuts it to their length less one byte; `process.title` then reads back the cut text (/proc/<pid>/cmdline
 * shows the same). Under the unit the master's argv is `node .shipit/runtime/main.js` (28 characters of room):
 * `shipit-runtime: master` fitted, a name would not. Passing the name as arguments brings its own room:
 * `--name <app>` adds 8 + length(app) bytes, the name adds 1 + length(app) to the title, so the master's title
 * always fits (23 + length(app) characters in 36 + length(app)), and workers, forked with the same arguments
 * after an absolute path to main.js, have more. Run by hand with a short command line the title may still be
 * cut; main.ts says so in the log instead of failing.
 */
import { RuntimeConfigError } from './config.js';

export const TITLE_PREFIX = 'shipit-runtime:';

export type TitleRole = { kind: 'master' } | { kind: 'worker'; slot: number };

export function processTitle(role: TitleRole, name: string | undefined): string {
  const what = role.kind === 'master' ? 'master' : `worker ${role.slot}`;
  return name === undefined ? `${TITLE_PREFIX} ${what}` : `${TITLE_PREFIX} ${name} ${what}`;
}

/**
 * `--name <app>` or `--name=<app>` among the runtime's arguments (process.argv after the script). `rest` is
 * the arguments without it: workers give the app that, so an app that parses process.argv (minimist, yargs)
 * never sees an option that is not its own.
 */
export function takeNameArg(args: readonly string[]): { name: string | undefined; rest: string[] } {
  const rest: string[] = [];
  let name: string | undefined;
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i]!;
    if (arg === '--name') {
      const value = args[i + 1];
      if (value === undefined || value.trim() === '') throw new RuntimeConfigError('--name', 'needs a value: the app name for process titles, e.g. --name shop');
      name = value;
      i += 1;
    } else if (arg.startsWith('--name=')) {
      name = arg.slice('--name='.length);
      if (name.trim() === '') throw new RuntimeConfigError('--name', 'needs a value: the app name for process titles, e.g. --name=shop');
    } else {
      rest.push(arg);
    }
  }
  return { name, rest };
}
