/**
 * The `command` preset runs `/bin/sh -c 'exec <command>'`: exec makes the server the service's main process, so
 * it receives the socket (LISTEN_PID) and its exit is the service's exit. A list such as `a && b` or `a; b` would
 * exec only `a` (or, for a pipeline, leave a shell in between), so the config rejects unquoted ; & | ( ).
 */

/** The first unquoted shell control operator in `command`, or undefined when it is one simple command. */
export function findControlOperator(command: string): string | undefined {
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < command.length; i++) {
    const char = command[i] as string;
    if (quote === "'") {
      if (char === "'") quote = undefined;
      continue;
    }
    if (char === '\\') {
      i++;
      continue;
    }
    if (char === '$' && command[i + 1] === '(') {
      i = skipSubstitution(command, i + 2);
      continue;
    }
    if (char === '`') {
      const end = command.indexOf('`', i + 1);
      i = end === -1 ? command.length : end;
      continue;
    }
    if (quote === '"') {
      if (char === '"') quote = undefined;
      continue;
    }
    if (char === "'" || char === '"') {
      quote = char;
      continue;
    }
    if (char === ';' || char === '(' || char === ')') return char;
    if (char === '&' || char === '|') {
      const next = command[i + 1];
      // `>&2`, `2>&1` and `>|` are redirections, not operators.
      if (char === '&' && (command[i - 1] === '>' || command[i - 1] === '<')) continue;
      if (char === '|' && command[i - 1] === '>') continue;
      return next === char ? char + char : char;
    }
  }
  return undefined;
}

/** Index of the ')' closing a `$(` whose content starts at `start` (nested parentheses and quotes respected). */
function skipSubstitution(command: string, start: number): number {
  let depth = 1;
  let quote: '"' | "'" | undefined;
  for (let i = start; i < command.length; i++) {
    const char = command[i];
    if (quote !== undefined) {
      if (char === quote) quote = undefined;
      else if (char === '\\' && quote === '"') i++;
      continue;
    }
    if (char === '\\') i++;
    else if (char === "'" || char === '"') quote = char;
    else if (char === '(') depth++;
    else if (char === ')' && --depth === 0) return i;
  }
  return command.length;
}
