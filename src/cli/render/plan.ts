import type { EnvChange } from '../../host/types.js';
import type { GitIgnored } from '../../build/git-ignored.js';
import type { DeployPreview, PreviewPhase, PreviewStep } from '../../rollout/preview.js';

/** Whether .gitignore was applied to build.dir (git-ignored.ts), or build.gitignore is false. */
type GitignoreStatus = GitIgnored['status'] | 'off';

const PHASE_TITLES: Record<PreviewPhase, string> = {
  inspect: 'inspect (read-only: ran now)',
  lock: 'lock',
  prepare: 'prepare (the prerequisite check is read-only and ran now)',
  rollout: 'rollout',
  finish: 'finish (mark, prune, unlock: one step per host)',
  revert: 'only if the rollout fails: every touched host back to what it ran before',
};

/** Groups equal items (same key) and lists the hosts that share each, in order of first appearance. */
function byHosts<T>(items: { host: string; value: T; key: string }[], order: readonly string[]): { hosts: string[]; value: T }[] {
  const groups = new Map<string, { hosts: string[]; value: T }>();
  for (const item of items) {
    const group = groups.get(item.key);
    if (group) group.hosts.push(item.host);
    else groups.set(item.key, { hosts: [item.host], value: item.value });
  }
  const rank = (host: string) => order.indexOf(host);
  for (const group of groups.values()) group.hosts.sort((a, b) => rank(a) - rank(b));
  return [...groups.values()];
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * What the service on a deployed host is doing when it is not simply running `current`: stopped (by hand, or
 * crashed), which the deploy's restart undoes, or running another release (`current` repointed, no restart).
 */
function serviceNote(h: DeployPreview['hosts'][number]): string {
  if (h.current === null || h.service === null) return '';
  if (h.service.active !== 'active') return ` (service ${h.service.active}/${h.service.sub}: the deploy starts it)`;
  if (h.service.runs !== null && h.service.runs !== h.current) return ` (the service runs ${h.service.runs})`;
  return '';
}

/** The text of `shipit plan`: summary, batches, unit diffs, files, then every remote command by phase. */
export function formatPlan(
  preview: DeployPreview,
  context: { environment: string; files: number; bytes: number; leftOut?: string; gitignore?: GitignoreStatus },
): string {
  const out: string[] = [];
  const hostNames = preview.hosts.map((h) => h.host);
  const width = Math.max(4, ...hostNames.map((h) => h.length));
  out.push(`plan: deploy ${preview.release} to ${context.environment} (${plural(hostNames.length, 'host')}); nothing was changed on any host`);
  out.push(`artifact: ${plural(context.files, 'file')}, ${Math.ceil(context.bytes / 1024)} KiB`);
  if (context.leftOut) out.push(`  ${context.leftOut}`);
  // Said in the plan only: a deploy of a build output would repeat it every time.
  if (context.gitignore === 'dir-ignored') out.push('  build.dir is ignored by git as a whole (a build output): it ships whole, .gitignore is not applied inside it');
  out.push('', 'hosts:');
  for (const h of preview.hosts) {
    const files = h.files
      ? h.files.alreadyStaged
        ? 'already staged'
        : `send ${plural(h.files.sent, 'file')}, reuse ${h.files.reused}${h.files.base ? ` from ${h.files.base}` : ''}`
      : 'cannot prepare (see below)';
    const units = h.units.filter((u) => u.change !== 'unchanged').map((u) => `${u.name} ${u.change}`);
    out.push(
      `  ${h.host.padEnd(width)}  ${h.current === null ? 'not deployed yet (first release)' : `now on ${h.current}`}${serviceNote(h)}; ${files}; units: ${units.length > 0 ? units.join(', ') : 'unchanged'}${h.lock ? '; LOCKED' : ''}`,
    );
  }
  out.push('', `batches: ${preview.batches.map((b, i) => `${i + 1}) ${b.join(', ')}`).join('  ')}`);

  const unitGroups = byHosts(preview.hosts.flatMap((h) => h.units.filter((u) => u.change !== 'unchanged').map((u) => ({ host: h.host, value: u, key: `${u.name}\0${u.diff}` }))), hostNames);
  if (unitGroups.length > 0) {
    out.push('', 'unit files that would change:');
    for (const { hosts, value } of unitGroups) {
      out.push(`${hosts.join(', ')}: ${value.path} (${value.change})`);
      out.push(value.diff.trimEnd());
    }
  }

  const envGroups = byHosts(preview.hosts.flatMap((h) => (h.env === null ? [] : [{ host: h.host, value: h.env, key: describeEnvChanges(h.env) }])), hostNames);
  if (envGroups.length > 0) {
    out.push('', 'shared/env and shared/secrets.env against what each host has now (names only, never values):');
    for (const { hosts, value } of envGroups) out.push(`  ${hosts.join(', ')}: ${describeEnvChanges(value)}`);
  }

  const sentGroups = byHosts(preview.hosts.flatMap((h) => (h.files && h.files.sentPaths.length > 0 ? [{ host: h.host, value: h.files.sentPaths, key: h.files.sentPaths.join('\0') }] : [])), hostNames);
  if (sentGroups.length > 0) {
    out.push('', 'files that would be sent (the others are linked on the host from the current release):');
    for (const { hosts, value } of sentGroups) {
      const shown = value.slice(0, 50);
      out.push(`  ${hosts.join(', ')}: ${shown.join(' ')}${value.length > shown.length ? ` … and ${value.length - shown.length} more` : ''}`);
    }
  }

  const prunes = preview.hosts.filter((h) => h.prune.length > 0);
  if (prunes.length > 0) {
    out.push('', 'releases pruned after success:');
    for (const h of prunes) out.push(`  ${h.host.padEnd(width)}  ${h.prune.join(' ')}`);
  }

  out.push('', 'remote commands, by phase (hosts sharing a command are listed together):');
  const printed = new Set<string>();
  for (const section of sections(preview.steps)) {
    out.push('', `== ${section.title} ==`);
    const groups = byHosts(section.steps.map((s) => ({ host: s.host, value: s, key: `${s.label}\0${s.readOnly ? '' : s.command}\0${s.stdin ?? ''}` })), hostNames);
    for (const { hosts, value } of groups) {
      if (value.readOnly) {
        out.push(`# ${hosts.join(', ')}: ${value.label}`);
        continue;
      }
      out.push(`# ${hosts.join(', ')}: ${value.label}${value.stdin !== null ? `  (stdin: ${oneLine(value.stdin)})` : ''}`);
      out.push(printed.has(value.command) ? '$ (the same command as above)' : `$ ${value.command}`);
      printed.add(value.command);
    }
  }
  if (preview.blockers.length > 0) {
    out.push('', 'a deploy now would stop before changing anything:');
    for (const b of preview.blockers) out.push(`  ! ${b.message}`);
  }
  return `${out.join('\n')}\n`;
}

/** `env: LOG_LEVEL changed, NEW added; secrets: DATABASE_URL changed`, or `unchanged`. */
function describeEnvChanges(changes: readonly EnvChange[]): string {
  const parts = (['env', 'secrets'] as const).flatMap((file) => {
    const of = changes.filter((c) => c.file === file);
    return of.length > 0 ? [`${file}: ${of.map((c) => `${c.name} ${c.change}`).join(', ')}`] : [];
  });
  return parts.length > 0 ? parts.join('; ') : 'unchanged';
}

function sections(steps: PreviewStep[]): { title: string; steps: PreviewStep[] }[] {
  const out: { title: string; steps: PreviewStep[] }[] = [];
  for (const step of steps) {
    const title = step.phase === 'rollout' ? `rollout, batch ${step.batch}` : PHASE_TITLES[step.phase];
    const last = out.at(-1);
    if (last && last.title === title) last.steps.push(step);
    else out.push({ title, steps: [step] });
  }
  return out;
}

function oneLine(text: string): string {
  const flat = text.replace(/\0/g, '\\0').replace(/\n/g, '\\n');
  return flat.length > 160 ? `${flat.slice(0, 157)}...` : flat;
}
