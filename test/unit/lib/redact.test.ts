import { REDACTED, createRedactor, redactSecrets, secretPattern } from '../../../src/lib/redact.js';

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

  it("catches what an app's own encoders make of it: Python's repr and quote()/quote_plus(), \\u escapes, sh single quotes", () => {
    // A database password with both quotes, $, a backtick, a backslash and spaces (the trial's).
    const secret = `p"a$s 'w\`o\\rd 9!`;
    const redact = createRedactor([secret]);
    const pyRepr = `'p"a$s \\'w\`o\\\\rd 9!'`; // Python: repr(secret), e.g. logged with %r or in a traceback
    expect(redact(`password ${pyRepr} refused`)).toBe(`password '${REDACTED}' refused`);
    // A readiness body (JSON) holding that repr: what the gate's failure printed in the trial.
    expect(redact(JSON.stringify({ pw: pyRepr }))).toBe(`{"pw":"'${REDACTED}'"}`);
    // urllib.parse.quote(secret, safe=''): encodes ' and ! too, which encodeURIComponent leaves; quote_plus: + for space.
    expect(redact('postgresql://orders:p%22a%24s%20%27w%60o%5Crd%209%21@db/orders')).toBe(`postgresql://orders:${REDACTED}@db/orders`);
    expect(redact('dsn=p%22a%24s+%27w%60o%5Crd+9%21;')).toBe(`dsn=${REDACTED};`);
    expect(redact('p%22a%24s%20%27w%60o%5crd%209%21')).toBe(REDACTED);
    // json.dumps's ASCII-safe and HTML-safe escapes.
    expect(redact('"p\\u0022a\\u0024s \\u0027w\\u0060o\\\\rd 9\\u0021"')).toBe(`"${REDACTED}"`);
    // bash's `set -x` and shlex.quote quote a ' inside single quotes.
    expect(redact(`+ echo 'p"a$s '\\''w\`o\\rd 9!'`)).toBe(`+ echo '${REDACTED}'`);
    expect(redact(`psql 'p"a$s '"'"'w\`o\\rd 9!'`)).toBe(`psql '${REDACTED}'`);
    // Letters are not loosened: a backslash before one is another character.
    expect(createRedactor(['tok_live_Q7xZ9mK2'])('tok_live_Q7x\\Z9mK2 tok%5Flive%5FQ7xZ9mK2')).toBe(`tok_live_Q7x\\Z9mK2 ${REDACTED}`);
  });

  it('catches it escaped as HTML: a Django, Starlette, Werkzeug or Jinja error page that a readiness 500 returns', () => {
    const secret = `p"a$s 'w\`o\\rd 9!`;
    const redact = createRedactor([secret, 'Tr0ub4dor&3xyz']);
    // html.escape (Werkzeug, Starlette), Django's escape: &quot; and &#x27;; in Django's debug page, the repr() too.
    expect(redact('password=&#x27;p&quot;a$s &#x27;w`o\\rd 9!&#x27;')).toBe(`password=&#x27;${REDACTED}&#x27;`);
    expect(redact('&#x27;p&quot;a$s \\&#x27;w`o\\\\rd 9!&#x27;')).toBe(`&#x27;${REDACTED}&#x27;`);
    // MarkupSafe (Jinja): &#34; and &#39;; others write &apos;, padded or upper-case numbers, a named backslash.
    expect(redact('pw: p&#34;a$s &#39;w`o\\rd 9!')).toBe(`pw: ${REDACTED}`);
    expect(redact('p&QUOT;a&#36;s&#32;&apos;w&#x60;o&#X5C;rd 9&#x0021;')).toBe(REDACTED);
    expect(redact('p&#0034;a$s &#X0027;w`o&#92;rd 9!')).toBe(REDACTED);
    // sh-quoted, then HTML-escaped: '\'' as &#x27;\&#x27;&#x27;.
    expect(redact('+ psql &#x27;p&quot;a$s &#x27;\\&#x27;&#x27;w`o\\rd 9!&#x27;')).toBe(`+ psql &#x27;${REDACTED}&#x27;`);
    expect(redact('login(&quot;Tr0ub4dor&amp;3xyz&quot;) failed; Tr0ub4dor&#38;3xyz')).toBe(`login(&quot;${REDACTED}&quot;) failed; ${REDACTED}`);
    // A character beyond the BMP is one code point in HTML, not two surrogates.
    expect(createRedactor(['k€y😀!'])('<b>k&#8364;y&#x1F600;&#33;</b>')).toBe(`<b>${REDACTED}</b>`);
  });

  it('redacts the longest match first, so a secret containing another cannot leak a tail', () => {
    expect(redactSecrets('abcdef', ['abc', 'abcdef'])).toBe(REDACTED);
  });

  it('treats regex metacharacters literally and ignores empty or undefined values', () => {
    expect(redactSecrets('a.b a*b', ['a*b', '', undefined])).toBe(`a.b ${REDACTED}`);
    expect(createRedactor([])('unchanged')).toBe('unchanged');
  });
});

describe('redacting text full of backslashes', () => {
  it('bounds every run of backslashes in the pattern, so a long run in output costs linear time', () => {
    // An unbounded `\\*` before each character let every start position in a run of n backslashes scan the rest of
    // it: 30,000 took 1.5 s, a megabyte (an app logging request paths full of them) would hang `shipit logs`.
    const source = secretPattern('$ecret \\ \'x\n');
    expect(source).not.toMatch(/\\\\[*+]/);
    expect(source).toMatch(/\\\\\{\d,\d\}/);
  });

  it('gets through a megabyte of them at once, and still finds a secret escaped three times over behind them', () => {
    // Starts with a character the pattern lets backslashes precede: each position of the run is a candidate start.
    const secret = '$p"w!d';
    const thrice = JSON.stringify(JSON.stringify(JSON.stringify(secret)));
    expect(thrice).toContain('\\\\\\\\\\\\\\"'); // seven backslashes before the quote
    const run = '\\'.repeat(1_000_000);
    const out = createRedactor([secret])(`${run} ${thrice}`);
    expect(out.startsWith(`${run} `)).toBe(true);
    expect(out).toContain(REDACTED);
    expect(out).not.toContain('w!d');
  });
});

describe('a secret with a run of backslashes in it', () => {
  it('spells the run as one group, so that its backslashes cannot nest', () => {
    // One `\\{1,8}` group per backslash: k of them in a row tried 8^k ways to split a run of backslashes in output.
    const source = secretPattern('\\\\\\\\$x');
    const alone = source.match(/\\\\\{\d+,\d+\}(?=[|)])/g); // quantified backslashes with nothing required after them
    expect(alone).toEqual(['\\\\{4,32}']);
  });

  it('gets through a long run of backslashes in output when the secret starts with six of them', () => {
    // 4 leading backslashes and 100 KB took 2.9 s; 6 and 200 KB would have taken minutes.
    const secret = `${'\\'.repeat(6)}$tok"en`;
    const run = '\\'.repeat(200_000);
    const out = createRedactor([secret])(`${run} ${JSON.stringify(secret)}`);
    expect(out).toBe(`${run} "${REDACTED}"`);
  });

  it('still finds it however its backslashes were escaped', () => {
    const secret = 'tok\\\\\\\\"n$';
    const redact = createRedactor([secret]);
    for (const spelled of [
      secret,
      JSON.stringify(secret),
      JSON.stringify(JSON.stringify(secret)),
      JSON.stringify(JSON.stringify(JSON.stringify(secret))),
      `'tok${'\\'.repeat(8)}"n$'`, // Python's repr()
      'tok\\u005c\\u005C\\u005c\\u005c\\u0022n\\u0024',
      'tok%5C%5c%5C%5C%22n%24',
      'tok&#92;&#x5c;&#x5C;&#92;&quot;n$',
    ]) {
      const out = redact(`[${spelled}]`);
      expect(out).toContain(REDACTED);
      expect(out).not.toMatch(/tok|n(?:\$|%24|\\u0024)/);
    }
  });
});

describe('redacting secrets whose backslashes and quotes sit next to other escapes', () => {
  it('a backslash before a symbol, many times over, against many backslashes: the run is taken atomically, not split 8 ways per pair', () => {
    // Each `\\"` of the secret was a run group followed by the quote's own optional backslashes: 8^pairs ways to
    // split the output's backslashes at every position (four pairs took 166 ms on 2.7 KB; eight would take minutes).
    const secret = `${'\\"'.repeat(8)}Z`;
    const noise = `${'\\'.repeat(8)}"`.repeat(300);
    expect(createRedactor([secret])(noise)).toBe(noise);
    const pattern = secretPattern(secret);
    expect(pattern.match(/\(\?=\(\?<b\d+>/g)).toHaveLength(8);
  });

  it('still finds such a secret as written, JSON-escaped up to three times, and with \\u escapes after a run', () => {
    const secret = 'a\\"b\\\\c\'d';
    let text = secret;
    for (let i = 0; i < 4; i++) {
      expect(createRedactor([secret])(`x ${text} y`)).toBe(`x ${REDACTED} y`);
      text = JSON.stringify(text).slice(1, -1);
    }
    expect(createRedactor([secret])('x a\\\\\\u0022b\\\\\\\\c\\u0027d y')).toBe(`x ${REDACTED} y`);
  });

  it("a run of quotes: `'\\''` needs its backslash, so plain quotes have one way to match", () => {
    const secret = `${"'".repeat(12)}Z`;
    const noise = "'".repeat(5000);
    expect(createRedactor([secret])(noise)).toBe(noise);
    expect(createRedactor([secret])(`${"'".repeat(12)}Z`)).toBe(REDACTED);
    expect(createRedactor(["a'b"])("x 'a'\\''b' y")).toBe(`x '${REDACTED}' y`);
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
