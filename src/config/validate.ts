/**
 * Validation of a loaded config file: every value where it is written (top level and each environment), then
 * each environment merged with the top level (required keys, preset rules, cross-field rules). Problems from
 * both passes are reported together, once each.
 */
import * as z from 'zod';
import { configInvalid, formatIssues, uniqueProblems, type ConfigProblem } from './errors.js';
import { hasPath, isPlainObject, mergeOverrides } from './merge.js';
import { configFileSchema, environmentConfigSchema, environmentOverrideSchema, type EnvironmentConfig, type ShipitConfigInput } from './schema.js';
import { sensitiveValues, tooShortToRedact } from './sensitive.js';

export interface EnvironmentCheck {
  problems: ConfigProblem[];
  /** The parsed environment, when there are no problems. */
  config: EnvironmentConfig | undefined;
}

/**
 * Merges `environments.<name>` over the top level and validates the result. Problems inside values the
 * environment sets are reported under `environments.<name>.`; the others under their top-level path.
 * `requireSecrets: false` skips "secret is not set" (only the environment being deployed needs its secrets, and
 * only the commands that write them: deploy and plan) and leaves such secrets out of the config.
 */
export function checkEnvironment(raw: Record<string, unknown>, name: string, options: { requireSecrets: boolean }): EnvironmentCheck {
  const environments = isPlainObject(raw['environments']) ? raw['environments'] : {};
  const overrides = isPlainObject(environments[name]) ? environments[name] : {};
  const { environments: _all, ...topLevel } = raw;
  const merged = mergeOverrides(topLevel, overrides);
  const result = environmentConfigSchema.safeParse(options.requireSecrets ? merged : withoutUnsetSecrets(merged), { reportInput: true });
  if (result.success) return { problems: [], config: result.data };
  const issues = result.error.issues.filter(
    (issue) => options.requireSecrets || !(issue.code === 'custom' && (issue.params as { unsetSecret?: boolean } | undefined)?.unsetSecret),
  );
  // hosts always belong to the environment; other values to where they were written.
  const inEnvironment = (path: readonly PropertyKey[]) => path[0] === 'hosts' || hasPath(overrides, path);
  const problems = formatIssues(issues, {
    prefix: (path) => (inEnvironment(path) ? ['environments', name, ...path] : path),
    knownKeys: (path, key) =>
      inEnvironment([...path, key]) ? knownKeysAt(environmentOverrideSchema, path) : knownKeysAt(configFileSchema, path),
  });
  return { problems: uniqueProblems(problems), config: problems.length === 0 ? (result.data as EnvironmentConfig | undefined) : undefined };
}

/** The merged environment without the secrets it gives no value (`KEY: process.env.KEY` with KEY not exported). */
function withoutUnsetSecrets(merged: Record<string, unknown>): Record<string, unknown> {
  const server = merged['server'];
  if (!isPlainObject(server) || !isPlainObject(server['secrets'])) return merged;
  const secrets = Object.fromEntries(Object.entries(server['secrets']).filter(([, value]) => value !== undefined));
  return { ...merged, server: { ...server, secrets } };
}

/** The names of the secrets an environment gives no value, as `server.secrets.<NAME>` paths. */
export function unsetSecrets(raw: Record<string, unknown>, name: string): string[] {
  const environments = isPlainObject(raw['environments']) ? raw['environments'] : {};
  const { environments: _all, ...topLevel } = raw;
  const merged = mergeOverrides(topLevel, isPlainObject(environments[name]) ? environments[name] : {});
  const server = merged['server'];
  if (!isPlainObject(server) || !isPlainObject(server['secrets'])) return [];
  return Object.entries(server['secrets']).filter(([, value]) => value === undefined).map(([key]) => `server.secrets.${key}`);
}

/**
 * Every problem of the file as written, for all environments (secrets excepted: an unset secret only matters for
 * the environment being deployed, and resolveEnvironment reports it). Throws CONFIG_INVALID naming `configFile`.
 */
export function validateConfig(input: unknown, options: { configFile: string }): ShipitConfigInput {
  if (!isPlainObject(input)) {
    throw configInvalid(options.configFile, [
      { path: '', message: 'the config must export an object (export default defineConfig({ app, server, environments }))' },
    ]);
  }
  const problems: ConfigProblem[] = [];
  const file = configFileSchema.safeParse(input, { reportInput: true });
  if (!file.success) {
    const issues = file.error.issues.filter(
      (issue) => !(issue.code === 'custom' && (issue.params as { unsetSecret?: boolean } | undefined)?.unsetSecret),
    );
    problems.push(...formatIssues(issues, { knownKeys: (path) => knownKeysAt(configFileSchema, path) }));
  }
  const environments = input['environments'];
  if (isPlainObject(environments)) {
    for (const [name, overrides] of Object.entries(environments)) {
      if (isPlainObject(overrides)) problems.push(...checkEnvironment(input, name, { requireSecrets: false }).problems);
    }
  }
  const unique = uniqueProblems(problems);
  if (unique.length > 0) throw configInvalid(options.configFile, unique, collectSecrets(input));
  return input as ShipitConfigInput;
}

/**
 * Every string under a `secrets` key anywhere in the raw config, and the values an `env` gives to secret-looking
 * names (sensitive.ts): what error text must never contain.
 */
export function collectSecrets(input: unknown): string[] {
  const found: string[] = [];
  const visit = (value: unknown, underSecrets: boolean) => {
    if (typeof value === 'string') {
      // A secret too short to redact is refused, and redacting it would garble the very message that says so.
      if (underSecrets && !tooShortToRedact(value)) found.push(value);
    } else if (Array.isArray(value)) value.forEach((item) => visit(item, underSecrets));
    else if (isPlainObject(value)) {
      for (const [key, item] of Object.entries(value)) {
        if (key === 'env' && isPlainObject(item)) found.push(...sensitiveValues({ env: item }));
        visit(item, underSecrets || key === 'secrets');
      }
    }
  };
  visit(input, false);
  return found;
}

/** The keys a strict object schema accepts at `path` (for "did you mean"). */
export function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] | undefined {
  let current: z.ZodType | undefined = schema;
  const segments = [...path];
  for (;;) {
    current = unwrapAll(current);
    // A union of a string and an object form (hosts): keys belong to the object form.
    if (current instanceof z.ZodUnion) current = (current.options as z.ZodType[]).map(unwrapAll).find((option) => option instanceof z.ZodObject);
    if (current === undefined) return undefined;
    if (segments.length === 0) return current instanceof z.ZodObject ? Object.keys(current.shape) : undefined;
    const segment = segments.shift();
    if (current instanceof z.ZodObject) current = (current.shape as Record<string, z.ZodType>)[String(segment)];
    else if (current instanceof z.ZodRecord) current = current.valueType as z.ZodType;
    else if (current instanceof z.ZodArray) current = current.element as z.ZodType;
    else return undefined;
  }
}

function unwrapAll(schema: z.ZodType | undefined): z.ZodType | undefined {
  let current = schema;
  for (;;) {
    if (current instanceof z.ZodOptional || current instanceof z.ZodDefault || current instanceof z.ZodPrefault) current = current.unwrap() as z.ZodType;
    else if (current instanceof z.ZodPipe) current = current.in as z.ZodType;
    else return current;
  }
}
