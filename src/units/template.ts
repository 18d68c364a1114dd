/**
 * The template language of units/*.tmpl: `{{name}}` placeholders and nothing else. A placeholder without a
 * value is an error (a typo must not render an empty directive), and a line holding only a placeholder whose
 * value is empty disappears, so optional directives leave no blank line.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ShipitError } from '../lib/errors.js';
import { packageRoot } from '../lib/package-root.js';

export type TemplateVars = Readonly<Record<string, string | number>>;

const PLACEHOLDER = /\{\{\s*([A-Za-z][A-Za-z0-9]*)\s*\}\}/g;

export function renderTemplate(template: string, vars: TemplateVars, name = 'template'): string {
  const missing = new Set<string>();
  const lines = template.split('\n').flatMap((line) => {
    const only = /^\s*\{\{\s*([A-Za-z][A-Za-z0-9]*)\s*\}\}\s*$/.exec(line);
    if (only && vars[only[1] as string] === '') return [];
    const rendered = line.replace(PLACEHOLDER, (_, key: string) => {
      const value = vars[key];
      if (value === undefined) {
        missing.add(key);
        return '';
      }
      return String(value);
    });
    return [rendered];
  });
  if (missing.size > 0) {
    throw new ShipitError('INTERNAL', `${name}: no value for ${[...missing].map((key) => `{{${key}}}`).join(', ')}`);
  }
  const text = lines.join('\n');
  if (text.includes('{{')) throw new ShipitError('INTERNAL', `${name}: malformed placeholder near "${text.slice(text.indexOf('{{'), text.indexOf('{{') + 30)}"`);
  return text;
}

const cache = new Map<string, string>();

/** units/<file> of this package (units/ sits at the package root beside src/ and dist/). */
export function readTemplate(file: string): string {
  const cached = cache.get(file);
  if (cached !== undefined) return cached;
  try {
    const text = readFileSync(join(packageRoot(), 'units', file), 'utf8');
    cache.set(file, text);
    return text;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  throw new ShipitError('INTERNAL', `unit template units/${file} is missing from the shipit package`);
}
