#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm run build`.
import('../dist/src/cli/main.js').then(({ main }) => main(process.argv)).catch((error) => {
  console.error(error && error.code === 'ERR_MODULE_NOT_FOUND' ? 'shipit is not built: run `npm run build`' : error);
  process.exit(1);
});
