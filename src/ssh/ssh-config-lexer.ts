/**
 * ssh_config(5) files split into directives exactly as OpenSSH 9.x splits them (readconf.c
 * process_config_line_depth, misc.c strdelim and argv_split), so a file ssh accepts reads the same here:
 *
 * - the keyword ends at whitespace, a `"` or one `=` (`Host=web1`, `Port = 22`); it is case-insensitive;
 * - arguments are split on spaces and tabs; `"…"` and `'…'` quote; `\` escapes a quote, a backslash, or (outside
 *   quotes) a space; a `#` at the start of an argument ends the line (`User a#b` keeps its `#`);
 * - a line with a keyword but no argument, or an unclosed quote, is an error (ssh refuses the whole file).
 *
 * Pure: text in, directives out. Which keywords mean what is ssh-config.ts's business.
 */
import { ShipitError } from '../lib/errors.js';

export interface SshConfigDirective {
  /** Lowercase, as OpenSSH compares it. */
  keyword: string;
  args: string[];
  /** The text after the keyword (and its `=`), unsplit: ProxyCommand takes it whole. */
  rest: string;
  file: string;
  line: number;
}

const WHITESPACE = ' \t\r\n';

export function sshConfigError(file: string, line: number, message: string): ShipitError {
  return new ShipitError('CONFIG_INVALID', `${file}:${line}: ${message}`, {
    hint: `Fix that line of the SSH config (\`ssh -G <host>\` shows how OpenSSH reads it), or point --ssh-config elsewhere (\`none\` reads no SSH config).`,
  });
}

export function lexSshConfig(text: string, file: string): SshConfigDirective[] {
  const directives: SshConfigDirective[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = index + 1;
    // OpenSSH strips trailing whitespace (and form feeds), then leading whitespace before the keyword.
    const trimmed = raw.replace(/[ \t\r\n\f]+$/, '').replace(/^[ \t\r\n]+/, '');
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const { keyword, rest } = splitKeyword(trimmed);
    if (keyword === '' || keyword.startsWith('#')) return;
    if (rest === '') throw sshConfigError(file, line, `no argument after keyword "${keyword}"`);
    const args = splitArguments(rest);
    if (args === null) throw sshConfigError(file, line, 'invalid quotes');
    directives.push({ keyword: keyword.toLowerCase(), args, rest, file, line });
  });
  return directives;
}

/** strdelim(): the keyword, then past the whitespace and at most one `=` that follow it. */
function splitKeyword(text: string): { keyword: string; rest: string } {
  let end = 0;
  while (end < text.length && !WHITESPACE.includes(text[end]!) && text[end] !== '=' && text[end] !== '"') end++;
  const keyword = text.slice(0, end);
  let i = end;
  while (i < text.length && WHITESPACE.includes(text[i]!)) i++;
  if (text[i] === '=') {
    i++;
    while (i < text.length && WHITESPACE.includes(text[i]!)) i++;
  }
  return { keyword, rest: text.slice(i) };
}

/** argv_split(s, terminate_on_comment = 1); null for an unclosed quote. */
export function splitArguments(text: string): string[] | null {
  const args: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    if (c === '#') break;
    let arg = '';
    let quote = '';
    for (; i < text.length; i++) {
      const ch = text[i]!;
      const next = text[i + 1];
      if (ch === '\\') {
        if (next === "'" || next === '"' || next === '\\' || (quote === '' && next === ' ')) {
          i++;
          arg += next;
        } else {
          arg += ch; // an unrecognised escape is kept as written
        }
      } else if (quote === '' && (ch === ' ' || ch === '\t')) {
        break;
      } else if (quote === '' && (ch === '"' || ch === "'")) {
        quote = ch;
      } else if (quote !== '' && ch === quote) {
        quote = '';
      } else {
        arg += ch;
      }
    }
    if (quote !== '') return null;
    args.push(arg);
  }
  return args;
}
