/**
 * Process titles on a real process tree started as the node unit starts it: argv exactly `node
 * .shipit/runtime/main.js --name <app>` from the release directory (Linux cuts a title to the argv's length, so
 * the command line's shape is what is under test). tsx comes in through NODE_OPTIONS, which takes no argv room.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { RuntimeExit } from '../../../src/runtime/exit-codes.js';
import { get, repo, runtimeCommand, startRuntime, type RuntimeProcess } from './harness.js';

let runtime: RuntimeProcess | undefined;
let release: string | undefined;
afterEach(async () => {
  await runtime?.stop();
  runtime = undefined;
  if (release !== undefined) rmSync(release, { recursive: true, force: true });
  release = undefined;
});

/** A release directory whose .shipit/runtime/main.js runs the runtime under test. */
function makeRelease(): { cwd: string; env: Record<string, string> } {
  const cwd = mkdtempSync(path.join(os.tmpdir(), 'shipit-title-'));
  const dir = path.join(cwd, '.shipit/runtime');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}\n');
  const entry = process.env.RUNTIME_ENTRY;
  const compiled = entry !== undefined && entry !== '';
  const target = compiled ? path.resolve(repo, entry) : path.join(repo, 'src/runtime/main.ts');
  writeFileSync(path.join(dir, 'main.js'), `import ${JSON.stringify(pathToFileURL(target).href)};\n`);
  // The shortest command line one could type by hand: `node m.js`.
  writeFileSync(path.join(cwd, 'package.json'), '{"type":"module"}\n');
  writeFileSync(path.join(cwd, 'm.js'), `import ${JSON.stringify(pathToFileURL(target).href)};\n`);
  return { cwd, env: compiled ? {} : { NODE_OPTIONS: `--import ${path.join(repo, 'node_modules/tsx/dist/loader.mjs')}` } };
}

function cmdline(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0+$/, '');
}

function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^[0-9]+$/.test(entry))
    .filter((entry) => {
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}

async function titles(name: string | undefined, script = '.shipit/runtime/main.js'): Promise<{ master: string; workers: string[]; port: number }> {
  const made = makeRelease();
  release = made.cwd;
  const args = [script, ...(name === undefined ? [] : ['--name', name])];
  runtime = startRuntime({ cwd: made.cwd, env: made.env, command: [runtimeCommand()[0]!, ...args], argv0: 'node' });
  await runtime.waitForLog((l) => l.msg === 'ready: every worker serves', 20_000, 'ready');
  const port = await runtime.port();
  const pid = runtime.child.pid!;
  // Under tsx the master has another child, esbuild's service process: the workers are the titled ones.
  const workers = childrenOf(pid).map(cmdline).filter((c) => c.startsWith('shipit-runtime:'));
  return { master: cmdline(pid), workers: workers.sort(), port };
}

describe('process titles', () => {
  // Room under the unit without --name: "node\0.shipit/runtime/main.js\0", 28 characters.
  const longName = 'a-rather-long-app-name-for-the-payments-reconciliation-service';

  it('name the app in the master and in every worker, whole even for a long name', async () => {
    const { master, workers, port } = await titles(longName);
    expect(master).toBe(`shipit-runtime: ${longName} master`);
    expect(workers).toEqual([`shipit-runtime: ${longName} worker 1`, `shipit-runtime: ${longName} worker 2`]);
    expect(runtime!.lines.filter((l) => String(l.msg).startsWith('process title cut short'))).toEqual([]);
    // The app never sees the runtime's own option.
    expect(JSON.parse((await get(port, '/argv')).body)).toMatchObject({ argv: [] });
  }, 30_000);

  it('without --name (run by hand) keep the titles without a name', async () => {
    const { master, workers } = await titles(undefined);
    expect(master).toBe('shipit-runtime: master');
    expect(workers).toEqual(['shipit-runtime: worker 1', 'shipit-runtime: worker 2']);
  }, 30_000);

  it('say in the log when Linux cut the title short, and still serve', async () => {
    // argv "node\0m.js\0--name\0x\0": 18 characters of room for "shipit-runtime: x master" (24).
    const { master } = await titles('x', 'm.js');
    expect(master).toBe('shipit-runtime: x ');
    const cut = runtime!.lines.find((l) => String(l.msg).startsWith('process title cut short') && l.worker === undefined);
    expect(cut).toMatchObject({ level: 'warn', title: 'shipit-runtime: x master', shown: 'shipit-runtime: x ' });
  }, 30_000);

  it('exit 2 on --name without a value, saying it is the argument', async () => {
    runtime = startRuntime({ command: [...runtimeCommand(), '--name'] });
    expect((await runtime.exited).code).toBe(RuntimeExit.config);
    expect(runtime.lines.find((l) => l.level === 'error')?.msg).toBe('invalid argument: --name: needs a value: the app name for process titles, e.g. --name shop');
  }, 30_000);
});
