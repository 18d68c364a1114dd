import { readFileSync } from 'node:fs';

/** A file's text, or undefined when it is missing or cannot be read (package.json, tsconfig.json looked for by walking up). */
export function readOptionalText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
