import { excerptBody } from '../../../src/lib/body-excerpt.js';
import { REDACTED, createRedactor } from '../../../src/lib/redact.js';

const none = (text: string) => text;

describe('excerptBody', () => {
  it("keeps a short body as it is, without the trailing newline apps add; '' for an empty or blank one", () => {
    expect(excerptBody('{"db": "unreachable"}\n', none)).toBe('{"db": "unreachable"}');
    expect(excerptBody('', none)).toBe('');
    expect(excerptBody(' \r\n', none)).toBe('');
  });

  it('is one line: newlines, escapes and other controls are escaped, not printed', () => {
    expect(excerptBody('db: down\r\ncache:\tok\n\x1b[2J\x00\x7f\u0085', none)).toBe('db: down\\r\\ncache:\\tok\\n\\u001b[2J\\u0000\\u007f\\u0085');
    // Bidi overrides and line separators would reorder or break what the terminal shows.
    expect(excerptBody('a\u202eb\u2028c\u{e0001}', none)).toBe('a\\u202eb\\u2028c\\u{e0001}');
    expect(excerptBody('déjà prêt ✓', none)).toBe('déjà prêt ✓');
  });

  it('is cut at 200 bytes of UTF-8, between characters and escapes, marked with …', () => {
    expect(excerptBody('x'.repeat(200), none)).toBe('x'.repeat(200));
    expect(excerptBody('x'.repeat(201), none)).toBe(`${'x'.repeat(200)}…`);
    // 'é' is 2 bytes: 100 fill the 200, the 101st does not fit.
    expect(excerptBody('é'.repeat(150), none)).toBe(`${'é'.repeat(100)}…`);
    // An escape is never cut in half: '\n' escaped is 2 bytes and does not fit after 199.
    expect(excerptBody(`${'x'.repeat(199)}\nmore`, none)).toBe(`${'x'.repeat(199)}…`);
    expect(excerptBody('abcdef', none, 4)).toBe('abcd…');
  });

  it('redacts secrets before the cut: a secret straddling the bound leaks no part of it', () => {
    const secret = 'sk_live_0123456789abcdef';
    const body = `${'x'.repeat(190)}${secret}`;
    // Redacting only the printed line would miss it: the cut leaves a prefix no spelling matches.
    expect(createRedactor([secret])(`${'x'.repeat(190)}${secret}`.slice(0, 200))).toContain('sk_live_01');
    const excerpt = excerptBody(body, createRedactor([secret]));
    expect(excerpt).toBe(`${'x'.repeat(190)}${REDACTED}`);
    expect(excerpt).not.toContain('sk_live');
  });

  it('redacts a secret with a newline in it, and what it prints still redacts as JSON (--json)', () => {
    const secret = 'line one\nline two';
    const redact = createRedactor([secret]);
    expect(excerptBody(`{"key": "${secret}"}`, redact)).toBe(`{"key": "${REDACTED}"}`);
    // Even with no redactor at the excerpt, the escaped form is a spelling the renderers' redactor knows.
    expect(redact(excerptBody(`token=${secret}`, none))).toBe(`token=${REDACTED}`);
  });
});
