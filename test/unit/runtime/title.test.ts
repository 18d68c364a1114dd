import { RuntimeConfigError } from '../../../src/runtime/config.js';
import { processTitle, takeNameArg } from '../../../src/runtime/title.js';

describe('processTitle', () => {
  it('names the app, so that two apps on one host have different titles', () => {
    expect(processTitle({ kind: 'master' }, 'shop')).toBe('shipit-runtime: shop master');
    expect(processTitle({ kind: 'worker', slot: 2 }, 'shop')).toBe('shipit-runtime: shop worker 2');
    expect(processTitle({ kind: 'worker', slot: 2 }, 'blog')).not.toBe(processTitle({ kind: 'worker', slot: 2 }, 'shop'));
  });

  it('without a name (run by hand) keeps the titles it always had', () => {
    expect(processTitle({ kind: 'master' }, undefined)).toBe('shipit-runtime: master');
    expect(processTitle({ kind: 'worker', slot: 12 }, undefined)).toBe('shipit-runtime: worker 12');
  });
});

describe('takeNameArg', () => {
  it('takes --name <app> and --name=<app> out of the arguments, leaving the rest in order', () => {
    expect(takeNameArg(['--name', 'shop'])).toEqual({ name: 'shop', rest: [] });
    expect(takeNameArg(['a', '--name=shop', 'b'])).toEqual({ name: 'shop', rest: ['a', 'b'] });
    expect(takeNameArg([])).toEqual({ name: undefined, rest: [] });
  });

  it('rejects --name without a value, as an invalid start (exit 2)', () => {
    expect(() => takeNameArg(['--name'])).toThrow(RuntimeConfigError);
    expect(() => takeNameArg(['--name='])).toThrow('--name: needs a value');
    expect(() => takeNameArg(['--name', ' '])).toThrow('--name: needs a value');
  });
});
