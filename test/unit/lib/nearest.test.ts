import { editDistance, nearest } from '../../../src/lib/nearest.js';

describe('nearest: "did you mean"', () => {
  it('counts a swap of neighbours as one edit', () => {
    expect(editDistance('mian', 'main')).toBe(1);
    expect(editDistance('healhtz', 'healthz')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });

  it('picks the nearest within the limit, then the first alphabetically; never the name itself', () => {
    const within2 = () => 2;
    expect(nearest('mian', ['main', 'mine', 'mian'], within2)).toBe('main');
    expect(nearest('abc', ['abd', 'abb'], within2)).toBe('abb');
    expect(nearest('main', ['zzzzzz'], within2)).toBeUndefined();
    expect(nearest('ab', ['abcd'], (a, b) => Math.min(2, Math.floor(Math.max(a, b) / 3)))).toBeUndefined();
  });

  it('folds case when asked: a key that differs only in case is suggested', () => {
    expect(nearest('Port', ['port', 'host'], () => 2, { ignoreCase: true })).toBe('port');
    expect(nearest('PORT', ['port'], () => 2)).toBeUndefined();
  });
});
