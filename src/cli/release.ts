import { isAbsolute, relative, resolve, sep } from 'node:path';
import { scanArtifact, withGeneratedFiles } from '../build/artifact.js';
import { openHashCache } from '../build/hash-cache.js';
import { presetFiles } from '../build/preset-files.js';
import { runBuild } from '../build/build.js';
import { makeReleaseSpec } from '../build/release.js';
import type { ResolvedConfig } from '../config/types.js';
import { cacheDir } from '../lib/cache-dir.js';
import type { ReleaseSpec } from '../host/types.js';
import { newReleaseId } from '../rollout/plan.js';
import { gitRevision, whoAmI } from './identity.js';
import type { Renderer } from './render/renderer.js';

/** The local half of a deploy, shared by `deploy` and `plan`: build (unless skipped), hash, describe the release. */
export async function buildRelease(
  config: ResolvedConfig,
  options: { skipBuild?: boolean; verbose?: boolean },
  renderer: Pick<Renderer, 'emit'>,
): Promise<{ spec: ReleaseSpec; files: number; bytes: number }> {
  if (!options.skipBuild) {
    renderer.emit({ type: 'phase.started', phase: 'build' });
    const started = Date.now();
    await runBuild(config.build, config.configDir, { verbose: options.verbose });
    renderer.emit({ type: 'phase.finished', phase: 'build', durationMs: Date.now() - started });
  }
  // Two git processes, while the files are hashed.
  const revision = gitRevision(config.configDir);
  // Dependency sets load execa (npm) and their hashing code: only for the configs that have one.
  const deps = config.server.python || config.server.npm ? await import('../build/deps.js') : undefined;
  const cache = await openHashCache(cacheDir(), config.build.dir);
  const scanned = await scanArtifact(config.build.dir, { exclude: [...(deps?.depsExcludes(config) ?? []), ...configInside(config)], cache });
  // Written while the rest is prepared (save never throws).
  const saved = cache.save();
  const artifact = await withGeneratedFiles(scanned, presetFiles(config));
  const spec = makeReleaseSpec(config, artifact, {
    id: newReleaseId(new Date(), new Set()),
    createdAt: new Date().toISOString(),
    by: whoAmI(),
    revision: await revision,
    state: 'staged',
  }, (await deps?.dependencySpecs(config)) ?? []);
  await saved;
  return { spec, files: artifact.files.length, bytes: artifact.bytes };
}

/**
 * The config file, when it lies inside the build dir (`build.dir: '.'`, `shipit init`'s default): it is the
 * deployer's, may hold secrets, and never ships.
 */
export function configInside(config: ResolvedConfig): string[] {
  const rel = relative(resolve(config.configDir, config.build.dir), resolve(config.configDir, config.configFile));
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? [] : [rel.split(sep).join('/')];
}
