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
import { editDistance } from '../lib/nearest.js';

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

/** The module's own exports and its default export's properties (CommonJS), as resolveAppExports reads them. */
function exportsOf(mod: unknown): { ns: Record<string, unknown>; def: unknown; defObject: Record<string, unknown> | undefined } {
  const ns = (typeof mod === 'object' && mod !== null ? mod : {}) as Record<string, unknown>;
  let def = ns.default;
  let defObject = typeof def === 'object' && def !== null ? (def as Record<string, unknown>) : undefined;
  // TypeScript's (and Babel's) CommonJS output of `export default …`: exports.default = …, exports.__esModule =
  // true. import() of a CommonJS file gives module.exports as `default`, so the app's default export is one level
  // further down: unwrapped as TypeScript's own esModuleInterop would.
  if (defObject?.['__esModule'] === true && 'default' in defObject) {
    const inner = defObject['default'];
    def = inner;
    if (typeof inner === 'object' && inner !== null) defObject = { ...defObject, ...(inner as Record<string, unknown>) };
  }
  return { ns, def, defObject };
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

type Hook = 'handler' | 'createServer' | 'ready' | 'shutdown';

/** What each hook is for, in the warning about a misnamed one. */
const HOOK_PURPOSE: Record<Hook, string> = {
  handler: 'the request handler',
  createServer: "called for the app's own http.Server",
  ready: 'awaited before the worker counts as serving (READY=1, the deploy gate)',
  shutdown: 'called once a drain has closed the server',
};

/**
 * Pure: exported functions whose names look like one of the hooks the runtime calls, where that hook itself is
 * not exported: `onReady`, `isReady`, `readiness`, `Ready`, `redy`, `onShutdown`, `shutDown`, `createserver`,
 * `requestHandler`, `handle`. The runtime calls hooks by exact name, so such an export is never called, and
 * nothing fails: a misnamed ready() lets every worker count as serving before the app's database is open, a
 * misnamed shutdown() leaves pools unclosed. Matched case-insensitively after an `on`/`is`/`app` prefix and a
 * `hook`/`check`/`fn` suffix, or within one or two edits (typos); a handler-like name only while no handler is
 * found (the default export counts). Only ever a warning: the app runs as exported.
 */
export function misnamedHooks(mod: unknown): Array<{ name: string; hook: Hook }> {
  const { ns, def, defObject } = exportsOf(mod);
  const has = (name: string): boolean => ns[name] !== undefined || defObject?.[name] !== undefined;
  const missing = (hook: Hook): boolean => (hook === 'handler' ? !has('handler') && !has('createServer') && typeof def !== 'function' : !has(hook));
  const names = new Set([...Object.keys(ns), ...Object.keys(defObject ?? {})].filter((n) => n !== 'default' && n !== '__esModule'));
  const found: Array<{ name: string; hook: Hook }> = [];
  for (const name of names) {
    const value = ns[name] ?? defObject?.[name];
    if (typeof value !== 'function' || (HOOKS as readonly string[]).includes(name)) continue;
    const hook = HOOKS.find((h) => missing(h) && looksLike(name, h));
    if (hook !== undefined) found.push({ name, hook });
  }
  return found;
}

const HOOKS: readonly Hook[] = ['ready', 'shutdown', 'createServer', 'handler'];

function looksLike(name: string, hook: Hook): boolean {
  const lower = name.toLowerCase();
  const target = hook.toLowerCase();
  const core = lower.replace(/^(?:on|is|app)(?=[a-z])/, '').replace(/(?:hook|check|fn)$/, '');
  if (core === target) return true;
  // Typos: two edits in a long name, one in a short one, and there not a shorter word (`read` is no `ready`).
  if (target.length >= 8 ? editDistance(lower, target) <= 2 : lower.length >= target.length && editDistance(lower, target) <= 1) return true;
  switch (hook) {
    case 'ready':
      return core === 'readiness';
    case 'handler':
      return lower.endsWith('handler') || lower === 'handle';
    default:
      return false;
  }
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
