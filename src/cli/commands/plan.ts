import { formatDuration } from '../../lib/duration.js';
import { ShipitError } from '../../lib/errors.js';
import { createRedactor } from '../../lib/redact.js';
import { DryRunRecorder, previewDeploy } from '../../rollout/preview.js';
import { closeFleet, commandLogger, connectInBackground, loadEnvironment, selectHosts } from '../fleet.js';
import type { PlanOptions } from '../options.js';
import { buildRelease } from '../release.js';
import { describeLeftOut } from '../render/left-out.js';
import { formatPlan } from '../render/plan.js';
import { lockInfo } from '../session.js';
import { sensitiveValues } from '../../config/sensitive.js';

/**
 * `shipit plan <env>` and `shipit deploy <env> --dry-run`: what a deploy would do, changing nothing on any host.
 * The build runs locally (what ships decides what would be sent); on the hosts only read-only steps run.
 * When the deploy would fail before changing anything (lock held, prerequisite missing), the plan is printed
 * and the command exits with the code the deploy would have.
 */
export async function planCommand(env: string, options: PlanOptions): Promise<void> {
  const config = await loadEnvironment(env, options);
  const targets = selectHosts(config, options.host);
  const redact = createRedactor(sensitiveValues(config.server));
  const say = (line: string) => process.stderr.write(`${redact(line)}\n`);
  const recorder = new DryRunRecorder();
  const verbose = commandLogger(options, redact);
  // Connected while the build runs, as a deploy does; a failed build closes the connections.
  const pending = connectInBackground(config, targets, {
    ...options,
    dryRun: recorder.record,
    onCommand: (info) => {
      recorder.ran(info);
      verbose?.(info);
    },
  });
  const { spec, files, bytes, leftOut, git, notes } = await buildRelease(config, options, {
    emit: (event) => {
      if (event.type === 'phase.finished' && config.build.command) say(`build \`${config.build.command}\` done in ${formatDuration(event.durationMs)}`);
    },
  }).catch(async (error: unknown) => {
    await pending.close();
    throw error;
  });
  for (const note of notes) say(note);
  const hosts = await pending.hosts;
  let preview;
  try {
    preview = await previewDeploy({ config, hosts, recorder, lock: lockInfo(spec.meta.id, options.message) }, spec);
  } finally {
    await closeFleet(hosts);
  }
  if (options.json) {
    process.stdout.write(`${redact(JSON.stringify({ environment: env, app: config.app, artifact: { files, bytes, leftOut, gitignore: git }, ...preview }))}\n`);
  } else {
    process.stdout.write(redact(formatPlan(preview, { environment: env, files, bytes, leftOut: describeLeftOut(leftOut), gitignore: git })));
  }
  const blocker = preview.blockers[0];
  if (blocker) {
    throw new ShipitError(blocker.code, `a deploy now would fail: ${preview.blockers.map((b) => b.message).join('; ')}`, {
      hint: blocker.code === 'LOCK_HELD' ? `see \`shipit lock status ${env}\`` : undefined,
    });
  }
}
