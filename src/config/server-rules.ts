/**
 * Rules of `server` that span several keys: what each preset needs, keys that only one preset uses, a variable
 * in both env and secrets.
 */
import type * as z from 'zod';
import { findControlOperator } from './command-line.js';
import { CONTROL_CHARS, GUNICORN_APP, SAFE_PATH_CHARS, isRecord } from './fields.js';

/** Preset-specific and cross-field rules; `server` may hold invalid field values here, hence the typeof checks. */
export function checkServerRules(server: Record<string, unknown>, ctx: z.RefinementCtx): void {
  if (!isRecord(server)) return;
  const preset = server['preset'];
  const module = typeof server['module'] === 'string' ? server['module'] : undefined;
  const command = typeof server['command'] === 'string' ? server['command'] : undefined;
  const issue = (key: string, message: string) => ctx.addIssue({ code: 'custom', path: [key], input: server[key], message });
  if (command !== undefined && module !== undefined && preset === 'command') issue('command', 'is set together with server.module: keep one of them');
  if (command !== undefined && typeof preset === 'string' && preset !== 'command') {
    issue('command', `is only used by preset "command" (preset is "${preset}"): use server.module`);
  }
  if (preset === 'gunicorn') {
    if (server['module'] === undefined) {
      issue('module', 'is required for preset "gunicorn": expected the app as "package.module:app", e.g. "app.main:app"');
    } else if (module === undefined || !GUNICORN_APP.test(module)) {
      issue('module', '%v is not a Gunicorn app: expected "package.module:app", e.g. "app.main:app"');
    }
  } else if (preset === 'node') {
    if (server['module'] === undefined) {
      issue('module', 'is required for preset "node": expected the entry file, e.g. "dist/server.js"');
    } else if (module === undefined || module.startsWith('/') || !SAFE_PATH_CHARS.test(module) || module.split('/').includes('..')) {
      issue('module', '%v is not an entry file: expected a path relative to the release, e.g. "dist/server.js"');
    }
  } else if (preset === 'command') {
    const key = command !== undefined || server['module'] === undefined ? 'command' : 'module';
    const line = command ?? module;
    if (server[key] === undefined) {
      issue(key, 'is required for preset "command": expected the command line to run, e.g. "./bin/server --port $PORT"');
    } else if (line === undefined || line.trim() === '') {
      issue(key, '%v is not a command line: expected e.g. "./bin/server --port $PORT"');
    } else if (CONTROL_CHARS.test(line)) {
      issue(key, 'must be a single line without control characters');
    } else {
      const operator = findControlOperator(line);
      if (operator !== undefined) {
        issue(
          key,
          `%v is not one simple command (it contains "${operator}"): shipit runs it with exec so that it is the service's main process and receives the socket; put the steps in a script in your release and run that`,
        );
      }
    }
  }
  if (server['notify'] === true && typeof preset === 'string' && preset !== 'command') {
    issue('notify', `is only used by preset "command" (preset "${preset}" always uses Type=notify)`);
  }
  if (server['python'] !== undefined && typeof preset === 'string' && preset !== 'gunicorn' && preset !== 'command') {
    issue('python', `is only used by presets "gunicorn" and "command" (preset is "${preset}")`);
  }
  if (server['npm'] !== undefined && typeof preset === 'string' && preset !== 'node' && preset !== 'command') {
    issue('npm', `is only used by presets "node" and "command" (preset is "${preset}")`);
  }
  const env = server['env'];
  const secrets = server['secrets'];
  if (isRecord(env) && isRecord(secrets)) {
    for (const key of Object.keys(secrets)) {
      if (Object.hasOwn(env, key)) {
        ctx.addIssue({ code: 'custom', path: ['secrets', key], message: 'is set in both server.env and server.secrets: keep it in one of them' });
      }
    }
  }
}
