/**
 * `build.exclude`: the files of build.dir that never ship, as gitignore-style patterns (the subset people write
 * in .gitignore and .dockerignore): `*` and `?` match within one name, `**` across directories; a pattern
 * without a slash matches a file or directory name at any depth (`.env.*`); one with a slash matches the path
 * from build.dir (`/tmp`, `docs/drafts`); a trailing slash matches directories only. An excluded directory is
 * not walked. Negation (`!`) is not supported (the schema refuses it): the list only ever removes files.
 */
/** True when `path` (relative to build.dir, `/`-separated; `isDir` for a directory) is excluded. */
export type ExcludeMatcher = (path: string, isDir: boolean) => boolean;

export function compileExcludes(patterns: readonly string[]): ExcludeMatcher {
  const rules = patterns.map((raw) => {
    const dirOnly = raw.endsWith('/');
    const pattern = raw.replace(/\/+$/, '');
    // gitignore: a slash anywhere but at the end anchors the pattern to the root.
    const anchored = pattern.includes('/');
    return { dirOnly, anchored, regex: globToRegExp(pattern.replace(/^\/+/, '')) };
  });
  return (path, isDir) =>
    rules.some((rule) => (!rule.dirOnly || isDir) && rule.regex.test(rule.anchored ? path : path.slice(path.lastIndexOf('/') + 1)));
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
