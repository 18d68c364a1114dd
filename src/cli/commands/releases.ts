import { buildReleaseReport, formatReleaseTable } from '../../rollout/releases.js';
import { loadEnvironment, readReachable } from '../fleet.js';
import type { GlobalOptions } from '../options.js';
import { unreachableError } from '../unreachable.js';

/**
 * `shipit releases <env>`: every release the hosts know, its state across the fleet, and where hosts disagree.
 * The report covers the hosts that could be reached; the others are listed with why, and the command exits 3.
 */
export async function releasesCommand(env: string, options: GlobalOptions): Promise<void> {
  const config = await loadEnvironment(env, options, { secrets: 'optional' });
  const { hosts, results, unreachable } = await readReachable(config, options, (host) => host.inspect());
  const report = buildReleaseReport(results);
  const missing = unreachable.map(({ host, reason }) => ({ host, reason }));
  if (options.json) {
    // A fleet with a host nobody could read is not known to be consistent.
    const consistent = report.disagreements.length === 0 && missing.length === 0;
    process.stdout.write(`${JSON.stringify({ environment: env, app: config.app, consistent, ...report, unreachable: missing })}\n`);
  } else {
    process.stdout.write(formatReleaseTable(report, missing));
  }
  if (unreachable.length > 0) throw unreachableError(unreachable, hosts.length);
}
