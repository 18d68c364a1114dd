/**
 * A short excerpt of what an app answered, for a failure message: apps commonly say in a readiness response why
 * they are not ready (`{"db": "unreachable"}`), and a message that says only `answered 503` leaves the user to
 * guess, or to curl the host.
 */
export const BODY_EXCERPT_BYTES = 200;

/**
 * The body's first `maxBytes` bytes (of UTF-8) as one printable line; '' for an empty or blank body.
 *
 * Secrets are redacted first, from the whole body: the renderers redact every line again, but a secret cut in
 * two at the bound no longer matches any spelling of it, and its first part would be printed. Then control and
 * format characters are escaped (a newline would split the line a CI log shows, an ESC would drive the terminal,
 * a bidi override would reorder what is read), as JSON escapes them, so the redactor's JSON-escaped spellings of a
 * secret still match what is printed. The cut falls between characters, never inside one or inside an escape.
 */
export function excerptBody(body: string, redact: (text: string) => string, maxBytes = BODY_EXCERPT_BYTES): string {
  const text = redact(body).trim();
  let excerpt = '';
  let bytes = 0;
  for (const char of text) {
    const piece = UNPRINTABLE.test(char) ? escapeChar(char) : char;
    bytes += Buffer.byteLength(piece);
    if (bytes > maxBytes) return `${excerpt}…`;
    excerpt += piece;
  }
  return excerpt;
}

/** C0/C1 controls and DEL, format characters (bidi overrides, zero-width), line and paragraph separators. */
const UNPRINTABLE = /^[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]$/u;
const SHORT: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeChar(char: string): string {
  const code = char.codePointAt(0)!;
  return SHORT[char] ?? (code > 0xffff ? `\\u{${code.toString(16)}}` : `\\u${code.toString(16).padStart(4, '0')}`);
}
