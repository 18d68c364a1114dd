/**
 * Loading the user's app. The entry file is an ES module or a CommonJS file (import() loads both) exporting:
 *
 *   default | handler   (req, res) => …             a request handler, e.g. an Express app; or
 *   createServer()      returns an http.Server (or a promise of one), not yet listening; we call listen();
 *   ready()             optional, async: resolves when the app's dependencies are usable; a throw = boot failure;
 *   shutdown()          optional, async: runs after the server closed during a drain (close pools, flush).
 *
 * For CommonJS, `module.exports = handler` and `module.exports = { handler, ready }` both work, and so does
 * TypeScript's CommonJS output of `export default handler` (exports.default, with exports.__esModule).
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { exportsOf, HOOK_PURPOSE, misnamedHooks } from './app-exports.js';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => unknown;

export type LoadedApp = {
  ready: (() => unknown) | undefined;
  shutdown: (() => unknown) | undefined;
} & ({ kind: 'handler'; handler: RequestHandler } | { kind: 'server'; createServer: () => Server | Promise<Server> });

export class AppShapeError extends Error {
  override name = 'AppShapeError';
}

/** Loads the app; `warn` hears of exports that look like a misnamed hook (misnamedHooks), which are not called. */
export async function importApp(entry: string, cwd: string, warn: (message: string) => void = () => {}): Promise<LoadedApp> {
  const file = path.resolve(cwd, entry);
  const mod: unknown = await import(pathToFileURL(file).href);
  const app = resolveAppExports(mod, entry);
  for (const { name, hook } of misnamedHooks(mod)) {
    warn(`${entry}: export ${name} is not called by the runtime: the hook is named ${hook}, ${HOOK_PURPOSE[hook]}; rename it to ${hook}`);
  }
  return app;
}

/** Pure: picks the app's functions from a module namespace object. */
export function resolveAppExports(mod: unknown, entry: string): LoadedApp {
  const { ns, def, defObject } = exportsOf(mod);
  const pick = (name: string): unknown => ns[name] ?? defObject?.[name];

  const ready = optionalFunction(pick('ready'), 'ready', entry);
  const shutdown = optionalFunction(pick('shutdown'), 'shutdown', entry);
  const createServer = pick('createServer');
  if (typeof createServer === 'function') {
    return { kind: 'server', createServer: createServer as () => Server, ready, shutdown };
  }
  const named = pick('handler');
  const handler = named ?? (typeof def === 'function' ? def : undefined);
  if (typeof handler === 'function') {
    // A request handler takes (req, res). One whose source declares no parameters at all is most likely a server
    // factory exported as the default (`export default function createServer()`): run as a handler, it would
    // leave every request unanswered, and a deploy would fail only at its deadline with probes that time out.
    // Not every function of length 0: `(...args) => h(...args)` and `(req = x, res)` are handlers (length counts
    // neither), and a bound or native one shows no source; those are caught when they answer (http-server.ts).
    if (declaresNoParameters(handler as (...args: never[]) => unknown)) {
      const what = named !== undefined ? 'export handler' : 'the default export';
      throw new AppShapeError(
        `${entry}: ${what}${handler.name && handler.name !== 'default' && handler.name !== 'handler' ? ` (${handler.name})` : ''} declares no parameters, so it is no request handler (req, res): ` +
          'a function that returns an http.Server must be exported as createServer (export function createServer() { … })',
      );
    }
    return { kind: 'handler', handler: handler as RequestHandler, ready, shutdown };
  }
  const meant = misnamedHooks(mod).find((m) => m.hook === 'handler' || m.hook === 'createServer');
  throw new AppShapeError(
    `${entry} exports no request handler: export default (req, res) => …, export function handler(req, res), ` +
      `or export function createServer() returning an http.Server (found exports: ${Object.keys(ns).join(', ') || 'none'}` +
      `${meant === undefined ? '' : `; rename ${meant.name} to ${meant.hook}`})`,
  );
}

/**
 * Pure: whether a function's source says `()`: `function f()`, `async function ()`, `() =>`, `async () =>`, a
 * method `f()`. Anything else (parameters, a rest or default parameter, a bound or native function, a class) is
 * taken for what it claims to be.
 */
export function declaresNoParameters(fn: (...args: never[]) => unknown): boolean {
  if (fn.length !== 0) return false;
  const source = Function.prototype.toString.call(fn);
  return /^(?:async\s*)?(?:function\s*\*?\s*[\w$]*\s*\(\s*\)|\(\s*\)\s*=>|\*?\s*[\w$]+\s*\(\s*\)\s*\{)/.test(source) && !source.endsWith('{ [native code] }');
}

function optionalFunction(value: unknown, name: string, entry: string): (() => unknown) | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') throw new AppShapeError(`${entry}: export ${name} must be a function, not ${typeof value}`);
  return value as () => unknown;
}
