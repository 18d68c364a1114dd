/**
 * The one line a worker that cannot boot reports to the master, which logs it in "halting: worker failed to
 * boot: …" and so is what a deploy prints for the host. The error's message alone did not say where nor why:
 * an app built and tested on the deployer's Node 20 that calls `[].toSorted()` on Debian 12's node 18 showed
 * "[3,1,2].toSorted is not a function", with nothing about the host's Node. So the line also names the app's
 * frame that threw (source-mapped when the app runs with --enable-source-maps) and, for the errors that a
 * missing API gives, the Node version this host runs.
 */
import path from 'node:path';

/**
 * Messages of the errors that an API the running Node lacks gives: a method or global that is not there, syntax it
 * does not parse. Not JSON.parse's own SyntaxError ("Unexpected token } in JSON at position 9" on Node 18; Node 20
 * quotes the text, newlines and all: `Unexpected token '}', "{\n  "a": }\n" is not valid JSON`).
 */
const MISSING_API = [/ is not a function\b/, / is not a constructor\b/, / is not defined\b/, /^Unexpected token\b(?![\s\S]*\bJSON\b)/, /^Invalid regular expression flags\b/, /^No such built-in module\b/, /^Cannot find module 'node:/, /^Cannot find package 'node:/, /\bERR_UNKNOWN_BUILTIN_MODULE\b/];

export function describeBootFailure(error: unknown, nodeVersion: string, appDir: string): string {
  if (!(error instanceof Error)) return String(error);
  let line = error.message;
  const where = appFrame(error.stack, appDir);
  if (where !== undefined) line += ` (at ${where})`;
  const missing = ['TypeError', 'ReferenceError', 'SyntaxError', 'Error'].includes(error.name) && MISSING_API.some((re) => re.test(error.message));
  // The same messages come of an app's own bugs (a misspelt name): the hint says what to check, not what happened.
  if (missing) line += `; this host runs Node ${nodeVersion}: if the app was written for a newer Node, this is how an API missing here fails (engines.node in the app's package.json is checked on the hosts before a deploy)`;
  return line;
}

/**
 * The first stack frame that is the app's: not Node's own (node:internal), not shipit's runtime. Under the app's
 * directory it is shown relative to it (`src/server.ts:8:40` rather than the release's absolute path).
 */
export function appFrame(stack: string | undefined, appDir: string): string | undefined {
  for (const line of (stack ?? '').split('\n').slice(1)) {
    const m = /^\s*at (?:.*? \()?(.+?:\d+:\d+)\)?$/.exec(line);
    if (!m) continue;
    let where = m[1]!.replace(/^file:\/\//, '');
    if (where.startsWith('node:') || where.includes('/.shipit/runtime/') || where.startsWith('internal/')) continue;
    // A source map may name a file beside the app directory (tsc's ../src/server.ts of dist/server.js.map):
    // one level up is still said relative to it; a dependency (deps/node/<set>/…, further up) keeps its path.
    const file = where.replace(/:\d+:\d+$/, '');
    const rel = path.relative(appDir, file);
    if (path.isAbsolute(file) && rel !== '' && !rel.startsWith('../..') && !path.isAbsolute(rel)) where = rel + where.slice(file.length);
    return where;
  }
  return undefined;
}
