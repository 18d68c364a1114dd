/**
 * What an app module exports, as the app loader reads it, and the check for exports that look like a misnamed
 * hook. The runtime calls its hooks by exact name (app-loader.ts), so an `onReady` is never called, and nothing
 * fails: a misnamed ready() lets every worker count as serving before the app's database is open, a misnamed
 * shutdown() leaves its pools unclosed. The check only ever names them (a warning, or a hint in the load error);
 * the app runs as exported.
 */
import { editDistance } from './edit-distance.js';

/** The module's own exports and its default export's properties (CommonJS), as resolveAppExports reads them. */
export function exportsOf(mod: unknown): { ns: Record<string, unknown>; def: unknown; defObject: Record<string, unknown> | undefined } {
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


export type Hook = 'handler' | 'createServer' | 'ready' | 'shutdown';

/** What each hook is for, in the warning about a misnamed one. */
export const HOOK_PURPOSE: Record<Hook, string> = {
  handler: 'the request handler',
  createServer: "called for the app's own http.Server",
  ready: 'awaited before the worker counts as serving (READY=1, the deploy gate)',
  shutdown: 'called once a drain has closed the server',
};

const HOOKS: readonly Hook[] = ['ready', 'shutdown', 'createServer', 'handler'];

/**
 * Pure: exported functions whose names look like a hook the runtime calls, where that hook itself is not
 * exported. Deliberately narrow, since a wrong warning on every start teaches users to ignore warnings:
 * - ready and shutdown: functions that declare no parameters (the hooks take none: a `readyz(req, res)` is a
 *   route), named `onReady`, `appReady`, `whenReady`, `waitForReady`, `readiness`, `readyHook`, `Ready`;
 *   `onShutdown`, `gracefulShutdown`, `handleShutdown`, `shutDown`, `shutdownHook`, or `shutdown` within two edits
 *   (`shutdwon`). Not `isReady`/`isShutdown` (predicates that return a boolean, which ready() would not heed), nor
 *   `cancelShutdown`, `requestShutdown` (what the app does, not what it is asked to do).
 * - createServer and handler: only while the app exports no handler at all (a default function counts), else
 *   the rename would change what the app is; `createserver` or within two edits; `requestHandler`,
 *   `handleRequest`, `handle`, `onRequest`, or `handler` within one edit.
 * Read are the module's own data properties, and a CommonJS default export's only when it is a plain object
 * (module.exports = { … }): never a getter (a lazy export may throw), never the methods of an instance exported
 * as the default (a Fastify instance's `setNotFoundHandler`). Never throws.
 */
export function misnamedHooks(mod: unknown): Array<{ name: string; hook: Hook }> {
  try {
    const { ns, def, defObject } = exportsOf(mod);
    const plainDefault = defObject !== undefined && [Object.prototype, null].includes(Object.getPrototypeOf(defObject) as object | null);
    const own = (from: object | undefined, name: string): unknown => (from === undefined ? undefined : Object.getOwnPropertyDescriptor(from, name)?.value);
    const value = (name: string): unknown => own(ns, name) ?? (plainDefault ? own(defObject, name) : undefined);
    const has = (name: string): boolean => Object.prototype.hasOwnProperty.call(ns, name) || (defObject !== undefined && name in defObject);
    const noHandler = !has('handler') && !has('createServer') && typeof def !== 'function';
    const names = new Set([...Object.keys(ns), ...(plainDefault ? Object.keys(defObject!) : [])]);
    const found: Array<{ name: string; hook: Hook }> = [];
    for (const name of names) {
      if (name === 'default' || name === '__esModule' || (HOOKS as readonly string[]).includes(name)) continue;
      const fn = value(name);
      if (typeof fn !== 'function') continue;
      const hook = HOOKS.find((h) => !has(h) && (h === 'ready' || h === 'shutdown' ? fn.length === 0 : noHandler) && looksLike(name, h));
      if (hook !== undefined) found.push({ name, hook });
    }
    return found;
  } catch {
    return []; // a proxy or an exotic module object: the hint is not worth a failed load
  }
}

function looksLike(name: string, hook: Hook): boolean {
  const lower = name.toLowerCase();
  const core = lower.replace(/^(?:on|app|when|waitfor|await)(?=[a-z])/, '').replace(/(?:hook|check|fn)$/, '');
  const typo = (target: string, edits: number): boolean => lower[0] === target[0] && editDistance(lower, target) <= edits;
  switch (hook) {
    case 'ready':
      return core === 'ready' || core === 'readiness';
    case 'shutdown':
      return core === 'shutdown' || /^(?:graceful|handle|do)shutdown$/.test(lower) || typo('shutdown', 2);
    case 'createServer':
      return core === 'createserver' || typo('createserver', 2);
    case 'handler':
      return ['requesthandler', 'handlerequest', 'handle', 'onrequest'].includes(lower) || typo('handler', 1);
  }
}
