import { jest } from '@jest/globals';
import { Writable } from 'node:stream';
import { ListrLogger, ProcessOutput } from 'listr2';
import { ListrRenderer } from '../../../src/cli/render/listr-renderer.js';
import { JsonRenderer, PlainRenderer } from '../../../src/cli/render/renderer.js';
import { createRedactor } from '../../../src/lib/redact.js';
import { deploy } from '../../../src/rollout/deploy.js';
import type { RolloutEvent } from '../../../src/rollout/events.js';
import { makeFleet, releaseSpec, seed } from '../../rollout/fleet.js';

const at = () => new Date('2026-11-25T13:00:00.000Z');
const ON_READY = 'server.js: export onReady is not called by the runtime: the hook is named ready; rename it to ready';
const event: RolloutEvent = { type: 'host.app_warnings', host: 'web1', release: 'r2', lines: [ON_READY, 'the app registers its own SIGTERM handler'], more: 0 };

describe("the app's start warnings in every output mode", () => {
  it('plain: one line on the host, the warnings separated by |, and how many were left out', () => {
    const lines: string[] = [];
    const r = new PlainRenderer((l) => lines.push(l), at);
    r.emit(event);
    r.emit({ ...event, lines: [ON_READY], more: 2 });
    expect(lines).toEqual([
      `2026-11-25T13:00:00.000Z web1       the app warned at start: ${ON_READY} | the app registers its own SIGTERM handler`,
      `2026-11-25T13:00:00.000Z web1       the app warned at start: ${ON_READY} (and 2 more: \`shipit logs\` shows them all)`,
    ]);
  });

  it('--json: the event as it is', () => {
    const lines: string[] = [];
    new JsonRenderer((l) => lines.push(l), () => undefined, at).emit(event);
    expect(JSON.parse(lines[0]!)).toEqual({ ts: '2026-11-25T13:00:00.000Z', ...event });
  });

  it("listr2: the canary's row keeps its ready line with a short note, and the warnings follow in full on a line of their own", async () => {
    const fleet = makeFleet(2);
    seed(fleet, '20261124T100000Z');
    const NEW = '20261125T130000Z';
    fleet.host('web1').appLogs.set(NEW, { start: [{ message: JSON.stringify({ level: 'warn', msg: ON_READY }), priority: 4 }] });
    let text = '';
    const out = new Writable({ write: (chunk, _enc, done) => void ((text += String(chunk)), done()) }) as unknown as NodeJS.WriteStream;
    const renderer = new ListrRenderer(['web1', 'web2'], createRedactor([]), {
      renderer: 'test',
      rendererOptions: { logger: new ListrLogger({ processOutput: new ProcessOutput(out, out) }) },
    });
    const printed: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => printed.push(String(chunk)) > 0);
    try {
      await deploy(fleet.ctx({ emit: (e) => renderer.emit(e) }), releaseSpec(NEW));
      await renderer.close();
    } finally {
      write.mockRestore();
    }
    expect(printed).toEqual([`web1: the app warned at start: ${ON_READY}\n`]);
    const completed = text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { event: string; data: string; task: { title: string; path: string[] } })
      .filter((e) => e.event === 'STATE' && e.data === 'COMPLETED' && e.task.path[0] === 'rollout' && e.task.path.length === 2)
      .map((e) => e.task.title)
      .sort();
    expect(completed).toEqual([expect.stringMatching(new RegExp(`^web1: ready on ${NEW} \\(.*\\) · the app warned at start \\(1, printed below\\)$`)), expect.stringMatching(/^web2: ready on /)]);
  });
});
