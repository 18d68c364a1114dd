import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { misnamedHooks } from '../../../src/runtime/app-exports.js';
import { AppShapeError, importApp, resolveAppExports } from '../../../src/runtime/app-loader.js';

const handler = (_req: unknown, _res: unknown): void => undefined;
const ready = async (): Promise<void> => undefined;

describe('resolveAppExports', () => {
  it('takes a default-exported handler (an Express app is one)', () => {
    expect(resolveAppExports({ default: handler }, 'a.js')).toEqual({ kind: 'handler', handler, ready: undefined, shutdown: undefined });
  });

  it('takes a named handler with ready() and shutdown()', () => {
    const shutdown = (): void => undefined;
    expect(resolveAppExports({ handler, ready, shutdown }, 'a.js')).toEqual({ kind: 'handler', handler, ready, shutdown });
  });

  it('takes CommonJS module.exports = { handler, ready } (seen as default)', () => {
    expect(resolveAppExports({ default: { handler, ready } }, 'a.cjs')).toMatchObject({ kind: 'handler', handler, ready });
  });

  it("takes TypeScript's CommonJS `export default handler` (module.exports.default, __esModule), with the named ready()", () => {
    // What import() gives for tsc's output: module.exports as default, and the names cjs-module-lexer found.
    const exports = { __esModule: true, default: handler, ready };
    expect(resolveAppExports({ __esModule: true, default: exports, ready }, 'server.js')).toEqual({ kind: 'handler', handler, ready, shutdown: undefined });
    // ...and as an object export: `export default { handler, ready }`.
    expect(resolveAppExports({ default: { __esModule: true, default: { handler, ready } } }, 'server.js')).toMatchObject({ kind: 'handler', handler, ready });
  });

  it('leaves a CommonJS module.exports with a `default` property of its own alone when it is no ES module output', () => {
    expect(resolveAppExports({ default: { handler, default: 'not the app' } }, 'a.cjs')).toMatchObject({ kind: 'handler', handler });
  });

  it('refuses a default export or handler that declares no parameters (a server factory exported as default), saying what to export', () => {
    function createServer(): void {}
    expect(() => resolveAppExports({ default: createServer }, 'server.js')).toThrow(
      'server.js: the default export (createServer) declares no parameters, so it is no request handler (req, res): a function that returns an http.Server must be exported as createServer (export function createServer() { … })',
    );
    // TypeScript's CommonJS output of the same.
    expect(() => resolveAppExports({ __esModule: true, default: { __esModule: true, default: createServer } }, 'server.js')).toThrow(AppShapeError);
    expect(() => resolveAppExports({ handler: () => undefined }, 'server.js')).toThrow(/^server.js: export handler declares no parameters/);
    // Length 0 but parameters all the same: a wrapper with ...args, a default parameter; bound: no source to read.
    const wrap = (fn: (...args: unknown[]) => unknown) => (...args: unknown[]) => fn(...args);
    expect(resolveAppExports({ default: wrap(handler) }, 'server.js')).toMatchObject({ kind: 'handler' });
    expect(resolveAppExports({ default: function (req: unknown = undefined, res: unknown) {} }, 'server.js')).toMatchObject({ kind: 'handler' });
    expect(resolveAppExports({ default: createServer.bind(null) }, 'server.js')).toMatchObject({ kind: 'handler' });
    // Named createServer still wins over a default.
    expect(resolveAppExports({ createServer, default: createServer }, 'server.js')).toMatchObject({ kind: 'server' });
  });

  it('prefers createServer()', () => {
    const createServer = (): void => undefined;
    expect(resolveAppExports({ createServer, handler }, 'a.js')).toMatchObject({ kind: 'server', createServer });
  });

  it('explains what to export when nothing fits', () => {
    expect(() => resolveAppExports({ start: handler }, 'server.js')).toThrow(AppShapeError);
    expect(() => resolveAppExports({ start: handler }, 'server.js')).toThrow(/server.js exports no request handler: .*found exports: start/);
  });

  it('rejects a ready that is not a function', () => {
    expect(() => resolveAppExports({ handler, ready: true }, 'a.js')).toThrow('a.js: export ready must be a function, not boolean');
  });
});

describe('importApp', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'shipit-app-'));
    writeFileSync(path.join(dir, 'esm.mjs'), 'export default (req, res) => res.end("esm");\nexport async function ready() {}\n');
    writeFileSync(path.join(dir, 'cjs.cjs'), 'module.exports = { handler: (req, res) => res.end("cjs") };\n');
    // tsc --module commonjs of `export default function handler(req, res) {…}` and `export async function ready() {}`.
    writeFileSync(
      path.join(dir, 'ts-default.cjs'),
      '"use strict";\nObject.defineProperty(exports, "__esModule", { value: true });\nexports.ready = ready;\nexports.default = handler;\n' +
        'function handler(req, res) { res.end("ts"); }\nasync function ready() {}\n',
    );
    writeFileSync(path.join(dir, 'broken.mjs'), 'throw new Error("no database URL");\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loads an ES module relative to the app directory', async () => {
    const app = await importApp('esm.mjs', dir);
    expect(app.kind).toBe('handler');
    expect(typeof app.ready).toBe('function');
  });

  it('loads a CommonJS file', async () => {
    expect((await importApp('cjs.cjs', dir)).kind).toBe('handler');
  });

  it("loads TypeScript's CommonJS output of a default-exported handler", async () => {
    const app = await importApp('ts-default.cjs', dir);
    expect(app.kind).toBe('handler');
    expect(typeof app.ready).toBe('function');
  });

  it('passes the import error through', async () => {
    await expect(importApp('broken.mjs', dir)).rejects.toThrow('no database URL');
  });
});

describe('misnamedHooks', () => {
  const fn = (): void => undefined;

  it('names parameterless exports that look like ready/shutdown when those are not exported', () => {
    expect(misnamedHooks({ default: handler, onReady: fn, shutDown: fn })).toEqual([
      { name: 'onReady', hook: 'ready' },
      { name: 'shutDown', hook: 'shutdown' },
    ]);
    expect(misnamedHooks({ handler, whenReady: fn, gracefulShutdown: fn })).toEqual([
      { name: 'whenReady', hook: 'ready' },
      { name: 'gracefulShutdown', hook: 'shutdown' },
    ]);
    expect(misnamedHooks({ handler, readinessCheck: fn, onShutdownHook: fn })).toEqual([
      { name: 'readinessCheck', hook: 'ready' },
      { name: 'onShutdownHook', hook: 'shutdown' },
    ]);
    expect(misnamedHooks({ handler, waitForReady: fn, shutdwon: fn })).toEqual([
      { name: 'waitForReady', hook: 'ready' },
      { name: 'shutdwon', hook: 'shutdown' },
    ]);
    // CommonJS: module.exports = { handler, onReady }.
    expect(misnamedHooks({ default: { handler, onReady: fn } })).toEqual([{ name: 'onReady', hook: 'ready' }]);
  });

  it('says nothing when the hook itself is exported, for values that are no functions, for routes and predicates, or for other words', () => {
    expect(misnamedHooks({ handler, ready, onReady: fn })).toEqual([]);
    expect(misnamedHooks({ handler, onReady: true, shutdownTimeoutMs: 5000 })).toEqual([]);
    // A route takes (req, res); isReady/isShutdown return a boolean, which ready() would not heed.
    expect(misnamedHooks({ handler, readyz: (_req: unknown, _res: unknown) => undefined, isReady: fn, isShutdown: fn })).toEqual([]);
    expect(misnamedHooks({ handler, read: fn, reads: fn, reader: fn, Ready2: fn, shut: fn, server: fn, close: fn, stop: fn })).toEqual([]);
    // What the app does, not a hook it is asked to run.
    expect(misnamedHooks({ handler, cancelShutdown: fn, requestShutdown: fn, triggerShutdown: fn, preventShutdown: fn })).toEqual([]);
    expect(misnamedHooks({ handler, handleShutdown: fn })).toEqual([{ name: 'handleShutdown', hook: 'shutdown' }]);
  });

  it('looks for a misnamed handler or createServer only while no handler is found (a default export function counts)', () => {
    expect(misnamedHooks({ default: handler, requestHandler: fn, createserver: fn })).toEqual([]);
    expect(misnamedHooks({ requestHandler: fn })).toEqual([{ name: 'requestHandler', hook: 'handler' }]);
    expect(misnamedHooks({ handle: fn })).toEqual([{ name: 'handle', hook: 'handler' }]);
    expect(misnamedHooks({ createserver: fn })).toEqual([{ name: 'createserver', hook: 'createServer' }]);
    // Not any name ending in "handler": an error handler is no request handler.
    expect(misnamedHooks({ errorHandler: fn, notFoundHandler: fn })).toEqual([]);
  });

  it('reads no getter and no method of an instance exported as the default, and never throws', () => {
    const lazy = {
      handler,
      get onReady(): never {
        throw new Error('db used before init()');
      },
    };
    expect(misnamedHooks({ default: lazy })).toEqual([]);
    // A Fastify-like instance as the default export: its methods are no exports of the app.
    class Instance {
      setNotFoundHandler(): void {}
      onReady(): void {}
    }
    expect(misnamedHooks({ default: new Instance() })).toEqual([]);
    const hostile = new Proxy({}, { ownKeys: () => { throw new Error('no keys'); } });
    expect(misnamedHooks(hostile)).toEqual([]);
  });

  it('importApp loads an app whose exports include a throwing getter, as before', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'shipit-misnamed-'));
    try {
      writeFileSync(path.join(dir, 'app.mjs'), "export default { handler: (req, res) => res.end(), get onReady() { throw new Error('db used before init()'); } };\n");
      const warnings: string[] = [];
      expect((await importApp('app.mjs', dir, (message) => warnings.push(message))).kind).toBe('handler');
      expect(warnings).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('adds the rename to the error of an app that exports no handler', () => {
    expect(() => resolveAppExports({ requestHandler: handler }, 'srv.js')).toThrow(/\(found exports: requestHandler; rename requestHandler to handler\)$/);
    expect(() => resolveAppExports({ createSever: fn }, 'srv.js')).toThrow(/rename createSever to createServer\)$/);
    // A Fastify instance exported as the default is no handler: its methods are not offered as one.
    class Instance {
      setNotFoundHandler(): void {}
    }
    expect(() => resolveAppExports({ default: new Instance() }, 'srv.js')).toThrow(/\(found exports: default\)$/);
    expect(() => resolveAppExports({ main: fn }, 'srv.js')).toThrow(/\(found exports: main\)$/);
  });

  it('importApp warns of each, naming the entry, the export and the hook, and still loads the app', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'shipit-misnamed-'));
    try {
      writeFileSync(path.join(dir, 'app.mjs'), 'export default (req, res) => res.end();\nexport async function onReady() {}\n');
      const warnings: string[] = [];
      const app = await importApp('app.mjs', dir, (message) => warnings.push(message));
      expect(app.kind).toBe('handler');
      expect(app.ready).toBeUndefined();
      expect(warnings).toEqual([
        'app.mjs: export onReady is not called by the runtime: the hook is named ready, awaited before the worker counts as serving (READY=1, the deploy gate); rename it to ready',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
