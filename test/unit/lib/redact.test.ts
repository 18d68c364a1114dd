import { REDACTED, createRedactor, redactSecrets, secretSpellings } from '../../../src/lib/redact.js';

describe('redactSecrets', () => {
  it('replaces every occurrence of every secret', () => {
    expect(redactSecrets('user p4ss connects with p4ss to db', ['p4ss'])).toBe(`user ${REDACTED} connects with ${REDACTED} to db`);
  });

  it('catches the spellings a secret takes on the way: JSON, env-file escaped, URL-encoded', () => {
    const secret = 'pa"ss$wo rd/';
    const redact = createRedactor([secret]);
    expect(redact(JSON.stringify({ secret }))).toBe(`{"secret":"${REDACTED}"}`);
    expect(redact('DATABASE_URL="pa\\"ss\\$wo rd/"')).toBe(`DATABASE_URL="${REDACTED}"`);
    expect(redact(`postgres://u:${encodeURIComponent(secret)}@db`)).toBe(`postgres://u:${REDACTED}@db`);
    expect(secretSpellings('')).toEqual([]);
  });

  it("catches them inside --json output too: an app's JSON log line, JSON-encoded again as a field", () => {
    const secret = `tok"en$PATH\\x'y second line`;
    const redact = createRedactor([secret]);
    const logged = JSON.stringify({ msg: 'ready', token: secret }); // pino, winston, console.log(JSON.stringify(...))
    const line = JSON.stringify({ host: 'web1', message: logged }); // shipit logs --json
    expect(redact(line)).toBe(JSON.stringify({ host: 'web1', message: JSON.stringify({ msg: 'ready', token: REDACTED }) }));
    // And an env-file line in an error message, in a --json event.
    const envLine = `API_TOKEN="${secret.replace(/[\\"$`]/g, (c) => `\\${c}`)}"`;
    expect(redact(JSON.stringify({ error: envLine }))).toBe(JSON.stringify({ error: `API_TOKEN="${REDACTED}"` }));
  });

  it('redacts the longest match first, so a secret containing another cannot leak a tail', () => {
    expect(redactSecrets('abcdef', ['abc', 'abcdef'])).toBe(REDACTED);
  });

  it('treats regex metacharacters literally and ignores empty or undefined values', () => {
    expect(redactSecrets('a.b a*b', ['a*b', '', undefined])).toBe(`a.b ${REDACTED}`);
    expect(createRedactor([])('unchanged')).toBe('unchanged');
  });
});

describe("the CLI's last error message", () => {
  it('is redacted with the secrets of the config the process loaded (a host output quoted in it may hold one)', async () => {
    const { report } = await import('../../../src/cli/main.js');
    const { ShipitError } = await import('../../../src/lib/errors.js');
    const { rememberSecrets } = await import('../../../src/lib/redact.js');
    rememberSecrets(['hunter2-s3cret']);
    let out = '';
    const code = report(new ShipitError('REMOTE_FAILED', 'web1: activate failed: app: {"msg":"db login hunter2-s3cret refused"}', { hint: 'password hunter2-s3cret?' }), (t) => (out += t));
    expect(code).toBe(1);
    expect(out).toBe('error: web1: activate failed: app: {"msg":"db login [redacted] refused"}\nhint: password [redacted]?\n');
  });
});
