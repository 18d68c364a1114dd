/**
 * The last lines of a command's output, for a failure to quote. It is fed whole lines, each stream's own (a line of
 * stderr written between two writes of one stdout line must not split it: a secret split in two escapes redaction),
 * and quotes each line redacted first and cut after: a cut made before redaction could keep the start of a secret.
 */
export interface OutputTail {
  /** A whole line of output, as it was printed. */
  add(line: string): void;
  /** The start of a line too long to hold (already redacted, up to where no secret can be unfinished). */
  addStart(start: string): void;
  /** The last lines, redacted and cut to `lineChars`; no blank lines at either end. */
  quote(): string[];
}

export function createOutputTail(options: { lines: number; lineChars: number; redact: (text: string) => string }): OutputTail {
  const { lines: count, lineChars, redact } = options;
  const kept: { text: string; cut: boolean }[] = [];
  // Blank lines since the last non-blank one: kept only if more output follows, as a trimmed tail would show them.
  let blanks = 0;
  const keep = (text: string, cut: boolean) => {
    if (!cut && text.trim() === '') {
      blanks = Math.min(blanks + 1, count);
      return;
    }
    for (; blanks > 0; blanks--) kept.push({ text: '', cut: false });
    // A long line is redacted now, not held whole until a failure asks for it: memory stays lines × lineChars.
    if (text.length > lineChars) {
      const redacted = redact(text);
      [text, cut] = redacted.length > lineChars ? [redacted.slice(0, lineChars), true] : [redacted, cut];
    }
    kept.push({ text, cut });
    kept.splice(0, kept.length - count);
  };
  return {
    add: (line) => keep(line, false),
    addStart: (start) => keep(start.slice(0, lineChars), true),
    quote: () => {
      const quoted = kept.map(({ text, cut }) => {
        const shown = redact(text);
        return shown.length > lineChars || cut ? `${shown.slice(0, lineChars)} … [line cut]` : shown;
      });
      while (quoted.length > 0 && quoted[0]!.trim() === '') quoted.shift();
      return quoted;
    },
  };
}
