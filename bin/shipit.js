#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm run build`.
import { setFlagsFromString } from 'node:v8';

// Peak memory of a deploy (issue #6), measured as VmHWM on the lab: V8 reads both flags when it decides,
// so setting them here, before anything is loaded, counts.
// - The young generation stays at its initial 1 MiB semi-space instead of growing to 16 MiB while the
//   modules load: about 7 MiB less.
// - No optimizing compiler: a run is a few seconds of mostly waiting on hosts, too short for TurboFan to
//   pay for its compiler threads' memory (about 5 MiB) or its CPU; a deploy used no more CPU without it.
setFlagsFromString('--semi-space-growth-factor=1');
setFlagsFromString('--no-opt');

import { isAscii } from 'node:buffer';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';

// The bundle (scripts/bundle.mjs) loads in half the time of tsc's ~400 modules; both are built by `npm run build`.
const BUNDLE = fileURLToPath(new URL('../dist/shipit.cjs', import.meta.url));
const MODULES = new URL('../dist/src/cli/main.js', import.meta.url);

/**
 * V8's code cache for the bundle (issue #6): compiling its 1.1 MB took ~45 ms of every command's start on the
 * bench machine, before the first SSH connection; with the cache V8 deserializes what an earlier run compiled.
 * One file per command (a deploy compiles other functions than `status`), written when the run ends if there was
 * none or V8 rejected it. The name holds a hash of Node's version, the bundle's path (V8 keeps the file name the
 * code was compiled under, for stack traces) and its text (V8 itself only checks the source's length). The
 * directory is shipit's cache (src/lib/cache-dir.ts, which is inside the bundle). SHIPIT_COMPILE_CACHE=0 turns it
 * off. Losing or corrupting it costs time only.
 */
function codeCache(bytes) {
  const env = process.env;
  if (env.SHIPIT_COMPILE_CACHE === '0') return null;
  const base = env.SHIPIT_CACHE_DIR || (env.XDG_CACHE_HOME ? join(env.XDG_CACHE_HOME, 'shipit') : join(homedir(), '.cache', 'shipit'));
  const dir = join(base, 'compile');
  const command = /^[a-z][a-z-]{0,30}$/.test(process.argv[2] ?? '') ? process.argv[2] : 'other';
  const key = createHash('sha1').update(`${process.version} ${process.arch} ${BUNDLE}\n`).update(bytes).digest('hex').slice(0, 20);
  const file = join(dir, `${command}-${key}.bin`);
  let data;
  try {
    data = readFileSync(file);
  } catch {
    // none yet
  }
  const save = (script) => {
    try {
      mkdirSync(dir, { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, script.createCachedData());
      renameSync(tmp, file);
      // What an older bundle or Node left for this command is dead weight.
      for (const name of readdirSync(dir)) {
        if (name.startsWith(`${command}-`) && name !== `${command}-${key}.bin` && !name.endsWith('.tmp')) rmSync(join(dir, name), { force: true });
      }
    } catch {
      // a read-only or full cache directory: the next run compiles again
    }
  };
  return { data, save };
}

function loadBundle() {
  let bytes;
  try {
    bytes = readFileSync(BUNDLE);
  } catch (error) {
    if (error?.code === 'ENOENT') return null;
    throw error;
  }
  const cache = codeCache(bytes);
  // scripts/bundle.mjs writes it in ASCII, which decodes as latin1 in 0.1 ms where UTF-8 took 8-10 ms.
  const source = isAscii(bytes) ? bytes.latin1Slice() : bytes.toString('utf8');
  const script = new Script(Module.wrap(source), { filename: BUNDLE, cachedData: cache?.data });
  if (cache && (cache.data === undefined || script.cachedDataRejected)) process.once('exit', () => cache.save(script));
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(BUNDLE), module, BUNDLE, dirname(BUNDLE));
  return module.exports;
}

// Only OUR missing file means "not built": a dependency missing from node_modules (no `npm ci`) names itself.
const missing = (error, url) => error?.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).startsWith(`Cannot find module '${fileURLToPath(url)}'`);
const missingDependency = (error) => error?.code === 'MODULE_NOT_FOUND' || error?.code === 'ERR_MODULE_NOT_FOUND';
Promise.resolve()
  .then(() => loadBundle() ?? import(MODULES.href))
  .then(({ main }) => main(process.argv))
  .catch((error) => {
    if (missing(error, MODULES)) console.error('shipit is not built: run `npm run build`');
    else if (missingDependency(error)) console.error(`shipit's dependencies are incomplete (${String(error.message).split('\n')[0]}): run \`npm ci\` in the shipit package, or reinstall it`);
    else console.error(error);
    process.exit(1);
  });
