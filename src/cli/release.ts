import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, posix, relative, resolve, sep } from 'node:path';
import { scanArtifact, withGeneratedFiles, type LeftOut } from '../build/artifact.js';
import { listGitIgnored, type GitIgnored } from '../build/git-ignored.js';
import { openHashCache } from '../build/hash-cache.js';
import { checkGunicornModule } from '../build/gunicorn-module.js';
import { presetFiles } from '../build/preset-files.js';
import { runBuild } from '../build/build.js';
import { makeReleaseSpec } from '../build/release.js';
import { findNodeEngines, uncheckedEngines } from '../build/node-engines.js';
import { sensitiveValues } from '../config/sensitive.js';
import type { ResolvedConfig } from '../config/types.js';
import { createRedactor } from '../lib/redact.js';
import { ShipitError } from '../lib/errors.js';
import { readOptionalText } from '../lib/read-optional.js';
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
): Promise<{ spec: ReleaseSpec; files: number; bytes: number; leftOut: LeftOut[]; git: GitIgnored['status'] | 'off'; notes: string[] }> {
  if (!options.skipBuild) {
    renderer.emit({ type: 'phase.started', phase: 'build' });
    const started = Date.now();
    // The build has the deployer's environment, the config's secrets with it: what it prints is redacted, and
    // --verbose's echo goes to stderr like every verbose line (stdout stays the events' under --json).
    const redact = createRedactor(sensitiveValues(config.server));
    await runBuild(config.build, config.configDir, { redact, echo: options.verbose ? (line) => process.stderr.write(`${line}\n`) : undefined });
    renderer.emit({ type: 'phase.finished', phase: 'build', durationMs: Date.now() - started });
  }
  // After the build, which may write files git ignores into build.dir; git runs while the rest loads. Handled
  // here, awaited below: a failure must not count as unhandled while the awaits in between run.
  const ignored = config.build.gitignore ? listGitIgnored(config.build.dir) : undefined;
  ignored?.catch(() => {});
  // Two git processes, while the files are hashed.
  const revision = gitRevision(config.configDir);
  // Dependency sets load execa (npm) and their hashing code: only for the configs that have one.
  const deps = config.server.python || config.server.npm ? await import('../build/deps.js') : undefined;
  const cache = await openHashCache(cacheDir(), config.build.dir);
  const git = await ignored;
  const scanned = await scanArtifact(config.build.dir, {
    exclude: [...(deps?.depsExcludes(config) ?? []), ...configInside(config)],
    patterns: config.build.exclude,
    gitIgnored: git?.paths,
    cache,
  });
  // Written while the rest is prepared (save never throws).
  const saved = cache.save();
  const shipped = new Set(scanned.files.map((f) => f.path));
  if (config.server.preset === 'node') checkNodeEntry(config, shipped, packageType, scanned.leftOut);
  if (config.server.preset === 'gunicorn') {
    const buildDir = resolve(config.configDir, config.build.dir);
    checkGunicornModule(config, shipped, buildDir, (path) => readFileSync(join(buildDir, path), 'utf8'));
  }
  const artifact = await withGeneratedFiles(scanned, presetFiles(config));
  const engines = config.server.preset === 'node' ? findNodeEngines(resolve(config.configDir, config.build.dir), config.server.module) : undefined;
  // One instant for both: a release renamed after the lock keeps its id's second (rollout/deploy.ts renameIfTaken).
  const now = new Date();
  const spec = makeReleaseSpec(config, artifact, {
    id: newReleaseId(now, new Set()),
    createdAt: now.toISOString(),
    by: whoAmI(),
    revision: await revision,
    state: 'staged',
    readiness: config.health.readiness,
  }, (await deps?.dependencySpecs(config)) ?? [], engines);
  await saved;
  const unchecked = uncheckedEngines(engines);
  return { spec, files: artifact.files.length, bytes: artifact.bytes, leftOut: scanned.leftOut, git: git?.status ?? 'off', notes: unchecked === undefined ? [] : [unchecked] };
}

/**
 * The config file, when it lies inside the build dir (`build.dir: '.'`, `shipit init`'s default): it is the
 * deployer's, may hold secrets, and never ships.
 */
export function configInside(config: ResolvedConfig): string[] {
  const rel = relative(resolve(config.configDir, config.build.dir), resolve(config.configDir, config.configFile));
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? [] : [rel.split(sep).join('/')];
}

/**
 * The node preset's entry must ship, and load on the hosts as it does here. Checked before any host is touched
 * (exit 2): a missing entry otherwise fails only at the canary's restart. Node decides ESM or CommonJS for a
 * `.js` file from the nearest package.json: here that may be the project's, above build.dir, which does not ship,
 * so on the hosts the same file would load as CommonJS ("Cannot use import statement outside a module").
 */
export function checkNodeEntry(
  config: ResolvedConfig,
  shipped: ReadonlySet<string>,
  readPackageType: (file: string) => string | undefined = packageType,
  leftOut: readonly LeftOut[] = [],
): void {
  const entry = posix.normalize(config.server.module).replace(/^\.\//, '');
  const buildDir = resolve(config.configDir, config.build.dir);
  const left = leftOut.find((l) => l.path === entry || (l.path.endsWith('/') && entry.startsWith(l.path)));
  if (!shipped.has(entry) && left !== undefined) {
    // The file is there but was left out: say by what, not that it is missing (a TypeScript project shipped
    // whole, `build.dir: '.'`, whose .gitignore lists its build output `dist/`).
    throw new ShipitError('CONFIG_INVALID', `server.module: ${JSON.stringify(config.server.module)} does not ship: ${leftOutBecause(left)}`, {
      hint:
        left.reason === 'git'
          ? `point build.dir at the build's output${left.path.endsWith('/') ? ` (build.dir: '${relative(config.configDir, join(buildDir, left.path)).split(sep).join('/')}', server.module: '${entry.slice(left.path.length)}')` : ''}, or set build.gitignore: false to ship what git ignores`
          : left.reason === 'build.exclude'
            ? 'take it out of build.exclude'
            : 'name a file that ships',
    });
  }
  if (!shipped.has(entry)) {
    throw new ShipitError('CONFIG_INVALID', `server.module: ${JSON.stringify(config.server.module)} is not a file in build.dir (${buildDir})`, {
      hint: 'name the entry file relative to build.dir (e.g. server.js for build.dir/server.js), or check that build.command writes it',
    });
  }
  if (!entry.endsWith('.js')) return;
  // The nearest package.json inside the release decides there.
  for (let dir = posix.dirname(entry); ; dir = posix.dirname(dir)) {
    if (shipped.has(dir === '.' ? 'package.json' : `${dir}/package.json`)) return;
    if (dir === '.') break;
  }
  for (let dir = buildDir; ; dir = dirname(dir)) {
    const type = readPackageType(join(dir, 'package.json'));
    if (type !== undefined) {
      if (type !== 'module') return;
      throw new ShipitError(
        'CONFIG_INVALID',
        `server.module: ${entry} is an ES module here (${join(dir, 'package.json')} says "type": "module"), but build.dir ships no package.json, so on the hosts Node would load it as CommonJS`,
        { hint: `ship a package.json with {"type": "module"} in build.dir (e.g. from build.command: echo '{"type":"module"}' > ${config.build.dir}/package.json), or name the entry .mjs` },
      );
    }
    if (dirname(dir) === dir) return;
  }
}

/** A package.json's `type` ('' when it has none: CommonJS), undefined when there is no readable one. */
function packageType(file: string): string | undefined {
  const text = readOptionalText(file);
  if (text === undefined) return undefined;
  try {
    const type = (JSON.parse(text) as { type?: unknown }).type;
    return typeof type === 'string' ? type : '';
  } catch {
    return '';
  }
}

function leftOutBecause(left: LeftOut): string {
  const what = left.path.endsWith('/') ? `everything under ${left.path}` : left.path;
  if (left.reason === 'git') return `git ignores ${left.path} (see \`git check-ignore -v ${left.path}\`), and build.dir ships what git would track (build.gitignore)`;
  if (left.reason === 'build.exclude') return `build.exclude leaves out ${what}`;
  return `shipit never ships ${what}`;
}
