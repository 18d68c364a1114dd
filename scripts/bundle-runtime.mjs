// The node preset's runtime as it ships to the hosts (src/build/preset-files.ts): each entry point (main.js, the
// service; reload-wait.js, the unit's ExecReload) bundled with the runtime modules it imports into one ES module,
// for the hosts' Node (Debian 12's is 18). `npm run build` runs it on tsc's output (dist/src/runtime →
// dist/runtime); bench/runtime/run.ts runs it on its own compile of src/runtime.
//
// Why one file and not tsc's ~22 modules (issue 5): Node 18-22 read every ES module through fs/promises, one
// FileHandle (an EventEmitter) per module. Nothing of that runs per request, but EventEmitter's constructor and
// addListener are the same functions for every emitter in the process, and V8's inline caches in them record the
// object shapes they meet once they are warm: beyond four, a cache goes megamorphic, and every request's
// IncomingMessage, ServerResponse and 'finish' listener then goes through the slower generic lookup. Counted with
// bench/runtime/callgrind/count-worker.sh (a warm worker, user-space instructions, GC apart): per keep-alive
// request 53,607 / 53,619 as modules, 52,726 bundled, the hand-written server 52,586; per `Connection: close`
// connection 170,993 as modules, 169,177 bundled, hand-written ~167,900. See bench/RESULTS.md, "What an app's
// startup costs a request".
import { build } from 'esbuild';
import { join } from 'node:path';

export const RUNTIME_ENTRIES = ['main.js', 'reload-wait.js'];

/** Bundles `compiledDir`/{main,reload-wait}.js (tsc's output of src/runtime) into `outDir`. */
export async function bundleRuntime(compiledDir, outDir) {
  for (const entry of RUNTIME_ENTRIES) {
    await build({
      entryPoints: [join(compiledDir, entry)],
      outfile: join(outDir, entry),
      bundle: true,
      platform: 'node',
      format: 'esm',
      // The hosts' Node: Debian 12's nodejs is 18.
      target: 'node18',
      // The runtime imports only its own modules and node: builtins; sd-notify and the app are loaded at run time
      // by path.
      packages: 'external',
      legalComments: 'none',
      logLevel: 'warning',
    });
  }
}

