import type { EnvChange, EnvFiles } from './types.js';

/**
 * Which variables of shared/env and shared/secrets.env a deploy would add, change or remove on a host: names only.
 * `shipit plan` shows them; the stage script, which writes the files, shows no value and no length.
 *
 * The comparison runs on the host (envChangesScript), in the read step plan already makes: the deployer sends the
 * variable lines it would write on stdin, as a stage does, and the host prints the names that differ. Nothing
 * derived from a value comes back (a digest of a short secret would be brute-forced from a log), and the host
 * receives nothing a deploy would not send it. One awk, no process per variable.
 */

/** `NAME=…` lines of an EnvironmentFile text (renderEnvFile: one variable a line), by name. */
export function envLines(text: string): Map<string, string> {
  const lines = new Map<string, string>();
  for (const line of text.split('\n')) {
    const name = /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(line)?.[1];
    if (name !== undefined) lines.set(name, line);
  }
  return lines;
}

/** What envChangesScript reads on stdin: each variable line of `desired`, after `+e ` (env) or `+s ` (secrets). */
export function envChangesInput(desired: EnvFiles): string {
  const tagged = (tag: string, text: string) => [...envLines(text).values()].map((line) => `+${tag} ${line}\n`).join('');
  return tagged('e', desired.env) + tagged('s', desired.secrets);
}

/** The changes from `installed` (null: neither file exists) to `desired`; what the host computes, in memory. */
export function diffEnvFiles(installed: EnvFiles | null, desired: EnvFiles): EnvChange[] {
  const changes: EnvChange[] = [];
  for (const file of ['env', 'secrets'] as const) {
    const have = envLines(installed?.[file] ?? '');
    const want = envLines(desired[file]);
    for (const [name, line] of want) {
      if (!have.has(name)) changes.push({ file, name, change: 'added' });
      else if (have.get(name) !== line) changes.push({ file, name, change: 'changed' });
    }
    for (const name of have.keys()) if (!want.has(name)) changes.push({ file, name, change: 'removed' });
  }
  return sortChanges(changes);
}

/** envChangesScript's `env<TAB>added|changed|removed<TAB>e|s NAME` lines. */
export function parseEnvChanges(stdout: string): EnvChange[] {
  const changes: EnvChange[] = [];
  for (const line of stdout.split('\n')) {
    const match = /^env\t(added|changed|removed)\t([es]) ([A-Za-z_][A-Za-z0-9_]*)$/.exec(line);
    if (match) changes.push({ file: match[2] === 's' ? 'secrets' : 'env', name: match[3]!, change: match[1] as EnvChange['change'] });
  }
  return sortChanges(changes);
}

/** env before secrets, then by name: awk's `for (x in a)` has no order. */
function sortChanges(changes: EnvChange[]): EnvChange[] {
  return changes.sort((a, b) => (a.file === b.file ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.file === 'env' ? -1 : 1));
}
