// `npm run build`, after tsc: bundles the CLI (tsc's output from dist/src/cli/main.js, with the pure-JS
// dependencies it imports) into one file, dist/shipit.mjs, which bin/shipit.js runs. Issue #6: Node resolved,
// read and linked ~400 ES modules on every command; as one file the CLI's modules load in ~100 ms instead of
// ~215 ms on the 2-core bench machine. The modules are the same code: the tests run them from src/ and dist/src/,
// and the end-to-end tests run the bundle through bin/shipit.js.
// Left out, loaded from node_modules as before: ssh2 and cpu-features (native bindings beside their JS), jiti
// (requires its own files lazily by relative path), and what src/config/load.ts loads with its own require().
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
await build({
  absWorkingDir: root,
  entryPoints: ['dist/src/cli/main.js'],
  outfile: 'dist/shipit.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['ssh2', 'cpu-features', 'jiti', '*.node'],
  // CommonJS dependencies inside an ES module still call require() for Node's built-ins.
  banner: { js: "import { createRequire as __shipitCreateRequire } from 'node:module';\nconst require = __shipitCreateRequire(import.meta.url);" },
  legalComments: 'eof',
  logLevel: 'warning',
});
