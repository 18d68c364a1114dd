// engines.node of the app's package.json, checked by the hosts' node before anything is written: the range is
// read here (npm's grammar), the comparison runs there (SATISFIES_JS, evaluated here as the hosts evaluate it).
import { spawnSync } from 'node:child_process';
import { findNodeEngines, nodeVersionPrerequisite, parseNodeRange, SATISFIES_JS, uncheckedEngines, type Comparator } from '../../../src/build/node-engines.js';

const ok = new Function(`${SATISFIES_JS}; return ok;`)() as (version: string, sets: Comparator[][]) => boolean;
const satisfies = (version: string, range: string) => {
  const sets = parseNodeRange(range);
  if (sets === undefined) throw new Error(`unread range ${range}`);
  return ok(version, sets);
};

describe('engines.node ranges, as npm reads them', () => {
  it.each([
    ['>=20', '18.20.4', false],
    ['>=20', '20.0.0', true],
    ['>= 18.19', '18.19.0', true],
    ['>=18.19.1', '18.19.0', false],
    ['^20 || ^22', '22.11.0', true],
    ['^20 || ^22', '21.7.3', false],
    ['^20 || ^22', '18.20.4', false],
    ['20.x', '20.19.5', true],
    ['20.x', '21.0.0', false],
    ['20', '20.1.0', true],
    ['~18.19', '18.19.9', true],
    ['~18.19', '18.20.0', false],
    ['18 - 20', '20.9.0', true],
    ['18 - 20', '21.0.0', false],
    ['>=18 <21', '20.20.2', true],
    ['>=18 <21', '22.0.0', false],
    ['>18', '18.20.4', false],
    ['>18.0.0', '18.20.4', true],
    ['<=20', '20.99.0', true],
    ['*', '18.0.0', true],
    ['v20.x', '20.1.1', true],
    ['^0.12', '0.12.5', true],
    ['^0.12', '0.13.0', false],
  ])('%s with node %s: %s', (range, version, expected) => {
    expect(satisfies(version, range)).toBe(expected);
  });

  it('a range it cannot read (prerelease tags, words) is left unchecked: undefined', () => {
    expect(parseNodeRange('>=20.0.0-rc.1')).toBeUndefined();
    expect(parseNodeRange('lts')).toBeUndefined();
    expect(parseNodeRange('x.1')).toBeUndefined();
  });
});

describe('findNodeEngines: the package.json that says which Node the app needs', () => {
  const files = (map: Record<string, object>) => (file: string) => (map[file] ? JSON.stringify(map[file]) : undefined);

  it("walks up from the entry past dist/'s {\"type\": \"module\"} to the project's package.json", () => {
    const read = files({ '/p/dist/package.json': { type: 'module' }, '/p/package.json': { name: 'app', engines: { node: '>=20' } } });
    expect(findNodeEngines('/p/dist', 'server.js', read)).toEqual({ range: '>=20', file: '/p/package.json', sets: [[['>=', [20, 0, 0]]]] });
  });

  it('a range it cannot read is said to go unchecked (deploy and plan print it), naming the file; one it reads, or none, says nothing', () => {
    const read = files({ '/p/package.json': { name: 'app', engines: { node: '>=20.0.0-rc.1' } } });
    expect(uncheckedEngines(findNodeEngines('/p', 'server.js', read))).toBe(
      'engines.node ">=20.0.0-rc.1" in /p/package.json is not checked on the hosts: shipit reads npm\'s ranges of release versions (>=, ^, ~, 20.x, 18 - 20, ||), not this one; only the Node 18 its runtime needs is',
    );
    expect(uncheckedEngines(findNodeEngines('/p', 'server.js', files({ '/p/package.json': { name: 'app', engines: { node: '>=20' } } })))).toBeUndefined();
    expect(uncheckedEngines(undefined)).toBeUndefined();
  });

  it("stops at the app's own package (one with a name) even when it states no engines", () => {
    const read = files({ '/p/package.json': { name: 'app' }, '/package.json': { name: 'other', engines: { node: '>=99' } } });
    expect(findNodeEngines('/p', 'lib/server.js', read)).toBeUndefined();
  });
});

describe('the prerequisite, run by this machine\'s node as a host runs it', () => {
  const run = (range?: string) => {
    const engines = range === undefined ? undefined : { range, file: '/p/package.json', sets: parseNodeRange(range) };
    const prerequisite = nodeVersionPrerequisite(engines);
    return { prerequisite, result: spawnSync('/bin/sh', ['-c', prerequisite.check], { encoding: 'utf8' }) };
  };
  const here = process.versions.node;
  const major = Number(here.split('.')[0]);

  it('passes a range this node satisfies, and without engines.node only asks for Node 18', () => {
    expect(run(`>=${major}`).result.status).toBe(0);
    expect(run().result.status).toBe(0);
    expect(run().prerequisite.messages).toBeUndefined();
  });

  it('exit 2 with the version for a range it does not satisfy; the message names the file, the range and what to do', () => {
    const { prerequisite, result } = run(`>=${major + 1}`);
    expect(result.status).toBe(2);
    expect(result.stdout.trim()).toBe(here);
    expect(prerequisite.messages?.[2]).toBe(
      `the host runs Node {out}, but engines.node in /p/package.json asks for ">=${major + 1}": install a Node there that satisfies it (Debian 12's nodejs is 18), or make the app run on the hosts' Node (tsconfig target and lib, no newer APIs) and change engines.node`,
    );
  });

  it('a range it cannot read checks only the runtime minimum', () => {
    const { prerequisite, result } = run('>=99.0.0-rc.1');
    expect(result.status).toBe(0);
    expect(prerequisite.messages).toBeUndefined();
  });
});
