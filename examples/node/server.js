// The shipit example Node service: a plain ES module with no dependencies, exporting a request handler and a
// ready() hook for the shipit runtime (src/runtime/main.ts), which runs it one worker per CPU:
//
//   SHIPIT_APP=server.js WORKERS=2 PORT=8000 node .shipit/runtime/main.js     (cwd = the release)
//
// Probes (see README.md):
//   GET /healthz  liveness: the worker's event loop answers.
//   GET /readyz   readiness: its dependency (data.json) is readable; names the release and version.
//   GET /         a little async work; returns pid, version and release.
//
// Fault injection, so tests can derive a bad release by adding one file, FAULT, next to this one:
//   never-ready      /readyz answers 503 (read per request; /healthz stays 200)
//   crash-on-import  importing this module throws (workers cannot boot; the runtime exits with code 4)
//   hang-ready       ready() never settles, as with a dependency that never answers (the runtime's
//                    SHIPIT_BOOT_TIMEOUT ends the start: exit 3, "not serving after N ms")
import { readFileSync, realpathSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

// The release is the directory we run in, resolved through symlinks such as /srv/<app>/current ->
// releases/<id>: it names the code this worker imported, whatever `current` points at later.
const releaseDir = realpathSync(process.cwd());
const RELEASE = path.basename(releaseDir);
const VERSION = readOptional('VERSION') ?? 'unknown';

function readOptional(name) {
  try {
    return readFileSync(path.join(releaseDir, name), 'utf8').trim();
  } catch {
    return undefined;
  }
}

if (readOptional('FAULT') === 'crash-on-import') {
  throw new Error('FAULT says crash-on-import: this release is broken on purpose');
}

async function readData() {
  return JSON.parse(await readFile(path.join(releaseDir, 'data.json'), 'utf8'));
}

function json(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Called by the runtime before this worker listens: a throw here means the worker cannot boot. */
export async function ready() {
  if (readOptional('FAULT') === 'hang-ready') await new Promise(() => {});
  await readData();
}

export async function handler(req, res) {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname === '/healthz') return json(res, 200, { status: 'ok' });
  if (url.pathname === '/readyz') {
    if (readOptional('FAULT') === 'never-ready') return json(res, 503, { status: 'not-ready', reason: 'FAULT says never-ready' });
    try {
      await readData();
    } catch (error) {
      return json(res, 503, { status: 'not-ready', reason: `data.json: ${error.message}` });
    }
    return json(res, 200, { status: 'ready', release: RELEASE, version: VERSION });
  }
  if (url.pathname === '/') {
    await sleep(5); // stands in for an awaited database or API call
    return json(res, 200, { pid: process.pid, version: VERSION, release: RELEASE });
  }
  return json(res, 404, { status: 'not-found' });
}
