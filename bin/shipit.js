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

// The bundle (scripts/bundle.mjs) loads in half the time of tsc's ~400 modules; both are built by `npm run build`.
// Only OUR missing file means "not built": a dependency missing from node_modules (no `npm ci`) names itself.
import { fileURLToPath } from 'node:url';

const BUNDLE = new URL('../dist/shipit.mjs', import.meta.url);
const MODULES = new URL('../dist/src/cli/main.js', import.meta.url);
const missing = (error, url) => error?.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).startsWith(`Cannot find module '${fileURLToPath(url)}'`);
import(BUNDLE.href)
  .catch((error) => (missing(error, BUNDLE) ? import(MODULES.href) : Promise.reject(error)))
  .then(({ main }) => main(process.argv))
  .catch((error) => {
    if (missing(error, MODULES)) console.error('shipit is not built: run `npm run build`');
    else if (error?.code === 'ERR_MODULE_NOT_FOUND') console.error(`shipit's dependencies are incomplete (${error.message}): run \`npm ci\` in the shipit package, or reinstall it`);
    else console.error(error);
    process.exit(1);
  });
