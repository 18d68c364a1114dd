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
