import { compileExcludes } from '../../../src/build/exclude.js';
import { DEFAULT_EXCLUDE } from '../../../src/config/schema.js';

describe('build.exclude patterns', () => {
  const excluded = (patterns: readonly string[], paths: [string, boolean][]) => {
    const matches = compileExcludes(patterns);
    return paths.filter(([path, isDir]) => matches(path, isDir)).map(([path]) => path);
  };

  it('the default leaves out .git and every .env file, at any depth, and nothing else', () => {
    expect(
      excluded(DEFAULT_EXCLUDE, [
        ['.git', true],
        ['.env', false],
        ['.env.production', false],
        ['config/.env.local', false],
        ['.envrc', false],
        ['app/env.py', false],
        ['app/main.py', false],
        ['.github', true],
      ]),
    ).toEqual(['.git', '.env', '.env.production', 'config/.env.local']);
  });

  it('as .gitignore: a name at any depth, a path with a slash from build.dir, *, ** and a trailing / for directories', () => {
    const paths: [string, boolean][] = [
      ['tmp', true],
      ['app/tmp', true],
      ['app/tmp.py', false],
      ['docs/drafts', true],
      ['src/docs/drafts', true],
      ['a/b/c/notes.md', false],
      ['notes.md', false],
      ['coverage', false],
    ];
    expect(excluded(['/tmp'], paths)).toEqual(['tmp']);
    expect(excluded(['tmp/'], paths)).toEqual(['tmp', 'app/tmp']);
    expect(excluded(['tmp*'], paths)).toEqual(['tmp', 'app/tmp', 'app/tmp.py']);
    expect(excluded(['docs/drafts'], paths)).toEqual(['docs/drafts']);
    expect(excluded(['**/docs/drafts'], paths)).toEqual(['docs/drafts', 'src/docs/drafts']);
    expect(excluded(['a/**/*.md'], paths)).toEqual(['a/b/c/notes.md']);
    expect(excluded(['*.md'], paths)).toEqual(['a/b/c/notes.md', 'notes.md']);
    expect(excluded(['coverage/'], paths)).toEqual([]);
    expect(excluded(['n?tes.md'], paths)).toEqual(['a/b/c/notes.md', 'notes.md']);
    expect(excluded([], paths)).toEqual([]);
  });
});
