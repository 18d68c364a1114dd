// Host strings, worker expressions and command lines: the small parsers behind the schema.
import { findControlOperator } from '../../../src/config/command-line.js';
import { defaultHostName, isValidHostAddress, parseHostString } from '../../../src/config/hosts.js';
import { evaluateWorkers, parseWorkers } from '../../../src/config/workers.js';

describe('parseHostString', () => {
  it.each([
    ['web1', { user: undefined, host: 'web1', port: undefined }],
    ['deploy@web1.example.com', { user: 'deploy', host: 'web1.example.com', port: undefined }],
    ['web1:2222', { user: undefined, host: 'web1', port: 2222 }],
    ['u@10.0.0.5:22', { user: 'u', host: '10.0.0.5', port: 22 }],
    ['[2001:db8::1]', { user: undefined, host: '2001:db8::1', port: undefined }],
    ['deploy@[::1]:2200', { user: 'deploy', host: '::1', port: 2200 }],
    ['fe80::1', { user: undefined, host: 'fe80::1', port: undefined }],
    ['web1.example.com.', { user: undefined, host: 'web1.example.com.', port: undefined }],
  ])('%p', (text, parsed) => {
    expect(parseHostString(text)).toEqual(parsed);
  });

  it.each(['web 2', '', 'web1:', 'web1:0', 'web1:65536', 'web1:22x', '@web1', 'a b@web1', '[::1]x', '[web1]', '999.1.1.1', '-a.com', 'a-.com', 'a_b.com', `${'a'.repeat(64)}.com`, 'web1;rm'])(
    'rejects %p',
    (text) => {
      expect(parseHostString(text)).toBeUndefined();
    },
  );

  it('validates addresses and names hosts', () => {
    expect(isValidHostAddress('10.0.0.1')).toBe(true);
    expect(isValidHostAddress('::1')).toBe(true);
    expect(isValidHostAddress('10.0.0')).toBe(false);
    expect(defaultHostName('web1', 22)).toBe('web1');
    expect(defaultHostName('web1', 2222)).toBe('web1:2222');
    expect(defaultHostName('::1', 22)).toBe('::1');
    expect(defaultHostName('::1', 2222)).toBe('[::1]:2222');
  });
});

describe('workers', () => {
  it('parses auto, counts and cpu expressions', () => {
    expect(parseWorkers('auto')).toEqual({ kind: 'auto' });
    expect(parseWorkers(4)).toEqual({ kind: 'fixed', count: 4 });
    expect(parseWorkers(' 4 ')).toEqual({ kind: 'fixed', count: 4 });
    expect(parseWorkers('2 * cpu + 1')).toEqual({ kind: 'expression', expression: '2*cpu+1' });
    for (const bad of [0, 1025, 1.5, '2*cpu+', '*cpu', 'cpu cpu', '2*3', '(cpu)', 'cpu/2', 'CPU', null, true]) expect(parseWorkers(bad)).toBeUndefined();
  });

  it('evaluates like shell arithmetic, at least 1', () => {
    expect(evaluateWorkers({ kind: 'auto' }, 8)).toBe(8);
    expect(evaluateWorkers({ kind: 'fixed', count: 3 }, 8)).toBe(3);
    const value = (expression: string, cpu: number) => evaluateWorkers(parseWorkers(expression)!, cpu);
    expect(value('2*cpu+1', 4)).toBe(9);
    expect(value('1+2*cpu', 4)).toBe(9);
    expect(value('cpu-1', 4)).toBe(3);
    expect(value('cpu-1', 1)).toBe(1);
    expect(value('10-cpu*2-1', 3)).toBe(3);
    expect(value('cpu*cpu', 3)).toBe(9);
  });
});

describe('findControlOperator', () => {
  it.each([
    ['./bin/server --port $PORT', undefined],
    ['python3 -m uvicorn app:app --fd 3', undefined],
    ['node server.js 2>&1', undefined],
    ['node server.js >&2 >| log', undefined],
    ["sh -c 'a; b'", undefined],
    ['echo "a && b"', undefined],
    ['echo \\; x', undefined],
    ['server --workers $(nproc; true)', undefined],
    ['server --at `date; x`', undefined],
    ['a; b', ';'],
    ['a && b', '&&'],
    ['a || b', '||'],
    ['a | b', '|'],
    ['a &', '&'],
    ['(a)', '('],
    ['x "$(echo ")")" ; y', ';'],
  ])('%p → %p', (command, operator) => {
    expect(findControlOperator(command)).toBe(operator);
  });
});
