import type { Host, JournalEntry, JournalQuery, ServiceState } from '../../../src/host/types.js';
import { createRedactor } from '../../../src/lib/redact.js';
import { appSaid } from '../../../src/rollout/gate.js';

const baseline: ServiceState = { active: 'active', sub: 'running', mainPid: 10, restarts: 0, since: '2026-12-04T00:00:00.000Z', workers: 2 };
const at = Date.parse(baseline.since!) * 1000;
const entry = (i: number, identifier: string, message: string, pid: number | null = 100 + i): JournalEntry => ({ cursor: `c${i}`, timeUs: at + i, priority: 6, identifier, pid, message });

const none = (text: string) => text;

function hostWith(entries: JournalEntry[] | Error, queries: JournalQuery[] = []): Host {
  return {
    journal: async (query: JournalQuery) => {
      queries.push(query);
      if (entries instanceof Error) throw entries;
      return { entries, readAtUs: at + 1e6 };
    },
  } as unknown as Host;
}

describe("the gate's failure message quotes the app", () => {
  it("gives its last 3 lines that name an error since the restart, not systemd's (gunicorn's traceback)", async () => {
    const queries: JournalQuery[] = [];
    const host = hostWith(
      [
        entry(1, 'gunicorn', '[INFO] Booting worker with pid: 101'),
        entry(2, 'gunicorn', '[ERROR] Exception in worker process'),
        entry(3, 'gunicorn', 'Traceback (most recent call last):'),
        entry(4, 'gunicorn', 'RuntimeError: app/FAULT says crash-on-import'),
        entry(5, 'gunicorn', '[INFO] Worker exiting (pid: 101)'),
        entry(6, 'gunicorn', '[INFO] Reason: Worker failed to boot.'),
        entry(7, 'systemd', 'demo.service: Main process exited, code=exited, status=3/NOTIMPLEMENTED', 1),
      ],
      queries,
    );
    expect(await appSaid(host, baseline, none)).toBe('; the app said: [ERROR] Exception in worker process | RuntimeError: app/FAULT says crash-on-import | [INFO] Reason: Worker failed to boot.');
    expect(queries).toEqual([{ lines: 200, since: { epochUs: at } }]);
  });

  it("skips the node runtime's info lines that mention an error in passing (the restarted master's sd_notify fallback)", async () => {
    const host = hostWith([
      entry(1, 'node', '{"level":"info","msg":"worker serving","worker":1}'),
      entry(2, 'node', '{"level":"error","msg":"uncaught exception; worker exiting","error":{"message":"boom at server.js:18"}}'),
      entry(3, 'node', '{"level":"warn","msg":"worker died","worker":1,"code":1}'),
      entry(4, 'node', '{"level":"error","msg":"halting: workers keep dying","exit_code":1}'),
      entry(5, 'node', '{"level":"info","msg":"master exiting","exit_code":1}'),
      entry(6, 'node', '{"level":"info","msg":"sd_notify: using systemd-notify","sd_notify_error":"Cannot find module \'sd-notify\'"}'),
      entry(7, 'node', '{"level":"debug","msg":"an error budget of 0"}'),
    ]);
    expect(await appSaid(host, baseline, none)).toBe(
      '; the app said: {"level":"error","msg":"uncaught exception; worker exiting","error":{"message":"boom at server.js:18"}} | {"level":"error","msg":"halting: workers keep dying","exit_code":1}',
    );
  });

  it('falls back to its last lines, cuts long ones, and says nothing when the journal cannot be read', async () => {
    expect(await appSaid(hostWith([entry(1, 'node', 'a'), entry(2, 'node', 'b'), entry(3, 'node', 'c'), entry(4, 'node', `d${'x'.repeat(500)}`)]), baseline, none)).toBe(
      `; the app said: b | c | d${'x'.repeat(399)}...`,
    );
    expect(await appSaid(hostWith([]), baseline, none)).toBe('');
    expect(await appSaid(hostWith(new Error('cut off')), baseline, none)).toBe('');
  });

  it('redacts the secrets before a long line is cut: the cut would leave a part no redaction recognises', async () => {
    const secret = 'postgres://user:hunter2@db/app';
    const line = `RuntimeError: cannot connect ${'x'.repeat(360)} to ${secret}`; // the secret straddles character 400
    const said = await appSaid(hostWith([entry(1, 'gunicorn', line)]), baseline, createRedactor([secret]));
    expect(said).toBe(`; the app said: RuntimeError: cannot connect ${'x'.repeat(360)} to [redact...`);
    expect(said).not.toMatch(/postgres|hunter2/);
  });
});
