import { join, posix } from 'node:path';
import { readOptionalText } from '../lib/read-optional.js';

/**
 * What `shipit init --preset node` reads of a TypeScript project, so that the config it writes ships tsc's
 * output rather than the sources: the onboarding trial's user got `build.dir: '.'` and `server.module:
 * 'server.js'`, and learnt from `shipit plan`'s refusal and the README what a TypeScript build needs.
 */
export interface TypeScriptProject {
  /** tsconfig's compilerOptions.outDir, as a relative POSIX path ('dist'). */
  outDir: string;
  /** `npm run build` when package.json has a build script, else `npx tsc`. */
  command: string;
  /** package.json says "type": "module": dist/ needs a package.json of its own saying so (it does not ship). */
  esm: boolean;
  /** The entry relative to outDir: package.json's main when it lies in outDir, else server.js. */
  entry: string;
}

/** undefined when the directory has no tsconfig.json with an outDir (or it cannot be read). */
export function detectTypeScriptProject(dir: string): TypeScriptProject | undefined {
  const tsconfig = readJsonc(join(dir, 'tsconfig.json')) as { compilerOptions?: { outDir?: unknown } } | undefined;
  const raw = tsconfig?.compilerOptions?.outDir;
  if (typeof raw !== 'string') return undefined;
  const outDir = posix.normalize(raw.replace(/\\/g, '/')).replace(/^\.\//, '').replace(/\/$/, '');
  if (outDir === '' || outDir === '.' || outDir.startsWith('../') || posix.isAbsolute(outDir)) return undefined;
  const pkg = (readJsonc(join(dir, 'package.json')) ?? {}) as { type?: unknown; main?: unknown; scripts?: { build?: unknown } };
  const main = typeof pkg.main === 'string' ? posix.normalize(pkg.main).replace(/^\.\//, '') : '';
  return {
    outDir,
    command: typeof pkg.scripts?.build === 'string' ? 'npm run build' : 'npx tsc',
    esm: pkg.type === 'module',
    entry: main.startsWith(`${outDir}/`) ? main.slice(outDir.length + 1) : 'server.js',
  };
}

/** JSON with comments and trailing commas, as tsconfig.json is written; undefined when it cannot be read. */
function readJsonc(file: string): unknown {
  const text = readOptionalText(file);
  if (text === undefined) return undefined;
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      // A string, escapes included, as it is.
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end === -1 ? text.length : end + 1;
    } else out += c;
  }
  try {
    return JSON.parse(out.replace(/,(\s*[}\]])/g, '$1'));
  } catch {
    return undefined;
  }
}
