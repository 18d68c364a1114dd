// Host strings, worker expressions and command lines: the small parsers behind the schema.
import { execFileSync } from 'node:child_process';
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
    for (const bad of [0, 1025, 1.5, '2*cpu+', '*cpu', 'cpu cpu', '2*3', '(cpu)', 'cpu/', 'cpu/0', '2*cpu/0+1', 'CPU', null, true]) expect(parseWorkers(bad)).toBeUndefined();
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
    // Integer division, truncated, at least 1: 'cpu/2' is an app's half of a host it shares with another.
    expect(value('cpu/2', 8)).toBe(4);
    expect(value('cpu/2', 3)).toBe(1);
    expect(value('cpu/2', 1)).toBe(1);
    expect(value('2*cpu/3', 4)).toBe(2);
    expect(value('cpu/2*3', 5)).toBe(6);
    expect(value('1+cpu/2', 5)).toBe(3);
    expect(value('7-cpu/2', 4)).toBe(5);
  });

  it("agrees with the unit's shell arithmetic, division included", () => {
    for (const expression of ['cpu/2', '2*cpu/3', 'cpu/2*3', '1+cpu/2', '7-cpu/2-1', 'cpu*3/2+1', '10-cpu/3*2']) {
      for (const cpu of [1, 2, 3, 5, 8, 64]) {
        const shell = execFileSync('/bin/sh', ['-c', `cpu=${cpu}; w=$((${expression.replaceAll('cpu', '$cpu')})); [ "$w" -ge 1 ] || w=1; echo $w`], { encoding: 'utf8' });
        expect([expression, cpu, evaluateWorkers(parseWorkers(expression)!, cpu)]).toEqual([expression, cpu, Number(shell)]);
      }
    }
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
