/**
 * `server.workers`: 'auto' (the host's CPU count when the service starts), a positive integer, or an integer
 * expression of `cpu` with + - * ('2*cpu+1', the Gunicorn docs' suggestion). The expression is evaluated on the
 * host at service start (units render it as shell arithmetic), so it is validated here and kept as text.
 */
export type WorkersPlan =
  | { kind: 'auto' }
  | { kind: 'fixed'; count: number }
  /** `expression` is normalised: no spaces, e.g. '2*cpu+1'. */
  | { kind: 'expression'; expression: string };

export const MAX_WORKERS = 1024;

const TOKEN = /\s*(\d+|cpu|[+\-*])/y;

/** The tokens of a `cpu` expression, or undefined when it is not one (operands and operators must alternate). */
function tokenize(text: string): string[] | undefined {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  let end = 0;
  for (let match = TOKEN.exec(text); match !== null; match = TOKEN.exec(text)) {
    tokens.push(match[1] as string);
    end = TOKEN.lastIndex;
  }
  if (text.slice(end).trim() !== '' || tokens.length === 0 || tokens.length % 2 === 0) return undefined;
  const isOperator = (token: string) => token === '+' || token === '-' || token === '*';
  return tokens.every((token, index) => isOperator(token) === (index % 2 === 1)) ? tokens : undefined;
}

export function parseWorkers(value: unknown): WorkersPlan | undefined {
  if (value === 'auto') return { kind: 'auto' };
  if (typeof value === 'number') {
    return Number.isInteger(value) && value >= 1 && value <= MAX_WORKERS ? { kind: 'fixed', count: value } : undefined;
  }
  if (typeof value !== 'string') return undefined;
  if (/^\s*\d+\s*$/.test(value)) return parseWorkers(Number(value));
  const tokens = tokenize(value);
  if (tokens === undefined || !tokens.includes('cpu')) return undefined;
  return { kind: 'expression', expression: tokens.join('') };
}

/** The worker count for `cpu` CPUs, as the unit computes it: never below 1. */
export function evaluateWorkers(plan: WorkersPlan, cpu: number): number {
  if (plan.kind === 'auto') return Math.max(1, cpu);
  if (plan.kind === 'fixed') return plan.count;
  const tokens = tokenize(plan.expression) as string[];
  // Shell arithmetic precedence: * before + and -, left to right.
  const terms: number[] = [];
  const signs: number[] = [1];
  let product = operand(tokens[0] as string, cpu);
  for (let i = 1; i < tokens.length; i += 2) {
    const operator = tokens[i] as string;
    const next = operand(tokens[i + 1] as string, cpu);
    if (operator === '*') product *= next;
    else {
      terms.push(product);
      signs.push(operator === '+' ? 1 : -1);
      product = next;
    }
  }
  terms.push(product);
  const total = terms.reduce((sum, term, index) => sum + (signs[index] as number) * term, 0);
  return Math.max(1, total);
}

function operand(token: string, cpu: number): number {
  return token === 'cpu' ? cpu : Number(token);
}
