import { appFrame, describeBootFailure } from '../../../src/runtime/boot-failure.js';

const APP = '/srv/shop/releases/20261205T020942Z';
const withStack = (error: Error, ...frames: string[]) => {
  error.stack = [`${error.name}: ${error.message}`, ...frames.map((f) => `    at ${f}`)].join('\n');
  return error;
};

describe('describeBootFailure: the line a deploy prints for a worker that cannot boot', () => {
  it("names the host's Node for an API a newer Node has (a toSorted() on Debian 12's node 18), and the app's frame", () => {
    const error = withStack(
      new TypeError('[3,1,2].toSorted is not a function'),
      `ready (file://${APP}/server.js:19:35)`,
      'async runWorker (file:///srv/shop/releases/20261205T020942Z/.shipit/runtime/worker.js:155:15)',
    );
    expect(describeBootFailure(error, 'v18.20.4', APP)).toBe(
      "[3,1,2].toSorted is not a function (at server.js:19:35); this host runs Node v18.20.4: if the app was written for a newer Node, this is how an API missing here fails (engines.node in the app's package.json is checked on the hosts before a deploy)",
    );
  });

  it.each([
    ['ReferenceError', 'structuredClone is not defined'],
    ['TypeError', 'Promise.withResolvers is not a function'],
    ['TypeError', 'Iterator is not a constructor'],
    ['Error', 'No such built-in module: node:sqlite'],
    ['Error', "Cannot find module 'node:sqlite'"],
  ])('%s %s: a missing API', (name, message) => {
    const error = new Error(message);
    error.name = name;
    expect(describeBootFailure(error, 'v18.20.4', APP)).toContain('this host runs Node v18.20.4');
  });

  it.each([
    ['Node 18', 'Unexpected token } in JSON at position 9'],
    ['Node 20, a file of several lines', 'Unexpected token \'}\', "{\n  "a": }\n" is not valid JSON'],
  ])("JSON.parse of a bad config (%s) is the app's own error, not a missing API: no hint", (_node, message) => {
    expect(describeBootFailure(withStack(new SyntaxError(message)), 'v18.20.4', APP)).toBe(message);
  });

  it("an app's own error gets its frame only: a source-mapped one beside the app directory is said relative to it", () => {
    const error = withStack(new Error('cannot connect to the database'), 'node:internal/modules/esm/module_job:195:25', `<anonymous> (/srv/shop/releases/src/server.ts:8:40)`);
    expect(describeBootFailure(error, 'v18.20.4', APP)).toBe('cannot connect to the database (at ../src/server.ts:8:40)');
  });

  it('a dependency keeps its path; no frame at all: the message alone; not an Error: as a string', () => {
    expect(appFrame(`Error: x\n    at f (/srv/shop/deps/node/0123/node_modules/pg/lib/client.js:1:2)`, APP)).toBe('/srv/shop/deps/node/0123/node_modules/pg/lib/client.js:1:2');
    expect(describeBootFailure(withStack(new Error('boom')), 'v18.20.4', APP)).toBe('boom');
    expect(describeBootFailure('a string', 'v18.20.4', APP)).toBe('a string');
  });
});
