import type { ResolvedConfig } from '../config/types.js';
import type { Prerequisite, ReleaseMeta, ReleaseSpec } from '../host/types.js';
import { quote } from '../remote/quote.js';
import { renderEnvFile, renderUnits } from '../units/render.js';
import { openArtifactTar, type Artifact } from './artifact.js';

/** What the host must have for the preset to run, checked in prepare before anything is written. */
export function prerequisites(config: ResolvedConfig): Prerequisite[] {
  const { server } = config;
  switch (server.preset) {
    case 'gunicorn': {
      const workerModule = server.workerClass.split('.').slice(0, -1).join('.');
      return [
        { check: 'command -v gunicorn', message: 'gunicorn is not installed (Debian: apt-get install gunicorn)' },
        {
          check: `python3 -c ${quote(`import ${workerModule}`)}`,
          message: `the worker class module ${workerModule} cannot be imported (Debian: apt-get install python3-uvicorn)`,
        },
      ];
    }
    case 'node':
      return [{ check: 'command -v node', message: 'node is not installed (Debian: apt-get install nodejs)' }];
    case 'command':
      return [];
  }
}

/** Everything a host needs to stage the release: files, units, env, checks. */
export function makeReleaseSpec(config: ResolvedConfig, artifact: Artifact, meta: ReleaseMeta): ReleaseSpec {
  return {
    meta,
    files: artifact.files,
    openTar: (paths) => openArtifactTar(artifact, paths),
    units: renderUnits(config),
    env: renderEnvFile(config.server.env),
    secrets: renderEnvFile(config.server.secrets),
    prerequisites: prerequisites(config),
    // The release itself, plus room for one more and the temporary copy.
    diskBytes: artifact.bytes * 2 + 16 * 1024 * 1024,
  };
}
