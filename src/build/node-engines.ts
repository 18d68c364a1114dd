import { dirname, join, posix, resolve } from 'node:path';
import { readOptionalText } from '../lib/read-optional.js';
import type { Prerequisite } from '../host/types.js';
import { quote } from '../remote/quote.js';
import { PREREQ_OUT } from '../remote/scripts.js';

/**
 * The Node version an app asks for (`engines.node` of its package.json), checked on every host before anything is
 * written. A TypeScript service built and tested on the deployer's Node 20 or 22 and deployed to Debian 12's
 * node 18 otherwise fails only when the code runs: `[].toSorted is not a function` at the canary's start, or, for
 * an API used in one request handler, a 500 for every such request after a deploy that passed its gate.
 */
export interface NodeEngines {
  /** The range as written, e.g. ">=20". */
  range: string;
  /** The package.json it came from (absolute, on the deployer). */
  file: string;
  /** The range as sets of comparators (any set, all of its comparators); undefined when shipit cannot read it. */
  sets: Comparator[][] | undefined;
}

export type Comparator = [op: '>=' | '<' | '>' | '<=' | '=', version: [number, number, number]];

/**
 * The package.json that states the app's Node version: walking up from the entry's directory in build.dir, the
 * first package.json with `engines.node`, stopping at the first one with a `name` (the app's own package: a
 * `{"type": "module"}` written into dist/ only marks the module scope). None: undefined (nothing to check).
 */
export function findNodeEngines(buildDir: string, entry: string, read: (file: string) => string | undefined = readOptionalText): NodeEngines | undefined {
  for (let dir = resolve(buildDir, posix.dirname(entry)); ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    const text = read(file);
    if (text !== undefined) {
      let pkg: { name?: unknown; engines?: { node?: unknown } } | undefined;
      try {
        pkg = JSON.parse(text) as typeof pkg;
      } catch {
        pkg = undefined;
      }
      const range = pkg?.engines?.node;
      if (typeof range === 'string' && range.trim() !== '') return { range: range.trim(), file, sets: parseNodeRange(range) };
      if (pkg?.name !== undefined) return undefined;
    }
    if (dirname(dir) === dir) return undefined;
  }
}

const PART = String.raw`(?:0|[1-9]\d*|[xX*])`;
const PARTIAL = new RegExp(String.raw`^v?(${PART})(?:\.(${PART})(?:\.(${PART}))?)?$`);

/**
 * npm's range grammar (node-semver) for release versions: `||`, comparators separated by spaces, `>= <= > < =`,
 * `^`, `~`, X-ranges (`20`, `20.x`, `*`) and hyphen ranges (`18 - 20`). A range with prerelease tags or anything
 * else is not read (undefined): shipit then checks only its own minimum, and the build says so (cli/release.ts).
 */
export function parseNodeRange(range: string): Comparator[][] | undefined {
  const sets: Comparator[][] = [];
  for (const alternative of range.split('||')) {
    const text = alternative.trim().replace(/(>=|<=|>|<|=|\^|~)\s+/g, '$1');
    const set: Comparator[] = [];
    const hyphen = /^(\S+)\s+-\s+(\S+)$/.exec(text);
    if (hyphen) {
      const from = partial(hyphen[1]!);
      const to = partial(hyphen[2]!);
      if (!from || !to) return undefined;
      set.push(...expand('>=', from), ...expand('<=', to));
    } else {
      for (const token of text === '' ? [] : text.split(/\s+/)) {
        const m = /^(>=|<=|>|<|=|\^|~)?(.*)$/.exec(token)!;
        const version = partial(m[2]!);
        if (!version) return undefined;
        set.push(...expand((m[1] ?? '=') as Op, version));
      }
    }
    sets.push(set);
  }
  return sets;
}

type Op = '>=' | '<=' | '>' | '<' | '=' | '^' | '~';
/** A version with its missing or wildcard parts as undefined: `20.x` is [20, undefined, undefined]. */
type Partial = [number | undefined, number | undefined, number | undefined];

function partial(text: string): Partial | undefined {
  const m = PARTIAL.exec(text);
  if (!m) return undefined;
  const part = (s: string | undefined) => (s === undefined || /^[xX*]$/.test(s) ? undefined : Number(s));
  const [a, b, c] = [part(m[1]), part(m[2]), part(m[3])];
  // A number after a wildcard (`x.1`) is not a version.
  if ((a === undefined && (b !== undefined || c !== undefined)) || (b === undefined && c !== undefined)) return undefined;
  return [a, b, c];
}

function expand(op: Op, [a, b, c]: Partial): Comparator[] {
  const v = (x: number, y: number, z: number): [number, number, number] => [x, y, z];
  if (a === undefined) return op === '<' || op === '>' ? [['<', v(0, 0, 0)]] : []; // `*`; `<*` and `>*` match nothing
  const full = b !== undefined && c !== undefined;
  const next = b === undefined ? v(a + 1, 0, 0) : v(a, b + 1, 0); // the first version past a partial one
  const low = v(a, b ?? 0, c ?? 0);
  switch (op) {
    case '=':
      return full ? [['=', low]] : [['>=', low], ['<', next]];
    case '>=':
      return [['>=', low]];
    case '<':
      return [['<', low]];
    case '>':
      return full ? [['>', low]] : [['>=', next]];
    case '<=':
      return full ? [['<=', low]] : [['<', next]];
    case '~':
      return [['>=', low], ['<', b === undefined ? v(a + 1, 0, 0) : v(a, b + 1, 0)]];
    case '^': {
      // The first non-zero part may not change; for 0.0.x, nothing may (node-semver's caret).
      const upper = a > 0 || b === undefined ? v(a + 1, 0, 0) : b > 0 || c === undefined ? v(a, b + 1, 0) : v(a, b, c + 1);
      return [['>=', low], ['<', upper]];
    }
  }
}

/**
 * JavaScript run by the host's node (Node 18 and newer): `ok(version, sets)` is true when "x.y.z" satisfies any
 * set. Shared by the prerequisite and its tests, which evaluate this very text.
 */
export const SATISFIES_JS =
  'function ok(version, sets) {' +
  ' const v = version.split(".").map(Number);' +
  ' const cmp = (w) => v[0] - w[0] || v[1] - w[1] || v[2] - w[2];' +
  ' const test = { ">=": (d) => d >= 0, "<=": (d) => d <= 0, ">": (d) => d > 0, "<": (d) => d < 0, "=": (d) => d === 0 };' +
  ' return sets.some((set) => set.every(([op, w]) => test[op](cmp(w))));' +
  ' }';

/** What the deploy and plan say of an engines.node they cannot read: it is not checked (undefined: nothing to say). */
export function uncheckedEngines(engines: NodeEngines | undefined): string | undefined {
  if (engines === undefined || engines.sets !== undefined) return undefined;
  return `engines.node ${JSON.stringify(engines.range)} in ${engines.file} is not checked on the hosts: shipit reads npm's ranges of release versions (>=, ^, ~, 20.x, 18 - 20, ||), not this one; only the Node ${RUNTIME_MIN_NODE} its runtime needs is`;
}

/** Shipit's runtime needs Node 18; an app's engines.node may ask for more. */
export const RUNTIME_MIN_NODE = 18;

/**
 * The node preset's version prerequisite: exit 1 when the host's node is older than the runtime needs, 2 (printing
 * the host's version) when it does not satisfy the app's engines.node.
 */
export function nodeVersionPrerequisite(engines: NodeEngines | undefined): Prerequisite {
  const lines = [`if (Number(process.versions.node.split(".")[0]) < ${RUNTIME_MIN_NODE}) process.exit(1);`];
  if (engines?.sets !== undefined) {
    lines.push(SATISFIES_JS, `if (!ok(process.versions.node, ${JSON.stringify(engines.sets)})) { console.log(process.versions.node); process.exit(2); }`);
  }
  return {
    check: `node -e ${quote(lines.join('\n'))}`,
    message: `the host's node is older than ${RUNTIME_MIN_NODE}, which shipit's runtime needs`,
    ...(engines?.sets !== undefined
      ? {
          messages: {
            2: `the host runs Node ${PREREQ_OUT}, but engines.node in ${engines.file} asks for ${JSON.stringify(engines.range)}: install a Node there that satisfies it (Debian 12's nodejs is 18), or make the app run on the hosts' Node (tsconfig target and lib, no newer APIs) and change engines.node`,
          },
        }
      : {}),
  };
}
