import { unifiedDiff } from '../../../src/lib/line-diff.js';

const labels = { before: 'a', after: 'b' };

describe('unified diff', () => {
  it('is empty for equal texts', () => expect(unifiedDiff('x\n', 'x\n', labels)).toBe(''));

  it('shows a changed line with 3 lines of context, like diff -u', () => {
    const before = ['1', '2', '3', '4', '5', '6', '7', '8', '9'].join('\n') + '\n';
    const after = before.replace('5', 'five');
    expect(unifiedDiff(before, after, labels)).toBe(['--- a', '+++ b', '@@ -2,7 +2,7 @@', ' 2', ' 3', ' 4', '-5', '+five', ' 6', ' 7', ' 8', ''].join('\n'));
  });

  it('splits distant changes into hunks and handles a new file', () => {
    const before = Array.from({ length: 20 }, (_, i) => `l${i}`).join('\n') + '\n';
    const after = before.replace('l1\n', 'L1\n').replace('l18\n', 'L18\n');
    const diff = unifiedDiff(before, after, labels);
    expect(diff.match(/^@@/gm)).toHaveLength(2);
    expect(diff).toContain('@@ -1,5 +1,5 @@');
    expect(diff).toContain('@@ -16,5 +16,5 @@');
    expect(unifiedDiff('', 'a\nb\n', { before: '/dev/null', after: 'x' })).toBe('--- /dev/null\n+++ x\n@@ -0,0 +1,2 @@\n+a\n+b\n');
  });

  it('matches `diff -u` on a reordered unit file', () => {
    const before = '[Service]\nA=1\nB=2\nC=3\n';
    const after = '[Service]\nB=2\nA=1\nC=3\nD=4\n';
    expect(unifiedDiff(before, after, labels)).toBe('--- a\n+++ b\n@@ -1,4 +1,5 @@\n [Service]\n-A=1\n B=2\n+A=1\n C=3\n+D=4\n');
  });
});
