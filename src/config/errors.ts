/**
 * Config problems as users read them: `environments.production.hosts[1]: "web 2" is not a valid host: ...`.
 * The path uses dots and [i]; the offending value is shown, except anywhere under `secrets`; the text says what
 * is expected. One CONFIG_INVALID error lists every problem and names the config file.
 */
import type * as z from 'zod';
import { ShipitError } from '../lib/errors.js';
import { nearest } from '../lib/nearest.js';
import { createRedactor } from '../lib/redact.js';

export interface ConfigProblem {
  /** e.g. 'environments.production.hosts[1]'; '' for the file itself. */
  path: string;
  /** e.g. '"web 2" is not a valid host: expected ...'. */
  message: string;
}

type Issue = z.core.$ZodIssue;
type Path = readonly PropertyKey[];

const HIDDEN = '<hidden>';
/** Zod's own English messages, replaced by ours; any other message was written in schema.ts. */
const ZOD_DEFAULT_MESSAGE = /^(Invalid (input|option|key|element)|Too (small|big)|Unrecognized key)/;

export function formatPath(path: Path): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (typeof segment === 'string' && /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(segment)) text += text === '' ? segment : `.${segment}`;
    else text += `[${JSON.stringify(String(segment))}]`;
  }
  return text;
}

/** Values under a `secrets` key are never shown, whatever the problem. */
export function isSecretPath(path: Path): boolean {
  return path.includes('secrets');
}

export function showValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return truncate(JSON.stringify(value));
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (typeof value === 'function') return 'a function';
  try {
    return truncate(JSON.stringify(value) ?? String(value));
  } catch {
    return String(value);
  }
}

function truncate(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export interface FormatOptions {
  /** Where a problem was written: maps an issue path to the path in the file (e.g. under environments.<name>). */
  prefix?: (path: Path) => Path;
  /** Keys known in the object at `path` (the object holding the unknown `key`), for "did you mean". */
  knownKeys?: (path: Path, key: string) => readonly string[] | undefined;
}

/** One problem per issue (one per key for unknown keys), in the order zod reports them. */
export function formatIssues(issues: readonly Issue[], options: FormatOptions = {}): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const located = (path: Path) => formatPath(options.prefix ? options.prefix(path) : path);
  for (const issue of issues) {
    const branch = issue.code === 'invalid_union' ? matchedBranch(issue) : undefined;
    if (branch !== undefined) {
      // The value has the shape of one alternative (an object host): report that alternative's problems.
      problems.push(...formatIssues(branch.map((inner) => ({ ...inner, path: [...issue.path, ...inner.path] })), options));
      continue;
    }
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const known = options.knownKeys?.(issue.path, key) ?? [];
        const guess = closest(key, known);
        const expected = known.length > 0 ? `; expected one of: ${known.join(', ')}` : '';
        problems.push({
          path: located([...issue.path, key]),
          message: `is not a known key${guess === undefined ? '' : ` (did you mean "${guess}"?)`}${expected}`,
        });
      }
      continue;
    }
    problems.push({ path: located(issue.path), message: describeIssue(issue) });
  }
  return problems;
}

/** The issues of the one union alternative whose type matched (all its issues are below the root), if any. */
function matchedBranch(issue: z.core.$ZodIssueInvalidUnion): Issue[] | undefined {
  const matched = issue.errors.filter((branch) => branch.length > 0 && branch.every((inner) => inner.path.length > 0));
  return matched.length === 1 ? matched[0] : undefined;
}

/** The message of one issue, with `%v` replaced by the offending value (or <hidden> under secrets). */
export function describeIssue(issue: Issue): string {
  const hidden = isSecretPath(issue.path) && issue.code !== 'invalid_key';
  const input = 'input' in issue ? issue.input : undefined;
  const value = hidden ? HIDDEN : showValue(input);
  const fill = (message: string) => message.replaceAll('%v', value);

  if (issue.code === 'invalid_key') {
    const inner = issue.issues[0];
    const message = inner && !ZOD_DEFAULT_MESSAGE.test(inner.message) ? inner.message : '%v is not a valid key';
    return `key ${fill(message)}`;
  }
  if (!ZOD_DEFAULT_MESSAGE.test(issue.message)) {
    if (input === undefined && issue.message.startsWith('%v')) return `is required: ${issue.message.replace(/^%v [^:]*: /, '')}`;
    return fill(issue.message);
  }
  switch (issue.code) {
    case 'invalid_type': {
      const expected = EXPECTED[issue.expected] ?? issue.expected;
      if (input === undefined) return `is required: expected ${expected}`;
      // A number or boolean written in quotes (`port: '8461'`): say how to write it, not only that it is wrong.
      const unquoted = hidden || typeof input !== 'string' ? undefined : unquotedLiteral(input.trim(), issue.expected);
      return `${value} is not ${expected}${unquoted === undefined ? '' : `: write ${unquoted}, without quotes`}`;
    }
    case 'too_small':
      return issue.origin === 'array' || issue.origin === 'set'
        ? `needs at least ${issue.minimum} ${Number(issue.minimum) === 1 ? 'entry' : 'entries'}`
        : issue.origin === 'string'
          ? Number(issue.minimum) <= 1
            ? 'is empty'
            : `${value} is too short: expected at least ${issue.minimum} characters`
          : `${value} is too small: expected ${issue.inclusive ? 'at least' : 'more than'} ${issue.minimum}`;
    case 'too_big':
      return issue.origin === 'array' || issue.origin === 'set'
        ? `has too many entries: expected at most ${issue.maximum}`
        : issue.origin === 'string'
          ? `${value} is too long: expected at most ${issue.maximum} characters`
          : `${value} is too big: expected ${issue.inclusive ? 'at most' : 'less than'} ${issue.maximum}`;
    case 'invalid_value':
      return `${value} is not one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_union':
      return input === undefined ? 'is required' : `${value} is not valid here`;
    default:
      return input === undefined ? 'is invalid' : `${value} is invalid`;
  }
}

/** `input` as the literal the schema wanted, when a string holds exactly that: "8461" for a number, "true" for a boolean. */
function unquotedLiteral(input: string, expected: string): string | undefined {
  if (expected === 'number' && /^-?\d+(\.\d+)?$/.test(input)) return input;
  if (expected === 'boolean' && (input === 'true' || input === 'false')) return input;
  return undefined;
}

const EXPECTED: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  object: 'an object',
  array: 'a list',
  record: 'an object',
  function: 'a function',
};

/** The known key closest to `key`, when it is close enough to be a typo (case aside: `Port` for `port`). */
function closest(key: string, known: readonly string[]): string | undefined {
  return nearest(key, known, (length) => Math.max(2, Math.floor(length / 3)), { ignoreCase: true });
}

/** Drops repeated problems (the same value seen by the file check and by each environment's check). */
export function uniqueProblems(problems: readonly ConfigProblem[]): ConfigProblem[] {
  const seen = new Set<string>();
  return problems.filter((problem) => {
    const key = `${problem.path}\u0000${problem.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export function formatProblem(problem: ConfigProblem): string {
  return problem.path === '' ? problem.message : `${problem.path}: ${problem.message}`;
}

/**
 * CONFIG_INVALID listing every problem. `secrets` are the secret values found in the config: a last guard so that
 * no message (including text from a failing config file) can carry one.
 */
export function configInvalid(
  configFile: string,
  problems: readonly ConfigProblem[],
  secrets: Iterable<string> = [],
  hint = 'each line names the key (as a path in the config file), the value found and what is expected',
): ShipitError {
  const redact = createRedactor(secrets);
  const lines = problems.map((problem) => `  - ${redact(formatProblem(problem))}`);
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  return new ShipitError('CONFIG_INVALID', `${configFile}: invalid configuration (${count}):\n${lines.join('\n')}`, { hint });
}

/**
 * The config file could not be evaluated (a syntax error, or code in it threw): there is no key to name yet, so the
 * hint points at the file and line the reason gives, not at a key path.
 */
export function configLoadFailed(configFile: string, reason: string): ShipitError {
  return configInvalid(
    configFile,
    [{ path: '', message: `cannot be loaded: ${reason}` }],
    [],
    'the config file failed while it was evaluated (a syntax error, or its code threw at the line named above, e.g. a ' +
      'process.env variable that is not set): fix that line; `shipit units <env>` checks the config without touching a host',
  );
}
