import { Writable } from 'node:stream';
import { ListrLogger, ProcessOutput } from 'listr2';
import { describeCommand } from '../../../src/cli/fleet.js';
import { ListrRenderer } from '../../../src/cli/render/listr-renderer.js';
import { JsonRenderer, PlainRenderer } from '../../../src/cli/render/renderer.js';
import { sensitiveValues } from '../../../src/config/sensitive.js';
import { createRedactor } from '../../../src/lib/redact.js';
import type { RolloutEvent } from '../../../src/rollout/events.js';
import { deploy, type Outcome } from '../../../src/rollout/deploy.js';
import { notReady } from '../../../src/rollout/gate.js';
import { makeFleet, releaseSpec, seed } from '../../rollout/fleet.js';

/**
 * A failing readiness gate quotes what the app answered (a new user's trial: `GET /readyz answered 503` and nothing
 * of the `{"db": "unreachable"}` the app said), in every output mode, with the config's secrets redacted even when
 * the 200-byte cut falls inside one.
 */
const OLD = '20261124T100000Z';
const NEW = '20261125T130000Z';
const at = () => new Date('2026-11-25T13:00:00.000Z');
const SECRET = 'postgres://user:hunter2@db/app'; // testConfig's DATABASE_URL
// The secret starts after 191 bytes of the body: a cut at 200 that did not redact first would print `postgres:`.
const BODY = `{"db": "unreachable", "pad": "${'x'.repeat(150)}", "dsn": "${SECRET}"}\n`;
const PREFIX = `{"db": "unreachable", "pad": "${'x'.repeat(150)}", "dsn": "`;
const EXCERPT = `${PREFIX}[redacted…`;

async function neverReady(emit: (event: RolloutEvent) => void): Promise<Outcome> {
  const fleet = makeFleet(2);
  seed(fleet, OLD);
  fleet.host('web1').faults.neverReady = new Set([NEW]);
  fleet.host('web1').faults.notReadyBody = BODY;
  return deploy(fleet.ctx({ emit }), releaseSpec(NEW));
}

const safe = createRedactor(sensitiveValues(makeFleet(1).config.server));

describe("the gate's failure quotes the app's answer", () => {
  it('the message: the status, then the first 200 bytes of the body on one line, secrets redacted before the cut', () => {
    const redact = createRedactor([SECRET]);
    expect(notReady('/readyz', 503, BODY, redact)).toBe(`GET /readyz answered 503: ${EXCERPT}`);
    expect(notReady('/readyz', 503, '{"db": "unreachable"}\n', redact)).toBe('GET /readyz answered 503: {"db": "unreachable"}');
    expect(notReady('/readyz', 500, 'Traceback:\n  boom\x1b[0m', redact)).toBe('GET /readyz answered 500: Traceback:\\n  boom\\u001b[0m');
    // No body: the status alone, as before.
    expect(notReady('/readyz', 503, '', redact)).toBe('GET /readyz answered 503');
  });

  it('plain output: on the failing host\'s line, with no part of the secret', async () => {
    const lines: string[] = [];
    const renderer = new PlainRenderer((line) => lines.push(safe(line)), at);
    const outcome = await neverReady((event) => renderer.emit(event));
    expect(outcome.failure).toBe(`not ready within 1m: GET /readyz answered 503: ${EXCERPT}`);
    expect(lines).toContain(`2026-11-25T13:00:00.000Z web1       FAILED on ${NEW}: not ready within 1m: GET /readyz answered 503: ${EXCERPT}`);
    expect(lines.join('\n')).not.toMatch(/postgres:|hunter2/);
  });

  it('--json: host.failed.error carries it, and the JSON-escaped line leaks no part of the secret', async () => {
    const out: string[] = [];
    const renderer = new JsonRenderer((line) => out.push(safe(line)), () => {}, at);
    await neverReady((event) => renderer.emit(event));
    const failed = out.map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.type === 'host.failed');
    expect(failed).toMatchObject({ host: 'web1', error: `not ready within 1m: GET /readyz answered 503: ${EXCERPT}` });
    expect(out.join('\n')).not.toMatch(/postgres:|hunter2/);
  });

  it("the listr2 tree: the failed row's title says it", async () => {
    let text = '';
    const stream = new Writable({ write: (chunk, _enc, done) => void ((text += String(chunk)), done()) }) as unknown as NodeJS.WriteStream;
    const renderer = new ListrRenderer(['web1', 'web2'], safe, {
      renderer: 'test',
      rendererOptions: { logger: new ListrLogger({ processOutput: new ProcessOutput(stream, stream) }) },
    });
    await neverReady((event) => renderer.emit(event));
    await renderer.close();
    expect(text).toContain(JSON.stringify(`web1: FAILED on ${NEW}: not ready within 1m: GET /readyz answered 503: ${EXCERPT}`).slice(1, -1));
    expect(text).not.toMatch(/postgres:|hunter2/);
  });
});

describe('--verbose probe lines', () => {
  const probe = { host: 'web1', kind: 'probe' as const, label: 'GET 127.0.0.1:8000/readyz', command: 'GET /readyz', durationMs: 7 };

  it('quote what a not-ready app answered, excerpted and redacted like the failure', () => {
    expect(describeCommand({ ...probe, code: 503, body: BODY }, createRedactor([SECRET]))).toBe(`  [web1] GET 127.0.0.1:8000/readyz: HTTP 503 in 7ms: ${EXCERPT}`);
    expect(describeCommand({ ...probe, code: 503, body: `db down\n${SECRET}` }, createRedactor([SECRET]))).toBe('  [web1] GET 127.0.0.1:8000/readyz: HTTP 503 in 7ms: db down\\n[redacted]');
  });

  it('say nothing more for a 2xx, an empty body, no answer, or a command', () => {
    const none = (text: string) => text;
    expect(describeCommand({ ...probe, code: 200, body: 'ok' }, none)).toBe('  [web1] GET 127.0.0.1:8000/readyz: HTTP 200 in 7ms');
    expect(describeCommand({ ...probe, code: 503, body: '' }, none)).toBe('  [web1] GET 127.0.0.1:8000/readyz: HTTP 503 in 7ms');
    expect(describeCommand({ ...probe, code: -1 }, none)).toBe('  [web1] GET 127.0.0.1:8000/readyz: no answer in 7ms');
    expect(describeCommand({ host: 'web2', kind: 'command', label: 'activate r2', command: 'sh', durationMs: 1200, code: 0, warm: true }, none)).toBe(
      '  [web2] activate r2: exit 0 in 1.2s (warm shell)',
    );
  });
});
