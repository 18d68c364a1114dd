import { inspectFleet } from '../../rollout/deploy.js';
import { buildReleaseReport, formatReleaseTable } from '../../rollout/releases.js';
import { loadEnvironment, withFleet } from '../fleet.js';
import type { GlobalOptions } from '../options.js';

/** `shipit releases <env>`: every release the hosts know, its state across the fleet, and where hosts disagree. */
export async function releasesCommand(env: string, options: GlobalOptions): Promise<void> {
  const config = await loadEnvironment(env, options);
  const report = await withFleet(config, options, async (hosts) => buildReleaseReport(await inspectFleet(hosts)));
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ environment: env, app: config.app, consistent: report.disagreements.length === 0, ...report })}\n`);
  } else {
    process.stdout.write(formatReleaseTable(report));
  }
}
