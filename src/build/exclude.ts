/**
 * `build.exclude`: the files of build.dir that never ship, as gitignore-style patterns (the subset people write
 * in .gitignore and .dockerignore): `*` and `?` match within one name, `**` across directories; a pattern
 * without a slash matches a file or directory name at any depth (`.env.*`); one with a slash matches the path
 * from build.dir (`/tmp`, `docs/drafts`); a trailing slash matches directories only. An excluded directory is
 * not walked. `!pattern` ships again what an earlier pattern left out; as in .gitignore the last pattern that
 * matches decides, and a file under a directory left out stays out (the directory is not walked).
 *
 * The user's list comes after SECRET_EXCLUDES (config/schema.ts, prepended in config/resolve.ts), which always apply: a list of one's own
 * (`['*.log']`) adds to them rather than replacing them, so a local `.env` never ships by omission; shipping
 * one takes a negation that names it (`'!.env.example'`, `'!config/.env.production'`). A negation with a wildcard
 * is passed over for a path SECRET_EXCLUDES matches (and still applies to every other path): `'!*.local'` meant
 * for `app.local` would otherwise ship `.env.local`, the Vite/Next secrets file, and `['*', '!*.js']` `.env.js`.
 * Except a negation of a SECRET_EXCLUDES pattern itself (`'!.env.*'`): that one names them, and ships them.
 */
import { SECRET_EXCLUDES } from '../config/schema.js';

/** True when `path` (relative to build.dir, `/`-separated; `isDir` for a directory) is excluded. */
export type ExcludeMatcher = (path: string, isDir: boolean) => boolean;

export function compileExcludes(patterns: readonly string[]): ExcludeMatcher {
  const rules = patterns.map((raw) => {
    const negated = raw.startsWith('!');
    const body = negated ? raw.slice(1) : raw;
    const dirOnly = body.endsWith('/');
    const pattern = body.replace(/\/+$/, '');
    // gitignore: a slash anywhere but at the end anchors the pattern to the root.
    const anchored = pattern.includes('/');
    // A wildcard negation that is not one of SECRET_EXCLUDES itself: `!.env.*` names them, and is deliberate.
    const broad = /[*?]/.test(pattern) && !SECRET_EXCLUDES.includes(pattern);
    return { negated, dirOnly, anchored, broad, regex: globToRegExp(pattern.replace(/^\/+/, '')) };
  });
  const secret = SECRET_EXCLUDES.map((pattern) => globToRegExp(pattern));
  return (path, isDir) => {
    const name = path.slice(path.lastIndexOf('/') + 1);
    // SECRET_EXCLUDES have no slash: they match the name at any depth (test/unit/build/exclude.test.ts says so).
    const isSecret = secret.some((regex) => regex.test(name));
    for (let i = rules.length - 1; i >= 0; i--) {
      const rule = rules[i]!;
      if (!(!rule.dirOnly || isDir) || !rule.regex.test(rule.anchored ? path : name)) continue;
      if (rule.negated && rule.broad && isSecret) continue;
      return !rule.negated;
    }
    return false;
  };
}

function globToRegExp(glob: string): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      // `a/**/b` also matches `a/b`; a trailing `/**` everything below.
      if (glob[i + 2] === '/') {
        out += '(?:.*/)?';
        i += 2;
      } else {
        out += '.*';
        i += 1;
      }
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}
