/**
 * The ONE quoting function (STYLE.md, habit 1). POSIX single quotes: everything literal, and a single quote
 * becomes '\''. Words made only of safe characters stay bare so the printed commands read naturally.
 */
const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

export function quote(word: string): string {
  if (word === '') return "''";
  if (SAFE.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Joins an argv array into one shell command line. */
export function shellJoin(argv: readonly string[]): string {
  return argv.map(quote).join(' ');
}

/**
 * A shell command that writes `content` to its stdout: the builtin printf with the content quoted, so that no
 * process runs for it (each short process costs ~5 ms of CPU on a busy host; issue 6) and the text reads as it is
 * in `shipit plan`. Small text only (units, metas, the plain env, checksum lists): the whole script travels as one
 * argument (`sh -c`), which Linux caps at 128 KiB (MAX_ARG_STRLEN). Measured through shipit's own connection to a
 * lab host: a 100,000-byte command ran, a 140,000-byte one failed with `/bin/bash: Argument list too long`.
 */
export function inline(content: string): string {
  if (content.includes('\0')) throw new Error('text with a NUL byte cannot be written by a shell script');
  return `printf %s ${quote(content)}`;
}
