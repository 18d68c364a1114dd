// The gunicorn preset's config file, run by this machine's python3 against a stand-in uvicorn.server: what its
// patched shutdown does, in order, with and without connections (asyncio.sleep recorded, not waited for).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunicornConf } from '../../../src/build/preset-files.js';

const HARNESS = `
import asyncio, sys
calls = []
real_sleep = asyncio.sleep
async def sleep(seconds):
    calls.append("sleep %s" % seconds)
asyncio.sleep = sleep
exec(compile(open("conf.py").read(), "conf.py", "exec"))
from uvicorn.server import Server

class Listener:
    def close(self):
        calls.append("stop accepting")

class State:
    def __init__(self, n):
        self.connections = set(range(n))

server = Server()
server.servers = [Listener()]
server.server_state = State(int(sys.argv[1]))
asyncio.run(server.shutdown())
print(" | ".join(calls))
`;

describe('the gunicorn preset\'s uvicorn shutdown', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'shipit-gconf-'));
    mkdirSync(join(dir, 'uvicorn'));
    writeFileSync(join(dir, 'uvicorn/__init__.py'), '');
    writeFileSync(join(dir, 'uvicorn/server.py'), 'from __main__ import calls\nclass Server:\n    async def shutdown(self, sockets=None):\n        calls.append("uvicorn shutdown")\n');
    writeFileSync(join(dir, 'conf.py'), gunicornConf());
    writeFileSync(join(dir, 'harness.py'), HARNESS);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = (connections: number) => {
    const r = spawnSync('python3', ['harness.py', String(connections)], { cwd: dir, encoding: 'utf8', env: { ...process.env, PYTHONPATH: dir } });
    expect(r.stderr).toBe('');
    return r.stdout.trim();
  };

  it('with connections: stops accepting, gives them 0.25 s to deliver their request, then uvicorn\'s own shutdown', () => {
    expect(run(3)).toBe('stop accepting | sleep 0.25 | uvicorn shutdown');
  });

  it('with none: nothing can still arrive, so no wait', () => {
    expect(run(0)).toBe('stop accepting | uvicorn shutdown');
  });
});
