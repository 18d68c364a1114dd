import { compileExcludes } from '../../../src/build/exclude.js';
import { SECRET_EXCLUDES } from '../../../src/config/schema.js';

describe('build.exclude patterns', () => {
  const excluded = (patterns: readonly string[], paths: [string, boolean][]) => {
    const matches = compileExcludes(patterns);
    return paths.filter(([path, isDir]) => matches(path, isDir)).map(([path]) => path);
  };

  it('what is always left out is every .env file, at any depth, and nothing else', () => {
    expect(
      excluded(SECRET_EXCLUDES, [
        ['.git', true],
        ['.env', false],
        ['.env.production', false],
        ['config/.env.local', false],
        ['.envrc', false],
        ['app/env.py', false],
        ['app/main.py', false],
        ['.github', true],
      ]),
    ).toEqual(['.env', '.env.production', 'config/.env.local']);
  });

  it('!pattern ships again what an earlier pattern left out: the last pattern that matches decides, as in .gitignore', () => {
    const paths: [string, boolean][] = [
      ['.env', false],
      ['.env.example', false],
      ['config/.env.example', false],
      ['.env.production', false],
      ['logs', true],
      ['app.log', false],
      ['keep.log', false],
    ];
    expect(excluded([...SECRET_EXCLUDES, '!.env.example'], paths)).toEqual(['.env', '.env.production']);
    expect(excluded([...SECRET_EXCLUDES, '!/.env.example'], paths)).toEqual(['.env', 'config/.env.example', '.env.production']);
    expect(excluded(['*.log', '!keep.log'], paths)).toEqual(['app.log']);
    expect(excluded(['!keep.log', '*.log'], paths)).toEqual(['app.log', 'keep.log']);
    expect(excluded(['logs/', '!logs/'], paths)).toEqual([]);
    // A negation alone excludes nothing.
    expect(excluded(['!app.log'], paths)).toEqual([]);
  });

  it('only a negation without wildcards (or the pair itself negated) ships a secret: any other wildcard negation ships everything else it matches', () => {
    const paths: [string, boolean][] = [
      ['.env.local', false],
      ['web/.env.local', false],
      ['app.local', false],
      ['.env.js', false],
      ['main.js', false],
      ['.env.example', false],
      ['config/.env.production', false],
    ];
    // The Vite/Next secrets file stays home at any depth; app.local is shipped again.
    expect(excluded([...SECRET_EXCLUDES, '!*.local'], paths)).toEqual(['.env.local', 'web/.env.local', '.env.js', '.env.example', 'config/.env.production']);
    expect(excluded([...SECRET_EXCLUDES, '*.local', '!*.local'], paths)).toEqual(['.env.local', 'web/.env.local', '.env.js', '.env.example', 'config/.env.production']);
    expect(excluded([...SECRET_EXCLUDES, '*', '!*.js'], paths)).toEqual(['.env.local', 'web/.env.local', 'app.local', '.env.js', '.env.example', 'config/.env.production']);
    expect(excluded([...SECRET_EXCLUDES, '!.env.?xample', '!config/.env.*'], paths)).toEqual(['.env.local', 'web/.env.local', '.env.js', '.env.example', 'config/.env.production']);
    // Named, they ship; a later wildcard negation does not take that back.
    expect(excluded([...SECRET_EXCLUDES, '!.env.example', '!config/.env.production', '!*.local'], paths)).toEqual(['.env.local', 'web/.env.local', '.env.js']);
    expect(excluded([...SECRET_EXCLUDES, '!/.env.local', '!*.local'], paths)).toEqual(['web/.env.local', '.env.js', '.env.example', 'config/.env.production']);
  });

  it('SECRET_EXCLUDES have no slash: exclude.ts matches them against the name at any depth', () => {
    expect(SECRET_EXCLUDES.filter((pattern) => pattern.includes('/'))).toEqual([]);
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
