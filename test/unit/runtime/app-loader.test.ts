import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AppShapeError, importApp, resolveAppExports } from '../../../src/runtime/app-loader.js';

const handler = (): void => undefined;
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

  it('passes the import error through', async () => {
    await expect(importApp('broken.mjs', dir)).rejects.toThrow('no database URL');
  });
});
