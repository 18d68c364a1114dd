import { scanArtifact, withGeneratedFiles } from '../../build/artifact.js';
import { presetFiles } from '../../build/preset-files.js';
import { runBuild } from '../../build/build.js';
import { makeReleaseSpec } from '../../build/release.js';
import { deploy } from '../../rollout/deploy.js';
import { newReleaseId } from '../../rollout/plan.js';
import { gitRevision, whoAmI } from '../identity.js';
import { loadEnvironment, selectHosts } from '../fleet.js';
import type { DeployOptions } from '../options.js';
import { finish, makeRenderer, runFleetOperation } from '../session.js';

export async function deployCommand(env: string, options: DeployOptions): Promise<void> {
  const config = await loadEnvironment(env, options);
  const hosts = selectHosts(config, options.host).map((h) => h.name);
  const renderer = makeRenderer(options, hosts, Object.values(config.server.secrets));
  try {
    if (!options.skipBuild) {
      renderer.emit({ type: 'phase.started', phase: 'build' });
      const started = Date.now();
      await runBuild(config.build, config.configDir, { verbose: options.verbose });
      renderer.emit({ type: 'phase.finished', phase: 'build', durationMs: Date.now() - started });
    }
    const artifact = await withGeneratedFiles(await scanArtifact(config.build.dir), presetFiles(config));
    const id = newReleaseId(new Date(), new Set());
    const spec = makeReleaseSpec(config, artifact, {
      id,
      createdAt: new Date().toISOString(),
      by: whoAmI(),
      revision: await gitRevision(config.configDir),
      state: 'staged',
    });
    renderer.info(`deploying ${id} (${artifact.files.length} files, ${Math.round(artifact.bytes / 1024)} KiB) to ${hosts.join(', ')}`);
    const outcome = await runFleetOperation(config, options, id, (ctx) => deploy(ctx, spec), renderer);
    finish(outcome, 'deploy', renderer);
  } finally {
    await renderer.close();
  }
}
