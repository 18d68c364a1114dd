// `npm run build`, after tsc: bundles the CLI (tsc's output from dist/src/cli/main.js, with the pure-JS
// dependencies it imports) into one file, dist/shipit.cjs, which bin/shipit.js runs. Issue #6: Node resolved,
// read and linked ~400 ES modules on every command; as one file the CLI's modules load in ~100 ms instead of
// ~215 ms on the 2-core bench machine. The modules are the same code: the tests run them from src/ and dist/src/,
// and the end-to-end tests run the bundle through bin/shipit.js.
// Left out, loaded from node_modules as before: ssh2 and cpu-features (native bindings beside their JS), jiti
// (requires its own files lazily by relative path), and what src/config/load.ts loads with its own require().
import { build } from 'esbuild';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleRuntime } from './bundle-runtime.mjs';

const BUNDLE = 'dist/shipit.cjs';

const root = fileURLToPath(new URL('..', import.meta.url));
await build({
  absWorkingDir: root,
  entryPoints: ['dist/src/cli/main.js'],
  outfile: BUNDLE,
  bundle: true,
  platform: 'node',
  // CommonJS, not an ES module: bin/shipit.js compiles it as one vm.Script with V8's code cache (Node 20 has
  // no compile cache for ES modules), and V8 compiles it faster than the same code as a module.
  format: 'cjs',
  target: 'node20',
  external: ['ssh2', 'cpu-features', 'jiti', '*.node'],
  // The sources find their package (units/, the runtime) and create require()s from import.meta.url.
  define: { 'import.meta.url': '__shipitModuleUrl' },
  banner: { js: "var __shipitModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
  legalComments: 'eof',
  logLevel: 'warning',
});

// ASCII only, so that bin/shipit.js can decode it as latin1 (0.1 ms instead of 8-10 ms for UTF-8). esbuild
// escapes non-ASCII characters in code (charset 'ascii'), not in the comments it keeps, the only place left:
// there a \u escape is harmless (in a string or regular expression it would be the same character).
const bundled = readFileSync(join(root, BUNDLE), 'utf8').replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
writeFileSync(join(root, BUNDLE), bundled);

// A script compiled by vm.Script without importModuleDynamically throws at a dynamic import(): every module
// must be in the bundle or reached through require().
const dynamicImport = /(?<![\w$.])import\s*\(/.exec(bundled);
if (dynamicImport) throw new Error(`${BUNDLE} contains a dynamic import() at offset ${dynamicImport.index}: bundle the module or require() it`);

// The node preset's runtime, for the hosts: see bundle-runtime.mjs.
await bundleRuntime(join(root, 'dist/src/runtime'), join(root, 'dist/runtime'));
