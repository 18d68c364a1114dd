import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { readLab, labHost, type LabHost, type LabInfo } from './support/lab.js';
import { Project } from './support/project.js';
import { httpGet, onHost, wipeApp } from './support/remote.js';

/**
 * A CI release job's secrets on the lab (the trial of 2026-12-05): an API token and a database password with
 * quotes, $, a backtick, a backslash and spaces, read from the environment as a workflow step passes them. The
 * app then does what apps do with them when things go wrong: answers them in its readiness 500 (as Python's
 * repr() and inside a URL its own quote() encoded), dumps its environment and raises with them at import, logs
 * them. No recognisable part of either may reach shipit's output (plain, --json, --verbose, logs), the hosts'
 * process titles while deploying, shipit's own files on the hosts, or sudo's journal lines; every failure exits
 * as documented and the next deploy converges.
 */
const APP = 'e2e-ci-secrets';
const PORT = 8170;
jest.setTimeout(300_000);

const TOKEN = 'tok_live_Q7xZ9mK2pL4vB8nR';
const PASSWORD = `p"a$s 'w\`o\\rd 9!`;
/** Pieces that give a secret away in any of its spellings; none of them occurs in shipit's own text. */
const FRAGMENTS = ['Q7xZ9mK2', 'pL4vB8nR', 'a$s', 'a\\$s', '%24s', 'w`o', '%60o', 'rd 9', 'rd+9', 'rd%209'];
const leaks = (text: string) => FRAGMENTS.filter((fragment) => text.includes(fragment));

let lab: LabInfo;
let host: LabHost;
let project: Project;
const env = { E2E_ORDERS_TOKEN: TOKEN, E2E_ORDERS_PASSWORD: PASSWORD };

const APP_PY = `
import hashlib, os, sys
from pathlib import Path
from urllib.parse import quote
from fastapi import FastAPI
from fastapi.responses import JSONResponse

HERE = Path(__file__).resolve().parent
FAULT = (HERE / "FAULT").read_text().strip() if (HERE / "FAULT").exists() else ""
TOKEN = os.environ["API_TOKEN"]
PASSWORD = os.environ["DB_PASSWORD"]
DSN = f"postgresql://orders:{quote(PASSWORD, safe='')}@db.internal/orders"

if FAULT == "crash-env":
    print("environment at crash:", dict(os.environ), file=sys.stderr, flush=True)
    raise RuntimeError(f"cannot connect to {DSN} (password {PASSWORD!r}, token {TOKEN})")

app = FastAPI()

@app.get("/readyz")
async def readyz():
    if FAULT == "leak-500":
        return JSONResponse({"error": f"refused token {TOKEN}", "dsn": DSN, "pw": repr(PASSWORD)}, status_code=500)
    # Ready only with the exact value the deployer had: quoting on the way would change it.
    if hashlib.sha256(PASSWORD.encode()).hexdigest() != os.environ["PASSWORD_SHA256"]:
        return JSONResponse({"db": "wrong password"}, status_code=503)
    return {"ready": True, "version": (HERE / "VERSION").read_text().strip()}
`;

function writeApp(version: string, fault?: 'leak-500' | 'crash-env'): void {
  writeFileSync(join(project.appDir, 'orders/VERSION'), `${version}\n`);
  if (fault) writeFileSync(join(project.appDir, 'orders/FAULT'), `${fault}\n`);
  else rmSync(join(project.appDir, 'orders/FAULT'), { force: true });
}

beforeAll(async () => {
  lab = readLab();
  host = labHost(lab, 'web2');
  await wipeApp(lab, host.address, APP);
  project = new Project(lab, {
    app: APP,
    port: PORT,
    hosts: [host],
    module: 'orders.api:app',
    health: "{ readiness: '/readyz', interval: '300ms', timeout: '2s', successes: 2, minHealthyTime: '1s', healthyDeadline: '8s' }",
  });
  mkdirSync(join(project.appDir, 'orders'));
  writeFileSync(join(project.appDir, 'orders/__init__.py'), '');
  writeFileSync(join(project.appDir, 'orders/api.py'), APP_PY);
  // The secrets as a workflow step gives them: environment variables the config reads.
  const sha = createHash('sha256').update(PASSWORD).digest('hex');
  const config = join(project.dir, 'deploy.config.ts');
  project.writeConfig({
    server: `env: { PASSWORD_SHA256: '${sha}' },`,
  });
  writeFileSync(
    config,
    readFileSync(config, 'utf8')
      .replace(/secrets: \{[^\n]*\},/, 'secrets: { API_TOKEN: process.env.E2E_ORDERS_TOKEN, DB_PASSWORD: process.env.E2E_ORDERS_PASSWORD },')
      .replace(/env: \{ LOG_LEVEL[^\n]*\},\n/, ''),
  );
});
afterAll(async () => {
  project?.cleanup();
  if (host) await wipeApp(lab, host.address, APP);
});

/** Every process's command line on the host, every 20 ms, while `during` runs. */
async function processTitlesDuring<T>(during: () => Promise<T>): Promise<{ result: T; titles: string }> {
  const sampler = onHost(lab, host.address, 'end=$(($(date +%s) + 25)); while [ $(date +%s) -lt $end ] && [ ! -e /tmp/e2e-ci-secrets-stop ]; do ps -eo args ww; sleep 0.02; done; rm -f /tmp/e2e-ci-secrets-stop');
  const result = await during();
  await onHost(lab, host.address, 'touch /tmp/e2e-ci-secrets-stop');
  return { result, titles: await sampler };
}

describe('secrets of a CI release job, through every failure', () => {
  it('a deploy with a shell-hostile password: the app gets it exactly, no process title on the host shows it', async () => {
    writeApp('s1');
    const { result: run, titles } = await processTitlesDuring(() => project.shipit(['deploy', 'production'], env));
    expect({ code: run.exitCode, all: run.all }).toMatchObject({ code: 0 });
    expect((await httpGet(host.address, PORT, '/readyz')).body).toMatchObject({ ready: true, version: 's1' });
    expect(titles).toContain('sh -c'); // the sampler saw the deploy's commands
    expect(leaks(titles)).toEqual([]);
    expect(leaks(run.all)).toEqual([]);
  });

  it('a readiness 500 answering the secrets (repr, percent-encoded by Python): exit 5, the gate quotes it redacted everywhere', async () => {
    writeApp('s2', 'leak-500');
    for (const flags of [[], ['--json'], ['--verbose']]) {
      const run = await project.shipit(['deploy', 'production', ...flags], env);
      expect([flags, run.exitCode]).toEqual([flags, 5]);
      expect(run.all).toContain('answered 500');
      expect(run.all).toContain('"pw":"\'[redacted]\'"');
      expect(run.all).toContain('postgresql://orders:[redacted]@db.internal');
      expect([flags, leaks(run.all)]).toEqual([flags, []]);
    }
    expect((await httpGet(host.address, PORT, '/readyz')).body).toMatchObject({ version: 's1' });
  });

  it('an app that dumps its environment and raises with the secrets at import: exit 5, error and logs redacted', async () => {
    writeApp('s3', 'crash-env');
    const run = await project.shipit(['deploy', 'production'], env);
    expect(run.exitCode).toBe(5);
    expect(run.all).toMatch(/RuntimeError: cannot connect to postgresql:\/\/orders:\[redacted\]@db\.internal\/orders \(password '\[redacted\]', token \[redacted\]\)/);
    expect(leaks(run.all)).toEqual([]);
    for (const flags of [[], ['--json']]) {
      const logs = await project.shipit(['logs', 'production', '-n', '200', ...flags], env);
      expect(logs.exitCode).toBe(0);
      expect(logs.all).toContain('environment at crash');
      expect([flags, leaks(logs.all)]).toEqual([flags, []]);
    }
  });

  it("shipit's files on the host and sudo's journal lines hold no secret; the next deploy converges", async () => {
    const files = await onHost(lab, host.address, `find /srv/${APP}/.shipit -type f ! -name secrets.env -exec cat {} +`);
    expect(files).toContain('"state":"bad"');
    expect(leaks(files)).toEqual([]);
    // The audit log holds what the failing app answered (its `error`): root's only, as the journal it quotes.
    expect((await onHost(lab, host.address, `stat -c %a /srv/${APP}/.shipit/history.jsonl`)).trim()).toBe('600');
    const sudo = await onHost(lab, host.address, `journalctl -q --no-pager _COMM=sudo --since '-10min' | grep ${APP} || true`);
    expect(leaks(sudo)).toEqual([]);
    writeApp('s4');
    const run = await project.shipit(['deploy', 'production'], env);
    expect({ code: run.exitCode, leaks: leaks(run.all) }).toEqual({ code: 0, leaks: [] });
    expect((await httpGet(host.address, PORT, '/readyz')).body).toMatchObject({ ready: true, version: 's4' });
  });
});
