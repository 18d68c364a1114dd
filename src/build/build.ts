import type { BuildConfig } from '../config/types.js';
import { ShipitError } from '../lib/errors.js';

/** Runs the configured build command locally, in the config file's directory, through the shell. */
export async function runBuild(build: BuildConfig, cwd: string, options: { signal?: AbortSignal; verbose?: boolean } = {}): Promise<void> {
  if (!build.command) return;
  // Loaded only when there is a build command to run.
  const { execa } = await import('execa');
  const result = await execa(build.command, {
    cwd,
    shell: true,
    reject: false,
    all: true,
    cancelSignal: options.signal,
    stdout: options.verbose ? ['pipe', 'inherit'] : 'pipe',
    stderr: options.verbose ? ['pipe', 'inherit'] : 'pipe',
  });
  if (result.exitCode !== 0 || result.isCanceled) {
    const tail = String(result.all ?? '').trim().split('\n').slice(-15).join('\n');
    throw new ShipitError('BUILD_FAILED', `build command \`${build.command}\` failed (${result.isCanceled ? 'interrupted' : `exit ${result.exitCode}`})${tail ? `:\n${tail}` : ''}`, {
      hint: 'run the build command yourself in the config directory to see the whole output',
    });
  }
}
