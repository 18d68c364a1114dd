import { PassThrough } from 'node:stream';
import { askToConfirm, canAsk } from '../../../src/cli/confirm.js';

describe('asking before shipit remove', () => {
  const ask = async (typed: string | null) => {
    const input = new PassThrough();
    const output = new PassThrough();
    let shown = '';
    output.on('data', (chunk: Buffer) => (shown += chunk.toString()));
    const answer = askToConfirm('remove hello from web1? type "production" to confirm: ', 'production', input, output);
    if (typed === null) input.end();
    else input.write(`${typed}\n`);
    return { confirmed: await answer, shown };
  };

  it('is confirmed only by the exact name', async () => {
    expect(await ask('production')).toEqual({ confirmed: true, shown: 'remove hello from web1? type "production" to confirm: ' });
    expect((await ask('  production ')).confirmed).toBe(true);
    for (const typed of ['y', 'yes', '', 'Production', 'prod']) expect((await ask(typed)).confirmed).toBe(false);
  });

  it('end of input is no', async () => {
    expect((await ask(null)).confirmed).toBe(false);
  });

  it('asks only at a terminal: never in CI, with --json, or with stdin or stdout not a terminal', () => {
    const tty = { isTTY: true };
    expect(canAsk({}, tty, tty, {})).toBe(true);
    expect(canAsk({}, tty, tty, { CI: 'true' })).toBe(false);
    expect(canAsk({ json: true }, tty, tty, {})).toBe(false);
    expect(canAsk({}, {}, tty, {})).toBe(false);
    expect(canAsk({}, tty, {}, {})).toBe(false);
  });
});
