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
const notFound = (error, file) => error && error.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes(file);
import('../dist/shipit.mjs')
  .catch((error) => (notFound(error, 'shipit.mjs') ? import('../dist/src/cli/main.js') : Promise.reject(error)))
  .then(({ main }) => main(process.argv))
  .catch((error) => {
    console.error(notFound(error, 'dist') ? 'shipit is not built: run `npm run build`' : error);
    process.exit(1);
  });
